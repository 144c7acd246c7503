"""Subthreshold transconductor (OTA) of the R²NN family: the one active element of a
Gm-C lattice, and the replica that biases its cascodes.

Telescopic cascode OTA, nine devices plus its tail: NMOS input pair (nfet 4/8 units), NMOS
cascodes on `vcn`, a PMOS mirror load (pfet 4/16 units) cascoded on `vcp`. Output current
into `out` = gm·(v(inp) − v(inn)), gm = I_tail/(2·n·U_T) ≈ 14 /V × I_tail. The tail is
`fine` NMOS units on the bias tree's `bn` line plus `coarse` units on `bn2`, so gm is a unit
count, like every weight of the project. Without the cascodes gm/g_out is ≈ 170 (the
input pair's drain conductance dominates), which would add a parasitic damping of the
order of the lattice's own to every node; with them ≥ 2 000 over PVT at 0.1–10 nA (measured
with the replica bias below).

The cascode gate `vcn` must sit above the tail node of every OTA by the input pair's V_DS
plus a cascode's V_GS, whatever the tail current: `CascodeBias` copies an input device
(gate on `vref`, one unit of current) and stacks a narrow long diode (0.42/8) on its
source, so `vcn` follows the tail node over temperature instead of a fixed stack
(0.88–1.52 V at −40…85 °C). The diode runs at `feed` PMOS units so that the pair's V_DS
is ≥ 4.5 U_T (saturated); see `CascodeBias`. The PMOS cascodes' gate `vcp` likewise follows
a PMOS V_SG (`PmosCascodeBias`) instead of sitting on `vref`: see there.
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

#: Input pair: small, because every gate loads a lattice node (a 4/8 unit adds 70–120 fF to
#: a node of 1–10 pF); in weak inversion gm/I does not depend on the size, and the
#: cascodes above it keep the output conductance.
PAIR = UnitDevice("nfet_01v8", 1.0, 2.0)
#: Cascodes and mirror load: minimum width at the unit devices' W/L (so the bias voltages
#: and swings stay those of the 4/8 and 4/16 units), because the mirror's gate and the
#: cascodes' sources are the OTA's internal poles. Measured (tail 0.05 / 0.5 / 5 nA): with
#: 4/8 and 4/16 devices the OTA lags like a delay of 108 / 33 / 37 µs — at a 200 Hz
#: resonance 0.04 rad per OTA, more than the 1/(2Q) = 0.025 of a Q-20 lattice, so the
#: lattice oscillated —, with these 5.2 / 0.78 / 0.13 µs; gm/g_out falls from ≈ 4400 to 1200.
CASCODE_N = UnitDevice("nfet_01v8", 0.42, 1.0)
LOAD_P = UnitDevice("pfet_01v8", 0.42, 2.0)
#: Cascode-bias diode: narrow and long, so its V_GS exceeds the cascodes' by the ≈ 0.1 V
#: the input pair needs across its drain.
VCN_DIODE = UnitDevice("nfet_01v8", 0.42, 8.0)
#: PMOS cascode-bias diode: narrow and long at ≈ 6.4 nA, so its V_SG exceeds the cascodes'
#: at the largest tail (≈ 6 nA a side) by the ≈ 0.1 V the load needs across it.
VCP_DIODE = UnitDevice("pfet_01v8", 0.42, 16.0)


@dataclass(frozen=True)
class Transconductor:
    """fine / coarse / tiny: tail units on the `bn` / `bn2` / `bn0` line (at least one)."""

    fine: int = 1
    coarse: int = 0
    tiny: int = 0

    def __post_init__(self) -> None:
        if min(self.fine, self.coarse, self.tiny) < 0 or self.fine + self.coarse + self.tiny < 1:
            raise ValueError(f"transconductor tail needs ≥ 1 unit, not fine={self.fine} coarse={self.coarse} "
                             f"tiny={self.tiny}")

    @property
    def name(self) -> str:
        return f"ota_f{self.fine}_c{self.coarse}" + (f"_t{self.tiny}" if self.tiny else "")

    @property
    def ports(self) -> tuple[str, ...]:
        lines = tuple(line for line, count in (("bn0", self.tiny), ("bn", self.fine), ("bn2", self.coarse))
                      if count)
        return ("vdd", "vss", "vcn", "vcp") + lines + ("inp", "inn", "out")

    def devices(self) -> list[Device]:
        q, n, p = PAIR, CASCODE_N, LOAD_P
        # side a (gate inp) feeds the mirror's diode x, whose copy sources into out; side b
        # (gate inn) sinks from out: I(out) = gm (inp − inn)
        devs = [Device("MINA", q.device, "xa", "inp", "tail", "vss", q.w, q.l, "pair"),
                Device("MINB", q.device, "xb", "inn", "tail", "vss", q.w, q.l, "pair"),
                Device("MCA", n.device, "x", "vcn", "xa", "vss", n.w, n.l, "ncasc"),
                Device("MCB", n.device, "out", "vcn", "xb", "vss", n.w, n.l, "ncasc"),
                Device("MLA", p.device, "pa", "x", "vdd", "vdd", p.w, p.l, "load"),
                Device("MLB", p.device, "pb", "x", "vdd", "vdd", p.w, p.l, "load"),
                Device("MPA", p.device, "x", "vcp", "pa", "vdd", p.w, p.l, "pcasc"),
                Device("MPB", p.device, "out", "vcp", "pb", "vdd", p.w, p.l, "pcasc")]
        devs += units("MTF", NMOS, self.fine, "tail", "bn", "vss", "vss", "tail")
        devs += units("MTC", NMOS, self.coarse, "tail", "bn2", "vss", "vss", "tail")
        devs += units("MTT", NMOS, self.tiny, "tail", "bn0", "vss", "vss", "tail")
        return devs

    def tail_units(self, coarse_ratio: float, tiny_ratio: float = 0.0) -> float:
        """Tail current in fine units when one coarse unit carries `coarse_ratio` fine ones
        and one tiny unit `tiny_ratio`."""
        return self.fine + self.coarse * coarse_ratio + self.tiny * tiny_ratio

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(),
                      f"cascode OTA, tail {self.fine} fine + {self.coarse} coarse + {self.tiny} tiny units: "
                      "out = gm (inp - inn)")

    netlist = subckt


@dataclass(frozen=True)
class TinyLine:
    """The `bn0` line: one PMOS unit on `bp` (one fine unit of current) into a diode of
    `units` NMOS units, so an NMOS unit on `bn0` carries 1/`units` of a fine unit."""

    units: int = 16
    name: str = "r2nn_tiny"

    @property
    def ports(self) -> tuple[str, ...]:
        return ("vdd", "vss", "bp", "bn0")

    def devices(self) -> list[Device]:
        return (units("MTSRC", PMOS, 1, "bn0", "bp", "vdd", "vdd", "tinysrc")
                + units("MTDIO", NMOS, self.units, "bn0", "bn0", "vss", "vss", "tinydiode"))

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(), f"tiny line bn0: one PMOS unit into {self.units} NMOS units")

    netlist = subckt


@dataclass(frozen=True)
class CascodeBias:
    """`vcn` for every OTA: `feed` PMOS units on `bp` feed the diode; the replica input
    device (gate `vref`) sits on `feed` + 1 `bn` units, so it carries one unit whatever
    `feed` is.

    Why 8 units: with one, the input pair's V_DS was 60–79 mV (0.5 % … 0.06 nA tail), below
    the ≈ 4 U_T a subthreshold device needs to saturate, and gm moved with the inputs'
    common mode by −0.11 … −0.42 %/mV (−0.29 %/mV at 2 nA): a lattice's nodes rest 0.1–few
    mV from vref (offsets), which made every spring 0.2 % weak in situ (1.3 % at 5 mV), and
    inn read 0.993–0.997 of inp. With 8 units (vcn +72 mV) the pair's V_DS is 117–137 mV,
    the common-mode slope ≤ 0.016 %/mV and inn/inp ≥ 0.999 (measured at the lattice's
    fixed iref); it costs 8 × 50 pA."""

    feed: int = 8
    name: str = "r2nn_vcn"

    @property
    def ports(self) -> tuple[str, ...]:
        return ("vdd", "vss", "vref", "bn", "bp", "vcn")

    def devices(self) -> list[Device]:
        devs = [Device("MREP", NMOS.device, "vdd", "vref", "rtail", "vss", NMOS.w, NMOS.l, "replica"),
                Device("MDIO", VCN_DIODE.device, "vcn", "vcn", "rtail", "vss", VCN_DIODE.w, VCN_DIODE.l, "vcn")]
        devs += units("MRT", NMOS, self.feed + 1, "rtail", "bn", "vss", "vss", "rtail")
        devs += units("MSRC", PMOS, self.feed, "vcn", "bp", "vdd", "vdd", "vcnsrc")
        return devs

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(),
                      f"cascode bias vcn: replica tail + 0.42/8 diode at {self.feed} PMOS units")

    netlist = subckt


@dataclass(frozen=True)
class PmosCascodeBias:
    """`vcp` for every OTA's PMOS cascodes: a 0.42/16 PMOS diode from vdd sunk by `sink`
    coarse NMOS units (≈ 6.4 nA), so vcp sits a PMOS V_SG below vdd and follows it over
    temperature and corner.

    Why: cascoded on `vref`, the load's source sits at vref + V_SG, which at −40 °C leaves
    the load out of saturation above 2 nA of tail at 1.8 V (1 nA at 1.62 V), while a lattice
    plans tails up to 10.9 nA: the stiff rows' gms collapsed and r2nn_machine latched with
    its displacements 0.35–0.4 V from vref at −30 °C and below. With this diode the
    largest usable tail keeps its gm/I_tail and gm/g_out ≥ 1200 at every corner, −40 … 85 °C,
    1.62 … 1.98 V (fed 4.8 nA: 800 at ss −40 °C 1.62 V; 2 nA: 360)."""

    sink: int = 16
    name: str = "r2nn_vcp"

    @property
    def ports(self) -> tuple[str, ...]:
        return ("vdd", "vss", "bn2", "vcp")

    def devices(self) -> list[Device]:
        d = VCP_DIODE
        return ([Device("MDIOP", d.device, "vcp", "vcp", "vdd", "vdd", d.w, d.l, "vcp")]
                + units("MPSNK", NMOS, self.sink, "vcp", "bn2", "vss", "vss", "vcpsink"))

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(),
                      f"PMOS cascode bias vcp: 0.42/16 diode on {self.sink} coarse NMOS units")

    netlist = subckt


# --------------------------------------------------------------------------- characterization
#: Reference voltage of every lattice node and OTA input (mid-supply at 1.8 V).
VREF = 0.9
#: The characterized bench: a real bias tree (coarse lines built as a lattice layer builds
#: them) and the replica cascode bias. Four fine units of iref/4 make the tail equal to
#: iref, so sweeping iref moves the tree, `vcn` and the tail together.
LATTICE_COARSE, LATTICE_TINY = 8, 16
TREE = BiasTree(coarse=LATTICE_COARSE, coarse_sink=True, name="r2nn_bias")
TINY = TinyLine(LATTICE_TINY)
CASCODE = CascodeBias()
PCASCODE = PmosCascodeBias()
EXAMPLE = Transconductor(fine=4, coarse=0)
#: The lattice's fine unit (A): iref = diode_units × it, fixed, as in a lattice.
UNIT_CURRENT = 50e-12
#: The gm curve's transconductors, as a lattice builds them at a fixed iref: tiny units
#: below one fine unit, then fine units up to beyond the PMOS load's headroom (a tail's
#: drain sits lower the larger the tail, so the curve is read at fixed iref, not by
#: scaling iref: that way it was 0.5–1.2 % high).
CURVE_OTAS = tuple([Transconductor(fine=0, tiny=t) for t in (1, 2, 3, 5, 8, 12)]
                   + [Transconductor(fine=f) for f in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)])
#: Differential input step of the gm fit (V): ±4 mV around 0, well inside the linear range.
GM_SPAN = 4e-3
#: Output voltages over which g_out is read (V).
GOUT_SPAN = (0.8, 1.0)

GM_CURVE = Spec("gm_curve", "nS", "small-signal gm (dI_out/dV_in at 0, ±4 mV fit, out held at vref) against the "
                "programmed tail current, tt 27 °C 1.8 V, real bias tree + cascode bias")
GOUT_CURVE = Spec("gout_curve", "pS", "output conductance dI_out/dV_out at out = vref, inputs at vref, tt 27 °C 1.8 V")
GAIN_CURVE = Spec("gm_gout_curve", "", "gm / g_out (intrinsic gain) against the tail current, tt 27 °C 1.8 V")
CURVE_TOLERANCES = {"gm_curve": (0.02, 0.0), "gout_curve": (0.1, 0.0), "gm_gout_curve": (0.1, 0.0)}
GOLDEN = Path(__file__).parent / "goldens" / "transconductor.yaml"


def bench(ota: Transconductor, iref: float, cond: Conditions, analysis: str, load: str = "Vout out 0 {vref}") -> str:
    """`ota` biased by TREE, CASCODE and PCASCODE at `iref`; inputs at vref + `Vd` (inp) and vref (inn);
    the OTA's own supply `Vota` (its current is the tail's); `load` holds or loads `out`."""
    lines = [cond.lines(), TREE.subckt(), CASCODE.subckt(), ota.subckt(), f".param vref={VREF:g}",
             "Vdd vdd 0 {supply}", "Vota vddo 0 {supply}", f"Iref vdd iref {iref:g}",
             f"Xt vdd 0 iref {' '.join(TREE.ports[3:])} {TREE.name}", "Vref vref 0 {vref}",
             f"Xc vdd 0 vref bn bp vcn {CASCODE.name}", PCASCODE.subckt(), f"Xp vdd 0 bn2 vcp {PCASCODE.name}",
             TINY.subckt(), f"Xtiny vdd 0 bp bn0 {TINY.name}",
             f"Xo vddo 0 {' '.join(ota.ports[2:])} {ota.name}",
             "Vinn inn 0 {vref}", "Vd inp inn dc 0 ac 1", load, analysis]
    return "\n".join(lines) + "\n"


def sourced_current(plot) -> np.ndarray:
    """Current the OTA sources into `out` (through the holding source Vout)."""
    return plot["i(vout)"]


def gm_at_zero(plot) -> float:
    """gm from a cubic fit of the sourced current over the ±GM_SPAN sweep: the OTA sources
    gm·(v(inp) − v(inn)) into `out`."""
    return float(np.polyfit(plot["v(v-sweep)"], sourced_current(plot), 3)[2])


def gout_at(plot, vout: float) -> float:
    """g_out = −dI_sourced/dV_out at `vout` (positive: the current falls as out rises)."""
    vo = plot["v(v-sweep)"]
    return float(np.interp(vout, vo, -np.gradient(sourced_current(plot), vo)))


GM_SWEEP = f".dc Vd {-GM_SPAN:g} {GM_SPAN:g} {GM_SPAN / 8:g}"
GOUT_SWEEP = f".dc Vout {GOUT_SPAN[0]:g} {GOUT_SPAN[1] + 1e-6:g} 0.01"


def curve_jobs() -> list[Job]:
    nominal = Conditions()
    iref = UNIT_CURRENT * TREE.diode_units
    return [Job(f"ota_curve_{kind}_{i}", bench(ota, iref, nominal, sweep))
            for i, ota in enumerate(CURVE_OTAS) for kind, sweep in (("gm", GM_SWEEP), ("gout", GOUT_SWEEP))]


def tail_current(ota: Transconductor, ratios: dict[str, float], unit: float = UNIT_CURRENT) -> float:
    """Tail (A) of a transconductor in the lattice's bias: its units at `unit` per fine
    unit, each line weighted by its measured ratio (`line_ratio`). The curve's tails and a
    mapping's tails are both this, so a composition of lines looks up the gm it has."""
    return ota.tail_units(LATTICE_COARSE * ratios["coarse"], ratios["tiny"] / LATTICE_TINY) * unit


