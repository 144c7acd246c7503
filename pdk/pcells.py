"""The project's own SKY130 device pcells, drawn with `klayout.db` (deterministic GDS, no
gdsfactory start-up cost, no context info).

gdsfactory's `sky130` 0.15.3 pcells break FEOL rules and carry no ports, so every device,
tap, via stack and guard ring the layouts use is drawn here from `pdk.rules`. Geometry is in
database units (1 nm, `DBU`); every coordinate is a multiple of the 5 nm manufacturing grid.

A pcell returns a `Block`: the `klayout.db.Cell` plus named `Port`s (a layer name and a box
in the cell's coordinates). `Block.ports_at(trans)` gives the ports of a placed instance.

Device anatomy (origin at the lower-left corner of the diffusion, gates vertical):

    drain bar (met1, port D) ─────────────────────
    gate pad (met1, port G, left)   poly bar ══════
                  │ S │ D │ S │  ← met1 strips on li1/licon columns, poly fingers between
    source bar (met1, port S) ────────────────────
    body tap strip (met1, port B; optional)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import klayout.db as db

from pdk import layers
from pdk.devices import CAP_MIN_W, CAPACITORS, DIODE_MIN_W, MIN_L, MODELS, PASSIVES, RES_MIN_L, RES_WIDTH
from pdk.rules import value as R

DBU = 0.001  # µm per database unit
GRID_DBU = int(round(R("x.1b") / DBU))


def u(x_um: float) -> int:
    """µm → database units, exact on the manufacturing grid."""
    v = int(round(x_um / DBU))
    return v


def snap_down(v: int) -> int:
    """Largest grid point ≤ v (database units)."""
    return (v // GRID_DBU) * GRID_DBU


def snap_up(v: int) -> int:
    """Smallest grid point ≥ v (database units)."""
    return -((-v) // GRID_DBU) * GRID_DBU


@dataclass(frozen=True)
class Port:
    """A named connection point: a box on one drawn layer (database units)."""
    name: str
    layer: str
    box: db.Box

    def moved(self, trans: db.Trans) -> "Port":
        return Port(self.name, self.layer, self.box.transformed(trans))

    @property
    def center(self) -> db.Point:
        return self.box.center()


@dataclass
class Block:
    """A drawn cell and its ports."""
    cell: db.Cell
    ports: dict[str, Port] = field(default_factory=dict)
    #: the cell's bounding box when known at drawing time (asking KLayout re-computes the
    #: bounding boxes of a layout that is still being drawn)
    known_bbox: db.Box | None = None

    @property
    def bbox(self) -> db.Box:
        return self.known_bbox if self.known_bbox is not None else self.cell.bbox()

    def ports_at(self, trans: db.Trans) -> dict[str, Port]:
        return {k: p.moved(trans) for k, p in self.ports.items()}


def new_layout() -> db.Layout:
    """An empty layout with the project's database unit."""
    ly = db.Layout()
    ly.dbu = DBU
    return ly


def layer_index(ly: db.Layout, name: str) -> int:
    """Index of a project layer in `ly` (created on first use)."""
    a, b = layers.gds(name)
    return ly.layer(a, b)


def box(cell: db.Cell, name: str, b: db.Box) -> db.Box:
    """Draw one rectangle on a project layer; returns the box."""
    cell.shapes(layer_index(cell.layout(), name)).insert(b)
    return b


def _fmt(x: float) -> str:
    return f"{x:g}".replace(".", "p").replace("-", "m")


def _existing(ly: db.Layout, name: str) -> db.Cell | None:
    return ly.cell(name) if ly.has_cell(name) else None


# ---------------------------------------------------------------- contact arrays

