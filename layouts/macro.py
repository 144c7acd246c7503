"""Macro assembly: place cell layouts and route the nets between their pins.

Floorplan: columns of blocks (`BLOCK_GAP` apart) in pairs, each pair around a routing
channel that holds one vertical met2 spine per net of its two columns. Every block pin is a
horizontal met3 track (see `layouts.cell_layout`); it is extended on met3, at its own
height, to its net's spine in the channel beside it and joined with a via2. Blocks right of
a channel are mirrored so their pins face it; only transistor cells go there (a passive
cell keeps met3 off the left of its pins only). Inside a block nothing else is on met3 at a
pin's height, spines are the only met2 in a channel, and extensions from its two sides
reach disjoint spines, so no two nets meet. A net in several channels joins its spines with
a met3 trunk above all blocks. Blocks fill columns widest first up to the column height
that gives the smallest macro within `MAX_ASPECT` (`plan`); power (vdd, vss) is routed like
any other net: the currents are nanoamperes.

Macro pins (`vdd vss iref in<i> out<j>` or whatever the caller names) get a met3 pad at the
top of their leftmost spine, above the trunks, labelled on `pdk.layers.PIN_LABEL_LAYER`; pads
alternate between two heights so neighbouring spines can sit at minimum pitch, or, with a
`pad_pitch`, sit in one row with the port spines that far apart (a wrapper that takes each
pad up on a met4 line of its own needs that room). The top cell takes the macro name.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import klayout.db as db

from layouts.cell_layout import CellLayout
from pdk import pcells
from pdk.pcells import R, snap_down, snap_up, u

MAX_ASPECT = 2.0  # the floorplan's limit on width : height either way
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

    @property
    def aspect(self) -> float:
        """Width : height or height : width, whichever is ≥ 1."""
        box = self.top.dbbox()
        return max(box.width() / box.height(), box.height() / box.width())

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


@dataclass(frozen=True)
class Plan:
    """Columns of instance indices, bottom-up; column 2k is left of channel k, 2k + 1 right
    of it (mirrored). `size` is the estimated macro width and height in dbu."""
    columns: tuple[tuple[int, ...], ...]
    size: tuple[int, int]

    @property
    def aspect(self) -> float:
        w, h = self.size
        return max(w / h, h / w)


def plan(instances: list[Instance], outline: tuple[int, int] | None = None) -> Plan:
    """The column height (from a geometric range between the tallest block and one column of
    all) whose filling gives the smallest area within `MAX_ASPECT`, else the squarest; with
    an `outline` (width, height in dbu), the smallest within it, else the one that misses it
    by the least factor."""
    boxes = [inst.cell.top.bbox() for inst in instances]
    tallest = max(b.height() for b in boxes)
    total = sum(b.height() + u(BLOCK_GAP) for b in boxes)
    steps = 48
    plans = [_fill(instances, boxes, int(tallest * (total / tallest) ** (k / steps)))
             for k in range(steps + 1)]
    if outline is not None:
        fitting = [p for p in plans if p.size[0] <= outline[0] and p.size[1] <= outline[1]]
        if not fitting:
            return min(plans, key=lambda p: max(p.size[0] / outline[0], p.size[1] / outline[1]))
    else:
        fitting = [p for p in plans if p.aspect <= MAX_ASPECT]
    if fitting:
        return min(fitting, key=lambda p: (p.size[0] * p.size[1], p.aspect))
    return min(plans, key=lambda p: p.aspect)


def _fill(instances, boxes, height: int) -> Plan:
    """Blocks widest first into columns of at most `height`; a passive block closes a column
    right of a channel to start the next left one."""
    columns: list[list[int]] = [[]]
    used = 0
    for i in sorted(range(len(instances)), key=lambda i: (-boxes[i].width(), i)):
        h = boxes[i].height() + u(BLOCK_GAP)
        if columns[-1] and used + h > height + u(BLOCK_GAP):
            columns.append([])
            used = 0
        if not instances[i].cell.mirrorable and len(columns) % 2 == 0:  # in a right column
            columns.append([])
            used = 0
        columns[-1].append(i)
        used += h
    width, spine_sets = 0, []
    for k in range(0, len(columns), 2):
        pair = [c for c in columns[k:k + 2] if c]
        spine_sets += [{instances[i].nets[p] for i in c for p in instances[i].cell.pins} for c in pair]
        width += sum(max(boxes[i].width() for i in c) for c in pair)
        width += u(2.0) + sum(len(n) for n in spine_sets[-len(pair):]) * u(SPINE_PITCH) + u(BLOCK_GAP)
    trunks = sum(1 for n in set().union(*spine_sets) if sum(n in c for c in spine_sets) > 1)
    top = max(sum(boxes[i].height() + u(BLOCK_GAP) for i in c) for c in columns if c)
    top += u(1.0) + trunks * u(0.38 + R("m3.2")) + u(1.0) + 2 * u(pcells.pin_pad_size() + 0.4)
    while not columns[-1]:
        columns.pop()
    return Plan(tuple(tuple(sorted(c)) for c in columns), (width, top))


def assemble(name: str, ports, instances: list[Instance], ly: db.Layout,
             pad_pitch: float | None = None, outline: tuple[float, float] | None = None) -> MacroLayout:
    """Place `instances` (all drawn into `ly`) by `plan` (within `outline`, width and height
    in µm, when given) and route them; `ports` become macro pins."""
    ports = tuple(ports)
    if ly.has_cell(name):
        raise ValueError(f"cell name {name!r} is already used in the layout")
    for inst in instances:
        if inst.cell.layout is not ly:
            raise ValueError(f"{inst.name}: its cell was drawn into another layout")
        missing = [p for p in inst.cell.pins if p not in inst.nets]
        if missing:
            raise ValueError(f"{inst.name}: pin(s) {', '.join(missing)} not connected")
    columns = plan(instances, None if outline is None else (u(outline[0]), u(outline[1]))).columns
    channels = (len(columns) + 1) // 2
    top = ly.create_cell(name)

    # one spine per net, channel and side (the two sides' extensions never share an x),
    # port nets first
    spine_nets: dict[tuple[int, str], list[str]] = {}
    for c, members in enumerate(columns):
        nets = spine_nets.setdefault((c // 2, "left" if c % 2 == 0 else "right"), [])
        for i in members:
            for pin in instances[i].cell.pins:
                if instances[i].nets[pin] not in nets:
                    nets.append(instances[i].nets[pin])
    reached = {n for nets in spine_nets.values() for n in nets}
    missing = [p for p in ports if p not in reached]
    if missing:
        raise ValueError(f"{name}: port(s) {', '.join(missing)} reach no block pin")
    spine_x: dict[tuple[int, str, str], int] = {}
    placed = []
    x = 0
    for k in range(channels):
        left, right = columns[2 * k], columns[2 * k + 1] if 2 * k + 1 < len(columns) else ()
        left_w = max(instances[i].cell.top.bbox().width() for i in left)
        xs = snap_up(x + left_w + u(1.0))
        for side in ("left", "right"):
            found = spine_nets.get((k, side), [])
            for n in [p for p in ports if p in found] + [n for n in found if n not in ports]:
                spine_x[(k, side, n)] = xs
                xs += u(pad_pitch if pad_pitch and n in ports else SPINE_PITCH)
        x_right = snap_up(xs + u(1.0))
        for side, members in (("left", left), ("right", right)):
            y = 0
            for i in members:
                bb = instances[i].cell.top.bbox()
                if side == "left":  # right-aligned against the spines
                    t = db.Trans(x + left_w - bb.right, y - bb.bottom)
                else:  # mirrored about the y axis, its pins now on its left edge
                    t = db.Trans(db.Trans.M90, x_right + bb.right, y - bb.bottom)
                top.insert(db.CellInstArray(instances[i].cell.top.cell_index(), t))
                placed.append((instances[i], t, side, k))
                y += bb.height() + u(BLOCK_GAP)
        right_w = max((instances[i].cell.top.bbox().width() for i in right), default=0)
        x = snap_up(x_right + right_w + u(BLOCK_GAP)) if right else snap_up(x_right + u(BLOCK_GAP))
    blocks_top = max(inst.cell.top.bbox().transformed(t).top for inst, t, *_side in placed)
    spines_of: dict[str, list[tuple[int, str, str]]] = {}  # net → its spines, left to right
    for key in sorted(spine_x, key=spine_x.get):
        spines_of.setdefault(key[2], []).append(key)

    half = u(0.32) // 2
    v2 = u(R("via2.1a"))

    def via2(x: int, y: int) -> None:
        pcells.box(top, "via2", db.Box(x - v2 // 2, y - v2 // 2, x + v2 // 2, y + v2 // 2))

    reach: dict[tuple[int, str, str], list[int]] = {key: [] for key in spine_x}
    for inst, t, side, k in placed:
        for pin, box in inst.cell.pins.items():
            b = box.transformed(t)
            sx = spine_x[(k, side, inst.nets[pin])]
            if side == "left":
                pcells.box(top, "met3", db.Box(b.right - u(0.1), b.bottom, sx + u(0.25), b.top))
            else:
                pcells.box(top, "met3", db.Box(sx - u(0.25), b.bottom, b.left + u(0.1), b.top))
            via2(sx, b.center().y)
            reach[(k, side, inst.nets[pin])].append(b.center().y)
    m3w = u(0.38)
    trunk_y = snap_up(blocks_top + u(1.0)) + m3w // 2
    for keys in spines_of.values():  # in the order of each net's leftmost spine
        if len(keys) > 1:
            pcells.box(top, "met3", db.Box(spine_x[keys[0]] - u(0.25), trunk_y - m3w // 2,
                                           spine_x[keys[-1]] + u(0.25), trunk_y + m3w // 2))
            for key in keys:
                via2(spine_x[key], trunk_y)
                reach[key].append(trunk_y)
            trunk_y += m3w + u(R("m3.2"))

    psz = pcells.pin_pad_size()
    pad_base = snap_up(trunk_y + u(1.0))
    pad_rows = (pad_base, pad_base if pad_pitch else snap_up(pad_base + u(psz + 0.4)))
    pad_at = {p: spine_x[spines_of[p][0]] for p in ports}
    pad_xs = sorted(pad_at.values())
    for (k, side, net), sx in spine_x.items():
        ys = reach[(k, side, net)]
        if net in ports and pad_at[net] == sx:
            py = pad_rows[pad_xs.index(sx) % 2]
            ys.append(py)
            pad = pcells.via_stack(ly, "met2", "met3", psz, psz)
            top.insert(db.CellInstArray(pad.cell.cell_index(), db.Trans(sx, py)))
            pcells.label(top, net, db.Point(sx, py))
        pcells.box(top, "met2", db.Box(sx - half, min(ys) - u(0.185), sx + half, max(ys) + u(0.185)))

    areas = {}
    for inst, *_where in placed:
        areas[inst.cell.top.name] = inst.cell.area_um2
    b = top.dbbox()
    areas[name] = b.width() * b.height()
    return MacroLayout(ly, top, macro_netlist(name, ports, instances), areas)
