"""The one ngspice runner: netlist text in, named numpy vectors out.

Engine: `ngspice -b -r` in a subprocess with binary raw-file parsing. Measured on this
machine (benchmarks/engine.py) it is as fast as PySpice's in-process shared library
(128 against 137 ms per run with the fast include) and buys what the tool needs more: a
crash (ngspice segfaults on some bad input) stays in its own process, every run draws
fresh mismatch samples, jobs parallelise across cores without a shared-library lock, and
PySpice's subprocess mode is broken with numpy 2.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from pdk import engines, processes

_ERROR_PATTERNS = (
    re.compile(r"^\s*error", re.I),
    re.compile(r"could not find", re.I),
    re.compile(r"unable to find definition", re.I),
    re.compile(r"unknown (?:subckt|model|device|parameter)", re.I),
    re.compile(r"timestep too small", re.I),
    re.compile(r"simulation\(s\) aborted", re.I),
    re.compile(r"no convergence", re.I),
    re.compile(r"singular matrix", re.I),
    re.compile(r"fatal", re.I),
    re.compile(r"undefined parameter", re.I),
)
_LINE_REF = re.compile(r"line(?: no\.)?\s+(\d+)", re.I)


class SimulationError(RuntimeError):
    """ngspice failed: names the deck and, where ngspice gave one, the offending line."""

    def __init__(self, deck: str, message: str, line: str | None = None):
        self.deck, self.message, self.line = deck, message, line
        text = f"ngspice failed on deck '{deck}': {message}"
        if line:
            text += f" (at: {line.strip()})"
        super().__init__(text)

    def __reduce__(self):  # rebuilt from its fields when it crosses processes (Dask)
        return SimulationError, (self.deck, self.message, self.line)


@dataclass
class Plot:
    """One analysis of a run: its name ('DC transfer characteristic', …) and vectors."""

    name: str
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self.vectors[key.lower()]
        except KeyError:
            raise KeyError(f"no vector {key!r} in plot {self.name!r}; have {sorted(self.vectors)}") from None


@dataclass(frozen=True)
class Job:
    """A named deck for `simulate_many`."""

    name: str
    netlist: str


def _spiceinit(threads: int) -> str:
    """ngspice reads .spiceinit from its working directory after Debian's spinit, which
    asks for an OpenMP team of 2 whatever OMP_NUM_THREADS says. Parallel jobs with a team
    each fight over the cores and run ~15x slower (benchmarks/monte_carlo.py); a lone job
    gains ~1.5x from a team of 2 (kws_d4 transient: 121 s against 180 s)."""
    return f"set num_threads={max(1, int(threads))}\n"


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HOME", tempfile.gettempdir())  # ngspice segfaults when HOME is unset
    return env


def parse_raw(data: bytes) -> list[Plot]:
    """Parse a binary ngspice raw file holding one or more plots."""
    plots: list[Plot] = []
    pos = 0
    while pos < len(data):
        header: dict[str, str] = {}
        names: list[str] = []
        kind = ""
        while pos < len(data):  # an analysis without points ends the file after "Variables:"
            end = data.index(b"\n", pos)
            line = data[pos:end].decode("latin-1")
            pos = end + 1
            if line.startswith("Variables:"):
                # ngspice lists no variables for an analysis that produced no points
                while data[pos:pos + 1] in (b"\t", b" "):
                    end = data.index(b"\n", pos)
                    names.append(data[pos:end].decode("latin-1").split()[1].lower())
                    pos = end + 1
                continue
            if line.startswith(("Binary:", "Values:")):
                kind = line.lower()
                break
            if ":" in line:
                key, _, value = line.partition(":")
                header[key.strip().lower()] = value.strip()
        if not kind:
            plots.append(Plot(header.get("plotname", "?")))
            break
        n_vars, n_points = len(names), int(header["no. points"])
        is_complex = "complex" in header.get("flags", "")
        width = 2 if is_complex else 1
        if kind != "binary:":
            raise ValueError("ASCII raw files are not produced by this runner")
        count = n_vars * n_points * width
        values = np.frombuffer(data, dtype="<f8", count=count, offset=pos)
        pos += 8 * count
        table = values.reshape(n_points, n_vars * width)
        if is_complex:
            table = table[:, 0::2] + 1j * table[:, 1::2]
        plot = Plot(header.get("plotname", "?"), {n: table[:, i].copy() for i, n in enumerate(names)})
        plots.append(plot)
        while pos < len(data) and data[pos:pos + 1] in (b"\n", b"\r"):
            pos += 1
    return plots


def _find_error(log: str) -> tuple[str, str | None]:
    """The first error message in an ngspice log and the deck line it quotes, if any."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if any(p.search(line) for p in _ERROR_PATTERNS):
            message = line.strip().rstrip(":")
            offending = None
            if _LINE_REF.search(line) and i + 1 < len(lines) and lines[i + 1][:1].isspace():
                offending = lines[i + 1]
                details = [l.strip() for l in lines[i + 2:i + 4] if l[:1].isspace() and l.strip()]
                if details:
                    message = details[0]
            return message, offending
    return (lines[-1].strip() if lines else "no output"), None


