"""`bmru pvt`: a tiny grid locally and on a Dask cluster (byte-identical files), yield and
worst-case bookkeeping, the failing-goal exit status, the report section, bad input."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flows.bmru import pvt
from pdk.models import CORNERS, SUPPLIES, TEMPERATURES
from tests.conftest import run_bmru

ROOT = Path(__file__).resolve().parents[1]
FLIPFLOP = ROOT / "examples" / "flipflop.yaml"
# idle first (the cell must start low, h0 = 0), set, idle (hold high), reset, idle (hold low)
SHORT = "x0,x1\n0.06,0.09\n0.8,0.08\n0.05,0.03\n0.07,0.9\n0.04,0.06\n"
TINY = ("--corners", "tt,ss", "--temps=27", "--vdds", "1.8", "--mc", "2", "--workers", "1")
RUNS = ["tt_27C_1.8V", "ss_27C_1.8V", "mc_seed1", "mc_seed2"]


@pytest.fixture(scope="module")
def sequence(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("seq") / "short.csv"
    path.write_text(SHORT)
    return path


@pytest.fixture(scope="module")
def local(tmp_path_factory, sequence) -> Path:
    out = tmp_path_factory.mktemp("pvt") / "local"
    result = run_bmru("pvt", FLIPFLOP, "--inputs", sequence, "-o", out, *TINY)
    assert result.returncode == 0, result.stderr
    assert "| mismatch samples (tt 27 °C 1.8 V) | 2 | 0 | 2 | 100.00 % |" in result.stdout
    return out


def test_grid_covers_corners_temperatures_supplies_and_seeds():
    spec = pvt.PvtSpec(Path("n.yaml"), Path("s.csv"), mc=3, seed=7)
    runs = pvt.grid(spec)
    assert len(runs) == 45 + 3 and len({name for name, _, _ in runs}) == len(runs)
    points = {(c.corner, c.temp, c.vdd) for _, kind, c in runs if kind == pvt.PVT}
    assert points == {(c, t, v) for c in CORNERS for t in TEMPERATURES for v in SUPPLIES}
    samples = [c for _, kind, c in runs if kind == pvt.MC]
    assert [c.seed for c in samples] == [7, 8, 9]
    assert all(c.mismatch and (c.corner, c.temp, c.vdd) == ("tt", 27.0, 1.8) for c in samples)
    assert not any(c.mismatch for _, kind, c in runs if kind == pvt.PVT)


def _row(name: str, kind: str, agreement: float, power: float, error: float = 0.01) -> dict:
    score = {"corner": "tt", "temp_c": 27.0, "vdd_v": 1.8, "mismatch_seed": None,
             "agreement": {"relative_error_max": error, "decision_agrees": True},
             "states": {"agreement": agreement, "disagreements": round((1 - agreement) * 200),
                        "mapped_agreement": 1.0},
             "power": {"total_W": power}}
    return pvt.record(name, kind, score)


def test_yield_counts_runs_at_or_above_99_percent_and_finds_worst_cases():
    rows = [_row("a", pvt.PVT, 1.0, 5e-9), _row("b", pvt.PVT, 0.99, 7e-9, error=0.2),
            _row("c", pvt.PVT, 0.985, 6e-9)]
    rows += [_row(f"m{i}", pvt.MC, 1.0, power) for i, power in enumerate((4e-9, 5e-9, 6e-9))]
    spec = pvt.PvtSpec(Path("n.yaml"), Path("s.csv"), corners=("tt",), temps=(27.0,), vdds=(1.8,), mc=3)
    result = pvt.summarize("net", 200, 1, rows, spec)
    assert [r["pass"] for r in rows[:3]] == [True, True, False]
    assert result["yield"]["pvt"] == {"runs": 3, "passed": 2, "fraction": pytest.approx(2 / 3), "failed": 0}
    assert result["yield"]["mc"] == {"runs": 3, "passed": 3, "fraction": 1.0, "failed": 0}
    assert result["worst"]["pvt"]["state_agreement"] == {"value": 0.985, "run": "c"}
    assert result["worst"]["pvt"]["relative_error_max"] == {"value": 0.2, "run": "b"}
    assert result["worst"]["mc"]["power_max_W"] == {"value": 6e-9, "run": "m2"}
    assert result["worst"]["mc"]["power_min_W"] == {"value": 4e-9, "run": "m0"}
    assert not result["goal"]["every_pvt_point_passes"] and result["goal"]["mc_yield_met"]
    assert not result["goal"]["met"]
    text = "\n".join(pvt.tables(result))
    assert "NOT met" in text and "| 98.50 % | c |" in text


def test_a_run_ngspice_could_not_finish_fails_and_the_study_goes_on(tmp_path):
    from pdk.models import Conditions
    from pdk.ngspice import SimulationError
    rows = [_row("tt_27C_1.8V", pvt.PVT, 1.0, 5e-9),
            pvt.failure("ss_27C_1.8V", pvt.PVT, Conditions("ss", temp=27.0, vdd=1.8),
                        SimulationError("net_ss", "timestep too small")),
            _row("mc_seed1", pvt.MC, 1.0, 4e-9),
            pvt.failure("mc_seed2", pvt.MC, Conditions("tt", mismatch=True, seed=2),
                        SimulationError("net_mc2", "timeout after 900 s"))]
    spec = pvt.PvtSpec(Path("n.yaml"), Path("s.csv"), corners=("tt", "ss"), temps=(27.0,), vdds=(1.8,), mc=2)
    result = pvt.summarize("net", 5, 1, rows, spec)
    assert result["yield"]["pvt"] == {"runs": 2, "passed": 1, "fraction": 0.5, "failed": 1}
    assert result["yield"]["mc"] == {"runs": 2, "passed": 1, "fraction": 0.5, "failed": 1}
    assert not result["goal"]["met"]
    assert result["worst"]["pvt"]["power_max_W"] == {"value": 5e-9, "run": "tt_27C_1.8V"}  # finished runs only
    assert result["mc_power"] == {"mean_W": 4e-9, "std_W": 0.0}
    text = "\n".join(pvt.tables(result))
    assert "- ss_27C_1.8V: ngspice failed on deck 'net_ss': timestep too small" in text
    assert "| mismatch samples (tt 27 °C 1.8 V) | 1 | 1 | 2 | 50.00 % |" in text
    images = pvt.figures(result, tmp_path)
    assert set(images) == set(pvt.FIGURES)
    md = pvt.markdown(result, images)
    assert "| ss_27C_1.8V | ss | 27 °C | 1.8 V |  | n/a | n/a | n/a | n/a | — | — | NO (ngspice failed) |" in md


@pytest.mark.ngspice
def test_tiny_grid_runs_every_job_and_writes_tables_and_plots(local):
    data = json.loads((local / "pvt.json").read_text())
    assert [r["run"] for r in data["runs"]] == RUNS
    assert data["steps"] == 5 and data["bmru_cells"] == 1
    assert [(r["corner"], r["mismatch_seed"]) for r in data["runs"]] == [("tt", None), ("ss", None),
                                                                         ("tt", 1), ("tt", 2)]
    for r in data["runs"]:
        # the flip-flop keeps ≥ 0.19 units from its thresholds: every state agrees
        assert r["state_agreement"] == r["state_agreement_mapped"] == 1.0 and r["pass"] and r["decision_agrees"], r
        assert r["relative_error_max"] < 0.10  # measured 1.3–5.4 %
        assert 2e-9 < r["power_W"] < 50e-9
    powers = [r["power_W"] for r in data["runs"]]
    assert len(set(powers)) == 4  # each seed draws its own mismatch sample
    assert data["yield"] == {"pvt": {"runs": 2, "passed": 2, "fraction": 1.0, "failed": 0},
                             "mc": {"runs": 2, "passed": 2, "fraction": 1.0, "failed": 0},
                             "all": {"runs": 4, "passed": 4, "fraction": 1.0, "failed": 0}}
    assert data["worst"]["pvt"]["power_max_W"]["value"] == max(powers[:2])
    assert data["goal"]["met"]
    md = (local / "pvt.md").read_text()
    assert "| PVT points (2 corners × 1 temperature × 1 supply voltage) | 2 | 0 | 2 | 100.00 % |" in md
    assert all(f"| {name} |" in md for name in RUNS)
    for figure in pvt.FIGURES.values():
        assert (local / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.ngspice
def test_a_run_past_its_timeout_fails_with_its_error_and_the_files_are_written(sequence, tmp_path):
    out = tmp_path / "timeout"
    result = run_bmru("pvt", FLIPFLOP, "--inputs", sequence, "-o", out, "--corners", "tt,ss", "--temps=27",
                      "--vdds", "1.8", "--workers", "1", "--timeout", "0.01")
    assert result.returncode == 1, result.stderr
    data = json.loads((out / "pvt.json").read_text())
    assert [r["error"] for r in data["runs"]] == [
        f"ngspice failed on deck 'flipflop_{c}_27C_1.8V': timed out after 0.01 s" for c in ("tt", "ss")]
    assert data["yield"]["pvt"] == {"runs": 2, "passed": 0, "fraction": 0.0, "failed": 2}
    assert "| PVT points (2 corners × 1 temperature × 1 supply voltage) | 0 | 2 | 2 | 0.00 % |" in result.stdout
    assert (out / "pvt.md").is_file() and (out / "pvt_grid.png").is_file()


@pytest.mark.ngspice
def test_dask_cluster_gives_byte_identical_results(local, sequence, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        result = run_bmru("pvt", FLIPFLOP, "--inputs", sequence, "-o", out, *TINY,
                          "--scheduler", cluster.scheduler_address)
    assert result.returncode == 0, result.stderr
    for name in ("pvt.json", "pvt.md"):
        assert (out / name).read_bytes() == (local / name).read_bytes()


@pytest.mark.ngspice
def test_failing_goal_exits_1_with_every_file_written(sequence, tmp_path):
    """20 µs per row is far below the cell's ≈ 150 µs switching time: states lag the model."""
    out = tmp_path / "fast"
    result = run_bmru("pvt", FLIPFLOP, "--inputs", sequence, "-o", out, "--corners", "tt", "--temps=27",
                      "--vdds", "1.8", "--workers", "1", "--step", "2e-5")
    assert result.returncode == 1
    assert result.stderr.strip() == "bmru pvt: yield goal not met (see the tables above)"
    data = json.loads((out / "pvt.json").read_text())
    assert data["runs"][0]["state_agreement"] < 0.99 and not data["runs"][0]["pass"]
    assert not data["goal"]["met"] and (out / "pvt.md").is_file() and (out / "pvt_grid.png").is_file()


