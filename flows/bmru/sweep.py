"""`bmru sweep power`: transistor-level supply power of the recurrent core and of the
feed-forward mirrors against the dimension d, with fitted power-law exponents.

For each d the network is `input(d) → BMRU(d)` whose d × d input weights are the dense
mirror array. Its statistics are fixed per entry, independent of d, so that any change of
power with d comes from the circuit's structure, not from the weights:

* weights k/M with k uniform on −M…M (M = 8 diode units for every d, so the mirror array
  is the same kind of circuit at every size);
* bias, β_lo, β_hi − β_lo and α uniform on fixed ranges of the bias grid (D = 16 units of
  iref for every d, so the bias tree is identical at every size);
* inputs uniform on [0, 1].

Weights are not scaled by 1/√d: at M = 8 a scaled weight would round to zero for large d
(a different distribution per d), and with zero-mean weights the pre-activation only grows
as √d, well inside the branch-current limit at d = 64.

Measurement: one ngspice run per d, a DC sweep over `vectors` random input vectors (each
point a DC operating point reached from the previous one, so units in their hold band keep
the state the previous vector left — the BMRU semantics). Every block draws its supply
through its own 0 V probe; the recurrent core is the BMRU cells plus their share of the
bias tree, the feed-forward part is the dense block plus the rest of the tree. The tree
draws from vdd only through the PMOS feed that makes the `bp` line (iref itself comes from
the pin), so it is shared in proportion to the `bp`-gated unit devices of each part.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flows.bmru import testbench
from flows.bmru.circuit import Circuit, build_circuit
from flows.bmru.mapping import MappingConfig
from flows.bmru.model import run_network
from flows.bmru.network import BmruLayer, Network, parse_network
from pdk.flat import flatten, seed_of
from pdk.models import Conditions
from pdk.ngspice import Plot, SimulationError, share_of_cores, simulate

#: Signal-diode units M for every d (weights are k/M).
DIODE_UNITS = 8
#: Bias-tree diode units D for every d (biases, thresholds and α are n/D of iref).
BIAS_UNITS = 16
#: Fixed ranges, in bias units n/D, of the per-unit parameters.
BIAS_RANGE = (2, 8)       # 0.125 … 0.5
LO_RANGE = (3, 6)         # β_lo 0.19 … 0.375
WIDTH_RANGE = (5, 8)      # β_hi − β_lo 0.31 … 0.5
ALPHA_RANGE = (8, 16)     # α 0.5 … 1.0
DEFAULT_DIMS = (1, 2, 4, 8, 16, 32)
DEFAULT_VECTORS = 8
#: The power law is fitted over d >= this by default: at small d the constant terms (bias
#: tree feed, one conversion line) are comparable with the scaling terms.
DEFAULT_FIT_MIN = 4
RECURRENT, FEEDFORWARD = "recurrent", "feedforward"


@dataclass(frozen=True)
class SweepSpec:
    dims: tuple[int, ...] = DEFAULT_DIMS
    seed: int = 0
    vectors: int = DEFAULT_VECTORS
    workers: int = 2
    fit_min: int = DEFAULT_FIT_MIN
    conditions: Conditions = Conditions()
    #: seconds one ngspice run may take (d = 64: ≈ 90 s in the flat deck, hours in the subckt form)
    timeout: float = 7200.0
    #: flat decks (pdk/flat.py); False: the wheel's device subckts
    flat: bool = True


def sweep_network(d: int, seed: int = 0) -> Network:
    """`input(d) → BMRU(d)` with the fixed per-entry statistics of the module docstring."""
    rng = np.random.default_rng([seed, d])
    grid = lambda lo, hi: rng.integers(lo, hi + 1, d) / BIAS_UNITS
    weight = rng.integers(-DIODE_UNITS, DIODE_UNITS + 1, (d, d)) / DIODE_UNITS
    beta_lo = grid(*LO_RANGE)
    layer = BmruLayer(weight, grid(*BIAS_RANGE), grid(*ALPHA_RANGE), beta_lo, beta_lo + grid(*WIDTH_RANGE))
    network = Network(f"sweep_d{d}", 1e-9, d, (layer,), source=f"sweep network d={d} seed={seed}")
    return parse_network(network.to_dict())


def sweep_inputs(d: int, vectors: int, seed: int = 0) -> np.ndarray:
    """`vectors` random input rows in [0, 1] (software units)."""
    return np.random.default_rng([seed, d, 1]).uniform(0.0, 1.0, (vectors, d))


def sweep_circuit(network: Network) -> Circuit:
    config = MappingConfig(bias_diode_units={i: BIAS_UNITS for i in range(len(network.layers))})
    return build_circuit(network, config=config, diode_units=DIODE_UNITS)


def parts(circuit: Circuit) -> dict[str, list[str]]:
    """Supply blocks of each part (bias tree excluded: it is shared, see tree_shares)."""
    out: dict[str, list[str]] = {RECURRENT: [], FEEDFORWARD: []}
    for group, blocks in circuit.supply_groups().items():
        if group == "bias tree":
            continue
        out[RECURRENT if group.endswith("bmru cells") else FEEDFORWARD] += blocks
    return out


def tree_shares(circuit: Circuit) -> dict[str, float]:
    """Fraction of the bias tree's supply power each part is charged: its share of the unit
    devices gated by the tree's `bp` line (the only line the tree feeds from vdd)."""
    by_block = {b.name: b for b in circuit.blocks}
    count = {part: sum(sum(1 for dev in by_block[n].cell.devices() if by_block[n].nets.get(dev.g) == "bp")
                       for n in names)
             for part, names in parts(circuit).items()}
    total = sum(count.values()) or 1
    return {part: c / total for part, c in count.items()}


