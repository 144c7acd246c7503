"""`bmru noise`: noise suppression at every cell boundary of a chain of BMRU layers, against
the same chain with the hysteretic cells replaced by linear (ReLU) units.

The chain is a real compiled network (`parse_network` → `build_circuit`): `layers` BMRU
layers of one unit, layer k reading layer k − 1's output through a dense mirror
(ĥ_k = ReLU(w·y_{k−1} + b)), layer 0 reading the input pin as if it were a previous output.
α = 1, β_lo = 0.5, β_hi = 1 (software units of 1 nA). The operating point of every
boundary comes from the network's own weights and biases (families below); the testbench
only adds, at every cell input node, one current source carrying a set/reset pulse and
then white noise.

Probing, without changing a device: the dense block's ReLU diode moves out of the block
into a `SignalDiode` of the same M NMOS units on the same net, so two 0 V sources fit
between the mirror output and the node: `Va{k}` (mirror output only: what the previous
stage delivers) and `Vb{k}` (everything into the node: the cell's input current, the
injected noise enters between them). A BMRU cell's output reaches the next diode through
`Vc{k}` (the last one through the output pin's source). The top subckt is written flat,
its ports being the testbench's own nets, so the probes sit at top level.

Definition (issue 7), per boundary: S = (RMS(I_in − I_in,clean) / β_hi) ÷
(RMS(I_out − I_out,clean) / α), clean = the same deck with zero noise amplitude (the same
breakpoints, so the same time grid), both resampled on one uniform grid over the noise
window. An output deviation within a few solver floors is not a measurement: the floor is
the RMS difference between the clean deck and a clean deck run on a different time grid,
and S is then reported as a lower bound computed with that floor (`bounded: true`).

Noise source: ngspice's `trnoise` draws Gaussian samples every NT and interpolates them
linearly. Its sequence could not be made reproducible in ngspice 39 (`.option seed`, `set
rndseed` in `.spiceinit` or `.control`, `setseed` + `reset` all left it changing from run
to run), so by default the same process is played from seeded numpy samples through PWL
sources; `engine="trnoise"` uses ngspice's own sources (not reproducible, flagged). Device
noise: ngspice 39 has no device noise in transient analysis (only independent sources
carry noise); the SKY130 BSIM4 cards do carry thermal and flicker noise parameters, so a
`.noise` analysis gives the device noise at every cell input, referred to a current there,
which is reported against the injected levels.
"""
from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from cells.diode import SignalDiode
from flows.bmru.circuit import Block, Circuit, build_circuit, signal_diode_nets
from flows.bmru.network import BmruLayer, Network, parse_network
from pdk.models import Conditions
from pdk.ngspice import share_of_cores, simulate

ALPHA, BETA_LO, BETA_HI = 1.0, 0.5, 1.0
UNIT = 1e-9
#: Signal-diode units: weights on a 1/8 grid (the KWS macro's M).
DIODE_UNITS = 8
#: Operating-point families (w, b): the state of layer k − 1 puts ĥ_k at b (low) or w·α + b
#: (high). `threshold`: 0.25 below β_lo / 0.25 above β_hi; `hold`: both inside the band.
FAMILIES = {"threshold": (1.0, 0.25), "hold": (0.25, 0.625)}
#: Flip study: a family per distance d (fraction of β_hi) from the threshold a cell would
#: cross, low state at β_hi − d and high state at β_lo + d: b = β_hi − d, w = 2d − (β_hi − β_lo).
DEFAULT_DISTANCES = (0.0625, 0.125, 0.1875, 0.3125)
DEFAULT_LEVELS = (0.02, 0.05, 0.1)
DEFAULT_LAYERS = 4
#: Timeline (s): set/reset pulse, settling, then the noise window.
PRESET_END, NOISE_START = 1e-3, 3e-3
#: Noise sample interval NT. A cell input node (M = 8 units of 4/8 µm, ≈ 1 nA) has a time
#: constant near 0.1 ms: noise much faster than that is filtered by the node before any
#: cell sees it and would inflate S without hysteresis doing anything. Measured on the
#: linear chain (S = 1 for an ideal linear unit): 1.9–2.1 at NT = 50 µs, 1.2–1.3 at 200 µs.
DEFAULT_SAMPLE = 200e-6
#: Noise window: 100 samples.
DEFAULT_WINDOW = 20e-3
#: The decks' absolute current tolerance: no deviation below it is a measurement.
ABSTOL = 1e-15
#: An output deviation below this many floors is reported as a bound, not a value.
FLOOR_FACTOR = 3.0
STATES = ("low", "high")
ENGINES = ("pwl", "trnoise")


