"""The BMRU family's sections of `bmru report`: the verdict on BMRU states, the unit current
against settling and power, the unit-device mapping table, the layout cells worth a zoom,
and the PVT study."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from flows.report import Simulation, power_text, table

#: The unit-current plot spans this factor either side of the macro's own.
CURRENT_SPAN = 8.0


def mapping_lines(manifest: dict) -> list[str]:
    """Per layer: M, D and the error bounds of the unit-device mapping."""
    return table(["layer", "kind", "M (weight diode units)", "D (bias diode units)", "weight error bound",
                  "bias error max", "unit devices"],
                 [[s["index"], s["kind"], s["weight_diode_units"], s["bias_diode_units"],
                   f"{s['weight_error_bound']:.4f}", f"{s['bias_error_max']:.4f}", s["device_units"]]
                  for s in manifest["mapping"]["summary"]])


def zoom_cells(manifest: dict) -> dict[str, str]:
    """The cells of the zoomed layout views: the first BMRU cell and the first dense block
    in signal order (instance names from flows.bmru.circuit: l<L>_bmru<i>, l<L>_dense)."""
    zoom = {}
    for key, part in (("layout_bmru", "_bmru"), ("layout_dense", "_dense")):
        cell = next((b["cell"] for b in manifest.get("blocks", []) if part in b["instance"]), None)
        if cell is not None:
            zoom[key] = cell
    return zoom


def verdict_section(simulations: list[Simulation]) -> list[str]:
    """The report's first table: every simulation judged against the network file as
    given (flows.bmru.simulate.verdict), with the numbers it is judged by."""
    from flows.pvt import percent

    lines = ["## Verdict against the network", ""]
    if not simulations:
        return lines + ["No simulation in this build yet: `bmru simulate NET --inputs SEQ -o DIR/simulations/RUN`,"
                        " then `bmru report DIR` again.", ""]
    rows = []
    for sim in simulations:
        v = sim.summary.get("verdict")
        if v is None:
            rows.append([sim.name, sim.summary.get("conditions", ""), "—", "—", "—", "—",
                         "no verdict (summary.json predates it: re-run bmru simulate)"])
            continue
        rows.append([sim.name, sim.summary.get("conditions", ""), percent(v["state_agreement"]),
                     percent(v["state_agreement_mapped"]), "agrees" if v["decision_agrees"] else "DIFFERS",
                     f"{percent(v['output_error_of_range_max'])} (mapped model: "
                     f"{percent(v['output_error_of_range_mapped_max'])})",
                     "PASS" if v["pass"] else "FAIL"])
    goal = next((s.summary["verdict"]["goal_state_agreement"] for s in simulations if "verdict" in s.summary), None)
    lines += table(["run", "conditions", "BMRU states agreeing with the network", "with the mapped model", "decision",
                     "largest output error, of range", "result"], rows)
    if goal is not None:
        lines += ["", f"A run passes when at least {goal * 100:g} % of the BMRU cell states (steps × cells) "
                      "agree with the network file as given and the decision (largest output of the last "
                      "step) agrees. The mapped model (weights and biases as realised by unit devices) "
                      "shows how much of a difference quantization alone explains; output errors are "
                      "fractions of each output's range over the sequence."]
    return lines + [""]


def _has_timing(manifest: dict) -> bool:
    return "unit_current_A" in manifest.get("timing", {}).get("derivation", {}) and \
        manifest.get("power", {}).get("static")


def unit_current_plot(manifest: dict, out: Path) -> dict[str, Path]:
    """Settling time and idle power against the unit current (flows.bmru.timing
    at_unit_current), the macro's own current marked, and the frame when it has one."""
    if not _has_timing(manifest):
        return {}
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from flows.bmru.timing import at_unit_current

    timing, static = manifest["timing"], manifest["power"]["static"]["total_W"]
    own = timing["derivation"]["unit_current_A"]
    currents = np.geomspace(own / CURRENT_SPAN, own * CURRENT_SPAN, 50)
    settling, power = np.array([at_unit_current(timing, static, c) for c in currents]).T
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.loglog(currents * 1e9, settling * 1e3, color="#3b6ea8", label="settling, worst PVT point")
    ax.plot([own * 1e9], [timing["settling_s"] * 1e3], "s", color="#3b6ea8", ms=9)
    frame = timing.get("frame_rate")
    if frame:
        ax.axhline(frame["frame_s"] * 1e3, color="#999999", ls="--", lw=1,
                   label=f"frame, {frame['frame_rate_hz']:g} rows/s")
    ax.set_xlabel("unit current (nA)")
    ax.set_ylabel("settling time (ms)", color="#3b6ea8")
    right = ax.twinx()
    right.loglog(currents * 1e9, power * 1e9, color="#c0392b", label="idle power")
    right.plot([own * 1e9], [static * 1e9], "o", color="#c0392b")
    right.set_ylabel("idle power (nW)", color="#c0392b")
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    for axis in (ax.xaxis, ax.yaxis, right.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=8, loc="upper center")
    ax.set_title(f"{manifest['network']}: this macro at {own * 1e9:.3g} nA per unit (dots)", fontsize=9)
    fig.tight_layout()
    path = out / "unit_current.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return {"unit_current": path}


