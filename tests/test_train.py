"""Trainer: exact forward pass vs the numpy reference model, realisable parameters,
determinism, and a tiny flip-flop training run through `bmru train`."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from flows.bmru import train  # noqa: E402
from flows.cli import main  # noqa: E402
from flows.bmru.mapping import map_network  # noqa: E402
from flows.bmru.model import run_network  # noqa: E402
from flows.bmru.network import load_network  # noqa: E402


def random_network(specs, input_size, seed):
    """An initialised (untrained) FQNet whose BMRUs switch on the given random inputs."""
    train.setup_determinism(seed)
    net = train.FQNet(input_size, specs)
    for m in net.raw:      # give the zero-initialised readout some weights too
        if m["weight"].abs().sum() == 0:
            m["weight"].data.uniform_(-1, 1)
    return net


def test_step_is_exact_heaviside_with_a_surrogate_gradient():
    z = torch.tensor([-1.0, -1e-9, 0.0, 1e-9, 1.0], requires_grad=True)
    out = train._Step.apply(z)
    assert out.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    out.sum().backward()
    grad = z.grad.tolist()
    assert all(g > 0 for g in grad) and grad[2] == max(grad)   # peak at the threshold


def test_hold_scan_equals_the_loop():
    gen = torch.Generator().manual_seed(3)
    hold = (torch.rand(4, 37, 3, generator=gen) > 0.3).double()
    drive = torch.rand(4, 37, 3, generator=gen, dtype=torch.float64) * (1 - hold)
    h, expected = train.hold_scan(hold, drive), []
    state = torch.zeros(4, 3, dtype=torch.float64)
    for t in range(37):
        state = hold[:, t] * state + drive[:, t]
        expected.append(state)
    assert torch.equal(h, torch.stack(expected, dim=1))


@pytest.mark.parametrize("specs, input_size", [
    (train.kws_architecture(hidden=6, state=3), 13),
    ([train.LayerSpec("dense", 4), train.LayerSpec("bmru", 2),
      train.LayerSpec("dense", 2, activation="none")], 2),
])
def test_forward_pass_equals_the_reference_model(tmp_path, specs, input_size):
    """The network the trainer optimises is the one §3 defines: write it, load it, and the
    numpy model gives the same outputs as the trainer's float64 forward pass."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, size=(16, 60, input_size))
    net = random_network(specs, input_size, seed=5)
    net.init_from_data(x.astype(np.float32))
    network = train.write_network(tmp_path / "n.yaml", "n", 1e-9, net.params())
    params = train.Params.from_layer_dicts(input_size, network.to_dict()["layers"])
    ours = train.run(params, torch.from_numpy(x)).numpy()
    reference = run_network(load_network(tmp_path / "n.yaml"), x).output
    np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)
    # the BMRUs did switch and hold, so the comparison covers the recurrence
    bmru_out = run_network(network, x).activations[1]
    assert 0 < (bmru_out > 0).mean() < 1


def test_parameters_stay_realisable_and_rounding_is_to_eighths():
    net = random_network(train.kws_architecture(hidden=5, state=2), 13, seed=0)
    with torch.no_grad():
        for m in net.raw:
            m["weight"].mul_(100)
            if "alpha" in m:
                m["alpha"].fill_(50.0)
                m["width"].fill_(-50.0)
                m["beta_lo"].fill_(-50.0)
    net.project()
    params = net.params()
    for spec, p in zip(params.specs, params.layers):
        assert p["weight"].abs().max() <= train.WEIGHT_MAX
        if spec.kind == "bmru":
            assert (p["alpha"] <= train.ALPHA_MAX).all() and (p["alpha"] >= train.ALPHA_MIN).all()
            assert (p["beta_lo"] >= 0).all()
            assert (p["beta_hi"] - p["beta_lo"] >= train.MIN_HYSTERESIS - 1e-6).all()
    rounded = params.rounded()
    for p, r in zip(params.layers, rounded.layers):
        eighths = r["weight"] * 8
        assert torch.equal(eighths, torch.round(eighths))
        assert (r["weight"] - p["weight"]).abs().max() <= 1 / 16 + 1e-7
        assert torch.equal(r["bias"], p["bias"])


def test_kws_architecture_is_the_published_block_twice():
    specs = train.kws_architecture(hidden=8, state=4)
    assert [(s.kind, s.size, s.activation, s.skip_from) for s in specs] == [
        ("dense", 8, "relu", None), ("bmru", 4, "relu", None), ("dense", 8, "relu", 0),
        ("bmru", 4, "relu", None), ("dense", 8, "relu", 2), ("dense", 2, "none", None)]


def test_row_targets_score_after_the_keyword_only():
    targets = train.kws_row_targets(np.array([0, 1]), np.array([2, 2]), np.array([5, 5]), 8)
    assert targets.tolist() == [[1, 1, -100, -100, -100, 0, 0, 0], [1] * 8]