@dataclass(frozen=True)
class NoiseSpec:
    levels: tuple[float, ...] = DEFAULT_LEVELS
    layers: int = DEFAULT_LAYERS
    seed: int = 0
    workers: int = 2
    distances: tuple[float, ...] = DEFAULT_DISTANCES
    window: float = DEFAULT_WINDOW
    sample: float = DEFAULT_SAMPLE
    engine: str = "pwl"
    conditions: Conditions = field(default_factory=Conditions)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}")


def chain_network(layers: int, w: float, b: float, linear: bool = False) -> Network:
    """`layers` one-unit layers, each reading the previous one with weight w and bias b:
    BMRU layers, or for the contrast dense ReLU layers (a linear unit: output = ĥ)."""
    if linear:
        layer = {"kind": "dense", "weight": [[w]], "bias": [b], "activation": "relu"}
    else:
        layer = {"kind": "bmru", "weight": [[w]], "bias": [b], "alpha": [ALPHA],
                 "beta_lo": [BETA_LO], "beta_hi": [BETA_HI]}
    name = f"noise_{'linear' if linear else 'bmru'}"
    return parse_network({"schema": "bmru-network/1", "name": name, "unit_current": UNIT,
                          "input_size": 1, "layers": [dict(layer) for _ in range(layers)]},
                         source=f"<noise chain w={w} b={b}>")


def node(k: int, linear: bool) -> str:
    """The cell-input node of layer k (the net its diode holds)."""
    return f"l{k}_{'y' if linear else 'h'}0"


def probed(circuit: Circuit) -> Circuit:
    """The same devices on the same nets, with room for the probes of the module docstring:
    each layer's ReLU diode becomes a `SignalDiode` block on the node (identical NMOS units),
    the mirror output moves to `<node>_src`, a BMRU cell's output to `l{k}_o`."""
    network = circuit.network
    linear = not isinstance(network.layers[0], BmruLayer)
    last = len(network.layers) - 1
    m = circuit.notes["weight_diode_units"]
    diode = SignalDiode(units=m, name=f"{network.name}_relu")
    blocks: list[Block] = []
    for block in circuit.blocks:
        name = block.name
        if name.endswith("_dense"):
            k = int(name[1:].split("_")[0])
            blocks.append(replace(block, cell=replace(block.cell, relu=False),
                                  nets={**block.nets, "out0": f"{node(k, linear)}_src"}))
            blocks.append(Block(f"l{k}_relu", diode, signal_diode_nets(node(k, linear))))
        elif "_bmru" in name and int(name[1:].split("_")[0]) < last:
            blocks.append(replace(block, nets={**block.nets, "out": f"l{name[1:].split('_')[0]}_o"}))
        else:
            blocks.append(block)
    return replace(circuit, blocks=tuple(blocks))


def flat_netlist(circuit: Circuit) -> str:
    """The macro's netlist with its top subckt written at top level: its ports are the
    testbench's nets of the same names, so internal nets (and probes) are reachable."""
    name = circuit.network.name
    lines = circuit.netlist(merge_parallel=True).splitlines()
    return "\n".join(l for l in lines if not l.startswith(f".subckt {name} ") and l != f".ends {name}") + "\n"


@dataclass(frozen=True)
class Case:
    """One deck: chain kind, family (w, b), state (BMRU) or input x0 (linear), level."""

    kind: str          # "bmru" | "linear"
    family: str
    w: float
    b: float
    state: str         # "low" | "high" for BMRU; the op-point label for linear
    x0: float          # input pin current, software units
    level: float       # noise RMS / β_hi; 0 = clean
    variant: str = ""  # "grid": clean deck on a shifted time grid (solver floor)

    @property
    def key(self) -> str:
        return f"{self.kind}_{self.family}_{self.state}_{self.level:g}{('_' + self.variant) if self.variant else ''}"


