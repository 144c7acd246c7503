"""The R²NN family's side of the shared pipeline (`flows.families.Family`).

The software half is here: the network file, the waveform CSV, the reference model and
the trainer. The SKY130 realisation (gyrator-C springs, MiM masses, energy detectors,
winner-take-all: issue 20, steps 4b and 5) is not built yet; its methods say so in one
line instead of failing somewhere inside the pipeline.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from flows.errors import InputError

NOT_BUILT = ("the SKY130 realisation of r2nn-network/1 lattices is not built yet; `bmru model "
             "run` and `bmru train r2nn` work, and flows.r2nn.analog writes the ideal R, L, C analog")


class R2nnFamily:
    schema = "r2nn-network/1"
    title = "resonant mass–spring recurrent network (R²NN)"
    commands = ()
    options = ()

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

        result = {key: (value.tolist() if hasattr(value, "tolist") else value)
                  for key, value in decision(outputs).items()}
        return {"scores.json": json.dumps(result, indent=1) + "\n"}

    def output_size(self, network) -> int:
        return network.output_size

    def add_options(self, parser: argparse.ArgumentParser, command: str) -> None:
        return None

    def build_options(self, args: argparse.Namespace):
        """compile, simulate and pvt call this first: they stop here, before any work."""
        raise InputError(args.network, "schema", NOT_BUILT)

    def _not_built(self, what) -> InputError:
        source = getattr(what, "network", what)
        return InputError(getattr(source, "source", "network"), "schema", NOT_BUILT)

    def build_circuit(self, network, options=None):
        raise self._not_built(network)

    def timing(self, circuit) -> dict:
        raise self._not_built(circuit)

    def static_power(self, circuit, step: float) -> dict:
        raise self._not_built(circuit)

    def testbenches(self, circuit, directory: Path, step: float) -> list[str]:
        raise self._not_built(circuit)

    def manifest(self, circuit) -> dict:
        raise self._not_built(circuit)

    def compiled(self, manifest: dict) -> None:
        raise InputError(manifest.get("network", "manifest.json"), "family", NOT_BUILT)

    def simulate(self, args: argparse.Namespace, options, out: Path) -> dict:
        raise InputError(args.network, "schema", NOT_BUILT)

    def headline(self, summary: dict) -> str:
        raise InputError("summary.json", "family", NOT_BUILT)

    def register_train(self, subparsers: argparse._SubParsersAction) -> None:
        from flows.r2nn.cmd_train import register

        register(subparsers)

    def report_verdict(self, simulations: list) -> list[str]:
        return ["## Verdict against the network", "", NOT_BUILT[0].upper() + NOT_BUILT[1:] + ".", ""]

    def report_build_rows(self, manifest: dict) -> list[list]:
        return []

    def report_mapping(self, manifest: dict) -> list[str]:
        return []

    def report_zoom(self, manifest: dict) -> dict[str, str]:
        return {}

    def report_studies(self, directory: Path) -> list[str]:
        return []


FAMILY = R2nnFamily()
