"""`bmru simulate`: transient ngspice of the transistor-level macro against the model.

`Bench` holds what every transient of one network and sequence shares (circuit, plan,
reference trace) and turns Conditions into a deck and a Plot into a score, so that one
run (`bmru simulate`) and many (`bmru pvt`) build and judge their decks the same way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cells.bmru import BmruCell
from flows import testbench
from flows.circuit import Block, Circuit, build_circuit
from flows.model import ModelTrace, run_network, write_trace_csv
from flows.network import Network, load_network, load_sequence
from pdk.flat import flatten
from pdk.models import Conditions
from pdk.ngspice import Plot, simulate


@dataclass(frozen=True)
class SimulationRun:
    network: Path
    inputs: Path
    conditions: Conditions = Conditions()
    #: None: the settling step of the compiled circuit (testbench.settling_step)
    step: float | None = None
    #: None: the mapping chooses M (see build_circuit)
    diode_units: int | None = None
    #: flat deck (pdk/flat.py: one model card per device geometry); False: the wheel's subckts
    flat: bool = True


@dataclass(frozen=True, eq=False)
class Bench:
    """One network and input sequence, ready to run under any Conditions."""

    network: Network
    inputs: np.ndarray
    circuit: Circuit
    plan: testbench.TransientPlan
    reference: ModelTrace
    #: the model run with the realised (quantized) parameters: explains, never replaces, the reference
    mapped: ModelTrace
    #: decks in the flat form (pdk/flat.py); False: the wheel's device subckts, units merged
    #: as m=k without mismatch and one instance per unit with it
    flat: bool = True

    @classmethod
    def load(cls, network_path: Path, inputs_path: Path, step: float | None = None,
             diode_units: int | None = None, flat: bool = True) -> "Bench":
        """Validate both files (InputError on bad input) and build the circuit."""
        network = load_network(network_path)
        return cls.of(network, load_sequence(inputs_path, network.input_size), step, diode_units, flat)

    @classmethod
    def of(cls, network: Network, inputs: np.ndarray, step: float | None = None,
           diode_units: int | None = None, flat: bool = True) -> "Bench":
        """The bench of a network and sequence already in memory (validated)."""
        circuit = build_circuit(network, diode_units=diode_units)
        plan = testbench.TransientPlan(step=step or testbench.settling_step(circuit.notes["weight_diode_units"]))
        return cls(network, inputs, circuit, plan, run_network(network, inputs),
                   run_network(circuit.mapping.mapped, inputs), flat)

    def cells(self) -> list[tuple[int, int, Block]]:
        """Every BMRU cell as (layer index, unit, block)."""
        out = []
        for block in self.circuit.blocks:
            if isinstance(block.cell, BmruCell):  # named l<layer>_bmru<unit> by build_circuit
                layer, unit = block.name[1:].split("_bmru")
                out.append((int(layer), int(unit), block))
        return out

    def _node(self, block: Block, node: str) -> str:
        return f"x{self.network.name}.x{block.name}.{node}"

    def _supply_probes(self) -> tuple[str, ...]:
        return tuple(f"i(v.x{self.network.name}.vsup_{b})"
                     for blocks in self.circuit.supply_groups().values() for b in blocks)

    def deck(self, conditions: Conditions) -> str:
        """The transient deck under `conditions`: per-block supply probes, every cell's
        logic node `qb` saved (its state), and every cell started in its low state
        (h₀ = 0, §3) by `.ic`: with a first input in the hold band the macro has two
        operating points, and ngspice would otherwise pick one arbitrarily."""
        # the flat form merges units itself (it needs each unit's name for its mismatch draw)
        netlist = self.circuit.netlist(probe_supplies=True, merge_parallel=not (conditions.mismatch or self.flat))
        cells = self.cells()
        probes = self._supply_probes() + tuple(f"v({self._node(b, 'qb')})" for _, _, b in cells)
        initial = {}
        for _, _, block in cells:
            initial[self._node(block, "q")] = "0"
            initial[self._node(block, "v0")] = "{supply}"
        return testbench.build(netlist, self.network, self.inputs, self.plan, conditions,
                               probes=probes, initial=initial, flat=self.flat)

    def offsets(self, seed: int) -> dict[str, float]:
        """Every unit device's mismatch threshold offset (V, `delvto`) under `seed`, by
        hierarchical path (`x<name>.x<block>.x<device>`): exactly what the flat mismatch
        deck of that seed applies (pdk/flat.py), for models that reason about devices."""
        top = f"X{self.network.name} {' '.join(testbench.ports(self.network))} {self.network.name}"
        return flatten(f"* offsets\n{self.circuit.netlist()}{top}\n", seed)[1]

    def outputs(self, plot: Plot) -> np.ndarray:
        """Output currents at the end of each step, software units."""
        return testbench.outputs(plot, self.network, len(self.inputs), self.plan)

    def states(self, plot: Plot, conditions: Conditions) -> dict:
        """Every BMRU cell's state at the end of each step against the model's h_t (and,
        to tell circuit error from quantization, against the mapped model's): high when the
        cell's logic node `qb` is below half the supply (it closes the α switch)."""
        cells = self.cells()
        if not cells:
            return {"cells": 0, "samples": 0, "agreement": None, "disagreements": 0, "mapped_agreement": None}
        at = testbench.sample_times(len(self.inputs), self.plan)
        circuit = np.stack([np.interp(at, plot["time"], plot[f"v({self._node(b, 'qb')})"]) < conditions.vdd / 2
                            for _, _, b in cells], axis=1)
        model, mapped = (np.stack([trace.activations[layer][:, unit] > 0 for layer, unit, _ in cells], axis=1)
                         for trace in (self.reference, self.mapped))
        agree = circuit == model
        return {"cells": len(cells), "samples": int(agree.size), "agreement": float(agree.mean()),
                "disagreements": int((~agree).sum()), "mapped_agreement": float((circuit == mapped).mean())}

    def score(self, plot: Plot, conditions: Conditions) -> dict:
        """Conditions, output agreement, cell-state agreement and power of one run."""
        time = plot["time"]
        vdd = conditions.vdd

        def average(current: np.ndarray) -> float:
            return float(np.trapezoid(current, time) / (time[-1] - time[0])) * vdd

        name = self.network.name
        by_block = {group: sum(average(plot[f"i(v.x{name}.vsup_{b})"]) for b in blocks)
                    for group, blocks in self.circuit.supply_groups().items()}
        return {
            "conditions": conditions.label(),
            "corner": conditions.corner, "temp_c": conditions.temp, "vdd_v": vdd,
            "mismatch_seed": conditions.seed if conditions.mismatch else None,
            "step_s": self.plan.step,
            "agreement": testbench.agreement(self.network, self.reference.output, self.outputs(plot)),
            "states": self.states(plot, conditions),
            "power": {"total_W": testbench.supply_power(plot),
                      "reference_W": self.network.unit_current * vdd,
                      "by_block": by_block},
        }


def run(spec: SimulationRun, out: Path) -> dict:
    """Simulate one input sequence; write circuit.csv, software.csv, summary.json and the
    deck (testbench.spice) into `out`; return the summary."""
    bench = Bench.load(spec.network, spec.inputs, spec.step, spec.diode_units, spec.flat)
    deck = bench.deck(spec.conditions)
    (out / "testbench.spice").write_text(deck)
    plot = simulate(deck, f"{bench.network.name}_tran")[0]
    write_trace_csv(out / "circuit.csv", bench.outputs(plot))
    write_trace_csv(out / "software.csv", bench.reference.output)
    summary = {"network": bench.network.name, "inputs": str(spec.inputs),
               **bench.score(plot, spec.conditions)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
