"""Poly resistors and the floating p+/nwell diode of the resistor–diode (monDEQ) family, and
the MiM capacitor of the R²NN family: characterization with ngspice (goldens in
`pdk/goldens/passives.yaml`) and the numbers the compile step asks for, a resistor's drawn
length for a resistance, the diode's Shockley fit and a capacitor's plate for a
capacitance, all read from the frozen golden so that they are measured, never guessed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pdk.datasheet import Datasheet, Spec, load_golden
from pdk.devices import (CAP_MIN_W, CAPACITORS, RES_MIN_L, RES_WIDTH, capacitor_instance, diode_geometry,
                         diode_instance, resistor_instance)
from pdk.models import CAP_CORNERS, CORNERS, TEMPERATURES, Conditions
from pdk.ngspice import Job, simulate_many

RESISTORS = tuple(RES_WIDTH)
DIODE = "diode_pd2nw_05v5"
#: The resistor for 50 kΩ … 20 MΩ, from the golden (tests/test_passives.py checks these):
#: 7376 Ω/µm, so 20 MΩ is 2.7 mm × 0.35 µm = 950 µm² of body (0p69: 4400 µm², high_po
#: 0p35: 20 mm long); mismatch σ 3.1 % at L = 5 µm (≈ 50 kΩ), 0.77 % at 100 µm; voltage
#: coefficient −0.76 % over 3 V at L = 5 µm and −0.006 % at 100 µm (wider xhigh_po: −2.1,
#: −2.8 %); 0.15 % from the substrate at 0 … 2.9 V common mode.
RESISTOR = "res_xhigh_po_0p35"
#: The clamp diode: the smallest measured; its Is is perimeter-bound (5.1e-16 A/µm against
#: 1.5e-17 A/µm²), so it leaks least (3.7 pA at 85 °C against 7.4 pA for 2 × 2 µm) and holds
#: 1.1 fF; its Shockley fit holds to 2 % over 1 pA … 9.9 µA at −40, 27 and 85 °C.
DIODE_SIZE = (1.0, 1.0)  # drawn W, L (µm)
#: Resistances (Ω) a network element is drawn with on RESISTOR: from a body ≈ 7 µm long
#: (mismatch σ ≈ 3 %, heads a small part of it) to ≈ 1.36 mm (longer ones cost more area
#: than the weight they carry is worth; smaller conductances are left out).
RESISTANCE_RANGE = (50e3, 10e6)
#: Body lengths (µm) the length fit is made from: 50 kΩ … 20 MΩ on the chosen device.
LENGTHS = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 3000.0)
REF_L = 100.0  # length (µm) of the temperature, corner and voltage rows
V_TEST = 0.1  # V across a resistor for its value
VOLTCO_LENGTHS = (5.0, 100.0, 1000.0)
SWING = 3.0  # V: node voltages of the network reach 0.3 … 3 V
MISMATCH_LENGTHS = (5.0, 100.0)
MISMATCH_COPIES = 40
MISMATCH_SEED = 7
DIODE_SIZES = ((1.0, 1.0), (2.0, 2.0), (5.0, 5.0), (10.0, 10.0))
FIT_RANGE = (1e-12, 10e-6)  # A: the forward currents the fit is made over
FIT_TOLERANCE = 0.02
IV_STOP = 1.0  # V: beyond 10 µA for every size at −40 °C (1 pA … 10 µA is ≈ 0.5 V wide)
NWELL_GEOMETRIES = ((10.0, 10.0), (4.0, 25.0))  # same area, different perimeter
CAP_BIASES = (0.0, 1.5, 3.0)
K_B_Q = 8.617333262e-5  # V/K
#: The MiM capacitor and the plates it is measured at (W × L µm): squares from the smallest
#: capm to one of ≈ 1.8 pF, and two long ones of ≈ the 10 × 10 area that part area from
#: perimeter.
CAPACITOR = CAPACITORS[0]
CAP_SIZES = ((1.0, 1.0), (2.0, 2.0), (5.0, 5.0), (10.0, 10.0), (30.0, 30.0), (4.0, 25.0), (2.0, 50.0))
CAP_MISMATCH_SIZES = ((2.0, 2.0), (10.0, 10.0))
CAP_FREQUENCY = 1e3  # Hz of the .ac point the capacitance is read at

R_PER_UM = Spec("res_per_um", "Ω/µm", f"slope of R(L) over L = {LENGTHS[0]:g} … {LENGTHS[-1]:g} µm, "
                f"{V_TEST:g} V across, tt 27 °C")
R_SHEET = Spec("res_sheet", "Ω/sq", "res_per_um × drawn width")
R_END = Spec("res_end", "Ω", "intercept of R(L): both heads and contacts, less the model's L offset")
R_FIT = Spec("res_length_fit_error", "%", "worst R_measured/(end + per_um·L) − 1 over the lengths")
#: xhigh_po reads ≈ 0 here: its body is a voltage-dependent resistor (r = {… v(t1,t2) …}) and
#: ngspice 39 drops tc1/tc2 on such resistors (measured: a constant r with the same model
#: moves −11.7 % at 85 °C, the expression none). The model card means −2.47e-3/K, +2.7e-6/K²
#: from 25 °C: −13.8 % at 85 °C, +17.2 % at −40 °C, which simulation does not show.
R_TEMP = Spec("res_temp", "%", f"R(T)/R(27 °C) − 1, L = {REF_L:g} µm")
#: xhigh_po's FET-corner rows are ≈ 0: its width correction adds sw_polycd in metres to a
#: width in µm (high_po scales it by 2e6 and moves ±3 %).
R_CORNER = Spec("res_corner", "%", f"R/R(tt, nom) − 1, L = {REF_L:g} µm, 27 °C "
                "(FET corners move poly CD, Rlow/Rhigh the sheet resistance)")
R_VOLTCO = Spec("res_voltco", "%", f"worst R(V)/R({V_TEST:g} V) − 1, V = {V_TEST:g} … {SWING:g} V across, "
                "low end and substrate at 0 V")
R_COMMON = Spec("res_common_mode", "%", f"worst R(Vc)/R(0) − 1, both ends at Vc = 0 … {SWING - V_TEST:g} V "
                f"(± {V_TEST:g} V across) above the substrate")
R_MISMATCH = Spec("res_mismatch_sigma", "%", f"σ(R)/mean(R) over {MISMATCH_COPIES} instances of one "
                  f"mismatch deck (seed {MISMATCH_SEED}), tt 27 °C")
D_IS = Spec("diode_is", "A", "Shockley fit I = Is·(exp((V − I·Rs)/(n·Vt)) − 1) over "
            f"{FIT_RANGE[0]:g} … {FIT_RANGE[1]:g} A forward")
D_N = Spec("diode_n", "", "ideality factor of that fit")
D_RS = Spec("diode_rs", "Ω", "series resistance of that fit")
D_LO = Spec("diode_fit_low", "A", f"lowest current from which the fit holds to {FIT_TOLERANCE:.0%}")
D_HI = Spec("diode_fit_high", "A", f"highest current up to which the fit holds to {FIT_TOLERANCE:.0%}")
D_V = Spec("diode_v", "V", "forward voltage at the named current")
D_IS_AREA = Spec("diode_is_area", "A/µm²", "area part of Is (least squares over the square sizes)")
D_IS_PERIM = Spec("diode_is_perim", "A/µm", "perimeter part of Is")
D_LEAK = Spec("diode_leakage", "pA", "reverse current at the named reverse bias and temperature "
              "(gmin = 1e-15 S adds 1 fA/V)")
D_CAP = Spec("diode_cap", "fF", "junction capacitance at the named reverse bias (1 kHz)")
NW_LEAK = Spec("nwell_leakage", "pA", "nwell–substrate reverse current of the cathode's well")
NW_CAP = Spec("nwell_cap", "fF", "nwell–substrate capacitance of the cathode's well (1 kHz)")
D_CAP_CORNER = Spec("diode_cap_corner", "%", "junction capacitance at 0 V against tt (the corner's "
                    "PMOS letter moves the p+ diffusion; the forward I–V has no corner)")
NW_CAP_CORNER = Spec("nwell_cap_corner", "%", "nwell–substrate capacitance at 0 V against tt")
NW_CAP_AREA = Spec("nwell_cap_area", "fF/µm²", "area part of the nwell–substrate capacitance")
NW_CAP_PERIM = Spec("nwell_cap_perim", "fF/µm", "perimeter part of the nwell–substrate capacitance")

C_VALUE = Spec("cap_value", "fF", f"capacitance of the drawn plate, .ac at {CAP_FREQUENCY:g} Hz, tt 27 °C")
C_AREA = Spec("cap_area", "fF/µm²", "area part of C(W, L) = area·W·L + perim·2(W + L) + fixed "
              "(least squares over the plates)")
C_PERIM = Spec("cap_perim", "fF/µm", "perimeter part of that fit")
C_FIXED = Spec("cap_fixed", "fF", "constant part of that fit")
C_FIT = Spec("cap_fit_error", "%", "worst C_measured/C_fit − 1 over the plates")
C_CORNER = Spec("cap_corner", "%", "C/C(nom) − 1 at the capacitor corner (parameters_cap_low/high), 27 °C")
C_TEMP = Spec("cap_temp", "%", "C(T)/C(27 °C) − 1 (the model has no temperature coefficient)")
C_MISMATCH = Spec("cap_mismatch_sigma", "%", f"σ(C)/mean(C) over {MISMATCH_COPIES} instances of one "
                  f"mismatch deck (seed {MISMATCH_SEED}), tt 27 °C")

#: Golden bands: spec → (relative, absolute). The models are deterministic on one machine;
#: the bands leave room for another ngspice build, not for a different model.
TOLERANCES = {"res_per_um": (0.005, 0.0), "res_sheet": (0.005, 0.0), "res_end": (0.02, 1.0),
              "res_length_fit_error": (0.0, 0.05), "res_temp": (0.02, 0.05), "res_corner": (0.02, 0.1),
              "res_voltco": (0.05, 0.02), "res_common_mode": (0.05, 0.02),
              "res_mismatch_sigma": (0.05, 0.01), "diode_is": (0.05, 0.0), "diode_n": (0.005, 0.0),
              "diode_rs": (0.05, 1.0), "diode_fit_low": (0.3, 0.0), "diode_fit_high": (0.3, 0.0),
              "diode_v": (0.0, 0.002), "diode_is_area": (0.05, 0.0), "diode_is_perim": (0.05, 0.0),
              "diode_leakage": (0.1, 1e-4), "diode_cap": (0.02, 0.0), "nwell_leakage": (0.1, 1e-4),
              "nwell_cap": (0.02, 0.0), "diode_cap_corner": (0.05, 0.05),
              "nwell_cap_corner": (0.05, 0.05), "nwell_cap_area": (0.02, 0.0), "nwell_cap_perim": (0.05, 0.0),
              "cap_value": (0.005, 0.0), "cap_area": (0.005, 0.0), "cap_perim": (0.02, 0.0),
              "cap_fixed": (0.1, 0.01), "cap_fit_error": (0.0, 0.05), "cap_corner": (0.02, 0.05),
              "cap_temp": (0.0, 0.05), "cap_mismatch_sigma": (0.05, 0.005)}
GOLDEN = Path(__file__).parent / "goldens" / "passives.yaml"
NWELL_DIODE = "sky130_fd_pr__model__parasitic__diode_pd2nw"  # anode = substrate, cathode = nwell


def _values_deck(cond: Conditions) -> str:
    """Every resistor at every length, `V_TEST` across each, substrate at 0 V."""
    lines = [cond.lines(passives=True)]
    for d in RESISTORS:
        for i, l in enumerate(LENGTHS):
            node = f"{d}_{i}"
            lines += [resistor_instance(node, d, node, "0", "0", l), f"V{node} {node} 0 {V_TEST:g}"]
    return "\n".join(lines + [".op"]) + "\n"


def _voltage_deck(common: bool) -> str:
    """R against the voltage across (a swept, b at 0) or against both ends lifted together."""
    lines = [Conditions().lines(passives=True), "Vs s 0 0"]
    for d in RESISTORS:
        for i, l in enumerate(VOLTCO_LENGTHS):
            node = f"{d}_{i}"
            low = "s" if common else "0"
            drive = f"V{node} {node} s {V_TEST:g}" if common else f"V{node} {node} s 0"
            lines += [resistor_instance(node, d, node, low, "0", l), drive]
    stop = SWING - V_TEST if common else SWING
    start = 0.0 if common else V_TEST
    return "\n".join(lines + [f".dc Vs {start:g} {stop + 1e-9:g} 0.05"]) + "\n"


def _mismatch_deck() -> str:
    lines = [Conditions(mismatch=True, seed=MISMATCH_SEED).lines(passives=True)]
    for d in RESISTORS:
        for l in MISMATCH_LENGTHS:
            for k in range(MISMATCH_COPIES):
                node = f"{d}_L{l:g}_{k}"
                lines += [resistor_instance(node, d, node, "0", "0", l), f"V{node} {node} 0 {V_TEST:g}"]
    return "\n".join(lines + [".op"]) + "\n"


def _diode_iv_deck(cond: Conditions) -> str:
    lines = [cond.lines(passives=True), "Vf f 0 0"]
    for i, (w, l) in enumerate(DIODE_SIZES):
        lines += [diode_instance(f"D{i}", DIODE, f"a{i}", "0", w, l), f"Va{i} f a{i} 0"]
    return "\n".join(lines + [f".dc Vf 0 {IV_STOP:g} 0.002"]) + "\n"


def _reverse_deck(nwell: bool, temp: float) -> str:
    """Reverse I (dc, cathode swept 0 … SWING above the anode) of the diode or the well."""
    lines = [Conditions(temp=temp).lines(passives=True), "Vr r 0 0"]
    sizes = NWELL_GEOMETRIES if nwell else DIODE_SIZES
    for i, (w, l) in enumerate(sizes):
        if nwell:
            lines.append(f"XW{i} 0 k{i} {NWELL_DIODE} {diode_geometry(w, l)}")
        else:
            lines.append(diode_instance(f"D{i}", DIODE, "0", f"k{i}", w, l))
        lines.append(f"Vk{i} r k{i} 0")
    return "\n".join(lines + [f".dc Vr 0 {SWING + 1e-9:g} 0.05"]) + "\n"


def _cap_deck(nwell: bool, bias: float, corner: str = "tt") -> str:
    lines = [Conditions(corner).lines(passives=True), f"Vr r 0 dc {bias:g} ac 1"]
    sizes = NWELL_GEOMETRIES if nwell else DIODE_SIZES
    for i, (w, l) in enumerate(sizes):
        if nwell:
            lines.append(f"XW{i} 0 k{i} {NWELL_DIODE} {diode_geometry(w, l)}")
        else:
            lines.append(diode_instance(f"D{i}", DIODE, "0", f"k{i}", w, l))
        lines.append(f"Vk{i} r k{i} 0")
    return "\n".join(lines + [".ac lin 1 1k 1k"]) + "\n"


def _capacitor_deck(cond: Conditions, sizes=CAP_SIZES, copies: int = 1) -> str:
    """Every plate (`copies` instances each) from one ac source, each through its own 0 V
    source that reads its current: C = Im(I)/(2π f)."""
    lines = [cond.lines(passives=True), "Vr r 0 dc 0 ac 1"]
    for i, (w, l) in enumerate(sizes):
        for k in range(copies):
            node = f"c{i}_{k}"
            lines += [capacitor_instance(node, CAPACITOR, node, "0", w, l), f"V{node} r {node} 0"]
    return "\n".join(lines + [f".ac lin 1 {CAP_FREQUENCY:g} {CAP_FREQUENCY:g}"]) + "\n"


def _capacitances(plot, sizes=CAP_SIZES, copies: int = 1) -> np.ndarray:
    """fF of every instance of a `_capacitor_deck`, shape (sizes, copies)."""
    return np.array([[abs(plot[f"i(vc{i}_{k})"][0].imag) / (2 * np.pi * CAP_FREQUENCY) * 1e15
                      for k in range(copies)] for i in range(len(sizes))])


def _capacitor_conditions() -> dict[str, Conditions]:
    out = {"nom": Conditions()}
    out.update({f"C{c}": Conditions(capacitance=c) for c in CAP_CORNERS if c != "nom"})
    out.update({f"T={t:g}": Conditions(temp=t) for t in TEMPERATURES if t != 27.0})
    return out


def _resistor_conditions() -> dict[str, Conditions]:
    out = {f"T={t:g}": Conditions(temp=t) for t in TEMPERATURES}
    out.update({c: Conditions(c) for c in CORNERS if c != "tt"})
    out.update({f"R{r}": Conditions(resistance=r) for r in ("low", "high")})
    return out


def _diode_conditions() -> dict[str, Conditions]:
    out = {f"tt T={t:g}": Conditions(temp=t) for t in TEMPERATURES}
    out.update({f"{c} T=27": Conditions(c) for c in CORNERS if c != "tt"})
    return out


def _size(w: float, l: float) -> str:
    return f"{w:g}x{l:g}"


@dataclass(frozen=True)
class DiodeFit:
    """Shockley fit of one clamp diode: I = Is·(exp((V − I·Rs)/(n·Vt)) − 1), valid over
    [i_low, i_high] to 2 %. `area_um2`/`perim_um` are the drawn p+ diffusion's."""

    Is_A: float
    n: float
    Rs_ohm: float
    area_um2: float
    perim_um: float
    temp: float
    i_low: float
    i_high: float

    @property
    def vt(self) -> float:
        return K_B_Q * (self.temp + 273.15)

    def voltage(self, current: float | np.ndarray):
        """Forward V at a current (explicit in I)."""
        return _fit_voltage(np.asarray(current, dtype=float), np.log(self.Is_A), self.n, self.Rs_ohm, self.vt)

    def current(self, voltage: float | np.ndarray):
        """Forward I at a voltage (the implicit equation solved; ≥ 1e-30 A)."""
        return _solve_current(voltage, self.Is_A, self.n, self.Rs_ohm, self.vt)


