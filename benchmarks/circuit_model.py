"""Circuit-aware software model against the ngspice transient: speed-up and agreement.

The circuit-aware model (`flows.bmru.circuit_model`: mapped unit-device ratios plus the
characterized per-condition corrections, run through `flows.bmru.model.run_network`) should
predict the transistor-level macro. For each network and input sequence this script runs
the transient exactly as `bmru simulate` builds it (`flows.bmru.simulate.Bench`: same M, step,
netlist, deck) and times it from network to sampled outputs, best of --repeat runs (a busy
machine only slows ngspice down, so the best is the fair one). The model is timed per
sequence as the median over 5 batches of repeated `run_network` calls (one sequence per
call, no batching across sequences); building the corrected network (mapping +
corrections, once per network and condition) is timed apart.

Agreement is over every BMRU state (each unit of each BMRU layer at the end of each step):
the circuit's state is read from each cell's logic node (Bench.states), the model's is h > 0.
The plain ideal network is scored the same way for contrast. Output error: largest
|y_model − y_circuit| over the trace, in % of the trace's full scale.

Cases: examples/flipflop.yaml with its 3 sequences; random input(3) → dense(3) → BMRU(3)
networks (`flows.bmru.random_networks`, 24 steps, margin 0.06, as tests/test_random_agreement.py);
optionally examples/kws_d4.yaml with --diode-units 8 on K shipped sequences (--kws K; the
two of `make demo` first; ≈ 2.5 min of ngspice each).
Usage: .venv/bin/python benchmarks/circuit_model.py [--random-seeds 0,1,2] [--kws K] [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

os.environ["OMP_NUM_THREADS"] = "1"

from flows.bmru.circuit_model import circuit_model  # noqa: E402
from flows.bmru.model import ModelTrace, run_network  # noqa: E402
from flows.bmru.network import Network, load_network  # noqa: E402
from flows.bmru.random_networks import random_bmru_case  # noqa: E402
from flows.bmru.simulate import Bench  # noqa: E402
from pdk.models import Conditions  # noqa: E402
from pdk.ngspice import Plot, simulate  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FLIPFLOP_SEQUENCES = ("flipflop_set", "flipflop_reset", "flipflop_mixed")
KWS_FIRST = ("yes_en-gb-scotland-m8_s156_p28_0", "noise_50")
CONDITIONS = Conditions()


@dataclass(frozen=True)
class Case:
    label: str
    network: Path
    inputs: Path
    diode_units: int | None = None


def cases(random_seeds: list[int], kws: int, work: Path) -> list[Case]:
    """Every case as files, the way `bmru simulate` takes them (random ones written to `work`)."""
    out = [Case(f"flipflop {s}", EXAMPLES / "flipflop.yaml", EXAMPLES / f"{s}.csv") for s in FLIPFLOP_SEQUENCES]
    for seed in random_seeds:
        case = random_bmru_case(seed)
        network, inputs = work / f"random{seed}.yaml", work / f"random{seed}.csv"
        network.write_text(case.network.to_yaml())
        np.savetxt(inputs, case.inputs, delimiter=",", fmt="%.17g", comments="",
                   header=",".join(f"x{j}" for j in range(case.network.input_size)))
        out.append(Case(f"random 3x3 seed {seed}", network, inputs))
    paths = sorted((EXAMPLES / "kws").glob("*.csv"), key=lambda p: (p.stem not in KWS_FIRST, p.stem))
    out += [Case(f"kws_d4 {p.stem[:24]}", EXAMPLES / "kws_d4.yaml", p, diode_units=8) for p in paths[:kws]]
    return out


def circuit_run(case: Case) -> tuple[float, Bench, Plot]:
    """The `bmru simulate` transient (flows.bmru.simulate.Bench), timed from the files to the
    sampled outputs."""
    start = time.perf_counter()
    bench = Bench.load(case.network, case.inputs, diode_units=case.diode_units)
    plot = simulate(bench.deck(CONDITIONS), f"{bench.network.name}_bench")[0]
    bench.outputs(plot)
    return time.perf_counter() - start, bench, plot


def state_agreement(bench: Bench, plot: Plot, trace: ModelTrace) -> tuple[float, int]:
    """Fraction of BMRU states (cells × steps) where the circuit agrees with `trace`."""
    states = replace(bench, reference=trace).states(plot, CONDITIONS)
    return states["agreement"], states["samples"]


def time_per_call(model: Network, x: np.ndarray, batches: int = 5, batch_seconds: float = 0.2) -> float:
    """Median over `batches` of the mean time of one `run_network` call (calls per batch
    chosen so a batch lasts ≈ batch_seconds)."""
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < batch_seconds / 4:
        run_network(model, x)
        calls += 1
    calls = max(1, calls * 4)
    means = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(calls):
            run_network(model, x)
        means.append((time.perf_counter() - start) / calls)
    return statistics.median(means)


def output_error(model: np.ndarray, circuit: np.ndarray) -> float:
    """Largest |model − circuit| in % of the circuit trace's full scale."""
    return float(np.abs(model - circuit).max() / max(np.abs(circuit).max(), 1e-12) * 100)


