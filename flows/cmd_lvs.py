"""`bmru lvs GDS NETLIST`: layout versus the generated SPICE netlist; exit 1 on mismatch."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lvs", help="compare a GDS with its SPICE netlist (klayout.db)")
    p.add_argument("gds", help="GDS file with one top cell")
    p.add_argument("netlist", help="SPICE netlist with a subckt named like the top cell")
    p.add_argument("--circuit", default=None,
                   help="schematic subckt to compare against (default: the top cell's name)")
    p.set_defaults(handler=_lvs)


def _lvs(args: argparse.Namespace) -> int:
    from flows.errors import CheckFailed, InputError
    from pdk import lvs

    gds, spice = Path(args.gds), Path(args.netlist)
    for f in (gds, spice):
        if not f.is_file():
            raise InputError(f, None, "no such file")
    try:
        result = lvs.compare(gds, spice, circuit=args.circuit)
    except ValueError as exc:
        raise InputError(gds, None, str(exc)) from None
    except RuntimeError as exc:  # klayout reader errors (bad GDS or SPICE)
        raise InputError(spice if "spice" in str(exc).lower() else gds, None,
                         str(exc).splitlines()[0]) from None
    print(result.summary())
    if not result.match:
        raise CheckFailed(f"{gds}: layout does not match {spice} "
                          f"({len(result.problems)} difference(s))")
    return 0
