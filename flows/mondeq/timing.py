"""Datasheet timing of a monDEQ macro: how long after an input step its outputs hold the new
equilibrium. The circuit has no clock: node capacitances (diode junctions, their nwells,
the poly over substrate) charge through the network's resistors."""
from __future__ import annotations

import numpy as np

from flows.mondeq.bench import deck, node
from flows.mondeq.circuit import Circuit
from pdk.models import Conditions
from pdk.ngspice import simulate

#: Settled: every node within this many units of its final value.
TOLERANCE_UNITS = 0.01
#: The datasheet step is this many settling times.
MARGIN = 2.0


def settling(circuit: Circuit, conditions: Conditions = Conditions()) -> dict:
    """Transient of every input stepping from −1 to +1 unit at t = 0 (tt 27 °C): the last
    time any node is farther than TOLERANCE_UNITS from its final value. The window grows
    tenfold until the nodes have settled in its first half."""
    inputs = np.array([[-1.0] * circuit.network.input_size, [1.0] * circuit.network.input_size])
    volts = circuit.mapping.levels.volts_per_unit
    stop = 2e-8
    while True:
        text, _ = deck(circuit, inputs, conditions, row=f"PWL(0 0 {stop / 1e3:.3g} 1)",
                       analysis=f".tran {stop / 500:.3g} {stop:.3g}", options="")
        plot = simulate(text, f"{circuit.network.name}_settling")[0]
        time = plot["time"]
        late = np.zeros_like(time, dtype=bool)
        for i in range(circuit.network.layers[0].size):
            v = plot[f"v({node(circuit, i)})"]
            late |= np.abs(v - v[-1]) > TOLERANCE_UNITS * volts
        last = float(time[np.flatnonzero(late)[-1]]) if late.any() else 0.0
        if last < stop / 2 or stop >= 1.0:
            break
        stop *= 10
    step = MARGIN * max(last, stop / 1e3)
    return {"step_s": step, "settling_s": last, "max_input_rate_hz": 1.0 / step,
            "corner": conditions.label().rsplit(" ", 1)[0],
            "method": f"transient, every input −1 → +1 unit, nodes within {TOLERANCE_UNITS:g} units"}
