"""What would lower a lattice's output noise (README, R²NN "Device noise"): the output pins'
noise (`.noise`, 4 Hz – 5.12 kHz, µV rms) of the circuit as built and of what-ifs that are
not shipped:

- `pairs`: every two-ended spring as one transconductor whose output current an ideal
  CCCS copies, scaled by the other end's gm ratio and inverted, into the other end (a
  paired-output OTA with perfect mirrors: the spring's noise becomes an internal force);
- `integrator-units K`: the fewest tail units of a displacement integrator K instead of
  `mapping.INTEGRATOR_UNITS` (a slow node's velocity may then swing more);
- `area K`: input pair, cascodes and loads K× the area (W and L × √K; the mapping's pin
  loads are not refitted, so the modes move a little).

Each line gives the largest mode error of the what-if's `.ac` (it must still be the same
lattice) and the noise per output.
Usage: .venv/bin/python benchmarks/r2nn_noise_levers.py NET.yaml
"""
from __future__ import annotations

import argparse
import os
import re

import numpy as np

os.environ["OMP_NUM_THREADS"] = "1"

import cells.transconductor as transconductor  # noqa: E402
import flows.r2nn.mapping as mapping_module  # noqa: E402
from flows.r2nn.bench import ac_deck, ac_result, noise_deck  # noqa: E402
from flows.r2nn.circuit import build_circuit  # noqa: E402
from flows.r2nn.network import load_network  # noqa: E402
from flows.r2nn.noise import PER_DECADE  # noqa: E402
from flows.r2nn.simulate import ac_band, match_modes  # noqa: E402
from pdk.ngspice import simulate  # noqa: E402
from pdk.unit import UnitDevice  # noqa: E402

BAND = (4.0, 5120.0)


def paired(circuit, deck: str) -> str:
    """`deck` with each two-ended spring's second transconductor replaced by an ideal,
    inverted and scaled copy of the first's output current."""
    ends: dict[str, list] = {}
    for o in circuit.mapping.otas:
        if o.role == "spring" and o.inp != "vref":
            ends.setdefault(o.parameter.split(" (")[0], []).append(o)
    copies = []
    for a, b in (pair for pair in ends.values() if len(pair) == 2):
        deck, found = re.subn(rf"^(X{a.name} .*) {a.out} (ota_\w+)$", rf"\1 sense{a.name} \2", deck, flags=re.M)
        deck, gone = re.subn(rf"^X{b.name} .*\n", "", deck, flags=re.M)
        assert found == gone == 1, (a.name, b.name)
        copies.append(f"VS{a.name} sense{a.name} {a.out} 0\nF{b.name} 0 {b.out} VS{a.name} {-b.gm / a.gm:.9g}")
    end = f"\n.ends {circuit.network.name}\n"
    return deck.replace(end, "\n" + "\n".join(copies) + end, 1)


def measure(circuit, patch=lambda deck: deck) -> tuple[float, np.ndarray]:
    """(largest mode error, µV rms of each output pin) on subckt decks."""
    network = circuit.network
    (plot,) = simulate(patch(ac_deck(circuit, *ac_band(network), 400)), "levers_ac")
    error = match_modes(network, *ac_result(circuit, plot))["error_max"]
    rms = []
    for j in range(network.output_size):
        plots = simulate(patch(noise_deck(circuit, j, *BAND, PER_DECADE)), f"levers_noise{j}")
        (spectrum,) = [p for p in plots if "onoise_spectrum" in p.vectors]
        freq = np.real(spectrum["frequency"])
        rms.append(np.sqrt(np.trapezoid(np.real(spectrum["onoise_spectrum"]) ** 2, freq)))
    return error, np.array(rms) * 1e6


def report(label: str, result: tuple[float, np.ndarray], base: np.ndarray | None = None) -> None:
    error, rms = result
    change = "" if base is None else "  (" + ", ".join(f"{20 * np.log10(r / b):+.1f}" for r, b in zip(rms, base)) + " dB)"
    print(f"{label:22s} modes within {error * 100:5.2f} %  noise {' / '.join(f'{v:.0f}' for v in rms)} µV rms{change}",
          flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("network")
    args = p.parse_args()
    network = load_network(args.network)
    built = build_circuit(network)
    base = measure(built)
    report("as built", base)
    report("pairs", measure(built, lambda deck: paired(built, deck)), base[1])
    shipped = mapping_module.INTEGRATOR_UNITS
    for units in (4, 1):
        mapping_module.INTEGRATOR_UNITS = units
        report(f"integrator-units {units}", measure(build_circuit(network)), base[1])
    mapping_module.INTEGRATOR_UNITS = shipped
    for area in (16,):
        s = np.sqrt(area)
        for name, device in (("PAIR", transconductor.PAIR), ("CASCODE_N", transconductor.CASCODE_N),
                             ("LOAD_P", transconductor.LOAD_P)):
            setattr(transconductor, name, UnitDevice(device.device, device.w * s, device.l * s))
        report(f"area {area}", measure(build_circuit(network)), base[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
