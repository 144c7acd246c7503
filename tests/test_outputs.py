"""Outputs are safe (ARCHITECTURE §4): a command writes a new directory or its own earlier
output; it refuses anyone else's non-empty directory unless --force, keeps every file it did
not write, never touches its inputs, and leaves nothing behind when it fails."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flows.errors import InputError
from flows.outdir import MARKER, OutputDir
from tests.conftest import run_bmru

ROOT = Path(__file__).resolve().parents[1]
NETWORK = ROOT / "examples" / "flipflop.yaml"
SEQUENCE = ROOT / "examples" / "flipflop_set.csv"


def _write(out: OutputDir, files: dict[str, str]) -> None:
    with out.write() as tmp:
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- the policy itself

def test_new_directory_gets_outputs_and_marker(tmp_path):
    _write(OutputDir.check(tmp_path / "a" / "b", "demo"), {"x.csv": "1", "sub/y.svg": "2"})
    marker = json.loads((tmp_path / "a" / "b" / MARKER).read_text())
    assert marker["commands"]["demo"]["files"] == ["sub/y.svg", "x.csv"]
    assert _tree(tmp_path / "a" / "b").keys() == {MARKER, "sub/y.svg", "x.csv"}


def test_rerun_replaces_own_files_removes_own_stale_ones_keeps_the_users(tmp_path):
    out = tmp_path / "out"
    _write(OutputDir.check(out, "demo"), {"x.csv": "old", "sub/old.svg": "stale", "gone/z.txt": "z"})
    (out / "notes.txt").write_text("mine")
    (out / "sub" / "user.svg").write_text("mine too")
    _write(OutputDir.check(out, "demo"), {"x.csv": "new"})
    assert (out / "x.csv").read_text() == "new"
    assert not (out / "sub" / "old.svg").exists() and not (out / "gone").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "sub" / "user.svg").read_text() == "mine too"


def test_foreign_non_empty_directory_is_refused_before_work(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty and was not written by 'bmru demo'.*--force"):
        OutputDir.check(tmp_path, "demo")
    other = tmp_path / "other"
    _write(OutputDir.check(other, "compile"), {"a": "1"})
    with pytest.raises(InputError, match="was not written by 'bmru simulate'"):
        OutputDir.check(other, "simulate")


def test_force_adds_files_and_keeps_every_other_file(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "x.csv").write_text("user's x")
    _write(OutputDir.check(tmp_path, "demo", force=True), {"x.csv": "new", "y.csv": "y"})
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "x.csv").read_text() == "new" and (tmp_path / "y.csv").read_text() == "y"


def test_unowned_same_named_file_in_own_directory_needs_force(tmp_path):
    out = tmp_path / "out"
    _write(OutputDir.check(out, "demo"), {"x.csv": "1"})
    (out / "y.csv").write_text("the user's y")
    with pytest.raises(InputError, match="y.csv: was not written by 'bmru demo'"):
        _write(OutputDir.check(out, "demo"), {"x.csv": "2", "y.csv": "2"})
    assert (out / "x.csv").read_text() == "1" and (out / "y.csv").read_text() == "the user's y"
    assert [p.name for p in out.iterdir() if p.name.startswith(".bmru-tmp")] == []


def test_inputs_are_never_overwritten_even_with_force(tmp_path):
    inp = tmp_path / "x.csv"
    inp.write_text("input")
    for force in (False, True):
        with pytest.raises(InputError, match="is an input of this command"):
            _write(OutputDir.check(tmp_path, "demo", force=True, inputs=[inp]), {"x.csv": "output"})
        assert inp.read_text() == "input"
    with pytest.raises(InputError, match="is an input"):
        OutputDir.check(tmp_path, "demo", inputs=[tmp_path])


def test_failure_leaves_previous_contents_and_no_temporary(tmp_path):
    out = tmp_path / "out"
    _write(OutputDir.check(out, "demo"), {"x.csv": "1"})
    before = _tree(out)
    with pytest.raises(RuntimeError):
        with OutputDir.check(out, "demo").write() as tmp:
            (tmp / "x.csv").write_text("half")
            raise RuntimeError("boom")
    assert _tree(out) == before
    fresh = tmp_path / "new" / "deeper"
    with pytest.raises(RuntimeError):
        with OutputDir.check(fresh, "demo").write():
            raise RuntimeError("boom")
    assert not (tmp_path / "new").exists()


def test_a_file_or_directory_in_the_way_is_refused(tmp_path):
    (tmp_path / "f").write_text("a file")
    with pytest.raises(InputError, match="exists and is not a directory"):
        OutputDir.check(tmp_path / "f", "demo")
    with pytest.raises(InputError, match="not a directory"):
        OutputDir.check(tmp_path / "f" / "sub", "demo")
    out = tmp_path / "out"
    _write(OutputDir.check(out, "demo"), {"a": "1"})
    (out / "sub").write_text("user's file named like an output folder")
    (out / "b").mkdir()
    with pytest.raises(InputError, match="is a file where"):
        _write(OutputDir.check(out, "demo"), {"sub/x": "1"})
    with pytest.raises(InputError, match="is a directory where"):
        _write(OutputDir.check(out, "demo"), {"b": "1"})
    assert (out / "sub").read_text().startswith("user's")


def test_relative_and_dot_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(OutputDir.check(".", "demo"), {"x.csv": "1"})
    _write(OutputDir.check(".", "demo"), {"x.csv": "2"})
    assert (tmp_path / "x.csv").read_text() == "2"
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    with pytest.raises(InputError):  # the parent holds another command's files
        OutputDir.check("..", "other")


# ----------------------------------------------------------------------------- every command

def _user_dir(tmp_path: Path) -> Path:
    """A folder holding a user's network, inputs, notes and a sub-folder."""
    d = tmp_path / "work"
    (d / "sub").mkdir(parents=True)
    shutil.copy(NETWORK, d / "net.yaml")
    shutil.copy(SEQUENCE, d / "in.csv")
    (d / "notes.txt").write_text("do not lose me")
    (d / "sub" / "more.txt").write_text("nor me")
    return d


