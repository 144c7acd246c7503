"""The contract testbench on a hand-drawn transistor macro: a 1:1 current copier is the
network y = ReLU(x), so the circuit must reproduce the reference model through it."""
from __future__ import annotations

import numpy as np
import pytest

from flows.bmru import testbench
from flows.bmru.model import run_network
from flows.bmru.network import network_from_yaml
from pdk.devices import instance
from pdk.models import Conditions
from pdk.ngspice import simulate

IDENTITY = network_from_yaml("""
schema: bmru-network/1
name: copier
unit_current: 1.0e-9
input_size: 1
layers:
  - kind: dense
    weight: [[1.0]]
    activation: relu
""", "copier.yaml")


def _copier_macro() -> str:
    """in0 → NMOS self-cascode diode → matched NMOS self-cascode copy → PMOS diode → PMOS
    copy sourcing out0 (W/L 2/4 units). A fixture, not the product's mirror: it copies
    4–7 % high (drain-voltage effects), which a plumbing error (units, signs, sampling the
    wrong step: ≥ 30 % here) cannot hide behind."""
    rows = [".subckt copier vdd vss iref in0 out0",
            instance("n_in_top", "nfet_01v8", "in0", "in0", "x", "vss", 2, 4),
            instance("n_in_bot", "nfet_01v8", "x", "in0", "vss", "vss", 2, 4),
            instance("n_cp_top", "nfet_01v8", "p", "in0", "y", "vss", 2, 4),
            instance("n_cp_bot", "nfet_01v8", "y", "in0", "vss", "vss", 2, 4),
            instance("p_diode", "pfet_01v8", "p", "p", "vdd", "vdd", 2, 4),
            instance("p_out", "pfet_01v8", "out0", "p", "vdd", "vdd", 2, 4),
            "* iref unused by this macro: a diode keeps the pin defined",
            instance("n_ref", "nfet_01v8", "iref", "iref", "vss", "vss", 2, 4),
            ".ends copier"]
    return "\n".join(rows) + "\n"


def test_deck_follows_the_pin_contract(tmp_path):
    inputs = np.array([[0.5], [2.0], [1.0]])
    deck = testbench.build(tmp_path / "copier.spice", IDENTITY, inputs, testbench.TransientPlan(), Conditions())
    assert "Iref 0 iref DC 1e-09" in deck
    assert "Vout0 out0 0 0.5" in deck
    assert "Xcopier vdd vss iref in0 out0 copier" in deck
    # piecewise constant: value k holds from k·step + edge until (k+1)·step
    pwl = next(l for l in deck.splitlines() if l.startswith("Iin0"))
    assert "0.002 5e-10 0.002005 2e-09 0.004 2e-09 0.004005 1e-09" in pwl


@pytest.mark.ngspice
def test_copier_macro_reproduces_the_model(tmp_path):
    macro = tmp_path / "copier.spice"
    macro.write_text(_copier_macro())
    inputs = np.array([[0.3], [1.0], [2.5], [0.1], [1.5]])
    plan = testbench.TransientPlan()
    plot = simulate(testbench.build(macro, IDENTITY, inputs, plan, Conditions()), "copier_tb")[0]
    circuit = testbench.outputs(plot, IDENTITY, len(inputs), plan)
    software = run_network(IDENTITY, inputs).output
    summary = testbench.agreement(IDENTITY, software, circuit)
    assert summary["relative_error_max"] < 0.08, (circuit.ravel(), software.ravel())
    assert np.all(circuit > software)  # the fixture's known systematic bias
    power = testbench.supply_power(plot)
    # two branches of ≈ x nA each at 1.8 V, plus nothing else: 2·mean(x)·1.8 V ≈ 3 nW
    assert 0.5 * 2 * inputs.mean() * 1.8e-9 < power < 2 * 2 * inputs.mean() * 1.8e-9


def test_state_agreement_counts_bmru_states():
    net = network_from_yaml("""
schema: bmru-network/1
name: one
unit_current: 1.0e-9
input_size: 1
layers:
  - kind: bmru
    weight: [[1.0]]
    alpha: [2.0]
    beta_lo: [0.2]
    beta_hi: [0.8]
""", "one.yaml")
    software = np.array([[0.0], [2.0], [2.0], [0.0]])
    circuit = np.array([[0.1], [1.9], [0.7], [0.0]])  # third step reads low (< α/2)
    summary = testbench.agreement(net, software, circuit)
    assert summary["state_agreement"] == 0.75 and summary["state_disagreements"] == 1


def test_output_error_is_a_fraction_of_each_outputs_range():
    # y0 crosses zero (range 4), y1 never moves (measured against the largest range)
    software = np.array([[-2.0, 1.0], [2.0, 1.0], [0.0, 1.0]])
    circuit = np.array([[-1.0, 1.0], [2.0, 1.2], [0.0, 1.0]])
    error = testbench.range_error(software, circuit)
    assert error["range_error"] == pytest.approx([0.25, 0.05])
    assert error["range_error_max"] == pytest.approx(0.25)
    assert error["range_error_mean"] == pytest.approx((0.25 + 0.05) / 6)
    assert testbench.range_error(np.ones((2, 1)), np.array([[1.5], [1.0]]))["range_error_max"] == 0.5
