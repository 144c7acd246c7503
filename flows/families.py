"""Network families and how the shared pipeline finds them.

A family is one package under `flows/` (its schema and validator, reference model, mapping,
circuit builder, trainer and studies) whose `FAMILY` object follows `Family` below. The
pipeline (`flows.compile`, the CLI) reads a network file's `schema:` field, takes the family
registered for it here and never branches on a family's name: adding a family is one new
package and one line in `REGISTRY`.
"""
from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from flows.errors import InputError
from flows.netfile import schema_of

#: schema → package whose `FAMILY` implements it (imported only when a file needs it).
REGISTRY = {
    "bmru-network/1": "flows.bmru",
    "mondeq-network/1": "flows.mondeq",
    "r2nn-network/1": "flows.r2nn",
}


@dataclass(frozen=True)
class Block:
    """One subckt instance of a macro: instance name, cell object and port → net (every
    family's circuit is a tuple of these)."""

    name: str
    cell: object
    nets: dict[str, str]


class Circuit(Protocol):
    """What compile, LVS, schematics and post-layout read of a family's circuit: cells built
    from device lists (`cells/`), instantiated as blocks of one top subckt."""

    network: Any  # the validated network; its .name names the top subckt and the files
    ports: tuple[str, ...]
    blocks: list  # Block

    def cells(self) -> list: ...
    def ports_of(self, cell) -> tuple[str, ...]: ...
    def netlist(self) -> str: ...
    def device_count(self) -> dict: ...
    def schematic_style(self, cell) -> str:
        """'array' (a transistor crossbar), 'resistor_array' (a resistor–diode crossbar),
        'capacitor_bank' or 'leaf' (signal-flow order)."""


