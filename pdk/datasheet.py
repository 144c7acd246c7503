"""Characterization as a datasheet: specs × conditions, each value checked against a frozen
golden band (min/typ/max). Goldens are produced by the code, reviewed, then frozen as YAML.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml


@dataclass(frozen=True)
class Spec:
    """What a row measures: name, unit and how (one line)."""

    name: str
    unit: str
    doc: str


@dataclass
class Datasheet:
    """Measured values of one cell: spec name → condition → value."""

    cell: str
    specs: dict[str, Spec] = field(default_factory=dict)
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    curves: dict[str, object] = field(default_factory=dict)

    def add(self, spec: Spec, condition: str, value: float) -> None:
        self.specs.setdefault(spec.name, spec)
        self.values.setdefault(spec.name, {})[condition] = float(value)

    def to_dict(self) -> dict:
        return {
            "cell": self.cell,
            "specs": {n: {"unit": s.unit, "doc": s.doc, "values": self.values.get(n, {})}
                      for n, s in self.specs.items()},
            "curves": self.curves,
        }


def worst(err: np.ndarray) -> float:
    """The signed value of largest magnitude."""
    return float(err[np.argmax(np.abs(err))])


def is_nominal(condition) -> bool:
    """tt, 27 °C, 1.8 V without mismatch: the point whose curves are kept for plots."""
    return (condition.corner, condition.temp, condition.vdd, condition.mismatch) == ("tt", 27.0, 1.8, False)


@dataclass
class ErrorRecorder:
    """How every cell records a ratio-error curve (percent against its sweep `x`): at a PVT
    point the worst value, for a mismatch sample the value at `at` (σ over the samples by
    `finish()`), and at the nominal point the curve itself for plots."""

    sheet: Datasheet
    error: Spec
    mismatch_error: Spec
    sigma: Spec
    at: float = 1e-9
    samples: dict[str, list[float]] = field(default_factory=dict)

    def record(self, label: str, condition, x: np.ndarray, err: np.ndarray, curve: str | None = None) -> None:
        if condition.mismatch:
            value = float(np.interp(self.at, x, err))
            self.sheet.add(self.mismatch_error, f"{label} {condition.label()}", value)
            self.samples.setdefault(label, []).append(value)
            return
        self.sheet.add(self.error, f"{label} {condition.label()}", worst(err))
        if curve and is_nominal(condition):
            self.sheet.curves[curve] = {"x": x.tolist(), "error_pct": err.round(4).tolist()}

    def finish(self) -> None:
        for label, values in self.samples.items():
            if len(values) > 1:
                self.sheet.add(self.sigma, f"{label} n={len(values)}", float(np.std(values, ddof=1)))


@dataclass(frozen=True)
class Violation:
    cell: str
    spec: str
    condition: str
    value: float | None
    low: float | None
    high: float | None
    unit: str

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.cell}: {self.spec} [{self.condition}]: not measured"
        if self.low is None:
            return f"{self.cell}: {self.spec} [{self.condition}] = {self.value:.6g} {self.unit}: no golden band"
        return (f"{self.cell}: {self.spec} [{self.condition}] = {self.value:.6g} {self.unit} "
                f"outside [{self.low:.6g}, {self.high:.6g}]")


def load_golden(path: Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def check(sheet: Datasheet, golden: dict) -> list[Violation]:
    """Every measured value must sit in its band, and every golden row must be measured."""
    violations: list[Violation] = []
    bands = golden.get("specs", {})
    for name, by_condition in sheet.values.items():
        unit = sheet.specs[name].unit
        for condition, value in by_condition.items():
            band = bands.get(name, {}).get("bands", {}).get(condition)
            if band is None:
                violations.append(Violation(sheet.cell, name, condition, value, None, None, unit))
            elif not (math.isfinite(value) and band["min"] <= value <= band["max"]):
                violations.append(Violation(sheet.cell, name, condition, value, band["min"], band["max"], unit))
    for name, spec in bands.items():
        for condition in spec.get("bands", {}):
            if condition not in sheet.values.get(name, {}):
                violations.append(Violation(sheet.cell, name, condition, None, None, None, spec.get("unit", "")))
    return violations


def freeze(sheet: Datasheet, tolerances: dict[str, tuple[float, float]], path: Path) -> None:
    """Write a golden from measured values: band = typ ± max(rel·|typ|, abs) per spec.

    `tolerances` maps spec name → (relative, absolute). Only for a reviewed datasheet.
    """
    out = {"cell": sheet.cell, "specs": {}}
    for name, by_condition in sheet.values.items():
        rel, absolute = tolerances[name]
        bands = {}
        for condition, typ in sorted(by_condition.items()):
            half = max(rel * abs(typ), absolute)
            bands[condition] = {"min": _round(typ - half), "typ": _round(typ), "max": _round(typ + half)}
        spec = sheet.specs[name]
        out["specs"][name] = {"unit": spec.unit, "doc": spec.doc, "tolerance": {"rel": rel, "abs": absolute},
                              "bands": bands}
    Path(path).write_text(yaml.safe_dump(out, sort_keys=False, width=120, allow_unicode=True))


def _round(x: float) -> float:
    return float(f"{x:.5g}")


def write_json(sheets: list[Datasheet], violations: list[Violation], path: Path) -> None:
    payload = {
        "cells": {s.cell: s.to_dict() for s in sheets},
        "violations": [str(v) for v in violations],
        "passed": not violations,
    }
    Path(path).write_text(json.dumps(payload, indent=1, sort_keys=True))


def save_figure(fig, path: Path) -> Path:
    """Every characterization plot's one format: tight layout, a 110 dpi PNG, the figure
    closed (matplotlib keeps open figures alive)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
