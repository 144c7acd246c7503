"""R²NN training: the adjoint gradient against finite differences, stable parameter ranges,
generated tasks, and a short run that learns (deterministic for a seed)."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from flows.r2nn import tasks, train
from flows.r2nn.mapping import ROW_SPREAD
from flows.r2nn.network import highest_frequency, parse_network


def test_adjoint_gradient_matches_finite_differences():
    lattice = train.Lattice("machine")
    net = lattice.network(lattice.initial(np.random.default_rng(0)))
    x, y = tasks.dataset("machine", "train", count=1)
    x = x[:, :300]
    _, _, dk, dc = train.loss_and_gradient(net, x, y, 3.0)
    data = yaml.safe_load(net.to_yaml())
    for key, grad in (("springs", dk), ("dampers", dc)):
        for j in (0, 7, len(grad) - 1):
            h = data[key][j][2] * 1e-6
            losses = []
            for sign in (1, -1):
                changed = yaml.safe_load(net.to_yaml())
                changed[key][j][2] += sign * h
                losses.append(train.loss_and_gradient(parse_network(changed), x, y, 3.0)[0])
            assert grad[j] == pytest.approx((losses[0] - losses[1]) / (2 * h), rel=1e-4, abs=1e-12)


@pytest.mark.parametrize("task", tasks.TASKS)
def test_every_parameter_in_range_is_stable(task):
    """The corners of the clamped ranges (all springs at their top) stay within ω·dt < 1.8."""
    lattice = train.Lattice(task)
    stiff = {g: np.ones(n) for g, n in lattice.groups}
    net = lattice.network(stiff)
    assert highest_frequency(net) * net.dt < train.OMEGA_LIMIT
    soft = lattice.network({g: np.zeros(n) for g, n in lattice.groups})
    assert soft.springs[:, 2].min() > 0


@pytest.mark.parametrize("task", ["machine", "tactile"])
def test_synthetic_tasks_are_fixed_and_balanced(task):
    x, y = tasks.dataset(task, "test", count=4)
    again, _ = tasks.dataset(task, "test", count=4)
    assert np.array_equal(x, again)
    assert x.shape == (12, tasks.SPECS[task].samples) and np.bincount(y).tolist() == [4, 4, 4]
    train_x, _ = tasks.dataset(task, "train", count=4)
    assert not np.allclose(train_x, x)


def test_short_training_learns_tactile():
    net, metrics = train.train("tactile", epochs=3, seed=1, train_count=60)
    assert metrics["test_accuracy"] >= 0.8          # chance is 1/3
    again, _ = train.train("tactile", epochs=3, seed=1, train_count=60)
    assert again.to_yaml() == net.to_yaml()
    assert parse_network(yaml.safe_load(net.to_yaml())).to_yaml() == net.to_yaml()


@pytest.mark.parametrize("task", tasks.TASKS)
def test_realisable_keeps_every_spring_within_its_rows_spread(task):
    """Hardware-aware training: from any point of the ranges (random s, the soft and stiff
    corners) `Lattice.realisable` gives springs each ≥ 1/ROW_SPREAD of the largest spring
    on the main masses it joins, and only ever raises a spring."""
    lattice = train.Lattice(task)
    rng = np.random.default_rng(3)
    carriers = set(lattice.layout.carriers())
    for s in [{g: rng.uniform(0, 1, n) for g, n in lattice.groups},
              {g: np.zeros(n) for g, n in lattice.groups},
              {g: np.where(np.arange(n) % 2, 1.0, 0.0) for g, n in lattice.groups}]:
        fixed = lattice.realisable(s)
        for g, _ in lattice.groups:
            assert np.all(fixed[g] >= s[g] - 1e-12) and np.all((0 <= fixed[g]) & (fixed[g] <= 1))
        net = lattice.network(fixed)
        for m in carriers:
            row = [k for a, b, k in net.springs if m in (a, b)]
            assert min(row) >= max(row) / ROW_SPREAD * (1 - 1e-9), (m, row)
