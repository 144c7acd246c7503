"""`bmru finetune NET --build DIR -o NET2.yaml [--inputs SEQ…] [--task kws]`: the network
moved onto what the macro in DIR computes (flows.bmru.finetune), with the agreement before
and after measured in ngspice."""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from flows.cmd_train import check_output
from flows.errors import InputError

FINETUNED_BY = "# Fine-tuned by: bmru finetune"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "finetune", help="BMRU: move a network onto what its compiled macro computes",
        description="Write NET2.yaml: NET with every parameter at the value the macro in DIR realises "
                    "(unit-device ratios) with the cells' characterized errors at tt 27 °C 1.8 V, each held "
                    "inside its unit count's rounding interval, so compiling NET2.yaml with DIR's --diode-units "
                    "gives the same devices. With --inputs, a transient of the macro per sequence (ngspice) "
                    "gives the BMRU state agreement against NET and against NET2; with --task kws the "
                    "held-out accuracy of both.")
    p.add_argument("network", type=Path, help="network file DIR was compiled from (bmru-network/1)")
    p.add_argument("--build", required=True, type=Path, metavar="DIR", help="output directory of bmru compile")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="NET2.yaml",
                   help="network file to write: a new file, or one an earlier 'bmru finetune' wrote")
    p.add_argument("--force", action="store_true", help="replace NET2.yaml even if bmru finetune did not write it")
    p.add_argument("--inputs", nargs="+", type=Path, default=[], metavar="SEQ",
                   help="input sequences (CSV) to measure the agreement on")
    p.add_argument("--task", choices=("kws",), help="also compare the software accuracy on this task's "
                   "held-out set (kws: the espeak-ng corpus of bmru train kws)")
    p.add_argument("--workers", type=int, default=None, metavar="K", help="parallel ngspice runs (default: cores)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from flows.bmru.finetune import compiled_macro, finetune
    from flows.bmru.network import load_network
    from flows.families import family_of
    from flows.netfile import load_sequence
    from pdk.cache import write_atomically

    if family_of(args.network).schema != "bmru-network/1":
        raise InputError(args.network, "schema", "finetune takes bmru-network/1 files")
    network = load_network(args.network)
    check_output(args.output, args.force, FINETUNED_BY, "bmru finetune")
    if args.output.resolve() == args.network.resolve():
        raise InputError(args.output, None, "is NET itself: write the fine-tuned network to a new file")
    sequences = {path: load_sequence(path, network.input_size) for path in args.inputs}
    circuit = compiled_macro(network, args.build)
    tuned = finetune(circuit)
    m, d = circuit.notes["weight_diode_units"], circuit.notes["bias_diode_units"]
    print(f"macro {args.build}: M = {m}, D = {d}, {circuit.network.unit_current:g} A per unit; "
          f"{len(tuned.held)} parameter(s) held at their unit count's edge")
    print(f"compiling {args.output} with --diode-units {m} gives "
          + ("the same devices" if tuned.same_devices else
             "other devices: its values also fit a coarser bias tree, which its own mapping chooses; "
             f"it describes the macro in {args.build}"))
    if sequences:
        for path, (before, after) in _agreement(circuit, tuned.network, sequences, args.workers).items():
            print(f"{path}: BMRU states agree {before * 100:.1f} % with {args.network.name} → "
                  f"{after * 100:.1f} % with {args.output.name} (ngspice, tt 27 °C)")
    if args.task == "kws":
        from flows.bmru.kws_data import espeak_corpus

        corpus = espeak_corpus("held_out")
        x = corpus.scaled()
        for label, net in ((args.network.name, network), (args.output.name, tuned.network)):
            accuracy, recall = _accuracy(net, x, corpus.labels)
            print(f"{label}: held-out accuracy {accuracy * 100:.1f} %, 'yes' recall {recall * 100:.1f} % "
                  f"({len(x)} clips)")
    header = f"{FINETUNED_BY} from {args.network} to the macro in {args.build}\n"
    write_atomically(args.output, header + replace(tuned.network, name=network.name).to_yaml())
    print(f"wrote {args.output}")
    return 0


def _agreement(circuit, tuned, sequences: dict, workers: int | None) -> dict:
    """Per sequence: (state agreement of the macro's transient with the network, with the
    fine-tuned network)."""
    from flows.bmru.model import run_network
    from flows.bmru.simulate import Bench
    from pdk.models import Conditions
    from pdk.ngspice import Job, simulate_many

    conditions = Conditions()
    benches = {path: Bench.around(circuit, inputs) for path, inputs in sequences.items()}
    plots = simulate_many([Job(f"finetune_{k}", bench.deck(conditions)) for k, bench in enumerate(benches.values())],
                          workers=workers, desc="finetune")
    result = {}
    for k, (path, bench) in enumerate(benches.items()):
        states = bench.cell_states(plots[f"finetune_{k}"][0], conditions)
        after = replace(bench, reference=run_network(tuned, bench.inputs))
        result[path] = (bench.states_of(states)["agreement"], after.states_of(states)["agreement"])
    return result


def _accuracy(network, x, labels) -> tuple[float, float]:
    """(accuracy, 'yes' recall) of the last-row decision (argmax, 0 = yes)."""
    import numpy as np

    from flows.bmru.model import run_network

    decided = np.array([int(np.argmax(run_network(network, clip).output[-1])) for clip in x])
    return float((decided == labels).mean()), float((decided[labels == 0] == 0).mean())
