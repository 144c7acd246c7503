"""Schematics are circuits drawn from the device and instance lists: read back from the SVG,
every device (×k groups included) and every net of the netlist is on the sheet, no two
symbols overlap, no two nets share a stretch of wire, and devices sit in signal-flow order."""
from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

from cells.dense import DenseBlock
from cells.netlist import Device, Diode, Resistor
from cells.resistor_network import ResistorDiodeNetwork
from flows.bmru.circuit import build_circuit
from flows.bmru.network import load_network
from flows.compile import _schematics
from flows.mondeq import circuit as mondeq
from flows.mondeq.random_networks import random_network
from flows.schematic import Instance, array, block, leaf, output_ports, parallel_groups, resistor_array
from pdk.passives import resistance

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SVG = "{http://www.w3.org/2000/svg}"


def _circuit(name: str, diode_units: int | None):
    return build_circuit(load_network(EXAMPLES / f"{name}.yaml"), diode_units=diode_units)


CIRCUITS = {"flipflop": _circuit("flipflop", None), "kws_d4": _circuit("kws_d4", 8)}
CELLS = [(name, cell) for name, c in CIRCUITS.items() for cell in c.cells()]


def _sheet(cell, circuit) -> str:
    draw = array if isinstance(cell, DenseBlock) else leaf
    return draw(cell.name, circuit.ports_of(cell), cell.devices())


def _top(circuit) -> str:
    top = [Instance(b.name, b.cell.name, {p: b.nets[p] for p in circuit.ports_of(b.cell)},
                    output_ports(circuit.ports_of(b.cell), b.cell.devices())) for b in circuit.blocks]
    return block(circuit.network.name, circuit.ports, top)


def read(svg: str) -> dict:
    """Symbols (name → bbox), nets drawn, texts and wire segments per net, from the SVG."""
    root = ET.fromstring(svg)
    symbols = {}
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "symbol":
            x, y, w, h = map(float, g.get("data-bbox").split())
            symbols[g.get("data-name")] = (x, y, x + w, y + h)
    nets = {e.get("data-net") for e in root.iter() if e.get("data-net")}
    texts = [e.text or "" for e in root.iter(f"{SVG}text")]
    segments = defaultdict(list)
    for line in root.iter(f"{SVG}polyline"):
        if not line.get("data-net"):
            continue
        pts = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        segments[line.get("data-net")] += list(zip(pts, pts[1:]))
    return {"symbols": symbols, "nets": nets, "texts": texts, "segments": segments,
            "size": (float(root.get("width")), float(root.get("height")))}


def overlaps(symbols: dict) -> list[tuple[str, str]]:
    boxes = sorted(symbols.items(), key=lambda kv: kv[1][0])
    found = []
    for i, (a, (ax0, ay0, ax1, ay1)) in enumerate(boxes):
        for b, (bx0, by0, bx1, by1) in boxes[i + 1:]:
            if bx0 >= ax1:
                break
            if by0 < ay1 and ay0 < by1:
                found.append((a, b))
    return found


def shared_wires(segments: dict) -> list[tuple[str, str, tuple]]:
    """Stretches of wire (positive length) that two different nets both draw."""
    lines = defaultdict(list)  # (orientation, coordinate) → (lo, hi, net)
    for net, segs in segments.items():
        for (x0, y0), (x1, y1) in segs:
            if y0 == y1 and x0 != x1:
                lines[("h", y0)].append((min(x0, x1), max(x0, x1), net))
            elif x0 == x1 and y0 != y1:
                lines[("v", x0)].append((min(y0, y1), max(y0, y1), net))
    found = []
    for key, spans in lines.items():
        spans.sort()
        for (lo, hi, net), (lo2, hi2, net2) in itertools.combinations(spans, 2):
            if net != net2 and lo2 < hi - 0.5 and lo < hi2 - 0.5:
                found.append((net, net2, key))
    return found


