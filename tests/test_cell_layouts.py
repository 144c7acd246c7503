"""Cell layouts drawn from device lists: DRC-clean under both engines, LVS-clean against
the netlist generated from the same list, deterministic, with areas reported."""
from __future__ import annotations

from collections import namedtuple

import pytest

from layouts.cell_layout import draw_cell, interdigitate
from pdk import drc, lvs

pytestmark = pytest.mark.klayout

Dev = namedtuple("Dev", "name device d g s b w l group")


def _units(prefix, device, n, d, g, s, b, w, l, group):
    return [Dev(f"{prefix}{i}", device, d, g, s, b, w, l, group) for i in range(n)]


def bias_like():
    """A bias tree's shape: cascoded NMOS diode, feed into a PMOS diode, PMOS/NMOS outputs."""
    devs = _units("MNC", "nfet_01v8", 2, "iref", "iref", "bn", "vss", 4, 8, "nc")
    devs += _units("MNR", "nfet_01v8", 2, "bn", "bn", "vss", "vss", 4, 8, "nr")
    devs += _units("MNF", "nfet_01v8", 1, "bp", "bn", "vss", "vss", 4, 8, "nr")
    devs += _units("MPD", "pfet_01v8", 2, "bp", "bp", "vdd", "vdd", 4, 16, "pd")
    devs += _units("MPO", "pfet_01v8", 3, "o0", "bp", "vdd", "vdd", 4, 16, "pd")
    devs += _units("MNO", "nfet_01v8", 1, "o1", "bn", "vss", "vss", 4, 8, "nr")
    return ("vdd", "vss", "iref", "bn", "bp", "o0", "o1"), devs


def hysteretic_like():
    """A 13-transistor hysteretic cell's shape: mirrors, an inverter, switches (W 0.42 L 1)
    and hvt pfets, so every device flavour and size mix meets the router."""
    devs = [Dev("MN1", "nfet_01v8", "in", "in", "vss", "vss", 4, 8, "nin"),
            Dev("MN2", "nfet_01v8", "v0", "in", "vss", "vss", 4, 8, "nin"),
            Dev("MN3", "nfet_01v8", "bw", "bw", "vss", "vss", 4, 8, "nw"),
            Dev("MN4", "nfet_01v8", "x1", "bw", "vss", "vss", 4, 8, "nw"),
            Dev("MN5", "nfet_01v8", "v0", "xb", "x1", "vss", 0.42, 1, ""),
            Dev("MN6", "nfet_01v8", "xb", "v0", "vss", "vss", 0.42, 1, ""),
            Dev("MP1", "pfet_01v8", "bt", "bt", "vdd", "vdd", 4, 16, "pt"),
            Dev("MP2", "pfet_01v8", "v0", "bt", "vdd", "vdd", 4, 16, "pt"),
            Dev("MP3", "pfet_01v8", "xb", "bt", "vdd", "vdd", 4, 16, "pt"),
            Dev("MP4", "pfet_01v8_hvt", "bg", "bg", "vdd", "vdd", 4, 8, "pg"),
            Dev("MP5", "pfet_01v8_hvt", "x2", "sw", "vdd", "vdd", 4, 8, "pg"),
            Dev("MP6", "pfet_01v8", "out", "bg", "x2", "vdd", 0.42, 1, ""),
            Dev("MP7", "pfet_01v8", "sw", "xb", "vdd", "vdd", 0.42, 1, "")]
    return ("vdd", "vss", "in", "out", "bt", "bw", "bg"), devs


CASES = {"bias_like": bias_like, "hysteretic_like": hysteretic_like,
         "pmos_only": lambda: (("vdd", "a", "b"), _units("MP", "pfet_01v8", 4, "b", "a", "vdd", "vdd", 2, 4, "p")
                               + _units("MQ", "pfet_01v8", 1, "a", "a", "vdd", "vdd", 2, 4, "q"))}


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    out = {}
    d = tmp_path_factory.mktemp("cells")
    for name, make in CASES.items():
        ports, devs = make()
        cl = draw_cell(name, ports, devs)
        gds, sp = d / f"{name}.gds", d / f"{name}.spice"
        cl.save(gds, sp)
        out[name] = (cl, gds, sp)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_cell_is_drc_clean_own_and_lvs_clean(drawn, name):
    cl, gds, sp = drawn[name]
    res = drc.run_own(gds)
    assert res.total == 0, res.summary()
    cmp = lvs.compare(gds, sp)
    assert cmp.match, cmp.summary()
    assert cmp.schematic_devices >= 2
    assert cl.area_um2 > 0