def curve_label(tail: float) -> str:
    return f"{tail * 1e9:.4g}nA tt 27C 1.8V"


def record_curve(sheet: Datasheet, res: dict, ratios: dict[str, float]) -> None:
    gms, gouts, tails = [], [], []
    for i, ota in enumerate(CURVE_OTAS):
        tail = tail_current(ota, ratios)
        tails.append(tail)
        gm = gm_at_zero(res[f"ota_curve_gm_{i}"][0])
        gout = gout_at(res[f"ota_curve_gout_{i}"][0], VREF)
        sheet.add(GM_CURVE, curve_label(tail), gm * 1e9)
        sheet.add(GOUT_CURVE, curve_label(tail), gout * 1e12)
        sheet.add(GAIN_CURVE, curve_label(tail), gm / gout)
        gms.append(gm)
        gouts.append(gout)
    sheet.curves["gm"] = {"x": tails, "gm": gms, "gout": gouts}


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
                   "has run out of headroom)")
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
                  input_noise_rms=(0.15, 0.5), gm_bandwidth=(0.1, 0.0), gm_phase_1khz=(0.1, 0.5),
                  line_ratio=(0.0, 0.005), pin_capacitance=(0.1, 0.5), delay=(0.1, 0.0), inn_ratio=(0.0, 0.001),
                  gm_common_mode=(0.0, 0.02))
