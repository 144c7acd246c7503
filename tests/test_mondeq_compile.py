"""`bmru compile`, `simulate`, `gradient` and `report` of monDEQ networks: every view is
written, DRC and LVS are clean, the netlist and GDS are deterministic, the circuit's
operating points reproduce the network, and the mapping keeps every node's diagonal."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from flows.mondeq.circuit import build_circuit
from flows.mondeq.mapping import map_network
from flows.mondeq.random_networks import compilable_network, random_inputs, random_network
from flows.netfile import write_sequence_csv
from tests.conftest import run_bmru

pytestmark = [pytest.mark.ngspice, pytest.mark.klayout]


def _network(tmp_path: Path, seed: int, inputs: int, nodes: int, outputs: int, activation: str) -> Path:
    net = replace(compilable_network(seed, input_size=inputs, size=nodes, outputs=outputs,
                                     activation=activation), name=f"md_t{seed}")
    path = tmp_path / f"{net.name}.yaml"
    path.write_text(net.to_yaml())
    return path


def _rows(tmp_path: Path, seed: int, inputs: int, rows: int) -> Path:
    path = tmp_path / f"rows{seed}.csv"
    write_sequence_csv(path, random_inputs(seed, inputs, rows), fmt="%.6g")
    return path


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mondeq")
    network = _network(tmp, 1, 3, 4, 2, "diode_relu")
    out = tmp / "build"
    result = run_bmru("compile", network, "-o", out)
    assert result.returncode == 0, result.stderr
    return network, out


def test_compile_writes_every_view_with_clean_checks(build):
    network, out = build
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["family"] == "mondeq-network/1"
    assert manifest["checks"]["drc_own"]["clean"] and manifest["checks"]["lvs"]["clean"]
    kinds = manifest["device_kinds"]
    assert manifest["devices"]["total"] == kinds["resistors"] + kinds["diodes"] and kinds["diodes"] == 4
    netlist = (out / "md_t1.spice").read_text()
    assert netlist.count("sky130_fd_pr__diode_pd2nw_05v5") == 4
    assert netlist.count("sky130_fd_pr__res_xhigh_po_0p35") == kinds["resistors"]
    for name in ("md_t1.gds", "md_t1.lef", "md_t1.lib", "md_t1.v", "testbench/op_example.spice",
                 "schematics/md_t1_stage0.svg", "schematics/md_t1.svg"):
        assert (out / name).is_file(), name
    assert manifest["timing"]["step_s"] > manifest["timing"]["settling_s"] > 0
    assert manifest["power"]["static"]["total_W"] > 0
    learned = {r["parameter"] for r in manifest["mapping"]["table"]}
    assert any(p.startswith("layers[0].input_weight") for p in learned)
    assert any(p.startswith("layers[1].weight") for p in learned)


def test_netlist_and_gds_are_deterministic(build, tmp_path):
    network, out = build
    again = tmp_path / "again"
    assert run_bmru("compile", network, "-o", again, "--no-check").returncode == 0
    for name in ("md_t1.spice", "md_t1.gds"):
        assert (again / name).read_bytes() == (out / name).read_bytes()


def test_simulate_reproduces_the_network_and_report_shows_it(build):
    network, out = build
    rows = _rows(out.parent, 1, 3, 8)
    sim = out / "simulations" / "random"
    result = run_bmru("simulate", network, "--inputs", rows, "-o", sim)
    assert result.returncode == 0, result.stderr
    summary = json.loads((sim / "summary.json").read_text())
    assert summary["verdict"]["output_error_of_range_max"] <= 0.03
    assert summary["verdict"]["output_error_of_range_mapped_max"] <= 0.01
    assert summary["uniqueness"]["max_difference_units"] < 1e-3
    assert summary["agreement"]["decision_agrees"] is True and summary["power"]["total_W"] > 0
    assert run_bmru("report", out).returncode == 0
    report = (out / "report.md").read_text()
    assert "resistor–diode" in report and "PASS" in report


def test_mapping_keeps_every_diagonal_and_left_out_weights_go_to_ground():
    net = random_network(4, input_size=12, sizes=[9], outputs=3, readout=True, activation="diode_relu")
    mapping = map_network(net)
    realised, given = mapping.mapped().layers[0], net.layers[0]
    dropped = {d["parameter"] for d in mapping.dropped}
    drawn_ground = {e.index[0] for e in mapping.elements if e.field == "ground"}
    # the diagonal is 1 − (every conductance at the node): equal where the ground is drawn
    for i in drawn_ground:
        assert realised.weight[i, i] == pytest.approx(given.weight[i, i], abs=0.01 * (1 - given.weight[i, i]))
    for e in mapping.elements:
        if e.field != "ground":  # a learned conductance is drawn to the 5 nm grid
            assert abs(e.error) <= 1e-3 * e.target
    assert all(p.startswith("layers[") for p in dropped)


def test_gradient_measured_on_the_circuit_matches_the_model(tmp_path):
    network = _network(tmp_path, 2, 4, 5, 2, "diode_relu")
    rows = _rows(tmp_path, 2, 4, 6)
    targets = tmp_path / "targets.csv"
    np.savetxt(targets, np.random.default_rng(0).normal(0, 0.5, (6, 2)), delimiter=",", fmt="%.6g",
               header="y0,y1", comments="")
    grads = {}
    for method in ("hardware-linearization", "model"):
        out = tmp_path / method
        result = run_bmru("gradient", network, "--inputs", rows, "--targets", targets, "-o", out, "--method", method)
        assert result.returncode == 0, result.stderr
        grads[method] = json.loads((out / "gradient.json").read_text())
    for key in ("bias", "input_weight"):
        a, b = (np.ravel(grads[m]["layers"][0][key]) for m in ("hardware-linearization", "model"))
        assert a @ b / np.linalg.norm(a) / np.linalg.norm(b) >= 0.99, key
        assert np.linalg.norm(a - b) / np.linalg.norm(b) <= 0.10, key


def test_a_cascade_is_refused_in_one_line(tmp_path):
    net = replace(random_network(3, input_size=4, sizes=[3, 3], outputs=2, readout=True), name="md_cascade")
    path = tmp_path / "cascade.yaml"
    path.write_text(net.to_yaml())
    result = run_bmru("compile", path, "-o", tmp_path / "out")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "layers" in result.stderr and "cascade" in result.stderr
    assert not (tmp_path / "out").exists()


def test_circuit_ports_follow_the_family_conventions():
    net = random_network(5, input_size=3, sizes=[4], outputs=2, readout=True, activation="relu")
    circuit = build_circuit(net)
    ports = circuit.ports
    assert ports[0] == "vss" and "vref" in ports and "vclamp" in ports
    drawn = {e.a for e in circuit.mapping.elements if e.field == "input_weight"}
    # an input pin (or its inverted copy) exists exactly where a resistor lands on it
    assert {p for p in ports if p.startswith("in")} == drawn and drawn



@pytest.mark.parametrize("temp", [-40.0, 85.0, 125.0])
def test_pins_that_track_temperature_keep_the_network(temp):
    """S ∝ T and a replica-diode vclamp keep τ and κ: the outputs stay within 3 % of their
    range from −40 °C to 125 °C (fixed 27 °C levels: 16–21 % at −40/85 °C)."""
    from flows.agreement import range_error
    from flows.mondeq.bench import operating_points
    from flows.mondeq.model import run_network
    from pdk.models import Conditions

    net = compilable_network(8, input_size=10, size=12, outputs=3, activation="diode_relu")
    x = random_inputs(8, 10, 12)
    y = operating_points(build_circuit(net), x, Conditions(temp=temp)).y
    assert range_error(run_network(net, x).outputs, y)["range_error_max"] <= 0.03


@pytest.mark.parametrize("seed, activation", [(11, "diode_relu"), (12, "relu")])
def test_random_compilable_networks_compile_clean(seed, activation, tmp_path):
    from flows.compile import CompileOptions, compile_network

    net = replace(compilable_network(seed, activation=activation), name=f"md_s{seed}")
    path = tmp_path / f"{net.name}.yaml"
    path.write_text(net.to_yaml())
    out = tmp_path / "out"
    out.mkdir()
    manifest = compile_network(path, out, CompileOptions())  # raises CheckFailed unless clean
    assert manifest["checks"]["drc_own"]["violations"] == 0 and manifest["checks"]["lvs"]["clean"]
    assert manifest["devices"]["total"] == sum(manifest["device_kinds"].values())
