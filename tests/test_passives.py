"""Poly resistors, the floating diode and the MiM capacitor: models load, the frozen golden
holds, and the numbers the compile step reads (resistor length, diode fit, capacitor
plate) agree with ngspice; their cells are DRC and LVS clean."""
from __future__ import annotations

import numpy as np
import pytest

from cells.netlist import Capacitor, Device, Diode, Resistor, subckt
from pdk import passives
from pdk.datasheet import Datasheet, check, load_golden
from pdk.devices import RES_WIDTH
from pdk.models import Conditions
from pdk.ngspice import simulate, simulate_many


def test_fast_include_of_fet_decks_is_unchanged():
    """Decks without passives stay byte-identical: no extra files, the nominal resistor set."""
    text = Conditions().lines()
    assert "models_diodes" not in text and "parameters_res_nom" in text
    assert Conditions().label() == "tt 27C 1.8V"
    passive = Conditions(resistance="high").lines(passives=True)
    assert "parameters_res_high" in passive and "models_resistors" in passive
    with pytest.raises(ValueError):
        Conditions(resistance="high", fast=False)
    assert "parameters_cap_nom" in text
    assert "parameters_cap_high" in Conditions(capacitance="high").lines(passives=True)
    assert Conditions(capacitance="low").label() == "tt 27C 1.8V Clow"
    with pytest.raises(ValueError):
        Conditions(capacitance="low", fast=False)


def test_records_write_the_wheel_instances():
    r = Resistor("R1", "res_xhigh_po_0p35", "a", "b", 0.35, 12.5)
    d = Diode("D1", "diode_pd2nw_05v5", "clamp", "n1", 2, 2)
    assert r.line() == "XR1 a b vss sky130_fd_pr__res_xhigh_po_0p35 L=12.5"
    assert d.line() == "XD1 clamp n1 sky130_fd_pr__diode_pd2nw_05v5 area=4e+12 perim=8e+06 rs_int=600"
    text = subckt("net", ("a", "b"), [Device("M1", "nfet_01v8", "a", "a", "vss", "vss", 1, 1), r, d])
    assert text.count("\nX") == 3
    with pytest.raises(ValueError):
        Resistor("R2", "res_xhigh_po_0p35", "a", "b", 0.69, 10)
    c = Capacitor("C1", "cap_mim_m3_1", "top", "bot", 22.21, 22.215)
    assert c.line() == "XC1 top bot sky130_fd_pr__cap_mim_m3_1 W=22.21 L=22.215"
    assert c.terminals == ("top", "bot")
    with pytest.raises(ValueError, match="capm minimum"):
        Capacitor("C2", "cap_mim_m3_1", "a", "b", 0.9, 10)
    with pytest.raises(ValueError, match="unknown device"):
        Capacitor("C3", "cap_mim_m3_2", "a", "b", 10, 10)


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


def test_the_chosen_devices_follow_from_the_measurements():
    bands = load_golden(passives.GOLDEN)["specs"]

    def typ(spec, cond):
        return bands[spec]["bands"][cond]["typ"]

    body_area = {d: 20e6 / typ("res_per_um", d) * w for d, w in RES_WIDTH.items()}
    assert min(body_area, key=body_area.get) == passives.RESISTOR
    assert abs(typ("res_voltco", f"{passives.RESISTOR} L=5")) < 1.0
    assert typ("res_mismatch_sigma", f"{passives.RESISTOR} L=5") < 3.5
    size = f"{passives.DIODE_SIZE[0]:g}x{passives.DIODE_SIZE[1]:g}"
    leak = {k.split()[0]: v["typ"] for k, v in bands["diode_leakage"]["bands"].items() if k.endswith("V=3 T=85")}
    assert min(leak, key=leak.get) == size
    for t in (-40, 27, 85):
        assert typ("diode_fit_low", f"{size} tt T={t}") < 1.5e-12
        assert typ("diode_fit_high", f"{size} tt T={t}") > 9e-6


