"""`bmru simulate` for an R²NN lattice: the ngspice transient of the macro driven by the
waveform, against the network as given and the mapped circuit model; an `.ac` of the
lattice against the network's modes. Writes circuit.csv and software.csv (output nodes'
displacement in model units, `step,y0,…`), mapped.csv, testbench.spice, summary.json, and
the outputs' device noise (`flows.r2nn.noise`: noise.png, summary.json `noise`)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from flows.agreement import range_error
from flows.netfile import write_trace_csv
from flows.r2nn import model
from flows.r2nn import noise as r2nn_noise
from flows.r2nn.analog import correlation, peaks
from flows.r2nn.bench import run_ac, transient_deck, transient_result
from flows.r2nn.circuit import Circuit, build_circuit, fit_to_layout
from flows.r2nn.mapping import mapped_state_space
from flows.r2nn.network import load_inputs, load_network
from pdk import ngspice
from pdk.models import Conditions

#: A run passes when every output's waveform correlates this well with the network's and
#: the decision (argmax of the output energies) is the network's.
PASS_CORRELATION = 0.98
#: .ac points per decade around the modes (sub-grid peaks by a parabola, `analog.peaks`).
AC_PER_DECADE = 1000


def output_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-output correlation; 0 where either trace never moves (a term the mapping left
    out can silence an output), so summary.json stays valid JSON."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(correlation(a, b), nan=0.0)


def judge(circuit_y: np.ndarray, software: np.ndarray) -> tuple[np.ndarray, int, bool, bool]:
    """(per-output correlation, circuit decision, whether it agrees, whether the run passes)."""
    corr = output_correlation(circuit_y, software)
    decided = model.decision(circuit_y)["decision"]
    agrees = decided == model.decision(software)["decision"]
    return corr, decided, agrees, bool(corr.min() >= PASS_CORRELATION and agrees)


def mapped_outputs(circuit: Circuit, waveform: np.ndarray) -> np.ndarray:
    """(samples, outputs) of the realised values (`mapped_state_space`), continuous time."""
    a, b = mapped_state_space(circuit.mapping)
    pick = [circuit.network.free.index(o) for o in circuit.network.outputs]
    return model.respond(a, b, pick, waveform[None, :], circuit.network.dt)[0]


def ac_band(network) -> tuple[float, float] | None:
    """The .ac span around the network's underdamped modes below Nyquist (None: none)."""
    modes = [m for m in model.modes(network)[0] if m.frequency < network.sample_rate / 2]
    if not modes:
        return None
    return 0.7 * modes[0].frequency, min(1.3 * modes[-1].frequency, network.sample_rate / 2)


def match_modes(network, freq: np.ndarray, volts: np.ndarray) -> dict:
    """Each resonance peak of the model's response that the input node's or an output
    node's velocity shows, matched to the circuit's nearest peak of the same node."""
    reference = model.mobility(network, freq)
    found = []
    for i, node in enumerate(network.free):
        if node != network.input_node and node not in network.outputs:
            continue
        for f_model in peaks(freq, np.abs(reference[:, i])):
            circuit_peaks = peaks(freq, np.abs(volts[:, i]))
            if len(circuit_peaks):
                f_circuit = float(circuit_peaks[np.argmin(np.abs(np.log(circuit_peaks / f_model)))])
                found.append({"node": node, "model_hz": float(f_model), "circuit_hz": f_circuit,
                              "error": f_circuit / float(f_model) - 1})
    return {"modes": found, "error_max": max((abs(m["error"]) for m in found), default=0.0)}


def resonances(circuit: Circuit, conditions: Conditions, wiring: str = "") -> dict:
    """The lattice's .ac against the network's modes (`match_modes`)."""
    band = ac_band(circuit.network)
    if band is None:
        return {"modes": [], "error_max": 0.0}
    freq, volts = run_ac(circuit, *band, AC_PER_DECADE, conditions, wiring, flat=True)
    return match_modes(circuit.network, freq, volts)


def full_scale_gain(circuit: Circuit, waveform: np.ndarray) -> float:
    """The gain that puts the waveform's peak at the macro's full-scale input (the mapping's
    `input_peak`): what the input amplifier in front of the `in` pin applies. The lattice is
    linear and its scores are normalised energies, so the gain changes neither decision
    nor waveform shape; it keeps a loud waveform inside the transconductors' linear range
    and a quiet one above their offsets."""
    peak = float(np.max(np.abs(waveform)))
    return circuit.mapping.options.input_peak / peak if peak > 0 else 1.0