def _fit_voltage(i, log_is, n, rs, vt):
    return n * vt * np.log1p(i / np.exp(log_is)) + i * rs


def fit_shockley(v: np.ndarray, i: np.ndarray, temp: float) -> tuple[float, float, float, float, float]:
    """(Is, n, Rs, i_low, i_high) of measured forward points: least squares on V(I) over
    FIT_RANGE (the residual in units of n·Vt is the relative current error when Rs is
    small), then the contiguous current range around 1 nA where |I_fit/I − 1| ≤ 2 %."""
    from scipy.optimize import least_squares

    vt = K_B_Q * (temp + 273.15)
    keep = (i >= FIT_RANGE[0]) & (i <= FIT_RANGE[1])
    vk, ik = v[keep], i[keep]
    slope, intercept = np.polyfit(vk[ik < 1e-9], np.log(ik[ik < 1e-9]), 1)
    start = (intercept, 1.0 / (slope * vt), 100.0)

    def residual(p):
        return (_fit_voltage(ik, p[0], p[1], p[2], vt) - vk) / (p[1] * vt)

    p = least_squares(residual, start, x_scale=(1.0, 0.1, 1e3), bounds=([-80, 0.5, 0], [0, 4, 1e9])).x
    is_a, n, rs = float(np.exp(p[0])), float(p[1]), float(p[2])
    error = _current_error(vk, ik, is_a, n, rs, vt)
    ok = np.abs(error) <= FIT_TOLERANCE
    centre = int(np.argmin(np.abs(np.log(ik) - np.log(1e-9))))
    lo = hi = centre
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < ok.size - 1 and ok[hi + 1]:
        hi += 1
    return is_a, n, rs, float(ik[lo]), float(ik[hi])


