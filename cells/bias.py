"""Bias tree: the single `iref` pin (one unit of current) → every bias current of a layer.

`iref` flows into a cascoded NMOS diode: `diode_units` units from `bn` to vss under as many
cascode units from `iref` to `bn` (gate line `bn`). A cascoded copy of `feed_units` units
feeds a PMOS diode of `pdiode_units` units (gate line `bp`); the cascode holds the copy's
drain at the diode's voltage, without it the copy's drain sits at `bp` (≈ 1.3 V) and the
NMOS output resistance (10–15 %/V in weak inversion) makes every PMOS bias 7–10 % high.
Every bias is then n identical unit devices on `bn` (a sink) or `bp` (a source): one PMOS
unit carries `iref·feed/(diode·pdiode)`, one NMOS unit `iref/diode`. The output units sit
where their current is used (inside the BMRU cell, at a dense summing node), so no branch is
spent on a per-cell diode; `outputs` adds explicit output mirrors to pins `o<i>` (dense
biases, characterization of ratio errors). Only two branches burn current permanently,
shared by every cell of the layer: `iref` itself and the PMOS feed.

A layer whose currents span more than MAX_UNITS_PER_RATIO fine units (e.g. 0.02 … 4 units)
adds a coarse line: `coarse` = F fine units per coarse unit. A cascoded feed of F NMOS units
on `bn` drives a one-unit PMOS diode (gate line `bp2`, one unit = F·iref/D, the same current
density as the feed, so the ratio is exact); `coarse_sink` mirrors it once more into a
one-unit NMOS diode (gate line `bn2`) for large negative dense biases. A current of n fine
units is then n // F units on the coarse line plus n % F on the fine one (`split_units`).
Each coarse line costs one permanent branch of F·iref/D.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cells.netlist import Device, mismatch_conditions, pvt_conditions, subckt, units
from pdk.datasheet import Datasheet, ErrorRecorder, Spec, save_figure, worst
from pdk.models import Conditions
from pdk.limits import MAX_UNITS_PER_RATIO
from pdk.ngspice import Job, simulate_many
from pdk.unit import NMOS, PMOS


def split_units(count: int, coarse: int) -> tuple[int, int]:
    """(fine, coarse) unit devices realising `count` fine units when a coarse unit is worth
    `coarse` fine ones (0: no coarse line, everything fine)."""
    if coarse <= 0:
        return count, 0
    return count % coarse, count // coarse


@dataclass(frozen=True)
class BiasTree:
    """Parameters of one layer's bias tree.

    diode_units: NMOS units of the `iref` diode (sets the NMOS unit current iref/diode).
    feed_units: NMOS units copying `iref` into the PMOS diode (the PMOS line's only cost).
    pdiode_units: PMOS units of that diode (more units: better matching of every source).
    outputs: explicit outputs, each ('p', n) — n PMOS units sourcing into pin o<i> — or
        ('n', n) — n NMOS units sinking from pin o<i>.
    coarse: F, fine units per unit of the coarse PMOS line `bp2` (0: no coarse line).
    coarse_sink: also the coarse NMOS line `bn2` (needs `coarse`).
    """

    diode_units: int = 4
    feed_units: int = 2
    pdiode_units: int = 2
    outputs: tuple[tuple[str, int], ...] = ()
    coarse: int = 0
    coarse_sink: bool = False
    name: str = "bmru_bias"

    def __post_init__(self) -> None:
        for pol, n in self.outputs:
            if pol not in ("p", "n") or int(n) < 1:
                raise ValueError(f"bias output ({pol!r}, {n}) must be ('p'|'n', units ≥ 1)")
        if min(self.diode_units, self.feed_units, self.pdiode_units) < 1:
            raise ValueError("unit counts must be ≥ 1")
        if not 0 <= self.coarse <= MAX_UNITS_PER_RATIO or (self.coarse_sink and not self.coarse):
            raise ValueError(f"coarse must be 0 … {MAX_UNITS_PER_RATIO}, and set for coarse_sink")

    @property
    def ports(self) -> tuple[str, ...]:
        """`bn`/`bp`: gate lines of NMOS sink / PMOS source bias units; `bp2`/`bn2` the
        coarse lines when built."""
        coarse = (("bp2",) if self.coarse else ()) + (("bn2",) if self.coarse_sink else ())
        return ("vdd", "vss", "iref", "bn", "bp") + coarse + tuple(f"o{i}" for i in range(len(self.outputs)))

    def nmos_unit_ratio(self) -> float:
        """Current of one NMOS unit on `bn`, in units of iref."""
        return 1.0 / self.diode_units

    def pmos_unit_ratio(self) -> float:
        """Current of one PMOS unit on `bp`, in units of iref."""
        return self.feed_units / (self.diode_units * self.pdiode_units)

    def output_ratio(self, index: int) -> float:
        pol, n = self.outputs[index]
        return n * (self.pmos_unit_ratio() if pol == "p" else self.nmos_unit_ratio())

    def coarse_unit_ratio(self) -> float:
        """Current of one unit on `bp2` or `bn2`, in units of iref."""
        return self.coarse / self.diode_units

    def static_current(self) -> float:
        """Permanent supply current of the tree in units of iref (iref, the feed and the
        coarse lines)."""
        return (1.0 + self.feed_units / self.diode_units
                + self.coarse_unit_ratio() * (1 + self.coarse_sink))

    def devices(self) -> list[Device]:
        devs = units("MNREFC", NMOS, self.diode_units, "iref", "iref", "bn", "vss", "nrefc")
        devs += units("MNREF", NMOS, self.diode_units, "bn", "bn", "vss", "vss", "nref")
        devs += units("MNFEEDC", NMOS, self.feed_units, "bp", "iref", "nfeed", "vss", "nrefc")
        devs += units("MNFEED", NMOS, self.feed_units, "nfeed", "bn", "vss", "vss", "nref")
        devs += units("MPDIODE", PMOS, self.pdiode_units, "bp", "bp", "vdd", "vdd", "pref")
        if self.coarse:
            devs += units("MNFEED2C", NMOS, self.coarse, "bp2", "iref", "nfeed2", "vss", "nrefc")
            devs += units("MNFEED2", NMOS, self.coarse, "nfeed2", "bn", "vss", "vss", "nref")
            devs += units("MPDIODE2", PMOS, 1, "bp2", "bp2", "vdd", "vdd", "pref2")
        if self.coarse_sink:
            devs += units("MPSINK2", PMOS, 1, "bn2", "bp2", "vdd", "vdd", "pref2")
            devs += units("MNDIODE2", NMOS, 1, "bn2", "bn2", "vss", "vss", "nref2")
        for i, (pol, n) in enumerate(self.outputs):
            if pol == "p":
                devs += units(f"MPO{i}_", PMOS, n, f"o{i}", "bp", "vdd", "vdd", "pref")
            else:
                devs += units(f"MNO{i}_", NMOS, n, f"o{i}", "bn", "vss", "vss", "nref")
        return devs

    def subckt(self) -> str:
        doc = (f"bias tree: iref -> cascoded NMOS diode {self.diode_units}u (bn), cascoded feed "
               f"{self.feed_units}u -> PMOS diode {self.pdiode_units}u (gate line bp); one unit = "
               f"{self.nmos_unit_ratio():g} (n) / {self.pmos_unit_ratio():g} (p) x iref")
        return subckt(self.name, self.ports, self.devices(), doc)


# --------------------------------------------------------------------------- characterization
#: Characterized tree: the default lines with explicit outputs of 1…16 PMOS / 1…8 NMOS units.
EXAMPLE = BiasTree(outputs=(("p", 1), ("p", 2), ("p", 4), ("p", 8), ("p", 16), ("n", 1), ("n", 2), ("n", 4),
                            ("n", 8)))
IREF_RANGE = (0.1e-9, 3e-9)
IREF_STEPS = 29
VOUT_P = 0.5

ERROR = Spec("ratio_error", "%", "worst I_out/(n·unit·iref) − 1 over iref 0.1–3 nA; PMOS outputs at 0.5 V, "
             "NMOS outputs at the bn diode's voltage")
VOUT_ERROR = Spec("ratio_vout_error", "%", "worst ratio error over output 0.2–0.9 V at iref = 1 nA")
POWER = Spec("power", "nW", "static supply power of the tree at iref = 1 nA, iref counted at VDD, outputs excluded")
MM_ERROR = Spec("mismatch_error", "%", "ratio error at iref = 1 nA of one mismatch sample")
SIGMA = Spec("mismatch_sigma", "%", "σ of the ratio error at iref = 1 nA over mismatch samples")
TOLERANCES = {"ratio_error": (0.0, 0.15), "ratio_vout_error": (0.1, 0.2), "power": (0.05, 0.05),
              "mismatch_error": (0.0, 0.5), "mismatch_sigma": (0.25, 0.1)}
GOLDEN = Path(__file__).parent / "goldens" / "bias.yaml"
MISMATCH_SAMPLES = 30


def deck(tree: BiasTree, cond: Conditions, vout_sweep: bool) -> str:
    """The tree with every output through a 0 V ammeter `Vm<i>` into its hold node."""
    lines = [cond.lines(), tree.subckt(), "Vdd vdd 0 {supply}", "Vtree vddt 0 {supply}",
             "Iref vdd iref 1n", f"Xt vddt 0 iref bn bp {' '.join(f'o{i}' for i in range(len(tree.outputs)))} {tree.name}",
             "Ebn hn 0 bn 0 1", f"Vp hp 0 {VOUT_P:g}"]
    for i, (pol, _) in enumerate(tree.outputs):
        hold = "ov" if vout_sweep else ("hp" if pol == "p" else "hn")
        lines.append(f"Vm{i} o{i} {hold} 0" if pol == "p" else f"Vm{i} {hold} o{i} 0")
    if vout_sweep:
        lines += ["Vov ov 0 0.5", ".dc Vov 0.2 0.9 0.05"]
    else:
        lo, hi = IREF_RANGE
        lines.append(f".dc Iref {lo:g} {hi + 1e-15:g} {(hi - lo) / IREF_STEPS:g}")
    return "\n".join(lines) + "\n"


def characterize(workers: int | None = None, progress: bool | None = None, tree: BiasTree | None = None,
                 conditions: list[Conditions] | None = None, samples: int = MISMATCH_SAMPLES) -> Datasheet:
    """Ratio errors of every output against iref and output voltage, over PVT and mismatch."""
    tree = tree or EXAMPLE
    pvt = pvt_conditions() if conditions is None else conditions
    mm = mismatch_conditions(samples)
    key = lambda c: c.label().replace(" ", "_")
    jobs = [Job(f"bias_{kind}_{key(c)}", deck(tree, c, kind == "v")) for c in pvt for kind in "iv"]
    jobs += [Job(f"bias_i_{key(c)}", deck(tree, c, False)) for c in mm]
    res = simulate_many(jobs, workers=workers, progress=progress, desc="bias")
    sheet = Datasheet("bias")
    recorder = ErrorRecorder(sheet, ERROR, MM_ERROR, SIGMA)
    for c in pvt + mm:
        p = res[f"bias_i_{key(c)}"][0]
        iref = p["i(i-sweep)"]
        k1 = int(np.argmin(np.abs(iref - 1e-9)))
        for i, (pol, n) in enumerate(tree.outputs):
            err = (np.abs(p[f"i(vm{i})"]) / (tree.output_ratio(i) * iref) - 1) * 100
            recorder.record(f"{pol}{n}", c, iref, err, curve=f"{pol}{n} iref")
        if c.mismatch:
            continue
        sourced = sum(abs(p[f"i(vm{i})"][k1]) for i, (pol, _) in enumerate(tree.outputs) if pol == "p")
        sheet.add(POWER, c.label(), float((-p["i(vtree)"][k1] - sourced + iref[k1]) * c.vdd * 1e9))
        v = res[f"bias_v_{key(c)}"][0]
        for i, (pol, n) in enumerate(tree.outputs):
            err = (np.abs(v[f"i(vm{i})"]) / (tree.output_ratio(i) * 1e-9) - 1) * 100
            sheet.add(VOUT_ERROR, f"{pol}{n} {c.label()}", worst(err))
    recorder.finish()
    return sheet


def plot(sheet: Datasheet, directory: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, c in sheet.curves.items():
        ax.plot(np.array(c["x"]) * 1e9, c["error_pct"], "-" if label.startswith("p") else "--", label=label)
    ax.set(xlabel="iref (nA)", ylabel="ratio error (%)", title="bias tree outputs, tt 27 °C 1.8 V")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return [save_figure(fig, directory / "bias.png")]
