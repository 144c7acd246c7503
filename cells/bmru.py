"""BMRU hysteretic cell: a current-mode Schmitt trigger on SKY130 (ARCHITECTURE §6).

Output `out` sources α when the input current rises above β_hi, nothing when it falls below
β_lo, and holds its state in between. Topology (all ratios are identical unit devices):

* `in`: NMOS diode of `input_units` (M) units — in a layer this is the summing node's ReLU
  load, so `input_diode=False` leaves it to the dense block.
* `v0`: a copy of `compare_units` (k) NMOS units sinks I_in·k/M; PMOS units on the bias line
  `bp` source β_lo·k/M permanently (`lo_units`) plus (β_hi − β_lo)·k/M (`width_units`)
  through a switch closed in the low state. All threshold sources are PMOS (good output
  resistance); the only NMOS copy compares at its diode's drain voltage (below).
* `q`: inverter of k small NMOS (`pdk.unit.INVERTER`, gate `v0`) loaded by an identical copy
  of the `v0` sources (same switch). It trips where it conducts the source current, i.e.
  close to v0 = V(in) at threshold, where the comparing copy has its diode's Vds and copies
  exactly: the NMOS output-resistance error (10–15 %/V) stays out of both thresholds, and
  the small gate keeps v0 fast (a unit-sized inverter: > 2 ms to switch).
* `qb`: logic inverter of `q`; `out`: `gain_units` PMOS units on `bp` (α) through a series
  PMOS switch closed in the high state — the gates stay on `bp`, so switching never kicks
  the shared bias line, and the open switch leaks ≈ 0.01 pA.

Scaling the comparison by k/M < 1 cuts the only branches that burn current (v0 in the high
state, the inverter in the low state) without touching the input diode's matching.
Static current: low state β_hi·k/M (+ I_in·k/M in hold), high state β_lo·k/M + α.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cells.bias import BiasTree, split_units
from cells.netlist import Device, first_crossing, mismatch_conditions, pvt_conditions, subckt, units
from pdk.datasheet import Datasheet, Spec, save_figure
from pdk.models import Conditions
from pdk.ngspice import Job, simulate_many
from pdk.unit import INVERTER, NMOS, NSWITCH, PMOS, PSWITCH


@dataclass(frozen=True)
class BmruCell:
    """One BMRU unit. Biases are counts of PMOS units on the layer's `bp` line (one unit =
    `BiasTree.pmos_unit_ratio()` × iref):

    input_units: M, NMOS units of the input diode (the summing node's load).
    compare_units: k, NMOS units of the comparing copy and of the inverter; thresholds are
        compared at I·k/M (k < M saves power).
    lo_units: PMOS units of β_lo·k/M.
    width_units: PMOS units of (β_hi − β_lo)·k/M.
    gain_units: PMOS units of α.
    input_diode: include the input diode (False when the dense block provides it).
    coarse: fine units per unit of the coarse line `bp2` (0: none); every count above is in
        fine units and split over both lines (`cells.bias.split_units`).
    """

    input_units: int = 2
    compare_units: int = 1
    lo_units: int = 1
    width_units: int = 1
    gain_units: int = 4
    input_diode: bool = True
    coarse: int = 0
    name: str = "bmru_cell"

    def __post_init__(self) -> None:
        if min(self.input_units, self.compare_units, self.lo_units, self.gain_units) < 1 or self.width_units < 0:
            raise ValueError("unit counts must be ≥ 1 (width_units ≥ 0)")

    @property
    def ports(self) -> tuple[str, ...]:
        """Supply, ground, input current (into `in`), PMOS bias line, output (sourced),
        then the coarse bias line when a count needs it."""
        needs = any(split_units(n, self.coarse)[1] for n in (self.lo_units, self.width_units, self.gain_units))
        return ("vdd", "vss", "in", "bp", "out") + (("bp2",) if needs else ())

    # ideal values in units of one PMOS bias unit current
    def beta_hi(self, unit: float = 1.0) -> float:
        return (self.lo_units + self.width_units) * unit * self.input_units / self.compare_units

    def beta_lo(self, unit: float = 1.0) -> float:
        return self.lo_units * unit * self.input_units / self.compare_units

    def alpha(self, unit: float = 1.0) -> float:
        return self.gain_units * unit

    @classmethod
    def from_levels(cls, alpha: float, beta_lo: float, beta_hi: float, unit: float, input_units: int = 2,
                    compare_units: int = 1, **kw) -> "BmruCell":
        """The nearest cell for α, β_lo, β_hi given one PMOS bias unit `unit` (same units,
        e.g. software units with unit = BiasTree.pmos_unit_ratio()). Check the realised
        values with beta_lo()/beta_hi()/alpha(unit); width ≥ 1 unit keeps a hysteresis."""
        scale = compare_units / (input_units * unit)
        lo = max(1, round(beta_lo * scale))
        width = max(1, round((beta_hi - beta_lo) * scale))
        return cls(input_units=input_units, compare_units=compare_units, lo_units=lo, width_units=width,
                   gain_units=max(1, round(alpha / unit)), **kw)

    def devices(self) -> list[Device]:
        m, k = self.input_units, self.compare_units
        devs: list[Device] = []
        if self.input_diode:
            devs += units("MNIN", NMOS, m, "in", "in", "vss", "vss", "nin")
        devs += units("MNCMP", NMOS, k, "v0", "in", "vss", "vss", "nin")
        devs += self._sources("MPLO", self.lo_units, "v0")
        devs += self._sources("MPW", self.width_units, "vw")
        if self.width_units:
            devs.append(Device("MSW", PSWITCH.device, "v0", "q", "vw", "vdd", PSWITCH.w, PSWITCH.l, "switch"))
        devs += units("MNINV", INVERTER, k, "q", "v0", "vss", "vss", "ninv")
        devs += self._sources("MPLLO", self.lo_units, "q")
        devs += self._sources("MPLW", self.width_units, "qw")
        if self.width_units:
            devs.append(Device("MSLW", PSWITCH.device, "q", "q", "qw", "vdd", PSWITCH.w, PSWITCH.l, "switch"))
        devs.append(Device("MNI2", NSWITCH.device, "qb", "q", "vss", "vss", NSWITCH.w, NSWITCH.l, "logic"))
        devs.append(Device("MPI2", PSWITCH.device, "qb", "q", "vdd", "vdd", PSWITCH.w, PSWITCH.l, "logic"))
        devs += self._sources("MPOUT", self.gain_units, "vo")
        devs.append(Device("MSOUT", PSWITCH.device, "out", "qb", "vo", "vdd", PSWITCH.w, PSWITCH.l, "switch"))
        return devs

    def _sources(self, prefix: str, count: int, drain: str) -> list[Device]:
        """`count` fine units of bias current into `drain`: PMOS units on `bp`, and on `bp2`
        for the coarse part."""
        fine, coarse = split_units(count, self.coarse)
        return (units(prefix, PMOS, fine, drain, "bp", "vdd", "vdd", "pbias")
                + units(f"{prefix}C", PMOS, coarse, drain, "bp2", "vdd", "vdd", "pbias2"))

    def subckt(self) -> str:
        doc = (f"BMRU cell: M={self.input_units} k={self.compare_units} lo={self.lo_units} "
               f"width={self.width_units} gain={self.gain_units} (PMOS bias units on bp)")
        return subckt(self.name, self.ports, self.devices(), doc)

    netlist = subckt


# --------------------------------------------------------------------------- testbenches
#: Default layer bias tree of the testbenches (one PMOS unit = 0.25 iref).
TREE = BiasTree()
IREF = 1e-9
VOUT = 0.5  # output held like the next layer's input diode
SWEEP_POINTS = 300
WINDOW = 0.12


def _bench(cell: BmruCell, tree: BiasTree, cond: Conditions, iin: str, iref: float = IREF,
           vout: float = VOUT) -> list[str]:
    """Cell + tree on separate supplies: i(vcell) is the cell, i(vdd) the tree's feed."""
    return [cond.lines(), tree.subckt(), cell.subckt(),
            "Vdd vdd 0 {supply}", "Vcell vddc 0 {supply}", "Vref vref 0 {supply}",
            f"Iref vref iref {iref:g}",
            f"Xtree vdd 0 iref bn bp {tree.name}",
            f"Xcell vddc 0 in bp out {cell.name}",
            f"Iin 0 in {iin}", f"Vout out 0 {vout:g}"]


def window(cell: BmruCell, up: bool, unit: float) -> tuple[float, float]:
    """I_in sweep window around the threshold: ±WINDOW of β_hi (up) or β_lo (down)."""
    beta = cell.beta_hi(unit) if up else cell.beta_lo(unit)
    return (1 - WINDOW) * beta, (1 + WINDOW) * beta


def sweep_deck(cell: BmruCell, cond: Conditions, up: bool, tree: BiasTree = TREE, iref: float = IREF) -> str:
    """DC sweep of I_in across one threshold, starting in the hold region in the right
    state (`.nodeset`; the start is also valid outside the hold region, where the state is
    unique). Up: from 0.88 β_hi in the low state; down: from 1.12 β_lo in the high state,
    then the output voltage 0.2–0.9 V at that point (high state)."""
    unit = iref * tree.pmos_unit_ratio()
    lo, hi = window(cell, up, unit)
    step = (hi - lo) / SWEEP_POINTS
    start, stop = (lo, hi) if up else (hi, lo)
    lines = _bench(cell, tree, cond, f"{start:g}")
    lines.append(".nodeset v(xcell.v0)={supply} v(xcell.q)=0" if up
                 else ".nodeset v(xcell.v0)=0 v(xcell.q)={supply}")
    lines.append(f".dc Iin {start:g} {stop:g} {(step if up else -step):g}")
    if not up:
        lines.append(".dc Vout 0.2 0.9 0.05")
    return "\n".join(lines) + "\n"


def step_deck(cell: BmruCell, cond: Conditions, tree: BiasTree = TREE, iref: float = IREF,
              loads: dict[str, float] | None = None) -> str:
    """I_in steps from β_lo/2 to β_hi + (β_hi − β_lo)/2 and back (a 1 nA step at defaults).
    `loads`: a capacitor (F) from each named node of the cell to ground (its wiring)."""
    unit = iref * tree.pmos_unit_ratio()
    lo = cell.beta_lo(unit) / 2
    hi = cell.beta_hi(unit) + (cell.beta_hi(unit) - cell.beta_lo(unit)) / 2
    t1, t2, tend = STEP_AT, STEP_AT + STEP_HOLD, STEP_AT + 2 * STEP_HOLD
    lines = _bench(cell, tree, cond, f"PWL(0 {lo:g} {t1:g} {lo:g} {t1 + 1e-6:g} {hi:g} {t2:g} {hi:g} "
                                       f"{t2 + 1e-6:g} {lo:g})")
    lines += [f"Cload{k} xcell.{node} 0 {farad:.4g}" for k, (node, farad) in enumerate(sorted((loads or {}).items()))]
    # gear: trapezoidal integration rings (±0.3 nA) in the current through the output source
    lines.append(".option method=gear")
    lines.append(f".tran 2u {tend:g} 0 5u")
    return "\n".join(lines) + "\n"


#: Nodes a switching cell charges with its bias currents (comparison node, inverter
#: output): their capacitance sets t_up / t_down (flows.bmru.timing post-layout).
SWITCHING_NODES = ("v0", "q")
STEP_AT = 50e-6
STEP_HOLD = 2e-3


# --------------------------------------------------------------------------- characterization
SWITCH_UP = Spec("switch_up_error", "%", "switch-up input current / ideal β_hi − 1 (DC sweep up, 0.08 % steps)")
SWITCH_DOWN = Spec("switch_down_error", "%", "switch-down input current / ideal β_lo − 1 (DC sweep down)")
ALPHA = Spec("alpha_error", "%", f"high-state output / ideal α − 1, output held at {VOUT} V, input in hold")
ALPHA_VOUT = Spec("alpha_vout_error", "%", "worst high-state output error over output voltage 0.2–0.9 V")
LEAK = Spec("low_leakage", "pA", f"low-state output current, output at {VOUT} V, input in hold (0.88 β_hi)")
POWER_LOW = Spec("power_low", "nW", "static supply power, low state at 0.88 β_hi: cell + tree feed + iref at VDD "
                 "(tree shared by this one cell)")
POWER_HIGH = Spec("power_high", "nW", "static supply power, high state at 1.12 β_lo: cell + tree feed + iref at VDD")
POWER_CELL = Spec("power_cell", "nW", "cell alone (without its bias tree), worst state")
T_UP = Spec("t_up", "µs", "input step β_lo/2 → 1.25·β_hi (1 nA at defaults): time to output α/2")
T_DOWN = Spec("t_down", "µs", "step back: time to output α/2")
SIGMA = Spec("mismatch_sigma", "%", "standard deviation over mismatch samples (tt 27 °C 1.8 V)")
MEAN = Spec("mismatch_mean", "%", "mean over mismatch samples (tt 27 °C 1.8 V)")

TOLERANCES = {
    "switch_up_error": (0.0, 0.15), "switch_down_error": (0.0, 0.15), "alpha_error": (0.0, 0.1),
    "alpha_vout_error": (0.0, 0.1), "low_leakage": (0.3, 0.02), "power_low": (0.05, 0.05),
    "power_high": (0.05, 0.05), "power_cell": (0.05, 0.05), "t_up": (0.2, 5.0), "t_down": (0.2, 5.0),
    "mismatch_sigma": (0.2, 0.1), "mismatch_mean": (0.0, 0.6),
}
#: Per-sample mismatch values sit in wider bands than the nominal ones (same tolerance key).
MISMATCH_ABS = 0.4
GOLDEN = Path(__file__).parent / "goldens" / "bmru.yaml"
MISMATCH_SAMPLES = 30


def _pick(plots, vector: str):
    return next(p for p in plots if vector in p.vectors)


def measure(cell: BmruCell, cond: Conditions, up_plots, down_plots, step_plots=None,
            tree: BiasTree = TREE, iref: float = IREF) -> dict[str, float]:
    """Every BMRU number of one condition from its decks' results."""
    unit = iref * tree.pmos_unit_ratio()
    b_hi, b_lo, alpha = cell.beta_hi(unit), cell.beta_lo(unit), cell.alpha(unit)
    up, down = _pick(up_plots, "i(i-sweep)"), _pick(down_plots, "i(i-sweep)")
    vsweep = _pick(down_plots, "v(v-sweep)")
    i_up = first_crossing(up["i(i-sweep)"], up["i(vout)"], alpha / 2)
    i_dn = first_crossing(down["i(i-sweep)"], down["i(vout)"], alpha / 2, rising=False)
    vdd = cond.vdd

    def power(p, k: int) -> tuple[float, float]:
        cell_w = -p["i(vcell)"][k] * vdd
        return (cell_w - p["i(vdd)"][k] * vdd + iref * vdd) * 1e9, cell_w * 1e9

    p_low, c_low = power(up, 0)
    p_high, c_high = power(down, 0)
    out = {
        "switch_up_error": (i_up / b_hi - 1) * 100 if i_up else math.nan,
        "switch_down_error": (i_dn / b_lo - 1) * 100 if i_dn else math.nan,
        "alpha_error": (down["i(vout)"][0] / alpha - 1) * 100,
        "alpha_vout_error": float(np.max(np.abs(vsweep["i(vout)"] / alpha - 1)) * 100),
        "low_leakage": up["i(vout)"][0] * 1e12,
        "power_low": p_low, "power_high": p_high, "power_cell": max(c_low, c_high),
    }
    if step_plots is not None:
        t_up, t_down = switching_times(step_plots[0], alpha)
        out["t_up"], out["t_down"] = t_up * 1e6, t_down * 1e6
    return out


def switching_times(plot, alpha: float) -> tuple[float, float]:
    """(t_up, t_down) in s of a `step_deck` run: from each input step to the output
    crossing α/2 (nan when it never does)."""
    t, o = plot["time"], plot["i(vout)"]
    t_on = first_crossing(t, o, alpha / 2)
    later = t > STEP_AT + STEP_HOLD
    t_off = first_crossing(t[later], o[later], alpha / 2, rising=False)
    return (t_on - STEP_AT if t_on else math.nan), (t_off - STEP_AT - STEP_HOLD if t_off else math.nan)


def jobs_for(cell: BmruCell, conds: list[Conditions], step: bool = True) -> list[Job]:
    jobs = []
    for c in conds:
        jobs.append(Job(f"bmru_up_{_key(c)}", sweep_deck(cell, c, True)))
        jobs.append(Job(f"bmru_down_{_key(c)}", sweep_deck(cell, c, False)))
        if step:
            jobs.append(Job(f"bmru_step_{_key(c)}", step_deck(cell, c)))
    return jobs


def _key(c: Conditions) -> str:
    return c.label().replace(" ", "_")


def characterize(workers: int | None = None, progress: bool | None = None, cell: BmruCell | None = None,
                 conditions: list[Conditions] | None = None, samples: int = MISMATCH_SAMPLES) -> Datasheet:
    """Full PVT (45 points: sweeps up/down and a step each) plus `samples` mismatch seeds
    (sweeps only). `conditions` replaces the PVT list (tests run a subset)."""
    cell = cell or BmruCell()
    pvt = pvt_conditions() if conditions is None else conditions
    mm = mismatch_conditions(samples)
    jobs = jobs_for(cell, pvt) + jobs_for(cell, mm, step=False)
    res = simulate_many(jobs, workers=workers, progress=progress, desc="bmru")
    sheet = Datasheet("bmru")
    specs = {s.name: s for s in (SWITCH_UP, SWITCH_DOWN, ALPHA, ALPHA_VOUT, LEAK, POWER_LOW, POWER_HIGH,
                                 POWER_CELL, T_UP, T_DOWN)}
    curves = {}
    for c in pvt:
        k = _key(c)
        values = measure(cell, c, res[f"bmru_up_{k}"], res[f"bmru_down_{k}"], res[f"bmru_step_{k}"])
        for name, v in values.items():
            sheet.add(specs[name], c.label(), v)
        if c.corner == "tt" and c.vdd == 1.8:
            up = _pick(res[f"bmru_up_{k}"], "i(i-sweep)")
            dn = _pick(res[f"bmru_down_{k}"], "i(i-sweep)")
            tr = res[f"bmru_step_{k}"][0]
            curves[c.label()] = {
                "up": {"iin": up["i(i-sweep)"][::4].tolist(), "iout": up["i(vout)"][::4].tolist()},
                "down": {"iin": dn["i(i-sweep)"][::4].tolist(), "iout": dn["i(vout)"][::4].tolist()},
                "step": {"t": tr["time"][::3].tolist(), "iout": tr["i(vout)"][::3].tolist()}}
    per_sample: dict[str, list[float]] = {"switch_up_error": [], "switch_down_error": [], "alpha_error": []}
    for c in mm:
        k = _key(c)
        values = measure(cell, c, res[f"bmru_up_{k}"], res[f"bmru_down_{k}"])
        for name in per_sample:
            sheet.add(specs[name], c.label(), values[name])
            per_sample[name].append(values[name])
    if mm:
        for name, vals in per_sample.items():
            label = f"{name} tt 27C 1.8V n={len(vals)}"
            sheet.add(SIGMA, label, float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0)
            sheet.add(MEAN, label, float(np.mean(vals)))
    curves["mismatch"] = per_sample
    curves["cell"] = {"input_units": cell.input_units, "compare_units": cell.compare_units,
                      "lo_units": cell.lo_units, "width_units": cell.width_units, "gain_units": cell.gain_units,
                      "unit_current": IREF * TREE.pmos_unit_ratio(), "devices": len(cell.devices())}
    sheet.curves = curves
    return sheet




def plot(sheet: Datasheet, directory: Path) -> list[Path]:
    """Hysteresis loops and step responses at tt, errors over PVT, mismatch histogram."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for label, c in sheet.curves.items():
        if label in ("mismatch", "cell"):
            continue
        axes[0].plot(np.array(c["up"]["iin"]) * 1e9, np.array(c["up"]["iout"]) * 1e9, label=f"{label} up")
        axes[0].plot(np.array(c["down"]["iin"]) * 1e9, np.array(c["down"]["iout"]) * 1e9, "--", label=f"{label} down")
        axes[1].plot(np.array(c["step"]["t"]) * 1e3, np.array(c["step"]["iout"]) * 1e9, label=label)
    axes[0].set(xlabel="I_in (nA)", ylabel="I_out (nA)", title="hysteresis windows (tt, 1.8 V)")
    axes[1].set(xlabel="time (ms)", ylabel="I_out (nA)", title="step response (tt, 1.8 V)")
    for name, marker in (("switch_up_error", "^"), ("switch_down_error", "v"), ("alpha_error", "o")):
        vals = {k: v for k, v in sheet.values.get(name, {}).items() if "mm" not in k}
        axes[2].plot(range(len(vals)), list(vals.values()), marker, label=name)
    axes[2].axhline(1, color="k", lw=0.5)
    axes[2].axhline(-1, color="k", lw=0.5)
    axes[2].set(xlabel="PVT point (corner × temp × VDD)", ylabel="error (%)", title="errors over PVT")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6)
    paths.append(save_figure(fig, directory / "bmru_pvt.png"))
    mm = sheet.curves.get("mismatch", {})
    if mm and mm.get("switch_up_error"):
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, vals in mm.items():
            ax.hist(vals, bins=15, alpha=0.5, label=f"{name} σ={np.std(vals, ddof=1):.2f} %")
        ax.set(xlabel="error (%)", ylabel="samples", title="BMRU mismatch (tt 27 °C 1.8 V)")
        ax.legend(fontsize=7)
        paths.append(save_figure(fig, directory / "bmru_mismatch.png"))
    return paths
