"""How compile and simulate scale with the dimension d, measured in one run.

For each d, the power-sweep network `input(d) → BMRU(d)` (flows/bmru/sweep.py: d × d weights
k/8, fixed per-entry statistics) is compiled (`flows.compile.compile_network`, own DRC
engine and LVS on) and simulated (`flows.bmru.simulate.run`, a short transient of `--rows`
input rows). Prints the time of each stage per d and the ratio to the previous d: a ratio
near 2 per doubling is linear in d, near 4 is quadratic (the d² weights).
Stages: netlist+mapping (map, netlist), layout (schematics and testbenches are drawn
beside it in a child process), checks+views (LVS beside the two halves of the own-engine
DRC in two child processes, until all of them and the views are done), compile (all of
it), simulate. Then the shipped d = 4 example (examples/kws_d4.yaml, M = 8) is compiled
the same way: the issue's target is < 10 s for it.
Usage: .venv/bin/python benchmarks/compile_simulate.py [--dims 1,2,4,8] [--rows 2] [--no-example]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

os.environ["OMP_NUM_THREADS"] = "1"

from flows.compile import CompileOptions, compile_network  # noqa: E402
from flows.bmru.mapping import MappingConfig  # noqa: E402
from flows.bmru.simulate import SimulationRun, run  # noqa: E402
from flows.bmru.sweep import BIAS_UNITS, DIODE_UNITS, sweep_inputs, sweep_network  # noqa: E402

STAGES = ("netlist+mapping", "layout", "checks+views", "compile", "simulate")
CHECKS_AND_VIEWS = ("lvs", "schematics", "testbenches", "drc")
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "kws_d4.yaml"


def stages(timings: dict[str, float]) -> dict[str, float]:
    """The manifest's step timings grouped into the benchmark's stages."""
    return {"netlist+mapping": timings["map"] + timings["netlist"], "layout": timings["layout"],
            "checks+views": sum(timings[k] for k in CHECKS_AND_VIEWS), "compile": sum(timings.values())}


def measure(d: int, rows: int, work: Path) -> dict[str, float]:
    network = sweep_network(d)
    path = work / f"{network.name}.yaml"
    path.write_text(yaml.safe_dump(network.to_dict(), sort_keys=False))
    inputs = work / f"{network.name}_inputs.csv"
    np.savetxt(inputs, sweep_inputs(d, rows), delimiter=",", fmt="%.6g",
               header=",".join(f"x{j}" for j in range(d)), comments="")
    options = CompileOptions(check=True, diode_units=DIODE_UNITS,
                             mapping=MappingConfig(bias_diode_units={0: BIAS_UNITS}))
    (work / "compiled").mkdir()
    manifest = compile_network(path, work / "compiled", options)
    t = manifest["timings_s"]
    (work / "simulated").mkdir()
    start = time.perf_counter()
    summary = run(SimulationRun(network=path, inputs=inputs, diode_units=DIODE_UNITS), work / "simulated")
    simulate_s = time.perf_counter() - start
    return {**stages(t), "simulate": simulate_s, "devices": manifest["devices"]["total"],
            "agreement": summary["agreement"].get("state_agreement", float("nan"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", default="1,2,4,8")
    parser.add_argument("--rows", type=int, default=2, help="input rows of the transient (default 2)")
    parser.add_argument("--no-example", action="store_true", help="skip compiling examples/kws_d4.yaml")
    args = parser.parse_args()
    dims = [int(x) for x in args.dims.split(",")]
    results = {}
    for d in dims:
        with tempfile.TemporaryDirectory(prefix=f"bench-d{d}-") as tmp:
            results[d] = measure(d, args.rows, Path(tmp))
        r = results[d]
        print(f"d={d:>3} ({r['devices']} devices): " + ", ".join(f"{s} {r[s]:.2f} s" for s in STAGES)
              + f"; state agreement {r['agreement']:.2f}", flush=True)
    print()
    print(f"{'d':>4} {'devices':>8} " + " ".join(f"{s:>16}" for s in STAGES))
    previous = None
    for d in dims:
        r = results[d]
        cells = []
        for s in STAGES:
            ratio = "" if previous is None else f" (x{r[s] / max(results[previous][s], 1e-9):.1f})"
            cells.append(f"{r[s]:.2f}{ratio}".rjust(16))
        print(f"{d:>4} {r['devices']:>8} " + " ".join(cells))
        previous = d
    print("\n(xN: time against the previous d; per doubling of d, x2 is linear, x4 quadratic)")
    if not args.no_example:
        with tempfile.TemporaryDirectory(prefix="bench-kws-") as tmp:
            manifest = compile_network(EXAMPLE, Path(tmp), CompileOptions(check=True, diode_units=8))
        t = stages(manifest["timings_s"])
        print(f"\nkws_d4 (d = 4 example, M = 8, {manifest['devices']['total']} devices): compile "
              f"{t['compile']:.2f} s = netlist+mapping {t['netlist+mapping']:.2f} + layout {t['layout']:.2f} "
              f"+ checks+views {t['checks+views']:.2f} (own DRC: the longer half "
              f"{manifest['checks']['drc_own']['seconds']:.2f} s, beside LVS); target 10 s: x{t['compile'] / 10:.1f}")


if __name__ == "__main__":
    main()
