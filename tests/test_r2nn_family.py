"""The R²NN family through the CLI (registered here for the test; the lead adds the line
to flows.families.REGISTRY): `model run` writes the trace, `train r2nn` writes a network,
a bad waveform is refused in one line (compile and simulate: tests/test_r2nn_circuit.py)."""
from __future__ import annotations

import numpy as np
import pytest

from flows import cli, families
from flows.netfile import load_targets
from flows.r2nn import model
from flows.r2nn.lattice import random_lattice


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    monkeypatch.setitem(families.REGISTRY, "r2nn-network/1", "flows.r2nn")


def write_case(tmp_path):
    net = random_lattice(4)
    (tmp_path / "net.yaml").write_text(net.to_yaml())
    u = np.sin(2 * np.pi * 200 * np.arange(600) / net.sample_rate) * np.hanning(600)
    (tmp_path / "wave.csv").write_text("x0\n" + "".join(f"{v:.17g}\n" for v in u))
    return net, u


def test_model_run_writes_the_displacement_trace(tmp_path, capsys):
    net, u = write_case(tmp_path)
    assert families.family_of(tmp_path / "net.yaml").schema == "r2nn-network/1"
    code = cli.main(["model", "run", str(tmp_path / "net.yaml"), "--inputs", str(tmp_path / "wave.csv"),
                     "-o", str(tmp_path / "out")])
    assert code == 0
    trace = load_targets(tmp_path / "out" / "software.csv", 3, 600)
    assert np.allclose(trace, model.simulate(net, u)[0], rtol=1e-8, atol=1e-9 * np.abs(trace).max())


def test_bad_waveform_is_one_line(tmp_path, capsys):
    write_case(tmp_path)
    (tmp_path / "two.csv").write_text("x0,x1\n1,2\n")
    code = cli.main(["model", "run", str(tmp_path / "net.yaml"), "--inputs", str(tmp_path / "two.csv"),
                     "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "expected x0" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_train_r2nn_writes_a_network(tmp_path, capsys):
    out = tmp_path / "tact.yaml"
    code = cli.main(["train", "r2nn", "--task", "tactile", "--epochs", "1", "-o", str(out)])
    assert code == 0
    text = out.read_text()
    assert text.startswith("# Trained by: bmru train r2nn --task tactile")
    assert "test_accuracy" in capsys.readouterr().out
    assert families.family_of(out).load_network(out).name == "tact"
