"""Cell parameter objects: device lists, netlists generated from them, goldens complete."""
from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from cells import bias, bmru, corrections, dense, mirror
from cells.bias import BiasTree
from cells.bmru import BmruCell
from cells.dense import DenseBlock
from cells.diode import CASCODE_UNITS
from cells.mirror import Mirror
from cells.netlist import mismatch_conditions, pvt_conditions
from pdk.devices import MODELS
from pdk.unit import NMOS, PMOS

CELLS = [BmruCell(), BmruCell(input_units=4, compare_units=2, lo_units=3, width_units=2, gain_units=8,
                              input_diode=False),
         BiasTree(outputs=(("p", 3), ("n", 2))), Mirror("n", 2, (1, 3)), Mirror("p", 1, (8,)),
         DenseBlock(), DenseBlock(weights=((1, 0, -3),), bias=(-2,), relu=False, input_diodes=False)]


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: type(c).__name__)
def test_netlist_is_generated_from_devices(cell):
    text = cell.subckt()
    lines = [l for l in text.splitlines() if l.startswith("X")]
    assert lines == [d.line() for d in cell.devices()]
    header = next(l for l in text.splitlines() if l.startswith(".subckt"))
    assert header.split()[2:] == list(cell.ports)
    assert text.rstrip().endswith(".ends " + header.split()[1])
    nets = {n for d in cell.devices() for n in (d.d, d.g, d.s, d.b)}
    # uniform ports (a mirror keeps vdd, a block without biases keeps bp/bn): outputs must connect
    assert {p for p in cell.ports if p.startswith(("out", "o"))} <= nets
    names = [d.name for d in cell.devices()]
    assert len(names) == len(set(names))
    for d in cell.devices():
        assert d.device in MODELS and "mult" not in d.line()


def test_ratios_use_identical_units_only():
    """Every matched group is one geometry: ratios by count, never by width."""
    for cell in CELLS:
        groups: dict[str, set] = {}
        for d in cell.devices():
            if d.group not in ("switch", "logic"):
                groups.setdefault(d.group, set()).add((d.device, d.w, d.l))
        assert all(len(g) == 1 for g in groups.values()), groups


def test_bmru_ideal_levels_and_counts():
    cell = BmruCell()
    unit = bmru.IREF * bmru.TREE.pmos_unit_ratio()
    assert unit == pytest.approx(0.25e-9)
    assert cell.beta_hi(unit) == pytest.approx(1e-9)
    assert cell.beta_lo(unit) == pytest.approx(0.5e-9)
    assert cell.alpha(unit) == pytest.approx(1e-9)
    kinds = [d.name.rstrip("0123456789") for d in cell.devices()]
    assert kinds.count("MPOUT") == 4 and kinds.count("MNIN") == 2
    assert len(BmruCell(input_diode=False).devices()) == len(cell.devices()) - 2
    with pytest.raises(ValueError):
        BmruCell(lo_units=0)


def test_bmru_from_levels_rounds_to_units():
    cell = BmruCell.from_levels(alpha=1.5, beta_lo=0.5, beta_hi=1.25, unit=0.25)
    assert (cell.gain_units, cell.lo_units, cell.width_units) == (6, 1, 2)
    assert cell.beta_hi(0.25) == pytest.approx(1.5) and cell.beta_lo(0.25) == pytest.approx(0.5)
    fine = BmruCell.from_levels(alpha=1.0, beta_lo=0.5, beta_hi=1.25, unit=0.125)
    assert fine.beta_hi(0.125) == pytest.approx(1.25) and fine.beta_lo(0.125) == pytest.approx(0.5)


def test_bias_tree_unit_currents():
    tree = BiasTree(diode_units=4, feed_units=2, pdiode_units=2, outputs=(("p", 4), ("n", 8)))
    assert tree.pmos_unit_ratio() == pytest.approx(0.25)
    assert tree.output_ratio(0) == pytest.approx(1.0) and tree.output_ratio(1) == pytest.approx(2.0)
    assert tree.static_current() == pytest.approx(1.5)
    with pytest.raises(ValueError):
        BiasTree(outputs=(("x", 1),))


