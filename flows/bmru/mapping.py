"""Parameter mapping: learned values → ratios of identical unit devices (ARCHITECTURE §6).

A weight w becomes k unit output devices against a layer's shared input diode of M units
(realised ±k/M: positive sourced into the summing node by PMOS, negative sunk by NMOS).
Every bias current (dense/BMRU bias, α, β_hi and β_hi − β_lo) becomes n fine units
against the layer's bias-tree diode of D units fed by `iref` (one software unit), realised
n/D; when n exceeds MAX_UNITS_PER_RATIO the tree adds a coarse line worth F fine units
(`coarse_factor`) and n is built as n // F coarse plus n % F fine devices, so one layer can
span 1/D … ≈ 4000/D (0.02 … 50 units at 1 nA). M and D are chosen per layer: the fewest unit
devices whose worst-case error stays within the error budget, or the most precise choice
when none does.

A current below the leakage floor (MIN_BIAS_CURRENT: tiny biases, thresholds) is rounded to
the nearest multiple of iref/D — often 0 — and listed by `NetworkMapping.rounded()`; it is
refused only when that rounding misses by more than the error budget. A BMRU cell gets
β_lo and a hysteresis width of at least one unit each.

The mapped network (realised values, same dataclasses) runs through the reference model to
explain circuit-vs-software differences; limits come from `pdk.limits`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from flows.errors import InputError
from flows.bmru.network import BmruLayer, DenseLayer, Layer, Network
from pdk.limits import MAX_BRANCH_CURRENT, MAX_UNITS_PER_RATIO, MIN_BIAS_CURRENT

CONFIG_SOURCE = "mapping config"
#: Floating-point slack when comparing an error with the budget.
_TOLERANCE = 1e-12


@dataclass(frozen=True)
class MappingConfig:
    """Knobs of the mapping. `error_budget` is the worst-case error (software units) each
    layer's weights, and separately its bias currents, may add to a pre-activation; pick it
    well below the network's threshold margin (e.g. `model.threshold_margin(...) / 3`).
    `input_max` bounds every network input. The overrides fix M (weights) or D (bias
    tree) for a layer index."""

    input_max: float = 1.0
    error_budget: float = 0.02
    weight_diode_units: dict[int, int] = field(default_factory=dict)
    bias_diode_units: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Ratio:
    """One learned parameter realised as `units` unit devices against `diode_units`.

    direction: 'source' (PMOS into the summing node), 'sink' (NMOS out of it), 'bias'
    (a positive bias current into a BMRU cell) or 'none' (zero: no device).
    """

    parameter: str
    element: str
    direction: str
    units: int
    diode_units: int
    target: float

    @property
    def realised(self) -> float:
        if self.units == 0:
            return 0.0
        magnitude = self.units / self.diode_units
        return -magnitude if self.direction == "sink" else magnitude

    @property
    def error(self) -> float:
        return self.realised - self.target


@dataclass(frozen=True, eq=False)
class LayerMapping:
    """How one layer is built: M, D, their worst-case errors and every parameter's ratio."""

    index: int
    kind: str
    weight_diode_units: int
    bias_diode_units: int
    input_max: np.ndarray
    weight_error_bound: float
    bias_error_max: float
    ratios: tuple[Ratio, ...]

    @property
    def signed_weight_units(self) -> np.ndarray:
        """(out × in) unit counts for the netlist: +k sourced by PMOS, −k sunk by NMOS."""
        weights = [r for r in self.ratios if r.element == WEIGHT_ELEMENT]
        signed = [-r.units if r.direction == "sink" else r.units for r in weights]
        return np.array(signed, dtype=np.int64).reshape(-1, len(self.input_max))

    @property
    def device_units(self) -> int:
        """Area proxy: unit devices in all ratios, input and bias-tree diodes included."""
        return (len(self.input_max) * self.weight_diode_units + self.bias_diode_units
                + sum(r.units for r in self.ratios))


