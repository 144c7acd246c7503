"""Layout of any transistor cell from its device list (the same list its netlist is
generated from), so layout, netlist and LVS can never disagree.

Floorplan, bottom to top:

    N channel   met3 tracks, one per net that touches an nfet (or the substrate ring)
    p+ ring     substrate guard ring around the nfet row (body net of the nfets)
    nfet row    unit devices, dummies at both ends
    pfet row    unit devices, dummies at both ends, in one nwell
    n+ ring     well guard ring (body net of the pfets)
    P channel   met3 tracks for nets that touch a pfet

Every device terminal (met1 pad of the pcell) gets a via1 and a vertical met2 stub straight
to its net's met3 track (via2); stubs are the only met2 inside the rows and each has its own
x, so no two nets can meet. A net in both channels is joined by a met2 spine right of the
rows. Pins are labels on their met3 track (`pdk.layers.PIN_LABEL_LAYER`).

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


def draw_cell(name: str, ports, devices, ly: db.Layout | None = None) -> CellLayout:
    """Place and route `devices` (unit transistors, one finger each) as cell `name` with pins
    `ports`. Raises ValueError for device lists it cannot draw (mixed body nets per row,
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

    # terminal → (net, x, y) list per row; drawn rows
    terms: dict[str, list[tuple[str, int, int]]] = {"n": [], "p": []}
    row_boxes: dict[str, db.Box] = {}
    order: dict[str, list[str]] = {}
    y0 = 0
    via1 = _via1_cell(ly)
    for pol in ("n", "p"):
        devs = rows[pol]
        if not devs:
            continue
        seq = interdigitate(devs)
        ends = [seq[0], seq[-1]]
        placed = []
        x = 0
        items = [("DUMMY", ends[0])] + [(d.name, d) for d in seq] + [("DUMMY", ends[1])]
        for k, (nm, d) in enumerate(items):
            blk = pcells.fet(ly, d.device, d.w, d.l, nf=1, tap=False, well=False)
            bb = blk.bbox
            t = db.Trans(x - bb.left, y0)
            top.insert(db.CellInstArray(blk.cell.cell_index(), t))
            pp = blk.ports_at(t)
            if nm == "DUMMY":
                nets = {"D": body[pol], "G": body[pol], "S": body[pol]}
            else:
                nets = {"D": d.d, "G": d.g, "S": d.s}
            for term in ("G", "S", "D"):
                c = pp[term].center
                terms[pol].append((nets[term], c.x, c.y))
                top.insert(db.CellInstArray(via1.cell_index(), db.Trans(c)))
            placed.append(nm)
            x += bb.width() + u(UNIT_GAP)
        order[pol] = placed
        rb = db.Box()
        for inst in top.each_inst():
            if inst.trans.disp.y == y0 and inst.cell.name.startswith(f"{pol}fet"):
                rb += inst.bbox()
        row_boxes[pol] = rb
        if pol == "n" and rows["p"]:  # the pfet row starts above this row and both rings
            lowest = min(pcells.fet(ly, d.device, d.w, d.l, nf=1, tap=False, well=False).bbox.bottom
                         for d in rows["p"])
            y0 = snap_up(rb.top + u(2 * (RING_GAP + 0.41) + ROW_GAP) - lowest)

    # guard rings (and the shared nwell) around each row
    ring_boxes = {}
    for pol, rb in row_boxes.items():
        ring = pcells.guard_ring(ly, rb, "p" if pol == "n" else "n", f"{name}_ring_{pol}",
                                 gap=RING_GAP, well=(pol == "p"))
        top.insert(db.CellInstArray(ring.cell.cell_index(), db.Trans()))
        ring_boxes[pol] = ring.cell.bbox()
        b = ring.ports["B" if pol == "n" else "T"].box
        # the ring's stub sits left of every device stub, on the side facing its channel
        c = db.Point(snap_down(b.left + u(0.3)), snap_down(b.center().y))
        top.insert(db.CellInstArray(via1.cell_index(), db.Trans(c)))
        terms[pol].append((body[pol], c.x, c.y))

    # channels: one met3 track per net, below the n ring / above the p ring
    m3w = u(0.38)
    pitch = m3w + u(R("m3.2"))
    xs_all = [x for pol in terms for (_n, x, _y) in terms[pol]]
    right = max(max(xs_all), max(b.right for b in ring_boxes.values())) + u(1.0)
    tracks: dict[str, dict[str, int]] = {}
    for pol in ("n", "p"):
        if not terms[pol]:
            continue
        nets = sorted({n for (n, _x, _y) in terms[pol]},
                      key=lambda n: (n not in ports, ports.index(n) if n in ports else 0, n))
        tracks[pol] = {}
        for i, net in enumerate(nets):
            if pol == "n":
                y = ring_boxes["n"].bottom - u(0.8) - i * pitch - m3w // 2
            else:
                y = ring_boxes["p"].top + u(0.8) + i * pitch + m3w // 2
            tracks[pol][net] = snap_down(y)
    both = sorted(set(tracks.get("n", {})) & set(tracks.get("p", {})))
    spine_x = {net: right + i * u(STUB_W + 0.3) for i, net in enumerate(both)}

    half = u(STUB_W) // 2
    v2 = u(R("via2.1a"))
    track_box: dict[tuple[str, str], db.Box] = {}
    for pol, tl in tracks.items():
        for net, ty in tl.items():
            xs = [x for (n, x, _y) in terms[pol] if n == net]
            x_lo, x_hi = min(xs) - u(0.25), spine_x.get(net, max(xs)) + u(0.25)
            x_hi = max(x_hi, x_lo + snap_up(int(R("m3.6") / (m3w * 1e-6)) + 1))  # m3.6 area
            track_box[(pol, net)] = pcells.box(top, "met3", db.Box(x_lo, ty - m3w // 2, x_hi, ty + m3w // 2))
            for (n, x, y) in terms[pol]:
                if n != net:
                    continue
                lo, hi = sorted((y, ty))
                pcells.box(top, "met2", db.Box(x - half, lo - u(0.185), x + half, hi + u(0.185)))
                pcells.box(top, "via2", db.Box(x - v2 // 2, ty - v2 // 2, x + v2 // 2, ty + v2 // 2))
    for net, x in spine_x.items():
        yn, yp = tracks["n"][net], tracks["p"][net]
        pcells.box(top, "met2", db.Box(x - half, yn - u(0.185), x + half, yp + u(0.185)))
        for ty in (yn, yp):
            pcells.box(top, "via2", db.Box(x - v2 // 2, ty - v2 // 2, x + v2 // 2, ty + v2 // 2))

    # pin labels on the tracks
    pins = {}
    for p in ports:
        for pol in ("n", "p"):
            if p in tracks.get(pol, {}):
                xs = [x for (n, x, _y) in terms[pol] if n == p]
                pcells.label(top, p, db.Point(snap_down((min(xs) + max(xs)) // 2), tracks[pol][p]))
                pins[p] = track_box[(pol, p)]
                break
    return CellLayout(ly, top, subckt_text(name, ports, devices), order, pins)


def _via1_cell(ly: db.Layout) -> db.Cell:
    """A via1 cut with its met2 landing; the met1 is the terminal's own pad."""
    name = "via1_stub"
    if ly.has_cell(name):
        return ly.cell(name)
    c = ly.create_cell(name)
    v = u(R("via.1a"))
    pcells.box(c, "via", db.Box(-v // 2, -v // 2, v // 2, v // 2))
    return c
