"""A macro wrapped into a Tiny Tapeout analog tile (`pdk.tinytapeout`).

The macro, drawn with its port pads in one row `PAD_PITCH` apart, is turned 180° so that
row faces the `ua` pins on the bottom edge. Each signal
pad goes up a via3 onto a met4 line of its own, down to a met3 track in the channel under
the macro, along it and up a via3 onto the `ua` pin's met4 (inputs, outputs, then iref, in
order); vdd and vss go the same way to the VDPWR and VGND stripes, which run the tile's
height left of the macro. The unused digital outputs are tied to VGND by a met3 bar under
the top edge. Every template pin is drawn with its pin shape and label on met4, and a
prBoundary rectangle spans the die, so the top cell's extent is the template's.
"""
from __future__ import annotations

from dataclasses import dataclass

import klayout.db as db

from layouts.macro import MacroLayout
from pdk import pcells
from pdk.pcells import R, snap_up, u
from pdk.tinytapeout import PIN_LAYER, POWER_NETS, STRIPE_EDGE, TIED_OUTPUTS, Template

STRIPE_WIDTH = 1.6  # µm, above the template's 1.2 µm minimum
#: µm between the macro's port pads, drawn for the tile (`layouts.macro.assemble` pad_pitch):
#: 0.4 µm met4 lines (via3 landings) at met4 spacing
PAD_PITCH = 1.2
STRIPE_X = {"VGND": 1.5, "VDPWR": 4.5}  # µm, left edges
TRACK_PITCH = 0.8  # µm between channel tracks (0.5 µm met3)
MACRO_LEFT = 7.5  # µm: right of the stripes
TIE_Y = 222.0  # µm: the met3 bar that ties the digital outputs to VGND


@dataclass
class Tile:
    top: db.Cell
    assignment: dict[str, str]  # ua pin → macro port


def analog_order(ports, template: Template) -> list[str]:
    """The macro's signal ports in `ua` order: inputs, outputs, then iref. Raises
    ValueError when there are more than the template bonds."""
    signals = [p for p in ports if p not in ("vdd", "vss")]
    order = ([p for p in signals if p.startswith("in")] + [p for p in signals if p.startswith("out")]
             + [p for p in signals if not p.startswith(("in", "out"))])
    if len(order) > template.analog_usable:
        raise ValueError(f"the macro needs {len(order)} analog pins ({', '.join(order)}); "
                         f"{template.name} bonds {template.analog_usable} (ua[0]…ua[{template.analog_usable - 1}])")
    return order


def _channel_top(ports, template: Template) -> float:
    """Top (µm) of the met3 channel below the macro: one track per routed pin and supply."""
    return 2.0 + TRACK_PITCH * (len(analog_order(ports, template)) + 2) + 2.0


def macro_room(ports, template: Template) -> tuple[float, float]:
    """Width and height (µm) the tile leaves the macro: right of the stripes, above the
    channel, below the tie bar (`wrap` may still move it right, clear of the ua pins)."""
    return template.width - MACRO_LEFT - 1.0, TIE_Y - 2.0 - _channel_top(ports, template)


