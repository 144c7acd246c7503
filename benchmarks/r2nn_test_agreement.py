"""Issue 20's test-set measurement: how often an R²NN circuit's decision is its network's.

The first `--per-class` test waveforms of each class of a shipped task (`flows.r2nn.tasks`,
in the data set's order, not picked) are simulated at transistor level exactly as `bmru
simulate` does (the waveform at the macro's full-scale input, `simulate.full_scale_gain`;
the transient from the operating point at rest, `bench.transient_deck`, flat); for each,
the circuit's decision (argmax of its output energies) against the network's and the
label, the network's score margin (largest normalised score − the next: a near tie flips
on a small error), and the per-output waveform correlation. Prints one line per waveform
and the totals.
Usage: .venv/bin/python benchmarks/r2nn_test_agreement.py NET.yaml --task machine [--per-class 4]
       [--workers 2] [--corner tt] [--temp 27]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

os.environ["OMP_NUM_THREADS"] = "1"

from flows.r2nn import model  # noqa: E402
from flows.r2nn.bench import transient_deck, transient_result  # noqa: E402
from flows.r2nn.circuit import build_circuit  # noqa: E402
from flows.r2nn.network import load_network  # noqa: E402
from flows.r2nn.simulate import full_scale_gain, output_correlation  # noqa: E402
from flows.r2nn.tasks import SPECS, TASKS, dataset  # noqa: E402
from pdk.models import Conditions  # noqa: E402
from pdk.ngspice import Job, simulate_many  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("network")
    p.add_argument("--task", choices=TASKS, required=True)
    p.add_argument("--per-class", type=int, default=4)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--corner", default="tt")
    p.add_argument("--temp", type=float, default=27.0)
    p.add_argument("--json", help="also write the per-waveform results here")
    args = p.parse_args()
    started = time.monotonic()
    network = load_network(args.network)
    circuit = build_circuit(network)
    conditions = Conditions(args.corner, temp=args.temp)
    x, labels = dataset(args.task, "test")
    picked = [i for c in range(len(SPECS[args.task].classes)) for i in np.flatnonzero(labels == c)[:args.per_class]]
    x, labels = x[picked], labels[picked]
    gains = [full_scale_gain(circuit, u) for u in x]
    jobs = [Job(f"test{i}", transient_deck(circuit, g * u, conditions, flat=True))
            for i, (g, u) in enumerate(zip(gains, x))]
    # one batch of `workers` waveforms at a time, each printed when it is done: a voice
    # waveform takes minutes, and a run cut short keeps what it measured
    batch = args.workers or os.cpu_count() or 1
    rows = []
    for i, (u, label, gain) in enumerate(zip(x, labels, gains)):
        if i % batch == 0:
            plots = simulate_many(jobs[i:i + batch], workers=args.workers, desc=f"{network.name} test set", threads=1)
        (plot,) = plots[f"test{i}"]
        result = transient_result(circuit, plot, len(u), conditions)
        circuit_y = result["outputs"] / gain
        software = model.simulate(network, u[None, :])[0]
        network_readout = model.decision(software)
        ranked = sorted(network_readout["scores"], reverse=True)
        rows.append({"index": int(picked[i]), "label": int(label), "margin": ranked[0] - ranked[1],
                     "network": network_readout["decision"],
                     "circuit": model.decision(circuit_y)["decision"],
                     "correlation": output_correlation(circuit_y, software).tolist(),
                     "power_W": result["power_W"]})
        r = rows[-1]
        print(f"test {r['index']:3d} {SPECS[args.task].classes[label]:>9}: network {r['network']} (score margin "
              f"{r['margin']:.3f}) circuit {r['circuit']} "
              f"{'agree' if r['network'] == r['circuit'] else 'DIFFER'}  correlation "
              + " ".join(f"{c:.4f}" for c in r["correlation"]) + f"  {r['power_W'] * 1e9:.1f} nW", flush=True)
    n = len(rows)
    agree = sum(r["network"] == r["circuit"] for r in rows)
    corr = np.array([r["correlation"] for r in rows])
    print(f"{network.name} on {n} {args.task} test waveforms ({args.per_class} per class, {args.corner} "
          f"{args.temp:g} °C): circuit decision = network decision on {agree}/{n} ({100 * agree / n:.1f} %); "
          f"accuracy network {sum(r['network'] == r['label'] for r in rows)}/{n}, circuit "
          f"{sum(r['circuit'] == r['label'] for r in rows)}/{n}; correlation min {corr.min():.4f}, "
          f"median {np.median(corr):.4f}; power {np.mean([r['power_W'] for r in rows]) * 1e9:.1f} nW; "
          f"{time.monotonic() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if agree == n else 1


if __name__ == "__main__":
    sys.exit(main())
