"""The paper's metacircuit topology as an `r2nn-network/1` network, and seeded random ones.

A rows × cols grid of main masses (nodes 0 … rows·cols−1, row-major), neighbours joined by
coupling springs k_c; every unclamped main mass carries a local resonator, mass m_n on a
spring k_n (nodes rows·cols, … in the order of their main masses); the corner main masses
are clamped (a resonator on one would never move, so it has none); every free node has a
damper to the wall (finite Q). The waveform drives the middle of the top row; the outputs
are the resonators of the left, right and bottom middle masses (the 5 × 5 layout of the
authors' code, shrunk).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.r2nn.network import SCHEMA, WALL, R2nnNetwork, parse_network


@dataclass(frozen=True)
class Layout:
    rows: int = 3
    cols: int = 3

    @property
    def cells(self) -> int:
        return self.rows * self.cols

    def couplings(self) -> list[tuple[int, int]]:
        """Neighbour pairs of main masses: each row's horizontal pairs, then vertical."""
        r, c = self.rows, self.cols
        pairs = [(i * c + j, i * c + j + 1) for i in range(r) for j in range(c - 1)]
        return pairs + [(i * c + j, (i + 1) * c + j) for i in range(r - 1) for j in range(c)]

    def clamped(self) -> tuple[int, ...]:
        c = self.cols
        return tuple(sorted({0, c - 1, self.cells - c, self.cells - 1}))

    def carriers(self) -> list[int]:
        """Main masses that carry a resonator (the unclamped ones), in order."""
        clamped = set(self.clamped())
        return [i for i in range(self.cells) if i not in clamped]

    @property
    def size(self) -> int:
        return self.cells + len(self.carriers())

    def resonator(self, main: int) -> int:
        return self.cells + self.carriers().index(main)

    def free(self) -> list[int]:
        clamped = set(self.clamped())
        return [i for i in range(self.size) if i not in clamped]

    def input_node(self) -> int:
        return self.cols // 2

    def outputs(self) -> tuple[int, ...]:
        """Resonators of the left-middle, right-middle and bottom-middle main masses."""
        r, c = self.rows, self.cols
        mains = ((r // 2) * c, (r // 2) * c + c - 1, (r - 1) * c + c // 2)
        return tuple(self.resonator(m) for m in mains)


def build(name: str, layout: Layout, sample_rate: float, masses: np.ndarray,
          coupling: np.ndarray, local: np.ndarray, damping: np.ndarray, gain: float = 1.0,
          outputs: tuple[int, ...] | None = None) -> R2nnNetwork:
    """The validated network: `masses` per node (`layout.size`), `coupling` per pair of
    `layout.couplings()`, `local` per carrier, `damping` per free node (to the wall)."""
    springs = [[a, b, float(k)] for (a, b), k in zip(layout.couplings(), coupling)]
    springs += [[i, layout.resonator(i), float(k)] for i, k in zip(layout.carriers(), local)]
    dampers = [[i, WALL, float(c)] for i, c in zip(layout.free(), damping)]
    data = {"schema": SCHEMA, "name": name, "sample_rate": float(sample_rate),
            "masses": [float(m) for m in masses], "springs": springs, "dampers": dampers,
            "clamped": list(layout.clamped()),
            "input": {"node": layout.input_node(), "gain": float(gain)},
            "outputs": list(outputs if outputs is not None else layout.outputs())}
    return parse_network(data, f"<lattice {name}>")


def random_lattice(seed: int, layout: Layout = Layout(), sample_rate: float = 10240.0,
                   band: tuple[float, float] = (100.0, 1000.0),
                   q: tuple[float, float] = (10.0, 50.0)) -> R2nnNetwork:
    """A random lattice whose local resonators sit log-uniformly in `band` (Hz), couplings
    up to a quarter of the local stiffness, dampers giving each node a Q in `q` at its own
    resonance; masses 0.02 … 0.08."""
    rng = np.random.default_rng(seed)
    masses = rng.uniform(0.02, 0.08, layout.size)
    carriers = layout.carriers()
    f = np.exp(rng.uniform(np.log(band[0]), np.log(band[1]), len(carriers)))
    local = masses[layout.cells:] * (2 * np.pi * f) ** 2
    coupling = rng.uniform(0.0, 0.25, len(layout.couplings())) * np.median(local)
    free = layout.free()
    f_node = np.concatenate([f, f])  # a main mass and its resonator share a frequency scale
    damping = masses[free] * 2 * np.pi * f_node / rng.uniform(*q, len(free))
    return build(f"random_{seed}", layout, sample_rate, masses, coupling, local, damping)
