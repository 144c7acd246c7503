"""How closely a circuit's outputs follow a reference, in every family's summary."""
from __future__ import annotations

import numpy as np


def range_error(software: np.ndarray, circuit: np.ndarray) -> dict:
    """Output error as a fraction of each output's range (max − min of the software
    trace); an output that never moves is measured against the largest range of any
    output, or one software unit when none moves."""
    software, circuit = np.asarray(software, float), np.asarray(circuit, float)
    spans = np.ptp(software, axis=0)
    largest = float(spans.max())
    spans = np.where(spans > 1e-12, spans, largest if largest > 1e-12 else 1.0)
    error = np.abs(circuit - software) / spans
    return {"range_error_max": float(error.max()), "range_error_mean": float(error.mean()),
            "range_error": [float(e) for e in error.max(axis=0)]}
