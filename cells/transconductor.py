"""Subthreshold transconductor (OTA) of the R²NN family: the one active element of a
Gm-C lattice, and the replica that biases its cascodes.

Telescopic cascode OTA, nine devices plus its tail: NMOS input pair (nfet 4/8 units), NMOS
cascodes on `vcn`, a PMOS mirror load (pfet 4/16 units) cascoded on `vref`. The OTA sinks
gm·(v(inp) − v(inn)) from `out` (sources the opposite), gm = I_tail/(2·n·U_T) ≈ 14 /V × I_tail. The tail is
`fine` NMOS units on the bias tree's `bn` line plus `coarse` units on `bn2`, so gm is a unit
count, like every weight of the project. Without the cascodes gm/g_out is ≈ 170 (the
input pair's drain conductance dominates), which would add a parasitic damping of the
order of the lattice's own to every node.

Measured by `characterize()` (real bias tree and replica bias, `bmru characterize
transconductor`): gm/I_tail 13.9 / 13.4 /V at 0.1 / 1 nA (tt 27 °C 1.8 V), gm/g_out
1 200–5 000 over out 0.8–1.0 V, offset σ 0.94 mV, linear range 12–25 mV, input noise
≈ 1.9 µV/√Hz white (133 µV over 20 Hz–5 kHz) at 1 nA. Limits: the PMOS load cascoded on
vref needs vref + V_SG(cascode) + ≈ 0.1 V ≤ vdd, so the OTA collapses (gm/I_tail ≈ 0.1 /V)
above ≈ 6 nA at tt 27 °C 1.8 V, and already at 1 nA at −40 °C 1.8 V and at 1.62 V below
85 °C (16 of 45 PVT points); the `max_tail` rows of the golden map it. The PMOS mirror's
pole (gm/C of its gate node, so ∝ I_tail) puts |gm| at −3 dB near 7 kHz (8° lag at 1 kHz)
at 1 nA. `vcn` leaves the input pair only ≈ 70 mV (2.7 U_T) of V_DS at 1 nA: driving inp
alone moves the common mode, which compresses the positive side (+10 mV: −1.5 %, −10 mV:
+0.2 %; saturation +0.83 / −1.0 nA at 1 nA tail).

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
from cells.netlist import Device, first_crossing, mismatch_conditions, pvt_conditions, subckt, units
from pdk.datasheet import Datasheet, Spec, is_nominal, load_golden, save_figure
from pdk.models import TEMP_NOMINAL, Conditions
from pdk.ngspice import Job, simulate_many
from pdk.passives import K_B_Q
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


def bench(ota: Transconductor, iref: float, cond: Conditions, analysis: str, load: str = "Vout out 0 {vref}") -> str:
    """`ota` biased by TREE and CASCODE at `iref`; inputs at vref + `Vd` (inp) and vref (inn);
    the OTA's own supply `Vota` (its current is the tail's); `load` holds or loads `out`."""
    lines = [cond.lines(), TREE.subckt(), CASCODE.subckt(), ota.subckt(), f".param vref={VREF:g}",
             "Vdd vdd 0 {supply}", "Vota vddo 0 {supply}", f"Iref vdd iref {iref:g}",
             f"Xt vdd 0 iref {' '.join(TREE.ports[3:])} {TREE.name}", "Vref vref 0 {vref}",
             f"Xc vdd 0 vref bn bp vcn {CASCODE.name}",
             f"Xo vddo 0 {' '.join(ota.ports[2:])} {ota.name}",
             "Vinn inn 0 {vref}", "Vd inp inn dc 0 ac 1", load, analysis]
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


def _iref(ota: Transconductor, tail: float) -> float:
    """iref that gives `ota` the programmed tail current `tail`."""
    return tail * TREE.diode_units / ota.tail_units(TREE.coarse)


def curve_jobs(ota: Transconductor = EXAMPLE) -> list[Job]:
    nominal = Conditions()
    jobs = []
    for i, tail in enumerate(CURVE_TAILS):
        jobs += [Job(f"ota_curve_gm_{i}", bench(ota, _iref(ota, tail), nominal, GM_SWEEP)),
                 Job(f"ota_curve_gout_{i}", bench(ota, _iref(ota, tail), nominal, GOUT_SWEEP))]
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


# --------------------------------------------------------------------------- datasheet over PVT
#: Tail currents (A) of the per-PVT-point headroom sweep; gm/I_tail is recorded at REPORTED_TAILS.
PVT_TAILS = (0.05e-9, 0.1e-9, 0.2e-9, 0.5e-9, 1e-9, 2e-9, 5e-9, 10e-9, 20e-9)
REPORTED_TAILS = (0.1e-9, 1e-9, 10e-9)
#: Tail current (A) of the linear-range, swing, offset and noise measurements.
TAIL_NOMINAL = 1e-9
WIDE_SWEEP = ".dc Vd -0.15 0.15 1m"
COMPRESSION_AT = (-20e-3, -10e-3, 10e-3, 20e-3)
NOISE_BAND = (20.0, 5e3)
NOISE_AT = (10.0, 100.0, 1e3)
NOISE_SWEEP = ".noise v(out) Vd dec 20 10 5k"
AC_SWEEP = ".ac dec 20 1 10meg"
PHASE_AT = 1e3
#: Noiseless load of the noise bench (a VCCS, ≫ g_out): out stays at vref, and only the
#: OTA and its biases make noise.
NOISE_LOAD = "Gload out vref out vref 1u"
#: gm/I_tail of an OTA that still works: ≥ 90 % of the subthreshold value 1/(2·n·U_T) for
#: n = 1.5 (every corner measures n ≤ 1.45). A pair whose load has lost its headroom sits
#: near 0.1 /V, two orders below.
HEADROOM_N = 1.5

GM_PER_TAIL = Spec("gm_per_tail", "1/V", "gm / programmed tail current at 0.1, 1, 10 nA (≈ 0.1 /V: the PMOS load "
                   "cascoded on vref has run out of headroom)")
MAX_TAIL = Spec("max_tail", "nA", f"largest tail of the grid {', '.join(f'{t * 1e9:g}' for t in PVT_TAILS)} nA up to "
                "which gm/I_tail ≥ 0.9/(2·1.5·U_T) (0: none)")
GAIN_MIN = Spec("gm_gout_min", "", "smallest gm(out)/g_out(out) over out 0.8–1.0 V at 1 nA tail")
OFFSET = Spec("input_offset", "mV", "v(inp) − v(inn) for zero output current, out at vref, 1 nA tail")
OFFSET_SIGMA = Spec("input_offset_sigma", "mV", "σ of the input offset over mismatch samples (tt 27 °C 1.8 V)")
LINEAR = Spec("linear_range", "mV", "|v(inp) − v(inn)| where gm has fallen 10 % below its value at 0, 1 nA tail "
              "(smaller of the two sides)")
COMPRESSION = Spec("compression", "%", "output current at ±10/±20 mV against gm(0)·v − 1, 1 nA tail")
SWING_LOW = Spec("swing_low", "V", "lowest out voltage down to which gm stays ≥ 90 % and gm/g_out ≥ 10 % of their "
                 "values at out = vref, 1 nA tail")
SWING_HIGH = Spec("swing_high", "V", "highest out voltage up to which gm stays ≥ 90 % and gm/g_out ≥ 10 % of their "
                  "values at out = vref, 1 nA tail")
NOISE_DENSITY = Spec("input_noise", "nV/√Hz", "input-referred noise density at 10 Hz, 100 Hz, 1 kHz, 1 nA tail, biases "
                     "included")
BANDWIDTH = Spec("gm_bandwidth", "kHz", "frequency where |gm| has fallen to 1/√2 of its dc value (the PMOS mirror's "
                 "pole: half of the output current passes it), out held at vref, 1 nA tail")
PHASE = Spec("gm_phase_1khz", "°", "phase lag of gm at 1 kHz, out held at vref, 1 nA tail")
NOISE_RMS = Spec("input_noise_rms", "µV", "input-referred noise integrated over 20 Hz–5 kHz, 1 nA tail")
TOLERANCES = dict(CURVE_TOLERANCES, gm_per_tail=(0.03, 0.02), max_tail=(0.0, 0.01), gm_gout_min=(0.2, 1.0),
                  input_offset=(0.0, 0.1), input_offset_sigma=(0.25, 0.05), linear_range=(0.05, 0.5),
                  compression=(0.1, 0.1), swing_low=(0.0, 0.03), swing_high=(0.0, 0.03), input_noise=(0.15, 1.0),
                  input_noise_rms=(0.15, 0.5), gm_bandwidth=(0.1, 0.0), gm_phase_1khz=(0.1, 0.5))
MISMATCH_SAMPLES = 30


def headroom_ok(gm_per_tail: float, temp: float) -> bool:
    """Is this gm/I_tail (1/V) that of a working subthreshold pair at `temp` °C?"""
    thermal = K_B_Q * (temp + 273.15)
    return gm_per_tail >= 0.9 / (2 * HEADROOM_N * thermal)


def swing_sweep(cond: Conditions) -> str:
    """Out from 0.1 V to 50 mV below vdd (inner) at v(inp) − v(inn) = −2, 0, +2 mV (outer)."""
    return f".dc Vout 0.1 {cond.vdd - 0.05:g} 0.01 Vd -2m 2m 2m"


def pvt_jobs(cond: Conditions, ota: Transconductor = EXAMPLE) -> list[Job]:
    key = cond.label().replace(" ", "_")
    iref = _iref(ota, TAIL_NOMINAL)
    jobs = [Job(f"ota_wide_{key}", bench(ota, iref, cond, WIDE_SWEEP))]
    if cond.mismatch:
        return jobs
    jobs += [Job(f"ota_tail{i}_{key}", bench(ota, _iref(ota, tail), cond, GM_SWEEP)) for i, tail in enumerate(PVT_TAILS)]
    jobs += [Job(f"ota_swing_{key}", bench(ota, iref, cond, swing_sweep(cond))),
             Job(f"ota_noise_{key}", bench(ota, iref, cond, NOISE_SWEEP, load=NOISE_LOAD)),
             Job(f"ota_ac_{key}", bench(ota, iref, cond, AC_SWEEP))]
    return jobs


def record_wide(sheet: Datasheet, cond: Conditions, plot) -> float:
    """Offset, linear range and compression from the ±150 mV input sweep; returns the offset (mV)."""
    vd, sourced = plot["v(v-sweep)"], sourced_current(plot)
    sunk = -sourced
    offset = first_crossing(vd, sunk, 0.0)
    sheet.add(OFFSET, cond.label(), offset * 1e3)
    if cond.mismatch:
        return offset * 1e3
    gm = np.gradient(sunk, vd)
    k0 = int(np.argmin(np.abs(vd)))
    small = np.abs(vd) <= GM_SPAN
    gm0 = float(np.polyfit(vd[small], sunk[small], 3)[2])
    right = first_crossing(vd[k0:], gm[k0:], 0.9 * gm0, rising=False)
    left = first_crossing(-vd[k0::-1], gm[k0::-1], 0.9 * gm0, rising=False)
    sides = [x for x in (right, left) if x is not None]
    sheet.add(LINEAR, cond.label(), min(sides) * 1e3 if sides else float("nan"))
    for v in COMPRESSION_AT:
        measured = np.interp(v, vd, sunk) - np.interp(0.0, vd, sunk)
        sheet.add(COMPRESSION, f"{v * 1e3:+g}mV {cond.label()}", (measured / (gm0 * v) - 1) * 100)
    if is_nominal(cond):
        sheet.curves["transfer"] = {"x": vd.tolist(), "sunk": sunk.tolist()}
    return offset * 1e3


def record_swing(sheet: Datasheet, cond: Conditions, plot) -> None:
    """gm and g_out against out from the nested sweep (its v(inp) = v(inn) row gives g_out):
    the swing is the range around vref where gm stays ≥ 90 % and gm/g_out ≥ 10 % of their
    values at vref."""
    (vout, _, _), (low, zero, high) = np.split(plot["v(v-sweep)"], 3), np.split(sourced_current(plot), 3)
    gm = (low - high) / 4e-3
    gout = -np.gradient(zero, vout)
    k = int(np.argmin(np.abs(vout - VREF)))
    ok = (gm >= 0.9 * gm[k]) & (gm >= 0.1 * gm[k] / gout[k] * gout)
    lo = hi = k
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < len(vout) - 1 and ok[hi + 1]:
        hi += 1
    sheet.add(SWING_LOW, cond.label(), vout[lo])
    sheet.add(SWING_HIGH, cond.label(), vout[hi])
    window = (vout >= GOUT_SPAN[0] - 1e-9) & (vout <= GOUT_SPAN[1] + 1e-9)
    sheet.add(GAIN_MIN, cond.label(), float(np.min(gm[window] / gout[window])))
    if is_nominal(cond):
        sheet.curves["swing"] = {"x": vout.tolist(), "gm": gm.tolist(), "gout": gout.tolist()}


def record_noise(sheet: Datasheet, cond: Conditions, plots) -> None:
    spectrum = next(p for p in plots if "inoise_spectrum" in p.vectors)
    f, density = np.real(spectrum["frequency"]), np.real(spectrum["inoise_spectrum"])
    for at in NOISE_AT:
        sheet.add(NOISE_DENSITY, f"{at:g}Hz {cond.label()}",
                  float(np.exp(np.interp(np.log(at), np.log(f), np.log(density)))) * 1e9)
    band = (f >= NOISE_BAND[0]) & (f <= NOISE_BAND[1])
    sheet.add(NOISE_RMS, cond.label(), float(np.sqrt(np.trapezoid(density[band] ** 2, f[band]))) * 1e6)
    if is_nominal(cond):
        sheet.curves["noise"] = {"x": f.tolist(), "density": density.tolist()}


def record_ac(sheet: Datasheet, cond: Conditions, plot) -> None:
    f, gm = np.real(plot["frequency"]), -plot["i(vout)"]
    magnitude = np.abs(gm)
    sheet.add(BANDWIDTH, cond.label(), first_crossing(f, magnitude, magnitude[0] / np.sqrt(2), rising=False) / 1e3)
    phase = np.unwrap(np.angle(gm))
    sheet.add(PHASE, cond.label(), -float(np.degrees(np.interp(np.log(PHASE_AT), np.log(f), phase - phase[0]))))
    if is_nominal(cond):
        sheet.curves["ac"] = {"x": f.tolist(), "gm": magnitude.tolist()}


def record_tails(sheet: Datasheet, cond: Conditions, res: dict) -> bool:
    """gm/I_tail at REPORTED_TAILS and the headroom limit; returns whether the OTA works at
    TAIL_NOMINAL (the other specs are only meaningful where it does)."""
    key = cond.label().replace(" ", "_")
    ratios = [gm_at_zero(res[f"ota_tail{i}_{key}"][0]) / tail for i, tail in enumerate(PVT_TAILS)]
    for tail, ratio in zip(PVT_TAILS, ratios):
        if tail in REPORTED_TAILS:
            sheet.add(GM_PER_TAIL, f"{tail * 1e9:g}nA {cond.label()}", ratio)
    largest = 0.0
    for tail, ratio in zip(PVT_TAILS, ratios):
        if not headroom_ok(ratio, cond.temp):
            break
        largest = tail
    sheet.add(MAX_TAIL, cond.label(), largest * 1e9)
    return largest >= TAIL_NOMINAL


def characterize(workers: int | None = None, progress: bool | None = None,
                 conditions: list[Conditions] | None = None, samples: int = MISMATCH_SAMPLES) -> Datasheet:
    """The nominal gm/g_out curve, then at every PVT point gm/I_tail and the headroom limit
    and, where the OTA works at 1 nA, gm/g_out, offset, linear range, compression, output
    swing, gm bandwidth and input noise; offset σ over mismatch."""
    pvt = pvt_conditions() if conditions is None else conditions
    mm = mismatch_conditions(samples)
    jobs = curve_jobs() + [j for c in pvt + mm for j in pvt_jobs(c)]
    res = simulate_many(jobs, workers=workers, progress=progress, desc="transconductor")
    sheet = Datasheet("transconductor")
    record_curve(sheet, res)
    for c in pvt:
        key = c.label().replace(" ", "_")
        if not record_tails(sheet, c, res):
            continue
        record_wide(sheet, c, res[f"ota_wide_{key}"][0])
        record_swing(sheet, c, res[f"ota_swing_{key}"][0])
        record_noise(sheet, c, res[f"ota_noise_{key}"])
        record_ac(sheet, c, res[f"ota_ac_{key}"][0])
    offsets = [record_wide(sheet, c, res[f"ota_wide_{c.label().replace(' ', '_')}"][0]) for c in mm]  # tt 27 °C works
    if len(offsets) > 1:
        sheet.add(OFFSET_SIGMA, f"{mm[0].label().split(' mm')[0]} n={len(offsets)}", float(np.std(offsets, ddof=1)))
    return sheet


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
    the last point before `headroom_ok` fails. Above it the PMOS load, cascoded on vref,
    runs out of headroom (its source reaches vdd) and gm collapses."""
    tails, gm, _ = _frozen_curve()
    good = [headroom_ok(g / t, TEMP_NOMINAL) for g, t in zip(gm, tails)]
    last = good.index(False) - 1 if False in good else len(tails) - 1
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
    """tt 27 °C 1.8 V: gm/I_tail and gm/g_out against the tail, the ±150 mV transfer,
    gm/g_out against out, |gm| against frequency and the input-referred noise (1 nA tail)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(15, 7.5))
    c = sheet.curves["gm"]
    tails, gm, gout = np.array(c["x"]), np.array(c["gm"]), np.array(c["gout"])
    a = axes[0, 0]
    a.semilogx(tails * 1e9, gm / tails, "o-", label="gm / I_tail (1/V)")
    a.set(xlabel="tail current (nA)", ylabel="gm / I_tail (1/V)", title="gm against tail (usable range shaded)")
    a.axvspan(*(np.array(usable_range()) * 1e9), color="g", alpha=0.08)
    b = a.twinx()
    b.loglog(tails * 1e9, gm / gout, "s--", color="C1")
    b.set_ylabel("gm / g_out at out = vref", color="C1")
    if "transfer" in sheet.curves:
        t = sheet.curves["transfer"]
        axes[0, 1].plot(np.array(t["x"]) * 1e3, np.array(t["sunk"]) * 1e9)
        axes[0, 1].set(xlabel="v(inp) − v(inn) (mV)", ylabel="current sunk from out (nA)",
                       title="transfer, 1 nA tail, out at vref")
    if "swing" in sheet.curves:
        w = sheet.curves["swing"]
        vout, gm_out, gout_out = np.array(w["x"]), np.array(w["gm"]), np.array(w["gout"])
        axes[1, 0].semilogy(vout, np.clip(gm_out / gout_out, 1e-1, None))
        axes[1, 0].set(xlabel="out (V)", ylabel="gm / g_out", title="gain against output voltage, 1 nA tail")
    if "noise" in sheet.curves:
        n = sheet.curves["noise"]
        axes[1, 1].loglog(n["x"], np.array(n["density"]) * 1e9)
        axes[1, 1].set(xlabel="frequency (Hz)", ylabel="input noise (nV/√Hz)", title="input-referred noise, 1 nA tail")
    if "ac" in sheet.curves:
        f, gm_f = np.array(sheet.curves["ac"]["x"]), np.array(sheet.curves["ac"]["gm"])
        axes[0, 2].loglog(f, gm_f * 1e9)
        axes[0, 2].set(xlabel="frequency (Hz)", ylabel="|gm| (nS)", title="gm against frequency, 1 nA tail")
    axes[1, 2].axis("off")
    for ax in axes.flat[:5]:
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("transconductor, tt 27 °C 1.8 V")
    return [save_figure(fig, directory / "transconductor.png")]
