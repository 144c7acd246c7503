"""Schematics as SVG circuits, drawn from the same device and instance lists that produce
the netlists, so a drawing can never disagree with the circuit it shows.

Every sheet is plain SVG at 1 px per unit, meant to be read at 100 % zoom. Identical unit
devices in parallel (same model, W/L and nets: one weight of k units) are one symbol marked
×k, as a designer draws an m-factor. Devices are placed by role, found from the nets alone:

* `leaf`: signal flows left to right. A net's level is its distance from the input ports
  through gate → drain (and source → drain) steps; a stack of series devices stands in the
  column of the net it drives, PMOS hanging from the vdd rail at the top, NMOS standing on
  the vss rail at the bottom, a PMOS and an NMOS driving the same net in one column (an
  inverter reads as one). So the input diode is leftmost, its copies and the comparison
  node next, the hysteretic core, the logic and the switched output last. Every other
  terminal is wired to its net's horizontal track in the channel between the rows, input
  ports enter at the left edge and outputs leave at the right.
* `array`: a weight array (a dense block) as a crossbar: one horizontal gate line per
  input (its NMOS line `in<j>` and, with a positive weight, its PMOS line `p<j>` with the
  conversion devices that make it on the left), one vertical summing node per output, each
  weight the one ×k symbol at its crossing, bias rows on top, the ReLU diodes at the
  bottom and the outputs leaving to the right. A 13 × 8 block is 13 rows by 8 columns
  instead of a 200-device strip; the ×k count is the summary of each weight's array.
  Beyond MAX_ROWS input rows or MAX_COLUMNS outputs the first and last ones are drawn and
  the middle ones are one ×N note naming their nets and counting their devices.
* `resistor_array`: a resistor–diode network (the monDEQ family's cell) as a designer
  draws a resistive crossbar: one column per node z_i, one row per input, inverted input,
  rail and node (a node's row starts at its own column), each resistor at its crossing
  labelled with its value, the clamp diodes under the columns on their rail, the readout
  a second crossbar (node rows, output columns) on the right; collapsed like `array`.
* `block`: a composite cell as a block diagram in signal-flow order: columns by the
  distance from the input pins, outputs right. Nets between neighbouring columns are
  wires; bias lines and skips (which would cross the sheet) are net labels at the pins.

Each symbol is an SVG group `class="symbol"` with its bounding box in `data-bbox` and every
wire and label carries its net in `data-net`, so tests read the sheet back: no two symbols
overlap, every net of the netlist is drawn.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from cells.netlist import Capacitor, Device, Diode, Resistor
from pdk.passives import resistance

SUPPLIES = ("vdd", "vss")
#: Port names of the bias tree's lines (cells.bias, cells.dense): inputs a cell reads, not
#: signals, so they start no signal-flow level and are labelled rather than wired across.
BIAS_LINES = ("bp", "bn", "nc")
FONT = 10  # px, monospace: text width is FONT·0.61 per character
PITCH = 66  # vertical distance between stacked devices
LOAD_PITCH = 80  # vertical distance between the loads of one summing node
MAX_ROWS, MAX_COLUMNS = 32, 16  # a larger weight array shows its first and last ones and a ×N note
TRACK = 18  # distance between channel tracks
NET_COLOUR, DEVICE_COLOUR = "#1f4e9c", "#000000"
NOTE = "×k: k identical unit devices in parallel; W/L in µm; dots join wires, crossings without a dot do not"


@dataclass(frozen=True)
class Instance:
    """One subckt instance of a composite cell: its name, cell, port → net map and the
    ports its cell drives (`output_ports`)."""

    name: str
    cell: str
    connections: Mapping[str, str]
    outputs: tuple[str, ...] = ()


def parallel_groups(devices: Iterable[Device]) -> list[tuple[Device, int]]:
    """Devices merged with their identical parallel twins: (first device, count), in the
    order of first appearance."""
    groups: dict[tuple, list] = {}
    for d in devices:
        groups.setdefault((d.device, d.w, d.l, d.d, d.g, d.s, d.b), [d, 0])[1] += 1
    return [(d, k) for d, k in groups.values()]


def output_ports(ports: Sequence[str], devices: Iterable[Device]) -> tuple[str, ...]:
    """The ports a cell drives: `out`, `out<i>`, `o<i>` and a resistor network's current
    pins `out<j>p`/`out<j>n` (the cells' output names, even when every weight of an
    output is zero), the drain of a transistor that is not diode-connected, or any
    transistor's source (a diode's own net is where a current comes in)."""
    driven: set[str] = set()
    for d in devices:
        if isinstance(d, Device):
            driven.add(d.s)
            if d.d != d.g:
                driven.add(d.d)
    return tuple(p for p in ports if p not in SUPPLIES and (p in driven or re.fullmatch(r"out\d*|o\d+|out\d+[pn]", p)))


def _width(text: str, size: float = FONT) -> float:
    return len(text) * size * 0.61


class _Sheet:
    """SVG elements with their extent; symbols keep their bounding boxes."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.x1 = self.y1 = 0.0

    def _extend(self, x: float, y: float) -> None:
        self.x1, self.y1 = max(self.x1, x), max(self.y1, y)

    def wire(self, points: Sequence[tuple[float, float]], net: str, colour: str = DEVICE_COLOUR,
             width: float = 1.2) -> None:
        for x, y in points:
            self._extend(x, y)
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        self.items.append(f'<polyline data-net="{html.escape(net)}" points="{path}" fill="none" '
                          f'stroke="{colour}" stroke-width="{width}"/>')

    def dot(self, x: float, y: float, net: str) -> None:
        self.items.append(f'<circle data-net="{html.escape(net)}" cx="{x:.1f}" cy="{y:.1f}" r="2.6"/>')

    def text(self, x: float, y: float, text: str, size: float = FONT, anchor: str = "start",
             net: str | None = None, colour: str = DEVICE_COLOUR, bold: bool = False) -> None:
        width = _width(text, size)
        self._extend(x + (width if anchor == "start" else width / 2 if anchor == "middle" else 0), y + 3)
        attr = f' data-net="{html.escape(net)}"' if net is not None else ""
        weight = ' font-weight="bold"' if bold else ""
        self.items.append(f'<text{attr} x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                          f'fill="{colour}"{weight}>{html.escape(text)}</text>')

    def symbol(self, name: str, box: tuple[float, float, float, float], start: int) -> None:
        """Wrap the items added since `start` into one symbol group with its bounding box."""
        x0, y0, x1, y1 = box
        self._extend(x1, y1)
        body = self.items[start:]
        del self.items[start:]
        self.items.append(f'<g class="symbol" data-name="{html.escape(name)}" '
                          f'data-bbox="{x0:.1f} {y0:.1f} {x1 - x0:.1f} {y1 - y0:.1f}">' + "".join(body) + "</g>")

    def port(self, x: float, y: float, net: str, side: str) -> None:
        """A port flag whose tip is at (x, y): pointing right on the left edge (input),
        away from the sheet on the right edge (output)."""
        start = len(self.items)
        w = _width(net) + 14
        x0 = x - w if side == "left" else x
        pts = ([(x0, y - 7), (x - 6, y - 7), (x, y), (x - 6, y + 7), (x0, y + 7)] if side == "left"
               else [(x, y), (x + 6, y - 7), (x + w, y - 7), (x + w, y + 7), (x + 6, y + 7)])
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
        self.items.append(f'<polygon data-net="{html.escape(net)}" points="{path}" fill="#eef3fb" '
                          f'stroke="{NET_COLOUR}"/>')
        self.text(x0 + 4 if side == "left" else x + 9, y + 3.5, net, net=net, colour=NET_COLOUR)
        self.symbol(f"port {net}", (x0, y - 7, x0 + w, y + 7), start)

    def svg(self, title: str, subtitle: str = NOTE) -> str:
        head = [f'<text x="10" y="20" font-size="14" font-weight="bold">{html.escape(title)}</text>',
                f'<text x="10" y="36" font-size="{FONT}" fill="#555555">{html.escape(subtitle)}</text>']
        width = max(self.x1, 10 + _width(title, 14), 10 + _width(subtitle)) + 20
        height = self.y1 + 20
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
                f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans Mono, monospace">'
                f'<rect width="100%" height="100%" fill="white"/>' + "".join(head + self.items) + "</svg>\n")


