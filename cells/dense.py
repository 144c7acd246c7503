"""Dense block: y = ReLU(W·x + b) in current mode, for signed W on a unit-device grid.

Every signal between layers is a current into a stacked NMOS diode (`cells.diode`): input
`in<j>` is the net the current enters (the top diode, the consumers' cascode line), `ing<j>`
the node of the `input_units` (M) units under it (the mirror gate line).
Output i is a summing node `out<i>`:

* every input with a weight is converted once: `p<j>` is a PMOS diode of M units fed by a
  copy of M NMOS units on `ing<j>` under a cascode on `in<j>`. The copy carries the
  input's own current densities through the same stack as the diode, so its drain sits at
  `ing<j>` at every current and it copies exactly (a cascode on the bias tree's fixed line
  held it 2·n·U_T·ln(density ratio) away: +2.5 … 4 % per stage at M = 32 and 1 … 0.1 nA,
  issue 14). One branch of I_j per input: the price of signed weights;
* positive weight +k: k PMOS units on `p<j>` source into `out<i>` (ratio k/M);
* negative weight −k: k PMOS units on the same `p<j>` source into the output's negative-sum
  node `neg<i>`, a stacked NMOS diode of NEG_UNITS whose cascoded 1:1 copy sinks Σ⁻ from
  `out<i>`. Both signs thus pass the same two nodes (in<j>, p<j>): an NMOS sink gated
  directly by the input's diode skipped p<j>, led the sourced part by its time constant,
  and after a step of the inputs the output undershot (step up) or overshot (step down) by
  up to the whole negative part — the glitch the BMRU cells latched (issue 14). The extra
  `neg<i>` node carries the whole negative sum through NEG_UNITS units, so its delay is
  small; the step-response datasheet bounds what is left;
* bias ±n: n PMOS units on the tree's `bp` (positive), or n NMOS units on `bn` under as
  many cascode units on `nc` (the tree's cascoded diode, same density) sinking (negative);
* ReLU: a stacked NMOS diode of `output_units` at `out<i>` (gate line `outg<i>`, with
  `relu=True`; its top capacitor low-passes the sum after opposite input steps,
  `cells.diode.TOP_CAP_PER_UNITS`); a negative net current switches it off and the node
  falls to 0 V. That diode is the next layer's input diode: fan-out to the next layer's
  mirrors comes from it. With `relu=False` (last layer only) `out<i>` is a bare summing
  node that the testbench holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cells.bias import BiasTree, split_units
from cells.diode import cascoded_copy, stacked_diode
from cells.netlist import Device, merged_subckt, mismatch_conditions, pvt_conditions, subckt, units
from pdk.datasheet import Datasheet, ErrorRecorder, Spec, is_nominal, save_figure
from pdk.devices import MODELS
from pdk.models import VDD_NOMINAL, Conditions
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
        """Supplies, inputs and their gate lines, outputs and (ReLU) their gate lines, then
        the tree's lines bp (PMOS), bn (NMOS), nc (cascode of the NMOS sinks), and its
        coarse lines bp2/bn2 when a bias needs them."""
        coarse = tuple(line for line, sign in (("bp2", 1), ("bn2", -1))
                       if any(b * sign > 0 and split_units(abs(b), self.coarse)[1] for b in self.bias))
        gates = tuple(f"outg{i}" for i in range(self.n_out)) if self.relu else ()
        return (("vdd", "vss") + tuple(p for j in range(self.n_in) for p in (f"in{j}", f"ing{j}"))
                + tuple(f"out{i}" for i in range(self.n_out)) + gates + ("bp", "bn", "nc") + coarse)

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
                devs += stacked_diode(f"MNIN{j}_", m, f"in{j}", f"ing{j}", f"n{j}")
        for j in self.converted_inputs():
            devs += cascoded_copy(f"MNCV{j}_", m, f"p{j}", f"x{j}", f"ing{j}", f"in{j}", f"n{j}")
            devs += units(f"MPCV{j}_", PMOS, m, f"p{j}", f"p{j}", "vdd", "vdd", f"p{j}")
        for i, row in enumerate(self.weights):
            for j, k in enumerate(row):
                if k > 0:
                    devs += units(f"MPW{i}_{j}_", PMOS, k, f"out{i}", f"p{j}", "vdd", "vdd", f"p{j}")
                elif k < 0:
                    devs += units(f"MPN{i}_{j}_", PMOS, -k, f"neg{i}", f"p{j}", "vdd", "vdd", f"p{j}")
            if any(k < 0 for k in row):
                n = self.neg_units
                devs += stacked_diode(f"MNND{i}_", n, f"neg{i}", f"negg{i}", f"neg{i}")
                devs += cascoded_copy(f"MNNS{i}_", n, f"out{i}", f"nsk{i}", f"negg{i}", f"neg{i}", f"neg{i}")
            b = self.bias[i]
            fine, coarse = split_units(abs(b), self.coarse)
            if b > 0:
                devs += units(f"MPB{i}_", PMOS, fine, f"out{i}", "bp", "vdd", "vdd", "pbias")
                devs += units(f"MPBC{i}_", PMOS, coarse, f"out{i}", "bp2", "vdd", "vdd", "pbias2")
            elif b < 0:
                devs += units(f"MNB{i}_", NMOS, fine, f"nb{i}", "bn", "vss", "vss", "nbias")
                devs += units(f"MNBK{i}_", NMOS, fine, f"out{i}", "nc", f"nb{i}", "vss", "nbiasc")
                devs += units(f"MNBC{i}_", NMOS, coarse, f"out{i}", "bn2", "vss", "vss", "nbias2")
            if self.relu:
                devs += stacked_diode(f"MNRELU{i}_", self.output_units, f"out{i}", f"outg{i}", f"relu{i}")
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

#: Step-response block: a realistic M and, per output, a mixed-sign pair that nearly cancels
#: (out0 = x0 − 0.75·x1, out1 = −0.5·x0 + x1) beside an all-positive one (out2).
STEP_M = 32
STEP_BLOCK = DenseBlock(weights=((STEP_M, -3 * STEP_M // 4), (-STEP_M // 2, STEP_M), (3 * STEP_M // 4, STEP_M // 2)),
                        bias=(0, 0, 0), input_units=STEP_M, output_units=STEP_M, relu=False, input_diodes=False,
                        name="bmru_dense_step")
#: Input rows (nA) held STEP_HOLD each: common steps up and down (both inputs the same way:
#: the mixed-sign outputs nearly cancel), then opposite steps (one input up, one down).
STEP_ROWS = ((0.2e-9, 0.2e-9), (1e-9, 1e-9), (0.2e-9, 0.2e-9), (1e-9, 0.2e-9), (0.2e-9, 1e-9))
STEP_HOLD = 12e-3
STEP_EDGE = 5e-6
#: Temperatures × corners of the step datasheet (nominal supply: the settling time ∝ C·n·U_T/I
#: does not depend on it).
STEP_SETTLE = 0.01
OVERSHOOT = Spec("step_overshoot", "%", "current into the next layer's diode beyond its final value after an input "
                 "step (0.2 ↔ 1 nA, M = 32), % of the step")
UNDERSHOOT = Spec("step_undershoot", "%", "current moving the wrong way first after an input step, % of the step")
SETTLING = Spec("step_settling", "ms", "time to stay within 1 % of the step of the final value (steps down: the "
                "0.2 nA end is the slow one), M = 32")
TOLERANCES.update({"step_overshoot": (0.0, 0.1), "step_undershoot": (0.0, 0.1), "step_settling": (0.1, 0.0)})


def instance(block: DenseBlock, supply: str = "vdd") -> str:
    """The testbenches' instance of `block`: every port on the net of its own name, the
    supply on `supply`, vss on 0 and the cascode line `nc` on the tree's `iref` node."""
    nets = {"vdd": supply, "vss": "0", "nc": "iref"}
    return f"Xd {' '.join(nets.get(p, p) for p in block.ports)} {block.name}"