def _solve_current(v, is_a, n, rs, vt) -> np.ndarray:
    """I of the implicit equation at V (bisection in log I, 1e-30 … 1 A)."""
    v = np.asarray(v, dtype=float)
    lo, hi = np.full(v.shape, np.log(1e-30)), np.full(v.shape, 0.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        too_big = _fit_voltage(np.exp(mid), np.log(is_a), n, rs, vt) > v
        hi, lo = np.where(too_big, mid, hi), np.where(too_big, lo, mid)
    return np.exp((lo + hi) / 2)


def _current_error(v, i, is_a, n, rs, vt) -> np.ndarray:
    """I_fit(V)/I − 1."""
    return _solve_current(v, is_a, n, rs, vt) / i - 1


def _band_sigma(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1) / np.mean(values) * 100)


def characterize(workers: int | None = None, progress: bool | None = None) -> Datasheet:
    """Run the passive decks (≈ 20 short ngspice runs) and fill the datasheet."""
    rcond, dcond = _resistor_conditions(), _diode_conditions()
    jobs = [Job(f"res_{k}", _values_deck(c)) for k, c in rcond.items()]
    jobs += [Job("voltco", _voltage_deck(False)), Job("common", _voltage_deck(True)),
             Job("mismatch", _mismatch_deck())]
    jobs += [Job(f"iv_{k}", _diode_iv_deck(c)) for k, c in dcond.items()]
    jobs += [Job(f"rev_{'nw' if nw else 'd'}_{t:g}", _reverse_deck(nw, t)) for nw in (False, True) for t in TEMPERATURES]
    jobs += [Job(f"cap_{'nw' if nw else 'd'}_{b:g}", _cap_deck(nw, b)) for nw in (False, True) for b in CAP_BIASES]
    jobs += [Job(f"capc_{'nw' if nw else 'd'}_{c}", _cap_deck(nw, 0.0, c)) for nw in (False, True)
             for c in CORNERS if c != "tt"]
    jobs += capacitor_jobs()
    results = simulate_many(jobs, workers=workers, progress=progress, desc="passives")
    sheet = Datasheet("passives")
    lengths = np.array(LENGTHS)

    def values(key: str) -> dict[str, np.ndarray]:
        plot = results[f"res_{key}"][0]
        return {d: np.array([V_TEST / -plot[f"i(v{d}_{i})"][0] for i in range(len(LENGTHS))]) for d in RESISTORS}

    nominal = values("T=27")
    ref = int(np.flatnonzero(lengths == REF_L)[0])
    for d, r in nominal.items():
        per_um, end = np.polyfit(lengths, r, 1, w=1 / r)  # relative least squares
        sheet.add(R_PER_UM, d, per_um)
        sheet.add(R_SHEET, d, per_um * RES_WIDTH[d])
        sheet.add(R_END, d, end)
        error = (r / (end + per_um * lengths) - 1) * 100
        sheet.add(R_FIT, d, error[np.argmax(np.abs(error))])
    for key in rcond:
        if key == "T=27":
            continue
        spec = R_TEMP if key.startswith("T=") else R_CORNER
        for d, r in values(key).items():
            sheet.add(spec, f"{d} {key}", (r[ref] / nominal[d][ref] - 1) * 100)
    for job, spec in (("voltco", R_VOLTCO), ("common", R_COMMON)):
        plot = results[job][0]
        for d in RESISTORS:
            for i, l in enumerate(VOLTCO_LENGTHS):
                current = -plot[f"i(v{d}_{i})"]
                swept = plot["v(v-sweep)"]
                r = (V_TEST if job == "common" else swept) / current
                change = (r / r[0] - 1) * 100
                sheet.add(spec, f"{d} L={l:g}", change[np.argmax(np.abs(change))])
    plot = results["mismatch"][0]
    for d in RESISTORS:
        for l in MISMATCH_LENGTHS:
            r = np.array([V_TEST / -plot[f"i(v{d}_l{l:g}_{k})"][0] for k in range(MISMATCH_COPIES)])
            sheet.add(R_MISMATCH, f"{d} L={l:g}", _band_sigma(r))

    curves = {}
    for key, cond in dcond.items():
        plot = results[f"iv_{key}"][0]
        v = plot["v(v-sweep)"]
        iss = []
        for i, (w, l) in enumerate(DIODE_SIZES):
            current = plot[f"i(va{i})"]
            label = f"{_size(w, l)} {key}"
            is_a, n, rs, lo, hi = fit_shockley(v, current, cond.temp)
            iss.append(is_a)
            for spec, value in ((D_IS, is_a), (D_N, n), (D_RS, rs), (D_LO, lo), (D_HI, hi)):
                sheet.add(spec, label, value)
            for target in (1e-12, 1e-9, 1e-6):
                sheet.add(D_V, f"{label} I={target:g}", np.interp(np.log(target), np.log(np.maximum(current, 1e-30)), v))
            if key == "tt T=27":
                curves[_size(w, l)] = {"v": v[::2].tolist(), "i": current[::2].tolist()}
        if key == "tt T=27":
            geometry = np.array([[w * l, 2 * (w + l)] for w, l in DIODE_SIZES])
            (area, perim), *_ = np.linalg.lstsq(geometry / np.array(iss)[:, None], np.ones(len(iss)), rcond=None)
            sheet.add(D_IS_AREA, key, area)
            sheet.add(D_IS_PERIM, key, perim)
    for nw, spec, sizes in ((False, D_LEAK, DIODE_SIZES), (True, NW_LEAK, NWELL_GEOMETRIES)):
        for t in TEMPERATURES:
            plot = results[f"rev_{'nw' if nw else 'd'}_{t:g}"][0]
            swept = plot["v(v-sweep)"]
            for i, (w, l) in enumerate(sizes):
                for bias in (1.0, SWING):
                    sheet.add(spec, f"{_size(w, l)} V={bias:g} T={t:g}",
                              np.interp(bias, swept, plot[f"i(vk{i})"]) * 1e12)
    for nw, spec, sizes in ((False, D_CAP, DIODE_SIZES), (True, NW_CAP, NWELL_GEOMETRIES)):
        for bias in CAP_BIASES:
            plot = results[f"cap_{'nw' if nw else 'd'}_{bias:g}"][0]
            caps = [abs(plot[f"i(vk{i})"][0].imag) / (2 * np.pi * 1e3) * 1e15 for i in range(len(sizes))]
            for (w, l), c in zip(sizes, caps):
                sheet.add(spec, f"{_size(w, l)} V={bias:g}", c)
            if nw:
                geometry = np.array([[w * l, 2 * (w + l)] for w, l in sizes])
                area, perim = np.linalg.solve(geometry, np.array(caps))
                sheet.add(NW_CAP_AREA, f"V={bias:g}", area)
                sheet.add(NW_CAP_PERIM, f"V={bias:g}", perim)
    for nw, spec, sizes in ((False, D_CAP_CORNER, DIODE_SIZES), (True, NW_CAP_CORNER, NWELL_GEOMETRIES)):
        nominal = sheet.values[(NW_CAP if nw else D_CAP).name]
        for c in CORNERS:
            if c == "tt":
                continue
            plot = results[f"capc_{'nw' if nw else 'd'}_{c}"][0]
            for i, (w, l) in enumerate(sizes):
                cap = abs(plot[f"i(vk{i})"][0].imag) / (2 * np.pi * 1e3) * 1e15
                sheet.add(spec, f"{_size(w, l)} {c}", (cap / nominal[f"{_size(w, l)} V=0"] - 1) * 100)
    add_capacitor_rows(sheet, results)
    sheet.curves = {"diode_iv": curves}
    return sheet


