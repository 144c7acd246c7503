"""The macro's timing as a datasheet states it (manifest `timing`, ARCHITECTURE §4).

Derived from the characterized cells, not from a simulation of the macro:

* a dense stage settles like the step-response block of `cells.dense` (M = STEP_M, steps
  down to STEP_LOW): the slowest 1 % settling time over every corner and temperature in its
  golden (upper band edge). A node's time constant is C·n·U_T/I with C ∝ M unit gates, so a
  stage of M units whose signals must settle at a level I takes that time × (M / STEP_M) ×
  (STEP_LOW / I); I is the smallest realised β_lo (the level a drive must fall below),
  never taken above STEP_LOW;
* stages in series add: one per layer (each layer is one dense block) and one for the output
  stage when the macro has one;
* a BMRU cell then switches in its characterized t_up/t_down (slowest band edge, overdrive
  0.25 nA at the defaults) × 0.25 / TIMING_MARGIN: the drive passes a threshold by at least
  the margin the inputs keep.

Every current scales with the unit current (`iref`), so every time scales with
dense.IREF / unit_current (a node's C·n·U_T/I, deep in weak inversion; measured in
tests/test_frame_rate.py).

Post-layout (`wiring_slowdown` of every net's extracted capacitance, flows.postlayout): a node's time
constant grows with its capacitance, so each stage's time is multiplied by (device +
wiring) / device capacitance summed over its gate lines (`stage_factors`; the device part
is the transistors' terminal capacitances, `device_capacitance`), and the BMRU switching
time by the slowdown the cells' wiring gives the characterized cell in ngspice
(`switching_factor`: a switching node's capacitance in the circuit is several times what
its transistors show alone).

step_s is that sum rounded up to 0.5 ms: the shortest time one input row may be held. A
macro compiled for a frame rate (`--frame-rate`, flows.bmru.circuit.frame_rate_circuit)
holds each row one frame instead: step_s = 1 / frame rate ≥ settling_s.
"""
from __future__ import annotations

import functools
import math
import re

from cells import bmru, dense
from flows.bmru.network import BmruLayer
from pdk.datasheet import load_golden

#: Distance (software units) the inputs keep from every threshold (issue 14's users: 0.06).
TIMING_MARGIN = 0.06
#: Level (software units = nA at 1 nA per unit) the characterized steps settle down to.
STEP_LOW = min(min(row) for row in dense.STEP_ROWS) / dense.IREF
#: Overdrive of the characterized BMRU switching step (1.25·β_hi − β_hi at β_hi = 1 nA), units.
BMRU_OVERDRIVE = 0.25
#: step_s is rounded up to a multiple of this.
STEP_GRID = 0.5e-3


def _slowest(golden: dict, spec: str) -> tuple[float, str]:
    """(upper band edge, condition) of the slowest entry of a golden spec."""
    bands = golden["specs"][spec]["bands"]
    label = max(bands, key=lambda c: bands[c]["max"])
    return float(bands[label]["max"]), label


@functools.lru_cache(maxsize=1)
def _characterized() -> tuple[float, str, float]:
    """The frozen goldens this derivation reads, once per process (the dense golden alone
    takes ≈ 0.35 s to parse): slowest dense settling (ms) with its condition, and the
    slowest BMRU switching time (µs)."""
    stage_ms, stage_label = _slowest(load_golden(dense.GOLDEN), "step_settling")
    cell = load_golden(bmru.GOLDEN)
    switch_us = max(_slowest(cell, "t_up")[0], _slowest(cell, "t_down")[0])
    return stage_ms, stage_label, switch_us


def device_capacitance(circuit) -> dict[str, float]:
    """The transistors' capacitance (F) on every net of the macro (pdk.parasitics
    terminal_capacitances), by the flattened name the extracted wiring uses: a port's net,
    or `<instance>.<net>` inside a block, lower case."""
    caps: dict[str, float] = {}
    for block, device, terminal in _placed_devices(circuit):
        if device.d == device.g:
            _add(caps, block, device.g, terminal.diode)
        else:
            _add(caps, block, device.g, terminal.gate)
            _add(caps, block, device.d, terminal.drain)
        _add(caps, block, device.s, terminal.drain)
    return caps


