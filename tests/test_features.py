"""KWS front end: MFCCs against an independent implementation, and `bmru features`."""
from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pytest
import scipy.fft
import scipy.io.wavfile

from flows.bmru import features
from flows.cli import main


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * math.pi * freq * t)


def mfcc_by_loops(audio: np.ndarray) -> np.ndarray:
    """Textbook MFCC written without the module's vectorisation: explicit frame loop,
    DFT by the definition, mel via 1127·ln(1 + f/700), scipy's orthonormal DCT-II."""
    x = [audio[0]] + [audio[n] - 0.97 * audio[n - 1] for n in range(1, len(audio))]
    x = np.array(x)
    n_fft, n_bins = 512, 257
    k = np.arange(n_bins)[:, None]
    n = np.arange(400)[None, :]
    dft = np.exp(-2j * math.pi * k * n / n_fft)          # zero padding 400 → 512 is implicit
    window = 0.54 - 0.46 * np.cos(2 * math.pi * np.arange(400) / 399)
    mel = lambda f: 1127.0 * math.log(1 + f / 700.0)      # noqa: E731 — same scale as 2595·log10
    inv = lambda m: 700.0 * (math.exp(m / 1127.0) - 1)    # noqa: E731
    points = [inv(mel(20.0) + i * (mel(8000.0) - mel(20.0)) / 41) for i in range(42)]
    bins_hz = np.arange(n_bins) * 16000 / n_fft
    rows = []
    for start in range(0, len(x) - 400 + 1, 160):
        power = np.abs(dft @ (x[start:start + 400] * window)) ** 2 / n_fft
        energies = []
        for m in range(40):
            lo, mid, hi = points[m], points[m + 1], points[m + 2]
            weights = [max(0.0, min((f - lo) / (mid - lo), (hi - f) / (hi - mid))) for f in bins_hz]
            energies.append(max(float(np.dot(weights, power)), 1e-10))
        rows.append(scipy.fft.dct(np.log(energies), type=2, norm="ortho")[:13])
    return np.array(rows)


