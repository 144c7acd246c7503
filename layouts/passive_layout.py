"""Layout of a passive cell from its device list (`cells.netlist.Resistor`, `Diode` and
`Capacitor` records, the list its netlist is generated from), with `layouts.cell_layout`'s
conventions: a `CellLayout`, met2 stubs from terminals to horizontal met3 tracks, every pin
a labelled met3 track with nothing else on met3 to its right (`layouts.macro` extends it).

Floorplan, bottom to top:

    p+ tap strip     the substrate under the resistors (their third terminal), its stub in
                     the lane left of the columns
    resistor rows    each resistor folded into a serpentine of equal vertical segments
                     (columns 0.70 µm apart, the licon bars' side-to-side space of the MPW
                     deck; joined head to head on met1: LVS adds series segments), rows
                     filled in device order (a `group` stays together) to similar lengths;
                     one implant, psdm and npc box over all rows (no notches between them)
    diode strip      the diodes, each in its own nwell (their cathodes are different nets)
    anode channel    met3 tracks of the anode nets
    capacitor rows   MiM capacitors side by side, capm.2b apart, each row above a channel of
                     its nets' tracks: both plates' contacts are met2 pads below the plate,
                     and no met3 but a plate's own comes within capm.2b of it (a macro
                     adds met3 only right of the pin tracks, and `BLOCK_GAP` above capm.2b)

Routing runs over the resistors: each row carries one met3 track per net it touches, from
its bottom up; every column is a met2 lane, and a terminal's stub runs in its own column's
lane from the head to the track. A resistor has at least two segments where it can; a
shorter one reaches over on met1 to an empty lane beside it, so no lane holds two
terminals. A net's tracks in two rows are joined by a met2 segment in any lane free over
that span (an inner column of a serpentine, the unused part of a terminal's lane, or a lane
past the rows' ends), so no routing channel is needed.

The number of rows and the longest segment are chosen for the smallest cell within the
aspect limit (or the outline) given; the row height also takes its tracks.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import klayout.db as db
import numpy as np

from cells.netlist import subckt
from layouts.cell_layout import STUB_W, CellLayout
from pdk import pcells
from pdk.devices import CAPACITORS, RES_MIN_L, RES_WIDTH
from pdk.pcells import R, snap_down, snap_up, u

ASPECT_MAX = 2.0  # default limit on the cell's long side over its short side
STRIP_GAP = 1.0  # µm from the resistor implant to the diode nwells (beyond every rule)
TRACK_W = 0.38  # µm met3 track: takes via2 with m3.4 on both sides
STUB_END = u(0.185)  # met2 beyond a via centre (via2.5 along the stub)


def _segments(length: float, longest: float) -> list[float]:
    """Equal segments on the 5 nm grid summing to `length` exactly (the last one adjusted):
    as few as keep each within `longest`, but two where both fit (terminals in two lanes)."""
    n = max(1, -(-u(length) // u(longest)))
    if n == 1 and u(length) >= 2 * u(RES_MIN_L):
        n = 2
    step = snap_down(u(length) // n)
    return [step * pcells.DBU] * (n - 1) + [(u(length) - step * (n - 1)) * pcells.DBU]


@dataclass
class _Band:
    """A horizontal band of the cell holding met3 tracks: a resistor row or a channel."""
    lo: int
    hi: int
    nets: list[str] = field(default_factory=list)
    y: dict[str, int] = field(default_factory=dict)
    xs: dict[str, list[int]] = field(default_factory=dict)  # net → x of its stubs and joins

    def place_tracks(self, pitch: int) -> None:
        """Tracks `pitch` apart from the band's bottom, where most terminals are (short
        stubs leave the lanes free for joins); half a pitch from the band's edges."""
        self.y = {n: snap_down(self.lo + pitch // 2 + i * pitch) for i, n in enumerate(self.nets)}


class _Lanes:
    """met2 occupancy of the vertical lanes (column index → y intervals)."""

    def __init__(self, space: int):
        self.space = space
        self.used: dict[int, list[tuple[int, int]]] = {}

    def free(self, lane: int, lo: int, hi: int) -> bool:
        return all(hi + self.space <= a or lo >= b + self.space for a, b in self.used.get(lane, ()))

    def take(self, lane: int, lo: int, hi: int, what: str) -> None:
        if not self.free(lane, lo, hi):
            raise ValueError(f"{what}: its met2 stub meets another in lane {lane}")
        self.used.setdefault(lane, []).append((lo, hi))

    def reserve_near(self, x: int, reach: int, x0: int, pitch: int, lo: int, hi: int) -> None:
        """Mark [lo, hi] used in every lane closer than `reach` to x: a stub off the lane grid
        (a capacitor's contact) keeps joins out of the lanes beside it."""
        for lane in range(-(-(x - reach - x0 + 1) // pitch), (x + reach - x0 - 1) // pitch + 1):
            self.used.setdefault(lane, []).append((lo, hi))


def _plan(resistors, pitch: int, head: int, gap: int, track: int, extra_h: int, min_w: int,
          aspect: float, outline) -> tuple[float, list[list]]:
    """Longest segment and rows (resistors in order, filled to equal column counts) of the
    smallest cell within `aspect` (else the squarest) or `outline` (w, h) µm; `extra_h` is
    the height beside the rows (tap, diodes, channel), `min_w` the diode strip's width."""
    length = np.array([u(r.l) for r in resistors])
    lo = max(RES_MIN_L, 2.0)
    candidates = sorted({round(lo * (length.max() * pcells.DBU / lo) ** (k / 60) / 0.005) * 0.005 for k in range(61)})
    best = squarest = None
    for s in candidates:
        cols = np.maximum(2, -(-length // u(s)))  # lanes: as `_segments` folds, two at least
        total = int(cols.sum())
        band_h = u(s) + 2 * head + gap
        r_sq = math.sqrt(total * pitch / band_h)
        for n_rows in sorted({max(1, min(len(resistors), int(r_sq * f) + d)) for f in (0, 0.25, 0.5, 0.7, 1, 1.4, 2, 4) for d in (0, 1)}):
            row_of = np.minimum(n_rows - 1, ((np.cumsum(cols) - cols / 2) * n_rows / total).astype(int))
            width = max((int(np.bincount(row_of, weights=cols).max()) + 2) * pitch, min_w)
            if best is not None and width * (extra_h + n_rows * band_h) > best[0][0]:
                continue  # cannot beat the best even before its tracks
            rows = [[] for _ in range(n_rows)]
            for r, k in zip(resistors, row_of):
                rows[k].append(r)
            rows = [row for row in rows if row]
            height = extra_h
            for row in rows:
                nets = {n for r in row for n in (r.a, r.b)}
                height += max(band_h, (len(nets) + 1) * track)
            ratio = max(width, height) / min(width, height)
            if outline is None and (squarest is None or ratio < squarest[0]):
                squarest = (ratio, s, rows)
            if outline is not None:
                if width > u(outline[0]) or height > u(outline[1]):
                    continue
            elif ratio > aspect:
                continue
            if best is None or (width * height, ratio) < best[0]:
                best = ((width * height, ratio), s, rows)
    if best is None and outline is None:
        best = squarest  # a cell of a few short resistors cannot be square: the squarest one
    if best is None:
        raise ValueError(f"no floorplan of these resistors fits the outline {outline[0]:g} × {outline[1]:g} µm")
    return best[1], best[2]


def _cap_rows(caps, size: dict, gap: int, track: int, base: tuple[int, int], aspect: float) -> list[list]:
    """Capacitors in order into rows (a row full when the next would pass a width limit) for
    the smallest cell within `aspect`, else the squarest; `size` name → block (w, h), `base`
    (w, h) of what is drawn below them; a row costs its channel (a track per net) and the
    capm.2b gap to the next."""
    widths = [size[c.name][0] for c in caps]
    limits = sorted({sum(widths[:k]) + gap * (k - 1) for k in range(1, len(caps) + 1)} | {max(widths)})
    best = squarest = None
    for limit in limits:
        rows, used = [[]], 0
        for c, w in zip(caps, widths):
            if rows[-1] and used + gap + w > limit:
                rows.append([])
                used = 0
            used += (gap if rows[-1] else 0) + w
            rows[-1].append(c)
        width = max([base[0]] + [sum(size[c.name][0] for c in row) + gap * (len(row) - 1) for row in rows])
        height = base[1] + gap * (len(rows) - 1) + sum((len({n for c in row for n in c.terminals}) + 1) * track
                                                       + max(size[c.name][1] for c in row) for row in rows)
        ratio = max(width, height) / min(width, height)
        if squarest is None or ratio < squarest[0]:
            squarest = (ratio, rows)
        if ratio <= aspect and (best is None or width * height < best[0]):
            best = (width * height, rows)
    return (best or squarest)[1]


def draw_passive_cell(name: str, ports, devices, ly: db.Layout | None = None,
                      aspect: float = ASPECT_MAX, outline: tuple[float, float] | None = None) -> CellLayout:
    """Place and route `devices` (Resistor, Diode and Capacitor records) as cell `name` with
    pins `ports`, in rows chosen for the smallest cell whose long side is at most `aspect`
    times its short one (or whose resistors fit `outline`, width × height in µm; capacitor
    rows follow `aspect`, and the drawn cell must fit the outline). Raises ValueError for a
    list it cannot draw (several substrate nets or resistor devices, a port no device
    touches, a device of another kind, no floorplan within the limit)."""
    ly = ly or pcells.new_layout()
    top = ly.create_cell(name)
    ports = tuple(ports)
    resistors = [d for d in devices if d.device in RES_WIDTH]
    rank = {g: i for i, g in enumerate(dict.fromkeys(r.group for r in resistors))}
    resistors.sort(key=lambda r: rank[r.group])  # a group's resistors side by side
    diodes = [d for d in devices if d.device.startswith("diode")]
    caps = [d for d in devices if d.device in CAPACITORS]
    if len(resistors) + len(diodes) + len(caps) != len(devices):
        raise ValueError(f"{name}: only poly resistors, diodes and MiM capacitors can be drawn here")
    subs = {r.sub for r in resistors}
    if len(subs) > 1:
        raise ValueError(f"{name}: resistors over several substrate nets {sorted(subs)}")
    kinds = {r.device for r in resistors}
    if len(kinds) > 1:
        raise ValueError(f"{name}: one resistor device per cell, not {sorted(kinds)}")
    touched = {n for d in devices for n in d.terminals}
    missing = [p for p in ports if p not in touched]
    if missing:
        raise ValueError(f"{name}: port(s) {', '.join(missing)} touch no device")

    half, m3w = u(STUB_W) // 2, u(TRACK_W)
    track = m3w + u(R("m3.2"))
    lanes = _Lanes(u(R("m2.2")))
    stubs: list[tuple[str, int, int, int, int]] = []  # net, band, lane, x, via y
    order: dict[str, list[str]] = {}

    def via(layer: str, x: int, y: int) -> None:
        s = u(R(f"{layer}.1a")) // 2
        pcells.box(top, layer, db.Box(x - s, y - s, x + s, y + s))

    # ---- rows (or a cathode channel when there are none) and their tracks
    anodes = list(dict.fromkeys(d.anode for d in diodes))
    pitch, x0 = snap_up(u(STUB_W) + u(R("m2.2")) + u(0.1)), 0  # lanes without resistors
    rows, head, gap = [], 0, 0
    if resistors:
        device = resistors[0].device
        probe = pcells.resistor(ly, device, RES_WIDTH[device], RES_MIN_L)
        pad = probe.ports["A"].box
        x0 = pad.center().x  # a column's heads' centre line, from the body's left edge
        pitch = snap_up(max(u(RES_WIDTH[device]) + u(R("poly.2")), u(R("licon.1b")) + u(R("MR_licon.SP.3")),
                            pad.width() + u(R("m1.2")), u(STUB_W) + u(R("m2.2"))))
        head = -probe.cell.bbox().bottom - u(R("rpm.3"))  # poly below (and above) the body
        gap = max(u(R("poly.2")), u(R("MR_licon.SP.3")) - 2 * u(R("licon.8a")))  # bar ends of two rows
        extra = u(3.0) + ((u(6.0) + track * (len(anodes) + 1)) if diodes else 0)
        strip = sum(pcells.diode(ly, d.device, d.w, d.l).bbox.width() + u(R("nwell.2a")) for d in diodes)
        seg_max, rows = _plan(resistors, pitch, head, gap, track, extra, strip, aspect, outline)

    def x_of(lane: int) -> int:
        return x0 + lane * pitch

    bands: list[_Band] = []
    y = 0
    for k, row in enumerate(rows):
        nets = list(dict.fromkeys(([resistors[0].sub] if k == 0 else []) + [n for r in row for n in (r.a, r.b)]
                                  + ([d.cathode for d in diodes] if k == len(rows) - 1 else [])))
        body = max(u(seg) for r in row for seg in _segments(r.l, seg_max))  # the last segment may be 5 nm longer
        bands.append(_Band(y, y + max(body + 2 * head + gap, (len(nets) + 1) * track), nets))
        y = bands[-1].hi
    if diodes and not rows:
        nets = list(dict.fromkeys(d.cathode for d in diodes))
        bands.append(_Band(0, (len(nets) + 1) * track, nets))
    for b in bands:
        b.place_tracks(track)

    # ---- resistors: segments, head-to-head joins, terminal stubs
    implant, blocks = db.Box(), {}
    for k, row in enumerate(rows):
        col = 0
        body_y = bands[k].lo + gap // 2 + head
        for r in row:
            pieces = []
            for seg in _segments(r.l, seg_max):
                if seg not in blocks:
                    blocks[seg] = pcells.resistor(ly, r.device, r.w, seg)
                blk = blocks[seg]
                t = db.Trans(x_of(col) - x0, body_y)
                top.insert(db.CellInstArray(blk.cell.cell_index(), t))
                pieces.append((col, blk.ports_at(t)))
                implant += blk.bbox.transformed(t)
                col += 1
            for i in range(len(pieces) - 1):  # head to head: tops after even i, bottoms after odd
                end = "B" if i % 2 == 0 else "A"
                a, b = pieces[i][1][end].box, pieces[i + 1][1][end].box
                pcells.box(top, "met1", db.Box(a.left, max(a.bottom, b.bottom), b.right, min(a.top, b.top)))
            (c1, p1), (c2, p2) = pieces[0], pieces[-1]
            ends = [(r.a, c1, p1["A"].center), (r.b, c2, p2["B" if len(pieces) % 2 else "A"].center)]
            if len(pieces) == 1:  # its top head reaches over on met1 to the next, empty lane
                pad = p1["B"].box
                pcells.box(top, "met1", db.Box(pad.left, pad.bottom, x_of(col) + pad.width() // 2, pad.top))
                ends[1] = (r.b, col, db.Point(x_of(col), pad.center().y))
                col += 1
            for net, lane, c in ends:
                ty = bands[k].y[net]
                lanes.take(lane, min(c.y, ty) - STUB_END, max(c.y, ty) + STUB_END, r.name)
                via("via", c.x, c.y)
                stubs.append((net, k, lane, c.x, c.y))
        order[f"row{k}"] = [r.name for r in row]
    if resistors:
        for layer in ("urpm" if "xhigh" in device else "rpm", "psdm"):  # one box over all rows: no notches
            pcells.box(top, layer, implant)
        npc = u(R("licon.15")) - u(R("rpm.3"))
        pcells.box(top, "npc", implant.enlarged(npc, npc))
        # the substrate tap strip below the rows, its stub in the lane left of the columns
        sub = resistors[0].sub
        strip_top = implant.bottom - u(R("poly.9")) - u(R("m1.2"))
        m1 = pcells.tap_strip(top, "p", snap_down(x_of(-1) - u(0.5)), snap_up(implant.right), snap_down(strip_top))
        c = db.Point(x_of(-1), m1.center().y)
        via("via", c.x, c.y)  # the strip's met1 is one mcon high: widen it around the via (via.4a/5a)
        v1 = u(R("via.1a")) // 2
        pcells.box(top, "met1", db.Box(c, c).enlarged(v1 + u(R("via.5a")), v1 + u(R("via.4a"))))
        lanes.take(-1, c.y - STUB_END, bands[0].y[sub] + STUB_END, "substrate tap")
        stubs.append((sub, 0, -1, c.x, c.y))

    # ---- diodes above the rows, each over a lane free down to its cathode's track
    if diodes:
        below = len(bands) - 1
        strip_lo = max(implant.top if resistors else 0, bands[-1].hi) + u(STRIP_GAP)  # above its tracks too
        strip_hi, lane, placed = strip_lo, 0, []
        for d in diodes:
            blk = pcells.diode(ly, d.device, d.w, d.l)
            c = blk.ports["C"].box.center()
            t_y = strip_lo - blk.bbox.bottom
            lo, hi = bands[below].y[d.cathode] - STUB_END, c.y + t_y + STUB_END
            while not lanes.free(lane, lo, hi):
                lane += 1
            t = db.Trans(x_of(lane) - c.x, t_y)
            top.insert(db.CellInstArray(blk.cell.cell_index(), t))
            pp, bb = blk.ports_at(t), blk.bbox.transformed(t)
            lanes.take(lane, lo, hi, d.name)
            via("via", pp["C"].center.x, pp["C"].center.y)
            stubs.append((d.cathode, below, lane, pp["C"].center.x, pp["C"].center.y))
            placed.append((d, lane, pp["A"].center))
            strip_hi = max(strip_hi, bb.top)
            lane += -(-(bb.width() + u(R("nwell.2a"))) // pitch)
        chan = _Band(strip_hi + u(0.5), strip_hi + u(0.5) + track * (len(anodes) + 1), anodes)
        chan.place_tracks(track)
        bands.append(chan)
        for d, lane, a in placed:
            lanes.take(lane, a.y - STUB_END, chan.y[d.anode] + STUB_END, d.name)
            via("via", a.x, a.y)
            stubs.append((d.anode, len(bands) - 1, lane, a.x, a.y))
        order["diodes"] = [d.name for d in diodes]

    # ---- capacitors above everything else: rows, each over its own channel of tracks (its
    # contacts are below the plates), capm.2b between a row's plates and the next channel
    if caps:
        rank = {g: i for i, g in enumerate(dict.fromkeys(c.group for c in caps))}
        caps.sort(key=lambda c: rank[c.group])
        cblocks = {(c.w, c.l): pcells.capacitor(ly, c.device, c.w, c.l) for c in caps}
        size = {c.name: (cblocks[c.w, c.l].bbox.width(), cblocks[c.w, c.l].bbox.height()) for c in caps}
        drawn = top.bbox()
        lo = max([bands[-1].hi if bands else 0] + ([drawn.top + u(STRIP_GAP)] if not drawn.empty() else []))
        gap, reach = u(R("capm.2b")), u(STUB_W) // 2 + u(R("m2.2"))
        base = (0 if drawn.empty() else drawn.width(), lo - (0 if drawn.empty() else drawn.bottom))
        for k, row in enumerate(_cap_rows(caps, size, gap, track, base, aspect)):
            nets = list(dict.fromkeys(n for c in row for n in c.terminals))
            chan = _Band(lo, lo + track * (len(nets) + 1), nets)
            chan.place_tracks(track)
            bands.append(chan)
            x, row_top = 0, chan.hi
            for c in row:
                blk = cblocks[c.w, c.l]
                t = db.Trans(x - blk.bbox.left, chan.hi - blk.bbox.bottom)
                top.insert(db.CellInstArray(blk.cell.cell_index(), t))
                for port, net in (("T", c.top), ("B", c.bottom)):
                    pad = blk.ports_at(t)[port].box
                    p = pad.center()
                    lanes.reserve_near(p.x, reach + pad.width() // 2, x0, pitch, chan.y[net] - STUB_END, pad.top)
                    stubs.append((net, len(bands) - 1, None, p.x, p.y))
                x += blk.bbox.width() + gap
                row_top = max(row_top, chan.hi + blk.bbox.height())
            order[f"caps{k}"] = [c.name for c in row]
            lo = row_top + gap

    # ---- stubs, then a join in a free lane between a net's tracks in successive bands
    for net, k, _lane, x, y in stubs:
        ty = bands[k].y[net]
        pcells.box(top, "met2", db.Box(x - half, min(y, ty) - STUB_END, x + half, max(y, ty) + STUB_END))
        via("via2", x, ty)
        bands[k].xs.setdefault(net, []).append(x)
    joins = []
    for net in sorted({n for b in bands for n in b.nets}):
        where = [k for k, b in enumerate(bands) if net in b.nets]
        joins += [(k1 - k2, net, k1, k2) for k1, k2 in zip(where, where[1:])]
    for _span, net, k1, k2 in sorted(joins):  # the longest first
        y1, y2 = bands[k1].y[net] - STUB_END, bands[k2].y[net] + STUB_END
        xs = bands[k1].xs.get(net, []) + bands[k2].xs.get(net, [])
        aim = max(0, round((sum(xs) / len(xs) - x0) / pitch))
        lane = next(ln for step in itertools.count() for ln in (aim + step, aim - step)
                    if ln >= 0 and lanes.free(ln, y1, y2))
        lanes.take(lane, y1, y2, net)
        x = x_of(lane)
        pcells.box(top, "met2", db.Box(x - half, y1, x + half, y2))
        for k in (k1, k2):
            via("via2", x, bands[k].y[net])
            bands[k].xs[net].append(x)

    # ---- tracks; a pin's track (in the band where it reaches furthest right) runs to the edge
    pin_band = {p: max((k for k, b in enumerate(bands) if p in b.nets), key=lambda k: max(bands[k].xs[p]))
                for p in ports}
    right = top.bbox().right + u(0.5)
    min_len = snap_up(int(R("m3.6") / (m3w * 1e-6)) + 1)  # m3.6 area
    pins = {}
    for k, b in enumerate(bands):
        for net in b.nets:
            xs, ty = b.xs[net], b.y[net]
            x_lo = min(xs) - u(0.25)
            x_hi = max(max(xs) + u(0.25), x_lo + min_len, right if pin_band.get(net) == k else 0)
            box = pcells.box(top, "met3", db.Box(x_lo, ty - m3w // 2, x_hi, ty + m3w // 2))
            if pin_band.get(net) == k:
                pcells.label(top, net, db.Point(snap_down((min(xs) + max(xs)) // 2), ty))
                pins[net] = box
    if resistors and probe.cell.parent_cells() == 0:  # only measured, never placed
        ly.delete_cell(probe.cell.cell_index())
    bb = top.dbbox()
    if outline is not None and (bb.width() > outline[0] or bb.height() > outline[1]):
        raise ValueError(f"{name}: drawn {bb.width():.1f} × {bb.height():.1f} µm, "
                         f"beyond the outline {outline[0]:g} × {outline[1]:g} µm")
    return CellLayout(ly, top, subckt(name, ports, devices), order, {p: pins[p] for p in ports},
                      mirrorable=False)