class Family(Protocol):
    #: the `schema:` value of its network files
    schema: str
    #: a few words for help texts ("FQ-BMRU recurrent network")
    title: str
    #: modules with `register(subparsers)` for the family's own verbs (studies, gradient)
    commands: tuple[str, ...]
    #: argparse destinations of the family's own compile/simulate options (`add_options`):
    #: another family's file given one of them is refused
    options: tuple[str, ...]

    def load_network(self, path: Path) -> Any: ...
    def load_inputs(self, path: Path, network: Any) -> np.ndarray: ...
    def run_model(self, network: Any, inputs: np.ndarray) -> np.ndarray:
        """(rows, outputs) of the reference model: what `model run` writes."""
    def output_size(self, network: Any) -> int: ...
    def model_files(self, network: Any, outputs: np.ndarray) -> dict[str, str]:
        """Files `model run` writes beside software.csv (name → text), e.g. scores."""
    def add_options(self, parser: argparse.ArgumentParser, command: str) -> None:
        """Add this family's options of `command` ('compile', 'simulate', 'pvt')."""
    def build_options(self, args: argparse.Namespace) -> Any:
        """The family's build options from the command line (checked: bad values raise
        InputError before any work)."""
    def build_circuit(self, network: Any, options: Any = None) -> Circuit:
        """The circuit of a validated network (options None: the family's defaults)."""
    def timing(self, circuit: Circuit) -> dict:
        """The manifest's datasheet timing (ARCHITECTURE §4 `timing`)."""
    def fit_to_layout(self, circuit: Circuit, wiring_of: Callable[[Circuit], dict[str, float]]) -> Circuit:
        """The circuit resized for the wiring its own drawing adds (`wiring_of(c)`: net →
        extracted capacitance, F, of `c` drawn as the compile draws it), or `circuit` for a
        family whose values the wiring does not move."""
    def post_layout(self, circuit: Circuit, wiring: Callable[[], dict[str, float]]) -> tuple[Circuit, dict]:
        """The circuit and its timing for the drawn layout (`wiring()`: net → extracted
        capacitance, F, called only by a family whose timing uses it); the circuit may take
        another unit current, never other devices."""
    def static_power(self, circuit: Circuit, step: float) -> dict:
        """Idle supply power (`total_W`, …) for the Liberty view and `power.static`."""
    def testbenches(self, circuit: Circuit, directory: Path, step: float) -> list[str]:
        """Write DIR/testbench/*; returns the file names."""
    def manifest(self, circuit: Circuit) -> dict:
        """Family fields of manifest.json (`unit_current`, `mapping`, …)."""
    def compiled(self, manifest: dict) -> None:
        """Say on stderr what a user should know about a compile (rounding, …)."""
    def simulate(self, args: argparse.Namespace, options: Any, out: Path) -> dict:
        """Run `bmru simulate` into `out` with the build options `build_options` gave;
        returns summary.json's content."""
    def headline(self, summary: dict) -> str: ...
    def pvt_spec(self, args: argparse.Namespace, corners: tuple[str, ...], temps: tuple[float, ...],
                 vdds: tuple[float, ...]) -> Any:
        """`bmru pvt`'s study of this family from the checked grid and the command line;
        bad input (the family's options, the inputs file) is refused here, before any work."""
    def run_pvt(self, spec: Any, out: Path) -> tuple[dict, list[str]]:
        """Run the study into `out` (pvt.json, pvt.md, plots); returns pvt.json's content
        (its `goal.met` sets the exit status) and the tables to print."""
    def register_train(self, subparsers: argparse._SubParsersAction) -> None:
        """Add this family's `bmru train …` subcommands."""
    # `bmru report` (flows.report): the family's sections of a build report
    def report_verdict(self, simulations: list) -> list[str]:
        """Markdown lines: every simulation judged against the network as given."""
    def report_build_rows(self, manifest: dict) -> list[list]:
        """Extra [quantity, value] rows of the Build table."""
    def report_mapping(self, manifest: dict) -> list[str]:
        """Markdown lines of the Mapping section."""
    def report_errors(self, manifest: dict) -> tuple[list[float], str]:
        """(every mapped parameter's error, its axis label) for the mapping histogram."""
    def report_zoom(self, manifest: dict) -> dict[str, str]:
        """Layout view name (`flows.report.LAYOUT_VIEWS`) → cell to zoom on."""
    def report_studies(self, directory: Path) -> list[str]:
        """Markdown lines of the family's studies found in the build (e.g. DIR/pvt)."""
    def report_plots(self, manifest: dict, out: Path) -> dict[str, Path]:
        """The family's own figures, drawn into `out` (key → file)."""
    def report_timing(self, manifest: dict, simulations: list, figures: dict[str, str]) -> list[str]:
        """Markdown lines of the Timing and power section (with the simulations before and
        after layout side by side); `figures` maps report_plots' keys to paths relative
        to the report."""


def family_of(path: str | Path) -> Family:
    """The family of a network file, from its `schema:` field (bad input: one line)."""
    data, schema = schema_of(path)
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise InputError(path, None, f"not a network file: the top level is {kind}, expected a mapping")
    if schema not in REGISTRY:
        known = ", ".join(REGISTRY)
        problem = "missing" if not schema else f"{schema!r} is not supported"
        raise InputError(path, "schema", f"{problem}; a network file starts with 'schema: S' "
                                         f"for S one of {known}")
    return importlib.import_module(REGISTRY[schema]).FAMILY


def family_named(schema: str) -> Family:
    """The family registered for `schema` (a manifest's `family` field)."""
    return importlib.import_module(REGISTRY[schema]).FAMILY


def all_families() -> list[Family]:
    return [importlib.import_module(package).FAMILY for package in REGISTRY.values()]


def refuse_foreign_options(family: Family, args: argparse.Namespace) -> None:
    """An option another family added, given for this family's file, is an error, not a
    silent no-op."""
    for other in all_families():
        if other is family:
            continue
        for option in other.options:
            if option not in family.options and getattr(args, option, None) not in (None, False):
                flag = "--" + option.replace("_", "-")
                raise InputError("command line", flag, f"applies to {other.schema} networks; "
                                                       f"{args.network} is {family.schema}")