@pytest.mark.parametrize("network,cell", CELLS, ids=[f"{n}-{c.name}" for n, c in CELLS])
def test_cell_sheet_shows_every_device_and_net_without_overlap(network, cell):
    circuit = CIRCUITS[network]
    sheet = read(_sheet(cell, circuit))
    devices = cell.devices()
    nets = {n for d in devices for n in (d.d, d.g, d.s, d.b)} | set(circuit.ports_of(cell))
    assert nets <= sheet["nets"], nets - sheet["nets"]
    groups = parallel_groups(devices)
    assert {d.name for d, _ in groups} <= set(sheet["symbols"])
    counts = [int(m.group(1)) if (m := re.search(r" ×(\d+)$", t)) else 1
              for t in sheet["texts"] if t.split(" ")[0] in {d.name for d, _ in groups}]
    assert sum(counts) == len(devices)  # every unit device, counted through its ×k symbol
    for d, k in groups:
        assert f"{d.w:g}/{d.l:g}" in sheet["texts"]
    assert overlaps(sheet["symbols"]) == []
    assert shared_wires(sheet["segments"]) == []


@pytest.mark.parametrize("network", CIRCUITS)
def test_top_level_is_a_block_diagram_in_signal_flow_order(network):
    circuit = CIRCUITS[network]
    sheet = read(_top(circuit))
    nets = {n for b in circuit.blocks for p, n in b.nets.items() if p in circuit.ports_of(b.cell)}
    assert nets | set(circuit.ports) <= sheet["nets"]
    assert {b.name for b in circuit.blocks} <= set(sheet["symbols"])
    assert overlaps(sheet["symbols"]) == []
    assert shared_wires(sheet["segments"]) == []
    x = {name: box[0] for name, box in sheet["symbols"].items()}
    layers = len(circuit.network.layers)
    dense = [x[f"l{i}_dense"] for i in range(layers)]
    assert dense == sorted(dense) and len(set(dense)) == layers  # one column per layer, in order
    assert x["port in0"] < min(v for k, v in x.items() if not k.startswith("port"))
    assert x["port out0"] > max(v for k, v in x.items() if not k.startswith("port"))


def test_bmru_cell_reads_left_to_right():
    """Comparison node first, then the hysteretic inverter, the logic, the switched output;
    input port on the left edge, output on the right."""
    circuit = CIRCUITS["kws_d4"]
    cell = next(c for c in circuit.cells() if c.name.endswith("l1_bmru0"))
    x = {name: box[0] for name, box in read(_sheet(cell, circuit))["symbols"].items()}
    assert x["port in"] < x["MNCMP0"] < x["MNINV0"] < x["MNI2"] < x["MSOUT"] < x["port out"]
    assert x["MPI2"] == pytest.approx(x["MNI2"], abs=10)  # the inverter's pair shares a column


def test_dense_block_is_a_crossbar():
    """Weights of one input sit on one row, weights of one output in one column."""
    circuit = CIRCUITS["kws_d4"]
    cell = next(c for c in circuit.cells() if c.name.endswith("l1_dense"))
    boxes = read(_sheet(cell, circuit))["symbols"]
    rows = defaultdict(set)
    cols = defaultdict(set)
    for d, _ in parallel_groups(cell.devices()):
        if m := re.fullmatch(r"M[PN]W(\d+)_(\d+)_0", d.name):
            rows[m.group(2)].add(boxes[d.name][1])
            cols[m.group(1)].add(boxes[d.name][0])
    # a PMOS symbol's box starts 9 px higher (its vdd bar): one row means within 10 px
    assert rows and all(max(ys) - min(ys) <= 10 for ys in rows.values())
    assert cols and all(len(xs) == 1 for xs in cols.values())
    tops = sorted(min(ys) for ys in rows.values())
    assert all(b - a > 60 for a, b in zip(tops, tops[1:]))  # one row per input