# --------------------------------------------------------------------------- transistors
def _fet_label(dev: Device, count: int) -> list[str]:
    lines = [f"{dev.name}{f' ×{count}' if count > 1 else ''}", f"{dev.w:g}/{dev.l:g}"]
    if dev.b != dev.s:
        lines.append(f"B:{dev.b}")
    return lines


def _fet_width(dev: Device, count: int) -> float:
    return 18 + max(_width(t) for t in _fet_label(dev, count))


def _fet(sheet: _Sheet, dev: Device, count: int, cx: float, cy: float, lead: float,
         glyph: bool = False) -> dict[str, tuple[float, float]]:
    """One transistor symbol: channel at x = cx, gate lead ending at x = `lead` on the left,
    NMOS drain on top, PMOS source on top, terminals 25 px above and below the centre at
    cx + 12. `glyph`: draw the source's supply as a local symbol (bar: vdd, ground: vss).
    Returns the terminal points."""
    start = len(sheet.items)
    pmos = dev.device.startswith("p")
    top, bottom = (cy - 25, cy + 25)
    sheet.wire([(cx, cy - 16), (cx, cy + 16)], "", width=2.4)
    sheet.wire([(cx - 7, cy - 12), (cx - 7, cy + 12)], "", width=2)
    if pmos:
        sheet.items.append(f'<circle cx="{cx - 10:.1f}" cy="{cy:.1f}" r="3" fill="white" stroke="black"/>')
        sheet.wire([(cx - 13, cy), (lead, cy)], dev.g)
    else:
        sheet.wire([(cx - 7, cy), (lead, cy)], dev.g)
    sheet.wire([(cx, cy - 12), (cx + 12, cy - 12), (cx + 12, top)], dev.s if pmos else dev.d)
    sheet.wire([(cx, cy + 12), (cx + 12, cy + 12), (cx + 12, bottom)], dev.d if pmos else dev.s)
    ay = cy - 12 if pmos else cy + 12  # arrow on the source: NMOS out, PMOS in
    tip, back = (cx + 2, cx + 8) if pmos else (cx + 8, cx + 2)
    sheet.items.append(f'<polygon points="{tip:.1f},{ay:.1f} {back:.1f},{ay - 3:.1f} {back:.1f},{ay + 3:.1f}"/>')
    for k, line in enumerate(_fet_label(dev, count)):
        sheet.text(cx + 18, cy - 4 + 11 * k, line, net=dev.b if line.startswith("B:") else None)
    y0, y1 = top, bottom
    if glyph:
        source = (cx + 12, top) if pmos else (cx + 12, bottom)
        _supply(sheet, *source, dev.s, up=pmos)
        y0, y1 = (top - 9, bottom) if pmos else (top, bottom + 12)
    sheet.symbol(dev.name, (lead - 2, y0, cx + _fet_width(dev, count), y1), start)
    return {"g": (lead, cy), "top": (cx + 12, top), "bottom": (cx + 12, bottom)}


def _supply(sheet: _Sheet, x: float, y: float, net: str, up: bool) -> None:
    """A local supply symbol at a terminal: a bar above for vdd, a ground below for vss;
    any other net gets its name."""
    if net == "vdd" and up:
        sheet.wire([(x, y), (x, y - 6)], net)
        sheet.wire([(x - 7, y - 6), (x + 7, y - 6)], net, width=2)
    elif net == "vss" and not up:
        sheet.wire([(x, y), (x, y + 5)], net)
        for k, half in enumerate((7, 4.5, 2)):
            sheet.wire([(x - half, y + 5 + 3 * k), (x + half, y + 5 + 3 * k)], net)
    else:
        sheet.text(x + 3, y - 3 if up else y + 10, net, size=9, net=net, colour=NET_COLOUR)


# --------------------------------------------------------------------------- stacks
@dataclass
class _Stack:
    """Series devices of one polarity from the rail side to the channel side."""

    pmos: bool
    members: list[tuple[Device, int]]
    internal: list[str] = field(default_factory=list)

    @property
    def out(self) -> str:
        """The net the stack drives (its channel-side drain)."""
        return self.members[-1][0].d

    @property
    def rail(self) -> str:
        return self.members[0][0].s

    def gates(self) -> list[str]:
        return [d.g for d, _ in self.members]


def _stacks(groups: list[tuple[Device, int]], ports: Sequence[str]) -> list[_Stack]:
    """Chains of series devices: a net joining one drain to one source of the same
    polarity, and nothing else, becomes the wire between two stacked symbols."""
    uses: dict[str, int] = {}
    for d, _ in groups:
        for n in (d.d, d.g, d.s):
            uses[n] = uses.get(n, 0) + 1
    by_source: dict[tuple[bool, str], list[tuple[Device, int]]] = {}
    for d, k in groups:
        by_source.setdefault((d.device.startswith("p"), d.s), []).append((d, k))

    def joins(d: Device) -> tuple[Device, int] | None:
        nxt = by_source.get((d.device.startswith("p"), d.d), [])
        if d.d in ports or d.d in SUPPLIES or uses.get(d.d) != 2 or len(nxt) != 1 or nxt[0][0].g == d.d:
            return None
        return nxt[0]

    followers = {id(f[0]) for d, _ in groups if (f := joins(d)) is not None}
    stacks = []
    for d, k in groups:
        if id(d) in followers:
            continue
        stack = _Stack(d.device.startswith("p"), [(d, k)])
        while (nxt := joins(stack.members[-1][0])) is not None:
            stack.internal.append(stack.members[-1][0].d)
            stack.members.append(nxt)
        stacks.append(stack)
    return stacks


def _levels(stacks: list[_Stack], sources: Iterable[str]) -> dict[str, int]:
    """Breadth-first distance of every net from the input ports, one step per stack from
    any of its gates or its rail-side source to the net it drives."""
    level = {n: 0 for n in sources}
    frontier = list(level)
    while frontier:
        nxt = []
        for net in frontier:
            for s in stacks:
                if (net in s.gates() or net == s.rail) and s.out not in level:
                    level[s.out] = level[net] + 1
                    nxt.append(s.out)
        frontier = nxt
    return level


