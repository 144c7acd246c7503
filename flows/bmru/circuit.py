"""Network → circuit: which cells a mapped network needs and how their pins are wired.

Every signal between layers is a current into a stacked NMOS diode of M unit devices per
level (one M for the whole macro, so any consumer reads any signal with weights k/M): the
current enters net `s` (the consumers' cascode line), the mirror gate line is `s_g`
(`gate_net`, `cells.diode`). A diode's lines cost nothing to read, so skips are free: a
layer whose input is y_j + y_k simply reads both signals with the same weights. Diodes live
where the signal is made: a dense ReLU layer's outputs are its own ReLU diodes; macro
inputs and BMRU outputs get a signal diode.

Blocks, per layer L (nets in brackets):
* dense: one `DenseBlock` reading every term of its input, ReLU diodes on [l{L}_y<i>];
* bmru: a `DenseBlock` computing ĥ = ReLU(W x + b) on [l{L}_h<i>] (its ReLU diode is the
  cells' input diode), one `BmruCell` per unit sourcing α into [l{L}_y<i>] and a signal
  diode there;
* the last layer drives the `out<j>` pins directly when it can (dense without activation,
  BMRU); otherwise (ReLU, or a skip into the last layer) an identity `DenseBlock` without
  ReLU sources the sum of its terms into the pins.
One `BiasTree` from `iref` feeds every bias line (bp, bn), the cascode line (nc) and, when
a current needs more than MAX_UNITS_PER_RATIO fine units, the coarse lines (bp2, bn2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from cells.bias import BiasTree, split_units
from cells.bmru import BmruCell
from cells.dense import DenseBlock
from cells.diode import SignalDiode
from cells.netlist import merged_subckt, subckt, touched_ports
from flows.errors import InputError
from flows.families import Block
from flows.bmru.mapping import (WEIGHT_ELEMENT, MappingConfig, NetworkMapping, coarse_factor, map_network,
                               shared_weight_diode)
from flows.bmru.network import BmruLayer, Network
from pdk.limits import MAX_UNITS_PER_RATIO

#: NMOS feed units of the bias tree's PMOS line (its PMOS diode has as many): one PMOS bias
#: unit then carries exactly iref/D, like one NMOS unit.
BIAS_FEED_UNITS = 2


@dataclass(frozen=True)
class Circuit:
    """A network realised as cell instances: the single source of the netlist, the layout
    and the schematics."""

    network: Network
    mapping: NetworkMapping
    blocks: tuple[Block, ...]
    ports: tuple[str, ...]
    notes: dict = field(default_factory=dict)

    ports_of = staticmethod(touched_ports)

    @staticmethod
    def schematic_style(cell) -> str:
        """Dense blocks are drawn as crossbars, the other cells in signal-flow order."""
        return "array" if isinstance(cell, DenseBlock) else "leaf"

    def cells(self) -> list[object]:
        """Distinct cells in first-use order."""
        seen: dict[str, object] = {}
        for block in self.blocks:
            seen.setdefault(block.cell.name, block.cell)
        return list(seen.values())

    def netlist(self, probe_supplies: bool = False, merge_parallel: bool = False) -> str:
        """Hierarchical SPICE: every cell's subckt, then the top subckt NAME (no sources,
        no models, no analyses: testbenches add those).

        Testbench-only variants: `probe_supplies` draws each block's supply through a 0 V
        source `Vsup_<block>` inside the top subckt, so power splits by block;
        `merge_parallel` writes identical parallel unit devices as one instance with the
        ngspice multiplier m=k — exact without mismatch (tests/test_circuit.py), tens of
        times faster, wrong with mismatch, where every unit draws its own sample."""
        name = self.network.name
        parts = [f"* {name}: FQ-BMRU network compiled by bmru-sky130 for SKY130\n"
                 f"* ports: {' '.join(self.ports)}; iref takes {self.network.unit_current:g} A\n"]
        for cell in self.cells():
            if merge_parallel:
                parts.append(merged_subckt(cell.name, self.ports_of(cell), cell.devices()))
            else:
                parts.append(subckt(cell.name, self.ports_of(cell), cell.devices()))
        lines = [f".subckt {name} {' '.join(self.ports)}"]
        for block in self.blocks:
            nets = [block.nets[p] for p in self.ports_of(block.cell)]
            if probe_supplies and "vdd" in nets:
                lines.append(f"Vsup_{block.name} vdd vdd_{block.name} 0")
                nets = [f"vdd_{block.name}" if n == "vdd" else n for n in nets]
            lines.append(f"X{block.name} {' '.join(nets)} {block.cell.name}")
        lines.append(f".ends {name}")
        return "\n".join(parts) + "\n".join(lines) + "\n"

    def device_count(self) -> dict[str, int]:
        """Transistors per cell instance and in total."""
        counts = {b.name: len(b.cell.devices()) for b in self.blocks}
        counts["total"] = sum(counts.values())
        return counts

    def supply_groups(self) -> dict[str, list[str]]:
        """Blocks that draw from vdd, grouped for the power breakdown: the bias tree, each
        layer's dense block and BMRU cells, the output stage."""
        groups: dict[str, list[str]] = {}
        for block in self.blocks:
            if "vdd" not in self.ports_of(block.cell):
                continue
            if block.name == "bias":
                group = "bias tree"
            elif block.name.startswith("l") and "_" in block.name:
                layer, part = block.name.split("_", 1)
                group = f"layer {layer[1:]} {'bmru cells' if part.startswith('bmru') else 'dense'}"
            else:
                group = block.name.replace("_", " ")
            groups.setdefault(group, []).append(block.name)
        return groups


