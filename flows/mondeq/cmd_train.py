"""`bmru train mondeq --task digits -o NET.yaml --seed S`: train a realizable monDEQ network."""
from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

from flows.cmd_train import TRAINED_BY, check_output, positive
from flows.errors import InputError


def register(tasks) -> None:
    from flows.mondeq.train import LOOP_TASK, TASKS

    p = tasks.add_parser("mondeq", help="resistor–diode monDEQ: --task digits (scikit-learn's 8×8 digits)",
                         description="Train a mondeq-network/1 network whose every step stays "
                                     "realizable by a resistor–diode circuit (symmetric non-negative "
                                     "couplings, diagonal dominance, monotone margin): forward pass the "
                                     "fixed point, backward pass the implicit gradient. Deterministic for "
                                     "a seed. The readout's load is part of every node's diagonal and every "
                                     "conductance the compile would drop is pruned and the rest "
                                     "fine-tuned, so the compiled circuit keeps the accuracy. Prints "
                                     "train and test accuracy, the mapped network's, and the resistor "
                                     "count.")
    p.add_argument("--task", choices=TASKS + (LOOP_TASK,), default=TASKS[0],
                   help=f"digits: 64 pixels, 10 classes; {LOOP_TASK}: digits 0–3 on 8 principal "
                        "components, trained with the loss L = ½·mean Σ (y − t)² of bmru gradient")
    p.add_argument("--hardware-in-the-loop", action="store_true",
                   help=f"{LOOP_TASK} only: every gradient measured on the circuit compiled from the "
                        "current parameters (ngspice, hardware linearization; ~2 min)")
    p.add_argument("--steps", type=int, help=f"{LOOP_TASK}: mini-batch steps")
    p.add_argument("-o", "--output", required=True, metavar="NET.yaml",
                   help="network file to write: a new file, or one an earlier 'bmru train' wrote")
    p.add_argument("--force", action="store_true", help="replace NET.yaml even if 'bmru train' did not write it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--activation", choices=("diode_relu", "relu"), default="diode_relu",
                   help="diode_relu (default): the activation the circuit's diodes compute, so the "
                        "circuit reproduces the network; relu: the ideal, approximated by the circuit")
    p.add_argument("--hidden", type=int, help="nodes of the equilibrium stage")
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--batch", type=int)
    p.add_argument("--finetune-epochs", type=int,
                   help="epochs after pruning every conductance the compile would drop")
    p.add_argument("--l1", type=float, help="penalty on the sum of conductances in the first "
                                             "epochs: larger, fewer resistors")
    p.add_argument("--train-rows", type=int, help="train on the first rows of the training split only "
                                                   "(smoke runs)")
    p.add_argument("--name", help="network name (default: from the output file name)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from flows.mondeq.train import DEFAULTS, LOOP_DEFAULTS, LOOP_TASK, train, train_in_the_loop

    for key in ("hidden", "epochs", "lr", "batch", "train_rows", "steps"):
        positive(args, key, getattr(args, key))
    loop = args.task == LOOP_TASK
    if args.hardware_in_the_loop and not loop:
        raise InputError("command line", "--hardware-in-the-loop", f"needs --task {LOOP_TASK} (a small "
                         "task: every step runs ngspice three times)")
    unused = ("epochs", "finetune_epochs", "l1", "train_rows") if loop else ("steps",)
    for key in unused:
        if getattr(args, key) is not None:
            raise InputError("command line", f"--{key.replace('_', '-')}", f"does not apply to --task {args.task}")
    for key in ("finetune_epochs", "l1"):
        value = getattr(args, key)
        if value is not None and not value >= 0:
            raise InputError("command line", f"--{key.replace('_', '-')}", f"{value} must be >= 0")
    output = check_output(Path(args.output), args.force)
    name = args.name or re.sub(r"[^a-z0-9_]", "_", output.stem.lower())
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise InputError("command line", "--name", f"{name!r} must match [a-z][a-z0-9_]*")
    settings = {key: getattr(args, key) if getattr(args, key) is not None else value
                for key, value in (LOOP_DEFAULTS if loop else DEFAULTS[args.task]).items()}
    started = time.monotonic()
    total = settings["steps"] if loop else settings["epochs"] + settings["finetune_epochs"]

    def log(epoch: int, loss: float) -> None:
        print(f"{'step' if loop else 'epoch'} {epoch + 1}/{total}  loss {loss:.4f}  "
              f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    if loop:
        if args.activation != "diode_relu":
            raise InputError("command line", "--activation", f"--task {LOOP_TASK} trains diode_relu "
                             "(what the circuit computes)")
        network, metrics = train_in_the_loop(args.hardware_in_the_loop, seed=args.seed, progress=log, **settings)
        metrics.pop("seconds")
        settings["hardware-in-the-loop"] = args.hardware_in_the_loop
    else:
        if args.train_rows is not None:
            settings["train_rows"] = args.train_rows
        network, metrics = train(args.task, activation=args.activation, seed=args.seed, progress=log, **settings)
    network = replace(network, name=name)
    options = " ".join(f"--{key.replace('_', '-')}" + ("" if value is True else f" {value:g}")
                       for key, value in settings.items() if value is not False)
    header = [f"{TRAINED_BY[2:]} mondeq --task {args.task} -o {args.output} --seed {args.seed} "
              f"{options} --activation {args.activation}"]
    lines = [f"{key}: {value}" if isinstance(value, int) else f"{key}: {value:.4f}"
             for key, value in metrics.items()]
    output.write_text("".join(f"# {line}\n" for line in header + lines) + network.to_yaml())
    print(f"wrote {output}: {network.layers[0].size} nodes, {network.output_size} outputs")
    for line in lines:
        print(line)
    print(f"training time: {time.monotonic() - started:.0f} s")
    return 0
