"""Test structure and pattern for matched mirrors: one row of identical PMOS unit devices
(a diode-connected reference among `ratio` outputs, placed symmetrically around it), a
dummy at each end, a shared nwell with an n+ guard ring, met1 vdd rail, met2 gate line,
met3 output line, pins `vdd in out` labelled on `pdk.layers.PIN_LABEL_LAYER`.

It exercises the pcells, vias, guard ring, DRC and LVS before the real cells land, and is
the DRC/LVS regression structure of the tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import klayout.db as db

from pdk import pcells
from pdk.devices import instance
from pdk.pcells import Block, u

UNIT_GAP_UM = 0.3  # between unit bounding boxes: keeps met1/poly apart, nwells merged


@dataclass
class MirrorLayout:
    """The drawn mirror, its schematic and where its pins are."""
    layout: db.Layout
    top: db.Cell
    netlist: str  # SPICE subckt with the same name as the top cell
    order: list[str]  # placement, left to right: D (dummy), R (reference), O (output)

    def save(self, gds_path, spice_path=None) -> None:
        pcells.save_gds(self.layout, gds_path, self.top)
        if spice_path is not None:
            with open(spice_path, "w") as f:
                f.write(self.netlist)


def unit_order(ratio: int) -> list[str]:
    """Symmetric placement: outputs split around the reference, dummies at the ends."""
    left = ratio // 2
    return ["D"] + ["O"] * left + ["R"] + ["O"] * (ratio - left) + ["D"]


def pmos_mirror(ratio: int = 4, w: float = 2.0, l: float = 4.0, device: str = "pfet_01v8",
                name: str | None = None, ly: db.Layout | None = None) -> MirrorLayout:
    """A 1:`ratio` PMOS unit mirror (source vdd, gate = reference drain = `in`)."""
    if device[0] != "p":
        raise ValueError("pmos_mirror draws pfets")
    name = name or f"mirror_p1x{ratio}"
    ly = ly or pcells.new_layout()
    top = ly.create_cell(name)
    unit = pcells.fet(ly, device, w, l, nf=1, tap=False, well=True)
    ub = unit.bbox
    pitch = ub.width() + u(UNIT_GAP_UM)
    order = unit_order(ratio)
    placed: list[dict[str, pcells.Port]] = []
    for k, kind in enumerate(order):
        x = k * pitch
        if k == len(order) - 1:  # right dummy mirrored so its gate pad faces outwards
            t = db.Trans(db.Trans.M90, x + ub.right + ub.left, 0)
        else:
            t = db.Trans(x, 0)
        top.insert(db.CellInstArray(unit.cell.cell_index(), t))
        placed.append(unit.ports_at(t))

    S0, G0, D0 = placed[0]["S"].box, placed[0]["G"].box, placed[0]["D"].box
    strap_w = u(0.3)
    # dummies: gate, drain and source all on vdd through an outer met1 strap
    lstrap = db.Box(G0.left - strap_w, S0.bottom, G0.left + u(0.05), D0.top)
    pcells.box(top, "met1", lstrap)
    pcells.box(top, "met1", db.Box(lstrap.left, D0.bottom, D0.right, D0.top))
    Sn, Gn, Dn = placed[-1]["S"].box, placed[-1]["G"].box, placed[-1]["D"].box
    rstrap = db.Box(Gn.right - u(0.05), Sn.bottom, Gn.right + strap_w, Dn.top)
    pcells.box(top, "met1", rstrap)
    pcells.box(top, "met1", db.Box(Dn.left, Dn.bottom, rstrap.right, Dn.top))

    # n+ guard ring in one nwell around everything, tied to the vdd rail
    inner = top.bbox()
    ring = pcells.guard_ring(ly, inner, "n", f"{name}_ring", gap=0.4, well=True)
    top.insert(db.CellInstArray(ring.cell.cell_index(), db.Trans()))
    rb = ring.cell.bbox()
    pcells.box(top, "met1", db.Box(rb.left + u(0.1), S0.bottom, rb.right - u(0.1), S0.top))

    # gate line (met2) from over the left dummy to the last real gate pad
    vsz = pcells.min_via_size("met1", "met2")
    via12 = pcells.via_stack(ly, "met1", "met2", vsz, vsz)
    real = [i for i, kind in enumerate(order) if kind != "D"]
    gates = [placed[i]["G"].box for i in real]
    gy0, gy1 = gates[0].bottom, gates[0].top
    in_x = pcells.snap_down((placed[0]["G"].box.right + placed[0]["D"].box.left) // 2)
    pcells.box(top, "met2", db.Box(in_x - u(0.2), gy0, gates[-1].right, gy1))
    for g in gates:
        top.insert(db.CellInstArray(via12.cell.cell_index(), db.Trans(g.center())))
    # reference drain down to the gate line (diode connection)
    rd = placed[order.index("R")]["D"].box
    top.insert(db.CellInstArray(via12.cell.cell_index(), db.Trans(rd.center())))
    half = u(vsz) // 2
    pcells.box(top, "met2", db.Box(rd.center().x - half, gy0, rd.center().x + half, rd.center().y + half))
    # outputs: met1→met3 stacks on each output drain, one met3 line
    m3sz = pcells.min_via_size("met1", "met3")
    via13 = pcells.via_stack(ly, "met1", "met3", m3sz, m3sz)
    outs = [placed[i]["D"].box for i, kind in enumerate(order) if kind == "O"]
    h3 = u(m3sz) // 2
    # stacks sit on the drain bars, raised so their met2 clears the gate line
    oy = pcells.snap_up(max(outs[0].center().y, gy1 + u(pcells.R("m2.2")) + h3))
    for d in outs:
        top.insert(db.CellInstArray(via13.cell.cell_index(), db.Trans(d.center().x, oy)))
        pcells.box(top, "met1", db.Box(d.left, d.bottom, d.right, oy + h3))
    out_line = db.Box(outs[0].center().x - h3, oy - h3, outs[-1].center().x + h3, oy + h3)
    pcells.box(top, "met3", out_line)

    # pins on met3
    psz = pcells.pin_pad_size()
    via23 = pcells.via_stack(ly, "met2", "met3", psz, psz)
    in_at = db.Point(in_x, pcells.snap_down((gy0 + gy1) // 2))
    top.insert(db.CellInstArray(via23.cell.cell_index(), db.Trans(in_at)))
    vdd_at = db.Point(pcells.snap_down(rb.center().x),
                      pcells.snap_down(ring.ports["B"].box.center().y))
    pad13 = pcells.via_stack(ly, "met1", "met3", psz, psz)
    top.insert(db.CellInstArray(pad13.cell.cell_index(), db.Trans(vdd_at)))
    pcells.label(top, "in", in_at)
    pcells.label(top, "out", out_line.center())
    pcells.label(top, "vdd", vdd_at)

    lines = [f".subckt {name} vdd in out"]
    n_out = 0
    for k, kind in enumerate(order):
        if kind == "R":
            lines.append(instance("R", device, "in", "in", "vdd", "vdd", w, l))
        elif kind == "O":
            n_out += 1
            lines.append(instance(f"O{n_out}", device, "out", "in", "vdd", "vdd", w, l))
        else:
            lines.append(instance(f"DUM{k}", device, "vdd", "vdd", "vdd", "vdd", w, l))
    lines.append(".ends")
    return MirrorLayout(ly, top, "\n".join(lines) + "\n", order)
