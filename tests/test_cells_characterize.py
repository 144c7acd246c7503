"""Cell characterization against the frozen goldens: a fast subset (nominal tt point, two
mismatch seeds) by default; the full PVT × mismatch sweep is marked slow (it is also what
`bmru characterize` runs)."""
from __future__ import annotations

import copy
import functools
import re

import pytest

from cells import bias, bmru, dense, mirror
from pdk.datasheet import check, load_golden
from pdk.models import Conditions

MODULES = [bmru, mirror, bias, dense]
FAST = [Conditions("tt", 27.0, 1.8)]
_STATS = re.compile(r" n=\d+$")


def _measured_subset(sheet):
    """Drop mismatch statistics of a small sample (their goldens are over the full set)."""
    for name in list(sheet.values):
        sheet.values[name] = {c: v for c, v in sheet.values[name].items() if not _STATS.search(c)}
        if not sheet.values[name]:
            del sheet.values[name]
    return sheet


def _golden_subset(golden, sheet):
    out = copy.deepcopy(golden)
    for name, spec in out["specs"].items():
        measured = sheet.values.get(name, {})
        spec["bands"] = {c: b for c, b in spec["bands"].items() if c in measured}
    return out


@functools.lru_cache(maxsize=None)
def _fast(module):
    """Nominal tt point and two mismatch seeds, run once per module for all tests."""
    return _measured_subset(module.characterize(workers=2, conditions=FAST, samples=2))


@pytest.fixture(params=MODULES, ids=lambda m: m.__name__.split(".")[-1])
def fast_sheet(request):
    return request.param, _fast(request.param)


@pytest.mark.ngspice
def test_fast_subset_inside_goldens(fast_sheet):
    module, sheet = fast_sheet
    golden = load_golden(module.GOLDEN)
    violations = check(sheet, _golden_subset(golden, sheet))
    assert not violations, "\n".join(map(str, violations))
    assert sum(len(v) for v in sheet.values.values()) > 10


@pytest.mark.ngspice
def test_perturbed_value_fails(fast_sheet):
    module, sheet = fast_sheet
    golden = _golden_subset(load_golden(module.GOLDEN), sheet)
    name = next(iter(sheet.values))
    cond = next(iter(sheet.values[name]))
    band = golden["specs"][name]["bands"][cond]
    sheet = copy.deepcopy(sheet)  # the cached sheet stays intact
    sheet.values[name][cond] = band["max"] + (band["max"] - band["min"]) + 1.0
    violations = check(sheet, golden)
    assert len(violations) == 1 and violations[0].spec == name and violations[0].condition == cond


@pytest.mark.ngspice
def test_bmru_targets_at_nominal():
    """Issue targets at 27 °C 1.8 V tt (measured, not copied from the golden)."""
    sheet = _fast(bmru)
    v = {name: vals["tt 27C 1.8V"] for name, vals in sheet.values.items() if "tt 27C 1.8V" in vals}
    assert abs(v["switch_up_error"]) <= 1.0 and abs(v["switch_down_error"]) <= 1.0
    assert abs(v["alpha_error"]) <= 1.0 and abs(v["alpha_vout_error"]) <= 1.0
    assert v["power_high"] <= 5.0 and v["power_low"] <= 5.0
    assert v["low_leakage"] <= 5.0  # pA, 0.5 % of α = 1 nA
    assert 0 < v["t_up"] < 1000 and 0 < v["t_down"] < 1000


@pytest.mark.ngspice
@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.split(".")[-1])
def test_full_characterization_inside_goldens(module):
    sheet = _full(module)
    violations = check(sheet, load_golden(module.GOLDEN))
    assert not violations, "\n".join(map(str, violations[:20]))


@functools.lru_cache(maxsize=None)
def _full(module):
    return module.characterize(workers=2)


@pytest.mark.ngspice
@pytest.mark.slow
def test_bmru_targets_over_pvt_and_mismatch():
    """Issue targets at every PVT point (thresholds, α ≤ 1 %) and σ(switch-up) ≤ 3 %."""
    sheet = _full(bmru)
    nominal = lambda name: {c: v for c, v in sheet.values[name].items() if " mm" not in c}
    for name in ("switch_up_error", "switch_down_error", "alpha_error", "alpha_vout_error"):
        worst = max(nominal(name).items(), key=lambda kv: abs(kv[1]))
        assert abs(worst[1]) <= 1.0, (name, worst)
    hot = [v for c, v in nominal("low_leakage").items() if "85C" in c]
    assert max(hot) <= 5.0  # pA: 0.5 % of α = 1 nA
    sigma = next(v for c, v in sheet.values["mismatch_sigma"].items() if c.startswith("switch_up_error"))
    assert sigma <= 3.0


def test_dense_step_goldens_settle_monotonically():
    """Issue 14: after an input step (both inputs the same way, or opposite ways) the current
    into the next layer's diode overshoots and undershoots by ≤ 1 % of the step at every
    corner and temperature; the golden covers all 15 of them for each output and step."""
    specs = load_golden(dense.GOLDEN)["specs"]
    for name in ("step_overshoot", "step_undershoot"):
        bands = specs[name]["bands"]
        assert len(bands) == 15 * dense.STEP_BLOCK.n_out * (len(dense.STEP_ROWS) - 1)
        assert max(b["typ"] for b in bands.values()) <= 1.0
    settling = [b["typ"] for b in specs["step_settling"]["bands"].values()]
    assert 0 < max(settling) < dense.STEP_HOLD * 1e3  # settled inside the window it is read in
