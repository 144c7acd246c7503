"""Engine choice for pdk.ngspice: `ngspice -b` subprocess against PySpice's in-process
shared library, on the same small deck (fast include + a DC sweep), from one run.

Prints time per run for each and the ratio. The subprocess engine is what the runner uses;
this script is the measurement behind that choice (README, "Why ngspice -b").
Usage: .venv/bin/python benchmarks/engine.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from pdk.devices import instance
from pdk.models import Conditions
from pdk.ngspice import simulate

os.environ.setdefault("NGSPICE_LIBRARY_PATH", "/usr/lib/x86_64-linux-gnu/libngspice.so.0")
os.environ["OMP_NUM_THREADS"] = "1"

DECK = "\n".join([Conditions().lines(), "Vd d 0 0.9", "Vg g 0 0",
                  instance("N", "nfet_01v8", "d", "g", "0", "0", 2, 4), ".dc Vg 0 1.8 0.01"]) + "\n"


def subprocess_engine(runs: int) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    for i in range(runs):
        current = simulate(DECK, f"bench{i}")[0]["i(vd)"]
    return (time.perf_counter() - start) / runs, current


def shared_engine(runs: int) -> tuple[float, np.ndarray]:
    import logging
    logging.disable(logging.WARNING)  # PySpice warns about ngspice 39
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared

    ngspice = NgSpiceShared.new_instance()
    start = time.perf_counter()
    for i in range(runs):
        if i:
            ngspice.remove_circuit()
        ngspice.load_circuit("* bench\n" + DECK + ".end\n")
        ngspice.run()
        plot = ngspice.plot(None, ngspice.last_plot)
        current = np.array(plot["vd#branch"]._data)
    return (time.perf_counter() - start) / runs, current


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    t_sub, i_sub = subprocess_engine(args.runs)
    t_shared, i_shared = shared_engine(args.runs)
    agree = np.max(np.abs(i_sub - i_shared) / np.maximum(np.abs(i_sub), 1e-15))
    print(f"ngspice -b subprocess : {t_sub * 1e3:7.1f} ms per run")
    print(f"PySpice shared library: {t_shared * 1e3:7.1f} ms per run")
    print(f"subprocess / shared   : {t_sub / t_shared:7.2f}x   (largest relative difference {agree:.1e})")


if __name__ == "__main__":
    main()
