"""Cell characterization against the frozen goldens: a fast subset (nominal tt point, two
mismatch seeds) by default; the full PVT × mismatch sweep is marked slow (it is also what
`bmru characterize` runs)."""
from __future__ import annotations

import copy
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


@pytest.fixture(scope="module", params=MODULES, ids=lambda m: m.__name__.split(".")[-1])
def fast_sheet(request):
    module = request.param
    sheet = _measured_subset(module.characterize(workers=2, conditions=FAST, samples=2))
    return module, sheet


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
    sheet = copy.deepcopy(sheet)
    sheet.values[name][cond] = band["max"] + (band["max"] - band["min"]) + 1.0
    violations = check(sheet, golden)
    assert len(violations) == 1 and violations[0].spec == name and violations[0].condition == cond


@pytest.mark.ngspice
def test_bmru_targets_at_nominal(fast_sheet):
    """Issue targets at 27 °C 1.8 V tt (measured, not copied from the golden)."""
    module, sheet = fast_sheet
    if module is not bmru:
        pytest.skip("BMRU targets")
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
    sheet = module.characterize(workers=2)
    violations = check(sheet, load_golden(module.GOLDEN))
    assert not violations, "\n".join(map(str, violations[:20]))
