"""DRC: every pcell variant and the mirror test structure are clean under the own rules and
both external decks (the MPW precheck's and the 2020 runset), and deliberately broken
layouts are caught by each."""
from __future__ import annotations

import os
import subprocess
import sys

import klayout.db as db
import pytest

from layouts.gallery import VARIANTS, gallery
from pdk import drc, pcells
from pdk.pcells import u

pytestmark = pytest.mark.klayout


def _available(deck: str):
    try:
        drc.klayout_app()
        return drc.deck_path(deck=deck)
    except drc.DeckUnavailable as exc:
        pytest.skip(f"external DRC deck {deck} unavailable: {exc}")


@pytest.fixture(scope="session")
def deck():
    """The MPW precheck decks; skips with the reason when they cannot be had here."""
    return _available("mpw")


@pytest.fixture(scope="session")
def glayout_deck():
    """The 2020 SKY130 runset (its rule names are the own table's)."""
    return _available("glayout")


def _save(ly, cell, path):
    pcells.save_gds(ly, path, cell)
    return path


@pytest.mark.parametrize("device,w,l,nf", VARIANTS)
def test_every_pcell_variant_is_clean_under_own_rules(tmp_path, device, w, l, nf):
    for tap in (True, False):
        ly = pcells.new_layout()
        blk = pcells.fet(ly, device, w, l, nf, tap=tap)
        res = drc.run_own(_save(ly, blk.cell, tmp_path / f"{blk.cell.name}.gds"))
        assert res.total == 0, res.summary()
        assert len(res.counts) > 60  # the rules really ran


def test_via_stacks_and_guard_rings_are_clean(tmp_path):
    ly = pcells.new_layout()
    top = ly.create_cell("misc")
    x = 0
    for lo, hi in (("li1", "met1"), ("met1", "met2"), ("met1", "met3"), ("li1", "met3")):
        s = pcells.min_via_size(lo, hi)
        v = pcells.via_stack(ly, lo, hi, max(s, pcells.pin_pad_size() if hi == "met3" else s), 1.0)
        top.insert(db.CellInstArray(v.cell.cell_index(), db.Trans(x, 0)))
        x += u(3)
    for k, kind in enumerate("pn"):
        r = pcells.guard_ring(ly, db.Box(0, 0, u(4), u(2)), kind, f"ring_{kind}", well=kind == "n")
        top.insert(db.CellInstArray(r.cell.cell_index(), db.Trans(x + k * u(9), 0)))
    res = drc.run_own(_save(ly, top, tmp_path / "misc.gds"))
    assert res.total == 0, res.summary()


def test_all_pcell_variants_and_the_mirror_pass_the_external_decks(tmp_path, deck, glayout_deck):
    from layouts.mirror import pmos_mirror
    for tap in (True, False):
        ly, top = gallery(tap=tap)
        gds = _save(ly, top, tmp_path / f"gallery{tap}.gds")
        res = drc.run_deck(gds, deck="glayout")
        assert res.total == 0, res.summary()
        assert len(res.counts) > 300  # FEOL, BEOL and OFFGRID categories all present
        assert "poly.7" in res.counts and "m1.2" in res.counts and "poly_OFFGRID" in res.counts
        res = drc.run_deck(gds, deck="mpw")
        assert res.total == 0, res.summary()
        assert len(res.counts) > 250  # manufacturing rules, FEOL, BEOL and off-grid all present
        assert {"MR_poly.SP.1", "MR_met1.SP.1", "poly_OFFGRID"} <= set(res.counts)
    m = pmos_mirror()
    m.save(tmp_path / "mirror.gds")
    for res in (drc.run_deck(tmp_path / "mirror.gds"), drc.run_deck(tmp_path / "mirror.gds", deck="glayout"),
                drc.run_own(tmp_path / "mirror.gds")):
        assert res.total == 0, res.summary()


def _broken_spacing(tmp_path):
    """A transistor plus a met1 wire 0.10 µm below its source bar (m1.2 asks 0.14)."""
    ly = pcells.new_layout()
    top = ly.create_cell("broken_spacing")
    blk = pcells.fet(ly, "nfet_01v8", 2.0, 4.0, tap=False)
    top.insert(db.CellInstArray(blk.cell.cell_index(), db.Trans()))
    s = blk.ports["S"].box
    pcells.box(top, "met1", db.Box(s.left, s.bottom - u(0.1) - u(0.5), s.right + u(1), s.bottom - u(0.1)))
    return _save(ly, top, tmp_path / "broken_spacing.gds")


def _broken_poly(tmp_path):
    """Two gate fingers pulled to 0.15 µm apart (poly.2 asks 0.21)."""
    ly = pcells.new_layout()
    top = ly.create_cell("broken_poly")
    blk = pcells.fet(ly, "pfet_01v8", 1.0, 0.5, tap=True)
    top.insert(db.CellInstArray(blk.cell.cell_index(), db.Trans()))
    g = blk.geometry.gate_x[0]
    pcells.box(top, "poly", db.Box(g + u(0.5) + u(0.15), u(-0.13), g + u(0.5) + u(0.3), u(1.13)))
    return _save(ly, top, tmp_path / "broken_poly.gds")


