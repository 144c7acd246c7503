"""Schematics as SVG, drawn with schemdraw from the same device and instance lists that
produce the netlists, so a drawing can never disagree with the circuit it shows.

Leaf cells are transistor-level: PMOS devices in the top row hanging from the vdd rail,
NMOS devices in the bottom row standing on the vss rail, every other terminal carrying its
net's name, every device its name and W/L. Identical unit devices in parallel (same model,
W/L and nets: one weight of k units) are one symbol marked ×k, as a designer would draw an
m-factor, so a mirror array stays legible. Composite cells are block-level: one box per
subckt instance with its ports and the nets they connect to.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import schemdraw  # noqa: E402
import schemdraw.elements as elm  # noqa: E402

from cells.netlist import Device  # noqa: E402

SUPPLY_NETS = {"vdd": "top", "vss": "bottom"}
_PITCH = 4.2  # horizontal distance between devices, schemdraw units


@dataclass(frozen=True)
class Instance:
    """One subckt instance of a composite cell: its name, cell and port → net map."""

    name: str
    cell: str
    connections: Mapping[str, str]


def _label(drawing: schemdraw.Drawing, at, net: str, loc: str) -> None:
    drawing.add(elm.Label().at(at).label(net, loc=loc, fontsize=9, color="#1f4e9c"))


def parallel_groups(devices: Iterable[Device]) -> list[tuple[Device, int]]:
    """Devices merged with their identical parallel twins: (first device, count), in the
    order of first appearance."""
    groups: dict[tuple, list] = {}
    for d in devices:
        groups.setdefault((d.device, d.w, d.l, d.d, d.g, d.s, d.b), [d, 0])[1] += 1
    return [(d, k) for d, k in groups.values()]


def leaf(title: str, ports: Sequence[str], devices: Iterable[Device]) -> str:
    """Transistor-level schematic of a leaf cell, as SVG text."""
    groups = parallel_groups(devices)
    pmos = [(d, k) for d, k in groups if d.device.startswith("p")]
    nmos = [(d, k) for d, k in groups if not d.device.startswith("p")]
    width = max(len(pmos), len(nmos), 1) * _PITCH
    with schemdraw.Drawing(show=False, canvas="svg") as drawing:
        drawing.config(fontsize=10, unit=2)
        top, bottom = 4.5, -4.5
        drawing.add(elm.Line().at((-1, top)).to((width, top)).label("vdd", loc="left"))
        drawing.add(elm.Line().at((-1, bottom)).to((width, bottom)).label("vss", loc="left"))
        for row, rail, flip in ((pmos, top, True), (nmos, bottom, False)):
            for i, (dev, count) in enumerate(row):
                x = i * _PITCH
                fet = (elm.AnalogPFet if flip else elm.AnalogNFet)(bulk=True)
                y = rail - 2.2 if flip else rail + 2.2
                # gate on the left; PMOS source up to vdd, NMOS source down to vss
                element = drawing.add(fet.right().reverse().at((x, y)).anchor("center"))
                drawing.add(elm.Label().at((x + 1.0, y)).label(
                    f"{dev.name}{f' ×{count}' if count > 1 else ''}\n{dev.w:g}/{dev.l:g}",
                    fontsize=8, halign="left"))
                source = element.absanchors["source"]
                drain = element.absanchors["drain"]
                gate = element.absanchors["gate"]
                # the source terminal meets its rail when it sits on it, otherwise it is labelled
                if SUPPLY_NETS.get(dev.s) == ("top" if flip else "bottom"):
                    drawing.add(elm.Line().at(source).to((source.x, rail)))
                else:
                    _label(drawing, source, dev.s, "right")
                if dev.d == dev.g:  # diode connection drawn as a wire
                    knee = (gate.x - 0.4, drain.y)
                    drawing.add(elm.Line().at(gate).to((gate.x - 0.4, gate.y)))
                    drawing.add(elm.Line().at((gate.x - 0.4, gate.y)).to(knee))
                    drawing.add(elm.Line().at(knee).to(drain))
                    _label(drawing, knee, dev.d, "left")
                else:
                    _label(drawing, drain, dev.d, "right")
                    _label(drawing, gate, dev.g, "left")
                if dev.b != dev.s:
                    _label(drawing, element.absanchors["bulk"], f"b:{dev.b}", "right")
        drawing.add(elm.Label().at((width / 2, top + 1.6)).label(
            f"{title}  ({' '.join(ports)})", fontsize=12))
        return drawing.get_imagedata("svg").decode()


def block(title: str, ports: Sequence[str], instances: Iterable[Instance]) -> str:
    """Block-level schematic of a composite cell, as SVG text."""
    instances = list(instances)
    columns = max(1, min(4, len(instances)))
    with schemdraw.Drawing(show=False, canvas="svg") as drawing:
        drawing.config(fontsize=9)
        for index, inst in enumerate(instances):
            x, y = (index % columns) * 7.5, -(index // columns) * 7.0
            pins = [elm.IcPin(name=port, side="left" if k % 2 == 0 else "right")
                    for k, port in enumerate(inst.connections)]
            box = drawing.add(elm.Ic(pins=pins, size=(3, max(2, (len(pins) + 1) // 2 * 0.7 + 0.6)),
                                     pinspacing=0.7).at((x, y)).label(f"{inst.name}\n{inst.cell}", fontsize=9))
            for k, (port, net) in enumerate(inst.connections.items()):
                side = "left" if k % 2 == 0 else "right"
                _label(drawing, box.absanchors[port], net, side)
        drawing.add(elm.Label().at((0, 4)).label(f"{title}  ({' '.join(ports)})", fontsize=12, halign="left"))
        return drawing.get_imagedata("svg").decode()
