"""The R²NN transconductor: netlist and ports, the frozen gm curve the mapping reads, the
datasheet against its golden (nominal subset by default, full PVT × mismatch marked slow),
and its layouts DRC/LVS-clean."""
from __future__ import annotations

import functools

import pytest

from cells import transconductor as ota
from cells.netlist import touched_ports
from cells.transconductor import CascodeBias, PmosCascodeBias, Transconductor
from pdk.datasheet import check, load_golden
from pdk.models import Conditions
from tests.test_cells_characterize import _golden_subset, _measured_subset

LAYOUT_CELLS = [Transconductor(4, 0), Transconductor(3, 2, 5), CascodeBias(), PmosCascodeBias(), ota.TinyLine()]


def test_ports_follow_the_tail_lines():
    assert Transconductor(4, 0).ports == ("vdd", "vss", "vcn", "vcp", "bn", "inp", "inn", "out")
    assert Transconductor(0, 1).ports == ("vdd", "vss", "vcn", "vcp", "bn2", "inp", "inn", "out")
    assert Transconductor(3, 2).ports == ("vdd", "vss", "vcn", "vcp", "bn", "bn2", "inp", "inn", "out")
    assert Transconductor(0, 0, 3).ports == ("vdd", "vss", "vcn", "vcp", "bn0", "inp", "inn", "out")
    with pytest.raises(ValueError):
        Transconductor(0, 0)
    for cell in LAYOUT_CELLS:
        assert touched_ports(cell) == cell.ports


def test_netlist_holds_every_unit():
    text = Transconductor(3, 2).subckt()
    assert text.startswith("* cascode OTA") and ".subckt ota_f3_c2 vdd vss vcn vcp bn bn2 inp inn out" in text
    assert sum(line.startswith("X") for line in text.splitlines()) == 8 + 3 + 2
    assert Transconductor(3, 2).tail_units(coarse_ratio=4) == 11
    assert Transconductor(3, 2, 8).tail_units(coarse_ratio=8, tiny_ratio=1 / 16) == 19.5
    bias = CascodeBias().subckt()
    assert "XMTDIO15 bn0 bn0 vss vss" in ota.TinyLine().subckt()
    assert "XMDIO vcn vcn rtail vss sky130_fd_pr__nfet_01v8 W=0.42 L=8" in bias
    # the replica device keeps one unit: feed + 1 tail units under feed PMOS units
    assert "XMSRC7 vcn bp vdd" in bias and "XMRT8 rtail bn" in bias and "XMRT9" not in bias
    # the PMOS cascodes sit on vcp, a long PMOS diode on coarse sinks, not on vref
    assert "XMPB out vcp pb vdd" in text and " vref " not in text
    pbias = PmosCascodeBias().subckt()
    assert "XMDIOP vcp vcp vdd vdd sky130_fd_pr__pfet_01v8 W=0.42 L=16" in pbias
    assert "XMPSNK15 vcp bn2 vss vss" in pbias and "XMPSNK16" not in pbias


def test_frozen_curve_interpolates_and_refuses_outside():
    lo, hi = ota.usable_range()
    # one tiny unit (1/16 of the 50 pA fine unit, line ratio ≈ 1.03) up to the largest
    # measured tail, 256 fine units
    assert lo == pytest.approx(ota.UNIT_CURRENT / 16 * ota.line_ratio("tiny"), rel=1e-3) and 5e-9 < hi < 12.81e-9
    gm = ota.transconductance(1e-9)
    assert 12.0 < gm / 1e-9 < 15.0  # 1/(2·n·U_T) with n ≈ 1.4
    assert 500 < gm / ota.output_conductance(1e-9) < 10000
    # between grid points the interpolation is monotonic in the current
    assert ota.transconductance(0.1e-9) < ota.transconductance(0.11e-9) < ota.transconductance(0.12e-9)
    assert ota.transconductance(1e-9, Conditions()) == gm
    for bad in (1e-12, 20e-9):
        with pytest.raises(ValueError, match="usable range"):
            ota.transconductance(bad)
    with pytest.raises(ValueError, match="only the tt 27"):
        ota.output_conductance(1e-9, Conditions("ss"))


def test_what_the_mapping_reads_is_physical():
    """Line ratios near 1, gate capacitances of a 1/2 device (a few fF), a delay that
    falls with the tail (≈ 1/I: the internal poles' gm), inn a little weaker than inp."""
    assert 0.98 < ota.line_ratio("coarse") < 1.02 and 0.98 < ota.line_ratio("tiny") < 1.06
    for pin in ("inp", "inn"):
        assert 1e-15 < ota.pin_capacitance(pin, 1e-9) < 20e-15
    assert ota.pin_capacitance("out", 1e-9) < 5e-15
    delays = [ota.delay(t) for t in (5e-12, 5e-11, 5e-10, 5e-9)]
    assert all(a > 3 * b for a, b in zip(delays, delays[1:])) and delays[2] < 2e-6
    assert all(0.998 < ota.inn_ratio(t) < 1.0 for t in (5e-11, 1e-9, 5e-9))
    # a saturated input pair: gm does not move with where the lattice's nodes rest (the
    # unsaturated one fell 0.29 %/mV at 2 nA and made every spring 0.2 % weak in situ)
    slopes = load_golden(ota.GOLDEN)["specs"]["gm_common_mode"]["bands"]
    assert len(slopes) == len(ota.PIN_TAILS) and all(abs(b["typ"]) < 0.03 for b in slopes.values())