_PLOT_KIND = {"operating point": ".op", "dc transfer characteristic": ".dc",
              "transient analysis": ".tran", "ac analysis": ".ac"}


def _missing_analysis(text: str, plots: list[Plot]) -> str | None:
    """The first analysis line of the deck that produced no data (ngspice stays silent)."""
    produced = [_PLOT_KIND.get(p.name.lower()) for p in plots if p.vectors
                and len(next(iter(p.vectors.values()))) > 0]
    for line in text.splitlines():
        kind = line.strip().lower().split(" ", 1)[0]
        if kind in _PLOT_KIND.values():
            if kind in produced:
                produced.remove(kind)
            else:
                return line
    return None


#: Seconds one ngspice job may run before it counts as failed.
DEFAULT_TIMEOUT = 900.0


def simulate(netlist: str, name: str = "deck", timeout: float = DEFAULT_TIMEOUT, keep: Path | None = None,
             threads: int | None = None) -> list[Plot]:
    """Run one deck (analyses as dot-commands) and return its plots, in the order ngspice
    ran them (not always deck order: select plots by name, or use one analysis per deck).
    `threads` is ngspice's OpenMP team (default: every core, right for a lone job).

    Raises SimulationError naming the deck and the offending line when ngspice reports an
    error, crashes, or produces no data.
    """
    try:
        engine = engines.selected()
    except ValueError as exc:
        raise SimulationError(name, str(exc)) from None
    if shutil.which(engine.binary) is None:
        raise SimulationError(name, f"{engine.name} is not installed (run {engine.how_to_install})")
    with tempfile.TemporaryDirectory(prefix="bmru-ngspice-") as tmp:
        work = Path(tmp)
        deck = work / f"{name}.spice"
        raw = work / f"{name}.raw"
        text = engine.prepare(netlist if netlist.rstrip().lower().endswith(".end") else netlist.rstrip() + "\n.end\n")
        deck.write_text(text)
        (work / ".spiceinit").write_text(_spiceinit(threads or default_workers()))
        try:
            proc = processes.run([engine.binary, "-b", "-r", str(raw), str(deck)], cwd=work, timeout=timeout,
                                 env=engine.environment(_environment()))
        except subprocess.TimeoutExpired:
            raise SimulationError(name, f"timed out after {timeout:g} s") from None
        except processes.Stopped as exc:
            raise SimulationError(name, str(exc)) from None
        log = proc.stdout + proc.stderr
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            (keep / f"{name}.spice").write_text(text)
            (keep / f"{name}.log").write_text(log)
        failed = proc.returncode != 0 or not raw.is_file() or raw.stat().st_size == 0
        fatal = re.search(r"simulation\(s\) aborted|timestep too small|no convergence|singular matrix"
                          r"|unknown subckt|could not find|unable to find", log, re.I)
        if failed or fatal:
            message, line = _find_error(log)
            if proc.returncode < 0:
                message = f"ngspice crashed (signal {-proc.returncode}); {message}"
            raise SimulationError(name, message, line)
        plots = parse_raw(raw.read_bytes())
    missing = _missing_analysis(text, plots)
    if missing is not None:
        raise SimulationError(name, "analysis produced no data (check its arguments)", missing)
    if not plots:
        raise SimulationError(name, "ngspice produced no analysis results (no .op/.dc/.tran?)")
    return plots


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def share_of_cores(workers: int) -> int:
    """OpenMP team for each of `workers` ngspice processes running side by side."""
    return max(1, default_workers() // max(1, workers))


def simulate_many(jobs: Sequence[Job] | Iterable[Job], workers: int | None = None,
                  progress: bool | None = None, desc: str = "ngspice",
                  scheduler: str | None = None, threads: int | None = None,
                  keep_going: bool = False, timeout: float = DEFAULT_TIMEOUT) -> dict[str, list[Plot] | SimulationError]:
    """Run jobs in parallel and return results keyed by job name, in submission order.

    Locally: one ngspice process per job, `workers` at a time (default one per core), each
    with an OpenMP team of `threads` (default: its share of the cores; 1 on Dask).
    With `scheduler` (a Dask distributed address such as tcp://host:8786) the same jobs run
    on that cluster's workers, which need ngspice and this package installed. The progress
    bar shows on a terminal (or when progress=True). The first failing job raises its
    SimulationError; with `keep_going` the others run on and a failed job's result is its
    SimulationError (a study of hundreds of runs keeps the runs that worked). Every job may
    run `timeout` seconds.
    """
    from tqdm import tqdm

    jobs = list(jobs)
    names = [j.name for j in jobs]
    if len(set(names)) != len(names):
        raise ValueError("job names must be unique")
    bar = tqdm(total=len(jobs), desc=desc, disable=(None if progress is None else not progress),
               unit="run", leave=False)
    try:
        if scheduler:
            results = _run_on_dask(jobs, scheduler, bar, keep_going, timeout)
        else:
            workers = workers or default_workers()
            team = threads or share_of_cores(min(workers, len(jobs)))
            results = _run_locally(jobs, workers, team, bar, keep_going, timeout)
    finally:
        bar.close()
    return {n: results[n] for n in names}


def _outcome(future, keep_going: bool):
    """A finished job's plots or, with `keep_going`, the SimulationError it raised."""
    try:
        return future.result()
    except SimulationError as exc:
        if not keep_going:
            raise
        return exc


def _run_locally(jobs: list[Job], workers: int, team: int, bar, keep_going: bool, timeout: float) -> dict:
    results: dict[str, list[Plot]] = {}
    # threads suffice: each job's work happens in its own ngspice process
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(simulate, j.netlist, j.name, timeout, threads=team): j.name for j in jobs}
        try:
            for future in as_completed(futures):
                results[futures[future]] = _outcome(future, keep_going)
                bar.update(1)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return results


def _run_on_dask(jobs: list[Job], scheduler: str, bar, keep_going: bool, timeout: float) -> dict:
    from distributed import Client
    from distributed import as_completed as dask_completed

    results: dict[str, list[Plot]] = {}
    with Client(scheduler, timeout="30s") as client:
        futures = {client.submit(simulate, j.netlist, j.name, timeout, threads=1, pure=False): j.name
                   for j in jobs}
        try:
            for future in dask_completed(futures):
                results[futures[future]] = _outcome(future, keep_going)
                bar.update(1)
        except BaseException:
            client.cancel(list(futures))
            raise
    return results
