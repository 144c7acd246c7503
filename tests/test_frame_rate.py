"""`--frame-rate`: the unit current set by the task (flows.bmru.circuit.frame_rate_circuit),
and the two scaling laws it rests on, measured in ngspice: settling ∝ 1/unit current, idle
power ∝ unit current."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cells import dense
from flows.bmru.circuit import _two_digits_up, build_circuit
from flows.bmru.network import load_network
from flows.bmru.random_networks import random_user_case
from flows.bmru.simulate import static_power
from flows.errors import InputError
from flows.bmru.timing import at_unit_current, macro_timing
from pdk.models import Conditions
from pdk.ngspice import simulate
from tests.conftest import run_bmru

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FLIPFLOP = EXAMPLES / "flipflop.yaml"


@pytest.mark.parametrize("condition", [Conditions("tt", temp=27.0), Conditions("ff", temp=85.0)],
                         ids=lambda c: c.label())
def test_dense_settling_scales_inversely_with_the_unit_current(condition):
    """The characterized step block (M = 32) at 1 nA and at a quarter of it, every row held
    4× as long: each of its 12 step settling times (3 outputs × 4 steps) × the current
    ratio is at most 1.1 — the law never promises a faster macro than ngspice gives — and
    at tt 27 °C at least 0.9 (measured 0.94–1.02). Hot, leakage adds current the law does
    not count, so a low-current macro settles faster than predicted (measured 0.59–0.91 at
    ff 85 °C)."""
    times = {}
    for scale in (1.0, 0.25):
        hold = dense.STEP_HOLD / scale
        plot = simulate(dense.step_deck(condition, hold=hold, scale=scale), f"law_{scale}")[0]
        times[scale] = np.array([[dense.step_metrics(plot["time"], plot[f"i(vm{i})"], k * hold, (k + 1) * hold)[2]
                                  for k in range(1, len(dense.STEP_ROWS))] for i in range(3)])
    assert (times[1.0] > 1e-3).all()
    ratio = times[0.25] * 0.25 / times[1.0]
    assert ratio.max() < 1.1, ratio
    if condition.temp == 27.0:
        assert ratio.min() > 0.9, ratio


def test_idle_power_scales_with_the_unit_current():
    """Same mapping (D = 4 at both), a quarter of the current: a quarter of the power, as
    at_unit_current predicts."""
    network = load_network(FLIPFLOP)
    full = build_circuit(network)
    quarter = build_circuit(replace(network, unit_current=network.unit_current / 4))
    assert full.notes["bias_diode_units"] == quarter.notes["bias_diode_units"]
    timing = macro_timing(full)
    measured = [static_power(c, timing["step_s"])["total_W"] for c in (full, quarter)]
    settling, predicted = at_unit_current(timing, measured[0], network.unit_current / 4)
    assert measured[1] == pytest.approx(predicted, rel=0.03)
    assert settling == pytest.approx(4 * timing["settling_s"])
    assert macro_timing(quarter)["settling_s"] == pytest.approx(settling)


@pytest.mark.parametrize("seed", range(6))
def test_the_lowest_unit_current_that_settles_within_a_frame(seed):
    """Networks of users' shapes at unit currents 0.5 … 4 nA and frame rates 5 … 400 rows/s:
    the chosen current settles within a frame at the worst PVT point, the next lower
    two-digit current does not (or its biases miss the budget: the leakage floor), rows are
    held one frame, and the mapping keeps its bias errors."""
    rng = np.random.default_rng(seed)
    own = float(rng.choice([0.5e-9, 1e-9, 2e-9, 4e-9]))
    network = random_user_case(seed, unit_current=own).network
    frame_rate = float(rng.choice([5.0, 30.0, 100.0, 400.0]))
    try:
        circuit = build_circuit(network, frame_rate=frame_rate)
    except InputError as error:  # a frame rate beyond weak inversion: refused on the option
        assert error.field == "--frame-rate" and "weak-inversion limit" in error.problem, error
        return
    choice, timing = circuit.notes["frame_rate"], macro_timing(circuit)
    current = circuit.network.unit_current
    assert choice["unit_current_A"] == current and choice["network_unit_current_A"] == own
    assert timing["settling_s"] <= 1 / frame_rate * (1 + 1e-9)
    assert timing["step_s"] == pytest.approx(1 / frame_rate) and timing["frame_rate"] == choice
    assert _two_digits_up(current) == current
    reference = build_circuit(network)
    for mine, theirs in zip(circuit.mapping.layers, reference.mapping.layers):
        assert mine.bias_error_max <= max(0.02, theirs.bias_error_max) + 1e-12
    lower = float(f"{current * 0.97:.2g}")
    lower = lower if lower < current else current - 10 ** (np.floor(np.log10(current)) - 1)
    below = build_circuit(replace(network, unit_current=lower))
    slow = macro_timing(below)["settling_s"] > 1 / frame_rate
    coarse = any(b.bias_error_max > max(0.02, r.bias_error_max) + 1e-12
                 for b, r in zip(below.mapping.layers, reference.mapping.layers))
    assert slow or coarse, (current, lower)
    assert (choice["limited_by"] == "leakage floor") == (not slow)


def test_simulate_at_a_frame_rate_passes_at_the_corners(tmp_path):
    """The flip-flop at 10 rows/s (80 pA per unit: the leakage floor) and at 100 rows/s
    (0.25 nA) reproduces its network at tt 27 °C and ff 85 °C, rows held one frame, and the
    power follows the current (13 nW at its own 1 nA and 2.5 ms rows)."""
    powers = {}
    for rate, corner, temp in ((10, "ff", "85"), (100, "tt", "27"), (100, "ff", "85")):
        out = tmp_path / f"run{rate}{corner}"
        done = run_bmru("simulate", str(FLIPFLOP), "--inputs", str(EXAMPLES / "flipflop_mixed.csv"),
                     "--frame-rate", str(rate), "--corner", corner, "--temp", temp, "-o", str(out))
        assert done.returncode == 0, done.stderr
        summary = json.loads((out / "summary.json").read_text())
        assert summary["verdict"]["pass"] and summary["verdict"]["state_agreement"] == 1.0
        assert summary["step_s"] == pytest.approx(1 / rate)
        powers[rate, corner] = summary["power"]["total_W"]
    assert powers[10, "ff"] < powers[100, "ff"] < 5e-9


def test_compile_states_the_frame_rate(tmp_path):
    """The compile settles the drawn macro (post-layout: more than the 0.25 nA the circuit
    alone needs at 100 rows/s) and every view runs at that current."""
    out = tmp_path / "ff"
    done = run_bmru("compile", str(FLIPFLOP), "--frame-rate", "100", "--no-check", "-o", str(out))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    current = manifest["unit_current"]
    assert current == manifest["timing"]["frame_rate"]["unit_current_A"] >= 2.5e-10
    assert manifest["timing"]["step_s"] == pytest.approx(0.01) and manifest["timing"]["settling_s"] <= 0.01
    assert f"iref takes {current:g} A" in (out / "flipflop.spice").read_text()
    assert f"Iref 0 iref DC {current:g}" in (out / "testbench" / "tran_example.spice").read_text()
    power = manifest["power"]["static"]["total_W"]
    assert power == pytest.approx(6.5e-9 * current / 1e-9, rel=0.1)  # it idles at 6.5 nW at 1 nA


@pytest.mark.parametrize("value, problem", [("0", "must be a positive number"), ("-3", "must be a positive number"),
                                            ("nan", "must be a positive number"),
                                            ("1e6", "more than this network allows")])
def test_bad_frame_rates_are_refused_in_one_line(tmp_path, value, problem):
    out = tmp_path / "out"
    done = run_bmru("compile", str(FLIPFLOP), "--frame-rate", value, "--no-check", "-o", str(out))
    assert done.returncode == 2 and not out.exists()
    line = done.stderr.strip()
    assert "\n" not in line and "--frame-rate" in line and problem in line and "Traceback" not in line