MISMATCH_SAMPLES = 30


def headroom_ok(gm_per_tail: float, temp: float) -> bool:
    """Is this gm/I_tail (1/V) that of a working subthreshold pair at `temp` °C?"""
    thermal = K_B_Q * (temp + 273.15)
    return gm_per_tail >= 0.9 / (2 * HEADROOM_N * thermal)


def swing_sweep(cond: Conditions) -> str:
    """Out from 0.1 V to 50 mV below vdd (inner) at v(inp) − v(inn) = −2, 0, +2 mV (outer)."""
    return f".dc Vout 0.1 {cond.vdd - 0.05:g} 0.01 Vd -2m 2m 2m"


def _iref(ota: Transconductor, tail: float) -> float:
    """iref that programs `tail` into `ota` (the whole tree scales with it)."""
    return tail * TREE.diode_units / ota.tail_units(TREE.coarse)


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
    offset = first_crossing(vd, sourced, 0.0)
    sheet.add(OFFSET, cond.label(), offset * 1e3)
    if cond.mismatch:
        return offset * 1e3
    gm = np.gradient(sourced, vd)
    k0 = int(np.argmin(np.abs(vd)))
    small = np.abs(vd) <= GM_SPAN
    gm0 = float(np.polyfit(vd[small], sourced[small], 3)[2])
    right = first_crossing(vd[k0:], gm[k0:], 0.9 * gm0, rising=False)
    left = first_crossing(-vd[k0::-1], gm[k0::-1], 0.9 * gm0, rising=False)
    sides = [x for x in (right, left) if x is not None]
    sheet.add(LINEAR, cond.label(), min(sides) * 1e3 if sides else float("nan"))
    for v in COMPRESSION_AT:
        measured = np.interp(v, vd, sourced) - np.interp(0.0, vd, sourced)
        sheet.add(COMPRESSION, f"{v * 1e3:+g}mV {cond.label()}", (measured / (gm0 * v) - 1) * 100)
    if is_nominal(cond):
        sheet.curves["transfer"] = {"x": vd.tolist(), "sourced": sourced.tolist()}
    return offset * 1e3


