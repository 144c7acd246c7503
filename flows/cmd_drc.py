"""`bmru drc GDS`: design-rule check with the project's own rules and/or the external
SKY130 deck; per-rule counts, exit 1 on any violation."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("drc", help="design-rule check a GDS (own rules and the SKY130 deck)")
    p.add_argument("gds", help="GDS file with one top cell")
    p.add_argument("--engine", choices=("own", "mpw", "glayout", "both"), default="both",
                   help="own: klayout.db checks of pdk.rules (fast); mpw: the MPW precheck's KLayout "
                        "decks (manufacturing rules with FEOL/BEOL/off-grid, zero-area, pin labels), "
                        "needs the klayout application and a one-time pip download of cf-precheck; "
                        "glayout: the public 2020 SKY130 runset; both (default): own and mpw")
    p.add_argument("--report", metavar="PREFIX", default=None,
                   help="write marker databases PREFIX.own.lyrdb / PREFIX.deck.lyrdb "
                        "(open them in KLayout beside the layout)")
    p.set_defaults(handler=_drc)


def _drc(args: argparse.Namespace) -> int:
    from flows.errors import CheckFailed, InputError
    from pdk import drc

    gds = Path(args.gds)
    if not gds.is_file():
        raise InputError(gds, None, "no such file")
    try:
        drc.load(gds)
    except (RuntimeError, ValueError) as exc:
        raise InputError(gds, None, f"not a readable GDS: {exc}") from None
    results, failed = [], []
    if args.engine in ("own", "both"):
        results.append(drc.run_own(gds, report=f"{args.report}.own.lyrdb" if args.report else None))
        print(results[-1].summary())
    deck = {"mpw": "mpw", "glayout": "glayout", "both": drc.DEFAULT_DECK}.get(args.engine)
    if deck:
        try:
            results.append(drc.run_deck(gds, report=f"{args.report}.{deck}.lyrdb" if args.report else None,
                                        deck=deck))
            print(results[-1].summary())
        except drc.DeckUnavailable as exc:
            print(f"bmru drc: external deck unavailable: {exc} (use --engine own to skip it)",
                  file=sys.stderr)
            failed.append("deck unavailable")
    bad = [f"{r.engine} {r.total}" for r in results if r.total]
    if bad or failed:
        raise CheckFailed(f"{gds}: " + ", ".join(
            [f"{b} violation(s)" for b in bad] + failed))
    return 0
