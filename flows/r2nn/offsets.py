"""Where the transconductors' input offsets put a lattice at rest.

At DC every capacitor node is a sum of transconductor currents, gm·(v(inp) − v(inn) + offset)
− g_out·v(out), so the rest point is the solution of one linear system (node voltages from
vref). A velocity node sits at its integrator's offset; the displacements then balance the
spring forces against every offset force, and a force that has no partner (one OTA per
spring end, each with its own offset, and the dampers) is divided by the lattice's DC
stiffness: the softest modes multiply it by up to (stiff / soft frequency)². Measured on
`r2nn_machine` with every transistor's threshold mismatch (`bmru simulate --seed`): the
displacement nodes rest 0.4–0.5 V from vref, far past the transconductors' 24 mV linear
range, and the lattice no longer resonates (waveform correlation 0.39 and −0.48 on two
seeds). `rest_spread` predicts this from the mapping in milliseconds; against ngspice rest points
of 8 seeds with the thresholds' σ scaled to 1 % (linear regime), the measured rms is 0.7–1.3×
the prediction on the displacement nodes (r2nn_machine out2: 7.3 mV against 8.5 mV).
"""
from __future__ import annotations

import numpy as np

from flows.r2nn.mapping import Mapping

#: A rest point this many σ from vref is what one die in ≈ 1000 reaches on the worst node.
SIGMAS = 3.0


def offset_gains(mapping: Mapping) -> tuple[list[str], np.ndarray]:
    """(nets, gains): gains[i, t] is the rest voltage of net i (from vref) per volt of input
    offset of transconductor t, from the linear DC system of the realised gms and g_outs."""
    from cells.transconductor import output_conductance

    nets = sorted({o.out for o in mapping.otas})
    index = {net: i for i, net in enumerate(nets)}
    g = np.zeros((len(nets), len(nets)))
    b = np.zeros((len(nets), len(mapping.otas)))
    for t, ota in enumerate(mapping.otas):
        row = index[ota.out]
        for net, sign in ((ota.inp, 1.0), (ota.inn, -1.0)):
            if net in index:  # vref and the input pin (at vref at rest) are sources
                g[row, index[net]] += sign * ota.gm
        g[row, row] -= output_conductance(ota.tail)
        b[row, t] = ota.gm
    return nets, -np.linalg.solve(g, b)


def rest_spread(mapping: Mapping) -> dict:
    """σ of each node's rest point over dies (input offsets of σ `input_offset_sigma`, one
    independent draw per transconductor) against the transconductors' linear range."""
    from cells.transconductor import input_offset_sigma, linear_range

    nets, gains = offset_gains(mapping)
    sigma = input_offset_sigma() * np.sqrt((gains ** 2).sum(axis=1))
    worst = int(np.argmax(sigma))
    return {"offset_sigma_V": input_offset_sigma(), "linear_range_V": linear_range(),
            "rest_sigma_V": {net: float(s) for net, s in zip(nets, sigma)},
            "worst_net": nets[worst], "worst_sigma_V": float(sigma[worst]),
            "gain_max": float(np.abs(gains).max()),
            "latches": bool(SIGMAS * sigma[worst] > linear_range())}
