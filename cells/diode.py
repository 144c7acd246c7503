"""Signal diode: the NMOS diode of M unit devices that turns a current sourced into a net
(a macro input pin, a BMRU output) into the gate line every later mirror reads. Reading a
diode's gate costs no current, so one diode serves any number of consumers (skips)."""
from __future__ import annotations

from dataclasses import dataclass

from cells.netlist import Device, subckt, units
from pdk.unit import NMOS


@dataclass(frozen=True)
class SignalDiode:
    """units: M, the diode's NMOS unit devices (the consumers' weights are k/M)."""

    units: int = 4
    name: str = "signal_diode"

    def __post_init__(self) -> None:
        if self.units < 1:
            raise ValueError("unit count must be ≥ 1")

    @property
    def ports(self) -> tuple[str, ...]:
        return ("vss", "sig")

    def devices(self) -> list[Device]:
        return units("MND", NMOS, self.units, "sig", "sig", "vss", "vss", "diode")

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(), f"signal diode, {self.units} NMOS units")

    netlist = subckt
