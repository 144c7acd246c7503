"""Subthreshold transconductor (OTA) of the R²NN family: the one active element of a
Gm-C lattice, and the replica that biases its cascodes.

Telescopic cascode OTA, nine devices plus its tail: NMOS input pair (nfet 4/8 units), NMOS
cascodes on `vcn`, a PMOS mirror load (pfet 4/16 units) cascoded on `vref`. Output current
into `out` = gm·(v(inp) − v(inn)), gm = I_tail/(2·n·U_T) ≈ 14 /V × I_tail. The tail is
`fine` NMOS units on the bias tree's `bn` line plus `coarse` units on `bn2`, so gm is a unit
count, like every weight of the project. Without the cascodes gm/g_out is ≈ 170 (the
input pair's drain conductance dominates), which would add a parasitic damping of the
order of the lattice's own to every node; with them ≥ 2 000 over PVT at 0.1–10 nA (measured
with the replica bias below).

The cascode gate `vcn` must sit ≈ 0.1 V above the tail node of every OTA whatever its current:
`CascodeBias` copies an input device (gate on `vref`, two tail units) and stacks a narrow
long diode (0.42/8) on its source, so `vcn` follows the tail node over temperature
(0.97–1.0 V at −40…85 °C) instead of a fixed stack (0.88–1.52 V).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from cells.bias import BiasTree
from cells.netlist import Device, subckt, units
from pdk.datasheet import Datasheet, Spec, is_nominal, load_golden, save_figure
from pdk.models import Conditions
from pdk.ngspice import Job, simulate_many
from pdk.unit import NMOS, PMOS, UnitDevice

#: Cascode-bias diode: narrow and long, so its V_GS exceeds the cascodes' by the ≈ 0.1 V
#: the input pair needs across its drain.
VCN_DIODE = UnitDevice("nfet_01v8", 0.42, 8.0)


@dataclass(frozen=True)
class Transconductor:
    """fine / coarse: tail units on the `bn` / `bn2` line (at least one in all)."""

    fine: int = 1
    coarse: int = 0

    def __post_init__(self) -> None:
        if self.fine < 0 or self.coarse < 0 or self.fine + self.coarse < 1:
            raise ValueError(f"transconductor tail needs ≥ 1 unit, not fine={self.fine} coarse={self.coarse}")

    @property
    def name(self) -> str:
        return f"ota_f{self.fine}_c{self.coarse}"

    @property
    def ports(self) -> tuple[str, ...]:
        lines = (("bn",) if self.fine else ()) + (("bn2",) if self.coarse else ())
        return ("vdd", "vss", "vref", "vcn") + lines + ("inp", "inn", "out")

    def devices(self) -> list[Device]:
        n, p = NMOS, PMOS
        devs = [Device("MINN", n.device, "xa", "inn", "tail", "vss", n.w, n.l, "pair"),
                Device("MINP", n.device, "ya", "inp", "tail", "vss", n.w, n.l, "pair"),
                Device("MCN", n.device, "x", "vcn", "xa", "vss", n.w, n.l, "ncasc"),
                Device("MCP", n.device, "out", "vcn", "ya", "vss", n.w, n.l, "ncasc"),
                Device("MLN", p.device, "pa", "x", "vdd", "vdd", p.w, p.l, "load"),
                Device("MLP", p.device, "pb", "x", "vdd", "vdd", p.w, p.l, "load"),
                Device("MPN", p.device, "x", "vref", "pa", "vdd", p.w, p.l, "pcasc"),
                Device("MPP", p.device, "out", "vref", "pb", "vdd", p.w, p.l, "pcasc")]
        devs += units("MTF", NMOS, self.fine, "tail", "bn", "vss", "vss", "tail")
        devs += units("MTC", NMOS, self.coarse, "tail", "bn2", "vss", "vss", "tail")
        return devs

    def tail_units(self, coarse_ratio: float) -> float:
        """Tail current in fine units when one coarse unit carries `coarse_ratio` fine ones."""
        return self.fine + self.coarse * coarse_ratio

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(),
                      f"cascode OTA, tail {self.fine} fine + {self.coarse} coarse units: "
                      "out = gm (inp - inn)")

    netlist = subckt


@dataclass(frozen=True)
class CascodeBias:
    """`vcn` for every OTA: one PMOS unit on `bp` feeds the diode; the replica input device
    (gate `vref`) sits on two `bn` units."""

    name: str = "r2nn_vcn"

    @property
    def ports(self) -> tuple[str, ...]:
        return ("vdd", "vss", "vref", "bn", "bp", "vcn")

    def devices(self) -> list[Device]:
        devs = [Device("MREP", NMOS.device, "vdd", "vref", "rtail", "vss", NMOS.w, NMOS.l, "replica"),
                Device("MDIO", VCN_DIODE.device, "vcn", "vcn", "rtail", "vss", VCN_DIODE.w, VCN_DIODE.l, "vcn")]
        devs += units("MRT", NMOS, 2, "rtail", "bn", "vss", "vss", "rtail")
        devs += units("MSRC", PMOS, 1, "vcn", "bp", "vdd", "vdd", "vcnsrc")
        return devs

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(), "cascode bias vcn: replica tail + 0.42/8 diode")

    netlist = subckt


# --------------------------------------------------------------------------- characterization
#: Reference voltage of every lattice node and OTA input (mid-supply at 1.8 V).
VREF = 0.9
#: The characterized bench: a real bias tree (coarse lines built as a lattice layer builds
#: them) and the replica cascode bias. Four fine units of iref/4 make the tail equal to
#: iref, so sweeping iref moves the tree, `vcn` and the tail together.
TREE = BiasTree(coarse=4, coarse_sink=True, name="r2nn_bias")
CASCODE = CascodeBias()
EXAMPLE = Transconductor(fine=4, coarse=0)
#: Tail currents of the gm curve (A), log-spaced.
CURVE_TAILS = np.geomspace(0.05e-9, 20e-9, 25)
#: Differential input step of the gm fit (V): ±4 mV around 0, well inside the linear range.
GM_SPAN = 4e-3
#: Output voltages over which g_out is read (V).
GOUT_SPAN = (0.8, 1.0)

GM_CURVE = Spec("gm_curve", "nS", "small-signal gm (−dI_out/dV_in at 0, ±4 mV fit, out held at vref) against the "
                "programmed tail current, tt 27 °C 1.8 V, real bias tree + cascode bias")
GOUT_CURVE = Spec("gout_curve", "pS", "output conductance dI_out/dV_out at out = vref, inputs at vref, tt 27 °C 1.8 V")
GAIN_CURVE = Spec("gm_gout_curve", "", "gm / g_out (intrinsic gain) against the tail current, tt 27 °C 1.8 V")
CURVE_TOLERANCES = {"gm_curve": (0.02, 0.0), "gout_curve": (0.1, 0.0), "gm_gout_curve": (0.1, 0.0)}
GOLDEN = Path(__file__).parent / "goldens" / "transconductor.yaml"
#: The curve is usable while gm/I_tail stays within 10 % of its low-current value; above
#: that the PMOS load leaves its headroom (see `usable_range`).
USABLE_GM_FRACTION = 0.9


def bench(ota: Transconductor, iref: float, cond: Conditions, analysis: str, load: str = "Vout out 0 {vref}") -> str:
    """`ota` biased by TREE and CASCODE at `iref`; inputs at vref + `Vd` (inp) and vref (inn);
    the OTA's own supply `Vota` (its current is the tail's); `load` holds or loads `out`."""
    lines = [cond.lines(), TREE.subckt(), CASCODE.subckt(), ota.subckt(), f".param vref={VREF:g}",
             "Vdd vdd 0 {supply}", "Vota vddo 0 {supply}", f"Iref vdd iref {iref:g}",
             f"Xt vdd 0 iref {' '.join(TREE.ports[3:])} {TREE.name}", "Vref vref 0 {vref}",
             f"Xc vdd 0 vref bn bp vcn {CASCODE.name}",
             f"Xo vddo 0 {' '.join(ota.ports[2:])} {ota.name}",
             "Vinn inn 0 {vref}", "Vd inp inn 0", load, analysis]
    return "\n".join(lines) + "\n"


def sourced_current(plot) -> np.ndarray:
    """Current the OTA sources into `out` (through the holding source Vout)."""
    return plot["i(vout)"]


def gm_at_zero(plot) -> float:
    """gm from a cubic fit of the sourced current over the ±GM_SPAN sweep: the OTA sinks
    gm·(v(inp) − v(inn)) from `out`, so gm = −slope."""
    return float(-np.polyfit(plot["v(v-sweep)"], sourced_current(plot), 3)[2])


def gout_at(plot, vout: float) -> float:
    """g_out = −dI_sourced/dV_out at `vout` (positive: the current falls as out rises)."""
    vo = plot["v(v-sweep)"]
    return float(np.interp(vout, vo, -np.gradient(sourced_current(plot), vo)))


GM_SWEEP = f".dc Vd {-GM_SPAN:g} {GM_SPAN:g} {GM_SPAN / 8:g}"
GOUT_SWEEP = f".dc Vout {GOUT_SPAN[0]:g} {GOUT_SPAN[1] + 1e-6:g} 0.01"


def curve_jobs(ota: Transconductor = EXAMPLE) -> list[Job]:
    nominal = Conditions()
    jobs = []
    for i, tail in enumerate(CURVE_TAILS):
        iref = tail * TREE.diode_units / ota.tail_units(TREE.coarse)
        jobs += [Job(f"ota_curve_gm_{i}", bench(ota, iref, nominal, GM_SWEEP)),
                 Job(f"ota_curve_gout_{i}", bench(ota, iref, nominal, GOUT_SWEEP))]
    return jobs


def curve_label(tail: float) -> str:
    return f"{tail * 1e9:.4g}nA tt 27C 1.8V"


def record_curve(sheet: Datasheet, res: dict) -> None:
    gms, gouts = [], []
    for i, tail in enumerate(CURVE_TAILS):
        gm = gm_at_zero(res[f"ota_curve_gm_{i}"][0])
        gout = gout_at(res[f"ota_curve_gout_{i}"][0], VREF)
        sheet.add(GM_CURVE, curve_label(tail), gm * 1e9)
        sheet.add(GOUT_CURVE, curve_label(tail), gout * 1e12)
        sheet.add(GAIN_CURVE, curve_label(tail), gm / gout)
        gms.append(gm)
        gouts.append(gout)
    sheet.curves["gm"] = {"x": CURVE_TAILS.tolist(), "gm": gms, "gout": gouts}


def characterize(workers: int | None = None, progress: bool | None = None,
                 conditions: list[Conditions] | None = None, samples: int = 0) -> Datasheet:
    """gm and g_out against the tail current at tt 27 °C 1.8 V."""
    res = simulate_many(curve_jobs(), workers=workers, progress=progress, desc="transconductor")
    sheet = Datasheet("transconductor")
    record_curve(sheet, res)
    return sheet


TOLERANCES = dict(CURVE_TOLERANCES)


# --------------------------------------------------------------------------- frozen curve
@lru_cache(maxsize=1)
def _frozen_curve() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tail A, gm S, g_out S) of the golden's tt 27 °C curve, sorted by tail."""
    specs = load_golden(GOLDEN)["specs"]
    tails, gm, gout = [], [], []
    for label, band in specs["gm_curve"]["bands"].items():
        tails.append(float(label.split("nA")[0]) * 1e-9)
        gm.append(band["typ"] * 1e-9)
        gout.append(specs["gout_curve"]["bands"][label]["typ"] * 1e-12)
    order = np.argsort(tails)
    return np.array(tails)[order], np.array(gm)[order], np.array(gout)[order]


