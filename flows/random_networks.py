"""Seeded random `input → dense ReLU → BMRU` networks with inputs that keep a margin.

Tests and acceptance checks compare a circuit against the reference model; that
comparison is only meaningful when no BMRU drive sits on a threshold, where any tiny error
flips a state. These cases guarantee that margin while still exercising force-high,
force-low and hold in every unit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.model import run_network, threshold_margin
from flows.network import BmruLayer, DenseLayer, Network

#: Candidate input rows drawn per attempt; the sequence is picked among those with margin.
_POOL_ROWS = 512
_MAX_ATTEMPTS = 1000


@dataclass(frozen=True, eq=False)
class RandomCase:
    """A network, an input sequence (steps, input_size) and its actual threshold margin."""

    network: Network
    inputs: np.ndarray
    margin: float


def random_bmru_case(seed: int, input_size: int = 3, units: int = 3, steps: int = 24,
                     margin: float = 0.06, unit_current: float = 1e-9) -> RandomCase:
    """A valid network `input → dense ReLU (units) → BMRU (units)` and `steps` input rows
    in [0, 1] such that every BMRU drive ĥ stays >= `margin` from β_lo and β_hi, and each
    unit is forced high, forced low and holds at least once. Thresholds lie inside the
    range of the drives. Every bias current is >= 0.05 units, so the network maps within
    the pdk limits at the default 1 nA unit. Same seed, same case."""
    rng = np.random.default_rng(seed)
    for _ in range(_MAX_ATTEMPTS):
        case = _attempt(rng, input_size, units, steps, margin, unit_current)
        if case is not None:
            return case
    raise RuntimeError(f"no random case with margin {margin} found for seed {seed}")


def _attempt(rng: np.random.Generator, input_size: int, units: int, steps: int,
             margin: float, unit_current: float) -> RandomCase | None:
    dense = DenseLayer(rng.uniform(-0.5, 1.0, (units, input_size)),
                       rng.uniform(0.05, 0.2, units))
    weight = rng.uniform(-0.5, 1.0, (units, units))
    bias = rng.uniform(0.05, 0.2, units)
    pool = rng.uniform(0.0, 1.0, (_POOL_ROWS, input_size))
    drive = np.maximum(np.maximum(pool @ dense.weight.T + dense.bias, 0.0) @ weight.T + bias, 0.0)
    beta_lo = np.quantile(drive, 0.3, axis=0)
    beta_hi = np.quantile(drive, 0.7, axis=0)
    if (beta_lo < 0.1).any() or (beta_hi - beta_lo < 0.2).any():
        return None  # no room for a hold band with margin on both sides
    clear = ((np.abs(drive - beta_lo) >= margin) & (np.abs(drive - beta_hi) >= margin)).all(axis=1)
    if clear.sum() < steps:
        return None
    chosen = rng.choice(np.flatnonzero(clear), size=steps, replace=False)
    chosen_drive = drive[chosen]
    high, low = chosen_drive > beta_hi, chosen_drive < beta_lo
    hold = ~(high | low)
    if not (high.any(axis=0) & low.any(axis=0) & hold.any(axis=0)).all():
        return None
    bmru = BmruLayer(weight, bias, rng.uniform(0.5, 1.5, units), beta_lo, beta_hi)
    network = Network(f"random_{input_size}x{units}", unit_current, input_size, (dense, bmru),
                      source="random network")
    inputs = pool[chosen]
    return RandomCase(network, inputs, threshold_margin(network, run_network(network, inputs)))
