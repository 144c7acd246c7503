"""Device noise at a lattice's outputs (`flows.r2nn.noise`): the synthesized records have
the PSD ngspice gives, a one-node lattice's output noise is physical, and the decision's
survival follows the ratio of signal to noise."""
from __future__ import annotations

import numpy as np
from scipy.constants import k as BOLTZMANN

from flows.r2nn import noise
from flows.r2nn.circuit import build_circuit
from pdk.models import TEMP_NOMINAL
from tests.test_r2nn_circuit import chain

RATE = 10240.0


def test_records_carry_the_psd_bin_by_bin():
    """Variance of the drawn records against the PSD summed over the record's rfft bins
    (a white and a 1/f PSD): within 3 % over 400 records of 2560 samples."""
    freq = np.geomspace(4.0, RATE / 2, 61)
    psd = np.column_stack([1e-10 * 10 / freq, np.full_like(freq, 1e-12)])
    spectrum = noise.OutputNoise(freq, psd)
    samples, dt = 2560, 1 / RATE
    records = spectrum.draw(samples, dt, np.random.default_rng(0), 400)
    bins = np.arange(1, (samples + 1) // 2) / (samples * dt)
    expected = spectrum.at(bins).sum(axis=0) / (samples * dt)
    np.testing.assert_allclose(records.var(axis=1).mean(axis=0), expected, rtol=0.03)


def test_one_node_lattice_output_noise_is_above_its_capacitor_floor():
    """chain(1) at tt 27 °C: the output pin's noise over 4 Hz–5 kHz is finite and above
    the kT/C of its displacement capacitor, the floor thermal equilibrium alone gives
    (measured 0.72 mV against 18 µV: the resonance and the transconductors' shot and
    flicker noise, which exceed kT/C for any active filter)."""
    circuit = build_circuit(chain(1))
    spectrum = noise.output_noise(circuit, 4.0, RATE / 2)
    assert np.all(np.isfinite(spectrum.psd)) and np.all(spectrum.psd > 0)
    (cap,) = [c for c in circuit.mapping.caps if c.node == "out0"]
    floor = np.sqrt(BOLTZMANN * (TEMP_NOMINAL + 273.15) / cap.value)
    assert spectrum.rms()[0] > floor


def test_decision_survives_small_noise_and_not_large():
    """Two outputs, the first with 1.2× the second's rms: a record of noise 1 % of the
    signal keeps the decision in every draw; noise 100× the signal, larger on the second
    output, takes it in most."""
    rng = np.random.default_rng(1)
    t = np.arange(2048) / RATE
    outputs = np.column_stack([1.2 * np.sin(2 * np.pi * 200 * t), np.sin(2 * np.pi * 300 * t + rng.uniform())])
    freq = np.geomspace(5.0, RATE / 2, 31)
    signal_psd = (outputs.std(axis=0) ** 2 / (RATE / 2))
    quiet = noise.OutputNoise(freq, np.tile(1e-4 * signal_psd, (len(freq), 1)))
    loud = noise.OutputNoise(freq, np.tile(1e4 * signal_psd * [1.0, 2.0], (len(freq), 1)))
    assert noise.decision_survival(outputs, 0, quiet, 1 / RATE) == 1.0
    assert noise.decision_survival(outputs, 0, loud, 1 / RATE) < 0.2
