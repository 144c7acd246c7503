"""`bmru gradient NET --inputs X.csv --targets Y.csv -o DIR`: the loss gradient of a monDEQ
network measured on its circuit (hardware linearization) or computed by the model."""
from __future__ import annotations

import argparse
from pathlib import Path

from flows.outdir import add_arguments as add_output_arguments

METHODS = ("hardware-linearization", "model")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gradient", help="monDEQ: loss gradient measured on the circuit (hardware linearization)",
                       description="Write DIR/gradient.json: L = ½·mean over rows of Σ_j (y_j − t_j)² "
                                   "and its gradient for every layer's bias, input_weight and weight. "
                                   "hardware-linearization: ngspice operating points of the compiled "
                                   "circuit and its small-signal adjoint (output pins perturbed, node "
                                   "voltages read); model: the reference model's implicit gradient.")
    p.add_argument("network", type=Path, help="network file (schema mondeq-network/1)")
    p.add_argument("--inputs", required=True, type=Path, help="input rows CSV (x0,…)")
    p.add_argument("--targets", required=True, type=Path,
                   help="target rows CSV (y0,… or step,y0,… as bmru model run writes), one per input row")
    add_output_arguments(p)
    p.add_argument("--method", choices=METHODS, default=METHODS[0])
    from pdk.models import CORNERS
    p.add_argument("--corner", default="tt", choices=CORNERS)
    p.add_argument("--temp", type=float, default=27.0, help="temperature, °C (default 27)")
    p.set_defaults(handler=_gradient)


def _gradient(args: argparse.Namespace) -> int:
    import json

    from flows import checks
    from flows.errors import InputError
    from flows.families import family_of
    from flows.netfile import load_targets
    from flows.outdir import OutputDir

    family = family_of(args.network)
    if family.schema != "mondeq-network/1":
        raise InputError(args.network, "schema", f"{family.schema}: bmru gradient is for mondeq-network/1 networks")
    checks.temperature("--temp", args.temp)
    output = OutputDir.check(args.output, "gradient", force=args.force,
                             inputs=[args.network, args.inputs, args.targets])
    network = family.load_network(args.network)
    inputs = family.load_inputs(args.inputs, network)
    targets = load_targets(args.targets, network.output_size, len(inputs))
    if args.method == "model":
        from flows.mondeq.model import gradient

        loss, layers = gradient(network, inputs, targets)
    else:
        from flows.mondeq.bench import hardware_gradient
        from flows.mondeq.circuit import build_circuit
        from pdk.models import Conditions

        measured = hardware_gradient(build_circuit(network), inputs, targets, Conditions(args.corner, temp=args.temp))
        loss, layers = measured.loss, measured.layers
    result = {"loss": loss, "method": args.method,
              "layers": [{key: value.tolist() for key, value in layer.items()} for layer in layers]}
    with output.write() as out:
        (out / "gradient.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.output}/gradient.json: loss {loss:.6g} ({args.method}, {len(inputs)} rows)")
    return 0
