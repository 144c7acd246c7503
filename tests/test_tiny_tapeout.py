"""`bmru compile --target tt-analog-1x2`: the checks of the Tiny Tapeout precheck that run
here. LEF origin and size equal the template's, every pin one rectangle at the template's
place (read back by lefdef), the pin shapes on met4 in the GDS, the layer whitelist and the
boundary, power stripes as the specification asks, each ua pin wired to its macro pad and
to nothing else, and the MPW precheck deck with 0 violations; a network with more analog
pins than the tile bonds is refused."""
from __future__ import annotations

import json
from pathlib import Path

import klayout.db as db
import pytest

from layouts.tiny_tapeout import STRIPE_WIDTH, STRIPE_X
from pdk import layers
from pdk.tinytapeout import STRIPE_EDGE, STRIPE_MIN_WIDTH, TEMPLATES
from tests.conftest import run_bmru

pytestmark = [pytest.mark.ngspice, pytest.mark.klayout]

FLIPFLOP = Path(__file__).resolve().parents[1] / "examples" / "flipflop.yaml"
TEMPLATE = TEMPLATES["tt-analog-1x2"]


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tt") / "flipflop"
    result = run_bmru("compile", FLIPFLOP, "-o", out, "--target", TEMPLATE.name, "--deck")
    assert result.returncode == 0, result.stderr
    return out


def _tile(build: Path):
    ly = db.Layout()
    ly.read(str(build / "tt" / "gds" / "tt_um_flipflop.gds"))
    return ly, ly.top_cells()[0]


def test_lef_matches_the_template(build):
    from lefdef import C_LefReader

    reader = C_LefReader()  # owns the parsed structures: keep it alive while they are read
    lef = reader.read(str(build / "tt" / "lef" / "tt_um_flipflop.lef"))
    macro = lef.c_macros[0]
    assert macro.c_name == b"tt_um_flipflop"
    assert (macro.c_size_x, macro.c_size_y) == pytest.approx((TEMPLATE.width, TEMPLATE.height), abs=1e-6)
    text = (build / "tt" / "lef" / "tt_um_flipflop.lef").read_text()
    assert "ORIGIN 0 0 ;" in text and "OBS" not in text  # a pin-only abstract
    pins = {macro.c_pins[i].c_name.decode(): macro.c_pins[i] for i in range(macro.c_num_pins)}
    assert set(pins) == {p.name for p in TEMPLATE.pins} | {"VDPWR", "VGND"}
    for want in TEMPLATE.pins:
        port = pins[want.name].c_ports[0]
        assert port.c_num_rects == 1, want.name
        r = port.c_rects[0]
        assert r.c_layer == b"met4" and (r.c_xl, r.c_yl, r.c_xh, r.c_yh) == pytest.approx(want.box, abs=1e-6)
        assert pins[want.name].c_direction == want.direction.encode()
    for net, use in (("VDPWR", b"POWER"), ("VGND", b"GROUND")):
        r = pins[net].c_ports[0].c_rects[0]
        assert pins[net].c_use == use and r.c_layer == b"met4"
        assert r.c_xh - r.c_xl >= STRIPE_MIN_WIDTH
        assert r.c_yl <= STRIPE_EDGE and r.c_yh >= TEMPLATE.height - STRIPE_EDGE


def test_gds_pins_layers_and_boundary(build):
    ly, top = _tile(build)
    assert top.name == "tt_um_flipflop"
    die = db.DBox(0, 0, TEMPLATE.width, TEMPLATE.height)
    assert top.dbbox() == die  # nothing outside the boundary
    boundary = [s.dbbox() for s in top.shapes(ly.layer(*layers.gds("boundary"))).each()]
    assert boundary == [die]
    pin_shapes = [s.dbbox() for s in top.shapes(ly.layer(*layers.gds("met4_pin"))).each()]
    texts = {s.text.string: s.text.trans.disp.to_dtype(ly.dbu)
             for s in top.shapes(ly.layer(*layers.gds("met4_label"))).each() if s.is_text()}
    for want in TEMPLATE.pins:
        box = db.DBox(*want.box)
        assert box in pin_shapes, want.name
        assert box.contains(texts[want.name]), want.name
    allowed = {layers.gds(n) for n in (*layers.DRAWN, "boundary", "met3_label", "met4_label", "met4_pin")}
    used = {(info.layer, info.datatype) for i, info in zip(ly.layer_indexes(), ly.layer_infos())
            if not top.begin_shapes_rec(i).at_end()}
    assert used <= allowed, used - allowed
    assert (72, 20) not in used  # met5 belongs to the Tiny Tapeout power grid


