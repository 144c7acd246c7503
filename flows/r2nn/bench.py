"""ngspice runs of a compiled R²NN circuit: the transient driven by a waveform, and the
`.ac` of the lattice.

Transient: the `in` pin follows vref + input_scale·u as a PWL through (n·dt, u_n); the
circuit starts from its operating point with the input at rest (vref at t = 0, u_0 a
hundredth of a sample later: an operating point with u_0 applied is the lattice's static
deflection, not the model's x₀ = 0), and each output's
displacement in model units is (v(out<j>) − its rest value)/α at t = (n + 1)·dt, the
rows `model.simulate` writes. AC: 1 V on `in` (one input unit is input_scale volts), every
node's velocity voltage read inside the macro and divided by β·(1/input_scale): the
circuit's `model.mobility`.
"""
from __future__ import annotations

import numpy as np

from flows.r2nn.analog import pwl
from flows.r2nn.circuit import DIODE_UNITS, Circuit
from pdk.flat import flatten, seed_of
from pdk.models import Conditions
from pdk.ngspice import simulate

#: Largest transient step per sample: the fastest resonance a lattice may have is below
#: the sample rate's Nyquist, so a quarter sample resolves it (measured: dt/8 moves the
#: outputs by < 1e-3 of their peak).
STEPS_PER_SAMPLE = 4
VREF = 0.9
OPTIONS = ".option reltol=1e-4 abstol=1e-15 vntol=1e-7"


def _deck(circuit: Circuit, conditions: Conditions, title: str, vin: str, analysis: str,
          macro: str | None = None, wiring: str = "", flat: bool = False, iref_scale: float = 1.0) -> str:
    """The macro (inline, or `.include`d from `macro`) with its supplies, vref, iref (one
    fine unit × the tree's diode units × `iref_scale`, sunk from vdd), the `in` source
    `vin`, every lattice node starting at vref and `analysis`; `wiring`: top-level lines
    added to the macro (post-layout capacitors, flows.postlayout). `flat` (inline macro
    only): one model card per device geometry (pdk/flat.py), with the mismatch of
    `conditions` drawn per unit device from its seed (threshold shifts; the MiM plates stay
    nominal)."""
    iref = DIODE_UNITS * circuit.mapping.options.unit_current * iref_scale
    lines = [f"* {circuit.network.name}: {title}", conditions.lines(fet_subckts=not flat, passives=True),
             f'.include "{macro}"' if macro else circuit.netlist(), wiring,
             "Vdd vdd 0 {supply}", f"Vref vref 0 {VREF:g}", f"Iref vdd iref {iref:.9g}", f"Vin in 0 {vin}",
             _instance(circuit), _nodeset(circuit), OPTIONS, analysis, ".end"]
    deck = "\n".join(lines) + "\n"
    if not flat:
        return deck
    if macro:
        raise ValueError("a flat deck inlines the macro")
    return flatten(deck, seed_of(conditions), conditions.temp)[0]


def _nodeset(circuit: Circuit) -> str:
    """Every lattice node starts the operating-point search at vref, where the lattice
    rests: from ngspice's default start (all nodes 0) the high-gain loops of a lattice
    latch with every node near ground (seen on the trained machine lattice, 1 µA drawn)."""
    name = circuit.network.name
    nets = [f"v(out{j})" for j in range(circuit.network.output_size)]
    for node in circuit.network.free:
        nets.append(f"v(x{name}.v{node})")
        if node not in circuit.network.outputs:
            nets.append(f"v(x{name}.x{node})")
    return ".nodeset " + " ".join(f"{n}={VREF:g}" for n in nets)


def _instance(circuit: Circuit) -> str:
    nets = {"vss": "0"}
    return f"X{circuit.network.name} " + " ".join(nets.get(p, p) for p in circuit.ports) + f" {circuit.network.name}"


def transient_deck(circuit: Circuit, waveform: np.ndarray, conditions: Conditions = Conditions(),
                   macro: str | None = None, wiring: str = "", flat: bool = False, iref_scale: float = 1.0) -> str:
    u = np.asarray(waveform, dtype=np.float64).ravel()
    dt = circuit.network.dt
    step = dt / STEPS_PER_SAMPLE
    times = np.concatenate([[0.0, 0.01 * dt], np.arange(1, len(u)) * dt])
    return _deck(circuit, conditions, f"transient, {len(u)} samples at {circuit.network.sample_rate:g} Hz",
                 pwl(times, VREF + circuit.mapping.input_scale * np.concatenate([[0.0], u])),
                 f".tran {step:.9g} {(len(u) + 1) * dt:.9g} 0 {step:.9g}", macro, wiring, flat, iref_scale)


