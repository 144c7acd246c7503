"""The `bmru-network/1` file and input-sequence CSVs: loading, validation, writing.

Every command that reads a network or a sequence goes through this module, so a bad file
is always reported the same way: one `InputError` naming the file, the field (e.g.
`layers[2].beta_hi[1]`) and the problem. A validated network is a tree of frozen
dataclasses holding read-only float64 numpy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np

from flows.netfile import (Validator, frozen_array, parse_yaml, read_text, yaml_list,
                           yaml_number, yaml_string)

SCHEMA = "bmru-network/1"
ACTIVATIONS = ("relu", "none")

_TOP_KEYS = ("schema", "name", "unit_current", "input_size", "layers")
_LAYER_KEYS = {
    "dense": ("kind", "weight", "bias", "activation", "skip_from"),
    "bmru": ("kind", "weight", "bias", "alpha", "beta_lo", "beta_hi", "skip_from"),
}
_REQUIRED_LAYER_KEYS = {"dense": ("weight",), "bmru": ("weight", "alpha", "beta_lo", "beta_hi")}


@dataclass(frozen=True, eq=False)
class DenseLayer:
    """y = ReLU(W x + b) (or W x + b with activation 'none'), plus y[skip_from] if set."""

    weight: np.ndarray
    bias: np.ndarray
    activation: str = "relu"
    skip_from: int | None = None
    kind = "dense"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", frozen_array(self.weight, 2))
        object.__setattr__(self, "bias", frozen_array(self.bias, 1))

    @property
    def size(self) -> int:
        return self.weight.shape[0]


@dataclass(frozen=True, eq=False)
class BmruLayer:
    """First-quadrant BMRU: ĥ = ReLU(W x + b); high (α) above β_hi, low below β_lo, else hold."""

    weight: np.ndarray
    bias: np.ndarray
    alpha: np.ndarray
    beta_lo: np.ndarray
    beta_hi: np.ndarray
    skip_from: int | None = None
    kind = "bmru"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", frozen_array(self.weight, 2))
        for name in ("bias", "alpha", "beta_lo", "beta_hi"):
            object.__setattr__(self, name, frozen_array(getattr(self, name), 1))

    @property
    def size(self) -> int:
        return self.weight.shape[0]


Layer = Union[DenseLayer, BmruLayer]


@dataclass(frozen=True, eq=False)
class Network:
    """A validated network; `source` (the file it came from) only labels error messages."""

    name: str
    unit_current: float
    input_size: int
    layers: tuple[Layer, ...]
    source: str = field(default="<network>", compare=False)

    @property
    def output_size(self) -> int:
        return self.layers[-1].size

    def size_of(self, index: int) -> int:
        """Output size of layer `index`; -1 is the network input."""
        return self.input_size if index == -1 else self.layers[index].size

    def to_dict(self) -> dict:
        """Plain-Python form in schema order (what `to_yaml` writes)."""
        layers = []
        for layer in self.layers:
            entry: dict[str, Any] = {"kind": layer.kind, "weight": layer.weight.tolist(),
                                     "bias": layer.bias.tolist()}
            if isinstance(layer, DenseLayer):
                entry["activation"] = layer.activation
            else:
                entry.update(alpha=layer.alpha.tolist(), beta_lo=layer.beta_lo.tolist(),
                             beta_hi=layer.beta_hi.tolist())
            if layer.skip_from is not None:
                entry["skip_from"] = layer.skip_from
            layers.append(entry)
        return {"schema": SCHEMA, "name": self.name, "unit_current": float(self.unit_current),
                "input_size": self.input_size, "layers": layers}

    def to_yaml(self) -> str:
        """Deterministic YAML text: same network, same bytes; floats round-trip exactly."""
        data = self.to_dict()
        lines = [f"schema: {SCHEMA}", f"name: {yaml_string(self.name)}",
                 f"unit_current: {yaml_number(data['unit_current'])}",
                 f"input_size: {self.input_size}", "layers:"]
        for entry in data["layers"]:
            lines.append(f"  - kind: {entry['kind']}")
            lines.append("    weight:")
            lines.extend(f"      - {yaml_list(row)}" for row in entry["weight"])
            for key in ("bias", "alpha", "beta_lo", "beta_hi"):
                if key in entry:
                    lines.append(f"    {key}: {yaml_list(entry[key])}")
            for key in ("activation", "skip_from"):
                if key in entry:
                    lines.append(f"    {key}: {entry[key]}")
        return "\n".join(lines) + "\n"


def load_network(path: str | Path) -> Network:
    """Read and validate a `bmru-network/1` YAML file."""
    path = Path(path)
    return network_from_yaml(read_text(path), str(path))


def network_from_yaml(text: str, source: str = "<network>") -> Network:
    """Validate YAML text; errors name `source`."""
    return parse_network(parse_yaml(text, source), source)


def parse_network(data: Any, source: str = "<network>") -> Network:
    """Validate already-parsed data (e.g. `Network.to_dict()` of a trained network)."""
    return _Validator(source).network(data)


_ARRAY_FIELDS = ("weight", "bias", "alpha", "beta_lo", "beta_hi")


def network_from_arrays(input_size: int, layers: Sequence[dict], name: str = "network",
                        unit_current: float = 1e-9, source: str | None = None) -> Network:
    """A validated `Network` from §3 layer dicts whose values may be numpy arrays
    (`{"kind": "dense", "weight": W, "bias": b, "activation": "relu"}`, `{"kind": "bmru",
    "weight": …, "bias": …, "alpha": …, "beta_lo": …, "beta_hi": …}`, optional
    `skip_from`), for weights trained in any framework. Raises `InputError` naming the
    field (and `source`), as for a network file."""
    plain = [{key: (np.asarray(value, dtype=float).tolist() if key in _ARRAY_FIELDS else value)
              for key, value in layer.items()} for layer in layers]
    return parse_network({"schema": SCHEMA, "name": name, "unit_current": unit_current,
                          "input_size": input_size, "layers": plain}, source or f"<arrays of {name}>")


class _Validator(Validator):
    """Walks the parsed YAML; every failure names the field path."""

    def network(self, data: Any) -> Network:
        self.top(data, SCHEMA)
        self.keys(data, _TOP_KEYS, _TOP_KEYS, None)
        name = self.name(data["name"])
        unit_current = self.number(data["unit_current"], "unit_current")
        if unit_current <= 0:
            raise self.fail("unit_current", f"{unit_current:g} A must be > 0")
        input_size = self.positive_int(data["input_size"], "input_size")
        raw_layers = data["layers"]
        if not isinstance(raw_layers, list) or not raw_layers:
            raise self.fail("layers", "must be a non-empty list of layers")
        sizes = [input_size]  # sizes[i + 1] is layer i's output size; sizes[0] the input
        layers = []
        for index, raw in enumerate(raw_layers):
            layer = self.layer(raw, index, sizes, is_last=index == len(raw_layers) - 1)
            layers.append(layer)
            sizes.append(layer.size)
        return Network(name, unit_current, input_size, tuple(layers), source=self.source)

    def layer(self, raw: Any, index: int, sizes: list[int], is_last: bool) -> Layer:
        prefix = f"layers[{index}]"
        if not isinstance(raw, dict):
            raise self.fail(prefix, "must be a mapping with a 'kind' field")
        kind = raw.get("kind")
        if not isinstance(kind, str) or kind not in _LAYER_KEYS:
            raise self.fail(f"{prefix}.kind", f"unknown layer kind {kind!r}; expected dense or bmru")
        self.keys(raw, _LAYER_KEYS[kind], _REQUIRED_LAYER_KEYS[kind], prefix)
        in_size = sizes[-1]
        weight = self.weight(raw["weight"], f"{prefix}.weight", in_size, index)
        size = weight.shape[0]
        bias = (self.vector(raw["bias"], f"{prefix}.bias", size) if "bias" in raw
                else np.zeros(size))
        skip_from = self.skip_from(raw.get("skip_from"), prefix, index, size, sizes)
        if kind == "dense":
            activation = raw.get("activation", "relu")
            if activation not in ACTIVATIONS:
                raise self.fail(f"{prefix}.activation", f"{activation!r} must be relu or none")
            if activation == "none" and not is_last:
                raise self.fail(f"{prefix}.activation",
                                "'none' is allowed only on the last layer: signals between "
                                "layers are non-negative currents")
            return DenseLayer(weight, bias, activation, skip_from)
        alpha = self.vector(raw["alpha"], f"{prefix}.alpha", size)
        beta_lo = self.vector(raw["beta_lo"], f"{prefix}.beta_lo", size)
        beta_hi = self.vector(raw["beta_hi"], f"{prefix}.beta_hi", size)
        for unit in range(size):
            if alpha[unit] <= 0:
                raise self.fail(f"{prefix}.alpha[{unit}]", f"{alpha[unit]:g} must be > 0")
            for name, values in (("beta_lo", beta_lo), ("beta_hi", beta_hi)):
                if values[unit] < 0:
                    raise self.fail(f"{prefix}.{name}[{unit}]",
                                    f"{values[unit]:g} is negative; thresholds must be >= 0")
            if beta_hi[unit] <= beta_lo[unit]:
                raise self.fail(f"{prefix}.beta_hi[{unit}]",
                                f"{beta_hi[unit]:g} must be greater than beta_lo[{unit}] = "
                                f"{beta_lo[unit]:g}")
        return BmruLayer(weight, bias, alpha, beta_lo, beta_hi, skip_from)

    def weight(self, value: Any, fieldname: str, in_size: int, index: int) -> np.ndarray:
        source = "the network input_size" if index == 0 else f"the output size of layers[{index - 1}]"
        return self.matrix(value, fieldname, in_size, source)

    def skip_from(self, value: Any, prefix: str, index: int, size: int,
                  sizes: list[int]) -> int | None:
        if value is None:
            return None
        fieldname = f"{prefix}.skip_from"
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(fieldname, f"{value!r} must be an integer layer index (-1 = input)")
        if not -1 <= value < index:
            earlier = f"an earlier layer (0 … {index - 1}) or " if index else ""
            raise self.fail(fieldname, f"{value} must be {earlier}-1 (the network input)")
        if sizes[value + 1] != size:
            what = "the network input" if value == -1 else f"layers[{value}]"
            raise self.fail(fieldname, f"{what} has size {sizes[value + 1]}, this layer {size}")
        return value
