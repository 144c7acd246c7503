"""monDEQ network → resistor–diode circuit: every learned parameter becomes one resistor.

The circuit (ARCHITECTURE §3b): hidden node i is a net `z<i>` whose voltage is
V_ref + S·z_i (S volts per unit). With a conductance scale G (siemens per unit), node i has

* a coupling resistor G·W_ij to node j (W_ij > 0, i < j);
* an input resistor G·|U_ik| from `in<k>` (driven at V_ref + S·x_k) or, for U_ik < 0, from
  `in<k>_n` (driven at V_ref − S·x_k);
* a bias resistor G·|b_i| from the rail `vp` (V_ref + S) or, for b_i < 0, `vn` (V_ref − S);
* a readout resistor ρG·|Wo_jk| to `out<j>p` (Wo_jk > 0) or `out<j>n`, pins held at V_ref;
* the rest of its diagonal, G·(1 − W_ii − Σ_j W_ij − Σ_k |U_ik| − |b_i|) − ρG·Σ_j |Wo_ji|,
  as a resistor to `vref` (the validator's ground conductance, minus the readout's load);
* a floating p+/nwell diode, anode on the clamp rail `vclamp`, cathode on the node.

KCL is then G·S·((I − W) z − U x − b) = i_D(z): the fixed point of z = σ(W z + U x + b)
with σ the diode ReLU z − a = κ·exp(−z/τ), τ = n·Vt/S and κ = Is·exp((V_clamp − V_ref)/(n·Vt))/(G·S)
(`flows.mondeq.model.diode_relu`). A `diode_relu` network fixes S and V_clamp from its τ and
κ; a `relu` network is realised with a large S (small τ, `RELU_VOLTS_PER_UNIT`) and the κ
that balances the knee's error above and below it.

Output j is the current (I_out<j>p − I_out<j>n)/(ρ·G·S) into the held pins, readout bias
from `vp`. A cascade of stages would need unidirectional buffers between them: refused.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from flows.errors import InputError
from flows.mondeq.model import run_network
from flows.mondeq.network import DenseReadout, Diode, MondeqNetwork, MondeqStage, ground_conductance
from pdk import passives
from pdk.devices import PASSIVE_MAX_V, RES_MIN_L

#: Reference voltage: the network's 0 (nodes, inputs and rails swing around it); raised to
#: 1.1·S when S is larger, so that the −1-unit rail stays above the substrate.
REFERENCE_V = 1.5
#: S of a relu network: as large as the pins allow for inputs within ±1 unit (0.2 … 4.2 V),
#: so that its diode ReLU is as sharp as it gets (τ = n·Vt/S ≈ 0.018).
RELU_VOLTS_PER_UNIT = 2.0
#: κ of a relu network: the knee's worst error just above a = 0 and at a = −1 roughly balance.
RELU_SCALE = 0.1
#: Largest drop (units) across a clamp diode's series resistance at the design current.
CLAMP_DROP_UNITS = 0.002
#: Probe rows (uniform in [−1, 1] units, fixed seed): the inputs the mapping sizes the diode
#: currents for and the compile predicts its error on, before any ngspice run.
PROBE_ROWS, PROBE_SEED = 64, 0
#: Fraction of the smallest ground conductance the readout may take.
READOUT_SHARE = 0.5


@dataclass(frozen=True)
class BuildOptions:
    """volts_per_unit: S for a relu network (None: `RELU_VOLTS_PER_UNIT`; a diode_relu
    network's S follows from its softness)."""

    volts_per_unit: float | None = None


@dataclass(frozen=True)
class Element:
    """One resistor: the parameter it realises (`field` of layer `layer` at `index`, shown
    as `layers[0].weight[0][2]`; `ground` is derived, not learned), its nets, and target /
    realised magnitude in network units (× G, or × ρG for the readout); `sign` is the
    parameter's sign (which pin or rail the resistor goes to)."""

    layer: int
    field: str
    index: tuple[int, ...]
    name: str
    a: str
    b: str
    target: float
    realised: float
    sign: float
    length_um: float
    ohms: float

    @property
    def parameter(self) -> str:
        return parameter_name(self.layer, self.field, self.index)

    @property
    def error(self) -> float:
        return self.realised - self.target


@dataclass(frozen=True)
class Levels:
    """The voltages a testbench applies (V)."""

    reference: float
    volts_per_unit: float
    clamp: float

    @property
    def vp(self) -> float:
        return self.reference + self.volts_per_unit

    @property
    def vn(self) -> float:
        return self.reference - self.volts_per_unit

    def pin(self, value):
        return self.reference + self.volts_per_unit * value


@dataclass(frozen=True)
class Mapping:
    network: MondeqNetwork
    levels: Levels
    #: siemens per network unit of conductance, and the readout's share ρ of it
    unit_conductance: float
    readout_ratio: float
    elements: tuple[Element, ...]
    #: the activation the circuit computes (τ, κ at tt 27 °C)
    diode: Diode
    #: the clamp diodes' drawn size (W × L µm) and the design current it is chosen for (A)
    diode_size: tuple[float, float]
    diode_current: float
    #: parameters too small for the longest resistor: left out (their error is their value)
    dropped: tuple[dict, ...] = ()

    @property
    def stage(self) -> MondeqStage:
        return self.network.layers[0]

    @property
    def readout(self) -> DenseReadout:
        return self.network.layers[1]

    def levels_at(self, temp: float) -> Levels:
        """The pin voltages at `temp`: S proportional to absolute temperature, so the diode
        ReLU's softness τ = n·Vt/S stays what the network says, and vclamp from a replica
        diode of the clamps' size carrying κ·G·S (its drop from the diode's measured fits at
        −40, 27 and 85 °C, the parabola through them between and beyond), so κ stays too.
        With the 27 °C levels fixed, a −40 °C or 85 °C die would be 16–21 % of an output's
        range off (measured on md_c8)."""
        from pdk.models import TEMPERATURES

        volts = self.levels.volts_per_unit * (temp + 273.15) / (27.0 + 273.15)
        current = self.diode.scale * self.unit_conductance * volts
        drops = [passives.diode_fit(temp=t, size=self.diode_size).voltage(current) for t in TEMPERATURES]
        drop = float(np.polyval(np.polyfit(TEMPERATURES, drops, len(TEMPERATURES) - 1), temp))
        return Levels(self.levels.reference, volts, self.levels.reference + drop)

    def inverted_inputs(self) -> tuple[int, ...]:
        """Inputs that need the inverted copy `in<k>_n` (a negative input weight)."""
        return tuple(k for k in range(self.network.input_size) if (self.stage.input_weight[:, k] < 0).any())

    def mapped(self) -> MondeqNetwork:
        """The network with every parameter as realised and σ the diode ReLU the circuit
        computes: explains, never replaces, the network as given."""
        n = self.stage.size
        values = {"weight": np.zeros((n, n)), "input_weight": np.zeros_like(self.stage.input_weight),
                  "bias": np.zeros(n), "ground": np.zeros(n),
                  "readout_weight": np.zeros_like(self.readout.weight),
                  "readout_bias": np.zeros_like(self.readout.bias)}
        for e in self.elements:
            key = e.field if e.layer == 0 else f"readout_{e.field}"
            values[key][e.index] = e.sign * e.realised
            if key == "weight":
                values[key][e.index[::-1]] = e.realised
        weight = values["weight"]
        load = self.readout_ratio * np.abs(values["readout_weight"]).sum(axis=0)
        diagonal = (weight.sum(axis=1) + np.abs(values["input_weight"]).sum(axis=1)
                    + np.abs(values["bias"]) + values["ground"] + load)  # KCL at each node
        weight[np.diag_indices(n)] = 1.0 - diagonal
        stage = replace(self.stage, weight=weight, input_weight=values["input_weight"],
                        bias=values["bias"], activation="diode_relu", diode=self.diode)
        readout = replace(self.readout, weight=values["readout_weight"], bias=values["readout_bias"])
        return replace(self.network, layers=(stage, readout))

    def table(self) -> list[dict]:
        return [{"parameter": e.parameter, "element": e.name, "nets": [e.a, e.b],
                 "target": e.sign * e.target, "realised": e.sign * e.realised, "error": e.sign * e.error,
                 "ohms": round(e.ohms, 3), "length_um": e.length_um} for e in self.elements] + list(self.dropped)

    def summary(self) -> dict:
        errors = np.array([abs(e.error) for e in self.elements] + [abs(d["error"]) for d in self.dropped])
        return {"resistors": len(self.elements), "dropped": len(self.dropped),
                "error_max": float(errors.max(initial=0.0)),
                "ohms_min": min(e.ohms for e in self.elements), "ohms_max": max(e.ohms for e in self.elements)}


def parameter_name(layer: int, fieldname: str, index: tuple[int, ...]) -> str:
    """`layers[0].weight[0][2]`: how the manifest and the validator name a parameter."""
    return f"layers[{layer}].{fieldname}" + "".join(f"[{i}]" for i in index)


def probe_rows(network: MondeqNetwork) -> np.ndarray:
    return np.random.default_rng(PROBE_SEED).uniform(-1.0, 1.0, (PROBE_ROWS, network.input_size))


def _fail(network: MondeqNetwork, fieldname: str, problem: str) -> InputError:
    return InputError(network.source, fieldname, problem)


def check_compilable(network: MondeqNetwork) -> None:
    """One mondeq stage and a dense readout: what a passive circuit realises."""
    kinds = [layer.kind for layer in network.layers]
    if kinds != ["mondeq", "dense"]:
        raise _fail(network, "layers", f"is {' → '.join(kinds)}; bmru compile builds one mondeq "
                    "stage followed by its dense readout (a cascade needs unidirectional buffers "
                    "between stages, which a resistor–diode circuit has not: the stages would load "
                    "each other); the reference model (bmru model run) runs cascades")


def map_network(network: MondeqNetwork, options: BuildOptions = BuildOptions()) -> Mapping:
    """Choose S, G, ρ and V_clamp, and every resistor (see the module docstring)."""
    check_compilable(network)
    stage, readout = network.layers
    thermal = passives.diode_fit().n * passives.K_B_Q * (27.0 + 273.15)  # n·Vt at 27 °C (every size)
    if stage.activation == "diode_relu":
        if options.volts_per_unit is not None:
            raise InputError("command line", "--volts-per-unit", "applies to relu networks only: a "
                             "diode_relu network's softness fixes the volts per unit")
        diode = stage.diode
        volts = thermal / diode.softness
    else:
        volts = options.volts_per_unit or RELU_VOLTS_PER_UNIT
        diode = Diode(softness=thermal / volts, scale=RELU_SCALE)
    n = stage.size
    slack = ground_conductance(stage.weight, stage.input_weight, stage.bias)
    load = np.abs(readout.weight).sum(axis=0)
    starved = [i for i in range(n) if load[i] > 0 and slack[i] <= 0]
    if starved:
        i = starved[0]
        raise _fail(network, f"layers[0].weight[{i}][{i}]",
                    f"node {i} has no ground conductance left to drive the readout "
                    f"(1 − W_ii − Σ_j≠i W_ij − Σ_k |U_ik| − |b_i| = {slack[i]:.3g}); train with "
                    "`bmru train mondeq`, which keeps a share of every diagonal for the readout")
    loaded = load > 0
    ratio = min(1.0, READOUT_SHARE * float((slack[loaded] / load[loaded]).min())) if loaded.any() else 1.0
    low, high = passives.RESISTANCE_RANGE
    terms = _terms(network)
    # the largest learned conductance is the shortest resistor; a ground resistor (derived,
    # it grows with what is left out) may be shorter still, down to the device's minimum
    unit = 1.0 / (low * max(abs(t[-1]) * (ratio if t[0] else 1.0) for t in terms))
    kept, dropped, ground = _realisable(terms, slack - ratio * load, unit, ratio, high)
    # a clamped node's diode carries G·S·(z − a): the smallest measured diode whose series
    # resistance drops at most CLAMP_DROP_UNITS at the most negative pre-activation of the
    # probe rows (a larger diode only raises Is, which the clamp voltage absorbs)
    drive = max(1.0, float(-run_network(network, probe_rows(network)).pre_activations[0].min()))
    current = unit * volts * drive
    size = next((s for s in passives.DIODE_SIZES if current * passives.diode_fit(size=s).Rs_ohm
                 <= CLAMP_DROP_UNITS * volts), passives.DIODE_SIZES[-1])
    fit = passives.diode_fit(size=size)
    reference = max(REFERENCE_V, 1.1 * volts)
    levels = Levels(reference, volts, reference + thermal * math.log(diode.scale * unit * volts / fit.Is_A))
    for name, value in (("vp", levels.vp), ("vn", levels.vn), ("vclamp", levels.clamp)):
        if not 0.0 <= value <= PASSIVE_MAX_V:
            raise _fail(network, "layers[0]", f"needs {name} at {value:.3g} V, outside 0 … "
                        f"{PASSIVE_MAX_V:g} V: choose a smaller --volts-per-unit or softness")
    elements = []
    for layer, fieldname, index, a, b, value in kept:
        scale = unit * (ratio if layer else 1.0)
        length = passives.resistor_length(max(min(1.0 / (abs(value) * scale), high), passives.resistance(RES_MIN_L)))
        ohms = passives.resistance(length)
        name = f"R{'o' if layer else ''}{fieldname[0]}{'_'.join(map(str, index))}"
        elements.append(Element(layer, fieldname, index, name, a, b, abs(value), 1.0 / (ohms * scale),
                                1.0 if value >= 0 else -1.0, length, ohms))
    return Mapping(network, levels, unit, ratio, tuple(elements), diode, size, current, tuple(dropped))


def _realisable(terms: list[tuple], ground: np.ndarray, unit: float, ratio: float,
                high: float) -> tuple[list[tuple], list[dict], np.ndarray]:
    """(kept terms with the ground resistors, dropped entries, ground): a conductance too
    small for the longest resistor is left out and added to its nodes' ground resistors,
    so every node keeps its diagonal (1 − W_ii) exactly."""
    ground = ground.copy()
    kept, dropped = [], []
    for term in terms:
        layer, fieldname, index, a, b, value = term
        if abs(value) * unit * (ratio if layer else 1.0) >= 1.0 / high:
            kept.append(term)
            continue
        dropped.append(_dropped(*term))
        if layer == 1:
            if fieldname == "weight":  # its load on z<k> moves to the node's ground
                ground[index[1]] += ratio * abs(value)
        else:
            for net in (a, b):
                if net.startswith("z"):
                    ground[int(net[1:])] += abs(value)
    for i, g in enumerate(ground):
        term = (0, "ground", (i,), "vref", f"z{i}", float(g))
        if g * unit >= 1.0 / high:
            kept.append(term)
        elif g > 0:
            dropped.append(_dropped(*term))
    return kept, dropped, ground


def _dropped(layer: int, fieldname: str, index: tuple[int, ...], a: str, b: str, value: float) -> dict:
    return {"parameter": parameter_name(layer, fieldname, index), "element": None, "nets": [a, b],
            "target": value, "realised": 0.0, "error": -value, "ohms": None, "length_um": None}


def _terms(network: MondeqNetwork) -> list[tuple]:
    """(layer, field, index, net a, net b, signed value) of every coupling, input, bias and
    readout resistor (the ground resistors follow from what is drawn)."""
    stage, readout = network.layers
    n = stage.size
    terms = []
    for i in range(n):
        for j in range(i + 1, n):
            if stage.weight[i, j] > 0:
                terms.append((0, "weight", (i, j), f"z{i}", f"z{j}", stage.weight[i, j]))
        for k, u in enumerate(stage.input_weight[i]):
            if u != 0:
                terms.append((0, "input_weight", (i, k), f"in{k}" if u > 0 else f"in{k}_n", f"z{i}", u))
        if stage.bias[i] != 0:
            terms.append((0, "bias", (i,), "vp" if stage.bias[i] > 0 else "vn", f"z{i}", stage.bias[i]))
    for j in range(readout.size):
        for k, w in enumerate(readout.weight[j]):
            if w != 0:
                terms.append((1, "weight", (j, k), f"z{k}", f"out{j}{'p' if w > 0 else 'n'}", w))
        if readout.bias[j] != 0:
            terms.append((1, "bias", (j,), "vp", f"out{j}{'p' if readout.bias[j] > 0 else 'n'}",
                          readout.bias[j]))
    return terms