def deck(circuit: Circuit, inputs: np.ndarray, conditions: Conditions, flat: bool = True) -> str:
    """A DC sweep of a selector voltage 0 … K−1: at point k every input carries row k.

    Input currents are behavioural sources piecewise-linear in the selector, so one ngspice
    run (one parse of the macro) visits every vector, each from the previous solution.
    `flat`: one model card per device geometry (pdk/flat.py), else the wheel's subckts."""
    network = circuit.network
    unit = network.unit_current
    k = len(inputs)
    name = network.name
    probes = [f"i(v.x{name}.vsup_{b})" for blocks in circuit.supply_groups().values() for b in blocks]
    lines = [f"* power sweep {name}: {k} input vectors, {conditions.label()}",
             conditions.lines(fet_subckts=not flat).rstrip(),
             ".option abstol=1e-15 reltol=1e-4",
             circuit.netlist(probe_supplies=True, merge_parallel=not (conditions.mismatch or flat)).rstrip(),
             "Vdd vdd 0 {supply}", "Vss vss 0 0", f"Iref 0 iref DC {unit:.9g}", "Vsel sel 0 0"]
    for i in range(network.input_size):
        # pwl needs two points; a single vector is held flat
        column = inputs[:, i] if k > 1 else np.repeat(inputs[:, i], 2)
        pts = ", ".join(f"{s}, {v * unit:.9g}" for s, v in enumerate(column))
        lines.append(f"Bin{i} 0 in{i} I=pwl(v(sel), {pts})")
    lines += [f"Vout{j} out{j} 0 0.5" for j in range(network.output_size)]
    lines.append(f"X{name} {' '.join(testbench.ports(network))} {name}")
    lines.append(".save " + " ".join(["i(vdd)"] + [f"i(vout{j})" for j in range(network.output_size)] + probes))
    lines.append(f".dc Vsel 0 {max(k - 1, 1)} 1")
    text = "\n".join(lines) + "\n.end\n"
    return flatten(text, seed_of(conditions), conditions.temp)[0] if flat else text


