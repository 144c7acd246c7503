"""`bmru simulate`: transient ngspice of the transistor-level macro against the model.

`Bench` holds what every transient of one network and sequence shares (circuit, plan,
reference trace) and turns Conditions into a deck and a Plot into a score, so that one
run (`bmru simulate`) and many (`bmru pvt`) build and judge their decks the same way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cells.bmru import BmruCell
from flows.bmru import testbench
from flows.bmru.circuit import Block, Circuit, build_circuit
from flows.bmru.timing import macro_timing
from flows.bmru.model import ModelTrace, run_network
from flows.netfile import write_trace_csv
from flows.bmru.network import Network, load_network
from flows.netfile import load_sequence
from pdk.flat import flatten
from pdk.models import Conditions
from pdk.ngspice import Plot, simulate


#: A run passes when at least this fraction of BMRU cell states agree with the model.
PASS_AGREEMENT = 0.99


@dataclass(frozen=True)
class SimulationRun:
    network: Path
    inputs: Path
    conditions: Conditions = Conditions()
    #: None: the macro's datasheet step (flows.bmru.timing.macro_timing, manifest timing.step_s)
    step: float | None = None
    #: None: the mapping chooses M (see build_circuit)
    diode_units: int | None = None
    #: None: the network's unit current; otherwise rows per second (build_circuit frame_rate)
    frame_rate: float | None = None
    #: add every net's wiring capacitance, extracted from the drawn layout (flows.postlayout)
    post_layout: bool = False
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
    #: top-level SPICE lines added to the macro (post-layout wiring capacitors), or ""
    wiring: str = ""
    #: decks in the flat form (pdk/flat.py); False: the wheel's device subckts, units merged
    #: as m=k without mismatch and one instance per unit with it
    flat: bool = True

    @classmethod
    def load(cls, network_path: Path, inputs_path: Path, step: float | None = None,
             diode_units: int | None = None, flat: bool = True, frame_rate: float | None = None) -> "Bench":
        """Validate both files (InputError on bad input) and build the circuit."""
        network = load_network(network_path)
        return cls.of(network, load_sequence(inputs_path, network.input_size), step, diode_units, flat,
                      frame_rate)

    @classmethod
    def of(cls, network: Network, inputs: np.ndarray, step: float | None = None,
           diode_units: int | None = None, flat: bool = True, frame_rate: float | None = None) -> "Bench":
        """The bench of a network and sequence already in memory (validated)."""
        return cls.around(build_circuit(network, diode_units=diode_units, frame_rate=frame_rate), inputs,
                          step, flat)

    @classmethod
    def around(cls, circuit: Circuit, inputs: np.ndarray, step: float | None = None,
               flat: bool = True) -> "Bench":
        """The bench of a circuit already built (compile has one)."""
        network = circuit.network
        plan = testbench.TransientPlan(step=step or macro_timing(circuit)["step_s"])
        return cls(network, inputs, circuit, plan, run_network(network, inputs),
                   run_network(circuit.mapping.mapped, inputs), flat=flat)

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

    def deck(self, conditions: Conditions, probes: tuple[str, ...] = ()) -> str:
        """The transient deck under `conditions`: per-block supply probes, every cell's
        logic node `qb` saved (its state), any extra `probes`, and every cell started in its low state
        (h₀ = 0, §3) by `.ic`: with a first input in the hold band the macro has two
        operating points, and ngspice would otherwise pick one arbitrarily."""
        # the flat form merges units itself (it needs each unit's name for its mismatch draw)
        netlist = (self.circuit.netlist(probe_supplies=True, merge_parallel=not (conditions.mismatch or self.flat))
                   + self.wiring)
        probes = self._supply_probes() + tuple(f"v({self._node(b, 'qb')})" for _, _, b in self.cells()) + probes
        return testbench.build(netlist, self.network, self.inputs, self.plan, conditions,
                               probes=probes, initial=self.initial_low(), flat=self.flat)

    def initial_low(self) -> dict[str, str]:
        """`.ic` nodes that start every BMRU cell in its low state (h₀ = 0)."""
        initial = {}
        for _, _, block in self.cells():
            initial[self._node(block, "q")] = "0"
            initial[self._node(block, "v0")] = "{supply}"
        return initial

    def offsets(self, seed: int) -> dict[str, float]:
        """Every unit device's mismatch threshold offset (V, `delvto`) under `seed`, by
        hierarchical path (`x<name>.x<block>.x<device>`): exactly what the flat mismatch
        deck of that seed applies (pdk/flat.py), for models that reason about devices."""
        top = f"X{self.network.name} {' '.join(testbench.ports(self.network))} {self.network.name}"
        return flatten(f"* offsets\n{self.circuit.netlist()}{top}\n", seed)[1]

    def outputs(self, plot: Plot) -> np.ndarray:
        """Output currents at the end of each step, software units."""
        return testbench.outputs(plot, self.network, len(self.inputs), self.plan)

    def cell_states(self, plot: Plot, conditions: Conditions) -> np.ndarray:
        """Every BMRU cell's state at the end of each step (steps × cells, in `cells()`
        order): high when its logic node `qb` is below half the supply."""
        at = testbench.sample_times(len(self.inputs), self.plan)
        return np.stack([np.interp(at, plot["time"], plot[f"v({self._node(b, 'qb')})"]) < conditions.vdd / 2
                         for _, _, b in self.cells()], axis=1)

    def states(self, plot: Plot, conditions: Conditions) -> dict:
        """Every BMRU cell's state at the end of each step (`cell_states`; `qb` low closes
        the α switch) against the model's h_t and, to tell circuit error from quantization,
        against the mapped model's."""
        return self.states_of(self.cell_states(plot, conditions) if self.cells() else None)

    def states_of(self, circuit: np.ndarray | None) -> dict:
        """`states` from the cells' states (steps × cells, `cell_states` order) however they
        were obtained (ngspice, or the circuit-aware model of flows.bmru.mismatch)."""
        cells = self.cells()
        if not cells:
            return {"cells": 0, "samples": 0, "agreement": None, "disagreements": 0, "mapped_agreement": None}
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
        outputs = self.outputs(plot)
        agreement = testbench.agreement(self.network, self.reference.output, outputs)
        states = self.states(plot, conditions)
        mapped_error = testbench.range_error(self.mapped.output, outputs)["range_error_max"]
        return {
            "verdict": verdict(agreement, states, mapped_error),
            "conditions": conditions.label(),
            "corner": conditions.corner, "temp_c": conditions.temp, "vdd_v": vdd,
            "mismatch_seed": conditions.seed if conditions.mismatch else None,
            "step_s": self.plan.step,
            "agreement": agreement,
            "states": states,
            "settling": testbench.settling(plot, self.network, len(self.inputs), self.plan),
            "power": {"total_W": testbench.supply_power(plot),
                      "reference_W": self.network.unit_current * vdd,
                      "by_block": by_block},
        }


