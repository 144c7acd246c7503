"""`bmru finetune` (flows.bmru.finetune): the network moved onto what its macro computes,
compiling to the same devices, measured against ngspice."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cells import corrections
from flows.bmru.circuit import build_circuit
from flows.bmru.circuit_model import corrected_network
from flows.bmru.finetune import finetune
from flows.bmru.mapping import map_network
from flows.bmru.network import load_network
from flows.bmru.random_networks import random_user_case
from pdk.models import Conditions
from tests.conftest import run_bmru

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FLIPFLOP = EXAMPLES / "flipflop.yaml"


def _values(network) -> np.ndarray:
    return np.concatenate([np.ravel(getattr(layer, f)) for layer in network.layers
                           for f in ("weight", "bias", "alpha", "beta_lo", "beta_hi") if hasattr(layer, f)])


@pytest.mark.parametrize("seed", range(6))
def test_the_finetuned_network_is_the_macro(seed):
    """User-shaped networks at M 4 … 32: the fine-tuned network is the circuit-aware model
    (realised values with the tt corrections) where that keeps each unit count, and mapped
    with the macro's M and D it gives the macro's unit counts. (Its own compile may choose
    a smaller D: values near n/D fit a coarser tree too; `same_devices` says so.)"""
    rng = np.random.default_rng(seed)
    m = int(rng.choice([4, 8, 16, 32]))
    circuit = build_circuit(random_user_case(seed).network, diode_units=m)
    tuned = finetune(circuit)
    remapped = map_network(tuned.network, circuit.mapping.config)
    assert [[r.units for r in layer.ratios] for layer in remapped.layers] == \
        [[r.units for r in layer.ratios] for layer in circuit.mapping.layers]
    nominal = Conditions()
    model = corrected_network(circuit.mapping.mapped, corrections.at(corrections.load(), nominal.corner,
                                                                     nominal.temp, nominal.vdd))
    if not tuned.held:
        assert np.array_equal(_values(tuned.network), _values(model))


def test_the_finetuned_keyword_spotter_compiles_to_its_macro():
    circuit = build_circuit(load_network(EXAMPLES / "kws_d4.yaml"), diode_units=8)
    tuned = finetune(circuit)
    assert tuned.same_devices and not tuned.held


def test_values_beyond_their_unit_count_are_held_at_its_edge():
    """A 30 % gain error would move many weights to another unit count: they are held inside
    their interval, and the devices stay the macro's."""
    circuit = build_circuit(random_user_case(3).network, diode_units=8)
    tuned = finetune(circuit, {"weight_pos": 0.3, "weight_neg": 0.3, "bias_pos": 0.3})
    assert tuned.held
    remapped = map_network(tuned.network, circuit.mapping.config)
    assert [[r.units for r in layer.ratios] for layer in remapped.layers] == \
        [[r.units for r in layer.ratios] for layer in circuit.mapping.layers]
    weights = [p for p in tuned.held if ".weight[" in p]
    assert weights
    for parameter in weights:
        layer, row, col = (int(v) for v in parameter.replace("layers[", "").replace("].weight[", " ")
                           .replace("][", " ").rstrip("]").split())
        realised = circuit.mapping.mapped.layers[layer].weight[row, col]
        value = tuned.network.layers[layer].weight[row, col]
        assert np.sign(value) == np.sign(realised) and abs(abs(value) - abs(realised)) < 0.5 / 8


@pytest.mark.ngspice
def test_finetune_command(tmp_path):
    build, out = tmp_path / "ff", tmp_path / "ff_tuned.yaml"
    assert run_bmru("compile", FLIPFLOP, "--no-check", "-o", build).returncode == 0
    done = run_bmru("finetune", FLIPFLOP, "--build", build, "-o", out,
                    "--inputs", EXAMPLES / "flipflop_mixed.csv")
    assert done.returncode == 0, done.stderr
    assert "gives the same devices" in done.stdout
    assert "BMRU states agree 100.0 % with flipflop.yaml → 100.0 % with ff_tuned.yaml" in done.stdout
    text = out.read_text()
    assert text.startswith("# Fine-tuned by: bmru finetune")
    tuned = load_network(out)
    assert tuned.name == load_network(FLIPFLOP).name
    again = run_bmru("finetune", FLIPFLOP, "--build", build, "-o", out)  # its own file: replaced
    assert again.returncode == 0 and out.read_text() == text


def test_finetune_refusals(tmp_path):
    build = tmp_path / "ff"
    assert run_bmru("compile", FLIPFLOP, "--no-check", "-o", build).returncode == 0
    other = tmp_path / "other.yaml"
    text = FLIPFLOP.read_text()
    first = "      - [1.0, -1.0]\n      - [-1.0, 1.0]\n    activation: relu"
    assert first in text
    other.write_text(text.replace(first, first.replace("[1.0, -1.0]", "[2.0, -1.0]", 1)))
    mine = tmp_path / "mine.yaml"
    mine.write_text("keep me\n")
    cases = [((FLIPFLOP, "--build", tmp_path, "-o", tmp_path / "a.yaml"), "no manifest.json"),
             ((FLIPFLOP, "--build", build, "-o", mine), "was not written by 'bmru finetune'"),
             ((FLIPFLOP, "--build", build, "-o", FLIPFLOP, "--force"), "is NET itself"),
             ((other, "--build", build, "-o", tmp_path / "b.yaml"), "compiled from another network")]
    for args, problem in cases:
        done = run_bmru("finetune", *args)
        assert done.returncode == 2 and problem in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert mine.read_text() == "keep me\n" and not (tmp_path / "a.yaml").exists()
