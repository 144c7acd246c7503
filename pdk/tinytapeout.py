"""The Tiny Tapeout analog tile templates for SKY130 (the facts a tile must match).

Read from the Tiny Tapeout support tools, `tech/sky130A/def/analog/tt_analog_1x2.def`
(TinyTapeout/tt-support-tools, commit 28fd25f): DIEAREA (0 0) (161000 225760), 51 pins, all
on met4, every one a rectangle around its PLACED point. The eight `ua[i]` sit on the bottom
edge (0.9 × 1.0 µm), the digital pins on the top edge (0.3 × 1.0 µm), every pitch a multiple
of 2.76 µm. The power rules are the analog specification's (tinytapeout.com/specs/analog):
VDPWR and VGND are vertical met4 stripes at least 1.2 µm wide that start within the bottom
10 µm and reach the top 10 µm; only `ua[0]`…`ua[5]` are bonded, used in order from 0;
unused digital outputs (`uo_out`, `uio_out`, `uio_oe`) are tied to ground; no met5.
The sky130A folder holds 1x2, 3x2, 4x2 and 6x2 templates; only the 1x2 is transcribed.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TemplatePin:
    name: str
    direction: str  # LEF DIRECTION: INPUT | OUTPUT | INOUT
    x: float  # µm, the DEF's PLACED point: the rectangle's centre
    y: float
    width: float
    height: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x - self.width / 2, self.y - self.height / 2,
                self.x + self.width / 2, self.y + self.height / 2)


@dataclass(frozen=True)
class Template:
    name: str
    width: float  # µm
    height: float
    pins: tuple[TemplatePin, ...]
    analog_usable: int  # ua[0] … ua[analog_usable - 1] reach pads

    def pin(self, name: str) -> TemplatePin:
        return next(p for p in self.pins if p.name == name)

    def pin_role(self, name: str) -> tuple[str, str]:
        """LEF DIRECTION and USE of a tile pin: the stripes power and ground, the rest as
        the DEF declares them."""
        power = {"VDPWR": ("INOUT", "POWER"), "VGND": ("INOUT", "GROUND")}
        return power[name] if name in power else (self.pin(name).direction, "SIGNAL")


PIN_LAYER = "met4"
POWER_NETS = ("VDPWR", "VGND")
STRIPE_MIN_WIDTH = 1.2  # µm
STRIPE_EDGE = 10.0  # µm: a stripe starts and ends within this distance of the tile edges
FORBIDDEN_LAYERS = ("met5",)
#: digital outputs the specification says must not float (tied to VGND)
TIED_OUTPUTS = ("uo_out", "uio_out", "uio_oe")


def _one_by_two() -> Template:
    top, bottom = 225.26, 0.5
    pins = [TemplatePin(f"ua[{i}]", "INOUT", 152.26 - 19.32 * i, bottom, 0.9, 1.0) for i in range(8)]
    pins += [TemplatePin(n, "INPUT", x, top, 0.3, 1.0)
             for n, x in (("clk", 143.98), ("ena", 146.74), ("rst_n", 141.22))]
    for bus, first, direction in (("ui_in", 138.46, "INPUT"), ("uio_in", 116.38, "INPUT"),
                                  ("uo_out", 94.30, "OUTPUT"), ("uio_out", 72.22, "OUTPUT"),
                                  ("uio_oe", 50.14, "OUTPUT")):
        pins += [TemplatePin(f"{bus}[{i}]", direction, round(first - 2.76 * i, 2), top, 0.3, 1.0)
                 for i in range(8)]
    return Template("tt-analog-1x2", 161.0, 225.76, tuple(pins), analog_usable=6)


TEMPLATES = {t.name: t for t in (_one_by_two(),)}