def _broken_capacitor(tmp_path):
    """A MiM capacitor whose capm reaches 0.05 µm from its met3 plate's edge (capm.3 asks
    0.14) and a stray met3 wire 0.8 µm beside the plate (capm.2b asks 1.2)."""
    ly = pcells.new_layout()
    top = ly.create_cell("broken_cap")
    blk = pcells.capacitor(ly, "cap_mim_m3_1", 5.0, 5.0)
    top.insert(db.CellInstArray(blk.cell.cell_index(), db.Trans()))
    pcells.box(top, "capm", db.Box(u(4), u(2), u(5.09), u(3)))
    pcells.box(top, "met3", db.Box(u(5.14 + 0.8), 0, u(5.14 + 1.2), u(5)))
    return _save(ly, top, tmp_path / "broken_cap.gds")


def test_own_engine_and_mpw_deck_catch_capacitor_violations(tmp_path, deck):
    gds = _broken_capacitor(tmp_path)
    res = drc.run_own(gds)
    assert res.violations.get("capm.3", 0) >= 1 and res.violations.get("capm.2b_met3", 0) >= 1, res.summary()
    res = drc.run_deck(gds, deck="mpw")
    assert res.violations.get("MR_capm.ENC.1", 0) >= 1 and res.violations.get("MR_capm.SP.2", 0) >= 1, res.summary()


def test_own_engine_catches_spacing_violations(tmp_path):
    res = drc.run_own(_broken_spacing(tmp_path))
    assert res.violations.get("m1.2", 0) >= 1, res.summary()
    res = drc.run_own(_broken_poly(tmp_path))
    assert res.violations.get("poly.2", 0) >= 1, res.summary()


def test_own_engine_parts_split_the_table_and_each_finds_its_own_violations(tmp_path):
    """compile checks the front and back halves of the rule table in two processes: they
    must cover every checkable rule once and report what one whole run reports."""
    from pdk.rules import RULES
    checkable = {r.name for r in RULES if r.kind != "value"}
    for gds, rule, part in ((_broken_spacing(tmp_path), "m1.2", "back"),
                            (_broken_poly(tmp_path), "poly.2", "front")):
        whole = drc.run_own(gds)
        parts = {p: drc.run_own(gds, part=p) for p in drc.PARTS}
        assert set(parts["front"].counts).isdisjoint(parts["back"].counts)
        assert set(parts["front"].counts) | set(parts["back"].counts) == checkable
        assert drc.DrcResult.joined(list(parts.values())).counts == whole.counts
        assert parts[part].violations.get(rule, 0) >= 1
    with pytest.raises(ValueError, match="unknown DRC part"):
        drc.run_own(gds, part="middle")


def test_decks_catch_spacing_violations(tmp_path, deck, glayout_deck):
    res = drc.run_deck(_broken_spacing(tmp_path), deck="glayout")
    assert res.violations.get("m1.2", 0) >= 1, res.summary()
    res = drc.run_deck(_broken_poly(tmp_path), deck="glayout")
    assert res.violations.get("poly.2", 0) >= 1, res.summary()
    res = drc.run_deck(_broken_spacing(tmp_path), deck="mpw")
    assert res.violations.get("MR_met1.SP.1", 0) >= 1, res.summary()
    res = drc.run_deck(_broken_poly(tmp_path), deck="mpw")
    assert res.violations.get("MR_poly.SP.1", 0) >= 1, res.summary()


def test_mpw_deck_catches_slivers_zero_areas_and_stray_pins(tmp_path, deck):
    """The precheck's own cases: a 0.05 µm met1 sliver and a poly sliver (manufacturing
    rules), a zero-area shape, and a pin shape with no metal under it."""
    ly = pcells.new_layout()
    top = ly.create_cell("slivers")
    pcells.box(top, "met1", db.Box(0, 0, u(0.05), u(2)))
    pcells.box(top, "poly", db.Box(u(3), 0, u(3.05), u(2)))
    res = drc.run_deck(_save(ly, top, tmp_path / "slivers.gds"))
    assert res.violations.get("MR_met1.WID.1", 0) >= 1, res.summary()
    assert any(k.startswith("MR_poly.WID.") for k in res.violations), res.summary()
    ly = pcells.new_layout()
    top = ly.create_cell("strays")
    pcells.box(top, "met3", db.Box(0, 0, u(2), u(2)))
    top.shapes(ly.layer(70, 16)).insert(db.Box(u(5), u(5), u(6), u(6)))  # met3.pin, no met3 under it
    top.shapes(ly.layer(68, 20)).insert(db.Box(u(8), u(8), u(8), u(9)))  # met1 of zero area
    res = drc.run_deck(_save(ly, top, tmp_path / "strays.gds"))
    assert any(k.startswith("pin_label:") and "70/16" in k for k in res.violations), res.summary()
    assert res.violations.get("zeroarea:zero_area_shape", 0) >= 1, res.summary()


