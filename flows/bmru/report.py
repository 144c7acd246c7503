"""The BMRU family's sections of `bmru report`: the verdict on BMRU states, the unit-device
mapping table, the layout cells worth a zoom, and the PVT study."""
from __future__ import annotations

import json
from pathlib import Path

from flows.report import Simulation, table


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
    from flows.bmru.pvt import percent

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


def pvt_section(directory: Path) -> list[str]:
    """Yield and worst-case tables and plots of DIR/pvt (bmru pvt), if present."""
    from flows.bmru.pvt import FIGURES, tables

    path = directory / "pvt" / "pvt.json"
    if not path.is_file():
        return []
    result = json.loads(path.read_text())
    lines = ["", "## PVT and mismatch yield", "", f"`{result['inputs']}`, {len(result['runs'])} runs.", ""]
    lines += tables(result)
    for title, name in FIGURES.items():
        if (path.parent / name).is_file():
            lines += ["", f"![{title}](pvt/{name})"]
    return lines


