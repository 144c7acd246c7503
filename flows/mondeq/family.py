"""The monDEQ family's side of the shared pipeline (`flows.families.Family`)."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from flows.errors import InputError


class MondeqFamily:
    schema = "mondeq-network/1"
    title = "resistor–diode monotone equilibrium network"
    commands = ("flows.mondeq.cmd_gradient",)
    options = ("volts_per_unit",)

    def load_network(self, path: Path):
        from flows.mondeq.network import load_network

        return load_network(path)

    def load_inputs(self, path: Path, network) -> np.ndarray:
        from flows.mondeq.network import load_inputs

        return load_inputs(path, network)

    def run_model(self, network, inputs: np.ndarray) -> np.ndarray:
        from flows.mondeq.model import run_network

        return run_network(network, inputs).outputs

    def output_size(self, network) -> int:
        return network.output_size

    def model_files(self, network, outputs: np.ndarray) -> dict[str, str]:
        return {}

    def add_options(self, parser: argparse.ArgumentParser, command: str) -> None:
        parser.add_argument("--volts-per-unit", type=float, default=None, metavar="S",
                            help="monDEQ relu networks: volts per network unit (default 2.0; a "
                                 "larger S makes the diode's knee sharper, needs wider swings)")

    def build_options(self, args: argparse.Namespace):
        from flows.mondeq.mapping import BuildOptions

        if args.volts_per_unit is not None and not 0 < args.volts_per_unit <= 2.5:
            raise InputError("command line", "--volts-per-unit", f"{args.volts_per_unit:g} must be in (0, 2.5] V")
        return BuildOptions(volts_per_unit=args.volts_per_unit)

    def build_circuit(self, network, options=None):
        from flows.mondeq.circuit import build_circuit

        return build_circuit(network, options)

    def timing(self, circuit) -> dict:
        from flows.mondeq.timing import settling

        return settling(circuit)

    def fit_to_layout(self, circuit, wiring_of):
        """A resistor network at its equilibrium: capacitance does not move the fixed point."""
        return circuit

    def post_layout(self, circuit, wiring):
        """The pre-layout timing: derived from the resistor network's time constants,
        without the wiring."""
        return circuit, self.timing(circuit)

    def static_power(self, circuit, step: float) -> dict:
        from flows.mondeq.bench import operating_points

        point = operating_points(circuit, np.zeros((1, circuit.network.input_size)))
        return {"total_W": float(point.power_W[0]), "conditions": "tt 27C",
                "inputs": "all 0 (every pin at vref)"}

    def testbenches(self, circuit, directory: Path, step: float) -> list[str]:
        from flows.mondeq.bench import deck
        from flows.netfile import write_sequence_csv

        inputs = example_inputs(circuit.network)
        text, _ = deck(circuit, inputs, macro=f"../{circuit.network.name}.spice")
        (directory / "op_example.spice").write_text(text)
        write_sequence_csv(directory / "op_example_inputs.csv", inputs)
        return ["op_example.spice", "op_example_inputs.csv"]

    def manifest(self, circuit) -> dict:
        m = circuit.mapping
        levels = m.levels
        counts = circuit.device_count()
        return {"device_kinds": {"resistors": counts["resistors"], "diodes": counts["diodes"]},
                "levels": {"vref_V": levels.reference, "volts_per_unit": levels.volts_per_unit,
                           "vp_V": levels.vp, "vn_V": levels.vn, "vclamp_V": levels.clamp},
                "levels_by_temp_C": {f"{t:g}": {"volts_per_unit": lv.volts_per_unit, "vp_V": lv.vp, "vn_V": lv.vn,
                                                 "vclamp_V": lv.clamp}
                                     for t in (-40.0, 0.0, 27.0, 85.0, 125.0) for lv in [m.levels_at(t)]},
                "conductance_per_unit_S": m.unit_conductance, "readout_ratio": m.readout_ratio,
                "activation": {"kind": "diode_relu", "softness": m.diode.softness, "scale": m.diode.scale,
                               "as_given": circuit.network.layers[0].activation},
                "clamp_diode": {"size_um": list(m.diode_size), "design_current_A": m.diode_current},
                "mapping": {"summary": m.summary(), "table": m.table(),
                            "predicted": predicted_error(circuit)}}

    def compiled(self, manifest: dict) -> None:
        import sys

        from flows.mondeq.simulate import PASS_RANGE_ERROR

        predicted = manifest["mapping"]["predicted"]
        if predicted["output_error_of_range_max"] > PASS_RANGE_ERROR:
            s = manifest["mapping"]["summary"]
            print(f"warning: {manifest['network']}: the mapped network is "
                  f"{predicted['output_error_of_range_max'] * 100:.1f} % of an output's range away from "
                  f"the network on {predicted['rows']} probe rows: {s['dropped']} conductances are below "
                  f"the longest resistor at this scale (readout share {manifest['readout_ratio']:.3g}); "
                  "train with `bmru train mondeq`, which keeps them in range", file=sys.stderr)
        if manifest["activation"]["as_given"] == "relu":
            a = manifest["activation"]
            print(f"note: {manifest['network']}: the diodes compute the diode ReLU (softness "
                  f"{a['softness']:.3g}, scale {a['scale']:.3g}), close to the network's relu; "
                  "bmru simulate reports the difference", file=sys.stderr)

    def simulate(self, args: argparse.Namespace, options, out: Path) -> dict:
        from flows.mondeq.simulate import run

        if args.seed is not None:
            raise InputError("command line", "--seed", "mismatch is not modelled for monDEQ circuits yet")
        if args.post_layout:
            raise InputError("command line", "--post-layout", "not available for monDEQ circuits yet "
                             "(their operating points do not depend on wiring capacitance)")
        return run(args.network, args.inputs, options, args.corner, args.temp, out)

    def headline(self, summary: dict) -> str:
        from flows.mondeq.simulate import headline

        return headline(summary)

    def register_train(self, subparsers: argparse._SubParsersAction) -> None:
        from flows.mondeq.cmd_train import register

        register(subparsers)

    def report_verdict(self, simulations: list) -> list[str]:
        from flows.report import table

        lines = ["## Verdict against the network", ""]
        if not simulations:
            return lines + ["No simulation in this build yet: `bmru simulate NET --inputs ROWS -o "
                            "DIR/simulations/RUN`, then `bmru report DIR` again.", ""]
        rows = []
        goal = None
        for sim in simulations:
            v = sim.summary["verdict"]
            goal = v["goal_output_error_of_range"]
            rows.append([sim.name, sim.summary.get("conditions", ""), sim.summary.get("rows", ""),
                         f"{v['output_error_of_range_max'] * 100:.2f} %",
                         f"{v['output_error_of_range_mapped_max'] * 100:.2f} %",
                         f"{v['decision_agreement'] * 100:.1f} %",
                         f"{sim.summary['uniqueness']['max_difference_units']:.2g}",
                         "PASS" if v["pass"] else "FAIL"])
        lines += table(["run", "conditions", "rows", "largest output error, of range",
                        "against the mapped network", "argmax agreeing", "spread over initial guesses (units)",
                        "result"], rows)
        return lines + ["", f"A run passes when every output of every row is within {goal * 100:g} % of "
                            "that output's range (over the rows) of the network file as given. The mapped "
                            "network (every conductance as drawn, the diode ReLU the circuit computes) "
                            "shows what the realisation alone explains; the spread is the largest "
                            "difference between the operating points reached from three initial guesses.", ""]

    def report_build_rows(self, manifest: dict) -> list[list]:
        levels = manifest["levels"]
        a = manifest["activation"]
        kinds = manifest["device_kinds"]
        return [["resistors / diodes", f"{kinds['resistors']} / {kinds['diodes']}"],
                ["volts per unit", f"{levels['volts_per_unit']:.4g} V (vref {levels['vref_V']:g} V, "
                                   f"vclamp {levels['vclamp_V']:.4g} V)"],
                ["activation", f"{a['kind']} softness {a['softness']:.4g}, scale {a['scale']:.4g} "
                               f"(network: {a['as_given']})"]]

    def report_errors(self, manifest: dict) -> tuple[list[float], str]:
        from flows.report import table_errors

        return table_errors(manifest)

    def report_mapping(self, manifest: dict) -> list[str]:
        from flows.report import table

        s = manifest["mapping"]["summary"]
        return table(["resistors drawn", "left out (too small)", "largest error (units)",
                      "resistance range", "conductance per unit", "readout share"],
                     [[s["resistors"], s["dropped"], f"{s['error_max']:.4g}",
                       f"{s['ohms_min'] / 1e3:.0f} kΩ … {s['ohms_max'] / 1e6:.2f} MΩ",
                       f"{manifest['conductance_per_unit_S'] * 1e6:.3g} µS",
                       f"{manifest['readout_ratio']:.3g}"]])

    def report_zoom(self, manifest: dict) -> dict[str, str]:
        return {}

    def report_studies(self, directory: Path) -> list[str]:
        return []

    def report_plots(self, manifest: dict, out: Path) -> dict[str, Path]:
        return {}

    def report_timing(self, manifest: dict, simulations: list, figures: dict[str, str]) -> list[str]:
        return []


def predicted_error(circuit) -> dict:
    """How far the mapped network (conductances as drawn, the circuit's diode ReLU) is from
    the network as given on the mapping's probe rows: what bmru simulate will find, before
    any ngspice run."""
    from flows.agreement import range_error
    from flows.mondeq.mapping import PROBE_ROWS, probe_rows
    from flows.mondeq.model import run_network

    probe = probe_rows(circuit.network)
    error = range_error(run_network(circuit.network, probe).outputs,
                        run_network(circuit.mapping.mapped(), probe).outputs)
    return {"rows": PROBE_ROWS, "inputs": "uniform in [-1, 1] units",
            "output_error_of_range_max": error["range_error_max"],
            "output_error_of_range_mean": error["range_error_mean"]}


def example_inputs(network, rows: int = 6) -> np.ndarray:
    """Deterministic signed rows for the shipped testbench: a ramp from −1 to 1 per input,
    out of phase between inputs."""
    levels = np.linspace(-1.0, 1.0, rows)
    return np.array([[levels[(r + k) % rows] for k in range(network.input_size)] for r in range(rows)])


FAMILY = MondeqFamily()

