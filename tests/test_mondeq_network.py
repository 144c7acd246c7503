"""The `mondeq-network/1` file: round trip, random networks valid, and one line per
realizability violation (each naming its field and the remedy)."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from flows.errors import InputError
from flows.mondeq.network import (REMEDY, Diode, network_from_yaml, network_to_yaml,
                                  parse_network)
from flows.mondeq.random_networks import random_network

SMALL = """\
schema: mondeq-network/1
name: tiny
input_size: 2
layers:
  - kind: mondeq
    weight:
      - [0.2, 0.1]
      - [0.1, 0.3]
    input_weight:
      - [0.3, -0.2]
      - [-0.1, 0.2]
    bias: [0.05, -0.1]
    monotone_margin: 0.05
  - kind: dense
    weight:
      - [1.0, -2.0]
    bias: [0.5]
"""


def small() -> dict:
    return yaml.safe_load(SMALL)


def error_of(data: dict) -> str:
    with pytest.raises(InputError) as info:
        parse_network(data, "net.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_small_network_loads_with_defaults():
    net = network_from_yaml(SMALL, "net.yaml")
    stage, readout = net.layers
    assert (stage.kind, stage.activation, stage.diode) == ("mondeq", "relu", None)
    assert readout.kind == "dense" and readout.activation == "none"
    assert net.output_size == 1 and not stage.weight.flags.writeable


def test_diode_defaults_and_override():
    data = small()
    data["layers"][0]["activation"] = "diode_relu"
    assert parse_network(data).layers[0].diode == Diode(0.05, 0.01)
    data["layers"][0]["diode"] = {"softness": 0.1}
    assert parse_network(data).layers[0].diode == Diode(0.1, 0.01)


@pytest.mark.parametrize("seed", range(12))
def test_random_networks_are_valid_and_round_trip_exactly(seed):
    net = random_network(seed)
    text = network_to_yaml(net)
    again = network_from_yaml(text, "again.yaml")
    assert network_to_yaml(again) == text
    for a, b in zip(net.layers, again.layers):
        assert a.kind == b.kind and a.activation == b.activation
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
        if a.kind == "mondeq":
            assert np.array_equal(a.input_weight, b.input_weight)
            assert a.monotone_margin == b.monotone_margin and a.diode == b.diode


def violate(change) -> str:
    data = small()
    change(data["layers"][0])
    return error_of(data)


def test_asymmetric_weight():
    message = violate(lambda s: s["weight"][0].__setitem__(1, 0.11))
    assert "layers[0].weight[0][1]" in message and "symmetric" in message and REMEDY in message


def test_asymmetry_within_tolerance_is_accepted():
    data = small()
    data["layers"][0]["weight"][0][1] = 0.1 + 1e-12
    parse_network(data)


def test_negative_coupling():
    def change(stage):
        stage["weight"][0][1] = stage["weight"][1][0] = -0.01
    message = violate(change)
    assert "layers[0].weight[0][1]" in message and "coupling conductance" in message
    assert REMEDY in message


def test_row_not_diagonally_dominant():
    # row 1: 1 − 0.3 − 0.1 − |U| − 0.1; input weights summing to 0.6 leave −0.1 for ground
    message = violate(lambda s: s["input_weight"].__setitem__(1, [0.3, -0.3]))
    assert "layers[0].weight[1][1]" in message and "ground conductance" in message
    assert "-0.1" in message and REMEDY in message


def test_large_bias_breaks_dominance_too():
    message = violate(lambda s: s["bias"].__setitem__(0, 0.6))
    assert "layers[0].weight[0][0]" in message and "diagonally dominant" in message


def test_margin_above_smallest_eigenvalue():
    message = violate(lambda s: s.__setitem__("monotone_margin", 0.9))
    assert "layers[0].monotone_margin" in message and "λ_min(I − W)" in message
    assert REMEDY in message


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d["layers"][0].__setitem__("monotone_margin", 0), "layers[0].monotone_margin", "> 0"),
    (lambda d: d["layers"][0].__setitem__("activation", "tanh"), "layers[0].activation", "diode_relu"),
    (lambda d: d["layers"][0].__setitem__("diode", {"softness": 0.1}), "layers[0].diode", "only"),
    (lambda d: d["layers"][0].update(activation="diode_relu", diode={"scale": -1}),
     "layers[0].diode.scale", "> 0"),
    (lambda d: d["layers"][0].update(activation="diode_relu", diode={"knee": 1}),
     "layers[0].diode.knee", "unknown"),
    (lambda d: d["layers"][0]["weight"].pop(), "layers[0].weight", "rows, expected 2"),
    (lambda d: d["layers"][0]["input_weight"][0].pop(), "layers[0].input_weight[0]", "input_size"),
    (lambda d: d["layers"][0].pop("monotone_margin"), "layers[0].monotone_margin", "missing"),
    (lambda d: d["layers"][1].__setitem__("activation", "relu"), "layers[1].activation", "none"),
    (lambda d: d["layers"].append(dict(d["layers"][1])), "layers[1].kind", "last"),
    (lambda d: d["layers"].insert(0, dict(d["layers"][1])), "layers[0].kind", "first"),
    (lambda d: d.__setitem__("unit_current", 1e-9), "unit_current", "unknown"),
    (lambda d: d.__setitem__("schema", "bmru-network/1"), "schema", "expected mondeq-network/1"),
    (lambda d: d.__setitem__("name", "Tiny"), "name", "[a-z]"),
])
def test_schema_errors_name_the_field(change, field, words):
    data = small()
    change(data)
    message = error_of(data)
    assert f"net.yaml: {field}: " in message and words in message
