"""`bmru train TASK -o NET.yaml …`: each family registers its training tasks as
subcommands (`bmru train kws`, `bmru train mondeq --task digits`); what they share — the
network file they may replace, positive numeric options — lives here."""
from __future__ import annotations

import argparse
from pathlib import Path

from flows.errors import InputError

#: First line of every network file `bmru train` writes (how a rerun recognises its own file).
TRAINED_BY = "# Trained by: bmru train"


def register(sub: argparse._SubParsersAction) -> None:
    from flows.families import all_families

    p = sub.add_parser("train", help="train a network and write its network file",
                       description="Train a network of one family on a task and write it as a "
                                   "network file that bmru compile takes.")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True, parser_class=type(p))
    for family in all_families():
        family.register_train(tasks)


def positive(args: argparse.Namespace, name: str, value) -> None:
    if value is not None and value <= 0:
        raise InputError("command line", f"--{name.replace('_', '-')}", f"{value} must be > 0")


def check_output(output: Path, force: bool, marker: str = TRAINED_BY, command: str = "bmru train") -> Path:
    """A network file is replaced only when an earlier `command` wrote it (its first line is
    `marker`) or under --force."""
    if output.is_dir():
        raise InputError(output, None, "is a directory; give a file name such as net.yaml")
    if not output.parent.is_dir():
        raise InputError(output, None, f"its directory {output.parent} does not exist")
    if output.exists() and not force:
        with open(output, "rb") as f:
            first = f.readline()
        if not first.startswith(marker.encode()):
            raise InputError(output, None, f"exists and was not written by '{command}'; give a new "
                                           "file name, or --force to replace it")
    return output
