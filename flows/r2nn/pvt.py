"""`bmru pvt` of an R²NN lattice: the transient and the `.ac` of `bmru simulate` (flat decks)
over the grid of flows/pvt.py, each run judged as `bmru simulate` judges it: every output
waveform correlates ≥ PASS_CORRELATION with the network's and the decision agrees.

A Gm-C lattice's frequencies are gm/C, and gm = I·κ/(n·U_T): with a fixed iref they move
with temperature (U_T ∝ T: −11 % at 85 °C on r2nn_machine) and with the MiM corner (±12 %),
and the scores of a frequency-selective classifier move with them. Every Gm-C filter is
therefore tuned: `iref="tuned"` (the default) scales iref at each run so that the lattice's
`.ac` modes sit, on geometric mean, on the network's — what a per-die trim or a master–slave
tuning loop does (neither is on the macro: the manifest asks for it on the iref pin).
`iref="fixed"` keeps the nominal iref everywhere. Tuning costs one `.ac` per run (≈ 3 s).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flows.pvt import (MC, PVT, GridSpec, finished, grid, heat_maps, histograms, nanowatts, percent, power_spread,
                       run_jobs, worst, yields_and_goal)
from flows.pvt import tables as shared_tables
from flows.r2nn import model
from flows.r2nn.bench import VREF, ac_deck, ac_result, transient_deck, transient_result
from flows.r2nn.circuit import build_circuit
from flows.r2nn.network import load_inputs, load_network
from flows.r2nn.simulate import AC_PER_DECADE, PASS_CORRELATION, ac_band, full_scale_gain, judge, match_modes
from pdk.models import TEMP_NOMINAL, VDD_NOMINAL
from pdk.ngspice import Job, SimulationError

IREF_TEXT = {"tuned": "iref scaled at each run so that the lattice's .ac modes sit on the network's (geometric "
                      "mean): a per-die trim or a master–slave tuning loop on the iref pin",
             "fixed": "the nominal iref at every run"}
#: Tuning scales iref by at most this factor either way (a lattice that needs more is broken,
#: not detuned: its failing run says so).
TUNING_RANGE = 2.0
#: Plot files beside pvt.json: title → file name.
FIGURES = {"PVT grid": "pvt_grid.png", "mismatch samples": "pvt_mc.png"}
WORST = {"correlation_min": ("correlation_min", min), "resonance_error_max": ("resonance_error_max", max),
         "rest_shift_max_V": ("rest_shift_max_V", max), "iref_scale_max": ("iref_scale", max),
         "iref_scale_min": ("iref_scale", min), "power_max_W": ("power_W", max), "power_min_W": ("power_W", min)}


def _number(fmt: str):
    return lambda x: format(x, fmt)


WORST_LABELS = {"correlation_min": ("lowest waveform correlation (worst output)", _number(".4f")),
                "resonance_error_max": ("largest resonance error", percent),
                "rest_shift_max_V": ("largest output rest shift from vref", lambda v: f"{v * 1e3:.1f} mV"),
                "iref_scale_max": ("highest iref (of nominal)", _number(".4f")),
                "iref_scale_min": ("lowest iref (of nominal)", _number(".4f")),
                "power_max_W": ("highest average power", nanowatts),
                "power_min_W": ("lowest average power", nanowatts)}


@dataclass(frozen=True)
class LatticePvtSpec(GridSpec):
    #: a key of IREF_TEXT
    iref: str = "tuned"


def frequency_ratio(modes: dict) -> float | None:
    """Geometric mean of circuit / model over the matched modes (None: none matched)."""
    found = modes["modes"]
    if not found:
        return None
    return float(np.exp(np.mean([np.log(m["circuit_hz"] / m["model_hz"]) for m in found])))


def run(spec: LatticePvtSpec, out: Path) -> dict:
    """Run every job, write pvt.json, pvt.md and the plots into `out`; return pvt.json's data."""
    network = load_network(spec.network)
    waveform = load_inputs(spec.inputs, network)[:, 0]
    circuit = build_circuit(network)
    band = ac_band(network)
    runs = grid(spec)
    gain = full_scale_gain(circuit, waveform)
    scales = {name: 1.0 for name, _, _ in runs}
    if spec.iref == "tuned" and band is not None:
        jobs = {name: Job(f"{network.name}_{name}_tune", ac_deck(circuit, *band, AC_PER_DECADE, cond, flat=True))
                for name, _, cond in runs}
        outcomes = run_jobs(list(jobs.values()), spec, "pvt tuning", threads=1)
        for name, job in jobs.items():
            outcome = outcomes[job.name]
            ratio = None if isinstance(outcome, SimulationError) else \
                frequency_ratio(match_modes(network, *ac_result(circuit, outcome[0])))
            if ratio is not None:
                scales[name] = float(np.clip(1.0 / ratio, 1 / TUNING_RANGE, TUNING_RANGE))
    jobs = []
    for name, _, cond in runs:
        jobs.append(Job(f"{network.name}_{name}_tran", transient_deck(circuit, gain * waveform, cond, flat=True,
                                                                      iref_scale=scales[name])))
        if band is not None:
            jobs.append(Job(f"{network.name}_{name}_ac", ac_deck(circuit, *band, AC_PER_DECADE, cond, flat=True,
                                                                 iref_scale=scales[name])))
    outcomes = run_jobs(jobs, spec, "pvt", threads=1)
    software = model.simulate(network, waveform[None, :])[0]
    network_decision = model.decision(software)["decision"]
    rows = []
    for name, kind, cond in runs:
        tran = outcomes[f"{network.name}_{name}_tran"]
        ac = outcomes.get(f"{network.name}_{name}_ac")  # None: a lattice without modes below Nyquist
        error = next((o for o in (tran, ac) if isinstance(o, SimulationError)), None)
        row = {"run": name, "kind": kind, "corner": cond.corner, "temp_c": cond.temp, "vdd_v": cond.vdd,
               "mismatch_seed": cond.seed if cond.mismatch else None, "iref_scale": scales[name],
               "correlation_min": None, "decision": None, "decision_agrees": None, "resonance_error_max": None,
               "rest_shift_max_V": None, "power_W": None, "pass": False, "error": None}
        if error is not None:
            row["error"] = str(error)
        else:
            result = transient_result(circuit, tran[0], len(waveform), cond)
            circuit_y = result["outputs"] / gain
            corr, decided, agrees, passes = judge(circuit_y, software)
            modes = match_modes(network, *ac_result(circuit, ac[0])) if ac is not None else {"error_max": 0.0}
            row.update({"correlation_min": float(corr.min()), "decision": decided, "decision_agrees": agrees,
                        "resonance_error_max": modes["error_max"],
                        "rest_shift_max_V": max(abs(v - VREF) for v in result["rest"]),
                        "power_W": result["power_W"],
                        "pass": passes})
        rows.append(row)
    result = summarize(network.name, len(waveform), network_decision, rows, spec)
    images = figures(result, out)
    (out / "pvt.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "pvt.md").write_text(markdown(result, images) + "\n")
    return result


def summarize(network: str, samples: int, decision: int, rows: list[dict], spec: LatticePvtSpec) -> dict:
    yields, goal = yields_and_goal(rows)
    mc = [r for r in rows if r["kind"] == MC]
    return {"network": network, "family": "r2nn-network/1", "inputs": str(spec.inputs), "samples": samples,
            "network_decision": decision, "iref": spec.iref, "corners": list(spec.corners),
            "temps_c": list(spec.temps), "vdds_v": list(spec.vdds), "mc_samples": spec.mc,
            "mc_seeds": [r["mismatch_seed"] for r in mc], "runs": rows, "yield": yields,
            "worst": {PVT: worst([r for r in rows if r["kind"] == PVT], WORST), MC: worst(mc, WORST)},
            "mc_power": power_spread(mc), "goal": {"pass_correlation": PASS_CORRELATION, **goal}}


def tables(result: dict) -> list[str]:
    rule = (f"A run passes when every output's waveform ({result['samples']} samples) correlates ≥ "
            f"{result['goal']['pass_correlation']:g} with the network's and the decision is the network's "
            f"({result['network_decision']}); iref: {IREF_TEXT[result['iref']]}.")
    return shared_tables(result, rule, WORST_LABELS)


def markdown(result: dict, images: dict[str, str]) -> str:
    lines = [f"# PVT and mismatch: {result['network']} on {result['inputs']}", "",
             "Engine: ngspice transient and .ac of the transistor-level lattice per run (flat decks; mismatch: "
             "every unit transistor's threshold, MiM plates nominal).", ""]
    lines += tables(result)
    lines += ["", "| run | corner | temp | VDD | seed | iref | correlation (worst output) | decision | "
                  "resonance error | output rest shift | power | pass |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["runs"]:
        done = r["error"] is None
        lines.append(f"| {r['run']} | {r['corner']} | {r['temp_c']:g} °C | {r['vdd_v']:g} V | "
                     f"{'' if r['mismatch_seed'] is None else r['mismatch_seed']} | {r['iref_scale']:.4f} | "
                     + (f"{r['correlation_min']:.4f} | {r['decision']}"
                        f"{'' if r['decision_agrees'] else ' (DIFFERS)'} | {percent(r['resonance_error_max'])} | "
                        f"{r['rest_shift_max_V'] * 1e3:.1f} mV | {nanowatts(r['power_W'])} | "
                        f"{'yes' if r['pass'] else 'NO'} |" if done else "— | — | — | — | — | NO (ngspice failed) |"))
    lines += [""] + [f"![{name}]({path})" for name, path in images.items()]
    return "\n".join(lines)


def figures(result: dict, out: Path) -> dict[str, str]:
    images: dict[str, str] = {}
    if any(r["kind"] == PVT for r in result["runs"]):
        heat_maps(result, [("waveform correlation (worst output)", lambda r: r["correlation_min"], "RdYlGn",
                            (0.9, 1.0)),
                           ("largest resonance error (%)", lambda r: r["resonance_error_max"] * 100, "magma_r", None),
                           ("iref (of nominal)", lambda r: r["iref_scale"], "coolwarm", None)],
                  f"{result['network']}: PVT grid (pass: correlation ≥ {PASS_CORRELATION:g} and the decision)",
                  out / FIGURES["PVT grid"])
        images["PVT grid"] = FIGURES["PVT grid"]
    mc = finished([r for r in result["runs"] if r["kind"] == MC])
    if mc:
        histograms([("waveform correlation (worst output)", [r["correlation_min"] for r in mc], "#3b6ea8",
                     PASS_CORRELATION),
                    ("output rest shift from vref (mV)", [r["rest_shift_max_V"] * 1e3 for r in mc], "#8c5a5b", None)],
                   f"{result['network']}: {len(mc)} mismatch samples at tt {TEMP_NOMINAL:g} °C {VDD_NOMINAL:g} V, "
                   f"yield {percent(result['yield'][MC]['fraction'])}", out / FIGURES["mismatch samples"])
        images["mismatch samples"] = FIGURES["mismatch samples"]
    return images