def deck(block: DenseBlock, cond: Conditions, tree: BiasTree = TREE) -> str:
    """The block with its bias tree; inputs are ideal current sources, outputs are read by
    an exact copy of each ReLU diode's bottom unit (same units, drain held at the diode's
    gate line)."""
    lo, hi = X_RANGE
    lines = [cond.lines(), tree.subckt(), block.subckt(), "Vdd vdd 0 {supply}", "Vblk vddb 0 {supply}",
             f"Iref vdd iref {IREF:g}", f"Xtree vdd 0 iref bn bp {tree.name}",
             f"Ix0 0 in0 {hi:g}", f"Ix1 0 in1 {X1:g}"]
    lines.append(instance(block, "vddb"))
    for i in range(block.n_out):
        lines.append(f"E{i} h{i} 0 outg{i} 0 1\nVm{i} h{i} r{i} 0")
        for u in range(block.output_units):
            lines.append(f"XR{i}_{u} r{i} outg{i} 0 0 {MODELS[NMOS.device]} W={NMOS.w:g} L={NMOS.l:g}")
    lines.append(f".dc Ix0 {lo:g} {hi + 1e-15:g} {(hi - lo) / X_STEPS:g}")
    return "\n".join(lines) + "\n"


def step_deck(cond: Conditions, block: DenseBlock = STEP_BLOCK, tree: BiasTree = TREE,
              hold: float = STEP_HOLD, scale: float = 1.0) -> str:
    """The block between stacked input diodes and stacked output diodes of M units (the next
    layer's ReLU/BMRU input diode); each output is read as the channel current of a copy of
    its bottom unit with the drain held at the gate line (`Vm<i>`): the current the next
    cell's mirrors see, without the node's charging current. The inputs step through
    STEP_ROWS, each held `hold`; `scale` multiplies iref and every input (the settling
    time ∝ 1/scale: tests/test_frame_rate.py). Identical parallel units are merged (`m=`:
    exact without mismatch)."""
    m = block.input_units
    loads = []
    for j in range(block.n_in):
        loads += stacked_diode(f"MI{j}_", m, f"in{j}", f"ing{j}", f"in{j}")
    for i in range(block.n_out):
        loads += stacked_diode(f"MR{i}_", block.output_units, f"out{i}", f"outg{i}", f"out{i}")
        loads += units(f"MS{i}_", NMOS, block.output_units, f"s{i}", f"outg{i}", "vss", "vss")
    # vdd: the stacks' top capacitors
    load_ports = (("vss", "vdd") + tuple(p for j in range(block.n_in) for p in (f"in{j}", f"ing{j}"))
                  + tuple(p for i in range(block.n_out) for p in (f"out{i}", f"outg{i}", f"s{i}")))
    lines = [cond.lines(), tree.subckt(), merged_subckt(block.name, block.ports, block.devices()),
             merged_subckt("step_loads", load_ports, loads), "Vdd vdd 0 {supply}", f"Iref vdd iref {IREF * scale:g}",
             f"Xtree vdd 0 iref bn bp {tree.name}", f"Xl 0 {' '.join(load_ports[1:])} step_loads"]
    for j in range(block.n_in):
        points = [(0.0, STEP_ROWS[0][j] * scale)]
        for k in range(1, len(STEP_ROWS)):
            points += [(k * hold, STEP_ROWS[k - 1][j] * scale), (k * hold + STEP_EDGE, STEP_ROWS[k][j] * scale)]
        lines.append(f"Ix{j} 0 in{j} PWL(" + " ".join(f"{t:.9g} {v:.9g}" for t, v in points) + ")")
    lines.append(instance(block))
    lines += [f"E{i} h{i} 0 outg{i} 0 1\nVm{i} h{i} s{i} 0" for i in range(block.n_out)]
    end = len(STEP_ROWS) * hold
    lines += [".option abstol=1e-15 reltol=1e-4 method=gear",
              ".save " + " ".join(f"i(vm{i})" for i in range(block.n_out)),
              f".tran 2u {end * 1.0001:.9g} 0 20u"]
    return "\n".join(lines) + "\n"


