"""Layout of a resistor–diode cell from its device list (`cells.netlist.Resistor` and
`Diode` records, the list its netlist is generated from), as `layouts.cell_layout` does for
transistors and with its conventions: a `CellLayout`, one met3 track per net in a channel,
met2 stubs with their own x from every terminal to its track, a met2 spine right of the row
for a net in both channels, pin labels on the tracks.

Floorplan, bottom to top:

    bottom channel   met3 tracks of the nets at the bottom terminals, and the substrate net
    p+ tap strip     the substrate under the resistors (their third terminal)
    device row       resistors as vertical segments (a long one folds into a serpentine of
                     equal segments joined head to head on met1: LVS adds series segments),
                     then the diodes, each in its own nwell (their cathodes are different nets)
    top channel      met3 tracks of the nets at the top terminals

A resistor's first terminal is its first segment's bottom head; its second the last
segment's bottom head (even count) or top head (odd). A diode's anode goes up, its
cathode (the n+ tap below its diffusion) down.
"""
from __future__ import annotations

import klayout.db as db

from layouts.cell_layout import STUB_W, CellLayout
from pdk import pcells
from pdk.devices import RES_WIDTH
from pdk.pcells import R, snap_down, snap_up, u

SEGMENT_MAX = 40.0  # µm: longest resistor segment before it folds
DEVICE_GAP = 1.0  # µm between a resistor and a diode, or two diodes (beyond the nwell rule)
CHANNEL_GAP = 0.8  # µm from the row (or the tap strip) to its first track