@pytest.mark.ngspice
def test_largest_tail_works_cold_and_hot_at_low_supply():
    """The largest tail a lattice plans keeps its gm and its cascodes' gain at the grid's
    hardest points: cold (the load's V_SG is largest; cascoded on vref it had no gm at all
    above 1 nA at −40 °C 1.62 V) and hot at low supply (vcp lowest, the output cascode
    closest to triode). Its gm/I_tail is within 25 % of a 50 pA tail's (the input pair
    nears moderate inversion at 6 nA a side: 0.79 of it at ss −40 °C)."""
    from pdk.ngspice import Job, simulate_many

    tails = (50e-12, ota.usable_range()[1])
    corners = [Conditions("ss", temp=-40.0, vdd=1.62), Conditions("fs", temp=85.0, vdd=1.62)]
    jobs = [Job(f"{kind}{i}_{k}", ota.bench(*ota._lattice_ota(tail), c, sweep))
            for i, c in enumerate(corners) for k, tail in enumerate(tails)
            for kind, sweep in (("gm", ota.GM_SWEEP), ("gout", ota.GOUT_SWEEP))]
    res = simulate_many(jobs, workers=2)
    for i, c in enumerate(corners):
        small, large = (ota.gm_at_zero(res[f"gm{i}_{k}"][0]) / tail for k, tail in enumerate(tails))
        assert large > 0.75 * small, (c.label(), small, large)
        for k, tail in enumerate(tails):
            gm = ota.gm_at_zero(res[f"gm{i}_{k}"][0])
            assert gm / ota.gout_at(res[f"gout{i}_{k}"][0], ota.VREF) > 1000, (c.label(), tail)


def test_headroom_criterion():
    assert ota.headroom_ok(13.4, 27.0) and not ota.headroom_ok(0.11, 27.0)
    assert ota.headroom_ok(10.8, 85.0) and not ota.headroom_ok(13.0, -40.0)


@functools.lru_cache(maxsize=None)
def _fast():
    return _measured_subset(ota.characterize(workers=2, conditions=[Conditions()], samples=2))


@pytest.mark.ngspice
def test_nominal_subset_inside_golden():
    sheet = _fast()
    violations = check(sheet, _golden_subset(load_golden(ota.GOLDEN), sheet))
    assert not violations, "\n".join(map(str, violations))
    v = {name: vals for name, vals in sheet.values.items()}
    assert 0.5 < v["input_noise_rms"]["tt 27C 1.8V"] * 1e-3 / 0.133 < 2  # ≈ 133 µV: shot noise of 1 nA
    assert 10 < v["linear_range"]["tt 27C 1.8V"] < 30


@pytest.mark.ngspice
@pytest.mark.slow
def test_full_characterization_inside_golden():
    sheet = ota.characterize(workers=2)
    violations = check(sheet, load_golden(ota.GOLDEN))
    assert not violations, "\n".join(map(str, violations[:20]))


@pytest.mark.klayout
@pytest.mark.parametrize("cell", LAYOUT_CELLS, ids=lambda c: c.name)
def test_layout_is_drc_and_lvs_clean(cell, tmp_path):
    """Own deck and, where the application and the public deck are there, the external one."""
    from layouts.cell_layout import draw_cell
    from pdk import drc, lvs

    gds, spice = tmp_path / f"{cell.name}.gds", tmp_path / f"{cell.name}.spice"
    draw_cell(cell.name, cell.ports, cell.devices()).save(gds)
    spice.write_text(cell.subckt())
    result = drc.run_own(gds)
    assert result.total == 0, result.summary()
    compared = lvs.compare(gds, spice)
    assert compared.match, compared.summary()
    assert compared.layout_devices == compared.schematic_devices >= 2  # parallel units merge in LVS
    try:
        drc.klayout_app()
        drc.deck_path()
    except drc.DeckUnavailable:
        return  # the own deck above is the one that always runs
    external = drc.run_deck(gds)
    assert external.total == 0, external.summary()


def test_golden_covers_every_pvt_point_and_seed():
    """Every PVT point has its headroom row, every mismatch seed its offset, every band is
    ordered; the cells working at 1 nA have every other spec."""
    from cells.netlist import mismatch_conditions, pvt_conditions

    specs = load_golden(ota.GOLDEN)["specs"]
    labels = [c.label() for c in pvt_conditions()]
    assert set(specs["max_tail"]["bands"]) == set(labels)
    working = [label for label in labels if specs["max_tail"]["bands"][label]["typ"] >= 1.0]
    for name in ("gm_gout_min", "linear_range", "input_noise_rms", "swing_high", "gm_bandwidth"):
        assert set(specs[name]["bands"]) == set(working), name
    for c in mismatch_conditions(ota.MISMATCH_SAMPLES):
        assert c.label() in specs["input_offset"]["bands"]
    for spec in specs.values():
        for band in spec["bands"].values():
            assert band["min"] <= band["typ"] <= band["max"]
