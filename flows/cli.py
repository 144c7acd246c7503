"""The `bmru` command line. Each command module registers its own subcommands; heavy
imports happen inside the handlers so that every command starts quickly.

SIGINT and SIGTERM stop every child process at once (`pdk.processes`), then unwind the
command like Ctrl-C does, so its temporary output goes; the exit status is 128 + signal."""
from __future__ import annotations

import argparse
import importlib
import signal
import sys

from flows.errors import CheckFailed, InputError

#: Modules with a `register(subparsers)` function, in the order `bmru --help` lists them;
#: each family's own verbs follow (`flows.families`).
COMMAND_MODULES = (
    "flows.cmd_pdk",
    "flows.cmd_compile",
    "flows.cmd_report",
    "flows.cmd_characterize",
    "flows.cmd_model",
    "flows.cmd_train",
    "flows.cmd_pvt",
    "flows.cmd_drc",
    "flows.cmd_lvs",
    "flows.cmd_view",
)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: unwind (removing temporary outputs) and exit 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.exit_code = 128 + signum


class _Parser(argparse.ArgumentParser):
    """Bad command lines get one line and exit 2, like every other bad input."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: command line: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bmru",
        description="Compile trained networks (FQ-BMRU recurrent networks, resistor–diode "
                    "equilibrium networks) into SKY130 circuits.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    from flows.families import all_families

    family_commands = [m for family in all_families() for m in family.commands]
    for name in COMMAND_MODULES + tuple(family_commands):
        importlib.import_module(name).register(sub)
    return parser


def _on_signal(signum: int, frame) -> None:
    from pdk import processes

    if processes.stopping():
        return  # already unwinding: let the clean-up finish
    processes.stop_all()
    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(args)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _run(args: argparse.Namespace) -> int:
    try:
        result = args.handler(args)
    except (InputError, CheckFailed) as exc:
        print(f"bmru {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print(f"bmru {args.command}: interrupted", file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    except Exception as exc:  # one line for users; BMRU_DEBUG=1 shows the traceback
        import os
        if os.environ.get("BMRU_DEBUG"):
            raise
        from pdk.ngspice import SimulationError
        kind = "" if isinstance(exc, (SimulationError, RuntimeError)) else f"{type(exc).__name__}: "
        print(f"bmru {args.command}: error: {kind}{exc}", file=sys.stderr)
        return 1
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