def _uniform_mapping(network: Network, config: MappingConfig, diode_units: int | None) -> NetworkMapping:
    """One M and one D for the whole macro: a signal's diode is shared by all its consumers
    and one bias tree serves every layer. M is `diode_units` when given, otherwise the
    largest M any layer's error budget asks for, capped where the largest weight still fits
    in MAX_UNITS_PER_RATIO units, unless another layer misses its budget there
    (`shared_weight_diode`)."""
    first = map_network(network, config)
    largest = max(float(np.max(np.abs(layer.weight))) for layer in network.layers)
    if diode_units is None:
        fits = max(1, int(MAX_UNITS_PER_RATIO // max(largest, 1e-12)))
        preferred = min(max(layer.weight_diode_units for layer in first.layers), fits)
        diode_units = shared_weight_diode(network, config, preferred, min(fits, MAX_UNITS_PER_RATIO))
    elif math.floor(largest * diode_units + 0.5) > MAX_UNITS_PER_RATIO:
        most = max([m for m in range(1, MAX_UNITS_PER_RATIO + 1)
                    if math.floor(largest * m + 0.5) <= MAX_UNITS_PER_RATIO], default=1)
        raise InputError("command line", "--diode-units",
                         f"{diode_units} needs more than {MAX_UNITS_PER_RATIO} unit devices "
                         f"(MAX_UNITS_PER_RATIO in pdk/limits.py) for the largest weight, {largest:g}; "
                         f"this network allows at most {most}")
    d = max(layer.bias_diode_units for layer in first.layers)
    biased = {layer.index for layer in first.layers if layer.bias_diode_units}
    uniform = MappingConfig(input_max=config.input_max, error_budget=config.error_budget,
                            weight_diode_units={i: diode_units for i in range(len(network.layers))},
                            bias_diode_units={i: d for i in biased})
    return map_network(network, uniform)


def realised_network(network: Network, config: MappingConfig | None = None,
                     diode_units: int | None = None) -> Network:
    """The network with the values `build_circuit` realises (one M for the macro, biases and
    α/β as bias-unit counts): what the circuit computes before any analog error."""
    return _uniform_mapping(network, config or MappingConfig(), diode_units).mapped


def _units(mapping: NetworkMapping, parameter: str) -> int:
    ratio = mapping.ratio(parameter)
    return -ratio.units if ratio.direction == "sink" else ratio.units


def gate_net(net: str) -> str:
    """The mirror gate line of the stacked diode on signal net `net`."""
    return f"{net}_g"


def signal_diode_nets(net: str) -> dict[str, str]:
    """A `SignalDiode`'s ports on signal net `net` (its top) and the net's gate line."""
    return {"vdd": "vdd", "vss": "vss", "sig": net, "gate": gate_net(net)}


def _bias_units(mapping: NetworkMapping, index: int, size: int) -> tuple[int, ...]:
    """Signed bias units of a layer (the mapping has a row for every bias, 0 units if zero)."""
    return tuple(_units(mapping, f"layers[{index}].bias[{i}]") for i in range(size))


def build_circuit(network: Network, config: MappingConfig | None = None,
                  diode_units: int | None = None, frame_rate: float | None = None) -> Circuit:
    """Choose every cell of the macro and wire it (see the module docstring). `diode_units`
    fixes M (weights realised as k/M); by default the mapping's error budget chooses it.
    `frame_rate` (rows per second) replaces the network's unit current by the one that
    settles within a frame (`frame_rate_circuit`)."""
    if frame_rate is not None:
        return frame_rate_circuit(network, config, diode_units, frame_rate)
    mapping = _uniform_mapping(network, config or MappingConfig(), diode_units)
    m = mapping.layers[0].weight_diode_units
    d = max(layer.bias_diode_units for layer in mapping.layers) or 1
    name = network.name
    bias_ratios = [r for layer in mapping.layers for r in layer.ratios if r.element != WEIGHT_ELEMENT]
    coarse = coarse_factor(max((r.units for r in bias_ratios), default=0))
    sinks = any(r.direction == "sink" and r.units >= coarse for r in bias_ratios) if coarse else False
    tree = BiasTree(diode_units=d, feed_units=BIAS_FEED_UNITS, pdiode_units=BIAS_FEED_UNITS,
                    coarse=coarse, coarse_sink=sinks, name=f"{name}_bias")
    diode = SignalDiode(units=m, name=f"{name}_diode")
    supplies = {"vdd": "vdd", "vss": "vss"}
    lines = {"bp": "bp", "bn": "bn", "nc": "iref", "bp2": "bp2", "bn2": "bn2"}
    blocks: list[Block] = [Block("bias", tree, {**supplies, **lines, "iref": "iref"})]

    signal: dict[int, list[str]] = {-1: [f"in{j}" for j in range(network.input_size)]}
    blocks += [Block(f"din{j}", diode, signal_diode_nets(net)) for j, net in enumerate(signal[-1])]

    def terms(index: int) -> list[int]:
        """Signals whose sum is the output of layer `index` (-1: the network input)."""
        if index < 0:
            return [-1]
        skip = network.layers[index].skip_from
        return [index] + ([] if skip is None else terms(skip))

    last = len(network.layers) - 1
    for index, layer in enumerate(network.layers):
        inputs = terms(index - 1)
        in_nets = [net for t in inputs for net in signal[t]]
        weights = mapping.layers[index].signed_weight_units
        tiled = np.concatenate([weights] * len(inputs), axis=1)
        size = layer.weight.shape[0]
        is_bmru = isinstance(layer, BmruLayer)
        relu = is_bmru or layer.activation == "relu"
        direct = index == last and _drives_pins(network)
        outs = ([f"out{i}" for i in range(size)] if direct and not is_bmru
                else [f"l{index}_{'h' if is_bmru else 'y'}{i}" for i in range(size)])
        dense = DenseBlock(weights=tuple(tuple(int(k) for k in row) for row in tiled),
                           bias=_bias_units(mapping, index, size), input_units=m, output_units=m,
                           relu=relu, input_diodes=False, coarse=coarse, name=f"{name}_l{index}_dense")
        nets = {**supplies, **lines, **_input_nets(in_nets)}
        nets.update({f"out{i}": net for i, net in enumerate(outs)})
        if relu:
            nets.update({f"outg{i}": gate_net(net) for i, net in enumerate(outs)})
        blocks.append(Block(f"l{index}_dense", dense, nets))
        if is_bmru:
            cell_outs = [f"out{i}" if direct else f"l{index}_y{i}" for i in range(size)]
            for i in range(size):
                cell = _bmru_cell(mapping, index, i, m, coarse, f"{name}_l{index}_bmru{i}")
                blocks.append(Block(f"l{index}_bmru{i}", cell,
                                    {**supplies, "in": gate_net(outs[i]), "bp": "bp", "bp2": "bp2",
                                     "out": cell_outs[i]}))
            if not direct:
                blocks += [Block(f"l{index}_d{i}", diode, signal_diode_nets(net)) for i, net in enumerate(cell_outs)]
            outs = cell_outs
        signal[index] = outs

    # what the pins still need: the whole sum when the last layer's outputs are diodes,
    # otherwise only its skip terms (currents meet at the pin)
    stage_terms = terms(last) if not _drives_pins(network) else terms(last)[1:]
    if stage_terms:
        size = network.output_size
        identity = np.concatenate([np.eye(size, dtype=int) * m] * len(stage_terms), axis=1)
        stage = DenseBlock(weights=tuple(tuple(int(k) for k in row) for row in identity), bias=(0,) * size,
                           input_units=m, output_units=m, relu=False, input_diodes=False,
                           name=f"{name}_output_stage")
        nets = {**supplies, **lines, **_input_nets([n for t in stage_terms for n in signal[t]])}
        nets.update({f"out{i}": f"out{i}" for i in range(size)})
        blocks.append(Block("output_stage", stage, nets))

    ports = tuple(["vdd", "vss", "iref"] + signal[-1] + [f"out{j}" for j in range(network.output_size)])
    notes = {"weight_diode_units": m, "bias_diode_units": d,
             "bias_unit_current": network.unit_current / d,
             "bias_lines": bias_lines(tree, bias_ratios, network.unit_current)}
    return Circuit(network, mapping, tuple(blocks), ports, notes)


def _two_digits_up(value: float) -> float:
    """`value` rounded up to two significant digits (0.3871 nA → 0.39 nA)."""
    grid = 10.0 ** (math.floor(math.log10(value)) - 1)
    return float(f"{math.ceil(value / grid - 1e-9) * grid:.2g}")


def frame_rate_circuit(network: Network, config: MappingConfig | None, diode_units: int | None,
                       frame_rate: float, slowdown: dict | None = None) -> Circuit:
    """The circuit at the lowest unit current (two significant digits) that settles within
    one frame at the worst PVT point (`macro_timing` settling_s ≤ 1 / frame_rate): power
    ∝ unit current, settling ∝ 1 / unit current. A lower unit current leaves the bias tree
    fewer units above the leakage floor (D ≤ iref / MIN_BIAS_CURRENT); a current whose
    coarser biases miss by more than the error budget (or than at the network's own current)
    is raised until they do not, and the frame is then longer than the settling. Refused
    (InputError on --frame-rate) when the frame needs more current than the mapping allows
    (weak-inversion limit). `slowdown`: settle the post-layout macro (timing.wiring_slowdown of
    its devices' layout)."""
    from flows.bmru.timing import macro_timing

    frame = 1.0 / frame_rate
    own = network.unit_current
    reference = build_circuit(network, config, diode_units)
    budget = (config or MappingConfig()).error_budget
    allowed = [max(budget, layer.bias_error_max) + 1e-12 for layer in reference.mapping.layers]

    def build(current: float) -> Circuit | None:
        """The circuit at `current` per unit; None when its biases miss by more than allowed."""
        try:
            circuit = build_circuit(replace(network, unit_current=current), config, diode_units)
        except InputError as error:
            if current > own:
                raise InputError("command line", "--frame-rate",
                                 f"{frame_rate:g} frames/s needs {current:.3g} A per unit, more than this "
                                 f"network allows ({error.field}: {error.problem})") from None
            return None
        errors = [layer.bias_error_max for layer in circuit.mapping.layers]
        return circuit if all(e <= a for e, a in zip(errors, allowed)) else None

    current = _two_digits_up(own * macro_timing(reference, slowdown)["settling_s"] / frame)
    circuit, limited_by = build(current), "settling"
    if circuit is None:  # the lowest current the mapping takes, between `current` and `own`
        low, high, limited_by = current, own, "leakage floor"
        while high > _two_digits_up(low * 1.0001):
            middle = _two_digits_up(math.sqrt(low * high))
            middle = middle if middle < high else _two_digits_up(low * 1.0001)
            if build(middle) is None:
                low = middle
            else:
                high = middle
        current, circuit = high, build(high)
    while (settling := macro_timing(circuit, slowdown)["settling_s"]) > frame * (1 + 1e-9):
        current = max(_two_digits_up(current * settling / frame), _two_digits_up(current * 1.0001))
        circuit = build(current)
    circuit.notes["frame_rate"] = {"frame_rate_hz": frame_rate, "frame_s": frame, "unit_current_A": current,
                                   "network_unit_current_A": own, "settling_s": settling,
                                   "limited_by": limited_by, "post_layout": slowdown is not None}
    return circuit


def post_layout_circuit(circuit: Circuit, slowdown: dict) -> Circuit:
    """The circuit for its drawn layout: one compiled for a frame rate that its wiring
    (`slowdown`, timing.wiring_slowdown) slows beyond a frame gets the unit current that
    settles it, with M and D held so that its devices — and the layout — stay the same."""
    from flows.bmru.timing import macro_timing

    frame = circuit.notes.get("frame_rate")
    if not frame or macro_timing(circuit, slowdown)["settling_s"] <= frame["frame_s"] * (1 + 1e-9):
        return circuit
    network = replace(circuit.network, unit_current=frame["network_unit_current_A"])
    settled = frame_rate_circuit(network, circuit.mapping.config, circuit.notes["weight_diode_units"],
                                 frame["frame_rate_hz"], slowdown)
    same = [[r.units for r in layer.ratios] for layer in settled.mapping.layers] == \
        [[r.units for r in layer.ratios] for layer in circuit.mapping.layers]
    assert same and settled.notes["bias_diode_units"] == circuit.notes["bias_diode_units"], "devices moved"
    return settled


def _input_nets(nets: list[str]) -> dict[str, str]:
    """A dense block's input ports on the signals it reads: in<j> on the signal's net, ing<j>
    on its gate line."""
    return {port: net for j, signal in enumerate(nets)
            for port, net in ((f"in{j}", signal), (f"ing{j}", gate_net(signal)))}


def _drives_pins(network: Network) -> bool:
    """The last layer's own outputs can be the pins: a bare summing node (no activation)
    or BMRU cells, which source α. A ReLU output is a diode inside the macro instead."""
    layer = network.layers[-1]
    return isinstance(layer, BmruLayer) or layer.activation == "none"


def bias_lines(tree: BiasTree, ratios: list, unit_current: float) -> list[dict]:
    """Each bias line of the tree: its unit current and the range of the parts of the
    learned currents it carries (a current of n fine units puts n % F on the fine line and
    n // F coarse units on the coarse one)."""
    iref = unit_current
    lines = {"bp": [], "bn": [], "bp2": [], "bn2": []}
    for r in ratios:
        if r.units == 0:
            continue
        fine, coarse = split_units(r.units, tree.coarse)
        sink = r.direction == "sink"
        if fine:
            lines["bn" if sink else "bp"].append(fine)
        if coarse:
            lines["bn2" if sink else "bp2"].append(coarse)
    rows = []
    for line, counts in lines.items():
        if line not in tree.ports:
            continue
        unit = iref * (tree.coarse_unit_ratio() if line.endswith("2") else tree.nmos_unit_ratio())
        rows.append({"line": line, "kind": "sink" if line.startswith("bn") else "source",
                     "unit_A": unit, "currents": len(counts),
                     "units_max": max(counts, default=0),
                     "current_min_A": min(counts, default=0) * unit,
                     "current_max_A": max(counts, default=0) * unit})
    return rows


def _bmru_cell(mapping: NetworkMapping, index: int, unit: int, m: int, coarse: int, name: str) -> BmruCell:
    """One hysteretic cell from the mapped bias units (one PMOS bias unit = iref/D).

    The cell compares k/M of its input against k/M-scaled thresholds: with β_lo = n_lo/D
    and β_hi − β_lo = n_w/D it needs n_lo·k/M and n_w·k/M units, so k is the smallest
    count that keeps both whole (k < M saves the comparison branch's current).
    """
    prefix = f"layers[{index}]"
    n_hi = _units(mapping, f"{prefix}.beta_hi[{unit}]")
    n_width = _units(mapping, f"{prefix}.beta_hi[{unit}]-beta_lo[{unit}]")
    n_alpha = _units(mapping, f"{prefix}.alpha[{unit}]")
    n_lo = n_hi - n_width  # ≥ 1: the mapping gives every cell β_lo and a width of ≥ 1 unit
    k = m // math.gcd(m, n_lo, n_width)
    return BmruCell(input_units=m, compare_units=k, lo_units=n_lo * k // m, width_units=n_width * k // m,
                    gain_units=n_alpha, input_diode=False, coarse=coarse, name=name)
