"""Flat simulation decks (pdk/flat.py): the same drain currents as the wheel's device subckts
for every geometry the cells use, at every corner and temperature; merging and mismatch
offsets reproducible per device; σ of the project's draws equal to the `_mm` models'."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from flows.bmru.circuit import build_circuit
from flows.bmru.network import load_network
from flows.bmru.sweep import sweep_circuit, sweep_network
from pdk import flat, unit
from pdk.devices import MODELS
from pdk.models import CORNERS, TEMPERATURES, Conditions
from pdk.ngspice import Job, simulate, simulate_many

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
VGS_STEP = 0.05
VDS = (0.1, 0.9)


def cell_geometries() -> list[tuple[str, float, float]]:
    """Every (device, W, L) the shipped examples' and the power sweep's cells instantiate,
    and the unit devices of pdk.unit."""
    seen = {(u.device, u.w, u.l): None for u in (unit.NMOS, unit.PMOS, unit.INVERTER, unit.NSWITCH, unit.PSWITCH)}
    circuits = [build_circuit(load_network(EXAMPLES / "kws_d4.yaml"), diode_units=8),
                build_circuit(load_network(EXAMPLES / "flipflop.yaml")), sweep_circuit(sweep_network(4))]
    for circuit in circuits:
        for block in circuit.blocks:
            for d in block.cell.devices():
                seen[(d.device, d.w, d.l)] = None
    return list(seen)


@pytest.mark.ngspice
def test_drain_currents_equal_the_wheel_subckts_at_every_corner_and_temperature():
    geometries = cell_geometries()
    assert len(geometries) >= 5
    jobs, points = [], []
    for corner in CORNERS:
        for temp in TEMPERATURES:
            c = Conditions(corner, temp=temp)
            key = f"{corner}_{temp:g}"
            jobs.append(Job(f"sub_{key}", flat.iv_deck(geometries, c.lines(), VGS_STEP, VDS)))
            jobs.append(Job(f"flat_{key}", flat.flatten(flat.iv_deck(geometries, c.lines(fet_subckts=False), VGS_STEP, VDS))[0]))
            points.append(key)
    assert not any(f"{MODELS[d]} W=" in jobs[1].netlist for d, _, _ in geometries)  # no subckt instance left
    plots = simulate_many(jobs, workers=2, progress=False)
    worst = 0.0
    for key in points:
        sub, fl = plots[f"sub_{key}"][0], plots[f"flat_{key}"][0]
        for i in range(len(geometries)):
            for j in range(len(VDS)):
                a, b = np.abs(sub[f"i(vd{i}_{j})"]), np.abs(fl[f"i(vd{i}_{j})"])
                assert a.max() > 1e-6, (key, geometries[i])  # the sweep reaches strong inversion
                on = a > 1e-13  # below: gmin leakage, not the device
                worst = max(worst, float(np.max(np.abs(b[on] / a[on] - 1))))
    assert worst < 1e-3, f"flat cards differ from the subckt models by up to {worst * 100:.3g} %"


def test_cards_are_read_from_the_wheel_one_per_geometry():
    nfet = flat.fet_model("nfet_01v8")
    assert len(nfet.bins) == 48 and nfet.subckt == MODELS["nfet_01v8"]
    text = flat.card("pfet_01v8", 4.0, 16.0)
    assert text.count(".model ") == 1 and "pmos" in text and "swx_nrds" not in text
    # the bin holds the geometry (µm → m)
    b = flat.fet_model("pfet_01v8").bin(0.42, 1.0)
    assert b.lmin <= 1e-6 * (1 + 1e-9) and 1e-6 < b.lmax and abs(b.wmin - 0.42e-6) < 1e-15
    with pytest.raises(ValueError, match="no model bin"):
        flat.fet_model("nfet_01v8").bin(0.1, 0.15)


NETLIST = """* two cells
.subckt pair a b vss
Xm0 a a vss vss sky130_fd_pr__nfet_01v8 W=4 L=8
Xm1 a a vss vss sky130_fd_pr__nfet_01v8 W=4 L=8
Xm2 b a vss vss sky130_fd_pr__nfet_01v8 W=4 L=8
Xs0 b a vss vss sky130_fd_pr__nfet_01v8 W=0.42 L=1
.ends pair
.subckt top a1 b1 a2 b2 vss
Xp1 a1 b1 vss pair
Xp2 a2 b2 vss pair
.ends top
"""


def _deck(seed=None) -> tuple[str, dict]:
    header = Conditions("tt").lines(fet_subckts=False)
    return flat.flatten("* t\n" + header + NETLIST + "Xtop a1 b1 a2 b2 0 top\n.end\n", seed)


def test_flatten_merges_parallel_units_and_writes_each_card_once():
    deck, offsets = _deck()
    assert offsets == {}
    assert deck.count(".model ") == 2  # two geometries
    assert deck.index(".model ") > deck.index("models_global")  # cards after the parameters they name
    body = deck.split(".subckt pair", 1)[1].split(".ends", 1)[0]
    assert "Mm0 a a vss vss sky130_fd_pr__nfet_01v8__w4_l8" in body and " m=2" in body
    assert "sky130_fd_pr__nfet_01v8 W=" not in deck and "Xp1 a1 b1 vss pair" in deck


def test_mismatch_offsets_are_per_unit_device_and_reproducible():
    deck, offsets = _deck(seed=7)
    again, same = _deck(seed=7)
    _, other = _deck(seed=8)
    assert deck == again and offsets == same and offsets != other
    assert sorted(offsets) == sorted(f"xtop.{p}.{m}" for p in ("xp1", "xp2") for m in ("xm0", "xm1", "xm2", "xs0"))
    assert len(set(offsets.values())) == len(offsets)
    # every instance of `pair` is its own copy carrying its units' offsets; merged units the mean
    assert deck.count(".subckt pair__mm") == 2 and ".subckt pair " not in deck
    first = deck.split(".subckt pair__mm", 1)[1].split(".ends", 1)[0]
    path = first.split()[0]
    group = flat.combine([offsets["xtop.xp1.xm0"], offsets["xtop.xp1.xm1"]], "nfet_01v8")
    assert f"{group:+.6e}}}" in first and " m=2" in first, path
    # the offset of a device does not depend on the deck it sits in
    assert flat.offset(7, "xtop.xp2.xs0", "nfet_01v8", 0.42, 1.0) == offsets["xtop.xp2.xs0"]


def test_a_merged_group_carries_the_weak_inversion_sum_of_its_units():
    """k units of offsets Δᵢ pass Σ e^{−κΔᵢ}: the group's offset lies below the mean for an
    nfet (a lower threshold dominates), above it for a pfet, and equals Δ when all agree."""
    assert flat.combine([2e-3] * 4, "nfet_01v8") == pytest.approx(2e-3, rel=1e-9)
    spread = [-3e-3, 0.0, 1e-3, 4e-3]
    n, p = flat.combine(spread, "nfet_01v8"), flat.combine(spread, "pfet_01v8")
    assert n < np.mean(spread) < p
    # the nfet's current: the group's equals the summed units' (exactly, by construction)
    kappa = 1 / (flat.SLOPE_FACTOR["n"] * 8.617333262e-5 * 300.15)
    assert np.exp(-kappa * n) == pytest.approx(np.mean(np.exp(-kappa * np.array(spread))), rel=1e-9)


def test_sigma_follows_the_wheel_formula():
    """The wheel's expressions as its file writes them (models_fet.spice, models_global.spice):
    σ = A/√(W·L·mult), A = 5.856 mV·µm (pfet) and 3.356 mV·µm (nfet), the nfet's scaled by
    the geometry factors of its nominal shift as well."""
    nfet = 3.356e-3 / 2 * (0.008 * 8 / 2 + 0.992) * (0.035 * 7 / 2 + 0.965) * (0.001 * 56 / 4 + 0.999)
    assert flat.sigma("nfet_01v8", 2.0, 2.0) == pytest.approx(nfet, rel=1e-12)
    assert flat.sigma("pfet_01v8", 8.0, 8.0) == pytest.approx(5.856e-3 / 8, rel=1e-12)
    assert flat.sigma("pfet_01v8", 4.0, 16.0, mult=4) == pytest.approx(flat.sigma("pfet_01v8", 4.0, 16.0) / 2)


def _delvto(device: str, w: float, l: float, count: int, seed: int, mismatch: bool = True) -> np.ndarray:
    """`delvto` of `count` instances of the wheel's models (`_mm` with `mismatch`)."""
    prefix = f"m.x{{}}.m{MODELS[device]}"
    lines = [Conditions("tt", mismatch=mismatch, seed=seed).lines(), "Vd d 0 0.9", "Vg g 0 0.4"]
    lines += [f"X{i} d g 0 0 {MODELS[device]} W={w:g} L={l:g}" for i in range(count)]
    lines += [".save " + " ".join(f"@{prefix.format(i)}[delvto]" for i in range(count)), ".op", ".end"]
    plot = simulate("* mm draws\n" + "\n".join(lines) + "\n", f"mm_{device}_{seed}")[0]
    return np.array([plot[f"v(@{prefix.format(i)}[delvto])"][0] for i in range(count)])