def test_corners_are_named_by_behaviour_for_the_diodes_too():
    """The swapped sf/fs FET files carry the junction parameters too: the p+ diffusion (the
    PMOS source/drain) follows the second letter, the nwell–substrate junction the first."""
    bands = load_golden(passives.GOLDEN)["specs"]
    p_cap = {c: bands["diode_cap_corner"]["bands"][f"2x2 {c}"]["typ"] for c in ("ss", "ff", "sf", "fs")}
    nw_cap = {c: bands["nwell_cap_corner"]["bands"][f"10x10 {c}"]["typ"] for c in ("ss", "ff", "sf", "fs")}
    assert p_cap["ss"] > 0 > p_cap["ff"] and p_cap["fs"] > 0 > p_cap["sf"]
    assert nw_cap["ss"] > 0 > nw_cap["ff"] and nw_cap["sf"] > 0 > nw_cap["fs"]


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
    with pytest.raises(ValueError, match="wide"):
        passives.resistor_length(1e6, width=0.69)
    assert passives.resistor_length(1e6, width=0.35) == length


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
        assert fit.current(plot[f"v(a{k})"][0]) == pytest.approx(current, rel=0.02)


def test_diode_fit_refuses_unmeasured_points():
    with pytest.raises(ValueError, match="no diode fit"):
        passives.diode_fit(50.0)
    assert passives.diode_fit(27.0, "ss").area_um2 == 1.0


@pytest.mark.ngspice
def test_capacitor_measurements_hold_their_golden_bands():
    """The MiM decks alone (≈ 1 s) against the frozen bands: ≈ 2 fF/µm², 0.15 fF/µm."""
    sheet = Datasheet("passives")
    passives.add_capacitor_rows(sheet, simulate_many(passives.capacitor_jobs(), workers=2, progress=False))
    assert [v for v in check(sheet, load_golden(passives.GOLDEN)) if v.spec in sheet.values] == []
    assert set(sheet.values) == {"cap_value", "cap_area", "cap_perim", "cap_fixed", "cap_fit_error",
                                 "cap_corner", "cap_temp", "cap_mismatch_sigma"}


def test_capacitor_golden_is_physical():
    """SKY130 documents ≈ 2 fF/µm² for capm over met3; the corners move it both ways, more
    on small plates (their edge offset matters more); σ falls with the plate's side."""
    bands = load_golden(passives.GOLDEN)["specs"]

    def typ(spec, cond):
        return bands[spec]["bands"][cond]["typ"]

    assert 1.9 < typ("cap_area", passives.CAPACITOR) < 2.1 and 0 < typ("cap_perim", passives.CAPACITOR) < 0.3
    assert typ("cap_corner", "1x1 Clow") < typ("cap_corner", "30x30 Clow") < -10
    assert typ("cap_corner", "1x1 Chigh") > typ("cap_corner", "30x30 Chigh") > 10
    assert typ("cap_mismatch_sigma", "10x10") < typ("cap_mismatch_sigma", "2x2") < 0.5


@pytest.mark.ngspice
def test_capacitor_size_gives_the_capacitance():
    targets = (0.1e-12, 1e-12, 2e-12, 10e-12)
    lines = [Conditions().lines(passives=True), "Vr r 0 dc 0 ac 1"]
    for k, farads in enumerate(targets):
        w, l = passives.capacitor_size(farads)
        assert w <= l <= w + 0.05 and round(w / 0.005) * 0.005 == pytest.approx(w, abs=1e-9)
        lines += [Capacitor(f"C{k}", passives.CAPACITOR, f"t{k}", "0", w, l).line(), f"V{k} r t{k} 0"]
    plot = simulate("\n".join(lines + [".ac lin 1 1k 1k"]) + "\n", "caps")[0]
    for k, farads in enumerate(targets):
        assert abs(plot[f"i(v{k})"][0].imag) / (2 * np.pi * 1e3) == pytest.approx(farads, rel=1e-3)


def test_capacitor_size_refuses_what_cannot_be_built():
    with pytest.raises(ValueError, match="below the smallest"):
        passives.capacitor_size(1e-15)
    w, l = passives.capacitor_size(passives.capacitance(1.0, 1.0))
    assert (w, l) == (1.0, 1.0)


