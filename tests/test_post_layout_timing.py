"""Post-layout timing (flows.bmru.timing with `wiring`): the manifest's timing from the drawn
macro — device capacitances measured in ngspice, wiring extracted from the GDS, the BMRU
switching slowdown simulated — checked against post-layout transients."""
from __future__ import annotations

import json
from pathlib import Path

import klayout.db as db
import numpy as np
import pytest

from flows.bmru.circuit import build_circuit
from flows.bmru.network import load_network
from flows.bmru.random_networks import random_user_case
from flows.bmru.timing import device_capacitance, gate_lines, macro_timing, stage_factors, switching_factor
from pdk import lvs, parasitics
from pdk.unit import NMOS, PMOS
from tests.conftest import run_bmru

pytestmark = [pytest.mark.ngspice, pytest.mark.klayout]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FLIPFLOP = EXAMPLES / "flipflop.yaml"


def test_terminal_capacitances_make_physical_sense():
    """Unit devices in weak inversion: a diode tens of fF (gate area × a fraction of Cox),
    a gate whose drain is held more than a diode (Miller on C_gd), a drain without junction
    area (the instances carry no AD/AS) a few fF; the small logic devices far less."""
    geometries = (("nfet_01v8", NMOS.w, NMOS.l), ("pfet_01v8", PMOS.w, PMOS.l), ("nfet_01v8", 0.42, 1.0))
    caps = parasitics.terminal_capacitances(geometries)
    unit_n, unit_p, small = (caps[g] for g in geometries)
    assert 50e-15 < unit_n.diode < 100e-15 and 80e-15 < unit_p.diode < 160e-15
    for c in (unit_n, unit_p, small):
        assert c.gate > c.diode > 5 * c.drain > 0
    assert small.diode < unit_n.diode / 20


def _brute_force(regions: dict, dbu: float) -> dict[str, float]:
    """The overlap terms by one Boolean per net against every other net's shapes."""
    coeff = parasitics.coefficients()
    conductors = parasitics.CONDUCTORS
    merged = {c: {n: r[c].merged() for n, r in regions.items() if not r[c].is_empty()} for c in conductors}
    total = {}
    for net in regions:
        value = 0.0
        for k, c in enumerate(conductors):
            shape = merged[c].get(net)
            if shape is None:
                continue
            covered = 0.0
            for other_layer, key, counts in ((k - 1, (c, conductors[k - 1]) if k else None, True),
                                             (k + 1, (conductors[k + 1], c) if k + 1 < len(conductors) else None, False)):
                if key is None or key not in coeff.overlap:
                    continue
                others = db.Region()
                for other, region in merged[conductors[other_layer]].items():
                    if other != net:
                        others += region
                area = (shape & others).area() * dbu * dbu
                covered += area if counts else 0.0
                value += area * coeff.overlap[key] * parasitics.AF
            value += ((shape.area() * dbu * dbu - covered) * coeff.area[c]
                      + shape.perimeter() * dbu * coeff.perimeter[c]) * parasitics.AF
        total[net] = value
    return total


def test_binned_extraction_equals_the_brute_force_booleans(tmp_path):
    out = tmp_path / "ff"
    assert run_bmru("compile", FLIPFLOP, "--no-check", "-o", out).returncode == 0
    regions, dbu = parasitics.net_regions(lvs.compared(out / "flipflop.gds", out / "flipflop.spice"))
    binned = parasitics.net_capacitances(regions, dbu)
    reference = _brute_force(regions, dbu)
    assert binned.keys() == reference.keys()
    for net, value in reference.items():
        assert binned[net] == pytest.approx(value, rel=1e-12, abs=1e-24), net


@pytest.mark.parametrize("seed", range(3))
def test_stage_factors_follow_the_capacitance_ratio(seed):
    """No wiring: every factor 1 and the pre-layout settling; wiring equal to the device
    capacitance on every gate line: every stage twice as slow."""
    circuit = build_circuit(random_user_case(seed).network)
    pre = macro_timing(circuit)
    stages = pre["derivation"]["stages"]
    assert stage_factors(circuit, {}, stages) == [1.0] * stages
    device = device_capacitance(circuit)
    doubled = {net: device[net] for net in gate_lines(circuit)}
    assert stage_factors(circuit, doubled, stages) == pytest.approx([2.0] * stages)
    assert switching_factor(circuit, {}) == pytest.approx(1.0)


def test_switching_factor_is_the_simulated_slowdown():
    """27 fF on each switching node of every cell (what the flip-flop's layout gives its
    cell): measured 2.2× (t_up 228 → 500 µs at the golden's slowest point); the static
    capacitance ratio would have said 5×."""
    circuit = build_circuit(load_network(FLIPFLOP))
    cells = [b.name for b in circuit.blocks if "_bmru" in b.name]
    wiring = {f"{cell}.{node}": 27e-15 for cell in cells for node in ("v0", "q")}
    assert 1.8 < switching_factor(circuit, wiring) < 2.7


def test_compiled_timing_is_post_layout_and_covers_the_post_layout_transient(tmp_path):
    """The manifest's timing comes from the drawn flip-flop (slower than before layout),
    the testbench holds rows for it, and a post-layout transient at that step reproduces the
    network with every row settled within it."""
    build = tmp_path / "ff"
    assert run_bmru("compile", FLIPFLOP, "-o", build).returncode == 0
    manifest = json.loads((build / "manifest.json").read_text())
    timing = manifest["timing"]
    post = timing["post_layout"]
    assert post["nets"] > 40 and all(f >= 1.0 for f in post["stage_factors"]) and post["bmru_factor"] > 1.0
    assert timing["settling_s"] > post["pre_layout_settling_s"] and timing["step_s"] >= timing["settling_s"]
    assert manifest["checks"]["lvs"]["clean"]
    bench = (build / "testbench" / "tran_example.spice").read_text()
    assert f"{timing['step_s']:g}" in bench
    for flags, name in (((), "pre"), (("--post-layout",), "post")):
        out = tmp_path / name
        done = run_bmru("simulate", FLIPFLOP, "--inputs", EXAMPLES / "flipflop_mixed.csv", *flags, "-o", out)
        assert done.returncode == 0, done.stderr
        summary = json.loads((out / "summary.json").read_text())
        assert summary["verdict"]["pass"]
        assert summary["settling"]["max_s"] < summary["step_s"]
        if name == "post":
            assert summary["step_s"] == pytest.approx(timing["step_s"])
            assert summary["post_layout"]["nets"] == post["nets"]
        else:
            assert summary["step_s"] == pytest.approx(np.ceil(post["pre_layout_settling_s"] / 5e-4) * 5e-4)


def test_a_frame_rate_takes_the_current_its_wiring_needs(tmp_path):
    """At 100 rows/s the flip-flop needs 0.25 nA before layout; its wiring asks for more,
    with the same devices (LVS clean against the rewritten netlist)."""
    build = tmp_path / "ff"
    assert run_bmru("compile", FLIPFLOP, "--frame-rate", "100", "-o", build).returncode == 0
    manifest = json.loads((build / "manifest.json").read_text())
    frame = manifest["timing"]["frame_rate"]
    assert frame["post_layout"] and manifest["unit_current"] == frame["unit_current_A"] > 2.5e-10
    assert manifest["timing"]["settling_s"] <= 0.01 and manifest["timing"]["step_s"] == pytest.approx(0.01)
    assert manifest["checks"]["lvs"]["clean"] and manifest["checks"]["drc_own"]["clean"]
    assert f"iref takes {frame['unit_current_A']:g} A" in (build / "flipflop.spice").read_text()