def _sigma_check(device: str, w: float, l: float, decks: int, per_deck: int, tolerance: float):
    expected = flat.sigma(device, w, l)
    wheel = np.concatenate([_delvto(device, w, l, per_deck, seed) for seed in range(1, decks + 1)])
    nominal = _delvto(device, w, l, 1, 1, mismatch=False)[0]
    ours = np.array([flat.offset(3, f"x.dev{i}", device, w, l) for i in range(len(wheel))])
    for name, sample in (("ngspice _mm", wheel - nominal), ("project", ours)):
        assert abs(sample.std(ddof=1) / expected - 1) < tolerance, (name, sample.std(ddof=1), expected)
        assert abs(sample.mean()) < 4 * expected / np.sqrt(len(sample)), name


@pytest.mark.ngspice
@pytest.mark.parametrize("device,w,l", [("nfet_01v8", 4.0, 8.0), ("pfet_01v8", 4.0, 16.0)])
def test_project_draws_match_the_mm_models(device, w, l):
    """200 draws each (σ ±15 %); the slow test below takes 1000."""
    _sigma_check(device, w, l, decks=1, per_deck=200, tolerance=0.15)


@pytest.mark.slow
@pytest.mark.ngspice
@pytest.mark.parametrize("device,w,l", [("nfet_01v8", 4.0, 8.0), ("pfet_01v8", 4.0, 16.0),
                                        ("nfet_01v8", 0.42, 1.0), ("pfet_01v8", 0.42, 1.0),
                                        ("nfet_01v8", 1.0, 2.0)])
