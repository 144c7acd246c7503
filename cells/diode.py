"""Signal diode: the NMOS diode that turns a current sourced into a net (a macro input pin, a
BMRU output) into the gate lines every later mirror reads. Reading a diode's gates costs no
current, so one diode serves any number of consumers (skips).

The diode is a stack: the current enters a top diode of CASCODE_UNITS at `sig`, under it
the M-unit diode whose node `gate` is the mirror gate line. A consumer's copy of M units on
`gate` under CASCODE_UNITS cascode units on `sig` carries the diode's current at the same
densities through the same stack, so its drain sits exactly at `gate` for every current: the
copy is exact at all levels. A single diode with a cascode on a fixed line (the bias
tree's) held the copy's drain 2·n·U_T·ln(density ratio) away instead: +0.6 % of copy error
per octave of current below the line's density, +2.5 … 4 % per dense stage at M = 32 and
1 … 0.1 nA (issue 14).
"""
from __future__ import annotations

from dataclasses import dataclass

from cells.netlist import Device, subckt, units
from pdk.unit import NMOS


#: NMOS units of a stack's top diode and of every cascode on its line. Top diode and cascodes
#: carry the signal at one density whatever their count, so the count only sets the top
#: node's gate capacitance (one unit, or M, per consumer): measured on one input at M = 32,
#: a 0.2 → 1 nA step reaches 90 % of the copy in 1.75 ms with M units (2.47 ms down), 2.6×
#: a single diode, and in 0.71 ms (0.96 ms down) with one unit, as fast as a single diode
#: (0.67 / 1.11 ms). A cascode's mismatch moves the copy's drain by its offset only (≈ 0.1 %
#: of copy current), so one unit suffices.
CASCODE_UNITS = 1


def stacked_diode(prefix: str, count: int, top: str, gate: str, group: str) -> list[Device]:
    """CASCODE_UNITS diode units from `top` to `gate` over `count` from `gate` to vss (the
    consumers' copies of `count` units are the lower group's members)."""
    return (units(f"{prefix}C", NMOS, CASCODE_UNITS, top, top, gate, "vss", f"{group}c")
            + units(prefix, NMOS, count, gate, gate, "vss", "vss", group))


def cascoded_copy(prefix: str, count: int, drain: str, middle: str, gate: str, cascode: str,
                  group: str) -> list[Device]:
    """A 1:1 copy of a stacked diode of `count` units: `count` NMOS units on its `gate` line,
    drain `middle`, under CASCODE_UNITS cascode units on its top line `cascode`, sinking
    from `drain` (`stacked_diode`)."""
    return (units(prefix, NMOS, count, middle, gate, "vss", "vss", group)
            + units(f"{prefix}C", NMOS, CASCODE_UNITS, drain, cascode, middle, "vss", f"{group}c"))


@dataclass(frozen=True)
class SignalDiode:
    """units: M, the units of the stack's lower diode (the consumers' weights are k/M)."""

    units: int = 4
    name: str = "signal_diode"

    def __post_init__(self) -> None:
        if self.units < 1:
            raise ValueError("unit count must be ≥ 1")

    @property
    def ports(self) -> tuple[str, ...]:
        """vss, the net the current enters (the consumers' cascode line), the gate line."""
        return ("vss", "sig", "gate")

    def devices(self) -> list[Device]:
        return stacked_diode("MND", self.units, "sig", "gate", "diode")

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(),
                      f"signal diode: {CASCODE_UNITS} over {self.units} stacked NMOS units")

    netlist = subckt