def usable_range() -> tuple[float, float]:
    """Tail currents (A) where the frozen curve holds: from the smallest measured tail up to
    the last point whose gm/I_tail is within 10 % of the smallest tail's. Above it the PMOS
    load, cascoded on vref, runs out of headroom (its source reaches vdd) and gm collapses."""
    tails, gm, _ = _frozen_curve()
    ratio = gm / tails
    good = ratio >= USABLE_GM_FRACTION * ratio[0]
    last = int(np.argmin(good)) - 1 if not good.all() else len(tails) - 1
    return float(tails[0]), float(tails[last])


def _interpolate(tail_current: float, values: np.ndarray, conditions: Conditions | None) -> float:
    if conditions is not None and not is_nominal(conditions):
        raise ValueError(f"only the tt 27 °C 1.8 V curve is frozen, not {conditions.label()}")
    lo, hi = usable_range()
    if not lo * (1 - 1e-9) <= tail_current <= hi * (1 + 1e-9):  # the labels hold 4 digits
        raise ValueError(f"tail current {tail_current:.3g} A outside the transconductor's characterized "
                         f"usable range {lo:.3g} … {hi:.3g} A")
    tails = _frozen_curve()[0]
    return float(np.exp(np.interp(np.log(tail_current), np.log(tails), np.log(values))))


