"""`bmru noise`: probing keeps the compiled circuit, the S arithmetic and its floor, the
operating points of the flip study, a short real run, bad input."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from flows.bmru import noise
from flows.bmru.model import run_network
from pdk.ngspice import simulate
from tests.conftest import run_bmru


def _devices(circuit, rename) -> Counter:
    """Every transistor of a circuit as (model, W, L, m-expanded nets), nets renamed."""
    out = Counter()
    for block in circuit.blocks:
        for dev in block.cell.devices():
            nets = tuple(rename(block.nets.get(n, f"{block.name}.{n}")) for n in (dev.d, dev.g, dev.s, dev.b))
            out[(dev.device, dev.w, dev.l, nets)] += 1
    return out


@pytest.mark.parametrize("linear", [False, True])
def test_probing_keeps_every_device_on_its_net(linear):
    """The probed chain is the compiled chain: the same transistors between the same nets
    once the 0 V probes are shorted (only the ReLU diode changed subckt)."""
    circuit = noise.build_circuit(noise.chain_network(3, 0.25, 0.625, linear=linear), diode_units=noise.DIODE_UNITS)
    probed = noise.probed(circuit)

    def short(net: str) -> str:
        for suffix in ("_src", "_inj"):
            net = net.removesuffix(suffix)
        if net.endswith("_o") and net.startswith("l"):
            return net[:-2] + "_y0"
        return net

    assert _devices(probed, short) == _devices(circuit, short)
    flat = noise.flat_netlist(probed)
    assert f".subckt {circuit.network.name} " not in flat and f".ends {circuit.network.name}\n" not in flat


def _trace(inp, out):
    return {"t": np.arange(inp.shape[1]), "in": np.asarray(inp), "out": np.asarray(out)}


def test_suppression_arithmetic_and_floor():
    """S = (ΔI_in/β_hi) / (ΔI_out/α) from RMS deviations; a deviation within the floor
    gives a finite lower bound, never infinity."""
    n = 1000
    rng = np.random.default_rng(0)
    clean_in, clean_out = np.full((2, n), 0.9e-9), np.full((2, n), 1e-9)
    dev_in = rng.standard_normal((2, n)) * 0.05e-9
    dev_out = np.stack([rng.standard_normal(n) * 1e-13, np.zeros(n)])
    case = noise.Case("bmru", "hold", 0.25, 0.625, "high", 1.0, 0.05)
    rows = noise.boundaries(_trace(clean_in + dev_in, clean_out + dev_out), _trace(clean_in, clean_out),
                            _trace(clean_in, clean_out), case)
    rms = lambda x: float(np.sqrt(np.mean(x ** 2)))
    expected = (rms(dev_in[0]) / 1e-9) / (rms(dev_out[0]) / 1e-9)
    assert rows[0]["S"] == pytest.approx(expected) and not rows[0]["bounded"]
    assert rows[1]["bounded"] and np.isfinite(rows[1]["S"])
    assert rows[1]["S"] == pytest.approx((rms(dev_in[1]) / 1e-9) / (noise.FLOOR_FACTOR * noise.ABSTOL / 1e-9))
    assert rows[0]["flips"] == 0 and rows[0]["state"] == "high"


def test_flip_families_sit_at_their_distance():
    """Low state at β_hi − d, high state at β_lo + d (the reference model of the chain)."""
    spec = noise.NoiseSpec(layers=3, distances=(0.125, 0.3125))
    for case in noise.cases(spec):
        if case.kind != "bmru" or case.level or not case.family.startswith("d"):
            continue
        d = float(case.family[1:])
        network = noise.chain_network(3, case.w, case.b)
        drive = run_network(network, np.array([[case.x0]])).pre_activations[1][0, 0]
        # layer 1 reads layer 0, which the input put in the same state (high: x0 = α)
        expected = noise.BETA_HI - d if case.state == "low" else noise.BETA_LO + d
        if case.state == "low":
            assert drive == pytest.approx(expected)
        else:  # the model starts low: from h0 = 0 the high state needs layer 0 to switch
            assert case.b + case.w * noise.ALPHA == pytest.approx(expected)


@pytest.mark.ngspice
def test_hold_band_suppression_beats_linear_chain():
    """One short run of a 2-layer chain in the hold band (high state, where the output
    deviation is resolved above the solver floor) against the linear chain at the same
    operating point: S ≥ 20 and far above the linear chain's, whose S is near 1 and whose
    error grows along the chain."""
    spec = noise.NoiseSpec(layers=2, window=8e-3)
    w, b = noise.FAMILIES["hold"]
    points = {"bmru": noise.Case("bmru", "hold", w, b, "high", noise.ALPHA, 0.05),
              "linear": noise.Case("linear", "hold", 1.0, 0.0, "high", b + w * noise.ALPHA, 0.05)}
    rows = {}
    for kind, case in points.items():
        circuit = noise.build_circuit(noise.chain_network(2, case.w, case.b, linear=kind == "linear"),
                                      diode_units=noise.DIODE_UNITS)
        run = {c.key: noise.traces(simulate(noise.deck(circuit, c, spec), c.key)[0], c, 2, spec)
               for c in (case, replace(case, level=0.0), replace(case, level=0.0, variant="grid"))}
        rows[kind] = noise.boundaries(run[case.key], run[replace(case, level=0.0).key],
                                      run[replace(case, level=0.0, variant="grid").key], case)
    for row in rows["bmru"]:
        assert row["state"] == "high" and row["flips"] == 0 and not row["bounded"]
        assert row["S"] >= 20
        assert row["S"] > 100 * max(r["S"] for r in rows["linear"])
    assert all(0.5 < r["S"] < 3 for r in rows["linear"])
    assert rows["linear"][1]["output_dev"] > 1.1 * rows["linear"][0]["output_dev"]


@pytest.mark.slow
@pytest.mark.ngspice
def test_quick_noise_run(tmp_path):
    """The CLI on a 2-layer chain at one level (≈ 3 CPU-minutes): the BMRU boundaries suppress (S ≥ 20, far above the
    linear chain, whose S is near 1 by construction), noise accumulates along the linear
    chain, and nothing flips far from the thresholds."""
    out = tmp_path / "noise"
    result = run_bmru("noise", "-o", out, "--layers", "2", "--levels", "0.05", "--distances", "0.125",
                      "--workers", "1", timeout=1200)
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "noise.json").read_text())
    assert (out / "noise.png").stat().st_size > 0
    assert data["schema"] == "bmru-noise/1" and data["reproducible"]
    regions = {(row["region"], row["state"]) for row in data["boundaries"]}
    assert regions == {("below_beta_lo", "low"), ("hold", "low"), ("hold", "high"), ("above_beta_hi", "high")}
    assert len(data["boundaries"]) == 4 * 2
    for row in data["boundaries"]:
        assert np.isfinite(row["S"]) and row["S"] > 0
        # the noise reached the cell: measured input deviation ≈ the injected level
        assert 0.02 < row["input_dev"] < 0.08
        # the set/reset pulse put every cell in the state its case names
        assert (row["output_clean"] > 0.5) == (row["state"] == "high")
    assert data["suppression_min"] >= 20
    assert data["suppression_min"] > 10 * data["linear_suppression_max"]
    assert 0.5 < data["linear_suppression_min"] <= data["linear_suppression_max"] < 3
    for g in data["error_growth"]:
        assert g["linear_growth"] > 1.1  # two independent sources: ≈ √2
        assert g["linear_output_dev"][-1] > 100 * g["bmru_output_dev"][-1]
    far = [c for c in data["flip_probability"] if c["distance"] > 0.3]
    assert far and all(c["probability"] == 0 for c in far)
    assert all(0 < r["rms_over_beta_hi"] < 0.05 for r in data["device_noise"])


@pytest.mark.ngspice
def test_trnoise_engine_matches_the_pwl_process():
    """ngspice's own trnoise source and the seeded PWL samples inject the same RMS."""
    spec = noise.NoiseSpec(layers=2, window=4e-3)
    case = noise.Case("linear", "hold", 1.0, 0.0, "high", 0.875, 0.05)
    circuit = noise.build_circuit(noise.chain_network(2, 1.0, 0.0, linear=True), diode_units=noise.DIODE_UNITS)
    dev = {}
    for engine in noise.ENGINES:
        s = replace(spec, engine=engine)
        clean = noise.traces(simulate(noise.deck(circuit, replace(case, level=0.0), s), "clean")[0], case, 2, s)
        noisy = noise.traces(simulate(noise.deck(circuit, case, s), engine)[0], case, 2, s)
        dev[engine] = float(np.sqrt(np.mean((noisy["in"] - clean["in"]) ** 2)))
    assert dev["trnoise"] == pytest.approx(dev["pwl"], rel=0.35)
    assert dev["pwl"] == pytest.approx(0.05e-9 * np.sqrt(2 / 3), rel=0.35)


