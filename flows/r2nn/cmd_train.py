"""`bmru train r2nn --task machine|tactile|voice -o NET.yaml --seed S`: train an R²NN lattice."""
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
    from flows.r2nn.tasks import TASKS

    p = tasks.add_parser("r2nn", help="R²NN mass–spring lattice: --task machine | tactile | voice",
                         description="Train an r2nn-network/1 lattice (3 × 3 main masses with local "
                                     "resonators, corners clamped): springs and dampers clamped to "
                                     "stable ranges, gradient by the adjoint of the central-difference "
                                     "recursion. Tasks are generated here (condition monitoring, tactile "
                                     "pulse trains, espeak-ng words). Deterministic for a seed. Prints "
                                     "train and test accuracy.")
    p.add_argument("--task", choices=TASKS, default=TASKS[0])
    p.add_argument("-o", "--output", required=True, metavar="NET.yaml",
                   help="network file to write: a new file, or one an earlier 'bmru train' wrote")
    p.add_argument("--force", action="store_true",
                   help="replace NET.yaml even if 'bmru train' did not write it")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--batch", type=int)
    p.add_argument("--sharpness", type=float,
                   help="β of the loss on E^β / ΣE^β (the decision is argmax E either way)")
    p.add_argument("--name", help="network name (default: from the output file name)")
    p.add_argument("--cache", metavar="DIR",
                   help="voice: cache for espeak-ng audio (default ~/.cache/bmru-sky130)")
    p.add_argument("--examples", metavar="DIR", help="also write the first --examples-count test "
                   "waveforms of each class as CSVs (header x0) with DIR/labels.csv")
    p.add_argument("--examples-count", type=int, default=2, metavar="N")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from flows.r2nn.train import DEFAULTS, train

    from flows.outdir import OutputDir
    from flows.r2nn.tasks import write_examples

    for key in ("epochs", "lr", "batch", "sharpness", "examples_count"):
        positive(args, key, getattr(args, key))
    output = check_output(Path(args.output), args.force)
    examples = OutputDir.check(args.examples, "train --examples", force=args.force) if args.examples else None
    name = args.name or re.sub(r"[^a-z0-9_]", "_", output.stem.lower())
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise InputError("command line", "--name", f"{name!r} must match [a-z][a-z0-9_]*")
    settings = {key: getattr(args, key) if getattr(args, key) is not None else value
                for key, value in DEFAULTS[args.task].items()}
    started = time.monotonic()

    def log(epoch: int, loss: float) -> None:
        print(f"epoch {epoch + 1}/{settings['epochs']}  loss {loss:.4f}  "
              f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    network, metrics = train(args.task, seed=args.seed, progress=log,
                             cache_dir=Path(args.cache) if args.cache else None, **settings)
    network = replace(network, name=name)
    options = " ".join(f"--{key} {value}" for key, value in settings.items())
    header = [f"{TRAINED_BY[2:]} r2nn --task {args.task} -o {args.output} --seed {args.seed} {options}"]
    header += [f"{key}: {value:.4f}" for key, value in metrics.items()]
    output.write_text("".join(f"# {line}\n" for line in header) + network.to_yaml())
    if examples is not None:
        with examples.write() as tmp:
            written = write_examples(args.task, tmp, args.examples_count,
                                     Path(args.cache) if args.cache else None)
        print(f"wrote {len(written) - 1} test waveforms and labels.csv to {args.examples}")
    print(f"wrote {output}: {network.size} masses, {len(network.springs)} springs, "
          f"{network.output_size} outputs")
    for key, value in metrics.items():
        print(f"{key}: {value:.4f}")
    print(f"training time: {time.monotonic() - started:.0f} s")
    return 0
