"""`bmru features AUDIO… -o DIR`: the KWS front end, one input-sequence CSV per WAV file."""
from __future__ import annotations

import argparse
from pathlib import Path

from flows.errors import InputError
from flows.outdir import add_arguments as add_output_arguments


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "features", help="KWS front end: WAV files → scaled MFCC input sequences (CSV)",
        description="Write DIR/<stem>.csv (header x0..x12, one row per 10 ms frame, values in "
                    "[0, 1]) for each mono or multi-channel WAV file, at any sample rate.")
    p.add_argument("audio", nargs="+", metavar="AUDIO", help="WAV files")
    add_output_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from flows.bmru.features import features_from_wav, write_sequence_csv
    from flows.outdir import OutputDir

    stems: dict[str, Path] = {}
    for name in args.audio:
        path = Path(name)
        if path.stem in stems:
            raise InputError(path, None, f"same stem as {stems[path.stem]}: outputs would collide")
        stems[path.stem] = path
    output = OutputDir.check(args.output, "features", force=args.force, inputs=args.audio)
    # Read everything first so that a bad file leaves no output directory behind.
    sequences = {stem: features_from_wav(path) for stem, path in stems.items()}
    with output.write() as tmp:
        for stem, rows in sequences.items():
            write_sequence_csv(tmp / f"{stem}.csv", rows)
    for stem, rows in sequences.items():
        print(f"{Path(args.output) / (stem + '.csv')}: {rows.shape[0]} rows")
    return 0
