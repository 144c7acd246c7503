"""Post-layout simulation: the wiring capacitance of every net of the drawn macro, added to
the testbench as a capacitor from that net's node to ground. At nanoamperes a node's
capacitance sets how fast it settles, so what was drawn, not only what was meant, decides
the step time a macro needs."""
from __future__ import annotations

import tempfile
from pathlib import Path

from flows.families import Circuit

#: Nets held by ideal sources in every testbench: capacitance there changes nothing.
_HELD = {"vdd", "vss"}


def node_name(top_instance: str, net: str, ports: set[str]) -> str:
    """The testbench node of a net named as the flattened layout netlist names it
    (`l1_bmru0.q` → `xkws_d4.xl1_bmru0.q`; a macro port is the testbench's own node)."""
    if net in ports:
        return net
    *instances, local = net.split(".")
    return ".".join([top_instance, *(f"x{i}" for i in instances), local])


def wiring(circuit: Circuit, macro=None) -> dict[str, float]:
    """Wiring capacitance (F) of every net of `macro` (default: the macro drawn from
    `circuit` with the default floorplan), by net name."""
    from flows.compile import draw_macro
    from pdk import parasitics

    with tempfile.TemporaryDirectory(prefix="bmru-postlayout-") as tmp:
        gds, spice = Path(tmp) / "macro.gds", Path(tmp) / "macro.spice"
        (macro or draw_macro(circuit)).save(gds)
        spice.write_text(circuit.netlist())
        return parasitics.extract_capacitances(gds, spice)


def capacitor_lines(circuit: Circuit, capacitances: dict[str, float]) -> str:
    """SPICE lines that put each net's wiring capacitance on its testbench node."""
    top = f"x{circuit.network.name}"
    ports = set(circuit.ports)
    lines = [f"* wiring capacitance extracted from the layout ({len(capacitances)} nets)"]
    for k, (net, c) in enumerate(sorted(capacitances.items())):
        if net not in _HELD:
            lines.append(f"Cwire{k} {node_name(top, net, ports)} 0 {c:.4g}")
    return "\n".join(lines) + "\n"