def static_power(circuit: Circuit, step: float, conditions: Conditions = Conditions()) -> dict:
    """Supply power of the idle macro — every input at 0, `iref` at one unit, outputs held
    per the contract, every BMRU cell in its reset state — averaged over one settling step
    (`step`, the macro's timing.step_s) of the transient testbench `bmru simulate` runs."""
    network = circuit.network
    bench = Bench.around(circuit, np.zeros((1, network.input_size)), step)
    plot = simulate(bench.deck(conditions), f"{network.name}_static")[0]
    power = bench.score(plot, conditions)["power"]
    return {"total_W": power["total_W"], "by_block": power["by_block"], "conditions": conditions.label(),
            "inputs": "all 0, iref 1 unit, BMRU cells reset", "step_s": bench.plan.step}


def verdict(agreement: dict, states: dict, mapped_error: float) -> dict:
    """The judgement of one run against the network as given (§4), first in summary.json:
    BMRU states (goal PASS_AGREEMENT), the decision, and the output error as a fraction of
    each output's range; the mapped model's figures say how much of a difference the
    quantized parameters alone explain. A network without BMRU cells is judged by its
    decision only (its output error is reported beside it)."""
    cells = states["agreement"] is not None
    states_pass = states["agreement"] >= PASS_AGREEMENT if cells else None
    return {"pass": bool(agreement["decision_agrees"] and states_pass is not False),
            "state_agreement": states["agreement"], "state_agreement_mapped": states["mapped_agreement"],
            "states_pass": states_pass, "goal_state_agreement": PASS_AGREEMENT,
            "decision_agrees": agreement["decision_agrees"],
            "output_error_of_range_max": agreement["range_error_max"],
            "output_error_of_range_mean": agreement["range_error_mean"],
            "output_error_of_range_mapped_max": mapped_error}


def headline(summary: dict) -> str:
    """The one-line result `bmru simulate` prints, verdict first."""
    v = summary["verdict"]
    parts = []
    if v["state_agreement"] is not None:
        parts.append(f"BMRU states agree {v['state_agreement'] * 100:.1f} % with the network "
                     f"(goal {v['goal_state_agreement'] * 100:g} %), "
                     f"{v['state_agreement_mapped'] * 100:.1f} % with the mapped model")
    parts.append(f"decision {'agrees' if v['decision_agrees'] else 'DIFFERS'}")
    parts.append(f"output error ≤ {v['output_error_of_range_max'] * 100:.1f} % of range "
                 f"(mean {v['output_error_of_range_mean'] * 100:.1f} %)")
    return (f"{summary['network']} ({summary['conditions']}, {summary['agreement']['steps']} steps): "
            f"{'PASS' if v['pass'] else 'FAIL'}: {'; '.join(parts)}; "
            f"average power {summary['power']['total_W'] * 1e9:.2f} nW")


def run(spec: SimulationRun, out: Path) -> dict:
    """Simulate one input sequence; write circuit.csv, software.csv, summary.json and the
    deck (testbench.spice) into `out`; return the summary."""
    network = load_network(spec.network)
    inputs = load_sequence(spec.inputs, network.input_size)
    circuit = build_circuit(network, diode_units=spec.diode_units, frame_rate=spec.frame_rate)
    step, capacitors, post_layout = spec.step, "", None
    if spec.post_layout:
        from flows import postlayout
        from flows.bmru.circuit import post_layout_circuit
        from flows.bmru.timing import wiring_slowdown

        wiring = postlayout.wiring(circuit)
        # the drawn macro's datasheet step (and, for a frame rate, the unit current it needs)
        slowdown = wiring_slowdown(circuit, wiring)
        circuit = post_layout_circuit(circuit, slowdown)
        step = step or macro_timing(circuit, slowdown)["step_s"]
        capacitors = postlayout.capacitor_lines(circuit, wiring)
        post_layout = {"nets": len(wiring), "total_F": sum(wiring.values()), "largest_F": max(wiring.values())}
    bench = replace(Bench.around(circuit, inputs, step, spec.flat), wiring=capacitors)
    deck = bench.deck(spec.conditions)
    (out / "testbench.spice").write_text(deck)
    plot = simulate(deck, f"{bench.network.name}_tran")[0]
    write_trace_csv(out / "circuit.csv", bench.outputs(plot))
    write_trace_csv(out / "software.csv", bench.reference.output)
    score = bench.score(plot, spec.conditions)
    summary = {"network": bench.network.name, "verdict": score.pop("verdict"), "inputs": str(spec.inputs),
               **score, "post_layout": post_layout}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
