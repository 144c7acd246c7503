"""`bmru report DIR`: Markdown and self-contained HTML report of a build."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="Markdown + HTML report of a build directory",
                       description="Reads DIR/manifest.json (bmru compile) and DIR/simulations/*/ "
                                   "(bmru simulate outputs); writes DIR/report.md and DIR/report.html.")
    p.add_argument("directory", type=Path, help="build directory written by bmru compile")
    p.add_argument("--force", action="store_true",
                   help="replace a report.md, report.html or report/ that bmru report did not write")
    p.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from flows.outdir import OutputDir
    from flows.report import load_build, write_report

    load_build(args.directory)  # a build directory, or one line saying it is not
    output = OutputDir.check(args.directory, "report", force=args.force, writes_into=("compile",))
    with output.write() as tmp:
        write_report(args.directory, tmp)
    print(f"report: {args.directory / 'report.md'} and {args.directory / 'report.html'}")
    return 0
