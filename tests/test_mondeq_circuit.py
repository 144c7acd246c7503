"""The compiled monDEQ circuit in ngspice: compilable random networks map without loss,
their operating points against the mapped model and the network as given, one equilibrium
from three initial guesses, the hardware-linearized gradient against finite differences,
and the monDEQ commands (`model run`, `simulate`, `gradient`, `train mondeq`) as a user
runs them, with bad input refused in one line."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from flows.agreement import range_error
from flows.mondeq.bench import GUESSES, hardware_gradient, operating_points
from flows.mondeq.circuit import build_circuit
from flows.mondeq.mapping import map_network
from flows.mondeq.model import run_network
from flows.mondeq.network import load_network
from flows.mondeq.random_networks import compilable_network
from flows.mondeq.train import READOUT_RATIO
from flows.netfile import write_sequence_csv, write_trace_csv
from tests.conftest import run_bmru

#: Measured on seeds 0–15 of each activation, 12 rows in [−1, 1], tt 27 °C. Nodes above
#: 0 agree with the mapped model within 5e-4 units; clamped nodes within 5e-3 units (the
#: clamp diodes are now sized so their series resistance drops ≤ 0.002 units). Outputs within
#: 0.75 % of their range (diode_relu) of the mapped model's when they span >= 0.5 units; relu
#: networks, realised at 2 V per unit (τ ≈ 0.018) where the short resistors' voltage
#: coefficient (−0.76 % over 3 V) carries more, within 2.4 %; the two networks whose outputs
#: span 0.11–0.25 units (seeds 8 and 11) show 2.5–6.9 %, the clamped nodes' error times
#: readout weights up to 32.
ON_NODE_UNITS, OFF_NODE_UNITS = 1e-3, 1e-2
WIDE_SPAN = 1.0
MAPPED_RANGE_ERROR = {"diode_relu": 0.01, "relu": 0.03}
#: narrow outputs: 6.9 % (diode_relu); relu at 2 V per unit 14.6 % (seed 11)
NARROW_RANGE_ERROR = {"diode_relu": 0.08, "relu": 0.16}
#: diode_relu: the circuit against the network as given (issue: 3 % of range); measured
#: ≤ 0.75 % on wide outputs, 2.3 % and 4.6 % on seeds 8 and 11.
GIVEN_RANGE_ERROR = 0.03
#: relu: the circuit computes the diode ReLU (τ ≈ 0.018, κ = 0.1 at 2 V per unit), so its
#: outputs differ from the relu network's by 18 … 290 % of their range (these networks'
#: nodes sit at 0.1–0.4 units, a few knee widths; the readout weights reach 32): measured,
#: not a goal. Active nodes agree with the relu network within a few τ.
RELU_KNEE_TAUS = 4


def inputs_for(net, seed: int, rows: int = 12) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (rows, net.input_size))


@pytest.mark.parametrize("activation", ["relu", "diode_relu"])
def test_compilable_networks_map_without_dropping(activation):
    shapes = set()
    for seed in range(40):
        net = compilable_network(seed, activation=activation)
        mapping = map_network(net)
        stage = net.layers[0]
        assert 1 <= net.input_size <= 16 and 1 <= stage.size <= 16 and 1 <= net.output_size <= 6
        assert stage.activation == activation
        assert mapping.dropped == ()
        assert READOUT_RATIO <= mapping.readout_ratio <= 2 * READOUT_RATIO
        summary = mapping.summary()
        assert summary["error_max"] <= 2e-3 * max(abs(e.target) for e in mapping.elements)
        shapes.add((net.input_size, stage.size, net.output_size))
        assert ((stage.input_weight < 0).any(), (stage.input_weight > 0).any()) != (False, False)
    assert len(shapes) >= 30  # shapes vary


@pytest.mark.ngspice
@pytest.mark.parametrize("activation", ["diode_relu", "relu"])
def test_circuit_against_mapped_and_given(activation):
    for seed in range(16):
        net = compilable_network(seed, activation=activation)
        circuit = build_circuit(net)
        x = inputs_for(net, seed)
        point = operating_points(circuit, x)
        mapped = run_network(circuit.mapping.mapped(), x)
        on = mapped.activations[0] > 0
        node_error = np.abs(point.z - mapped.activations[0])
        assert node_error[on].max(initial=0.0) <= ON_NODE_UNITS, seed
        assert node_error.max() <= OFF_NODE_UNITS, seed
        wide = np.ptp(mapped.outputs, axis=0).min() >= WIDE_SPAN
        band = MAPPED_RANGE_ERROR[activation] if wide else NARROW_RANGE_ERROR[activation]
        assert range_error(mapped.outputs, point.y)["range_error_max"] <= band, seed
        given = run_network(net, x)
        if activation == "diode_relu":
            error = range_error(given.outputs, point.y)["range_error_max"]
            assert error <= (GIVEN_RANGE_ERROR if wide else NARROW_RANGE_ERROR[activation]), seed
        else:
            knee = RELU_KNEE_TAUS * circuit.mapping.diode.softness
            active = given.activations[0] > knee
            assert np.abs(point.z - given.activations[0])[active].max(initial=0.0) <= knee, seed


@pytest.mark.ngspice
def test_three_initial_guesses_reach_one_equilibrium():
    net = compilable_network(4)
    circuit = build_circuit(net)
    x = inputs_for(net, 4, rows=8)
    points = [operating_points(circuit, x, guess=guess) for guess in GUESSES]
    for other in points[1:]:
        # ngspice's convergence tolerances (µV, about 1e-5 units) are the only difference
        assert np.abs(other.z - points[0].z).max() <= 1e-4
        assert np.abs(other.y - points[0].y).max() <= 1e-4 * max(1.0, np.abs(points[0].y).max())


def _fd_gradient(net, x, t, h=1e-5):
    """Central differences of the model loss in the stage's bias and input weights (W
    held: what the hardware gradient's entries mean)."""
    stage = net.layers[0]

    def loss(bias, input_weight):
        layer = type(stage)(stage.weight, input_weight, bias, stage.monotone_margin,
                            stage.activation, stage.diode)
        y = run_network(type(net)(net.name, net.input_size, (layer, net.layers[1])), x).outputs
        return 0.5 * float(((y - t) ** 2).sum(axis=1).mean())

    grads = {}
    for key in ("bias", "input_weight"):
        base = getattr(stage, key)
        g = np.zeros(base.shape)
        for entry in np.ndindex(base.shape):
            for sign in (1.0, -1.0):
                moved = np.array(base)
                moved[entry] += sign * h
                args = {"bias": stage.bias, "input_weight": stage.input_weight, key: moved}
                g[entry] += sign * loss(**args) / (2 * h)
        grads[key] = g
    return grads