def timing_section(manifest: dict, figures: dict[str, str]) -> list[str]:
    """The unit current the macro runs at, why, and what it costs."""
    if not _has_timing(manifest):
        return []
    timing = manifest["timing"]
    frame = timing.get("frame_rate")
    if frame:
        why = (f"{frame['frame_rate_hz']:g} rows/s (`--frame-rate`): the lowest unit current that settles "
               f"within a frame" + (", raised to keep the bias currents within the error budget above the "
                                    "leakage floor" if frame["limited_by"] == "leakage floor" else "")
               + f" (the network file says {frame['network_unit_current_A']:g} A)")
    else:
        why = "the network file's `unit_current`; rows held for the datasheet step (`--frame-rate` sets both)"
    post = timing.get("post_layout")
    drawn = (f" drawn: the layout's {post['wiring_F'] * 1e12:.3g} pF of signal wiring slows the stages "
             f"{min(post['stage_factors']):.2f}–{max(post['stage_factors']):.2f}× and the BMRU switching "
             f"{post['bmru_factor']:.2f}× ({post['pre_layout_settling_s'] * 1e3:.2f} ms before layout)"
             if post else " (before layout)")
    rows = [["unit current", f"{timing['derivation']['unit_current_A']:g} A: {why}"],
            ["settling, worst PVT point", f"{timing['settling_s'] * 1e3:.2f} ms ({timing['corner']}),{drawn}"],
            ["row held (timing.step_s)", f"{timing['step_s'] * 1e3:g} ms"],
            ["idle power", power_text(manifest["power"]["static"]["total_W"])]]
    lines = ["", "## Timing and power", ""] + table(["quantity", "value"], rows)
    if "unit_current" in figures:
        lines += ["", "Every current scales with the unit current: settling ∝ 1 / current, power ∝ "
                      "current (the mapping held fixed).", "",
                  f"![unit current against settling and power]({figures['unit_current']})"]
    return lines


def layout_comparison(simulations: list[Simulation]) -> list[str]:
    """Runs of one sequence under one condition before and after layout (`bmru simulate
    --post-layout`), side by side: step, measured settling, BMRU states, power."""
    from flows.pvt import percent

    runs: dict[tuple, dict[bool, Simulation]] = {}
    for sim in simulations:
        key = (sim.summary.get("inputs"), sim.summary.get("conditions"))
        runs.setdefault(key, {})[bool(sim.summary.get("post_layout"))] = sim
    pairs = [(key, both) for key, both in runs.items() if len(both) == 2]
    if not pairs:
        return []
    rows = []
    for (inputs, conditions), both in pairs:
        cells = [Path(str(inputs)).stem, conditions]
        for label, pick in (("step", lambda s: f"{s['step_s'] * 1e3:g} ms"),
                            ("settling", lambda s: f"{s['settling']['median_s'] * 1e3:.2f} / "
                                                   f"{s['settling']['max_s'] * 1e3:.2f} ms" if "settling" in s else "—"),
                            ("states", lambda s: percent(s["states"]["agreement"])),
                            ("power", lambda s: power_text(s["power"]["total_W"]))):
            cells.append(f"{pick(both[False].summary)} → {pick(both[True].summary)}")
        rows.append(cells)
    return ["", "### Before and after layout", ""] + table(
        ["sequence", "conditions", "row held", "settling, median / largest row", "BMRU states agreeing",
         "average power"], rows) + ["", "Each cell reads schematic → post-layout (every net's extracted wiring "
                                        "capacitance on its node). Settling is measured on the output waveforms: "
                                        "the time a row's outputs take to stay within 1 % of their range."]
