"""`bmru model run`: the reference model's output trace for one input sequence."""
from __future__ import annotations

import argparse

from flows.outdir import add_arguments as add_output_arguments


def register(sub: argparse._SubParsersAction) -> None:
    model_parser = sub.add_parser("model", help="run the numpy reference model")
    model_sub = model_parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    run = model_sub.add_parser("run", help="write DIR/software.csv: the network's output trace")
    run.add_argument("network", metavar="NET", help="network file (bmru-network/1 YAML)")
    run.add_argument("--inputs", metavar="SEQ", required=True,
                     help="input sequence CSV (header x0,…,x{n-1}, one row per step, values >= 0)")
    add_output_arguments(run)
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from flows.bmru.model import run_network
    from flows.netfile import write_trace_csv
    from flows.bmru.network import load_network
    from flows.netfile import load_sequence
    from flows.outdir import OutputDir

    output = OutputDir.check(args.output, "model run", force=args.force, inputs=[args.network, args.inputs])
    network = load_network(args.network)
    inputs = load_sequence(args.inputs, network.input_size)
    trace = run_network(network, inputs)
    with output.write() as tmp:
        write_trace_csv(tmp / "software.csv", trace.output)
    print(f"{args.output}/software.csv: {inputs.shape[0]} steps, {network.output_size} outputs")
    return 0