def record_swing(sheet: Datasheet, cond: Conditions, plot) -> None:
    """gm and g_out against out from the nested sweep (its v(inp) = v(inn) row gives g_out):
    the swing is the range around vref where gm stays ≥ 90 % and gm/g_out ≥ 10 % of their
    values at vref."""
    (vout, _, _), (low, zero, high) = np.split(plot["v(v-sweep)"], 3), np.split(sourced_current(plot), 3)
    gm = (high - low) / 4e-3
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
    f, gm = np.real(plot["frequency"]), plot["i(vout)"]
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



#: One unit of each line and the fine units it stands for: (ota, reference ota).
LINE_PROBES = {"coarse": (Transconductor(fine=0, coarse=1), Transconductor(fine=LATTICE_COARSE)),
               "tiny": (Transconductor(fine=0, tiny=LATTICE_TINY), Transconductor(fine=1))}
LINE_RATIO = Spec("line_ratio", "", "tail current of one coarse unit / 8 fine units, of 16 tiny units / 1 fine unit, "
                  "in the lattice's bias (fine unit 50 pA), tt 27 °C 1.8 V: the mapping's unit weights")
INN_RATIO = Spec("inn_ratio", "", "gm from inn alone (inp held) / gm from inp alone (inn held), 100 Hz, tt 27 °C "
                 "1.8 V, coarse + fine units at the lattice's fixed iref: the common mode of an inn-only drive moves the tail, so a spring read as "
                 "x_b − x_a is short of its own-node term by this much")