def ideal_dense_W(network: Network, inputs: np.ndarray, vdd: float) -> np.ndarray:
    """Supply power the dense block should draw per vector if every mirror copied exactly:
    one conversion branch I_j per input with a weight, every weight's PMOS source |w|·x_j
    (a negative one into its output's negative-sum diode), every positive bias (negative
    biases sink from the summing node: no extra supply current). Explains the measured
    exponent: two terms linear in d beside the d² weights."""
    layer = network.layers[0]
    weight, unit = np.asarray(layer.weight), network.unit_current
    weighted_inputs = (weight != 0).any(axis=0)
    current = (inputs[:, weighted_inputs].sum(axis=1) + (inputs @ np.abs(weight).T).sum(axis=1)
               + np.maximum(np.asarray(layer.bias), 0).sum())
    return current * unit * vdd


def measure(circuit: Circuit, inputs: np.ndarray, plot: Plot, vdd: float) -> dict:
    """Per-vector and mean power of each part (W) from one DC sweep."""
    network = circuit.network
    k = len(inputs)
    name = network.name
    probe = lambda b: np.asarray(plot[f"i(v.x{name}.vsup_{b})"])[:k] * vdd
    tree = probe("bias")
    shares = tree_shares(circuit)
    per_part = {part: sum((probe(b) for b in blocks), np.zeros(k)) + shares[part] * tree
                for part, blocks in parts(circuit).items()}
    total = -np.asarray(plot["i(vdd)"])[:k] * vdd
    out = np.stack([np.asarray(plot[f"i(vout{j})"])[:k] for j in range(network.output_size)], axis=1)
    layer = network.layers[-1]
    high = out / network.unit_current > np.asarray(layer.alpha) / 2
    software = run_network(network, inputs).output > np.asarray(layer.alpha) / 2
    return {
        "d": network.input_size,
        "weights": int(network.input_size ** 2),
        "vectors": k,
        "recurrent_W": float(per_part[RECURRENT].mean()),
        "feedforward_W": float(per_part[FEEDFORWARD].mean()),
        "total_W": float(total.mean()),
        "bias_tree_W": float(tree.mean()),
        "dense_W": float(sum((probe(b) for b in parts(circuit)[FEEDFORWARD]), np.zeros(k)).mean()),
        "dense_ideal_W": float(ideal_dense_W(network, inputs, vdd).mean()),
        "bias_tree_share_recurrent": shares[RECURRENT],
        "per_vector": {"recurrent_W": per_part[RECURRENT].tolist(), "feedforward_W": per_part[FEEDFORWARD].tolist(),
                       "total_W": total.tolist()},
        "high_fraction": float(high.mean()),
        "state_agreement": float((high == software).mean()),
        "devices": circuit.device_count()["total"],
    }


def fit_power_law(dims: np.ndarray, power: np.ndarray) -> dict:
    """Least squares of log P = a + b·log d: exponent b, prefactor e^a (W) and R²."""
    x, y = np.log(np.asarray(dims, float)), np.log(np.asarray(power, float))
    if len(x) < 2:
        return {"exponent": None, "prefactor_W": None, "r2": None, "dims": [int(d) for d in dims]}
    b, a = np.polyfit(x, y, 1)
    residual = y - (a + b * x)
    spread = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual ** 2).sum()) / spread if spread > 0 else 1.0
    return {"exponent": float(b), "prefactor_W": float(np.exp(a)), "r2": r2, "dims": [int(d) for d in dims]}


def _one(d: int, spec: SweepSpec) -> dict:
    network = sweep_network(d, spec.seed)
    circuit = sweep_circuit(network)
    inputs = sweep_inputs(d, spec.vectors, spec.seed)
    start = time.perf_counter()
    plot = simulate(deck(circuit, inputs, spec.conditions, spec.flat), f"power_d{d}", timeout=spec.timeout,
                    threads=share_of_cores(spec.workers))[0]
    row = measure(circuit, inputs, plot, spec.conditions.vdd)
    row["seconds"] = round(time.perf_counter() - start, 2)
    return row


