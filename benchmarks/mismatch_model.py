"""`bmru pvt --engine model` against ngspice on the same mismatch samples, side by side.

For one network and sequence, the flat ngspice transient of `bmru simulate` (`Bench.deck`)
runs once nominal and once per seed; the circuit-aware Monte Carlo (`flows.bmru.mismatch`)
runs the same seeds: the same per-device offsets, around the same nominal transient
(`nominal_anchor`). Per sample: state agreement with the network by each, their pass/fail
(≥ 99 % of states), the states they disagree on, and the outputs' deviation from the nominal
run by each and between them (largest over steps and outputs, software units). Summary:
pass/fail agreement with its confusion counts, the output-error distributions side by side
(quartiles of each sample's largest |output − network|), and the time per sample of each
engine from this one run.

`--seeds` takes ranges and lists (`1-40`, `1-20,33,77`); `--model-failing K` adds the first
K seeds of 1…10 000 that the model fails (how often ngspice agrees that they fail).
Usage: .venv/bin/python benchmarks/mismatch_model.py NETWORK SEQUENCE [--diode-units M]
       [--seeds 1-40] [--model-failing K] [--workers 2]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from flows.bmru.mismatch import MismatchModel, nominal_anchor
from flows.bmru.simulate import PASS_AGREEMENT, Bench
from pdk.models import Conditions
from pdk.ngspice import Job, simulate_many


def seed_list(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("network", type=Path)
    parser.add_argument("sequence", type=Path)
    parser.add_argument("--diode-units", type=int, default=None)
    parser.add_argument("--seeds", default="1-40")
    parser.add_argument("--model-failing", type=int, default=0, metavar="K")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    bench = Bench.load(args.network, args.sequence, diode_units=args.diode_units)
    model = MismatchModel(bench.circuit)
    started = time.perf_counter()
    anchor = nominal_anchor(bench, model)
    anchor_s = time.perf_counter() - started
    seeds = seed_list(args.seeds)
    if args.model_failing:
        every = np.arange(1, 10_001)
        states, _ = model.run(every, bench.inputs, anchor)
        failing = [int(s) for s, st in zip(every, states)
                   if bench.states_of(st)["agreement"] < PASS_AGREEMENT and int(s) not in seeds]
        seeds += failing[:args.model_failing]
    started = time.perf_counter()
    states, outputs = model.run(np.array(seeds), bench.inputs, anchor)
    model_s = time.perf_counter() - started
    nominal_states, nominal_outputs = model.run(None, bench.inputs, anchor)

    jobs = [Job(f"{bench.network.name}_mc{s}", bench.deck(Conditions(mismatch=True, seed=s))) for s in seeds]
    started = time.perf_counter()
    plots = simulate_many(jobs, workers=args.workers, progress=True, desc="ngspice")
    spice_s = time.perf_counter() - started

    print(f"{bench.network.name} on {args.sequence} (M = {bench.circuit.notes['weight_diode_units']}, "
          f"{len(bench.inputs)} steps × {len(bench.cells())} cells), {len(seeds)} samples")
    print("| seed | model states | ngspice states | model pass | ngspice pass | states model≠ngspice | "
          "output moved by mismatch (ngspice) | model − ngspice output |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for i, (seed, job) in enumerate(zip(seeds, jobs)):
        plot = plots[job.name][0]
        spice_states, spice_outputs = bench.cell_states(plot, Conditions()), bench.outputs(plot)
        mine, theirs = bench.states_of(states[i])["agreement"], bench.states_of(spice_states)["agreement"]
        row = {"seed": seed, "model": mine, "ngspice": theirs,
               "model_pass": mine >= PASS_AGREEMENT, "ngspice_pass": theirs >= PASS_AGREEMENT,
               "differ": int((states[i] != spice_states).sum()),
               "moved": float(np.abs(spice_outputs - nominal_outputs[0]).max()),
               "gap": float(np.abs(outputs[i] - spice_outputs).max()),
               "model_error": float(np.abs(outputs[i] - bench.reference.output).max()),
               "ngspice_error": float(np.abs(spice_outputs - bench.reference.output).max())}
        rows.append(row)
        print(f"| {seed} | {mine * 100:.2f} % | {theirs * 100:.2f} % | {'yes' if row['model_pass'] else 'NO'} | "
              f"{'yes' if row['ngspice_pass'] else 'NO'} | {row['differ']} | {row['moved']:.4f} | {row['gap']:.4f} |")
    agree = sum(r["model_pass"] == r["ngspice_pass"] for r in rows)
    both_fail = sum(not r["model_pass"] and not r["ngspice_pass"] for r in rows)
    print(f"\npass/fail agreement: {agree}/{len(rows)} = {agree / len(rows) * 100:.1f} % "
          f"(both pass {sum(r['model_pass'] and r['ngspice_pass'] for r in rows)}, both fail {both_fail}, "
          f"model only fails {sum(not r['model_pass'] and r['ngspice_pass'] for r in rows)}, "
          f"ngspice only fails {sum(r['model_pass'] and not r['ngspice_pass'] for r in rows)})")
    for key, label in (("model_error", "model  "), ("ngspice_error", "ngspice")):
        q = np.percentile([r[key] for r in rows], [0, 25, 50, 75, 100])
        print(f"largest |output − network| per sample, {label}: min {q[0]:.4f}  q1 {q[1]:.4f}  "
              f"median {q[2]:.4f}  q3 {q[3]:.4f}  max {q[4]:.4f}")
    print(f"time per sample: ngspice {spice_s / len(seeds) * args.workers:.2f} s of a worker "
          f"({args.workers} workers, {spice_s:.1f} s wall), model {model_s / len(seeds) * 1e3:.3f} ms "
          f"(+ {anchor_s:.1f} s for the one nominal transient), ratio {spice_s * args.workers / model_s:.0f}×")


if __name__ == "__main__":
    main()