def test_checks_can_fail():
    assert overlaps({"a": (0, 0, 10, 10), "b": (5, 5, 20, 20), "c": (30, 0, 40, 10)}) == [("a", "b")]
    assert shared_wires({"n1": [((0, 0), (10, 0))], "n2": [((5, 0), (20, 0))], "n3": [((20, 0), (30, 0))]}) \
        == [("n1", "n2", ("h", 0))]


DEVICES = [Device("p_diode", "pfet_01v8", "p", "p", "vdd", "vdd", 2, 4),
           Device("p_out", "pfet_01v8", "out0", "p", "vdd", "vdd", 2, 4),
           Device("n_in", "nfet_01v8", "in0", "in0", "vss", "vss", 4, 8),
           Device("n_copy", "nfet_01v8", "p", "in0", "x", "vss", 2, 4)]


def test_leaf_and_block_are_deterministic():
    assert leaf("copier", ["vdd", "vss", "in0", "out0"], DEVICES) == leaf("copier", ["vdd", "vss", "in0", "out0"], DEVICES)
    circuit = CIRCUITS["flipflop"]
    assert _top(circuit) == _top(circuit)
    sheet = read(leaf("copier", ["vdd", "vss", "in0", "out0"], DEVICES))
    assert {"p", "x", "in0", "out0", "vdd", "vss"} <= sheet["nets"]
    assert "B:vss" in sheet["texts"]  # only n_copy's body differs from its source


def test_parallel_units_are_one_symbol_marked_with_their_count():
    units = [Device(f"k{i}", "pfet_01v8", "out0", "p", "vdd", "vdd", 4, 16) for i in range(5)]
    other = Device("lone", "pfet_01v8", "out1", "p", "vdd", "vdd", 4, 16)
    assert [(d.name, k) for d, k in parallel_groups(units + [other])] == [("k0", 5), ("lone", 1)]
    texts = read(leaf("w", ["vdd", "p", "out0", "out1"], units + [other]))["texts"]
    assert {"k0 ×5", "lone"} <= set(texts) and "k1" not in texts


def test_a_very_large_array_keeps_its_ends_and_notes_the_rest():
    """40 inputs × 20 outputs: the first 31 and the last input rows, the first 15 and the last
    output, and a ×N note for the rest that names their nets and counts their devices."""
    weights = tuple(tuple(((i + j) % 5) - 2 for j in range(40)) for i in range(20))
    cell = DenseBlock(weights=weights, bias=(0,) * 20, input_units=4, output_units=4, input_diodes=False)
    from flows.bmru.circuit import Circuit

    ports = Circuit.ports_of(cell)
    svg = array(cell.name, ports, cell.devices())
    sheet = read(svg)
    devices = cell.devices()
    nets = {n for d in devices for n in (d.d, d.g, d.s, d.b)} | set(ports)
    assert nets <= sheet["nets"], nets - sheet["nets"]
    drawn = [int(m.group(1)) if (m := re.search(r" ×(\d+)$", t)) else 1
             for t in sheet["texts"] if re.fullmatch(r"M\w+( ×\d+)?", t)]
    noted = sum(int(n) for n in re.findall(r'class="summary" data-devices="(\d+)"', svg))
    assert sum(drawn) + noted == len(devices)
    assert any(t.startswith("⋮ ×8 input rows not drawn (in31 … in38)") for t in sheet["texts"])
    assert any(t.startswith("… ×4 outputs not drawn (out15 … out18)") for t in sheet["texts"])
    assert overlaps(sheet["symbols"]) == [] and shared_wires(sheet["segments"]) == []
    # 16 drawn outputs, each with its negative-sum column beside it (issue 14's matched
    # negative path), instead of 20 and ≈ 5 × 260 px more per hidden output
    assert sheet["size"][0] < 6000


