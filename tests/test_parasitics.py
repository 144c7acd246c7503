"""Wiring capacitance from the drawn GDS with SKY130's own coefficients (open_pdks' magic
tech file): exact on hand-drawn shapes, complete and sensible on a compiled macro."""
from __future__ import annotations

from pathlib import Path

import klayout.db as db
import pytest

from pdk import layers, lvs, parasitics
from pdk.parasitics import AF, Coefficients, net_capacitances
from tests.conftest import run_bmru

COEFF = Coefficients(area={"poly": 100.0, "li1": 40.0, "met1": 25.0, "met2": 17.0, "met3": 12.0},
                     perimeter={"poly": 50.0, "li1": 40.0, "met1": 40.0, "met2": 38.0, "met3": 41.0},
                     overlap={("met2", "met1"): 130.0, ("met1", "li1"): 110.0})
DBU = 0.001


def _box(x0, y0, x1, y1) -> db.Region:
    return db.Region(db.Box(int(x0 / DBU), int(y0 / DBU), int(x1 / DBU), int(y1 / DBU)))


def test_area_and_fringe_of_a_lone_wire_are_exact():
    caps = net_capacitances({"a": {"met1": _box(0, 0, 10, 0.5)}}, DBU, COEFF)
    assert caps["a"] == pytest.approx((10 * 0.5 * 25.0 + 2 * 10.5 * 40.0) * AF, rel=1e-12)


def test_a_crossing_counts_overlap_instead_of_substrate_for_both_nets():
    regions = {"low": {"met1": _box(0, 0, 10, 1)}, "high": {"met2": _box(4, -5, 6, 5)}}
    caps = net_capacitances(regions, DBU, COEFF)
    crossing = 2 * 1  # µm² of met2 over met1
    high = (2 * 10 - crossing) * 17.0 + 2 * 12 * 38.0 + crossing * 130.0
    low = 10 * 25.0 + 2 * 11 * 40.0 + crossing * 130.0
    assert caps["high"] == pytest.approx(high * AF, rel=1e-12)
    assert caps["low"] == pytest.approx(low * AF, rel=1e-12)
    # a net over its own metal (a via landing) is not a coupling
    same = net_capacitances({"n": {"met1": _box(0, 0, 10, 1), "met2": _box(4, -5, 6, 5)}}, DBU, COEFF)
    assert same["n"] == pytest.approx(((20 * 17.0 + 24 * 38.0) + (10 * 25.0 + 22 * 40.0)) * AF, rel=1e-12)


@pytest.mark.klayout
def test_coefficients_are_sky130s():
    c = parasitics.coefficients()
    assert c.area["met1"] == pytest.approx(25.78) and c.perimeter["met1"] == pytest.approx(40.57)
    assert c.overlap[("met2", "met1")] == pytest.approx(133.86)
    assert all(c.area[a] > c.area[b] for a, b in zip(("li1", "met1", "met2"), ("met1", "met2", "met3"))), \
        "higher metals sit further from the substrate"


@pytest.mark.klayout
@pytest.mark.ngspice
def test_every_net_of_a_compiled_macro_gets_its_wiring(tmp_path):
    out = tmp_path / "ff"
    assert run_bmru("compile", Path(__file__).resolve().parents[1] / "examples" / "flipflop.yaml",
                    "--no-check", "-o", out).returncode == 0
    caps = parasitics.extract_capacitances(out / "flipflop.gds", out / "flipflop.spice")
    ports = ("vdd", "vss", "iref", "in0", "in1", "out0", "out1")
    assert set(ports) <= set(caps)
    assert all(1e-15 < c < 5e-12 for c in caps.values()), caps  # fF … pF: wires of µm to mm
    assert max(caps, key=caps.get) in ("vdd", "vss")  # the rails reach every block
    # the nets' shapes are all the drawn wiring: flattening the netlist lost none
    regions, dbu = parasitics.net_regions(lvs.compared(out / "flipflop.gds", out / "flipflop.spice"))
    ly = db.Layout()
    ly.read(str(out / "flipflop.gds"))
    top = ly.top_cells()[0]
    for conductor in ("met1", "met2", "met3"):
        drawn = db.Region(top.begin_shapes_rec(ly.layer(*layers.gds(conductor)))).merged()
        on_nets = db.Region()
        for per_net in regions.values():
            on_nets += per_net[conductor]
        assert on_nets.merged().area() == pytest.approx(drawn.area(), rel=1e-3), conductor


@pytest.mark.klayout
@pytest.mark.ngspice
def test_post_layout_simulation_keeps_the_flipflop(tmp_path):
    """`bmru simulate --post-layout`: the wiring of every internal net is on its node and the
    flip-flop still reproduces its network."""
    import json

    examples = Path(__file__).resolve().parents[1] / "examples"
    result = run_bmru("simulate", examples / "flipflop.yaml", "--inputs", examples / "flipflop_mixed.csv",
                      "--post-layout", "-o", tmp_path / "post", timeout=900)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "post" / "summary.json").read_text())
    assert summary["post_layout"]["nets"] > 20 and summary["post_layout"]["total_F"] > 1e-12
    assert summary["states"]["agreement"] == 1.0
    deck = (tmp_path / "post" / "testbench.spice").read_text()
    assert "Cwire" in deck and "xflipflop.xl1_bmru0.q 0" in deck