# ----------------------------------------------------------------------------- layout

X35 = "res_xhigh_po_0p35"
NETWORK_PORTS = ("in0", "in1", "n1", "n2", "vc", "vss")


def _network(r3_length: float | None = None, swap: bool = False):
    """3 resistors and 2 clamp diodes: in0 –R1– n1 –R3– n2 –R2– in1, diodes from vc."""
    d1 = ("n1", "vc") if swap else ("vc", "n1")
    return [Resistor("R1", X35, "in0", "n1", 0.35, passives.resistor_length(50e3)),
            Resistor("R2", X35, "in1", "n2", 0.35, passives.resistor_length(1e6)),
            Resistor("R3", X35, "n1", "n2", 0.35, r3_length or passives.resistor_length(200e3)),
            Diode("D1", passives.DIODE, *d1, *passives.DIODE_SIZE),
            Diode("D2", passives.DIODE, "vc", "n2", *passives.DIODE_SIZE)]


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    from layouts.passive_layout import draw_passive_cell

    path = tmp_path_factory.mktemp("rd")
    cell = draw_passive_cell("rdnet", NETWORK_PORTS, _network())
    cell.save(path / "rdnet.gds", path / "rdnet.spice")
    return path


@pytest.mark.klayout
def test_passive_pcells_are_clean_under_own_rules(tmp_path):
    import klayout.db as db

    from pdk import drc, pcells

    ly = pcells.new_layout()
    top = ly.create_cell("passives")
    x = 0
    for device, w in RES_WIDTH.items():
        for l in (0.66, 7.5):
            blk = pcells.resistor(ly, device, w, l)
            top.insert(db.CellInstArray(blk.cell.cell_index(), db.Trans(x - blk.bbox.left, 0)))
            x += blk.bbox.width() + pcells.u(1)
    for side in (0.42, 1.0, 2.0, 5.0):
        blk = pcells.diode(ly, passives.DIODE, side, side)
        top.insert(db.CellInstArray(blk.cell.cell_index(), db.Trans(x - blk.bbox.left, 0)))
        x += blk.bbox.width() + pcells.u(1.5)
    pcells.save_gds(ly, tmp_path / "p.gds", top)
    res = drc.run_own(tmp_path / "p.gds")
    assert res.total == 0, res.summary()
    with pytest.raises(ValueError, match="below the minimum"):
        pcells.resistor(ly, X35, 0.35, 0.5)


@pytest.mark.klayout
def test_own_rules_catch_resistor_violations(tmp_path):
    """A stray poly next to the implant (rpm.7) and a tap next to the resistor (poly.9)."""
    import klayout.db as db

    from pdk import drc, pcells

    ly = pcells.new_layout()
    top = ly.create_cell("broken")
    blk = pcells.resistor(ly, X35, 0.35, 5.0)
    top.insert(db.CellInstArray(blk.cell.cell_index(), db.Trans()))
    imp = blk.bbox
    pcells.box(top, "poly", db.Box(imp.right + 100, 0, imp.right + 400, 2000))
    pcells.tap_strip(top, "p", imp.left, imp.right, imp.bottom - 100)
    pcells.save_gds(ly, tmp_path / "b.gds", top)
    res = drc.run_own(tmp_path / "b.gds")
    assert res.counts["rpm.7"] > 0 and res.counts["poly.9"] > 0, res.summary()


@pytest.mark.klayout
def test_network_cell_is_drc_clean_and_matches_its_netlist(network):
    from pdk import drc, lvs

    assert drc.run_own(network / "rdnet.gds").total == 0
    res = lvs.compare(network / "rdnet.gds", network / "rdnet.spice")
    assert res.match, res.summary()
    assert (res.layout_devices, res.schematic_devices) == (5, 5)  # R2's serpentine merged


def _mpw_deck_or_skip():
    from pdk import drc

    try:
        drc.klayout_app()
        drc.deck_path(deck="mpw")
    except drc.DeckUnavailable as exc:
        pytest.skip(f"MPW deck unavailable: {exc}")
    return drc


