"""Schematics are drawn from the device/instance lists: every device, W/L and net appears."""
from __future__ import annotations

import re

from cells.netlist import Device
from flows.schematic import Instance, block, leaf, parallel_groups

DEVICES = [Device("p_diode", "pfet_01v8", "p", "p", "vdd", "vdd", 2, 4),
           Device("p_out", "pfet_01v8", "out0", "p", "vdd", "vdd", 2, 4),
           Device("n_in", "nfet_01v8", "in0", "in0", "vss", "vss", 4, 8),
           Device("n_copy", "nfet_01v8", "p", "in0", "x", "vss", 2, 4)]


def test_leaf_shows_every_device_size_and_net():
    svg = leaf("copier", ["vdd", "vss", "in0", "out0"], DEVICES)
    texts = set(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg))
    assert {"p_diode", "p_out", "n_in", "n_copy", "2/4", "4/8", "out0", "in0", "vdd", "vss", "x", "p"} <= texts
    assert svg.count(">b:vss<") == 1  # only n_copy's body differs from its source


def test_leaf_and_block_are_deterministic():
    assert leaf("copier", ["vdd"], DEVICES) == leaf("copier", ["vdd"], DEVICES)
    instances = [Instance("x0", "dense_l0", {"in0": "in0", "out0": "h0"}),
                 Instance("x1", "bmru_l1", {"in": "h0", "out": "out0"})]
    a, b = block("net", ["in0", "out0"], instances), block("net", ["in0", "out0"], instances)
    assert a == b
    texts = set(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", a))
    assert {"x0", "x1", "dense_l0", "bmru_l1", "h0", "in", "out"} <= texts


def test_parallel_units_are_one_symbol_marked_with_their_count():
    units = [Device(f"k{i}", "pfet_01v8", "out0", "p", "vdd", "vdd", 4, 16) for i in range(5)]
    other = Device("lone", "pfet_01v8", "out1", "p", "vdd", "vdd", 4, 16)
    assert [(d.name, k) for d, k in parallel_groups(units + [other])] == [("k0", 5), ("lone", 1)]
    texts = set(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", leaf("w", ["out0"], units + [other])))
    assert {"k0 ×5", "lone"} <= texts and "k1" not in texts