@pytest.mark.ngspice
def test_build_report_shows_the_pvt_section(local, tmp_path):
    build = tmp_path / "build"
    result = run_bmru("compile", FLIPFLOP, "-o", build, "--no-check")
    assert result.returncode == 0, result.stderr
    shutil.copytree(local, build / "pvt")
    result = run_bmru("report", build)
    assert result.returncode == 0, result.stderr
    md = (build / "report.md").read_text()
    assert "## PVT and mismatch yield" in md and "| all | 4 | 0 | 4 | 100.00 % |" in md
    page = (build / "report.html").read_text()
    assert all(f'alt="{title}" src="data:image/png;base64,' in page for title in pvt.FIGURES)


def _dense_only(tmp_path: Path) -> Path:
    path = tmp_path / "dense.yaml"
    path.write_text("schema: bmru-network/1\nname: dense\nunit_current: 1.0e-9\ninput_size: 2\nlayers:\n"
                    "  - kind: dense\n    weight: [[1.0, 0.0], [0.0, 1.0]]\n    activation: none\n")
    return path


@pytest.mark.parametrize("case, args, field", [
    ("corner", ("--corners", "tt,xx"), "--corners"),
    ("temps", ("--temps=27,abc",), "--temps"),
    ("vdd", ("--vdds", "2.5"), "--vdds"),
    ("mc", ("--mc", "-1"), "--mc"),
    ("workers", ("--workers", "0"), "--workers"),
    ("timeout", ("--timeout", "0"), "--timeout"),
    ("timeout nan", ("--timeout", "nan"), "--timeout"),
    ("no bmru", ("NET:dense",), "has no bmru layer"),
    ("sequence", ("SEQ:bad",), "header"),
])
def test_bad_input_exits_2_with_one_line_and_no_output(case, args, field, sequence, tmp_path):
    network, inputs, extra = FLIPFLOP, sequence, list(args)
    if args == ("NET:dense",):
        network, extra = _dense_only(tmp_path), []
    if args == ("SEQ:bad",):
        inputs, extra = tmp_path / "bad.csv", []
        inputs.write_text("a,b\n1,2\n")
    out = tmp_path / "out"
    result = run_bmru("pvt", network, "--inputs", inputs, "-o", out, "--corners", "tt", "--temps=27",
                      "--vdds", "1.8", *extra)
    assert result.returncode == 2, (case, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1 and field in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".out*"))


@pytest.mark.slow
@pytest.mark.ngspice
def test_flipflop_passes_every_pvt_point_and_its_mismatch_samples(tmp_path):
    """Issue 7 goal on the flip-flop: 45 PVT points + 20 mismatch samples, all passing."""
    out = tmp_path / "full"
    result = run_bmru("pvt", FLIPFLOP, "--inputs", ROOT / "examples" / "flipflop_set.csv", "-o", out,
                      "--mc", "20", "--workers", "2", timeout=3600)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((out / "pvt.json").read_text())
    assert data["yield"]["pvt"] == {"runs": 45, "passed": 45, "fraction": 1.0}
    assert data["yield"]["mc"]["fraction"] >= 0.99