def _preset(case: Case) -> float:
    """Set/reset pulse (software units) that forces every BMRU cell into `case.state`
    whatever its neighbours do: above β_hi, or below β_lo, for both possible ĥ."""
    if case.kind == "linear":
        return 0.0
    drives = (case.b, case.b + case.w * ALPHA)
    if case.state == "high":
        return BETA_HI - min(drives) + 0.25 * BETA_HI
    return -(max(drives) - BETA_LO / 2)


def noise_samples(seed: int, case: Case, layer: int, count: int) -> np.ndarray:
    """Standard normal samples of one node: the same sequence at every level (only scaled),
    so levels compare like with like."""
    family = sum(ord(c) for c in case.family)
    return np.random.default_rng([seed, family, ("linear", "bmru").index(case.kind),
                                  int(round(case.x0 * 1000)), layer]).standard_normal(count)


def _bench(circuit: Circuit, case: Case, spec: NoiseSpec) -> list[str]:
    """Models, the flat probed chain, supplies, input pin, output pin held, probes."""
    layers = len(circuit.network.layers)
    linear = case.kind == "linear"
    lines = [f"* noise chain {case.key}: {layers} layers, {spec.conditions.label()}",
             spec.conditions.lines().rstrip(),
             f".option abstol={ABSTOL:g} reltol=1e-4 method=gear",
             flat_netlist(probed(circuit)).rstrip(),
             "Vdd vdd 0 {supply}", "Vss vss 0 0", f"Iref 0 iref DC {UNIT:.9g}",
             f"Iin0 0 in0 DC {case.x0 * UNIT:.9g}", "Vout0 out0 0 0.5"]
    for k in range(layers):
        n = node(k, linear)
        lines += [f"Va{k} {n}_src {n}_inj 0", f"Vb{k} {n}_inj {n} 0"]
        if not linear and k < layers - 1:
            lines.append(f"Vc{k} l{k}_o l{k}_y0 0")
    return lines


def deck(circuit: Circuit, case: Case, spec: NoiseSpec) -> str:
    """The bench plus one injection source per cell input (set/reset pulse to PRESET_END,
    noise from NOISE_START) and one `.tran`."""
    layers = len(circuit.network.layers)
    linear = case.kind == "linear"
    stop = NOISE_START + spec.window
    count = int(round(spec.window / spec.sample)) + 1
    times = NOISE_START + spec.sample * np.arange(count)
    preset = _preset(case) * UNIT
    lines = _bench(circuit, case, spec)
    saved = ["i(vout0)"] + [f"i(va{k}) i(vb{k})" for k in range(layers)]
    saved += [] if linear else [f"i(vc{k})" for k in range(layers - 1)]
    pulse = [(0.0, preset), (PRESET_END, preset), (PRESET_END + 20e-6, 0.0)]
    for k in range(layers):
        inj = f"{node(k, linear)}_inj"
        if spec.engine == "trnoise":
            lines.append(f"Inz{k} 0 {inj} DC 0 trnoise({case.level * BETA_HI * UNIT:.6g} {spec.sample:.6g} 0 0)")
            points = pulse + [(stop, 0.0)]
        else:
            z = noise_samples(spec.seed, case, k, count) * case.level * BETA_HI * UNIT
            points = pulse + [(NOISE_START - spec.sample, 0.0)] + list(zip(times, z))
        lines.append(f"Ipre{k} 0 {inj} PWL(" + " ".join(f"{t:.9g} {v:.6g}" for t, v in points) + ")")
    lines.append(".save " + " ".join(saved))
    tmax = spec.sample / 3 if case.variant == "grid" else spec.sample
    lines.append(f".tran {spec.sample / 2:.6g} {stop:.9g} 0 {tmax:.6g}")
    return "\n".join(lines) + "\n.end\n"