@pytest.mark.parametrize("args, option", [
    (("--levels", "0,0.1"), "--levels"),
    (("--levels", "a"), "--levels"),
    (("--layers", "1"), "--layers"),
    (("--distances", "0.5"), "--distances"),
    (("--workers", "0"), "--workers"),
])
def test_bad_input_exit_2(tmp_path, args, option):
    result = run_bmru("noise", "-o", tmp_path / "x", *args)
    assert result.returncode == 2
    assert option in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
@pytest.mark.ngspice
def test_default_noise_study(tmp_path):
    """Issue 7: suppression_min ≥ 20 over every boundary of the default 4-layer chain at
    every default level; flips become likelier nearer the threshold; the linear chain's
    error grows with depth while the BMRU chain's does not."""
    out = tmp_path / "noise"
    result = run_bmru("noise", "-o", out, timeout=3600)
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "noise.json").read_text())
    assert data["suppression_min"] >= 20
    top = max(data["levels"])
    curve = sorted((c for c in data["flip_probability"] if c["level"] == top), key=lambda c: c["distance"])
    assert curve[0]["probability"] >= curve[-1]["probability"]
    assert curve[-1]["probability"] == 0
    for g in data["error_growth"]:
        assert g["linear_growth"] > 1.5  # ≈ √layers for independent sources
        assert g["bmru_growth"] is None or g["bmru_growth"] < 1.1
        assert g["linear_output_dev"][-1] > 100 * max(g["bmru_output_dev"])
