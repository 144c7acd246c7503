"""Poly resistors and the floating diode: models load, the frozen golden holds, and the two
numbers the compile step reads (resistor length, diode fit) agree with ngspice."""
from __future__ import annotations

import numpy as np
import pytest

from cells.netlist import Device, Diode, Resistor, subckt
from pdk import passives
from pdk.datasheet import check, load_golden
from pdk.devices import RES_WIDTH
from pdk.models import Conditions
from pdk.ngspice import simulate


def test_fast_include_of_fet_decks_is_unchanged():
    """Decks without passives stay byte-identical: no extra files, the nominal resistor set."""
    text = Conditions().lines()
    assert "models_diodes" not in text and "parameters_res_nom" in text
    assert Conditions().label() == "tt 27C 1.8V"
    passive = Conditions(resistance="high").lines(passives=True)
    assert "parameters_res_high" in passive and "models_resistors" in passive
    with pytest.raises(ValueError):
        Conditions(resistance="high", fast=False)


def test_records_write_the_wheel_instances():
    r = Resistor("R1", "res_xhigh_po_0p35", "a", "b", 0.35, 12.5)
    d = Diode("D1", "diode_pd2nw_05v5", "clamp", "n1", 2, 2)
    assert r.line() == "XR1 a b vss sky130_fd_pr__res_xhigh_po_0p35 L=12.5"
    assert d.line() == "XD1 clamp n1 sky130_fd_pr__diode_pd2nw_05v5 area=4e+12 perim=8e+06 rs_int=600"
    text = subckt("net", ("a", "b"), [Device("M1", "nfet_01v8", "a", "a", "vss", "vss", 1, 1), r, d])
    assert text.count("\nX") == 3
    with pytest.raises(ValueError):
        Resistor("R2", "res_xhigh_po_0p35", "a", "b", 0.69, 10)


def test_shockley_fit_recovers_known_parameters():
    """On synthetic points of a known diode the fit returns its parameters (it can fail)."""
    vt = passives.K_B_Q * 300.15
    i = np.logspace(-13, -4.5, 300)
    v = 1.4 * vt * np.log1p(i / 3e-15) + i * 2e3
    is_a, n, rs, lo, hi = passives.fit_shockley(v, i, 27.0)
    assert is_a == pytest.approx(3e-15, rel=1e-3) and n == pytest.approx(1.4, rel=1e-4)
    assert rs == pytest.approx(2e3, rel=1e-3)
    assert lo <= 1.1e-12 and hi >= 9e-6
    bent = v + 0.05 * np.maximum(0, np.log10(i / 1e-7))  # a knee the model does not have
    assert passives.fit_shockley(bent, i, 27.0)[4] < 5e-6


@pytest.mark.ngspice
def test_golden_holds():
    sheet = passives.characterize(workers=2, progress=False)
    assert check(sheet, load_golden(passives.GOLDEN)) == []


@pytest.mark.ngspice
@pytest.mark.parametrize("device", sorted(RES_WIDTH))
def test_resistor_length_gives_the_resistance(device):
    targets = (50e3, 1e6, 20e6) if "xhigh" in device else (50e3, 1e6)
    lines = [Conditions().lines(passives=True)]
    for k, ohms in enumerate(targets):
        lines += [Resistor(f"R{k}", device, f"a{k}", "0", RES_WIDTH[device],
                           passives.resistor_length(ohms, device)).line().replace(" vss ", " 0 "),
                  f"V{k} a{k} 0 0.1"]
    plot = simulate("\n".join(lines + [".op"]) + "\n", "length")[0]
    for k, ohms in enumerate(targets):
        assert 0.1 / -plot[f"i(v{k})"][0] == pytest.approx(ohms, rel=1e-3)  # 5 nm grid: ≤ 0.08 %


def test_resistor_length_refuses_what_cannot_be_built():
    length = passives.resistor_length(1e6)
    assert round(length / 0.005) * 0.005 == pytest.approx(length, abs=1e-9)
    with pytest.raises(ValueError, match="below the shortest"):
        passives.resistor_length(1e3)
    with pytest.raises(ValueError, match="unknown resistor"):
        passives.resistor_length(1e6, "res_generic_po")


@pytest.mark.ngspice
@pytest.mark.parametrize("temp", [-40.0, 27.0, 85.0])
def test_diode_fit_predicts_the_forward_voltage(temp):
    """Current-driven clamp diode: ngspice's V against DiodeFit.voltage, 2 % in current."""
    fit = passives.diode_fit(temp)
    w, l = passives.DIODE_SIZE
    currents = (1e-12, 1e-10, 1e-8, 1e-6, 9e-6)
    lines = [Conditions(temp=temp).lines(passives=True)]
    for k, current in enumerate(currents):
        lines += [Diode(f"D{k}", passives.DIODE, f"a{k}", "0", w, l).line(), f"I{k} 0 a{k} {current:g}"]
    plot = simulate("\n".join(lines + [".op"]) + "\n", "diode")[0]
    n_vt = fit.n * passives.K_B_Q * (temp + 273.15)
    for k, current in enumerate(currents):
        assert abs(plot[f"v(a{k})"][0] - fit.voltage(current)) < n_vt * np.log(1.02)


def test_diode_fit_refuses_unmeasured_points():
    with pytest.raises(ValueError, match="no diode fit"):
        passives.diode_fit(50.0)
    assert passives.diode_fit(27.0, "ss").area_um2 == 4.0
