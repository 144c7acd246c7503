"""The ngspice runner: vectors out, one clear exception naming deck and line on failure."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pdk import engines
from pdk.devices import instance
from pdk.models import Conditions
from pdk.ngspice import Job, SimulationError, simulate, simulate_many

pytestmark = pytest.mark.ngspice

DIVIDER = "* divider\nV1 a 0 1.8\nR1 a b 1k\nR2 b 0 2k\n"


def test_operating_point_and_sweep_vectors():
    plots = {p.name: p for p in simulate(DIVIDER + ".op\n.dc V1 0 1.8 0.6\n", "divider")}
    assert set(plots) == {"Operating Point", "DC transfer characteristic"}
    assert plots["Operating Point"]["v(b)"][0] == pytest.approx(1.2)
    np.testing.assert_allclose(plots["DC transfer characteristic"]["v(b)"], [0, 0.4, 0.8, 1.2], atol=1e-12)


def test_transient_has_time_vector():
    plot = simulate("* rc\nV1 a 0 PULSE(0 1 0 1n 1n 1 2)\nR1 a b 1k\nC1 b 0 1n\n.tran 0.1u 10u\n", "rc")[0]
    assert plot["time"][-1] == pytest.approx(10e-6)
    assert plot["v(b)"][-1] == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("broken, line_part, message_part", [
    (instance("M", "nfet_01v8", "d", "g", "0", "0", 1, 1).replace("nfet_01v8", "nfet_bogus"),
     "nfet_bogus", "unknown subckt"),
    ("Vg g 0 0.5 nonsense", "vg g 0 0.5 nonsense", "unknown parameter"),
])
def test_errors_name_the_deck_and_the_offending_line(broken, line_part, message_part):
    deck = Conditions().lines() + broken + "\n.op\n"
    with pytest.raises(SimulationError) as err:
        simulate(deck, "broken_deck")
    text = str(err.value).lower()
    assert "broken_deck" in text and line_part in text and message_part in text


def test_analysis_that_silently_yields_nothing_is_an_error():
    with pytest.raises(SimulationError, match=r"\.dc V1 1\.8 0\.6"):
        simulate(DIVIDER + ".dc V1 1.8 0.6\n", "bad_sweep")


def test_non_convergence_is_an_error():
    # a current source into a capacitor-only node has no DC solution
    deck = "* open\nI1 0 a 1m\nC1 a 0 1p\n.op\n"
    with pytest.raises(SimulationError, match="open"):
        simulate(deck, "open")


def test_parallel_jobs_keep_their_names_and_order():
    jobs = [Job(f"j{i}", DIVIDER.replace("1.8", str(i)) + ".op\n") for i in range(1, 6)]
    results = simulate_many(jobs, workers=2, progress=False)
    assert list(results) == [f"j{i}" for i in range(1, 6)]
    for i in range(1, 6):
        assert results[f"j{i}"][0]["v(b)"][0] == pytest.approx(i * 2 / 3)


def test_a_failing_job_in_a_batch_raises():
    jobs = [Job("good", DIVIDER + ".op\n"), Job("bad", DIVIDER + "Rx b\n.op\nX1 a b nothing\n")]
    with pytest.raises(SimulationError, match="bad"):
        simulate_many(jobs, workers=2, progress=False)


def test_keep_going_returns_a_failing_jobs_error_and_runs_the_others():
    jobs = [Job("good", DIVIDER + ".op\n"), Job("bad", DIVIDER + "Rx b\n.op\nX1 a b nothing\n"),
            Job("also_good", DIVIDER.replace("1.8", "0.9") + ".op\n")]
    results = simulate_many(jobs, workers=2, progress=False, keep_going=True)
    assert list(results) == ["good", "bad", "also_good"]
    assert isinstance(results["bad"], SimulationError) and "'bad'" in str(results["bad"])
    assert results["good"][0]["v(b)"][0] == pytest.approx(1.2)
    assert results["also_good"][0]["v(b)"][0] == pytest.approx(0.6)


def test_simulation_error_survives_pickling_with_its_fields():
    """Dask sends a worker's exception back pickled: it must arrive as itself."""
    import pickle
    error = pickle.loads(pickle.dumps(SimulationError("deck", "no convergence", "X1 a b")))
    assert (error.deck, error.message, error.line) == ("deck", "no convergence", "X1 a b")
    assert str(error) == "ngspice failed on deck 'deck': no convergence (at: X1 a b)"


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_jobs_run_on_a_dask_cluster_with_the_same_results(dask_cluster):
    jobs = [Job(f"d{i}", DIVIDER.replace("1.8", str(i)) + ".op\n") for i in range(1, 5)]
    remote = simulate_many(jobs, progress=False, scheduler=dask_cluster)
    local = simulate_many(jobs, progress=False)
    assert list(remote) == list(local) == [j.name for j in jobs]
    for name in local:
        assert remote[name][0]["v(b)"][0] == local[name][0]["v(b)"][0]


