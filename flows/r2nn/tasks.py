"""The R²NN training tasks, generated here (the authors' `.mat` sets are not public).

Every task is three classes of raw waveforms at its own sample rate, a fixed training set
and a fixed test set drawn with different seeds (the training seed only drives the
optimiser). Class scores are output energies normalised over the outputs, so a waveform's
level never matters — each set draws levels over 20 dB to make that visible.

- `machine` (condition monitoring, 10240 Hz as the paper, 0.25 s): a rotating machine's vibration, shaft
  at 20 … 40 Hz, in broadband sensor noise. healthy: weak 1×, 2× and 3× shaft harmonics;
  imbalance: a 1× harmonic 3 … 6 times the noise; bearing fault: the healthy spectrum plus
  impacts at the outer-race rate (3.0 … 3.6 × shaft) that ring a structural resonance at
  900 … 1200 Hz (decay 3 … 8 ms, Q ≈ 10 … 30).
- `tactile` (1024 Hz, 1 s): pressure pulse trains of a fingertip sensor sliding over
  three gratings: pulse rates 6 … 10, 14 … 20 and 26 … 36 per second, raised-cosine pulses
  8 … 20 ms wide, ±15 % amplitude and ±8 % timing jitter, sensor noise.
- `voice` (10240 Hz as the paper, 0.8 s): the words six / no / up spoken by espeak-ng
  (`flows.bmru.kws_data.speak` with the KWS corpus's voices, speeds and pitches), training
  voices and held-out voice variants as the KWS corpus splits them. Three energies can only
  tell words apart by their coarse spectra: logistic regression on three ideal band
  energies (log-normalised, best of four band splits) reaches 53 % held-out on yes / no /
  up, 62 % on yes / no / stop and 85 % on six / no / up (sibilant, nasal, open vowel) —
  hence these words.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np

TASKS = ("machine", "tactile", "voice")
SEED = 20261201


@dataclass(frozen=True)
class Task:
    name: str
    sample_rate: float
    samples: int
    classes: tuple[str, str, str]
    band: tuple[float, float]      # Hz: where the trainer may put the local resonators
    train_count: int               # per class
    test_count: int                # per class


SPECS = {
    "machine": Task("machine", 10240.0, 2560, ("healthy", "imbalance", "bearing"), (15.0, 1400.0), 150, 60),
    "tactile": Task("tactile", 1024.0, 1024, ("coarse", "medium", "fine"), (3.0, 120.0), 150, 60),
    "voice": Task("voice", 10240.0, 8192, ("six", "no", "up"), (60.0, 1400.0), 0, 0),
}


def _level(rng: np.random.Generator) -> float:
    return 10 ** rng.uniform(-1.0, 1.0)


def machine_waveform(label: int, rng: np.random.Generator, spec: Task = SPECS["machine"]) -> np.ndarray:
    t = np.arange(spec.samples) / spec.sample_rate
    shaft = rng.uniform(20.0, 40.0)
    x = rng.standard_normal(spec.samples)
    for harmonic, amplitude in ((1, rng.uniform(0.2, 0.5)), (2, rng.uniform(0.1, 0.3)),
                                (3, rng.uniform(0.05, 0.2))):
        x += amplitude * np.sin(2 * np.pi * harmonic * shaft * t + rng.uniform(0, 2 * np.pi))
    if label == 1:
        x += rng.uniform(3.0, 6.0) * np.sin(2 * np.pi * shaft * t + rng.uniform(0, 2 * np.pi))
    elif label == 2:
        rate = shaft * rng.uniform(3.0, 3.6)
        ring, decay = rng.uniform(900.0, 1200.0), rng.uniform(3e-3, 8e-3)
        impacts = np.arange(rng.uniform(0, 1 / rate), t[-1], 1 / rate)
        for start in impacts:
            tau = t - start
            on = tau >= 0
            x[on] += (rng.uniform(3.0, 6.0) * np.exp(-tau[on] / decay)
                      * np.sin(2 * np.pi * ring * tau[on]))
    return x * _level(rng)


def tactile_waveform(label: int, rng: np.random.Generator, spec: Task = SPECS["tactile"]) -> np.ndarray:
    t = np.arange(spec.samples) / spec.sample_rate
    rate = rng.uniform(*((6.0, 10.0), (14.0, 20.0), (26.0, 36.0))[label])
    width = rng.uniform(8e-3, 20e-3)
    x = 0.02 * rng.standard_normal(spec.samples)
    start = rng.uniform(0, 1 / rate)
    while start < t[-1]:
        centre = start + rng.uniform(-0.08, 0.08) / rate
        phase = (t - centre) / width
        pulse = np.where(np.abs(phase) < 0.5, 0.5 * (1 + np.cos(2 * np.pi * phase)), 0.0)
        x += rng.uniform(0.85, 1.15) * pulse
        start += 1 / rate
    return x * _level(rng)


def _voice_split(split: str, cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """espeak-ng renders of the three words (`kws_data.speak`, 16 kHz), resampled to
    10240 Hz and placed in a 0.8 s clip: start 0 … 100 ms, peak level over 20 dB, white
    noise at 15 … 30 dB SNR."""
    from scipy.signal import resample_poly

    from flows.bmru import kws_data
    from pdk.cache import cache_dir as default_cache

    spec = SPECS["voice"]
    cache_dir = cache_dir or default_cache()
    rng = np.random.default_rng([SEED, 2, 0 if split == "train" else 1])
    variants = kws_data.TRAIN_VARIANTS if split == "train" else kws_data.HELD_OUT_VARIANTS
    copies = 2 if split == "train" else 1
    rate = kws_data.CLIP_SAMPLES
    g = gcd(int(spec.sample_rate), rate)
    waves, labels = [], []
    for label, word in enumerate(spec.classes):
        for base in kws_data.BASE_VOICES:
            for variant in variants:
                speed = int(rng.integers(*kws_data.SPEEDS))
                pitch = int(rng.integers(*kws_data.PITCHES))
                speech = kws_data.speak(word, f"{base}+{variant}", speed, pitch, cache_dir)
                speech = resample_poly(speech, int(spec.sample_rate) // g, rate // g)
                speech = speech[:spec.samples] / np.abs(speech).max()
                for _ in range(copies):
                    clip = np.zeros(spec.samples)
                    start = int(rng.integers(0, int(0.1 * spec.sample_rate)))
                    part = speech[:spec.samples - start]
                    clip[start:start + len(part)] = part
                    rms = np.sqrt(np.mean(part ** 2))
                    clip += rng.standard_normal(spec.samples) * rms * 10 ** (-rng.uniform(15, 30) / 20)
                    waves.append(clip * _level(rng))
                    labels.append(label)
    return np.array(waves), np.array(labels)


def dataset(task: str, split: str, cache_dir: Path | None = None,
            count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(waveforms (N, samples), labels (N,)) of `split` ('train' or 'test'), classes
    interleaved; `count` per class overrides the task's size (synthetic tasks only)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be train or test, got {split!r}")
    if task == "voice":
        return _voice_split(split, cache_dir)
    spec = SPECS[task]
    make = machine_waveform if task == "machine" else tactile_waveform
    per_class = count or (spec.train_count if split == "train" else spec.test_count)
    rng = np.random.default_rng([SEED, TASKS.index(task), 0 if split == "train" else 1])
    labels = np.tile(np.arange(3), per_class)
    return np.array([make(int(label), rng, spec) for label in labels]), labels


def write_examples(task: str, directory: Path, per_class: int, cache_dir: Path | None = None) -> list[Path]:
    """The first `per_class` test waveforms of each class as `<task>_<class>_<i>.csv`
    (header x0, `%.9g`) and `labels.csv` (file,label,class): taken in order, not picked
    for being classified correctly."""
    x, labels = dataset(task, "test", cache_dir)
    classes = SPECS[task].classes
    directory.mkdir(parents=True, exist_ok=True)
    written, rows = [], ["file,label,class"]
    for label, name in enumerate(classes):
        for i, row in enumerate(np.flatnonzero(labels == label)[:per_class]):
            path = directory / f"{task}_{name}_{i}.csv"
            path.write_text("x0\n" + "".join("%.9g\n" % v for v in x[row]))
            written.append(path)
            rows.append(f"{path.name},{label},{name}")
    labels_path = directory / "labels.csv"
    labels_path.write_text("\n".join(rows) + "\n")
    return written + [labels_path]
