"""The `mondeq-network/1` file (ARCHITECTURE §3b): loading, realizability, writing.

A stage is a resistor–diode network: node voltages z obey L z = B x + b_c + i_D(z) with L
a symmetric conductance matrix (coupling, ground, input and bias-rail conductances), so for
any step α the file's W = I − αL, U = αB, b = α·b_c. That circuit exists exactly when W is
symmetric with non-negative off-diagonals and every row leaves a non-negative ground
conductance (diagonal dominance); the margin m > 0 on λ_min(I − W) makes the fixed point
unique and the solvers fast. The validator refuses anything else with the reason, so every
later flow may assume a realizable network.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np

SCHEMA = "mondeq-network/1"
ACTIVATIONS = ("relu", "diode_relu")
#: The activation a SKY130 pd2nw diode induces at 0.5 V per unit: softness τ (units) and
#: scale κ (units) of z − a = κ·exp(−z/τ). The compile realises any τ, κ by choosing the
#: volts per unit and the clamp rail voltage.
DEFAULT_SOFTNESS = 0.05
DEFAULT_SCALE = 0.01
#: Relative tolerance of the realizability checks: what float rounding of a trained,
#: exactly realizable network can leave (a YAML round trip itself is exact).
TOLERANCE = 1e-9
REMEDY = "train with `bmru train mondeq`, which keeps networks realizable"


def _frozen_array(values, ndim: int) -> np.ndarray:
    array = np.array(values, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"expected a {ndim}-d array, got shape {array.shape}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Diode:
    """The diode ReLU z − a = κ·exp(−z/τ): softness τ > 0 and scale κ > 0 (units)."""

    softness: float = DEFAULT_SOFTNESS
    scale: float = DEFAULT_SCALE


@dataclass(frozen=True, eq=False)
class MondeqStage:
    """z = σ(W z + U x + b), the unique fixed point (σ = ReLU or the diode ReLU)."""

    weight: np.ndarray
    input_weight: np.ndarray
    bias: np.ndarray
    monotone_margin: float
    activation: str = "relu"
    diode: Diode | None = None  # set exactly when activation is diode_relu
    kind = "mondeq"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _frozen_array(self.weight, 2))
        object.__setattr__(self, "input_weight", _frozen_array(self.input_weight, 2))
        object.__setattr__(self, "bias", _frozen_array(self.bias, 1))
        if self.activation == "diode_relu" and self.diode is None:
            object.__setattr__(self, "diode", Diode())

    @property
    def size(self) -> int:
        return self.weight.shape[0]


@dataclass(frozen=True, eq=False)
class DenseReadout:
    """y = W z + b (activation none): the last layer only."""

    weight: np.ndarray
    bias: np.ndarray
    activation: str = "none"
    kind = "dense"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _frozen_array(self.weight, 2))
        object.__setattr__(self, "bias", _frozen_array(self.bias, 1))

    @property
    def size(self) -> int:
        return self.weight.shape[0]


Layer = Union[MondeqStage, DenseReadout]


@dataclass(frozen=True, eq=False)
class MondeqNetwork:
    """A validated network; `source` (the file it came from) only labels error messages."""

    name: str
    input_size: int
    layers: tuple[Layer, ...]
    source: str = field(default="<network>", compare=False)

    @property
    def output_size(self) -> int:
        return self.layers[-1].size

    @property
    def stages(self) -> tuple[MondeqStage, ...]:
        return tuple(layer for layer in self.layers if isinstance(layer, MondeqStage))


def realizability_problem(weight: np.ndarray, input_weight: np.ndarray, bias: np.ndarray,
                          margin: float) -> tuple[str, str] | None:
    """(field suffix, problem) of the first rule a stage breaks, or None when a
    resistor–diode circuit realises it. Shared by the validator and the trainer's check."""
    weight, input_weight, bias = (np.asarray(a, dtype=np.float64)
                                  for a in (weight, input_weight, bias))
    scale = max(1.0, float(np.abs(weight).max(initial=0.0)))
    asymmetry = np.abs(weight - weight.T)
    if asymmetry.max(initial=0.0) > TOLERANCE * scale:
        i, j = np.unravel_index(int(np.argmax(asymmetry)), asymmetry.shape)
        return (f"weight[{i}][{j}]", f"{weight[i, j]:.17g} differs from weight[{j}][{i}] = "
                f"{weight[j, i]:.17g}: a resistor network's W = I − αL is symmetric; {REMEDY}")
    off = weight - np.diag(np.diag(weight))
    if (off < 0).any():
        i, j = np.argwhere(off < 0)[0]
        return (f"weight[{i}][{j}]", f"{weight[i, j]:.17g} is negative: an off-diagonal weight "
                f"is a coupling conductance, >= 0; {REMEDY}")
    ground = (1.0 - np.diag(weight) - off.sum(axis=1) - np.abs(input_weight).sum(axis=1)
              - np.abs(bias))
    row_scale = (1.0 + np.abs(np.diag(weight)) + off.sum(axis=1)
                 + np.abs(input_weight).sum(axis=1) + np.abs(bias))
    short = ground < -TOLERANCE * row_scale
    if short.any():
        i = int(np.argmax(short))
        return (f"weight[{i}][{i}]", f"row {i} needs a ground conductance of {ground[i]:.6g} < 0 "
                f"(1 − W_ii − Σ_j≠i W_ij − Σ_k |U_ik| − |b_i|): not diagonally dominant; {REMEDY}")
    smallest = float(np.linalg.eigvalsh(np.eye(len(weight)) - (weight + weight.T) / 2)[0])
    if smallest < margin - TOLERANCE * scale:
        return ("monotone_margin", f"λ_min(I − W) = {smallest:.6g} is below the margin "
                f"{margin:.6g}: the fixed point is not guaranteed unique; {REMEDY}")
    return None
