"""Dense block: y = ReLU(W·x + b) in current mode, for signed W on a unit-device grid.

Every signal between layers is a current into an NMOS diode of `input_units` (M) units:
input pin `in<j>` is that diode's node (its gate line). Output i is a summing node `out<i>`:

* every input with a weight is converted once: `p<j>` is a PMOS diode of M units fed by a
  copy of M NMOS units gated by `in<j>`; the copy is cascoded by the bias tree's cascode
  line `nc` (the tree's `iref` node), which holds its drain within ≈ 2·n·U_T·ln(density
  ratio) of the diode instead of ≈ 1 V above it (an uncascoded copy there is 7–10 % high).
  One branch of I_j per input: the price of signed weights;
* positive weight +k: k PMOS units on `p<j>` source into `out<i>` (ratio k/M);
* negative weight −k: k PMOS units on the same `p<j>` source into the output's negative-sum
  node `neg<i>`, an NMOS diode of NEG_UNITS whose 1:1 copy sinks Σ⁻ from `out<i>`. Both
  signs thus pass the same two nodes (in<j>, p<j>): an NMOS sink gated directly by in<j>
  skipped p<j>, led the sourced part by its time constant, and after a step of the inputs
  the output undershot (step up) or overshot (step down) by up to the whole negative part
  — the glitch the BMRU cells latched (issue 14). The extra `neg<i>` node carries the whole
  negative sum through NEG_UNITS units, so its delay is small; the step-response datasheet
  bounds what is left;
* bias ±n: n PMOS units on the tree's `bp` (positive) or NMOS units on `bn` (negative);
* ReLU: an NMOS diode of `output_units` units at `out<i>` (with `relu=True`); a negative
  net current switches it off and the node falls to 0 V. That diode is the next layer's
  input diode: fan-out to the next layer's mirrors comes from it. With `relu=False`
  (last layer only) `out<i>` is a bare summing node that the testbench holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cells.bias import BiasTree, split_units
from cells.netlist import Device, mismatch_conditions, pvt_conditions, subckt, units
from pdk.datasheet import Datasheet, ErrorRecorder, Spec, is_nominal
from pdk.devices import MODELS
from pdk.models import Conditions
from pdk.ngspice import Job, simulate_many
from pdk.unit import NMOS, PMOS

#: NMOS units of each output's negative-sum diode `neg<i>` and of its 1:1 sink. Its node adds
#: the only delay the negative path has beyond the positive one: τ ∝ C/I with the whole
#: negative sum through few units, so it is fast. Measured (M = 32, steps 0.2 ↔ 1 nA, tt):
#: undershoot 0.27 % with 1 unit, 0.37 % with 4, against 100–130 % with NMOS sinks on in<j>;
#: 4 units halve the pair's mismatch (σ ≈ 1.4 %) and copy 2 % closer at the output's voltage.
#: Blocks with M < 4 use M (`DenseBlock.neg_units`).
NEG_UNITS = 4


@dataclass(frozen=True)
class DenseBlock:
    """weights: signed unit counts k_ij (outputs × inputs), realised k_ij / input_units.
    bias: signed unit counts per output on the bias tree lines (PMOS on `bp` if > 0, NMOS
    on `bn` if < 0), realised n × the tree's unit current.
    input_units: M, diode units of every input (and of each PMOS conversion line).
    output_units: units of each output's ReLU diode (the next layer's M).
    relu: ReLU diode at the outputs (False: bare summing nodes, last layer only).
    input_diodes: include the input diodes (False when the previous block provides them).
    coarse: fine bias units per unit of the tree's coarse lines `bp2`/`bn2` (0: none); a
        bias count is split over both lines (`cells.bias.split_units`).
    """

    weights: tuple[tuple[int, ...], ...] = ((4, -2), (-4, 2))
    bias: tuple[int, ...] = (0, 0)
    input_units: int = 4
    output_units: int = 4
    relu: bool = True
    input_diodes: bool = True
    coarse: int = 0
    name: str = "bmru_dense"

    def __post_init__(self) -> None:
        n_in = len(self.weights[0]) if self.weights else 0
        if not self.weights or any(len(row) != n_in for row in self.weights):
            raise ValueError("weights must be a non-empty rectangular matrix of unit counts")
        if len(self.bias) != len(self.weights):
            raise ValueError("bias needs one entry per output")
        if self.input_units < 1 or self.output_units < 1:
            raise ValueError("unit counts must be ≥ 1")

    @property
    def n_in(self) -> int:
        return len(self.weights[0])

    @property
    def n_out(self) -> int:
        return len(self.weights)

    @property
    def ports(self) -> tuple[str, ...]:
        """Supplies, inputs, outputs, then the tree's lines bp (PMOS), bn (NMOS), nc
        (cascode), and its coarse lines bp2/bn2 when a bias needs them."""
        coarse = tuple(line for line, sign in (("bp2", 1), ("bn2", -1))
                       if any(b * sign > 0 and split_units(abs(b), self.coarse)[1] for b in self.bias))
        return (("vdd", "vss") + tuple(f"in{j}" for j in range(self.n_in))
                + tuple(f"out{i}" for i in range(self.n_out)) + ("bp", "bn", "nc") + coarse)

    def converted_inputs(self) -> list[int]:
        """Inputs read through a PMOS line p<j>: every input with a nonzero weight."""
        return [j for j in range(self.n_in) if any(row[j] != 0 for row in self.weights)]

    @property
    def neg_units(self) -> int:
        """Units of each negative-sum diode and its sink: NEG_UNITS, or M when smaller (with
        one-unit weights the pair need not match better than the weights)."""
        return min(NEG_UNITS, self.input_units)

    def ratios(self) -> np.ndarray:
        return np.array(self.weights, dtype=float) / self.input_units

    def devices(self) -> list[Device]:
        m = self.input_units
        devs: list[Device] = []
        for j in range(self.n_in):
            if self.input_diodes:
                devs += units(f"MNIN{j}_", NMOS, m, f"in{j}", f"in{j}", "vss", "vss", f"n{j}")
        for j in self.converted_inputs():
            devs += units(f"MNCV{j}_", NMOS, m, f"x{j}", f"in{j}", "vss", "vss", f"n{j}")
            devs += units(f"MNCC{j}_", NMOS, m, f"p{j}", "nc", f"x{j}", "vss", "ncasc")
            devs += units(f"MPCV{j}_", PMOS, m, f"p{j}", f"p{j}", "vdd", "vdd", f"p{j}")
        for i, row in enumerate(self.weights):
            for j, k in enumerate(row):
                if k > 0:
                    devs += units(f"MPW{i}_{j}_", PMOS, k, f"out{i}", f"p{j}", "vdd", "vdd", f"p{j}")
                elif k < 0:
                    devs += units(f"MPN{i}_{j}_", PMOS, -k, f"neg{i}", f"p{j}", "vdd", "vdd", f"p{j}")
            if any(k < 0 for k in row):
                n = self.neg_units
                devs += units(f"MNND{i}_", NMOS, n, f"neg{i}", f"neg{i}", "vss", "vss", f"neg{i}")
                devs += units(f"MNNS{i}_", NMOS, n, f"out{i}", f"neg{i}", "vss", "vss", f"neg{i}")
            b = self.bias[i]
            fine, coarse = split_units(abs(b), self.coarse)
            if b > 0:
                devs += units(f"MPB{i}_", PMOS, fine, f"out{i}", "bp", "vdd", "vdd", "pbias")
                devs += units(f"MPBC{i}_", PMOS, coarse, f"out{i}", "bp2", "vdd", "vdd", "pbias2")
            elif b < 0:
                devs += units(f"MNB{i}_", NMOS, fine, f"out{i}", "bn", "vss", "vss", "nbias")
                devs += units(f"MNBC{i}_", NMOS, coarse, f"out{i}", "bn2", "vss", "vss", "nbias2")
            if self.relu:
                devs += units(f"MNRELU{i}_", NMOS, self.output_units, f"out{i}", f"out{i}", "vss", "vss",
                              f"relu{i}")
        return devs

    def subckt(self) -> str:
        doc = (f"dense block {self.n_out}x{self.n_in}, M={self.input_units}, ReLU diodes "
               f"{self.output_units if self.relu else 0}u")
        return subckt(self.name, self.ports, self.devices(), doc)

    netlist = subckt

    def ideal(self, x: np.ndarray, bias_unit: float) -> np.ndarray:
        """Ideal output currents for input currents x (…, n_in): ReLU(W x + b)."""
        y = np.asarray(x) @ self.ratios().T + np.array(self.bias) * bias_unit
        return np.maximum(y, 0.0) if self.relu else y


# --------------------------------------------------------------------------- characterization
#: Characterized example: two inputs, two outputs, weights ±1 and ±0.5, biases ±0.25 nA.
EXAMPLE = DenseBlock(weights=((4, -2), (-4, 2), (2, 4)), bias=(1, -1, 0))
TREE = BiasTree()
IREF = 1e-9
X1 = 1e-9  # second input held while the first sweeps 0–3 nA
X_RANGE = (0.0, 3e-9)
X_STEPS = 60

ERROR = Spec("output_error", "%", "worst |I_out − ReLU(W·x + b)| over x0 0–3 nA (x1 = 1 nA), in % of 1 nA")
ZERO = Spec("relu_off_current", "pA", "output current where W·x + b < −0.5 nA (ReLU off)")
POWER = Spec("power", "nW", "static supply power at x = (1, 1) nA (block + its conversion lines)")
SIGMA = Spec("mismatch_sigma", "%", "σ of the output error at x = (1, 1) nA over mismatch samples, % of 1 nA")
MM_ERROR = Spec("mismatch_error", "%", "output error at x = (1, 1) nA of one mismatch sample, % of 1 nA")
TOLERANCES = {"output_error": (0.0, 0.3), "relu_off_current": (0.5, 1.0), "power": (0.05, 0.1),
              "mismatch_sigma": (0.25, 0.2), "mismatch_error": (0.0, 0.6)}
GOLDEN = Path(__file__).parent / "goldens" / "dense.yaml"
MISMATCH_SAMPLES = 30


def deck(block: DenseBlock, cond: Conditions, tree: BiasTree = TREE) -> str:
    """The block with its bias tree; inputs are ideal current sources, outputs are read by
    an exact copy of each ReLU diode (same units, drain held at the diode's voltage)."""
    lo, hi = X_RANGE
    lines = [cond.lines(), tree.subckt(), block.subckt(), "Vdd vdd 0 {supply}", "Vblk vddb 0 {supply}",
             f"Iref vdd iref {IREF:g}", f"Xtree vdd 0 iref bn bp {tree.name}",
             f"Ix0 0 in0 {hi:g}", f"Ix1 0 in1 {X1:g}"]
    ins = " ".join(f"in{j}" for j in range(block.n_in))
    outs = " ".join(f"out{i}" for i in range(block.n_out))
    lines.append(f"Xd vddb 0 {ins} {outs} bp bn iref {block.name}")
    for i in range(block.n_out):
        lines.append(f"E{i} h{i} 0 out{i} 0 1\nVm{i} h{i} r{i} 0")
        for u in range(block.output_units):
            lines.append(f"XR{i}_{u} r{i} out{i} 0 0 {MODELS[NMOS.device]} W={NMOS.w:g} L={NMOS.l:g}")
    lines.append(f".dc Ix0 {lo:g} {hi + 1e-15:g} {(hi - lo) / X_STEPS:g}")
    return "\n".join(lines) + "\n"


def characterize(workers: int | None = None, progress: bool | None = None, block: DenseBlock | None = None,
                 conditions: list[Conditions] | None = None, samples: int = MISMATCH_SAMPLES) -> Datasheet:
    block = block or EXAMPLE
    pvt = pvt_conditions() if conditions is None else conditions
    mm = mismatch_conditions(samples)
    key = lambda c: c.label().replace(" ", "_")
    res = simulate_many([Job(f"dense_{key(c)}", deck(block, c)) for c in pvt + mm],
                        workers=workers, progress=progress, desc="dense")
    sheet = Datasheet("dense")
    unit = IREF * TREE.pmos_unit_ratio()
    recorder = ErrorRecorder(sheet, ERROR, MM_ERROR, SIGMA)
    for c in pvt + mm:
        p = res[f"dense_{key(c)}"][0]
        x0 = p["i(i-sweep)"]
        x = np.stack([x0, np.full_like(x0, X1)], axis=1)
        ideal = block.ideal(x, unit)
        k1 = int(np.argmin(np.abs(x0 - 1e-9)))
        for i in range(block.n_out):
            out = p[f"i(vm{i})"]
            err = (out - ideal[:, i]) / 1e-9 * 100
            label = f"out{i}"
            recorder.record(label, c, x0, err)
            if c.mismatch:
                continue
            net = np.asarray(x @ block.ratios()[i] + block.bias[i] * unit)
            off = net < -0.5e-9
            if off.any():
                sheet.add(ZERO, f"{label} {c.label()}", float(np.max(np.abs(out[off]))) * 1e12)
            if is_nominal(c):
                sheet.curves[label] = {"x0": x0.tolist(), "out": out.tolist(), "ideal": ideal[:, i].tolist()}
        if not c.mismatch:
            sheet.add(POWER, c.label(), float(-p["i(vblk)"][k1] * c.vdd * 1e9))
    recorder.finish()
    sheet.curves["block"] = {"weights": [list(r) for r in block.weights], "bias": list(block.bias),
                             "input_units": block.input_units}
    return sheet


def plot(sheet: Datasheet, directory: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for label, c in sheet.curves.items():
        if label == "block":
            continue
        x = np.array(c["x0"]) * 1e9
        line, = axes[0].plot(x, np.array(c["out"]) * 1e9, label=f"{label} circuit")
        axes[0].plot(x, np.array(c["ideal"]) * 1e9, "--", color=line.get_color(), label=f"{label} ideal")
        axes[1].plot(x, (np.array(c["out"]) - np.array(c["ideal"])) * 1e9 * 100, label=label)
    axes[0].set(xlabel="x0 (nA), x1 = 1 nA", ylabel="output (nA)", title="dense block, tt 27 °C 1.8 V")
    axes[1].set(xlabel="x0 (nA)", ylabel="error (% of 1 nA)", title="circuit − ReLU(Wx+b)")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = directory / "dense.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
