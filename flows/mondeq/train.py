"""Training resistor–diode monDEQs for the silicon: every step realizable, the result
compilable without loss.

A stage is parametrized by its circuit, in conductance units of 1/α (α fixed): coupling
conductances c_ij = softplus(θ_ij) (symmetric, >= 0), signed input and bias conductances
U and b (a negative one is a conductance to the inverted input or to the −1 rail) and a
ground conductance γ_i = m + softplus(φ_i) + λ_i. The stage's W is then
W = I − (D − C) with D_ii = Σ_j c_ij + Σ_k |U_ik| + |b_i| + γ_i: symmetric, off-diagonals
>= 0, every row leaving γ_i >= m to ground, and λ_min(I − W) >= min γ_i >= m because the
coupling Laplacian is positive semidefinite. No projection is needed for realizability.
The forward pass is the fixed point and the backward the implicit gradient
(`flows.mondeq.model`).

Two more rules make the network compile as trained (`flows.mondeq.mapping`):

* the readout's load is part of the diagonal: λ_k = (ρ_t / READOUT_SHARE)·Σ_j |Wo_jk|, so
  the mapping's readout share (READOUT_SHARE × the smallest ground/load) is about ρ_t
  (`READOUT_RATIO`) and the readout resistors ρ·|Wo| sit beside the others;
* every conductance (c, |U|, |b|, ρ_t·|Wo|, ρ_t·|bo|) is at most CONDUCTANCE_MAX; after the
  first phase (with an L1 penalty that favours few, large conductances) each one below
  CONDUCTANCE_MIN is pruned to 0 and the rest are fine-tuned inside
  [CONDUCTANCE_MIN, CONDUCTANCE_MAX] with their signs fixed. The box spans less than the
  resistor range, so the mapping drops nothing.

Task `digits`: scikit-learn's bundled 8×8 digits (1797 images, no download), pixels
scaled to [0, 1] (x = value/16), a fixed stratified split (25 % test, split seed 0,
independent of the training seed), one stage of `hidden` nodes and a dense readout of 10
trained with cross-entropy on the readout.

Task `digits4` (`train_in_the_loop`): digits 0–3 on 8 principal components, small enough
that every gradient can be measured on the compiled circuit in ngspice (hardware
linearization, `flows.mondeq.bench.hardware_gradient`), beside its software twin.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flows.optim import Adam
from flows.mondeq.mapping import READOUT_SHARE, map_network
from flows.mondeq.model import backward, run_network
from flows.mondeq.network import (DEFAULT_SCALE, DEFAULT_SOFTNESS, SCHEMA, MondeqNetwork,
                                  parse_network)
from pdk.passives import RESISTANCE_RANGE

TASKS = ("digits",)
DEFAULTS = {"digits": {"hidden": 64, "epochs": 60, "lr": 0.03, "batch": 32,
                       "finetune_epochs": 20, "l1": 1e-3}}
#: ρ_t: the readout resistors are ρ_t·|Wo| (× G); the node keeps ρ_t·Σ_j |Wo_jk| more to
#: ground than the readout takes, so the ground resistors stay beside the rest.
READOUT_RATIO = 0.25
#: The largest conductance (network units); the smallest kept is 1/SPAN of it, SPAN 25 %
#: inside the resistor range (200×) for a readout share above ρ_t and the rounding.
CONDUCTANCE_MAX = 8.0
SPAN = RESISTANCE_RANGE[1] / RESISTANCE_RANGE[0] / 1.25
CONDUCTANCE_MIN = CONDUCTANCE_MAX / SPAN
#: The ground floor m: twice CONDUCTANCE_MIN, since the mapping leaves a node at least half
#: its ground after the readout (READOUT_SHARE).
MARGIN = 2 * CONDUCTANCE_MIN
#: The written network's parameters are multiples of this step (W_ii rounded down, which
#: only adds ground conductance, so rounding keeps it realizable).
STEP = 1e-6
SPLIT_SEED = 0
TEST_FRACTION = 0.25
#: Fine-tuning's learning rate relative to the first phase's.
FINETUNE_LR = 0.3


def softplus(v: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, v)


def inverse_softplus(y: float) -> float:
    return float(np.log(np.expm1(y)))


def sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(v / 2))


def readout_load(out_weight: np.ndarray) -> np.ndarray:
    """λ_k: the ground each node reserves for the readout (ρ_t / READOUT_SHARE)·Σ_j |Wo_jk|."""
    return READOUT_RATIO / READOUT_SHARE * np.abs(out_weight).sum(axis=0)


@dataclass
class StageParams:
    """One stage's circuit: θ (coupling, upper triangle used), U, b, φ (ground); `keep`
    masks the couplings after pruning (None: all)."""

    theta: np.ndarray
    input_weight: np.ndarray
    bias: np.ndarray
    phi: np.ndarray
    keep: np.ndarray | None = None

    def coupling(self) -> np.ndarray:
        c = np.triu(softplus(self.theta), 1)
        if self.keep is not None:
            c = c * self.keep
        return c + c.T

    def matrices(self, margin: float, load: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(W, U, b) of the stage with `load` more ground per node: realizable with
        margin `margin` by construction."""
        coupling = self.coupling()
        ground = margin + softplus(self.phi) + load
        diagonal = (coupling.sum(axis=1) + np.abs(self.input_weight).sum(axis=1)
                    + np.abs(self.bias) + ground)
        return coupling + np.diag(1.0 - diagonal), self.input_weight, self.bias

    def gradients(self, g: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Chain rule from the stage's (symmetrized) ∂L/∂W, ∂L/∂U, ∂L/∂b to the circuit
        parameters: c_ij sits at W_ij and W_ji and is subtracted from W_ii and W_jj.
        `load`: ∂L/∂λ (λ is subtracted from W_ii)."""
        gw = g["weight"]
        diag = np.diag(gw)
        dc = 2 * gw - diag[:, None] - diag[None, :]
        theta = np.triu(dc * sigmoid(self.theta), 1)
        return {"theta": theta if self.keep is None else theta * self.keep,
                "input_weight": g["input_weight"] - diag[:, None] * np.sign(self.input_weight),
                "bias": g["bias"] - diag * np.sign(self.bias),
                "phi": -diag * sigmoid(self.phi), "load": -diag}


def build_network(name: str, stage: StageParams, readout: tuple[np.ndarray, np.ndarray],
                  activation: str, margin: float = MARGIN, step: float | None = None) -> MondeqNetwork:
    """The validated network of the current parameters (the readout's load in the
    diagonal); with `step`, every number a multiple of it (the diagonal rounded down:
    more ground, still realizable)."""
    out_weight, out_bias = readout
    load = readout_load(out_weight)
    weight, input_weight, bias = stage.matrices(margin, load)
    if step is not None:
        def near(a):
            return np.round(np.asarray(a) / step) * step
        off = near(weight - np.diag(np.diag(weight)))
        input_weight, bias, out_weight, out_bias = map(near, (input_weight, bias, out_weight, out_bias))
        ground = margin + softplus(stage.phi) + readout_load(out_weight)
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


def _stage(params: dict[str, np.ndarray], keep: np.ndarray | None) -> StageParams:
    return StageParams(params["theta"], params["input_weight"], params["bias"], params["phi"], keep)


def _flat_gradients(stage: StageParams, out_weight: np.ndarray,
                    grads: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """∂L/∂(every trained array) from the per-layer gradients (model or hardware): the
    readout weight also moves the diagonal through its load."""
    flat = stage.gradients(grads[0])
    load = flat.pop("load")
    flat["out_weight"] = (grads[1]["weight"] + load[None, :] * READOUT_RATIO / READOUT_SHARE
                          * np.sign(out_weight))
    flat["out_bias"] = grads[1]["bias"]
    return flat


def _scale(key: str) -> float:
    """Conductance per unit of a trained array: ρ_t for the readout's, 1 for the stage's."""
    return READOUT_RATIO if key.startswith("out_") else 1.0


def _bounds(key: str) -> tuple[float, float]:
    """(smallest kept, largest) magnitude of a trained array, in its own units."""
    return CONDUCTANCE_MIN / _scale(key), CONDUCTANCE_MAX / _scale(key)


def _l1(params: dict[str, np.ndarray], flat: dict[str, np.ndarray], weight: float) -> None:
    """Add the gradient of weight·Σ(every conductance): few, large resistors."""
    for key in ("input_weight", "bias", "out_weight", "out_bias"):
        flat[key] += weight * _scale(key) * np.sign(params[key])
    flat["theta"] += weight * np.triu(sigmoid(params["theta"]), 1)


def prune(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Masks of what is kept: a conductance below CONDUCTANCE_MIN is pruned (the mapping
    would drop it); kept signs of the signed arrays (−1, 0, +1), kept couplings (bool)."""
    masks = {key: np.sign(params[key]) * (np.abs(params[key]) >= _bounds(key)[0])
             for key in ("input_weight", "bias", "out_weight", "out_bias")}
    masks["theta"] = np.triu(softplus(params["theta"]) >= CONDUCTANCE_MIN, 1)
    return masks


def project(params: dict[str, np.ndarray], masks: dict[str, np.ndarray] | None, snap: bool = False) -> None:
    """In place: every conductance at most CONDUCTANCE_MAX; with masks, every kept one at
    least CONDUCTANCE_MIN with its sign and every pruned one 0 (θ of a pruned coupling is
    left alone: the mask removes it); with `snap` (no masks), each signed one onto the
    nearer of 0 and ±CONDUCTANCE_MIN when below it, every coupling at least CONDUCTANCE_MIN:
    every step's network compiles as it is."""
    for key in ("input_weight", "bias", "out_weight", "out_bias"):
        low, high = _bounds(key)
        if masks is not None:
            params[key][...] = masks[key] * np.clip(np.abs(params[key]), low, high)
            continue
        np.clip(params[key], -high, high, out=params[key])
        if snap:
            magnitude = np.abs(params[key])
            params[key][...] = np.sign(params[key]) * np.where(magnitude < low, (magnitude >= low / 2) * low,
                                                               magnitude)
    high = inverse_softplus(CONDUCTANCE_MAX)
    low = inverse_softplus(CONDUCTANCE_MIN) if masks is not None or snap else None
    np.clip(params["theta"], low, high, out=params["theta"])
    np.clip(params["phi"], None, high, out=params["phi"])


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


def accuracy(network: MondeqNetwork, x: np.ndarray, labels: np.ndarray,
             method: str = "peaceman-rachford") -> float:
    return float((run_network(network, x, method).outputs.argmax(axis=1) == labels).mean())


def train(task: str = "digits", hidden: int | None = None, activation: str = "relu",
          epochs: int | None = None, seed: int = 0, lr: float | None = None,
          batch: int | None = None, finetune_epochs: int | None = None, l1: float | None = None,
          train_rows: int | None = None, progress=None) -> tuple[MondeqNetwork, dict]:
    """Train on `task`; returns the written (rounded, validated) network and metrics of
    that network and of its mapping (`flows.mondeq.mapping`): train and test accuracy,
    the mapped network's test accuracy and argmax agreement, resistors and dropped terms.
    `epochs` with the L1 penalty `l1`, then prune and `finetune_epochs` inside the box
    (module docstring); Adam with cosine decay over shuffled mini-batches per phase;
    `train_rows` trains on a prefix of the training split (smoke tests);
    `progress(epoch, mean loss)` after each epoch. Same arguments, same network."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    settings = dict(DEFAULTS[task])
    for key, value in (("hidden", hidden), ("epochs", epochs), ("lr", lr), ("batch", batch),
                       ("finetune_epochs", finetune_epochs), ("l1", l1)):
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
    project(params, None)
    masks = None

    def current(step=None) -> tuple[StageParams, MondeqNetwork]:
        stage = _stage(params, None if masks is None else masks["theta"])
        return stage, build_network(task, stage, (params["out_weight"], params["out_bias"]),
                                    activation, step=step)

    def phase(epochs: int, rate: float, penalty: float, first_epoch: int) -> None:
        adam = Adam(params)
        steps = max(1, epochs * math.ceil(len(train_x) / settings["batch"]))
        done = 0
        for epoch in range(epochs):
            order = rng.permutation(len(train_x))
            total = 0.0
            for start in range(0, len(order), settings["batch"]):
                rows = order[start:start + settings["batch"]]
                stage, net = current()
                x = train_x[rows]
                trace = run_network(net, x)
                loss, grad_logits = _softmax_cross_entropy(trace.outputs, train_y[rows])
                flat = _flat_gradients(stage, params["out_weight"], backward(net, x, trace, grad_logits))
                if penalty:
                    _l1(params, flat, penalty)
                adam.step(params, flat, rate * 0.5 * (1 + math.cos(math.pi * done / steps)))
                project(params, masks)
                done += 1
                total += loss * len(rows)
            if progress is not None:
                progress(first_epoch + epoch, total / len(train_x))

    phase(settings["epochs"], settings["lr"], settings["l1"], 0)
    masks = prune(params)
    project(params, masks)
    phase(settings["finetune_epochs"], settings["lr"] * FINETUNE_LR, 0.0, settings["epochs"])
    network = current(step=STEP)[1]
    return network, {"train_accuracy": accuracy(network, train_x, train_y),
                     "test_accuracy": accuracy(network, test_x, test_y),
                     **mapped_metrics(network, test_x, test_y)}


def mapped_metrics(network: MondeqNetwork, x: np.ndarray, labels: np.ndarray) -> dict:
    """What the compile keeps of `network` on (x, labels): the mapped network's accuracy,
    its argmax agreement with the network, resistor and dropped counts."""
    mapping = map_network(network)
    mapped = run_network(mapping.mapped(), x).outputs.argmax(axis=1)
    summary = mapping.summary()
    return {"mapped_test_accuracy": float((mapped == labels).mean()),
            "mapped_agreement": float((mapped == run_network(network, x).outputs.argmax(axis=1)).mean()),
            "readout_ratio": mapping.readout_ratio,
            "resistors": summary["resistors"], "dropped": summary["dropped"]}


# --- hardware in the loop ---------------------------------------------------------------

#: The small task of hardware-in-the-loop training: digits 0–3, 8 principal components.
LOOP_TASK = "digits4"
SMALL_CLASSES = 4
SMALL_INPUTS = 8
LOOP_DEFAULTS = {"hidden": 8, "steps": 80, "batch": 100, "lr": 0.05}


def small_digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """digits 0–3 of the fixed split, each image reduced to its first SMALL_INPUTS principal
    components of the training rows (each component's sign fixed by its largest entry),
    scaled so the training rows span [−1, 1] (test rows clipped to it): signed inputs, so
    the circuit needs inverted input copies."""
    train_x, train_y, test_x, test_y = digits_split()
    train_x, train_y = train_x[train_y < SMALL_CLASSES], train_y[train_y < SMALL_CLASSES]
    test_x, test_y = test_x[test_y < SMALL_CLASSES], test_y[test_y < SMALL_CLASSES]
    mean = train_x.mean(axis=0)
    components = np.linalg.svd(train_x - mean, full_matrices=False)[2][:SMALL_INPUTS]
    components *= np.sign(components[np.arange(SMALL_INPUTS), np.abs(components).argmax(axis=1)])[:, None]
    scale = np.abs((train_x - mean) @ components.T).max()
    reduce = lambda x: np.clip((x - mean) @ components.T / scale, -1.0, 1.0)  # noqa: E731
    return reduce(train_x), train_y, reduce(test_x), test_y


def train_in_the_loop(hardware: bool = True, hidden: int | None = None, steps: int | None = None,
                      batch: int | None = None, lr: float | None = None, seed: int = 0,
                      progress=None) -> tuple[MondeqNetwork, dict]:
    """Train a diode_relu network on `small_digits_split` with L = ½·mean Σ_j (y_j − t_j)²
    (t one-hot): with `hardware`, every gradient is `bench.hardware_gradient` measured on
    the circuit `circuit.build_circuit` compiles from the current parameters; otherwise the
    model's implicit gradient (the software twin, same seed, same batches). Adam with
    cosine decay, `steps` mini-batches; the parametrization is the trainer's (realizable,
    every conductance snapped into the box or to 0 after each step, so
    the mapping drops nothing). Metrics: the model's and the circuit's (ngspice
    operating points) test accuracy and the wall time; `progress(step, loss)`."""
    import time

    from flows.mondeq.bench import hardware_gradient, operating_points
    from flows.mondeq.circuit import build_circuit
    from flows.mondeq.model import gradient

    settings = dict(LOOP_DEFAULTS)
    for key, value in (("hidden", hidden), ("steps", steps), ("batch", batch), ("lr", lr)):
        if value is not None:
            settings[key] = value
    started = time.monotonic()
    train_x, train_y, test_x, test_y = small_digits_split()
    targets = np.eye(SMALL_CLASSES)[train_y]
    rng = np.random.default_rng(seed)
    n = settings["hidden"]
    params = {"theta": rng.normal(-2.0, 0.5, (n, n)),
              "input_weight": rng.normal(0.0, 1.0, (n, SMALL_INPUTS)),
              "bias": rng.normal(0.0, 0.3, n), "phi": np.full(n, -1.0),
              "out_weight": rng.normal(0.0, 2.0 / math.sqrt(n), (SMALL_CLASSES, n)),
              "out_bias": np.full(SMALL_CLASSES, 1.0 / SMALL_CLASSES / READOUT_RATIO)}
    project(params, None, snap=True)
    adam = Adam(params)
    name = "digits4_hardware" if hardware else "digits4_software"

    def network() -> MondeqNetwork:
        return build_network(name, _stage(params, None), (params["out_weight"], params["out_bias"]),
                             "diode_relu")

    for step in range(settings["steps"]):
        rows = rng.choice(len(train_x), settings["batch"], replace=False)
        net = network()
        if hardware:
            measured = hardware_gradient(build_circuit(net), train_x[rows], targets[rows])
            loss, layers = measured.loss, measured.layers
        else:
            loss, layers = gradient(net, train_x[rows], targets[rows])
        flat = _flat_gradients(_stage(params, None), params["out_weight"], layers)
        adam.step(params, flat, settings["lr"] * 0.5 * (1 + math.cos(math.pi * step / settings["steps"])))
        project(params, None, snap=True)
        if progress is not None:
            progress(step, loss)
    net = build_network(name, _stage(params, None), (params["out_weight"], params["out_bias"]),
                        "diode_relu", step=STEP)
    circuit = build_circuit(net)
    circuit_labels = operating_points(circuit, test_x).y.argmax(axis=1)
    return net, {"test_accuracy": accuracy(net, test_x, test_y),
                 "circuit_test_accuracy": float((circuit_labels == test_y).mean()),
                 "dropped": len(circuit.mapping.dropped), "resistors": len(circuit.mapping.elements),
                 "seconds": time.monotonic() - started}
