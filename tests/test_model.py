"""Reference model: agrees with an independent pure-Python implementation, the parallel
scan equals the loop exactly, the flipflop example needs and uses the hold state, and the
random cases keep their threshold margin."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flows.bmru.model import loop_recurrence, run_network, scan_recurrence, threshold_margin
from flows.netfile import format_trace_csv
from flows.bmru.network import BmruLayer, DenseLayer, Network, load_network, parse_network
from flows.netfile import load_sequence
from flows.bmru.random_networks import random_bmru_case

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def naive_run(network: Network, sequence: list[list[float]]) -> list[list[list[float]]]:
    """Independent implementation: time-major, plain Python floats, state kept per unit.
    Returns outputs[layer][step][unit]."""
    weights = [layer.weight.tolist() for layer in network.layers]
    biases = [layer.bias.tolist() for layer in network.layers]
    states = [[0.0] * layer.size for layer in network.layers]
    traces: list[list[list[float]]] = [[] for _ in network.layers]
    for x in sequence:
        produced = {-1: list(x)}
        signal = list(x)
        for i, layer in enumerate(network.layers):
            pre = [sum(w * s for w, s in zip(weights[i][j], signal)) + biases[i][j]
                   for j in range(layer.size)]
            if isinstance(layer, DenseLayer):
                own = pre if layer.activation == "none" else [max(p, 0.0) for p in pre]
            else:
                for j, p in enumerate(pre):
                    drive = max(p, 0.0)
                    if drive > layer.beta_hi[j]:
                        states[i][j] = float(layer.alpha[j])
                    elif drive < layer.beta_lo[j]:
                        states[i][j] = 0.0
                own = list(states[i])
            if layer.skip_from is not None:
                own = [o + extra for o, extra in zip(own, produced[layer.skip_from])]
            produced[i] = own
            traces[i].append(own)
            signal = own
    return traces


def random_network(rng: np.random.Generator) -> Network:
    """Any valid topology: 1–4 layers of either kind, random sizes and skips."""
    input_size = int(rng.integers(1, 5))
    sizes = [input_size]
    count = int(rng.integers(1, 5))
    layers = []
    for index in range(count):
        skip_from = int(rng.integers(-1, index)) if rng.random() < 0.4 else None
        size = sizes[skip_from + 1] if skip_from is not None else int(rng.integers(1, 5))
        weight = rng.normal(0.0, 0.8, (size, sizes[-1]))
        bias = rng.normal(0.0, 0.3, size)
        if rng.random() < 0.5:
            activation = "none" if index == count - 1 and rng.random() < 0.5 else "relu"
            layers.append(DenseLayer(weight, bias, activation, skip_from))
        else:
            beta_lo = rng.uniform(0.0, 1.0, size)
            layers.append(BmruLayer(weight, bias, rng.uniform(0.2, 2.0, size), beta_lo,
                                    beta_lo + rng.uniform(0.05, 1.0, size), skip_from))
        sizes.append(size)
    return parse_network(Network("random", 1e-9, input_size, tuple(layers)).to_dict())


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("method", ["scan", "loop"])
def test_model_matches_naive_implementation(seed, method):
    rng = np.random.default_rng(seed)
    network = random_network(rng)
    steps = int(rng.integers(1, 40))
    batch = rng.uniform(0.0, 2.0, (3, steps, network.input_size))
    trace = run_network(network, batch, method)
    for b, sequence in enumerate(batch):
        expected = naive_run(network, sequence.tolist())
        for layer_index, layer_trace in enumerate(expected):
            np.testing.assert_allclose(trace.outputs[layer_index][b], layer_trace,
                                       rtol=0, atol=1e-6)


@pytest.mark.parametrize("steps", [1, 2, 3, 7, 64, 100, 257])
def test_scan_equals_loop_exactly(steps):
    rng = np.random.default_rng(steps)
    hold = (rng.random((4, steps, 5)) < 0.6).astype(float)
    forced_level = np.where(rng.random((4, steps, 5)) < 0.5, rng.uniform(0.1, 2.0, 5), 0.0)
    b = np.where(hold == 1.0, 0.0, forced_level)
    np.testing.assert_array_equal(scan_recurrence(hold, b), loop_recurrence(hold, b))


def test_scan_composes_general_affine_steps():
    """The scan is the associative (a1,b1)∘(a2,b2) composition for any a, not only gates."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, (2, 37, 3)), rng.uniform(-1, 1, (2, 37, 3))
    np.testing.assert_allclose(scan_recurrence(a, b), loop_recurrence(a, b), rtol=0, atol=1e-12)