def wrap(macro: MacroLayout, ports, top_name: str, template: Template) -> Tile:
    """Draw cell `top_name` in the macro's layout: the template's pins, power stripes, the
    macro and its routes. Raises ValueError when the macro or its pins do not fit."""
    ly = macro.layout
    order = analog_order(ports, template)
    assignment = {f"ua[{i}]": port for i, port in enumerate(order)}
    routes = order + ["vdd", "vss"]
    pads = _pads(macro)
    xs = sorted(p.x for p in pads.values())
    if any(b - a < u(PAD_PITCH) for a, b in zip(xs, xs[1:])):
        raise ValueError(f"{macro.top.name}: its pads are closer than {PAD_PITCH} µm "
                         "(draw it with layouts.macro.assemble pad_pitch=PAD_PITCH)")
    mb = macro.top.bbox()
    bottom = u(_channel_top(ports, template))
    width, height = u(template.width), u(template.height)
    x_left = _clear_of_pins(u(MACRO_LEFT), pads, mb, template, width)
    t = db.Trans(db.Trans.R180, x_left + mb.right, bottom + mb.top)
    placed = mb.transformed(t)
    if placed.right > width - u(1.0) or placed.top > u(TIE_Y - 2.0):
        raise ValueError(f"{macro.top.name} is {mb.width() * ly.dbu:.1f} × {mb.height() * ly.dbu:.1f} µm; "
                         f"{template.name} leaves {template.width - MACRO_LEFT - 1.0:.1f} × "
                         f"{TIE_Y - 2.0 - bottom * ly.dbu:.1f} µm for it")
    top = ly.create_cell(top_name)
    top.insert(db.CellInstArray(macro.top.cell_index(), t))

    stripe_x = {net: u(STRIPE_X[net] + STRIPE_WIDTH / 2) for net in POWER_NETS}
    for net in POWER_NETS:
        box = db.Box(u(STRIPE_X[net]), u(1.0), u(STRIPE_X[net] + STRIPE_WIDTH), height - u(1.5))
        _pin(top, net, box)
    for pin in template.pins:
        _pin(top, pin.name, db.Box(*(u(v) for v in pin.box)))

    m3w, m4w = u(0.5), u(0.4)
    target = {p: u(template.pin(ua).x) for ua, p in assignment.items()}
    target |= {"vdd": stripe_x["VDPWR"], "vss": stripe_x["VGND"]}
    for k, port in enumerate(routes):
        at = t * pads[port]
        y = u(2.0 + TRACK_PITCH * k) + m3w // 2
        _via3(top, at.x, at.y)
        pcells.box(top, "met4", db.Box(at.x - m4w // 2, y - m4w // 2, at.x + m4w // 2, at.y + m4w // 2))
        _via3(top, at.x, y)
        lo, hi = sorted((at.x, target[port]))
        pcells.box(top, "met3", db.Box(lo - m3w // 2, y - m3w // 2, hi + m3w // 2, y + m3w // 2))
        _via3(top, target[port], y)
        if port not in ("vdd", "vss"):  # down onto the ua pin
            pin_w = u(template.pin(next(a for a, p in assignment.items() if p == port)).width)
            pcells.box(top, "met4", db.Box(target[port] - pin_w // 2, 0, target[port] + pin_w // 2, y + m4w // 2))

    tied = [p for p in template.pins if p.name.split("[")[0] in TIED_OUTPUTS]
    bar_y = u(TIE_Y)
    xs = [u(p.x) for p in tied] + [stripe_x["VGND"]]
    pcells.box(top, "met3", db.Box(min(xs) - m3w // 2, bar_y - m3w // 2, max(xs) + m3w // 2, bar_y + m3w // 2))
    for p in tied:
        x = u(p.x)
        pcells.box(top, "met4", db.Box(x - m4w // 2, bar_y - m4w // 2, x + m4w // 2, u(p.box[3])))
        _via3(top, x, bar_y)
    _via3(top, stripe_x["VGND"], bar_y)
    pcells.box(top, "boundary", db.Box(0, 0, width, height))
    return Tile(top, assignment)


def _pads(macro: MacroLayout) -> dict[str, db.Point]:
    """Macro pin name → its pad centre (the label's position), in macro coordinates."""
    from pdk import layers

    label = macro.layout.layer(*layers.gds(layers.PIN_LABEL_LAYER))
    return {s.text.string: db.Point(s.text.trans.disp.x, s.text.trans.disp.y)
            for s in macro.top.shapes(label).each() if s.is_text()}


def _clear_of_pins(x_left: int, pads, mb: db.Box, template: Template, width: int) -> int:
    """The leftmost macro position from `x_left` (0.5 µm steps) where no pad's met4 line
    comes within 1 µm of a `ua` pin's line: they run side by side in the channel."""
    uas = [u(p.x) for p in template.pins if p.name.startswith("ua[")]
    for step in range(40):
        x = x_left + step * u(0.5)
        pad_xs = [x + mb.right - p.x for p in pads.values()]  # R180: x → dx − x
        if all(abs(px - ua) >= u(1.0) for px in pad_xs for ua in uas):
            return x
    raise ValueError("no macro position keeps its pad lines clear of the ua pins")


def _via3(top: db.Cell, x: int, y: int) -> None:
    v = u(R("via3.1")) // 2
    pcells.box(top, "via3", db.Box(x - v, y - v, x + v, y + v))


def _pin(top: db.Cell, name: str, box: db.Box) -> None:
    """A template pin: met4 drawing, the met4 pin shape and its label."""
    pcells.box(top, PIN_LAYER, box)
    pcells.box(top, f"{PIN_LAYER}_pin", box)
    pcells.label(top, name, box.center(), layer=f"{PIN_LAYER}_label")
