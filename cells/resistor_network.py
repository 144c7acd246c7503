"""A resistor–diode network cell: resistors between named nets and floating clamp diodes,
given as data. The monDEQ family builds one per stage (`flows.mondeq.circuit`); its device
list feeds the netlist, the layout, the schematic and LVS like every other cell's."""
from __future__ import annotations

from dataclasses import dataclass

from cells.netlist import Diode, Resistor, subckt
from pdk import passives
from pdk.devices import RES_WIDTH


@dataclass(frozen=True)
class ResistorDiodeNetwork:
    """name: subckt name; ports: its pins; resistors: (name, a, b, length µm); clamps:
    (name, anode, cathode), each a clamp diode of `diode_size` (W × L µm, a measured size)."""

    name: str
    ports: tuple[str, ...]
    resistors: tuple[tuple[str, str, str, float], ...]
    clamps: tuple[tuple[str, str, str], ...]
    diode_size: tuple[float, float] = passives.DIODE_SIZE
    substrate: str = "vss"

    def devices(self) -> list:
        w, l = self.diode_size
        return ([Resistor(name, passives.RESISTOR, a, b, RES_WIDTH[passives.RESISTOR], length,
                          group="r", sub=self.substrate) for name, a, b, length in self.resistors]
                + [Diode(name, passives.DIODE, anode, cathode, w, l, group="clamp")
                   for name, anode, cathode in self.clamps])

    def netlist(self) -> str:
        return subckt(self.name, self.ports, self.devices(),
                      doc=f"{self.name}: {len(self.resistors)} poly resistors, {len(self.clamps)} clamp diodes")