def test_dense_structure_and_ideal():
    block = DenseBlock(weights=((4, -2), (0, 3)), bias=(1, -1))
    assert block.converted_inputs() == [0, 1]
    devs = block.devices()
    sources = [d for d in devs if d.name.startswith("MPW0_0_")]
    assert len(sources) == 4 and all(d.g == "p0" and d.d == "out0" for d in sources)
    negative = [d for d in devs if d.name.startswith("MPN0_1_")]  # −2 sourced from p1 into neg0
    assert len(negative) == 2 and all(d.g == "p1" and d.d == "neg0" for d in negative)
    # neg0's 1:1 copy sinks from out0: units on the gate line negg0 under cascodes on neg0
    sink = [d for d in devs if d.name.startswith("MNNS0_") and not d.name.startswith("MNNS0_C")]
    cascode = [d for d in devs if d.name.startswith("MNNS0_C")]
    assert sink and all(d.g == "negg0" and d.d == "nsk0" for d in sink)
    assert len(cascode) == CASCODE_UNITS and all(d.g == "neg0" and d.s == "nsk0" and d.d == "out0" for d in cascode)
    # every conversion copy runs through the stack of its input's diode: bottom on ing<j>, cascode on in<j>
    assert all(d.g == "ing0" for d in devs if d.name.startswith("MNCV0_") and "_C" not in d.name)
    assert all(d.g == "in0" and d.d == "p0" for d in devs if d.name.startswith("MNCV0_C"))
    assert not any(d.d == "neg1" for d in devs)  # out1 has no negative weight
    y = block.ideal(np.array([[1.0, 1.0], [0.0, 2.0]]), bias_unit=0.25)
    assert y == pytest.approx(np.array([[0.75, 0.5], [0.0, 1.25]]))
    with pytest.raises(ValueError):
        DenseBlock(weights=((1, 2), (3,)), bias=(0, 0))


def test_unit_choice_is_pdk_fact():
    assert (PMOS.device, PMOS.w, PMOS.l) == ("pfet_01v8", 4.0, 16.0)
    assert (NMOS.device, NMOS.w, NMOS.l) == ("nfet_01v8", 4.0, 8.0)


@pytest.mark.parametrize("module", [bmru, mirror, bias, dense], ids=lambda m: m.__name__)
def test_golden_covers_every_characterized_condition(module):
    """The golden has a band for every PVT point and mismatch seed the command runs."""
    golden = yaml.safe_load(module.GOLDEN.read_text())
    specs = golden["specs"]
    labels = [c.label() for c in pvt_conditions()]
    mm = [c.label() for c in mismatch_conditions(module.MISMATCH_SAMPLES)]
    for name in ("ratio_error", "switch_up_error", "output_error"):
        if name in specs:
            for label in labels:
                assert any(cond.endswith(label) for cond in specs[name]["bands"]), (name, label)
    mm_spec = "mismatch_error" if "mismatch_error" in specs else "switch_up_error"
    for label in mm:
        assert any(cond.endswith(label) for cond in specs[mm_spec]["bands"]), (mm_spec, label)
    for spec in specs.values():
        for band in spec["bands"].values():
            assert band["min"] <= band["typ"] <= band["max"]


def test_corrections_apply():
    corr = {"bmru_switch_up": 0.01, "bmru_switch_down": -0.02, "bmru_alpha": 0.005, "bmru_low_output": 2e-12,
            "weight_pos": 0.004, "weight_neg": 0.0, "bias_pos": 0.005, "bias_neg": -0.001}
    a, lo, hi, low = corrections.apply_bmru([1.0, 2.0], [0.5, 0.5], [1.0, 1.0], corr, unit_current=1e-9)
    assert a == pytest.approx([1.005, 2.01]) and lo == pytest.approx([0.49, 0.49])
    assert hi == pytest.approx([1.01, 1.01]) and low == pytest.approx([0.002, 0.002])
    w, b = corrections.apply_dense([[1.0, -1.0]], [0.5, -0.5], corr)
    assert w[0] == pytest.approx([1.004, -1.0]) and b == pytest.approx([0.5025, -0.4995])


def test_corrections_table_matches_goldens():
    """The shipped table is what `fit()` gives from the frozen goldens, at every PVT point."""
    table = corrections.load()
    assert table == corrections.fit()
    for c in pvt_conditions():
        corr = corrections.at(table, c.corner, c.temp, c.vdd)
        for key in ("bmru_switch_up", "bmru_switch_down", "bmru_alpha", "bmru_low_output", "weight_pos", "bias_pos"):
            assert key in corr and abs(corr[key]) < 0.05, (c.label(), key, corr.get(key))
    with pytest.raises(KeyError):
        corrections.at(table, "tt", 50.0, 1.8)