def step_metrics(t: np.ndarray, y: np.ndarray, start: float, end: float) -> tuple[float, float, float]:
    """(overshoot %, undershoot %, 1 % settling time s) of the step at `start`, the final
    value taken just before `end`."""
    y0, yf = np.interp(start - 1e-6, t, y), np.interp(end - 1e-6, t, y)
    step = yf - y0
    inside = (t >= start) & (t <= end)
    seg, ts = y[inside], t[inside]
    direction = np.sign(step)
    over = max(0.0, float(((seg - yf) * direction).max())) / abs(step) * 100
    under = max(0.0, float(((y0 - seg) * direction).max())) / abs(step) * 100
    outside = np.flatnonzero(np.abs(seg - yf) > STEP_SETTLE * abs(step))
    settle = float(ts[outside[-1]] - start) if outside.size else 0.0
    return over, under, settle


def characterize(workers: int | None = None, progress: bool | None = None, block: DenseBlock | None = None,
                 conditions: list[Conditions] | None = None, samples: int = MISMATCH_SAMPLES) -> Datasheet:
    block = block or EXAMPLE
    pvt = pvt_conditions() if conditions is None else conditions
    mm = mismatch_conditions(samples)
    key = lambda c: c.label().replace(" ", "_")
    steps = [c for c in pvt if c.vdd == pvt[0].vdd] if conditions is not None else step_conditions()
    res = simulate_many([Job(f"dense_{key(c)}", deck(block, c)) for c in pvt + mm]
                        + [Job(f"dense_step_{key(c)}", step_deck(c)) for c in steps],
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
    for c in steps:
        p = res[f"dense_step_{key(c)}"][0]
        for i in range(STEP_BLOCK.n_out):
            for k in range(1, len(STEP_ROWS)):
                over, under, settle = step_metrics(p["time"], p[f"i(vm{i})"], k * STEP_HOLD, (k + 1) * STEP_HOLD)
                kind = "common" if k <= 2 else "opposite"
                label = f"out{i} {kind}{k} {c.label()}"
                sheet.add(OVERSHOOT, label, over)
                sheet.add(UNDERSHOOT, label, under)
                sheet.add(SETTLING, label, settle * 1e3)
        if is_nominal(c):
            sheet.curves["step"] = {"t": p["time"][::4].tolist(),
                                    **{f"out{i}": p[f"i(vm{i})"][::4].tolist() for i in range(STEP_BLOCK.n_out)}}
    return sheet


def step_conditions() -> list[Conditions]:
    """Every corner × temperature at the nominal supply."""
    return [c for c in pvt_conditions() if c.vdd == VDD_NOMINAL]


def plot(sheet: Datasheet, directory: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for label, c in sheet.curves.items():
        if label in ("block", "step"):
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
    paths = [save_figure(fig, directory / "dense.png")]
    if "step" in sheet.curves:
        step = sheet.curves["step"]
        fig, ax = plt.subplots(figsize=(7, 4))
        for i in range(STEP_BLOCK.n_out):
            ax.plot(np.array(step["t"]) * 1e3, np.array(step[f"out{i}"]) * 1e9, label=f"out{i}")
        ax.set(xlabel="time (ms)", ylabel="current into the next diode (nA)",
               title=f"dense step response, M = {STEP_M}, tt 27 °C 1.8 V")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        paths.append(save_figure(fig, directory / "dense_step.png"))
    return paths
