"""`bmru compile NET -o DIR` and `bmru simulate NET --inputs SEQ -o DIR`."""
from __future__ import annotations

import argparse
from pathlib import Path

from flows.outdir import add_arguments as add_output_arguments


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="network file → netlist, GDS, schematics, testbenches, manifest",
                       description="Validate and map the network, write DIR/NAME.spice, DIR/NAME.gds, "
                                   "DIR/schematics/*.svg, DIR/testbench/*.spice and DIR/manifest.json; "
                                   "DRC and LVS must be clean unless --no-check.")
    p.add_argument("network", type=Path, help="network file (any registered schema)")
    add_output_arguments(p)
    p.add_argument("--no-check", action="store_true", help="skip DRC and LVS")
    p.add_argument("--deck", action="store_true", help="also run the external SKY130 DRC runset (slow)")
    from pdk.tinytapeout import TEMPLATES
    p.add_argument("--target", choices=sorted(TEMPLATES), default=None,
                   help="also wrap the macro into this Tiny Tapeout analog tile: DIR/tt/ holds its GDS, "
                        "pin-only LEF, Verilog stub and info.yaml (inputs, outputs, then iref on ua[0]…)")
    p.add_argument("--outline", metavar="W,H", default=None,
                   help="width and height (µm) the macro must fit in: the smallest floorplan inside it "
                        "(default: the smallest within 2 : 1)")
    family_options(p, "compile")
    p.set_defaults(handler=_compile)

    s = sub.add_parser("simulate", help="transient ngspice of the macro against the reference model",
                       description="Write DIR/circuit.csv, DIR/software.csv and DIR/summary.json.")
    s.add_argument("network", type=Path, help="network file")
    s.add_argument("--inputs", required=True, type=Path, help="input sequence CSV (x0,…)")
    add_output_arguments(s)
    from pdk.limits import SUPPLY_RANGE_V, TEMPERATURE_RANGE_C
    from pdk.models import CORNERS
    s.add_argument("--corner", default="tt", choices=CORNERS)
    s.add_argument("--temp", type=float, default=27.0,
                   help=f"temperature, °C, {TEMPERATURE_RANGE_C[0]:g} … {TEMPERATURE_RANGE_C[1]:g} (default 27)")
    s.add_argument("--vdd", type=float, default=1.8,
                   help=f"supply, V, {SUPPLY_RANGE_V[0]:g} … {SUPPLY_RANGE_V[1]:g} (default 1.8)")
    s.add_argument("--step", type=float, default=None,
                   help="seconds per input row (default: the datasheet step from the characterized "
                        "settling at the worst PVT point: the schematic's, or with --post-layout the drawn "
                        "macro's, manifest timing.step_s; 1 / --frame-rate when given)")
    s.add_argument("--seed", type=int, default=None, help="turn on mismatch with this seed")
    s.add_argument("--post-layout", action="store_true",
                   help="draw the layout and add every net's extracted wiring capacitance to the testbench")
    family_options(s, "simulate")
    s.set_defaults(handler=_simulate)


def family_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Every family's options of `command` (each names the family it applies to)."""
    from flows.families import all_families

    for family in all_families():
        family.add_options(parser, command)


def _progress(total: int):
    from tqdm import tqdm

    bar = tqdm(total=total, desc="compile", unit="step", leave=False, disable=None)

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)
        if bar.n == total:
            bar.close()
    return step


def _outline(text: str | None) -> tuple[float, float] | None:
    """`--outline W,H` as (width, height) µm, both positive."""
    import math

    from flows.errors import InputError

    if text is None:
        return None
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 2 or not all(math.isfinite(v) and v > 0 for v in values):
        raise InputError("command line", "--outline", f"{text!r}: give width and height in µm as W,H (e.g. 300,150)")
    return values


def _compile(args: argparse.Namespace) -> int:
    from flows.compile import STEPS, CompileOptions, compile_network
    from flows.families import family_of, refuse_foreign_options
    from flows.outdir import OutputDir

    family = family_of(args.network)
    refuse_foreign_options(family, args)
    build = family.build_options(args)
    output = OutputDir.check(args.output, "compile", force=args.force, inputs=[args.network])
    family.load_network(args.network)  # bad input is refused before any work
    options = CompileOptions(check=not args.no_check, deck=args.deck, build=build, target=args.target,
                             outline=_outline(args.outline))
    with output.write() as out:
        manifest = compile_network(args.network, out, options, progress=_progress(len(STEPS)))
    family.compiled(manifest)
    checks_done = ", ".join(f"{k} {'clean' if v['clean'] else v['violations']}"
                            for k, v in manifest["checks"].items())
    print(f"compiled {manifest['network']}: {manifest['devices']['total']} devices, "
          f"{manifest['area']['macro_um2']:.0f} µm², {checks_done or 'checks skipped'}, "
          f"{sum(manifest['timings_s'].values()):.1f} s → {args.output}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from flows import checks
    from flows.families import family_of, refuse_foreign_options
    from flows.outdir import OutputDir

    family = family_of(args.network)
    refuse_foreign_options(family, args)
    build = family.build_options(args)
    checks.seconds("--step", args.step)
    checks.temperature("--temp", args.temp)
    checks.supply("--vdd", args.vdd)
    checks.seed("--seed", args.seed)
    output = OutputDir.check(args.output, "simulate", force=args.force, inputs=[args.network, args.inputs])
    family.load_inputs(args.inputs, family.load_network(args.network))  # bad input before any work
    with output.write() as out:
        summary = family.simulate(args, build, out)
    print(f"simulated {family.headline(summary)} → {args.output}")
    return 0