def test_mfcc_matches_independent_implementation_on_a_tone():
    audio = tone(440.0, 16000, seconds=0.2) + tone(2500.0, 16000, seconds=0.2, amplitude=0.05)
    ours = features.mfcc(audio)
    assert ours.shape == (1 + (len(audio) - 400) // 160, 13)
    np.testing.assert_allclose(ours, mfcc_by_loops(audio), rtol=1e-7, atol=1e-7)


def test_one_second_gives_98_frames_and_silence_is_the_floor():
    silence = features.mfcc(np.zeros(16000))
    assert silence.shape == (98, 13)
    # log of the floor in every band: c0 = √40 · ln(1e-10), every other coefficient 0
    np.testing.assert_allclose(silence[:, 0], math.sqrt(40) * math.log(1e-10))
    np.testing.assert_allclose(silence[:, 1:], 0.0, atol=1e-9)


def test_sample_rate_does_not_change_the_features():
    """A 1 kHz tone recorded at 8, 16 and 44.1 kHz gives (nearly) the same MFCCs; only
    8 kHz loses the empty band above 4 kHz, so compare c0–c12 on mid frames loosely."""
    reference = features.features_from_audio(tone(1000.0, 16000), 16000)
    for rate in (44100, 22050):
        other = features.features_from_audio(tone(1000.0, rate), rate)
        assert other.shape == reference.shape
        np.testing.assert_allclose(other[5:-5], reference[5:-5], atol=0.02)


def test_tone_energy_lands_in_its_mel_band():
    fb = features.mel_filterbank()
    for freq in (300.0, 1000.0, 4000.0):
        power = np.abs(np.fft.rfft(tone(freq, 16000)[:512] * np.hanning(512))) ** 2
        band = int(np.argmax(fb @ power))
        centre_bin = int(np.argmax(fb[band]))
        assert abs(centre_bin * 16000 / 512 - freq) < 0.15 * freq + 60


def test_scale_is_affine_and_clipped():
    c = np.stack([features.FEATURE_LO, features.FEATURE_HI,
                  (features.FEATURE_LO + features.FEATURE_HI) / 2,
                  features.FEATURE_LO - 100, features.FEATURE_HI + 100])
    scaled = features.scale(c)
    np.testing.assert_allclose(scaled, np.array([[0.0], [1.0], [0.5], [0.0], [1.0]]) * np.ones(13))


def write_wav(path, rate, data):
    scipy.io.wavfile.write(path, rate, data)
    return path


def test_features_cli_writes_one_csv_per_file(tmp_path, capsys):
    mono = write_wav(tmp_path / "mono.wav", 16000, (tone(700.0, 16000) * 32767).astype(np.int16))
    stereo_data = (tone(700.0, 44100, seconds=0.5) * 32767).astype(np.int16)
    stereo = write_wav(tmp_path / "stereo.wav", 44100, np.stack([stereo_data, stereo_data], 1))
    floats = write_wav(tmp_path / "floats.wav", 8000, tone(300.0, 8000).astype(np.float32))
    out = tmp_path / "out"
    assert main(["features", str(mono), str(stereo), str(floats), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [".bmru-output.json", "floats.csv", "mono.csv", "stereo.csv"]
    expected_rows = {"mono": 98, "stereo": 48, "floats": 98}
    for stem, rows in expected_rows.items():
        text = (out / f"{stem}.csv").read_text().splitlines()
        assert text[0] == ",".join(f"x{i}" for i in range(13))
        values = np.loadtxt(out / f"{stem}.csv", delimiter=",", skiprows=1)
        assert values.shape == (rows, 13)
        assert values.min() >= 0.0 and values.max() <= 1.0
    # stereo with equal channels is its mono mixdown; the CSV holds the scaled features
    mixed = features.features_from_audio(stereo_data / 32768.0, 44100)
    np.testing.assert_allclose(np.loadtxt(out / "stereo.csv", delimiter=",", skiprows=1),
                               mixed, atol=1e-6)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_features_of_speech_use_the_range(tmp_path):
    wav = tmp_path / "yes.wav"
    subprocess.run(["espeak-ng", "-v", "en", "-w", str(wav), "yes"], check=True)
    x = features.features_from_wav(wav)
    assert x.shape[1] == 13
    # speech spans the scaled range rather than sitting at one end
    assert np.percentile(x, 95) - np.percentile(x, 5) > 0.3


@pytest.mark.parametrize("content, problem", [
    (b"this is not audio at all", "not a readable WAV file"),
    (None, "shorter than one 25 ms frame"),
])
def test_bad_audio_is_one_line_and_exit_2(tmp_path, capsys, content, problem):
    bad = tmp_path / "bad.wav"
    if content is None:
        write_wav(bad, 16000, np.zeros(0, dtype=np.int16))
    else:
        bad.write_bytes(content)
    good = write_wav(tmp_path / "good.wav", 16000, (tone(500.0, 16000) * 3000).astype(np.int16))
    out = tmp_path / "out"
    assert main(["features", str(good), str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err and problem in err
    assert not out.exists()


def test_missing_file_and_colliding_stems_exit_2(tmp_path, capsys):
    assert main(["features", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "a").mkdir()
    one = write_wav(tmp_path / "x.wav", 16000, np.ones(800, dtype=np.int16))
    two = write_wav(tmp_path / "a" / "x.wav", 16000, np.ones(800, dtype=np.int16))
    assert main(["features", str(one), str(two), "-o", str(tmp_path / "o")]) == 2
    assert "same stem" in capsys.readouterr().err


def test_shipped_kws_example_and_its_sequences():
    """examples/kws_d4.yaml is the published two-block architecture with d = 4, buildable
    within the pdk limits, and classifies the shipped held-out sequences."""
    from pathlib import Path

    from flows.bmru.mapping import map_network
    from flows.bmru.model import run_network
    from flows.bmru.network import load_network
    from flows.netfile import load_sequence

    examples = Path(__file__).resolve().parent.parent / "examples"
    network = load_network(examples / "kws_d4.yaml")
    assert [(layer.kind, layer.size, layer.skip_from) for layer in network.layers] == [
        ("dense", 8, None), ("bmru", 4, None), ("dense", 8, 0), ("bmru", 4, None),
        ("dense", 8, 2), ("dense", 2, None)]
    assert network.input_size == 13
    map_network(network)
    files = sorted((examples / "kws").glob("*.csv"))
    yes = [f.name.startswith("yes_") for f in files]
    assert 8 <= len(files) <= 12 and sum(yes) * 2 == len(files)
    correct = 0
    for path, is_yes in zip(files, yes):
        x = load_sequence(path, 13)
        assert x.shape[0] <= 100 and x.max() <= 1.0
        correct += int(run_network(network, x).output[-1].argmax() == (0 if is_yes else 1))
    assert correct >= 0.8 * len(files)
