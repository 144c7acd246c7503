"""LVS: the mirror test structure and fingered pcells match their netlists; a cut wire, a
swapped device and resized devices are reported in words."""
from __future__ import annotations

import os
import subprocess
import sys

import klayout.db as db
import pytest

from layouts.mirror import pmos_mirror
from pdk import lvs, pcells
from pdk.devices import instance
from pdk.pcells import u

pytestmark = pytest.mark.klayout


def _mirror_files(tmp_path, **kw):
    m = pmos_mirror(**kw)
    gds, sp = tmp_path / "mirror.gds", tmp_path / "mirror.spice"
    m.save(gds, sp)
    return m, gds, sp


def test_mirror_is_lvs_clean(tmp_path):
    _m, gds, sp = _mirror_files(tmp_path)
    res = lvs.compare(gds, sp)
    assert res.match, res.summary()
    # reference and the 4 outputs merged into one W=8 device; the shorted dummies (merged
    # into one) are left out on both sides
    assert res.layout_devices == res.schematic_devices == 2
    assert res.dummies == 1


def test_fingers_merge_into_the_schematic_device(tmp_path):
    ly = pcells.new_layout()
    top = ly.create_cell("fingers")
    blk = pcells.fet(ly, "nfet_01v8", 1.0, 0.5, nf=3)
    top.insert(db.CellInstArray(blk.cell.cell_index(), db.Trans()))
    for t, net in (("D", "d"), ("G", "g"), ("S", "s"), ("B", "b")):
        pcells.label(top, net, blk.ports[t].center, layer="met1_label")
    pcells.save_gds(ly, tmp_path / "f.gds", top)
    ok = ".subckt fingers d g s b\n" + instance("M", "nfet_01v8", "d", "g", "s", "b", 3, 0.5) + "\n.ends\n"
    (tmp_path / "f.spice").write_text(ok)
    res = lvs.compare(tmp_path / "f.gds", tmp_path / "f.spice")
    assert res.match, res.summary()
    # the same layout against a pfet schematic: the device type is reported
    (tmp_path / "p.spice").write_text(ok.replace("nfet", "pfet"))
    res = lvs.compare(tmp_path / "f.gds", tmp_path / "p.spice")
    assert not res.match
    assert any("nfet_01v8" in p for p in res.problems), res.summary()


def test_extraction_tells_every_device_flavour_apart(tmp_path):
    from layouts.gallery import VARIANTS, gallery
    ly, top = gallery()
    pcells.save_gds(ly, tmp_path / "g.gds", top)
    l2n, _ = lvs.extract(tmp_path / "g.gds")
    nl = l2n.netlist()
    nl.flatten()
    nl.combine_devices()
    got = sorted((d.device_class().name.lower(), round(d.parameter("W"), 3), round(d.parameter("L"), 3))
                 for c in nl.each_circuit() for d in c.each_device())
    want = sorted((f"sky130_fd_pr__{dev}", round(w * nf, 3), l) for dev, w, l, nf in VARIANTS)
    assert got == want


def test_cut_wire_is_an_open_net(tmp_path):
    m, _gds, sp = _mirror_files(tmp_path)
    met3 = pcells.layer_index(m.layout, "met3")
    line = max((s for s in m.top.shapes(met3).each()), key=lambda s: s.box.width())
    insts = sorted(m.top.each_inst(), key=lambda i: i.bbox().left)
    units = [i for i in insts if i.cell.name.startswith("pfet")]
    x_cut = (units[1].bbox().right + units[2].bbox().left) // 2  # between output 1 and 2
    b = line.box
    m.top.shapes(met3).erase(line)
    m.top.shapes(met3).insert(db.Box(b.left, b.bottom, x_cut - u(0.3), b.top))
    m.top.shapes(met3).insert(db.Box(x_cut + u(0.3), b.bottom, b.right, b.top))
    pcells.save_gds(m.layout, tmp_path / "cut.gds", m.top)
    res = lvs.compare(tmp_path / "cut.gds", sp)
    assert not res.match
    text = res.summary()
    assert "net" in text and "out" in text, text
    assert res.layout_devices == 3  # the cut-off output no longer merges with the others


def test_swapped_device_type_is_reported(tmp_path):
    m, _gds, sp = _mirror_files(tmp_path)
    insts = sorted((i for i in m.top.each_inst() if i.cell.name.startswith("pfet")),
                   key=lambda i: i.bbox().left)
    ref = insts[m.order.index("R")]
    pcells.box(m.top, "hvtp", ref.bbox())  # the reference becomes a pfet_01v8_hvt
    pcells.save_gds(m.layout, tmp_path / "swap.gds", m.top)
    res = lvs.compare(tmp_path / "swap.gds", sp)
    assert not res.match
    assert "pfet_01v8_hvt" in res.summary(), res.summary()


def test_resized_devices_are_reported(tmp_path):
    # layout drawn with W=2.5 units against the W=2 schematic
    _m, _g, sp = _mirror_files(tmp_path)
    big = pmos_mirror(w=2.5)
    big.save(tmp_path / "big.gds")
    res = lvs.compare(tmp_path / "big.gds", sp)
    assert not res.match and "W=" in res.summary(), res.summary()
    # one schematic output resized: its ratio no longer matches the drawn 4 units
    text = sp.read_text().replace("XO3 out in vdd vdd sky130_fd_pr__pfet_01v8 W=2",
                                  "XO3 out in vdd vdd sky130_fd_pr__pfet_01v8 W=3")
    assert "W=3" in text
    (tmp_path / "resized.spice").write_text(text)
    res = lvs.compare(tmp_path / "mirror.gds", tmp_path / "resized.spice")
    assert not res.match
    assert any("W=8" in p and "W=9" in p for p in res.problems), res.summary()


def _bmru(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "flows.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env)


def test_cli_lvs_exit_codes(tmp_path):
    _m, gds, sp = _mirror_files(tmp_path)
    ok = _bmru("lvs", gds, sp)
    assert ok.returncode == 0 and "clean" in ok.stdout, ok.stdout + ok.stderr
    bad_sp = tmp_path / "bad.spice"
    bad_sp.write_text(sp.read_text().replace("XR in in vdd vdd", "XR in out vdd vdd"))
    bad = _bmru("lvs", gds, bad_sp)
    assert bad.returncode == 1 and "MISMATCH" in bad.stdout, bad.stdout + bad.stderr
    missing = _bmru("lvs", gds, tmp_path / "nope.spice")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_cli_view_prints_the_klayout_command(tmp_path):
    _m, gds, _sp = _mirror_files(tmp_path)
    out = _bmru("view", gds, "--print")
    assert out.returncode == 0
    assert "-l" in out.stdout and "layers.lyp" in out.stdout and str(gds) in out.stdout
