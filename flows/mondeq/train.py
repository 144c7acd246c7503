"""Training resistor–diode monDEQs so that every step stays realizable.

A stage is parametrized by its circuit, in conductance units of 1/α (α fixed): coupling
conductances c_ij = softplus(θ_ij) (symmetric, >= 0), signed input and bias conductances
U and b (a negative one is a conductance to the inverted input or to the −1 rail) and a
ground conductance γ_i = m + softplus(φ_i). The stage's W is then
W = I − (D − C) with D_ii = Σ_j c_ij + Σ_k |U_ik| + |b_i| + γ_i: symmetric, off-diagonals
>= 0, every row leaving γ_i >= m to ground, and λ_min(I − W) >= min γ_i >= m because the
coupling Laplacian is positive semidefinite. No projection is ever needed. The forward
pass is the fixed point and the backward the implicit gradient (`flows.mondeq.model`).

Task `digits`: scikit-learn's bundled 8×8 digits (1797 images, no download), pixels
scaled to [0, 1] (x = value/16), a fixed stratified split (25 % test, split seed 0,
independent of the training seed), one stage of `hidden` nodes and a dense readout of 10
trained with cross-entropy on the readout.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flows.mondeq.model import backward, run_network
from flows.mondeq.network import (DEFAULT_SCALE, DEFAULT_SOFTNESS, SCHEMA, MondeqNetwork,
                                  parse_network)

TASKS = ("digits",)
DEFAULTS = {"digits": {"hidden": 64, "epochs": 60, "lr": 0.03, "batch": 32}}
MARGIN = 0.05
#: The written network's parameters are multiples of this step (W_ii rounded down, which
#: only adds ground conductance, so rounding keeps it realizable).
STEP = 1e-6
SPLIT_SEED = 0
TEST_FRACTION = 0.25


def softplus(v: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, v)


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(v / 2))


@dataclass
class StageParams:
    """One stage's circuit: θ (coupling, upper triangle used), U, b, φ (ground)."""

    theta: np.ndarray
    input_weight: np.ndarray
    bias: np.ndarray
    phi: np.ndarray

    def matrices(self, margin: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(W, U, b) of the stage: realizable with margin `margin` by construction."""
        coupling = np.triu(softplus(self.theta), 1)
        coupling = coupling + coupling.T
        ground = margin + softplus(self.phi)
        diagonal = (coupling.sum(axis=1) + np.abs(self.input_weight).sum(axis=1)
                    + np.abs(self.bias) + ground)
        return coupling + np.diag(1.0 - diagonal), self.input_weight, self.bias

    def gradients(self, g: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Chain rule from the stage's (symmetrized) ∂L/∂W, ∂L/∂U, ∂L/∂b to the circuit
        parameters: c_ij sits at W_ij and W_ji and is subtracted from W_ii and W_jj."""
        gw = g["weight"]
        diag = np.diag(gw)
        dc = 2 * gw - diag[:, None] - diag[None, :]
        return {"theta": np.triu(dc * sigmoid(self.theta), 1),
                "input_weight": g["input_weight"] - diag[:, None] * np.sign(self.input_weight),
                "bias": g["bias"] - diag * np.sign(self.bias),
                "phi": -diag * sigmoid(self.phi)}


def build_network(name: str, stage: StageParams, readout: tuple[np.ndarray, np.ndarray],
                  activation: str, margin: float = MARGIN, step: float | None = None) -> MondeqNetwork:
    """The validated network of the current parameters; with `step`, every number a
    multiple of it (the diagonal rounded down: more ground, still realizable)."""
    weight, input_weight, bias = stage.matrices(margin)
    out_weight, out_bias = readout
    if step is not None:
        def near(a):
            return np.round(np.asarray(a) / step) * step
        off = near(weight - np.diag(np.diag(weight)))
        input_weight, bias, out_weight, out_bias = map(near, (input_weight, bias, out_weight, out_bias))
        ground = margin + softplus(stage.phi)
        diagonal = off.sum(axis=1) + np.abs(input_weight).sum(axis=1) + np.abs(bias) + ground
        weight = off + np.diag(np.floor((1.0 - diagonal) / step) * step)
    entry = {"kind": "mondeq", "weight": weight.tolist(), "input_weight": input_weight.tolist(),
             "bias": bias.tolist(), "monotone_margin": margin, "activation": activation}
    if activation == "diode_relu":
        entry["diode"] = {"softness": DEFAULT_SOFTNESS, "scale": DEFAULT_SCALE}
    data = {"schema": SCHEMA, "name": name, "input_size": input_weight.shape[1],
            "layers": [entry, {"kind": "dense", "weight": out_weight.tolist(),
                               "bias": out_bias.tolist(), "activation": "none"}]}
    return parse_network(data, f"<trained {name}>")  # the validator checks realizability


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train x, train labels, test x, test labels): x in [0, 1], the fixed split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    data = load_digits()
    x = data.data / 16.0
    train_x, test_x, train_y, test_y = train_test_split(
        x, data.target, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=data.target)
    return train_x, train_y, test_x, test_y


