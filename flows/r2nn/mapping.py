"""R²NN lattice → Gm-C circuit values (issue 20, 4b).

Why state space and not a gyrator per spring: a gyrator-C inductor has no DC restoring
force, so every loop of springs through the wall (any lattice with two anchors) carries a
circulating DC current that grows to offset × gm/g_out and saturates the OTAs. Here every
free node a has two capacitors — velocity V_a (the mass) and displacement X_a — and the
lattice equation is realised row by row:

    C_a dV_a/dt = r_a β_a (F_a − Σ_b K_ab x_b − Σ_b C_ab v_b)    (currents into V_a)
    C_xa dX_a/dt = gm_xa V_a                                      (integrator)

with V_a = β_a v_a, X_a = α x_a (one α, so a spring can read x_b − x_a) and C_a = r_a m_a.
At DC, K x = offsets has one solution (K is positive definite once anchored), so offsets
stay offsets. Each term is one transconductor from node voltages (against `vref`, the
lattice's 0) into V_a: per spring and end one reading x_b − x_a (rounding then scales a
spring and never unbalances a row), the wall's springs of a node summed into one reading
x_a, damping from V_a, damper couplings from V_b, the input from the `in` pin.

Scales: α and β_a from the worst full-scale sinusoid (every node swings ≤ `swing`); r_a
puts a row's largest term at PLAN_FRACTION of the largest tail, within `node_capacitor_range`.
Every gm is then quantized in tiny/fine/coarse tail units, each weighted by what the
transconductor's characterization measured in the lattice's bias, and the velocity
capacitors are fitted to what the quantized gms realise (`_fit_capacitors`). The
characterized non-idealities are made up where they act: the OTAs' delay as damping, the
inn input's shortfall on the node's wall term, their output conductance subtracted from
the damping, their pins' capacitance (and the drawn wiring, `BuildOptions.wiring`) from the drawn
capacitors.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cells.transconductor import LATTICE_COARSE, LATTICE_TINY, UNIT_CURRENT
from flows.r2nn import model
from flows.r2nn.network import R2nnNetwork


@dataclass(frozen=True)
class BuildOptions:
    """unit_current: one fine tail unit (A); coarse: fine units per coarse unit; tiny: tiny
    units per fine unit (the resolution of every gm: a damping gm C·γ of a few pF is a
    fraction of a fine unit, and a spring must be exact to ≈ 0.5 %); swing: largest
    velocity or displacement excursion (V) at full-scale input; input_peak: full-scale
    input sample (model units); wiring: (net, F) the drawn macro's wiring adds to lattice
    nodes (`flows.r2nn.circuit.fit_to_layout`), which their MiM plates leave out.

    Why: the wiring was up to 14 % of a small velocity capacitor (r2nn_machine, v1: 276 fF
    on 1.99 pF) and put the drawn lattice's resonances up to 6 % low."""

    unit_current: float = UNIT_CURRENT
    coarse: int = LATTICE_COARSE
    tiny: int = LATTICE_TINY
    swing: float = 0.01
    input_peak: float = 1.0
    wiring: tuple[tuple[str, float], ...] = ()


#: Node capacitors (F): at least a MiM plate that matches to ≈ 0.1 %, at most the area a
#: slow node may take. A slow node's gms are C·ω-sized, so its capacitor sets how many tail
#: units they get: at 10 pF the 26 Hz output resonator of the hardware-trained machine
#: lattice had a 16 pA spring (±10 % in tiny units) and the mapped scores moved by up to
#: 0.031 (2 of 180 test decisions flipped); at 20 pF 0.008 and none, for 1.75× the
#: capacitor area (random lattices: every mode within 0.13 % against 0.45 %). That is the
#: range of a lattice whose lowest mode is at or above SLOW_MODE_HZ; below it the largest
#: capacitor grows as 1/f up to NODE_CAP_MAX (`node_capacitor_range`): the tactile lattice
#: (lowest mode 8.4 Hz) at 20 pF had 21 of 43 tails under 30 pA, 8 of them one tiny unit
#: with signal currents under 1 pA, and decided as its network on 9 of 12 test waveforms
#: (correlation down to 0.77); at 100 pF the two worst of them correlate ≥ 0.9998.
NODE_CAP_RANGE = (0.5e-12, 20e-12)
SLOW_MODE_HZ = 50.0
NODE_CAP_MAX = 200e-12
#: A row's largest spring takes this fraction of the largest tail (rounding ≤ ±0.5 %),
#: leaving room for the curve's fall of gm/I towards it.
PLAN_FRACTION = 0.85
#: A spring should be at least 1/ROW_SPREAD of the largest spring on the main masses it
#: joins: a row's largest takes PLAN_FRACTION of the largest tail (10.9 nA) unless its
#: capacitor is at a bound, so the spring keeps ≥ 109 pA, quantized to ±1.5 %. On the machine lattice trained without
#: this bound a coupling of 1e-4 of its row fell below half a tiny unit and was left
#: out, which cut an output off the input (`bmru train r2nn` keeps it by default).
ROW_SPREAD = 100.0
#: A node's planned capacitor is at most this fraction of the largest, so that the fit to
#: the quantized gms can move it either way (a plan at the bound could only shrink, and
#: left the lowest mode of random lattices 0.15-0.6 % off).
CAP_PLAN_FRACTION = 0.97
#: Smallest factor `_row_scale` may put on a row's planned capacitor.
ROW_SCALE_MIN = 0.85
#: Tail units of the input transconductor (the pin scale makes its gain exact), and the
#: fewest of an integrator (its capacitor makes it exact).
INPUT_UNITS = 32
INTEGRATOR_UNITS = 16