@pytest.mark.klayout
def test_network_cell_passes_the_mpw_deck(network):
    drc = _mpw_deck_or_skip()
    res = drc.run_deck(network / "rdnet.gds", deck="mpw")
    assert res.total == 0, res.summary()
    assert {"MR_rpm.WID.1", "MR_urpm.WID.1", "MR_licon.CON.13", "MR_poly.LEN.2"} <= set(res.counts)


@pytest.mark.klayout
@pytest.mark.parametrize("change, expect", [
    ({"r3_length": passives.resistor_length(200e3) + 0.1}, "R3"),  # 0.37 %: 0.1 µm of 27 µm
    ({"swap": True}, "D1"),
])
def test_lvs_catches_a_wrong_resistor_and_a_swapped_diode(network, tmp_path, change, expect):
    from cells.netlist import subckt
    from pdk import lvs

    (tmp_path / "wrong.spice").write_text(subckt("rdnet", NETWORK_PORTS, _network(**change)))
    res = lvs.compare(network / "rdnet.gds", tmp_path / "wrong.spice")
    assert not res.match
    assert any(expect in p for p in res.problems), res.summary()


@pytest.mark.klayout
@pytest.mark.slow
def test_larger_passive_cell_passes_the_mpw_deck(tmp_path):
    drc = _mpw_deck_or_skip()
    cell = _larger_cell()
    cell.save(tmp_path / "big.gds")
    res = drc.run_deck(tmp_path / "big.gds", deck="mpw")
    assert res.total == 0, res.summary()


def _larger_cell():
    """~20 resistors of 50 kΩ … 20 MΩ (6 from inputs, 14 between 6 nodes), 6 diodes."""
    from layouts.passive_layout import draw_passive_cell

    ohms = iter(np.geomspace(50e3, 20e6, 20))
    nodes = [f"n{i}" for i in range(6)]
    pairs = [(f"in{i}", n) for i, n in enumerate(nodes)]
    pairs += [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:]][:14]
    devs = [Resistor(f"R{k}", X35, a, b, 0.35, passives.resistor_length(next(ohms))) for k, (a, b) in enumerate(pairs)]
    devs += [Diode(f"D{i}", passives.DIODE, "vc", n, *passives.DIODE_SIZE) for i, n in enumerate(nodes)]
    return draw_passive_cell("rdbig", tuple(f"in{k}" for k in range(6)) + tuple(nodes) + ("vc", "vss"), devs)


@pytest.mark.klayout
def test_larger_passive_cell_is_clean(tmp_path):
    from pdk import drc, lvs

    cell = _larger_cell()
    cell.save(tmp_path / "big.gds", tmp_path / "big.spice")
    res = drc.run_own(tmp_path / "big.gds")
    assert res.total == 0, res.summary()
    res = lvs.compare(tmp_path / "big.gds", tmp_path / "big.spice")
    assert res.match, res.summary()
    assert (res.layout_devices, res.schematic_devices) == (26, 26)
    assert set(cell.pins) == {f"in{k}" for k in range(6)} | {f"n{i}" for i in range(6)} | {"vc", "vss"}


def _rows_cell_devices():
    """~200 resistors of 50 kΩ … 5 MΩ (10 inputs and 4 outputs to 12 nodes, and between the
    nodes, drawn at random), two one-segment ones (0.66 and 1.2 µm), 12 clamp diodes."""
    rng = np.random.default_rng(7)
    nodes = [f"n{j}" for j in range(12)]
    pairs = [(f"in{k}", n) for k in range(10) for n in nodes] + [(n, f"out{o}") for n in nodes for o in range(4)]
    pairs += [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:]]
    keep = [pairs[i] for i in sorted(rng.choice(len(pairs), 200, replace=False))]
    ohms = np.exp(rng.uniform(np.log(50e3), np.log(5e6), len(keep)))
    devs = [Resistor(f"R{k}", X35, a, b, 0.35, passives.resistor_length(float(o)), group=b if a.startswith("in") else a)
            for k, ((a, b), o) in enumerate(zip(keep, ohms))]
    devs += [Resistor("Rs0", X35, "in0", "out0", 0.35, 0.66), Resistor("Rs1", X35, "in1", "out1", 0.35, 1.2)]
    devs += [Diode(f"D{j}", passives.DIODE, "vc", n, *passives.DIODE_SIZE) for j, n in enumerate(nodes)]
    ports = tuple(f"in{k}" for k in range(10)) + tuple(f"out{o}" for o in range(4)) + ("vc", "vss")
    return ports, devs


