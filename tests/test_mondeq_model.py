"""The monDEQ reference model: operator splittings against exact solves, the diode ReLU,
cascades, and the implicit gradient against central finite differences."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.special

from flows.mondeq.model import (activation, diode_relu, forward_backward, gradient,
                                run_network, solve_stage)
from flows.mondeq.network import DenseReadout, MondeqNetwork, MondeqStage
from flows.mondeq.random_networks import random_inputs, random_network
from flows.netfile import sequence_from_csv, write_trace_csv

METHODS = ("peaceman-rachford", "forward-backward", "exact")


@pytest.mark.parametrize("seed", range(40))
def test_splittings_agree_with_exact_solve(seed):
    net = random_network(seed)
    x = random_inputs(seed, net.input_size, 12)
    traces = {m: run_network(net, x, m) for m in METHODS}
    for method in ("peaceman-rachford", "forward-backward"):
        for ours, exact in zip(traces[method].activations, traces["exact"].activations):
            assert np.abs(ours - exact).max() <= 1e-9
    exact = traces["exact"]
    below = x
    for layer, z, pre in zip(net.layers, exact.activations, exact.pre_activations):
        if layer.kind == "mondeq":
            assert np.allclose(pre, z @ layer.weight.T + below @ layer.input_weight.T + layer.bias,
                               rtol=0, atol=1e-12)
            assert np.abs(z - activation(layer, pre)).max() <= 1e-11  # a fixed point
        below = z


def test_relu_fixed_point_is_complementary():
    net = random_network(3, activation="relu")
    stage = net.layers[0]
    x = random_inputs(3, net.input_size, 50)
    z, pre, _ = solve_stage(stage, x, "exact")
    slack = z - pre  # (I − W) z − (U x + b)
    assert z.min() >= 0 and slack.min() >= -1e-12
    assert np.abs(z * slack).max() <= 1e-12
    assert ((z > 0) | (pre < 0)).mean() > 0.99  # some active, some clamped, few at the kink
    assert 0.1 < (z > 0).mean() < 0.9


def test_one_node_stage_has_the_closed_form():
    # z = max(0, w z + u x + b) with w < 1: z = max(0, (u x + b) / (1 − w))
    stage = MondeqStage([[0.25]], [[0.5]], [-0.1], 0.5)
    x = np.linspace(-1, 1, 21)[:, None]
    for method in METHODS:
        z, _, _ = solve_stage(stage, x, method)
        assert np.allclose(z[:, 0], np.maximum(0, (0.5 * x[:, 0] - 0.1) / 0.75), rtol=0, atol=1e-12)


def test_forward_backward_with_the_general_monotone_step():
    net = random_network(5, sizes=[20], activation="diode_relu", readout=False)
    stage = net.layers[0]
    x = random_inputs(5, net.input_size, 8)
    drive = x @ stage.input_weight.T + stage.bias
    eig = np.linalg.eigvalsh(np.eye(stage.size) - stage.weight)
    general = eig[0] / eig[-1] ** 2  # α = m/‖I − W‖² < 2m/‖I − W‖²
    slow, slow_steps = forward_backward(stage, drive, step=general)
    fast, fast_steps = forward_backward(stage, drive)
    exact, _, _ = solve_stage(stage, x, "exact")
    assert np.abs(slow - exact).max() <= 1e-9 and np.abs(fast - exact).max() <= 1e-9
    assert fast_steps < slow_steps


def test_diode_relu_solves_its_equation_without_overflow():
    a = np.linspace(-50, 50, 2001)
    for tau, kappa in ((0.05, 0.01), (0.02, 0.003), (0.1, 0.03)):
        z = diode_relu(a, tau, kappa)
        assert np.all(np.diff(z) > 0) and np.all(z >= a)
        # the equation in log form, ln((z − a)/κ) = −z/τ, wherever z − a stands well above
        # the rounding of a (z = a + τ·w carries it)
        gap = z - a > 1e-6 * (1 + np.abs(a))
        residual = np.log((z[gap] - a[gap]) / kappa) + z[gap] / tau
        assert gap.sum() > 900 and np.abs(residual).max() <= 1e-9
        safe = a > -5
        reference = a[safe] + tau * scipy.special.lambertw(kappa / tau * np.exp(-a[safe] / tau)).real
        assert np.abs(z[safe] - reference).max() <= 1e-12
        # far from the knee: the ideal-diode line above, a logarithmic clamp below
        far = diode_relu(np.array([1e4, -1e4]), tau, kappa)
        assert far[0] == 1e4 and far[1] == pytest.approx(-tau * np.log((1e4 + far[1]) / kappa), abs=1e-9)
    # it approaches the ReLU as the diode's knee sharpens (τ → 0)
    for tau in (1e-2, 1e-3, 1e-4):
        error = np.abs(diode_relu(np.array([-1.0, 0.0, 0.5]), tau, 0.01) - [0.0, 0.0, 0.5]).max()
        assert error <= 6 * tau


def test_cascade_feeds_each_stage_the_previous_fixed_point():
    net = random_network(9, sizes=[7, 5, 4], outputs=3)
    x = random_inputs(9, net.input_size, 6)
    trace = run_network(net, x)
    signal = x
    for index, layer in enumerate(net.layers[:-1]):
        z, _, _ = solve_stage(layer, signal)
        assert np.array_equal(z, trace.activations[index])
        signal = z
    readout = net.layers[-1]
    assert np.allclose(trace.outputs, signal @ readout.weight.T + readout.bias, rtol=0, atol=0)
    assert len(trace.iterations) == 4 and trace.iterations[-1] == 0


def test_outputs_write_through_the_shared_trace_csv(tmp_path):
    net = random_network(2)
    x = random_inputs(2, net.input_size, 4)
    path = tmp_path / "software.csv"
    write_trace_csv(path, run_network(net, x).outputs)
    text = path.read_text()
    assert text.splitlines()[0] == "step," + ",".join(f"y{j}" for j in range(net.output_size))
    assert len(text.splitlines()) == 5
    # signed input rows read back through the shared CSV reader
    rows = "x0,x1\n-0.5,0.25\n"
    assert sequence_from_csv(rows, "in.csv", 2, signed=True).tolist() == [[-0.5, 0.25]]


# --- implicit gradient -----------------------------------------------------------------

def _with(net: MondeqNetwork, index: int, key: str, value: np.ndarray) -> MondeqNetwork:
    layers = list(net.layers)
    layers[index] = dataclasses.replace(layers[index], **{key: value})
    return MondeqNetwork(net.name, net.input_size, tuple(layers))


def _kink_free_rows(net, x, rows, gap=1e-3):
    """Rows whose every ReLU pre-activation is at least `gap` from the kink."""
    trace = run_network(net, x, "exact")
    keep = np.ones(len(x), bool)
    for layer, pre in zip(net.layers, trace.pre_activations):
        if layer.kind == "mondeq" and layer.activation == "relu":
            keep &= np.abs(pre).min(axis=1) >= gap
    assert keep.sum() >= rows
    return x[keep][:rows]


def _finite_difference(net, x, t, index, key, h=1e-6):
    """Central differences of L in every entry (entry pairs W_ij, W_ji together)."""
    layer = net.layers[index]
    base = getattr(layer, key)
    fd = np.zeros(base.shape)
    symmetric = layer.kind == "mondeq" and key == "weight"
    for entry in np.ndindex(base.shape):
        if symmetric and entry[0] > entry[1]:
            continue
        step = np.zeros(base.shape)
        step[entry] = h
        if symmetric:
            step[entry[::-1]] = h
        plus = gradient(_with(net, index, key, base + step), x, t)[0]
        minus = gradient(_with(net, index, key, base - step), x, t)[0]
        fd[entry] = (plus - minus) / (2 * h)
    if symmetric:  # the pair's derivative is 2·g_ij off the diagonal
        upper = np.triu(fd, 1) / 2
        fd = np.diag(np.diag(fd)) + upper + upper.T
    return fd


@pytest.mark.parametrize("seed, activation_name", [(s, a) for s in range(4)
                                                   for a in ("relu", "diode_relu")])
def test_gradient_matches_finite_differences(seed, activation_name):
    rng = np.random.default_rng(seed)
    net = random_network(100 + seed, input_size=int(rng.integers(1, 6)),
                         sizes=[int(rng.integers(1, 7)) for _ in range(int(rng.integers(1, 3)))],
                         outputs=int(rng.integers(1, 4)), activation=activation_name, readout=True)
    x = _kink_free_rows(net, random_inputs(seed, net.input_size, 400), 5)
    t = rng.normal(size=(len(x), net.output_size))
    _, grads = gradient(net, x, t)
    for index, layer in enumerate(net.layers):
        assert set(grads[index]) == ({"bias", "input_weight", "weight"} if layer.kind == "mondeq"
                                     else {"bias", "weight"})
        for key, analytic in grads[index].items():
            fd = _finite_difference(net, x, t, index, key)
            a, f = analytic.ravel(), fd.ravel()
            scale = max(np.linalg.norm(f), 1e-12)
            if np.linalg.norm(f) > 1e-9:
                assert a @ f / (np.linalg.norm(a) * np.linalg.norm(f)) >= 0.999
            assert np.linalg.norm(a - f) / scale <= 1e-4, (index, key)


@pytest.mark.parametrize("seed", range(6))
def test_gradient_on_large_networks_along_random_directions(seed):
    net = random_network(200 + seed, activation="diode_relu", readout=True)
    x = random_inputs(seed, net.input_size, 6)
    t = np.random.default_rng(seed).normal(size=(6, net.output_size))
    _, grads = gradient(net, x, t)
    rng = np.random.default_rng(seed + 1)
    for index, layer in enumerate(net.layers):
        for key, analytic in grads[index].items():
            direction = rng.normal(size=analytic.shape)
            if layer.kind == "mondeq" and key == "weight":
                direction = (direction + direction.T) / 2
            base = getattr(layer, key)
            h = 1e-6
            plus = gradient(_with(net, index, key, base + h * direction), x, t)[0]
            minus = gradient(_with(net, index, key, base - h * direction), x, t)[0]
            fd = (plus - minus) / (2 * h)
            assert abs(float((analytic * direction).sum()) - fd) <= 1e-4 * max(abs(fd), 1e-8)


def test_gradient_of_a_readout_only_network_is_least_squares():
    stage = MondeqStage([[0.0]], [[0.5]], [0.0], 0.5)
    readout = DenseReadout([[2.0]], [0.0])
    net = MondeqNetwork("lsq", 1, (stage, readout))
    x = np.array([[1.0], [2.0]])  # z = x / 2, y = x
    loss, grads = gradient(net, x, np.zeros((2, 1)))
    assert loss == pytest.approx(0.5 * (1 + 4) / 2)
    assert grads[1]["bias"] == pytest.approx([1.5])  # mean of y
    assert grads[1]["weight"][0, 0] == pytest.approx((1 * 0.5 + 2 * 1.0) / 2)