def _segments(length: float, longest: float) -> list[float]:
    """Equal segments on the 5 nm grid summing to `length` exactly (the last one adjusted)."""
    n = max(1, -(-u(length) // u(longest)))
    step = snap_down(u(length) // n)
    return [step * pcells.DBU] * (n - 1) + [(u(length) - step * (n - 1)) * pcells.DBU]


def netlist(name: str, ports, devices) -> str:
    return "\n".join([f".subckt {name} {' '.join(ports)}"] + [d.line() for d in devices]
                     + [f".ends {name}"]) + "\n"


def draw_passive_cell(name: str, ports, devices, ly: db.Layout | None = None,
                      segment_max: float = SEGMENT_MAX) -> CellLayout:
    """Place and route `devices` (Resistor and Diode records) as cell `name` with pins
    `ports`. Raises ValueError for a list it cannot draw (several substrate nets, a port no
    device touches, a device of another kind)."""
    ly = ly or pcells.new_layout()
    top = ly.create_cell(name)
    ports = tuple(ports)
    resistors = [d for d in devices if d.device in RES_WIDTH]
    diodes = [d for d in devices if d.device.startswith("diode")]
    if len(resistors) + len(diodes) != len(devices):
        raise ValueError(f"{name}: only poly resistors and diodes can be drawn here")
    subs = {r.sub for r in resistors}
    if len(subs) > 1:
        raise ValueError(f"{name}: resistors over several substrate nets {sorted(subs)}")
    touched = {n for r in resistors for n in (r.a, r.b, r.sub)} | {n for d in diodes for n in (d.anode, d.cathode)}
    missing = [p for p in ports if p not in touched]
    if missing:
        raise ValueError(f"{name}: port(s) {', '.join(missing)} touch no device")

    terms: dict[str, list[tuple[str, int, int]]] = {"bottom": [], "top": []}  # net, x, y
    order: dict[str, list[str]] = {"row": []}
    v1 = u(R("via.1a")) // 2
    m1_space = u(R("m1.2"))

    def via1(at: db.Point) -> None:
        pcells.box(top, "via", db.Box(at, at).enlarged(v1, v1))

    x = 0
    row = db.Box()
    for r in resistors:
        segs = _segments(r.l, segment_max)
        pieces = []
        for seg in segs:
            blk = pcells.resistor(ly, r.device, r.w, seg)
            t = db.Trans(x - blk.bbox.left, 0)
            top.insert(db.CellInstArray(blk.cell.cell_index(), t))
            pieces.append(blk.ports_at(t))
            row += blk.bbox.transformed(t)
            x += blk.bbox.width()
        for k in range(len(pieces) - 1):  # head to head: tops after even k, bottoms after odd
            end = "B" if k % 2 == 0 else "A"
            a, b = pieces[k][end].box, pieces[k + 1][end].box
            pcells.box(top, "met1", db.Box(a.left, max(a.bottom, b.bottom), b.right, min(a.top, b.top)))
        first, last = pieces[0]["A"], pieces[-1]["B" if len(pieces) % 2 else "A"]
        for net, port in ((r.a, first), (r.b, last)):
            c = port.center
            via1(c)
            terms["bottom" if port.name == "A" else "top"].append((net, c.x, c.y))
        order["row"].append(r.name)
    for d in diodes:
        x += u(DEVICE_GAP) + (u(R("nwell.2a")) if d is not diodes[0] or resistors else 0)
        blk = pcells.diode(ly, d.device, d.w, d.l)
        t = db.Trans(x - blk.bbox.left, 0)
        top.insert(db.CellInstArray(blk.cell.cell_index(), t))
        row += blk.bbox.transformed(t)
        x += blk.bbox.width()
        pp = blk.ports_at(t)
        for net, port, side in ((d.anode, pp["A"], "top"), (d.cathode, pp["C"], "bottom")):
            via1(port.center)
            terms[side].append((net, port.center.x, port.center.y))
        order["row"].append(d.name)

    # the substrate tap strip below the row, its stub left of every device
    if resistors:
        sub = resistors[0].sub
        strip_top = row.bottom - u(R("poly.9")) - m1_space
        m1 = pcells.tap_strip(top, "p", row.left - u(1.0), row.right, snap_down(strip_top))
        c = db.Point(snap_down(m1.left + u(0.3)), m1.center().y)
        via1(c)  # the strip's met1 is one mcon high: widen it around the via (via.4a/5a)
        pcells.box(top, "met1", db.Box(c, c).enlarged(v1 + u(R("via.5a")), v1 + u(R("via.4a"))))
        terms["bottom"].append((sub, c.x, c.y))
        low = m1.bottom - u(0.5)
    else:
        low = row.bottom

    m3w = u(0.38)
    pitch = m3w + u(R("m3.2"))
    tracks: dict[str, dict[str, int]] = {}
    for side, tl in terms.items():
        nets = sorted({n for (n, _x, _y) in tl},
                      key=lambda n: (n not in ports, ports.index(n) if n in ports else 0, n))
        edge = low - u(CHANNEL_GAP) if side == "bottom" else row.top + u(CHANNEL_GAP)
        sign = -1 if side == "bottom" else 1
        tracks[side] = {net: snap_down(edge + sign * (i * pitch + m3w // 2)) for i, net in enumerate(nets)}
    both = sorted(set(tracks["bottom"]) & set(tracks["top"]))
    right = max(x for tl in terms.values() for (_n, x, _y) in tl) + u(1.5)
    spine_x = {net: right + i * u(STUB_W + 0.3) for i, net in enumerate(both)}

    half, v2 = u(STUB_W) // 2, u(R("via2.1a"))

    def via2(x: int, y: int) -> None:
        pcells.box(top, "via2", db.Box(x - v2 // 2, y - v2 // 2, x + v2 // 2, y + v2 // 2))

    track_box: dict[tuple[str, str], db.Box] = {}
    for side, tl in tracks.items():
        for net, ty in tl.items():
            xs = [x for (n, x, _y) in terms[side] if n == net]
            x_lo, x_hi = min(xs) - u(0.25), spine_x.get(net, max(xs)) + u(0.25)
            x_hi = max(x_hi, x_lo + snap_up(int(R("m3.6") / (m3w * 1e-6)) + 1))  # m3.6 area
            track_box[(side, net)] = pcells.box(top, "met3", db.Box(x_lo, ty - m3w // 2, x_hi, ty + m3w // 2))
            for (n, x, y) in terms[side]:
                if n == net:
                    lo, hi = sorted((y, ty))
                    pcells.box(top, "met2", db.Box(x - half, lo - u(0.185), x + half, hi + u(0.185)))
                    via2(x, ty)
    for net, x in spine_x.items():
        ys = (tracks["bottom"][net], tracks["top"][net])
        pcells.box(top, "met2", db.Box(x - half, min(ys) - u(0.185), x + half, max(ys) + u(0.185)))
        for ty in ys:
            via2(x, ty)

    pins = {}
    for p in ports:
        side = "bottom" if p in tracks["bottom"] else "top"
        xs = [x for (n, x, _y) in terms[side] if n == p]
        pcells.label(top, p, db.Point(snap_down((min(xs) + max(xs)) // 2), tracks[side][p]))
        pins[p] = track_box[(side, p)]
    return CellLayout(ly, top, netlist(name, ports, devices), order, pins)
