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
from pdk.unit import NMOS, PMOS


#: NMOS units of a stack's top diode and of every cascode on its line. Top diode and cascodes
#: carry the signal at one density whatever their count, so the count only sets the top
#: node's gate capacitance (one unit, or M, per consumer): measured on one input at M = 32,
#: a 0.2 → 1 nA step reaches 90 % of the copy in 1.75 ms with M units (2.47 ms down), 2.6×
#: a single diode, and in 0.71 ms (0.96 ms down) with one unit, as fast as a single diode
#: (0.67 / 1.11 ms). A cascode's mismatch moves the copy's drain by its offset only (≈ 0.1 %
#: of copy current), so one unit suffices.
CASCODE_UNITS = 1

#: Diode units per PMOS unit of a stack top's gate capacitor. A one-unit top node is the
#: fastest node of a macro: without capacitance there a zero-input deck of user network 39
#: (M = 59) ran for minutes in ngspice instead of 0.8 s, and user seed 6 > 900 s instead
#: of 49 s. On a summing node the capacitor also low-passes the sum after opposite input
#: steps: the falling input's branch leads (a subthreshold node's current falls fast from a
#: high level and rises slowly from a low one), the sum dipped past its final value, and
#: with the tail of the falling branch (p<j> at 0.2 nA) it overshot 0.7–5.5 % at 85 °C.
#: Step block (M = 32, out2 = 0.75·x0 + 0.5·x1, x0 1 → 0.2 nA, x1 0.2 → 1 nA), fs 85 °C:
#: 5.48 % overshoot without, 3.75 / 1.72 / 0.00 / 0.00 % with 1 / 2 / 3 / 4 units, settling
#: 9.62 → 9.82 ms with 4. Node time constants scale with M, so the capacitor does too;
#: rounded down, so it never exceeds its share and the datasheet's settling scaled by M
#: (`flows.bmru.timing`) stays an upper bound (rounded up, the M = 1 flipflop got 8× its
#: share and missed its 2.5 ms step).
TOP_CAP_PER_UNITS = 8


def stacked_diode(prefix: str, count: int, top: str, gate: str, group: str) -> list[Device]:
    """CASCODE_UNITS diode units from `top` to `gate` over `count` from `gate` to vss (the
    consumers' copies of `count` units are the lower group's members), and the top node's
    gate capacitor (`top_capacitor`)."""
    return (units(f"{prefix}C", NMOS, CASCODE_UNITS, top, top, gate, "vss", f"{group}c")
            + units(prefix, NMOS, count, gate, gate, "vss", "vss", group)
            + top_capacitor(f"{prefix}K", count, top, f"{group}k"))


def top_capacitor(prefix: str, count: int, top: str, group: str) -> list[Device]:
    """count // TOP_CAP_PER_UNITS PMOS units with the gate on `top` and drain, source and
    bulk on vdd: a gate capacitor (channel inverted at every node voltage, ≈ Cox·W·L ≈
    0.5 pF a unit, no current)."""
    return units(prefix, PMOS, count // TOP_CAP_PER_UNITS, "vdd", top, "vdd", "vdd", group)


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
        """vdd (the top capacitor), vss, the net the current enters (the consumers' cascode
        line), the gate line."""
        return ("vdd", "vss", "sig", "gate")

    def devices(self) -> list[Device]:
        return stacked_diode("MND", self.units, "sig", "gate", "diode")

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(),
                      f"signal diode: {CASCODE_UNITS} over {self.units} stacked NMOS units")

    netlist = subckt
