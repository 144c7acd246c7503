"""Issue 14's acceptance measurement: BMRU state agreement of user-shaped random networks.

For each seed, `flows.bmru.random_networks.random_user_case(seed, max_inputs=5, max_units=3)`
is simulated at transistor level exactly as `bmru simulate` does (flows.bmru.simulate.Bench,
tt 27 °C, every row held for the macro's `timing.step_s`), and every BMRU cell's state at the
end of each step is compared with the network as given and with the mapped model. Each
disagreeing state is listed with what explains it: the network's drive and thresholds, the
mapped model's, and the current the circuit's ReLU diode carries into the cell (the drive it
compares) at the sample time and at its extremes during the step; per cell, how far that
settled current is from the mapped model's drive.
Usage: .venv/bin/python benchmarks/user_agreement.py [--seeds 0-7] [--step S] [--diode-units M] [--v0-cap F]
"""
from __future__ import annotations

import argparse
import os
import re
import time

import numpy as np

os.environ["OMP_NUM_THREADS"] = "1"

from flows.bmru import testbench  # noqa: E402
from flows.bmru.network import BmruLayer  # noqa: E402
from flows.bmru.random_networks import random_user_case  # noqa: E402
from flows.bmru.simulate import Bench  # noqa: E402
from pdk.models import Conditions  # noqa: E402
from pdk.ngspice import simulate  # noqa: E402


def _seeds(text: str) -> list[int]:
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def drive_probe(bench: Bench, layer: int, unit: int) -> str:
    """The drain current of the ReLU diode on the summing node of BMRU cell (layer, unit):
    the drive the cell compares (flat deck device names, lower case)."""
    return f"@m.x{bench.network.name}.xl{layer}_dense.mmnrelu{unit}_0[id]"


def with_v0_capacitor(deck: str, farads: float) -> str:
    """The deck with a capacitor from every BMRU cell's comparison node v0 to vss: the
    experiment of a cell that integrates a glitch instead of latching it (not in any macro)."""
    lines = []
    for line in deck.splitlines():
        lines.append(line)
        if re.match(r"\.subckt \S+_l\d+_bmru\d+ ", line):
            lines.append(f"Cglitch v0 vss {farads:.6g}")
    return "\n".join(lines) + "\n"


def measure(seed: int, step: float | None, diode_units: int | None = None, v0_cap: float = 0.0) -> dict:
    case = random_user_case(seed, max_inputs=5, max_units=3)
    bench = Bench.of(case.network, case.inputs, step, diode_units)
    conditions = Conditions()
    cells = bench.cells()
    probes = [drive_probe(bench, layer, unit) for layer, unit, _ in cells]
    start = time.perf_counter()
    deck = bench.deck(conditions, probes=tuple(probes))
    plot = simulate(with_v0_capacitor(deck, v0_cap) if v0_cap else deck, f"user{seed}")[0]
    seconds = time.perf_counter() - start
    states = bench.states(plot, conditions)
    at = testbench.sample_times(len(bench.inputs), bench.plan)
    circuit = np.stack([np.interp(at, plot["time"], plot[f"v({bench._node(b, 'qb')})"]) < conditions.vdd / 2
                        for _, _, b in cells], axis=1)
    unit_current = bench.network.unit_current
    events, settled_error = [], []
    for c, (layer, unit, _) in enumerate(cells):
        given, mapped = bench.network.layers[layer], bench.circuit.mapping.mapped.layers[layer]
        assert isinstance(given, BmruLayer) and isinstance(mapped, BmruLayer)
        drive = np.maximum(bench.reference.pre_activations[layer][:, unit], 0.0)
        mapped_drive = np.maximum(bench.mapped.pre_activations[layer][:, unit], 0.0)
        model = bench.reference.activations[layer][:, unit] > 0
        current = np.abs(plot[f"i({probes[c]})"]) / unit_current
        time_axis = plot["time"]
        settled = np.interp(at, time_axis, current)
        positive = mapped_drive > 0.05  # where a relative error means something
        settled_error.append({"cell": f"l{layer}_bmru{unit}",
                              "max_abs": float(np.abs(settled - mapped_drive).max()),
                              "gain": float(np.median(settled[positive] / mapped_drive[positive]))
                              if positive.any() else None})
        for t in np.flatnonzero(circuit[:, c] != model):
            inside = (time_axis > t * bench.plan.step) & (time_axis <= at[t])
            events.append({
                "cell": f"l{layer}_bmru{unit}", "step": int(t), "circuit_high": bool(circuit[t, c]),
                "drive": float(drive[t]), "beta_lo": float(given.beta_lo[unit]), "beta_hi": float(given.beta_hi[unit]),
                "mapped_drive": float(mapped_drive[t]), "mapped_beta_lo": float(mapped.beta_lo[unit]),
                "mapped_beta_hi": float(mapped.beta_hi[unit]),
                "circuit_drive": float(np.interp(at[t], time_axis, current)),
                "circuit_drive_min": float(current[inside].min()), "circuit_drive_max": float(current[inside].max())})
    return {"seed": seed, "states": states["samples"], "disagree": states["disagreements"],
            "agreement": states["agreement"], "mapped_agreement": states["mapped_agreement"],
            "step_s": bench.plan.step, "diode_units": bench.circuit.notes["weight_diode_units"],
            "seconds": seconds, "events": events, "settled_error": settled_error,
            "weight_error_bounds": [round(layer.weight_error_bound, 4) for layer in bench.circuit.mapping.layers]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-7")
    parser.add_argument("--step", type=float, default=None, help="seconds per row (default: timing.step_s)")
    parser.add_argument("--diode-units", type=int, default=None, help="fix M (default: the mapping's choice)")
    parser.add_argument("--v0-cap", type=float, default=0.0,
                        help="farads from every BMRU cell's v0 to vss (experiment; default none)")
    args = parser.parse_args()
    total = agree = 0
    for seed in _seeds(args.seeds):
        r = measure(seed, args.step, args.diode_units, args.v0_cap)
        total += r["states"]
        agree += r["states"] - r["disagree"]
        print(f"seed {seed}: {r['states'] - r['disagree']}/{r['states']} states agree with the network "
              f"({r['agreement'] * 100:.1f} %), {r['mapped_agreement'] * 100:.1f} % with the mapped model; "
              f"M = {r['diode_units']}, step {r['step_s'] * 1e3:g} ms, weight error bounds "
              f"{r['weight_error_bounds']}, ngspice {r['seconds']:.0f} s", flush=True)
        for e in r["settled_error"]:
            gain = "" if e["gain"] is None else f", median circuit/mapped {e['gain']:.3f}"
            print(f"  {e['cell']}: settled drive vs mapped model ≤ {e['max_abs']:.3f} units{gain}")
        for e in r["events"]:
            print(f"  {e['cell']} step {e['step']}: circuit {'high' if e['circuit_high'] else 'low'}; "
                  f"drive {e['drive']:.3f} in [{e['beta_lo']:.3f}, {e['beta_hi']:.3f}], mapped "
                  f"{e['mapped_drive']:.3f} in [{e['mapped_beta_lo']:.3f}, {e['mapped_beta_hi']:.3f}], "
                  f"circuit {e['circuit_drive']:.3f} (step range {e['circuit_drive_min']:.3f} … "
                  f"{e['circuit_drive_max']:.3f})", flush=True)
    print(f"total: {agree}/{total} BMRU states agree ({agree / total * 100:.1f} %)")


if __name__ == "__main__":
    main()
