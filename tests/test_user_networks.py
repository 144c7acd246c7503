"""Issue 14: networks of the shapes users bring (flows.bmru.random_networks.random_user_case)
map within the pdk limits and compile DRC- and LVS-clean."""
from __future__ import annotations

import numpy as np
import pytest

from flows.compile import CompileOptions, compile_network
from flows.bmru.mapping import map_network
from flows.bmru.model import run_network
from flows.bmru.circuit import build_circuit
from flows.bmru.network import BmruLayer, network_from_yaml
from flows.bmru.random_networks import random_user_case
from pdk.limits import MAX_UNITS_PER_RATIO, MIN_BIAS_CURRENT

SEEDS = range(60)


def _layers(case):
    return case.network.layers


def test_the_generator_covers_what_the_schema_admits():
    """Over 60 seeds: 2 … 13 inputs, 1 … 8 units, both kinds of skip, three-decimal
    weights of both signs, zero and tiny biases, α 0.3 … 2, thresholds 0.05 … 4, and every
    input row ≥ 0.06 from every threshold with each unit forced high, low and holding."""
    cases = [random_user_case(s) for s in SEEDS]
    inputs = {c.network.input_size for c in cases}
    sizes = {layer.size for c in cases for layer in _layers(c)}
    assert min(inputs) == 2 and max(inputs) == 13 and min(sizes) == 1 and max(sizes) >= 8
    assert {layer.skip_from for c in cases for layer in _layers(c)} == {None, 0, -1}
    weights = np.concatenate([layer.weight.ravel() for c in cases for layer in _layers(c)])
    biases = np.concatenate([layer.bias for c in cases for layer in _layers(c)])
    np.testing.assert_array_equal(weights, np.round(weights, 3))
    assert weights.min() < 0 < weights.max()
    assert (biases == 0).any() and (biases < 0).any()
    assert ((biases != 0) & (np.abs(biases) * 1e-9 < MIN_BIAS_CURRENT)).any()
    bmru = [layer for c in cases for layer in _layers(c) if isinstance(layer, BmruLayer)]
    alpha = np.concatenate([layer.alpha for layer in bmru])
    lo = np.concatenate([layer.beta_lo for layer in bmru])
    hi = np.concatenate([layer.beta_hi for layer in bmru])
    assert 0.3 <= alpha.min() and alpha.max() <= 2.0
    assert 0.05 <= lo.min() and hi.max() <= 4.0 and hi.max() > 2.0
    for case in cases:
        assert case.margin >= 0.06 and len(case.inputs) == 24
        trace = run_network(case.network, case.inputs)
        index = next(i for i, layer in enumerate(_layers(case)) if isinstance(layer, BmruLayer))
        layer = _layers(case)[index]
        drive = np.maximum(trace.pre_activations[index], 0.0)
        assert (drive > layer.beta_hi).any(axis=0).all() and (drive < layer.beta_lo).any(axis=0).all()
        assert ((drive > layer.beta_lo) & (drive < layer.beta_hi)).any(axis=0).all()
        again = network_from_yaml(case.network.to_yaml())  # a valid file, as a user would write it
        assert [type(x) for x in again.layers] == [type(x) for x in _layers(case)]


@pytest.mark.parametrize("seed", SEEDS)
def test_every_user_network_maps_and_builds(seed):
    """No refusal; every current below the floor rounded within the budget; every BMRU cell
    buildable (α, β_lo, width ≥ one unit); no cell puts more than MAX_UNITS_PER_RATIO units
    on one gate line into one drain."""
    network = random_user_case(seed).network
    mapping = map_network(network)
    assert all(abs(row["error"]) <= mapping.config.error_budget for row in mapping.rounded())
    for layer in mapping.mapped.layers:
        if isinstance(layer, BmruLayer):
            assert (layer.alpha > 0).all() and (layer.beta_lo > 0).all() and (layer.beta_hi > layer.beta_lo).all()
    circuit = build_circuit(network)
    for cell in circuit.cells():
        groups: dict[tuple, int] = {}
        for d in cell.devices():
            groups[(d.d, d.g, d.s)] = groups.get((d.d, d.g, d.s), 0) + 1
        assert max(groups.values()) <= MAX_UNITS_PER_RATIO, cell.name