def test_a_failing_job_on_dask_raises_the_simulation_error(dask_cluster):
    with pytest.raises(SimulationError, match="broken_remote"):
        simulate_many([Job("broken_remote", DIVIDER + "Xbad a b nothing\n.op\n")], progress=False,
                      scheduler=dask_cluster)


def test_keep_going_on_dask_returns_the_error(dask_cluster):
    jobs = [Job("remote_good", DIVIDER + ".op\n"), Job("remote_bad", DIVIDER + "Xbad a b nothing\n.op\n")]
    results = simulate_many(jobs, progress=False, scheduler=dask_cluster, keep_going=True)
    assert isinstance(results["remote_bad"], SimulationError) and results["remote_bad"].deck == "remote_bad"
    assert results["remote_good"][0]["v(b)"][0] == pytest.approx(1.2)


@pytest.mark.parametrize("threads", [1, 2])
def test_ngspice_openmp_team_is_set_per_job(tmp_path, threads):
    """Debian's spinit asks for 2 threads whatever OMP_NUM_THREADS says; parallel jobs with
    a team each run ~15x slower, so simulate_many gives each job its share of the cores."""
    deck = "t\nv1 a 0 1\nr1 a 0 1k\n.op\n.control\necho omp-team=$num_threads\n.endc\n"
    simulate(deck, name="team", keep=tmp_path, threads=threads)
    assert f"omp-team={threads}" in (tmp_path / "team.log").read_text()


def test_an_unknown_engine_is_named_with_the_choices(monkeypatch):
    monkeypatch.setenv(engines.VARIABLE, "spectre")
    with pytest.raises(SimulationError, match=r"BMRU_ENGINE='spectre' is not an engine; choose one of ngspice, ngspice46"):
        simulate(DIVIDER + ".op\n", "divider")


def test_an_engine_not_installed_names_how_to_install_it(monkeypatch):
    missing = engines.Engine("ngspice46", "/nonexistent/ngspice", how_to_install="'make ngspice46'")
    monkeypatch.setitem(engines.ENGINES, "ngspice46", missing)
    monkeypatch.setenv(engines.VARIABLE, "ngspice46")
    with pytest.raises(SimulationError, match=r"ngspice46 is not installed \(run 'make ngspice46'\)"):
        simulate(DIVIDER + ".op\n", "divider")


def test_engine_options_go_after_the_title_into_the_deck_ngspice_runs(tmp_path, monkeypatch):
    """The Debian engine reads an `.option` line the runner adds (an engine's KLU switch)."""
    echoed = engines.Engine("ngspice", "ngspice", options=(".option reltol=0.0123",))
    monkeypatch.setitem(engines.ENGINES, "ngspice", echoed)
    simulate(DIVIDER + ".op\n", "divider", keep=tmp_path)
    assert (tmp_path / "divider.spice").read_text().splitlines()[:2] == ["* divider", ".option reltol=0.0123"]


@pytest.mark.skipif(not Path(engines.BACKPORTS.binary).is_file(), reason="make ngspice46 not run")
def test_ngspice46_with_klu_gives_debians_answer(monkeypatch):
    deck = "* mirror\n" + Conditions().lines() + "".join(
        instance(f"M{k}", "nfet_01v8", d, "g", "0", "0", 4, 8) + "\n" for k, d in enumerate(("g", "o"))) + (
        "I1 0 g 1n\nV1 o 0 0.5\n.dc I1 0.1n 10n 0.1n\n")
    debian = simulate(deck, "mirror")[0]["i(v1)"]
    monkeypatch.setenv(engines.VARIABLE, engines.BACKPORTS.name)
    np.testing.assert_allclose(simulate(deck, "mirror")[0]["i(v1)"], debian, rtol=1e-4)


def test_the_backports_source_is_read_from_the_machines_apt_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n")
    assert engines.archive("bookworm", tmp_path) == ("http://mirror.example/debian",
                                                     "/usr/share/keyrings/debian-archive-keyring.gpg")
    (tmp_path / "sources.list.d" / "debian.sources").unlink()
    (tmp_path / "sources.list").write_text("# old style\ndeb http://old.example/debian bookworm main contrib\n")
    assert engines.archive("bookworm", tmp_path) == ("http://old.example/debian", "")
    with pytest.raises(RuntimeError, match="no apt source for Debian trixie"):
        engines.archive("trixie", tmp_path)
