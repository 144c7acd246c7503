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
from pathlib import Path
from typing import Any, Union

import numpy as np

from flows.netfile import (Validator, frozen_array, load_sequence, parse_yaml, read_text,
                           yaml_list, yaml_number, yaml_string)

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

_TOP_KEYS = ("schema", "name", "input_size", "layers")
_LAYER_KEYS = {
    "mondeq": ("kind", "weight", "input_weight", "bias", "monotone_margin", "activation", "diode"),
    "dense": ("kind", "weight", "bias", "activation"),
}
_REQUIRED_LAYER_KEYS = {"mondeq": ("weight", "input_weight", "monotone_margin"),
                        "dense": ("weight",)}
_DIODE_KEYS = ("softness", "scale")


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
        object.__setattr__(self, "weight", frozen_array(self.weight, 2))
        object.__setattr__(self, "input_weight", frozen_array(self.input_weight, 2))
        object.__setattr__(self, "bias", frozen_array(self.bias, 1))
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
        object.__setattr__(self, "weight", frozen_array(self.weight, 2))
        object.__setattr__(self, "bias", frozen_array(self.bias, 1))

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

    def to_yaml(self) -> str:
        return network_to_yaml(self)


def ground_conductance(weight: np.ndarray, input_weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Per node, what its diagonal leaves for a resistor to ground once the couplings,
    input and bias conductances are taken: 1 − W_ii − Σ_j≠i W_ij − Σ_k |U_ik| − |b_i|."""
    off = weight - np.diag(np.diag(weight))
    return 1.0 - np.diag(weight) - off.sum(axis=1) - np.abs(input_weight).sum(axis=1) - np.abs(bias)


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
    ground = ground_conductance(weight, input_weight, bias)
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


def network_to_yaml(network: MondeqNetwork) -> str:
    """Deterministic YAML text: same network, same bytes; floats round-trip exactly.
    Every field is written (bias, activation, the diode of a diode_relu stage)."""
    lines = [f"schema: {SCHEMA}", f"name: {yaml_string(network.name)}",
             f"input_size: {network.input_size}", "layers:"]
    for layer in network.layers:
        lines.append(f"  - kind: {layer.kind}")
        lines.append("    weight:")
        lines.extend(f"      - {yaml_list(row)}" for row in layer.weight.tolist())
        if isinstance(layer, MondeqStage):
            lines.append("    input_weight:")
            lines.extend(f"      - {yaml_list(row)}" for row in layer.input_weight.tolist())
        lines.append(f"    bias: {yaml_list(layer.bias.tolist())}")
        if isinstance(layer, MondeqStage):
            lines.append(f"    monotone_margin: {yaml_number(layer.monotone_margin)}")
        lines.append(f"    activation: {layer.activation}")
        if isinstance(layer, MondeqStage) and layer.diode is not None:
            lines.append(f"    diode: {{softness: {yaml_number(layer.diode.softness)}, "
                         f"scale: {yaml_number(layer.diode.scale)}}}")
    return "\n".join(lines) + "\n"


def load_network(path: str | Path) -> MondeqNetwork:
    """Read and validate a `mondeq-network/1` YAML file."""
    path = Path(path)
    return network_from_yaml(read_text(path), str(path))


def load_inputs(path: str | Path, network: MondeqNetwork) -> np.ndarray:
    """(rows, input_size) signed input rows of a CSV with header x0,…: one independent
    input per row."""
    return load_sequence(path, network.input_size, signed=True)


def network_from_yaml(text: str, source: str = "<network>") -> MondeqNetwork:
    """Validate YAML text; errors name `source`."""
    return parse_network(parse_yaml(text, source), source)


def parse_network(data: Any, source: str = "<network>") -> MondeqNetwork:
    """Validate already-parsed data (e.g. a trained network's fields)."""
    return _Validator(source).network(data)


class _Validator(Validator):
    """Walks the parsed YAML; every failure names the field path."""

    def network(self, data: Any) -> MondeqNetwork:
        self.top(data, SCHEMA)
        self.keys(data, _TOP_KEYS, _TOP_KEYS, None)
        name = self.name(data["name"])
        input_size = self.positive_int(data["input_size"], "input_size")
        raw_layers = data["layers"]
        if not isinstance(raw_layers, list) or not raw_layers:
            raise self.fail("layers", "must be a non-empty list of stages")
        layers: list[Layer] = []
        below = input_size
        for index, raw in enumerate(raw_layers):
            layer = self.layer(raw, index, below, is_last=index == len(raw_layers) - 1)
            layers.append(layer)
            below = layer.size
        return MondeqNetwork(name, input_size, tuple(layers), source=self.source)

    def layer(self, raw: Any, index: int, in_size: int, is_last: bool) -> Layer:
        prefix = f"layers[{index}]"
        if not isinstance(raw, dict):
            raise self.fail(prefix, "must be a mapping with a 'kind' field")
        kind = raw.get("kind")
        if not isinstance(kind, str) or kind not in _LAYER_KEYS:
            raise self.fail(f"{prefix}.kind", f"unknown layer kind {kind!r}; expected mondeq or dense")
        self.keys(raw, _LAYER_KEYS[kind], _REQUIRED_LAYER_KEYS[kind], prefix)
        source = "the network input_size" if index == 0 else f"the size of layers[{index - 1}]"
        if kind == "dense":
            if index == 0:
                raise self.fail(f"{prefix}.kind", "the first layer must be a mondeq stage; a "
                                                  "dense readout only follows stages")
            if not is_last:
                raise self.fail(f"{prefix}.kind", "a dense readout is allowed only as the last layer")
            weight = self.matrix(raw["weight"], f"{prefix}.weight", in_size, source)
            activation = raw.get("activation", "none")
            if activation != "none":
                raise self.fail(f"{prefix}.activation", f"{activation!r} must be none: the "
                                                        "readout is linear")
            return DenseReadout(weight, self.bias(raw, prefix, weight.shape[0]))
        input_weight = self.matrix(raw["input_weight"], f"{prefix}.input_weight", in_size, source)
        size = input_weight.shape[0]
        weight = self.matrix(raw["weight"], f"{prefix}.weight", size,
                             f"{prefix}.input_weight has {size} rows", rows=size)
        bias = self.bias(raw, prefix, size)
        margin = self.number(raw["monotone_margin"], f"{prefix}.monotone_margin")
        if margin <= 0:
            raise self.fail(f"{prefix}.monotone_margin",
                            f"{margin:g} must be > 0 (the fixed point is unique when I − W ⪰ mI)")
        activation = raw.get("activation", "relu")
        if activation not in ACTIVATIONS:
            raise self.fail(f"{prefix}.activation", f"{activation!r} must be relu or diode_relu")
        diode = self.diode(raw, prefix, activation)
        problem = realizability_problem(weight, input_weight, bias, margin)
        if problem is not None:
            raise self.fail(f"{prefix}.{problem[0]}", problem[1])
        return MondeqStage(weight, input_weight, bias, margin, activation, diode)

    def bias(self, raw: dict, prefix: str, size: int) -> np.ndarray:
        return self.vector(raw["bias"], f"{prefix}.bias", size) if "bias" in raw else np.zeros(size)

    def diode(self, raw: dict, prefix: str, activation: str) -> Diode | None:
        if "diode" not in raw:
            return Diode() if activation == "diode_relu" else None
        fieldname = f"{prefix}.diode"
        if activation != "diode_relu":
            raise self.fail(fieldname, "applies only to activation: diode_relu")
        value = raw["diode"]
        if not isinstance(value, dict):
            raise self.fail(fieldname, "must be a mapping {softness: τ, scale: κ}")
        self.keys(value, _DIODE_KEYS, (), fieldname)
        parameters = {}
        for key, default in (("softness", DEFAULT_SOFTNESS), ("scale", DEFAULT_SCALE)):
            number = self.number(value.get(key, default), f"{fieldname}.{key}")
            if number <= 0:
                raise self.fail(f"{fieldname}.{key}", f"{number:g} must be > 0")
            parameters[key] = number
        return Diode(**parameters)
