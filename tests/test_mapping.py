"""Parameter mapping: exact ratios cost nothing, errors stay within 1/(2M) and 1/(2D),
limits are rejected with the parameter named, and the mapped network behaves like the
original."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from flows.errors import InputError
from flows.bmru.mapping import MappingConfig, coarse_factor, map_network, signal_bounds
from flows.bmru.model import run_network
from flows.bmru.network import load_network, parse_network
from flows.netfile import load_sequence
from flows.bmru.random_networks import random_bmru_case
from pdk.limits import MAX_UNITS_PER_RATIO, MIN_BIAS_CURRENT

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def small_network(**changes) -> dict:
    """2 → dense 2 → BMRU 2 with exact quarter/eighth values; `changes` patch layer fields
    as {"layer_index.field": value} or top-level fields."""
    data = {
        "schema": "bmru-network/1", "name": "small", "unit_current": 1e-9, "input_size": 2,
        "layers": [
            {"kind": "dense", "weight": [[0.75, -0.25], [1.5, 0.5]], "bias": [0.125, -0.375]},
            {"kind": "bmru", "weight": [[1.0, -0.5], [0.25, 0.75]], "bias": [0.0, 0.25],
             "alpha": [1.0, 0.5], "beta_lo": [0.25, 0.125], "beta_hi": [0.875, 0.5]},
        ],
    }
    for key, value in changes.items():
        if "." in key:
            index, name = key.split(".")
            data["layers"][int(index)][name] = value
        else:
            data[key] = value
    return data


def test_exact_ratios_map_with_zero_error():
    mapping = map_network(parse_network(small_network()))
    assert all(row["error"] == 0.0 for row in mapping.table())
    assert [layer.weight_diode_units for layer in mapping.layers] == [4, 4]
    assert [layer.bias_diode_units for layer in mapping.layers] == [8, 8]
    for original, mapped in zip(mapping.network.layers, mapping.mapped.layers):
        np.testing.assert_array_equal(original.weight, mapped.weight)
        np.testing.assert_array_equal(original.bias, mapped.bias)
    np.testing.assert_array_equal(mapping.mapped.layers[1].beta_lo, [0.25, 0.125])


def test_netlist_views_agree_with_the_table():
    mapping = map_network(parse_network(small_network()))
    np.testing.assert_array_equal(mapping.layers[0].signed_weight_units, [[3, -1], [6, 2]])
    assert mapping.ratio("layers[1].beta_hi[1]").units == 4  # 0.5 against an 8-unit diode
    with pytest.raises(KeyError):
        mapping.ratio("layers[2].alpha[0]")


def test_signs_choose_source_or_sink():
    rows = {row["parameter"]: row for row in map_network(parse_network(small_network())).table()}
    assert rows["layers[0].weight[0][0]"]["direction"] == "source"
    assert rows["layers[0].weight[0][1]"]["direction"] == "sink"
    assert rows["layers[0].weight[0][1]"]["realised"] == -0.25
    assert rows["layers[0].bias[1]"]["direction"] == "sink"
    assert rows["layers[0].bias[1]"]["realised_current"] == pytest.approx(-0.375e-9)
    assert rows["layers[1].bias[0]"]["direction"] == "none"
    assert rows["layers[1].alpha[1]"]["direction"] == "bias"
    assert rows["layers[1].beta_hi[0]-beta_lo[0]"]["target"] == 0.625


@pytest.mark.parametrize("seed", range(12))
def test_errors_are_bounded_by_half_a_unit_of_the_diode(seed):
    network = random_bmru_case(seed).network
    mapping = map_network(network)
    rows = mapping.table()
    assert len(rows) == sum(layer.weight.size + layer.size + (3 * layer.size
                                                              if layer.kind == "bmru" else 0)
                            for layer in network.layers)
    for row in rows:
        assert abs(row["error"]) <= 1 / (2 * row["diode_units"]) + 1e-12
        assert row["units"] <= MAX_UNITS_PER_RATIO and row["diode_units"] <= MAX_UNITS_PER_RATIO
    for layer, layer_mapping, bound in zip(network.layers, mapping.layers,
                                           (np.ones(3),) + signal_bounds(network, 1.0)):
        np.testing.assert_array_equal(layer_mapping.input_max, bound)
        weight_rows = [r for r in rows if r["parameter"].startswith(
            f"layers[{layer_mapping.index}].weight")]
        errors = np.array([abs(r["error"]) for r in weight_rows]).reshape(layer.weight.shape)
        assert layer_mapping.weight_error_bound == pytest.approx((errors @ bound).max())


@pytest.mark.parametrize("seed", range(12))
def test_mapped_random_network_keeps_every_state_decision(seed):
    case = random_bmru_case(seed)
    mapping = map_network(case.network, MappingConfig(error_budget=case.margin / 3))
    bmru, realised = case.network.layers[1], mapping.mapped.layers[1]
    threshold_shift = max(np.abs(realised.beta_hi - bmru.beta_hi).max(),
                          np.abs(realised.beta_lo - bmru.beta_lo).max())
    assert threshold_shift <= 2 * mapping.layers[1].bias_error_max + 1e-12
    original = run_network(case.network, case.inputs)
    mapped = run_network(mapping.mapped, case.inputs)
    np.testing.assert_array_equal(original.output > 0, mapped.output > 0)
    alpha_error = max(abs(r["error"]) for r in mapping.table() if "alpha" in r["parameter"])
    np.testing.assert_allclose(mapped.output, original.output, rtol=0, atol=alpha_error + 1e-12)


def test_flipflop_maps_exactly_and_runs_the_same():
    network = load_network(EXAMPLES / "flipflop.yaml")
    mapping = map_network(network)
    assert max(abs(row["error"]) for row in mapping.table()) == 0.0
    inputs = load_sequence(EXAMPLES / "flipflop_mixed.csv", 2)
    np.testing.assert_array_equal(run_network(mapping.mapped, inputs).output,
                                  run_network(network, inputs).output)


def test_smaller_budget_buys_precision_with_devices():
    network = random_bmru_case(3).network
    loose = map_network(network, MappingConfig(error_budget=0.1))
    tight = map_network(network, MappingConfig(error_budget=0.01))
    assert tight.device_units > loose.device_units
    for loose_layer, tight_layer in zip(loose.layers, tight.layers):
        assert loose_layer.weight_error_bound <= 0.1
        assert tight_layer.weight_error_bound < loose_layer.weight_error_bound
        assert tight_layer.weight_diode_units > loose_layer.weight_diode_units


def test_unreachable_budget_takes_the_most_precise_choice():
    network = parse_network(small_network(**{"0.weight": [[1 / np.pi, 0.0], [0.0, 0.0]]}))
    mapping = map_network(network, MappingConfig(error_budget=1e-9))
    layer = mapping.layers[0]
    best = min(abs(1 / np.pi - round(m / np.pi) / m) for m in range(1, MAX_UNITS_PER_RATIO + 1))
    assert layer.weight_error_bound == pytest.approx(best)
    assert not mapping.summary()["layers"][0]["meets_budget"]


def test_config_overrides_fix_the_diodes():
    network = parse_network(small_network())
    mapping = map_network(network, MappingConfig(weight_diode_units={0: 2},
                                                 bias_diode_units={1: 16}))
    assert mapping.layers[0].weight_diode_units == 2
    assert mapping.layers[1].bias_diode_units == 16
    weight_rows = [r for r in mapping.table() if r["parameter"].startswith("layers[0].weight")]
    assert max(abs(r["error"]) for r in weight_rows) == 0.25  # 0.75 and 0.25 at halves


@pytest.mark.parametrize("config, fieldname", [
    (MappingConfig(weight_diode_units={0: 0}), "weight_diode_units[0]"),
    (MappingConfig(weight_diode_units={0: 64}), "weight_diode_units[0]"),  # 1.5 → 96 units
    (MappingConfig(bias_diode_units={1: 51}), "bias_diode_units[1]"),  # iref/51 < 20 pA
    (MappingConfig(bias_diode_units={5: 4}), "bias_diode_units[5]"),
    (MappingConfig(input_max=0.0), "input_max"),
    (MappingConfig(error_budget=float("nan")), "error_budget"),
])
def test_bad_override_is_rejected(config, fieldname):
    with pytest.raises(InputError) as caught:
        map_network(parse_network(small_network()), config)
    assert caught.value.source == "mapping config" and caught.value.field == fieldname


@pytest.mark.parametrize("changes, message", [
    ({"0.bias": [0.125, -80.0]},
     "layers[0].bias[1]: 80 units = 80 nA is above the 50 nA weak-inversion limit "
     "(MAX_BRANCH_CURRENT in pdk/limits.py): lower unit_current"),
    ({"1.beta_hi": [0.875, 60.0]},
     "layers[1].beta_hi[1]: 60 units = 60 nA is above the 50 nA weak-inversion limit"),
    ({"0.weight": [[0.75, -80.0], [1.5, 0.5]]},
     "layers[0].weight[0][1]: -80 needs 80 unit devices, more than the 64 allowed per ratio "
     "(MAX_UNITS_PER_RATIO in pdk/limits.py)"),
    ({"unit_current": 1e-11}, "unit_current: 10 pA per unit is below the 20 pA leakage floor "
     "(MIN_BIAS_CURRENT in pdk/limits.py): raise unit_current"),
    # at 0.1 nA per unit one tree unit is 0.2 units: 0.09 rounds to 0, off by more than 0.02
    ({"unit_current": 1e-10, "0.bias": [0.4, 0.09]},
     "layers[0].bias[1]: 0.09 units = 9 pA is below the 20 pA leakage floor (MIN_BIAS_CURRENT in "
     "pdk/limits.py) and rounding it to 0 misses by 0.09 units, more than the 0.02 error budget: "
     "raise unit_current"),
])
def test_parameters_outside_the_limits_are_rejected_by_name(changes, message):
    network = parse_network(small_network(**changes), "small.yaml")
    with pytest.raises(InputError) as caught:
        map_network(network)
    assert str(caught.value).startswith(f"small.yaml: {message}")


@pytest.mark.parametrize("changes, parameter", [
    ({"0.bias": [0.125, 0.011]}, "layers[0].bias[1]"),
    ({"1.alpha": [0.004, 0.5]}, "layers[1].alpha[0]"),
    ({"1.beta_lo": [0.25, 0.49]}, "layers[1].beta_hi[1]-beta_lo[1]"),
    ({"1.beta_lo": [0.0, 0.125]}, None),  # β_lo = 0: one unit, no current below the floor
])
def test_currents_below_the_leakage_floor_are_rounded_within_the_budget(changes, parameter):
    """A bias, α or hysteresis width below 20 pA becomes the nearest multiple of the tree's
    unit (a BMRU cell keeps ≥ 1 unit of α, β_lo and width), listed by rounded()."""
    mapping = map_network(parse_network(small_network(**changes)))
    rounded = {row["parameter"]: row for row in mapping.rounded()}
    assert list(rounded) == ([parameter] if parameter else [])
    if parameter:
        ratio = mapping.ratio(parameter)
        assert abs(ratio.error) <= mapping.config.error_budget
        assert rounded[parameter]["realised"] == ratio.realised
    assert all(abs(row["target_current"]) < MIN_BIAS_CURRENT for row in rounded.values())
    bmru = mapping.mapped.layers[1]
    assert (bmru.beta_lo > 0).all() and (bmru.beta_hi > bmru.beta_lo).all() and (bmru.alpha > 0).all()


def test_a_thousand_to_one_layer_gets_a_coarse_line():
    """0.02 … 20 units in one layer: n // F coarse plus n % F fine devices, every error
    within half a fine unit, no ratio above MAX_UNITS_PER_RATIO devices per line."""
    network = parse_network(small_network(**{"1.alpha": [0.02, 20.0], "1.bias": [0.03, 12.5]}))
    mapping = map_network(network)
    layer = mapping.layers[1]
    units = np.array([r.units for r in layer.ratios if r.element != "weight mirror"])
    coarse = coarse_factor(int(units.max()))
    assert coarse > 1
    assert (units % coarse <= MAX_UNITS_PER_RATIO).all() and (units // coarse <= MAX_UNITS_PER_RATIO).all()
    for r in layer.ratios[4:]:
        assert abs(r.error) <= 1 / (2 * layer.bias_diode_units) + 1e-12
    assert layer.bias_error_max <= mapping.config.error_budget


def test_limits_scale_with_unit_current():
    """0.015 units is 15 pA at 1 nA per unit (rounded, listed) but 150 pA at 10 nA: built."""
    low = map_network(parse_network(small_network(**{"1.alpha": [0.015, 0.5]})))
    assert [row["parameter"] for row in low.rounded()] == ["layers[1].alpha[0]"]
    network = parse_network(small_network(**{"1.alpha": [0.015, 0.5], "unit_current": 1e-8}))
    mapping = map_network(network)
    assert mapping.rounded() == []
    assert mapping.layers[1].bias_diode_units <= 1e-8 / MIN_BIAS_CURRENT
    row = next(r for r in mapping.table() if r["parameter"] == "layers[1].alpha[0]")
    assert row["units"] >= 1 and row["realised_current"] >= MIN_BIAS_CURRENT


def test_table_is_json_ready_and_deterministic():
    network = random_bmru_case(2).network
    first = json.dumps(map_network(network).table(), sort_keys=False)
    again = json.dumps(map_network(network).table(), sort_keys=False)
    assert first == again
    rows = json.loads(first)
    assert list(rows[0]) == ["parameter", "element", "direction", "units", "diode_units",
                             "target", "realised", "error", "realised_current"]
    assert rows[0]["parameter"] == "layers[0].weight[0][0]"
    assert rows[-1]["parameter"] == "layers[1].beta_hi[2]-beta_lo[2]"
    json.dumps(map_network(network).summary())


def test_a_user_diode_count_too_large_names_the_option():
    from flows.bmru.circuit import build_circuit

    network = parse_network(small_network())  # largest weight 1.5: 1.5·43 rounds to 65 units, M ≤ 42
    with pytest.raises(InputError) as caught:
        build_circuit(network, diode_units=50)
    assert caught.value.source == "command line" and caught.value.field == "--diode-units"
    assert "at most 42" in caught.value.problem
    assert build_circuit(network, diode_units=42).notes["weight_diode_units"] == 42


def test_the_circuit_builds_the_coarse_lines_it_reports():
    """A 0.02 … 20-unit layer and a large negative dense bias: the tree gets bp2 and bn2,
    every bias line's range is reported, and no cell has more than MAX units per line."""
    from flows.bmru.circuit import build_circuit

    network = parse_network(small_network(**{"1.alpha": [0.02, 20.0], "0.bias": [0.125, -9.5]}))
    circuit = build_circuit(network)
    lines = {row["line"]: row for row in circuit.notes["bias_lines"]}
    assert set(lines) == {"bp", "bn", "bp2", "bn2"}
    tree = circuit.blocks[0].cell
    assert lines["bp2"]["unit_A"] == pytest.approx(tree.coarse * lines["bp"]["unit_A"])
    assert lines["bp2"]["current_max_A"] > 100 * lines["bp"]["current_min_A"]
    for cell in circuit.cells():
        groups: dict[tuple, int] = {}
        for d in cell.devices():
            groups[(d.d, d.g)] = groups.get((d.d, d.g), 0) + 1
        assert max(groups.values()) <= MAX_UNITS_PER_RATIO
