"""Issue 6 acceptance: random input → dense ReLU → BMRU networks (3 inputs, 3 units,
inputs ≥ 0.06 units from every threshold, 24 steps) agree with the reference model on
≥ 98 % of (step, unit) states at transistor level, tt, 27 °C."""
from __future__ import annotations

import pytest

from flows import testbench
from flows.circuit import build_circuit
from flows.model import run_network
from flows.random_networks import random_bmru_case
from pdk.models import Conditions
from pdk.ngspice import simulate

pytestmark = pytest.mark.ngspice


def _agreement(seed: int) -> float:
    case = random_bmru_case(seed)
    circuit = build_circuit(case.network)
    plan = testbench.TransientPlan(step=testbench.settling_step(circuit.notes["weight_diode_units"]))
    deck = testbench.build(circuit.netlist(merge_parallel=True), case.network, case.inputs, plan, Conditions())
    measured = testbench.outputs(simulate(deck, f"random{seed}")[0], case.network, len(case.inputs), plan)
    return testbench.agreement(case.network, run_network(case.network, case.inputs).output, measured)["state_agreement"]


def test_random_network_agrees_with_the_model():
    assert _agreement(0) >= 0.98


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 8))
def test_more_random_networks_agree_with_the_model(seed):
    assert _agreement(seed) >= 0.98
