"""The `bmru-network/1` file and input-sequence CSVs: loading, validation, writing.

Every command that reads a network or a sequence goes through this module, so a bad file
is always reported the same way: one `InputError` naming the file, the field (e.g.
`layers[2].beta_hi[1]`) and the problem. A validated network is a tree of frozen
dataclasses holding read-only float64 numpy arrays.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
import yaml

from flows.errors import InputError

SCHEMA = "bmru-network/1"
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*\Z")
#: Cell and file names grow from the network's name (`<name>_l3_bmru.svg`); 64 characters
#: keep every one far below the 255-byte file-name limit.
MAX_NAME_LENGTH = 64
ACTIVATIONS = ("relu", "none")

_TOP_KEYS = ("schema", "name", "unit_current", "input_size", "layers")
_LAYER_KEYS = {
    "dense": ("kind", "weight", "bias", "activation", "skip_from"),
    "bmru": ("kind", "weight", "bias", "alpha", "beta_lo", "beta_hi", "skip_from"),
}
_REQUIRED_LAYER_KEYS = {"dense": ("weight",), "bmru": ("weight", "alpha", "beta_lo", "beta_hi")}


def _frozen_array(values: Any, ndim: int) -> np.ndarray:
    array = np.array(values, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"expected a {ndim}-d array, got shape {array.shape}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class DenseLayer:
    """y = ReLU(W x + b) (or W x + b with activation 'none'), plus y[skip_from] if set."""

    weight: np.ndarray
    bias: np.ndarray
    activation: str = "relu"
    skip_from: int | None = None
    kind = "dense"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _frozen_array(self.weight, 2))
        object.__setattr__(self, "bias", _frozen_array(self.bias, 1))

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
        object.__setattr__(self, "weight", _frozen_array(self.weight, 2))
        for name in ("bias", "alpha", "beta_lo", "beta_hi"):
            object.__setattr__(self, name, _frozen_array(getattr(self, name), 1))

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
        lines = [f"schema: {SCHEMA}", f"name: {_yaml_string(self.name)}",
                 f"unit_current: {_yaml_number(data['unit_current'])}",
                 f"input_size: {self.input_size}", "layers:"]
        for entry in data["layers"]:
            lines.append(f"  - kind: {entry['kind']}")
            lines.append("    weight:")
            lines.extend(f"      - {_yaml_list(row)}" for row in entry["weight"])
            for key in ("bias", "alpha", "beta_lo", "beta_hi"):
                if key in entry:
                    lines.append(f"    {key}: {_yaml_list(entry[key])}")
            for key in ("activation", "skip_from"):
                if key in entry:
                    lines.append(f"    {key}: {entry[key]}")
        return "\n".join(lines) + "\n"


def _yaml_number(value: float) -> str:
    """Shortest round-trip repr, with a '.' before any exponent so that YAML 1.1 readers
    (PyYAML) see a float rather than a string."""
    text = repr(float(value))
    mantissa, sep, exponent = text.partition("e")
    if sep and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


def _yaml_string(text: str) -> str:
    """Plain when YAML reads it back as the same string; quoted when it would not
    (a network named `on` or `null` would otherwise load as a bool or None)."""
    return text if yaml.load(text, Loader=_Loader) == text else f'"{text}"'


def _yaml_list(values: list[float]) -> str:
    return "[" + ", ".join(_yaml_number(v) for v in values) + "]"


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads `1e-9` (no dot) as a float, as YAML 1.2 and users do."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # spreadsheets prepend a BOM
    except FileNotFoundError:
        raise InputError(path, None, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, None, "is a directory, expected a file") from None
    except UnicodeDecodeError:
        raise InputError(path, None, "not a UTF-8 text file") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read: {exc.strerror}") from None


def load_network(path: str | Path) -> Network:
    """Read and validate a `bmru-network/1` YAML file."""
    path = Path(path)
    return network_from_yaml(_read_text(path), str(path))


def network_from_yaml(text: str, source: str = "<network>") -> Network:
    """Validate YAML text; errors name `source`."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(source, None, _one_line(f"not valid YAML: {problem}{where}")) from None
    return parse_network(data, source)


def parse_network(data: Any, source: str = "<network>") -> Network:
    """Validate already-parsed data (e.g. `Network.to_dict()` of a trained network)."""
    return _Validator(source).network(data)


