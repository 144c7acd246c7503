"""The `r2nn-network/1` file (ARCHITECTURE §3c): loading, validation, writing.

A network is a mass–spring–damper lattice stepped by central differences at dt = 1/fs.
The validator refuses what the model or a circuit cannot run:

- masses > 0, springs and dampers >= 0, every index in range (b = −1: the wall);
- a connected lattice: every free node is reached from the input node through springs or
  dampers of positive value between free nodes (an unreached node would stay at 0);
- anchored: every group of free nodes joined by springs has a spring to the wall or to a
  clamped node, so K is positive definite (a floating group drifts under a constant force);
- stable at the sample rate. With D = M + dt/2·C the scheme keeps the discrete energy
  ½ v̄ᵀ(M − dt²/4·K) v̄ + ⅛ (x_{n+1} + x_n)ᵀ K (x_{n+1} + x_n), v̄ = (x_{n+1} − x_n)/dt,
  which dampers (C ⪰ 0) only decrease; it is a norm exactly when M − dt²/4·K ≻ 0, i.e.
  ω_max·dt < 2 for ω_max² the largest eigenvalue of K x = ω² M x (for one undamped mode
  this is also necessary). The check is that criterion: the stiffest mode below fs/π Hz.

Input waveforms: one CSV per waveform, header `x0`, one row per sample (signed, model
force units before `input.gain`), as `flows.netfile.load_sequence` reads them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg

from flows.netfile import (Validator, frozen_array, load_sequence, parse_yaml, read_text,
                           yaml_list, yaml_number, yaml_string)

SCHEMA = "r2nn-network/1"
WALL = -1
#: ω_max·dt must stay below this (2 is the central-difference limit).
STABILITY_LIMIT = 2.0

_TOP_KEYS = ("schema", "name", "sample_rate", "masses", "springs", "dampers", "clamped",
             "input", "outputs")
_REQUIRED = ("schema", "name", "sample_rate", "masses", "springs", "input", "outputs")
_INPUT_KEYS = ("node", "gain")


@dataclass(frozen=True, eq=False)
class R2nnNetwork:
    """A validated lattice. `springs` / `dampers` are (count, 3) float arrays of rows
    [a, b, value] (b = −1: the wall); `source` only labels error messages."""

    name: str
    sample_rate: float
    masses: np.ndarray
    springs: np.ndarray
    dampers: np.ndarray
    clamped: tuple[int, ...]
    input_node: int
    input_gain: float
    outputs: tuple[int, ...]
    source: str = field(default="<network>", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "masses", frozen_array(self.masses, 1))
        for name in ("springs", "dampers"):
            links = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1, 3)
            links.setflags(write=False)
            object.__setattr__(self, name, links)

    @property
    def size(self) -> int:
        return len(self.masses)

    @property
    def free(self) -> tuple[int, ...]:
        """Free (unclamped) nodes in order: the model's degrees of freedom."""
        clamped = set(self.clamped)
        return tuple(i for i in range(self.size) if i not in clamped)

    @property
    def output_size(self) -> int:
        return len(self.outputs)

    @property
    def dt(self) -> float:
        return 1.0 / self.sample_rate

    def matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(M, C, K) on the free nodes (order `free`)."""
        free = self.free
        index = {node: i for i, node in enumerate(free)}
        return (np.diag(self.masses[list(free)]), assemble(self.dampers, index),
                assemble(self.springs, index))

    def to_yaml(self) -> str:
        return network_to_yaml(self)


def assemble(links: np.ndarray, index: dict[int, int]) -> np.ndarray:
    """The stiffness-like matrix of [a, b, value] rows on the nodes of `index` (node →
    row): a link to the wall or to a node outside `index` (clamped) adds only to the
    diagonal of its free end."""
    n = len(index)
    matrix = np.zeros((n, n))
    for a, b, value in links:
        ends = [index.get(int(e)) for e in (a, b)]
        for i in ends:
            if i is not None:
                matrix[i, i] += value
        if ends[0] is not None and ends[1] is not None:
            matrix[ends[0], ends[1]] -= value
            matrix[ends[1], ends[0]] -= value
    return matrix


def highest_frequency(network: R2nnNetwork) -> float:
    """ω_max (rad/s) of the undamped lattice: √ of the largest eigenvalue of (K, M)."""
    m, _, k = network.matrices()
    return float(np.sqrt(max(scipy.linalg.eigh(k, m, eigvals_only=True)[-1], 0.0)))


def _links_yaml(key: str, links: np.ndarray) -> list[str]:
    if not len(links):
        return [f"{key}: []"]
    return [f"{key}:"] + [f"  - [{int(a)}, {int(b)}, {yaml_number(v)}]" for a, b, v in links]


def network_to_yaml(network: R2nnNetwork) -> str:
    """Deterministic YAML text: same network, same bytes; floats round-trip exactly."""
    ints = ", ".join
    lines = [f"schema: {SCHEMA}", f"name: {yaml_string(network.name)}",
             f"sample_rate: {yaml_number(network.sample_rate)}",
             f"masses: {yaml_list(network.masses.tolist())}"]
    lines += _links_yaml("springs", network.springs) + _links_yaml("dampers", network.dampers)
    lines += [f"clamped: [{ints(str(i) for i in network.clamped)}]",
              f"input: {{node: {network.input_node}, gain: {yaml_number(network.input_gain)}}}",
              f"outputs: [{ints(str(i) for i in network.outputs)}]"]
    return "\n".join(lines) + "\n"


def load_network(path: str | Path) -> R2nnNetwork:
    """Read and validate an `r2nn-network/1` YAML file."""
    path = Path(path)
    return network_from_yaml(read_text(path), str(path))


def load_inputs(path: str | Path, network: R2nnNetwork | None = None) -> np.ndarray:
    """(samples, 1) signed waveform of a CSV with header x0."""
    return load_sequence(path, 1, signed=True)


def network_from_yaml(text: str, source: str = "<network>") -> R2nnNetwork:
    return parse_network(parse_yaml(text, source), source)


def parse_network(data: Any, source: str = "<network>") -> R2nnNetwork:
    """Validate already-parsed data (e.g. a trained network's fields)."""
    return _Validator(source).network(data)


class _Validator(Validator):
    def network(self, data: Any) -> R2nnNetwork:
        self.top(data, SCHEMA)
        self.keys(data, _TOP_KEYS, _REQUIRED, None)
        name = self.name(data["name"])
        rate = self.number(data["sample_rate"], "sample_rate")
        if rate <= 0:
            raise self.fail("sample_rate", f"{rate:g} must be > 0 Hz")
        raw_masses = data["masses"]
        if not isinstance(raw_masses, list) or not raw_masses:
            raise self.fail("masses", "must be a non-empty list of numbers, one per node")
        masses = self.vector(raw_masses, "masses", len(raw_masses))
        for i, m in enumerate(masses):
            if m <= 0:
                raise self.fail(f"masses[{i}]", f"{m:g} must be > 0")
        n = len(masses)
        springs = self.links(data["springs"], "springs", n, required=True)
        dampers = self.links(data.get("dampers", []), "dampers", n, required=False)
        clamped = self.nodes(data.get("clamped", []), "clamped", n, allow_empty=True)
        raw_input = data["input"]
        if not isinstance(raw_input, dict):
            raise self.fail("input", "must be a mapping {node: i, gain: g}")
        self.keys(raw_input, _INPUT_KEYS, _INPUT_KEYS, "input")
        node = self.node(raw_input["node"], "input.node", n)
        if node in clamped:
            raise self.fail("input.node", f"{node} is clamped: a force on it moves nothing")
        gain = self.number(raw_input["gain"], "input.gain")
        if gain == 0:
            raise self.fail("input.gain", "0 makes every output 0")
        outputs = self.nodes(data["outputs"], "outputs", n, allow_empty=False)
        for j, out in enumerate(outputs):
            if out in clamped:
                raise self.fail(f"outputs[{j}]", f"node {out} is clamped: its energy is always 0")
        network = R2nnNetwork(name, rate, masses, springs, dampers, clamped, node, gain, outputs,
                              source=self.source)
        self.connected(network)
        self.anchored(network)
        omega = highest_frequency(network)
        if omega / rate >= STABILITY_LIMIT:
            raise self.fail("sample_rate", f"{rate:.9g} Hz is too low for the stiffest mode "
                            f"({omega / (2 * np.pi):.6g} Hz): central differences need ω·dt < 2, "
                            f"i.e. sample_rate > {omega / STABILITY_LIMIT:.6g} Hz")
        return network

    def node(self, value: Any, fieldname: str, n: int, wall: bool = False) -> int:
        low = WALL if wall else 0
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value < n:
            allowed = f"-1 (the wall) or 0…{n - 1}" if wall else f"0…{n - 1}"
            raise self.fail(fieldname, f"{value!r} must be a node index {allowed} "
                                       f"(there are {n} masses)")
        return value

    def nodes(self, value: Any, fieldname: str, n: int, allow_empty: bool) -> tuple[int, ...]:
        if not isinstance(value, list) or (not value and not allow_empty):
            raise self.fail(fieldname, "must be a " + ("" if allow_empty else "non-empty ")
                            + "list of node indices")
        result = tuple(self.node(v, f"{fieldname}[{i}]", n) for i, v in enumerate(value))
        for i, v in enumerate(result):
            if v in result[:i]:
                raise self.fail(f"{fieldname}[{i}]", f"node {v} is listed twice")
        return result

    def links(self, value: Any, fieldname: str, n: int, required: bool) -> np.ndarray:
        if not isinstance(value, list) or (required and not value):
            raise self.fail(fieldname, ("must be a non-empty list" if required else "must be a list")
                            + " of [a, b, value] rows (b = -1: the wall)")
        rows = []
        for i, row in enumerate(value):
            where = f"{fieldname}[{i}]"
            if not isinstance(row, list) or len(row) != 3:
                raise self.fail(where, "must be [a, b, value] (b = -1: the wall)")
            a = self.node(row[0], f"{where}[0]", n)
            b = self.node(row[1], f"{where}[1]", n, wall=True)
            if a == b:
                raise self.fail(f"{where}[1]", f"joins node {a} to itself")
            v = self.number(row[2], f"{where}[2]")
            if v < 0:
                raise self.fail(f"{where}[2]", f"{v:g} must be >= 0")
            rows.append((a, b, v))
        return np.array(rows, dtype=np.float64).reshape(-1, 3)

    def connected(self, network: R2nnNetwork) -> None:
        """Every free node is reached from the input through positive links between free
        nodes (springs or dampers)."""
        free = set(network.free)
        neighbours: dict[int, set[int]] = {i: set() for i in free}
        for a, b, v in np.vstack([network.springs, network.dampers]):
            a, b = int(a), int(b)
            if v > 0 and a in free and b in free:
                neighbours[a].add(b)
                neighbours[b].add(a)
        reached, todo = {network.input_node}, [network.input_node]
        while todo:
            for j in neighbours[todo.pop()] - reached:
                reached.add(j)
                todo.append(j)
        missing = sorted(free - reached)
        if missing:
            raise self.fail("springs", f"free node {missing[0]} is not connected to the input node "
                            f"{network.input_node} through springs or dampers > 0 between free "
                            "nodes: its displacement would stay 0")

    def anchored(self, network: R2nnNetwork) -> None:
        """Every spring-connected group of free nodes has a spring > 0 to the wall or to a
        clamped node (K positive definite)."""
        free = set(network.free)
        group = {i: i for i in free}

        def root(i: int) -> int:
            while group[i] != i:
                i = group[i]
            return i

        anchors = set()
        for a, b, v in network.springs:
            a, b = int(a), int(b)
            if v <= 0:
                continue
            if a in free and b in free:
                group[root(a)] = root(b)
            elif a in free or b in free:
                anchors.add(a if a in free else b)
        anchored_roots = {root(i) for i in anchors}
        for i in sorted(free):
            if root(i) not in anchored_roots:
                raise self.fail("springs", f"free node {i} floats: no chain of springs > 0 joins it "
                                           "to the wall or a clamped node, so a constant force "
                                           "would push it away without bound")
