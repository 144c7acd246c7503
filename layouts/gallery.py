"""A row of device pcells, spaced apart: one GDS to DRC every pcell variant in one run of
the external deck (a deck run costs seconds of start-up; one per variant would not)."""
from __future__ import annotations

import klayout.db as db

from pdk import pcells
from pdk.pcells import u

#: (device, W, L, fingers) variants the cells use and the corners of the pcell parameters.
VARIANTS = (
    ("nfet_01v8", 0.42, 0.15, 1),
    ("nfet_01v8", 2.0, 4.0, 1),
    ("nfet_01v8", 4.0, 8.0, 2),
    ("nfet_01v8", 1.0, 0.5, 5),
    ("nfet_01v8_lvt", 1.0, 0.35, 2),
    ("pfet_01v8", 0.42, 0.15, 1),
    ("pfet_01v8", 2.0, 4.0, 1),
    ("pfet_01v8", 4.0, 8.0, 3),
    ("pfet_01v8_hvt", 2.0, 4.0, 2),
    ("pfet_01v8_lvt", 1.0, 0.35, 2),
)

GAP_UM = 3.0  # between neighbours: above nwell.2a and every other spacing


def gallery(variants=VARIANTS, tap: bool = True, name: str = "pcell_gallery") -> tuple[db.Layout, db.Cell]:
    """All `variants` side by side in one top cell."""
    ly = pcells.new_layout()
    top = ly.create_cell(name)
    x = 0
    for dev, w, l, nf in variants:
        blk = pcells.fet(ly, dev, w, l, nf, tap=tap)
        b = blk.bbox
        top.insert(db.CellInstArray(blk.cell.cell_index(), db.Trans(x - b.left, 0)))
        x += b.width() + u(GAP_UM)
    return ly, top
