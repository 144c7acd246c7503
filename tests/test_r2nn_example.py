"""The shipped R²NN examples: `examples/r2nn_machine.yaml` and `examples/r2nn_voice.yaml`
(written by `bmru train r2nn`) and the machine's test waveforms `examples/r2nn/*.csv` with
`labels.csv`."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from flows.r2nn import analog, model, tasks, train
from flows.r2nn.network import load_inputs, load_network

ROOT = Path(__file__).resolve().parents[1] / "examples"
NET = ROOT / "r2nn_machine.yaml"
VOICE = ROOT / "r2nn_voice.yaml"


def header_value(key: str, path: Path = NET) -> float:
    match = re.search(rf"^# {key}: ([0-9.]+)$", path.read_text(), re.M)
    assert match, key
    return float(match.group(1))


def shipped() -> list[tuple[Path, int]]:
    with open(ROOT / "r2nn" / "labels.csv") as f:
        return [(ROOT / "r2nn" / row["file"], int(row["label"])) for row in csv.DictReader(f)]


@pytest.mark.parametrize("path, task", [(NET, "machine"), (VOICE, "voice")], ids=["machine", "voice"])
def test_header_accuracy_is_the_networks(path, task):
    net = load_network(path)
    x, y = tasks.dataset(task, "test")
    assert round(train.accuracy(net, x, y), 4) == header_value("test_accuracy", path)


def test_shipped_waveforms_are_the_test_sets_first(tmp_path):
    written = tasks.write_examples("machine", tmp_path, 1)
    assert sorted(p.name for p in written) == sorted(p.name for p in (ROOT / "r2nn").glob("*.csv"))
    for path in written:
        assert path.read_text() == (ROOT / "r2nn" / path.name).read_text()
    net = load_network(NET)
    for path, label in shipped():
        u = load_inputs(path)
        assert u.shape == (tasks.SPECS["machine"].samples, 1)
        assert 0 <= model.decision(model.run_network(net, u))["decision"] < 3


@pytest.mark.ngspice
def test_ideal_analog_of_the_example():
    """The trained lattice's R, L, C analog (scale 2e-10 S: 10 pF masses, 1.3 kH … 3.7 MH
    springs) follows the continuous lattice to the simulator's accuracy; against the model
    it is limited by the scheme's warping (measured ≥ 0.9997 on the shipped waveforms) and
    decides the same."""
    net = load_network(NET)
    for path, _ in shipped():
        result = analog.compare(net, load_inputs(path)[:, 0], scale=2e-10)
        assert min(result["continuous"]["correlation"]) > 0.99999
        assert min(result["model"]["correlation"]) >= 0.999
        assert result["decision"]["circuit"] == result["decision"]["model"]


@pytest.mark.slow
def test_training_reproduces_the_example():
    """`bmru train r2nn --task machine --seed 0` with the defaults writes these bytes (≈ 1 min)."""
    net, metrics = train.train("machine", seed=0)
    body = NET.read_text().split("\n", 3)[3]
    assert net.to_yaml() == body
    assert round(metrics["test_accuracy"], 4) == header_value("test_accuracy")
