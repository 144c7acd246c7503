"""manifest `timing` (flows.bmru.timing): derived from the characterized goldens, scaling with the
signal diodes' units and the lowest level a drive must settle to."""
from __future__ import annotations

from pathlib import Path

import pytest

from cells import dense
from flows.bmru.circuit import build_circuit
from flows.bmru.network import load_network
from flows.bmru.random_networks import random_bmru_case
from flows.bmru.timing import STEP_GRID, macro_timing
from pdk.datasheet import load_golden

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_timing_comes_from_the_slowest_characterized_point():
    timing = macro_timing(build_circuit(load_network(EXAMPLES / "flipflop.yaml")))
    bands = load_golden(dense.GOLDEN)["specs"]["step_settling"]["bands"]
    slowest = max(bands, key=lambda c: bands[c]["max"])
    assert timing["corner"] in slowest and timing["derivation"]["characterized"]["condition"] == slowest
    assert timing["settling_s"] <= timing["step_s"] < timing["settling_s"] + STEP_GRID
    assert timing["max_input_rate_hz"] == pytest.approx(1 / timing["step_s"])
    assert timing["derivation"]["stages"] == 3


def test_more_diode_units_settle_slower():
    network = random_bmru_case(0).network
    small, large = (macro_timing(build_circuit(network, diode_units=m)) for m in (8, 32))
    assert large["derivation"]["stage_settling_s"] == pytest.approx(4 * small["derivation"]["stage_settling_s"])
    assert large["step_s"] > small["step_s"]
