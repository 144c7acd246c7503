"""Transient simulation time against the state dimension d and the sequence length T.

For each d the power-sweep network `input(d) → BMRU(d)` (flows/bmru/sweep.py: d × d weights k/8,
fixed per-entry statistics, M = 8 so the step is the same at every d) runs through
`flows.bmru.simulate.run` (what `bmru simulate` does: build the circuit, the deck, one ngspice
transient, score, write files) on T random input rows. Prints the wall time of every
(d, T) in wall time and in ngspice CPU time (its processes' user + system time: steadier
on a shared machine), and for each two fits: the power law time ≈ c · d^a · T^b over all points, and, because a
fixed cost per run (Python, parsing the deck, the operating point) hides the part that grows
with T, per d the line time = setup + T · per-step, with power laws of setup and per-step
against d.
Runs one after another (one ngspice at a time), each point the best of --repeat runs: a
busy machine only slows ngspice down (its OpenMP team of 2 threads suffers most).
Usage: .venv/bin/python benchmarks/simulate_scaling.py [--dims 1,2,4,8] [--steps 8,16,32] [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ["OMP_NUM_THREADS"] = "1"

from flows.bmru.circuit import build_circuit  # noqa: E402
from flows.bmru.simulate import SimulationRun, run  # noqa: E402
from flows.bmru.sweep import DIODE_UNITS, sweep_inputs, sweep_network  # noqa: E402


def measure(d: int, steps: int, work: Path) -> tuple[float, float]:
    """(wall seconds, ngspice CPU seconds) of one `bmru simulate` of the d-network on
    `steps` input rows, into a fresh output folder."""
    network = sweep_network(d)
    path = work / f"{network.name}.yaml"
    path.write_text(network.to_yaml())
    inputs = work / f"{network.name}_T{steps}.csv"
    np.savetxt(inputs, sweep_inputs(d, steps), delimiter=",", fmt="%.6g",
               header=",".join(f"x{j}" for j in range(d)), comments="")
    out = Path(tempfile.mkdtemp(prefix=f"sim_d{d}_T{steps}_", dir=work))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run(SimulationRun(network=path, inputs=inputs, diode_units=DIODE_UNITS), out)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def power_law(x: list[float], y: list[float]) -> tuple[float, float]:
    """y ≈ c · x^a by least squares in log-log: (c, a)."""
    a, log_c = np.polyfit(np.log(x), np.log(y), 1)
    return float(np.exp(log_c)), float(a)


def fit(times: dict[tuple[int, int], float]) -> tuple[float, float, float, float]:
    """log t = log c + a log d + b log T by least squares: (c, a, b, R²)."""
    keys = list(times)
    design = np.array([[1.0, np.log(d), np.log(t)] for d, t in keys])
    target = np.log([times[k] for k in keys])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coef
    r2 = 1 - float(residual @ residual) / float(((target - target.mean()) ** 2).sum())
    return float(np.exp(coef[0])), float(coef[1]), float(coef[2]), r2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--dims", default="1,2,4,8", help="state dimensions d (default 1,2,4,8)")
    parser.add_argument("--steps", default="8,16,32", help="sequence lengths T (default 8,16,32)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per point, best kept (default 2)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    dims = [int(x) for x in args.dims.split(",")]
    lengths = [int(x) for x in args.steps.split(",")]
    if len(dims) < 2 or len(lengths) < 2:
        parser.error("the fit needs at least two values of d and two of T")
    wall: dict[tuple[int, int], float] = {}
    cpu: dict[tuple[int, int], float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
        for d in dims:
            devices = build_circuit(sweep_network(d), diode_units=DIODE_UNITS).device_count()["total"]
            for steps in lengths:
                runs = [measure(d, steps, Path(tmp)) for _ in range(args.repeat)]
                wall[d, steps] = min(r[0] for r in runs)
                cpu[d, steps] = min(r[1] for r in runs)
                print(f"d={d:>3} ({devices:>5} devices) T={steps:>4}: {wall[d, steps]:8.2f} s wall, "
                      f"{cpu[d, steps]:8.2f} s ngspice CPU", flush=True)
    for label, times in (("wall time", wall), ("ngspice CPU time", cpu)):
        report(label, times, dims, lengths)


def report(label: str, times: dict[tuple[int, int], float], dims: list[int], lengths: list[int]) -> None:
    """Table, power-law fit and setup + per-step decomposition of one time measure."""
    print(f"\n{label} (s)".ljust(18) + "".join(f"T={t:<10}" for t in lengths))
    for d in dims:
        print(f"d={d:<15}" + "".join(f"{times[d, t]:<12.2f}" for t in lengths))
    c, a, b, r2 = fit(times)
    print(f"fit: {label} ≈ {c:.3g} s · d^{a:.2f} · T^{b:.2f}   (R² {r2:.3f}, {len(times)} points)")
    setup, per_step = [], []
    for d in dims:
        slope, intercept = np.polyfit(lengths, [times[d, t] for t in lengths], 1)
        setup.append(float(intercept))
        per_step.append(float(slope))
        print(f"d={d:>3}: {label} ≈ {intercept:6.2f} s + T · {slope * 1e3:7.1f} ms")
    for name, values in (("setup", setup), ("per step", per_step)):
        if min(values) > 0:
            print(f"{name:>8} ∝ d^{power_law(dims, values)[1]:.2f}")
        else:
            print(f"{name:>8}: not fitted (a non-positive value: the times are too noisy at small d)")
    d0, d1, t0, t1 = dims[0], dims[-1], lengths[0], lengths[-1]
    print(f"d {d0} → {d1} at T={t1}: x{times[d1, t1] / times[d0, t1]:.1f};  "
          f"T {t0} → {t1} at d={d1}: x{times[d1, t1] / times[d1, t0]:.1f}")

if __name__ == "__main__":
    main()