def _placed_devices(circuit):
    """(block, device, its TerminalCapacitance) of every transistor of the macro."""
    from cells.netlist import Device
    from pdk.parasitics import terminal_capacitances

    placed = [(block, device) for block in circuit.blocks for device in block.cell.devices()
              if isinstance(device, Device)]
    measured = terminal_capacitances(tuple(sorted({(d.device, d.w, d.l) for _, d in placed})))
    return [(block, device, measured[(device.device, device.w, device.l)]) for block, device in placed]


def _net_name(block, net: str) -> str:
    return (block.nets[net] if net in block.nets else f"{block.name}.{net}").lower()


def _add(caps: dict[str, float], block, net: str, farad: float) -> None:
    name = _net_name(block, net)
    caps[name] = caps.get(name, 0.0) + farad


def gate_lines(circuit) -> set[str]:
    """The nets whose charging sets a stage's time: the unit devices' gate lines (a stage's
    time ∝ its unit gates, the M / STEP_M scaling)."""
    from pdk.unit import NMOS

    return {_net_name(block, device.g) for block, device, _ in _placed_devices(circuit)
            if device.w * device.l >= NMOS.w * NMOS.l}


def _stage_of(net: str, stages: int) -> int | None:
    """The stage whose settling charges `net`: layer L's blocks and signals are stage L, the
    macro inputs stage 0, the output stage and pins the last; None for supplies and the
    bias tree's lines, which are held."""
    layer = re.match(r"l(\d+)_", net)
    if layer:
        return int(layer.group(1))
    if re.match(r"d?in\d+", net):
        return 0
    if re.match(r"(output_stage\.|out\d+$)", net):
        return stages - 1
    return None


def stage_factors(circuit, wiring: dict[str, float], stages: int) -> list[float]:
    """Each stage's (device + wiring) / device capacitance over its gate lines."""
    device = device_capacitance(circuit)
    totals = [[0.0, 0.0] for _ in range(stages)]
    for net in gate_lines(circuit):
        stage = _stage_of(net, stages)
        if stage is not None:
            totals[stage][0] += device.get(net, 0.0)
            totals[stage][1] += wiring.get(net, 0.0)
    return [1.0 + wire / dev if dev > 0 else 1.0 for dev, wire in totals]


def switching_factor(circuit, wiring: dict[str, float]) -> float:
    """How much slower BMRU switching is with the cells' wiring: the characterized cell's step
    (`cells.bmru.step_deck`) at the golden's slowest t_up and t_down points, with and without
    the largest wiring any cell has on each of its SWITCHING_NODES, in ngspice; the larger
    ratio of the two times. Measured because gain (Miller) makes a switching node's
    capacitance several times what its transistors show alone."""
    from cells.bmru import IREF, SWITCHING_NODES, TREE, BmruCell, step_deck, switching_times
    from pdk.models import Conditions
    from pdk.ngspice import Job, simulate_many

    cells = [b.name for b in circuit.blocks if isinstance(b.cell, BmruCell)]
    if not cells:
        return 1.0
    load = {n: max(wiring.get(f"{cell}.{n}".lower(), 0.0) for cell in cells) for n in SWITCHING_NODES}
    cell = load_golden(bmru.GOLDEN)
    points = {spec: _slowest(cell, spec)[1] for spec in ("t_up", "t_down")}
    jobs = []
    for spec, label in points.items():
        corner, temp, vdd = label.split()
        condition = Conditions(corner, temp=float(temp[:-1]), vdd=float(vdd[:-1]))
        for wired in (False, True):
            jobs.append(Job(f"switch_{spec}_{wired}", step_deck(BmruCell(), condition, loads=load if wired else None)))
    plots = simulate_many(jobs, progress=False)
    alpha = BmruCell().alpha(IREF * TREE.pmos_unit_ratio())
    ratios = []
    for index, spec in enumerate(points):
        bare, wired = (switching_times(plots[f"switch_{spec}_{w}"][0], alpha)[index] for w in (False, True))
        ratios.append(wired / bare)
    return max(1.0, *ratios)