def _softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean loss, its gradient with respect to the logits)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = float(-np.log(p[rows, labels] + 1e-300).mean())
    p[rows, labels] -= 1.0
    return loss, p / len(labels)


class _Adam:
    def __init__(self, params: dict[str, np.ndarray], lr: float):
        self.lr, self.t = lr, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
        self.t += 1
        for key, g in grads.items():
            self.m[key] = 0.9 * self.m[key] + 0.1 * g
            self.v[key] = 0.999 * self.v[key] + 0.001 * g * g
            m_hat = self.m[key] / (1 - 0.9 ** self.t)
            v_hat = self.v[key] / (1 - 0.999 ** self.t)
            params[key] -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)


def accuracy(network: MondeqNetwork, x: np.ndarray, labels: np.ndarray,
             method: str = "peaceman-rachford") -> float:
    return float((run_network(network, x, method).outputs.argmax(axis=1) == labels).mean())


def train(task: str = "digits", hidden: int | None = None, activation: str = "relu",
          epochs: int | None = None, seed: int = 0, lr: float | None = None,
          batch: int | None = None, train_rows: int | None = None,
          progress=None) -> tuple[MondeqNetwork, dict]:
    """Train on `task`; returns the written (rounded, validated) network and metrics
    {train_accuracy, test_accuracy} of that network. Adam with cosine decay over shuffled
    mini-batches; `train_rows` trains on a prefix of the training split (smoke tests);
    `progress(epoch, mean loss)` after each epoch. Same arguments, same network."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    settings = dict(DEFAULTS[task])
    for key, value in (("hidden", hidden), ("epochs", epochs), ("lr", lr), ("batch", batch)):
        if value is not None:
            settings[key] = value
    train_x, train_y, test_x, test_y = digits_split()
    if train_rows is not None:
        train_x, train_y = train_x[:train_rows], train_y[:train_rows]
    rng = np.random.default_rng(seed)
    n, inputs, classes = settings["hidden"], train_x.shape[1], 10
    params = {"theta": rng.normal(-4.0, 0.5, (n, n)),
              "input_weight": rng.normal(0.0, 1.0 / math.sqrt(inputs), (n, inputs)),
              "bias": rng.normal(0.0, 0.1, n), "phi": np.full(n, -1.0),
              "out_weight": rng.normal(0.0, 1.0 / math.sqrt(n), (classes, n)),
              "out_bias": np.zeros(classes)}
    adam = _Adam(params, settings["lr"])
    steps = settings["epochs"] * math.ceil(len(train_x) / settings["batch"])
    done = 0

    def current(step=None) -> tuple[StageParams, MondeqNetwork]:
        stage = StageParams(params["theta"], params["input_weight"], params["bias"], params["phi"])
        return stage, build_network(task, stage, (params["out_weight"], params["out_bias"]),
                                    activation, step=step)

    for epoch in range(settings["epochs"]):
        order = rng.permutation(len(train_x))
        total = 0.0
        for start in range(0, len(order), settings["batch"]):
            rows = order[start:start + settings["batch"]]
            stage, net = current()
            x = train_x[rows]
            trace = run_network(net, x)
            loss, grad_logits = _softmax_cross_entropy(trace.outputs, train_y[rows])
            grads = backward(net, x, trace, grad_logits)
            flat = stage.gradients(grads[0])
            flat["out_weight"], flat["out_bias"] = grads[1]["weight"], grads[1]["bias"]
            rate = settings["lr"] * 0.5 * (1 + math.cos(math.pi * done / steps))
            adam.step(params, flat, rate)
            done += 1
            total += loss * len(rows)
        if progress is not None:
            progress(epoch, total / len(train_x))
    network = current(step=STEP)[1]
    metrics = {"train_accuracy": accuracy(network, train_x, train_y),
               "test_accuracy": accuracy(network, test_x, test_y)}
    return network, metrics