# --------------------------------------------------------------------------- leaf cells
def leaf(title: str, ports: Sequence[str], devices: Iterable[Device],
         outputs: Sequence[str] | None = None) -> str:
    """Transistor-level schematic of a leaf cell in signal-flow order, as SVG text."""
    devices = list(devices)
    outputs = tuple(output_ports(ports, devices) if outputs is None else outputs)
    inputs = [p for p in ports if p not in SUPPLIES and p not in outputs]
    stacks = _stacks(parallel_groups(devices), ports)
    level = _levels(stacks, [p for p in inputs if p not in BIAS_LINES] or inputs)

    def column(s: _Stack) -> int:
        if s.out in level:
            return level[s.out]
        return min((level[g] + 1 for g in s.gates() if g in level), default=0)

    # slots: per column, a PMOS and an NMOS stack that drive the same net share one slot
    slots: list[list[_Stack]] = []
    for col in sorted({column(s) for s in stacks}):
        members = [s for s in stacks if column(s) == col]
        nmos = [s for s in members if not s.pmos]
        for s in [s for s in members if s.pmos]:
            mate = next((n for n in nmos if n.out == s.out), None)
            if mate is not None:
                nmos.remove(mate)
            slots.append([s] + ([mate] if mate else []))
        slots += [[n] for n in nmos]
    depth_p = max((len(s.members) for s in stacks if s.pmos), default=0)
    depth_n = max((len(s.members) for s in stacks if not s.pmos), default=0)
    sheet = _Sheet()
    x_left = 20 + max((_width(p) + 14 for p in inputs), default=0) + 10
    y_vdd = 60
    y_track0 = y_vdd + PITCH * depth_p + 30
    # place every slot: x of the channel line, gate lead x per device
    place: list[tuple[_Stack, int, float, float]] = []  # stack, index, cx, lead
    x = x_left
    for slot in slots:
        leads = sum(len(s.members) for s in slot)
        cx = x + 20 + 8 * (leads - 1) + 6
        offset = 0
        right = cx
        for s in slot:
            for i, (d, k) in enumerate(s.members):
                from_channel = len(s.members) - 1 - i
                place.append((s, i, cx, cx - 20 - 8 * (offset + from_channel)))
                right = max(right, cx + _fet_width(d, k))
            offset += len(s.members)
        x = right + 24 + (10 if any(s.rail not in SUPPLIES for s in slot) else 0)
    x_right = x
    # tracks: every net reached by a stub (ports too), packed by the left-edge rule
    nets_stubs: dict[str, list[float]] = {}
    lane: dict[int, float] = {}
    for s, i, cx, lead in place:
        d, _ = s.members[i]
        if d.g not in SUPPLIES:
            nets_stubs.setdefault(d.g, []).append(lead)
        if i == len(s.members) - 1 and s.out not in SUPPLIES:
            nets_stubs.setdefault(s.out, []).append(cx + 12)
        if i == 0 and s.rail not in SUPPLIES:
            lane[id(s)] = cx + max(_fet_width(m, k) for m, k in s.members) + 6
            nets_stubs.setdefault(s.rail, []).append(lane[id(s)])
    for p in inputs + list(outputs):
        nets_stubs.setdefault(p, [])
    spans = {}
    for net, xs in nets_stubs.items():
        lo = x_left - 10 if net in inputs else min(xs) - _width(net, 9) - 8
        hi = x_right if net in outputs else max(xs, default=lo)
        spans[net] = (lo, max(hi, lo + 10))
    track_of: dict[str, int] = {}
    ends: list[float] = []
    for net in sorted(spans, key=lambda n: (spans[n][0], n)):
        lo, hi = spans[net]
        t = next((t for t, end in enumerate(ends) if end + 16 < lo), None)
        if t is None:
            ends.append(hi)
            t = len(ends) - 1
        ends[t] = hi
        track_of[net] = t
    y_of = {net: y_track0 + TRACK * t for net, t in track_of.items()}
    y_nrow = y_track0 + TRACK * max(len(ends) - 1, 0) + 30
    y_vss = y_nrow + PITCH * depth_n
    # rails
    if depth_p:
        sheet.text(x_left - 12, y_vdd + 4, "vdd", anchor="end", net="vdd", bold=True)
        sheet.wire([(x_left - 8, y_vdd), (x_right, y_vdd)], "vdd", width=2)
    if depth_n:
        sheet.text(x_left - 12, y_vss + 4, "vss", anchor="end", net="vss", bold=True)
        sheet.wire([(x_left - 8, y_vss), (x_right, y_vss)], "vss", width=2)
    # tracks and ports
    for net, (lo, hi) in spans.items():
        y = y_of[net]
        sheet.wire([(lo, y), (hi, y)], net, colour=NET_COLOUR)
        if net in inputs:
            sheet.port(lo, y, net, "left")
        elif net in outputs:
            sheet.port(hi, y, net, "right")
        else:
            sheet.text(lo, y - 3, net, size=9, net=net, colour=NET_COLOUR)
    # devices and their stubs
    for s, i, cx, lead in place:
        d, k = s.members[i]
        n = len(s.members)
        if s.pmos:
            cy = y_vdd + 35 + PITCH * i
        else:
            cy = y_vss - 35 - PITCH * i
        t = _fet(sheet, d, k, cx, cy, lead)
        toward, away = ("bottom", "top") if s.pmos else ("top", "bottom")
        if d.g in SUPPLIES:
            sheet.text(lead - 2, cy - 4, d.g, size=9, anchor="end", net=d.g, colour=NET_COLOUR)
        else:
            sheet.wire([t["g"], (lead, y_of[d.g])], d.g)
            sheet.dot(lead, y_of[d.g], d.g)
        if i == n - 1:
            if s.out in SUPPLIES:
                _supply(sheet, *t[toward], s.out, up=not s.pmos)
            else:
                sheet.wire([t[toward], (t[toward][0], y_of[s.out])], s.out)
                sheet.dot(t[toward][0], y_of[s.out], s.out)
        else:
            y_next = t[toward][1] + (PITCH - 50) * (1 if s.pmos else -1)
            net = s.internal[i]
            sheet.wire([t[toward], (t[toward][0], y_next)], net)
            sheet.text(t[toward][0] + 4, (t[toward][1] + y_next) / 2 + 3, net, size=9, net=net, colour=NET_COLOUR)
        if i == 0:
            rail_y = y_vdd if s.pmos else y_vss
            rail_net = "vdd" if s.pmos else "vss"
            if s.rail == rail_net:
                sheet.wire([t[away], (t[away][0], rail_y)], s.rail)
                sheet.dot(t[away][0], rail_y, s.rail)
            elif s.rail in SUPPLIES:
                _supply(sheet, *t[away], s.rail, up=s.pmos)
            else:  # dogleg round the device to the net's track
                step = -5 if s.pmos else 5
                px = lane[id(s)]
                sheet.wire([t[away], (t[away][0], t[away][1] + step), (px, t[away][1] + step),
                            (px, y_of[s.rail])], s.rail)
                sheet.dot(px, y_of[s.rail], s.rail)
    return sheet.svg(f"{title}  ({' '.join(ports)})")


