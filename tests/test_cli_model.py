"""`bmru model run` as a user runs it: a subprocess. Good input writes software.csv
atomically; every bad input exits 2 with one stderr line naming file and field, no
traceback and no output directory."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from flows.bmru.model import run_network
from flows.netfile import format_trace_csv
from flows.bmru.network import load_network
from flows.netfile import load_sequence

# The bad-input cases live beside the in-process tests; import them whether or not
# tests/ is a package.
_network_tests = importlib.import_module(f"{__package__}.test_network" if __package__
                                         else "test_network")
BAD_NETWORKS, BAD_SEQUENCES = _network_tests.BAD_NETWORKS, _network_tests.BAD_SEQUENCES

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: One subprocess per case of the issue's list (the full lists run in-process in
#: test_network.py; each subprocess costs ~0.5 s).
ISSUE_NETWORK_CASES = {
    "not_yaml", "wrong_schema", "weight_vs_previous_layer", "bias_length", "weight_nan",
    "bias_inf", "beta_lo_above_beta_hi", "alpha_zero", "beta_lo_negative", "unit_current_zero",
    "unknown_kind", "bad_name", "activation_none_not_last", "skip_from_itself",
    "skip_from_later_layer", "skip_from_different_size"}
ISSUE_SEQUENCE_CASES = {"empty_file", "negative_input", "too_few_columns_in_row",
                        "header_wrong_width", "non_numeric_cell"}
CLI_BAD_NETWORKS = [case for case in BAD_NETWORKS if case[0] in ISSUE_NETWORK_CASES]
CLI_BAD_SEQUENCES = [case for case in BAD_SEQUENCES if case[0] in ISSUE_SEQUENCE_CASES]
#: A valid network with input_size 2 to pair with each bad sequence.
GOOD_NETWORK = EXAMPLES / "flipflop.yaml"
GOOD_SEQUENCE = EXAMPLES / "flipflop_mixed.csv"


def bmru(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_model_run_writes_the_reference_trace(tmp_path):
    out = tmp_path / "run"
    result = bmru("model", "run", GOOD_NETWORK, "--inputs", GOOD_SEQUENCE, "-o", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    network = load_network(GOOD_NETWORK)
    expected = format_trace_csv(run_network(network, load_sequence(GOOD_SEQUENCE, 2)).output)
    text = (out / "software.csv").read_text()
    assert text == expected
    assert text.splitlines()[0] == "step,y0,y1"
    assert len(text.splitlines()) == 1 + len(GOOD_SEQUENCE.read_text().splitlines()) - 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_model_run_replaces_its_old_output_with_identical_bytes(tmp_path):
    out = tmp_path / "run"
    first = bmru("model", "run", GOOD_NETWORK, "--inputs", GOOD_SEQUENCE, "-o", out, cwd=tmp_path)
    content = (out / "software.csv").read_bytes()
    (out / "notes.txt").write_text("mine")  # the user's file beside the outputs
    second = bmru("model", "run", GOOD_NETWORK, "--inputs", GOOD_SEQUENCE, "-o", out, cwd=tmp_path)
    assert first.returncode == second.returncode == 0, second.stderr
    assert (out / "software.csv").read_bytes() == content
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == [".bmru-output.json", "notes.txt", "software.csv"]


def _assert_clean_input_error(result: subprocess.CompletedProcess, filename: str,
                              fieldname: str | None, workdir: Path) -> None:
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bmru model: ")
    assert filename in lines[0]
    if fieldname is not None:
        assert f": {fieldname}: " in lines[0]
    assert "Traceback" not in result.stderr
    assert not (workdir / "out").exists()
    assert not any(p.name.startswith((".out", ".bmru-tmp")) for p in workdir.iterdir())


@pytest.mark.parametrize("case", CLI_BAD_NETWORKS, ids=[c[0] for c in CLI_BAD_NETWORKS])
def test_bad_network_exits_2_with_one_line(case, tmp_path):
    _, text, fieldname, _ = case
    (tmp_path / "bad_net.yaml").write_text(text)
    result = bmru("model", "run", "bad_net.yaml", "--inputs", GOOD_SEQUENCE, "-o", "out",
                  cwd=tmp_path)
    _assert_clean_input_error(result, "bad_net.yaml", fieldname, tmp_path)


@pytest.mark.parametrize("case", CLI_BAD_SEQUENCES, ids=[c[0] for c in CLI_BAD_SEQUENCES])
def test_bad_sequence_exits_2_with_one_line(case, tmp_path):
    _, text, fieldname, _ = case
    (tmp_path / "bad_seq.csv").write_text(text)
    result = bmru("model", "run", GOOD_NETWORK, "--inputs", "bad_seq.csv", "-o", "out",
                  cwd=tmp_path)
    _assert_clean_input_error(result, "bad_seq.csv", fieldname, tmp_path)


def test_case_selection_names_existing_cases():
    assert len(CLI_BAD_NETWORKS) == len(ISSUE_NETWORK_CASES)
    assert len(CLI_BAD_SEQUENCES) == len(ISSUE_SEQUENCE_CASES)


def test_missing_input_file_exits_2(tmp_path):
    result = bmru("model", "run", GOOD_NETWORK, "--inputs", "absent.csv", "-o", "out",
                  cwd=tmp_path)
    _assert_clean_input_error(result, "absent.csv", None, tmp_path)
