"""SKY130 model loading: corners named by behaviour, mismatch seeds, fast include = full library."""
from __future__ import annotations

import numpy as np
import pytest

from pdk.devices import instance
from pdk.models import CORNERS, Conditions, model_dir
from pdk.ngspice import Job, simulate, simulate_many

pytestmark = pytest.mark.ngspice

VGS = (0.3, 0.5, 0.7, 0.9)  # subthreshold to moderate inversion


def _drain_currents(conditions: Conditions, device: str) -> list[float]:
    """|Id| of one W/L 2/1 device at |Vds| = 0.9 V for each |Vgs| in VGS."""
    sign = 1 if device.startswith("n") else -1
    deck = [conditions.lines(), instance("D", device, "d", "g", "0", "0", 2, 1), f"Vd d 0 {sign * 0.9}"]
    deck += ["Vg g 0 0", f".dc Vg 0 {sign * 0.9} {sign * 0.1}"]
    plot = simulate("\n".join(deck) + "\n", f"id_{device}")[0]
    return [float(np.interp(v, np.abs(plot["v(v-sweep)"]), np.abs(plot["i(vd)"]))) for v in VGS]


def test_models_are_found_inside_the_installed_wheel():
    assert (model_dir() / "continuous" / "models_fet.spice").is_file()
    assert "site-packages" in str(model_dir()) or "dist-packages" in str(model_dir())


@pytest.mark.parametrize("corner", ["fs", "sf"])
def test_corner_names_say_what_the_corner_does(corner):
    """`fs` = fast NMOS, slow PMOS (the wheel's file names say the opposite)."""
    tt_n, tt_p = (_drain_currents(Conditions("tt"), d) for d in ("nfet_01v8", "pfet_01v8"))
    n, p = (_drain_currents(Conditions(corner), d) for d in ("nfet_01v8", "pfet_01v8"))
    n_faster = all(a > b * 1.05 for a, b in zip(n, tt_n))
    p_slower = all(a < b / 1.05 for a, b in zip(p, tt_p))
    if corner == "fs":
        assert n_faster and p_slower
    else:
        assert all(a < b / 1.05 for a, b in zip(n, tt_n)) and all(a > b * 1.05 for a, b in zip(p, tt_p))


def test_ss_and_ff_bracket_tt():
    for device in ("nfet_01v8", "pfet_01v8"):
        ss, tt, ff = (_drain_currents(Conditions(c), device) for c in ("ss", "tt", "ff"))
        assert all(s < t < f for s, t, f in zip(ss, tt, ff))


@pytest.mark.parametrize("corner", ["tt", "fs"])
def test_fast_include_matches_full_library_within_half_a_percent(corner):
    for device in ("nfet_01v8", "pfet_01v8"):
        fast = _drain_currents(Conditions(corner, fast=True), device)
        full = _drain_currents(Conditions(corner, fast=False), device)
        for a, b in zip(fast, full):
            assert abs(a / b - 1) < 0.005


def test_temperature_and_supply_are_parameters():
    hot, cold = (_drain_currents(Conditions("tt", temp=t), "nfet_01v8")[0] for t in (85, -40))
    assert hot > 10 * cold  # subthreshold current rises steeply with temperature
    deck = Conditions(vdd=1.62).lines() + "Vdd vdd 0 {supply}\nR1 vdd 0 1k\n.op\n"
    assert simulate(deck, "supply")[0]["v(vdd)"][0] == pytest.approx(1.62)


def _pair_mismatch(seed: int | None, mismatch: bool = True) -> tuple[float, float]:
    """Currents of two identical nfets under the same bias: equal without mismatch."""
    c = Conditions("tt", mismatch=mismatch, seed=seed)
    deck = [c.lines(), "Vg g 0 0.45", "Va a 0 0.9", "Vb b 0 0.9",
            instance("A", "nfet_01v8", "a", "g", "0", "0", 1, 1),
            instance("B", "nfet_01v8", "b", "g", "0", "0", 1, 1), ".op"]
    p = simulate("\n".join(deck) + "\n", f"mm{seed}")[0]
    return float(p["i(va)"][0]), float(p["i(vb)"][0])


def test_mismatch_seed_reproduces_and_redraws():
    a1, b1 = _pair_mismatch(7)
    a2, b2 = _pair_mismatch(7)
    a3, b3 = _pair_mismatch(8)
    assert (a1, b1) == (a2, b2)
    assert abs(a1 / b1 - 1) > 1e-4  # two instances draw their own samples
    assert abs(a3 / a1 - 1) > 1e-4 and abs(b3 / b1 - 1) > 1e-4
    na, nb = _pair_mismatch(None, mismatch=False)
    assert na == pytest.approx(nb, rel=1e-6)


def test_every_corner_loads():
    jobs = [Job(c, Conditions(c).lines() + instance("D", "nfet_01v8", "d", "d", "0", "0", 2, 1)
                + "\nId 0 d 1n\n.op\n") for c in CORNERS]
    results = simulate_many(jobs, progress=False)
    assert list(results) == list(CORNERS)
    voltages = {c: float(results[c][0]["v(d)"][0]) for c in CORNERS}
    assert voltages["ss"] > voltages["tt"] > voltages["ff"]


def test_unknown_corner_is_refused():
    with pytest.raises(ValueError, match="unknown corner"):
        Conditions("xx")