# --------------------------------------------------------------------------- resistor–diode networks
#: seed, inputs, nodes, outputs: a small network, a large one drawn whole, and the largest
#: the monDEQ family maps (64 × 64 × 10), whose middle rows and columns collapse into notes.
NETWORKS = {"4x3x2": (1, 4, 3, 2), "16x12x3": (2, 16, 12, 3), "64x64x10": (3, 64, 64, 10)}


def _network(name: str):
    seed, inputs, nodes, outputs = NETWORKS[name]
    return mondeq.build_circuit(random_network(seed, input_size=inputs, sizes=[nodes], outputs=outputs,
                                               readout=True, activation="diode_relu"))


MONDEQ = {name: _network(name) for name in NETWORKS}


def _network_sheet(name: str) -> str:
    circuit = MONDEQ[name]
    cell = circuit.cells()[0]
    return resistor_array(cell.name, circuit.ports_of(cell), cell.devices())


def symbol_texts(svg: str) -> dict[str, list[str]]:
    return {g.get("data-name"): [t.text for t in g.iter(f"{SVG}text")]
            for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("class") == "symbol"}


def _ohms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)([kM])Ω", text).groups()
    return float(value) * {"k": 1e3, "M": 1e6}[unit]


@pytest.mark.parametrize("name", NETWORKS)
def test_network_sheet_shows_every_device_and_net_without_overlap(name):
    cell = MONDEQ[name].cells()[0]
    svg = _network_sheet(name)
    sheet = read(svg)
    devices = cell.devices()
    nets = {n for d in devices for n in d.terminals} | set(MONDEQ[name].ports_of(cell))
    assert nets <= sheet["nets"], nets - sheet["nets"]
    texts = symbol_texts(svg)
    resistors = [d for d in devices if isinstance(d, Resistor)]
    drawn = [r for r in resistors if r.name in texts]
    for r in drawn:  # each labelled with its value (3 digits)
        assert _ohms(texts[r.name][1]) == pytest.approx(resistance(r.l), rel=5e-3), r.name
    noted = " ".join(sheet["texts"][2:])  # after title and legend: the notes' (wrapped) lines among the rest
    summary = sum(int(n) for n in re.findall(r'class="summary" data-devices="(\d+)"', svg))
    assert len(drawn) + sum(int(n) for n in re.findall(r"(\d+) resistors", noted)) == len(resistors)
    diodes = [d for d in devices if isinstance(d, Diode)]
    drawn_diodes = [d for d in diodes if d.name in texts]
    assert len(drawn_diodes) + sum(int(n) for n in re.findall(r"(\d+) diodes", noted)) == len(diodes)
    assert len(drawn) + len(drawn_diodes) + summary == len(devices)
    assert overlaps(sheet["symbols"]) == [] and shared_wires(sheet["segments"]) == []
    assert sheet["size"][0] < 2800 and sheet["size"][1] < 3200  # measured at most 2628 × 3057


def test_largest_network_keeps_its_ends_and_notes_the_rest():
    """64 inputs (and their inverted copies) and 64 nodes: the first 31 and the last input
    rows, the first 15 and the last nodes are drawn, one note each stands for the rest; 20
    output pins likewise."""
    texts = read(_network_sheet("64x64x10"))["texts"]
    assert any(re.match(r"⋮ ×\d+ input rows not drawn \(\S+ … in63\)", t) for t in texts)
    assert any(t.startswith("… ×48 nodes not drawn (z15 … z62)") for t in texts)
    outs = tuple(f"out{j}p" for j in range(20))
    cell = ResistorDiodeNetwork("wide", ("vss", "vref", "vclamp", *outs),
                                (("Rg0", "vref", "z0", 10.0),) + tuple((f"Row{j}_0", "z0", o, 10.0 + j)
                                                                       for j, o in enumerate(outs)),
                                (("D0", "vclamp", "z0"),))
    svg = resistor_array(cell.name, cell.ports, cell.devices())
    sheet = read(svg)
    assert any(t.startswith("… ×4 outputs not drawn (out15p … out18p)") for t in sheet["texts"])
    drawn = [n for n in sheet["symbols"] if not n.startswith("port")]
    assert len(drawn) == 18 and re.findall(r'class="summary" data-devices="(\d+)"', svg) == ["4"]
    assert {"port out14p", "port out19p"} <= set(sheet["symbols"]) and "port out15p" not in sheet["symbols"]
    assert set(outs) <= sheet["nets"] and overlaps(sheet["symbols"]) == []


