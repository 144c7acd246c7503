"""Monte Carlo throughput against local workers: N mismatch-seeded transients of a macro.

Builds the `bmru simulate` deck (`flows.bmru.simulate.Bench`) of a network and sequence (default
the flip-flop on examples/flipflop_set.csv) once per mismatch seed 1…N (every unit device
its own instance, its own draw) and runs the same N jobs through `pdk.ngspice.simulate_many`
at each worker count. Prints wall time, runs per minute, the speed-up over the first worker
count and its parallel efficiency, and checks that every setting gives the same state
agreement per seed (a run does not depend on its neighbours).

ngspice's OpenMP team: Debian's ngspice is built with OpenMP and its init file sets a team
of 2 threads whatever OMP_NUM_THREADS says (`set num_threads` in spinit; measured: a
second thread busy beside the first). `pdk.ngspice` overrides it per job with a `.spiceinit`
in the job's folder; `--threads` compares team sizes ('share': the default, cores ÷
workers; or integers). On a shared machine the times are upper bounds and the ratios move
with the other load.
Usage: .venv/bin/python benchmarks/monte_carlo.py [--runs N] [--workers 1,2] [--threads 2,share]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from flows.bmru.simulate import Bench
from pdk.models import Conditions
from pdk.ngspice import Job, simulate_many

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--runs", type=int, default=12, help="mismatch samples N (default 12)")
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    parser.add_argument("--threads", default="2,share",
                        help="ngspice OpenMP team sizes: 'share' (cores / workers) and/or integers (default '2,share')")
    parser.add_argument("--network", type=Path, default=EXAMPLES / "flipflop.yaml")
    parser.add_argument("--inputs", type=Path, default=EXAMPLES / "flipflop_set.csv")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    teams = args.threads.split(",")
    if args.runs < 1 or min(workers) < 1 or any(t != "share" and not (t.isdigit() and int(t) >= 1) for t in teams):
        parser.error("--runs and every worker count must be >= 1; --threads takes 'share' or integers >= 1")
    bench = Bench.load(args.network, args.inputs)
    conditions = [Conditions(mismatch=True, seed=seed) for seed in range(1, args.runs + 1)]
    jobs = [Job(f"{bench.network.name}_mc{c.seed}", bench.deck(c)) for c in conditions]
    print(f"{bench.network.name} on {args.inputs.name}: {len(bench.inputs)} steps of {bench.plan.step * 1e3:g} ms, "
          f"{bench.circuit.device_count()['total']} transistors, {args.runs} mismatch seeds, "
          f"{os.cpu_count()} cores")
    seconds, agreements = {}, {}
    for team in teams:
        for count in workers:
            start = time.perf_counter()
            plots = simulate_many(jobs, workers=count, progress=False,
                                  threads=None if team == "share" else int(team))
            seconds[team, count] = elapsed = time.perf_counter() - start
            agreements[team, count] = [bench.states(plots[j.name][0], c)["agreement"]
                                       for j, c in zip(jobs, conditions)]
            print(f"ngspice threads {team:>7}, workers {count}: {elapsed:7.1f} s, "
                  f"{args.runs / elapsed * 60:6.1f} runs/min", flush=True)
    print()
    for team in teams:
        base = seconds[team, workers[0]]
        for count in workers[1:]:
            ratio = base / seconds[team, count]
            print(f"ngspice threads {team:>7}: speed-up {workers[0]} → {count} workers {ratio:.2f}x "
                  f"(parallel efficiency {ratio * workers[0] / count * 100:.0f} %)")
    reference = (teams[0], workers[0])
    best = min(seconds, key=seconds.get)
    print(f"best: threads {best[0]}, workers {best[1]}: {seconds[reference] / seconds[best]:.2f}x the throughput of "
          f"threads {reference[0]}, workers {reference[1]}")
    first = agreements[reference]
    same = all(a == first for a in agreements.values())
    print(f"state agreement per seed identical in every setting: {'yes' if same else 'NO'}; "
          f"{sum(a >= 0.99 for a in first)}/{args.runs} seeds >= 99 % (min {min(first) * 100:.1f} %)")


if __name__ == "__main__":
    main()
