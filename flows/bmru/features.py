"""KWS front end: WAV → 13 MFCCs per 10 ms frame, scaled to [0, 1] input currents.

The scaling constants live in this module (`FEATURE_LO`, `FEATURE_HI`), not in the network
file: schema bmru-network/1 describes the circuit, and the front end sits outside it. The
shipped `examples/kws_d4.yaml` was trained on features scaled by exactly these constants,
so `bmru features` reproduces its inputs. Changing them invalidates that example.
"""
from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from flows.errors import InputError

SAMPLE_RATE = 16_000
FRAME = 400          # 25 ms window
HOP = 160            # 10 ms frame step
N_FFT = 512
N_MELS = 40
N_MFCC = 13
F_MIN, F_MAX = 20.0, 8000.0
PRE_EMPHASIS = 0.97
LOG_FLOOR = 1e-10    # power floor before the log (signal in [-1, 1] full scale)

#: Per-coefficient affine scaling c → (c − lo) / (hi − lo), then clipped to [0, 1]. Chosen
#: as rounded 1st/99th percentiles of c0…c12 over the espeak-ng training corpus of
#: `bmru train kws` (speech, noise and silence), so that typical speech spans the range.
FEATURE_LO = np.array([-140.0, -23.0, -11.0, -7.0, -13.0, -10.0, -5.5,
                       -9.0, -3.5, -4.5, -2.5, -4.0, -4.0])
FEATURE_HI = np.array([-35.0, 9.0, 4.5, 12.0, 1.5, 3.5, 9.0,
                       2.0, 6.0, 3.0, 4.0, 2.5, 2.0])


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a WAV file as mono float64 in [-1, 1] (channels averaged) and its sample rate."""
    import scipy.io.wavfile
    path = Path(path)
    try:
        rate, data = scipy.io.wavfile.read(path)
    except FileNotFoundError:
        raise InputError(path, None, "no such file") from None
    except (ValueError, EOFError, OSError) as exc:
        raise InputError(path, None, f"not a readable WAV file ({exc})") from None
    if data.dtype == np.uint8:
        audio = (data.astype(np.float64) - 128.0) / 128.0
    elif np.issubdtype(data.dtype, np.integer):
        audio = data.astype(np.float64) / float(-np.iinfo(data.dtype).min)
    else:
        audio = data.astype(np.float64)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if audio.size < FRAME * rate / SAMPLE_RATE:
        raise InputError(path, "samples", f"{audio.size} samples: shorter than one 25 ms frame")
    return audio, int(rate)


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """Polyphase resampling to 16 kHz (exact rational ratio, no drift)."""
    if rate == SAMPLE_RATE:
        return audio
    from scipy.signal import resample_poly
    g = gcd(rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, rate // g)


def mel_filterbank() -> np.ndarray:
    """Triangular HTK-mel filters, shape (N_MELS, N_FFT // 2 + 1)."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(F_MIN), hz_to_mel(F_MAX), N_MELS + 2))
    freqs = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / (centre - lower)
    falling = (upper - freqs) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def _dct_matrix() -> np.ndarray:
    """Orthonormal DCT-II rows 0…N_MFCC−1 over N_MELS log energies."""
    n = np.arange(N_MELS)
    k = np.arange(N_MFCC)[:, None]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * N_MELS)) * np.sqrt(2.0 / N_MELS)
    basis[0] /= np.sqrt(2.0)
    return basis


_MEL = mel_filterbank()
_DCT = _dct_matrix()
_WINDOW = np.hamming(FRAME)


def mfcc(audio: np.ndarray) -> np.ndarray:
    """Unscaled MFCCs of 16 kHz audio, shape (frames, 13); frames = 1 + (len − 400) // 160."""
    emphasised = np.append(audio[:1], audio[1:] - PRE_EMPHASIS * audio[:-1])
    n_frames = 1 + (len(emphasised) - FRAME) // HOP
    idx = np.arange(FRAME)[None, :] + HOP * np.arange(n_frames)[:, None]
    spectrum = np.fft.rfft(emphasised[idx] * _WINDOW, n=N_FFT)
    power = (np.abs(spectrum) ** 2) / N_FFT
    log_mel = np.log(np.maximum(power @ _MEL.T, LOG_FLOOR))
    return log_mel @ _DCT.T


def scale(coefficients: np.ndarray) -> np.ndarray:
    """Map MFCCs to non-negative input currents in [0, 1] with the fixed module constants."""
    return np.clip((coefficients - FEATURE_LO) / (FEATURE_HI - FEATURE_LO), 0.0, 1.0)


def features_from_audio(audio: np.ndarray, rate: int) -> np.ndarray:
    """Scaled KWS features (frames, 13) of mono audio at any sample rate."""
    return scale(mfcc(resample(audio, rate)))


def features_from_wav(path: str | Path) -> np.ndarray:
    """Scaled KWS features (frames, 13) of one WAV file; bad files raise InputError."""
    audio, rate = read_wav(path)
    return features_from_audio(audio, rate)


def write_sequence_csv(path: str | Path, rows: np.ndarray) -> None:
    """Write an input sequence CSV with header x0…x{n-1} (ARCHITECTURE §3)."""
    header = ",".join(f"x{i}" for i in range(rows.shape[1]))
    np.savetxt(path, rows, delimiter=",", header=header, comments="", fmt="%.6f")