# --------------------------------------------------------------------------- weight arrays
def array(title: str, ports: Sequence[str], devices: Iterable[Device],
          outputs: Sequence[str] | None = None) -> str:
    """A weight array (dense block) as a crossbar, as SVG text (see the module docstring)."""
    devices = list(devices)
    outputs = tuple(output_ports(ports, devices) if outputs is None else outputs)
    inputs = [p for p in ports if p not in SUPPLIES and p not in outputs]
    # negative-sum nodes (a diode-connected NMOS inside the block whose copy sinks from an
    # output) are columns too, drawn right of the output they subtract from
    # (a stacked diode's lower node — the source of a diode-connected device — is a gate line
    # drawn as a row, not a column)
    stack_gates = {d.s for d in devices if d.d == d.g}
    negs = {d.d for d in devices if d.d == d.g and d.d not in ports and d.device.startswith("n")} - stack_gates
    sinks = {d.g: d.d for d in devices if d.g in negs and d.d in outputs}
    summing = [out for out in outputs if out not in stack_gates]
    columns = tuple(c for out in summing for c in (out, *sorted(n for n in negs if sinks.get(n) == out)))
    weights: dict[tuple[str, str], list[tuple[Device, int]]] = {}
    loads: dict[str, list[tuple[Device, int]]] = {}
    rest = []
    for d, k in parallel_groups(devices):
        if d.d in columns and d.g != d.d:
            weights.setdefault((d.g, d.d), []).append((d, k))
        elif d.d in columns:
            loads.setdefault(d.d, []).append((d, k))
        elif d.g in columns and d.d == d.s:  # a gate capacitor on a summing node
            loads.setdefault(d.g, []).append((d, k))
        else:
            rest.append((d, k))
    drivers = _stacks(rest, ports)
    driven = {s.out for s in drivers}
    rows = list(dict.fromkeys([g for g, _ in weights] + [p for p in inputs if p not in BIAS_LINES]
                              + [s.out for s in drivers]))
    buses = list(dict.fromkeys(g for s in drivers for g in s.gates() if g not in rows and g not in SUPPLIES))

    def band_key(row: str) -> str:
        """The band a driven row is drawn in: its stack's signal input, else the line that
        drives the stack (a stacked diode's gate line, a bias line), else its own."""
        if row in ports:  # inputs read by one stack (a line and its cascode) share a band
            partners = [g for s in drivers if row in s.gates() for g in s.gates() if g in inputs]
            return min(partners + [row], key=lambda p: ports.index(p)) if row in inputs else row
        if row not in driven:
            return row
        gates = next(s for s in drivers if s.out == row).gates()
        signal = next((g for g in gates if g in inputs and g not in BIAS_LINES), None)
        inner = next((g for g in gates if g in driven and g != row), None)
        return (band_key(signal) if signal else band_key(inner) if inner
                else next((g for g in gates if g in inputs), row))

    order = [p for p in ports if p in BIAS_LINES] + [p for p in ports if p not in BIAS_LINES]
    keys = sorted(dict.fromkeys(band_key(r) for r in rows),
                  key=lambda k: (order.index(k) if k in order else len(order), k))
    bands = [[k] + [r for r in rows if band_key(r) == k and r != k] if k in rows
             else [r for r in rows if band_key(r) == k] for k in keys]
    per = max((len(v) for v in weights.values()), default=1)
    # very large arrays: the first and last input rows and outputs, the rest as one ×N note each
    signal = [i for i, lines in enumerate(bands) if lines[0] in inputs and lines[0] not in BIAS_LINES]
    dropped = signal[MAX_ROWS - 1:-1] if len(signal) > MAX_ROWS else []
    shown = summing[:MAX_COLUMNS - 1] + summing[-1:] if len(summing) > MAX_COLUMNS else summing
    shown_out = [c for c in columns if c in shown or sinks.get(c) in shown]
    hidden_out = [o for o in summing if o not in shown]
    hidden_lines = [r for i in dropped for r in bands[i]]
    sheet = _Sheet()
    x_ports = 20 + max((_width(p) + 14 for p in inputs), default=0)
    x_bus = {net: x_ports + 16 + 14 * i for i, net in enumerate(buses)}
    x_drivers = x_ports + 16 + 14 * len(buses) + 10

    def stack_width(s: _Stack) -> float:
        return 20 + 8 * (len(s.members) - 1) + 6 + max(_fet_width(d, k) for d, k in s.members) + 18

    band_drivers = [sorted([s for s in drivers if s.out in lines], key=lambda s: not (set(s.gates()) & set(buses)))
                    for lines in bands]
    x_array = x_drivers + max((sum(stack_width(s) for s in b) for b in band_drivers), default=0) + 20
    cell_w = max((_fet_width(d, k) for v in list(weights.values()) + list(loads.values()) for d, k in v),
                 default=40) + 40
    x_col = {out: x_array + cell_w * per * (i + 1 + (i == len(shown_out) - 1 and bool(hidden_out)))
             for i, out in enumerate(shown_out)}
    y_bus_top = 60
    y = y_bus_top + (24 if buses else 0)
    if hidden_out:  # a strip above the rows for the note of the outputs not drawn
        _summary_columns(sheet, x_col[shown_out[-2]] - 40, y + 6, hidden_out, weights, loads, hidden_lines,
                         [c for c in columns if sinks.get(c) in hidden_out])
        y += 56
    col_top: dict[str, float] = {}
    row_xs: dict[str, list[float]] = {r: [] for r in rows}
    row_y: dict[str, float] = {}
    bus_ys: dict[str, list[float]] = {b: [] for b in buses}
    for index, (lines, stacks) in enumerate(zip(bands, band_drivers)):
        if index in dropped:
            if index == dropped[0]:
                y = _summary_rows(sheet, x_ports, y, [bands[i] for i in dropped],
                                  [s for i in dropped for s in band_drivers[i]], weights)
            continue
        for m, r in enumerate(lines):
            row_y[r] = y + 14 * m
        y_last = y + 14 * (len(lines) - 1)
        cy0 = y_last + 45
        depth = max((len(s.members) for s in stacks), default=1)
        # conversion devices that make the band's lines
        x = x_drivers
        for s in stacks:
            n = len(s.members)
            cx = x + 20 + 8 * (n - 1) + 6
            lane = cx + max(_fet_width(d, k) for d, k in s.members) + 6
            for i, (d, k) in enumerate(s.members):
                from_line = n - 1 - i if not s.pmos else i
                cy = cy0 + PITCH * from_line
                lead = cx - 20 - 8 * from_line
                t = _fet(sheet, d, k, cx, cy, lead, glyph=i == 0)
                _gate(sheet, d.g, t["g"], row_y, row_xs, x_bus, bus_ys)
                if i < n - 1:  # the wire to the next device of the stack
                    a, b = (t["bottom"], (t["bottom"][0], t["bottom"][1] + PITCH - 50)) if s.pmos else \
                        (t["top"], (t["top"][0], t["top"][1] - PITCH + 50))
                    sheet.wire([a, b], s.internal[i])
                    sheet.text(a[0] + 4, (a[1] + b[1]) / 2 + 3, s.internal[i], size=9, net=s.internal[i],
                               colour=NET_COLOUR)
                    continue
                ry = row_y[s.out]
                if not s.pmos:
                    sheet.wire([t["top"], (t["top"][0], ry)], s.out)
                    sheet.dot(t["top"][0], ry, s.out)
                    row_xs[s.out].append(t["top"][0])
                elif d.g == d.d:  # PMOS diode: drain joins its own gate lead
                    bx, by = t["bottom"]
                    sheet.wire([(bx, by), (bx, by + 6), (lead, by + 6), (lead, cy)], s.out)
                    sheet.dot(lead, cy, s.out)
                else:
                    bx, by = t["bottom"]
                    sheet.wire([(bx, by), (bx, by + 6), (lane, by + 6), (lane, ry)], s.out)
                    sheet.dot(lane, ry, s.out)
                    row_xs[s.out].append(lane)
            x += stack_width(s)
        # the weights at their crossings
        for out in shown_out:
            for r in lines:
                for slot, (d, k) in enumerate(weights.get((r, out), [])):
                    cx = x_col[out] - cell_w * (per - slot) + 26
                    t = _fet(sheet, d, k, cx, cy0, cx - 20, glyph=True)
                    _gate(sheet, r, t["g"], row_y, row_xs, x_bus, bus_ys)
                    end = t["top"] if not d.device.startswith("p") else t["bottom"]
                    jy = end[1] - 6 if end is t["top"] else end[1] + 6
                    sheet.wire([end, (end[0], jy), (x_col[out], jy)], out)
                    sheet.dot(x_col[out], jy, out)
                    col_top[out] = min(col_top.get(out, jy), jy)
        y = cy0 + PITCH * (depth - 1) + 36 + 16
    # loads (the ReLU diodes) under each summing node
    load_end: dict[str, float] = {}
    if loads:
        cy0 = y + 45
        for out in shown_out:
            for slot, (d, k) in enumerate(loads.get(out, [])):  # one under the other
                cx, cy = x_col[out] - cell_w * per + 26, cy0 + LOAD_PITCH * slot
                t = _fet(sheet, d, k, cx, cy, cx - 20, glyph=True)
                jy = cy - 31 - (12 if d.device.startswith("p") else 0)  # above a PMOS's vdd bar
                sheet.wire([t["g"], (cx - 20, jy), (x_col[out], jy)], out)
                drain = t["top"] if not d.device.startswith("p") else t["bottom"]
                if d.d == out:  # a diode: its drain joins the column too
                    sheet.wire([drain, (drain[0], jy)], out)
                    sheet.dot(drain[0], jy, out)
                else:  # a gate capacitor: its drain is named
                    _supply(sheet, *drain, d.d, up=not d.device.startswith("p"))
                sheet.dot(x_col[out], jy, out)
                col_top[out] = min(col_top.get(out, jy), jy)
                load_end[out] = jy
        y = cy0 + LOAD_PITCH * (max(len(v) for v in loads.values()) - 1) + 36 + 16
    # summing nodes down to the output bus, out to the right edge
    x_end = max(x_col.values(), default=x_array) + 30
    for i, out in enumerate(shown_out):
        if out not in outputs:  # a negative-sum node: its column ends at its diode
            if out in col_top:
                bottom = load_end.get(out, col_top[out])
                sheet.wire([(x_col[out], col_top[out]), (x_col[out], bottom)], out, colour=NET_COLOUR)
                sheet.text(x_col[out] + 4, col_top[out] - 3, out, size=9, net=out, colour=NET_COLOUR)
            continue
        yo = y + 10 + 16 * i
        sheet.wire([(x_col[out], col_top.get(out, yo)), (x_col[out], yo), (x_end, yo)], out, colour=NET_COLOUR)
        if x_end - x_col[out] > 60:
            sheet.text(x_col[out] + 4, yo - 3, out, size=9, net=out, colour=NET_COLOUR)
        sheet.port(x_end, yo, out, "right")
    # gate lines and buses
    for r in rows:
        if r in hidden_lines:
            continue
        ry = row_y[r]
        xs = row_xs[r] or [x_drivers]
        if r in inputs:
            sheet.wire([(x_ports, ry), (max(xs), ry)], r, colour=NET_COLOUR)
            sheet.port(x_ports, ry, r, "left")
        else:
            lo = min(xs) - _width(r, 9) - 6
            sheet.wire([(lo, ry), (max(xs), ry)], r, colour=NET_COLOUR)
            sheet.text(lo, ry - 3, r, size=9, net=r, colour=NET_COLOUR)
        if max(xs) > x_array:
            sheet.text(max(xs) + 4, ry - 3, r, size=9, net=r, colour=NET_COLOUR)
    for net, bx in x_bus.items():
        bottom = max(bus_ys[net], default=y_bus_top)
        sheet.wire([(x_ports, y_bus_top), (bx, y_bus_top), (bx, bottom)], net, colour=NET_COLOUR)
        if net in inputs:
            sheet.port(x_ports, y_bus_top, net, "left")
    return sheet.svg(f"{title}  ({' '.join(ports)})",
                     NOTE + f"; bar: vdd, ground: vss; beyond {MAX_ROWS} input rows or {MAX_COLUMNS} outputs "
                     "the middle ones are one ×N note")