def run_transient(circuit: Circuit, waveform: np.ndarray, conditions: Conditions = Conditions()) -> dict:
    """{'outputs': (samples, outputs) displacements in model units, 'power_W': mean supply
    power, 'rest': the outputs' rest voltages}."""
    u = np.asarray(waveform, dtype=np.float64).ravel()
    (plot,) = simulate(transient_deck(circuit, u, conditions), f"{circuit.network.name}_tran")
    return transient_result(circuit, plot, len(u), conditions)


def transient_result(circuit: Circuit, plot, samples: int, conditions: Conditions = Conditions()) -> dict:
    """`run_transient`'s result from the plot of a `transient_deck` of `samples` samples."""
    time = plot["time"]
    at = (np.arange(samples) + 1) * circuit.network.dt
    alpha = circuit.mapping.alpha[0]
    rest = [float(plot[f"v(out{j})"][0]) for j in range(circuit.network.output_size)]
    outputs = np.column_stack([(np.interp(at, time, plot[f"v(out{j})"]) - rest[j]) / alpha
                               for j in range(circuit.network.output_size)])
    supply = -np.trapezoid(plot["i(vdd)"], time) / (time[-1] - time[0]) * conditions.vdd
    return {"outputs": outputs, "power_W": float(supply), "rest": rest}


def ac_deck(circuit: Circuit, start: float, stop: float, per_decade: int = 400,
            conditions: Conditions = Conditions(), wiring: str = "", flat: bool = False, iref_scale: float = 1.0) -> str:
    return _deck(circuit, conditions, ".ac of the lattice", f"DC {VREF:g} AC 1",
                 f".ac dec {per_decade} {start:.9g} {stop:.9g}", wiring=wiring, flat=flat, iref_scale=iref_scale)


def noise_deck(circuit: Circuit, output: int, start: float, stop: float, per_decade: int = 20,
               conditions: Conditions = Conditions(), wiring: str = "", flat: bool = False) -> str:
    """`.noise` of output pin `output` at rest: its PSD from every device's thermal and
    flicker noise (the SKY130 models'), and the same referred to `in`."""
    return _deck(circuit, conditions, f".noise at out{output}", f"DC {VREF:g} AC 1",
                 f".noise v(out{output}) Vin dec {per_decade} {start:.9g} {stop:.9g}", wiring=wiring, flat=flat)


def run_ac(circuit: Circuit, start: float, stop: float, per_decade: int = 400, conditions: Conditions = Conditions(),
           wiring: str = "", flat: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies Hz, (frequencies, free) complex velocities per unit input: comparable
    with `model.mobility`)."""
    (plot,) = simulate(ac_deck(circuit, start, stop, per_decade, conditions, wiring, flat),
                       f"{circuit.network.name}_ac")
    return ac_result(circuit, plot)


def ac_result(circuit: Circuit, plot) -> tuple[np.ndarray, np.ndarray]:
    """`run_ac`'s result from the plot of an `ac_deck`."""
    freq = np.real(plot["frequency"])
    name = circuit.network.name
    mapping = circuit.mapping
    volts = np.column_stack([plot[f"v(x{name}.v{node})"] / mapping.beta[i] * mapping.input_scale
                             for i, node in enumerate(circuit.network.free)])
    return freq, volts


def idle_power(circuit: Circuit, conditions: Conditions = Conditions()) -> float:
    """Supply power (W) at rest (input at vref): the operating point's vdd current × vdd,
    iref included (it is drawn from the same supply)."""
    (plot,) = simulate(_deck(circuit, conditions, "operating point at rest", f"{VREF:g}", ".op", flat=True),
                       f"{circuit.network.name}_op")
    return float(-plot["i(vdd)"][0] * conditions.vdd)


def example_waveform(network, samples: int = 1024) -> np.ndarray:
    """The compiled testbench's input: a logarithmic chirp over the lattice's modes
    (amplitude 0.5 units), so every resonance rings once."""
    from flows.r2nn import model

    modes = [m.frequency for m in model.modes(network)[0] if m.frequency < network.sample_rate / 2]
    lo, hi = (0.5 * modes[0], min(2 * modes[-1], network.sample_rate / 2)) if modes else (10.0, network.sample_rate / 4)
    t = np.arange(samples) * network.dt
    duration = samples * network.dt
    phase = 2 * np.pi * lo * duration / np.log(hi / lo) * (np.exp(t / duration * np.log(hi / lo)) - 1)
    return 0.5 * np.sin(phase)
