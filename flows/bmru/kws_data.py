"""Keyword-spotting data: an offline espeak-ng corpus (cached) and a Speech Commands loader.

Task: "yes" against everything else. Labels follow the shipped example's outputs: 0 = "yes"
(`y0`), 1 = anything else (`y1`). Every clip is 1 s at 16 kHz, i.e. 98 feature rows, so the
decision (last row) always comes after the word has ended and the network must remember it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flows.bmru import features
from flows.errors import InputError
from pdk import processes
from pdk.cache import cache_dir as pdk_cache_dir
from pdk.cache import publish, temporary_beside

KEYWORD = "yes"
OTHER_WORDS = ("no", "up", "down", "left", "right", "on", "off", "stop", "go")
BASE_VOICES = ("en", "en-us", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc")
#: Held-out clips use voice variants never seen in training, so the held-out accuracy
#: measures generalisation to new speakers rather than recall of augmented copies.
TRAIN_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "f1", "f2", "f3", "f5", "klatt", "klatt3")
HELD_OUT_VARIANTS = ("m7", "m8", "f4", "klatt2")
SPEEDS = (120, 200)      # words per minute, drawn uniformly
PITCHES = (20, 80)       # espeak pitch 0–99, drawn uniformly
SNR_DB = (None, 30.0, 20.0, 10.0, 5.0)   # None: clean
CLIP_SAMPLES = features.SAMPLE_RATE      # 1 s
CORPUS_SEED = 20240611   # the corpus is fixed; the training seed only drives the optimiser
CORPUS_VERSION = 2       # bump when generation changes, so stale caches are not reused


def speak(word: str, voice: str, speed: int, pitch: int, cache_dir: Path) -> np.ndarray:
    """espeak-ng rendering of one word as 16 kHz float audio, cached as a WAV file."""
    wav = cache_dir / "espeak" / f"{voice}_{speed}_{pitch}_{word}.wav"
    if not wav.exists():
        tmp = temporary_beside(wav)
        done = processes.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch),
                              "-w", str(tmp), word])
        if done.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise RuntimeError(f"espeak-ng -v {voice} failed: {done.stderr.strip()}")
        publish(tmp, wav)
    audio, rate = features.read_wav(wav)
    return features.resample(audio, rate)


def _trim(audio: np.ndarray) -> np.ndarray:
    """Cut espeak's leading/trailing silence so that the time shift decides where speech is."""
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    return audio[loud[0]:loud[-1] + 1] if loud.size else audio


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """White or low-passed ('brown-ish') Gaussian noise of unit RMS."""
    white = rng.standard_normal(n)
    if rng.random() < 0.5:
        return white
    from scipy.signal import lfilter
    coloured = lfilter([1.0], [1.0, -0.95], white)
    return coloured / coloured.std()


