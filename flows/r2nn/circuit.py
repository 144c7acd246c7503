"""Mapped R²NN lattice → circuit: the bias cells, one transconductor block per term of the
mapping and one MiM capacitor bank, instantiated in the top subckt whose ports are the
macro's pins (family conventions in the README):

`vdd`/`vss` supply; `vref` the lattice's 0 (0.9 V, every node rests there); `iref` the bias
current (one fine unit × the tree's diode units, sunk into the pin from vdd); `in` the
waveform, vref + input_scale·u; `out<j>` output node j's displacement, vref + α·x.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from cells.bias import BiasTree
from cells.netlist import Capacitor, subckt, touched_ports
from cells.transconductor import CascodeBias, PmosCascodeBias, TinyLine, Transconductor
from flows.families import Block
from flows.r2nn.mapping import BuildOptions, Mapping, map_network
from flows.r2nn.network import R2nnNetwork
from pdk import passives

RAILS = ("vdd", "vss", "vref", "iref")
#: Bias tree of the lattice: its NMOS unit is one fine tail unit (iref / diode_units).
DIODE_UNITS = 4


@dataclass(frozen=True)
class CapacitorBank:
    """Every node capacitor of the lattice: top plate on the node, bottom (met3) on vss."""

    name: str
    ports: tuple[str, ...]
    plates: tuple[tuple[str, str, float, float], ...]  # (name, node, w, l)

    def devices(self) -> list[Capacitor]:
        return [Capacitor(name, passives.CAPACITOR, node, "vss", w, l, group="node")
                for name, node, w, l in self.plates]

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(), doc=f"{self.name}: {len(self.plates)} MiM capacitors")

    netlist = subckt


@dataclass(frozen=True)
class Circuit:
    network: R2nnNetwork
    mapping: Mapping
    blocks: tuple[Block, ...]
    ports: tuple[str, ...]

    ports_of = staticmethod(touched_ports)

    @staticmethod
    def schematic_style(cell) -> str:
        return "capacitor_bank" if isinstance(cell, CapacitorBank) else "leaf"

    def cells(self) -> list:
        unique = {}
        for b in self.blocks:
            unique.setdefault(b.cell.name, b.cell)
        return list(unique.values())

    def netlist(self) -> str:
        name = self.network.name
        head = (f"* {name}: R²NN resonant lattice (Gm-C state space) compiled by bmru-sky130 for SKY130\n"
                f"* ports: {' '.join(self.ports)}; v(in) = vref + {self.mapping.input_scale:.6g} V per input unit; "
                f"v(out<j>) = vref + {self.mapping.alpha[0]:.6g} V per unit displacement\n")
        parts = [head] + [cell.subckt() for cell in self.cells()]
        top = [f"X{b.name} {' '.join(b.nets[p] for p in self.ports_of(b.cell))} {b.cell.name}" for b in self.blocks]
        parts.append(f".subckt {name} {' '.join(self.ports)}\n" + "\n".join(top) + f"\n.ends {name}\n")
        return "\n".join(parts)

    def device_count(self) -> dict[str, int]:
        devices = [d for b in self.blocks for d in b.cell.devices()]
        caps = sum(1 for d in devices if isinstance(d, Capacitor))
        return {"total": len(devices), "transistors": len(devices) - caps, "capacitors": caps}


def _identity(cell) -> dict[str, str]:
    return {p: p for p in cell.ports}


def build_circuit(network: R2nnNetwork, options: BuildOptions | None = None) -> Circuit:
    options = options or BuildOptions()
    mapping = map_network(network, options)
    tree = BiasTree(diode_units=DIODE_UNITS, coarse=options.coarse, coarse_sink=True, name=f"{network.name}_bias")
    blocks = [Block(name, cell, _identity(cell))
              for name, cell in (("bias", tree), ("tiny", TinyLine(options.tiny)), ("vcn", CascodeBias()),
                                 ("vcp", PmosCascodeBias()))]
    for o in mapping.otas:
        cell = Transconductor(fine=o.fine, coarse=o.coarse, tiny=o.tiny)
        blocks.append(Block(o.name, cell, {**_identity(cell), "inp": o.inp, "inn": o.inn, "out": o.out}))
    plates = tuple((c.name, c.node, *passives.capacitor_size(c.value)) for c in mapping.caps)
    nodes = tuple(dict.fromkeys(c.node for c in mapping.caps))
    bank = CapacitorBank(f"{network.name}_caps", ("vss",) + nodes, plates)
    blocks.append(Block("caps", bank, _identity(bank)))
    outputs = tuple(f"out{j}" for j in range(network.output_size))
    return Circuit(network, mapping, tuple(blocks), RAILS + ("in",) + outputs)


#: Most redraws `fit_to_layout` makes: the wiring moves with the plates it shrinks by a few
#: femtofarads, so the second drawing already lands (measured on r2nn_machine).
FIT_DRAWINGS = 4
#: Plates within this of the previous drawing's: converged (a MiM plate is drawn to ≈ 0.1 %).
FIT_TOLERANCE = 1e-3


def fit_to_layout(circuit: Circuit, wiring_of: Callable[[Circuit], dict[str, float]]) -> Circuit:
    """The circuit whose MiM plates leave out the wiring its own drawing adds to each
    lattice node (`wiring_of(c)`: net → F of `c` drawn as the compile draws it). Each pass
    draws the circuit and rebuilds it with that wiring; it stops when the plates no longer
    move, so the drawn node capacitance (plate + pins + wiring) is what the mapping sized."""
    nodes = {c.node for c in circuit.mapping.caps}
    options = circuit.mapping.options
    for _ in range(FIT_DRAWINGS):
        drawn = wiring_of(circuit)
        wiring = tuple((net, float(drawn[net])) for net in sorted(nodes) if net in drawn)
        fitted = build_circuit(circuit.network, replace(options, wiring=wiring))
        moved = max(abs(a.value / b.value - 1) for a, b in zip(fitted.mapping.caps, circuit.mapping.caps))
        circuit = fitted
        if moved < FIT_TOLERANCE:
            break
    return circuit
