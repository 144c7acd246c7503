"""`bmru finetune`: the network moved onto what its compiled macro computes.

A trained network's drives pass close to its thresholds, so the macro's rounding (weights
k/M, bias-unit counts) and the cells' characterized errors (mirror gains, threshold
offsets, leakage: the circuit-aware model of `flows.bmru.circuit_model`) move states that
then persist in hold. The fine-tuned network takes exactly those values: the software
model then predicts the macro in DIR instead of an idealised one. Every value stays inside
the rounding interval of the unit count the macro built for it, so mapped with the macro's
M and D it gives the same devices; whether its own compile does is checked and said.
Agreement is measured, before and after, against ngspice transients of that macro.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cells import corrections
from flows.bmru.circuit import Circuit, build_circuit
from flows.bmru.circuit_model import corrected_network
from flows.bmru.mapping import MappingConfig, NetworkMapping, map_network
from flows.bmru.network import Network
from flows.errors import InputError
from pdk.models import Conditions

#: How far inside a unit count's rounding interval a held value sits (fraction of one unit).
_INSIDE = 0.01


def compiled_macro(network: Network, build: Path) -> Circuit:
    """The circuit of `network` as the compile in `build` built it (its M, D and unit
    current), refused unless its mapping is the manifest's unit for unit."""
    path = build / "manifest.json"
    if not path.is_file():
        raise InputError(build, None, "no manifest.json: give the directory 'bmru compile' wrote")
    manifest = json.loads(path.read_text())
    if manifest.get("family") != "bmru-network/1":
        raise InputError(path, "family", f"{manifest.get('family')!r}: finetune takes BMRU macros")
    trees = {layer["index"]: layer["bias_diode_units"] for layer in manifest["mapping"]["summary"]
             if layer["bias_diode_units"]}
    circuit = build_circuit(replace(network, unit_current=manifest["unit_current"]),
                            MappingConfig(bias_diode_units=trees),
                            diode_units=manifest["mapping"]["weight_diode_units"])
    built = {row["parameter"]: row["units"] for row in manifest["mapping"]["table"]}
    for row in circuit.mapping.table():
        if built.get(row["parameter"]) != row["units"]:
            raise InputError(path, "mapping.table", f"{row['parameter']} is {built.get(row['parameter'])} "
                             f"units there and {row['units']} for {network.source}: DIR was compiled from "
                             "another network")
    return circuit


@dataclass(frozen=True)
class Finetuned:
    network: Network
    #: parameters whose circuit value lies outside their unit count's rounding interval,
    #: held at its edge
    held: tuple[str, ...]
    #: compiling `network` with the macro's M gives the macro's devices: its values also fit
    #: the macro's D; its own compile may choose a coarser tree, which fits them too
    same_devices: bool


def _units_of(mapping: NetworkMapping) -> dict[str, tuple[int, int, str]]:
    return {r.parameter: (r.units, r.diode_units, r.direction) for layer in mapping.layers for r in layer.ratios}


def _locate(parameter: str) -> tuple[int, str, tuple[int, ...]]:
    """(layer index, field, position) of a mapping parameter ('layers[i].weight[r][c]',
    '….bias[j]', …); the width '….beta_hi[j]-beta_lo[j]' is field 'width'."""
    width = re.fullmatch(r"layers\[(\d+)\]\.beta_hi\[(\d+)\]-beta_lo\[\d+\]", parameter)
    if width:
        return int(width.group(1)), "width", (int(width.group(2)),)
    match = re.fullmatch(r"layers\[(\d+)\]\.(\w+)\[(\d+)\](?:\[(\d+)\])?", parameter)
    return int(match.group(1)), match.group(2), tuple(int(g) for g in match.groups()[2:] if g is not None)


def _value(network: Network, parameter: str) -> float:
    index, field, position = _locate(parameter)
    layer = network.layers[index]
    if field == "width":
        return float(layer.beta_hi[position] - layer.beta_lo[position])
    return float(getattr(layer, field)[position])


def _set(network: Network, parameter: str, value: float) -> Network:
    """`network` with one mapping parameter set to `value` (a width moves β_lo)."""
    index, field, position = _locate(parameter)
    layer = network.layers[index]
    if field == "width":
        field, value = "beta_lo", layer.beta_hi[position] - value
    values = getattr(layer, field).copy()
    values[position] = value
    layers = list(network.layers)
    layers[index] = replace(layer, **{field: values})
    return replace(network, layers=tuple(layers))


def finetune(circuit: Circuit, corr: dict[str, float] | None = None) -> Finetuned:
    """The network the macro of `circuit` computes with the corrections `corr` (default:
    the characterized ones at tt 27 °C 1.8 V, `cells.corrections`) on its realised values,
    each value held inside the rounding interval of the unit count the macro has for it."""
    if corr is None:
        nominal = Conditions()
        corr = corrections.at(corrections.load(), nominal.corner, nominal.temp, nominal.vdd)
    tuned = replace(corrected_network(circuit.mapping.mapped, corr), source=circuit.network.source)
    built = _units_of(circuit.mapping)
    forced = circuit.mapping.config
    held: list[str] = []
    for _ in range(4):  # holding a width moves β_lo only; a second pass catches nothing new
        moved = [p for p, u in _units_of(map_network(tuned, forced)).items() if u != built[p]]
        if not moved:
            break
        for parameter in moved:
            units, diode, direction = built[parameter]
            value = _value(tuned, parameter)
            sign = -1.0 if direction == "sink" or (direction == "none" and value < 0) else 1.0
            low, high = max(units - 0.5 + _INSIDE, 0.0) / diode, (units + 0.5 - _INSIDE) / diode
            tuned = _set(tuned, parameter, sign * float(np.clip(abs(value), low, high)))
            held.append(parameter)
    own = build_circuit(tuned, diode_units=circuit.notes["weight_diode_units"])
    same = _units_of(own.mapping) == built and own.notes["bias_diode_units"] == circuit.notes["bias_diode_units"]
    return Finetuned(tuned, tuple(dict.fromkeys(held)), same)

