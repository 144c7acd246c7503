"""xschem views read back: every subckt's `.sch` holds the netlist's devices (model, W/L or
a diode's area and perimeter, nets of each terminal) and ports, every `.sym` the subckt's pins in port order, the top
`.sch` the netlist's instances and nets; and, when Debian's xschem runs here (under
xvfb-run), its own SPICE netlister gives the same devices from the files."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from cells.netlist import Device, Diode
from flows.bmru.circuit import build_circuit
from flows.compile import _schematics
from flows.bmru.network import load_network
from flows.mondeq import circuit as mondeq
from flows.mondeq.random_networks import random_network
from pdk.devices import MODELS, PASSIVES, XSCHEM_PINS, diode_geometry, xschem_kind

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: Pin boxes of the open PDK's symbols (xschem_sky130 sky130_fd_pr/nfet_01v8.sym,
#: pfet_01v8.sym, res_xhigh_po_0p35.sym with pins M, P, B, diode.sym with pins d0, d1 and
#: cap_mim_m3_1.sym with pins c0, c1, `B 5 x0 y0 x1 y1 {name=…}` lines, in file order):
#: centre of each box.
OPEN_PDK_PINS = {"n": {"d": (20, -30), "g": (-20, 0), "s": (20, 30), "b": (20, 0)},
                 "p": {"d": (20, 30), "g": (-20, 0), "s": (20, -30), "b": (20, 0)},
                 "res": {"a": (0, 30), "b": (0, -30), "sub": (-20, 0)},
                 "diode": {"anode": (0, 30), "cathode": (0, -30)},
                 "cap": {"top": (0, -30), "bottom": (0, 30)}}
#: The open PDK's SPICE formats of those symbols (their `format=` attribute; the FETs' cut
#: after W: the rest are layout parameters the cells' netlists leave to the models).
OPEN_PDK_FORMATS = {"n": "@spiceprefix@name @pinlist sky130_fd_pr__@model L=@L W=@W",
                    "p": "@spiceprefix@name @pinlist sky130_fd_pr__@model L=@L W=@W",
                    "res": "@spiceprefix@name @pinlist sky130_fd_pr__@model L=@L mult=@mult m=@mult",
                    "diode": "@name @pinlist sky130_fd_pr__@model area=@area",
                    "cap": "@spiceprefix@name @pinlist sky130_fd_pr__@model W=@W L=@L MF=@MF"}
COMPONENT = re.compile(r"^C \{([^}]*)\} (\S+) (\S+) (\S+) (\S+) \{([^}]*)\}", re.M)


#: Resistor–diode networks (monDEQ): seed, inputs, nodes, outputs.
NETWORKS = {"mondeq_4x3x2": (1, 4, 3, 2), "mondeq_16x12x3": (2, 16, 12, 3), "mondeq_64x64x10": (3, 64, 64, 10)}


def _circuit(name: str):
    if name in NETWORKS:
        seed, inputs, nodes, outputs = NETWORKS[name]
        return mondeq.build_circuit(random_network(seed, input_size=inputs, sizes=[nodes], outputs=outputs,
                                                   readout=True, activation="diode_relu"))
    return build_circuit(load_network(EXAMPLES / f"{name}.yaml"), diode_units=8 if name == "kws_d4" else None)


@pytest.fixture(scope="module", params=["flipflop", "kws_d4", *NETWORKS])
def views(request, tmp_path_factory):
    name = request.param
    circuit = _circuit(name)
    directory = tmp_path_factory.mktemp(name) / "schematics"
    _schematics(circuit, directory)
    return circuit, directory / "xschem"


def components(text: str) -> list[tuple[str, float, float, dict]]:
    out = []
    for symbol, x, y, rot, flip, attrs in COMPONENT.findall(text):
        assert (rot, flip) == ("0", "0")
        out.append((symbol, float(x), float(y), dict(a.split("=", 1) for a in attrs.split())))
    return out


def labels(comps) -> dict[tuple[float, float], str]:
    return {(x, y): a["lab"] for s, x, y, a in comps if s == "devices/lab_pin.sym"}


def ports(comps) -> list[str]:
    return [a["lab"] for s, _, _, a in comps if s in ("devices/ipin.sym", "devices/opin.sym", "devices/iopin.sym")]


def sym_pins(text: str) -> list[tuple[str, float, float]]:
    return [(name, (float(x0) + float(x1)) / 2, (float(y0) + float(y1)) / 2)
            for x0, y0, x1, y1, name in re.findall(r"^B 5 (\S+) (\S+) (\S+) (\S+) \{name=(\S+) ", text, re.M)]


def test_pin_table_matches_the_open_pdk_symbols():
    assert XSCHEM_PINS == OPEN_PDK_PINS


def _size(d) -> tuple:
    """What an instance carries besides its nets: W/L as the netlist writes them (`:g`), or
    a diode's area and perimeter."""
    if isinstance(d, Diode):
        return tuple(a.split("=")[1] for a in diode_geometry(d.w, d.l).split())
    return (float(f"{d.w:g}"), float(f"{d.l:g}"))


