"""`bmru pvt NET --inputs SEQ -o DIR`: corners × temperatures × supplies plus mismatch
samples of any family's macro (flows/pvt.py), locally or on a Dask cluster; the family
judges each run (`Family.pvt_spec`, `Family.run_pvt`)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flows.outdir import add_arguments as add_output_arguments


def register(sub: argparse._SubParsersAction) -> None:
    from flows.cmd_compile import family_options
    from pdk.models import CORNERS, SUPPLIES, TEMPERATURES

    p = sub.add_parser("pvt", help="PVT corners and mismatch samples: yield and worst cases",
                       description="Run the transient of `bmru simulate` over corners × temperatures × "
                                   "supplies and N mismatch samples (tt 27 °C 1.8 V); a run passes as "
                                   "`bmru simulate` judges it (BMRU: ≥ 99 %% of the cell states agree with the "
                                   "model; R²NN lattice: every output correlates ≥ 0.98 and the decision agrees). "
                                   "Writes DIR/pvt.json, DIR/pvt.md and PNG plots. Exit 0 when every PVT point "
                                   "passes and ≥ 99 %% of the samples pass, 1 when not (all files still written), "
                                   "2 on bad input.")
    p.add_argument("network", type=Path, help="network file (bmru-network/1 or r2nn-network/1)")
    p.add_argument("--inputs", required=True, type=Path, help="input sequence CSV (x0,…)")
    add_output_arguments(p, "output directory (BUILD/pvt adds a section to `bmru report BUILD`)")
    p.add_argument("--mc", type=int, default=0, metavar="N", help="mismatch samples (default 0)")
    p.add_argument("--seed", type=int, default=1, help="seed of the first mismatch sample; sample i uses "
                                                       "seed + i (default 1)")
    p.add_argument("--workers", type=int, default=None, metavar="K",
                   help="parallel ngspice runs on this machine (default one per core)")
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="run the jobs on a Dask distributed cluster (e.g. tcp://host:8786); its workers need "
                        "ngspice and this package installed at the same paths")
    p.add_argument("--corners", default=",".join(CORNERS),
                   help=f"comma-separated corners (default {','.join(CORNERS)})")
    p.add_argument("--temps", default=",".join(f"{t:g}" for t in TEMPERATURES),
                   help=f"comma-separated °C (default {','.join(f'{t:g}' for t in TEMPERATURES)}; "
                        "write --temps=-40,27 when the list starts with a minus sign)")
    p.add_argument("--vdds", default=",".join(f"{v:g}" for v in SUPPLIES),
                   help=f"comma-separated supplies, V (default {','.join(f'{v:g}' for v in SUPPLIES)})")
    p.add_argument("--step", type=float, default=None,
                   help="BMRU networks: seconds per input row (default as bmru simulate: the circuit's "
                        "settling step)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="seconds one run may take before it counts as failing (default 900; "
                        "a kws_d4 mismatch sample takes ≈ 30 CPU-seconds in the flat deck)")
    family_options(p, "pvt")
    p.set_defaults(handler=_pvt)


def _numbers(option: str, text: str, low: float, high: float, unit: str) -> tuple[float, ...]:
    from flows import checks
    from flows.errors import InputError

    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise InputError("command line", option, f"{text!r} is not a comma-separated list of numbers") from None
    for v in values:
        checks.within(option, v, low, high, unit)
    if len(set(values)) != len(values):
        raise InputError("command line", option, f"{text!r} lists a value twice")
    return values


def grid_of(args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
    """The corners, temperatures and supplies of the command line, checked."""
    from flows.errors import InputError
    from pdk.limits import SUPPLY_RANGE_V, TEMPERATURE_RANGE_C
    from pdk.models import CORNERS

    corners = tuple(c.strip() for c in args.corners.split(","))
    unknown = [c for c in corners if c not in CORNERS]
    if unknown or len(set(corners)) != len(corners):
        raise InputError("command line", "--corners", f"{args.corners!r}: give distinct corners from "
                                                      f"{', '.join(CORNERS)}")
    return corners, _numbers("--temps", args.temps, *TEMPERATURE_RANGE_C, "°C"), \
        _numbers("--vdds", args.vdds, *SUPPLY_RANGE_V, "V")


def _pvt(args: argparse.Namespace) -> int:
    from flows import checks
    from flows.errors import InputError
    from flows.families import family_of, refuse_foreign_options
    from flows.outdir import OutputDir

    family = family_of(args.network)
    refuse_foreign_options(family, args)
    grid = grid_of(args)
    for option, value, low in (("--mc", args.mc, 0), ("--workers", args.workers, 1), ("--seed", args.seed, 1)):
        checks.at_least(option, value, low)
    checks.seed("--seed", args.seed + max(args.mc - 1, 0))
    checks.seconds("--step", args.step)
    checks.seconds("--timeout", args.timeout)
    if args.scheduler is not None and not args.scheduler.strip():
        raise InputError("command line", "--scheduler", "is empty; give a Dask address such as tcp://host:8786")
    spec = family.pvt_spec(args, *grid)  # the family's own options and the inputs, before any work
    output = OutputDir.check(args.output, "pvt", force=args.force, inputs=[args.network, args.inputs])
    with output.write() as out:
        result, lines = family.run_pvt(spec, out)
    for line in lines:
        print(line)
    print(f"wrote {args.output / 'pvt.json'}, {args.output / 'pvt.md'} and plots")
    if not result["goal"]["met"]:
        print("bmru pvt: yield goal not met (see the tables above)", file=sys.stderr)
        return 1
    return 0