def traces(plot, case: Case, layers: int, spec: NoiseSpec) -> dict[str, np.ndarray]:
    """Input and output current of every boundary (A), on the uniform grid of the window."""
    t = np.arange(NOISE_START, NOISE_START + spec.window, spec.sample / 2)
    at = lambda v: np.interp(t, plot["time"], plot[v])
    linear = case.kind == "linear"
    ins = np.stack([at(f"i(vb{k})") for k in range(layers)])
    if linear:  # what stage k delivers is stage k + 1's mirror output (w = 1, b = 0)
        outs = [at(f"i(va{k + 1})") for k in range(layers - 1)]
    else:
        outs = [at(f"i(vc{k})") for k in range(layers - 1)]
    outs.append(at("i(vout0)"))
    return {"t": t, "in": ins, "out": np.stack(outs)}


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(x), axis=-1))


def boundaries(noisy: dict, clean: dict, grid: dict | None, case: Case) -> list[dict]:
    """S, deviations, floors and state flips of every boundary of one noisy run. The floor
    is the larger of the grid difference (when a `grid` run exists) and ABSTOL."""
    d_in = _rms(noisy["in"] - clean["in"])
    d_out = _rms(noisy["out"] - clean["out"])
    floor = np.maximum(_rms(grid["out"] - clean["out"]) if grid is not None else np.zeros(len(d_out)), ABSTOL)
    rows = []
    for k in range(len(d_in)):
        row = {"layer": k, "input_clean": float(clean["in"][k].mean() / UNIT),
               "output_clean": float(clean["out"][k].mean() / UNIT),
               "input_dev": float(d_in[k] / UNIT), "output_dev": float(d_out[k] / UNIT),
               "output_floor": float(floor[k] / UNIT)}
        rel_in = d_in[k] / (BETA_HI * UNIT)
        resolved = d_out[k] > FLOOR_FACTOR * floor[k]
        if case.kind == "linear":
            # a linear unit's full scale is its input's: output ĥ passes on as is
            rel_out = max(d_out[k], FLOOR_FACTOR * floor[k]) / (BETA_HI * UNIT)
        else:
            rel_out = max(d_out[k], FLOOR_FACTOR * floor[k]) / (ALPHA * UNIT)
        row["S"] = float(rel_in / rel_out)
        row["bounded"] = not bool(resolved)
        if case.kind == "bmru":
            high = noisy["out"][k] > ALPHA * UNIT / 2
            row["state"] = "high" if clean["out"][k][-1] > ALPHA * UNIT / 2 else "low"
            row["flips"] = int(np.count_nonzero(np.diff(high.astype(int))))
            row["flipped"] = bool(np.any(high != (row["state"] == "high")))
        rows.append(row)
    return rows


def common_mode(noisy: dict, clean: dict) -> float | None:
    """Mean correlation between the output deviations of different boundaries: near 1 when
    one shared cause (a bias line) moves every output, near 0 for independent causes."""
    dev = noisy["out"] - clean["out"]
    if len(dev) < 2 or np.any(dev.std(axis=1) == 0):
        return None
    corr = np.corrcoef(dev)
    return float(corr[~np.eye(len(dev), dtype=bool)].mean())


def cases(spec: NoiseSpec) -> list[Case]:
    """Every deck: BMRU families × states, flip families × states, linear op points; each at
    level 0 (clean), on a shifted grid (floor), and at every level."""
    base: list[Case] = []
    for family, (w, b) in FAMILIES.items():
        for state in STATES:
            base.append(Case("bmru", family, w, b, state, ALPHA if state == "high" else 0.0, 0.0))
    for d in spec.distances:
        w, b = 2 * d - (BETA_HI - BETA_LO), BETA_HI - d
        for state in STATES:
            base.append(Case("bmru", f"d{d:g}", w, b, state, ALPHA if state == "high" else 0.0, 0.0))
    # linear contrast at the BMRU operating points of the two families (w = 1, b = 0: ĥ = x0)
    for family, (w, b) in FAMILIES.items():
        for state in STATES:
            x0 = b + (w * ALPHA if state == "high" else 0.0)
            base.append(Case("linear", family, 1.0, 0.0, state, x0, 0.0))
    out = []
    for c in base:
        # the flip study needs no floor: its S is not part of suppression_min
        grid = [replace(c, variant="grid")] if c.family in FAMILIES else []
        out += [c] + grid + [replace(c, level=level) for level in spec.levels]
    return out


