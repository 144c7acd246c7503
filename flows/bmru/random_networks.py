"""Seeded random `input → dense ReLU → BMRU` networks with inputs that keep a margin.

Tests and acceptance checks compare a circuit against the reference model; that
comparison is only meaningful when no BMRU drive sits on a threshold, where any tiny error
flips a state. These cases guarantee that margin while still exercising force-high,
force-low and hold in every unit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.bmru.model import run_network, threshold_margin
from flows.bmru.network import BmruLayer, DenseLayer, Network

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


def _decimals(values: np.ndarray) -> np.ndarray:
    """Three decimals, as a network trained elsewhere and written to YAML carries them."""
    return np.round(values, 3)


def _user_bias(rng: np.random.Generator, size: int) -> np.ndarray:
    """A quarter zero, a quarter tiny (|b| 0.001 … 0.019: below the leakage floor at 1 nA),
    half ordinary (−0.2 … 0.3)."""
    kind = rng.integers(0, 4, size)
    tiny = rng.uniform(0.001, 0.019, size) * rng.choice([-1.0, 1.0], size)
    ordinary = rng.uniform(-0.2, 0.3, size)
    return _decimals(np.where(kind == 0, 0.0, np.where(kind == 1, tiny, ordinary)))


def _user_weight(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Three-decimal weights in −0.6 … 1.4, scaled for wide layers so drives stay within
    the 4-unit threshold range."""
    return _decimals(rng.uniform(-0.6, 1.4, (rows, cols)) * min(1.0, 3.0 / cols))


def random_user_case(seed: int, steps: int = 24, margin: float = 0.06, max_inputs: int = 13,
                     max_units: int = 8, unit_current: float = 1e-9) -> RandomCase:
    """A network of the shapes users bring, and `steps` input rows in [0, 1] keeping every
    BMRU drive ≥ `margin` from β_lo and β_hi, each unit forced high, forced low and holding
    at least once. Shapes: 2 … `max_inputs` inputs, 1 … `max_units` units per layer, one of
    `dense → bmru`, `bmru`, `dense → bmru → dense` with a skip from the first dense (the
    KWS block), `bmru → dense` with a skip from the input. Three-decimal weights of both
    signs, zero, tiny and ordinary biases, α 0.3 … 2, thresholds 0.05 … 4. Same seed, same
    case."""
    rng = np.random.default_rng(seed)
    for _ in range(_MAX_ATTEMPTS):
        case = _user_attempt(rng, seed, steps, margin, max_inputs, max_units, unit_current)
        if case is not None:
            return case
    raise RuntimeError(f"no random user case with margin {margin} found for seed {seed}")


def _user_attempt(rng: np.random.Generator, seed: int, steps: int, margin: float, max_inputs: int,
                  max_units: int, unit_current: float) -> RandomCase | None:
    n_in = int(rng.integers(2, max_inputs + 1))
    units = int(rng.integers(1, max_units + 1))
    shape = int(rng.integers(0, 4))
    pool = np.round(rng.uniform(0.0, 1.0, (_POOL_ROWS, n_in)), 3)
    layers: list = []
    signal = pool
    if shape in (0, 2):
        hidden = int(rng.integers(1, max_units + 1))
        dense = DenseLayer(_user_weight(rng, hidden, n_in), _user_bias(rng, hidden))
        layers.append(dense)
        signal = np.maximum(pool @ dense.weight.T + dense.bias, 0.0)
    weight, bias = _user_weight(rng, units, signal.shape[1]), _user_bias(rng, units)
    drive = np.maximum(signal @ weight.T + bias, 0.0)
    beta_lo = _decimals(np.quantile(drive, rng.uniform(0.15, 0.4), axis=0))
    beta_hi = _decimals(np.quantile(drive, rng.uniform(0.6, 0.85), axis=0))
    if (beta_lo < 0.05).any() or (beta_hi > 4.0).any() or (beta_hi - beta_lo < 2 * margin + 0.05).any():
        return None
    clear = ((np.abs(drive - beta_lo) >= margin) & (np.abs(drive - beta_hi) >= margin)).all(axis=1)
    category = np.where(drive > beta_hi, 2, np.where(drive < beta_lo, 0, 1))  # low, hold, high
    chosen = _cover(rng, np.flatnonzero(clear), category, steps)
    if chosen is None:
        return None
    layers.append(BmruLayer(weight, bias, _decimals(rng.uniform(0.3, 2.0, units)), beta_lo, beta_hi))
    if shape == 2:
        size = layers[0].size
        layers.append(DenseLayer(_user_weight(rng, size, units), _user_bias(rng, size),
                                 activation=str(rng.choice(["relu", "none"])), skip_from=0))
    elif shape == 3:
        layers.append(DenseLayer(_user_weight(rng, n_in, units), _user_bias(rng, n_in),
                                 activation=str(rng.choice(["relu", "none"])), skip_from=-1))
    network = Network(f"user{seed}", unit_current, n_in, tuple(layers), source="random network")
    inputs = pool[chosen]
    return RandomCase(network, inputs, threshold_margin(network, run_network(network, inputs)))


def _cover(rng: np.random.Generator, candidates: np.ndarray, category: np.ndarray,
           steps: int) -> np.ndarray | None:
    """`steps` distinct rows among `candidates` in which every unit takes each category
    (low, hold, high) at least once, in random order; None when impossible."""
    if candidates.size < steps:
        return None
    chosen: list[int] = []
    for unit in range(category.shape[1]):
        for wanted in range(3):
            if any(category[r, unit] == wanted for r in chosen):
                continue
            rows = candidates[category[candidates, unit] == wanted]
            rows = rows[~np.isin(rows, chosen)]
            if rows.size == 0:
                return None
            chosen.append(int(rng.choice(rows)))
    if len(chosen) > steps:
        return None
    rest = candidates[~np.isin(candidates, chosen)]
    chosen += [int(r) for r in rng.choice(rest, size=steps - len(chosen), replace=False)]
    return rng.permutation(np.array(chosen))