@pytest.fixture(scope="module")
def rows_cell(tmp_path_factory):
    from layouts.passive_layout import draw_passive_cell

    path = tmp_path_factory.mktemp("rows")
    ports, devs = _rows_cell_devices()
    cell = draw_passive_cell("rdrows", ports, devs)
    cell.save(path / "rdrows.gds", path / "rdrows.spice")
    return cell, devs, path


def test_rows_cell_is_near_square_and_dense(rows_cell):
    """The floorplan folds ~200 resistors into rows: within the 2 : 1 default aspect, and
    resistor body over cell area at least 33 % (35.5 % drawn; one long row was 5 %)."""
    cell, devs, _path = rows_cell
    bb = cell.top.dbbox()
    assert max(bb.width(), bb.height()) <= 2.0 * min(bb.width(), bb.height())
    body = sum(d.w * d.l for d in devs if isinstance(d, Resistor))
    assert body / (bb.width() * bb.height()) >= 0.33
    rows = [k for k in cell.order if k.startswith("row")]
    assert len(rows) >= 3 and sum(len(cell.order[k]) for k in rows) == 202
    assert set(cell.pins) == set(_rows_cell_devices()[0])


def test_rows_cell_keeps_to_an_outline_or_refuses():
    from layouts.passive_layout import draw_passive_cell

    ports, devs = _rows_cell_devices()
    wide = draw_passive_cell("rdwide", ports, devs, outline=(400, 100))
    bb = wide.top.dbbox()
    assert bb.width() <= 400 and bb.height() <= 100
    with pytest.raises(ValueError, match="outline"):
        draw_passive_cell("rdsmall", ports, devs, outline=(100, 100))
    tiny = draw_passive_cell("rdtiny", ("a", "b", "vss"), [Resistor("R1", X35, "a", "b", 0.35, 0.66)])
    assert tiny.top.dbbox().height() < 8  # cannot be 2 : 1, so the squarest: one row


@pytest.mark.klayout
def test_rows_cell_is_clean(rows_cell):
    from pdk import drc, lvs

    _cell, devs, path = rows_cell
    res = drc.run_own(path / "rdrows.gds")
    assert res.total == 0, res.summary()
    res = lvs.compare(path / "rdrows.gds", path / "rdrows.spice")
    assert res.match, res.summary()
    assert res.layout_devices == res.schematic_devices == len(devs)


@pytest.mark.klayout
@pytest.mark.slow
def test_rows_cell_passes_the_mpw_deck(rows_cell):
    drc = _mpw_deck_or_skip()
    res = drc.run_deck(rows_cell[2] / "rdrows.gds", deck="mpw")
    assert res.total == 0, res.summary()


@pytest.mark.klayout
def test_macro_assembles_passive_cells(tmp_path):
    """Two copies of the network chained (the second's inputs are the first's nodes)."""
    from layouts.macro import Instance, assemble
    from layouts.passive_layout import draw_passive_cell
    from pdk import drc, lvs, pcells

    ly = pcells.new_layout()
    cell = draw_passive_cell("rdnet", NETWORK_PORTS, _network(), ly)
    chained = {"in0": "n1", "in1": "n2", "n1": "m1", "n2": "m2", "vc": "vc", "vss": "vss"}
    macro = assemble("chain", ("in0", "in1", "m1", "m2", "vc", "vss"),
                     [Instance("U0", cell, {p: p for p in NETWORK_PORTS}), Instance("U1", cell, chained)], ly)
    macro.save(tmp_path / "chain.gds", tmp_path / "chain.spice")
    assert drc.run_own(tmp_path / "chain.gds").total == 0
    res = lvs.compare(tmp_path / "chain.gds", tmp_path / "chain.spice")
    assert res.match and res.layout_devices == 10, res.summary()


