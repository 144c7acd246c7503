"""Command-line values checked before any work starts: one line naming the option and the
allowed range (exit 2), never an ngspice failure minutes later. Ranges live in `pdk.limits`."""
from __future__ import annotations

import math

from flows.errors import InputError
from pdk import limits


def _fail(option: str, problem: str) -> None:
    raise InputError("command line", option, problem)


def within(option: str, value: float, low: float, high: float, unit: str, why: str = "") -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
        _fail(option, f"{value:g} {unit} is outside {low:g} … {high:g} {unit}{why}")
    return value


def temperature(option: str, value: float) -> float:
    return within(option, value, *limits.TEMPERATURE_RANGE_C, "°C",
                  " (the range the SKY130 models are used over, pdk/limits.py)")


def supply(option: str, value: float) -> float:
    return within(option, value, *limits.SUPPLY_RANGE_V, "V", " (01v8 devices, pdk/limits.py)")


def seconds(option: str, value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        _fail(option, f"{value:g} must be a positive number of seconds")
    return value


def frame_rate(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        _fail("--frame-rate", f"{value:g} must be a positive number of rows (frames) per second")
    return value


def seed(option: str, value: int | None) -> int | None:
    low, high = limits.SEED_RANGE
    if value is not None and not low <= value <= high:
        _fail(option, f"{value} must be an integer from {low} to {high}")
    return value


def at_least(option: str, value: int | None, low: int) -> int | None:
    if value is not None and value < low:
        _fail(option, f"{value} must be at least {low}")
    return value


def diode_units(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= limits.MAX_UNITS_PER_RATIO:
        _fail("--diode-units", f"{value} must be between 1 and {limits.MAX_UNITS_PER_RATIO}")
    return value