DELAY = Spec("delay", "µs", "group delay of the transconductance at 1 kHz (−phase/ω, out held at vref), "
             "tt 27 °C 1.8 V: the lattice mapping compensates the negative damping it causes")
#: Tails (A) the delay is read at (it scales ≈ 1/I_tail).
DELAY_TAILS = tuple(np.geomspace(2e-12, 5e-9, 8))
#: Input common mode (V above vref) of the gm-slope bench: a lattice's nodes rest 0.1 to a
#: few mV from vref (the OTAs' offsets through K⁻¹).
COMMON_STEP = 1e-3
CM_SLOPE = Spec("gm_common_mode", "%/mV", "change of gm (inp alone, 100 Hz) when both inputs rest 1 mV above vref, "
                "coarse + fine units at the lattice's fixed iref, tt 27 °C 1.8 V: ≈ 0 while the input pair's V_DS "
                "keeps it saturated (the mapping assumes gm does not depend on where the nodes rest)")
#: Pins whose capacitance loads a lattice node, and the tails (A) they are read at.
PINS = ("inp", "inn", "out")
PIN_TAILS = (0.05e-9, 0.5e-9, 5e-9)
PIN_CAP = Spec("pin_capacitance", "fF", "small-signal capacitance of a pin at 1 kHz (operating point at vref), "
               "tt 27 °C 1.8 V, coarse + fine units at the lattice's fixed iref: the mapping subtracts it from the node capacitor it loads")


