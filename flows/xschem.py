"""xschem views of the compiled circuit, from the same cell objects as the netlist: one
`<subckt>.sch` per cell (every unit device an instance of the open PDK's symbol,
`sky130_fd_pr/nfet_01v8.sym` …, with W/L in µm) plus its `<subckt>.sym`, and the top level
`<NAME>.sch` instantiating those symbols. Connectivity is by net labels (`lab_pin` at
every terminal, `ipin`/`opin`/`iopin` for the ports), which xschem joins by name, so the
files re-netlist to the same devices and nets; the readable drawing is the SVG.

Devices are placed one group of identical transistor units (or one group of passives) per
row, at most ROW of them, in device-list order. A symbol's pins are in port order, so `@pinlist` matches the `.subckt`
line. Poly resistors and diodes (the resistor–diode family) are instances of the open
PDK's `res_xhigh_po_0p35.sym` … and `diode.sym`; that diode symbol netlists a `D` element
with the area only (the open PDK's diodes are models), where the cell's SPICE calls the
models' diode subckt with area, perimeter and `rs_int` (`pdk.devices.diode_instance`)."""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from cells.netlist import Capacitor, Device, Diode, Resistor
from pdk.devices import XSCHEM_PINS, diode_geometry, xschem_kind, xschem_symbol

HEADER = "v {xschem version=2.8.1 file_version=1.1}\n"
GRID = 140  # distance between device instances
ROW = 32  # instances per row at most
SUPPLIES = ("vdd", "vss")


def _attrs(pairs: Mapping[str, object]) -> str:
    return "{" + " ".join(f"{k}={v}" for k, v in pairs.items()) + "}"


def _label(x: float, y: float, net: str, index: int) -> str:
    return f"C {{devices/lab_pin.sym}} {x:g} {y:g} 0 0 {_attrs({'name': f'l{index}', 'lab': net})}\n"


def _port_pins(ports: Sequence[str], outputs: Sequence[str], x: float) -> list[str]:
    lines = []
    for k, p in enumerate(ports):
        kind = "opin" if p in outputs else "ipin" if p not in SUPPLIES else "iopin"
        lines.append(f"C {{devices/{kind}.sym}} {x:g} {-40 - 20 * k:g} 0 0 {_attrs({'name': f'p{k}', 'lab': p})}\n")
    return lines


def _instance_attrs(d: Device | Resistor | Diode) -> dict[str, object]:
    """The attributes the open PDK's symbol of `d` netlists (W/L in µm; a diode's area and
    perimeter in the units of `pdk.devices.diode_geometry`)."""
    if isinstance(d, Diode):
        return {"name": d.name, "model": d.device, **dict(a.split("=") for a in diode_geometry(d.w, d.l).split())}
    if isinstance(d, Resistor):
        return {"name": d.name, "W": f"{d.w:g}", "L": f"{d.l:g}", "model": d.device, "spiceprefix": "X", "mult": 1}
    if isinstance(d, Capacitor):
        return {"name": d.name, "W": f"{d.w:g}", "L": f"{d.l:g}", "MF": 1, "model": d.device, "spiceprefix": "X"}
    return {"name": d.name, "L": f"{d.l:g}", "W": f"{d.w:g}", "nf": 1, "mult": 1, "model": d.device,
            "spiceprefix": "X"}


def leaf(ports: Sequence[str], devices: Iterable[Device | Resistor | Diode], outputs: Sequence[str]) -> str:
    """The `.sch` of a leaf cell: every device, every terminal labelled with its net."""
    lines = [HEADER, "G {}\nV {}\nS {}\nE {}\n"]
    lines += _port_pins(ports, outputs, -200)
    row, col, last, labels = 0, 0, None, 0
    for d in devices:
        pins = XSCHEM_PINS[xschem_kind(d.device)]
        # identical transistor units share a row; passives (each one different) by group
        key = (d.device, d.w, d.l, *(getattr(d, t) for t in pins)) if isinstance(d, Device) else (d.device, d.group)
        if last is not None and (key != last or col == ROW):
            row, col = row + 1, 0
        last = key
        x, y = col * GRID, row * GRID
        col += 1
        lines.append(f"C {{{xschem_symbol(d.device)}}} {x:g} {y:g} 0 0 {_attrs(_instance_attrs(d))}\n")
        for terminal, (dx, dy) in pins.items():
            lines.append(_label(x + dx, y + dy, getattr(d, terminal), labels))
            labels += 1
    return "".join(lines)


def symbol(ports: Sequence[str], outputs: Sequence[str]) -> str:
    """The `.sym` of a cell for the hierarchy: a box, pins in port order (inputs and
    supplies left, outputs right)."""
    height = 20 * len(ports) + 20
    lines = [HEADER, 'G {type=subcircuit\nformat="@name @pinlist @symname"\ntemplate="name=x1"\n}\n',
             "V {}\nS {}\nE {}\n", f"L 4 -60 -20 60 -20 {{}}\nL 4 -60 {height - 20} 60 {height - 20} {{}}\n",
             f"L 4 -60 -20 -60 {height - 20} {{}}\nL 4 60 -20 60 {height - 20} {{}}\n"]
    for k, p in enumerate(ports):
        x = 80 if p in outputs else -80
        direction = "out" if p in outputs else "inout" if p in SUPPLIES else "in"
        y = 20 * k
        lines.append(f"L 7 {x:g} {y} {60 if x > 0 else -60} {y} {{}}\n")
        lines.append(f"B 5 {x - 2.5:g} {y - 2.5:g} {x + 2.5:g} {y + 2.5:g} {{name={p} dir={direction}}}\n")
        lines.append(f"T {{{p}}} {x - 25 if x > 0 else x + 25:g} {y - 6} 0 {1 if x > 0 else 0} 0.2 0.2 {{}}\n")
    lines.append("T {@symname} -55 -40 0 0 0.25 0.25 {}\nT {@name} -55 -60 0 0 0.25 0.25 {}\n")
    return "".join(lines)


def pin_points(ports: Sequence[str], outputs: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Where `symbol`'s pins are, in symbol coordinates."""
    return {p: (80 if p in outputs else -80, 20 * k) for k, p in enumerate(ports)}


def top(ports: Sequence[str], outputs: Sequence[str],
        instances: Sequence[tuple[str, str, Mapping[str, str], Sequence[str], Sequence[str]]]) -> str:
    """The top-level `.sch`: each instance (name, cell, port → net, cell ports, cell
    outputs) as its cell's symbol, every pin labelled with its net."""
    lines = [HEADER, "G {}\nV {}\nS {}\nE {}\n"]
    lines += _port_pins(ports, outputs, -300)
    labels = 0
    y = 0
    for k, (name, cell, nets, cell_ports, cell_outputs) in enumerate(instances):
        x = (k % 8) * 400
        if k and k % 8 == 0:
            y += max(20 * len(p) for _, _, _, p, _ in instances) + 120
        lines.append(f"C {{{cell}.sym}} {x:g} {y:g} 0 0 {_attrs({'name': 'x' + name})}\n")
        for p, (dx, dy) in pin_points(cell_ports, cell_outputs).items():
            lines.append(_label(x + dx, y + dy, nets[p], labels))
            labels += 1
    return "".join(lines)
