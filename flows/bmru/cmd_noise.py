"""`bmru noise -o DIR`: noise suppression at every cell boundary of a BMRU chain against a
linear chain, state flips against distance to threshold, error growth (flows/bmru/noise.py)."""
from __future__ import annotations

import argparse

from flows.outdir import add_arguments as add_output_arguments


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("noise", help="noise suppression at every cell boundary (BMRU chain vs linear chain)",
                       description="Transient-noise testbenches on a compiled chain of one-unit BMRU layers "
                                   "and on the same chain with ReLU units: white noise injected at every cell "
                                   "input; per boundary S = (RMS input deviation / beta_hi) / (RMS output "
                                   "deviation / alpha) against the noiseless deck, in the hold band and beyond "
                                   "both thresholds, both states, every level; state-flip probability against "
                                   "distance to threshold; SKY130 device noise from .noise. Writes "
                                   "DIR/noise.json and DIR/noise.png.")
    add_output_arguments(p)
    p.add_argument("--levels", default=None,
                   help="comma-separated noise levels, RMS as a fraction of beta_hi (default 0.02,0.05,0.1)")
    p.add_argument("--layers", type=int, default=None, help="BMRU layers in the chain, 2 … 16 (default 6)")
    p.add_argument("--distances", default=None,
                   help="comma-separated distances to threshold (fraction of beta_hi, 0 … 0.5) for the flip "
                        "study (default 0.0625,0.125,0.1875,0.3125; the hold and threshold points add 0.375 and 0.75)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise samples (default 0)")
    p.add_argument("--workers", type=int, default=2, help="parallel ngspice runs (default 2)")
    p.add_argument("--trnoise", action="store_true",
                   help="use ngspice's trnoise sources instead of seeded PWL white noise (ngspice 39 cannot "
                        "seed them: results change from run to run)")
    p.set_defaults(handler=_noise)


def _floats(text: str | None, option: str, default: tuple[float, ...], low: float, high: float,
            closed: bool = True) -> tuple[float, ...]:
    from flows.errors import InputError

    if text is None:
        return default
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(option, None, f"{text!r} is not a comma-separated list of numbers") from None
    if not values or any(not (low < v < high or (closed and v == high)) for v in values):
        raise InputError(option, None, f"{text!r}: every value must be in ({low:g}, {high:g}{']' if closed else ')'}")
    return tuple(sorted(set(values)))


def _noise(args: argparse.Namespace) -> int:
    from flows.bmru import noise
    from flows.errors import InputError
    from flows import checks
    from flows.outdir import OutputDir

    levels = _floats(args.levels, "--levels", noise.DEFAULT_LEVELS, 0.0, 1.0)
    distances = _floats(args.distances, "--distances", noise.DEFAULT_DISTANCES, 0.0, 0.5, closed=False)
    layers = noise.DEFAULT_LAYERS if args.layers is None else args.layers
    if not 2 <= layers <= 16:
        raise InputError("--layers", None, f"{layers} must be 2 … 16")
    checks.at_least("--workers", args.workers, 1)
    checks.seed("--seed", args.seed)
    output = OutputDir.check(args.output, "noise", force=args.force)
    spec = noise.NoiseSpec(levels=levels, layers=layers, seed=args.seed, workers=args.workers,
                           distances=distances, engine="trnoise" if args.trnoise else "pwl")
    with output.write() as tmp:
        result = noise.run(spec, tmp, progress=lambda line: print(line, flush=True))
    bound = "≥ " if result["suppression_min_is_bound"] else ""
    at = result["suppression_min_at"]
    print(f"suppression_min {bound}{result['suppression_min']:.4g} ({at['region']}, {at['state']} state, "
          f"{at['level'] * 100:g} % noise, layer {at['layer']}); linear chain "
          f"{result['linear_suppression_min']:.3g} … {result['linear_suppression_max']:.3g}")
    print(f"wrote {args.output / 'noise.json'} and {args.output / 'noise.png'}")
    return 0
