"""R²NN mapping (no ngspice): the realised model's modes against the network's, and room
for the capacitor fit on both sides of every planned velocity capacitor."""
from __future__ import annotations

import numpy as np

from cells.transconductor import LATTICE_TINY, UNIT_CURRENT
from flows.r2nn import model
from flows.r2nn.mapping import (CAP_PLAN_FRACTION, NODE_CAP_MAX, NODE_CAP_RANGE, SLOW_MODE_HZ, map_network,
                                mapped_frequencies, node_capacitor_range)
from flows.r2nn.network import R2nnNetwork


def _two_node(f1: float = 200.0, f2: float = 500.0) -> R2nnNetwork:
    m, w1, w2 = 0.05, 2 * np.pi * f1, 2 * np.pi * f2
    k1, k12, c = m * w1 ** 2, m * w2 ** 2 / 3, m * w1 / 20
    return R2nnNetwork("two", 10240.0, np.array([m, m, m]), np.array([[0, 1, k1], [1, 2, k12], [2, -1, k1]]),
                       np.array([[1, -1, c], [2, -1, c]]), (0,), 1, 1.0, (2,))


def test_mapped_modes_follow_the_network():
    """Measured: 0.006 / −0.002 % (random_0: −0.04 … +0.15 %)."""
    network = _two_node()
    error = mapped_frequencies(map_network(network)) / np.array([m.frequency for m in model.modes(network)[0]]) - 1
    assert np.all(np.abs(error) < 0.05 / 100), error


def test_velocity_capacitors_are_not_planned_at_the_bound():
    mapping = map_network(_two_node())
    for cap in mapping.caps:
        if cap.name.startswith("CV"):
            assert NODE_CAP_RANGE[0] <= cap.value < CAP_PLAN_FRACTION * NODE_CAP_RANGE[1] * 1.01


def test_slow_lattices_get_larger_capacitors():
    """A lattice's gms are C·ω-sized: below SLOW_MODE_HZ the largest node capacitor grows as
    1/f (capped), so a 25× slower copy of the two-node lattice keeps its modes within 0.2 %
    (measured 0.14 %; 6.1 % with the fast lattice's 20 pF) and no tail falls under four
    tiny units (measured 19 pA; one tiny unit, 3.2 pA, at 20 pF)."""
    fast, slow = _two_node(), _two_node(8.0, 20.0)
    assert node_capacitor_range(fast) == NODE_CAP_RANGE
    lowest = min(m.frequency for m in model.modes(slow)[0])
    assert node_capacitor_range(slow)[1] == min(NODE_CAP_RANGE[1] * SLOW_MODE_HZ / lowest, NODE_CAP_MAX)
    mapping = map_network(slow)
    error = mapped_frequencies(mapping) / np.array([m.frequency for m in model.modes(slow)[0]]) - 1
    assert np.all(np.abs(error) < 0.2 / 100), error
    assert max(c.value for c in mapping.caps) > NODE_CAP_RANGE[1]
    assert min(o.tail for o in mapping.otas) >= 4 * UNIT_CURRENT / LATTICE_TINY
