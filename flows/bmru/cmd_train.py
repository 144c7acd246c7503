"""`bmru train kws|flipflop -o NET.yaml --seed S`: train an FQ-BMRU network (needs the
[train] extra)."""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from flows.cmd_train import TRAINED_BY, check_output, positive
from flows.errors import InputError
from flows.outdir import OutputDir

#: Per task: architecture sizes and optimiser settings that `bmru train TASK` uses unless
#: overridden. The KWS defaults are the ones that produced `examples/kws_d4.yaml`.
DEFAULTS = {
    "kws": {"hidden": 8, "state": 4, "epochs": 100, "lr": 0.002, "batch": 64},
    "flipflop": {"hidden": 4, "state": 2, "epochs": 20, "lr": 0.03, "batch": 32},
}


def register(tasks) -> None:
    """`bmru train kws` and `bmru train flipflop`: one subcommand per task, same options."""
    for task, help_text in (("kws", "'yes' vs other words from 13 MFCCs"),
                            ("flipflop", "set/reset memory on two inputs")):
        _task_parser(tasks.add_parser(
            task, help=f"FQ-BMRU: {help_text}",
            description="Train an FQ-BMRU network and write it as a bmru-network/1 file. Exact "
                        "Heaviside forward pass, surrogate-gradient backward pass; deterministic "
                        "for a given seed (one CPU thread). Prints the held-out accuracy of the "
                        "network as written and with weights rounded to 1/8."))


def _task_parser(p) -> None:
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
    p.add_argument("--hardware", action=argparse.BooleanOptionalAction, default=False,
                   help="hardware-aware second half of the epochs: train on the values the compiled circuit "
                        "realises, with a mismatch sample of every parameter per mini-batch and a "
                        "threshold-margin term, and write that grid (flows.bmru.train.Hardware). Measured on "
                        "kws with --diode-units 8: transistor-level states ≥ 99 %% on 8 of the 10 shipped "
                        "sequences (5 without), held-out accuracy 95.7 %% (97.2 %% without)")
    p.add_argument("--margin", type=float, default=None, metavar="FRACTION",
                   help="with --hardware: keep every BMRU drive this fraction of a threshold away from "
                        "β_lo and β_hi on the training data (default 2 σ of the drive-to-threshold distance "
                        "that mismatch spreads, from the cells' characterization; the file's header records it)")
    p.add_argument("--diode-units", type=int, default=None, metavar="M",
                   help="with --hardware: the M the network will be compiled with (default: as bmru compile)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = dict(DEFAULTS[args.task])
    for key in ("hidden", "state", "epochs", "lr", "batch"):
        positive(args, key, getattr(args, key))
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    positive(args, "unit_current", args.unit_current)
    hardware = args.hardware
    if not hardware and (args.margin is not None or args.diode_units is not None):
        raise InputError("command line", "--margin" if args.margin is not None else "--diode-units",
                         "needs --hardware")
    if args.margin is not None and not 0 < args.margin < 1:
        raise InputError("command line", "--margin", f"{args.margin:g} must be a fraction between 0 and 1")
    if args.diode_units is not None:
        positive(args, "diode_units", args.diode_units)
    output = check_output(Path(args.output), args.force)
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
    if hardware:
        options = {"unit_current": args.unit_current, "diode_units": args.diode_units}
        if args.margin is not None:
            options["margin"] = args.margin
        settings["hardware"] = train.Hardware(**options)
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
    options = " ".join(f"--{key} {value}" for key, value in settings.items() if key not in ("min_bias", "hardware"))
    hardware = settings.get("hardware")
    if hardware is not None:
        options += f" --hardware --margin {hardware.margin:.4g}" + (
            f" --diode-units {hardware.diode_units}" if hardware.diode_units else "")
    source = f" --speech-commands {args.speech_commands}" if args.speech_commands else ""
    lines = [f"{TRAINED_BY[2:]} {args.task} -o {args.output} --seed {args.seed} "
             f"{options}{source}"]
    lines += [f"{key}: {value:.4f}" for key, value in metrics.items()]
    return "".join(f"# {line}\n" for line in lines)
