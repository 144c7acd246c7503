"""The R²NN SKY130 realisation: the Gm-C mapping's realised values against the network,
the circuit in ngspice against the model (resonances, waveforms), and the CLI's compile
and simulate of a lattice."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from flows import cli
from flows.r2nn import bench, model
from flows.r2nn.analog import correlation, peaks
from flows.r2nn.circuit import build_circuit
from flows.r2nn.lattice import random_lattice
from flows.r2nn.mapping import map_network, mapped_frequencies, node_capacitor_range, summary
from flows.r2nn.network import R2nnNetwork


def chain(nodes: int, seed: int = 0) -> R2nnNetwork:
    """A chain wall–1–…–n–wall of random masses, springs and dampers (Q 10…50), node 0
    clamped: shapes the random 3×3 lattices do not have."""
    rng = np.random.default_rng(seed)
    m = rng.uniform(0.02, 0.08, nodes + 1)
    f = np.exp(rng.uniform(np.log(80), np.log(900), nodes + 1))
    k = m * (2 * np.pi * f) ** 2
    springs = [[i, i + 1, k[i]] for i in range(nodes)] + [[nodes, -1, k[nodes]]]
    dampers = [[i, -1, m[i] * 2 * np.pi * f[i] / rng.uniform(10, 50)] for i in range(1, nodes + 1)]
    return R2nnNetwork(f"chain{nodes}", 10240.0, m, np.array(springs), np.array(dampers), (0,), 1,
                       float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2)), (nodes,))


@pytest.mark.parametrize("network", [random_lattice(s) for s in range(5)] + [chain(1), chain(3, 1), chain(5, 2)],
                         ids=lambda n: n.name)
def test_mapped_values_keep_every_mode(network):
    """Quantized gms and fitted capacitors: every mode of the realised lattice within
    0.3 % of the network's (measured ≤ 0.139 %, random lattice 1; ≤ 0.45 % when node
    capacitors stopped at 10 pF and rows were not scaled to round well)."""
    mapping = map_network(network)
    target = np.array([m.frequency for m in model.modes(network)[0]])
    realised = mapped_frequencies(mapping)
    assert len(realised) == len(target)
    assert np.abs(realised / target - 1).max() < 3e-3
    for cap in mapping.caps:
        assert 0.3e-12 < cap.value <= node_capacitor_range(network)[1], cap
    assert all(o.tail > 0 and o.tiny + o.fine + o.coarse >= 1 for o in mapping.otas)
    roles = {o.role for o in mapping.otas}
    assert {"spring", "integrator", "input"} <= roles
    s = summary(mapping)
    assert [(t["gm_S"], t["tail_A"]) for t in s["transconductors"]] == [(o.gm, o.tail) for o in mapping.otas]
    assert len(s["capacitors"]) == 2 * len(network.free) and len(s["modes"]) == len(target)


@pytest.mark.ngspice
@pytest.mark.parametrize("network", [chain(1), chain(2, 3)], ids=lambda n: n.name)
def test_circuit_resonances_match_the_modes(network):
    """The .ac of the transistor-level lattice: each of the network's modes within 1 %
    (measured −0.25 % for one node, −0.3 %/−0.05 % for two)."""
    circuit = build_circuit(network)
    modes = [m.frequency for m in model.modes(network)[0]]
    freq, volts = bench.run_ac(circuit, 0.7 * modes[0], 1.3 * modes[-1], 1000)
    out = network.free.index(network.outputs[0])
    found = peaks(freq, np.abs(volts[:, out]))
    for f in peaks(freq, np.abs(model.mobility(network, freq)[:, out])):
        assert np.abs(found / f - 1).min() < 0.01, (f, found)


@pytest.mark.ngspice
@pytest.mark.klayout
def test_plates_leave_out_the_drawn_wiring():
    """`fit_to_layout`: each node's plate + the wiring its own drawing adds is the capacitance
    the mapping sized (the final drawing's wiring within 0.1 % of each node's capacitance
    of what its plate left out), and with every net's extracted wiring on its node the .ac
    keeps each mode within 1 %, where the plates sized without it are not (a three-node
    chain, wiring up to 5.8 % of a node: measured 0.14 % fitted, 2.5 % not)."""
    from flows import postlayout
    from flows.r2nn.circuit import fit_to_layout

    network = chain(3, 4)
    schematic = build_circuit(network)
    fitted = fit_to_layout(schematic, postlayout.wiring)
    assumed = dict(fitted.mapping.options.wiring)
    drawn = postlayout.wiring(fitted)
    sized = {c.node: c.value for c in schematic.mapping.caps}
    assert max(assumed[n] / sized[n] for n in sized) > 0.02
    for plate in fitted.mapping.caps:
        assert plate.value + assumed[plate.node] == pytest.approx(sized[plate.node], rel=1e-9)
        assert abs(drawn[plate.node] - assumed[plate.node]) < 1e-3 * sized[plate.node]
    modes = [m.frequency for m in model.modes(network)[0]]
    out = network.free.index(network.outputs[0])
    errors = []
    for circuit, wiring in ((fitted, drawn), (schematic, postlayout.wiring(schematic))):
        freq, volts = bench.run_ac(circuit, 0.7 * modes[0], 1.3 * modes[-1], 1000,
                                   wiring=postlayout.capacitor_lines(circuit, wiring))
        found = peaks(freq, np.abs(volts[:, out]))
        errors.append(max(np.abs(found / f - 1).min()
                          for f in peaks(freq, np.abs(model.mobility(network, freq)[:, out]))))
    assert errors[0] < 0.01 and errors[1] > 0.015, errors


def test_flat_decks_draw_the_mismatch_of_their_seed():
    """A lattice's flat transient deck: nominal without a seed; with one, every unit
    transistor's threshold offset, the same for the same seed and other for another."""
    from pdk.models import Conditions

    circuit = build_circuit(chain(2, 3))
    u = np.sin(np.arange(50) / 5)
    nominal = bench.transient_deck(circuit, u, flat=True)
    decks = [bench.transient_deck(circuit, u, Conditions(mismatch=True, seed=s), flat=True) for s in (1, 1, 2)]
    assert decks[0] == decks[1] != decks[2] and nominal not in decks
    shifted = re.compile(r"delvto=\{\w+[+-]\d")
    assert "delvto={" in nominal and not shifted.search(nominal)
    assert len(shifted.findall(decks[0])) == decks[0].count("delvto={") > 10