def test_bmru_force_high_force_low_and_hold():
    """One unit with ĥ = x: hold from h0 = 0, force high, hold high, force low, hold low,
    and a drive exactly at β_hi holds."""
    network = parse_network({
        "schema": "bmru-network/1", "name": "one_unit", "unit_current": 1e-9, "input_size": 1,
        "layers": [{"kind": "bmru", "weight": [[1.0]], "alpha": [0.7], "beta_lo": [0.25],
                    "beta_hi": [1.0]}]})
    drive = [0.5, 1.5, 0.5, 0.1, 0.5, 1.0]
    alpha = 0.7
    expected = [0.0, alpha, alpha, 0.0, 0.0, 0.0]
    for method in ("scan", "loop"):
        output = run_network(network, np.array(drive)[:, None], method).output[:, 0]
        np.testing.assert_array_equal(output, expected)


def test_batch_equals_separate_runs_and_keeps_all_traces():
    network = random_bmru_case(5).network
    rng = np.random.default_rng(1)
    batch = rng.uniform(0, 1, (4, 24, 3))
    trace = run_network(network, batch)
    assert len(trace.outputs) == len(trace.pre_activations) == len(trace.activations) == 2
    for b in range(4):
        single = run_network(network, batch[b])
        for together, alone in zip(trace.outputs, single.outputs):
            np.testing.assert_array_equal(together[b], alone)


def test_run_rejects_inputs_of_the_wrong_shape():
    network = random_bmru_case(0).network
    with pytest.raises(ValueError, match="inputs must be"):
        run_network(network, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="method"):
        run_network(network, np.zeros((5, 3)), method="parallel")


def flipflop_targets(inputs: np.ndarray) -> list[int]:
    """The task's rule: a set pulse (x0 >= 0.5 > x1) stores 1, a reset pulse stores 0,
    anything else (idle, both pressed) keeps the bit; the bit starts at 0."""
    bit, targets = 0, []
    for set_level, reset_level in inputs:
        if set_level >= 0.5 > reset_level:
            bit = 1
        elif reset_level >= 0.5 > set_level:
            bit = 0
        targets.append(bit)
    return targets


def test_flipflop_example_is_exact_and_needs_the_hold_state():
    network = load_network(EXAMPLES / "flipflop.yaml")
    endings = {}
    for name in ("set", "reset", "mixed"):
        inputs = load_sequence(EXAMPLES / f"flipflop_{name}.csv", network.input_size)
        trace = run_network(network, inputs)
        decisions = [0 if row[0] > row[1] else 1 for row in trace.output]  # y0 = "on"
        targets = [1 - bit for bit in flipflop_targets(inputs)]
        assert decisions == targets, name
        assert threshold_margin(network, trace) >= 0.1
        endings[name] = (tuple(inputs[-1]), decisions[-1])
    # Same last row, different answers: no memoryless function of the row can be right.
    assert endings["set"][0] == endings["reset"][0]
    assert endings["set"][1] != endings["reset"][1]


@pytest.mark.parametrize("seed", range(10))
def test_random_case_keeps_margin_and_exercises_every_state(seed):
    case = random_bmru_case(seed)
    network = case.network
    assert network.input_size == 3 and case.inputs.shape == (24, 3)
    assert [layer.kind for layer in network.layers] == ["dense", "bmru"]
    assert network.layers[0].activation == "relu" and network.layers[1].size == 3
    parse_network(network.to_dict())  # valid by the same validator as files
    assert case.inputs.min() >= 0
    bmru = network.layers[1]
    hidden = np.array(naive_run(network, case.inputs.tolist())[0])
    drive = np.maximum(hidden @ bmru.weight.T + bmru.bias, 0.0)
    distance = np.minimum(np.abs(drive - bmru.beta_lo), np.abs(drive - bmru.beta_hi))
    assert distance.min() >= 0.06
    assert case.margin == pytest.approx(distance.min())
    assert ((drive > bmru.beta_hi).any(axis=0) & (drive < bmru.beta_lo).any(axis=0)).all()
    hold = (drive >= bmru.beta_lo) & (drive <= bmru.beta_hi)
    assert hold.any(axis=0).all()


def test_random_case_is_reproducible_from_its_seed():
    first, again, other = random_bmru_case(11), random_bmru_case(11), random_bmru_case(12)
    assert first.network.to_yaml() == again.network.to_yaml()
    np.testing.assert_array_equal(first.inputs, again.inputs)
    assert first.network.to_yaml() != other.network.to_yaml()


def test_trace_csv_is_deterministic_text():
    text = format_trace_csv(np.array([[1 / 3, -0.0], [2.0, 1e-12]]))
    assert text == "step,y0,y1\n0,0.333333333,0\n1,2,1e-12\n"
