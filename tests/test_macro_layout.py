"""Macro assembly: blocks placed and routed, pins labelled, areas reported, DRC- and
LVS-clean; a miswired macro netlist is caught."""
from __future__ import annotations

import klayout.db as db
import pytest

from layouts.cell_layout import draw_cell
from layouts.macro import MAX_ASPECT, Instance, assemble, plan
from pdk import drc, layers, lvs, pcells
from tests.test_cell_layouts import bias_like, hysteretic_like

pytestmark = pytest.mark.klayout

PORTS = ("vdd", "vss", "iref", "in0", "in1", "out0", "out1")


def build():
    ly = pcells.new_layout()
    bp, bd = bias_like()
    hp, hd = hysteretic_like()
    bias = draw_cell("bias_like", bp, bd, ly=ly)
    hyst = draw_cell("hyst_like", hp, hd, ly=ly)
    common = {"vdd": "vdd", "vss": "vss", "bt": "t0", "bw": "w0", "bg": "bp"}
    insts = [Instance("bias", bias, {"vdd": "vdd", "vss": "vss", "iref": "iref", "bn": "bn",
                                     "bp": "bp", "o0": "t0", "o1": "w0"}),
             Instance("h0", hyst, dict(common, **{"in": "in0", "out": "out0"})),
             Instance("h1", hyst, dict(common, **{"in": "in1", "out": "out1"}))]
    return assemble("demo_net", PORTS, insts, ly)


@pytest.fixture(scope="module")
def macro(tmp_path_factory):
    d = tmp_path_factory.mktemp("macro")
    m = build()
    m.save(d / "demo_net.gds", d / "demo_net.spice")
    return m, d / "demo_net.gds", d / "demo_net.spice"


def test_macro_is_drc_and_lvs_clean(macro):
    _m, gds, sp = macro
    res = drc.run_own(gds)
    assert res.total == 0, res.summary()
    cmp = lvs.compare(gds, sp)
    assert cmp.match, cmp.summary()
    assert cmp.layout_devices == cmp.schematic_devices > 20


def test_macro_passes_the_external_deck(macro):
    try:
        drc.klayout_app()
        drc.deck_path()
    except drc.DeckUnavailable as exc:
        pytest.skip(f"external DRC deck unavailable: {exc}")
    res = drc.run_deck(macro[1])
    assert res.total == 0, res.summary()


def test_top_cell_pins_and_areas(macro):
    m, gds, _sp = macro
    ly, top = drc.load(gds)
    assert top.name == "demo_net"
    a, b = layers.gds(layers.PIN_LABEL_LAYER)
    idx = ly.find_layer(a, b)
    labels = {s.text.string for s in top.shapes(idx).each() if s.is_text()}
    assert labels == set(PORTS)
    assert set(m.areas) == {"bias_like", "hyst_like", "demo_net"}
    assert m.areas["demo_net"] > m.areas["bias_like"] + 2 * m.areas["hyst_like"]


def test_macro_gds_is_byte_identical(macro, tmp_path):
    build().save(tmp_path / "again.gds")
    assert (tmp_path / "again.gds").read_bytes() == macro[1].read_bytes()


def test_miswired_macro_netlist_is_caught(macro, tmp_path):
    _m, gds, sp = macro
    text = sp.read_text()
    bad = text.replace("Xh1 vdd vss in1 out1", "Xh1 vdd vss out1 in1")
    assert bad != text
    (tmp_path / "bad.spice").write_text(bad)
    res = lvs.compare(gds, tmp_path / "bad.spice")
    assert not res.match and res.problems


def test_unconnected_pin_is_refused():
    ly = pcells.new_layout()
    bp, bd = bias_like()
    bias = draw_cell("bias_like", bp, bd, ly=ly)
    with pytest.raises(ValueError, match="not connected"):
        assemble("m", ("vdd",), [Instance("b", bias, {"vdd": "vdd"})], ly)


def test_many_blocks_fill_paired_columns_within_the_aspect(tmp_path):
    """Forty-one cells (one column would be 1 : 10) fold into several column pairs: the
    macro stays within 2 : 1, blocks right of a channel are mirrored, nets that span two
    channels are joined by trunks, and the result is DRC- and LVS-clean."""
    ly = pcells.new_layout()
    bp, bd = bias_like()
    hp, hd = hysteretic_like()
    bias = draw_cell("bias_like", bp, bd, ly=ly)
    hyst = draw_cell("hyst_like", hp, hd, ly=ly)
    n = 40
    insts = [Instance("bias", bias, {"vdd": "vdd", "vss": "vss", "iref": "iref", "bn": "bn",
                                     "bp": "bp", "o0": "t0", "o1": "w0"})]
    insts += [Instance(f"h{i}", hyst, {"vdd": "vdd", "vss": "vss", "bt": "t0", "bw": "w0", "bg": "bp",
                                       "in": f"in{i}", "out": f"out{i}"}) for i in range(n)]
    ports = ("vdd", "vss", "iref", *(f"in{i}" for i in range(n)), *(f"out{i}" for i in range(n)))
    columns = plan(insts).columns
    assert len(columns) >= 3  # two channels at least, so trunks join them
    m = assemble("many", ports, insts, ly)
    box = m.top.dbbox()
    assert max(box.width() / box.height(), box.height() / box.width()) <= MAX_ASPECT
    stacked = sum(i.cell.top.dbbox().height() for i in insts)
    assert box.height() < stacked / 2  # not one column
    mirrored = [inst for inst in m.top.each_inst() if inst.trans.is_mirror()]
    assert mirrored and all(inst.cell.name == "hyst_like" for inst in mirrored)
    m.save(tmp_path / "many.gds", tmp_path / "many.spice")
    res = drc.run_own(tmp_path / "many.gds")
    assert res.total == 0, res.summary()
    cmp = lvs.compare(tmp_path / "many.gds", tmp_path / "many.spice")
    assert cmp.match, cmp.summary()
