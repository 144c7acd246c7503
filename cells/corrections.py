"""Circuit-aware model: per-condition corrections fitted from the cells' characterization,
so the mapped software model predicts the circuit (not only the ideal network).

`fit()` reads the frozen goldens (`cells/goldens/*.yaml`, whose `typ` values are the
measured characterization) or a fresh `characterization.json`, and produces a small table
(`cells/corrections.yaml`, regenerate with `python -m cells.corrections`):

    conditions: {"tt 27C 1.8V": {bmru_switch_up: rel, bmru_switch_down: rel, bmru_alpha: rel,
                                 bmru_low_output: A, weight_pos: rel, weight_neg: rel,
                                 bias_pos: rel, bias_neg: rel}, …}
    mismatch_sigma: {bmru_switch_up: rel, bmru_switch_down: rel, bmru_alpha: rel, …}

The BMRU numbers are end to end (bias tree included): apply them to α, β_lo, β_hi directly
and do not add the bias-tree correction on top. How flows call it (plain arrays, no flows
types):

    from cells import corrections
    table = corrections.load()
    corr = corrections.at(table, corner="tt", temp=27, vdd=1.8)
    alpha, beta_lo, beta_hi, low = corrections.apply_bmru(alpha, beta_lo, beta_hi, corr, unit_current)
    weight, bias = corrections.apply_dense(weight, bias, corr)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).parent
TABLE = HERE / "corrections.yaml"
GOLDENS = HERE / "goldens"


def _typ(golden: dict, spec: str) -> dict[str, float]:
    bands = golden.get("specs", {}).get(spec, {}).get("bands", {})
    return {cond: band["typ"] for cond, band in bands.items()}


def _from_json(path: Path) -> dict[str, dict]:
    """characterization.json → {cell: golden-shaped dict with typ values}."""
    data = json.loads(Path(path).read_text())
    out = {}
    for cell, sheet in data["cells"].items():
        out[cell] = {"specs": {name: {"bands": {c: {"typ": v} for c, v in spec["values"].items()}}
                               for name, spec in sheet["specs"].items()}}
    return out


def _load_goldens() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(GOLDENS.glob("*.yaml"))}


def fit(source: Path | None = None) -> dict:
    """Fit the table from a characterization.json (or, by default, the frozen goldens)."""
    cells = _from_json(source) if source else _load_goldens()
    conditions: dict[str, dict[str, float]] = {}

    def put(cond: str, key: str, value: float) -> None:
        conditions.setdefault(cond, {})[key] = float(f"{float(value):.4g}")

    bmru = cells.get("bmru", {})
    for spec, key, scale in (("switch_up_error", "bmru_switch_up", 0.01), ("switch_down_error", "bmru_switch_down", 0.01),
                             ("alpha_error", "bmru_alpha", 0.01), ("low_leakage", "bmru_low_output", 1e-12)):
        for cond, v in _typ(bmru, spec).items():
            if " mm" not in cond:
                put(cond, key, v * scale)
    mirror = _typ(cells.get("mirror", {}), "ratio_error")
    bias = _typ(cells.get("bias", {}), "ratio_error")
    for cond in list(conditions) or sorted({c.split(" ", 2)[2] for c in mirror}):
        if f"pfet r=1 {cond}" in mirror:
            # a negative weight is a PMOS copy too (into the output's negative-sum diode);
            # that diode's 1:1 NMOS sink copies at a diode voltage, its density-dependent
            # part (≈ ±1–2 %) depends on the network and is not a gain.
            put(cond, "weight_pos", mirror[f"pfet r=1 {cond}"] * 0.01)
            put(cond, "weight_neg", mirror[f"pfet r=1 {cond}"] * 0.01)
        if f"p1 {cond}" in bias:
            put(cond, "bias_pos", bias[f"p1 {cond}"] * 0.01)
        if f"n1 {cond}" in bias:
            put(cond, "bias_neg", bias[f"n1 {cond}"] * 0.01)
    sigma = {}
    for spec, key in (("switch_up_error", "bmru_switch_up"), ("switch_down_error", "bmru_switch_down"),
                      ("alpha_error", "bmru_alpha")):
        for cond, v in _typ(bmru, "mismatch_sigma").items():
            if cond.startswith(spec + " "):
                sigma[key] = float(f"{v * 0.01:.4g}")
    return {"schema": "bmru-corrections/1", "conditions": conditions, "mismatch_sigma": sigma}


def write(table: dict, path: Path = TABLE) -> Path:
    Path(path).write_text(yaml.safe_dump(table, sort_keys=True, width=120))
    return Path(path)


def load(path: Path = TABLE) -> dict:
    return yaml.safe_load(Path(path).read_text())


def at(table: dict, corner: str = "tt", temp: float = 27.0, vdd: float = 1.8) -> dict[str, float]:
    """Corrections of one characterized condition (missing keys mean no correction)."""
    label = f"{corner} {temp:g}C {vdd:g}V"
    try:
        return dict(table["conditions"][label])
    except KeyError:
        raise KeyError(f"no corrections for {label!r}; characterized: corners × -40/27/85 °C × "
                       "1.62/1.8/1.98 V") from None


def apply_bmru(alpha, beta_lo, beta_hi, corr: dict[str, float], unit_current: float = 1e-9):
    """Realised α, β_lo, β_hi (same units as given) and the low-state output (same units:
    the measured leakage divided by `unit_current`)."""
    alpha = np.asarray(alpha, dtype=float) * (1 + corr.get("bmru_alpha", 0.0))
    beta_lo = np.asarray(beta_lo, dtype=float) * (1 + corr.get("bmru_switch_down", 0.0))
    beta_hi = np.asarray(beta_hi, dtype=float) * (1 + corr.get("bmru_switch_up", 0.0))
    low = np.full_like(alpha, corr.get("bmru_low_output", 0.0) / unit_current)
    return alpha, beta_lo, beta_hi, low


def apply_dense(weight, bias, corr: dict[str, float]):
    """Realised weights (positive ones through a PMOS line, negative ones through NMOS sinks)
    and biases (PMOS or NMOS bias-tree units)."""
    w = np.asarray(weight, dtype=float)
    b = np.asarray(bias, dtype=float)
    w = np.where(w > 0, w * (1 + corr.get("weight_pos", 0.0)), w * (1 + corr.get("weight_neg", 0.0)))
    b = np.where(b > 0, b * (1 + corr.get("bias_pos", 0.0)), b * (1 + corr.get("bias_neg", 0.0)))
    return w, b


if __name__ == "__main__":
    import sys

    table = fit(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(f"wrote {write(table)}: {len(table['conditions'])} conditions")
