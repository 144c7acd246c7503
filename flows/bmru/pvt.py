"""`bmru pvt` of a BMRU macro: the transistor-level macro over process corners,
temperatures, supplies and mismatch samples (the grid and the goal: flows/pvt.py), with
yield and worst-case tables.

Every run is the transient `bmru simulate` does (`flows.bmru.simulate.Bench`: same deck, same
score) under one Conditions. A run passes when the state of every BMRU cell agrees with the
reference model on at least PASS_AGREEMENT of (steps × cells); yield counts passing runs.

With `engine="model"` every run is judged by the circuit-aware model instead (`model_rows`),
around one nominal transient: 10⁴ samples in seconds, no power.

Jobs go to `pdk.ngspice.simulate_many`: a local pool, or a Dask cluster with `scheduler`.
Decks carry absolute paths to the SKY130 model files, so a Dask worker needs ngspice and
this package installed at the same paths (one image for all nodes). The files written
hold no execution details (workers, scheduler, timings), so a run is byte-identical on
any engine.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flows.bmru import testbench
from flows.errors import InputError
from flows.bmru.simulate import PASS_AGREEMENT, Bench
from flows.pvt import (MC, PVT, GridSpec, finished, grid, heat_maps, histograms, nanowatts, percent, power_spread,
                       run_jobs, worst, yields_and_goal)
from flows.pvt import tables as shared_tables
from pdk.models import TEMP_NOMINAL, VDD_NOMINAL, Conditions
from pdk.ngspice import Job, SimulationError

#: What judges each run (`PvtSpec.engine`), as pvt.md states it: a transient of the
#: transistor-level macro, or the circuit-aware model around one nominal transient
#: (flows.bmru.mismatch: the same per-device offsets).
ENGINE_TEXT = {"ngspice": "ngspice transient of the transistor-level macro per run",
               "model": "circuit-aware model (flows/bmru/mismatch.py) around one nominal ngspice transient; "
                        "each mismatch sample carries the per-device offsets its seed gives the flat ngspice deck; "
                        "power is not modelled"}
#: pvt.md lists every run up to this many; beyond, the PVT points and the failing samples.
MARKDOWN_RUNS = 300
#: Plot files beside pvt.json: title → file name.
FIGURES = {"PVT grid": "pvt_grid.png", "mismatch samples": "pvt_mc.png"}


@dataclass(frozen=True)
class PvtSpec(GridSpec):
    step: float | None = None
    diode_units: int | None = None
    #: rows per second (build_circuit frame_rate); None: the network's unit current
    frame_rate: float | None = None
    #: flat decks (pdk/flat.py); False: the wheel's device subckts
    flat: bool = True
    #: a key of ENGINE_TEXT
    engine: str = "ngspice"


def record(name: str, kind: str, score: dict) -> dict:
    """One row of pvt.json from a Bench score."""
    agreement, states = score["agreement"], score["states"]
    return {"run": name, "kind": kind, "corner": score["corner"], "temp_c": score["temp_c"],
            "vdd_v": score["vdd_v"], "mismatch_seed": score["mismatch_seed"],
            "state_agreement": states["agreement"], "state_disagreements": states["disagreements"],
            "state_agreement_mapped": states["mapped_agreement"],
            "relative_error_max": agreement.get("relative_error_max"),
            "range_error_max": agreement.get("range_error_max"),
            "decision_agrees": agreement["decision_agrees"],
            "power_W": score["power"]["total_W"],
            "pass": states["agreement"] >= PASS_AGREEMENT, "error": None}


def failure(name: str, kind: str, conditions: Conditions, error: SimulationError) -> dict:
    """The row of a run ngspice could not finish: it fails, has no values, says why."""
    return {"run": name, "kind": kind, "corner": conditions.corner, "temp_c": conditions.temp,
            "vdd_v": conditions.vdd, "mismatch_seed": conditions.seed if conditions.mismatch else None,
            "state_agreement": None, "state_disagreements": None, "state_agreement_mapped": None,
            "relative_error_max": None, "range_error_max": None, "decision_agrees": None, "power_W": None,
            "pass": False, "error": str(error)}


#: The worst cases pvt.json lists: name → (row key, min or max).
WORST = {"state_agreement": ("state_agreement", min), "state_agreement_mapped": ("state_agreement_mapped", min),
         "relative_error_max": ("relative_error_max", max), "range_error_max": ("range_error_max", max),
         "power_max_W": ("power_W", max), "power_min_W": ("power_W", min)}


def summarize(network: str, steps: int, cells: int, rows: list[dict], spec: PvtSpec) -> dict:
    """pvt.json: settings that shape the results, every run, yield, worst cases, goal."""
    yields, goal = yields_and_goal(rows)
    mc = [r for r in rows if r["kind"] == MC]
    return {
        "network": network, "inputs": str(spec.inputs), "engine": spec.engine, "steps": steps, "bmru_cells": cells,
        "corners": list(spec.corners), "temps_c": list(spec.temps), "vdds_v": list(spec.vdds),
        "mc_samples": spec.mc, "mc_seeds": [r["mismatch_seed"] for r in mc],
        "runs": rows, "yield": yields,
        "worst": {PVT: worst([r for r in rows if r["kind"] == PVT], WORST), MC: worst(mc, WORST)},
        "mc_power": power_spread(mc), "goal": {"pass_agreement": PASS_AGREEMENT, **goal},
    }


def run(spec: PvtSpec, out: Path) -> dict:
    """Run every job, write pvt.json, pvt.md and the plots into `out`; return pvt.json's data."""
    bench = Bench.load(spec.network, spec.inputs, spec.step, spec.diode_units, spec.flat or spec.engine == "model",
                       spec.frame_rate)
    cells = len(bench.cells())
    if not cells:
        raise InputError(spec.network, "layers", "has no bmru layer: PVT yield is the agreement of BMRU "
                                                 "cell states, so there is nothing to judge")
    runs = grid(spec)
    rows = model_rows(bench, runs) if spec.engine == "model" else _ngspice_rows(bench, runs, spec)
    result = summarize(bench.network.name, len(bench.inputs), cells, rows, spec)
    images = figures(result, out)
    (out / "pvt.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "pvt.md").write_text(markdown(result, images) + "\n")
    return result


def _ngspice_rows(bench: Bench, runs: list[tuple[str, str, Conditions]], spec: PvtSpec) -> list[dict]:
    jobs = [Job(f"{bench.network.name}_{name}", bench.deck(cond)) for name, _, cond in runs]
    outcomes = run_jobs(jobs, spec, "pvt")
    rows = []
    for (name, kind, cond), job in zip(runs, jobs):
        outcome = outcomes[job.name]
        rows.append(failure(name, kind, cond, outcome) if isinstance(outcome, SimulationError)
                    else record(name, kind, bench.score(outcome[0], cond)))
    return rows


def model_rows(bench: Bench, runs: list[tuple[str, str, Conditions]]) -> list[dict]:
    """Every run judged by the circuit-aware model (flows.bmru.mismatch) around one nominal
    ngspice transient: a PVT point with that condition's characterized corrections, a
    mismatch sample with its seed's per-device offsets. Power is not modelled (None)."""
    from flows.bmru.mismatch import MismatchModel, nominal_anchor

    models: dict[tuple, MismatchModel] = {}

    def model(cond: Conditions) -> MismatchModel:
        key = (cond.corner, cond.temp, cond.vdd)
        if key not in models:
            try:
                models[key] = MismatchModel(bench.circuit, Conditions(*key))
            except KeyError as exc:
                raise InputError("command line", "--engine", f"model: {exc.args[0]}") from None
        return models[key]

    anchor = nominal_anchor(bench, model(Conditions()))
    rows = []
    for name, kind, cond in runs:
        if cond.mismatch:
            continue
        states, outputs = model(cond).run(None, bench.inputs, anchor)
        rows.append(record(name, kind, _model_score(bench, cond, states[0], outputs[0])))
    samples = [(name, kind, cond) for name, kind, cond in runs if cond.mismatch]
    if samples:
        states, outputs = model(samples[0][2]).run([c.seed for _, _, c in samples], bench.inputs, anchor)
        rows += [record(name, kind, _model_score(bench, cond, s, o))
                 for (name, kind, cond), s, o in zip(samples, states, outputs)]
    return rows


def _model_score(bench: Bench, cond: Conditions, states: np.ndarray, outputs: np.ndarray) -> dict:
    """What `Bench.score` gives for one run, from the model's states and outputs."""
    return {"corner": cond.corner, "temp_c": cond.temp, "vdd_v": cond.vdd,
            "mismatch_seed": cond.seed if cond.mismatch else None,
            "agreement": testbench.agreement(bench.network, bench.reference.output, outputs),
            "states": bench.states_of(states), "power": {"total_W": None}}


#: How pvt.md labels and formats each worst case.
WORST_LABELS = {"state_agreement": ("lowest state agreement", percent),
                "state_agreement_mapped": ("lowest state agreement with the mapped model", percent),
                "relative_error_max": ("highest output error (max relative)", percent),
                "range_error_max": ("highest output error, of each output's range", percent),
                "power_max_W": ("highest average power", nanowatts),
                "power_min_W": ("lowest average power", nanowatts)}


def tables(result: dict) -> list[str]:
    """Yield and worst-case tables (Markdown lines), for pvt.md and the build report."""
    rule = (f"A run passes when ≥ {result['goal']['pass_agreement'] * 100:g} % of the BMRU cell states "
            f"({result['steps']} steps × {result['bmru_cells']} cells) agree with the model.")
    return shared_tables(result, rule, WORST_LABELS)


def markdown(result: dict, images: dict[str, str]) -> str:
    """pvt.md: the tables, every run, and the plots (paths relative to the output folder)."""
    engine = ENGINE_TEXT[result.get("engine", "ngspice")]
    lines = [f"# PVT and mismatch: {result['network']} on {result['inputs']}", "", f"Engine: {engine}.", ""]
    lines += tables(result)
    lines += ["", "The mapped model is the network with its realised (quantized) parameters: where the "
                  "circuit agrees with it better than with the network, quantization, not the circuit, "
                  "explains the difference.", "",
              "| run | corner | temp | VDD | seed | state agreement | with mapped model | output error | "
              "output error, of range | decision | power | pass |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    decision = {True: "agrees", False: "DIFFERS", None: "—"}
    runs = result["runs"]
    if len(runs) > MARKDOWN_RUNS:
        runs = [r for r in runs if r["kind"] == PVT or not r["pass"]]
        lines.insert(-2, f"{len(result['runs'])} runs: the table lists the PVT points and the failing samples "
                         "(pvt.json has every run).\n")
    for r in runs:
        power = "—" if r["power_W"] is None else nanowatts(r["power_W"])
        lines.append(f"| {r['run']} | {r['corner']} | {r['temp_c']:g} °C | {r['vdd_v']:g} V | "
                     f"{'' if r['mismatch_seed'] is None else r['mismatch_seed']} | {percent(r['state_agreement'])} | "
                     f"{percent(r['state_agreement_mapped'])} | "
                     f"{percent(r['relative_error_max'])} | {percent(r.get('range_error_max'))} | "
                     f"{decision[r['decision_agrees']]} | "
                     f"{power} | {'yes' if r['pass'] else 'NO (ngspice failed)' if r.get('error') else 'NO'} |")
    lines += [""] + [f"![{name}]({path})" for name, path in images.items()]
    return "\n".join(lines)


def figures(result: dict, out: Path) -> dict[str, str]:
    """Heat maps over corner × (temperature, supply) and, with samples, MC histograms;
    returns {title: file name}."""
    images: dict[str, str] = {}
    pvt = [r for r in result["runs"] if r["kind"] == PVT]
    if pvt:
        # agreement on a fixed scale so that a failing point stands out; the others scaled to data
        panels = [("state agreement (%)", lambda r: r["state_agreement"] * 100, "RdYlGn", (90.0, 100.0))]
        if any(r["relative_error_max"] is not None for r in pvt):
            panels.append(("max output error (%)", lambda r: r["relative_error_max"] * 100, "magma_r", None))
        if any(r["power_W"] is not None for r in pvt):
            panels.append(("power (nW)", lambda r: r["power_W"] * 1e9, "viridis", None))
        heat_maps(result, panels, f"{result['network']}: PVT grid (pass ≥ {PASS_AGREEMENT * 100:g} % state agreement)",
                  out / FIGURES["PVT grid"])
        images["PVT grid"] = FIGURES["PVT grid"]
    mc = finished([r for r in result["runs"] if r["kind"] == MC])
    if mc:
        panels = [("state agreement (%)", [r["state_agreement"] * 100 for r in mc], "#3b6ea8", PASS_AGREEMENT * 100)]
        powers = [r["power_W"] * 1e9 for r in mc if r["power_W"] is not None]
        if powers:
            panels.append(("average power (nW)", powers, "#5b8c5a", None))
        histograms(panels, f"{result['network']}: {len(mc)} mismatch samples at tt {TEMP_NOMINAL:g} °C "
                           f"{VDD_NOMINAL:g} V, yield {percent(result['yield'][MC]['fraction'])}",
                   out / FIGURES["mismatch samples"])
        images["mismatch samples"] = FIGURES["mismatch samples"]
    return images
