"""SKY130 periphery design rules (µm, µm²) for every layer the project draws, as data.

Source: the SkyWater SKY130 periphery rule pages (rule names kept, e.g. `poly.1a`). Layout
generators read values with `value(name)`; the own DRC engine (`pdk.drc`) checks every rule
whose `kind` it knows. No other module may carry a rule number.

Operands are layer names from `pdk.layers` or derived layers that `pdk.drc.DERIVED`
builds: gate (poly & diff), ndiff/pdiff (diff & nsdm/psdm), ntap/ptap, poly_field (poly -
diff), licon_diff (licon on diff or tap), licon_poly (licon on poly), pgate, difftap, sdm,
and for the precision poly resistors resimp (rpm or urpm), poly_res (the body: poly and
poly:res), poly_resistor (the whole poly of a resistor, heads included), poly_plain (any
other poly), licon_bar / licon_sq (licons on a resistor / all others), and for the MiM
capacitor capm_plate (the bottom plate: capm & met3 grown by capm.3), met3_free (met3
touching no bottom plate), via3_cap / via3_free (via3 on capm / elsewhere).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One rule. kind: width | space | separation | enclosure | enclosure_pair | extension |
    area | size (exact square cut) | max_width | value (a generator constant, not checked)."""
    name: str
    kind: str
    layer: str
    value: float
    other: str = ""
    text: str = ""


