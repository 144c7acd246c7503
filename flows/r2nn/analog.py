"""The exact electrical analog of an R²NN lattice: an ideal R, L, C netlist (issue 20, 4a).

Analogy (mobility, "force ↔ current"): force ↔ current, velocity ↔ voltage (node to
ground), a mass ↔ a capacitor to ground, a spring ↔ an inductor, a damper ↔ a conductance,
the wall and every clamped node ↔ ground; displacement ↔ the time integral of the node
voltage. With an admittance scale r (siemens: current r·F for velocity v → voltage v):

    C = r·m,    L = 1/(r·k),    G = r·c,    input current r·gain·u(t)

Kirchhoff's current law at node i is then r·(m ẍ + Σ c (ẋᵢ − ẋⱼ) + Σ k (xᵢ − xⱼ)) = r·F:
exactly the lattice's equation, for any r (r only sets the impedance level; time is not
scaled). The waveform is a PWL current source through (n·dt, r·gain·u_n); the transient
starts at rest (`uic`: capacitor voltages and inductor currents 0, i.e. x(0) = ẋ(0) = 0).
Each output's displacement is read from an ideal integrator beside the lattice (a unit
VCCS into 1 F), which loads nothing.

The circuit is the continuous lattice; the model is its central-difference discretisation,
which warps every mode by ≈ (ω dt)²/24 — so the circuit follows `model.continuous` to the
simulator's accuracy and `model.simulate` to within that warping (`compare`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.r2nn import model
from flows.r2nn.network import R2nnNetwork

#: Transient time points per sample (the simulator's largest step is dt / this).
OVERSAMPLE = 32


@dataclass(frozen=True)
class Element:
    """One circuit element: `name`, SPICE `kind` (C, L, R), nets `a`, `b`, `value` (F, H,
    Ω) and the network parameter it realises (`masses[3]`, `springs[7]`, …)."""

    name: str
    kind: str
    a: str
    b: str
    value: float
    parameter: str


def net_of(network: R2nnNetwork, node: int) -> str:
    """The net of a node: ground for the wall and clamped nodes."""
    return "0" if node < 0 or node in network.clamped else f"n{node}"


def elements(network: R2nnNetwork, scale: float = 1.0) -> list[Element]:
    """Every element of the lattice; links of value 0 and links with both ends grounded
    are left out (no current flows in them)."""
    result = [Element(f"Cm{i}", "C", net_of(network, i), "0", scale * network.masses[i], f"masses[{i}]")
              for i in network.free]
    for key, kind, prefix in (("springs", "L", "Lk"), ("dampers", "R", "Rc")):
        for j, (a, b, v) in enumerate(getattr(network, key)):
            na, nb = net_of(network, int(a)), net_of(network, int(b))
            if v > 0 and not na == nb == "0":
                result.append(Element(f"{prefix}{j}", kind, na, nb, 1.0 / (scale * v), f"{key}[{j}]"))
    return result


def subckt_name(network: R2nnNetwork) -> str:
    return f"{network.name}_lattice"


def lattice_subckt(network: R2nnNetwork, scale: float = 1.0) -> str:
    """`.subckt NAME_lattice n<in> n<out0> …`: the lattice; ground is global node 0."""
    ports = [net_of(network, network.input_node)] + [net_of(network, o) for o in network.outputs]
    ports = list(dict.fromkeys(ports))
    lines = [f"* {network.name}: ideal R, L, C analog (force -> current, velocity -> voltage, "
             f"admittance scale {scale:.9g} S)", f".subckt {subckt_name(network)} {' '.join(ports)}"]
    lines += [f"{e.name} {e.a} {e.b} {e.value:.12g}" for e in elements(network, scale)]
    lines.append(f".ends {subckt_name(network)}")
    return "\n".join(lines)


def _instance(network: R2nnNetwork) -> str:
    ports = [net_of(network, network.input_node)] + [net_of(network, o) for o in network.outputs]
    return f"Xlattice {' '.join(dict.fromkeys(ports))} {subckt_name(network)}"


def pwl(times: np.ndarray, values: np.ndarray) -> str:
    """A SPICE `PWL(t v …)` through the points, six to a continuation line."""
    pairs = [f"{t:.12g} {v:.12g}" for t, v in zip(times, values)]
    rows = [" ".join(pairs[i:i + 6]) for i in range(0, len(pairs), 6)]
    return "PWL(\n+ " + "\n+ ".join(rows) + " )"


def transient_deck(network: R2nnNetwork, waveform: np.ndarray, scale: float = 1.0,
                   oversample: int = OVERSAMPLE) -> str:
    """The lattice driven by the waveform (PWL current), with a displacement integrator per
    output node; `.tran` over the waveform plus one sample, from rest."""
    u = np.asarray(waveform, dtype=np.float64).ravel()
    dt = network.dt
    n_in = net_of(network, network.input_node)
    lines = [f"* {network.name}: transient of the ideal analog", lattice_subckt(network, scale),
             _instance(network),
             f"Iin 0 {n_in} " + pwl(np.arange(len(u)) * dt, scale * network.input_gain * u)]
    for j, o in enumerate(network.outputs):
        lines += [f"Gx{j} 0 x{j} {net_of(network, o)} 0 1", f"Cx{j} x{j} 0 1"]
    lines += [".options reltol=1e-7 abstol=1e-18 vntol=1e-15 chgtol=1e-20",
              f".tran {dt / oversample:.12g} {(len(u) + 1) * dt:.12g} 0 {dt / oversample:.12g} uic",
              ".end"]
    return "\n".join(lines) + "\n"


def ac_deck(network: R2nnNetwork, start: float, stop: float, per_decade: int = 4000,
            scale: float = 1.0) -> str:
    """A 1 A AC current into the input node; every free node's voltage (velocity)."""
    n_in = net_of(network, network.input_node)
    lines = [f"* {network.name}: .ac of the ideal analog", lattice_subckt(network, scale),
             _instance(network), f"Iin 0 {n_in} DC 0 AC 1",
             ".options noopac",  # linear: no operating point (inductor loops have none)
             f".ac dec {per_decade} {start:.9g} {stop:.9g}", ".end"]
    return "\n".join(lines) + "\n"