def _circuit(case: Case, layers: int) -> Circuit:
    network = chain_network(layers, case.w, case.b, linear=case.kind == "linear")
    return build_circuit(network, diode_units=DIODE_UNITS)


def device_noise(spec: NoiseSpec) -> list[dict]:
    """SKY130 device noise at every cell input of the `hold` chain, both states: `.noise`
    referred to a current source at the node (A/√Hz), integrated over 1/window … 1/(2·NT),
    the band the injected noise occupies. The state is chosen with `.nodeset` (the hold
    band has two DC solutions)."""
    w, b = FAMILIES["hold"]
    f_lo, f_hi = 1.0 / spec.window, 1.0 / (2 * spec.sample)
    rows = []
    for state in STATES:
        case = Case("bmru", "hold", w, b, state, ALPHA if state == "high" else 0.0, 0.0)
        circuit = _circuit(case, spec.layers)
        v0, q = ("0", "{supply}") if state == "high" else ("{supply}", "0")
        nodeset = " ".join(f"v(xl{k}_bmru0.v0)={v0} v(xl{k}_bmru0.q)={q}" for k in range(spec.layers))
        for k in range(spec.layers):
            n = node(k, False)
            lines = _bench(circuit, case, spec) + [
                f".nodeset {nodeset}", f"Iac 0 {n} DC 0 AC 1",
                f".noise v({n}) Iac dec 10 {f_lo:.6g} {f_hi:.6g}"]
            plots = simulate("\n".join(lines) + "\n.end\n", f"devnoise_{state}_{k}")
            spectrum = next(p for p in plots if "inoise_spectrum" in p.vectors)
            f = np.real(spectrum["frequency"])
            density = np.abs(spectrum["inoise_spectrum"])
            rms = math.sqrt(float(np.trapezoid(density ** 2, f)))
            rows.append({"state": state, "layer": k, "rms_A": rms, "rms_over_beta_hi": rms / (BETA_HI * UNIT),
                         "density_at_f_lo": float(density[0]), "density_at_f_hi": float(density[-1])})
    return rows


def _simulate(circuits: dict, case: Case, spec: NoiseSpec) -> tuple[Case, dict, float]:
    start = time.perf_counter()
    circuit = circuits[(case.kind, case.w, case.b)]
    plot = simulate(deck(circuit, case, spec), case.key, threads=share_of_cores(spec.workers))[0]
    return case, traces(plot, case, len(circuit.network.layers), spec), time.perf_counter() - start


def run(spec: NoiseSpec, out, progress=None) -> dict:
    """Device noise, then every deck of `cases(spec)`; S per boundary, flips against
    distance, error growth along the chain; writes out/noise.json and the plots."""
    start = time.perf_counter()
    device = device_noise(spec)
    if progress:
        progress(f"device noise (.noise, {len(device)} nodes): "
                 f"{min(r['rms_over_beta_hi'] for r in device) * 100:.2f}–"
                 f"{max(r['rms_over_beta_hi'] for r in device) * 100:.2f} % of β_hi RMS")
    all_cases = cases(spec)
    circuits = {}
    for c in all_cases:
        if (c.kind, c.w, c.b) not in circuits:
            circuits[(c.kind, c.w, c.b)] = _circuit(c, spec.layers)
    results: dict[str, dict] = {}
    with ThreadPoolExecutor(max_workers=max(1, spec.workers)) as pool:
        futures = [pool.submit(_simulate, circuits, c, spec) for c in all_cases]
        for i, future in enumerate(futures, 1):
            case, trace, seconds = future.result()
            results[case.key] = trace
            if progress:
                progress(f"[{i}/{len(all_cases)}] {case.key} ({seconds:.1f} s)")
    runs = []
    for c in all_cases:
        if c.level == 0:
            continue
        clean = results[replace(c, level=0.0).key]
        grid = results.get(replace(c, level=0.0, variant="grid").key)
        runs.append({"kind": c.kind, "family": c.family, "state": c.state, "level": c.level,
                     "w": c.w, "b": c.b, "x0": c.x0,
                     "boundaries": boundaries(results[c.key], clean, grid, c),
                     "output_correlation": common_mode(results[c.key], clean)})
    result = summarise(spec, runs, device)
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    (out / "noise.json").write_text(json.dumps(result, indent=1) + "\n")
    plot_noise(result, out)
    return result