RULES: tuple[Rule, ...] = (
    # nwell
    Rule("nwell.1", "width", "nwell", 0.84, text="min. nwell width"),
    Rule("nwell.2a", "space", "nwell", 1.27, text="min. nwell spacing"),
    # diff / tap
    Rule("difftap.1", "width", "difftap", 0.15, text="min. diff/tap width"),
    Rule("difftap.2", "value", "gate", 0.42, text="min. transistor width (gate along diff)"),
    Rule("difftap.3", "space", "difftap", 0.27, text="min. diff/tap spacing"),
    Rule("difftap.8", "enclosure", "pdiff", 0.18, other="nwell", text="min. nwell enclosure of p+ diff"),
    Rule("difftap.9", "separation", "ndiff", 0.34, other="nwell", text="min. n+ diff spacing to nwell"),
    Rule("difftap.10", "enclosure", "ntap", 0.18, other="nwell", text="min. nwell enclosure of n+ tap"),
    Rule("difftap.11", "separation", "ptap", 0.13, other="nwell", text="min. p+ tap spacing to nwell"),
    # poly
    Rule("poly.1a", "width", "poly", 0.15, text="min. poly width (gate length)"),
    Rule("poly.1b", "value", "lvtgate", 0.35, text="min. gate length of lvt devices"),
    Rule("poly.2", "space", "poly", 0.21, text="min. poly spacing"),
    Rule("poly.4", "separation", "poly_field", 0.075, other="diff", text="min. field poly spacing to diff"),
    Rule("poly.5", "separation", "poly_field", 0.055, other="tap", text="min. field poly spacing to tap"),
    Rule("poly.6", "separation", "gate", 0.3, other="tap", text="min. gate spacing to tap"),
    Rule("poly.7", "extension", "gate", 0.25, other="diff", text="min. diff extension beyond gate (source/drain length)"),
    Rule("poly.8", "extension", "gate", 0.13, other="poly", text="min. poly extension beyond gate (endcap)"),
    # licon
    Rule("licon.1", "size", "licon_sq", 0.17, text="licon is a 0.17 square (outside poly resistors)"),
    Rule("licon.1b", "value", "licon_bar", 0.19, text="width of the licon bar on a poly resistor head"),
    Rule("licon.1c", "value", "licon_bar", 2.0, text="length of the licon bar on a poly resistor head"),
    Rule("licon.2b", "space", "licon_bar", 0.35, text="min. spacing of licon bars on resistors"),
    Rule("MR_licon.SP.3", "space", "licon_bar", 0.51,
         text="min. licon bar spacing side to side (the MPW deck; kept end to end too)"),
    Rule("licon.2", "space", "licon", 0.17, text="min. licon spacing"),
    Rule("licon.5a", "enclosure", "licon_diff", 0.04, other="difftap", text="min. diff/tap enclosure of licon"),
    Rule("licon.5c", "enclosure_pair", "licon_sd", 0.06, other="diff", text="min. diff enclosure of licon on one pair of opposite sides"),
    Rule("licon.7", "enclosure_pair", "licon_tap", 0.12, other="tap", text="min. tap enclosure of licon on one pair of opposite sides"),
    Rule("licon.8", "enclosure", "licon_poly", 0.05, other="poly", text="min. poly enclosure of licon"),
    Rule("licon.8a", "enclosure_pair", "licon_poly", 0.08, other="poly", text="min. poly enclosure of licon on one pair of opposite sides"),
    Rule("licon.11", "separation", "licon_diff", 0.055, other="gate", text="min. diff licon spacing to gate"),
    Rule("licon.12", "max_width", "diff", 5.7, text="max. source/drain width without licon (limits W per finger)"),
    Rule("licon.14", "separation", "licon_poly", 0.19, other="difftap", text="min. poly licon spacing to diff/tap"),
    Rule("licon.15", "enclosure", "licon_poly", 0.1, other="npc", text="min. npc enclosure of poly licon"),
    # precision poly resistors (rpm: res_high_po, urpm: res_xhigh_po; the MPW deck checks
    # urpm width and spacing like rpm's, so rpm's rules hold for both)
    Rule("poly.3", "width", "poly_res", 0.33, text="min. poly resistor width"),
    Rule("poly.9", "separation", "poly_resistor", 0.48, other="difftap", text="min. poly resistor spacing to diff/tap"),
    Rule("MR_poly.LEN.2", "value", "poly_res", 0.66, text="min. poly:res length of rpoly_hp and rpoly_hp2K resistors"),
    Rule("rpm.1a", "width", "resimp", 1.27, text="min. rpm/urpm width"),
    Rule("rpm.2", "space", "resimp", 0.84, text="min. rpm/urpm spacing"),
    Rule("rpm.3", "enclosure", "poly_resistor", 0.2, other="resimp", text="min. rpm enclosure of poly resistor"),
    Rule("rpm.4", "enclosure", "poly_resistor", 0.11, other="psdm", text="min. psdm enclosure of poly resistor"),
    Rule("rpm.5", "enclosure", "poly_resistor", 0.095, other="npc", text="min. npc enclosure of poly resistor"),
    Rule("rpm.6", "separation", "resimp", 0.2, other="nsdm", text="min. rpm spacing to nsdm"),
    Rule("rpm.7", "separation", "resimp", 0.2, other="poly_plain", text="min. rpm spacing to poly"),
    # npc
    Rule("npc.1", "width", "npc", 0.27, text="min. npc width"),
    Rule("npc.2", "space", "npc", 0.27, text="min. npc spacing"),
    Rule("npc.4", "separation", "npc", 0.09, other="gate", text="min. npc spacing to gate"),
    # n/p select
    Rule("nsdm.1", "width", "nsdm", 0.38, text="min. nsdm width"),
    Rule("psdm.1", "width", "psdm", 0.38, text="min. psdm width"),
    Rule("nsdm.2", "space", "nsdm", 0.38, text="min. nsdm spacing"),
    Rule("psdm.2", "space", "psdm", 0.38, text="min. psdm spacing"),
    Rule("nsdm.5a", "enclosure", "diff", 0.125, other="sdm", text="min. n/psdm enclosure of diff"),
    Rule("nsdm.5b", "enclosure", "tap", 0.125, other="sdm", text="min. n/psdm enclosure of tap"),
    Rule("nsdm.10a", "area", "nsdm", 0.265, text="min. nsdm area"),
    Rule("psdm.10b", "area", "psdm", 0.265, text="min. psdm area"),
    # threshold adjust implants
    Rule("lvtn.1", "width", "lvtn", 0.38, text="min. lvtn width"),
    Rule("lvtn.2", "space", "lvtn", 0.38, text="min. lvtn spacing"),
    Rule("lvtn.3a", "separation", "lvtn", 0.18, other="gate_nolvt", text="min. lvtn spacing to other gates"),
    Rule("lvtn.3b", "separation", "lvtn", 0.235, other="pdiff_nolvt", text="min. lvtn spacing to pfet s/d"),
    Rule("lvtn.4b", "enclosure", "lvtgate", 0.18, other="lvtn", text="min. lvtn enclosure of gate"),
    Rule("lvtn.9", "separation", "lvtn", 0.38, other="hvtp", text="min. lvtn spacing to hvtp"),
    Rule("lvtn.13", "area", "lvtn", 0.265, text="min. lvtn area"),
    Rule("hvtp.1", "width", "hvtp", 0.38, text="min. hvtp width"),
    Rule("hvtp.2", "space", "hvtp", 0.38, text="min. hvtp spacing"),
    Rule("hvtp.3", "enclosure", "hvtgate", 0.18, other="hvtp", text="min. hvtp enclosure of pfet gate"),
    Rule("hvtp.4", "separation", "hvtp", 0.18, other="pgate_nohvt", text="min. hvtp spacing to other pfet gates"),
    Rule("hvtp.5", "area", "hvtp", 0.265, text="min. hvtp area"),
    # local interconnect
    Rule("li.1", "width", "li1", 0.17, text="min. li1 width"),
    Rule("li.3", "space", "li1", 0.17, text="min. li1 spacing"),
    Rule("li.5", "enclosure_pair", "licon", 0.08, other="li1", text="min. li1 enclosure of licon on one pair of opposite sides"),
    Rule("li.5c", "enclosure", "licon", 0.0, other="li1", text="licon must be covered by li1"),
    Rule("li.6", "area", "li1", 0.0561, text="min. li1 area"),
    # mcon
    Rule("ct.1", "size", "mcon", 0.17, text="mcon is a 0.17 square"),
    Rule("ct.2", "space", "mcon", 0.19, text="min. mcon spacing"),
    Rule("ct.4", "enclosure", "mcon", 0.0, other="li1", text="mcon must be covered by li1"),
    # met1
    Rule("m1.1", "width", "met1", 0.14, text="min. met1 width"),
    Rule("m1.2", "space", "met1", 0.14, text="min. met1 spacing"),
    Rule("m1.3ab", "value", "met1", 0.28, text="min. spacing next to met1 wider than 3 µm"),
    Rule("m1.4", "enclosure", "mcon", 0.03, other="met1", text="min. met1 enclosure of mcon"),
    Rule("m1.5", "enclosure_pair", "mcon", 0.06, other="met1", text="min. met1 enclosure of mcon on one pair of opposite sides"),
    Rule("m1.6", "area", "met1", 0.083, text="min. met1 area"),
    # via (met1-met2)
    Rule("via.1a", "size", "via", 0.15, text="via is a 0.15 square"),
    Rule("via.2", "space", "via", 0.17, text="min. via spacing"),
    Rule("via.4a", "enclosure", "via", 0.055, other="met1", text="min. met1 enclosure of via"),
    Rule("via.5a", "enclosure_pair", "via", 0.085, other="met1", text="min. met1 enclosure of via on one pair of opposite sides"),
    # met2
    Rule("m2.1", "width", "met2", 0.14, text="min. met2 width"),
    Rule("m2.2", "space", "met2", 0.14, text="min. met2 spacing"),
    Rule("m2.3ab", "value", "met2", 0.28, text="min. spacing next to met2 wider than 3 µm"),
    Rule("m2.4", "enclosure", "via", 0.055, other="met2", text="min. met2 enclosure of via"),
    Rule("m2.5", "enclosure_pair", "via", 0.085, other="met2", text="min. met2 enclosure of via on one pair of opposite sides"),
    Rule("m2.6", "area", "met2", 0.0676, text="min. met2 area"),
    # via2 (met2-met3)
    Rule("via2.1a", "size", "via2", 0.2, text="via2 is a 0.2 square"),
    Rule("via2.2", "space", "via2", 0.2, text="min. via2 spacing"),
    Rule("via2.4", "enclosure", "via2", 0.04, other="met2", text="min. met2 enclosure of via2"),
    Rule("via2.5", "enclosure_pair", "via2", 0.085, other="met2", text="min. met2 enclosure of via2 on one pair of opposite sides"),
    # met3
    Rule("m3.1", "width", "met3", 0.3, text="min. met3 width"),
    Rule("m3.2", "space", "met3", 0.3, text="min. met3 spacing"),
    Rule("m3.3ab", "value", "met3", 0.4, text="min. spacing next to met3 wider than 3 µm"),
    Rule("m3.4", "enclosure", "via2", 0.065, other="met3", text="min. met3 enclosure of via2"),
    Rule("m3.6", "area", "met3", 0.24, text="min. met3 area"),
    # via3 (met3-met4)
    Rule("via3.1", "size", "via3", 0.2, text="via3 is a 0.2 square"),
    Rule("via3.2", "space", "via3", 0.2, text="min. via3 spacing"),
    Rule("via3.4", "enclosure", "via3", 0.06, other="met3", text="min. met3 enclosure of via3"),
    Rule("via3.5", "enclosure_pair", "via3", 0.09, other="met3",
         text="min. met3 enclosure of via3 on one of two adjacent sides (kept on a pair of opposite sides)"),
    # met4
    Rule("m4.1", "width", "met4", 0.3, text="min. met4 width"),
    Rule("m4.2", "space", "met4", 0.3, text="min. met4 spacing"),
    Rule("m4.3", "enclosure", "via3", 0.065, other="met4", text="min. met4 enclosure of via3"),
    Rule("m4.4a", "area", "met4", 0.24, text="min. met4 area"),
    Rule("m4.5ab", "value", "met4", 0.4, text="min. spacing next to met4 wider than 3 µm"),
    # MiM capacitor (capm over a met3 bottom plate; the MPW deck's MR_capm values)
    Rule("capm.1", "width", "capm", 1.0, text="min. capm width"),
    Rule("capm.2a", "space", "capm", 0.84, text="min. capm spacing"),
    Rule("capm.2b", "space", "capm_plate", 1.2,
         text="min. spacing of bottom plates (capm and met3, grown by capm.3)"),
    Rule("capm.2b_met3", "separation", "capm_plate", 1.2, other="met3_free",
         text="min. spacing of a bottom plate to met3 that touches no bottom plate (MR_capm.SP.2)"),
    Rule("capm.3", "enclosure", "capm", 0.14, other="met3", text="min. met3 enclosure of capm"),
    Rule("capm.4", "enclosure", "via3_cap", 0.14, other="capm", text="min. capm enclosure of via3"),
    Rule("capm.5", "separation", "via3_free", 0.14, other="capm", text="min. spacing of via3 off capm to capm"),
    Rule("capm.11", "value", "capm", 0.14, other="met2",
         text="capm spacing to met2 beside it: the 2020 runset (which puts capm over met2) checks "
              "it; the MPW deck does not, and met2 may run under a plate"),
    # grid
    Rule("x.1b", "grid", "all", 0.005, text="every vertex on the 5 nm manufacturing grid"),
)

_BY_NAME = {r.name: r for r in RULES}
assert len(_BY_NAME) == len(RULES), "duplicate rule name"


def rule(name: str) -> Rule:
    """The rule called `name` (KeyError names it when missing)."""
    return _BY_NAME[name]


def value(name: str) -> float:
    """Numeric value of one rule, for layout generators."""
    return _BY_NAME[name].value


GRID = value("x.1b")