def place(speech: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """Put speech at a random time in a 1 s clip, random level, noise at a random SNR;
    returns the clip and the first and one-past-last sample of the speech."""
    speech = _trim(speech)[:CLIP_SAMPLES - 1600]
    clip = np.zeros(CLIP_SAMPLES)
    start = rng.integers(0, CLIP_SAMPLES - len(speech) - 1600 + 1)   # ≥ 100 ms after the word
    level = 10 ** (rng.uniform(-20, -3) / 20)
    clip[start:start + len(speech)] = speech / np.abs(speech).max() * level
    snr = SNR_DB[rng.integers(len(SNR_DB))]
    if snr is not None:
        rms = np.sqrt(np.mean(clip[start:start + len(speech)] ** 2))
        clip += _noise(rng, CLIP_SAMPLES) * rms * 10 ** (-snr / 20)
    return clip, int(start), int(start + len(speech))


def background(rng: np.random.Generator) -> np.ndarray:
    """A 1 s clip of noise only, from near-silence to loud."""
    return _noise(rng, CLIP_SAMPLES) * 10 ** (rng.uniform(-70, -15) / 20)


@dataclass
class Corpus:
    """Unscaled MFCC sequences (N, 98, 13) with labels (0 = yes, 1 = other), a name per
    clip, and the frames [onset, offset) that overlap the word (both 0 for noise clips;
    0 and the last row where the timing is unknown)."""
    mfcc: np.ndarray
    labels: np.ndarray
    names: list[str]
    onset: np.ndarray
    offset: np.ndarray

    def scaled(self) -> np.ndarray:
        return features.scale(self.mfcc).astype(np.float32)


def _frames(start: int, end: int) -> tuple[int, int]:
    """Frames [onset, offset) whose 25 ms window overlaps samples [start, end)."""
    onset = max(0, (start - features.FRAME) // features.HOP + 1)
    return onset, -(-end // features.HOP)


def _clips(split: str, rng: np.random.Generator, cache_dir: Path):
    """Yield (name, label, audio, onset, offset) for one split of the espeak corpus."""
    train = split == "train"
    variants = TRAIN_VARIANTS if train else HELD_OUT_VARIANTS
    yes_renders, other_renders, copies = (4, 2, 2) if train else (2, 1, 1)
    for word in (KEYWORD,) + OTHER_WORDS:
        for base in BASE_VOICES:
            for variant in variants:
                for _ in range(yes_renders if word == KEYWORD else other_renders):
                    speed, pitch = int(rng.integers(*SPEEDS)), int(rng.integers(*PITCHES))
                    speech = speak(word, f"{base}+{variant}", speed, pitch, cache_dir)
                    for c in range(copies):
                        name = f"{word}_{base}+{variant}_s{speed}_p{pitch}_{c}"
                        clip, start, end = place(speech, rng)
                        yield (name, int(word != KEYWORD), clip) + _frames(start, end)
    for i in range(400 if train else 60):
        yield f"noise_{i}", 1, background(rng), 0, 0


def espeak_corpus(split: str, cache_dir: Path | None = None) -> Corpus:
    """The fixed espeak-ng corpus for `split` ("train" or "held_out"), built once and cached."""
    cache_dir = cache_dir or pdk_cache_dir()
    key = hashlib.sha256(repr((CORPUS_VERSION, CORPUS_SEED, split, features.N_MELS,
                               features.PRE_EMPHASIS)).encode()).hexdigest()[:12]
    cached = cache_dir / f"kws_{split}_{key}.npz"
    if cached.exists():
        data = np.load(cached)
        return Corpus(data["mfcc"], data["labels"], list(data["names"]), data["onset"],
                      data["offset"])
    rng = np.random.default_rng([CORPUS_SEED, 0 if split == "train" else 1])
    names, labels, seqs, onsets, offsets = [], [], [], [], []
    for name, label, clip, onset, offset in _clips(split, rng, cache_dir):
        names.append(name)
        labels.append(label)
        seqs.append(features.mfcc(clip))
        onsets.append(onset)
        offsets.append(offset)
    corpus = Corpus(np.stack(seqs).astype(np.float32), np.array(labels), names,
                    np.array(onsets), np.array(offsets))
    tmp = temporary_beside(cached)
    np.savez_compressed(tmp, mfcc=corpus.mfcc, labels=corpus.labels, names=np.array(names),
                        onset=corpus.onset, offset=corpus.offset)
    publish(tmp, cached)
    return corpus


def write_held_out_wavs(out_dir: Path, per_class: int, cache_dir: Path | None = None) -> list[Path]:
    """Write `per_class` held-out "yes" clips and as many others as 16 kHz 16-bit WAV files.

    The clips are drawn at random (fixed seed) before any model sees them, so the shipped
    test sequences are not picked for being classified correctly."""
    import scipy.io.wavfile
    cache_dir = cache_dir or pdk_cache_dir()
    clips = list(_clips("held_out", np.random.default_rng([CORPUS_SEED, 1]), cache_dir))
    pick = np.random.default_rng([CORPUS_SEED, 2])
    chosen = []
    for label in (0, 1):
        idx = [i for i, clip in enumerate(clips) if clip[1] == label]
        chosen += sorted(pick.choice(idx, size=per_class, replace=False).tolist())
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in chosen:
        name, audio = clips[i][0], clips[i][2]
        path = out_dir / f"{name.replace('+', '-')}.wav"
        pcm = np.round(np.clip(audio, -1.0, 1.0 - 2 ** -15) * 32768).astype(np.int16)
        scipy.io.wavfile.write(path, features.SAMPLE_RATE, pcm)
        paths.append(path)
    return paths


def speech_commands_split(root: str | Path, split: str) -> list[tuple[Path, int]]:
    """(file, label) pairs of a local Speech Commands copy (`<root>/<word>/*.wav`).

    `split` is "training", "validation" or "testing"; the last two come from
    `validation_list.txt` / `testing_list.txt`, training is every other clip. Folders whose
    name starts with "_" (e.g. `_background_noise_`) are not words and are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, None, "not a directory")
    listed = {}
    for name in ("validation", "testing"):
        path = root / f"{name}_list.txt"
        if not path.exists():
            raise InputError(path, None, "missing: a Speech Commands copy lists its splits there")
        listed[name] = {line.strip() for line in path.read_text().splitlines() if line.strip()}
    if split not in ("training", "validation", "testing"):
        raise InputError(root, "split", f"{split!r}: expected training, validation or testing")
    items = []
    for wav in sorted(root.glob("*/*.wav")):
        word = wav.parent.name
        if word.startswith("_"):
            continue
        rel = f"{word}/{wav.name}"
        in_split = (rel in listed[split] if split != "training"
                    else rel not in listed["validation"] and rel not in listed["testing"])
        if in_split:
            items.append((wav, int(word != KEYWORD)))
    if not items:
        raise InputError(root, split, "no clips in this split")
    return items


def speech_commands_corpus(root: str | Path, split: str) -> Corpus:
    """Unscaled MFCCs of one Speech Commands split, each clip zero-padded or cut to 1 s."""
    items = speech_commands_split(root, split)
    seqs = []
    for wav, _ in items:
        audio, rate = features.read_wav(wav)
        audio = features.resample(audio, rate)[:CLIP_SAMPLES]
        seqs.append(features.mfcc(np.pad(audio, (0, CLIP_SAMPLES - len(audio)))))
    n, rows = len(items), seqs[0].shape[0]
    return Corpus(np.stack(seqs).astype(np.float32), np.array([label for _, label in items]),
                  [f"{wav.parent.name}/{wav.stem}" for wav, _ in items],
                  np.zeros(n, dtype=np.int64), np.full(n, rows - 1))