#: Each command writing a directory, run on the user's folder `.`: (arguments, expected output).
COMMANDS = {
    "model run": (["model", "run", "net.yaml", "--inputs", "in.csv"], "software.csv"),
    "features": (["features", "sub/clip.wav"], "clip.csv"),
    "compile": (["compile", "net.yaml", "--no-check"], "flipflop.spice"),
    "simulate": (["simulate", "net.yaml", "--inputs", "in.csv", "--step", "2e-3"], "summary.json"),
    "pvt": (["pvt", "net.yaml", "--inputs", "in.csv", "--corners", "tt", "--temps", "27", "--vdds", "1.8",
             "--step", "2e-3"], "pvt.json"),
    "sweep power": (["sweep", "power", "--dims", "1", "--vectors", "1", "--workers", "1"], "power.json"),
}
#: Refused before any work in a foreign directory (their full runs take minutes; the policy
#: they share is the one exercised above).
REFUSAL_ONLY = {
    "characterize": ["characterize", "mirror"],
    "noise": ["noise", "--layers", "2"],
}


def _add_wav(d: Path) -> None:
    import numpy as np
    import scipy.io.wavfile

    t = np.arange(8000) / 16000
    scipy.io.wavfile.write(d / "sub" / "clip.wav", 16000, (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("int16"))


@pytest.mark.ngspice
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_user_files_survive_every_command(tmp_path, command):
    d = _user_dir(tmp_path)
    _add_wav(d)
    before = _tree(d)
    args, produced = COMMANDS[command]
    refused = run_bmru(*args, "-o", ".", cwd=d)
    assert refused.returncode == 2, refused.stderr
    assert len(refused.stderr.splitlines()) == 1 and "--force" in refused.stderr
    assert _tree(d) == before and not any(p.name.startswith(".bmru-tmp") for p in d.iterdir())
    parent = run_bmru(*args, "-o", "..", cwd=d / "sub")
    assert parent.returncode == 2 and _tree(d) == before
    forced = run_bmru(*args, "-o", ".", "--force", cwd=d)
    assert forced.returncode == 0, forced.stderr
    assert (d / produced).is_file()
    after = _tree(d)
    assert {k: after[k] for k in before} == before, "a user's file or an input changed"
    again = run_bmru(*args, "-o", ".", cwd=d)  # now the command's own directory: no --force needed
    assert again.returncode == 0, again.stderr
    assert {k: v for k, v in _tree(d).items() if k in before} == before


@pytest.mark.parametrize("command", sorted(REFUSAL_ONLY))
def test_long_commands_refuse_a_foreign_directory_before_work(tmp_path, command):
    d = _user_dir(tmp_path)
    before = _tree(d)
    result = run_bmru(*REFUSAL_ONLY[command], "-o", ".", cwd=d, timeout=60)
    assert result.returncode == 2 and "--force" in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1 and _tree(d) == before


def test_train_refuses_to_overwrite_a_file_it_did_not_write(tmp_path):
    (tmp_path / "net.yaml").write_text("schema: bmru-network/1\n")
    result = run_bmru("train", "flipflop", "-o", "net.yaml", "--seed", "1", cwd=tmp_path)
    assert result.returncode == 2 and "was not written by 'bmru train'" in result.stderr
    assert (tmp_path / "net.yaml").read_text() == "schema: bmru-network/1\n"


def test_train_refuses_a_missing_directory_before_training(tmp_path):
    result = run_bmru("train", "r2nn", "--task", "voice", "-o", "runs/net.yaml", cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "runs/net.yaml: its directory runs does not exist" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and not any(tmp_path.iterdir())


@pytest.mark.parametrize("args, problem", [
    (["simulate", "N", "--inputs", "S", "--temp", "500"], "--temp: 500 °C is outside -40 … 125"),
    (["simulate", "N", "--inputs", "S", "--temp", "nan"], "--temp"),
    (["simulate", "N", "--inputs", "S", "--vdd", "3.3"], "--vdd: 3.3 V is outside"),
    (["simulate", "N", "--inputs", "S", "--step", "-1"], "--step"),
    (["simulate", "N", "--inputs", "S", "--seed", "-4"], "--seed"),
    (["simulate", "N", "--inputs", "S", "--corner", "xx"], "invalid choice"),
    (["simulate", "N", "--inputs", "S", "--diode-units", "0"], "--diode-units"),
    (["pvt", "N", "--inputs", "S", "--temps=-50,27"], "--temps"),
    (["pvt", "N", "--inputs", "S", "--vdds", "1.8,2.5"], "--vdds"),
    (["pvt", "N", "--inputs", "S", "--workers", "0"], "--workers"),
    (["pvt", "N", "--inputs", "S", "--corners", "tt,zz"], "--corners"),
    (["sweep", "power", "--workers", "0"], "--workers"),
    (["noise", "--workers", "0"], "--workers"),
    (["characterize", "--workers", "0"], "--workers"),
    (["compile", "N", "--diode-units", "999"], "--diode-units"),
    (["compile", "missing.yaml"], "no such file"),
])
def test_conditions_are_checked_before_any_work(tmp_path, args, problem):
    shutil.copy(NETWORK, tmp_path / "N")
    shutil.copy(SEQUENCE, tmp_path / "S")
    result = run_bmru(*args, "-o", "out", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and problem in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["N", "S"]


def _fill(args) -> None:
    from pdk.cache import write_atomically

    path, text = args
    for _ in range(20):
        write_atomically(path, text)


def test_racing_cache_writers_leave_one_whole_file(tmp_path):
    """Several processes filling the same cache entry (two compiles fetching the DRC deck,
    two trainings rendering the corpus) never see a torn or half-written file."""
    import multiprocessing

    path = tmp_path / "cache" / "entry.txt"
    texts = [str(i) * 50_000 for i in range(4)]
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_fill, [(path, t) for t in texts])
    assert path.read_text() in texts
    assert [p.name for p in path.parent.iterdir()] == ["entry.txt"]


@pytest.mark.klayout
@pytest.mark.ngspice
def test_report_adds_its_files_to_a_build_and_keeps_the_users(tmp_path):
    build = tmp_path / "build"
    assert run_bmru("compile", NETWORK, "--no-check", "-o", build).returncode == 0
    (build / "notes.txt").write_text("mine")
    first = run_bmru("report", build)
    assert first.returncode == 0, first.stderr
    assert (build / "report.html").is_file() and (build / "notes.txt").read_text() == "mine"
    marker = json.loads((build / MARKER).read_text())["commands"]
    assert "report.html" in marker["report"]["files"] and "flipflop.gds" in marker["compile"]["files"]
    assert run_bmru("report", build).returncode == 0  # its own files: replaced
    again = run_bmru("compile", NETWORK, "--no-check", "-o", build)  # compile keeps the report
    assert again.returncode == 0 and (build / "report.html").is_file() and (build / "notes.txt").exists()
    other = tmp_path / "other"
    assert run_bmru("compile", NETWORK, "--no-check", "-o", other).returncode == 0
    (other / "report.md").write_text("the user's own report")
    refused = run_bmru("report", other)
    assert refused.returncode == 2 and "report.md" in refused.stderr and "--force" in refused.stderr
    assert (other / "report.md").read_text() == "the user's own report"