def _compile_clean(seed: int, tmp_path, **limits) -> dict:
    case = random_user_case(seed, **limits)
    path = tmp_path / f"{case.network.name}.yaml"
    path.write_text(case.network.to_yaml())
    out = tmp_path / "out"
    out.mkdir()
    manifest = compile_network(path, out, CompileOptions())  # raises CheckFailed unless clean
    assert manifest["checks"]["drc_own"]["clean"] and manifest["checks"]["lvs"]["clean"]
    return manifest


@pytest.mark.klayout
@pytest.mark.parametrize("seed", range(10))
def test_small_user_networks_compile_clean(seed, tmp_path):
    """The default suite: ten seeds capped at 4 inputs and 3 units (a few seconds each)."""
    _compile_clean(seed, tmp_path, max_inputs=4, max_units=3)


@pytest.mark.klayout
@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS[:50])
def test_user_networks_compile_clean(seed, tmp_path):
    _compile_clean(seed, tmp_path)


@pytest.mark.klayout
def test_a_network_with_coarse_bias_lines_compiles_clean(tmp_path):
    """0.02 … 20 units in one layer and a −9.5-unit dense bias: the tree's coarse lines bp2
    and bn2 are drawn, wired and extracted like every other device; the manifest reports
    every line and the current rounded below the leakage floor."""
    from tests.test_mapping import small_network
    from flows.bmru.network import parse_network

    network = parse_network(small_network(**{"1.alpha": [0.02, 20.0], "0.bias": [0.011, -9.5]}))
    path = tmp_path / "small.yaml"
    path.write_text(network.to_yaml())
    out = tmp_path / "out"
    out.mkdir()
    manifest = compile_network(path, out, CompileOptions())
    assert manifest["checks"]["drc_own"]["clean"] and manifest["checks"]["lvs"]["clean"]
    assert {row["line"] for row in manifest["mapping"]["bias_lines"]} == {"bp", "bn", "bp2", "bn2"}
    assert [row["parameter"] for row in manifest["mapping"]["rounded"]] == ["layers[0].bias[0]"]


def test_compile_prints_one_warning_line_for_rounded_currents(tmp_path):
    from tests.conftest import run_bmru
    from tests.test_mapping import small_network
    from flows.bmru.network import parse_network

    path = tmp_path / "small.yaml"
    path.write_text(parse_network(small_network(**{"0.bias": [0.011, -0.375]})).to_yaml())
    result = run_bmru("compile", path, "-o", tmp_path / "out", "--no-check")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: small: 1 current(s) below the 20 pA leakage floor rounded "
                        "(layers[0].bias[0] 0.011 → 0; worst error 0.011 units, within the error "
                        "budget); see manifest.json mapping.rounded"]


def test_the_shared_m_holds_every_layers_budget():
    """One M serves every layer: when the largest M the layers ask for on their own leaves
    another layer over budget (user seed 2: M = 29 gave layer 1 a 0.038 bound), the mapping
    takes one at which every layer holds it (M = 32); seed 3 has none, so the worst layer's
    bound is made as small as it goes (0.053 → 0.033 at M = 46)."""
    chosen = {}
    for seed in (2, 3):
        mapping = build_circuit(random_user_case(seed, max_inputs=5, max_units=3).network).mapping
        chosen[seed] = (mapping.layers[0].weight_diode_units,
                        round(max(layer.weight_error_bound for layer in mapping.layers), 3))
    assert chosen == {2: (32, 0.015), 3: (46, 0.033)}
    assert map_network(random_user_case(2, max_inputs=5, max_units=3).network).layers[1].weight_diode_units != 32