def run_transient(network: R2nnNetwork, waveform: np.ndarray, scale: float = 1.0,
                  oversample: int = OVERSAMPLE) -> np.ndarray:
    """(samples, outputs) displacements of the analog at t = (n + 1)·dt: the model's rows."""
    from pdk.ngspice import simulate

    u = np.asarray(waveform, dtype=np.float64).ravel()
    (plot,) = simulate(transient_deck(network, u, scale, oversample), f"{network.name}_tran", threads=1)
    time = plot["time"]
    sample_times = (np.arange(len(u)) + 1) * network.dt
    return np.column_stack([np.interp(sample_times, time, plot[f"v(x{j})"])
                            for j in range(len(network.outputs))])


def run_ac(network: R2nnNetwork, start: float, stop: float, per_decade: int = 4000,
           scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies Hz, (frequencies, free) complex node voltages per unit input sample:
    comparable with `model.mobility`)."""
    from pdk.ngspice import simulate

    (plot,) = simulate(ac_deck(network, start, stop, per_decade, scale), f"{network.name}_ac", threads=1)
    freq = np.real(plot["frequency"])
    ports = {network.input_node, *network.outputs}
    volts = np.column_stack([plot[f"v(n{i})" if i in ports else f"v(xlattice.n{i})"] for i in network.free])
    return freq, volts * scale * network.input_gain


def peaks(freq: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Local maxima of |H| on a log grid, refined by a parabola through log|H| at the three
    grid points around each (sub-grid resolution)."""
    lf, lm = np.log(freq), np.log(np.abs(magnitude))
    idx = np.flatnonzero((lm[1:-1] > lm[:-2]) & (lm[1:-1] > lm[2:])) + 1
    result = []
    for i in idx:
        y0, y1, y2 = lm[i - 1], lm[i], lm[i + 1]
        shift = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
        result.append(np.exp(lf[i] + shift * (lf[i + 1] - lf[i])))
    return np.array(result)


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation per column of two (samples, outputs) traces."""
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    return (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))


def compare(network: R2nnNetwork, waveform: np.ndarray, scale: float = 1.0) -> dict:
    """Transient of the analog against the continuous lattice and the model: correlation
    per output, the largest error as a fraction of each output's peak, and both decisions
    (argmax of the output energies)."""
    circuit = run_transient(network, waveform, scale)
    software = model.simulate(network, waveform)[0]
    result = {"decision": {"circuit": model.decision(circuit)["decision"],
                           "model": model.decision(software)["decision"]}}
    for label, reference in (("continuous", model.continuous(network, waveform)[0]),
                             ("model", software)):
        peak = np.abs(reference).max(axis=0)
        result[label] = {"correlation": correlation(circuit, reference).tolist(),
                         "error_of_peak": (np.abs(circuit - reference).max(axis=0) / peak).tolist()}
    return result
