"""Macro assembly: place cell layouts and route the nets between their pins.

Floorplan: the blocks stack in one column (left edges aligned, `BLOCK_GAP` apart); a
routing region to their right holds one vertical met2 spine per macro net. Every block pin
is a horizontal met3 track (see `layouts.cell_layout`); it is extended right on met3, at its
own height, to its net's spine and joined with a via2. Inside a block nothing else is on
met3 at that height, and spines are the only met2 right of the blocks, so no two nets meet.
Power (vdd, vss) is routed like any other net: the currents are nanoamperes.

Macro pins (`vdd vss iref in<i> out<j>` or whatever the caller names) get a met3 pad at the
top of their spine, labelled on `pdk.layers.PIN_LABEL_LAYER`; pads alternate between two
heights so neighbouring spines can sit at minimum pitch. The top cell takes the macro name.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import klayout.db as db

from layouts.cell_layout import CellLayout
from pdk import pcells
from pdk.pcells import R, snap_down, snap_up, u

BLOCK_GAP = 2.0  # µm between stacked blocks: above every well and metal spacing
SPINE_PITCH = 0.62  # µm: 0.32 met2 spine + spacing, and room for the via2 landing on met3


@dataclass
class Instance:
    """One placed block: instance name, its drawn cell and pin → macro net."""
    name: str
    cell: CellLayout
    nets: dict[str, str]


@dataclass
class MacroLayout:
    layout: db.Layout
    top: db.Cell
    netlist: str
    areas: dict[str, float] = field(default_factory=dict)  # cell name → µm², macro included

    @property
    def area_um2(self) -> float:
        return self.areas[self.top.name]

    def save(self, gds_path, spice_path=None) -> None:
        pcells.save_gds(self.layout, gds_path, self.top)
        if spice_path is not None:
            with open(spice_path, "w") as f:
                f.write(self.netlist)


def macro_netlist(name: str, ports, instances: list[Instance]) -> str:
    """Hierarchical SPICE: each distinct cell's subckt, then the top subckt calling them."""
    seen, parts = set(), []
    for inst in instances:
        if inst.cell.top.name not in seen:
            seen.add(inst.cell.top.name)
            parts.append(inst.cell.netlist)
    lines = [f".subckt {name} {' '.join(ports)}"]
    for inst in instances:
        cell_ports = inst.cell.netlist.split("\n", 1)[0].split()[2:]
        lines.append(f"X{inst.name} {' '.join(inst.nets[p] for p in cell_ports)} {inst.cell.top.name}")
    lines.append(f".ends {name}")
    return "".join(parts) + "\n".join(lines) + "\n"


def assemble(name: str, ports, instances: list[Instance], ly: db.Layout) -> MacroLayout:
    """Place `instances` (all drawn into `ly`) and route them; `ports` become macro pins."""
    ports = tuple(ports)
    if ly.has_cell(name):
        raise ValueError(f"cell name {name!r} is already used in the layout")
    for inst in instances:
        if inst.cell.layout is not ly:
            raise ValueError(f"{inst.name}: its cell was drawn into another layout")
        missing = [p for p in inst.cell.pins if p not in inst.nets]
        if missing:
            raise ValueError(f"{inst.name}: pin(s) {', '.join(missing)} not connected")
    top = ly.create_cell(name)
    # place: one column, bottom-up in the given order
    y = 0
    placed = []
    for inst in instances:
        bb = inst.cell.top.bbox()
        t = db.Trans(-bb.left, y - bb.bottom)
        top.insert(db.CellInstArray(inst.cell.top.cell_index(), t))
        placed.append((inst, t))
        y += bb.height() + u(BLOCK_GAP)
    blocks_right = max(inst.cell.top.bbox().transformed(t).right for inst, t in placed)
    blocks_top = y - u(BLOCK_GAP)

    # one spine per net, port nets first (their pads sit at the top)
    nets_used = []
    for inst, _t in placed:
        for pin in inst.cell.pins:
            n = inst.nets[pin]
            if n not in nets_used:
                nets_used.append(n)
    missing = [p for p in ports if p not in nets_used]
    if missing:
        raise ValueError(f"{name}: port(s) {', '.join(missing)} reach no block pin")
    order = [p for p in ports] + [n for n in nets_used if n not in ports]
    x0 = snap_up(blocks_right + u(1.0))
    spine_x = {n: x0 + i * u(SPINE_PITCH) for i, n in enumerate(order)}
    half = u(0.32) // 2
    v2 = u(R("via2.1a"))
    reach: dict[str, list[int]] = {n: [] for n in order}
    for inst, t in placed:
        for pin, box in inst.cell.pins.items():
            b = box.transformed(t)
            net = inst.nets[pin]
            sx = spine_x[net]
            cy = b.center().y
            pcells.box(top, "met3", db.Box(b.right - u(0.1), b.bottom, sx + u(0.25), b.top))
            pcells.box(top, "via2", db.Box(sx - v2 // 2, cy - v2 // 2, sx + v2 // 2, cy + v2 // 2))
            reach[net].append(cy)

    psz = pcells.pin_pad_size()
    pad_rows = (snap_up(blocks_top + u(1.5)), snap_up(blocks_top + u(1.5 + psz + 0.4)))
    for i, net in enumerate(order):
        sx = spine_x[net]
        ys = list(reach[net])
        if net in ports:
            py = pad_rows[i % 2]
            ys.append(py)
            pad = pcells.via_stack(ly, "met2", "met3", psz, psz)
            top.insert(db.CellInstArray(pad.cell.cell_index(), db.Trans(sx, py)))
            pcells.label(top, net, db.Point(sx, py))
        pcells.box(top, "met2", db.Box(sx - half, min(ys) - u(0.185), sx + half, max(ys) + u(0.185)))

    areas = {}
    for inst, _t in placed:
        areas[inst.cell.top.name] = inst.cell.area_um2
    b = top.dbbox()
    areas[name] = b.width() * b.height()
    return MacroLayout(ly, top, macro_netlist(name, ports, instances), areas)
