"""Property: whatever a user's network file or input CSV holds (random YAML edits, wrong
types, shapes, magnitudes, encodings, very long names, garbage bytes), a command either runs
or refuses it with exit 2 and one line — never a traceback, never a partial output, never a
changed or deleted file."""
from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.cli import main

ROOT = Path(__file__).resolve().parents[1]
BASE_NETWORK = yaml.safe_load((ROOT / "examples" / "flipflop.yaml").read_text())
BASE_SEQUENCE = (ROOT / "examples" / "flipflop_mixed.csv").read_text()

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e-30, 1e30, -0.0, 0.5, 2, 3]),
    st.text(max_size=20), st.sampled_from(["a" * 300, "kws_d4", "on", "null", "bmru-network/1", "ünï", ""]),
)
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                       max_leaves=8)


def _paths(node, prefix=()):
    """Every place in the parsed YAML a mutation may hit."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


_PATHS = [p for p in _paths(BASE_NETWORK) if p]


@st.composite
def mutated_networks(draw) -> bytes:
    import copy

    data = copy.deepcopy(BASE_NETWORK)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_PATHS))
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete", "scale", "extra"]))
            if action == "delete":
                del parent[path[-1]]
            elif action == "scale" and isinstance(parent[path[-1]], (int, float)):
                parent[path[-1]] = parent[path[-1]] * draw(st.sampled_from([-1, 0, 1e-9, 1e9, 1000]))
            elif action == "extra" and isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=6))] = draw(_values)
            else:
                parent[path[-1]] = draw(_values)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier edit removed this place
    text = yaml.safe_dump(data, allow_unicode=True)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "latin-1", "truncated", "garbage"]))
    if encoding == "truncated":
        return text.encode()[: draw(st.integers(0, len(text)))]
    if encoding == "garbage":
        return draw(st.binary(max_size=200))
    return text.encode(encoding, errors="replace")


@st.composite
def mutated_sequences(draw) -> bytes:
    lines = BASE_SEQUENCE.splitlines()
    kind = draw(st.sampled_from(["same", "cell", "header", "row", "empty", "garbage"]))
    if kind == "cell":
        row = draw(st.integers(1, len(lines) - 1))
        cells = lines[row].split(",")
        cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(
            ["-1", "nan", "inf", "1e308", "", "x", "0x10", " 1", "1,2", "1e-300"]))
        lines[row] = ",".join(cells)
    elif kind == "header":
        lines[0] = draw(st.sampled_from(["x0", "x1,x0", "a,b", "x0,x1,x2", "", "x0;x1"]))
    elif kind == "row":
        lines.insert(draw(st.integers(1, len(lines))), draw(st.sampled_from(["1", "1,2,3", ",", "0,0"])))
    elif kind == "empty":
        lines = []
    elif kind == "garbage":
        return draw(st.binary(max_size=100))
    return ("\n".join(lines) + "\n").encode()


def _run(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    return code, err.getvalue()


def _check(code: int, err: str, work: Path, before: dict[str, bytes], produced: str) -> None:
    assert code in (0, 2), err
    assert "Traceback" not in err
    after = {p.name: p.read_bytes() for p in work.iterdir() if p.is_file()}
    assert after == before, "an input or a user's file changed"
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err
        assert sorted(p.name for p in work.iterdir()) == sorted(before), "partial output left behind"
    else:
        assert (work / "out" / produced).is_file()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=mutated_networks(), sequence=mutated_sequences())
def test_model_run_runs_or_refuses_cleanly(network, sequence):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "net.yaml").write_bytes(network)
        (work / "in.csv").write_bytes(sequence)
        (work / "notes.txt").write_text("mine")
        before = {p.name: p.read_bytes() for p in work.iterdir()}
        code, err = _run(["model", "run", str(work / "net.yaml"), "--inputs", str(work / "in.csv"),
                          "-o", str(work / "out")])
        _check(code, err, work, before, "software.csv")


@pytest.mark.klayout
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=mutated_networks())
def test_compile_runs_or_refuses_cleanly(network):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "net.yaml").write_bytes(network)
        (work / "notes.txt").write_text("mine")
        before = {p.name: p.read_bytes() for p in work.iterdir()}
        code, err = _run(["compile", str(work / "net.yaml"), "--no-check", "-o", str(work / "out")])
        _check(code, err, work, before, "manifest.json")