def test_cells_pass_the_external_deck(drawn):
    try:
        drc.klayout_app()
        drc.deck_path()
    except drc.DeckUnavailable as exc:
        pytest.skip(f"external DRC deck unavailable: {exc}")
    for name, (_cl, gds, _sp) in drawn.items():
        res = drc.run_deck(gds)
        assert res.total == 0, f"{name}: {res.summary()}"


def test_cell_layout_is_byte_identical(drawn, tmp_path):
    ports, devs = bias_like()
    p = tmp_path / "again.gds"
    draw_cell("bias_like", ports, devs).save(p)
    assert p.read_bytes() == drawn["bias_like"][1].read_bytes()


def test_wrong_netlist_is_caught(drawn, tmp_path):
    _cl, gds, sp = drawn["hysteretic_like"]
    text = sp.read_text()
    # the inverter's input and output swapped in the schematic
    swapped = text.replace("XMN6 xb v0 vss vss", "XMN6 v0 xb vss vss")
    assert swapped != text
    (tmp_path / "bad.spice").write_text(swapped)
    res = lvs.compare(gds, tmp_path / "bad.spice")
    assert not res.match and res.problems


def test_matched_sets_are_spread_and_ends_are_dummies(drawn):
    cl = drawn["bias_like"][0]
    for row in cl.order.values():
        assert row[0] == row[-1] == "DUMMY"
    ports, devs = CASES["pmos_only"]()
    seq = [d.name for d in interdigitate([d for d in devs])]
    assert seq.index("MQ0") in (1, 2, 3)  # the diode sits inside, not at an edge
    p_row = drawn["pmos_only"][0].order["p0"]
    assert p_row.count("DUMMY") == 2 and len(p_row) == 7


def test_long_rows_fold_and_stay_clean(tmp_path):
    ports, devs = bias_like()
    cl = draw_cell("folded", ports, devs, max_units=3)
    assert sorted(cl.order) == ["n0", "n1", "p0", "p1"]  # 6 nfets, 5 pfets
    for row in cl.order.values():
        assert row[0] == row[-1] == "DUMMY" and 4 <= len(row) <= 5
    cl.save(tmp_path / "f.gds", tmp_path / "f.spice")
    assert drc.run_own(tmp_path / "f.gds").total == 0
    res = lvs.compare(tmp_path / "f.gds", tmp_path / "f.spice")
    assert res.match, res.summary()


def test_unroutable_lists_are_refused():
    with pytest.raises(ValueError, match="body nets"):
        draw_cell("x", ("a",), [Dev("M1", "nfet_01v8", "a", "a", "a", "vss", 1, 1, ""),
                                Dev("M2", "nfet_01v8", "a", "a", "a", "a", 1, 1, "")])
    with pytest.raises(ValueError, match="touch no device"):
        draw_cell("y", ("zz",), [Dev("M1", "nfet_01v8", "a", "a", "a", "vss", 1, 1, "")])


def test_project_cells_when_present(tmp_path):
    """The transistor cells of `cells/` (when they are there) lay out clean."""
    bias = pytest.importorskip("cells.bias")
    bmru = pytest.importorskip("cells.bmru")
    try:
        objs = [bias.BiasTree(), bmru.BmruCell()]
    except (AttributeError, TypeError) as exc:
        pytest.skip(f"cells have no default parameter objects yet: {exc}")
    for obj in objs:
        if not hasattr(obj, "devices") or not hasattr(obj, "subckt"):
            pytest.skip("cells do not expose devices()/subckt() yet")
        name = obj.subckt().split(".subckt", 1)[1].split()[0]
        cl = draw_cell(name, obj.ports, obj.devices())
        gds, sp = tmp_path / f"{name}.gds", tmp_path / f"{name}.spice"
        cl.save(gds)
        sp.write_text(obj.subckt())
        assert drc.run_own(gds).total == 0
        res = lvs.compare(gds, sp)
        assert res.match, res.summary()


def test_short_between_nets_is_caught(tmp_path):
    import klayout.db as db
    from pdk import pcells
    ports, devs = bias_like()
    cl = draw_cell("shorted", ports, devs)
    a, b = cl.pins["bn"], cl.pins["bp"]  # two tracks: bridge them on met3
    x = min(a.right, b.right) - 200
    pcells.box(cl.top, "met3", db.Box(x - 200, min(a.bottom, b.bottom), x, max(a.top, b.top)))
    cl.save(tmp_path / "s.gds", tmp_path / "s.spice")
    res = lvs.compare(tmp_path / "s.gds", tmp_path / "s.spice")
    assert not res.match
    assert "short: one layout net carries the labels 'bn', 'bp'" in res.problems, res.summary()