def test_project_draws_match_the_mm_models_over_1000_draws(device, w, l):
    _sigma_check(device, w, l, decks=4, per_deck=250, tolerance=0.05)


@pytest.mark.ngspice
def test_flat_bench_deck_reproduces_the_subckt_deck():
    """`bmru simulate`'s transient of the flip-flop in both forms: same states, same outputs."""
    from flows.bmru.simulate import Bench

    runs = {}
    for form in (True, False):
        bench = Bench.load(EXAMPLES / "flipflop.yaml", EXAMPLES / "flipflop_mixed.csv", flat=form)
        deck = bench.deck(Conditions())
        assert (".model sky130_fd_pr__nfet_01v8__w4_l8" in deck) == form
        plot = simulate(deck, f"flipflop_{'flat' if form else 'subckt'}")[0]
        runs[form] = bench.outputs(plot), bench.states(plot, Conditions())
    assert runs[True][1] == runs[False][1] and runs[True][1]["agreement"] == 1.0
    scale = np.abs(runs[False][0]).max()
    assert np.abs(runs[True][0] - runs[False][0]).max() / scale < 1e-3


def test_bench_offsets_are_the_ones_its_mismatch_deck_applies():
    from flows.bmru.simulate import Bench

    bench = Bench.load(EXAMPLES / "flipflop.yaml", EXAMPLES / "flipflop_set.csv")
    offsets = bench.offsets(4)
    assert len(offsets) == bench.circuit.device_count()["total"] and offsets == bench.offsets(4)
    deck = bench.deck(Conditions(mismatch=True, seed=4))
    # units without a parallel twin carry their own offset in the deck (groups their combination)
    written = [float(x) for x in re.findall(r"delvto=\{dvt_\w+?([+-]\d\.\d+e[+-]\d+)\}", deck)]
    assert written and sum(any(abs(v - w) < 1e-9 for w in written) for v in offsets.values()) >= len(written) // 2
    assert offsets != bench.offsets(5)