def test_every_cell_parses_back_to_its_devices_and_nets(views):
    circuit, directory = views
    for cell in circuit.cells():
        comps = components((directory / f"{cell.name}.sch").read_text())
        at = labels(comps)
        found = []
        for symbol, x, y, a in comps:
            if symbol.startswith("sky130_fd_pr/"):
                model = a["model"]
                assert model in MODELS or model in PASSIVES
                assert symbol == ("sky130_fd_pr/diode.sym" if model.startswith("diode_") else f"sky130_fd_pr/{model}.sym")
                kind = xschem_kind(model)
                nets = tuple(at[(x + dx, y + dy)] for dx, dy in OPEN_PDK_PINS[kind].values())
                size = (a["area"], a["perim"]) if kind == "diode" else (float(a["W"]), float(a["L"]))
                found.append((a["name"], model, *nets, *size))
        want = [(d.name, d.device, *(getattr(d, t) for t in OPEN_PDK_PINS[xschem_kind(d.device)]), *_size(d))
                for d in cell.devices()]
        assert Counter(found) == Counter(want), cell.name
        assert ports(comps) == list(circuit.ports_of(cell))
        pins = sym_pins((directory / f"{cell.name}.sym").read_text())
        assert [p for p, _, _ in pins] == list(circuit.ports_of(cell))


def test_top_level_parses_back_to_its_instances(views):
    circuit, directory = views
    name = circuit.network.name
    comps = components((directory / f"{name}.sch").read_text())
    at = labels(comps)
    assert ports(comps) == list(circuit.ports)
    found = {}
    for symbol, x, y, a in comps:
        if symbol.endswith(".sym") and not symbol.startswith("devices/"):
            pins = sym_pins((directory / symbol).read_text())
            found[a["name"]] = (symbol.removesuffix(".sym"), [at[(x + px, y + py)] for _, px, py in pins])
    want = {f"x{b.name}": (b.cell.name, [b.nets[p] for p in circuit.ports_of(b.cell)]) for b in circuit.blocks}
    assert found == want


KIND_TYPES = {"n": "nmos", "p": "pmos", "res": "resistor", "diode": "diode", "cap": "capacitor"}


def _stand_in_symbols(directory: Path) -> None:
    """Minimal sky130_fd_pr symbols with the open PDK's pins and SPICE formats (the PDK's
    xschem library is not installed here). xschem 2.8.1 reads `@spiceprefix@name` as one
    token: with every instance's spiceprefix=X, `X@name` is what it means."""
    lib = directory / "sky130_fd_pr"
    lib.mkdir(parents=True)
    for model in [*MODELS, *PASSIVES]:
        kind = xschem_kind(model)
        pins = OPEN_PDK_PINS[kind]
        boxes = "".join(f"B 5 {x - 2.5:g} {y - 2.5:g} {x + 2.5:g} {y + 2.5:g} {{name={t.upper()} dir=inout}}\n"
                        for t, (x, y) in pins.items())
        (lib / ("diode.sym" if kind == "diode" else f"{model}.sym")).write_text(
            "v {xschem version=2.8.1 file_version=1.1}\n"
            f'G {{type={KIND_TYPES[kind]}\nformat="{OPEN_PDK_FORMATS[kind].replace("@spiceprefix@name", "X@name")}"\n'
            f'template="name=X1 model={model} spiceprefix=X"\n}}\n'
            "V {}\nS {}\nE {}\nL 4 7.5 -22.5 7.5 22.5 {}\n" + boxes)


def _xschem_line(d) -> list[str]:
    """The line the open PDK's symbol netlists for `d`: a FET's and a resistor's are the
    cell's own SPICE (plus the resistor's `mult=1 m=1`); the diode symbol writes a `D`
    element with the area only, where the cell calls the models' diode subckt with area,
    perimeter and rs_int."""
    if isinstance(d, Device):
        return d.line().split()[:6]
    if isinstance(d, Diode):
        name, anode, cathode, model, area, *_ = d.line().split()
        return [name.removeprefix("X"), anode, cathode, model, area]
    return d.line().split() + ["mult=1", "m=1"]


@pytest.mark.skipif(shutil.which("xschem") is None or shutil.which("xvfb-run") is None,
                    reason="xschem or xvfb-run not installed")
def test_xschem_netlists_the_same_circuit(views, tmp_path):
    """Debian's xschem 2.8.1 segfaults in batch mode (-x) but netlists under xvfb-run: the
    top level, and through the symbols every cell, comes back as the project's netlist."""
    circuit, directory = views
    lib = tmp_path / "lib"
    _stand_in_symbols(lib)
    rc = tmp_path / "xschemrc"
    rc.write_text(f'set XSCHEM_LIBRARY_PATH "{lib}:{directory}:/usr/share/xschem/xschem_library"\n'
                  f'set netlist_dir "{tmp_path}"\n')
    name = circuit.network.name
    result = subprocess.run(["xvfb-run", "-a", "xschem", "--rcfile", str(rc), "-r", "-n", "-s", "-q",
                             str(directory / f"{name}.sch")], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, HOME=str(tmp_path)), stdin=subprocess.DEVNULL)
    netlist = tmp_path / f"{name}.spice"
    assert netlist.is_file(), (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    text = netlist.read_text().replace("\n+", " ")
    subckts = dict(re.findall(r"^\.subckt (\S+) ([^\n]*)\n(?:.*?)^\.ends", text, re.M | re.S))
    bodies = dict(re.findall(r"^\.subckt (\S+) [^\n]*\n(.*?)^\.ends", text, re.M | re.S))
    for cell in circuit.cells():
        assert subckts[cell.name].split() == list(circuit.ports_of(cell))
        lines = [l.split() for l in bodies[cell.name].splitlines() if l[:1] in ("X", "D")]
        found = Counter(tuple(t[:6] if len(t) > 5 and t[5] in MODELS.values() else t) for t in lines)
        assert found == Counter(tuple(_xschem_line(d)) for d in cell.devices())
    top = text[:re.search(r"^\.subckt", text, re.M).start()]
    found = sorted(l.split() for l in top.splitlines() if l.lower().startswith("x"))
    want = sorted([f"x{b.name}", *[b.nets[p] for p in circuit.ports_of(b.cell)], b.cell.name] for b in circuit.blocks)
    assert found == want