@dataclass(frozen=True, eq=False)
class NetworkMapping:
    """The mapping of a whole network; `mapped` holds the realised values."""

    network: Network
    mapped: Network
    config: MappingConfig
    layers: tuple[LayerMapping, ...]

    @property
    def device_units(self) -> int:
        return sum(layer.device_units for layer in self.layers)

    def ratio(self, parameter: str) -> Ratio:
        """The ratio realising one parameter, by its field name (e.g. 'layers[1].alpha[0]')."""
        for layer in self.layers:
            for ratio in layer.ratios:
                if ratio.parameter == parameter:
                    return ratio
        raise KeyError(parameter)

    def rounded(self) -> list[dict]:
        """Every bias current below the leakage floor and what the mapping made of it."""
        rows = []
        for layer in self.layers:
            for r in layer.ratios:
                current = abs(r.target) * self.network.unit_current
                if r.element != WEIGHT_ELEMENT and 0 < current < MIN_BIAS_CURRENT:
                    rows.append({"parameter": r.parameter, "target": r.target, "realised": r.realised,
                                 "error": r.error, "target_current": math.copysign(current, r.target)})
        return rows

    def table(self) -> list[dict]:
        """manifest.json rows: parameter → element → target → realised → error, in layer
        order, weights row-major, then biases, α, β_hi, width per unit."""
        unit_current = self.network.unit_current
        rows = []
        for layer in self.layers:
            for ratio in layer.ratios:
                is_weight = ratio.element == WEIGHT_ELEMENT
                rows.append({
                    "parameter": ratio.parameter,
                    "element": ratio.element,
                    "direction": ratio.direction,
                    "units": ratio.units,
                    "diode_units": ratio.diode_units,
                    "target": ratio.target,
                    "realised": ratio.realised,
                    "error": ratio.error,
                    "realised_current": None if is_weight else _current(ratio, unit_current),
                })
        return rows

    def summary(self) -> dict:
        """Per-layer choices and error bounds, JSON-serialisable."""
        budget = self.config.error_budget
        layers = [{
            "index": layer.index,
            "kind": layer.kind,
            "weight_diode_units": layer.weight_diode_units,
            "bias_diode_units": layer.bias_diode_units,
            "input_max": [float(v) for v in layer.input_max],
            "weight_error_bound": layer.weight_error_bound,
            "bias_error_max": layer.bias_error_max,
            "meets_budget": bool(layer.weight_error_bound <= budget + _TOLERANCE
                                 and layer.bias_error_max <= budget + _TOLERANCE),
            "device_units": layer.device_units,
        } for layer in self.layers]
        return {"unit_current": self.network.unit_current, "input_max": self.config.input_max,
                "error_budget": budget, "device_units": self.device_units, "layers": layers}


def _current(ratio: Ratio, unit_current: float) -> float:
    """A bias ratio's current in amperes (multiplied before dividing: 3·1e-9/4 = 7.5e-10)."""
    if ratio.units == 0:
        return 0.0
    return math.copysign(ratio.units * unit_current / ratio.diode_units, ratio.realised)


WEIGHT_ELEMENT = "weight mirror"
BIAS_ELEMENT = "bias current"
ALPHA_ELEMENT = "I_gain (alpha)"
THRESH_ELEMENT = "I_thresh (beta_hi)"
WIDTH_ELEMENT = "I_width (beta_hi - beta_lo)"


def signal_bounds(network: Network, input_max: float) -> tuple[np.ndarray, ...]:
    """Upper bound of every layer's output when every input lies in [0, input_max]
    (interval propagation; a BMRU output never exceeds α)."""
    inputs = np.full(network.input_size, float(input_max))
    bounds: list[np.ndarray] = []
    for layer in network.layers:
        upstream = inputs if not bounds else bounds[-1]
        if isinstance(layer, BmruLayer):
            own = layer.alpha.copy()
        else:
            positive = np.clip(layer.weight, 0.0, None) @ upstream + layer.bias
            negative = np.clip(layer.weight, None, 0.0) @ upstream + layer.bias
            own = (np.maximum(positive, 0.0) if layer.activation == "relu"
                   else np.maximum(np.abs(positive), np.abs(negative)))
        if layer.skip_from is not None:
            own = own + (inputs if layer.skip_from == -1 else bounds[layer.skip_from])
        bounds.append(own)
    return tuple(bounds)


