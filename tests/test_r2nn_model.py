"""The R²NN reference model: the §3c recursion against two independent solves of the same
discrete system (1e-6 relative on random lattices), second-order convergence to the
continuous lattice, the modal view, clamped-node semantics and the scores."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from flows.r2nn import model
from flows.r2nn.lattice import random_lattice
from flows.r2nn.network import network_from_yaml, parse_network


def relative(a, b) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def stacked_solve(network, u: np.ndarray) -> np.ndarray:
    """§3c taken literally — (I + dt/2·M⁻¹C) x_{n+1} − 2 x_n + (I − dt/2·M⁻¹C) x_{n−1}
    + dt²·M⁻¹K x_n = dt²·M⁻¹F_n for n = 0 … N−1, x₀ = x₋₁ = 0 — as one sparse block
    system in x₁ … x_N, solved directly."""
    m, c, k = network.matrices()
    dt, size, steps = network.dt, len(m), len(u)
    minv = np.diag(1 / np.diag(m))
    upper = np.eye(size) + dt / 2 * minv @ c
    middle = -2 * np.eye(size) + dt * dt * minv @ k
    lower = np.eye(size) - dt / 2 * minv @ c
    blocks = [[None] * steps for _ in range(steps)]
    for n in range(steps):            # equation n has unknowns x_{n+1} (block n), x_n, x_{n−1}
        blocks[n][n] = upper
        if n >= 1:
            blocks[n][n - 1] = middle
        if n >= 2:
            blocks[n][n - 2] = lower
    system = scipy.sparse.bmat(blocks, format="csc")
    rhs = np.zeros((steps, size))
    rhs[:, network.free.index(network.input_node)] = dt * dt * network.input_gain * u / m.diagonal()[
        network.free.index(network.input_node)]
    x = scipy.sparse.linalg.spsolve(system, rhs.ravel()).reshape(steps, size)
    return x[:, [network.free.index(o) for o in network.outputs]]


@pytest.mark.parametrize("seed", range(5))
def test_recursion_matches_exact_discrete_solves(seed):
    net = random_lattice(seed, band=(50.0, 2000.0), q=(2.0, 200.0))
    u = np.random.default_rng(seed).standard_normal((3, 3000))
    y = model.simulate(net, u)
    assert relative(y, model.exact_discrete(net, u)) < 1e-6
    assert relative(y[1, :1000], stacked_solve(net, u[1, :1000])) < 1e-6
    assert relative(model.run_network(net, u[1][:, None]), y[1]) < 1e-12


def test_second_order_convergence_to_the_continuous_lattice():
    """Doubling the sample rate divides the distance to the exact continuous response by 4."""
    net = random_lattice(3, sample_rate=10240.0, band=(50.0, 400.0))
    fine = parse_network({**__import__("yaml").safe_load(net.to_yaml()), "sample_rate": 20480.0})
    t = np.arange(8192) / 20480.0
    wave = np.sin(2 * np.pi * 130 * t) * np.exp(-((t - 0.1) / 0.05) ** 2) + 0.3 * np.sin(2 * np.pi * 410 * t)
    errors = []
    for network, u in ((net, wave[::2]), (fine, wave)):
        errors.append(relative(model.simulate(network, u)[0], model.continuous(network, u)[0]))
    assert errors[0] < 0.03
    assert 3.6 < errors[0] / errors[1] < 4.4


def test_single_resonator_frequency_q_and_warping():
    """One mass on a spring: the modal view gives √(k/m)/2π and Q = √(km)/c; the
    recursion's free ringing has the central-difference frequency (2/dt)·asin(ω dt/2)."""
    k, m, c, fs = 4.0e4, 0.1, 0.05, 2000.0
    net = network_from_yaml(f"""schema: r2nn-network/1
name: one
sample_rate: {fs}
masses: [{m}]
springs: [[0, -1, {k}]]
dampers: [[0, -1, {c}]]
input: {{node: 0, gain: 1.0}}
outputs: [0]
""")
    (mode,), real = model.modes(net)
    assert mode.frequency == pytest.approx(np.sqrt(k / m) / (2 * np.pi), rel=1e-12)
    assert mode.q == pytest.approx(np.sqrt(k * m) / c, rel=1e-12)
    assert real == []
    u = np.zeros(4000)
    u[0] = 1.0
    y = model.simulate(net, u)[0, :, 0]
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y)), 1 << 20))
    peak = np.argmax(spectrum) * fs / (1 << 20)
    omega = np.sqrt(k / m)
    warped = 2 * fs * np.arcsin(omega / fs / 2) / (2 * np.pi)
    damped = np.sqrt(warped ** 2 - (c / (2 * m) / (2 * np.pi)) ** 2)
    assert peak == pytest.approx(damped, rel=2e-4)
    assert abs(peak - mode.frequency) / mode.frequency > 0.003  # the warping is real: (ω·dt)²/24 = 0.4 %


def test_clamped_node_is_the_wall_and_scores_normalise():
    net = random_lattice(1)
    data = __import__("yaml").safe_load(net.to_yaml())
    clamped = set(net.clamped)
    rewired = {**data, "springs": [[a, -1 if b in clamped else b, v] for a, b, v in data["springs"]
                                   if a not in clamped or b not in clamped]}
    rewired["springs"] = [[b, -1, v] if a in clamped else [a, b, v] for a, b, v in rewired["springs"]]
    wall = parse_network(rewired)
    u = np.random.default_rng(0).standard_normal((2, 500))
    assert np.array_equal(model.simulate(net, u), model.simulate(wall, u))
    s = model.scores(model.simulate(net, u))
    assert s.shape == (2, 3) and np.allclose(s.sum(axis=1), 1.0)
    assert np.array_equal(model.scores(model.simulate(net, np.zeros((1, 10)))), np.zeros((1, 3)))


def test_modes_solve_the_quadratic_eigenproblem_and_are_the_resonances():
    """Every mode's s = −ω/2Q ± jω√(1 − 1/4Q²) makes M s² + C s + K singular; on a
    lightly damped lattice the input node's own velocity response (a driving-point
    mobility: positive residues, so no peak between two modes) peaks only at modes."""
    net = random_lattice(2, q=(2000.0, 4000.0))
    m, c, k = net.matrices()
    found, _ = model.modes(net)
    assert len(found) == len(m)
    for mode in found:
        w = 2 * np.pi * mode.frequency
        s = complex(-w / (2 * mode.q), 2 * np.pi * mode.damped_frequency)
        sigma = np.linalg.svd(m * s * s + c * s + k, compute_uv=False)
        assert sigma[-1] < 1e-9 * sigma[0]
    f = np.geomspace(50, 1500, 60000)
    v = np.abs(model.mobility(net, f)[:, net.free.index(net.input_node)])
    natural = np.array([mode.frequency for mode in found])
    peaks = f[1:-1][(v[1:-1] > v[:-2]) & (v[1:-1] > v[2:])]
    assert len(peaks) >= len(found) // 2
    assert all(np.min(np.abs(natural - p) / p) < 5e-4 for p in peaks)
