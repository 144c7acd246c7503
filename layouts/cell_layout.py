"""Layout of any transistor cell from its device list (the same list its netlist is
generated from), so layout, netlist and LVS can never disagree.

Floorplan, bottom to top:

    N channel   met3 tracks of the nfet row's nets that do not fit over it (none if all do)
    p+ ring     substrate guard ring around the nfet row (body net of the nfets)
    nfet row    unit devices, dummies at both ends, under met3 tracks, one per net that
                touches an nfet (or the substrate ring), as many as fit over the units
    pfet row    the same in one nwell
    n+ ring     well guard ring (body net of the pfets)
    P channel   the pfet row's tracks that do not fit over it

Every device terminal (met1 pad of the pcell) gets a via1 and a vertical met2 stub straight
to its net's met3 track (via2); stubs are the only met2 inside the rows and each has its own
x, so no two nets can meet. The units hold nothing above met1, so tracks run over them
(channels beside the rows took as much height as the rows). A net in both channels is
joined by a met2 spine right of the rows. Pins are labels on their met3 track (`pdk.layers.PIN_LABEL_LAYER`).

Matching: devices of one `group` are identical units; every group is spread evenly along its
row (interdigitated, so group centroids sit near the row centre), and a dummy unit tied to
the body net ends each row so edge units see the same neighbourhood as inner ones.

Accepts any objects with attributes name, device, d, g, s, b, w, l and optional group (e.g.
`cells.netlist.Device`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import klayout.db as db

from pdk import layers, pcells
from pdk.devices import instance
from pdk.pcells import R, snap_down, snap_up, u


@dataclass
class CellLayout:
    """A drawn cell: layout, top cell, the netlist it must match, area and placement."""
    layout: db.Layout
    top: db.Cell
    netlist: str
    order: dict[str, list[str]] = field(default_factory=dict)  # row → device names (+ DUMMY)
    pins: dict[str, db.Box] = field(default_factory=dict)  # port → its labelled met3 track
    #: no met3 of the cell left of a pin track either, so a macro may mirror it
    mirrorable: bool = True

    @property
    def area_um2(self) -> float:
        b = self.top.dbbox()
        return b.width() * b.height()

    def save(self, gds_path, spice_path=None) -> None:
        pcells.save_gds(self.layout, gds_path, self.top)
        if spice_path is not None:
            with open(spice_path, "w") as f:
                f.write(self.netlist)


STUB_W = 0.32  # met2 stub width: takes via1 (via.5a) and via2 (via2.4/via2.5 along the stub)
UNIT_GAP = 0.5  # between unit bounding boxes in a row
RING_GAP = 0.4  # guard ring to devices
ROW_GAP = 1.5  # p+ ring to n+ ring (nwell spacing rules)
MAX_UNITS = 16  # devices per row before a polarity folds into another row


def interdigitate(devs: list) -> list:
    """Spread every matched set (same group and drain net) evenly along the row: device k
    of a set of n sorts at (k + ½)/n; ties keep sets in name order."""
    groups: dict[str, list] = {}
    for d in devs:  # a diode and its copies share a group but differ in drain net
        groups.setdefault(f"{getattr(d, 'group', '') or d.name}:{d.d}", []).append(d)
    keyed = []
    for gname, members in sorted(groups.items()):
        n = len(members)
        for k, d in enumerate(members):
            keyed.append(((k + 0.5) / n, gname, k, d))
    keyed.sort(key=lambda t: (t[0], t[1], t[2]))
    return [t[3] for t in keyed]


def subckt_text(name: str, ports, devices) -> str:
    lines = [f".subckt {name} {' '.join(ports)}"]
    lines += [instance(d.name, d.device, d.d, d.g, d.s, d.b, d.w, d.l) for d in devices]
    return "\n".join(lines + [f".ends {name}"]) + "\n"


def draw_cell(name: str, ports, devices, ly: db.Layout | None = None,
              max_units: int = MAX_UNITS, row_width: float | None = None) -> CellLayout:
    """Place and route `devices` (unit transistors, one finger each) as cell `name` with pins
    `ports`. Each polarity folds into as few rows as keep every row within `row_width` µm of
    units (None: at most `max_units` devices a row), so a macro can give all its cells one
    width. Raises ValueError for device lists it cannot draw (mixed body nets per row,
    gate length too short for the stub pitch, a port no device touches)."""
    ly = ly or pcells.new_layout()
    top = ly.create_cell(name)
    ports = tuple(ports)
    rows = {"n": [d for d in devices if d.device.startswith("n")],
            "p": [d for d in devices if d.device.startswith("p")]}
    body = {}
    for pol, devs in rows.items():
        nets = {d.b for d in devs}
        if len(nets) > 1:
            raise ValueError(f"{name}: {pol}fets have several body nets {sorted(nets)}; "
                             "one row shares one well/substrate")
        if devs:
            body[pol] = nets.pop()
        for d in devs:
            if d.l < 0.2:
                raise ValueError(f"{name}: {d.name} L={d.l:g} µm too short for the stub pitch (≥ 0.2)")
    touched = {n for d in devices for n in (d.d, d.g, d.s, d.b)}
    missing = [p for p in ports if p not in touched]
    if missing:
        raise ValueError(f"{name}: port(s) {', '.join(missing)} touch no device")

    # rows: each polarity folded into rows of at most `max_units` devices; row k of the
    # nfets and row k of the pfets form slice k (N channel, n row, p row, P channel)
    v1 = u(R("via.1a")) // 2

    def via1(at: db.Point) -> None:  # its met2 landing is the stub drawn with the channels
        pcells.box(top, "via", db.Box(at, at).enlarged(v1, v1))

    chunks = {pol: _fold(ly, interdigitate(devs), max_units, row_width) for pol, devs in rows.items()}
    n_slices = max(len(chunks["n"]), len(chunks["p"]))
    m3w = u(0.38)
    pitch = m3w + u(R("m3.2"))
    ring_w = u(2 * R("licon.7") + R("licon.1"))
    terms: dict[tuple[str, int], list[tuple[str, int, int]]] = {}
    ring_boxes: dict[tuple[str, int], db.Box] = {}
    row_boxes: dict[tuple[str, int], db.Box] = {}  # the units of a row
    over_row: dict[tuple[str, int], int] = {}  # how many of its tracks run over the units
    order: dict[str, list[str]] = {}
    cursor = 0
    for k in range(n_slices):
        for pol in ("n", "p"):
            if k >= len(chunks[pol]):
                continue
            key = (pol, k)
            plan, rel = _plan_row(ly, chunks[pol][k], body[pol])
            nets = {net for (_blk, _x, nm, tn) in plan for net in tn.values()} | {body[pol]}
            over_row[key] = min(len(nets), (rel.height() - m3w) // pitch + 1)
            channel = len(nets) - over_row[key]  # tracks that do not fit over the row
            if pol == "n":  # room for the N channel below the ring
                bottom = cursor + ring_w + u(RING_GAP + 0.81) + (channel - 1) * pitch + m3w if channel \
                    else cursor + ring_w + u(RING_GAP + 0.5)
            else:
                bottom = cursor + ring_w + u(RING_GAP) + u(ROW_GAP if key[0] == "p" and
                                                            ("n", k) in ring_boxes else 0.5)
            y0 = snap_up(bottom - rel.bottom + u(0.02))
            terms[key] = []
            rb = db.Box()
            for blk, x, nm, tn in plan:
                t = db.Trans(x, y0)
                top.insert(db.CellInstArray(blk.cell.cell_index(), t))
                rb += blk.bbox.transformed(t)
                pp = blk.ports_at(t)
                for term in ("G", "S", "D"):
                    c = pp[term].center
                    terms[key].append((tn[term], c.x, c.y))
                    via1(c)
            row_boxes[key] = rb
            order[f"{pol}{k}"] = [nm for (_b, _x, nm, _t) in plan]
            ring = pcells.guard_ring(ly, rb, "p" if pol == "n" else "n", f"{name}_ring_{pol}{k}",
                                     gap=RING_GAP, well=(pol == "p"))
            top.insert(db.CellInstArray(ring.cell.cell_index(), db.Trans()))
            side = ring.ports["B" if pol == "n" else "T"].box
            ring_boxes[key] = db.Box(side.left, ring.ports["B"].box.bottom, side.right,
                                     ring.ports["T"].box.top)
            # the ring's stub sits left of every device stub, on the side facing its channel
            c = db.Point(snap_down(side.left + u(0.3)), snap_down(side.center().y))
            via1(c)
            terms[key].append((body[pol], c.x, c.y))
            cursor = ring.cell.bbox().top
            if pol == "p":  # the P channel above, then the next slice
                cursor += (u(0.8) + channel * pitch if channel else 0) + u(1.0)

    # channels: one met3 track per net, below each n ring / above each p ring
    xs_all = [x for tl in terms.values() for (_n, x, _y) in tl]
    right = max(max(xs_all), max(b.right for b in ring_boxes.values())) + u(1.5)
    tracks: dict[tuple[str, int], dict[str, int]] = {}
    for key, tl in terms.items():
        nets = sorted({n for (n, _x, _y) in tl},
                      key=lambda n: (n not in ports, ports.index(n) if n in ports else 0, n))
        rbx, units = ring_boxes[key], row_boxes[key]
        tracks[key] = {}
        for i, net in enumerate(nets):
            j = i - over_row[key]
            if j < 0:  # over the units: only stubs (met2) and pads (met1) below met3 there
                y = units.bottom + m3w // 2 + i * pitch
            elif key[0] == "n":
                y = rbx.bottom - u(0.8) - j * pitch - m3w // 2
            else:
                y = rbx.top + u(0.8) + j * pitch + m3w // 2
            tracks[key][net] = snap_down(y)
    chans: dict[str, list[tuple[str, int]]] = {}
    for key, tl in tracks.items():
        for net in tl:
            chans.setdefault(net, []).append(key)
    multi = sorted(n for n, ks in chans.items() if len(ks) > 1)
    spine_x = {net: right + i * u(STUB_W + 0.3) for i, net in enumerate(multi)}

    half = u(STUB_W) // 2
    v2 = u(R("via2.1a"))
    track_box: dict[tuple[tuple[str, int], str], db.Box] = {}
    for key, tl in tracks.items():
        for net, ty in tl.items():
            xs = [x for (n, x, _y) in terms[key] if n == net]
            x_lo, x_hi = min(xs) - u(0.25), spine_x.get(net, max(xs)) + u(0.25)
            x_hi = max(x_hi, x_lo + snap_up(int(R("m3.6") / (m3w * 1e-6)) + 1))  # m3.6 area
            track_box[(key, net)] = pcells.box(top, "met3", db.Box(x_lo, ty - m3w // 2, x_hi, ty + m3w // 2))
            for (n, x, y) in terms[key]:
                if n != net:
                    continue
                lo, hi = sorted((y, ty))
                pcells.box(top, "met2", db.Box(x - half, lo - u(0.185), x + half, hi + u(0.185)))
                pcells.box(top, "via2", db.Box(x - v2 // 2, ty - v2 // 2, x + v2 // 2, ty + v2 // 2))
    for net, x in spine_x.items():
        ys = [tracks[key][net] for key in chans[net]]
        pcells.box(top, "met2", db.Box(x - half, min(ys) - u(0.185), x + half, max(ys) + u(0.185)))
        for ty in ys:
            pcells.box(top, "via2", db.Box(x - v2 // 2, ty - v2 // 2, x + v2 // 2, ty + v2 // 2))

    # pin labels on the tracks
    pins = {}
    for p in ports:
        key = chans[p][0]
        xs = [x for (n, x, _y) in terms[key] if n == p]
        pcells.label(top, p, db.Point(snap_down((min(xs) + max(xs)) // 2), tracks[key][p]))
        pins[p] = track_box[(key, p)]
    return CellLayout(ly, top, subckt_text(name, ports, devices), order, pins)


def _fold(ly: db.Layout, seq: list, max_units: int, row_width: float | None) -> list[list]:
    """The interleaved sequence dealt into rows (every row keeps the interleave): the fewest
    rows of at most `max_units` devices, or, with `row_width`, the fewest whose units and
    end dummies span at most that many µm (one device a row at the least)."""
    if not seq:
        return []

    def span(row: list) -> int:
        units = [row[0], *row, row[-1]]
        return sum(pcells.fet(ly, d.device, d.w, d.l, nf=1, tap=False, well=False).bbox.width()
                   + u(UNIT_GAP) for d in units)

    n = max(1, -(-len(seq) // max_units))
    if row_width is not None:
        n = 1
        while n < len(seq) and max(span(seq[i::n]) for i in range(n)) > u(row_width):
            n += 1
    return [seq[i::n] for i in range(n)]


def _plan_row(ly: db.Layout, seq: list, body: str):
    """Unit pcells of one row left to right, dummies at both ends: (block, x, name, nets of
    G/S/D) with x the placement offset; and the row's bounding box at y = 0."""
    items = [("DUMMY", seq[0])] + [(d.name, d) for d in seq] + [("DUMMY", seq[-1])]
    plan, x, rel = [], 0, db.Box()
    for nm, d in items:
        blk = pcells.fet(ly, d.device, d.w, d.l, nf=1, tap=False, well=False)
        bb = blk.bbox
        nets = ({"D": body, "G": body, "S": body} if nm == "DUMMY"
                else {"D": d.d, "G": d.g, "S": d.s})
        plan.append((blk, x - bb.left, nm, nets))
        rel += bb.moved(x - bb.left, 0)
        x += bb.width() + u(UNIT_GAP)
    return plan, rel