@pytest.mark.ngspice
@pytest.mark.parametrize("seed", [3, 8, 21])
def test_hardware_gradient_matches_finite_differences_of_the_mapped_model(seed):
    net = compilable_network(seed, activation="diode_relu")
    circuit = build_circuit(net)
    x = inputs_for(net, seed, rows=10)
    t = np.random.default_rng(seed + 100).normal(0.0, 1.0, (len(x), net.output_size))
    measured = hardware_gradient(circuit, x, t)
    fd = _fd_gradient(circuit.mapping.mapped(), x, t)
    for key in ("bias", "input_weight"):
        a, b = measured.layers[0][key].ravel(), fd[key].ravel()
        cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
        assert cosine >= 0.99, (key, cosine)
        assert np.linalg.norm(a - b) <= 0.1 * np.linalg.norm(b), key


# --- the commands -------------------------------------------------------------------

def _small(tmp_path: Path, seed: int = 8) -> tuple[Path, Path, Path]:
    net = compilable_network(seed, activation="diode_relu")
    path = tmp_path / "small.yaml"
    path.write_text(net.to_yaml())
    x = inputs_for(net, seed, rows=4)
    inputs = tmp_path / "rows.csv"
    write_sequence_csv(inputs, x)
    targets = tmp_path / "targets.csv"
    write_trace_csv(targets, np.zeros((len(x), net.output_size)))
    return path, inputs, targets


def _one_line_error(result, command: str, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"bmru {command}: "), result.stderr
    for word in words:
        assert word in lines[0], result.stderr


