"""The macro's timing as a datasheet states it (manifest `timing`, ARCHITECTURE §4).

Derived from the characterized cells, not from a simulation of the macro:

* a dense stage settles like the step-response block of `cells.dense` (M = STEP_M, steps
  down to STEP_LOW): the slowest 1 % settling time over every corner and temperature in its
  golden (upper band edge). A node's time constant is C·n·U_T/I with C ∝ M unit gates, so a
  stage of M units whose signals must settle at a level I takes that time × (M / STEP_M) ×
  (STEP_LOW / I); I is the smallest realised β_lo (the level a drive must fall below),
  never taken above STEP_LOW;
* stages in series add: one per layer (each layer is one dense block) and one for the output
  stage when the macro has one;
* a BMRU cell then switches in its characterized t_up/t_down (slowest band edge, overdrive
  0.25 nA at the defaults) × 0.25 / TIMING_MARGIN: the drive passes a threshold by at least
  the margin the inputs keep.

Every current scales with the unit current (`iref`), so every time scales with
dense.IREF / unit_current (a node's C·n·U_T/I, deep in weak inversion; measured in
tests/test_frame_rate.py).

step_s is that sum rounded up to 0.5 ms: the shortest time one input row may be held. A
macro compiled for a frame rate (`--frame-rate`, flows.bmru.circuit.frame_rate_circuit)
holds each row one frame instead: step_s = 1 / frame rate ≥ settling_s.
"""
from __future__ import annotations

import functools
import math

from cells import bmru, dense
from flows.bmru.network import BmruLayer
from pdk.datasheet import load_golden

#: Distance (software units) the inputs keep from every threshold (issue 14's users: 0.06).
TIMING_MARGIN = 0.06
#: Level (software units = nA at 1 nA per unit) the characterized steps settle down to.
STEP_LOW = min(min(row) for row in dense.STEP_ROWS) / dense.IREF
#: Overdrive of the characterized BMRU switching step (1.25·β_hi − β_hi at β_hi = 1 nA), units.
BMRU_OVERDRIVE = 0.25
#: step_s is rounded up to a multiple of this.
STEP_GRID = 0.5e-3


def _slowest(golden: dict, spec: str) -> tuple[float, str]:
    """(upper band edge, condition) of the slowest entry of a golden spec."""
    bands = golden["specs"][spec]["bands"]
    label = max(bands, key=lambda c: bands[c]["max"])
    return float(bands[label]["max"]), label


@functools.lru_cache(maxsize=1)
def _characterized() -> tuple[float, str, float]:
    """The frozen goldens this derivation reads, once per process (the dense golden alone
    takes ≈ 0.35 s to parse): slowest dense settling (ms) with its condition, and the
    slowest BMRU switching time (µs)."""
    stage_ms, stage_label = _slowest(load_golden(dense.GOLDEN), "step_settling")
    cell = load_golden(bmru.GOLDEN)
    switch_us = max(_slowest(cell, "t_up")[0], _slowest(cell, "t_down")[0])
    return stage_ms, stage_label, switch_us


def macro_timing(circuit) -> dict:
    """manifest.json `timing` of a built circuit (flows.bmru.circuit.Circuit)."""
    stage_ms, stage_label, switch_us = _characterized()
    corner = " ".join(stage_label.split()[2:])  # "out0 common2 ss -40C 1.8V" → the PVT point
    m = circuit.notes["weight_diode_units"]
    lows = [float(min(layer.beta_lo)) for layer in circuit.mapping.mapped.layers if isinstance(layer, BmruLayer)]
    level = min([STEP_LOW] + lows)
    stages = len(circuit.network.layers) + any(b.name == "output_stage" for b in circuit.blocks)
    current = dense.IREF / circuit.network.unit_current
    per_stage = stage_ms * 1e-3 * (m / dense.STEP_M) * (STEP_LOW / level) * current
    switch = switch_us * 1e-6 * BMRU_OVERDRIVE / TIMING_MARGIN * current if lows else 0.0
    settling = stages * per_stage + switch
    frame = circuit.notes.get("frame_rate")
    if frame:
        step = 1.0 / frame["frame_rate_hz"]
    else:
        step = round(math.ceil(settling / STEP_GRID - 1e-9) * STEP_GRID, 6)
    return {"step_s": step, "settling_s": settling, "max_input_rate_hz": 1.0 / step, "corner": corner,
            **({"frame_rate": frame} if frame else {}),
            "derivation": {"stages": stages, "stage_settling_s": per_stage, "bmru_switching_s": switch,
                           "diode_units": m, "unit_current_A": circuit.network.unit_current,
                           "settle_level_units": level, "margin_units": TIMING_MARGIN,
                           "characterized": {"dense_step_settling_ms": stage_ms, "dense_step_m": dense.STEP_M,
                                             "dense_step_low_units": STEP_LOW, "condition": stage_label}}}


def at_unit_current(timing: dict, static_W: float, current: float) -> tuple[float, float]:
    """(settling s, idle power W) of the macro of `timing` (macro_timing) and `static_W` at
    another unit current: every current scales with iref, so settling ∝ 1/current and
    power ∝ current (the mapping held fixed; tests/test_frame_rate.py measures both)."""
    ratio = current / timing["derivation"]["unit_current_A"]
    return timing["settling_s"] / ratio, static_W * ratio