def measure(case: Case, model: Network, repeat: int) -> dict:
    """One case: ngspice time (best of `repeat`), model time per call, state agreement and
    output error of the circuit-aware and of the ideal model against the circuit."""
    seconds, bench, plot = min((circuit_run(case) for _ in range(repeat)), key=lambda r: r[0])
    circuit_out = bench.outputs(plot)
    aware, ideal = run_network(model, bench.inputs), bench.reference
    aware_agreement, states = state_agreement(bench, plot, aware)
    per_call = time_per_call(model, bench.inputs)
    return {"steps": len(bench.inputs), "cells": len(bench.cells()), "states": states,
            "seconds": seconds, "model": per_call, "speedup": seconds / per_call,
            "aware": aware_agreement, "ideal": state_agreement(bench, plot, ideal)[0],
            "aware_err": output_error(aware.output, circuit_out), "ideal_err": output_error(ideal.output, circuit_out)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--random-seeds", default="0,1,2", help="seeds of random 3x3 networks (default 0,1,2; '' for none)")
    parser.add_argument("--kws", type=int, default=0, help="also run kws_d4 (M = 8) on K shipped sequences")
    parser.add_argument("--repeat", type=int, default=2, help="ngspice runs per sequence, best kept (default 2)")
    args = parser.parse_args()
    if args.repeat < 1 or args.kws < 0:
        parser.error("--repeat must be >= 1 and --kws >= 0")
    seeds = [int(s) for s in args.random_seeds.split(",") if s.strip()]
    built: dict[tuple[Path, int | None], tuple[str, Network, float]] = {}  # cases share networks
    rows = []
    print(f"conditions {CONDITIONS.label()}; ngspice time = best of {args.repeat} runs; "
          "model time = median of 5 batches of repeated calls, one sequence per call")
    print(f"{'case':<34} {'steps':>5} {'units':>5} {'ngspice s':>9} {'model µs':>9} {'speed-up':>9} "
          f"{'aware agr.':>10} {'ideal agr.':>10} {'aware err%':>10} {'ideal err%':>10}")
    with tempfile.TemporaryDirectory(prefix="bench-circuit-model-") as work:
        for case in cases(seeds, args.kws, Path(work)):
            key = (case.network, case.diode_units)
            if key not in built:
                start = time.perf_counter()
                model = circuit_model(load_network(case.network), CONDITIONS, diode_units=case.diode_units)
                built[key] = (case.label, model, time.perf_counter() - start)
            row = measure(case, built[key][1], args.repeat)
            rows.append(row)
            print(f"{case.label:<34} {row['steps']:>5} {row['cells']:>5} {row['seconds']:>9.2f} "
                  f"{row['model'] * 1e6:>9.1f} {row['speedup']:>8.3g}x {row['aware'] * 100:>9.2f}% "
                  f"{row['ideal'] * 100:>9.2f}% {row['aware_err']:>10.2f} {row['ideal_err']:>10.2f}", flush=True)
    states = sum(r["states"] for r in rows)
    pooled = lambda k: sum(r[k] * r["states"] for r in rows) / states * 100
    print()
    for label, _, build_s in built.values():
        print(f"building the circuit-aware network of {label}: {build_s * 1e3:.1f} ms (once per network and condition)")
    print(f"speed-up per sequence: min {min(r['speedup'] for r in rows):.3g}x, "
          f"median {statistics.median(r['speedup'] for r in rows):.3g}x   (goal >= 1e4x)")
    print(f"total: ngspice {sum(r['seconds'] for r in rows):.1f} s against model "
          f"{sum(r['model'] for r in rows) * 1e3:.2f} ms "
          f"({sum(r['seconds'] for r in rows) / sum(r['model'] for r in rows):.3g}x)")
    print(f"state agreement over all {states} states: circuit-aware {pooled('aware'):.2f} % "
          f"(worst case {min(r['aware'] for r in rows) * 100:.2f} %; goal >= 99 %), ideal {pooled('ideal'):.2f} %")
    print(f"largest output error: circuit-aware {max(r['aware_err'] for r in rows):.2f} %, "
          f"ideal {max(r['ideal_err'] for r in rows):.2f} % of full scale")


if __name__ == "__main__":
    main()
