"""KWS data: the Speech Commands folder loader on a tiny espeak tree, and corpus helpers."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from flows.bmru import features, kws_data
from flows.errors import InputError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng not installed")


@pytest.fixture
def tree(tmp_path):
    """<root>/<word>/*.wav like Speech Commands, with split lists and a noise folder."""
    root = tmp_path / "speech_commands"
    clips = {"yes": ["a1", "b2", "c3"], "no": ["a1", "d4"], "stop": ["e5"],
             "_background_noise_": ["white"]}
    for word, speakers in clips.items():
        (root / word).mkdir(parents=True)
        for speaker in speakers:
            text = "noise" if word.startswith("_") else word
            subprocess.run(["espeak-ng", "-v", "en+m3", "-w", str(root / word / f"{speaker}.wav"),
                            text], check=True, capture_output=True)
    (root / "validation_list.txt").write_text("yes/b2.wav\nno/d4.wav\n")
    (root / "testing_list.txt").write_text("yes/c3.wav\n")
    return root


@needs_espeak
def test_splits_follow_the_lists_and_skip_noise(tree):
    def rel(items):
        return sorted((f"{p.parent.name}/{p.name}", label) for p, label in items)

    assert rel(kws_data.speech_commands_split(tree, "validation")) == [("no/d4.wav", 1),
                                                                       ("yes/b2.wav", 0)]
    assert rel(kws_data.speech_commands_split(tree, "testing")) == [("yes/c3.wav", 0)]
    assert rel(kws_data.speech_commands_split(tree, "training")) == [
        ("no/a1.wav", 1), ("stop/e5.wav", 1), ("yes/a1.wav", 0)]


@needs_espeak
def test_corpus_is_one_second_of_features_per_clip(tree):
    corpus = kws_data.speech_commands_corpus(tree, "training")
    assert corpus.mfcc.shape == (3, 98, 13)
    assert corpus.names == ["no/a1", "stop/e5", "yes/a1"]
    np.testing.assert_array_equal(corpus.labels, [1, 1, 0])
    np.testing.assert_array_equal(corpus.offset, [97, 97, 97])   # timing unknown: last row
    # espeak's clip is shorter than 1 s: the padding is digital silence (the log floor)
    assert corpus.mfcc[0, -1, 0] == pytest.approx(features.mfcc(np.zeros(400))[0, 0])
    scaled = corpus.scaled()
    assert scaled.dtype == np.float32 and 0.0 <= scaled.min() and scaled.max() <= 1.0


def test_bad_trees_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not a directory"):
        kws_data.speech_commands_split(tmp_path / "missing", "training")
    (tmp_path / "yes").mkdir()
    with pytest.raises(InputError, match="validation_list.txt"):
        kws_data.speech_commands_split(tmp_path, "training")
    (tmp_path / "validation_list.txt").write_text("")
    (tmp_path / "testing_list.txt").write_text("")
    with pytest.raises(InputError, match="no clips"):
        kws_data.speech_commands_split(tmp_path, "training")
    with pytest.raises(InputError, match="expected training"):
        kws_data.speech_commands_split(tmp_path, "train")


@needs_espeak
def test_speak_caches_its_rendering(tmp_path):
    first = kws_data.speak("yes", "en+f2", 150, 50, tmp_path)
    cached = list((tmp_path / "espeak").iterdir())
    assert [p.name for p in cached] == ["en+f2_150_50_yes.wav"]
    mtime = cached[0].stat().st_mtime_ns
    np.testing.assert_array_equal(kws_data.speak("yes", "en+f2", 150, 50, tmp_path), first)
    assert cached[0].stat().st_mtime_ns == mtime


def test_placed_word_lies_within_its_onset_and_offset_frames():
    rng = np.random.default_rng(0)
    speech = np.where(np.arange(6000) % 2, 0.5, -0.5)   # nothing for _trim to cut
    for _ in range(20):
        clip, start, end = kws_data.place(speech, rng)
        assert clip.shape == (16000,) and end - start == 6000
        assert end <= 16000 - 1600                  # ≥ 100 ms of trailing audio
        onset, offset = kws_data._frames(start, end)
        frames = features.FRAME + features.HOP * np.arange(98)[:, None]
        window_start, window_end = frames - features.FRAME, frames
        overlaps = (window_start < end) & (window_end > start)
        np.testing.assert_array_equal(np.flatnonzero(overlaps[:, 0]), np.arange(onset, offset))


@needs_espeak
def test_train_kws_on_a_speech_commands_tree(tree, tmp_path, capsys):
    pytest.importorskip("torch")
    from flows.cli import main
    from flows.bmru.network import load_network

    out = tmp_path / "sc.yaml"
    assert main(["train", "kws", "-o", str(out), "--seed", "0", "--epochs", "1", "--hidden", "4",
                 "--state", "2", "--speech-commands", str(tree)]) == 0
    network = load_network(out)
    assert (network.input_size, network.output_size) == (13, 2)
    assert f"--speech-commands {tree}" in out.read_text().splitlines()[0]
    printed = capsys.readouterr().out
    # the tiny testing split holds one "yes" and no other clip: no recall for "other"
    assert "held_out_yes_recall" in printed and "held_out_other_recall" not in printed
