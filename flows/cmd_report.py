"""`bmru report DIR`: Markdown and self-contained HTML report of a build."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="Markdown + HTML report of a build directory",
                       description="Reads DIR/manifest.json (bmru compile) and DIR/simulations/*/ "
                                   "(bmru simulate outputs); writes DIR/report.md and DIR/report.html.")
    p.add_argument("directory", type=Path, help="build directory written by bmru compile")
    p.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from flows.report import write_report

    md, page = write_report(args.directory)
    print(f"report: {md} and {page}")
    return 0
