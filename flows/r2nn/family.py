"""The R²NN family's side of the shared pipeline (`flows.families.Family`).

The network file, the waveform CSV, the reference model and the trainer; the SKY130
realisation (a Gm-C state space of subthreshold transconductors and MiM capacitors,
`flows.r2nn.mapping`), its compile views and `bmru simulate`. The readout (energies,
argmax) is computed from the output pins' waveforms, off the macro.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from flows.errors import InputError


def _refuse_step(args: argparse.Namespace) -> None:
    if args.step is not None:
        raise InputError("command line", "--step", "not available for R²NN lattices (a lattice runs at its "
                         "network's sample rate)")


class R2nnFamily:
    schema = "r2nn-network/1"
    title = "resonant mass–spring recurrent network (R²NN)"
    commands = ()
    options = ("iref",)

    def load_network(self, path: Path):
        from flows.r2nn.network import load_network

        return load_network(path)

    def load_inputs(self, path: Path, network) -> np.ndarray:
        """(samples, 1): one waveform, header x0, one signed row per sample."""
        from flows.r2nn.network import load_inputs

        return load_inputs(path, network)

    def run_model(self, network, inputs: np.ndarray) -> np.ndarray:
        """(samples, outputs): row n the output nodes' displacement x_{n+1}."""
        from flows.r2nn.model import run_network

        return run_network(network, inputs)

    def model_files(self, network, outputs: np.ndarray) -> dict[str, str]:
        """DIR/scores.json beside software.csv: energies, normalised scores and the decision."""
        import json

        from flows.r2nn.model import decision

        return {"scores.json": json.dumps(decision(outputs), indent=1) + "\n"}

    def output_size(self, network) -> int:
        return network.output_size

    def add_options(self, parser: argparse.ArgumentParser, command: str) -> None:
        if command == "pvt":
            parser.add_argument("--iref", choices=("tuned", "fixed"), default=None,
                                help="R²NN lattices: tuned (default): iref scaled at each run so that the "
                                     "lattice's modes sit on the network's, as a per-die trim or a tuning loop "
                                     "does; fixed: the nominal iref everywhere (the modes drift with "
                                     "temperature and the MiM corner)")

    def pvt_spec(self, args: argparse.Namespace, corners, temps, vdds):
        from flows.r2nn.pvt import LatticePvtSpec
        from pdk.ngspice import DEFAULT_TIMEOUT

        _refuse_step(args)
        self.load_inputs(args.inputs, self.load_network(args.network))
        return LatticePvtSpec(args.network, args.inputs, corners, temps, vdds, mc=args.mc, seed=args.seed,
                              iref=args.iref or "tuned", workers=args.workers, scheduler=args.scheduler,
                              timeout=args.timeout or DEFAULT_TIMEOUT)

    def run_pvt(self, spec, out: Path) -> tuple[dict, list[str]]:
        from flows.r2nn import pvt

        result = pvt.run(spec, out)
        return result, pvt.tables(result)

    def build_options(self, args: argparse.Namespace):
        from flows.r2nn.mapping import BuildOptions

        return BuildOptions()

    def build_circuit(self, network, options=None):
        from flows.r2nn.circuit import build_circuit

        try:
            return build_circuit(network, options)
        except ValueError as e:  # a lattice the limits cannot realise: the mapping names why
            raise InputError(network.source, "springs", str(e)) from None

    def timing(self, circuit) -> dict:
        """A continuous-time lattice: the input is a waveform at the network's sample rate."""
        rate = circuit.network.sample_rate
        return {"step_s": 1.0 / rate, "sample_rate_hz": rate, "max_input_rate_hz": rate,
                "method": "continuous-time lattice: drive `in` with the waveform sampled at the network's "
                          "rate (first-order hold); the outputs are the displacements at the same instants"}

    def fit_to_layout(self, circuit, wiring_of):
        """The MiM plates leave out the wiring the drawn macro adds to each node."""
        from flows.r2nn.circuit import fit_to_layout

        try:
            return fit_to_layout(circuit, wiring_of)
        except ValueError as e:  # a node whose pins and wiring leave too little plate
            raise InputError(circuit.network.source, "masses", str(e)) from None

    def post_layout(self, circuit, wiring):
        """A continuous-time lattice driven at its sample rate, whose step the wiring does
        not set; `post_layout` says how far the final drawing's node wiring is from what its
        plates left out (`fit_to_layout`), as a fraction of each node's capacitance."""
        drawn = wiring()
        assumed = dict(circuit.mapping.options.wiring)
        nodes = {c.node: c.value + assumed.get(c.node, 0.0) for c in circuit.mapping.caps}
        residual = max((abs(drawn.get(n, 0.0) - assumed.get(n, 0.0)) / total for n, total in nodes.items()),
                       default=0.0)
        return circuit, {**self.timing(circuit),
                         "post_layout": {"node_wiring_F": sum(drawn.get(n, 0.0) for n in nodes),
                                         "node_wiring_left_out_F": sum(assumed.values()),
                                         "node_wiring_residual_max": residual}}

    def static_power(self, circuit, step: float) -> dict:
        from flows.r2nn.bench import idle_power

        return {"total_W": idle_power(circuit), "conditions": "tt 27C", "inputs": "in at vref (at rest)"}

    def testbenches(self, circuit, directory: Path, step: float) -> list[str]:
        from flows.netfile import write_sequence_csv
        from flows.postlayout import capacitor_lines
        from flows.r2nn.bench import example_waveform, transient_deck

        waveform = example_waveform(circuit.network)
        left_out = dict(circuit.mapping.options.wiring)  # what the plates leave to the wiring
        wiring = capacitor_lines(circuit, left_out) if left_out else ""
        (directory / "tran_example.spice").write_text(
            transient_deck(circuit, waveform, macro=f"../{circuit.network.name}.spice", wiring=wiring))
        write_sequence_csv(directory / "tran_example_inputs.csv", waveform[:, None])
        return ["tran_example.spice", "tran_example_inputs.csv"]

    def manifest(self, circuit) -> dict:
        from flows.r2nn.mapping import summary

        from flows.r2nn.offsets import rest_spread

        counts = circuit.device_count()
        return {"device_kinds": {"transistors": counts["transistors"], "capacitors": counts["capacitors"]},
                "mapping": summary(circuit.mapping), "rest_offsets": rest_spread(circuit.mapping)}

    def compiled(self, manifest: dict) -> None:
        import sys

        for note in manifest["mapping"]["notes"]:
            print(f"note: {manifest['network']}: {note}", file=sys.stderr)
        rest = manifest["rest_offsets"]
        if rest["latches"]:
            print(f"warning: {manifest['network']}: the transconductors' offsets (σ {rest['offset_sigma_V'] * 1e3:.1f} mV) "
                  f"move {rest['worst_net']} at rest by σ {rest['worst_sigma_V'] * 1e3:.0f} mV, 3σ beyond their "
                  f"{rest['linear_range_V'] * 1e3:.0f} mV linear range: mismatch detunes or latches the lattice "
                  "(no offset servo is built; bmru pvt --mc N measures it)", file=sys.stderr)

    def simulate(self, args: argparse.Namespace, options, out: Path) -> dict:
        from flows.r2nn.simulate import run

        _refuse_step(args)
        return run(args.network, args.inputs, options, args.corner, args.temp, args.vdd, out, args.post_layout,
                   args.seed)

    def headline(self, summary: dict) -> str:
        from flows.r2nn.simulate import headline

        return headline(summary)

    def register_train(self, subparsers: argparse._SubParsersAction) -> None:
        from flows.r2nn.cmd_train import register

        register(subparsers)

    def report_verdict(self, simulations: list) -> list[str]:
        from flows.report import table

        lines = ["## Verdict against the network", ""]
        if not simulations:
            return lines + ["No simulation in this build yet: `bmru simulate NET --inputs WAVE.csv -o "
                            "DIR/simulations/RUN`, then `bmru report DIR` again.", ""]
        rows = []
        for sim in simulations:
            v = sim.summary["verdict"]
            s = sim.summary["scores"]
            noise = sim.summary.get("noise")  # absent from summaries written before it was measured
            rows.append([sim.name, sim.summary["conditions"], sim.summary["samples"],
                         f"{v['correlation_min']:.4f}", f"{v['correlation_mapped_min']:.4f}",
                         f"{s['circuit']['decision']} / {s['network']['decision']}",
                         f"{v['resonance_error_max'] * 100:.2f} %", "PASS" if v["pass"] else "FAIL",
                         f"{min(noise['snr_db']):.1f} dB" if noise else "—",
                         f"{noise['decision_kept'] * 100:.0f} %" if noise else "—"])
        lines += table(["run", "conditions", "samples", "waveform correlation (worst output)",
                        "mapped values against the network", "decision circuit / network",
                        "largest resonance error", "result", "output SNR (worst)",
                        "decision kept with device noise"], rows)
        return lines + ["", f"A run passes when every output's displacement waveform correlates ≥ "
                            f"{simulations[0].summary['verdict']['goal_correlation']:g} with the network's "
                            "and the decision (largest output energy) is the network's. The transient has "
                            "no device noise; the last two columns add it (`.noise` at each output pin, "
                            "records of that PSD added to the outputs: `noise.png` of the run).", ""]

    def report_build_rows(self, manifest: dict) -> list[list]:
        kinds = manifest["device_kinds"]
        scales = manifest["mapping"]["scales"]
        return [["transistors / MiM capacitors", f"{kinds['transistors']} / {kinds['capacitors']}"],
                ["pins", f"in = vref + {scales['input_V_per_unit']:.4g} V per input unit; out = vref + "
                         f"{scales['output_V_per_unit']:.4g} V per unit displacement"]]

    def report_errors(self, manifest: dict) -> tuple[list[float], str]:
        return ([t["error"] * 100 for t in manifest["mapping"]["transconductors"]],
                "realised gm − target, % of target")

    def report_mapping(self, manifest: dict) -> list[str]:
        from flows.report import table

        m = manifest["mapping"]
        modes = m["modes"]
        return table(["transconductors", "largest term error", "capacitance", "modes",
                      "largest mode error (mapped)"],
                     [[len(m["transconductors"]), f"{m['term_error_max'] * 100:.2f} %",
                       f"{m['capacitance_F'] * 1e12:.1f} pF", len(modes),
                       f"{max((abs(x['error']) for x in modes), default=0) * 100:.3f} %"]])

    def report_zoom(self, manifest: dict) -> dict[str, str]:
        return {}

    def report_studies(self, directory: Path) -> list[str]:
        from flows import pvt
        from flows.r2nn.pvt import FIGURES, tables

        return pvt.section(directory, tables, FIGURES)

    def report_plots(self, manifest: dict, out: Path) -> dict[str, Path]:
        return {}

    def report_timing(self, manifest: dict, simulations: list, figures: dict[str, str]) -> list[str]:
        return []


FAMILY = R2nnFamily()
