"""The circuit-aware Monte Carlo (`bmru pvt --engine model`, flows/bmru/mismatch.py): its
offsets are the flat decks', its nominal forward is the circuit-aware model's, and on the
same samples it predicts what ngspice gives."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cells import corrections
from flows.bmru.circuit_model import corrected_network
from flows.bmru.mismatch import MismatchModel, nominal_anchor
from flows.bmru.model import run_network
from flows.bmru.random_networks import random_user_case
from flows.bmru.network import BmruLayer
from flows.bmru.simulate import PASS_AGREEMENT, Bench
from pdk import flat
from pdk.models import Conditions
from pdk.ngspice import Job, simulate_many
from tests.conftest import run_bmru

ROOT = Path(__file__).resolve().parents[1]
FLIPFLOP = ROOT / "examples" / "flipflop.yaml"
KWS = ROOT / "examples" / "kws_d4.yaml"
KWS_SEQUENCE = ROOT / "examples" / "kws" / "go_en-us-nyc-m8_s177_p45_0.csv"


def test_each_sample_draws_the_offsets_of_the_flat_deck_of_its_seed():
    case = random_user_case(2)
    bench = Bench.of(case.network, case.inputs)
    model = MismatchModel(bench.circuit)
    for seed in (1, 9):
        deck = bench.offsets(seed)
        units = [u for members in model._units for u in members]
        drawn = model._sigma * flat.normals(seed, model._keys)[0]
        assert len(units) > 10 and all(deck[u.path] == pytest.approx(v, abs=1e-15) for u, v in zip(units, drawn))


@pytest.mark.parametrize("seed", range(8))
def test_without_mismatch_it_is_the_circuit_aware_model(seed):
    """User-shaped networks (skips from the input and from a dense layer, ReLU and linear
    last layers): per-term weights and the low-state output reproduce `corrected_network`."""
    case = random_user_case(seed)
    bench = Bench.of(case.network, case.inputs)
    states, outputs = MismatchModel(bench.circuit).run(None, case.inputs)
    expected = run_network(corrected_network(bench.circuit.mapping.mapped, corrections.at(corrections.load())),
                           case.inputs)
    cells = [a > 0 for layer, a in zip(case.network.layers, expected.activations) if isinstance(layer, BmruLayer)]
    assert (states[0] == np.concatenate(cells, axis=-1)).all()
    # corrected_network drops the low-state leakage where it reaches a pin unread (≈ 2e-5 units);
    # the model carries it, as the circuit does
    np.testing.assert_allclose(outputs[0], expected.output, atol=1e-4)


def test_mismatch_moves_the_parameters_and_samples_differ():
    bench = Bench.load(FLIPFLOP, ROOT / "examples" / "flipflop_mixed.csv")
    model = MismatchModel(bench.circuit)
    nominal, drawn = model.parameters(None), model.parameters([1, 2])
    for key in ("alpha", "beta_lo", "beta_hi"):
        moved = drawn[1][key][:, 0] / nominal[1][key][0, 0] - 1
        assert (1e-4 < np.abs(moved)).all() and (np.abs(moved) < 0.2).all(), key  # a few % for a few units
    assert not np.allclose(drawn[0]["weight"][0][0], drawn[0]["weight"][0][1])
    again = model.parameters([1])[0]["weight"][0]
    np.testing.assert_array_equal(again[0], drawn[0]["weight"][0][0])  # the same seed, the same sample


def _cross_check(bench: Bench, seeds: list[int]) -> dict:
    model = MismatchModel(bench.circuit)
    anchor = nominal_anchor(bench, model)
    states, outputs = model.run(seeds, bench.inputs, anchor)
    _, nominal = model.run(None, bench.inputs, anchor)
    jobs = [Job(f"{bench.network.name}_x{s}", bench.deck(Conditions(mismatch=True, seed=s))) for s in seeds]
    plots = simulate_many(jobs, workers=2, progress=False)
    rows = []
    for i, job in enumerate(jobs):
        plot = plots[job.name][0]
        spice_states, spice_outputs = bench.cell_states(plot, Conditions()), bench.outputs(plot)
        rows.append({"model": bench.states_of(states[i])["agreement"] >= PASS_AGREEMENT,
                     "ngspice": bench.states_of(spice_states)["agreement"] >= PASS_AGREEMENT,
                     "differ": float((states[i] != spice_states).mean()),
                     "moved": float(np.abs(spice_outputs - nominal[0]).max()),
                     "gap": float(np.abs(outputs[i] - spice_outputs).max())})
    return {"pass_fail_agreement": np.mean([r["model"] == r["ngspice"] for r in rows]),
            "ngspice_failures": sum(not r["ngspice"] for r in rows),
            "differ_max": max(r["differ"] for r in rows),
            "gap_over_moved": np.median([r["gap"] for r in rows]) / np.median([r["moved"] for r in rows])}


@pytest.mark.ngspice
def test_model_predicts_ngspice_on_40_flipflop_samples():
    """Same seeds through ngspice and the model: pass/fail agree ≥ 95 %, states differ on
    ≤ 1 %, and the model carries most of each sample's output move (measured: gap 0.005–0.016
    against moves of 0.024–0.074 units; without the per-device factors the gap is the move)."""
    check = _cross_check(Bench.load(FLIPFLOP, ROOT / "examples" / "flipflop_mixed.csv"), list(range(1, 41)))
    assert check["pass_fail_agreement"] >= 0.95
    assert check["differ_max"] <= 0.01
    assert check["gap_over_moved"] < 0.5


@pytest.mark.slow
@pytest.mark.ngspice
def test_model_predicts_ngspice_pass_and_fail_on_kws_d4_samples():
    """kws_d4 (M = 8): seeds 1–5 and the first 5 seeds the model fails, through ngspice."""
    bench = Bench.load(KWS, KWS_SEQUENCE, diode_units=8)
    model = MismatchModel(bench.circuit)
    states, _ = model.run(np.arange(1, 401), bench.inputs, nominal_anchor(bench, model))
    failing = [s for s, st in zip(range(1, 401), states)
               if s > 5 and bench.states_of(st)["agreement"] < PASS_AGREEMENT][:5]
    assert len(failing) == 5
    check = _cross_check(bench, [1, 2, 3, 4, 5] + failing)
    assert check["pass_fail_agreement"] >= 0.9 and check["ngspice_failures"] >= 4


@pytest.mark.ngspice
def test_pvt_engine_model_writes_the_pvt_files(tmp_path):
    out = tmp_path / "pvt"
    result = run_bmru("pvt", FLIPFLOP, "--inputs", ROOT / "examples" / "flipflop_mixed.csv", "-o", out,
                      "--engine", "model", "--mc", "500", "--corners", "tt,ff", "--temps=27", "--vdds", "1.8")
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "pvt.json").read_text())
    assert data["engine"] == "model" and len(data["runs"]) == 502 and data["mc_power"] is None
    assert data["mc_seeds"][:2] == [1, 2] and all(r["power_W"] is None for r in data["runs"])
    assert data["yield"]["mc"]["runs"] == 500 and (out / "pvt_mc.png").exists()
    md = (out / "pvt.md").read_text()
    assert "Engine: circuit-aware model" in md and "the table lists the PVT points and the failing samples" in md


def test_pvt_engine_model_refuses_a_scheduler(tmp_path):
    result = run_bmru("pvt", FLIPFLOP, "--inputs", ROOT / "examples" / "flipflop_mixed.csv", "-o", tmp_path / "o",
                      "--engine", "model", "--scheduler", "tcp://localhost:8786")
    assert result.returncode == 2 and "--scheduler" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.ngspice
def test_pvt_engine_model_refuses_an_uncharacterized_condition(tmp_path):
    result = run_bmru("pvt", FLIPFLOP, "--inputs", ROOT / "examples" / "flipflop_mixed.csv", "-o", tmp_path / "o",
                      "--engine", "model", "--corners", "tt", "--temps", "50", "--vdds", "1.8")
    assert result.returncode == 2 and "no corrections for 'tt 50C 1.8V'" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "o").exists()
