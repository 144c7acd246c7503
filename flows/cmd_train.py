"""`bmru train TASK -o NET.yaml --seed S`: train an FQ-BMRU network (needs the [train] extra)."""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from flows.errors import InputError
from flows.outdir import OutputDir

#: First line of every network file `bmru train` writes (how a rerun recognises its own file).
TRAINED_BY = "# Trained by: bmru train"

#: Per task: architecture sizes and optimiser settings that `bmru train TASK` uses unless
#: overridden. The KWS defaults are the ones that produced `examples/kws_d4.yaml`.
DEFAULTS = {
    "kws": {"hidden": 8, "state": 4, "epochs": 100, "lr": 0.002, "batch": 64},
    "flipflop": {"hidden": 4, "state": 2, "epochs": 20, "lr": 0.03, "batch": 32},
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train an FQ-BMRU network and write it as a bmru-network/1 file",
        description="Exact Heaviside forward pass, surrogate-gradient backward pass; "
                    "deterministic for a given seed (one CPU thread). Prints the held-out "
                    "accuracy of the network as written and with weights rounded to 1/8.")
    p.add_argument("task", choices=sorted(DEFAULTS), help="kws: 'yes' vs other words from "
                   "13 MFCCs; flipflop: set/reset memory on two inputs")
    p.add_argument("-o", "--output", required=True, metavar="NET.yaml",
                   help="network file to write: a new file, or one an earlier 'bmru train' wrote")
    p.add_argument("--force", action="store_true",
                   help="replace NET.yaml even if 'bmru train' did not write it")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--epochs", type=int, help="passes over the training set")
    p.add_argument("--hidden", type=int, help="width H of the dense layers")
    p.add_argument("--state", type=int, help="BMRU state dimension d")
    p.add_argument("--lr", type=float, help="Adam learning rate (cosine-decayed)")
    p.add_argument("--batch", type=int, help="sequences per mini-batch")
    p.add_argument("--name", help="network name (default: from the output file name)")
    p.add_argument("--unit-current", type=float, default=1e-9, metavar="A",
                   help="amperes per software unit written into the file (default 1e-9)")
    p.add_argument("--speech-commands", metavar="ROOT", help="kws: train and test on a local "
                   "Speech Commands copy (<ROOT>/<word>/*.wav) instead of the espeak-ng corpus")
    p.add_argument("--cache", metavar="DIR", help="kws: cache for generated audio and "
                   "features (default ~/.cache/bmru-sky130)")
    p.add_argument("--held-out-audio", metavar="DIR", help="kws (espeak corpus): also write "
                   "--held-out-count held-out 'yes' clips and as many others as WAV files")
    p.add_argument("--held-out-count", type=int, default=5, metavar="N")
    p.set_defaults(handler=run)


def _positive(args: argparse.Namespace, name: str, value) -> None:
    if value is not None and value <= 0:
        raise InputError("command line", f"--{name.replace('_', '-')}", f"{value} must be > 0")


def run(args: argparse.Namespace) -> int:
    settings = dict(DEFAULTS[args.task])
    for key in ("hidden", "state", "epochs", "lr", "batch"):
        _positive(args, key, getattr(args, key))
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    _positive(args, "unit_current", args.unit_current)
    output = _check_output(Path(args.output), args.force)
    held_out = (OutputDir.check(args.held_out_audio, "train --held-out-audio", force=args.force)
                if args.held_out_audio else None)
    name = args.name or re.sub(r"[^a-z0-9_]", "_", output.stem.lower())
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise InputError("command line", "--name", f"{name!r} must match [a-z][a-z0-9_]*")
    if args.speech_commands and args.task != "kws":
        raise InputError("command line", "--speech-commands", "only for the kws task")
    try:
        from flows.bmru import train
    except ImportError:
        raise InputError("command line", "train", "needs torch: pip install -e '.[train]'") from None

    started = time.monotonic()

    def log(epoch: int, loss: float) -> None:
        print(f"epoch {epoch + 1}/{settings['epochs']}  loss {loss:.4f}  "
              f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    from pdk.limits import MIN_BIAS_CURRENT
    settings["min_bias"] = MIN_BIAS_CURRENT / args.unit_current
    if args.task == "kws":
        params, metrics = _train_kws(args, settings, log, held_out)
    else:
        params, metrics = train.train_flipflop(seed=args.seed, log=log, **settings)
    network = train.write_network(output, name, args.unit_current, params,
                                  _header(args, settings, metrics))
    print(f"wrote {output}: {len(network.layers)} layers, "
          f"{sum(layer.weight.size for layer in network.layers)} weights")
    for key, value in metrics.items():
        print(f"{key}: {value:.4f}")
    print(f"training time: {time.monotonic() - started:.0f} s")
    return 0


def _check_output(output: Path, force: bool) -> Path:
    """A network file is replaced only when an earlier `bmru train` wrote it (its first line
    says so) or under --force."""
    if output.is_dir():
        raise InputError(output, None, "is a directory; give a file name such as net.yaml")
    if output.exists() and not force:
        with open(output, "rb") as f:
            first = f.readline()
        if not first.startswith(TRAINED_BY.encode()):
            raise InputError(output, None, "exists and was not written by 'bmru train'; give a new "
                                           "file name, or --force to replace it")
    return output


def _train_kws(args: argparse.Namespace, settings: dict, log, held_out):
    from flows.bmru import kws_data, train
    cache = Path(args.cache) if args.cache else None
    if args.speech_commands:
        train_set = kws_data.speech_commands_corpus(args.speech_commands, "training")
        test_set = kws_data.speech_commands_corpus(args.speech_commands, "testing")
    else:
        train_set = kws_data.espeak_corpus("train", cache)
        test_set = kws_data.espeak_corpus("held_out", cache)
    targets = train.kws_row_targets(train_set.labels, train_set.onset, train_set.offset,
                                    train_set.mfcc.shape[1])
    params, metrics = train.train_kws(train_set.scaled(), targets, test_set.scaled(),
                                      test_set.labels, seed=args.seed, log=log, **settings)
    if held_out is not None:
        with held_out.write() as tmp:
            written = kws_data.write_held_out_wavs(tmp, args.held_out_count, cache)
        for path in written:
            print(f"wrote {held_out.target / path.name}")
    return params, metrics


def _header(args: argparse.Namespace, settings: dict, metrics: dict) -> str:
    """Comment lines recording how the file was made and how well it did (no timings:
    the same seed must give the same bytes)."""
    options = " ".join(f"--{key} {value}" for key, value in settings.items() if key != "min_bias")
    source = f" --speech-commands {args.speech_commands}" if args.speech_commands else ""
    lines = [f"{TRAINED_BY[2:]} {args.task} -o {args.output} --seed {args.seed} "
             f"{options}{source}"]
    lines += [f"{key}: {value:.4f}" for key, value in metrics.items()]
    return "".join(f"# {line}\n" for line in lines)
