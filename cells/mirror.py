"""Weight mirror: identical unit devices, `in_units` diode-connected against `out_units`
per output, so a ratio k/M is exact by construction (never width scaling, never `mult`).

PMOS mirrors source into nodes whose voltage moves (summing nodes, the BMRU comparison
node): pfet 4/16 units lose < 0.6 % over a 1 V drain swing. NMOS mirrors are only used
where the output drain sits at an NMOS diode's voltage (a summing node held by its ReLU
diode), while 0.5 V away they are 6–7 % off (see the `ratio_vout_error` rows).
Characterized with the output where the cell uses it: PMOS into 0.5 V, NMOS into a summing
node held by a one-unit ReLU diode at 1 nA (so input 0.1–3 nA spans the density mismatch
between a weight's input diode and the node it sinks from).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cells.netlist import Device, mismatch_conditions, pvt_conditions, subckt, units
from pdk.datasheet import Datasheet, ErrorRecorder, Spec, is_nominal, save_figure, worst
from pdk.devices import MODELS
from pdk.models import Conditions
from pdk.ngspice import Job, simulate_many
from pdk.unit import NMOS, PMOS


@dataclass(frozen=True)
class Mirror:
    """polarity: 'n' (input current into `in`, outputs sink) or 'p' (input current out of
    `in`, outputs source). in_units: M diode units. out_units: k units per output pin
    `out<i>` (ratio k/M each)."""

    polarity: str = "p"
    in_units: int = 1
    out_units: tuple[int, ...] = (1,)
    name: str = ""

    def __post_init__(self) -> None:
        if self.polarity not in ("n", "p"):
            raise ValueError("polarity must be 'n' or 'p'")
        if self.in_units < 1 or not self.out_units or min(self.out_units) < 1:
            raise ValueError("unit counts must be ≥ 1")

    @property
    def cell_name(self) -> str:
        return self.name or f"mirror_{self.polarity}_{self.in_units}_" + "_".join(map(str, self.out_units))

    @property
    def ports(self) -> tuple[str, ...]:
        return ("vdd", "vss", "in") + tuple(f"out{i}" for i in range(len(self.out_units)))

    def ratios(self) -> tuple[float, ...]:
        return tuple(k / self.in_units for k in self.out_units)

    def devices(self) -> list[Device]:
        unit, rail = (NMOS, "vss") if self.polarity == "n" else (PMOS, "vdd")
        devs = units("MIN", unit, self.in_units, "in", "in", rail, rail, "mirror")
        for i, k in enumerate(self.out_units):
            devs += units(f"MOUT{i}_", unit, k, f"out{i}", "in", rail, rail, "mirror")
        return devs

    def subckt(self) -> str:
        return subckt(self.cell_name, self.ports, self.devices(),
                      f"{self.polarity}-mirror {self.in_units} : {', '.join(map(str, self.out_units))}")

    netlist = subckt


#: Characterized ratios 1/8 … 8 as (in_units, out_units).
RATIOS = ((8, 1), (4, 1), (2, 1), (1, 1), (1, 2), (1, 4), (1, 8))
I_RANGE = (0.1e-9, 3e-9)
I_STEPS = 30
VOUT_P = 0.5
#: Current of the one-unit ReLU diode that holds the NMOS outputs' summing node.
I_SUM = 1e-9


def _deck(pol: str, cond: Conditions, vout_sweep: bool) -> str:
    """All seven ratio mirrors of one polarity, fed by copies of one swept input current
    (CCCS); outputs through 0 V ammeters `Vm<i>`."""
    lines = [cond.lines(), "Vdd vdd 0 {supply}", "Iin 0 s 1n", "Vs s 0 0"]
    for i, (m, k) in enumerate(RATIOS):
        mir = Mirror(pol, m, (k,))
        lines.append(mir.subckt())
        lines.append(f"X{i} vdd 0 a{i} o{i} {mir.cell_name}")
        lines.append(f"F{i} vdd a{i} Vs 1" if pol == "n" else f"F{i} a{i} 0 Vs 1")
        if vout_sweep:
            lines.append(f"Vm{i} ov o{i} 0" if pol == "n" else f"Vm{i} o{i} ov 0")
        elif pol == "n":
            lines.append(f"Vm{i} o{i} sum 0")  # into a summing node held by a ReLU diode
        else:
            lines.append(f"Vm{i} o{i} ov 0")
    if pol == "n" and not vout_sweep:
        # the summing node: its ReLU diode (one unit, 1 nA) sets the voltage, a follower holds it
        lines += [f"Isum vdd ref {I_SUM:g}", f"XMREF ref ref 0 0 {MODELS[NMOS.device]} W={NMOS.w:g} L={NMOS.l:g}",
                  "Esum sum 0 ref 0 1"]
    if vout_sweep:
        lines += ["Vov ov 0 0.5", ".dc Vov 0.2 0.9 0.05"]
    else:
        lo, hi = I_RANGE
        lines += [f"Vov ov 0 {VOUT_P:g}", f".dc Iin {lo:g} {hi + 1e-15:g} {(hi - lo) / I_STEPS:g}"]
    return "\n".join(lines) + "\n"


ERROR = Spec("ratio_error", "%", "worst Iout/(r·Iin) − 1 over Iin 0.1–3 nA; PMOS out at 0.5 V, NMOS out at "
             "a summing node held by a one-unit ReLU diode carrying 1 nA")
VOUT_ERROR = Spec("ratio_vout_error", "%", "worst Iout/(r·Iin) − 1 over output 0.2–0.9 V at Iin = 1 nA")
SIGMA = Spec("mismatch_sigma", "%", "σ of ratio_error at 1 nA over mismatch samples (tt 27 °C 1.8 V)")
TOLERANCES = {"ratio_error": (0.0, 0.15), "ratio_vout_error": (0.1, 0.2), "mismatch_sigma": (0.25, 0.1),
              "mismatch_error": (0.0, 0.5)}
MM_ERROR = Spec("mismatch_error", "%", "ratio error at 1 nA of one mismatch sample")
GOLDEN = Path(__file__).parent / "goldens" / "mirror.yaml"
MISMATCH_SAMPLES = 30


def characterize(workers: int | None = None, progress: bool | None = None,
                 conditions: list[Conditions] | None = None, samples: int = MISMATCH_SAMPLES) -> Datasheet:
    """Both polarities × 7 ratios over PVT (input sweep and output sweep) and mismatch."""
    pvt = pvt_conditions() if conditions is None else conditions
    mm = mismatch_conditions(samples)
    key = lambda c: c.label().replace(" ", "_")
    jobs = [Job(f"mir_{p}_{kind}_{key(c)}", _deck(p, c, kind == "v"))
            for p in "np" for c in pvt for kind in "iv"]
    jobs += [Job(f"mir_{p}_i_{key(c)}", _deck(p, c, False)) for p in "np" for c in mm]
    res = simulate_many(jobs, workers=workers, progress=progress, desc="mirror")
    sheet = Datasheet("mirror")
    recorder = ErrorRecorder(sheet, ERROR, MM_ERROR, SIGMA)
    for p in "np":
        for c in pvt + mm:
            plot = res[f"mir_{p}_i_{key(c)}"][0]
            i_in = plot["i(i-sweep)"]
            for i, (m, k) in enumerate(RATIOS):
                r = k / m
                err = (np.abs(plot[f"i(vm{i})"]) / (r * i_in) - 1) * 100
                recorder.record(f"{p}fet r={r:g}", c, i_in, err, curve=f"{p}fet r={r:g} iin")
            if c.mismatch:
                continue
            vplot = res[f"mir_{p}_v_{key(c)}"][0]
            vo = vplot["v(v-sweep)"]
            for i, (m, k) in enumerate(RATIOS):
                r = k / m
                err = (np.abs(vplot[f"i(vm{i})"]) / (r * 1e-9) - 1) * 100
                sheet.add(VOUT_ERROR, f"{p}fet r={r:g} {c.label()}", worst(err))
                if is_nominal(c):
                    sheet.curves[f"{p}fet r={r:g} vout"] = {"x": vo.tolist(), "error_pct": err.round(4).tolist()}
    recorder.finish()
    return sheet

def plot(sheet: Datasheet, directory: Path) -> list[Path]:
    """Error against input current and against output voltage at tt, worst over PVT."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for label, c in sheet.curves.items():
        ax = axes[0] if label.endswith("iin") else axes[1]
        x = np.array(c["x"]) * (1e9 if label.endswith("iin") else 1)
        ax.plot(x, c["error_pct"], "-" if label.startswith("p") else "--", label=label)
    axes[0].set(xlabel="I_in (nA)", ylabel="ratio error (%)", title="tt 27 °C: error vs input current")
    axes[1].set(xlabel="V_out (V)", ylabel="ratio error (%)", title="tt 27 °C: error vs output voltage, 1 nA")
    for p, marker in (("n", "o"), ("p", "s")):
        worst = []
        for m, k in RATIOS:
            r = k / m
            vals = [abs(v) for cond, v in sheet.values.get("ratio_error", {}).items()
                    if cond.startswith(f"{p}fet r={r:g} ")]
            worst.append(max(vals) if vals else np.nan)
        axes[2].semilogx([k / m for m, k in RATIOS], worst, marker=marker, label=f"{p}fet worst over PVT")
    axes[2].axhline(1, color="k", lw=0.5)
    axes[2].set(xlabel="ratio", ylabel="worst |error| (%)", title="0.1–3 nA, every PVT point")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6)
    return [save_figure(fig, directory / "mirror.png")]