@pytest.mark.ngspice
def test_network_netlist_simulates_as_its_resistances_say():
    """The device list's netlist in ngspice, diodes reverse-biased (vc = 0): node voltages
    as the measured resistances solve them (the clamp diodes leak femtoamperes)."""
    from cells.netlist import subckt

    devs = _network()
    deck = "\n".join([Conditions().lines(passives=True), subckt("rdnet", NETWORK_PORTS, devs),
                      "Xnet in0 in1 n1 n2 vc 0 rdnet", "V0 in0 0 1", "V1 in1 0 2", "Vc vc 0 0", ".op"]) + "\n"
    plot = simulate(deck, "network")[0]
    g1, g2, g3 = (1 / passives.resistance(d.l) for d in devs[:3])
    a = np.array([[g1 + g3, -g3], [-g3, g2 + g3]])
    expect = np.linalg.solve(a, [g1 * 1.0, g2 * 2.0])
    assert [plot["v(n1)"][0], plot["v(n2)"][0]] == pytest.approx(expect, rel=2e-3)


# ----------------------------------------------------------------------------- MiM capacitors

CAP_PORTS = ("n1", "n2", "vss")


def _caps(c3_farads: float = 0.5e-12, swap: bool = False):
    """Three MiM capacitors: 1 pF and 2 pF from n1, n2 to vss and 0.5 pF between them."""
    c1 = ("vss", "n1") if swap else ("n1", "vss")
    return [Capacitor("C1", passives.CAPACITOR, *c1, *passives.capacitor_size(1e-12)),
            Capacitor("C2", passives.CAPACITOR, "n2", "vss", *passives.capacitor_size(2e-12)),
            Capacitor("C3", passives.CAPACITOR, "n1", "n2", *passives.capacitor_size(c3_farads))]


@pytest.fixture(scope="module")
def cap_cell(tmp_path_factory):
    from layouts.passive_layout import draw_passive_cell

    path = tmp_path_factory.mktemp("caps")
    cell = draw_passive_cell("capbank", CAP_PORTS, _caps())
    cell.save(path / "capbank.gds", path / "capbank.spice")
    return cell, path


@pytest.mark.klayout
def test_capacitor_pcells_are_clean_under_own_rules(tmp_path):
    import klayout.db as db

    from pdk import drc, pcells

    ly = pcells.new_layout()
    top = ly.create_cell("caps")
    x = 0
    for w, l in ((1.0, 1.0), (2.0, 3.5), (10.0, 10.0), passives.capacitor_size(1e-12)):
        blk = pcells.capacitor(ly, passives.CAPACITOR, w, l)
        top.insert(db.CellInstArray(blk.cell.cell_index(), db.Trans(x - blk.bbox.left, 0)))
        x += blk.bbox.width() + pcells.u(1.5)
    pcells.save_gds(ly, tmp_path / "c.gds", top)
    res = drc.run_own(tmp_path / "c.gds")
    assert res.total == 0, res.summary()
    assert {"capm.1", "capm.2b", "capm.2b_met3", "capm.3", "capm.4", "via3.5", "m4.3"} <= set(res.counts)
    with pytest.raises(ValueError, match="below the minimum"):
        pcells.capacitor(ly, passives.CAPACITOR, 0.9, 5)


@pytest.mark.klayout
def test_capacitor_cell_is_drc_clean_and_matches_its_netlist(cap_cell):
    from pdk import drc, lvs

    cell, path = cap_cell
    bb = cell.top.dbbox()
    assert max(bb.width(), bb.height()) <= 2.0 * min(bb.width(), bb.height())
    assert set(cell.pins) == set(CAP_PORTS)
    res = drc.run_own(path / "capbank.gds")
    assert res.total == 0, res.summary()
    res = lvs.compare(path / "capbank.gds", path / "capbank.spice")
    assert res.match, res.summary()
    assert (res.layout_devices, res.schematic_devices) == (3, 3)


