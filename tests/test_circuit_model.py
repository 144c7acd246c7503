"""The circuit-aware model applies each characterized correction where the circuit has it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cells import corrections
from flows.bmru.circuit import build_circuit
from flows.bmru.circuit_model import circuit_model, corrected_network
from flows.bmru.model import run_network
from flows.bmru.network import BmruLayer, DenseLayer, Network, load_network
from flows.netfile import load_sequence
from pdk.models import Conditions

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _switch_point(network: Network, rising: bool) -> float:
    """Input at which a one-input BMRU first changes state on a fine ramp (up from 0, or
    down after being forced high)."""
    ramp = np.linspace(0.0, 2.0, 20001)
    x = ramp if rising else np.concatenate([[2.0], ramp[::-1]])
    state = run_network(network, x[:, None]).activations[0][:, 0] > 0
    changed = np.flatnonzero(state) if rising else np.flatnonzero(~state)
    return float(x[changed[0]])


def _one_bmru() -> Network:
    return Network("one", 1e-9, 1, (BmruLayer([[1.0]], [0.0], [1.0], [0.4], [1.0]),))


@pytest.mark.parametrize(("key", "rising", "target"), [("bmru_switch_up", True, 1.0),
                                                       ("bmru_switch_down", False, 0.4)])
def test_one_percent_threshold_correction_moves_the_switch_point_one_percent(key, rising, target):
    plain = _switch_point(corrected_network(_one_bmru(), {}), rising)
    shifted = _switch_point(corrected_network(_one_bmru(), {key: 0.01}), rising)
    assert plain == pytest.approx(target, abs=1e-4)
    assert shifted / plain == pytest.approx(1.01, abs=2e-4)


def test_no_correction_leaves_the_mapped_network_unchanged():
    mapped = build_circuit(load_network(EXAMPLES / "flipflop.yaml")).mapping.mapped
    same = corrected_network(mapped, {})
    for a, b in zip(mapped.layers, same.layers):
        for name in ("weight", "bias", "alpha", "beta_lo", "beta_hi"):
            if hasattr(a, name):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_gains_and_low_state_leakage_reach_the_readout():
    """BMRU (α 1) → dense y = 2h − 1·h + 0.5: in the low state the reader sees the leakage
    through its (gain-corrected) weights, in the high state the corrected α."""
    network = Network("leak", 1e-9, 1, (BmruLayer([[1.0]], [0.0], [1.0], [0.4], [1.0]),
                                        DenseLayer([[2.0], [-1.0]], [0.5, 0.5], activation="none")))
    corr = {"weight_pos": 0.01, "weight_neg": -0.02, "bias_pos": 0.004, "bmru_alpha": 0.003,
            "bmru_low_output": 5e-12}
    low = 5e-12 / 1e-9
    alpha = 1.003
    out = run_network(corrected_network(network, corr), np.array([[0.0], [1.5]])).output
    bias = 0.5 * 1.004
    np.testing.assert_allclose(out[0], [2.02 * low + bias, -0.98 * low + bias], rtol=1e-12)
    np.testing.assert_allclose(out[1], [2.02 * alpha + bias, -0.98 * alpha + bias], rtol=1e-12)


def test_leakage_follows_a_skip_into_its_readers():
    """A dense layer that adds a BMRU's output by a skip passes its leakage on."""
    network = Network("skip", 1e-9, 1, (
        BmruLayer([[1.0]], [0.0], [1.0], [0.4], [1.0]),
        DenseLayer([[1.0]], [0.0], skip_from=0),
        DenseLayer([[1.0]], [0.0], activation="none")))
    out = run_network(corrected_network(network, {"bmru_low_output": 1e-11}), np.array([[0.0]])).output
    assert out[0, 0] == pytest.approx(2 * 1e-11 / 1e-9, rel=1e-12)  # low through the dense + low by the skip


def test_circuit_model_of_the_flipflop_keeps_its_states():
    """The flip-flop keeps ≥ 0.16 units from every threshold; corrections under 1 % must not
    move any state, and they do move the analog outputs."""
    network = load_network(EXAMPLES / "flipflop.yaml")
    model = circuit_model(network, Conditions("ss", -40.0, 1.62))
    for name in ("flipflop_set", "flipflop_reset", "flipflop_mixed"):
        x = load_sequence(EXAMPLES / f"{name}.csv", 2)
        ideal, aware = run_network(network, x), run_network(model, x)
        np.testing.assert_array_equal(ideal.activations[1] > 0.5, aware.activations[1] > 0.5)
        assert 0 < np.abs(aware.output - ideal.output).max() < 0.05


def test_uncharacterized_condition_is_refused():
    with pytest.raises(KeyError, match="no corrections"):
        circuit_model(load_network(EXAMPLES / "flipflop.yaml"), Conditions("tt", 50.0, 1.8))


def test_shipped_table_is_the_default():
    """Without `table` the model uses cells/corrections.yaml; a given table replaces it."""
    network = load_network(EXAMPLES / "flipflop.yaml")
    x = load_sequence(EXAMPLES / "flipflop_set.csv", 2)
    shipped = corrections.at(corrections.load())
    table = {"conditions": {"tt 27C 1.8V": {"bmru_alpha": 0.5}}}
    default_high = run_network(circuit_model(network), x).activations[1].max()
    edited_high = run_network(circuit_model(network, table=table), x).activations[1].max()
    assert default_high == pytest.approx(1 + shipped["bmru_alpha"] - shipped["bmru_low_output"] / 1e-9, rel=1e-12)
    assert edited_high == pytest.approx(1.5, rel=1e-12)
