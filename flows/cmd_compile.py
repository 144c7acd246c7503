"""`bmru compile NET -o DIR` and `bmru simulate NET --inputs SEQ -o DIR`."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="network file → netlist, GDS, schematics, testbenches, manifest",
                       description="Validate and map the network, write DIR/NAME.spice, DIR/NAME.gds, "
                                   "DIR/schematics/*.svg, DIR/testbench/*.spice and DIR/manifest.json; "
                                   "DRC and LVS must be clean unless --no-check.")
    p.add_argument("network", type=Path, help="network file (schema bmru-network/1)")
    p.add_argument("-o", "--output", required=True, type=Path, help="output directory (replaced atomically)")
    p.add_argument("--no-check", action="store_true", help="skip DRC and LVS")
    p.add_argument("--deck", action="store_true", help="also run the external SKY130 DRC runset (slow)")
    _diode_units(p)
    p.set_defaults(handler=_compile)

    s = sub.add_parser("simulate", help="transient ngspice of the macro against the reference model",
                       description="Write DIR/circuit.csv, DIR/software.csv and DIR/summary.json.")
    s.add_argument("network", type=Path, help="network file")
    s.add_argument("--inputs", required=True, type=Path, help="input sequence CSV (x0,…)")
    s.add_argument("-o", "--output", required=True, type=Path, help="output directory (replaced atomically)")
    from pdk.models import CORNERS
    s.add_argument("--corner", default="tt", choices=CORNERS)
    s.add_argument("--temp", type=float, default=27.0, help="temperature, °C (default 27)")
    s.add_argument("--vdd", type=float, default=1.8, help="supply, V (default 1.8)")
    s.add_argument("--step", type=float, default=None,
                   help="seconds per input row (default: the macro's datasheet step, manifest "
                        "timing.step_s, from the characterized settling at the worst PVT point)")
    s.add_argument("--seed", type=int, default=None, help="turn on mismatch with this seed")
    _diode_units(s)
    s.set_defaults(handler=_simulate)


def _diode_units(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--diode-units", type=int, default=None, metavar="M",
                        help="unit devices of every signal diode: weights become k/M (default: the "
                             "mapping's error budget decides; fewer units settle faster, more are "
                             "more precise)")


def _progress(total: int):
    from tqdm import tqdm

    bar = tqdm(total=total, desc="compile", unit="step", leave=False, disable=None)

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)
        if bar.n == total:
            bar.close()
    return step


def _check_diode_units(args: argparse.Namespace) -> None:
    from flows.errors import InputError
    from pdk.limits import MAX_UNITS_PER_RATIO

    if args.diode_units is not None and not 1 <= args.diode_units <= MAX_UNITS_PER_RATIO:
        raise InputError("command line", "--diode-units",
                         f"{args.diode_units} must be between 1 and {MAX_UNITS_PER_RATIO}")


def rounding_warning(manifest: dict) -> None:
    """One stderr line when the mapping rounded currents below the leakage floor."""
    import sys

    from flows.mapping import format_current
    from pdk.limits import MIN_BIAS_CURRENT

    rounded = manifest["mapping"].get("rounded", [])
    if not rounded:
        return
    shown = ", ".join(f"{r['parameter']} {r['target']:g} → {r['realised']:g}" for r in rounded[:3])
    more = f" and {len(rounded) - 3} more" if len(rounded) > 3 else ""
    worst = max(abs(r["error"]) for r in rounded)
    print(f"warning: {manifest['network']}: {len(rounded)} current(s) below the "
          f"{format_current(MIN_BIAS_CURRENT)} leakage floor rounded ({shown}{more}; worst error "
          f"{worst:.3g} units, within the error budget); see manifest.json mapping.rounded",
          file=sys.stderr)


def _compile(args: argparse.Namespace) -> int:
    from flows.compile import STEPS, CompileOptions, compile_network
    from flows.outdir import atomic_output

    _check_diode_units(args)
    options = CompileOptions(check=not args.no_check, deck=args.deck, diode_units=args.diode_units)
    with atomic_output(args.output) as out:
        manifest = compile_network(args.network, out, options, progress=_progress(len(STEPS)))
    rounding_warning(manifest)
    checks = ", ".join(f"{k} {'clean' if v['clean'] else v['violations']}" for k, v in manifest["checks"].items())
    print(f"compiled {manifest['network']}: {manifest['devices']['total']} transistors, "
          f"{manifest['area']['macro_um2']:.0f} µm², {checks or 'checks skipped'}, "
          f"{sum(manifest['timings_s'].values()):.1f} s → {args.output}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from flows.errors import InputError
    from flows.outdir import atomic_output
    from flows.simulate import SimulationRun, run
    from pdk.models import Conditions

    _check_diode_units(args)
    if args.step is not None and not (args.step > 0):
        raise InputError("command line", "--step", f"{args.step} must be a positive number of seconds")
    if not 1.0 <= args.vdd <= 2.0:
        raise InputError("command line", "--vdd", f"{args.vdd} V is outside the 1.0–2.0 V range of 01v8 devices")
    conditions = Conditions(args.corner, temp=args.temp, vdd=args.vdd, mismatch=args.seed is not None,
                            seed=args.seed)
    with atomic_output(args.output) as out:
        summary = run(SimulationRun(args.network, args.inputs, conditions, args.step, args.diode_units), out)
    a = summary["agreement"]
    agreement = (f"state agreement {a['state_agreement'] * 100:.1f} %" if "state_agreement" in a
                 else f"max relative error {a['relative_error_max'] * 100:.2f} %")
    print(f"simulated {summary['network']} ({summary['conditions']}, {a['steps']} steps): {agreement}, "
          f"decision {'agrees' if a['decision_agrees'] else 'DIFFERS'}, "
          f"average power {summary['power']['total_W'] * 1e9:.2f} nW → {args.output}")
    return 0