def _summary_rows(sheet: _Sheet, x: float, y: float, bands: list[list[str]], stacks: list[_Stack],
                  weights: dict) -> float:
    """One note in place of the input rows not drawn: how many, their nets, their devices."""
    lines = [r for band in bands for r in band]
    units = sum(k for (g, _), v in weights.items() if g in lines for _, k in v)
    units += sum(k for s in stacks for _, k in s.members)
    nets = lines + [n for s in stacks for n in s.internal]
    text = (f"⋮ ×{len(bands)} input rows not drawn ({bands[0][0]} … {bands[-1][0]}), each like the rows "
            f"above: {units} unit devices, nets {' '.join(nets)}")
    _note(sheet, x, y + 20, text, nets, units)
    return y + 20 + 14 * len(_wrap(text.split(" "), 900)) + 20


def _summary_columns(sheet: _Sheet, x: float, y: float, outputs: list[str], weights: dict, loads: dict,
                     hidden_lines: list[str], negatives: list[str] = ()) -> None:
    """One note in place of the output columns not drawn, with their negative-sum columns
    (devices on hidden rows are counted in the rows' note)."""
    columns = set(outputs) | set(negatives)
    units = sum(k for (g, o), v in weights.items() if o in columns and g not in hidden_lines for _, k in v)
    units += sum(k for o in columns for _, k in loads.get(o, []))
    text = f"… ×{len(outputs)} outputs not drawn ({outputs[0]} … {outputs[-1]}), each like its neighbours: {units} unit devices"
    _note(sheet, x, y + 10, text, outputs, units, width=420)


def _note(sheet: _Sheet, x: float, y: float, text: str, nets: list[str], units: int, width: float = 900) -> None:
    for k, line in enumerate(_wrap(text.split(" "), width)):
        sheet.text(x, y + 14 * k, line, size=9, colour="#7a3b00")
    sheet.items.append(f'<desc class="summary" data-devices="{units}"/>')
    sheet.items += [f'<desc data-net="{html.escape(n)}"/>' for n in nets]


def _gate(sheet: _Sheet, net: str, at: tuple[float, float], row_y: dict, row_xs: dict, x_bus: dict,
          bus_ys: dict) -> None:
    """Wire a gate lead to its line: up (or down) to a gate row, across to a bus, or name it."""
    x, y = at
    if net in row_y:
        sheet.wire([at, (x, row_y[net])], net)
        sheet.dot(x, row_y[net], net)
        row_xs[net].append(x)
    elif net in x_bus:
        sheet.wire([at, (x_bus[net], y)], net)
        sheet.dot(x_bus[net], y, net)
        bus_ys[net].append(y)
    else:
        sheet.text(x - 2, y - 4, net, size=9, anchor="end", net=net, colour=NET_COLOUR)


# --------------------------------------------------------------------------- resistor crossbars
RES_ROW = 48  # vertical distance between crossbar rows
#: Rails of a resistor–diode network drawn as rows under the inputs (`flows.mondeq.circuit`).
RAIL_ROWS = ("vp", "vn", "vref")
RES_NOTE = "R at tt 27 °C; D: clamp diode, W/L in µm; dots join wires, crossings without a dot do not"