def toy_keyword(seed: int, count: int, steps: int):
    """A toy keyword task: a burst on input 3 somewhere in half the sequences (label 0)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.3, size=(count, steps, 13)).astype(np.float32)
    labels = np.arange(count) % 2
    onset = rng.integers(5, steps - 10, size=count)
    for i in np.flatnonzero(labels == 0):
        x[i, onset[i]:onset[i] + 5, 3] = 1.0
    return x, labels, train.kws_row_targets(labels, onset, onset + 5, steps)


def test_kws_training_runs_and_writes_a_valid_classifier(tmp_path):
    """Two epochs on a toy keyword (a burst on input 3 anywhere in the sequence): the
    pipeline runs end to end and the file is a valid 13→2 network."""
    x, labels, targets = toy_keyword(0, 64, 40)
    params, metrics = train.train_kws(x, targets, x, labels, seed=0, epochs=2, hidden=4, state=2)
    network = train.write_network(tmp_path / "k.yaml", "k", 1e-9, params)
    assert (network.input_size, network.output_size) == (13, 2)
    decisions = run_network(network, x).output[:, -1].argmax(axis=1)
    assert metrics["held_out_accuracy"] == pytest.approx((decisions == labels).mean(), abs=1e-6)
    assert metrics["held_out_yes_recall"] == pytest.approx((decisions[labels == 0] == 0).mean(),
                                                           abs=1e-6)
    assert 0.0 <= metrics["held_out_accuracy_rounded"] <= 1.0


def flipflop_accuracy(network, seed):
    x, labels = train.flipflop_data(np.random.default_rng(seed), 64, 200)
    return float((run_network(network, x).output.argmax(axis=-1) == labels).mean())


def test_tiny_flipflop_training_learns_to_remember(tmp_path, capsys):
    out = tmp_path / "ff.yaml"
    assert main(["train", "flipflop", "-o", str(out), "--seed", "2", "--epochs", "10"]) == 0
    printed = capsys.readouterr().out
    assert "held_out_accuracy_rounded" in printed
    network = load_network(out)
    assert network.name == "ff"
    # evaluated by the numpy reference model on fresh, longer sequences
    assert flipflop_accuracy(network, seed=99) >= 0.97
    # and buildable: every ratio and bias current within the pdk limits
    mapped = map_network(network)
    assert len(mapped.layers) == 3


def test_same_seed_same_file_other_seed_other_file(tmp_path):
    out = tmp_path / "ff.yaml"
    runs = []
    for seed in (1, 1, 4):
        assert main(["train", "flipflop", "-o", str(out), "--seed", str(seed), "--epochs", "1"]) == 0
        runs.append(out.read_bytes())
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert load_network(out).layers[1].kind == "bmru"


@pytest.mark.parametrize("argv, field", [
    (["--epochs", "0"], "--epochs"),
    (["--name", "Bad-Name"], "--name"),
    (["--speech-commands", "x"], "--speech-commands"),
])
def test_bad_options_exit_2(tmp_path, capsys, argv, field):
    out = tmp_path / "n.yaml"
    assert main(["train", "flipflop", "-o", str(out), "--seed", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and field in err
    assert not out.exists()


def test_margin_penalty_counts_drives_inside_the_band_only():
    p = {"beta_lo": torch.tensor([1.0]), "beta_hi": torch.tensor([2.0])}
    at_threshold = torch.tensor([[[2.0]]])
    clear = torch.tensor([[[1.5], [2.5], [0.5]]])   # ≥ 10 % of each threshold away
    assert train.margin_penalty(at_threshold, p, 0.1).item() == pytest.approx(1.0)
    assert train.margin_penalty(clear, p, 0.1).item() == 0.0
    halfway = torch.tensor([[[2.1]]])               # half the band from β_hi
    assert train.margin_penalty(halfway, p, 0.1).item() == pytest.approx(0.5)


def test_realised_parameters_are_the_compiled_circuits_values():
    from flows.bmru.circuit import realised_network
    from flows.bmru.network import network_from_arrays

    net = random_network([train.LayerSpec("dense", 3), train.LayerSpec("bmru", 2),
                          train.LayerSpec("dense", 2, activation="none")], 3, seed=5)
    params = net.params()
    expected = realised_network(network_from_arrays(3, params.to_layer_dicts(), "n", 1e-9))
    for p, layer in zip(train.realised(params).layers, expected.layers):
        for key, value in p.items():
            np.testing.assert_allclose(value.detach().numpy(), getattr(layer, key), atol=1e-6)
    # gradients pass straight through
    loss = sum(v.sum() for p in train.realised(params).layers for v in p.values())
    loss.backward()
    assert all(m["weight"].grad is not None for m in net.raw)


def test_hardware_training_runs_its_last_epochs_on_the_realised_grid(tmp_path):
    x, labels, targets = toy_keyword(1, 32, 30)
    params, metrics = train.train_kws(x, targets, x, labels, seed=0, epochs=5, hidden=4, state=2,
                                      hardware=train.Hardware())
    network = train.write_network(tmp_path / "k.yaml", "k", 1e-9, params)
    assert network.output_size == 2 and 0.0 <= metrics["held_out_accuracy"] <= 1.0
    assert 0.02 < train.default_margin() < 0.2   # 2 σ of a few-% mismatch spread
    # the file holds the circuit's own grid: compiling maps it onto itself
    from flows.bmru.circuit import realised_network

    for layer, again in zip(network.layers, realised_network(network).layers):
        np.testing.assert_allclose(layer.weight, again.weight, atol=1e-6)
        np.testing.assert_allclose(layer.bias, again.bias, atol=1e-6)


@pytest.mark.parametrize("argv, field", [
    (["--no-hardware", "--margin", "0.05"], "--margin"),
    (["--hardware", "--margin", "1.5"], "--margin"),
    (["--no-hardware", "--diode-units", "8"], "--diode-units"),
])
def test_bad_hardware_options_exit_2(tmp_path, capsys, argv, field):
    out = tmp_path / "n.yaml"
    assert main(["train", "flipflop", "-o", str(out), "--seed", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and field in err and not out.exists()
