"""`bmru sweep power --dims 1,2,4,… -o DIR`: power of the recurrent core and of the
feed-forward mirrors against d, with fitted exponents (flows/bmru/sweep.py)."""
from __future__ import annotations

import argparse
import sys

from flows.outdir import add_arguments as add_output_arguments


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="scaling sweeps of the compiled circuit (power vs dimension)",
                       description="Scaling sweeps at transistor level.")
    kinds = p.add_subparsers(dest="sweep", metavar="KIND", required=True)
    s = kinds.add_parser("power", help="supply power of recurrent core and feed-forward part vs d",
                         description="For each d, a random input(d) → BMRU(d) network with fixed per-entry "
                                     "statistics; DC operating points over random input vectors; write "
                                     "DIR/power.json (per-d power, recurrent_exponent, feedforward_exponent, "
                                     "R²) and DIR/power.png.")
    s.add_argument("--dims", default="1,2,4,8,16,32",
                   help="comma-separated dimensions, 1 … 64 (default 1,2,4,8,16,32: ≈ 8 min on 2 cores; "
                        "ngspice 39 parses the SKY130 model instances superlinearly, d = 32 alone takes ≈ 7.5 min "
                        "and 2.8 GB, d = 64 was still parsing at 8.4 GB after 8 CPU-minutes)")
    add_output_arguments(s)
    s.add_argument("--seed", type=int, default=0, help="seed of the random networks and inputs (default 0)")
    s.add_argument("--workers", type=int, default=2, help="parallel ngspice runs (default 2)")
    s.add_argument("--vectors", type=int, default=None, help="random input vectors per d (default 8)")
    s.add_argument("--fit-min", type=int, default=None,
                   help="fit the power law over d ≥ this (default 4: below it constant terms dominate)")
    s.add_argument("--timeout", type=float, default=None,
                   help="seconds one d may take in ngspice (default 7200; d = 64 parses ≈ 4800 SKY130 "
                        "model instances); a d that fails is listed under 'failed' and the exit status is 1")
    s.set_defaults(handler=_power)


def _dims(text: str) -> tuple[int, ...]:
    from flows.errors import InputError

    try:
        dims = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError("--dims", None, f"{text!r} is not a comma-separated list of integers") from None
    if not dims or min(dims) < 1 or max(dims) > 64:
        raise InputError("--dims", None, f"{text!r}: every dimension must be 1 … 64 "
                                         "(64 × 64 weights already take ≈ 4800 model instances)")
    return dims


def _power(args: argparse.Namespace) -> int:
    from flows import checks
    from flows.outdir import OutputDir
    from flows.bmru import sweep

    dims = _dims(args.dims)
    checks.at_least("--workers", args.workers, 1)
    checks.seed("--seed", args.seed)
    checks.seconds("--timeout", args.timeout)
    vectors = checks.at_least("--vectors", sweep.DEFAULT_VECTORS if args.vectors is None else args.vectors, 1)
    checks.at_least("--fit-min", args.fit_min, 1)
    output = OutputDir.check(args.output, "sweep power", force=args.force)
    spec = sweep.SweepSpec(dims=dims, seed=args.seed, vectors=vectors, workers=args.workers,
                           fit_min=sweep.DEFAULT_FIT_MIN if args.fit_min is None else args.fit_min,
                           **({} if args.timeout is None else {"timeout": args.timeout}))

    def progress(row: dict) -> None:
        print(f"d={row['d']:>3}: recurrent {row['recurrent_W'] * 1e9:9.3f} nW, feed-forward "
              f"{row['feedforward_W'] * 1e9:9.3f} nW ({row['seconds']:.1f} s)", flush=True)

    with output.write() as tmp:
        result = sweep.run(spec, tmp, progress=progress)
    for part in ("recurrent", "feedforward"):
        fit = result["fits"]["fit"][part]
        exponent = "n/a" if fit["exponent"] is None else f"{fit['exponent']:.3f} (R² {fit['r2']:.4f})"
        print(f"{part} exponent over d in {fit['dims']}: {exponent}")
    print(f"wrote {args.output / 'power.json'} and {args.output / 'power.png'}")
    for d, message in result["failed"].items():
        print(f"bmru sweep: d={d} not measured: {message}", file=sys.stderr)
    return 1 if result["failed"] else 0
