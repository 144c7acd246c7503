"""Unit devices of the current-mode cells: every ratio is a count of these (ARCHITECTURE §6).

Chosen from `study()` (tt 27 °C unless stated, 1:1 mirror of one unit against one unit,
output drain at 0.3/0.5/0.9 V; σ from 16 mismatch seeds at 0.5 nA; 1:8 ratio at 0.1 nA 85 °C):

| unit   | W/L   | error @ drain 0.3/0.5/0.9 V, 0.25 nA | 1:8 @0.1 nA 85 °C | σ (1:1) |
|--------|-------|--------------------------------------|-------------------|---------|
| pfet   | 2/4   | +1.55 / +1.18 / +0.41 %              | +1.37 %           | 7.5 %   |
| pfet   | 4/8   | +0.61 / +0.46 / +0.14 %              | +0.53 %           | 3.6 %   |
| pfet   | 4/12  | +0.57 / +0.42 / +0.12 %              | +0.49 %           | 2.8 %   |
| pfet   | 4/16  | +0.55 / +0.40 / +0.11 %              | +0.46 %           | 2.4 %   |
| pfet   | 6/12  | +5.05 / +3.72 / +1.06 %              | +4.12 %           | 2.5 %   |
| pfet   | 8/8   | +8.34 / +6.22 / +1.97 %              | +6.85 %           | 2.9 %   |
| nfet   | 2/4   | −0.03 / +2.92 / +8.46 %              | +4.74 %           | 5.8 %   |
| nfet   | 4/8   | +0.16 / +2.46 / +6.91 %              | +3.86 %           | 2.7 %   |
| nfet   | 4/16  | −0.14 / +2.14 / +6.56 %              | +3.31 %           | 1.9 %   |

(the nfet diode sits near 0.3 V: its copies are exact only with the drain near the diode's
voltage, 10–15 %/V away from it.) W = 4 is the widest width without a systematic offset in
these models (6/12 and 8/8 sit in another bin and are 4–7 % off), so matching is bought
with length. PMOS pairs dominate the mismatch (5.86 vs 3.36 mV·µm): pfet 4/16, nfet 4/8.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UnitDevice:
    """One unit transistor: device name (key of `pdk.devices.MODELS`), W and L in µm."""

    device: str
    w: float
    l: float

    @property
    def area(self) -> float:
        """Gate area, µm²."""
        return self.w * self.l


#: Current-mirror units (sinks, input diodes, ReLU loads).
NMOS = UnitDevice("nfet_01v8", 4.0, 8.0)
#: Current-source units (weights into a summing node, bias-tree outputs, BMRU biases, α).
PMOS = UnitDevice("pfet_01v8", 4.0, 16.0)
#: Inverter NMOS of the BMRU cell (gate = the comparison node v0). A full NMOS unit there
#: puts ≈ 0.15 pF on v0 and the cell needs > 2 ms to switch on a 0.25 nA overdrive; a 1/2
#: device switches in ≈ 0.3 ms. Its trip voltage differs from the input diode's, which moves
#: both thresholds by −0.4…0 % (tt/ss −40 °C/ff 85 °C), partly cancelling the +0.4…0.5 % of
#: the PMOS sources (their drains sit ≈ 1 V below the bias diode's).
INVERTER = UnitDevice("nfet_01v8", 1.0, 2.0)
#: Switches and logic: on/off only, small for speed; L = 1 keeps the 85 °C leakage near 1 pA.
NSWITCH = UnitDevice("nfet_01v8", 0.42, 1.0)
PSWITCH = UnitDevice("pfet_01v8", 0.42, 1.0)


def study(workers: int = 2) -> list[dict]:
    """Re-measure the table above (≈ 250 short ngspice runs)."""
    import numpy as np

    from pdk.devices import instance
    from pdk.models import Conditions
    from pdk.ngspice import Job, simulate_many

    geometries = {"p": [(2, 4), (4, 8), (4, 12), (4, 16), (6, 12), (8, 8)],
                  "n": [(2, 4), (4, 8), (4, 16)]}

    def deck(pol: str, w: float, l: float, i_in: float, cond: Conditions, ratio: int = 1) -> str:
        dev, rail = ("nfet_01v8", "0") if pol == "n" else ("pfet_01v8", "vdd")
        lines = [cond.lines(), "Vdd vdd 0 {supply}", "Vo o 0 0.5",
                 f"Iin vdd a {i_in:g}" if pol == "n" else f"Iin a 0 {i_in:g}",
                 instance("in", dev, "a", "a", rail, rail, w, l)]
        lines += [instance(f"o{i}", dev, "o", "a", rail, rail, w, l) for i in range(ratio)]
        return "\n".join(lines + [".dc Vo 0.2 1.5 0.05"]) + "\n"

    jobs = []
    for pol, geoms in geometries.items():
        for w, l in geoms:
            key = f"{pol}_{w}_{l}"
            jobs.append(Job(key, deck(pol, w, l, 0.25e-9, Conditions())))
            jobs.append(Job(key + "_r8", deck(pol, w, l, 0.1e-9, Conditions(temp=85.0), ratio=8)))
            jobs += [Job(f"{key}_mm{s}", deck(pol, w, l, 0.5e-9, Conditions(mismatch=True, seed=s)))
                     for s in range(1, 17)]
    res = simulate_many(jobs, workers=workers)

    def at(name: str, v: float, ref: float) -> float:
        p = res[name][0]
        return float(np.interp(v, p["v(v-sweep)"], np.abs(p["i(vo)"])) / ref - 1) * 100

    rows = []
    for pol, geoms in geometries.items():
        for w, l in geoms:
            key = f"{pol}_{w}_{l}"
            mm = [at(f"{key}_mm{s}", 0.5, 0.5e-9) for s in range(1, 17)]
            rows.append({"device": pol + "fet", "w": w, "l": l,
                         "error_pct": [round(at(key, v, 0.25e-9), 2) for v in (0.3, 0.5, 0.9)],
                         "ratio8_hot_pct": round(at(key + "_r8", 0.5, 0.8e-9), 2),
                         "sigma_pct": round(float(np.std(mm)), 2)})
    return rows


if __name__ == "__main__":
    for row in study():
        print(row)
