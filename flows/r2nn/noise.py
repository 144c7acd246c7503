"""Device noise at a lattice's output pins, and what it does to the decision.

A transient carries no device noise (in ngspice only independent sources do), so `bmru
simulate`'s waveforms are the circuit without it. `.noise` at each output pin gives the
PSD of the SKY130 models' thermal and flicker noise at rest; Gaussian waveforms of that
PSD added to the simulated outputs show how often the decision survives. The outputs are
drawn independently: ngspice gives no cross-spectra, and the outputs share noise sources
(neighbouring nodes of one lattice), so the estimate ignores their correlation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.r2nn import model
from flows.r2nn.bench import noise_deck
from flows.r2nn.circuit import Circuit
from pdk.models import Conditions
from pdk.ngspice import Job, simulate_many

#: `.noise` points per decade (the PSD is smooth between the modes' peaks at this density:
#: 40 moved r2nn_machine's integrated noise by < 1 %).
PER_DECADE = 20
#: Noise draws per waveform for the decision's survival.
DRAWS = 200


@dataclass(frozen=True)
class OutputNoise:
    """One-sided PSD (V²/Hz) of every output pin on a log frequency grid."""

    freq: np.ndarray  # (points,) Hz
    psd: np.ndarray   # (points, outputs)

    def rms(self) -> np.ndarray:
        """(outputs,) V rms over the swept band."""
        return np.sqrt(np.trapezoid(self.psd, self.freq, axis=0))

    def at(self, freq: np.ndarray) -> np.ndarray:
        """(len(freq), outputs) PSD, log-log between the swept points, flat beyond them."""
        logf = np.log(np.clip(freq, self.freq[0], self.freq[-1]))
        return np.exp(np.column_stack([np.interp(logf, np.log(self.freq), np.log(p)) for p in self.psd.T]))

    def draw(self, samples: int, dt: float, rng: np.random.Generator, draws: int = 1) -> np.ndarray:
        """(draws, samples, outputs) V: Gaussian noise of this PSD at the rfft bins of the
        record (DC left out: the readout subtracts each output's rest value)."""
        k = np.arange(1, (samples + 1) // 2)  # below Nyquist: every bin a conjugate pair
        power = self.at(k / (samples * dt)) * samples / (2 * dt)  # E|X_k|² for Σ_k 2|X_k|²/N² = ∫S df
        shape = (draws, len(k), power.shape[1])
        spectrum = np.zeros((draws, samples // 2 + 1, power.shape[1]), dtype=complex)
        spectrum[:, k] = np.sqrt(power / 2) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
        return np.fft.irfft(spectrum, n=samples, axis=1)


def output_noise(circuit: Circuit, start: float, stop: float, conditions: Conditions = Conditions(),
                 wiring: str = "", workers: int | None = None) -> OutputNoise:
    """`.noise` of every output pin over [start, stop] Hz, on flat decks."""
    name = circuit.network.name
    jobs = [Job(f"{name}_noise{j}", noise_deck(circuit, j, start, stop, PER_DECADE, conditions, wiring, flat=True))
            for j in range(circuit.network.output_size)]
    results = simulate_many(jobs, workers=workers, desc="noise")
    spectra = []
    for job in jobs:
        (plot,) = [p for p in results[job.name] if "onoise_spectrum" in p.vectors]
        freq = np.real(plot["frequency"])
        spectra.append(np.real(plot["onoise_spectrum"]) ** 2)
    return OutputNoise(freq, np.column_stack(spectra))


def decision_survival(outputs_v: np.ndarray, decision: int, noise: OutputNoise, dt: float,
                      draws: int = DRAWS, seed: int = 0) -> float:
    """Fraction of `draws` noise records that, added to the output pins' waveforms
    `outputs_v` ((samples, outputs), V from rest), leave the readout's decision at `decision`."""
    noisy = outputs_v[None] + noise.draw(len(outputs_v), dt, np.random.default_rng(seed), draws)
    return float(np.mean(np.argmax(model.energies(noisy), axis=1) == decision))


def summary(outputs_v: np.ndarray, decision: int, noise: OutputNoise, dt: float) -> dict:
    """summary.json's `noise`: per output the noise and signal rms (V) and their ratio,
    and in which fraction of `DRAWS` noise records the readout still gives `decision` (the
    network's)."""
    noise_rms = noise.rms()
    signal_rms = np.maximum(outputs_v.std(axis=0), np.finfo(float).tiny)  # a silent output: finite JSON
    return {"band_hz": [float(noise.freq[0]), float(noise.freq[-1])],
            "output_noise_rms_V": noise_rms.tolist(), "signal_rms_V": signal_rms.tolist(),
            "snr_db": (20 * np.log10(signal_rms / noise_rms)).tolist(),
            "decision_kept": decision_survival(outputs_v, decision, noise, dt), "draws": DRAWS,
            "method": "ngspice .noise at each output pin at rest (SKY130 thermal and flicker noise); Gaussian "
                      "records of that PSD added to the simulated outputs, independently per output; decision_kept: the "
                      "fraction of records in which the readout is still the network's decision"}


def band(network, samples: int) -> tuple[float, float]:
    """The record's band: its lowest rfft bin to Nyquist."""
    return 1.0 / (samples * network.dt), network.sample_rate / 2


def plot(noise: OutputNoise, outputs_v: np.ndarray, dt: float, path) -> None:
    """noise.png: each output's noise PSD against its simulated signal's (Welch)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.signal import welch

    from pdk.datasheet import save_figure

    count = outputs_v.shape[1]
    fig, axes = plt.subplots(1, count, figsize=(4.2 * count, 3.4), squeeze=False, sharey=True)
    for j, ax in enumerate(axes[0]):
        f, p = welch(outputs_v[:, j], fs=1 / dt, nperseg=min(len(outputs_v), 1024))
        ax.loglog(f[1:], np.sqrt(p[1:]), label="signal (transient)")
        ax.loglog(noise.freq, np.sqrt(noise.psd[:, j]), label="device noise (.noise)")
        ax.set(title=f"out{j}", xlabel="Hz")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("V/√Hz")
    axes[0][0].legend(fontsize=8)
    save_figure(fig, path)