def capacitor_jobs() -> list[Job]:
    """The MiM capacitor's decks (≈ 0.1 s each): every plate at the nominal, low and high
    capacitor corners and at −40 and 85 °C, and the mismatch deck."""
    jobs = [Job(f"cmim_{k}", _capacitor_deck(c)) for k, c in _capacitor_conditions().items()]
    return jobs + [Job("cmim_mismatch", _capacitor_deck(Conditions(mismatch=True, seed=MISMATCH_SEED),
                                                        CAP_MISMATCH_SIZES, MISMATCH_COPIES))]


def add_capacitor_rows(sheet: Datasheet, results: dict) -> None:
    """The MiM rows from `capacitor_jobs`' results: values, the area/perimeter/constant
    fit, corners, temperature, mismatch σ."""
    caps = {k: _capacitances(results[f"cmim_{k}"][0])[:, 0] for k in _capacitor_conditions()}
    mismatch = _capacitances(results["cmim_mismatch"][0], CAP_MISMATCH_SIZES, MISMATCH_COPIES)
    nominal = caps["nom"]
    geometry = np.array([[w * l, 2 * (w + l), 1.0] for w, l in CAP_SIZES])
    (area, perim, fixed), *_ = np.linalg.lstsq(geometry / nominal[:, None], np.ones(len(CAP_SIZES)), rcond=None)
    error = (nominal / (geometry @ (area, perim, fixed)) - 1) * 100
    sheet.add(C_AREA, CAPACITOR, area)
    sheet.add(C_PERIM, CAPACITOR, perim)
    sheet.add(C_FIXED, CAPACITOR, fixed)
    sheet.add(C_FIT, CAPACITOR, error[np.argmax(np.abs(error))])
    for key, values in caps.items():
        for (w, l), c, c0 in zip(CAP_SIZES, values, nominal):
            if key == "nom":
                sheet.add(C_VALUE, _size(w, l), c)
            else:
                sheet.add(C_CORNER if key.startswith("C") else C_TEMP, f"{_size(w, l)} {key}", (c / c0 - 1) * 100)
    for (w, l), row in zip(CAP_MISMATCH_SIZES, mismatch):
        sheet.add(C_MISMATCH, _size(w, l), _band_sigma(row))


