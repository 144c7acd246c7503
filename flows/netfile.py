"""What every family's network file and CSV share: YAML reading with one-line errors, a
validator base that names the field path, deterministic YAML number text, input-sequence
CSVs and output traces (`step,y0,…`).

Every command that reads a network or a sequence goes through here, so a bad file is
reported the same way in every family: one `InputError` naming the file, the field (e.g.
`layers[2].beta_hi[1]`) and the problem.
"""
from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from flows.errors import InputError

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*\Z")
#: Cell and file names grow from the network's name (`<name>_l3_bmru.svg`); 64 characters
#: keep every one far below the 255-byte file-name limit.
MAX_NAME_LENGTH = 64


def frozen_array(values: Any, ndim: int) -> np.ndarray:
    """A read-only float64 array of `ndim` dimensions (validated networks never change)."""
    array = np.array(values, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"expected a {ndim}-d array, got shape {array.shape}")
    array.setflags(write=False)
    return array


def yaml_number(value: float) -> str:
    """Shortest round-trip repr, with a '.' before any exponent so that YAML 1.1 readers
    (PyYAML) see a float rather than a string."""
    text = repr(float(value))
    mantissa, sep, exponent = text.partition("e")
    if sep and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


def yaml_string(text: str) -> str:
    """Plain when YAML reads it back as the same string; quoted when it would not
    (a network named `on` or `null` would otherwise load as a bool or None)."""
    return text if yaml.load(text, Loader=Loader) == text else f'"{text}"'


def yaml_list(values: list[float]) -> str:
    return "[" + ", ".join(yaml_number(v) for v in values) + "]"


class Loader(yaml.SafeLoader):
    """SafeLoader that also reads `1e-9` (no dot) as a float, as YAML 1.2 and users do."""


Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def read_text(path: Path) -> str:
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


def parse_yaml(text: str, source: str) -> Any:
    """YAML text → data; a syntax error is one line naming `source` and the line."""
    try:
        return yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(source, None, one_line(f"not valid YAML: {problem}{where}")) from None


class Validator:
    """Walks parsed YAML; every failure names the field path. Families subclass it."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, fieldname: str | None, problem: str) -> InputError:
        return InputError(self.source, fieldname, one_line(problem))

    def top(self, data: Any, schema: str) -> None:
        """The top level is a mapping whose `schema:` is `schema`."""
        if not isinstance(data, dict):
            kind = "empty" if data is None else f"a {type(data).__name__}"
            raise self.fail(None, f"not a {schema} file: the top level is {kind}, expected a mapping")
        if "schema" not in data:
            raise self.fail("schema", f"missing; a network file starts with 'schema: {schema}'")
        if data["schema"] != schema:
            raise self.fail("schema", f"{data['schema']!r} is not supported, expected {schema}")

    def name(self, name: Any) -> str:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "…"
            raise self.fail("name", f"{shown} must match [a-z][a-z0-9_]* (it names cells and files)")
        if len(name) > MAX_NAME_LENGTH:
            raise self.fail("name", f"is {len(name)} characters long; at most {MAX_NAME_LENGTH} "
                                    "(it names cells and files)")
        return name

    def positive_int(self, value: Any, fieldname: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(fieldname, f"{value!r} must be a positive integer")
        return value

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

    def matrix(self, value: Any, fieldname: str, columns: int, source: str,
               rows: int | None = None) -> np.ndarray:
        """A list of rows of `columns` numbers (`source` says where that width comes from);
        with `rows`, exactly that many rows."""
        if not isinstance(value, list) or not value:
            raise self.fail(fieldname, f"must be a non-empty list of rows of {columns} numbers")
        if rows is not None and len(value) != rows:
            raise self.fail(fieldname, f"has {len(value)} rows, expected {rows}")
        result = []
        for row_index, row in enumerate(value):
            row_field = f"{fieldname}[{row_index}]"
            if not isinstance(row, list):
                raise self.fail(row_field, f"must be a list of {columns} numbers")
            if len(row) != columns:
                raise self.fail(row_field, f"has {len(row)} values, expected {columns} ({source})")
            result.append([self.number(v, f"{row_field}[{col}]") for col, v in enumerate(row)])
        return np.array(result)


def schema_of(path: str | Path) -> tuple[Any, str]:
    """(parsed data, its `schema:` value or "") of a network file: what a command reads to
    choose the family (`flows.families`)."""
    path = Path(path)
    data = parse_yaml(read_text(path), str(path))
    schema = data.get("schema", "") if isinstance(data, dict) else ""
    return data, schema if isinstance(schema, str) else ""


def load_sequence(path: str | Path, input_size: int | None = None, signed: bool = False) -> np.ndarray:
    """Read an input-sequence CSV (header x0,…,x{n-1}; one row per step; values >= 0
    unless `signed`) into a (steps, n) float64 array. With `input_size`, n must match the
    network."""
    path = Path(path)
    return sequence_from_csv(read_text(path), str(path), input_size, signed)


def sequence_from_csv(text: str, source: str, input_size: int | None = None,
                      signed: bool = False) -> np.ndarray:
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
            if value < 0 and not signed:
                raise InputError(source, fieldname,
                                 f"{value:g} is negative; inputs are currents >= 0")
            values[step, col] = value
    return values


def write_sequence_csv(path: str | Path, rows: np.ndarray, fmt: str = "%.9g") -> None:
    """An input-sequence CSV (header x0,…; one row per step or input row): what
    `load_sequence` reads."""
    rows = np.asarray(rows, dtype=np.float64)
    np.savetxt(path, rows, delimiter=",", fmt=fmt, header=",".join(f"x{j}" for j in range(rows.shape[1])),
               comments="")


def format_trace_csv(outputs: np.ndarray) -> str:
    """`step,y0,…` CSV of a (steps, m) trace with `%.9g` values: deterministic text."""
    outputs = np.asarray(outputs, dtype=np.float64)
    lines = ["step," + ",".join(f"y{j}" for j in range(outputs.shape[1]))]
    for step, row in enumerate(outputs):
        lines.append(f"{step}," + ",".join("%.9g" % (value + 0.0) for value in row))
    return "\n".join(lines) + "\n"


def write_trace_csv(path: str | Path, outputs: np.ndarray) -> None:
    """Write `format_trace_csv(outputs)` to `path`."""
    Path(path).write_text(format_trace_csv(outputs), encoding="utf-8")


def load_targets(path: str | Path, outputs: int, rows: int) -> np.ndarray:
    """Target rows (header y0,… or step,y0,… as `write_trace_csv` writes), `rows` of
    `outputs` numbers each (one per input row)."""
    path = Path(path)
    text = read_text(path)
    lines = [line for line in text.splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].split(",")] if lines else []
    step = header[:1] == ["step"]
    body = "\n".join([",".join(f"x{i}" for i in range(len(header) - step))]
                     + [line.split(",", 1)[1] if step and "," in line else line for line in lines[1:]])
    expected = [f"y{j}" for j in range(outputs)]
    if header[step:] != expected:
        raise InputError(path, "line 1", f"header is {','.join(header)[:60]}, expected "
                                         f"{','.join(expected)} (or step,{','.join(expected)})")
    values = sequence_from_csv(body, str(path), outputs, signed=True)
    if len(values) != rows:
        raise InputError(path, None, f"has {len(values)} rows, expected {rows} (one per input row)")
    return values