def _stages(circuit) -> int:
    """Stages in series: one per layer, plus the output stage when the macro has one."""
    return len(circuit.network.layers) + any(b.name == "output_stage" for b in circuit.blocks)


def wiring_slowdown(circuit, wiring: dict[str, float]) -> dict:
    """What the drawn wiring (net → extracted capacitance, F) does to the derivation:
    `stage_factors`, `bmru_factor` (`switching_factor`), the extracted nets and the signal
    wiring. Ratios of capacitances and of simulated times: independent of the unit current,
    so one evaluation serves every current a macro with these devices is tried at."""
    stages = _stages(circuit)
    return {"stage_factors": stage_factors(circuit, wiring, stages), "bmru_factor": switching_factor(circuit, wiring),
            "nets": len(wiring), "wiring_F": sum(c for net, c in wiring.items() if _stage_of(net, stages) is not None)}


def macro_timing(circuit, slowdown: dict | None = None) -> dict:
    """manifest.json `timing` of a built circuit (flows.bmru.circuit.Circuit), post-layout
    with the `slowdown` its drawn wiring gives (`wiring_slowdown`)."""
    stage_ms, stage_label, switch_us = _characterized()
    corner = " ".join(stage_label.split()[2:])  # "out0 common2 ss -40C 1.8V" → the PVT point
    m = circuit.notes["weight_diode_units"]
    lows = [float(min(layer.beta_lo)) for layer in circuit.mapping.mapped.layers if isinstance(layer, BmruLayer)]
    level = min([STEP_LOW] + lows)
    stages = _stages(circuit)
    current = dense.IREF / circuit.network.unit_current
    per_stage = stage_ms * 1e-3 * (m / dense.STEP_M) * (STEP_LOW / level) * current
    switch = switch_us * 1e-6 * BMRU_OVERDRIVE / TIMING_MARGIN * current if lows else 0.0
    settling = stages * per_stage + switch
    post_layout = None
    if slowdown is not None:
        post_layout = {"pre_layout_settling_s": settling, **slowdown}
        settling = per_stage * sum(slowdown["stage_factors"]) + switch * slowdown["bmru_factor"]
    frame = circuit.notes.get("frame_rate")
    if frame:
        step = 1.0 / frame["frame_rate_hz"]
    else:
        step = round(math.ceil(settling / STEP_GRID - 1e-9) * STEP_GRID, 6)
    return {"step_s": step, "settling_s": settling, "max_input_rate_hz": 1.0 / step, "corner": corner,
            **({"frame_rate": frame} if frame else {}), **({"post_layout": post_layout} if post_layout else {}),
            "derivation": {"stages": stages, "stage_settling_s": per_stage, "bmru_switching_s": switch,
                           "diode_units": m, "unit_current_A": circuit.network.unit_current,
                           "settle_level_units": level, "margin_units": TIMING_MARGIN,
                           "characterized": {"dense_step_settling_ms": stage_ms, "dense_step_m": dense.STEP_M,
                                             "dense_step_low_units": STEP_LOW, "condition": stage_label}}}


def at_unit_current(timing: dict, static_W: float, current: float) -> tuple[float, float]:
    """(settling s, idle power W) of the macro of `timing` (macro_timing) and `static_W` at
    another unit current: every current scales with iref, so settling ∝ 1/current and
    power ∝ current (the mapping held fixed; tests/test_frame_rate.py measures both)."""
    ratio = current / timing["derivation"]["unit_current_A"]
    return timing["settling_s"] / ratio, static_W * ratio