@lru_cache(maxsize=1)
def _golden() -> dict:
    return load_golden(GOLDEN)


def _typ(spec: str, condition: str) -> float:
    return float(_golden()["specs"][spec]["bands"][condition]["typ"])


def resistor_length(ohms: float, device: str = RESISTOR, width: float | None = None) -> float:
    """Drawn body length (µm, on the 5 nm grid) of a `device` resistor of `ohms` at tt 27 °C,
    from the measured end resistance and resistance per µm. The width is the device's own
    (`width`, when given, must be it). Raises ValueError below the shortest body the device
    allows."""
    if device not in RES_WIDTH:
        raise ValueError(f"unknown resistor {device!r}; choose one of {', '.join(RES_WIDTH)}")
    if width is not None and abs(width - RES_WIDTH[device]) > 1e-9:
        raise ValueError(f"{device} is {RES_WIDTH[device]:g} µm wide, not {width:g}")
    length = (ohms - _typ("res_end", device)) / _typ("res_per_um", device)
    if not length >= RES_MIN_L:
        shortest = _typ("res_end", device) + _typ("res_per_um", device) * RES_MIN_L
        raise ValueError(f"{ohms:g} Ω is below the shortest {device} ({shortest:.4g} Ω at L = {RES_MIN_L:g} µm)")
    return round(length / 0.005) * 0.005


