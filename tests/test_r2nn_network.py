"""The `r2nn-network/1` file: exact round trip, and one line per violation naming its field."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from flows.errors import InputError
from flows.r2nn.lattice import Layout, random_lattice
from flows.r2nn.network import highest_frequency, load_inputs, network_from_yaml, parse_network

SMALL = """\
schema: r2nn-network/1
name: tiny
sample_rate: 1000.0
masses: [1.0, 0.5, 2.0]
springs:
  - [0, -1, 100.0]
  - [0, 1, 50.0]
  - [1, 2, 20.0]
dampers:
  - [1, -1, 0.1]
clamped: [2]
input: {node: 0, gain: 2.0}
outputs: [1, 0]
"""


def small() -> dict:
    return yaml.safe_load(SMALL)


def error_of(data: dict) -> str:
    with pytest.raises(InputError) as info:
        parse_network(data, "net.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_round_trip_is_exact():
    net = network_from_yaml(SMALL)
    assert net.to_yaml() == SMALL
    assert net.free == (0, 1)
    m, c, k = net.matrices()
    assert np.array_equal(k, [[150.0, -50.0], [-50.0, 70.0]])  # the clamped end adds to node 1's diagonal
    assert np.array_equal(c, [[0.0, 0.0], [0.0, 0.1]])
    for seed in range(3):
        text = random_lattice(seed).to_yaml()
        assert network_from_yaml(text).to_yaml() == text


def test_defaults_and_layout():
    data = small()
    del data["dampers"], data["clamped"]
    data["springs"][2] = [1, -1, 20.0]
    data["masses"] = [1.0, 0.5]
    net = parse_network(data)
    assert net.dampers.shape == (0, 3) and net.clamped == ()
    assert "dampers: []" in net.to_yaml()
    layout = Layout()
    assert layout.size == 14 and layout.clamped() == (0, 2, 6, 8) and layout.outputs() == (10, 12, 13)


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d.update(schema="r2nn-network/2"), "schema", "not supported"),
    (lambda d: d.update(sample_rate=0), "sample_rate", "> 0"),
    (lambda d: d["masses"].__setitem__(1, 0.0), "masses[1]", "> 0"),
    (lambda d: d["springs"][1].__setitem__(2, -1.0), "springs[1][2]", ">= 0"),
    (lambda d: d["springs"][1].__setitem__(1, 3), "springs[1][1]", "node index"),
    (lambda d: d["springs"][1].__setitem__(1, 0), "springs[1][1]", "itself"),
    (lambda d: d["springs"].__setitem__(0, [0, -1]), "springs[0]", "[a, b, value]"),
    (lambda d: d["dampers"][0].__setitem__(2, -0.5), "dampers[0][2]", ">= 0"),
    (lambda d: d["dampers"][0].__setitem__(0, -1), "dampers[0][0]", "node index"),
    (lambda d: d.update(clamped=[2, 2]), "clamped[1]", "twice"),
    (lambda d: d.update(clamped=[1.0]), "clamped[0]", "node index"),
    (lambda d: d["input"].update(node=2), "input.node", "clamped"),
    (lambda d: d["input"].update(gain=0.0), "input.gain", "0"),
    (lambda d: d["input"].pop("gain"), "input.gain", "missing"),
    (lambda d: d.update(outputs=[]), "outputs", "non-empty"),
    (lambda d: d.update(outputs=[2]), "outputs[0]", "clamped"),
    (lambda d: d.update(extra=1), "extra", "unknown field"),
])
def test_one_line_errors(change, field, words):
    data = small()
    change(data)
    message = error_of(data)
    assert f"net.yaml: {field}: " in message and words in message


def test_connected_and_anchored():
    data = small()
    data["springs"][1][2] = 0.0                       # node 1 hangs on the clamped node only
    assert "free node 1 is not connected to the input node 0" in error_of(data)
    data = small()
    data["dampers"] = [[1, 0, 0.3]]                   # a damper joins them: connected again
    data["springs"][1][2] = 0.0
    parse_network(data)
    data = small()
    data["springs"] = [[0, 1, 50.0]]                  # nothing holds the pair
    data["clamped"] = []
    data["masses"] = [1.0, 0.5]
    assert "springs: free node 0 floats" in error_of(data)


def test_stability_at_the_sample_rate():
    net = network_from_yaml(SMALL)
    omega = highest_frequency(net)
    data = small()
    data["sample_rate"] = omega / 2 * 1.001
    parse_network(data)
    data["sample_rate"] = omega / 2 * 0.999
    message = error_of(data)
    assert "net.yaml: sample_rate: " in message and "ω·dt < 2" in message


def test_waveform_csv(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("x0\n0.5\n-1.25\n0\n")
    assert load_inputs(path).tolist() == [[0.5], [-1.25], [0.0]]
    path.write_text("x0,x1\n0.5,1\n")
    with pytest.raises(InputError, match="expected x0"):
        load_inputs(path)
