"""The shared half of `bmru pvt`: the run grid, yield and worst-case bookkeeping, the tables
and plots, and the build report's section. Each family judges its own runs (a BMRU macro
by its cell states, flows/bmru/pvt.py; a lattice by its waveforms, flows/r2nn/pvt.py) into
rows with at least `run`, `kind`, `corner`, `temp_c`, `vdd_v`, `mismatch_seed`, `pass` and
`error` (None, or why ngspice could not finish the run).

The grid is corner × temperature × supply, then mismatch samples at tt 27 °C 1.8 V, sample
i drawing its mismatch with seed `seed + i`. The goal is met when every PVT point passes
and at least MC_YIELD_GOAL of the samples do.
"""
from __future__ import annotations

import json
from pathlib import Path
from dataclasses import dataclass
from typing import Callable

import numpy as np

from flows.errors import InputError
from pdk.models import CORNERS, SUPPLIES, TEMP_NOMINAL, TEMPERATURES, VDD_NOMINAL, Conditions
from pdk.ngspice import DEFAULT_TIMEOUT, Job, simulate_many

#: The goal asks this fraction of mismatch samples to pass (issue 7).
MC_YIELD_GOAL = 0.99
PVT, MC = "pvt", "mc"


@dataclass(frozen=True)
class GridSpec:
    """What every family's study runs: a network on one input file over the grid."""
    network: Path
    inputs: Path
    corners: tuple[str, ...] = CORNERS
    temps: tuple[float, ...] = TEMPERATURES
    vdds: tuple[float, ...] = SUPPLIES
    #: mismatch samples at tt, nominal temperature and supply
    mc: int = 0
    #: seed of the first mismatch sample; sample i uses seed + i
    seed: int = 1
    workers: int | None = None
    scheduler: str | None = None
    progress: bool | None = None
    #: seconds one run may take before it counts as a failing run
    timeout: float = DEFAULT_TIMEOUT


def run_jobs(jobs: list[Job], spec: GridSpec, desc: str, threads: int | None = None) -> dict:
    """`simulate_many` of the study's jobs, every one run even when some fail; a scheduler
    that cannot be reached is the command line's error."""
    try:
        return simulate_many(jobs, workers=spec.workers, progress=spec.progress, desc=desc,
                             scheduler=spec.scheduler, keep_going=True, timeout=spec.timeout, threads=threads)
    except OSError as exc:  # the Client could not reach the scheduler
        if not spec.scheduler:
            raise
        raise InputError("command line", "--scheduler", f"cannot reach {spec.scheduler}: {exc}") from None


def grid(spec: GridSpec) -> list[tuple[str, str, Conditions]]:
    """(run name, kind, conditions) of every run, PVT points first, in a fixed order."""
    runs = [(f"{c}_{t:g}C_{v:g}V", PVT, Conditions(c, temp=t, vdd=v))
            for c in spec.corners for t in spec.temps for v in spec.vdds]
    runs += [(f"mc_seed{spec.seed + i}", MC,
              Conditions("tt", temp=TEMP_NOMINAL, vdd=VDD_NOMINAL, mismatch=True, seed=spec.seed + i))
             for i in range(spec.mc)]
    return runs


def finished(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["error"] is None]


def yield_of(rows: list[dict]) -> dict:
    passed = sum(r["pass"] for r in rows)
    return {"runs": len(rows), "passed": passed, "fraction": passed / len(rows) if rows else None,
            "failed": len(rows) - len(finished(rows))}


def yields_and_goal(rows: list[dict]) -> tuple[dict, dict]:
    """Yield of the PVT points, the samples and all runs; whether the goal is met."""
    mc = [r for r in rows if r["kind"] == MC]
    yields = {PVT: yield_of([r for r in rows if r["kind"] == PVT]), MC: yield_of(mc), "all": yield_of(rows)}
    goal = {"mc_yield_goal": MC_YIELD_GOAL,
            "every_pvt_point_passes": yields[PVT]["passed"] == yields[PVT]["runs"],
            "mc_yield_met": not mc or yields[MC]["fraction"] >= MC_YIELD_GOAL}
    goal["met"] = goal["every_pvt_point_passes"] and goal["mc_yield_met"]
    return yields, goal


def worst(rows: list[dict], picks: dict[str, tuple[str, Callable]]) -> dict:
    """{name: {value, run}} over the finished runs, for each name → (row key, min or max);
    a key no finished run has a value for is left out (the first run wins a tie)."""
    rows = finished(rows)
    out = {}
    for name, (key, choose) in picks.items():
        valued = [r for r in rows if r.get(key) is not None]
        if valued:
            row = choose(valued, key=lambda r: r[key])
            out[name] = {"value": row[key], "run": row["run"]}
    return out


def percent(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.2f} %"


def nanowatts(w: float) -> str:
    return f"{w * 1e9:.2f} nW"