def _bmru(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "flows.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env)


def test_cli_drc_exit_codes(tmp_path):
    bad = _bmru("drc", _broken_spacing(tmp_path), "--engine", "own", "--report", tmp_path / "m")
    assert bad.returncode == 1 and "m1.2: 1" in bad.stdout, bad.stdout + bad.stderr
    markers = drc.parse_lyrdb(tmp_path / "m.own.lyrdb")  # the marker database shows it too
    assert markers["m1.2"] == 1 and sum(markers.values()) == 1
    ly = pcells.new_layout()
    blk = pcells.fet(ly, "nfet_01v8", 2.0, 4.0)
    good = _bmru("drc", _save(ly, blk.cell, tmp_path / "ok.gds"), "--engine", "own")
    assert good.returncode == 0 and "0 violation(s)" in good.stdout, good.stderr
    missing = _bmru("drc", tmp_path / "nope.gds")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "no such file" in missing.stderr
    (tmp_path / "junk.gds").write_text("not a gds")
    junk = _bmru("drc", tmp_path / "junk.gds")
    assert junk.returncode == 2 and "Traceback" not in junk.stderr


def test_lyrdb_parser_counts_items_per_category(tmp_path):
    p = tmp_path / "r.lyrdb"
    p.write_text("""<?xml version="1.0" encoding="utf-8"?>
<report-database><categories>
<category><name>m1.2</name></category><category><name>poly.2</name></category>
</categories><items>
<item><category>'m1.2'</category></item><item><category>'m1.2'</category></item>
</items></report-database>""")
    assert drc.parse_lyrdb(p) == {"m1.2": 2, "poly.2": 0}


def test_decks_read_gds_with_context_info(tmp_path, deck, glayout_deck):
    # KLayout 0.28 cannot read 0.30's context info (what gdsfactory writes): run_deck re-saves
    ly = pcells.new_layout()
    blk = pcells.fet(ly, "nfet_01v8", 2.0, 4.0)
    blk.cell.add_meta_info(db.LayoutMetaInfo("kfactory:ports", {"x": 1}, None, True))
    opt = db.SaveLayoutOptions()
    opt.write_context_info = True
    ly.write(str(tmp_path / "ctx.gds"), opt)
    assert b"$$$CONTEXT_INFO$$$" in (tmp_path / "ctx.gds").read_bytes()
    res = drc.run_deck(tmp_path / "ctx.gds", deck="glayout")
    assert res.total == 0 and len(res.counts) > 300, res.summary()
    res = drc.run_deck(tmp_path / "ctx.gds", deck="mpw")
    assert res.total == 0 and len(res.counts) > 250, res.summary()


def test_own_engine_finds_what_the_deck_finds_on_gdsfactory_pcells(tmp_path, glayout_deck):
    """On third-party layouts with real errors (the wheel's own nmos/pmos pcells), every
    rule the deck flags that the project's table also covers is flagged by the own engine."""
    pytest.importorskip("sky130")
    import sky130.pcells as gpc
    from pdk.rules import RULES
    own_names = {r.name for r in RULES}
    for make in (gpc.nmos, gpc.pmos):
        path = tmp_path / f"{make.__name__}.gds"
        make().write_gds(str(path))
        deck_bad = set(drc.run_deck(path, deck="glayout").violations)
        own_bad = set(drc.run_own(path).violations)
        shared = deck_bad & own_names
        assert len(shared) >= 3, deck_bad
        assert shared <= own_bad, (deck_bad, own_bad)


def test_one_pair_enclosure_rule(tmp_path):
    """via.5a: met1 must enclose a via by 0.085 on both edges of one pair of sides."""
    ly = pcells.new_layout()
    top = ly.create_cell("pair")
    v = u(0.15)
    for k, (ex, ey) in enumerate(((0.085, 0.055), (0.055, 0.085), (0.06, 0.06))):
        x = k * u(2)
        pcells.box(top, "via", db.Box(x, 0, x + v, v))
        for lay in ("met1", "met2"):
            pcells.box(top, lay, db.Box(x - u(ex), -u(ey), x + v + u(ex), v + u(ey)))
    res = drc.run_own(_save(ly, top, tmp_path / "pair.gds"))
    assert res.counts["via.5a"] == 1 and res.counts["m2.5"] == 1, res.summary()
    assert res.counts["via.4a"] == 0


def test_cut_size_rule_flags_oblong_and_oversized_cuts(tmp_path):
    """licon.1: a licon is exactly 0.17 × 0.17; an oblong and an oversized cut are caught."""
    ly = pcells.new_layout()
    top = ly.create_cell("cuts")
    for k, (w, h) in enumerate(((0.17, 0.17), (0.17, 0.34), (0.2, 0.2))):
        x = k * u(2)
        pcells.box(top, "licon", db.Box(x, 0, x + u(w), u(h)))
        pcells.box(top, "li1", db.Box(x - u(0.1), -u(0.1), x + u(w) + u(0.1), u(h) + u(0.1)))
    res = drc.run_own(_save(ly, top, tmp_path / "cuts.gds"))
    assert res.counts["licon.1"] == 2, res.summary()
