"""Integration views of a compiled macro, read back by third-party parsers (lefdef for LEF,
liberty-parser, verilog-parser) and checked against the GDS, the netlist and the manifest."""
from __future__ import annotations

import json
import re
from pathlib import Path

import klayout.db as db
import pytest

from pdk import layers
from tests.conftest import run_bmru

pytestmark = [pytest.mark.ngspice, pytest.mark.klayout]

FLIPFLOP = Path(__file__).resolve().parents[1] / "examples" / "flipflop.yaml"


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("views") / "flipflop"
    result = run_bmru("compile", FLIPFLOP, "-o", out)
    assert result.returncode == 0, result.stderr
    return out


def _gds_pins(gds: Path) -> tuple[db.DBox, dict[str, db.DPoint]]:
    ly = db.Layout()
    ly.read(str(gds))
    top = ly.top_cells()[0]
    where = {}
    for shape in top.shapes(ly.layer(*layers.gds(layers.PIN_LABEL_LAYER))).each():
        if shape.is_text():
            where[shape.text.string] = shape.text.trans.disp.to_dtype(ly.dbu)
    return top.dbbox(), where


def test_lef_matches_the_gds(build):
    from lefdef import C_LefReader

    reader = C_LefReader()
    lef = reader.read(str(build / "flipflop.lef"))
    assert lef.c_num_macros == 1
    macro = lef.c_macros[0]
    box, labels = _gds_pins(build / "flipflop.gds")
    assert macro.c_name == b"flipflop" and macro.c_class == b"BLOCK"
    assert (macro.c_size_x, macro.c_size_y) == pytest.approx((box.width(), box.height()), abs=1e-3)
    ports = json.loads((build / "manifest.json").read_text())["ports"]
    pins = {macro.c_pins[i].c_name.decode(): macro.c_pins[i] for i in range(macro.c_num_pins)}
    assert sorted(pins) == sorted(ports) == sorted(labels)
    expected = {"vdd": (b"INOUT", b"POWER"), "vss": (b"INOUT", b"GROUND"), "iref": (b"INPUT", b"ANALOG"),
                "in0": (b"INPUT", b"ANALOG"), "out1": (b"OUTPUT", b"ANALOG")}
    for name, (direction, use) in expected.items():
        assert (pins[name].c_direction, pins[name].c_use) == (direction, use), name
    for name, pin in pins.items():
        rects = [pin.c_ports[0].c_rects[k] for k in range(pin.c_ports[0].c_num_rects)]
        assert len(rects) == 1 and rects[0].c_layer == b"met3", name
        r = rects[0]
        at = labels[name] - db.DVector(box.left, box.bottom)  # LEF origin is the cell's lower left
        assert r.c_xl < at.x < r.c_xh and r.c_yl < at.y < r.c_yh, name  # the label sits on its pin
        assert 0 <= r.c_xl < r.c_xh <= box.width() and 0 <= r.c_yl < r.c_yh <= box.height()
    text = (build / "flipflop.lef").read_text()
    assert re.search(r"OBS\n\s+LAYER li1 ;", text) and "LAYER met2 ;" in text


def test_liberty_and_verilog_match_the_macro(build):
    from liberty.parser import parse_liberty
    from verilog_parser.parser import parse_verilog

    manifest = json.loads((build / "manifest.json").read_text())
    ports = manifest["ports"]
    cell = parse_liberty((build / "flipflop.lib").read_text()).get_groups("cell")[0]
    assert cell.args == ["flipflop"]
    assert float(cell["area"]) == pytest.approx(manifest["area"]["macro_um2"], rel=1e-6)
    pins = {p.args[0]: p["direction"] for p in cell.get_groups("pin")}
    assert pins == {p: ("output" if p.startswith("out") else "input") for p in ports if p not in ("vdd", "vss")}
    assert {p.args[0]: p["pg_type"] for p in cell.get_groups("pg_pin")} == {"vdd": "primary_power",
                                                                            "vss": "primary_ground"}
    static = manifest["power"]["static"]
    assert float(cell["cell_leakage_power"]) == pytest.approx(static["total_W"] * 1e9, rel=1e-5)
    # physical sense: bias tree and cells draw nanowatts at 1 nA units; the blocks add up
    assert 1e-9 < static["total_W"] < 50e-9
    assert sum(static["by_block"].values()) == pytest.approx(static["total_W"], rel=0.02)
    module = parse_verilog((build / "flipflop.v").read_text()).modules[0]
    assert module.module_name == "flipflop" and module.port_list == ports
    declared = {d.net_name: kind for kind in ("input", "output", "inout")
                for d in getattr(module, f"{kind}_declarations")}
    assert declared == {p: ("inout" if p in ("vdd", "vss") else "output" if p.startswith("out") else "input")
                        for p in ports}


def test_gdsfactory_component_places_and_routes_drc_clean(build, tmp_path):
    """Two macros in a gdsfactory test chip, one pin routed to the other's: DRC-clean under
    the own rules and the MPW deck, and the route joins exactly the two pins it names."""
    gf = pytest.importorskip("gdsfactory")
    from layouts.component import macro_component
    from pdk import drc
    from pdk.pcells import R

    macro = macro_component(build)
    ports = json.loads((build / "manifest.json").read_text())["ports"]
    assert sorted(p.name for p in macro.ports) == sorted(ports)
    assert {p.port_type for p in macro.ports} == {"electrical"}
    chip = gf.Component("test_chip")
    a, b = chip << macro, chip << macro
    b.dmovex(macro.dxsize + 40)
    gf.routing.route_single_electrical(chip, a.ports["out0"], b.ports["in0"], cross_section="metal3",
                                       width=R("m3.1"), start_straight_length=5, end_straight_length=5)
    gds = tmp_path / "chip.gds"
    chip.write_gds(gds)
    assert drc.run_own(gds).total == 0
    try:
        drc.klayout_app()
        assert drc.run_deck(gds).total == 0
    except drc.DeckUnavailable:
        pass  # the own rules already ran; the deck has its own tests
    ly = db.Layout()
    ly.read(str(gds))
    met3 = db.Region(ly.top_cells()[0].begin_shapes_rec(ly.layer(*layers.gds("met3")))).merged()

    def net_of(ref, pin):
        c = ref.ports[pin].center
        probe = db.Region(db.Box(int(c[0] / ly.dbu) - 1, int(c[1] / ly.dbu) - 1, int(c[0] / ly.dbu) + 1,
                                 int(c[1] / ly.dbu) + 1))
        return [p for p in met3.interacting(probe).each()]

    (joined,) = net_of(a, "out0")
    assert net_of(b, "in0") == [joined]
    others = [(r, p) for r in (a, b) for p in ports if (r, p) not in ((a, "out0"), (b, "in0"))]
    assert all(net_of(r, p) != [joined] for r, p in others), "the route shorts another pin"
