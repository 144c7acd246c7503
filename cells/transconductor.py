"""Subthreshold transconductor (OTA) of the R²NN family: the one active element of a
Gm-C lattice, and the replica that biases its cascodes.

Telescopic cascode OTA, nine devices plus its tail: NMOS input pair (nfet 4/8 units), NMOS
cascodes on `vcn`, a PMOS mirror load (pfet 4/16 units) cascoded on `vref`. Output current
into `out` = gm·(v(inp) − v(inn)), gm = I_tail/(2·n·U_T) ≈ 14 /V × I_tail. The tail is
`fine` NMOS units on the bias tree's `bn` line plus `coarse` units on `bn2`, so gm is a unit
count, like every weight of the project. Without the cascodes gm/g_out is ≈ 170 (the
input pair's drain conductance dominates), which would add a parasitic damping of the
order of the lattice's own to every node; with them ≥ 2 000 over PVT at 0.1–10 nA (measured
with the replica bias below).

The cascode gate `vcn` must sit ≈ 0.1 V above the tail node of every OTA whatever its current:
`CascodeBias` copies an input device (gate on `vref`, two tail units) and stacks a narrow
long diode (0.42/8) on its source, so `vcn` follows the tail node over temperature
(0.97–1.0 V at −40…85 °C) instead of a fixed stack (0.88–1.52 V).
"""
from __future__ import annotations

from dataclasses import dataclass

from cells.netlist import Device, subckt, units
from pdk.unit import NMOS, PMOS, UnitDevice

#: Cascode-bias diode: narrow and long, so its V_GS exceeds the cascodes' by the ≈ 0.1 V
#: the input pair needs across its drain.
VCN_DIODE = UnitDevice("nfet_01v8", 0.42, 8.0)


@dataclass(frozen=True)
class Transconductor:
    """fine / coarse: tail units on the `bn` / `bn2` line (at least one in all)."""

    fine: int = 1
    coarse: int = 0

    def __post_init__(self) -> None:
        if self.fine < 0 or self.coarse < 0 or self.fine + self.coarse < 1:
            raise ValueError(f"transconductor tail needs ≥ 1 unit, not fine={self.fine} coarse={self.coarse}")

    @property
    def name(self) -> str:
        return f"ota_f{self.fine}_c{self.coarse}"

    @property
    def ports(self) -> tuple[str, ...]:
        lines = (("bn",) if self.fine else ()) + (("bn2",) if self.coarse else ())
        return ("vdd", "vss", "vref", "vcn") + lines + ("inp", "inn", "out")

    def devices(self) -> list[Device]:
        n, p = NMOS, PMOS
        # side a (gate inp) feeds the mirror's diode x, whose copy sources into out; side b
        # (gate inn) sinks from out: I(out) = gm (inp − inn)
        devs = [Device("MINA", n.device, "xa", "inp", "tail", "vss", n.w, n.l, "pair"),
                Device("MINB", n.device, "xb", "inn", "tail", "vss", n.w, n.l, "pair"),
                Device("MCA", n.device, "x", "vcn", "xa", "vss", n.w, n.l, "ncasc"),
                Device("MCB", n.device, "out", "vcn", "xb", "vss", n.w, n.l, "ncasc"),
                Device("MLA", p.device, "pa", "x", "vdd", "vdd", p.w, p.l, "load"),
                Device("MLB", p.device, "pb", "x", "vdd", "vdd", p.w, p.l, "load"),
                Device("MPA", p.device, "x", "vref", "pa", "vdd", p.w, p.l, "pcasc"),
                Device("MPB", p.device, "out", "vref", "pb", "vdd", p.w, p.l, "pcasc")]
        devs += units("MTF", NMOS, self.fine, "tail", "bn", "vss", "vss", "tail")
        devs += units("MTC", NMOS, self.coarse, "tail", "bn2", "vss", "vss", "tail")
        return devs

    def tail_units(self, coarse_ratio: float) -> float:
        """Tail current in fine units when one coarse unit carries `coarse_ratio` fine ones."""
        return self.fine + self.coarse * coarse_ratio

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(),
                      f"cascode OTA, tail {self.fine} fine + {self.coarse} coarse units: "
                      "out = gm (inp - inn)")

    netlist = subckt


@dataclass(frozen=True)
class CascodeBias:
    """`vcn` for every OTA: one PMOS unit on `bp` feeds the diode; the replica input device
    (gate `vref`) sits on two `bn` units."""

    name: str = "r2nn_vcn"

    @property
    def ports(self) -> tuple[str, ...]:
        return ("vdd", "vss", "vref", "bn", "bp", "vcn")

    def devices(self) -> list[Device]:
        devs = [Device("MREP", NMOS.device, "vdd", "vref", "rtail", "vss", NMOS.w, NMOS.l, "replica"),
                Device("MDIO", VCN_DIODE.device, "vcn", "vcn", "rtail", "vss", VCN_DIODE.w, VCN_DIODE.l, "vcn")]
        devs += units("MRT", NMOS, 2, "rtail", "bn", "vss", "vss", "rtail")
        devs += units("MSRC", PMOS, 1, "vcn", "bp", "vdd", "vdd", "vcnsrc")
        return devs

    def subckt(self) -> str:
        return subckt(self.name, self.ports, self.devices(), "cascode bias vcn: replica tail + 0.42/8 diode")

    netlist = subckt
