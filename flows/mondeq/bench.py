"""ngspice operating points of a compiled monDEQ circuit, one per input row.

One deck sweeps a row index (`.dc Vrow`), every input pin a `pwl` of it, so each row is
its own DC operating point; ngspice starts each point from the previous solution, so a
sweep run forwards, one run backwards and one started from every node high (`.nodeset`)
reach each row from three different initial guesses: equal results show the equilibrium
is unique, as the monDEQ theory says. Hardware linearization (`gradient`) perturbs the
held output pins by ±ε·(y − t) around each row's operating point: by reciprocity the node
voltages move by the adjoint of the linearized network, measured on the circuit itself.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.mondeq.circuit import Circuit
from pdk.models import Conditions
from pdk.ngspice import Plot, simulate

#: Operating points to six digits (ngspice's default reltol is 1e-3): a comparison with the
#: model at the 1e-4 level must not measure the solver.
OPTIONS = ".option reltol=1e-6 vntol=1e-9 abstol=1e-16"
#: Initial guesses whose operating points are compared (§ uniqueness).
GUESSES = ("forward", "backward", "high")
#: Output-pin perturbation of the hardware linearization, volts per unit of output error
#: (its largest row error is scaled to this): small against n·Vt, large against rounding.
PERTURBATION_V = 2e-3


@dataclass(frozen=True)
class OperatingPoints:
    """Per row: node values z (units), outputs y (units), supply power (W)."""

    z: np.ndarray
    y: np.ndarray
    power_W: np.ndarray


def _pwl(values: np.ndarray) -> str:
    points = list(values) + [values[-1]]  # one extra point: a single row is a valid pwl too
    return "pwl(V(row), " + ", ".join(f"{i},{v:.12g}" for i, v in enumerate(points)) + ")"


def node(circuit: Circuit, i: int) -> str:
    return f"x{circuit.network.name}.x{circuit.blocks[0].name}.z{i}"


def deck(circuit: Circuit, inputs: np.ndarray, conditions: Conditions = Conditions(),
         guess: str = "forward", outputs_at: np.ndarray | None = None,
         macro: str | None = None, analysis: str | None = None,
         row: str = "0", options: str = OPTIONS) -> tuple[str, list[tuple[str, str]]]:
    """The operating-point sweep of `inputs` (rows, in), and its sources as (name, node):
    each drives its node against ground, so the supply power is −Σ v(node)·i(source).
    `outputs_at` (rows, out) moves the held output pins from V_ref by that many volts
    (the linearization's perturbation); the pin's current is read in a 0 V source.
    `macro`: a path to `.include` instead of the netlist inline (DIR/testbench/ decks);
    `analysis` and `row` (the row index source's value) replace the sweep, e.g. a `.tran`
    with the row index stepping in time; `options` the solver's (a transient needs no
    six-digit operating points)."""
    levels = circuit.mapping.levels_at(conditions.temp)
    rows = len(inputs)
    name = circuit.network.name
    lines = [f"* {name}: one operating point per input row ({rows} rows, guess {guess})",
             conditions.lines(passives=True), options,
             circuit.netlist() if macro is None else f".include {macro}", f"Vrow row 0 {row}"]
    sources = []
    rails = {"vss": 0.0, "vref": levels.reference, "vp": levels.vp, "vn": levels.vn, "vclamp": levels.clamp}
    for pin in circuit.ports:
        if pin in rails:
            lines.append(f"V{pin} {pin} 0 {rails[pin]:.12g}")
            sources.append((f"v{pin}", pin))
        elif pin.startswith("in"):
            k = int(pin[2:].split("_")[0])
            sign = -1.0 if pin.endswith("_n") else 1.0
            lines.append(f"B{pin} {pin} 0 V = {_pwl(levels.pin(sign * inputs[:, k]))}")
            sources.append((f"b{pin}", pin))
        else:  # out<j>p / out<j>n, held at V_ref (plus the perturbation)
            held = np.full(rows, levels.reference)
            if outputs_at is not None:
                held = held + outputs_at[:, int(pin[3:-1])] * (1.0 if pin.endswith("p") else -1.0)
            lines.append(f"B{pin}_hold {pin}_h 0 V = {_pwl(held)}")
            lines.append(f"V{pin} {pin} {pin}_h 0")
            sources.append((f"b{pin}_hold", f"{pin}_h"))
    lines.append(f"X{name} {' '.join(circuit.ports)} {name}")
    if guess == "high":
        high = levels.pin(2.0)
        lines.append(".nodeset " + " ".join(f"v({node(circuit, i)})={high:.6g}"
                                            for i in range(circuit.network.layers[0].size)))
    sweep = f"{rows - 1} 0 -1" if guess == "backward" else f"0 {rows - 1} 1"
    lines.append(analysis or f".dc Vrow {sweep}")
    return "\n".join(lines) + "\n.end\n", sources


def _read(circuit: Circuit, plot: Plot, sources: list[tuple[str, str]], levels) -> OperatingPoints:
    order = np.argsort(plot["v(row)"])  # a backward sweep lists the rows last to first
    m = circuit.mapping
    z = np.stack([(plot[f"v({node(circuit, i)})"] - levels.reference) / levels.volts_per_unit
                  for i in range(circuit.network.layers[0].size)], axis=1)
    per_unit = m.readout_ratio * m.unit_conductance * levels.volts_per_unit

    def pin_current(pin: str) -> np.ndarray:
        key = f"i(v{pin})"
        return plot[key] if key in plot.vectors else np.zeros_like(plot["v(row)"])

    y = np.stack([(pin_current(f"out{j}p") - pin_current(f"out{j}n")) / per_unit
                  for j in range(circuit.network.output_size)], axis=1)
    power = -sum(plot[f"v({n})"] * plot[f"i({s})"] for s, n in sources if n != "vss")
    return OperatingPoints(z[order], y[order], np.asarray(power)[order])


def operating_points(circuit: Circuit, inputs: np.ndarray, conditions: Conditions = Conditions(),
                     guess: str = "forward", outputs_at: np.ndarray | None = None) -> OperatingPoints:
    text, sources = deck(circuit, inputs, conditions, guess, outputs_at)
    plot = simulate(text, f"{circuit.network.name}_op_{guess}")[0]
    return _read(circuit, plot, sources, circuit.mapping.levels_at(conditions.temp))


@dataclass(frozen=True)
class Gradient:
    loss: float
    layers: list[dict[str, np.ndarray]]
    #: the operating points the gradient was measured at
    points: OperatingPoints


def hardware_gradient(circuit: Circuit, inputs: np.ndarray, targets: np.ndarray,
                      conditions: Conditions = Conditions()) -> Gradient:
    """∂L/∂(bias, input_weight, weight) of L = ½·mean_rows Σ_j (y_j − t_j)², measured on the
    circuit: its operating points give z and y; holding the output pins at V_ref ± s·e
    (e = ∂L/∂y) moves the node voltages by ρ·s·λ/S with λ the adjoint of the linearized
    network (K λ = Woᵀ e, K symmetric: reciprocity), read as a central difference."""
    x = np.asarray(inputs, dtype=np.float64)
    point = operating_points(circuit, x, conditions)
    rows = len(x)
    error = (point.y - targets) / rows
    loss = 0.5 * float(((point.y - targets) ** 2).sum(axis=1).mean())
    largest = float(np.abs(error).max())
    s = PERTURBATION_V / largest if largest > 0 else 0.0
    if s == 0.0:
        adjoint = np.zeros_like(point.z)
    else:
        plus, minus = (operating_points(circuit, x, conditions, outputs_at=sign * s * error)
                       for sign in (1.0, -1.0))
        m = circuit.mapping
        volts = m.levels_at(conditions.temp).volts_per_unit
        adjoint = volts * (plus.z - minus.z) / 2 / (m.readout_ratio * s)
    raw = adjoint.T @ point.z
    stage = {"bias": adjoint.sum(axis=0), "input_weight": adjoint.T @ x, "weight": (raw + raw.T) / 2}
    readout = {"bias": error.sum(axis=0), "weight": error.T @ point.z}
    return Gradient(loss, [stage, readout], point)
