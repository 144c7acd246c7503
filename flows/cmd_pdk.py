"""`bmru pdk include`: the SPICE lines that load SKY130 models for a corner."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    pdk_parser = sub.add_parser("pdk", help="SKY130 model includes and facts")
    pdk_sub = pdk_parser.add_subparsers(dest="pdk_command", metavar="ACTION", required=True)
    include = pdk_sub.add_parser("include", help="print the SPICE lines that load the transistor models")
    from pdk.models import CORNERS
    include.add_argument("--corner", default="tt", choices=CORNERS,
                         help="process corner: first letter NMOS, second PMOS (default tt)")
    include.add_argument("--mismatch", action="store_true", help="per-instance mismatch (_mm) models")
    include.add_argument("--seed", type=int, default=None, help="mismatch seed (with --mismatch)")
    include.add_argument("--full", action="store_true",
                         help="load the whole sky130.lib.spice instead of the fast include")
    include.set_defaults(handler=_include)


def _include(args: argparse.Namespace) -> int:
    from pdk.models import Conditions
    print(Conditions(args.corner, mismatch=args.mismatch, seed=args.seed, fast=not args.full).lines(), end="")
    return 0