def tables(result: dict, rule: str, labels: dict[str, tuple[str, Callable]]) -> list[str]:
    """Yield and worst-case tables (Markdown lines), for pvt.md and the build report:
    `rule` says when a run passes; `labels` names and formats each key of `result['worst']`."""
    y = result["yield"]
    lines = [f"{rule} Goal (every PVT point passes, ≥ {result['goal']['mc_yield_goal'] * 100:g} % of mismatch "
             f"samples pass): {'met' if result['goal']['met'] else 'NOT met'}.", "",
             "| runs | passed | ngspice failed | total | yield |", "|---|---|---|---|---|"]
    count = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"
    names = {PVT: f"PVT points ({count(len(result['corners']), 'corner')} × "
                  f"{count(len(result['temps_c']), 'temperature')} × {count(len(result['vdds_v']), 'supply voltage')})",
             MC: f"mismatch samples (tt {TEMP_NOMINAL:g} °C {VDD_NOMINAL:g} V)", "all": "all"}
    for kind, label in names.items():
        if y[kind]["runs"]:
            lines.append(f"| {label} | {y[kind]['passed']} | {y[kind].get('failed', 0)} | {y[kind]['runs']} | "
                         f"{percent(y[kind]['fraction'])} |")
    lines += ["", "| worst case | PVT | where | mismatch | where |", "|---|---|---|---|---|"]
    for key, (label, fmt) in labels.items():
        cells = []
        for kind in (PVT, MC):
            entry = result["worst"][kind].get(key)
            cells += [fmt(entry["value"]), entry["run"]] if entry else ["—", "—"]
        if cells != ["—"] * 4:
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    failed = [r for r in result["runs"] if r.get("error")]
    if failed:
        lines += ["", "Runs ngspice could not finish (each counts as a failing run):", ""]
        lines += [f"- {r['run']}: {r['error']}" for r in failed]
    return lines


#: One heat-map panel: title, the value of a finished row, colour map, fixed (low, high) or None.
Panel = tuple[str, Callable[[dict], float], str, "tuple[float, float] | None"]


def heat_maps(result: dict, panels: list[Panel], title: str, path: Path) -> None:
    """Panels over corner × (temperature, supply); a run ngspice could not finish is blank."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corners = result["corners"]
    columns = [(t, v) for t in result["temps_c"] for v in result["vdds_v"]]
    index = {(r["corner"], r["temp_c"], r["vdd_v"]): r for r in result["runs"] if r["kind"] == PVT}
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 1.2 + 0.45 * len(corners) + 0.6),
                             squeeze=False)
    for ax, (name, value, cmap, limits) in zip(axes[0], panels):
        data = np.array([[np.nan if index[(c, t, v)]["error"] else value(index[(c, t, v)])
                          for t, v in columns] for c in corners])
        low, high = limits if limits else (None, None)
        finite = data[np.isfinite(data)]
        image = ax.imshow(data, cmap=cmap, aspect="auto",
                          vmin=None if low is None or not finite.size else min(low, finite.min()), vmax=high)
        for (i, j), x in np.ndenumerate(data):
            red, green, blue, _ = image.cmap(image.norm(x)) if np.isfinite(x) else (1, 1, 1, 1)
            dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
            ax.text(j, i, f"{x:.3g}" if np.isfinite(x) else "failed", ha="center", va="center", fontsize=7,
                    color="white" if dark else "black")
        ax.set_xticks(range(len(columns)), [f"{t:g}°C\n{v:g}V" for t, v in columns], fontsize=7)
        ax.set_yticks(range(len(corners)), corners)
        ax.set_title(name, fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def histograms(panels: list[tuple[str, list[float], str, float | None]], title: str, path: Path) -> None:
    """One histogram per (x label, values, colour, pass line or None) of the samples."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels) + 0.3, 3.2), squeeze=False)
    for ax, (label, values, color, line) in zip(axes[0], panels):
        ax.hist(values, bins=20, color=color)
        if line is not None:
            ax.axvline(line, color="#c0392b", ls="--", label="pass")
            ax.legend(fontsize=8)
        ax.set_xlabel(label)
        ax.set_ylabel("samples")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def section(directory: Path, tables_of: Callable[[dict], list[str]], figures: dict[str, str]) -> list[str]:
    """The build report's section from DIR/pvt (a `bmru pvt … -o DIR/pvt`), if present."""
    path = directory / "pvt" / "pvt.json"
    if not path.is_file():
        return []
    result = json.loads(path.read_text())
    lines = ["", "## PVT and mismatch yield", "", f"`{result['inputs']}`, {len(result['runs'])} runs.", ""]
    lines += tables_of(result)
    for title, name in figures.items():
        if (path.parent / name).is_file():
            lines += ["", f"![{title}](pvt/{name})"]
    return lines


def power_spread(rows: list[dict]) -> dict | None:
    """Mean and sample spread of the finished rows' power, None without any."""
    power = np.array([r["power_W"] for r in finished(rows) if r["power_W"] is not None])
    if not len(power):
        return None
    return {"mean_W": float(power.mean()), "std_W": float(power.std(ddof=1)) if len(power) > 1 else 0.0}