def _natural(net: str) -> tuple:
    """in2 before in10: digit runs compare as numbers."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", net))


def _ohms(r: float) -> str:
    return f"{r / 1e6:.3g}MΩ" if r >= 1e6 else f"{r / 1e3:.3g}kΩ"


def _shown(items: list[str], limit: int) -> list[str]:
    """The first limit − 1 and the last of `items` (all of them when few)."""
    return items if len(items) <= limit else items[:limit - 1] + items[-1:]


def resistor_array(title: str, ports: Sequence[str], devices: Iterable[Resistor | Diode],
                   outputs: Sequence[str] | None = None) -> str:
    """A resistor–diode network (`cells.resistor_network`) as crossbars, as SVG text.

    Every resistor joins a row net to a column net. Columns are the internal nodes (nets
    that are no port) and, in a second crossbar on the right, the outputs; rows are the
    inputs and rails (ports on the left edge) and the nodes themselves: a node's row starts
    at its own column (the diagonal dot) and runs right, so a coupling between two nodes
    stands on the earlier node's row in the later node's column, and a readout resistor on
    its node's row in its output's column. Clamp diodes stand under the node columns on
    their rail. Beyond MAX_ROWS input rows or MAX_COLUMNS columns of either crossbar the
    first and last ones are drawn and the middle ones are one note naming their nets and
    counting their devices."""
    devices = list(devices)
    outputs = tuple(output_ports(ports, devices) if outputs is None else outputs)
    resistors = [d for d in devices if isinstance(d, Resistor)]
    diodes = [d for d in devices if isinstance(d, Diode)]
    nets = {n for r in resistors for n in (r.a, r.b)} | {n for d in diodes for n in (d.anode, d.cathode)}
    nodes = sorted((n for n in nets if n not in ports), key=_natural)
    outs = [p for p in outputs if p in nets]
    rank = {n: k for k, n in enumerate(nodes)}

    def place(r) -> tuple[str, str]:
        """(row, column) of a resistor."""
        if r.b in outs or r.a in outs:
            return (r.a, r.b) if r.b in outs else (r.b, r.a)
        if r.a in rank and r.b in rank:
            return (r.a, r.b) if rank[r.a] < rank[r.b] else (r.b, r.a)
        if r.a not in rank and r.b not in rank:
            raise ValueError(f"resistor {r.name}: {r.a}–{r.b} joins no node and no output")
        return (r.a, r.b) if r.b in rank else (r.b, r.a)

    at = {r.name: place(r) for r in resistors}
    rows = {row for row, _ in at.values()}
    inputs = sorted((p for p in ports if p in rows and p not in outputs),
                    key=lambda p: (p in RAIL_ROWS, RAIL_ROWS.index(p) if p in RAIL_ROWS else 0, _natural(p)))
    signal = [p for p in inputs if p not in RAIL_ROWS]
    rails = [p for p in inputs if p in RAIL_ROWS]
    shown_in = _shown(signal, MAX_ROWS)
    shown_nodes = _shown(nodes, MAX_COLUMNS)
    shown_outs = _shown(outs, MAX_COLUMNS)
    hidden_in = [p for p in signal if p not in shown_in]
    hidden_nodes = [n for n in nodes if n not in shown_nodes]
    hidden_outs = [o for o in outs if o not in shown_outs]
    shown_rows, shown_columns = {*shown_in, *rails, *shown_nodes}, {*shown_nodes, *shown_outs}
    drawn = {name for name, (row, col) in at.items() if row in shown_rows and col in shown_columns}
    substrate = max({r.sub for r in resistors}, key=lambda s: sum(r.sub == s for r in resistors), default=None)

    def label(r) -> list[str]:
        lines = [r.name, _ohms(resistance(r.l, r.device))]
        return lines + ([f"B:{r.sub}"] if r.sub != substrate else [])

    widest = max((_width(t, 9) for r in resistors if r.name in drawn for t in label(r)), default=30)
    pitch = 27 + widest  # column pitch: lead, body, label
    sheet = _Sheet()
    x_ports = 20 + max((_width(p) + 14 for p in shown_in + rails), default=0)
    x = x_ports + 20
    x_col: dict[str, float] = {}
    for group, hidden in ((shown_nodes, hidden_nodes), (shown_outs, hidden_outs)):
        x += 30
        for k, col in enumerate(group):
            x += pitch * (2 if hidden and k == len(group) - 1 else 1)
            x_col[col] = x
    # notes of the columns not drawn, in a strip above the crossbars
    y = 60.0
    if substrate is not None:
        sheet.text(20, y, f"every resistor's substrate terminal: {substrate}", size=9, net=substrate,
                   colour=NET_COLOUR)
        y += 14
    for group, hidden, kind in ((shown_nodes, hidden_nodes, "nodes"), (shown_outs, hidden_outs, "outputs")):
        if not hidden:
            continue
        members = [r for r in resistors if r.name not in drawn and at[r.name][0] not in hidden_in
                   and (kind == "nodes") == (at[r.name][0] in hidden_nodes or at[r.name][1] in hidden_nodes)]
        clamps = [d for d in diodes if d.cathode in hidden] if kind == "nodes" else []
        text = (f"… ×{len(hidden)} {kind} not drawn ({hidden[0]} … {hidden[-1]}), each like its neighbours: "
                f"{len(members)} resistors" + (f", {len(clamps)} diodes" if clamps else ""))
        _note(sheet, x_col[group[-2]] - 10, y + 10, text, hidden, len(members) + len(clamps), width=420)
        y += 14 * len(_wrap(text.split(" "), 420)) + 10
    y_head = y + 16
    for col in x_col:
        sheet.text(x_col[col], y_head, col, size=9, anchor="middle", net=col, colour=NET_COLOUR)
    y = y_head + 20
    row_y: dict[str, float] = {}
    for row in shown_in[:-1] if hidden_in else shown_in:
        row_y[row] = y
        y += RES_ROW
    if hidden_in:
        members = [r for r in resistors if at[r.name][0] in hidden_in]
        text = (f"⋮ ×{len(hidden_in)} input rows not drawn ({hidden_in[0]} … {hidden_in[-1]}), each like the "
                f"rows above: {len(members)} resistors")
        _note(sheet, x_ports - 40, y, text, hidden_in, len(members))
        y += 14 * len(_wrap(text.split(" "), 900)) + 20
        row_y[shown_in[-1]] = y
        y += RES_ROW
    for row in rails:
        row_y[row] = y
        y += RES_ROW
    node_rows = [n for n in shown_nodes if n in rows]  # a node with couplings or readout
    for node in node_rows:
        if hidden_nodes and node == shown_nodes[-1] and any(n in rows for n in hidden_nodes):
            sheet.text(x_ports, y + 4, "⋮", size=12, colour="#7a3b00")
            y += RES_ROW
        row_y[node] = y
        y += RES_ROW
    # resistors at their crossings
    row_xs: dict[str, list[float]] = {}
    col_ys: dict[str, list[float]] = {}
    for r in resistors:
        if r.name not in drawn:
            continue
        row, col = at[r.name]
        bx = x_col[col] - pitch + 10
        _resistor(sheet, r, label(r), row, col, bx, x_col[col], row_y[row])
        row_xs.setdefault(row, []).append(bx)
        col_ys.setdefault(col, []).append(row_y[row] + 36)
    # clamp diodes under their columns, on their rail
    y_diode = y
    rail_xs: dict[str, list[float]] = {}
    for d in diodes:
        if d.cathode not in x_col:
            continue
        _clamp(sheet, d, x_col[d.cathode], y_diode)
        col_ys.setdefault(d.cathode, []).append(y_diode)
        rail_xs.setdefault(d.anode, []).append(x_col[d.cathode])
    y = y_diode + 40
    for rail, xs in rail_xs.items():
        sheet.wire([(x_ports, y), (max(xs), y)], rail, colour=NET_COLOUR, width=2)
        for xr in xs:
            sheet.dot(xr, y, rail)
        if rail in ports:
            sheet.port(x_ports, y, rail, "left")
        else:
            sheet.text(x_ports, y - 3, rail, size=9, net=rail, colour=NET_COLOUR)
        y += 24
    # rows: inputs and rails from their ports, nodes from their own column
    for row, yr in row_y.items():
        if row in x_col:
            xs = row_xs.get(row, [])
            sheet.wire([(x_col[row], yr), (max(xs, default=x_col[row] + 20), yr)], row, colour=NET_COLOUR)
            sheet.dot(x_col[row], yr, row)
            sheet.text(x_col[row] - 4, yr - 3, row, size=9, anchor="end", net=row, colour=NET_COLOUR)
            col_ys.setdefault(row, []).append(yr)
        else:
            sheet.wire([(x_ports, yr), (max(row_xs.get(row, [x_ports + 20])), yr)], row, colour=NET_COLOUR)
            sheet.port(x_ports, yr, row, "left")
    # columns: nodes from the header to their lowest joint, outputs on to the right edge
    x_end = max(x_col.values(), default=x_ports) + 40
    y_out = y + 10
    for col, xc in x_col.items():
        ys = col_ys.get(col, [y_head + 6])
        if col in outs:
            sheet.wire([(xc, y_head + 6), (xc, y_out), (x_end, y_out)], col, colour=NET_COLOUR)
            sheet.port(x_end, y_out, col, "right")
            y_out += 16
        else:
            sheet.wire([(xc, y_head + 6), (xc, max(ys))], col, colour=NET_COLOUR)
    return sheet.svg(f"{title}  ({len(resistors)} resistors, {len(diodes)} diodes)", RES_NOTE)


def _resistor(sheet: _Sheet, r: Resistor, label: list[str], row: str, col: str, bx: float, xc: float,
              yr: float) -> None:
    """A resistor hanging from its row at (bx, yr), its lower lead joining column x = xc
    36 px below, its label right of the body."""
    start = len(sheet.items)
    sheet.wire([(bx, yr), (bx, yr + 6)], row)
    zig = [(bx, yr + 6)] + [(bx + (4 if k % 2 else -4), yr + 8 + 3 * k) for k in range(7)] + [(bx, yr + 30)]
    sheet.wire(zig, "", width=1.6)
    sheet.wire([(bx, yr + 30), (bx, yr + 36), (xc, yr + 36)], col)
    for k, line in enumerate(label):
        sheet.text(bx + 8, yr + 16 + 10 * k, line, size=9, net=r.sub if line.startswith("B:") else None)
    sheet.symbol(r.name, (bx - 6, yr + 4, xc - 3, yr + 40), start)
    sheet.dot(bx, yr, row)
    sheet.dot(xc, yr + 36, col)


def _clamp(sheet: _Sheet, d: Diode, xc: float, y: float) -> None:
    """A diode standing on its rail 40 px below y, cathode up to its column at x = xc."""
    start = len(sheet.items)
    size = f"{d.w:g}/{d.l:g}"
    sheet.wire([(xc, y), (xc, y + 12)], d.cathode)
    sheet.wire([(xc - 7, y + 12), (xc + 7, y + 12)], "", width=2)
    sheet.items.append(f'<polygon points="{xc:.1f},{y + 12:.1f} {xc - 7:.1f},{y + 24:.1f} {xc + 7:.1f},{y + 24:.1f}"/>')
    sheet.wire([(xc, y + 24), (xc, y + 40)], d.anode)
    sheet.text(xc + 9, y + 16, d.name, size=9)
    sheet.text(xc + 9, y + 26, size, size=9)
    sheet.symbol(d.name, (xc - 8, y + 2, xc + 9 + _width(max(d.name, size, key=len) + " ", 9), y + 38), start)


# --------------------------------------------------------------------------- block diagrams
BOX_W, LOAD_W = 180, 130
PIN = 16  # pin pitch; left pins sit half a pitch below right pins, so wires never coincide


def block(title: str, ports: Sequence[str], instances: Iterable[Instance],
          outputs: Sequence[str] | None = None) -> str:
    """Block-level schematic of a composite cell in signal-flow order, as SVG text.

    Columns by signal-flow distance from the input pins; a load (an instance that drives
    nothing, like a signal diode) sits small under the blocks of the column that reads its
    net. A net goes by wire to the readers in the next column; a reader further right (a
    skip) and every bias line get the net's name at the pin instead."""
    instances = list(instances)
    by_name = {i.name: i for i in instances}
    outputs = tuple(outputs if outputs is not None else [p for p in ports if p.startswith("out")])
    bias_nets = {net for inst in instances for port, net in inst.connections.items() if port in BIAS_LINES}
    pins_in = [p for p in ports if p not in SUPPLIES and p not in outputs and p not in bias_nets]

    def signals_in(inst: Instance) -> list[tuple[str, str]]:
        return [(p, n) for p, n in inst.connections.items()
                if p not in inst.outputs and n not in SUPPLIES and n not in bias_nets]

    def signals_out(inst: Instance) -> list[tuple[str, str]]:
        return [(p, n) for p, n in inst.connections.items() if p in inst.outputs and n not in bias_nets]

    producer = {n: inst.name for inst in instances for _, n in signals_out(inst)}
    level: dict[str, int] = {}

    def level_of(name: str, path: tuple[str, ...] = ()) -> int:
        if name not in level:
            ups = [producer[n] for _, n in signals_in(by_name[name]) if n in producer and producer[n] not in path]
            level[name] = (1 + max((level_of(u, path + (name,)) for u in ups), default=-1)
                           if signals_in(by_name[name]) else 0)
        return level[name]

    columns = [[] for _ in range(max((level_of(i.name) for i in instances), default=0) + 1)]
    for inst in instances:
        columns[level[inst.name]].append(inst)
    readers: dict[str, list[tuple[str, str]]] = {}
    for inst in instances:
        for p, n in signals_in(inst):
            readers.setdefault(n, []).append((inst.name, p))

    def source_column(net: str) -> int:
        return level[producer[net]] if net in producer else -1

    # a wire to the readers one column on (and to an output pin from the last column)
    near: dict[str, list[tuple[str, str]]] = {}
    for net in sorted(set(readers) | set(outputs)):
        if net not in producer and net not in pins_in:
            continue
        c = source_column(net)
        near[net] = [(i, p) for i, p in readers.get(net, []) if level[i] == c + 1]
    to_pin = {n for n in outputs if n in producer and source_column(n) == len(columns) - 1}
    gap_nets: dict[int, list[str]] = {}
    for net, targets in near.items():
        if targets or net in to_pin:
            gap_nets.setdefault(source_column(net), []).append(net)
    sheet = _Sheet()
    pin_w = max((_width(p) + 14 for p in pins_in), default=0)
    x = 20 + pin_w
    gap_x: dict[int, float] = {}
    col_x: dict[int, float] = {}
    for c in range(-1, len(columns)):
        gap_x[c] = x
        x += 40 + 10 * len(gap_nets.get(c, []))
        if c + 1 < len(columns):
            col_x[c + 1] = x
            x += BOX_W
    x_end = x
    pin_y: dict[tuple[str, str], float] = {}
    y_of_net: dict[str, float] = {}
    for k, p in enumerate(pins_in):
        y_of_net[p] = 80 + 2 * PIN * k + PIN / 2
    box_of: dict[str, tuple[float, float, float, float]] = {}

    def is_load(inst: Instance) -> bool:
        return not inst.outputs

    for c, column in enumerate(columns):
        def rank(inst: Instance) -> tuple:
            ys = [y_of_net[n] for _, n in signals_in(inst) if n in y_of_net]
            return (is_load(inst), sum(ys) / len(ys) if ys else -1.0, instances.index(inst))
        column.sort(key=rank)
        y = 64.0
        for inst in column:
            y = _box(sheet, inst, col_x[c], y, signals_in(inst), signals_out(inst), is_load(inst),
                     near, pin_y, y_of_net, box_of)
    for p in pins_in:
        sheet.port(20 + pin_w, y_of_net[p], p, "left")
    out_y = {p: y_of_net.get(p, 80 + 2 * PIN * k) for k, p in enumerate(outputs)}
    for c, nets in gap_nets.items():
        nets.sort(key=lambda n: y_of_net.get(n, 0))
        for k, net in enumerate(nets):
            lx = gap_x[c] + 20 + 10 * k
            sx = box_of[producer[net]][2] if net in producer else 20 + pin_w
            sy = y_of_net[net]
            targets = [(box_of[i][0], pin_y[(i, p)]) for i, p in near[net]]
            if net in to_pin:
                targets.append((x_end, out_y[net]))
            ys = [sy] + [ty for _, ty in targets]
            sheet.wire([(sx, sy), (lx, sy)], net, colour=NET_COLOUR)
            sheet.wire([(lx, min(ys)), (lx, max(ys))], net, colour=NET_COLOUR)
            for tx, ty in targets:
                sheet.wire([(lx, ty), (tx, ty)], net, colour=NET_COLOUR)
            for yy in sorted(set(ys)):
                if min(ys) < yy < max(ys) or (ys.count(yy) > 1 and min(ys) < max(ys)):
                    sheet.dot(lx, yy, net)
    for p in outputs:
        if p not in to_pin:
            sheet.text(x_end - 6, out_y[p] + 3, p, size=9, anchor="end", net=p, colour=NET_COLOUR)
        sheet.port(x_end, out_y[p], p, "right")
    return sheet.svg(f"{title}  ({_port_list(ports)})",
                     "signal flows left to right; wires to the next column; a name at a pin (pin ← net) "
                     "where the wire would cross the sheet: bias lines and skips")


