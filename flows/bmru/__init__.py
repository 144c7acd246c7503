"""The FQ-BMRU family (Fyon et al. 2026): recurrent networks of dense ReLU layers and
hysteretic BMRU cells, compiled to current-mode subthreshold circuits (weights as
unit-transistor ratios, thresholds and levels as bias currents).

`FAMILY` is what the shared pipeline calls (`flows.families.Family`); the modules beside it
hold the schema (`network`), the reference model (`model`), the mapping (`mapping`), the
circuit builder (`circuit`), the transient bench (`simulate`, `testbench`), the datasheet
timing (`timing`), the trainer (`train`) and the studies (`noise`, `sweep`, `pvt`).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class BuildOptions:
    """diode_units: M of every signal diode, weights realised as k/M (None: the mapping's
    error budget decides); frame_rate: input rows per second, which sets the unit current
    (None: the network's own); mapping: the mapping's knobs (None: its defaults)."""

    diode_units: int | None = None
    frame_rate: float | None = None
    mapping: object = field(default=None)


def diode_units_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--diode-units", type=int, default=None, metavar="M",
                        help="BMRU networks: unit devices of every signal diode, weights become k/M "
                             "(default: the mapping's error budget decides; fewer units settle "
                             "faster, more are more precise)")
    parser.add_argument("--frame-rate", type=float, default=None, metavar="HZ",
                        help="BMRU networks: input rows per second; the unit current (iref, the whole "
                             "bias tree and every signal scale with it) becomes the lowest that settles "
                             "within one row at the worst PVT point, so power follows the task (default: "
                             "the network's unit_current, rows held for the datasheet step)")


class BmruFamily:
    schema = "bmru-network/1"
    title = "FQ-BMRU recurrent network"
    commands = ("flows.bmru.cmd_features", "flows.bmru.cmd_sweep", "flows.bmru.cmd_noise",
                "flows.bmru.cmd_finetune")
    options = ("diode_units", "frame_rate", "engine")

    def load_network(self, path: Path):
        from flows.bmru.network import load_network

        return load_network(path)

    def load_inputs(self, path: Path, network) -> np.ndarray:
        from flows.netfile import load_sequence

        return load_sequence(path, network.input_size)

    def run_model(self, network, inputs: np.ndarray) -> np.ndarray:
        from flows.bmru.model import run_network

        return run_network(network, inputs).output

    def output_size(self, network) -> int:
        return network.output_size

    def model_files(self, network, outputs: np.ndarray) -> dict[str, str]:
        return {}

    def add_options(self, parser: argparse.ArgumentParser, command: str) -> None:
        diode_units_argument(parser)
        if command == "pvt":
            parser.add_argument("--engine", choices=("ngspice", "model"), default=None,
                                help="BMRU networks: what judges each run: ngspice (default), or the circuit-aware "
                                     "model around one nominal ngspice transient (flows/bmru/mismatch.py: every "
                                     "unit device's offset as the flat deck of the same seed draws it; 10 000 "
                                     "kws_d4 samples in seconds; power not modelled)")

    def pvt_spec(self, args: argparse.Namespace, corners, temps, vdds):
        from flows import checks
        from flows.bmru.pvt import PvtSpec
        from flows.errors import InputError
        from flows.netfile import load_sequence
        from pdk.ngspice import DEFAULT_TIMEOUT

        checks.diode_units(args.diode_units)
        checks.frame_rate(args.frame_rate)
        engine = args.engine or "ngspice"
        if engine == "model" and args.scheduler:
            raise InputError("command line", "--scheduler", "runs ngspice jobs; --engine model runs one transient "
                                                            "locally")
        load_sequence(args.inputs, self.load_network(args.network).input_size)
        return PvtSpec(args.network, args.inputs, corners, temps, vdds, mc=args.mc, seed=args.seed, step=args.step,
                       diode_units=args.diode_units, frame_rate=args.frame_rate, workers=args.workers,
                       scheduler=args.scheduler, timeout=args.timeout or DEFAULT_TIMEOUT, engine=engine)

    def run_pvt(self, spec, out: Path) -> tuple[dict, list[str]]:
        from flows.bmru import pvt

        result = pvt.run(spec, out)
        return result, pvt.tables(result)

    def build_options(self, args: argparse.Namespace) -> BuildOptions:
        from flows import checks

        checks.diode_units(args.diode_units)
        checks.frame_rate(args.frame_rate)
        return BuildOptions(diode_units=args.diode_units, frame_rate=args.frame_rate)

    def build_circuit(self, network, options: BuildOptions | None = None):
        from flows.bmru.circuit import build_circuit

        options = options or BuildOptions()
        return build_circuit(network, options.mapping, options.diode_units, options.frame_rate)

    def timing(self, circuit) -> dict:
        from flows.bmru.timing import macro_timing

        return macro_timing(circuit)

    def fit_to_layout(self, circuit, wiring_of):
        """A BMRU macro's values are unit counts: the wiring sets its timing (`post_layout`)."""
        return circuit

    def post_layout(self, circuit, wiring):
        from flows.bmru.circuit import post_layout_circuit
        from flows.bmru.timing import macro_timing, wiring_slowdown

        slowdown = wiring_slowdown(circuit, wiring())
        circuit = post_layout_circuit(circuit, slowdown)
        return circuit, macro_timing(circuit, slowdown)

    def static_power(self, circuit, step: float) -> dict:
        from flows.bmru.simulate import static_power

        return static_power(circuit, step)

    def testbenches(self, circuit, directory: Path, step: float) -> list[str]:
        from flows.bmru.testbench import example_testbench

        return example_testbench(circuit, directory, step)

    def manifest(self, circuit) -> dict:
        return {"unit_current": circuit.network.unit_current,
                "mapping": {"summary": circuit.mapping.summary()["layers"], "table": circuit.mapping.table(),
                            "weight_diode_units": circuit.notes["weight_diode_units"],
                            "bias_diode_units": circuit.notes["bias_diode_units"],
                            "bias_lines": circuit.notes["bias_lines"],
                            "rounded": circuit.mapping.rounded()}}

    def compiled(self, manifest: dict) -> None:
        """One stderr line when the mapping rounded currents below the leakage floor."""
        from flows.bmru.mapping import format_current
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

    def simulate(self, args: argparse.Namespace, options: BuildOptions, out: Path) -> dict:
        from flows.bmru.simulate import SimulationRun, run
        from pdk.models import Conditions

        conditions = Conditions(args.corner, temp=args.temp, vdd=args.vdd, mismatch=args.seed is not None,
                                seed=args.seed)
        return run(SimulationRun(args.network, args.inputs, conditions, args.step, options.diode_units,
                                 options.frame_rate, post_layout=args.post_layout), out)

    def headline(self, summary: dict) -> str:
        from flows.bmru.simulate import headline

        return headline(summary)

    def register_train(self, subparsers: argparse._SubParsersAction) -> None:
        from flows.bmru.cmd_train import register

        register(subparsers)

    def report_verdict(self, simulations: list) -> list[str]:
        from flows.bmru.report import verdict_section

        return verdict_section(simulations)

    def report_build_rows(self, manifest: dict) -> list[list]:
        return [["unit current", f"{manifest.get('unit_current', 0):g} A"]]

    def report_errors(self, manifest: dict) -> tuple[list[float], str]:
        from flows.report import table_errors

        return table_errors(manifest)

    def report_mapping(self, manifest: dict) -> list[str]:
        from flows.bmru.report import mapping_lines

        return mapping_lines(manifest)

    def report_zoom(self, manifest: dict) -> dict[str, str]:
        from flows.bmru.report import zoom_cells

        return zoom_cells(manifest)

    def report_studies(self, directory: Path) -> list[str]:
        from flows import pvt
        from flows.bmru.pvt import FIGURES, tables

        return pvt.section(directory, tables, FIGURES)

    def report_plots(self, manifest: dict, out: Path) -> dict[str, Path]:
        from flows.bmru.report import unit_current_plot

        return unit_current_plot(manifest, out)

    def report_timing(self, manifest: dict, simulations: list, figures: dict[str, str]) -> list[str]:
        from flows.bmru.report import layout_comparison, timing_section

        return timing_section(manifest, figures) + layout_comparison(simulations)


FAMILY = BmruFamily()