def resistance(length: float, device: str = RESISTOR) -> float:
    """Resistance (Ω, tt 27 °C) of a drawn body length, the inverse of `resistor_length`."""
    return _typ("res_end", device) + _typ("res_per_um", device) * length


def body_resistance(length: float, device: str = RESISTOR) -> float:
    """The body part of a resistor (measured Ω/µm × L, no heads): what LVS compares."""
    return _typ("res_per_um", device) * length


def sheet_resistance(device: str = RESISTOR) -> float:
    """Measured Ω per drawn square of the body (LVS extracts R = this × L / W)."""
    return _typ("res_sheet", device)


def diode_fit(temp: float = 27.0, corner: str = "tt", size: tuple[float, float] = DIODE_SIZE) -> DiodeFit:
    """A clamp diode's measured Shockley fit (`size`: one of DIODE_SIZES, W × L µm): tt at
    −40/27/85 °C, or another corner at 27 °C."""
    if size not in DIODE_SIZES:
        raise ValueError(f"no diode of {_size(*size)} µm measured; measured: "
                         f"{', '.join(_size(*s) for s in DIODE_SIZES)}")
    label = f"{_size(*size)} {corner} T={temp:g}"
    if label not in _golden()["specs"]["diode_is"]["bands"]:
        raise ValueError(f"no diode fit measured at {corner} {temp:g} °C; measured: tt at "
                         f"{', '.join(f'{t:g}' for t in TEMPERATURES)} °C, other corners at 27 °C")
    w, l = size
    return DiodeFit(_typ("diode_is", label), _typ("diode_n", label), _typ("diode_rs", label),
                    w * l, 2 * (w + l), temp, _typ("diode_fit_low", label), _typ("diode_fit_high", label))