def format_current(amperes: float) -> str:
    """'4 pA', '1.5 nA': the unit a designer reads limits in."""
    for scale, prefix in ((1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(amperes) >= scale:
            return f"{amperes / scale:.3g} {prefix}A"
    return f"{amperes / 1e-15:.3g} fA"


def _round_units(values: np.ndarray, denominator: int) -> np.ndarray:
    """Nearest unit count (halves round up, so the choice never depends on banker's rounding)."""
    return np.floor(np.abs(values) * denominator + 0.5).astype(np.int64)


def _choose(options: list[tuple[int, float, int]], budget: float) -> int:
    """From (denominator, error, device units): the fewest devices within budget, else the
    smallest error (ties to fewer devices)."""
    within = [o for o in options if o[1] <= budget + _TOLERANCE]
    if within:
        return min(within, key=lambda o: (o[2], o[1], o[0]))[0]
    return min(options, key=lambda o: (o[1], o[2], o[0]))[0]


def _weight_error_bound(weight: np.ndarray, units: np.ndarray, denominator: int,
                        input_max: np.ndarray) -> float:
    """max over outputs of Σ_i |w − k/M|·x_max_i."""
    return float((np.abs(np.abs(weight) - units / denominator) @ input_max).max())


def _weight_diode(network: Network, index: int, input_max: np.ndarray,
                  config: MappingConfig) -> int:
    weight = network.layers[index].weight
    at_one = _round_units(weight, 1)
    if at_one.max() > MAX_UNITS_PER_RATIO:
        row, col = np.unravel_index(int(np.argmax(at_one)), weight.shape)
        raise InputError(network.source, f"layers[{index}].weight[{row}][{col}]",
                         f"{weight[row, col]:g} needs {at_one[row, col]} unit devices, more "
                         f"than the {MAX_UNITS_PER_RATIO} allowed per ratio (MAX_UNITS_PER_RATIO "
                         f"in pdk/limits.py)")
    if index in config.weight_diode_units:
        forced = config.weight_diode_units[index]
        if not 1 <= forced <= MAX_UNITS_PER_RATIO or \
                _round_units(weight, forced).max() > MAX_UNITS_PER_RATIO:
            raise InputError(CONFIG_SOURCE, f"weight_diode_units[{index}]",
                             f"{forced} is not realisable: diode and every weight need 1 … "
                             f"{MAX_UNITS_PER_RATIO} unit devices")
        return forced
    options = []
    for denominator in range(1, MAX_UNITS_PER_RATIO + 1):
        units = _round_units(weight, denominator)
        if units.max() > MAX_UNITS_PER_RATIO:
            break  # unit counts only grow with the denominator
        error = _weight_error_bound(weight, units, denominator, input_max)
        options.append((denominator, error, len(input_max) * denominator + int(units.sum())))
    return _choose(options, config.error_budget)


def shared_weight_diode(network: Network, config: MappingConfig, preferred: int, most: int) -> int:
    """One M for every layer (a signal's diode is shared by all its consumers): `preferred`
    (the largest M any layer asks for on its own) when every layer's weight error bound
    holds the budget at it; otherwise, among 1 … `most`, the fewest weight devices with
    every layer within budget, else the smallest worst layer bound. (A layer's own choice
    says nothing about its error at another layer's M: 3-decimal weights put k/M close to
    w only at some M.)"""
    bounds = signal_bounds(network, config.input_max)
    network_input = np.full(network.input_size, float(config.input_max))
    inputs = [network_input if i == 0 else bounds[i - 1] for i in range(len(network.layers))]

    def option(m: int) -> tuple[int, float, int]:
        errors, devices = [], 0
        for layer, input_max in zip(network.layers, inputs):
            units = _round_units(layer.weight, m)
            errors.append(_weight_error_bound(layer.weight, units, m, input_max))
            devices += len(input_max) * m + int(units.sum())
        return m, max(errors), devices

    first = option(preferred)
    if first[1] <= config.error_budget + _TOLERANCE:
        return preferred
    return _choose([option(m) for m in range(1, most + 1)], config.error_budget)


def _bias_targets(layer: Layer, index: int) -> list[tuple[str, str, float]]:
    """(parameter, element, signed target) of every bias current of a layer, in table order."""
    prefix = f"layers[{index}]"
    targets = [(f"{prefix}.bias[{j}]", BIAS_ELEMENT, float(v)) for j, v in enumerate(layer.bias)]
    if isinstance(layer, BmruLayer):
        width = layer.beta_hi - layer.beta_lo
        for j in range(layer.size):
            targets += [(f"{prefix}.alpha[{j}]", ALPHA_ELEMENT, float(layer.alpha[j])),
                        (f"{prefix}.beta_hi[{j}]", THRESH_ELEMENT, float(layer.beta_hi[j])),
                        (f"{prefix}.beta_hi[{j}]-beta_lo[{j}]", WIDTH_ELEMENT, float(width[j]))]
    return targets


def _check_bias_limits(network: Network, targets: list[tuple[str, str, float]]) -> None:
    """Reject a bias current above the weak-inversion limit. (A current below the leakage
    floor is rounded instead, see `_check_rounding`.)"""
    for parameter, _, value in targets:
        current = abs(value) * network.unit_current
        if current > MAX_BRANCH_CURRENT:
            raise InputError(network.source, parameter,
                             f"{abs(value):g} units = {format_current(current)} is above the "
                             f"{format_current(MAX_BRANCH_CURRENT)} weak-inversion limit "
                             f"(MAX_BRANCH_CURRENT in pdk/limits.py): lower unit_current")


def _largest_bias_diode(network: Network) -> int:
    """Each unit device of the bias tree carries iref/D: keep it above the leakage floor."""
    largest = min(MAX_UNITS_PER_RATIO,
                  math.floor(network.unit_current / MIN_BIAS_CURRENT * (1 + 1e-9)))
    if largest < 1:
        raise InputError(network.source, "unit_current",
                         f"{format_current(network.unit_current)} per unit is below the "
                         f"{format_current(MIN_BIAS_CURRENT)} leakage floor (MIN_BIAS_CURRENT in "
                         f"pdk/limits.py): raise unit_current")
    return largest


#: Most fine units one bias current can take: MAX_UNITS_PER_RATIO coarse units of
#: MAX_UNITS_PER_RATIO fine units each, plus a fine remainder.
MAX_BIAS_UNITS = MAX_UNITS_PER_RATIO * MAX_UNITS_PER_RATIO + MAX_UNITS_PER_RATIO - 1


def coarse_factor(largest_units: int) -> int:
    """Fine units per unit of the bias tree's coarse line for currents up to `largest_units`
    fine units: 0 (no coarse line) when they fit the fine line, otherwise ≈ √n, which
    balances coarse and fine devices, and at least what keeps ≤ MAX_UNITS_PER_RATIO coarse
    units (split_units: n // F coarse, n % F fine)."""
    if largest_units <= MAX_UNITS_PER_RATIO:
        return 0
    least = math.ceil((largest_units + 1) / (MAX_UNITS_PER_RATIO + 1))
    return min(MAX_UNITS_PER_RATIO, max(least, round(math.sqrt(largest_units))))


def bias_devices(units: np.ndarray, coarse: int) -> int:
    """Unit devices realising these bias currents on the fine and coarse lines, with the
    coarse line's own feed and diode."""
    if not coarse:
        return int(units.sum())
    return int((units % coarse + units // coarse).sum()) + 2 * coarse + 1


def _bias_units(targets: list[tuple[str, str, float]], denominator: int) -> np.ndarray:
    """Fine unit counts of every bias target against a tree diode of `denominator` units.
    A BMRU cell needs α, β_lo and the hysteresis width of at least one unit each (β_lo = 0
    or a width below one unit cannot be built): their counts are raised to it."""
    units = _round_units(np.array([v for _, _, v in targets]), denominator)
    for j, (_, element, _) in enumerate(targets):
        if element == ALPHA_ELEMENT:
            units[j] = max(units[j], 1)
        elif element == THRESH_ELEMENT:
            hi = max(units[j], 2)
            units[j], units[j + 1] = hi, min(max(units[j + 1], 1), hi - 1)
    return units


def _bias_diode(network: Network, index: int, targets: list[tuple[str, str, float]],
                largest: int, config: MappingConfig) -> int:
    values = np.abs([v for _, _, v in targets])
    if not values.any():
        return 0
    if index in config.bias_diode_units:
        forced = config.bias_diode_units[index]
        if not 1 <= forced <= largest or _bias_units(targets, forced).max() > MAX_BIAS_UNITS:
            raise InputError(CONFIG_SOURCE, f"bias_diode_units[{index}]",
                             f"{forced} is not realisable: it must be 1 … {largest} (one unit "
                             f"≥ {format_current(MIN_BIAS_CURRENT)}) and give every bias current "
                             f"at most {MAX_BIAS_UNITS} fine units")
        return forced
    fine, options = [], []
    for denominator in range(1, largest + 1):
        units = _bias_units(targets, denominator)
        if units.max() > MAX_BIAS_UNITS:
            break  # unit counts only grow with the denominator
        error = float(np.abs(values - units / denominator).max())
        coarse = coarse_factor(int(units.max()))
        options.append((denominator, error, denominator + bias_devices(units, coarse)))
        if not coarse:
            fine.append(options[-1])
    # a coarse line only when the fine line alone cannot meet the budget
    if any(error <= config.error_budget + _TOLERANCE for _, error, _ in fine):
        return _choose(fine, config.error_budget)
    return _choose(options, config.error_budget)


def _check_rounding(network: Network, ratios: list[Ratio], budget: float) -> None:
    """A current below the leakage floor is realised as the nearest multiple of the tree's
    unit (often 0); refuse it only when that moves the pre-activation beyond the budget."""
    for ratio in ratios:
        current = abs(ratio.target) * network.unit_current
        if 0 < current < MIN_BIAS_CURRENT and abs(ratio.error) > budget + _TOLERANCE:
            raise InputError(network.source, ratio.parameter,
                             f"{abs(ratio.target):g} units = {format_current(current)} is below the "
                             f"{format_current(MIN_BIAS_CURRENT)} leakage floor (MIN_BIAS_CURRENT "
                             f"in pdk/limits.py) and rounding it to {ratio.realised:g} misses by "
                             f"{abs(ratio.error):.3g} units, more than the {budget:g} error budget: "
                             f"raise unit_current")


def _map_layer(network: Network, index: int, input_max: np.ndarray, largest_bias_diode: int,
               config: MappingConfig) -> tuple[LayerMapping, Layer]:
    layer = network.layers[index]
    targets = _bias_targets(layer, index)
    _check_bias_limits(network, targets)
    weight_diode = _weight_diode(network, index, input_max, config)
    bias_diode = _bias_diode(network, index, targets, largest_bias_diode, config)

    weight_units = _round_units(layer.weight, weight_diode)
    ratios = []
    for (row, col), w in np.ndenumerate(layer.weight):
        units = int(weight_units[row, col])
        direction = "none" if units == 0 else ("source" if w > 0 else "sink")
        ratios.append(Ratio(f"layers[{index}].weight[{row}][{col}]", WEIGHT_ELEMENT, direction,
                            units, weight_diode, float(w)))
    bias_units = _bias_units(targets, bias_diode) if bias_diode else np.zeros(len(targets), int)
    for (parameter, element, value), units in zip(targets, bias_units.tolist()):
        if units == 0:
            direction = "none"
        elif element == BIAS_ELEMENT:
            direction = "source" if value > 0 else "sink"
        else:
            direction = "bias"
        ratios.append(Ratio(parameter, element, direction, units, bias_diode, value))

    bias_ratios = ratios[layer.weight.size:]
    _check_rounding(network, bias_ratios, config.error_budget)
    bias_error = max((abs(r.error) for r in bias_ratios), default=0.0)
    mapping = LayerMapping(index, layer.kind, weight_diode, bias_diode, input_max,
                           _weight_error_bound(layer.weight, weight_units, weight_diode, input_max),
                           bias_error, tuple(ratios))
    return mapping, _realised_layer(layer, weight_units, weight_diode, bias_ratios)


def _realised_layer(layer: Layer, weight_units: np.ndarray, weight_diode: int,
                    bias_ratios: list[Ratio]) -> Layer:
    """The layer with every parameter replaced by its realised value."""
    weight = np.sign(layer.weight) * weight_units / weight_diode
    size = layer.size
    bias = np.array([r.realised for r in bias_ratios[:size]])
    if isinstance(layer, DenseLayer):
        return replace(layer, weight=weight, bias=bias)
    per_unit = bias_ratios[size:]
    alpha = np.array([r.realised for r in per_unit[0::3]])
    thresh_units = np.array([r.units for r in per_unit[1::3]])
    width_units = np.array([r.units for r in per_unit[2::3]])
    diode = per_unit[0].diode_units
    # β_lo = β_hi − width, from integer unit counts so that it is an exact ratio too.
    return replace(layer, weight=weight, bias=bias, alpha=alpha,
                   beta_hi=thresh_units / diode, beta_lo=(thresh_units - width_units) / diode)


def map_network(network: Network, config: MappingConfig | None = None) -> NetworkMapping:
    """Map every learned parameter to unit-device ratios; raise `InputError` (naming the
    layer, index and value) for a parameter outside the `pdk.limits`."""
    config = config or MappingConfig()
    for name in ("input_max", "error_budget"):
        value = getattr(config, name)
        if not math.isfinite(value) or value <= 0:
            raise InputError(CONFIG_SOURCE, name, f"{value} must be a positive number")
    for name, overrides in (("weight_diode_units", config.weight_diode_units),
                            ("bias_diode_units", config.bias_diode_units)):
        for index in overrides:
            if not 0 <= index < len(network.layers):
                raise InputError(CONFIG_SOURCE, f"{name}[{index}]",
                                 f"no such layer; the network has {len(network.layers)}")
    largest_bias_diode = _largest_bias_diode(network)
    bounds = signal_bounds(network, config.input_max)
    network_input = np.full(network.input_size, float(config.input_max))
    layers, realised = [], []
    for index in range(len(network.layers)):
        input_max = network_input if index == 0 else bounds[index - 1]
        layer_mapping, realised_layer = _map_layer(network, index, input_max,
                                                    largest_bias_diode, config)
        layers.append(layer_mapping)
        realised.append(realised_layer)
    mapped = replace(network, layers=tuple(realised))
    return NetworkMapping(network, mapped, config, tuple(layers))