def _box(sheet: _Sheet, inst: Instance, x0: float, y: float, left: list[tuple[str, str]],
         right: list[tuple[str, str]], load: bool, near: dict, pin_y: dict, y_of_net: dict,
         box_of: dict) -> float:
    """One instance box at (x0, y): name, cell, signal pins on its sides (the net's name
    beside the pin where no wire comes), supply and bias connections as text; a load is
    one small box. Returns the next free y."""
    wired = {(i, p) for targets in near.values() for i, p in targets}
    extra = [f"{p}={n}" if p != n else p for p, n in inst.connections.items()
             if (p, n) not in left and (p, n) not in right]
    width = LOAD_W if load else BOX_W
    start = len(sheet.items)
    if load:
        height = 2 * PIN
        sheet.items.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{width}" height="{height}" '
                           f'fill="#f7f7f2" stroke="black" stroke-width="1.2"/>')
        sheet.text(x0 + 5, y + 12, f"{inst.name} {inst.cell}", size=8, bold=True)
        pins = " ".join(f"{p} ← {n}" if (inst.name, p) not in wired else p for p, n in left)
        sheet.text(x0 + 5, y + 26, f"{pins}  {' '.join(extra)}", size=8, colour=NET_COLOUR)
        for p, _ in left:
            pin_y[(inst.name, p)] = y + 23
    else:
        lines = _wrap(extra, width - 12)
        height = 34 + PIN * max(len(left), len(right), 1) + 12 * len(lines) + 6
        height = PIN * -(-height // PIN)
        sheet.items.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{width}" height="{height:.0f}" '
                           f'fill="#f7f7f2" stroke="black" stroke-width="1.4"/>')
        sheet.text(x0 + width / 2, y + 13, inst.name, anchor="middle", bold=True)
        sheet.text(x0 + width / 2, y + 26, inst.cell, size=9, anchor="middle", colour="#555555")
        for k, (p, n) in enumerate(left):
            py = y + 34 + PIN * k + PIN
            pin_y[(inst.name, p)] = py
            sheet.text(x0 + 5, py + 3, p if (inst.name, p) in wired else f"{p} ← {n}", size=9)
        for k, (p, n) in enumerate(right):
            py = y + 34 + PIN * k + PIN / 2
            pin_y[(inst.name, p)] = py
            y_of_net[n] = py
            sheet.text(x0 + width - 5, py + 3, p if near.get(n) or n == p else f"{p} → {n}", size=9,
                       anchor="end")
        for k, line in enumerate(lines):
            sheet.text(x0 + 6, y + height - 6 - 12 * (len(lines) - 1 - k), line, size=9, colour=NET_COLOUR)
    for p, n in inst.connections.items():
        sheet.items.append(f'<desc data-net="{html.escape(n)}"/>')
    sheet.symbol(inst.name, (x0, y, x0 + width, y + height), start)
    box_of[inst.name] = (x0, y, x0 + width, y + height)
    return y + height + (PIN / 2 if load else 2 * PIN)