def capacitance(w: float, l: float) -> float:
    """Capacitance (F, tt 27 °C) of a drawn w × l µm capm plate, from the measured fit."""
    fF = _typ("cap_area", CAPACITOR) * w * l + _typ("cap_perim", CAPACITOR) * 2 * (w + l) + _typ("cap_fixed", CAPACITOR)
    return fF * 1e-15


def area_capacitance() -> float:
    """Measured F per µm² of plate (LVS compares C = this × area, perimeter aside)."""
    return _typ("cap_area", CAPACITOR) * 1e-15


def capacitor_size(farads: float) -> tuple[float, float]:
    """Drawn capm plate (w, l) µm on the 5 nm grid for `farads` at tt 27 °C: w the square's
    side rounded down, l solved from the measured fit (so l ≥ w, at most a few grid steps
    longer) and rounded: off by under half a grid step of l. Raises ValueError below the
    smallest plate (capm.1 square)."""
    area, perim, fixed = (_typ(k, CAPACITOR) for k in ("cap_area", "cap_perim", "cap_fixed"))
    target = farads * 1e15
    if not target >= capacitance(CAP_MIN_W, CAP_MIN_W) * 1e15:
        raise ValueError(f"{farads:g} F is below the smallest MiM capacitor "
                         f"({capacitance(CAP_MIN_W, CAP_MIN_W):.4g} F, {CAP_MIN_W:g} µm square)")
    side = (-4 * perim + np.sqrt(16 * perim ** 2 - 4 * area * (fixed - target))) / (2 * area)
    w = max(CAP_MIN_W, np.floor(side / 0.005 + 1e-9) * 0.005)
    l = (target - 2 * perim * w - fixed) / (area * w + 2 * perim)
    return round(float(w), 3), round(round(l / 0.005) * 0.005, 3)