@pytest.mark.klayout
def test_capacitor_cell_passes_the_mpw_deck(cap_cell):
    drc = _mpw_deck_or_skip()
    res = drc.run_deck(cap_cell[1] / "capbank.gds", deck="mpw")
    assert res.total == 0, res.summary()
    assert {"MR_capm.SP.2", "MR_capm.ENC.1", "MR_capm.ENC.2", "via3.5", "m4.3"} <= set(res.counts)


@pytest.mark.klayout
@pytest.mark.parametrize("change, expect", [({"c3_farads": 0.51e-12}, "resized device C3"),
                                            ({"swap": True}, "C1: plates swapped")])
def test_lvs_catches_a_wrong_capacitor_and_swapped_plates(cap_cell, tmp_path, change, expect):
    from pdk import lvs

    (tmp_path / "wrong.spice").write_text(subckt("capbank", CAP_PORTS, _caps(**change)))
    res = lvs.compare(cap_cell[1] / "capbank.gds", tmp_path / "wrong.spice")
    assert not res.match
    assert any(expect in p for p in res.problems), res.summary()


@pytest.mark.klayout
def test_macro_assembles_capacitors_beside_resistors(tmp_path):
    """A capacitor bank and a resistor cell in one macro: the macro's met3 routing meets no
    plate (own DRC capm.2b_met3), and LVS sees all five devices."""
    from layouts.macro import BLOCK_GAP, Instance, assemble
    from layouts.passive_layout import draw_passive_cell
    from pdk import drc, lvs, pcells

    assert BLOCK_GAP >= pcells.R("capm.2b")  # a neighbour block's met3 stays clear of the plates
    ly = pcells.new_layout()
    caps = draw_passive_cell("capbank", CAP_PORTS, _caps(), ly)
    resistors = [Resistor("R1", X35, "in0", "n1", 0.35, passives.resistor_length(1e6)),
                 Resistor("R2", X35, "n1", "n2", 0.35, passives.resistor_length(200e3))]
    mixed = draw_passive_cell("rc", ("in0", "n1", "n2", "vss"), resistors + _caps(), ly)
    macro = assemble("rcmacro", ("in0", "n1", "n2", "vss"),
                     [Instance("U0", mixed, {p: p for p in mixed.pins}), Instance("U1", caps, {p: p for p in caps.pins})], ly)
    macro.save(tmp_path / "m.gds", tmp_path / "m.spice")
    res = drc.run_own(tmp_path / "m.gds")
    assert res.total == 0, res.summary()
    res = lvs.compare(tmp_path / "m.gds", tmp_path / "m.spice")
    assert res.match and res.layout_devices == 5, res.summary()  # the two banks' caps merge in parallel


@pytest.mark.klayout
def test_mass_bank_of_an_r2nn_size_is_clean_and_near_square(tmp_path):
    """Eight masses of 1 … 10 pF (22 … 71 µm plates) and a ring of eight 1 MΩ springs:
    within 2 : 1, plates ≥ 40 % of the cell (43 % drawn), own DRC 0, LVS clean."""
    from layouts.passive_layout import draw_passive_cell
    from pdk import drc, lvs

    devs = [Capacitor(f"C{i}", passives.CAPACITOR, f"x{i}", "vss", *passives.capacitor_size(float(f)))
            for i, f in enumerate(np.geomspace(1e-12, 10e-12, 8))]
    devs += [Resistor(f"R{i}", X35, f"x{i}", f"x{(i + 1) % 8}", 0.35, passives.resistor_length(1e6)) for i in range(8)]
    cell = draw_passive_cell("masses", tuple(f"x{i}" for i in range(8)) + ("vss",), devs)
    cell.save(tmp_path / "m.gds", tmp_path / "m.spice")
    bb = cell.top.dbbox()
    assert max(bb.width(), bb.height()) <= 2.0 * min(bb.width(), bb.height())
    assert sum(d.w * d.l for d in devs[:8]) / (bb.width() * bb.height()) >= 0.40
    res = drc.run_own(tmp_path / "m.gds")
    assert res.total == 0, res.summary()
    res = lvs.compare(tmp_path / "m.gds", tmp_path / "m.spice")
    assert res.match and res.layout_devices == 16, res.summary()