@pytest.mark.ngspice
def test_random_lattice_waveforms_follow_the_model():
    """Transistor level (≈ 1000 FETs, 20 MiM capacitors), 800 samples of a machine-vibration
    waveform at the macro's full-scale input from rest, as `bmru simulate` drives it: every
    output correlates ≥ 0.999 with the model (measured 0.99999 / 0.99996 / 0.99996; the first
    300 samples 0.9998; 0.977–0.989 when the operating point already had the first sample
    applied) and the supply draws 50–300 nW (measured 210 nW)."""
    from flows.r2nn import tasks
    from flows.r2nn.simulate import full_scale_gain

    network = random_lattice(0)
    circuit = build_circuit(network)
    u = tasks.machine_waveform(0, np.random.default_rng(1))[:800]
    gain = full_scale_gain(circuit, u)
    result = bench.run_transient(circuit, gain * u)
    assert correlation(result["outputs"] / gain, model.simulate(network, u[None])[0]).min() >= 0.999
    assert 50e-9 < result["power_W"] < 300e-9


@pytest.mark.ngspice
@pytest.mark.klayout
def test_compile_and_simulate_through_the_cli(tmp_path, capsys):
    """A two-node chain end to end: compile (own DRC 0, LVS clean), manifest with every
    transconductor, then simulate: summary with correlation, decision, resonances and device
    noise; then
    the build report with the run."""
    network = chain(2, 3)
    (tmp_path / "net.yaml").write_text(network.to_yaml())
    u = 0.5 * np.sin(2 * np.pi * 150 * np.arange(400) / network.sample_rate)
    (tmp_path / "wave.csv").write_text("x0\n" + "".join(f"{v:.17g}\n" for v in u))
    assert cli.main(["compile", str(tmp_path / "net.yaml"), "-o", str(tmp_path / "build")]) == 0
    manifest = json.loads((tmp_path / "build" / "manifest.json").read_text())
    assert manifest["family"] == "r2nn-network/1"
    assert manifest["checks"]["drc_own"]["clean"] and manifest["checks"]["lvs"]["clean"]
    assert len(manifest["mapping"]["transconductors"]) == len(map_network(network).otas)
    assert any(c["wiring_F"] > 0 for c in manifest["mapping"]["capacitors"])  # plates leave the wiring out
    assert manifest["timing"]["post_layout"]["node_wiring_residual_max"] < 1e-3
    assert "Cwire" in (tmp_path / "build" / "testbench" / "tran_example.spice").read_text()
    run = tmp_path / "build" / "simulations" / "wave"
    assert cli.main(["simulate", str(tmp_path / "net.yaml"), "--inputs", str(tmp_path / "wave.csv"),
                     "-o", str(run)]) == 0
    s = json.loads((run / "summary.json").read_text())
    assert s["verdict"]["correlation_min"] >= 0.98 and s["verdict"]["decision_agrees"]
    assert s["verdict"]["resonance_error_max"] < 0.01
    assert s["agreement"]["steps"] == len(u) and max(s["agreement"]["range_error"]) < 0.05
    assert len(s["noise"]["snr_db"]) == network.output_size and 0 <= s["noise"]["decision_kept"] <= 1
    assert (run / "noise.png").exists()
    assert "PASS" in capsys.readouterr().out
    assert cli.main(["report", str(tmp_path / "build")]) == 0
    report = (tmp_path / "build" / "report.md").read_text()
    assert "decision kept with device noise" in report
    assert "| wave | tt 27C 1.8V | 400 |" in report and (tmp_path / "build" / "report" / "trace_wave.png").exists()


def test_simulate_refuses_what_a_lattice_does_not_model(tmp_path, capsys):
    network = chain(1)
    (tmp_path / "net.yaml").write_text(network.to_yaml())
    (tmp_path / "wave.csv").write_text("x0\n0\n1\n0\n")
    code = cli.main(["simulate", str(tmp_path / "net.yaml"), "--inputs", str(tmp_path / "wave.csv"),
                     "--step", "1e-3", "-o", str(tmp_path / "sim")])
    err = capsys.readouterr().err
    assert code == 2 and "--step" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "sim").exists()