def plot(sheet: Datasheet, directory: Path) -> list[Path]:
    """Resistance per µm of every resistor device, the clamp diodes' forward I–V and the MiM
    capacitance per plate area, as PNGs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pdk.datasheet import save_figure

    fig, ax = plt.subplots(figsize=(6, 3.6))
    per_um = sheet.values[R_PER_UM.name]
    ax.barh(list(per_um), [per_um[d] / 1e3 for d in per_um], color="#3b6ea8")
    ax.set_xlabel("resistance per µm of body (kΩ/µm), tt 27 °C")
    paths = [save_figure(fig, directory / "passives_resistance.png")]
    fig, ax = plt.subplots(figsize=(6, 4))
    for size, curve in sheet.curves["diode_iv"].items():
        ax.semilogy(curve["v"], np.maximum(curve["i"], 1e-16), label=size)
    ax.set_xlabel("forward voltage (V)")
    ax.set_ylabel("current (A)")
    ax.set_title(f"{DIODE}: forward I–V by drawn size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(save_figure(fig, directory / "passives_diode_iv.png"))
    fig, ax = plt.subplots(figsize=(6, 3.6))
    values, area = sheet.values[C_VALUE.name], {_size(w, l): w * l for w, l in CAP_SIZES}
    ax.barh(list(values), [values[k] / area[k] for k in values], color="#3b6ea8")
    ax.set_xlabel("capacitance per µm² of drawn plate (fF/µm²), tt 27 °C")
    ax.set_title(f"{CAPACITOR}: the edge adds most to small plates")
    paths.append(save_figure(fig, directory / "passives_capacitor.png"))
    return paths