def region(family: str, state: str) -> str:
    """Where the input sits for the suppression families."""
    if family == "hold":
        return "hold"
    return "below_beta_lo" if state == "low" else "above_beta_hi"


def summarise(spec: NoiseSpec, runs: list[dict], device: list[dict]) -> dict:
    """noise.json: every boundary's S, suppression_min over the BMRU boundaries held in the
    hold band and beyond both thresholds (both states, every level), the linear contrast,
    flips against distance and error growth along the chain."""
    rows, linear_rows = [], []
    for r in runs:
        if r["family"] not in FAMILIES:
            continue
        for b in r["boundaries"]:
            row = {"family": r["family"], "region": region(r["family"], r["state"]), "state": r["state"],
                   "level": r["level"], **b}
            (rows if r["kind"] == "bmru" else linear_rows).append(row)
    worst = min(rows, key=lambda row: row["S"])
    linear_worst = min(linear_rows, key=lambda row: row["S"])
    table: dict[str, dict[str, float]] = {}
    bounded: dict[str, bool] = {}
    for row in rows:
        key = f"{row['region']}_{row['state']}"
        entry = table.setdefault(key, {})
        level = f"{row['level']:g}"
        entry[level] = min(entry.get(level, math.inf), row["S"])
        bounded[key] = bounded.get(key, False) or row["bounded"]
    # flips against distance to the threshold a cell would cross (β_hi from low, β_lo from high)
    flips = []
    for r in runs:
        if r["kind"] != "bmru":
            continue
        for b in r["boundaries"]:
            distance = (BETA_HI - b["input_clean"]) if r["state"] == "low" else (b["input_clean"] - BETA_LO)
            flips.append({"family": r["family"], "state": r["state"], "level": r["level"], "layer": b["layer"],
                          "distance": distance, "flipped": b["flipped"], "flips": b["flips"]})
    curve = []
    for level in spec.levels:
        by_family: dict[str, list[dict]] = {}
        for f in flips:
            if f["level"] == level:
                by_family.setdefault(f["family"], []).append(f)
        for family, items in by_family.items():
            curve.append({"level": level, "family": family,
                          "distance": float(np.mean([f["distance"] for f in items])),
                          "cells": len(items), "flipped": sum(f["flipped"] for f in items),
                          "probability": sum(f["flipped"] for f in items) / len(items)})
    curve.sort(key=lambda c: (c["level"], c["distance"]))
    growth = []
    for level in spec.levels:
        for family in FAMILIES:
            for state in STATES:
                pick = lambda kind: next(r for r in runs if r["kind"] == kind and r["family"] == family
                                         and r["state"] == state and r["level"] == level)
                # a deviation within the floor counts as the floor (a bound): no growth from it
                resolved = lambda b: max(b["output_dev"], FLOOR_FACTOR * b["output_floor"])
                bm_rows, li_rows = pick("bmru")["boundaries"], pick("linear")["boundaries"]
                bm = [resolved(b) / ALPHA for b in bm_rows]
                li = [resolved(b) / BETA_HI for b in li_rows]
                known = not (bm_rows[0]["bounded"] or bm_rows[-1]["bounded"])
                growth.append({"level": level, "family": family, "state": state,
                               "bmru_output_dev": bm, "bmru_bounded": [b["bounded"] for b in bm_rows],
                               "linear_output_dev": li,
                               "bmru_growth": bm[-1] / bm[0] if known else None,
                               "linear_growth": li[-1] / li[0]})
    return {
        "schema": "bmru-noise/1",
        "conditions": spec.conditions.label(),
        "engine": spec.engine,
        "reproducible": spec.engine == "pwl",
        "seed": spec.seed,
        "layers": spec.layers,
        "levels": list(spec.levels),
        "sample_interval_s": spec.sample,
        "window_s": spec.window,
        "diode_units": DIODE_UNITS,
        "cell": {"alpha": ALPHA, "beta_lo": BETA_LO, "beta_hi": BETA_HI, "unit_current_A": UNIT},
        "families": {name: {"w": w, "b": b} for name, (w, b) in FAMILIES.items()},
        "suppression_min": worst["S"],
        "suppression_min_is_bound": worst["bounded"],
        "suppression_min_at": {k: worst[k] for k in ("region", "state", "level", "layer")},
        "suppression_by_region": table,
        "suppression_by_region_is_bound": bounded,
        "linear_suppression_min": linear_worst["S"],
        "linear_suppression_max": max(row["S"] for row in linear_rows),
        "boundaries": rows,
        "linear_boundaries": linear_rows,
        "output_correlation": [{k: r[k] for k in ("kind", "family", "state", "level", "output_correlation")}
                               for r in runs if r["family"] in FAMILIES],
        "flip_probability": curve,
        "flips": flips,
        "error_growth": growth,
        "device_noise": device,
        "device_noise_max_over_beta_hi": max(r["rms_over_beta_hi"] for r in device),
        "method": ("S = (RMS input deviation / beta_hi) / (RMS output deviation / alpha) against the same "
                   "deck at zero noise; a deviation within FLOOR_FACTOR solver floors (clean deck on a shifted "
                   "time grid) gives a lower bound ('bounded'); white noise (Gaussian samples every NT, "
                   "linear between) injected at every cell input"),
    }