class _Validator:
    """Walks the parsed YAML; every failure names the field path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, fieldname: str | None, problem: str) -> InputError:
        return InputError(self.source, fieldname, _one_line(problem))

    def network(self, data: Any) -> Network:
        if not isinstance(data, dict):
            kind = "empty" if data is None else f"a {type(data).__name__}"
            raise self.fail(None, f"not a {SCHEMA} file: the top level is {kind}, expected a mapping")
        if "schema" not in data:
            raise self.fail("schema", f"missing; a network file starts with 'schema: {SCHEMA}'")
        if data["schema"] != SCHEMA:
            raise self.fail("schema", f"{data['schema']!r} is not supported, expected {SCHEMA}")
        self.keys(data, _TOP_KEYS, _TOP_KEYS, None)
        name = data["name"]
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "…"
            raise self.fail("name", f"{shown} must match [a-z][a-z0-9_]* (it names cells and files)")
        if len(name) > MAX_NAME_LENGTH:
            raise self.fail("name", f"is {len(name)} characters long; at most {MAX_NAME_LENGTH} "
                                    "(it names cells and files)")
        unit_current = self.number(data["unit_current"], "unit_current")
        if unit_current <= 0:
            raise self.fail("unit_current", f"{unit_current:g} A must be > 0")
        input_size = data["input_size"]
        if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 1:
            raise self.fail("input_size", f"{input_size!r} must be a positive integer")
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

    def keys(self, data: dict, allowed: tuple[str, ...], required: tuple[str, ...],
             prefix: str | None) -> None:
        where = f"{prefix}." if prefix else ""
        for key in data:
            if key not in allowed:
                raise self.fail(f"{where}{key}", f"unknown field; expected one of {', '.join(allowed)}")
        for key in required:
            if key not in data:
                raise self.fail(f"{where}{key}", "missing")

    def number(self, value: Any, fieldname: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(fieldname, f"{value!r} is not a number")
        if not math.isfinite(value):
            raise self.fail(fieldname, f"{value} is not a finite number")
        return float(value)

    def vector(self, value: Any, fieldname: str, length: int) -> np.ndarray:
        if not isinstance(value, list):
            raise self.fail(fieldname, f"must be a list of {length} numbers")
        if len(value) != length:
            raise self.fail(fieldname, f"has {len(value)} values, expected {length}")
        return np.array([self.number(v, f"{fieldname}[{i}]") for i, v in enumerate(value)])

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
        if not isinstance(value, list) or not value:
            raise self.fail(fieldname, f"must be a non-empty list of rows of {in_size} numbers")
        rows = []
        for row_index, row in enumerate(value):
            row_field = f"{fieldname}[{row_index}]"
            if not isinstance(row, list):
                raise self.fail(row_field, f"must be a list of {in_size} numbers")
            if len(row) != in_size:
                raise self.fail(row_field, f"has {len(row)} values, expected {in_size} ({source})")
            rows.append([self.number(v, f"{row_field}[{col}]") for col, v in enumerate(row)])
        return np.array(rows)

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


def load_sequence(path: str | Path, input_size: int | None = None) -> np.ndarray:
    """Read an input-sequence CSV (header x0,…,x{n-1}; one row per step; values >= 0)
    into a (steps, n) float64 array. With `input_size`, n must match the network."""
    path = Path(path)
    return sequence_from_csv(_read_text(path), str(path), input_size)


def sequence_from_csv(text: str, source: str, input_size: int | None = None) -> np.ndarray:
    """Validate CSV text; errors name `source`, the line and the column."""
    rows = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text)), start=1)
            if any(cell.strip() for cell in row)]
    if not rows:
        raise InputError(source, None, "file is empty; expected a header x0,x1,… and one row per step")
    header_line, header = rows[0]
    header = [cell.strip() for cell in header]
    columns = len(header) if input_size is None else input_size
    expected = [f"x{i}" for i in range(columns)]
    if header != expected:
        because = "" if input_size is None else f" (the network has input_size {input_size})"
        found = ",".join(header)
        found = found if len(found) <= 60 else found[:57] + "..."
        raise InputError(source, f"line {header_line}",
                         f"header is {found}, expected {','.join(expected)}{because}")
    if len(rows) == 1:
        raise InputError(source, None, "no data rows after the header")
    values = np.empty((len(rows) - 1, columns))
    for step, (line, row) in enumerate(rows[1:]):
        if len(row) != columns:
            raise InputError(source, f"line {line}", f"has {len(row)} columns, expected {columns}")
        for col, cell in enumerate(row):
            fieldname = f"line {line}, x{col}"
            try:
                value = float(cell)
            except ValueError:
                raise InputError(source, fieldname, f"{cell.strip()!r} is not a number") from None
            if not math.isfinite(value):
                raise InputError(source, fieldname, f"{cell.strip()} is not a finite number")
            if value < 0:
                raise InputError(source, fieldname,
                                 f"{value:g} is negative; inputs are currents >= 0")
            values[step, col] = value
    return values