def _line_jobs() -> list[Job]:
    iref = UNIT_CURRENT * TREE.diode_units
    return [Job(f"ota_line_{line}_{k}", bench(ota, iref, Conditions(), ".op"))
            for line, pair in LINE_PROBES.items() for k, ota in enumerate(pair)]


def _driven(text: str, inp: bool, inn: bool) -> str:
    """The bench with a 1 V AC source on inp and/or inn alone (the other held at vref);
    both: the differential drive `bench` has (inp = inn + Vd)."""
    if inp and inn:
        return text
    text = text.replace("Vd inp inn dc 0 ac 1", "Vd inp 0 DC {vref} AC 1" if inp else "Vd inp 0 {vref}")
    return text.replace("Vinn inn 0 {vref}", "Vinn inn 0 DC {vref} AC 1") if inn else text


def _lattice_ota(tail: float) -> tuple[Transconductor, float]:
    """(the transconductor a lattice builds for `tail`, coarse units first, then fine; the
    lattice's fixed iref): the common mode an input moves depends on the tail's
    composition and bias, so the mapping's pin quantities are read the way it builds them
    (inn/inp at 2 nA was 0.9962 with the tree scaled to the tail, 0.9944 at fixed iref)."""
    coarse, fine = divmod(int(round(tail / UNIT_CURRENT)), LATTICE_COARSE)
    return Transconductor(fine=fine, coarse=coarse), UNIT_CURRENT * TREE.diode_units


def _pin_deck(pin: str, tail: float) -> str:
    """A 1 V AC source on one pin: the current through its source is jωC; on the
    differential input (`gm`, the delay, read down to tails below one unit with the tree
    scaled) the output current is gm·e^(−jωτ)."""
    ota, iref = (EXAMPLE, _iref(EXAMPLE, tail)) if pin == "gm" else _lattice_ota(tail)
    load = "Vout out 0 DC {vref} AC 1" if pin == "out" else "Vout out 0 {vref}"
    text = bench(ota, iref, Conditions(), ".ac lin 1 1k 1k", load)
    return _driven(text, pin in ("inp", "gm"), pin in ("inn", "gm"))


PIN_SOURCE = {"inp": "i(vd)", "inn": "i(vinn)", "out": "i(vout)"}


