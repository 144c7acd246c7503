"""Network and sequence loading: every bad input gives one InputError naming file and field;
valid networks round-trip through to_yaml exactly."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from flows.errors import InputError
from flows.bmru.network import (BmruLayer, DenseLayer, Network, load_network, network_from_yaml, parse_network)
from flows.netfile import load_sequence

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: A valid three-layer network (2 → dense 3 → BMRU 2 → dense 2) that the cases mutate.
BASE_NETWORK = {
    "schema": "bmru-network/1",
    "name": "base_net",
    "unit_current": 1.0e-9,
    "input_size": 2,
    "layers": [
        {"kind": "dense", "weight": [[1.0, -0.5], [0.25, 0.75], [0.5, 0.5]],
         "bias": [0.1, 0.0, -0.1], "activation": "relu"},
        {"kind": "bmru", "weight": [[1.0, 0.0, 0.5], [0.0, 1.0, -0.5]], "bias": [0.0, 0.2],
         "alpha": [1.0, 0.5], "beta_lo": [0.2, 0.3], "beta_hi": [0.8, 0.9]},
        {"kind": "dense", "weight": [[1.0, 0.0], [0.0, 1.0]], "activation": "none",
         "skip_from": 1},
    ],
}


def _mutated(change) -> str:
    data = copy.deepcopy(BASE_NETWORK)
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


def _set(path: tuple, value):
    def change(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _delete(path: tuple):
    def change(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


#: (case id, file text, expected field or None, words the problem must contain)
BAD_NETWORKS = [
    ("not_yaml", "schema: bmru-network/1\nlayers: [1, 2\n", None, "not valid YAML"),
    ("empty_file", "", None, "empty"),
    ("top_level_list", "- 1\n- 2\n", None, "not a bmru-network/1 file"),
    ("missing_schema", _mutated(_delete(("schema",))), "schema", "missing"),
    ("wrong_schema", _mutated(_set(("schema",), "bmru-network/2")), "schema", "not supported"),
    ("unknown_top_field", _mutated(_set(("units",), 3)), "units", "unknown field"),
    ("missing_layers", _mutated(_delete(("layers",))), "layers", "missing"),
    ("empty_layers", _mutated(_set(("layers",), [])), "layers", "non-empty"),
    ("bad_name", _mutated(_set(("name",), "Base-Net")), "name", "[a-z][a-z0-9_]*"),
    ("name_starts_with_digit", _mutated(_set(("name",), "1net")), "name", "[a-z][a-z0-9_]*"),
    ("unit_current_zero", _mutated(_set(("unit_current",), 0.0)), "unit_current", "must be > 0"),
    ("unit_current_negative", _mutated(_set(("unit_current",), -1e-9)), "unit_current",
     "must be > 0"),
    ("unit_current_nan", _mutated(_set(("unit_current",), float("nan"))), "unit_current",
     "not a finite number"),
    ("unit_current_string", _mutated(_set(("unit_current",), "1 nA")), "unit_current",
     "not a number"),
    ("input_size_zero", _mutated(_set(("input_size",), 0)), "input_size", "positive integer"),
    ("unknown_kind", _mutated(_set(("layers", 1, "kind"), "lstm")), "layers[1].kind",
     "unknown layer kind"),
    ("unknown_layer_field", _mutated(_set(("layers", 1, "beta_high"), [1.0, 1.0])),
     "layers[1].beta_high", "unknown field"),
    ("missing_alpha", _mutated(_delete(("layers", 1, "alpha"))), "layers[1].alpha", "missing"),
    ("first_weight_vs_input_size", _mutated(_set(("input_size",), 3)), "layers[0].weight[0]",
     "expected 3"),
    ("weight_vs_previous_layer", _mutated(_set(("layers", 1, "weight", 1), [0.0, 1.0])),
     "layers[1].weight[1]", "expected 3"),
    ("bias_length", _mutated(_set(("layers", 0, "bias"), [0.0, 0.0])), "layers[0].bias",
     "expected 3"),
    ("alpha_length", _mutated(_set(("layers", 1, "alpha"), [1.0])), "layers[1].alpha",
     "expected 2"),
    ("weight_not_matrix", _mutated(_set(("layers", 0, "weight"), [1.0, 2.0])),
     "layers[0].weight[0]", "list of 2 numbers"),
    ("weight_string_cell", _mutated(_set(("layers", 0, "weight", 0, 0), "one")),
     "layers[0].weight[0][0]", "not a number"),
    ("weight_nan", _mutated(_set(("layers", 0, "weight", 2, 1), float("nan"))),
     "layers[0].weight[2][1]", "not a finite number"),
    ("bias_inf", _mutated(_set(("layers", 1, "bias", 1), float("inf"))), "layers[1].bias[1]",
     "not a finite number"),
    ("beta_hi_nan", _mutated(_set(("layers", 1, "beta_hi", 0), float("nan"))),
     "layers[1].beta_hi[0]", "not a finite number"),
    ("beta_lo_equals_beta_hi", _mutated(_set(("layers", 1, "beta_hi", 1), 0.3)),
     "layers[1].beta_hi[1]", "greater than beta_lo[1]"),
    ("beta_lo_above_beta_hi", _mutated(_set(("layers", 1, "beta_lo", 1), 1.5)),
     "layers[1].beta_hi[1]", "greater than beta_lo[1]"),
    ("alpha_zero", _mutated(_set(("layers", 1, "alpha", 0), 0.0)), "layers[1].alpha[0]",
     "must be > 0"),
    ("alpha_negative", _mutated(_set(("layers", 1, "alpha", 1), -0.5)), "layers[1].alpha[1]",
     "must be > 0"),
    ("beta_lo_negative", _mutated(_set(("layers", 1, "beta_lo", 0), -0.1)),
     "layers[1].beta_lo[0]", "negative"),
    ("activation_none_not_last", _mutated(_set(("layers", 0, "activation"), "none")),
     "layers[0].activation", "only on the last layer"),
    ("activation_unknown", _mutated(_set(("layers", 0, "activation"), "tanh")),
     "layers[0].activation", "relu or none"),
    ("skip_from_itself", _mutated(_set(("layers", 2, "skip_from"), 2)), "layers[2].skip_from",
     "earlier layer"),
    ("skip_from_first_layer_itself", _mutated(_set(("layers", 0, "skip_from"), 0)),
     "layers[0].skip_from", "-1 (the network input)"),
    ("skip_from_later_layer", _mutated(_set(("layers", 1, "skip_from"), 2)),
     "layers[1].skip_from", "earlier layer"),
    ("skip_from_different_size", _mutated(_set(("layers", 2, "skip_from"), 0)),
     "layers[2].skip_from", "size 3"),
    ("skip_from_input_different_size", _mutated(_set(("layers", 0, "skip_from"), -1)),
     "layers[0].skip_from", "size 2"),
]

#: (case id, CSV text, expected field or None, words the problem must contain), for a
#: network with input_size 2.
BAD_SEQUENCES = [
    ("empty_file", "", None, "empty"),
    ("header_only", "x0,x1\n", None, "no data rows"),
    ("negative_input", "x0,x1\n0.5,0.1\n0.2,-0.3\n", "line 3, x1", "negative"),
    ("too_few_columns_in_row", "x0,x1\n0.5,0.1\n0.2\n", "line 3", "has 1 columns, expected 2"),
    ("too_many_columns_in_row", "x0,x1\n0.5,0.1,0.7\n", "line 2", "has 3 columns, expected 2"),
    ("header_wrong_width", "x0,x1,x2\n0.5,0.1,0.2\n", "line 1", "input_size 2"),
    ("header_wrong_names", "a,b\n0.5,0.1\n", "line 1", "expected x0,x1"),
    ("non_numeric_cell", "x0,x1\n0.5,high\n", "line 2, x1", "'high' is not a number"),
    ("nan_cell", "x0,x1\nnan,0.1\n", "line 2, x0", "not a finite number"),
    ("inf_cell", "x0,x1\n0.5,inf\n", "line 2, x1", "not a finite number"),
]


def _ids(cases):
    return [case[0] for case in cases]


@pytest.mark.parametrize("case", BAD_NETWORKS, ids=_ids(BAD_NETWORKS))
def test_bad_network_is_one_input_error_naming_file_and_field(case, tmp_path):
    _, text, fieldname, words = case
    path = tmp_path / "net.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_network(path)
    error = caught.value
    assert error.source == str(path)
    assert error.field == fieldname
    assert words in error.problem
    assert "\n" not in str(error)


@pytest.mark.parametrize("case", BAD_SEQUENCES, ids=_ids(BAD_SEQUENCES))
def test_bad_sequence_is_one_input_error_naming_file_and_field(case, tmp_path):
    _, text, fieldname, words = case
    path = tmp_path / "seq.csv"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_sequence(path, input_size=2)
    error = caught.value
    assert error.source == str(path)
    assert error.field == fieldname
    assert words in error.problem


def test_missing_file_is_reported_as_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_network(tmp_path / "absent.yaml")
    with pytest.raises(InputError, match="no such file"):
        load_sequence(tmp_path / "absent.csv")


def test_valid_network_becomes_frozen_typed_layers():
    network = parse_network(copy.deepcopy(BASE_NETWORK), "base.yaml")
    assert [type(layer) for layer in network.layers] == [DenseLayer, BmruLayer, DenseLayer]
    assert [layer.size for layer in network.layers] == [3, 2, 2]
    assert network.output_size == 2 and network.size_of(-1) == 2
    np.testing.assert_array_equal(network.layers[2].bias, [0.0, 0.0])  # default bias
    assert network.layers[2].skip_from == 1
    with pytest.raises(ValueError):
        network.layers[0].weight[0, 0] = 5.0  # arrays are read-only
    with pytest.raises(AttributeError):
        network.layers[0].activation = "none"


def test_exponent_without_dot_is_read_as_float():
    """PyYAML reads `1e-9` as a string; users write it, so the loader must accept it."""
    text = yaml.safe_dump(BASE_NETWORK, sort_keys=False).replace("1.0e-09", "1e-9")
    assert "unit_current: 1e-9" in text
    assert network_from_yaml(text).unit_current == 1e-9


def _assert_same_network(a: Network, b: Network) -> None:
    assert (a.name, a.unit_current, a.input_size) == (b.name, b.unit_current, b.input_size)
    assert len(a.layers) == len(b.layers)
    for left, right in zip(a.layers, b.layers):
        assert type(left) is type(right) and left.skip_from == right.skip_from
        for name in ("weight", "bias", "alpha", "beta_lo", "beta_hi"):
            if hasattr(left, name):
                np.testing.assert_array_equal(getattr(left, name), getattr(right, name))


def test_to_yaml_round_trips_exactly_and_deterministically():
    rng = np.random.default_rng(3)
    data = copy.deepcopy(BASE_NETWORK)
    data["layers"][0]["weight"] = rng.normal(size=(3, 2)).tolist()  # full-precision floats
    data["layers"][1]["beta_hi"] = [0.8 + 1e-13, 123456.789]
    network = parse_network(data)
    text = network.to_yaml()
    again = network_from_yaml(text)
    _assert_same_network(network, again)
    assert again.to_yaml() == text
    assert yaml.safe_load(text)["unit_current"] == 1e-9  # plain YAML readers agree


@pytest.mark.parametrize("name", ["on", "null", "yes", "n", "plain_name"])
def test_to_yaml_keeps_names_that_yaml_would_misread(name):
    data = copy.deepcopy(BASE_NETWORK) | {"name": name}
    assert network_from_yaml(parse_network(data).to_yaml()).name == name


def test_shipped_flipflop_example_loads():
    network = load_network(EXAMPLES / "flipflop.yaml")
    assert network.name == "flipflop"
    assert [layer.kind for layer in network.layers] == ["dense", "bmru", "dense"]
    for path in sorted(EXAMPLES.glob("flipflop_*.csv")):
        inputs = load_sequence(path, network.input_size)
        assert inputs.shape[1] == 2 and inputs.min() >= 0


def test_sequence_tolerates_bom_spaces_and_blank_lines(tmp_path):
    path = tmp_path / "seq.csv"
    path.write_text("\ufeffx0, x1\n0.5, 0.25\n\n1e-1,0\n", encoding="utf-8")
    np.testing.assert_array_equal(load_sequence(path, 2), [[0.5, 0.25], [0.1, 0.0]])
