"""Transient testbench of a compiled macro, built only from the pin contract (ARCHITECTURE §4).

Inputs are piecewise-constant currents into `in<i>` (one value per input row), `iref`
takes one unit of current, every `out<j>` is held at a fixed voltage by a source whose
current is the output. Outputs are sampled at the end of each step. Because only the
contract is used, the same testbench checks any macro that follows it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flows.agreement import range_error
from flows.netfile import write_sequence_csv
from flows.bmru.network import BmruLayer, Network
from pdk import flat as flat_models
from pdk.models import Conditions
from pdk.ngspice import Plot

#: Seconds per input row of a plan made without a macro's timing (flows.bmru.timing gives the
#: macro's own: `bmru simulate` and the shipped testbench use that).
DEFAULT_STEP = 2e-3


@dataclass(frozen=True)
class TransientPlan:
    """How a sequence is played into the macro."""

    step: float = DEFAULT_STEP
    #: Input edge time: finite so the integrator sees a breakpoint, short against `step`.
    edge: float = 5e-6
    #: Voltage at which the testbench holds every output pin (contract: 0.2–0.9 V).
    output_voltage: float = 0.5
    #: Sample this far before the end of each step (just before the next edge).
    sample_before_end: float = 1e-6
    #: Largest internal time step as a fraction of `step` (ngspice's `.tran` print step,
    #: which caps it). Measured on kws_d4 (two sequences) and the flip-flop: 1/10 takes
    #: 1.45-1.57x fewer Newton iterations than the former 1/50 (noise_50 14970 → 9561,
    #: go_en-us-nyc 22829 → 15784) with the same BMRU states and outputs within 0.04-0.12 %
    #: of full scale; 1/5 has fewer points but more rejected ones (24278 on go_en-us-nyc).
    max_step: float = 0.1
    #: ... and never above this (s): with 10 ms rows, a 1 ms cap left kws_d4 at 2 nA per unit
    #: (yes_en-klatt2_s154_p60_0, --frame-rate 100) stuck at t = 0.556 ms for 15 minutes; the
    #: same deck ran in 50 s at 0.4 ms (37 s at 0.2 ms, 52 s at 0.1 ms).
    max_step_s: float = 0.4e-3
    #: ngspice's relative tolerance (Newton convergence and truncation error). Measured on
    #: the flat kws_d4 deck (noise_50, 98 steps): 1e-3 takes 1.88x fewer Newton iterations
    #: than the former 1e-4 (18712 → 9943; 26.0 → 13.8 s CPU) with the same BMRU states and
    #: outputs within 0.05 % of full scale; the project's other decks are regression-checked
    #: in benchmarks/flat_decks.py (section "settings"). Picoamp accuracy is abstol's job.
    reltol: float = 1e-3


def _pwl(values: np.ndarray, unit: float, plan: TransientPlan) -> str:
    points = [(0.0, values[0])]
    for k in range(1, len(values)):
        start = k * plan.step
        points += [(start, values[k - 1]), (start + plan.edge, values[k])]
    return "PWL(" + " ".join(f"{t:.9g} {v * unit:.9g}" for t, v in points) + ")"


def ports(network: Network) -> list[str]:
    """Top-level ports in contract order."""
    return (["vdd", "vss", "iref"] + [f"in{i}" for i in range(network.input_size)]
            + [f"out{j}" for j in range(network.output_size)])


def build(macro: Path | str, network: Network, inputs: np.ndarray, plan: TransientPlan,
          conditions: Conditions, probes: tuple[str, ...] = (),
          initial: dict[str, str] | None = None, flat: bool = False) -> str:
    """The deck: models, the macro (included from a Path, or inline netlist text), sources,
    and one `.tran`.

    `flat` writes the deck with one model card per device geometry (pdk/flat.py; the macro
    inline, its identical parallel units merged, mismatch drawn per unit device from
    `conditions.seed`); otherwise the wheel's device subckts are loaded and instantiated.

    Only the supply, the output currents and `probes` (extra vectors such as
    `v(xNAME.l1_y0)`) are saved: a macro's internal nodes would swell the raw file.
    `initial` (node → value) holds those nodes (`.ic`) while ngspice solves the starting
    operating point and releases them at t = 0: it picks the state of a macro that has more
    than one, e.g. a BMRU cell whose first input lies in its hold band. (`.nodeset` only
    hints and was measured to be lost when the operating point needs gmin or source
    stepping: 19 of 45 flip-flop PVT points started in the wrong state.)"""
    unit = network.unit_current
    steps = len(inputs)
    lines = [f"* {network.name}: {steps} steps of {plan.step * 1e3:g} ms, {conditions.label()}",
             conditions.lines(fet_subckts=not flat).rstrip(),
             # picoamp currents: the default abstol (1 pA) would be a 0.1–1 % error;
             # gear integration: trapezoidal rings on currents into held output pins
             f".option abstol=1e-15 reltol={plan.reltol:g} method=gear",
             (f'.include "{macro}"' if not flat else macro.read_text().rstrip()) if isinstance(macro, Path)
             else macro.rstrip(),
             "Vdd vdd 0 {supply}",
             "Vss vss 0 0",
             f"Iref 0 iref DC {unit:.9g}"]
    lines += [f"Iin{i} 0 in{i} {_pwl(inputs[:, i], unit, plan)}" for i in range(network.input_size)]
    lines += [f"Vout{j} out{j} 0 {plan.output_voltage:g}" for j in range(network.output_size)]
    lines.append(f"X{network.name} {' '.join(ports(network))} {network.name}")
    saved = ["v(vdd)", "i(vdd)"] + [f"i(vout{j})" for j in range(network.output_size)] + list(probes)
    lines.append(".save " + " ".join(saved))
    if initial:
        lines.append(".ic " + " ".join(f"v({node})={value}" for node, value in initial.items()))
    lines.append(f".tran {min(plan.step * plan.max_step, plan.max_step_s):.6g} {steps * plan.step:.6g}")
    deck = "\n".join(lines) + "\n.end\n"
    return flat_models.flatten(deck, flat_models.seed_of(conditions), conditions.temp)[0] if flat else deck


def sample_times(steps: int, plan: TransientPlan) -> np.ndarray:
    return (np.arange(1, steps + 1) * plan.step) - plan.sample_before_end


def outputs(plot: Plot, network: Network, steps: int, plan: TransientPlan) -> np.ndarray:
    """Output currents at the end of each step, in software units (steps × outputs)."""
    t = plot["time"]
    at = sample_times(steps, plan)
    # current sourced out of the pin flows into the holding source's + terminal
    return np.stack([np.interp(at, t, plot[f"i(vout{j})"]) / network.unit_current
                     for j in range(network.output_size)], axis=1)


#: An output has settled once it stays within this fraction of its range of its row's end value.
SETTLE_TOLERANCE = 0.01


def settling(plot: Plot, network: Network, steps: int, plan: TransientPlan) -> dict:
    """How long each row took to settle, measured on the output waveforms: the last time in
    the row an output was more than SETTLE_TOLERANCE of its range (over the sequence's row
    ends) from its value at the row's end, from the row's start. The largest over rows is
    what a datasheet step must cover."""
    t = plot["time"]
    ends = outputs(plot, network, steps, plan)
    span = ends.max(axis=0) - ends.min(axis=0)
    rows = np.zeros(steps)
    for j in np.flatnonzero(span > 0):
        y = plot[f"i(vout{j})"] / network.unit_current
        for k in range(steps):
            start, end = k * plan.step, (k + 1) * plan.step - plan.sample_before_end
            inside = (t > start) & (t <= end)
            away = np.flatnonzero(np.abs(y[inside] - ends[k, j]) > SETTLE_TOLERANCE * span[j])
            if away.size:
                rows[k] = max(rows[k], float(t[inside][away[-1]] - start))
    return {"max_s": float(rows.max()), "median_s": float(np.median(rows)), "rows_s": rows.tolist(),
            "tolerance_of_range": SETTLE_TOLERANCE}


def supply_power(plot: Plot) -> float:
    """Average power drawn from the supply over the run (W)."""
    t = plot["time"]
    power = -plot["i(vdd)"] * plot["v(vdd)"]
    return float(np.trapezoid(power, t) / (t[-1] - t[0]))


def agreement(network: Network, software: np.ndarray, circuit: np.ndarray) -> dict:
    """How closely the circuit reproduces the reference model, per §4/issue 6:
    BMRU outputs as states (high if above α/2), dense outputs as relative error against
    the trace's full scale, and the classifier decision (argmax of the last row).

    Every network also gets `range_error`: per output, the largest |circuit − software|
    as a fraction of that output's range over the sequence (max − min of the software
    trace), the measure that stays meaningful for outputs crossing zero."""
    last = network.layers[-1]
    summary: dict = {"steps": int(len(software)), "outputs": int(network.output_size)}
    summary.update(range_error(software, circuit))
    if isinstance(last, BmruLayer):
        half = np.asarray(last.alpha) / 2
        agree = (circuit > half) == (software > half)
        summary["state_agreement"] = float(agree.mean())
        summary["state_disagreements"] = int((~agree).sum())
    else:
        scale = max(float(np.max(np.abs(software))), 1e-12)
        error = np.abs(circuit - software) / scale
        summary["relative_error_max"] = float(error.max())
        summary["relative_error_mean"] = float(error.mean())
    summary["decision_software"] = int(np.argmax(software[-1]))
    summary["decision_circuit"] = int(np.argmax(circuit[-1]))
    summary["decision_agrees"] = summary["decision_software"] == summary["decision_circuit"]
    return summary


def example_inputs(network: Network, steps: int = 8) -> np.ndarray:
    """A deterministic input sequence for the shipped transient testbench: each input
    stepping through 0, ½ and 1 unit out of phase with the others."""
    levels = np.array([0.0, 0.5, 1.0, 0.5])
    return np.array([[levels[(t + j) % len(levels)] for j in range(network.input_size)] for t in range(steps)])


def example_testbench(circuit, directory: Path, step: float) -> list[str]:
    """Decks runnable from DIR/testbench/ with `ngspice -b`: they include ../NAME.spice."""
    net = circuit.network
    macro = Path("..") / f"{net.name}.spice"
    inputs = example_inputs(net)
    deck = build(macro, net, inputs, TransientPlan(step=step), Conditions())
    (directory / "tran_example.spice").write_text(deck)
    write_sequence_csv(directory / "tran_example_inputs.csv", inputs)
    return ["tran_example.spice", "tran_example_inputs.csv"]
