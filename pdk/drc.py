"""Design-rule checks, two independent engines.

* `own`: every checkable rule of `pdk.rules` on hierarchical (deep) `klayout.db` Regions,
  in-process.
* `deck`: the public SKY130 KLayout runset shipped inside the `glayout` 0.2.0 wheel
  (GPLv3, never committed): downloaded at run time with pip into
  `~/.cache/bmru-sky130/`, FEOL switched on (its default is off), run by the KLayout
  application (`klayout -b -r`), which cannot read GDS with gdsfactory/KLayout 0.30 context
  info, so the input is re-saved without it first.

Both return a `DrcResult` with per-rule violation counts.
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

import klayout.db as db

from pdk import layers, processes
from pdk.cache import cache_dir, write_atomically
from pdk.rules import RULES, Rule

GLAYOUT_VERSION = "0.2.0"
DECK_MEMBER = "glayout/pdk/sky130_mapped/sky130.lydrc"


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
BACK_END = frozenset({"mcon", "met1", "via", "met2", "via2", "met3"})
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


# ----------------------------------------------------------------------------- external deck

def deck_path(download: bool = True) -> Path:
    """The SKY130 runset as a plain DRC script with FEOL, BEOL and OFFGRID on and two
    threads (this machine has two cores); downloaded once into the cache."""
    d = cache_dir() / f"glayout-{GLAYOUT_VERSION}"
    deck = d / "sky130_feol_beol_offgrid.drc"
    if deck.is_file():
        return deck
    orig = d / "sky130.lydrc"
    if not orig.is_file():
        if not download:
            raise DeckUnavailable(f"{orig} not cached")
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   f"glayout=={GLAYOUT_VERSION}", "-d", tmp]
            try:
                p = processes.run(cmd, timeout=180)
            except (OSError, subprocess.TimeoutExpired, processes.Stopped) as exc:
                raise DeckUnavailable(f"pip download glayout=={GLAYOUT_VERSION} failed: {exc}")
            wheels = list(Path(tmp).glob("glayout-*.whl"))
            if p.returncode != 0 or not wheels:
                last = (p.stderr.strip().splitlines() or ["no output"])[-1]
                raise DeckUnavailable(f"pip download glayout=={GLAYOUT_VERSION} failed: {last}")
            with zipfile.ZipFile(wheels[0]) as z:
                write_atomically(orig, z.read(DECK_MEMBER))
    text = orig.read_text(encoding="utf-8")
    m = re.search(r"<text>(.*)</text>", text, flags=re.S)
    body = html.unescape(m.group(1)) if m else text
    body, n = re.subn(r"^FEOL\s*=\s*false", "FEOL = true", body, flags=re.M)
    if n != 1:
        raise DeckUnavailable("runset layout changed: could not switch FEOL on")
    body = re.sub(r"^BEOL\s*=\s*false", "BEOL = true", body, flags=re.M)
    body = re.sub(r"^OFFGRID\s*=\s*false", "OFFGRID = true", body, flags=re.M)
    body = re.sub(r"^threads\(\d+\)", "threads(2)", body, flags=re.M)
    body = re.sub(r"^verbose\(true\)", "verbose(false)", body, flags=re.M)
    write_atomically(deck, body)
    return deck


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


def run_deck(gds: str | os.PathLike, report: str | os.PathLike | None = None,
             timeout: float = 1800) -> DrcResult:
    """The external SKY130 runset on `gds`; `report` keeps the marker database."""
    deck = deck_path()
    exe = klayout_app()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bmru-drc-") as tmp:
        copy = Path(tmp) / "input.gds"
        top = resave_without_context(gds, copy)
        rdb = Path(report) if report else Path(tmp) / "report.lyrdb"
        env = dict(os.environ)
        env.setdefault("HOME", os.path.expanduser("~") or "/root")
        env["QT_QPA_PLATFORM"] = "offscreen"
        cmd = [exe, "-b", "-r", str(deck), "-rd", f"input={copy}", "-rd", f"report={rdb}"]
        try:
            p = processes.run(cmd, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"KLayout DRC deck timed out after {timeout:.0f} s")
        if p.returncode != 0 or not rdb.is_file():
            tail = (p.stderr.strip() or p.stdout.strip()).splitlines()[-3:]
            raise RuntimeError("KLayout DRC deck failed: " + " | ".join(tail))
        counts = parse_lyrdb(rdb)
    return DrcResult("deck", top, counts, time.monotonic() - t0,
                     str(report) if report else "")