def run(network_path: Path, inputs_path: Path, options, corner: str, temp: float, vdd: float, out: Path,
        post_layout: bool = False, seed: int | None = None) -> dict:
    """`bmru simulate` of a lattice; `post_layout`: the macro `bmru compile` draws (its
    plates leave out the wiring, `circuit.fit_to_layout`) with every net's capacitance
    extracted from that drawing on its node (flows.postlayout), for the transient and the .ac;
    `seed`: every unit transistor's threshold mismatch drawn from it (pdk/flat.py). Decks
    are flat (one model card per geometry): 2.6× faster than the wheel's subckts on a
    random lattice, outputs equal to 7e-6 of their peak."""
    network = load_network(network_path)
    waveform = load_inputs(inputs_path, network)[:, 0]
    circuit = build_circuit(network, options)
    conditions = Conditions(corner, temp=temp, vdd=vdd, mismatch=seed is not None, seed=seed)
    wiring, extracted = "", None
    if post_layout:
        from flows import postlayout

        circuit = fit_to_layout(circuit, postlayout.wiring)
        capacitances = postlayout.wiring(circuit)
        wiring = postlayout.capacitor_lines(circuit, capacitances)
        extracted = {"nets": len(capacitances), "total_F": sum(capacitances.values()),
                     "largest_F": max(capacitances.values()),
                     "left_out_of_plates_F": sum(v for _, v in circuit.mapping.options.wiring)}
    gain = full_scale_gain(circuit, waveform)
    deck = transient_deck(circuit, gain * waveform, conditions, wiring=wiring, flat=True)
    (out / "testbench.spice").write_text(deck)
    (plot,) = ngspice.simulate(deck, f"{network.name}_tran")
    result = transient_result(circuit, plot, len(waveform), conditions)
    circuit_y = result["outputs"] / gain
    software = model.simulate(network, waveform[None, :])[0]
    mapped = mapped_outputs(circuit, waveform)
    write_trace_csv(out / "circuit.csv", circuit_y)
    write_trace_csv(out / "software.csv", software)
    write_trace_csv(out / "mapped.csv", mapped)
    ac = resonances(circuit, conditions, wiring)
    outputs_v = circuit_y * gain * circuit.mapping.alpha[0]
    noise = r2nn_noise.output_noise(circuit, *r2nn_noise.band(network, len(waveform)), conditions, wiring)
    r2nn_noise.plot(noise, outputs_v, network.dt, out / "noise.png")
    scores = {label: model.decision(trace) for label, trace in
              (("circuit", circuit_y), ("network", software), ("mapped", mapped))}
    corr, _, agrees, passes = judge(circuit_y, software)
    summary = {
        "network": network.name,
        "family": "r2nn-network/1",
        "inputs": str(inputs_path),
        "conditions": f"{corner} {temp:g}C {vdd:g}V" + (f" mismatch seed {seed}" if seed is not None else ""),
        "corner": corner, "temp_c": temp, "vdd": vdd, "seed": seed,
        "samples": len(waveform),
        "input_gain": gain,
        "verdict": {"pass": passes,
                    "correlation_min": float(corr.min()), "goal_correlation": PASS_CORRELATION,
                    "decision_agrees": bool(agrees),
                    "correlation_mapped_min": float(output_correlation(mapped, software).min()),
                    "resonance_error_max": ac["error_max"]},
        "correlation": {"network": corr.tolist(), "mapped": output_correlation(circuit_y, mapped).tolist()},
        "agreement": {"steps": len(waveform), **range_error(software, circuit_y)},
        "scores": scores,
        "resonances": ac,
        "rest_V": result["rest"],
        "power": {"total_W": result["power_W"]},
        "noise": r2nn_noise.summary(outputs_v, scores["network"]["decision"], noise, network.dt),
        "post_layout": extracted,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def headline(summary: dict) -> str:
    v = summary["verdict"]
    s = summary["scores"]
    return (f"{summary['network']} ({summary['conditions']}, {summary['samples']} samples): "
            f"{'PASS' if v['pass'] else 'FAIL'}: output waveforms correlate ≥ {v['correlation_min']:.4f} with the "
            f"network (goal {v['goal_correlation']:g}; mapped values {v['correlation_mapped_min']:.4f}); decision "
            f"{s['circuit']['decision']} ({'agrees' if v['decision_agrees'] else 'network: ' + str(s['network']['decision'])}); "
            f"resonances within {v['resonance_error_max'] * 100:.2f} % of the modes; "
            f"average power {summary['power']['total_W'] * 1e9:.3g} nW; with device noise it decides as the network in "
            f"{summary['noise']['decision_kept'] * 100:.0f} % of draws (output SNR "
            f"{min(summary['noise']['snr_db']):.0f} dB at worst)")
