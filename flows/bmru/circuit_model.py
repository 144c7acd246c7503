"""Circuit-aware software model: the network the transistor-level macro actually computes.

The ideal network is what the user trained; the circuit realises the mapped values
(unit-device ratios, `flows.bmru.mapping`) and adds per-condition errors measured by the cells'
characterization (`cells.corrections`: threshold offsets, mirror and bias gain errors,
low-state leakage). Both folded into an ordinary `Network` run through the reference model
(`flows.bmru.model.run_network`) predict the circuit at numpy speed.

The low-state leakage makes a BMRU output `low + s·(α − low)` (s ∈ {0, 1}); the network
form has no such field, so α becomes α − low and every reader of that signal gets
`W·low` added to its bias (readers are linear before their ReLU). Where the offset reaches
the network's output unread (a BMRU last layer, or a skip into the last layer) it is
dropped: ≈ 1e-5 units, and states do not depend on it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np

from cells import corrections
from flows.bmru.circuit import build_circuit
from flows.bmru.mapping import MappingConfig
from flows.bmru.network import BmruLayer, Layer, Network
from pdk.models import Conditions


def corrected_network(mapped: Network, corr: Mapping[str, float]) -> Network:
    """`mapped` (realised values) with the corrections of one condition applied: dense
    weights and biases by their gain errors, α/β_lo/β_hi by the BMRU's end-to-end errors,
    the low-state leakage folded into the readers' biases (module docstring)."""
    offsets: list[np.ndarray] = []  # per layer: what its output carries beyond the model's
    layers: list[Layer] = []
    for index, layer in enumerate(mapped.layers):
        upstream = np.zeros(mapped.input_size) if index == 0 else offsets[-1]
        weight, bias = corrections.apply_dense(layer.weight, layer.bias, corr)
        bias = bias + weight @ upstream
        if isinstance(layer, BmruLayer):
            alpha, beta_lo, beta_hi, low = corrections.apply_bmru(
                layer.alpha, layer.beta_lo, layer.beta_hi, corr, mapped.unit_current)
            layers.append(replace(layer, weight=weight, bias=bias, alpha=alpha - low,
                                  beta_lo=beta_lo, beta_hi=beta_hi))
            own = low
        else:
            layers.append(replace(layer, weight=weight, bias=bias))
            own = np.zeros(layer.size)
        skipped = (np.zeros(layer.size) if layer.skip_from is None
                   else np.zeros(mapped.input_size) if layer.skip_from == -1
                   else offsets[layer.skip_from])
        offsets.append(own + skipped)
    return replace(mapped, layers=tuple(layers))


def circuit_model(network: Network, conditions: Conditions = Conditions(),
                  diode_units: int | None = None, config: MappingConfig | None = None,
                  table: dict | None = None) -> Network:
    """The circuit-aware network for `network` compiled as `bmru compile/simulate` build it
    (same M, same mapping) at `conditions`' corner, temperature and supply. Mismatch is not
    modelled (its draw is unknown); `table` defaults to the shipped `cells/corrections.yaml`.
    Raises KeyError for a condition that was not characterized."""
    mapped = build_circuit(network, config=config, diode_units=diode_units).mapping.mapped
    corr = corrections.at(table if table is not None else corrections.load(),
                          conditions.corner, conditions.temp, conditions.vdd)
    return corrected_network(mapped, corr)