def transconductance(tail_current: float, conditions: Conditions | None = None) -> float:
    """gm (S) of a Transconductor with programmed tail `tail_current` (A): log-log
    interpolation of the frozen tt 27 °C 1.8 V curve. The OTA sinks gm·(v(inp) − v(inn))
    from `out`."""
    return _interpolate(tail_current, _frozen_curve()[1], conditions)


def output_conductance(tail_current: float, conditions: Conditions | None = None) -> float:
    """g_out (S) at out = vref, same interpolation as `transconductance`."""
    return _interpolate(tail_current, _frozen_curve()[2], conditions)


def plot(sheet: Datasheet, directory: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = sheet.curves["gm"]
    tails, gm, gout = np.array(c["x"]), np.array(c["gm"]), np.array(c["gout"])
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.8))
    a.semilogx(tails * 1e9, gm / tails, "o-")
    a.set(xlabel="tail current (nA)", ylabel="gm / I_tail (1/V)", title="transconductor gm, tt 27 °C 1.8 V")
    b.loglog(tails * 1e9, gm / gout, "o-")
    b.set(xlabel="tail current (nA)", ylabel="gm / g_out", title="intrinsic gain at out = vref")
    for ax in (a, b):
        ax.grid(True, which="both", alpha=0.3)
    return [save_figure(fig, directory / "transconductor.png")]
