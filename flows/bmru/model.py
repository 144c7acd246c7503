"""Reference model: the FQ-BMRU network in numpy, exactly as ARCHITECTURE §3.

Every later flow compares a circuit against this model, so it keeps all intermediate
traces. The BMRU recurrence h_t = a_t·h_{t-1} + b_t (a_t = 1 on hold, b_t = α on force
high) runs either as a sequential loop or as a log-depth associative scan; both give
bit-identical results because a_t ∈ {0, 1} and b_t ∈ {0, α}.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.bmru.network import BmruLayer, DenseLayer, Network

METHODS = ("scan", "loop")


@dataclass(frozen=True, eq=False)
class ModelTrace:
    """Per-layer traces, each shaped like the inputs: (steps, size) or (batch, steps, size).

    pre_activations: W x + b (before any ReLU);
    activations: the layer's own output (ReLU / linear for dense, the state h for BMRU);
    outputs: activations plus the skip input, i.e. what the next layer receives.
    """

    pre_activations: tuple[np.ndarray, ...]
    activations: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]

    @property
    def output(self) -> np.ndarray:
        """The network's output trace (last layer)."""
        return self.outputs[-1]


def bmru_gates(layer: BmruLayer, hidden_drive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-step recurrence coefficients (a, b) from ĥ: force high → (0, α),
    force low → (0, 0), hold → (1, 0)."""
    high = hidden_drive > layer.beta_hi
    low = hidden_drive < layer.beta_lo
    hold = ~(high | low)
    return hold.astype(np.float64), np.where(high, layer.alpha, 0.0)


def scan_recurrence(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """h_t = a_t h_{t-1} + b_t with h_{-1} = 0, along axis -2 (time), as a Hillis–Steele
    inclusive scan: ceil(log2 T) vectorised steps of (a1,b1)∘(a2,b2) = (a1·a2, a2·b1 + b2)."""
    a, b = a.copy(), b.copy()
    steps = a.shape[-2]
    offset = 1
    while offset < steps:
        earlier_a, earlier_b = a[..., :-offset, :], b[..., :-offset, :]
        later_a, later_b = a[..., offset:, :], b[..., offset:, :]
        new_a = earlier_a * later_a
        new_b = later_a * earlier_b + later_b
        a[..., offset:, :], b[..., offset:, :] = new_a, new_b
        offset *= 2
    return b


def loop_recurrence(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The same recurrence, one time step after another."""
    h = np.empty_like(b)
    state = np.zeros(b.shape[:-2] + b.shape[-1:])
    for t in range(b.shape[-2]):
        state = a[..., t, :] * state + b[..., t, :]
        h[..., t, :] = state
    return h


def run_network(network: Network, inputs: np.ndarray, method: str = "scan") -> ModelTrace:
    """Run `inputs` ((steps, input_size) or (batch, steps, input_size), software units)
    through the network; `method` picks the BMRU recurrence ('scan' or 'loop')."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim not in (2, 3) or x.shape[-1] != network.input_size:
        raise ValueError(f"inputs must be (steps, {network.input_size}) or "
                         f"(batch, steps, {network.input_size}), got {x.shape}")
    recurrence = scan_recurrence if method == "scan" else loop_recurrence
    pre_activations, activations, outputs = [], [], []
    signal = x
    for layer in network.layers:
        pre = signal @ layer.weight.T + layer.bias
        if isinstance(layer, DenseLayer):
            own = pre if layer.activation == "none" else np.maximum(pre, 0.0)
        else:
            a, b = bmru_gates(layer, np.maximum(pre, 0.0))
            own = recurrence(a, b)
        out = own if layer.skip_from is None else own + (x if layer.skip_from == -1
                                                         else outputs[layer.skip_from])
        pre_activations.append(pre)
        activations.append(own)
        outputs.append(out)
        signal = out
    return ModelTrace(tuple(pre_activations), tuple(activations), tuple(outputs))


def threshold_margin(network: Network, trace: ModelTrace) -> float:
    """Smallest distance (software units) from any BMRU drive ĥ to either of its
    thresholds over the whole trace: how much error a circuit may add before some
    unit switches differently. Infinite for a network without BMRU layers."""
    margin = np.inf
    for layer, pre in zip(network.layers, trace.pre_activations):
        if isinstance(layer, BmruLayer):
            drive = np.maximum(pre, 0.0)
            margin = min(margin, float(np.abs(drive - layer.beta_lo).min()),
                         float(np.abs(drive - layer.beta_hi).min()))
    return margin
