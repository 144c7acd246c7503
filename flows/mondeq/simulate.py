"""`bmru simulate` for a monDEQ network: one ngspice operating point per input row, from
three initial guesses (`flows.mondeq.bench`), against the network as given and the mapped
network; circuit.csv, software.csv, testbench.spice and summary.json."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from flows.agreement import range_error
from flows.mondeq.bench import GUESSES, deck, operating_points
from flows.mondeq.circuit import build_circuit
from flows.mondeq.model import run_network
from flows.mondeq.network import load_inputs, load_network
from flows.netfile import write_trace_csv
from pdk.models import Conditions

#: A run passes when every output is within this fraction of its range of the network.
PASS_RANGE_ERROR = 0.03


def compare(network_outputs: np.ndarray, circuit_outputs: np.ndarray) -> dict:
    """Range error and argmax agreement of the circuit against one reference."""
    error = range_error(network_outputs, circuit_outputs)
    decisions = np.argmax(network_outputs, axis=1) == np.argmax(circuit_outputs, axis=1)
    return {**error, "decision_agreement": float(decisions.mean()),
            "decision_agrees": bool(decisions.all())}


def run(network_path: Path, inputs_path: Path, options, corner: str, temp: float, out: Path) -> dict:
    network = load_network(network_path)
    inputs = load_inputs(inputs_path, network)
    circuit = build_circuit(network, options)
    conditions = Conditions(corner, temp=temp)
    points = {guess: operating_points(circuit, inputs, conditions, guess) for guess in GUESSES}
    point = points["forward"]
    spread = max(float(np.abs(points[g].z - point.z).max()) for g in GUESSES)
    reference = run_network(network, inputs).outputs
    mapped = run_network(circuit.mapping.mapped(), inputs).outputs
    (out / "testbench.spice").write_text(deck(circuit, inputs, conditions)[0])
    write_trace_csv(out / "circuit.csv", point.y)
    write_trace_csv(out / "software.csv", reference)
    against = compare(reference, point.y)
    against_mapped = compare(mapped, point.y)
    summary = {
        "network": network.name,
        "family": "mondeq-network/1",
        "verdict": {"pass": bool(against["range_error_max"] <= PASS_RANGE_ERROR),
                    "output_error_of_range_max": against["range_error_max"],
                    "output_error_of_range_mean": against["range_error_mean"],
                    "output_error_of_range_mapped_max": against_mapped["range_error_max"],
                    "goal_output_error_of_range": PASS_RANGE_ERROR,
                    "decision_agreement": against["decision_agreement"],
                    "decision_agreement_mapped": against_mapped["decision_agreement"]},
        "inputs": str(inputs_path),
        "conditions": f"{corner} {temp:g}C",
        "corner": corner, "temp_c": temp,
        "rows": len(inputs),
        "agreement": {"steps": len(inputs), **against},
        "mapped_agreement": against_mapped,
        "uniqueness": {"initial_guesses": list(GUESSES), "max_difference_units": spread},
        "power": {"total_W": float(point.power_W.mean()), "per_row_W": [float(p) for p in point.power_W]},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def headline(summary: dict) -> str:
    v = summary["verdict"]
    return (f"{summary['network']} ({summary['conditions']}, {summary['rows']} rows): "
            f"{'PASS' if v['pass'] else 'FAIL'}: outputs within {v['output_error_of_range_max'] * 100:.2f} % "
            f"of their range of the network (goal {v['goal_output_error_of_range'] * 100:g} %), "
            f"{v['output_error_of_range_mapped_max'] * 100:.2f} % of the mapped network; argmax agrees on "
            f"{v['decision_agreement'] * 100:.1f} % of rows; one equilibrium from "
            f"{len(summary['uniqueness']['initial_guesses'])} initial guesses (spread "
            f"{summary['uniqueness']['max_difference_units']:.2g} units); average power "
            f"{summary['power']['total_W'] * 1e6:.3g} µW")
