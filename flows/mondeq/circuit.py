"""Mapped monDEQ network → circuit: one resistor–diode network cell, instantiated in the
top subckt whose ports are the macro's pins (family conventions in the README):

`vss` substrate (0 V); `vref` the network's 0; `vp`/`vn` the ±1-unit rails; `vclamp` the
diodes' anode rail; `in<k>` (and `in<k>_n` where an input has a negative weight) driven at
V_ref ± S·x_k; `out<j>p`/`out<j>n` held at V_ref, output = difference of their currents.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from cells.netlist import Diode, touched_ports
from cells.resistor_network import ResistorDiodeNetwork
from flows.families import Block
from flows.mondeq.mapping import BuildOptions, Mapping, map_network
from flows.mondeq.network import MondeqNetwork

RAILS = ("vss", "vref", "vp", "vn", "vclamp")


@dataclass(frozen=True)
class Circuit:
    network: MondeqNetwork
    mapping: Mapping
    blocks: tuple[Block, ...]
    ports: tuple[str, ...]

    ports_of = staticmethod(touched_ports)

    @staticmethod
    def schematic_style(cell) -> str:
        return "resistor_array"

    def cells(self) -> list:
        return [self.blocks[0].cell]

    def netlist(self) -> str:
        name = self.network.name
        levels = self.mapping.levels
        head = (f"* {name}: resistor–diode monDEQ network compiled by bmru-sky130 for SKY130\n"
                f"* ports: {' '.join(self.ports)}; vref {levels.reference:g} V, "
                f"{levels.volts_per_unit:.6g} V per unit, vclamp {levels.clamp:.6g} V\n")
        parts = [head] + [cell.netlist() for cell in self.cells()]
        top = [f"X{b.name} {' '.join(b.nets[p] for p in self.ports_of(b.cell))} {b.cell.name}"
               for b in self.blocks]
        parts.append(f".subckt {name} {' '.join(self.ports)}\n" + "\n".join(top) + f"\n.ends {name}\n")
        return "\n".join(parts)

    def device_count(self) -> dict[str, int]:
        devices = self.blocks[0].cell.devices()
        diodes = sum(1 for d in devices if isinstance(d, Diode))
        return {"total": len(devices), "resistors": len(devices) - diodes, "diodes": diodes}


def build_circuit(network: MondeqNetwork, options: BuildOptions | None = None) -> Circuit:
    mapping = map_network(network, options or BuildOptions())
    stage = network.layers[0]
    inputs = [f"in{k}" for k in range(network.input_size)] + [f"in{k}_n" for k in mapping.inverted_inputs()]
    outputs = [f"out{j}{side}" for j in range(network.output_size) for side in "pn"]
    resistors = tuple((e.name, e.a, e.b, e.length_um) for e in mapping.elements)
    clamps = tuple((f"D{i}", "vclamp", f"z{i}") for i in range(stage.size))
    candidates = RAILS + tuple(inputs) + tuple(outputs)
    draft = ResistorDiodeNetwork(f"{network.name}_stage0", candidates, resistors, clamps, mapping.diode_size)
    ports = Circuit.ports_of(draft)
    cell = replace(draft, ports=ports)
    block = Block("stage0", cell, {p: p for p in ports})
    return Circuit(network, mapping, (block,), ports)
