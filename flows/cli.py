"""The `bmru` command line. Each command module registers its own subcommands; heavy
imports happen inside the handlers so that every command starts quickly."""
from __future__ import annotations

import argparse
import importlib
import sys

from flows.errors import CheckFailed, InputError

#: Modules with a `register(subparsers)` function, in the order `bmru --help` lists them.
COMMAND_MODULES = (
    "flows.cmd_pdk",
    "flows.cmd_compile",
    "flows.cmd_report",
    "flows.cmd_characterize",
    "flows.cmd_model",
    "flows.cmd_features",
    "flows.cmd_train",
    "flows.cmd_drc",
    "flows.cmd_lvs",
    "flows.cmd_view",
    "flows.cmd_sweep",
    "flows.cmd_noise",
    "flows.cmd_pvt",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bmru",
        description="Compile trained FQ-BMRU recurrent networks into SKY130 current-mode circuits.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except (InputError, CheckFailed) as exc:
        print(f"bmru {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"bmru {args.command}: interrupted", file=sys.stderr)
        return 130
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
