"""Device characterization: Id–Vgs, threshold, subthreshold swing, off-current, and mirror
ratio by unit devices against ratio by width, at the 0.1–3 nA currents the cells use."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pdk.datasheet import Datasheet, Spec, save_figure
from pdk.devices import MODELS, instance, polarity
from pdk.models import VDD_NOMINAL, Conditions
from pdk.ngspice import Job, simulate_many

DEVICES = tuple(MODELS)
LENGTHS = (0.5, 1.0, 2.0, 4.0, 8.0)
WIDTH = 2.0
VDS = 0.9
#: Constant-current threshold definition: |Id| = I_VTH · W/L.
I_VTH = 100e-9
MIRROR_UNIT = (2.0, 4.0)  # W, L of one unit device
MIRROR_RATIOS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
MIRROR_CURRENTS = (0.1e-9, 3e-9, 0.1e-9)  # start, stop, step of the input sweep

VTH = Spec("vth", "V", f"|Vgs| where |Id| = {I_VTH * 1e9:g} nA·W/L, |Vds| = {VDS} V, W = {WIDTH} µm, 27 °C")
SWING = Spec("subthreshold_swing", "mV/dec", "smallest d|Vgs|/dlog10|Id| between 10 pA and 10 nA, 27 °C")
IOFF = Spec("ioff", "pA", f"|Id| at Vgs = 0, |Vds| = {VDS} V, W = {WIDTH} µm")
MIRROR_UNITS = Spec("mirror_error_units", "%", "worst |Iout/(r·Iin) − 1| over Iin 0.1–3 nA, ratio by "
                    f"identical W/L {MIRROR_UNIT[0]:g}/{MIRROR_UNIT[1]:g} unit devices, output at {VDS} V")
#: Golden bands: spec → (relative, absolute) half-width used when freezing.
TOLERANCES = {"vth": (0.0, 0.01), "subthreshold_swing": (0.03, 0.0), "ioff": (0.25, 0.005),
              "mirror_error_units": (0.05, 0.3), "mirror_error_width": (0.05, 0.5)}
GOLDEN = Path(__file__).parent / "goldens" / "devices.yaml"
MIRROR_WIDTH = Spec("mirror_error_width", "%", "same as mirror_error_units, ratio by device width")


def _label(device: str, length: float) -> str:
    return f"{device} L={length:g}"


def _idvg_deck(device: str, length: float, temp: float) -> str:
    sign = 1 if polarity(device) == "n" else -1  # a pfet is swept with negative voltages
    return (Conditions("tt", temp=temp).lines()
            + instance("D", device, "d", "g", "0", "0", WIDTH, length) + "\n"
            + f"Vd d 0 {sign * VDS:g}\nVg g 0 0\n"
            + f".dc Vg 0 {sign * VDD_NOMINAL:g} {sign * 0.005:g}\n")


def _mirror_deck(pol: str, ratio: float, by_units: bool) -> str:
    """A mirror of `ratio`: k_in diode units against k_out output units (or widths)."""
    device = "nfet_01v8" if pol == "n" else "pfet_01v8"
    w, l = MIRROR_UNIT
    k_in, k_out = (round(1 / ratio), 1) if ratio < 1 else (1, round(ratio))
    rail, body = ("0", "0") if pol == "n" else ("vdd", "vdd")
    lines = [Conditions("tt").lines(), "Vdd vdd 0 {supply}", f"Vo o 0 {VDS:g}"]
    lines.append("Iin vdd a 1n" if pol == "n" else "Iin a 0 1n")
    for side, k, drain in (("in", k_in, "a"), ("out", k_out, "o")):
        if by_units:
            lines += [instance(f"{side}{i}", device, drain, "a", rail, body, w, l) for i in range(k)]
        else:
            lines.append(instance(side, device, drain, "a", rail, body, w * k, l))
    start, stop, step = MIRROR_CURRENTS
    lines.append(f".dc Iin {start:g} {stop + step / 2:g} {step:g}")
    return "\n".join(lines) + "\n"


def _threshold(vgs: np.ndarray, current: np.ndarray, target: float) -> float:
    logs = np.log10(np.maximum(current, 1e-20))
    return float(np.interp(np.log10(target), logs, vgs))


def _swing(vgs: np.ndarray, current: np.ndarray) -> float:
    decades_per_volt = np.gradient(np.log10(np.maximum(current, 1e-20)), vgs)
    window = (current > 1e-11) & (current < 1e-8)
    return float(1e3 / np.max(decades_per_volt[window]))


def characterize(workers: int | None = None, progress: bool | None = None) -> Datasheet:
    """Run every device deck (≈ 90 short ngspice runs) and fill the datasheet."""
    jobs = [Job(f"idvg_{d}_L{l:g}_T{t:g}", _idvg_deck(d, l, t))
            for d in DEVICES for l in LENGTHS for t in (27.0, 85.0)]
    jobs += [Job(f"mirror_{p}_r{r:g}_{'units' if u else 'width'}", _mirror_deck(p, r, u))
             for p in "np" for r in MIRROR_RATIOS for u in (True, False)]
    results = simulate_many(jobs, workers=workers, progress=progress, desc="devices")
    sheet = Datasheet("devices")
    curves: dict[str, dict] = {"idvg": {}, "mirror": {}}
    for d in DEVICES:
        for l in LENGTHS:
            label = _label(d, l)
            for t in (27.0, 85.0):
                plot = results[f"idvg_{d}_L{l:g}_T{t:g}"][0]
                vgs = np.abs(plot["v(v-sweep)"])
                current = np.abs(plot["i(vd)"])
                sheet.add(IOFF, f"{label} T={t:g}", current[0] * 1e12)
                if t == 27.0:
                    sheet.add(VTH, label, _threshold(vgs, current, I_VTH * WIDTH / l))
                    sheet.add(SWING, label, _swing(vgs, current))
                    curves["idvg"][label] = {"vgs": vgs[::4].round(4).tolist(),
                                             "id": current[::4].tolist()}
    for p in "np":
        for r in MIRROR_RATIOS:
            for by_units, spec in ((True, MIRROR_UNITS), (False, MIRROR_WIDTH)):
                plot = results[f"mirror_{p}_r{r:g}_{'units' if by_units else 'width'}"][0]
                i_in = plot["i(i-sweep)"]
                i_out = np.abs(plot["i(vo)"])
                error = (i_out / (r * i_in) - 1) * 100
                worst = error[np.argmax(np.abs(error))]
                sheet.add(spec, f"{p}fet r={r:g}", worst)
                curves["mirror"][f"{p}fet r={r:g} {'units' if by_units else 'width'}"] = {
                    "iin": i_in.tolist(), "error_pct": error.round(4).tolist()}
    sheet.curves = curves
    return sheet


def plot(sheet: Datasheet, directory: Path) -> list[Path]:
    """Id–Vgs of every device and mirror error against ratio, as PNGs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, axes = plt.subplots(1, len(DEVICES), figsize=(4 * len(DEVICES), 3.6), sharey=True)
    for ax, device in zip(axes, DEVICES):
        for l in LENGTHS:
            c = sheet.curves["idvg"][_label(device, l)]
            ax.semilogy(c["vgs"], c["id"], label=f"L={l:g}")
        ax.set_title(f"{device}, W={WIDTH:g}, |Vds|={VDS}")
        ax.set_xlabel("|Vgs| (V)")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_ylim(1e-14, 1e-3)
    axes[0].set_ylabel("|Id| (A)")
    axes[-1].legend(fontsize=8)
    paths.append(save_figure(fig, directory / "devices_idvg.png"))

    fig, ax = plt.subplots(figsize=(6, 4))
    for p, marker in (("n", "o"), ("p", "s")):
        for spec, style in ((MIRROR_UNITS, "-"), (MIRROR_WIDTH, "--")):
            values = [abs(sheet.values[spec.name][f"{p}fet r={r:g}"]) for r in MIRROR_RATIOS]
            ax.loglog(MIRROR_RATIOS, np.maximum(values, 1e-3), style, marker=marker,
                      label=f"{p}fet by {'unit devices' if spec is MIRROR_UNITS else 'width'}")
    ax.set_xlabel("mirror ratio r")
    ax.set_ylabel("worst |error| over 0.1–3 nA (%)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    paths.append(save_figure(fig, directory / "devices_mirror.png"))
    return paths