def _cut_positions(lo: int, hi: int, size: int, space: int) -> list[int]:
    """Lower edges of as many cuts as fit centred in [lo, hi] (at least one)."""
    n = max(1, (hi - lo - size) // (size + space) + 1)
    span = n * size + (n - 1) * space
    start = snap_down(lo + (hi - lo - span) // 2)
    return [start + i * (size + space) for i in range(n)]


def cut_array(cell: db.Cell, cut: str, region: db.Box, size: int, space: int) -> list[db.Box]:
    """Fill `region` with a centred array of square cuts."""
    out = []
    for x in _cut_positions(region.left, region.right, size, space):
        for y in _cut_positions(region.bottom, region.top, size, space):
            out.append(box(cell, cut, db.Box(x, y, x + size, y + size)))
    return out


def _bbox_of(boxes: list[db.Box]) -> db.Box:
    b = db.Box()
    for x in boxes:
        b += x
    return b


# ---------------------------------------------------------------- transistors

#: Pitch (µm) of the licon and mcon columns on a source/drain. At the nanoampere currents of
#: this design a contact's resistance (tens of ohms) is nothing beside the device's
#: gigaohms, and the li1/met1 strips run the full width, so a cut per micrometre serves as
#: well as a full column, with less than half of a unit device's shapes.
SD_CUT_PITCH = 1.0


@dataclass(frozen=True)
class FetGeometry:
    """Where a device's terminals landed, for array generators."""
    diff: db.Box
    sd_x: tuple[int, ...]  # left edge of each source/drain licon column
    gate_x: tuple[int, ...]  # left edge of each poly finger


def _on_grid(device: str, w: float, l: float) -> tuple[int, int]:
    """W and L (µm) in database units; refused off the manufacturing grid."""
    W, L = u(w), u(l)
    if W % GRID_DBU or L % GRID_DBU:
        raise ValueError(f"{device}: W and L must lie on the {R('x.1b'):g} µm grid")
    return W, L


def fet(ly: db.Layout, device: str, w: float, l: float, nf: int = 1, m: int = 1,
        tap: bool = True, well: bool = True) -> Block:
    """One MOS device (`device` a key of `pdk.devices.MODELS`), `nf` gate fingers of width
    `w` each, `m` multiplier (drawn as m × nf fingers on one diffusion: parallel devices that
    LVS merges). Ports S, D, G on met1; B on met1 when `tap` (a body tap strip below the
    device), otherwise the body is whatever well/substrate surrounds it (guard ring).
    `well=False` leaves the nwell of a pfet to the caller (arrays draw one shared well)."""
    if device not in MODELS:
        raise ValueError(f"unknown device {device!r}; known: {', '.join(MODELS)}")
    nfin = nf * m
    if nfin < 1:
        raise ValueError("fingers and multiplier must be ≥ 1")
    pol = device[0]
    lvt = device.endswith("_lvt")
    hvt = device.endswith("_hvt")
    min_l = max(MIN_L[device], R("poly.1a"), R("poly.1b") if lvt else 0.0)
    if l < min_l - 1e-9:
        raise ValueError(f"{device}: L={l:g} below the minimum {min_l:g} µm")
    if w < R("difftap.2") - 1e-9:
        raise ValueError(f"{device}: W={w:g} below the minimum {R('difftap.2'):g} µm")
    if w >= R("licon.12"):
        raise ValueError(f"{device}: W={w:g} per finger must stay below {R('licon.12'):g} µm "
                         "(use more fingers)")
    W, L = _on_grid(device, w, l)

    name = f"{device}_W{_fmt(w)}_L{_fmt(l)}_nf{nfin}" + ("" if tap else "_notap") + \
        ("" if well or pol == "n" else "_nowell")
    cell = _existing(ly, name)
    if cell is not None and name in _FET_PORTS:
        return _fet_block(cell, name)
    c = cell if cell is not None else ly.create_cell(name)
    if cell is not None:  # drawn by someone else into this layout: redraw into a scratch cell for the ports
        c = ly.create_cell("__scratch__")

    lic, lic_sp = u(R("licon.1")), u(R("licon.2"))
    g2lic = u(R("licon.11"))
    d_enc = u(R("licon.5c"))
    li_ext = u(R("li.5")) + 5  # +5 nm keeps single-licon li1 strips above li.6 area
    mc, mc_sp = u(R("ct.1")), u(R("ct.2"))
    m1_enc, m1_enc2 = u(R("m1.4")), u(R("m1.5"))
    m1_sp = u(R("m1.2"))
    bar = u(0.3)  # met1 bar height: comfortably above m1.1 and wide enough for a via
    sd_mid = 2 * g2lic + lic  # interior source/drain length
    sd_end = g2lic + lic + d_enc  # end source/drain length
    assert sd_end >= u(R("poly.7"))

    # x positions: sd column i has its licons at sd_x[i]; finger j between columns j, j+1
    sd_x, gate_x = [], []
    x = d_enc
    for j in range(nfin + 1):
        sd_x.append(x)
        if j < nfin:
            gx = x + lic + g2lic
            gate_x.append(gx)
            x = gx + L + g2lic
    diff_box = db.Box(0, 0, sd_x[-1] + lic + d_enc, W)
    box(c, "diff", diff_box)

    # licon columns, li1 strips, mcons and met1 strips
    lic_y = _cut_positions(d_enc, W - d_enc, lic, max(lic_sp, u(SD_CUT_PITCH) - lic))
    li_lo, li_hi = lic_y[0] - li_ext, lic_y[-1] + lic + li_ext
    mc_y = _cut_positions(li_lo, li_hi, mc, max(mc_sp, u(SD_CUT_PITCH) - mc))
    strips = []
    for sx in sd_x:
        for y in lic_y:
            box(c, "licon", db.Box(sx, y, sx + lic, y + lic))
        box(c, "li1", db.Box(sx, li_lo, sx + lic, li_hi))
        for y in mc_y:
            box(c, "mcon", db.Box(sx, y, sx + mc, y + mc))
        strips.append(db.Box(sx - m1_enc, mc_y[0] - m1_enc2, sx + mc + m1_enc, mc_y[-1] + mc + m1_enc2))

    # gate fingers, poly bar and gate contact (left of the diffusion)
    endcap = u(R("poly.8"))
    bar_gap = u(0.15)  # poly bar above diff: ≥ poly.4, and npc keeps npc.4 from the gates
    npc_enc = u(R("licon.15"))
    p_enc, p_enc2 = u(R("licon.8")), u(R("licon.8a"))
    pbar_lo = W + bar_gap
    pbar_hi = pbar_lo + lic + 2 * p_enc
    gc_x = -snap_up(u(R("licon.14")) + lic + u(0.075))  # licon left edge of the gate contact
    glic = db.Box(gc_x, pbar_lo + p_enc, gc_x + lic, pbar_lo + p_enc + lic)
    for gx in gate_x:
        box(c, "poly", db.Box(gx, -endcap, gx + L, pbar_hi))
    box(c, "poly", db.Box(gc_x - p_enc2, pbar_lo, gate_x[-1] + L, pbar_hi))
    box(c, "licon", glic)
    box(c, "npc", glic.enlarged(npc_enc, npc_enc))
    box(c, "li1", glic.enlarged(u(R("li.5")), m1_enc))
    box(c, "mcon", glic)
    gpad_half = u(0.16)  # 0.32 µm square met1 pad: takes a via with via.5a on both axes
    gc = glic.center()
    gpad = db.Box(gc.x - gpad_half, gc.y - gpad_half, gc.x + gpad_half, gc.y + gpad_half)
    box(c, "met1", gpad)

    # source bar below, drain bar above (clear of the gate pad so a via can land on each)
    src = [strips[i] for i in range(0, nfin + 1, 2)]
    drn = [strips[i] for i in range(1, nfin + 1, 2)]
    s_top = snap_down(min(s.bottom for s in drn) - m1_sp) if drn else -u(0.2)
    s_top = min(s_top, -u(0.2))
    sbar = db.Box(min(s.left for s in src), s_top - bar, max(s.right for s in src), s_top)
    d_bot = snap_up(max([s.top for s in src] + [gpad.top]) + m1_sp)
    dbar = db.Box(min(s.left for s in drn), d_bot, max(s.right for s in drn), d_bot + bar)
    sbar, dbar = _min_width(sbar, 2 * gpad_half), _min_width(dbar, 2 * gpad_half)
    for s in src:
        box(c, "met1", db.Box(s.left, sbar.bottom, s.right, s.top))
    for s in drn:
        box(c, "met1", db.Box(s.left, s.bottom, s.right, dbar.top))
    box(c, "met1", sbar)
    box(c, "met1", dbar)

    # implants and wells
    sdm_enc = u(R("nsdm.5a"))
    sdm = "nsdm" if pol == "n" else "psdm"
    box(c, sdm, diff_box.enlarged(sdm_enc, sdm_enc))
    gate_bb = db.Box(gate_x[0], 0, gate_x[-1] + L, W)
    if lvt:
        box(c, "lvtn", gate_bb.enlarged(u(R("lvtn.4b")), u(R("lvtn.4b"))) + diff_box)
    if hvt:
        box(c, "hvtp", gate_bb.enlarged(u(R("hvtp.3")), u(R("hvtp.3"))) + diff_box)

    ports = {"S": Port("S", "met1", sbar), "D": Port("D", "met1", dbar),
             "G": Port("G", "met1", gpad)}
    if tap:
        t = tap_strip(c, "p" if pol == "n" else "n", left=gpad.left, right=diff_box.right,
                      top_m1=sbar.bottom - m1_sp)
        ports["B"] = Port("B", "met1", t)
    if pol == "p" and well:
        wb = c.bbox()
        enc = u(R("difftap.10"))
        box(c, "nwell", wb.enlarged(enc, enc))
    _FET_PORTS[name] = (ports, FetGeometry(diff_box, tuple(sd_x), tuple(gate_x)), c.bbox())
    if cell is not None:
        ly.delete_cell(c.cell_index())
    return _fet_block(ly.cell(name), name)


#: Ports and geometry of every fet cell drawn so far, by cell name (the name encodes every
#: parameter, so one entry serves every layout): placing a known unit costs no redraw.
_FET_PORTS: dict[str, tuple[dict[str, Port], FetGeometry, db.Box]] = {}


def _fet_block(cell: db.Cell, name: str) -> Block:
    ports, geometry, bbox = _FET_PORTS[name]
    blk = Block(cell, dict(ports), bbox)
    blk.geometry = geometry  # type: ignore[attr-defined]
    return blk


def _min_width(b: db.Box, w: int) -> db.Box:
    """`b` widened symmetrically to at least `w` (bars must take a via)."""
    if b.width() >= w:
        return b
    cx = b.center().x
    return db.Box(snap_down(cx - w // 2), b.bottom, snap_up(cx + w // 2), b.top)


def nfet(ly: db.Layout, w: float, l: float, nf: int = 1, m: int = 1, variant: str = "01v8",
         **kw) -> Block:
    """nfet_01v8 (variant '01v8') or nfet_01v8_lvt ('01v8_lvt')."""
    return fet(ly, f"nfet_{variant}", w, l, nf, m, **kw)


def pfet(ly: db.Layout, w: float, l: float, nf: int = 1, m: int = 1, variant: str = "01v8",
         **kw) -> Block:
    """pfet_01v8, pfet_01v8_hvt or pfet_01v8_lvt."""
    return fet(ly, f"pfet_{variant}", w, l, nf, m, **kw)


# ---------------------------------------------------------------- taps, vias, rings

def tap_strip(cell: db.Cell, kind: str, left: int, right: int, top_m1: int) -> db.Box:
    """A horizontal substrate ('p', p+ tap) or well ('n', n+ tap) contact strip whose met1
    top edge is at `top_m1`; returns its met1 box. Draws tap, licon, li1, mcon, met1, sdm."""
    lic, lic_sp = u(R("licon.1")), u(R("licon.2"))
    t_enc = u(R("licon.7"))
    mc, mc_sp = u(R("ct.1")), u(R("ct.2"))
    m1_enc, m1_enc2 = u(R("m1.4")), u(R("m1.5"))
    m1h = mc + 2 * m1_enc
    licy = snap_down(top_m1 - m1h // 2 - mc // 2)  # licon and mcon rows share this bottom
    tb = db.Box(left, licy - t_enc, right, licy + lic + t_enc)
    box(cell, "tap", tb)
    li5, l5a = u(R("li.5")), u(R("licon.5a"))
    xs = _cut_positions(left + l5a + li5, right - l5a - li5, lic, lic_sp)
    for x in xs:
        box(cell, "licon", db.Box(x, licy, x + lic, licy + lic))
    li = box(cell, "li1", db.Box(xs[0] - li5, licy, xs[-1] + lic + li5, licy + lic))
    mxs = [x for x in _cut_positions(li.left, li.right, mc, mc_sp)
           if x >= left + m1_enc2 and x + mc <= right - m1_enc2]
    for x in mxs:
        box(cell, "mcon", db.Box(x, licy, x + mc, licy + mc))
    m1 = db.Box(left, licy - m1_enc, right, licy + mc + m1_enc)
    box(cell, "met1", m1)
    enc = u(R("nsdm.5b"))
    box(cell, "psdm" if kind == "p" else "nsdm", tb.enlarged(enc, enc))
    return m1


#: Pitch (µm) of the licon and mcon rows along a guard ring. A ring carries only leakage
#: (picoamperes) and its li1 and met1 are continuous, so a cut every 10 µm ties the body as
#: well as a full row does (10 µm of li1 is ~1 kΩ: nanovolts at these currents). Rings held
#: most of a macro's cuts: kws_d4 own DRC 12.4 s with a cut every 2 µm, 8.9 s with 10 µm.
RING_CUT_PITCH = 10.0


def guard_ring(ly: db.Layout, inner: db.Box, kind: str, name: str, gap: float = 0.4,
               well: bool = False) -> Block:
    """A closed tap ring around `inner` (database units) at `gap` µm: 'p' = p+ substrate
    ring (nfet body, usually vss), 'n' = n+ well ring (pfet body, usually vdd). With `well`
    the nwell covers the ring and everything inside. Port B is the ring's met1 (bottom side)."""
    cell = ly.create_cell(name)
    lic = u(R("licon.1"))
    t_enc = u(R("licon.7"))
    wdt = lic + 2 * t_enc  # tap width
    g = snap_up(u(gap))
    ob = inner.enlarged(g + wdt, g + wdt)
    ob = db.Box(snap_down(ob.left), snap_down(ob.bottom), snap_up(ob.right), snap_up(ob.top))
    ib = ob.enlarged(-wdt, -wdt)
    ring = db.Region(ob) - db.Region(ib)
    cell.shapes(layer_index(ly, "tap")).insert(ring)
    enc = u(R("nsdm.5b"))
    sdm = db.Region(ob.enlarged(enc, enc)) - db.Region(ib.enlarged(-enc, -enc))
    cell.shapes(layer_index(ly, "psdm" if kind == "p" else "nsdm")).insert(sdm)
    li_w = lic
    mc = u(R("ct.1"))
    m1_enc = u(R("m1.4"))
    m1w = mc + 2 * u(R("m1.5"))
    # li1 and met1 rings centred on the tap ring
    c_off = t_enc
    li_o = ob.enlarged(-c_off, -c_off)
    li_i = li_o.enlarged(-li_w, -li_w)
    cell.shapes(layer_index(ly, "li1")).insert(db.Region(li_o) - db.Region(li_i))
    m_off = (wdt - m1w) // 2
    m_o = ob.enlarged(-m_off, -m_off)
    m_i = m_o.enlarged(-m1w, -m1w)
    cell.shapes(layer_index(ly, "met1")).insert(db.Region(m_o) - db.Region(m_i))
    # licon and mcon rows along each side, clear of the corners
    lic_sp = u(R("licon.2"))
    mc_sp = u(R("ct.2"))
    corner = wdt + u(R("li.5"))
    for (lo, hi, fixed, horiz) in (
            (ob.left + corner, ob.right - corner, ob.bottom + c_off, True),
            (ob.left + corner, ob.right - corner, ob.top - c_off - lic, True),
            (ob.bottom + corner, ob.top - corner, ob.left + c_off, False),
            (ob.bottom + corner, ob.top - corner, ob.right - c_off - lic, False)):
        for p in _cut_positions(lo, hi, lic, max(lic_sp, u(RING_CUT_PITCH) - lic)):
            b = db.Box(p, fixed, p + lic, fixed + lic) if horiz else db.Box(fixed, p, fixed + lic, p + lic)
            box(cell, "licon", b)
        for p in _cut_positions(lo, hi, mc, max(mc_sp, u(RING_CUT_PITCH) - mc)):
            b = db.Box(p, fixed, p + mc, fixed + mc) if horiz else db.Box(fixed, p, fixed + mc, p + mc)
            box(cell, "mcon", b)
    if well:
        wenc = u(R("difftap.10"))
        box(cell, "nwell", ob.enlarged(wenc, wenc))
    sides = {"B": db.Box(m_o.left, m_o.bottom, m_o.right, m_o.bottom + m1w),
             "T": db.Box(m_o.left, m_o.top - m1w, m_o.right, m_o.top),
             "L": db.Box(m_o.left, m_o.bottom, m_o.left + m1w, m_o.top),
             "R": db.Box(m_o.right - m1w, m_o.bottom, m_o.right, m_o.top)}
    return Block(cell, {k: Port(k, "met1", b) for k, b in sides.items()})


# cut size, cut space, enclosure by the lower and the upper conductor (both axes; the
# larger "one pair" value is used everywhere so any aspect ratio passes)
def _via_spec(cut: str) -> tuple[int, int, int, int]:
    if cut == "mcon":
        return u(R("ct.1")), u(R("ct.2")), 0, u(R("m1.5"))
    if cut == "via":
        return u(R("via.1a")), u(R("via.2")), u(R("via.5a")), u(R("m2.5"))
    if cut == "via2":
        return u(R("via2.1a")), u(R("via2.2")), u(R("via2.5")), u(R("m3.4")) + u(0.02)
    if cut == "via3":
        return u(R("via3.1")), u(R("via3.2")), u(R("via3.5")), u(R("m4.3"))
    raise ValueError(cut)


def via_stack(ly: db.Layout, bottom: str, top: str, w: float, h: float) -> Block:
    """Stacked vias from conductor `bottom` to `top` (li1 … met4) filling a w × h µm
    footprint centred on the origin; ports 'bottom' and 'top' are the end conductors."""
    order = list(layers.CONDUCTORS)
    i0, i1 = order.index(bottom), order.index(top)
    if i1 <= i0:
        raise ValueError(f"via_stack: {top} is not above {bottom}")
    name = f"via_{bottom}_{top}_{_fmt(w)}x{_fmt(h)}"
    W, H = snap_up(u(w) // 2) * 2, snap_up(u(h) // 2) * 2
    outer = db.Box(-W // 2, -H // 2, W // 2, H // 2)
    ports = {"bottom": Port("bottom", bottom, outer), "top": Port("top", top, outer)}
    cell = _existing(ly, name)
    if cell is not None:
        return Block(cell, ports)
    cell = ly.create_cell(name)
    for cond in order[i0:i1 + 1]:
        box(cell, cond, outer)
    for k in range(i0 + 1, i1 + 1):
        cut = layers.CUT_BELOW[order[k]]
        size, space, enc_lo, enc_hi = _via_spec(cut)
        enc = max(enc_lo, enc_hi)
        inner = outer.enlarged(-enc, -enc)
        if inner.width() < size or inner.height() < size:
            raise ValueError(f"via_stack {w}x{h} µm too small for {cut} (needs "
                             f"{(size + 2 * enc) * DBU:.3f} µm)")
        cut_array(cell, cut, inner, size, space)
    return Block(cell, ports)


def min_via_size(bottom: str, top: str) -> float:
    """Smallest square footprint (µm) a via stack from `bottom` to `top` can have."""
    order = list(layers.CONDUCTORS)
    need = 0
    for k in range(order.index(bottom) + 1, order.index(top) + 1):
        size, _sp, lo, hi = _via_spec(layers.CUT_BELOW[order[k]])
        need = max(need, size + 2 * max(lo, hi))
    need = max(need, u(R("m3.1")) if top == "met3" else 0)
    return snap_up(need) * DBU


def pin_pad_size() -> float:
    """Side (µm) of a square met3 pin pad: via2 enclosure and met3 minimum area both met."""
    side = max(min_via_size("met2", "met3"), math.sqrt(R("m3.6")))
    return snap_up(u(side) // 2 + 1) * 2 * DBU


def label(cell: db.Cell, text: str, at: db.Point, layer: str = layers.PIN_LABEL_LAYER) -> None:
    """A pin label (text) at `at`; the layer defaults to the documented pin-label layer."""
    cell.shapes(layer_index(cell.layout(), layer)).insert(db.Text(text, db.Trans(at)))


def save_gds(ly: db.Layout, path, cell: db.Cell | None = None) -> None:
    """Write GDS byte-identically on every run: no timestamps, no KLayout context info."""
    opt = db.SaveLayoutOptions()
    opt.format = "GDS2"
    opt.gds2_write_timestamps = False
    opt.write_context_info = False
    opt.gds2_libname = "bmru_sky130"
    if cell is not None:
        opt.clear_cells()
        opt.select_cell(cell.cell_index())  # the cell and everything below it
    ly.write(str(path), opt)


# ---------------------------------------------------------------- passives
# Passive cells are pure functions of their parameters (the cell name encodes them all):
# the ports are computed, and the shapes drawn only when the layout lacks the cell.

def _cut_boxes(region: db.Box, size: int, space: int) -> list[db.Box]:
    return [db.Box(x, y, x + size, y + size) for x in _cut_positions(region.left, region.right, size, space)
            for y in _cut_positions(region.bottom, region.top, size, space)]


def _contacts(li: db.Box) -> tuple[list[db.Box], db.Box]:
    """mcons on an li1 box and the met1 over them (m1.5 on both axes)."""
    m1_enc2 = u(R("m1.5"))
    cuts = _cut_boxes(li, u(R("ct.1")), u(R("ct.2")))
    return cuts, _bbox_of(cuts).enlarged(m1_enc2, m1_enc2)


def _draw(cell: db.Cell, shapes: list[tuple[str, db.Box]]) -> None:
    for layer, b in shapes:
        box(cell, layer, b)


def _passive(ly: db.Layout, name: str, shapes: list[tuple[str, db.Box]], ports: dict[str, Port]) -> Block:
    cell = _existing(ly, name)
    if cell is None:
        cell = ly.create_cell(name)
        _draw(cell, shapes)
    return Block(cell, ports, _bbox_of([b for _, b in shapes]))


def resistor(ly: db.Layout, device: str, w: float, l: float) -> Block:
    """One precision poly resistor (`device` a key of `pdk.devices.RES_WIDTH`), body w × l µm
    from (0, 0) upwards: poly:res marks the body; a head with one licon bar (licon.1b/c) at
    each end; the whole poly inside the resistor implant (urpm for xhigh_po, rpm for
    high_po), psdm and npc. Ports A (bottom head, the model's r0) and B (top head, r1) on
    met1; the third terminal is the substrate under it."""
    if device not in RES_WIDTH:
        raise ValueError(f"unknown resistor {device!r}; known: {', '.join(RES_WIDTH)}")
    if abs(w - RES_WIDTH[device]) > 1e-9:
        raise ValueError(f"{device} is drawn {RES_WIDTH[device]:g} µm wide, not {w:g}")
    if l < RES_MIN_L - 1e-9:
        raise ValueError(f"{device}: L={l:g} below the minimum {RES_MIN_L:g} µm")
    W, L = u(w), u(l)
    if L % GRID_DBU:
        raise ValueError(f"{device}: L={l:g} must lie on the {R('x.1b'):g} µm grid")
    bar_w, bar_l, end = u(R("licon.1b")), u(R("licon.1c")), u(R("licon.8a"))
    head = bar_l + 2 * end
    poly = db.Box(0, -head, W, L + head)
    imp = poly.enlarged(u(R("rpm.3")), u(R("rpm.3")))
    if imp.width() < u(R("rpm.1a")):
        imp = imp.enlarged(snap_up((u(R("rpm.1a")) - imp.width() + 1) // 2), 0)
    shapes = [("poly", poly), ("polyres", db.Box(0, 0, W, L)),
              ("urpm" if "xhigh" in device else "rpm", imp), ("psdm", imp),
              ("npc", poly.enlarged(u(R("licon.15")), u(R("licon.15"))))]
    x0 = snap_down((W - bar_w) // 2)
    ports = {}
    for port, y in (("A", -end - bar_l), ("B", L + end)):
        bar = db.Box(x0, y, x0 + bar_w, y + bar_l)
        li = bar.enlarged(u(R("li.5")), 0)
        cuts, m1 = _contacts(li)
        shapes += [("licon", bar), ("li1", li)] + [("mcon", c) for c in cuts] + [("met1", m1)]
        ports[port] = Port(port, "met1", m1)
    return _passive(ly, f"{device}_L{_fmt(l)}", shapes, ports)


def diode(ly: db.Layout, device: str, w: float, l: float) -> Block:
    """One floating p+/nwell diode (`device` diode_pd2nw_05v5): p+ diffusion w × l µm from
    (0, 0) marked areaid:diode, an n+ tap strip below it in the same nwell. Ports A (anode,
    the diffusion's met1) and C (cathode, the tap's met1)."""
    if device not in PASSIVES or not device.startswith("diode"):
        raise ValueError(f"unknown diode {device!r}")
    if min(w, l) < DIODE_MIN_W - 1e-9:
        raise ValueError(f"{device}: {w:g} × {l:g} µm below the minimum edge {DIODE_MIN_W:g} µm")
    W, L = _on_grid(device, w, l)
    diff = db.Box(0, 0, W, L)
    lic, lic_sp = u(R("licon.1")), u(R("licon.2"))
    licons = _cut_boxes(diff.enlarged(-u(R("licon.5c")), -u(R("licon.5c"))), lic, lic_sp)
    li5 = u(R("li.5"))
    li = _bbox_of(licons).enlarged(li5, li5)
    cuts, m1 = _contacts(li)
    sdm = u(R("nsdm.5a"))
    shapes = [("diff", diff), ("diode_id", diff), ("psdm", diff.enlarged(sdm, sdm)), ("li1", li)]
    shapes += [("licon", c) for c in licons] + [("mcon", c) for c in cuts] + [("met1", m1)]
    # the n+ tap strip: licon row, li1, mcon row and met1 as `tap_strip` draws them, below
    # the diffusion by more than both implants' enclosures (psdm and nsdm abut, never overlap)
    t_enc, mc = u(R("licon.7")), u(R("ct.1"))
    gap = snap_up(max(u(R("difftap.3")), 2 * sdm))
    tap_top = -gap
    licy = tap_top - t_enc - lic
    tap = db.Box(0, licy - t_enc, W, tap_top)
    tlicons = [db.Box(x, licy, x + lic, licy + lic)
               for x in _cut_positions(u(R("licon.5a")) + li5, W - u(R("licon.5a")) - li5, lic, lic_sp)]
    tli = db.Box(tlicons[0].left - li5, licy, tlicons[-1].right + li5, licy + lic)
    tcuts, tm1 = _contacts(tli)
    shapes += [("tap", tap), ("nsdm", tap.enlarged(sdm, sdm)), ("li1", tli)]
    shapes += [("licon", c) for c in tlicons] + [("mcon", c) for c in tcuts] + [("met1", tm1)]
    well = u(R("difftap.8"))
    nwell = (diff + tap).enlarged(well, well)
    if nwell.width() < u(R("nwell.1")):
        nwell = nwell.enlarged(snap_up((u(R("nwell.1")) - nwell.width() + 1) // 2), 0)
    shapes.append(("nwell", nwell))
    ports = {"A": Port("A", "met1", m1), "C": Port("C", "met1", tm1)}
    return _passive(ly, f"{device}_W{_fmt(w)}_L{_fmt(l)}", shapes, ports)


#: Pitch (µm) of the via3 array joining a MiM capacitor's capm to its met4: the plate
#: carries picoamperes to microamperes (a 10 pF mass at kilohertz), so a cut every 2 µm
#: (≈ 1200 on a 70 µm plate instead of 30 000 at minimum pitch) loses nothing.
CAP_VIA_PITCH = 2.0


def capacitor(ly: db.Layout, device: str, w: float, l: float) -> Block:
    """One MiM capacitor (`device` cap_mim_m3_1): capm plate w × l µm from (0, 0), the met3
    bottom plate around it (capm.3, and deeper below for its contact), met4 over the capm
    joined by a via3 array (capm.4), both contacts below the plate: port B (bottom plate)
    a via2 to a met2 pad under the met3's lower edge, port T (top plate) the met4 carried
    down to a met2–met4 via stack at the right, whose met3 keeps capm.2b from the plate.
    Both ports are met2 pads with their via2 drawn."""
    if device not in CAPACITORS:
        raise ValueError(f"unknown capacitor {device!r}; known: {', '.join(CAPACITORS)}")
    if min(w, l) < CAP_MIN_W - 1e-9:
        raise ValueError(f"{device}: {w:g} × {l:g} µm below the minimum plate side {CAP_MIN_W:g} µm")
    W, L = _on_grid(device, w, l)
    capm = db.Box(0, 0, W, L)
    enc = u(R("capm.3"))
    v2, v2_m2, v2_m3 = u(R("via2.1a")), u(R("via2.5")), u(R("m3.4")) + u(0.02)
    # the bottom plate's via2 sits below the capm, inside the met3's deeper lower edge, its
    # met2 pad as far from the capm as the 2020 runset's capm.11 asks
    top_of_pad = -max(enc, u(R("capm.11")))
    via2 = db.Box(-enc + v2_m3, top_of_pad - v2_m2 - v2, -enc + v2_m3 + v2, top_of_pad - v2_m2)
    plate = db.Box(-enc, via2.bottom - v2_m3, W + enc, L + enc)
    bottom_pad = via2.enlarged(v2_m2, v2_m2)
    # the top plate's landing: a met2–met4 stack under the right edge, capm.2b below the plate
    side = max(pin_pad_size(), min_via_size("met2", "met4"), math.sqrt(R("m4.4a")))
    stack = via_stack(ly, "met2", "met4", side, side)
    half = stack.ports["top"].box.width() // 2
    landing = db.Point(W - half, -enc - u(R("capm.2b")) - GRID_DBU - half)
    # met4 as wide as the plate down to the landing: one rectangle, no narrow arm on a wide
    # plate (the 2020 runset's m4.5ab reads such an arm as a spacing to the plate)
    shapes = [("capm", capm), ("met3", plate), ("via2", via2), ("met2", bottom_pad),
              ("met4", db.Box(0, landing.y - half, W, L))]
    shapes += [("via3", c) for c in _cut_boxes(capm.enlarged(-u(R("capm.4")), -u(R("capm.4"))), u(R("via3.1")),
                                                max(u(R("via3.2")), u(CAP_VIA_PITCH) - u(R("via3.1"))))]
    landing_box = stack.ports["bottom"].box.moved(landing.x, landing.y)
    ports = {"B": Port("B", "met2", bottom_pad), "T": Port("T", "met2", landing_box)}
    name = f"{device}_W{_fmt(w)}_L{_fmt(l)}"
    drawn = _existing(ly, name) is not None
    block = _passive(ly, name, shapes + [("met2", landing_box)], ports)
    if not drawn:
        block.cell.insert(db.CellInstArray(stack.cell.cell_index(), db.Trans(landing.x, landing.y)))
    return block
