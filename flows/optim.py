"""What the families' numpy trainers share: Adam on a dict of parameter arrays."""
from __future__ import annotations

import numpy as np


class Adam:
    """Adam (β₁ 0.9, β₂ 0.999, ε 1e-8) over named arrays, updated in place; with `bounds`
    every parameter is clipped into (low, high) after its step."""

    def __init__(self, params: dict[str, np.ndarray], bounds: tuple[float, float] | None = None):
        self.t, self.bounds = 0, bounds
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
        self.t += 1
        for key, g in grads.items():
            self.m[key] = 0.9 * self.m[key] + 0.1 * g
            self.v[key] = 0.999 * self.v[key] + 0.001 * g * g
            m_hat = self.m[key] / (1 - 0.9 ** self.t)
            v_hat = self.v[key] / (1 - 0.999 ** self.t)
            value = params[key] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
            params[key] = value if self.bounds is None else np.clip(value, *self.bounds)
