"""`bmru model run`: the reference model's output trace for one input sequence."""
from __future__ import annotations

import argparse

from flows.outdir import add_arguments as add_output_arguments


def register(sub: argparse._SubParsersAction) -> None:
    model_parser = sub.add_parser("model", help="run the numpy reference model")
    model_sub = model_parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    run = model_sub.add_parser("run", help="write DIR/software.csv: the network's output trace")
    run.add_argument("network", metavar="NET", help="network file (any registered schema)")
    run.add_argument("--inputs", metavar="SEQ", required=True,
                     help="input sequence CSV (header x0,…,x{n-1}, one row per step)")
    add_output_arguments(run)
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from flows.families import family_of
    from flows.netfile import write_trace_csv
    from flows.outdir import OutputDir

    family = family_of(args.network)
    output = OutputDir.check(args.output, "model run", force=args.force, inputs=[args.network, args.inputs])
    network = family.load_network(args.network)
    inputs = family.load_inputs(args.inputs, network)
    outputs = family.run_model(network, inputs)
    with output.write() as tmp:
        write_trace_csv(tmp / "software.csv", outputs)
        for name, text in family.model_files(network, outputs).items():
            (tmp / name).write_text(text)
    print(f"{args.output}/software.csv: {inputs.shape[0]} rows, {family.output_size(network)} outputs")
    return 0
