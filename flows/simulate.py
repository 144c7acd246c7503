"""`bmru simulate`: transient ngspice of the transistor-level macro against the model."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flows import testbench
from flows.circuit import build_circuit
from flows.model import run_network, write_trace_csv
from flows.network import load_network, load_sequence
from pdk.models import Conditions
from pdk.ngspice import simulate


@dataclass(frozen=True)
class SimulationRun:
    network: Path
    inputs: Path
    conditions: Conditions = Conditions()
    #: None: the settling step of the compiled circuit (testbench.settling_step)
    step: float | None = None
    #: None: the mapping chooses M (see build_circuit)
    diode_units: int | None = None


def run(spec: SimulationRun, out: Path) -> dict:
    """Simulate one input sequence; write circuit.csv, software.csv, summary.json and the
    deck (testbench.spice) into `out`; return the summary."""
    network = load_network(spec.network)
    inputs = load_sequence(spec.inputs, network.input_size)
    circuit = build_circuit(network, diode_units=spec.diode_units)
    plan = testbench.TransientPlan(step=spec.step or testbench.settling_step(circuit.notes["weight_diode_units"]))
    groups = circuit.supply_groups()
    probes = tuple(f"i(v.x{network.name}.vsup_{b})" for blocks in groups.values() for b in blocks)
    netlist = circuit.netlist(probe_supplies=True, merge_parallel=not spec.conditions.mismatch)
    deck = testbench.build(netlist, network, inputs, plan, spec.conditions,
                           probes=probes)
    (out / "testbench.spice").write_text(deck)
    plot = simulate(deck, f"{network.name}_tran")[0]
    measured = testbench.outputs(plot, network, len(inputs), plan)
    software = run_network(network, inputs).output
    write_trace_csv(out / "circuit.csv", measured)
    write_trace_csv(out / "software.csv", software)
    time = plot["time"]
    vdd = spec.conditions.vdd

    def average(current: np.ndarray) -> float:
        return float(np.trapezoid(current, time) / (time[-1] - time[0])) * vdd

    by_block = {group: sum(average(plot[f"i(v.x{network.name}.vsup_{b})"]) for b in blocks)
                for group, blocks in groups.items()}
    summary = {
        "network": network.name,
        "inputs": str(spec.inputs),
        "conditions": spec.conditions.label(),
        "corner": spec.conditions.corner, "temp_c": spec.conditions.temp, "vdd_v": vdd,
        "mismatch_seed": spec.conditions.seed if spec.conditions.mismatch else None,
        "step_s": plan.step,
        "agreement": testbench.agreement(network, software, measured),
        "power": {"total_W": testbench.supply_power(plot),
                  "reference_W": network.unit_current * vdd,
                  "by_block": by_block},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