def test_network_is_a_crossbar():
    """Each resistor at the crossing of its nets: one row per input, rail and node (inputs
    above the rails above the nodes), one column per node in order and the outputs' columns
    right of them; a coupling on the earlier node's row; the clamp diodes under their
    columns, below every row."""
    cell = MONDEQ["16x12x3"].cells()[0]
    boxes = read(_network_sheet("16x12x3"))["symbols"]
    rows, cols = defaultdict(set), defaultdict(set)
    for r in (d for d in cell.devices() if isinstance(d, Resistor)):
        row, col = _crossing(r)
        rows[row].add(boxes[r.name][1])
        cols[col].add(boxes[r.name][2])
    assert all(len(ys) == 1 for ys in rows.values()) and all(len(xs) == 1 for xs in cols.values())
    y = {net: ys.pop() for net, ys in rows.items()}
    x = {net: xs.pop() for net, xs in cols.items()}
    nodes = sorted((n for n in x if n.startswith("z")), key=_node)
    assert [x[n] for n in nodes] == sorted(x[n] for n in nodes)
    assert min(x[n] for n in x if n.startswith("out")) > x[nodes[-1]]
    inputs = [n for n in y if n.startswith("in")]
    node_rows = [n for n in y if n.startswith("z")]
    assert max(y[n] for n in inputs) < y["vp"] < y["vn"] < y["vref"] < min(y[n] for n in node_rows)
    for d in (d for d in cell.devices() if isinstance(d, Diode)):
        assert boxes[d.name][0] + 8 == pytest.approx(x[d.cathode] + 3, abs=0.2)  # on its column's line
        assert boxes[d.name][1] > max(y.values())


def _node(net: str) -> int:
    return int(net[1:])


def _crossing(r: Resistor) -> tuple[str, str]:
    """(row, column) of a resistor: an output is a column, a coupling stands on the earlier
    node's row, otherwise the node is the column."""
    a, b = r.a, r.b
    if a.startswith("out") or b.startswith("out"):
        return (a, b) if b.startswith("out") else (b, a)
    if a.startswith("z") and b.startswith("z"):
        return tuple(sorted((a, b), key=_node))
    return (a, b) if b.startswith("z") else (b, a)


@pytest.mark.parametrize("name", ["16x12x3", "64x64x10"])
def test_network_top_level_is_one_block_between_its_pins(name):
    circuit = MONDEQ[name]
    sheet = read(_top(circuit))
    assert set(circuit.ports) <= sheet["nets"]
    assert "stage0" in sheet["symbols"]
    assert overlaps(sheet["symbols"]) == [] and shared_wires(sheet["segments"]) == []
    x = {name: box[0] for name, box in sheet["symbols"].items()}
    assert max(v for k, v in x.items() if k.startswith("port in")) < x["stage0"] < x["port out0p"]
    assert sheet["size"][0] < 2500  # 150 pins are wires, not a 7700 px title


def test_compile_draws_the_network_as_a_crossbar(tmp_path):
    circuit = MONDEQ["4x3x2"]
    cell = circuit.cells()[0]
    _schematics(circuit, tmp_path)
    assert (tmp_path / f"{cell.name}.svg").read_text() == _network_sheet("4x3x2")
    assert output_ports(circuit.ports_of(cell), cell.devices()) == ("out0p", "out0n", "out1p", "out1n")
