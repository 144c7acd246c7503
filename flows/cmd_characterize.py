"""`bmru characterize [CELL…] -o DIR`: datasheets of devices and cells against golden bands."""
from __future__ import annotations

import argparse
import importlib

from flows.outdir import add_arguments as add_output_arguments

#: Characterized items → module exposing `characterize(workers, progress) -> Datasheet`,
#: `plot(sheet, directory) -> [png paths]`, `GOLDEN` (YAML path) and `TOLERANCES`.
CHARACTERIZERS = {
    "devices": "pdk.characterize",
    "bmru": "cells.bmru",
    "mirror": "cells.mirror",
    "bias": "cells.bias",
    "dense": "cells.dense",
    "transconductor": "cells.transconductor",
    "passives": "pdk.passives",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("characterize", help="characterize devices and cells against their golden bands",
                       description="Run ngspice characterizations, write DIR/characterization.json "
                                   "and plots; exit 1 when a value leaves its golden band.")
    p.add_argument("cells", nargs="*", metavar="CELL",
                   help=f"what to characterize (default: all of {', '.join(CHARACTERIZERS)})")
    add_output_arguments(p)
    p.add_argument("--workers", type=int, default=None, help="parallel ngspice jobs (default: one per core)")
    p.add_argument("--update-goldens", action="store_true",
                   help="freeze the measured values as new golden bands (review the diff!)")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from flows.errors import CheckFailed, InputError
    from flows import checks
    from flows.outdir import OutputDir
    from pdk.datasheet import check, freeze, load_golden, write_json

    names = args.cells or list(CHARACTERIZERS)
    for name in names:
        if name not in CHARACTERIZERS:
            raise InputError("command line", "CELL", f"unknown cell {name!r}; choose from {', '.join(CHARACTERIZERS)}")
    checks.at_least("--workers", args.workers, 1)
    output = OutputDir.check(args.output, "characterize", force=args.force)
    sheets, violations = [], []
    with output.write() as out:
        for name in names:
            module = importlib.import_module(CHARACTERIZERS[name])
            sheet = module.characterize(workers=args.workers, progress=None)
            module.plot(sheet, out)
            if args.update_goldens:
                freeze(sheet, module.TOLERANCES, module.GOLDEN)
            violations += check(sheet, load_golden(module.GOLDEN))
            sheets.append(sheet)
        write_json(sheets, violations, out / "characterization.json")
    total = sum(len(v) for s in sheets for v in s.values.values())
    print(f"characterized {', '.join(names)}: {total} values, {len(violations)} outside their golden bands; "
          f"wrote {args.output / 'characterization.json'}")
    if violations:
        for v in violations[:20]:
            print(f"  {v}")
        raise CheckFailed(f"{len(violations)} value(s) outside golden bands")
    return 0