def run(spec: SweepSpec, out: Path, progress=None) -> dict:
    """Measure every d, fit both parts, write out/power.json and out/power.png."""
    rows: dict[int, dict] = {}
    failed: dict[int, str] = {}
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, spec.workers)) as pool:
        # largest first: it dominates the wall time, the small ones fill the other worker
        futures = {pool.submit(_one, d, spec): d for d in sorted(set(spec.dims), reverse=True)}
        for future in as_completed(futures):
            d = futures[future]
            try:
                rows[d] = future.result()
            except SimulationError as exc:  # e.g. a timeout at large d: keep the others
                failed[d] = str(exc)
                continue
            if progress:
                progress(rows[d])
    if not rows:
        raise RuntimeError("no dimension could be simulated: " + "; ".join(failed.values()))
    table = [rows[d] for d in sorted(rows)]
    dims = np.array([r["d"] for r in table])
    fits = {}
    for label, selected in (("fit", dims >= spec.fit_min), ("fit_all_dims", np.ones(len(dims), bool))):
        if selected.sum() < 2:  # too few dims at or above fit_min: fit what there is
            selected = np.ones(len(dims), bool)
        fits[label] = {part: fit_power_law(dims[selected], np.array([r[f"{part}_W"] for r in table])[selected])
                       for part in (RECURRENT, FEEDFORWARD)}
    local = {part: [{"from_d": a["d"], "to_d": b["d"],
                     "exponent": float(np.log(b[f"{part}_W"] / a[f"{part}_W"]) / np.log(b["d"] / a["d"]))}
                    for a, b in zip(table, table[1:])]
             for part in (RECURRENT, FEEDFORWARD)}
    result = {
        "schema": "bmru-power-sweep/1",
        "conditions": spec.conditions.label(),
        "seed": spec.seed,
        "vectors_per_d": spec.vectors,
        "diode_units": DIODE_UNITS,
        "bias_diode_units": BIAS_UNITS,
        "fit_min_d": spec.fit_min,
        "recurrent_exponent": fits["fit"][RECURRENT]["exponent"],
        "feedforward_exponent": fits["fit"][FEEDFORWARD]["exponent"],
        "recurrent_r2": fits["fit"][RECURRENT]["r2"],
        "feedforward_r2": fits["fit"][FEEDFORWARD]["r2"],
        "fits": fits,
        "local_exponents": local,
        "per_d": table,
        "failed": {str(d): failed[d] for d in sorted(failed)},
        "wall_seconds": round(time.perf_counter() - start, 1),
        "method": ("DC operating points over random input vectors (DC sweep of a selector; hold-band "
                   "units keep the previous vector's state); power = vdd × current of each block's "
                   "supply probe; bias tree shared by bp-gated unit devices"),
    }
    (out / "power.json").write_text(json.dumps(result, indent=1) + "\n")
    plot_power(result, out / "power.png")
    return result


def plot_power(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = result["per_d"]
    dims = np.array([r["d"] for r in table], float)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for part, marker in ((RECURRENT, "o"), (FEEDFORWARD, "s")):
        power = np.array([r[f"{part}_W"] for r in table])
        line, = ax.loglog(dims, power * 1e9, marker, label=part)
        fit = result["fits"]["fit"][part]
        if fit["exponent"] is not None:
            xs = np.array(fit["dims"], float)
            ax.loglog(xs, fit["prefactor_W"] * xs ** fit["exponent"] * 1e9, "-", color=line.get_color(),
                      label=f"fit d≥{min(fit['dims'])}: d^{fit['exponent']:.2f} (R²={fit['r2']:.3f})")
    ax.loglog(dims, np.array([r["total_W"] for r in table]) * 1e9, "k.", label="total")
    ax.set(xlabel="dimension d", ylabel="average supply power (nW)",
           title=f"power vs d, {result['conditions']}, M={result['diode_units']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