@pytest.mark.ngspice
def test_commands_run_a_small_network(tmp_path):
    net_path, inputs, targets = _small(tmp_path)
    net = load_network(net_path)
    x = np.loadtxt(inputs, delimiter=",", skiprows=1, ndmin=2)
    result = run_bmru("model", "run", net_path, "--inputs", inputs, "-o", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    software = np.loadtxt(tmp_path / "run" / "software.csv", delimiter=",", skiprows=1, ndmin=2)
    assert np.allclose(software[:, 1:], run_network(net, x).outputs, rtol=1e-7, atol=1e-9)  # the CSV's digits

    result = run_bmru("simulate", net_path, "--inputs", inputs, "-o", tmp_path / "sim")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "sim" / "summary.json").read_text())
    assert summary["verdict"]["pass"] and summary["uniqueness"]["max_difference_units"] <= 1e-4
    assert {"circuit.csv", "software.csv", "testbench.spice"} <= {p.name for p in (tmp_path / "sim").iterdir()}

    gradients = {}
    for method in ("hardware-linearization", "model"):
        out = tmp_path / method
        result = run_bmru("gradient", net_path, "--inputs", inputs, "--targets", targets, "-o", out,
                          "--method", method)
        assert result.returncode == 0, result.stderr
        gradients[method] = json.loads((out / "gradient.json").read_text())
        assert gradients[method]["method"] == method
    hw, model = (np.array(gradients[m]["layers"][0]["input_weight"]).ravel() for m in gradients)
    assert hw @ model / (np.linalg.norm(hw) * np.linalg.norm(model)) >= 0.99


def test_train_mondeq_tiny(tmp_path):
    out = tmp_path / "tiny.yaml"
    result = run_bmru("train", "mondeq", "--task", "digits", "-o", out, "--hidden", "6", "--epochs", "2",
                      "--finetune-epochs", "1", "--train-rows", "200", "--seed", "1")
    assert result.returncode == 0, result.stderr
    net = load_network(out)
    assert net.name == "tiny" and net.layers[0].size == 6
    assert out.read_text().startswith("# Trained by: bmru train mondeq")
    assert map_network(net).dropped == ()
    again = tmp_path / "again.yaml"
    assert run_bmru("train", "mondeq", "-o", again, "--hidden", "6", "--epochs", "2", "--finetune-epochs",
                    "1", "--train-rows", "200", "--seed", "1", "--name", "tiny").returncode == 0
    assert again.read_text().splitlines()[1:] == out.read_text().splitlines()[1:]


def test_commands_refuse_bad_input_in_one_line(tmp_path):
    net_path, inputs, targets = _small(tmp_path)
    text = net_path.read_text()
    wrong_schema = tmp_path / "wrong_schema.yaml"
    wrong_schema.write_text(text.replace("schema: mondeq-network/1", "schema: mondeq-network/9"))
    data = yaml.safe_load(text)
    weight = data["layers"][0]["weight"]
    i, j = np.argwhere(np.triu(np.array(weight), 1) > 0)[0]
    weight[i][j] *= 0.5
    asymmetric = tmp_path / "asymmetric.yaml"
    asymmetric.write_text(yaml.safe_dump(data))
    net = load_network(net_path)
    bad_targets = tmp_path / "bad_targets.csv"
    write_trace_csv(bad_targets, np.zeros((4, net.output_size + 1)))
    cases = [
        (("model", "run", wrong_schema, "--inputs", inputs), "model", ("wrong_schema.yaml", "schema")),
        (("simulate", asymmetric, "--inputs", inputs), "simulate", ("asymmetric.yaml", "weight[")),
        (("gradient", asymmetric, "--inputs", inputs, "--targets", targets), "gradient",
         ("asymmetric.yaml", "symmetric")),
        (("gradient", net_path, "--inputs", inputs, "--targets", bad_targets), "gradient",
         ("bad_targets.csv",)),
        (("gradient", wrong_schema, "--inputs", inputs, "--targets", targets), "gradient", ("schema",)),
    ]
    for index, (args, command, words) in enumerate(cases):
        out = tmp_path / f"out{index}"
        result = run_bmru(*args, "-o", out)
        _one_line_error(result, command, *words)
        assert not out.exists()
    result = run_bmru("train", "mondeq", "-o", tmp_path / "t.yaml", "--hidden", "0")
    _one_line_error(result, "train", "--hidden")
    assert not (tmp_path / "t.yaml").exists()


@pytest.mark.slow
@pytest.mark.ngspice
def test_shipped_digits_circuit_keeps_the_accuracy():
    """ngspice on all 450 test rows (about a minute). Measured: 96.7 % like the network,
    argmax agreement 100 %, outputs within 0.06 % of their range, 151 µW per row."""
    from flows.mondeq.train import digits_split

    net = load_network(Path(__file__).resolve().parent.parent / "examples" / "md_digits.yaml")
    _, _, test_x, test_y = digits_split()
    point = operating_points(build_circuit(net), test_x)
    given = run_network(net, test_x).outputs
    assert (point.y.argmax(axis=1) == test_y).mean() >= 0.95
    assert (point.y.argmax(axis=1) == given.argmax(axis=1)).mean() >= 0.99
    assert range_error(given, point.y)["range_error_max"] <= GIVEN_RANGE_ERROR
