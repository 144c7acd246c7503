"""The verdict leads: the printed line and the report's first table judge a run against the
network (states, decision, output error of range), and say so when there is nothing to judge."""
from __future__ import annotations

import numpy as np

from flows.bmru.report import verdict_section
from flows.report import Simulation
from flows.bmru.simulate import headline, verdict


def _summary(states: float | None, mapped: float | None, decision: bool, error: float) -> dict:
    agreement = {"steps": 98, "decision_agrees": decision, "range_error_max": error, "range_error_mean": error / 4}
    states_block = {"agreement": states, "mapped_agreement": mapped}
    return {"network": "net", "conditions": "tt 27C 1.8V", "agreement": agreement, "states": states_block,
            "verdict": verdict(agreement, states_block, error / 2), "power": {"total_W": 1.2e-7}}


def test_a_run_passes_on_states_and_decision():
    assert _summary(0.995, 1.0, True, 0.3)["verdict"]["pass"]
    assert not _summary(0.889, 0.986, True, 0.619)["verdict"]["pass"]  # kws_d4 on one "yes" sequence
    assert not _summary(1.0, 1.0, False, 0.01)["verdict"]["pass"]
    assert _summary(None, None, True, 0.02)["verdict"]["pass"]  # no BMRU cell: the decision decides


def test_the_line_leads_with_the_verdict():
    line = headline(_summary(0.889, 0.986, True, 0.619))
    assert line == ("net (tt 27C 1.8V, 98 steps): FAIL: BMRU states agree 88.9 % with the network (goal 99 %), "
                    "98.6 % with the mapped model; decision agrees; output error ≤ 61.9 % of range (mean 15.5 %); "
                    "average power 120.00 nW")
    assert headline(_summary(None, None, False, 0.02)).startswith(
        "net (tt 27C 1.8V, 98 steps): FAIL: decision DIFFERS; output error ≤ 2.0 % of range")


def test_the_first_table_is_the_verdict():
    empty = np.zeros((1, 1))
    runs = [Simulation("yes", _summary(0.889, 0.986, True, 0.619), empty, empty),
            Simulation("old", {"conditions": "tt 27C 1.8V"}, empty, empty)]
    lines = verdict_section(runs)
    assert lines[0] == "## Verdict against the network"
    assert lines[4] == "| yes | tt 27C 1.8V | 88.90 % | 98.60 % | agrees | 61.90 % (mapped model: 30.95 %) | FAIL |"
    assert "re-run bmru simulate" in lines[5]
    assert "bmru simulate NET" in verdict_section([])[2]