def plot_noise(result: dict, out) -> None:
    """noise.png: S against level by region (BMRU and linear), flip probability against
    distance, output deviation along the chain (BMRU against linear)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    ax = axes[0]
    for key, by_level in result["suppression_by_region"].items():
        levels = sorted(by_level, key=float)
        bound = result["suppression_by_region_is_bound"][key]
        ax.semilogy([float(l) * 100 for l in levels], [by_level[l] for l in levels], "o--" if bound else "o-",
                    label=f"BMRU {key}" + (" (lower bound: solver floor)" if bound else ""))
    levels = sorted({row["level"] for row in result["linear_boundaries"]})
    ax.semilogy([l * 100 for l in levels],
                [min(r["S"] for r in result["linear_boundaries"] if r["level"] == l) for l in levels],
                "k^--", label="linear (ReLU) chain")
    ax.axhline(20, color="r", lw=0.8, ls=":", label="goal 20")
    ax.set(xlabel="injected noise, RMS % of β_hi", ylabel="S (min over boundaries)",
           title=f"suppression, {result['layers']}-layer chain (suppression_min {result['suppression_min']:.3g})")
    ax.legend(fontsize=7)
    ax = axes[1]
    for level in result["levels"]:
        pts = [c for c in result["flip_probability"] if c["level"] == level]
        ax.plot([c["distance"] for c in pts], [c["probability"] for c in pts], "o-", label=f"{level * 100:g} % noise")
    ax.set(xlabel="distance to the crossing threshold (units of β_hi)", ylabel="state-flip probability per cell",
           title=f"flips in a {result['window_s'] * 1e3:g} ms window")
    ax.legend(fontsize=7)
    ax = axes[2]
    level = max(result["levels"])
    for g in result["error_growth"]:
        if g["level"] != level or g["state"] != "high":
            continue
        depth = np.arange(1, len(g["bmru_output_dev"]) + 1)
        ax.semilogy(depth, np.maximum(g["linear_output_dev"], 1e-9), "s--", label=f"linear, {g['family']} op point")
        ax.semilogy(depth, np.maximum(g["bmru_output_dev"], 1e-9), "o-", label=f"BMRU, {g['family']} high")
    ax.set(xlabel="boundary (depth in the chain)", ylabel="RMS output deviation / full scale",
           title=f"error along the chain at {level * 100:g} % noise")
    ax.legend(fontsize=7)
    for a in axes:
        a.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "noise.png", dpi=110)
    plt.close(fig)