@dataclass(frozen=True)
class Ota:
    """One transconductor: `role`, the nets (`inp`, `inn`, `out`), target and realised gm
    (S), tail units and the network parameter(s) it stands for."""

    name: str
    role: str
    inp: str
    inn: str
    out: str
    target: float
    gm: float
    tiny: int
    fine: int
    coarse: int
    tail: float
    parameter: str


@dataclass(frozen=True)
class Cap:
    name: str
    node: str
    value: float
    parameter: str


@dataclass(frozen=True)
class Mapping:
    network: R2nnNetwork
    options: BuildOptions
    beta: np.ndarray                 # V per unit velocity, per free node
    alpha: np.ndarray                # V per unit displacement, per free node
    otas: tuple[Ota, ...]
    caps: tuple[Cap, ...]
    stiffness: np.ndarray            # realised K (model units, free nodes; not symmetric)
    damping: np.ndarray              # realised C, OTA output conductances included
    input_scale: float               # pin volts (from vref) per input unit: the input gain is exact
    notes: tuple[str, ...] = field(default=())

    @property
    def supply_current(self) -> float:
        return sum(o.tail for o in self.otas)


def x_net(network: R2nnNetwork, node: int) -> str:
    """Displacement net of a free node: output nodes are the macro's `out<j>` pins."""
    return f"out{network.outputs.index(node)}" if node in network.outputs else f"x{node}"


def tail_for(gm: float) -> float:
    """The tail current whose characterized gm is `gm` (clipped to the usable range)."""
    from cells.transconductor import transconductance, usable_range

    lo, hi = np.log(usable_range())
    for _ in range(60):  # bisection in log current: gm(I) is monotonic
        mid = 0.5 * (lo + hi)
        if transconductance(float(np.exp(mid))) < gm:
            lo = mid
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


