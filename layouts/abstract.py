"""The abstract (LEF) view of a drawn macro, read back from its GDS, so that what a placer
sees is what was drawn: SIZE from the top cell's extent, one PIN per pin label with the
rectangle of the metal under it, OBS from the drawn wiring layers.

Open flows (OpenROAD, Tiny Tapeout, Caravel) place a macro from this view and route to its
pins; they never read the transistors. Obstructions are the drawn metal of each layer, grown
by that layer's minimum spacing so a router keeps clear of it, merged into rectangles.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import klayout.db as db

from pdk import layers
from pdk.rules import RULES


@dataclass(frozen=True)
class Pin:
    name: str
    layer: str            # project layer name (see pdk.layers.LEF_LAYER for the LEF name)
    box: db.DBox          # µm, in the top cell's coordinates
    direction: str        # INPUT | OUTPUT | INOUT
    use: str              # SIGNAL | ANALOG | POWER | GROUND


def pin_role(name: str) -> tuple[str, str]:
    """LEF DIRECTION and USE of a macro pin, from the pin contract (ARCHITECTURE §4)."""
    if name == "vdd":
        return "INOUT", "POWER"
    if name == "vss":
        return "INOUT", "GROUND"
    if name.startswith("out"):
        return "OUTPUT", "ANALOG"
    return "INPUT", "ANALOG"  # iref and in<i>: currents flowing into the macro


def read_pins(ly: db.Layout, top: db.Cell, label_layer: str = layers.PIN_LABEL_LAYER,
              shape_layer: str | None = None, role=pin_role) -> list[Pin]:
    """Every pin label of the top cell on `label_layer` and the rectangle under it: of the
    pin metal (the drawn metal merged) or, with `shape_layer`, of the pin-purpose shape."""
    label = ly.layer(*layers.gds(label_layer))
    metal_name = label_layer.removesuffix("_label")
    metal = db.Region(top.begin_shapes_rec(ly.layer(*layers.gds(shape_layer or metal_name))))
    metal = metal if shape_layer else metal.merged()
    pins = []
    for shape in top.shapes(label).each():
        if not shape.is_text():
            continue
        at = shape.text.trans.disp
        probe = db.Region(db.Box(at.x - 1, at.y - 1, at.x + 1, at.y + 1))
        under = metal.interacting(probe)
        if under.is_empty():
            raise ValueError(f"pin label {shape.text.string!r} at {at} is not on {shape_layer or metal_name}")
        box = next(iter(under.each())).bbox().to_dtype(ly.dbu)
        pins.append(Pin(shape.text.string, metal_name, box, *role(shape.text.string)))
    return sorted(pins, key=lambda p: p.name)


def obstructions(ly: db.Layout, top: db.Cell, pins: list[Pin]) -> dict[str, list[db.DBox]]:
    """Per wiring layer, rectangles covering the drawn metal grown by its minimum spacing
    (pin rectangles left open on their own layer)."""
    obs: dict[str, list[db.DBox]] = {}
    for name in layers.CONDUCTORS:
        region = db.Region(top.begin_shapes_rec(ly.layer(*layers.gds(name)))).merged()
        if region.is_empty():
            continue
        grown = region.sized(int(round(_min_spacing(name) / ly.dbu))).merged()
        for pin in pins:
            if pin.layer == name:
                grown -= db.Region(pin.box.to_itype(ly.dbu))
        boxes = grown.decompose_trapezoids_to_region(db.Polygon.TD_htrapezoids)
        obs[name] = sorted((p.bbox().to_dtype(ly.dbu) for p in boxes.each()),
                           key=lambda b: (b.bottom, b.left, b.top, b.right))
    return obs


def _min_spacing(layer: str) -> float:
    return max(r.value for r in RULES if r.kind == "space" and r.layer == layer)


def lef(gds: str | Path, label_layer: str = layers.PIN_LABEL_LAYER, shape_layer: str | None = None,
        role=pin_role, with_obstructions: bool = True) -> str:
    """LEF 5.8 text of the single top cell of `gds` (CLASS BLOCK, origin 0 0); the pins as
    `read_pins` finds them; OBS from the drawn metal unless not `with_obstructions` (the
    pin-only abstract a Tiny Tapeout submission asks for)."""
    from pdk.drc import load

    ly, top = load(gds)
    box = top.dbbox()
    pins = read_pins(ly, top, label_layer, shape_layer, role)
    obs = obstructions(ly, top, pins) if with_obstructions else {}

    def rect(b: db.DBox) -> str:
        return (f"RECT {b.left - box.left:.3f} {b.bottom - box.bottom:.3f} "
                f"{b.right - box.left:.3f} {b.top - box.bottom:.3f} ;")

    lines = ["VERSION 5.8 ;", 'BUSBITCHARS "[]" ;', 'DIVIDERCHAR "/" ;', "UNITS", "  DATABASE MICRONS 1000 ;",
             "END UNITS", "", f"MACRO {top.name}", "  CLASS BLOCK ;", "  ORIGIN 0 0 ;",
             f"  FOREIGN {top.name} 0 0 ;", f"  SIZE {box.width():.3f} BY {box.height():.3f} ;",
             "  SYMMETRY X Y ;"]
    for pin in pins:
        lines += [f"  PIN {pin.name}", f"    DIRECTION {pin.direction} ;", f"    USE {pin.use} ;",
                  "    PORT", f"      LAYER {layers.LEF_LAYER[pin.layer]} ;", f"        {rect(pin.box)}",
                  "    END", f"  END {pin.name}"]
    if obs:
        lines.append("  OBS")
        for name, boxes in obs.items():
            lines.append(f"    LAYER {layers.LEF_LAYER[name]} ;")
            lines += [f"      {rect(b)}" for b in boxes]
        lines.append("  END")
    lines += [f"END {top.name}", "", "END LIBRARY", ""]
    return "\n".join(lines)
