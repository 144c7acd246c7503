"""Mismatch Monte Carlo by the circuit-aware model: `bmru pvt --engine model`.

Every learned parameter of the macro is a ratio of unit-device currents. In weak inversion
a unit whose threshold moved by Δ carries e^{−κΔ} of its nominal current at the same
terminal voltages (`pdk.flat.kappa`), and the units on one gate line with their
sources on a rail (one mirror) split that line's current by these factors. So a parameter
realised as units X on gate line g, read against the diode units D of g, moves by
mean_e(X) / mean_e(D), times what moved the current into D (the copy that feeds g). Chains:

* weight of signal j into output i: the dense block's copy of j's diode (`x<j>` on
  `ing<j>`), then its PMOS units on the conversion line `p<j>`; a negative weight also
  passes the output's negative-sum diode and its 1:1 sink (`nsk<i>` on `negg<i>`);
* bias: its units on a bias-tree line, times the tree's feed of that line (`bp` is fed by
  `nfeed` on `bn`, `bp2` by `nfeed2`, `bn2` by `bp2`'s sink), fine and coarse parts summed;
* BMRU cell: β_lo (lo units on `v0`) and β_hi (lo + width units, the width on `vw`) over the
  comparing copy (`v0` on the cell's input line, against the dense block's ReLU diode), α
  (`vo`) straight from `bp`;
* output stage: per term, as a weight.

Cascodes, switches, logic and the inverter are left out: a cascode's offset moves its
copy's drain, not its current (≈ 0.1 %, `cells.diode`), and a switch or the inverter sets
where, not whether, a cell trips. The offsets are exactly the flat mismatch deck's of the
same seed (`pdk.flat.normals` on each device's path), so a sample run here and in ngspice
is the same sample. On top come the condition's characterized corrections
(`cells.corrections`, as `flows.bmru.circuit_model`), and the BMRU low-state leakage
is carried as the cell's output in its low state.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from cells import corrections
from flows.bmru.circuit import Circuit
from flows.bmru import testbench
from flows.bmru.model import bmru_gates, scan_recurrence
from flows.bmru.network import BmruLayer
from pdk import flat
from pdk.models import Conditions
from pdk.ngspice import simulate

RAILS = ("vdd", "vss")
#: Devices drawn at once (samples × devices): bounds memory at ≈ 40 MB a chunk.
CHUNK_DRAWS = 5_000_000

#: A factor: Σ weight·Π mean_e(set)^power over its terms, divided by Σ weight (1 when nominal).
Term = tuple[float, tuple[tuple[int, int], ...]]


@dataclass(frozen=True)
class _Unit:
    path: str
    device: str
    w: float
    l: float


@dataclass(frozen=True)
class Anchor:
    """Where the nominal transistor-level macro sits against the nominal model, per step:
    every BMRU cell's drive (steps × cells) and every output (steps × outputs), ngspice
    minus model, software units. Added to every sample, so that the model carries each
    sample's mismatch around the circuit's own nominal trajectory, not the model's: on
    kws_d4 (M = 8) the model's mismatch moves of a drive match ngspice's to ≈ 0.1 % while
    its nominal drive sat 1.5 % high at a step that decides a cell."""

    drives: np.ndarray
    outputs: np.ndarray


class _Sets:
    """The macro's unit devices with their source on a rail, grouped by top-level (gate,
    drain) nets: one set is the units of one mirror output (or diode) on one line."""

    def __init__(self, circuit: Circuit):
        self.members: dict[tuple[str, str], list[_Unit]] = {}
        name = circuit.network.name.lower()
        for block in circuit.blocks:
            def top(net: str) -> str:
                return block.nets.get(net, f"{block.name}.{net}")
            for dev in block.cell.devices():
                if not hasattr(dev, "g") or top(dev.s) not in RAILS:
                    continue
                unit = _Unit(f"x{name}.x{block.name}.x{dev.name}".lower(), dev.device, dev.w, dev.l)
                self.members.setdefault((top(dev.g), top(dev.d)), []).append(unit)
        #: sets a parameter reads, in first-use order: the columns of `MismatchModel.set_factors`
        self.used: dict[tuple[str, str], int] = {}

    def index(self, gate: str, drain: str) -> int | None:
        """The set of units on `gate` with drain `drain` (None: there are none)."""
        if (gate, drain) not in self.members:
            return None
        return self.used.setdefault((gate, drain), len(self.used))

    def count(self, gate: str, drain: str) -> int:
        return len(self.members.get((gate, drain), ()))


class MismatchModel:
    """The circuit-aware model of one compiled macro, per mismatch sample: `parameters(seeds)`
    gives every realised parameter with a leading sample axis, `run(seeds, inputs)` the
    BMRU states and outputs of each sample."""

    def __init__(self, circuit: Circuit, conditions: Conditions = Conditions(), table: dict | None = None):
        self.circuit, self.conditions = circuit, conditions
        self.network = circuit.network
        self._sets = _Sets(circuit)
        self._blocks = {b.name: b for b in circuit.blocks}
        self._factors: dict[str, list[Term]] = {}
        self._drive_units: list[int] = []
        corr = corrections.at(table if table is not None else corrections.load(),
                              conditions.corner, conditions.temp, conditions.vdd)
        self._layers = self._nominal(corr)
        self._build()
        self._units = units = [self._sets.members[key] for key in self._sets.used]  # in index order
        flat_units = [u for members in units for u in members]
        self._keys = np.array([flat.path_key(u.path) for u in flat_units], dtype=np.uint64)
        self._sigma = np.array([flat.sigma(u.device, u.w, u.l) for u in flat_units])
        self._kappa = np.array([flat.kappa(u.device, conditions.temp) for u in flat_units])
        self._starts = np.cumsum([0] + [len(m) for m in units[:-1]])
        self._sizes = np.array([len(m) for m in units], dtype=float)

    # ------------------------------------------------------------------ structure
    def _top(self, block: str, net: str) -> str:
        return self._blocks[block].nets.get(net, f"{block}.{net}")

    def _ratio(self, block: str, drain: str, gate: str) -> tuple[tuple[int, int], ...]:
        """mean_e of the units on `gate` into `drain` over mean_e of the line's diode units."""
        g = self._top(block, gate)
        units = self._sets.index(g, self._top(block, drain))
        diode = self._sets.index(g, g)
        if units is None or diode is None:
            raise RuntimeError(f"{block}: no units {drain}←{gate} or no diode on {g}: the cell's "
                               "topology is not the one this model reads")
        return ((units, 1), (diode, -1))

    def _line(self, line: str) -> tuple[tuple[int, int], ...]:
        """What moved the current into a bias-tree line's diode (bn carries iref itself)."""
        feeds = {"bn": (), "bp": lambda: self._ratio("bias", "nfeed", "bn"),
                 "bp2": lambda: self._ratio("bias", "nfeed2", "bn"),
                 "bn2": lambda: self._line("bp2") + self._ratio("bias", "bn2", "bp2")}
        feed = feeds[line]
        return feed() if callable(feed) else feed

    def _bias_current(self, block: str, drain: str, lines: tuple[str, ...]) -> list[Term]:
        """Terms of the current a block's bias units on `lines` put into `drain`, each term
        weighted by its nominal share in fine units (a coarse unit is worth `coarse`)."""
        coarse = self._blocks["bias"].cell.coarse
        terms = []
        for line in lines:
            n = self._sets.count(self._top(block, line), self._top(block, drain))
            if n:
                terms.append((float(n * (coarse if line.endswith("2") else 1)),
                              self._line(line) + self._ratio(block, drain, line)))
        return terms

    def _weights(self, block: str, rows: int, columns: int) -> list[list[list[Term]]]:
        """Per output, per block input: the terms of that weight's factor (empty: no weight)."""
        cell = self._blocks[block].cell
        out = []
        for i in range(rows):
            row = []
            for j in range(columns):
                k = cell.weights[i][j]
                if k == 0:
                    row.append([])
                    continue
                chain = self._ratio(block, f"x{j}", f"ing{j}")
                if k > 0:
                    chain += self._ratio(block, f"out{i}", f"p{j}")
                else:
                    chain += self._ratio(block, f"neg{i}", f"p{j}") + self._ratio(block, f"nsk{i}", f"negg{i}")
                row.append([(1.0, chain)])
            out.append(row)
        return out

    def _build(self) -> None:
        """Every parameter's factor as terms over device sets (module docstring)."""
        f = self._factors
        for index, layer in enumerate(self.network.layers):
            block = f"l{index}_dense"
            cell = self._blocks[block].cell
            f[f"{index}.weight"] = self._weights(block, cell.n_out, cell.n_in)
            f[f"{index}.bias"] = [self._bias_current(block, f"out{i}", ("bp", "bp2")) if b > 0
                                  else self._bias_current(block, f"nb{i}", ("bn",))
                                  + self._bias_current(block, f"out{i}", ("bn2",)) if b < 0 else []
                                  for i, b in enumerate(cell.bias)]
            if isinstance(layer, BmruLayer):
                lo, hi, alpha = [], [], []
                for i in range(layer.size):
                    cmp_ratio = self._ratio(f"l{index}_bmru{i}", "v0", "in")
                    self._drive_units.append(cmp_ratio[1][0])  # the input line's diode: its current is ĥ
                    inverse = tuple((s, -p) for s, p in cmp_ratio)
                    lo_terms = self._bias_current(f"l{index}_bmru{i}", "v0", ("bp", "bp2"))
                    width = self._bias_current(f"l{index}_bmru{i}", "vw", ("bp", "bp2"))
                    lo.append([(w, c + inverse) for w, c in lo_terms])
                    hi.append([(w, c + inverse) for w, c in lo_terms + width])
                    alpha.append(self._bias_current(f"l{index}_bmru{i}", "vo", ("bp", "bp2")))
                f[f"{index}.beta_lo"], f[f"{index}.beta_hi"], f[f"{index}.alpha"] = lo, hi, alpha
        if "output_stage" in self._blocks:
            cell = self._blocks["output_stage"].cell
            f["stage"] = self._weights("output_stage", cell.n_out, cell.n_in)

    def _nominal(self, corr: dict[str, float]) -> list[dict]:
        """Each layer's realised values with the condition's corrections, before mismatch."""
        layers = []
        for layer in self.circuit.mapping.mapped.layers:
            weight, bias = corrections.apply_dense(layer.weight, layer.bias, corr)
            values = {"weight": weight, "bias": bias}
            if isinstance(layer, BmruLayer):
                values["alpha"], values["beta_lo"], values["beta_hi"], values["low"] = corrections.apply_bmru(
                    layer.alpha, layer.beta_lo, layer.beta_hi, corr, self.network.unit_current)
            layers.append(values)
        return layers

    def drive_probes(self) -> tuple[str, ...]:
        """`.save` names of every BMRU cell's drive (its input diode's current) in a flat
        deck, in `Bench.cells()` order."""
        return tuple(flat.current_save(self._units[s][0].path) for s in self._drive_units)

    def anchor(self, plot, times: np.ndarray, outputs: np.ndarray, inputs: np.ndarray) -> Anchor:
        """The Anchor from the nominal flat deck's `plot` (saved with `drive_probes`):
        drives read at `times`, the macro's `outputs` (steps × outputs, software units)."""
        drives = np.stack([np.interp(times, plot["time"], np.abs(plot[f"i({probe})"]))
                           for probe in self.drive_probes()], axis=-1) / self.network.unit_current
        _, model_outputs, model_drives = self._forward(self.parameters(None), np.asarray(inputs, dtype=float))
        return Anchor(drives.reshape(len(times), -1) - model_drives[0], outputs - model_outputs[0])

    # ------------------------------------------------------------------ samples
    def set_factors(self, seeds) -> np.ndarray:
        """mean_e of every used device set per sample: (samples, sets)."""
        offsets = self._sigma * flat.normals(seeds, self._keys)
        factors = np.exp(-self._kappa * offsets)
        return np.add.reduceat(factors, self._starts, axis=1) / self._sizes

    @staticmethod
    def _evaluate(terms: list[Term], logs: np.ndarray) -> np.ndarray:
        if not terms:
            return np.ones(len(logs))
        total = sum(w * np.exp(sum(p * logs[:, s] for s, p in chain)) for w, chain in terms)
        return total / sum(w for w, _ in terms)

    def parameters(self, seeds) -> list[dict]:
        """Per layer: weight per term (samples, out, in), bias, and for BMRU layers α, β_lo,
        β_hi, low (samples, size); plus {"stage": [per term (samples, out)]} last when the
        macro has an output stage. Seeds None: no mismatch (every factor 1)."""
        logs = np.zeros((1, len(self._units))) if seeds is None else np.log(self.set_factors(seeds))
        samples = len(logs)
        result = []
        for index, (layer, values) in enumerate(zip(self.network.layers, self._layers)):
            grid = np.stack([np.stack([self._evaluate(t, logs) for t in row], axis=-1)
                             for row in self._factors[f"{index}.weight"]], axis=-2)  # (S, out, terms·in)
            width = layer.weight.shape[1]
            tiled = np.concatenate([values["weight"]] * (grid.shape[-1] // width), axis=1)
            weight = tiled * grid
            entry = {"weight": [weight[..., t * width:(t + 1) * width] for t in range(grid.shape[-1] // width)],
                     "bias": values["bias"] * self._vector(f"{index}.bias", logs)}
            if isinstance(layer, BmruLayer):
                for key in ("alpha", "beta_lo", "beta_hi"):
                    entry[key] = values[key] * self._vector(f"{index}.{key}", logs)
                entry["low"] = np.broadcast_to(values["low"], (samples, layer.size))
            result.append(entry)
        if "stage" in self._factors:
            grid = np.stack([np.stack([self._evaluate(t, logs) for t in row], axis=-1)
                             for row in self._factors["stage"]], axis=-2)
            size = self.network.output_size
            result.append({"stage": [np.diagonal(grid[..., t * size:(t + 1) * size], axis1=-2, axis2=-1)
                                     for t in range(grid.shape[-1] // size)]})
        return result

    def _vector(self, key: str, logs: np.ndarray) -> np.ndarray:
        return np.stack([self._evaluate(t, logs) for t in self._factors[key]], axis=-1)

    def run(self, seeds, inputs: np.ndarray, anchor: Anchor | None = None) -> tuple[np.ndarray, np.ndarray]:
        """BMRU states (samples, steps, cells, in `Bench.cells()` order) and outputs
        (samples, steps, outputs, software units) of each seed's sample (None: nominal),
        around `anchor`'s nominal trajectory when given."""
        chunk = max(1, CHUNK_DRAWS // max(len(self._keys), 1))
        seeds = None if seeds is None else np.asarray(seeds)
        if seeds is None or len(seeds) <= chunk:
            return self._forward(self.parameters(seeds), np.asarray(inputs, dtype=float), anchor)[:2]
        parts = [self.run(seeds[i:i + chunk], inputs, anchor) for i in range(0, len(seeds), chunk)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _forward(self, params: list[dict], x: np.ndarray, anchor: Anchor | None = None):
        """The network forward with per-sample parameters and per-term weights (the
        circuit reads each signal of a sum through its own copies): states, outputs and
        the BMRU cells' drives."""
        network = self.network

        def terms(index: int) -> list[int]:
            if index < 0:
                return [-1]
            skip = network.layers[index].skip_from
            return [index] + ([] if skip is None else terms(skip))

        signals: dict[int, np.ndarray] = {-1: x[None]}
        states, drives = [], []
        for index, (layer, p) in enumerate(zip(network.layers, params)):
            pre = p["bias"][:, None, :] + sum(signals[t] @ np.swapaxes(w, -1, -2)
                                             for t, w in zip(terms(index - 1), p["weight"]))
            if isinstance(layer, BmruLayer):
                cell = SimpleNamespace(**{k: p[k][:, None, :] for k in ("alpha", "beta_lo", "beta_hi")})
                drive = np.maximum(pre, 0.0)
                if anchor is not None:
                    first = sum(d.shape[-1] for d in drives)
                    drive = drive + anchor.drives[:, first:first + layer.size]
                drives.append(drive)
                a, b = bmru_gates(cell, drive)
                high = scan_recurrence(a, b) > 0
                states.append(high)
                signals[index] = np.where(high, cell.alpha, p["low"][:, None, :])
            else:
                signals[index] = pre if layer.activation == "none" else np.maximum(pre, 0.0)
        last = len(network.layers) - 1
        stage = params[-1]["stage"] if "stage" in params[-1] else None
        direct = stage is None or len(stage) < len(terms(last))
        output = signals[last] if direct else 0.0
        if stage is not None:
            output = output + sum(g[:, None, :] * signals[t]
                                  for t, g in zip(terms(last)[1 if direct else 0:], stage))
        if anchor is not None:
            output = output + anchor.outputs
        samples = len(params[0]["bias"])
        output = np.broadcast_to(output, (samples,) + output.shape[1:])
        cells, drive = ((np.concatenate(states, axis=-1), np.concatenate(drives, axis=-1)) if states
                        else (np.zeros((samples, len(x), 0), dtype=bool),) * 2)
        return cells, output, drive


def nominal_anchor(bench, model: MismatchModel) -> Anchor:
    """The Anchor of `bench`'s macro: one nominal flat transient (tt 27 °C 1.8 V, the
    deck `bmru simulate` runs) with every BMRU cell's drive saved."""
    if not bench.flat:
        raise ValueError("the anchor reads the drives of a flat deck (Bench(flat=True))")
    plot = simulate(bench.deck(Conditions(), probes=model.drive_probes()), f"{bench.network.name}_anchor")[0]
    return model.anchor(plot, testbench.sample_times(len(bench.inputs), bench.plan), bench.outputs(plot),
                        bench.inputs)

