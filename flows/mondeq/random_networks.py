"""Seeded random realizable monDEQ networks and signed input rows, for tests.

Each stage is drawn as a circuit — symmetric coupling conductances (some pruned), signed
input and bias conductances, a ground conductance per node — and cast to W = I − s·L,
U = s·B, b = s·b_c with a random scale s, so every network is realizable by construction;
shape, signs, magnitudes, sparsity, margin and activation all vary with the seed.

`compilable_network` draws what a passive circuit drives: one stage and a readout whose
load the ground conductances carry, every conductance inside the trainer's box
(`flows.mondeq.train`), so `map_network` realises each one (none dropped).
"""
from __future__ import annotations

import numpy as np

from flows.mondeq.network import ACTIVATIONS, DenseReadout, Diode, MondeqNetwork, MondeqStage
from flows.mondeq.train import CONDUCTANCE_MAX, CONDUCTANCE_MIN, MARGIN, READOUT_RATIO, readout_load


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


def compilable_network(seed: int, input_size: int | None = None, size: int | None = None,
                       outputs: int | None = None, activation: str | None = None) -> MondeqNetwork:
    """One stage of 1–16 nodes on 1–16 inputs and a readout of 1–6 outputs, every
    conductance (coupling, |input weight|, |bias|, ρ_t·|readout|) 0 or log-uniform within a
    drawn span (1 … 150×) of the box, the readout's load in the ground; signs, sparsity,
    spare ground and the diode vary with the seed. Arguments left None are drawn."""
    rng = np.random.default_rng(seed)
    input_size = input_size or int(rng.integers(1, 17))
    n = size or int(rng.integers(1, 17))
    count = outputs or int(rng.integers(1, 7))
    high = CONDUCTANCE_MAX * rng.choice([0.25, 1.0])
    low = max(CONDUCTANCE_MIN, high / rng.choice([1.0, 10.0, 150.0]))

    def draw(shape, sparsity):
        magnitude = np.exp(rng.uniform(np.log(low), np.log(high), shape))
        return magnitude * (rng.random(shape) >= sparsity)

    sparsity = rng.choice([0.0, 0.5, 0.8])
    coupling = np.triu(draw((n, n), sparsity), 1)
    coupling = coupling + coupling.T
    inputs, bias = draw((n, input_size), sparsity / 2), draw(n, 0.3)
    out_weight, out_bias = draw((count, n), sparsity / 2) / READOUT_RATIO, draw(count, 0.3) / READOUT_RATIO
    sign = rng.choice(["mixed", "positive", "negative"])
    if sign == "mixed":
        inputs, bias = inputs * rng.choice([-1.0, 1.0], inputs.shape), bias * rng.choice([-1.0, 1.0], n)
    elif sign == "negative":
        inputs, bias = -inputs, -bias
    out_weight *= rng.choice([-1.0, 1.0], out_weight.shape)
    out_bias *= rng.choice([-1.0, 1.0], count)
    ground = MARGIN + rng.choice([0.0, 1.0]) * draw(n, 0.0) + readout_load(out_weight)
    diagonal = coupling.sum(axis=1) + np.abs(inputs).sum(axis=1) + np.abs(bias) + ground
    weight = coupling + np.diag(1.0 - diagonal)
    smallest = float(np.linalg.eigvalsh(np.eye(n) - weight)[0])
    activation = activation or str(rng.choice(ACTIVATIONS))
    diode = None
    if activation == "diode_relu":
        diode = Diode(float(rng.choice([0.03, 0.05, 0.1])), float(rng.choice([0.003, 0.01, 0.03])))
    stage = MondeqStage(weight, inputs, bias, float(rng.uniform(0.3, 0.95) * smallest), activation, diode)
    return MondeqNetwork(f"compilable_{seed}", input_size, (stage, DenseReadout(out_weight, out_bias)))


def random_inputs(seed: int, input_size: int, rows: int) -> np.ndarray:
    """(rows, input_size) signed inputs in [−s, s], s drawn from {0.5, 1, 2}."""
    rng = np.random.default_rng(seed)
    return rng.choice([0.5, 1.0, 2.0]) * rng.uniform(-1.0, 1.0, (rows, input_size))