def _single_deck(side: str, tail: float, common: float = 0.0) -> str:
    """1 V AC on one input alone, the other held: the output current is that input's gm
    (100 Hz); both inputs rest `common` (V) above vref."""
    text = _driven(bench(*_lattice_ota(tail), Conditions(), ".ac lin 1 100 100"), side == "inp", side == "inn")
    shifted = f"{{vref+{common:g}}}" if common else "{vref}"
    return "\n".join(line.replace("{vref}", shifted) if line.startswith(("Vd ", "Vinn ")) else line
                     for line in text.split("\n"))


def characterize(workers: int | None = None, progress: bool | None = None,
                 conditions: list[Conditions] | None = None, samples: int = MISMATCH_SAMPLES) -> Datasheet:
    """At tt 27 °C 1.8 V what the lattice mapping reads: gm and g_out against the tail,
    the lines' unit ratios, the pins' capacitances, the delay and the inn/inp ratio. Then
    at every PVT point gm/I_tail and the headroom limit and, where the OTA works at 1 nA,
    gm/g_out, offset, linear range, compression, output swing, gm bandwidth and input
    noise; offset σ over mismatch."""
    pvt = pvt_conditions() if conditions is None else conditions
    mm = mismatch_conditions(samples)
    jobs = curve_jobs() + _line_jobs() + [j for c in pvt + mm for j in pvt_jobs(c)]
    jobs += [Job(f"ota_pin_{pin}_{k}", _pin_deck(pin, tail)) for pin in PINS for k, tail in enumerate(PIN_TAILS)]
    jobs += [Job(f"ota_delay_{k}", _pin_deck("gm", tail)) for k, tail in enumerate(DELAY_TAILS)]
    jobs += [Job(f"ota_single_{side}_{k}", _single_deck(side, tail)) for side in ("inp", "inn")
             for k, tail in enumerate(PIN_TAILS)]
    jobs += [Job(f"ota_common_{k}", _single_deck("inp", tail, COMMON_STEP)) for k, tail in enumerate(PIN_TAILS)]
    res = simulate_many(jobs, workers=workers, progress=progress, desc="transconductor")
    sheet = Datasheet("transconductor")
    ratios = {}
    for line in LINE_PROBES:
        unit, reference = (-res[f"ota_line_{line}_{k}"][0]["i(vota)"][0] for k in (0, 1))
        ratios[line] = float(unit / reference)
        sheet.add(LINE_RATIO, line, ratios[line])
    record_curve(sheet, res, ratios)
    for k, tail in enumerate(PIN_TAILS):
        p, n = (res[f"ota_single_{side}_{k}"][0]["i(vout)"][0].real for side in ("inp", "inn"))
        sheet.add(INN_RATIO, f"{tail * 1e9:g}nA", float(-n / p))
        shifted = res[f"ota_common_{k}"][0]["i(vout)"][0].real
        sheet.add(CM_SLOPE, f"{tail * 1e9:g}nA", float((shifted / p - 1) * 100 / (COMMON_STEP * 1e3)))
    for k, tail in enumerate(DELAY_TAILS):
        current = res[f"ota_delay_{k}"][0]["i(vout)"][0]
        sheet.add(DELAY, f"{tail * 1e9:.4g}nA", -np.angle(current) / (2 * np.pi * 1e3) * 1e6)
    for pin in PINS:
        for k, tail in enumerate(PIN_TAILS):
            current = res[f"ota_pin_{pin}_{k}"][0][PIN_SOURCE[pin]][0]
            sheet.add(PIN_CAP, f"{pin} {tail * 1e9:g}nA", abs(current.imag) / (2 * np.pi * 1e3) * 1e15)
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
def _specs() -> dict:
    """The golden's specs, read once (the mapping looks values up for every term)."""
    return load_golden(GOLDEN)["specs"]


@lru_cache(maxsize=1)
def _frozen_curve() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tail A, gm S, g_out S) of the golden's tt 27 °C curve, sorted by tail."""
    specs = _specs()
    tails, gm, gout = [], [], []
    for label, band in specs["gm_curve"]["bands"].items():
        tails.append(float(label.split("nA")[0]) * 1e-9)
        gm.append(band["typ"] * 1e-9)
        gout.append(specs["gout_curve"]["bands"][label]["typ"] * 1e-12)
    order = np.argsort(tails)
    return np.array(tails)[order], np.array(gm)[order], np.array(gout)[order]


