"""Seeded random realizable monDEQ networks and signed input rows, for tests.

Each stage is drawn as a circuit — symmetric coupling conductances (some pruned), signed
input and bias conductances, a ground conductance per node — and cast to W = I − s·L,
U = s·B, b = s·b_c with a random scale s, so every network is realizable by construction;
shape, signs, magnitudes, sparsity, margin and activation all vary with the seed.
"""
from __future__ import annotations

import numpy as np

from flows.mondeq.network import ACTIVATIONS, DenseReadout, Diode, MondeqNetwork, MondeqStage


def random_stage(rng: np.random.Generator, input_size: int, size: int,
                 activation: str | None = None) -> MondeqStage:
    """One realizable stage with `size` nodes fed by `input_size` signals."""
    sparsity = rng.choice([0.0, 0.5, 0.9])
    coupling = rng.exponential(1.0, (size, size)) * (rng.random((size, size)) >= sparsity)
    coupling = np.triu(coupling, 1)
    coupling = coupling + coupling.T
    sign = rng.choice(["mixed", "positive", "negative"])
    inputs = rng.exponential(1.0, (size, input_size)) * (rng.random((size, input_size)) >= sparsity / 2)
    bias = rng.exponential(1.0, size) * (rng.random(size) < 0.7)
    if sign == "mixed":
        inputs *= rng.choice([-1.0, 1.0], inputs.shape)
        bias *= rng.choice([-1.0, 1.0], size)
    elif sign == "negative":
        inputs, bias = -inputs, -bias
    # Ground: at least a fraction of each node's other conductances, so λ_min > 0.
    others = coupling.sum(axis=1) + np.abs(inputs).sum(axis=1) + np.abs(bias)
    ground = (rng.uniform(0.05, 1.0, size) * np.maximum(others, 1.0))
    laplacian = np.diag(others + ground) - coupling
    scale = rng.choice([0.5, 1.0, 2.0]) / (others + ground).max()
    weight = np.eye(size) - scale * laplacian
    weight = (weight + weight.T) / 2
    smallest = float(np.linalg.eigvalsh(np.eye(size) - weight)[0])
    margin = float(rng.uniform(0.3, 0.95) * smallest)
    activation = activation or str(rng.choice(ACTIVATIONS))
    diode = None
    if activation == "diode_relu":
        diode = Diode(float(rng.choice([0.02, 0.05, 0.1])), float(rng.choice([0.003, 0.01, 0.03])))
    return MondeqStage(weight, scale * inputs, scale * bias, margin, activation, diode)


def random_network(seed: int, input_size: int | None = None, sizes: list[int] | None = None,
                   outputs: int | None = None, activation: str | None = None,
                   readout: bool | None = None) -> MondeqNetwork:
    """A realizable network: 1–3 stages of 1–40 nodes on 1–64 inputs, usually followed by
    a dense readout of 1–10 outputs; any argument left None is drawn from the seed."""
    rng = np.random.default_rng(seed)
    input_size = input_size or int(rng.integers(1, 65))
    sizes = sizes or [int(rng.integers(1, 41)) for _ in range(int(rng.integers(1, 4)))]
    layers: list = []
    below = input_size
    for size in sizes:
        layers.append(random_stage(rng, below, size, activation))
        below = size
    if readout if readout is not None else rng.random() < 0.8:
        count = outputs or int(rng.integers(1, 11))
        layers.append(DenseReadout(rng.normal(0.0, 1.0, (count, below)), rng.normal(0.0, 0.5, count)))
    return MondeqNetwork(f"random_{seed}", input_size, tuple(layers))


def random_inputs(seed: int, input_size: int, rows: int) -> np.ndarray:
    """(rows, input_size) signed inputs in [−s, s], s drawn from {0.5, 1, 2}."""
    rng = np.random.default_rng(seed)
    return rng.choice([0.5, 1.0, 2.0]) * rng.uniform(-1.0, 1.0, (rows, input_size))