def _nets(ly: db.Layout, top: db.Cell) -> list[db.Region]:
    """Conductors joined through via3 and via2 (met2, met3, met4): the wrapper's wiring."""
    region = {n: db.Region(top.begin_shapes_rec(ly.layer(*layers.gds(n)))).merged()
              for n in ("met2", "via2", "met3", "via3", "met4")}
    pieces = [(name, db.Region(p)) for name in ("met2", "met3", "met4") for p in region[name].each()]
    parent = list(range(len(pieces)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for cut, (lo, hi) in (("via2", ("met2", "met3")), ("via3", ("met3", "met4"))):
        for via in region[cut].each():
            v = db.Region(via)
            touching = [i for i, (name, r) in enumerate(pieces) if name in (lo, hi) and not (r & v).is_empty()]
            for i in touching[1:]:
                parent[find(i)] = find(touching[0])
    groups: dict[int, db.Region] = {}
    for i, (name, r) in enumerate(pieces):
        groups.setdefault(find(i), db.Region()).insert(r)
    return list(groups.values())


def test_each_ua_pin_reaches_its_macro_pad_and_nothing_else(build):
    ly, top = _tile(build)
    manifest = json.loads((build / "manifest.json").read_text())
    assignment = manifest["tile"]["pins"]
    assert assignment == {"ua[0]": "in0", "ua[1]": "in1", "ua[2]": "out0", "ua[3]": "out1", "ua[4]": "iref"}
    label = ly.layer(*layers.gds(layers.PIN_LABEL_LAYER))
    inst = next(i for i in top.each_inst() if i.cell.name == "flipflop")
    pads = {s.text.string: inst.trans * db.Point(s.text.trans.disp.x, s.text.trans.disp.y)
            for s in inst.cell.shapes(label).each() if s.is_text()}  # the macro's own pin labels
    assert sorted(pads) == sorted(manifest["ports"])
    where = {p.name: db.Point(round(p.x * 1000), round(p.y * 1000)) for p in TEMPLATE.pins}
    where |= {net: db.Point(round((x + STRIPE_WIDTH / 2) * 1000), 100000) for net, x in STRIPE_X.items()}
    expected = {**assignment, "VDPWR": "vdd", "VGND": "vss"}
    nets = _nets(ly, top)
    for pin, port in expected.items():
        net = next(n for n in nets if n.interacting(db.Region(db.Box(where[pin], where[pin]).enlarged(1, 1))).count())
        reached = {p for p, at in pads.items() if not net.interacting(db.Region(db.Box(at, at).enlarged(1, 1))).is_empty()}
        assert reached == {port}, (pin, reached)
    ground = next(n for n in nets if not n.interacting(db.Region(db.Box(where["VGND"], where["VGND"]).enlarged(1, 1))).is_empty())
    for out in ("uo_out[0]", "uio_out[7]", "uio_oe[3]"):  # tied outputs sit on VGND
        assert not ground.interacting(db.Region(db.Box(where[out], where[out]).enlarged(1, 1))).is_empty(), out
    assert ground.interacting(db.Region(db.Box(where["ui_in[0]"], where["ui_in[0]"]).enlarged(1, 1))).is_empty()


def test_tile_drc_clean_under_both_decks(build):
    checks = json.loads((build / "manifest.json").read_text())["checks"]
    assert checks["tile_drc_own"]["clean"] and checks["tile_drc_own"]["rules_checked"] > 50
    assert checks["tile_drc_deck"]["clean"] and checks["tile_drc_deck"]["rules_checked"] > 200


def test_stub_and_info_name_the_top_module(build):
    from verilog_parser.parser import parse_verilog
    import yaml

    module = parse_verilog((build / "tt" / "src" / "project.v").read_text()).modules[0]
    assert module.module_name == "tt_um_flipflop"
    assert {"VGND", "VDPWR", "ua", "ui_in", "uo_out", "uio_oe", "clk", "ena", "rst_n"} <= set(module.port_list)
    info = yaml.safe_load((build / "tt" / "info.yaml").read_text())
    assert info["project"]["top_module"] == "tt_um_flipflop" and info["project"]["tiles"] == "1x2"
    assert info["project"]["analog_pins"] == 5 and info["pinout"]["ua[4]"].startswith("iref")


def test_too_many_analog_pins_are_refused(tmp_path):
    from flows.bmru.random_networks import random_user_case

    network = next(c.network for c in (random_user_case(s) for s in range(40))
                   if c.network.input_size + c.network.output_size + 1 > TEMPLATE.analog_usable)
    path = tmp_path / "wide.yaml"
    path.write_text(network.to_yaml())
    result = run_bmru("compile", path, "-o", tmp_path / "out", "--target", TEMPLATE.name)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--target" in result.stderr and "analog pins" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_macro_too_big_for_the_tile_is_refused_in_one_line(tmp_path):
    """A user-shaped network with few pins whose every floorplan is wider than the tile
    leaves (152.5 µm): one line naming --target, the room and the closest boxes, nothing
    written."""
    from flows.bmru.random_networks import random_user_case

    network = tmp_path / "user.yaml"
    network.write_text(random_user_case(4, max_inputs=3, max_units=2).network.to_yaml())
    out = tmp_path / "out"
    done = run_bmru("compile", network, "--target", "tt-analog-1x2", "--no-check", "-o", out)
    line = done.stderr.strip()
    assert done.returncode == 2 and not out.exists() and "\n" not in line and "Traceback" not in line
    assert "--target" in line and "tt-analog-1x2 leaves 152.5 ×" in line and "no floorplan fits" in line