def quantize(gm: float, options: BuildOptions) -> tuple[int, int, int, float, float]:
    """(tiny, fine, coarse, tail A, realised gm S) nearest `gm`: coarse units first, then
    fine, the rest in tiny units, each weighted by its line's measured ratio; all 0 when
    even one tiny unit is more than twice too large (the term is left out)."""
    from cells.transconductor import Transconductor, line_ratio, tail_current, transconductance

    u = options.unit_current
    ratios = {line: line_ratio(line) for line in ("coarse", "tiny")}
    unit = {"coarse": ratios["coarse"] * options.coarse * u, "tiny": ratios["tiny"] * u / options.tiny}
    if gm < 0.5 * transconductance(unit["tiny"]):
        return 0, 0, 0, 0.0, 0.0
    wanted = tail_for(gm)
    if wanted > _max_units(options) * u:
        raise ValueError(f"gm {gm:.3g} S needs a tail of {wanted:.3g} A, more than the "
                         f"{_max_units(options) * u:.3g} A the transconductor's usable tail allows")
    coarse = int(wanted // unit["coarse"])
    fine = int((wanted - coarse * unit["coarse"]) // u)
    tiny = int(round((wanted - coarse * unit["coarse"] - fine * u) / unit["tiny"]))
    tail = tail_current(Transconductor(fine=fine, coarse=coarse, tiny=tiny), ratios, u)
    return tiny, fine, coarse, tail, transconductance(tail)


def _peaks(network: R2nnNetwork, options: BuildOptions) -> tuple[np.ndarray, np.ndarray]:
    """Largest |v| and |x| of every free node for a sinusoid of amplitude `input_peak` at
    any frequency from 1 Hz to Nyquist (model units)."""
    modes, _ = model.modes(network)
    nyquist = network.sample_rate / 2
    extra = [m.frequency * s for m in modes for s in np.linspace(0.97, 1.03, 61) if m.frequency < nyquist]
    freqs = np.sort(np.concatenate([np.geomspace(1.0, nyquist, 2000), extra]))
    v = np.abs(model.mobility(network, freqs)) * options.input_peak
    return v.max(axis=0), (v / (2 * np.pi * freqs[:, None])).max(axis=0)


def _row_scale(targets: list[float], options: BuildOptions, least: float) -> float:
    """The factor (ROW_SCALE_MIN … 1, and ≥ `least` ≤ 1) on a row's capacitor, so on all its
    gms, that lands the row's terms nearest whole tail units (error weighted by each term's
    share of the row). A slow row's gms are a few tiny units: rounding alone moved them by
    up to ±10 %, and a capacitor at its largest could not follow them up."""
    total = sum(targets)
    best, best_error = 1.0, np.inf
    for s in np.linspace(max(ROW_SCALE_MIN, least), 1.0, 21):
        error = sum(t / total * abs(quantize(s * t, options)[4] / (s * t) - 1) for t in targets)
        if error < best_error - 1e-12:
            best, best_error = float(s), error
    return best


def _max_units(options: BuildOptions) -> int:
    """Most tail units of one transconductor: its usable tail current (characterized)."""
    from cells.transconductor import usable_range

    return int(usable_range()[1] / options.unit_current)


def node_capacitor_range(network: R2nnNetwork) -> tuple[float, float]:
    """(smallest, largest) node capacitor (F) for this lattice: NODE_CAP_RANGE, the top
    scaled by SLOW_MODE_HZ over the lowest mode when that is slower (at most NODE_CAP_MAX)."""
    lowest = min((m.frequency for m in model.modes(network)[0]), default=SLOW_MODE_HZ)
    return NODE_CAP_RANGE[0], float(np.clip(NODE_CAP_RANGE[1] * SLOW_MODE_HZ / lowest,
                                            NODE_CAP_RANGE[1], NODE_CAP_MAX))


def map_network(network: R2nnNetwork, options: BuildOptions = BuildOptions()) -> Mapping:
    """Scales, then every transconductor quantized, then the velocity capacitors fitted to
    what the quantized gms realise (`_fit_capacitors`)."""
    from cells.transconductor import delay, inn_ratio, line_ratio, output_conductance, transconductance

    m, c, k = network.matrices()
    free = network.free
    n = len(free)
    index = {node: i for i, node in enumerate(free)}
    mass = np.diag(m)
    v_peak, x_peak = _peaks(network, options)
    cap_lo, cap_hi = node_capacitor_range(network)
    alpha = options.swing / float(x_peak.max())
    # a node that barely moves swings less than `swing`: its integrator (gm = α C_x/β) must
    # keep INTEGRATOR_UNITS units on the largest capacitor
    beta = np.minimum(options.swing / v_peak,
                      alpha * cap_hi / transconductance(INTEGRATOR_UNITS * options.unit_current))
    # springs per row: the wall's (to the wall or a clamped node) summed, each other its own
    wall = np.zeros(n)
    links: list[tuple[int, int, float, str]] = []
    wall_names = {i: [] for i in range(n)}
    for j, (a, b, value) in enumerate(network.springs):
        ends = [index.get(int(e)) for e in (a, b)]
        if value <= 0:
            continue
        if ends[0] is not None and ends[1] is not None:
            links.append((ends[0], ends[1], float(value), f"springs[{j}]"))
        else:
            i = ends[0] if ends[0] is not None else ends[1]
            if i is not None:
                wall[i] += value
                wall_names[i].append(f"springs[{j}]")
    # r_a: the row's largest term at PLAN_UNITS of the largest tail, within the capacitor range
    limit = transconductance(PLAN_FRACTION * _max_units(options) * options.unit_current)
    largest = np.maximum(wall, 0.0)
    for a, b, value, _ in links:
        largest[a] = max(largest[a], value)
        largest[b] = max(largest[b], value)
    r = np.clip(limit * alpha / (beta * np.maximum(largest, 1e-30)), cap_lo / mass,
                CAP_PLAN_FRACTION * cap_hi / mass)
    # a stiff node whose smallest capacitor still needs more than the largest tail swings less
    beta = np.minimum(beta, limit * alpha / (r * np.maximum(largest, 1e-30)))
    terms = [[wall[i], c[i, i] * alpha / beta[i]] for i in range(n)]
    for a, b, value, _ in links:
        terms[a].append(value)
        terms[b].append(value)
    r *= [_row_scale([r[i] * beta[i] * t / alpha for t in terms[i] if t > 0], options,
                     cap_lo / (r[i] * mass[i])) for i in range(n)]
    otas: list[Ota] = []
    notes = []
    loads = np.zeros(n)

    def add(role: str, inp: str, inn: str, row: int, target: float, parameter: str) -> tuple[float, float]:
        """Quantize one term into `row`'s node; (realised gm, tail)."""
        tiny, fine, coarse, tail, gm = quantize(target, options)
        out = f"v{free[row]}" if role != "integrator" else x_net(network, free[row])
        if gm > 0:
            otas.append(Ota(f"G{len(otas)}", role, inp, inn, out, target, gm, tiny, fine, coarse, tail, parameter))
            if role != "integrator":
                loads[row] += output_conductance(tail)
        elif role == "spring" and "springs[" in parameter:
            notes.append(f"{parameter}: {target:.3g} S is under half a tiny unit of tail and is left out")
        return gm, tail

    # A spring into node a reads x_b on inp and its own x_a on inn, whose gm is short by
    # inn_ratio (≈ 0.6 %): each row would lack that much of every coupling spring on its
    # diagonal, which soft modes magnify. The node's wall term (an OTA reading only x_a)
    # makes it up.
    springs = []  # (row, column or −1 for the wall, realised gm of the x_b read, of the x_a read, delay)
    short = np.zeros(n)
    for a, b, value, name in links:
        for row, other in ((a, b), (b, a)):
            gm, tail = add("spring", x_net(network, free[other]), x_net(network, free[row]), row,
                           r[row] * beta[row] * value / alpha, f"{name} (into node {free[row]})")
            if gm:
                springs.append((row, other, gm, gm * inn_ratio(tail), delay(tail)))
                short[row] += gm * (1 - inn_ratio(tail))
    for i, node in enumerate(free):
        wanted = r[i] * beta[i] * wall[i] / alpha + short[i]
        if wanted > 0:
            gm = wanted
            for _ in range(3):
                gm = wanted / inn_ratio(tail_for(gm))
            what = " + ".join(wall_names[i]) + f" (node {node} to the wall)" if wall[i] else f"node {node}"
            gm, tail = add("spring", "vref", x_net(network, node), i, gm, what + ", inn compensation")
            if gm > 0:  # a shortfall below half a tiny unit is left out
                springs.append((i, -1, 0.0, gm * inn_ratio(tail), delay(tail)))
    g_int, lag = np.zeros(n), np.zeros(n)
    cap_x_plan = float(np.sqrt(cap_lo * cap_hi))
    least = transconductance(INTEGRATOR_UNITS * options.unit_current)
    for i, node in enumerate(free):
        planned = float(np.clip(alpha * cap_x_plan / beta[i], least, alpha * cap_hi / beta[i]))
        g_int[i], tail = add("integrator", f"v{node}", "vref", i, planned, f"x of node {node}")
        lag[i] = delay(tail)
    # A spring term reads X through its own and the integrator's delay: −w x(t − τ) ≈
    # −w x + w τ v, a negative damping. The damping terms add it back (gm, siemens):
    # diagonal Σ gm_s α τ_a/β_a, and from v_b, gm_s α τ_b/β_b.
    extra_diag, extra = np.zeros(n), np.zeros((n, n))
    for row, other, gm, own_gm, tau in springs:
        extra_diag[row] += own_gm * alpha * (tau + lag[row]) / beta[row]
        if other >= 0:
            extra[row, other] += gm * alpha * (tau + lag[other]) / beta[other]
    dampers = []  # (row, column, realised gm) of damper couplings
    for i, a in enumerate(free):
        for j, b in enumerate(free):
            target = -r[i] * beta[i] * c[i, j] / beta[j] + extra[i, j] if i != j else 0.0
            if target > 0:
                gm, _ = add("damper", f"v{b}", "vref", i, target,
                            f"C[{a},{b}] (damper, delay compensation)" if c[i, j] else f"delay compensation from node {b}")
                dampers.append((i, j, gm))
    i_in = index[network.input_node]
    # I = gm_in (v(in) − vref) must be r β gain u: the pin's scale (V per input unit) is
    # continuous, so the gm takes a planned unit count and the scale makes the gain exact
    g_in, _ = add("input", *(("in", "vref") if network.input_gain > 0 else ("vref", "in")), i_in,
                  transconductance(INPUT_UNITS * options.unit_current), "input.gain")
    unit_gm = transconductance(line_ratio("tiny") * options.unit_current / options.tiny)
    own = np.zeros(n)
    for i, node in enumerate(free):
        wanted = r[i] * c[i, i] + extra_diag[i] - loads[i]
        if wanted > 0.5 * unit_gm:
            gm = wanted
            for _ in range(3):  # read on inn, and the damping OTA loads the node too
                gm = (wanted - output_conductance(tail_for(gm))) / inn_ratio(tail_for(gm))
            own[i], tail = add("damping", "vref", f"v{node}", i, gm, f"C[{node},{node}] (dampers, delay compensation)")
            own[i] *= inn_ratio(tail) if own[i] else 1.0
        elif loads[i] > 1.05 * (r[i] * c[i, i] + extra_diag[i]):
            notes.append(f"node {node}: the transconductors' output conductance ({loads[i]:.3g} S) damps more "
                         f"than the model's C[{node},{node}] ({r[i] * c[i, i]:.3g} S)")

    def realised(caps_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(M⁻¹K, M⁻¹C) the circuit realises with velocity capacitors `caps_v`."""
        rows = 1.0 / (caps_v * beta)
        stiff, damp = np.zeros((n, n)), np.zeros((n, n))
        for row, other, gm, own_gm, tau in springs:
            stiff[row, row] += rows[row] * own_gm * alpha
            damp[row, row] -= rows[row] * own_gm * alpha * (tau + lag[row])
            if other >= 0:
                stiff[row, other] -= rows[row] * gm * alpha
                damp[row, other] += rows[row] * gm * alpha * (tau + lag[other])
        for row, other, gm in dampers:
            damp[row, other] -= rows[row] * gm * beta[other]
        damp[np.diag_indices(n)] += (own + loads) / caps_v
        return stiff, damp

    caps_v = _fit_capacitors(k / mass[:, None], c / mass[:, None], realised, r * mass, (cap_lo, cap_hi))
    stiff, damp = realised(caps_v)
    caps_x = g_int * beta / alpha
    # the integrator's output conductance leaks X: x′ = v − λx acts as a damper m·λ
    leak = np.array([output_conductance(o.tail) for o in otas if o.role == "integrator"]) / caps_x
    damp[np.diag_indices(n)] += leak
    scale = abs(network.input_gain) * caps_v[i_in] * beta[i_in] / (mass[i_in] * g_in)
    pins, wiring = _pin_loads(otas), dict(options.wiring)
    caps = []
    for i, node in enumerate(free):
        for name, net, value, what in ((f"CV{node}", f"v{node}", caps_v[i], f"masses[{node}]"),
                                       (f"CX{node}", x_net(network, node), caps_x[i], f"x of node {node}")):
            drawn = value - pins.get(net, 0.0) - wiring.get(net, 0.0)
            if drawn < 0.5 * value:
                raise ValueError(f"node {node}: the transconductors' pins ({pins.get(net, 0.0):.3g} F) and the "
                                 f"wiring ({wiring.get(net, 0.0):.3g} F) load {net} with more than half of the "
                                 f"{value:.3g} F it needs")
            caps.append(Cap(name, net, float(drawn), what))
    return Mapping(network, options, beta, np.full(n, alpha), tuple(otas), tuple(caps), m @ stiff, m @ damp,
                   float(scale), tuple(notes))


def _pin_loads(otas: list[Ota]) -> dict[str, float]:
    """Capacitance (F) the transconductors' gates and outputs add to every net they touch
    (characterized per pin): the drawn capacitor is the rest."""
    from cells.transconductor import pin_capacitance

    loads: dict[str, float] = {}
    for o in otas:
        for pin in ("inp", "inn", "out"):
            net = getattr(o, pin)
            if net not in ("vref", "in"):
                loads[net] = loads.get(net, 0.0) + pin_capacitance(pin, o.tail)
    return loads


def _fit_capacitors(target_k: np.ndarray, target_c: np.ndarray, realised, start: np.ndarray,
                    bounds: tuple[float, float]) -> np.ndarray:
    """Velocity capacitors for the quantized gms. Each C_a scales row a of the realised
    M⁻¹K and M⁻¹C: n continuous knobs (a capacitor is drawn to ≈ 0.1 %, a gm only to one
    tail unit), fitted by least squares in logarithms to the modes' frequencies and to
    every stiffness entry."""
    from scipy.optimize import least_squares

    nz = np.nonzero(target_k)
    modes_target = _frequencies(target_k, target_c)

    def residuals(x: np.ndarray) -> np.ndarray:
        rk, rc = realised(np.exp(x))
        ok = rk[nz] != 0
        parts = [np.log(np.abs(rk[nz][ok] / target_k[nz][ok]))]
        freqs = _frequencies(rk, rc)
        if len(freqs) == len(modes_target):
            parts.append(3.0 * np.log(freqs / modes_target))
        return np.concatenate(parts)

    lo, hi = np.log(bounds)
    fit = least_squares(residuals, np.clip(np.log(start), lo, hi), bounds=(lo, hi))
    return np.exp(fit.x)


def _frequencies(stiffness: np.ndarray, damping: np.ndarray) -> np.ndarray:
    """|s|/2π of the underdamped modes of x″ = −S x − D x′ (S = M⁻¹K, D = M⁻¹C), sorted."""
    n = len(stiffness)
    a = np.block([[np.zeros((n, n)), np.eye(n)], [-stiffness, -damping]])
    s = np.linalg.eigvals(a)
    return np.sort(np.abs(s[s.imag > 1e-9 * np.abs(s).max(initial=1.0)])) / (2 * np.pi)


def mapped_state_space(mapping: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of the realised lattice, like `model.state_space` of the network."""
    network = mapping.network
    m, _, _ = network.matrices()
    n = len(m)
    minv = np.diag(1.0 / np.diag(m))
    a = np.block([[np.zeros((n, n)), np.eye(n)], [-minv @ mapping.stiffness, -minv @ mapping.damping]])
    b = np.zeros(2 * n)
    i = network.free.index(network.input_node)
    b[n + i] = network.input_gain / m[i, i]
    return a, b


def mapped_frequencies(mapping: Mapping) -> np.ndarray:
    """|s|/2π of the realised lattice's underdamped modes, sorted."""
    mass = np.diag(mapping.network.matrices()[0])
    return _frequencies(mapping.stiffness / mass[:, None], mapping.damping / mass[:, None])


def summary(mapping: Mapping) -> dict:
    """The manifest's mapping: every transconductor (role, nets, parameter, target and
    realised gm, tail and its units), every capacitor, the pins' scales and the mapped
    model's modes against the network's."""
    from flows.r2nn.model import modes

    network = mapping.network
    wiring = dict(mapping.options.wiring)
    mapped = mapped_frequencies(mapping)
    target = [m.frequency for m in modes(network)[0]]
    pairs = [{"model_hz": t, "mapped_hz": float(mapped[np.argmin(np.abs(mapped - t))]),
              "error": float(mapped[np.argmin(np.abs(mapped - t))] / t - 1)} for t in target] if len(mapped) else []
    terms = [{"name": o.name, "role": o.role, "parameter": o.parameter, "inp": o.inp, "inn": o.inn, "out": o.out,
              "target_S": o.target, "gm_S": o.gm, "error": o.gm / o.target - 1, "tail_A": o.tail,
              "units": {"tiny": o.tiny, "fine": o.fine, "coarse": o.coarse}} for o in mapping.otas]
    return {"transconductors": terms,
            "capacitors": [{"name": c.name, "node": c.node, "F": c.value, "parameter": c.parameter,
                            "wiring_F": wiring.get(c.node, 0.0)} for c in mapping.caps],
            "capacitance_F": float(sum(c.value for c in mapping.caps)),
            "node_capacitor_range_F": list(node_capacitor_range(network)),
            "term_error_max": float(max((abs(t["error"]) for t in terms if t["role"] in ("damper", "damping")),
                                        default=0.0)),
            "supply_current_A": float(mapping.supply_current),
            "scales": {"input_V_per_unit": mapping.input_scale, "output_V_per_unit": float(mapping.alpha[0]),
                       "velocity_V_per_unit": [float(b) for b in mapping.beta],
                       "unit_current_A": mapping.options.unit_current, "tiny_per_fine": mapping.options.tiny,
                       "fine_per_coarse": mapping.options.coarse},
            "modes": pairs, "notes": list(mapping.notes)}
