"""A compiled macro as a gdsfactory 9 `Component`, for users who script their chips in
gdsfactory: the GDS of a build directory with one electrical port per pin.

    from layouts.component import macro_component
    kws = macro_component("build/demo/kws_d4")       # ports: vdd vss iref in0… out0…
    chip = gf.Component("chip"); ref = chip << kws
    gf.routing.route_single_electrical(chip, ref.ports["out0"], other.ports["in0"],
                                       layer=(70, 20), width=0.3)

gdsfactory is imported only here (it is slow to import); when no gdsfactory PDK is active
the `sky130` wheel's is activated.
"""
from __future__ import annotations

import json
from pathlib import Path


def macro_component(build_dir: str | Path):
    """The macro `bmru compile` wrote into `build_dir` (its manifest names the GDS) as a
    gdsfactory Component. Each pin becomes an electrical port on its pin metal (met3,
    70/20), as wide as the pin, facing out of the nearest edge of the macro."""
    import gdsfactory as gf

    from layouts.abstract import read_pins
    from pdk import layers
    from pdk.drc import load

    try:
        gf.get_active_pdk()
    except ValueError:  # none yet: the sky130 wheel's gdsfactory PDK (its layer names, cross-sections)
        import sky130
        sky130.PDK.activate()
    build = Path(build_dir)
    manifest = json.loads((build / "manifest.json").read_text())
    gds = build / manifest["files"]["gds"]
    ly, top = load(gds)
    bbox = top.dbbox()
    component = gf.import_gds(gds, cellname=top.name)
    for pin in read_pins(ly, top):
        c = pin.box.center()
        gaps = {90: bbox.top - c.y, 270: c.y - bbox.bottom, 0: bbox.right - c.x, 180: c.x - bbox.left}
        orientation = min(gaps, key=gaps.get)
        width = pin.box.width() if orientation in (90, 270) else pin.box.height()
        component.add_port(name=pin.name, center=(c.x, c.y), width=width, orientation=orientation,
                           layer=layers.gds(pin.layer), port_type="electrical")
    return component