def usable_range() -> tuple[float, float]:
    """Tail currents (A) where the frozen curve holds: from the smallest measured tail up to
    the last point before `headroom_ok` fails. Above it the PMOS load runs out of headroom
    (its cascode's source reaches vdd) and gm collapses."""
    tails, gm, _ = _frozen_curve()
    good = [headroom_ok(g / t, TEMP_NOMINAL) for g, t in zip(gm, tails)]
    last = good.index(False) - 1 if False in good else len(tails) - 1
    return float(tails[0]), float(tails[last])


def _interpolate(tail_current: float, values: np.ndarray, conditions: Conditions | None) -> float:
    if conditions is not None and not is_nominal(conditions):
        raise ValueError(f"only the tt 27 °C 1.8 V curve is frozen, not {conditions.label()}")
    lo, hi = usable_range()
    if not lo * (1 - 1e-3) <= tail_current <= hi * (1 + 1e-3):  # the labels hold 4 digits
        raise ValueError(f"tail current {tail_current:.3g} A outside the transconductor's characterized "
                         f"usable range {lo:.3g} … {hi:.3g} A")
    tails = _frozen_curve()[0]
    return float(np.exp(np.interp(np.log(tail_current), np.log(tails), np.log(values))))


def transconductance(tail_current: float, conditions: Conditions | None = None) -> float:
    """gm (S) of a Transconductor with programmed tail `tail_current` (A): log-log
    interpolation of the frozen tt 27 °C 1.8 V curve. The OTA sources gm·(v(inp) − v(inn))
    into `out`."""
    return _interpolate(tail_current, _frozen_curve()[1], conditions)


def line_ratio(line: str) -> float:
    """Measured current of one `coarse` (or `tiny`) unit in fine units over its nominal
    share (LATTICE_COARSE, 1/LATTICE_TINY): the mapping weights the units with it."""
    return float(_specs()["line_ratio"]["bands"][line]["typ"])


def _tabulated(spec: str, labels: list[str], tails, tail_current: float, log_values: bool = False) -> float:
    """A frozen row measured at `tails` (band labels `labels`), interpolated in log tail —
    and in log value where it spans decades — and held at the ends."""
    bands = _specs()[spec]["bands"]
    values = np.array([bands[label]["typ"] for label in labels])
    x, xs = np.log(tail_current), np.log(tails)
    return float(np.exp(np.interp(x, xs, np.log(values)))) if log_values else float(np.interp(x, xs, values))


def pin_capacitance(pin: str, tail_current: float) -> float:
    """Capacitance (F) of `pin` (inp, inn, out) of a transconductor with that tail."""
    return _tabulated("pin_capacitance", [f"{pin} {t * 1e9:g}nA" for t in PIN_TAILS], PIN_TAILS, tail_current) * 1e-15


def inn_ratio(tail_current: float) -> float:
    """gm of the inn input alone over gm of inp alone (≈ 0.9995)."""
    return _tabulated("inn_ratio", [f"{t * 1e9:g}nA" for t in PIN_TAILS], PIN_TAILS, tail_current)


def delay(tail_current: float) -> float:
    """Group delay (s) of the transconductance at a tail current (it falls ≈ as 1/I_tail)."""
    return _tabulated("delay", [f"{t * 1e9:.4g}nA" for t in DELAY_TAILS], DELAY_TAILS, tail_current,
                      log_values=True) * 1e-6


def output_conductance(tail_current: float, conditions: Conditions | None = None) -> float:
    """g_out (S) at out = vref, same interpolation as `transconductance`."""
    return _interpolate(tail_current, _frozen_curve()[2], conditions)


def input_offset_sigma() -> float:
    """σ (V) of the input offset over mismatch samples at tt 27 °C 1.8 V (1 nA tail)."""
    (band,) = _specs()["input_offset_sigma"]["bands"].values()
    return band["typ"] * 1e-3


def linear_range() -> float:
    """|v(inp) − v(inn)| (V) where gm has fallen 10 % at tt 27 °C 1.8 V (1 nA tail)."""
    return _specs()["linear_range"]["bands"]["tt 27C 1.8V"]["typ"] * 1e-3


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