def _port_list(ports: Sequence[str], limit: int = 32) -> str:
    """The ports for a title: all of them, or beyond `limit` (a resistor network's hundred
    and more) the count and the ends, so the title does not set the sheet's width."""
    return " ".join(ports) if len(ports) <= limit else f"{len(ports)} ports: {ports[0]} … {ports[-1]}"


def _wrap(words: list[str], width: float) -> list[str]:
    lines: list[str] = []
    for w in words:
        if lines and _width(lines[-1] + " " + w, 9) <= width:
            lines[-1] += " " + w
        else:
            lines.append(w)
    return lines


def capacitor_bank(title: str, ports: Sequence[str], devices: Iterable[Capacitor],
                   outputs: Sequence[str] | None = None) -> str:
    """A bank of capacitors from nodes to a common plate net (`flows.r2nn.circuit`), as
    SVG text: one plate pair per capacitor, its node's port above, the common net below."""
    sheet = _Sheet()
    caps = list(devices)
    pitch, top, plate = 120.0, 70.0, 40.0
    common = sorted({c.bottom for c in caps})
    for k, c in enumerate(caps):
        x = 60 + k * pitch
        start = len(sheet.items)
        sheet.wire([(x, top), (x, top + plate)], c.top)
        sheet.wire([(x - 18, top + plate), (x + 18, top + plate)], c.top, width=2.4)
        sheet.wire([(x - 18, top + plate + 8), (x + 18, top + plate + 8)], c.bottom, width=2.4)
        sheet.wire([(x, top + plate + 8), (x, top + 2 * plate + 8)], c.bottom)
        sheet.text(x + 22, top + plate + 2, c.name)
        sheet.text(x + 22, top + plate + 16, f"{c.w:g}×{c.l:g} µm")
        sheet.symbol(c.name, (x - 18, top, x + 60, top + 2 * plate + 8), start)
        sheet.text(x, top - 6, c.top, anchor="middle", net=c.top, colour=NET_COLOUR)
    y = top + 2 * plate + 8
    for net in common:
        sheet.wire([(60, y), (60 + (len(caps) - 1) * pitch, y)], net, colour=NET_COLOUR)
        sheet.text(60, y + 16, net, net=net, colour=NET_COLOUR)
    return sheet.svg(title, f"{len(caps)} MiM capacitors (top plate on the node, met3 plate on {', '.join(common)})")
