"""How a lattice's device noise acts on its test set: the output pins' noise PSD at rest
(ngspice `.noise`, `flows.r2nn.noise`) once, then for every test waveform of a shipped task
the mapped circuit's outputs (`simulate.mapped_outputs`, which the transient follows to
correlation ≥ 0.9998 on the shipped lattices) at the macro's full-scale input, plus noise
records of that PSD: how often the decision stays the network's, at the measured noise
and with it lowered by 10, 20, … dB until the decision survives in 99 % (how much more
signal-to-noise the macro would need).
Prints one line per noise level and the outputs' SNR over the test set.
Usage: .venv/bin/python benchmarks/r2nn_noise.py NET.yaml --task machine [--draws 100] [--json F]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ["OMP_NUM_THREADS"] = "1"

from flows.r2nn import model  # noqa: E402
from flows.r2nn import noise as r2nn_noise  # noqa: E402
from flows.r2nn.circuit import build_circuit  # noqa: E402
from flows.r2nn.network import load_network  # noqa: E402
from flows.r2nn.simulate import full_scale_gain, mapped_outputs  # noqa: E402
from flows.r2nn.tasks import TASKS, dataset  # noqa: E402

#: Noise levels tried, until the decision survives in 99 % of waveform × draw.
LOWERED_DB = range(0, 101, 10)
ENOUGH = 0.99


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("network")
    p.add_argument("--task", choices=TASKS, required=True)
    p.add_argument("--draws", type=int, default=100)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args()
    started = time.monotonic()
    network = load_network(args.network)
    circuit = build_circuit(network)
    x, labels = dataset(args.task, "test")
    spectrum = r2nn_noise.output_noise(circuit, *r2nn_noise.band(network, x.shape[1]))
    alpha = circuit.mapping.alpha[0]
    outputs = [mapped_outputs(circuit, full_scale_gain(circuit, u) * u) * alpha for u in x]
    decisions = [model.decision(model.run_network(network, u[:, None]))["decision"] for u in x]
    signal = np.array([o.std(axis=0) for o in outputs])
    snr = 20 * np.log10(np.median(signal, axis=0) / spectrum.rms())
    print(f"{network.name} on {len(x)} {args.task} test waveforms: output noise "
          f"{', '.join(f'{v * 1e6:.0f}' for v in spectrum.rms())} µV rms "
          f"({spectrum.freq[0]:.1f} Hz – {spectrum.freq[-1]:.0f} Hz), signal median "
          f"{', '.join(f'{v * 1e6:.2f}' for v in np.median(signal, axis=0))} µV rms: SNR "
          f"{', '.join(f'{v:.1f}' for v in snr)} dB")
    rows = []
    for lowered in LOWERED_DB:
        scaled = r2nn_noise.OutputNoise(spectrum.freq, spectrum.psd * 10 ** (-lowered / 10))
        kept = [r2nn_noise.decision_survival(o, d, scaled, network.dt, args.draws, seed=i)
                for i, (o, d) in enumerate(zip(outputs, decisions))]
        correct = [r2nn_noise.decision_survival(o, int(lab), scaled, network.dt, args.draws, seed=i)
                   for i, (o, lab) in enumerate(zip(outputs, labels))]
        rows.append({"noise_lowered_db": lowered, "decision_kept": float(np.mean(kept)),
                     "accuracy": float(np.mean(correct))})
        print(f"  noise −{lowered:2d} dB: decision kept {np.mean(kept) * 100:5.1f} % of waveform × draw, "
              f"accuracy {np.mean(correct) * 100:5.1f} % (network without noise "
              f"{np.mean(np.array(decisions) == labels) * 100:.1f} %)", flush=True)
        if np.mean(kept) >= ENOUGH:
            break
    print(f"{time.monotonic() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"network": network.name, "task": args.task, "waveforms": len(x),
                       "noise_rms_V": spectrum.rms().tolist(), "signal_rms_median_V": np.median(signal, 0).tolist(),
                       "snr_db": snr.tolist(), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
