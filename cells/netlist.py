"""What every cell shares: the device records (transistors, poly resistors, diodes, MiM
capacitors) that layout, LVS and the netlist all read, and the `.subckt` text generated
from them (so the three can never disagree)."""
from __future__ import annotations

from dataclasses import dataclass

from pdk.devices import (CAP_MIN_W, CAPACITORS, RES_WIDTH, capacitor_instance, diode_instance, instance,
                         resistor_instance)
from pdk.models import CORNERS, SUPPLIES, TEMPERATURES, Conditions
from pdk.unit import UnitDevice


@dataclass(frozen=True)
class Device:
    """One transistor: instance name, device (key of `pdk.devices.MODELS`), terminals
    drain/gate/source/bulk, W and L in µm. `group` names the matched set it belongs to
    (devices of one group are identical units and are laid out together)."""

    name: str
    device: str
    d: str
    g: str
    s: str
    b: str
    w: float
    l: float
    group: str = ""

    @property
    def terminals(self) -> tuple[str, ...]:
        return (self.d, self.g, self.s, self.b)

    def line(self) -> str:
        return instance(self.name, self.device, self.d, self.g, self.s, self.b, self.w, self.l)


@dataclass(frozen=True)
class Resistor:
    """One poly resistor (key of `pdk.devices.PASSIVES`, e.g. res_xhigh_po_0p35) between a
    and b: drawn body width w (fixed by the device) and length l in µm; `sub` is the
    substrate under the poly, the model's third terminal."""

    name: str
    device: str
    a: str
    b: str
    w: float
    l: float
    group: str = ""
    sub: str = "vss"

    def __post_init__(self) -> None:
        if RES_WIDTH.get(self.device) != self.w:
            raise ValueError(f"resistor {self.name}: {self.device} is {RES_WIDTH.get(self.device)} µm wide, not {self.w:g}")

    @property
    def terminals(self) -> tuple[str, ...]:
        return (self.a, self.b, self.sub)

    def line(self) -> str:
        return resistor_instance(self.name, self.device, self.a, self.b, self.sub, self.l)


@dataclass(frozen=True)
class Diode:
    """One floating p+/nwell diode: anode (the p+ diffusion), cathode (its nwell), drawn
    p+ diffusion w × l in µm (area and perimeter follow)."""

    name: str
    device: str
    anode: str
    cathode: str
    w: float
    l: float
    group: str = ""

    @property
    def terminals(self) -> tuple[str, ...]:
        return (self.anode, self.cathode)

    def line(self) -> str:
        return diode_instance(self.name, self.device, self.anode, self.cathode, self.w, self.l)


@dataclass(frozen=True)
class Capacitor:
    """One MiM capacitor (key of `pdk.devices.CAPACITORS`): `top` the capm plate's net,
    `bottom` the met3 plate's, drawn capm plate w × l µm (`pdk.passives.capacitor_size`
    gives them for a capacitance)."""

    name: str
    device: str
    top: str
    bottom: str
    w: float
    l: float
    group: str = ""

    def __post_init__(self) -> None:
        if self.device not in CAPACITORS:
            raise ValueError(f"capacitor {self.name}: unknown device {self.device!r}; choose one of {', '.join(CAPACITORS)}")
        if min(self.w, self.l) < CAP_MIN_W - 1e-9:
            raise ValueError(f"capacitor {self.name}: {self.w:g} × {self.l:g} µm below the {CAP_MIN_W:g} µm capm minimum")

    @property
    def terminals(self) -> tuple[str, ...]:
        return (self.top, self.bottom)

    def line(self) -> str:
        return capacitor_instance(self.name, self.device, self.top, self.bottom, self.w, self.l)


def touched_ports(cell) -> tuple[str, ...]:
    """The cell's ports that reach a device: a cell built without (say) a bias needs no
    bias line, and a layout pin needs a device to land on."""
    touched = {net for d in cell.devices() for net in d.terminals}
    return tuple(p for p in cell.ports if p in touched)


def units(prefix: str, unit: UnitDevice, count: int, d: str, g: str, s: str, b: str,
          group: str | None = None) -> list[Device]:
    """`count` identical parallel unit devices (never one wide device, never `mult`)."""
    return [Device(f"{prefix}{i}", unit.device, d, g, s, b, unit.w, unit.l, group or prefix)
            for i in range(count)]


def subckt(name: str, ports: tuple[str, ...], devices: list[Device | Resistor | Diode | Capacitor],
           doc: str = "") -> str:
    """`.subckt NAME ports … .ends` from a device list."""
    head = [f"* {line}" for line in doc.strip().splitlines()] if doc else []
    body = [d.line() for d in devices]
    return "\n".join(head + [f".subckt {name} {' '.join(ports)}"] + body + [f".ends {name}"]) + "\n"


def merged_subckt(name: str, ports: tuple[str, ...], devices: list[Device]) -> str:
    """A subckt with every set of identical parallel devices as one `m=k` instance: exact
    without mismatch, tens of times faster to simulate; wrong with mismatch, where every
    unit draws its own sample."""
    groups: dict[tuple, list[Device]] = {}
    for d in devices:
        groups.setdefault((d.device, d.d, d.g, d.s, d.b, d.w, d.l), []).append(d)
    lines = [f".subckt {name} {' '.join(ports)}"]
    lines += [f"{members[0].line()} m={len(members)}" for members in groups.values()]
    return "\n".join(lines + [f".ends {name}"]) + "\n"


def pvt_conditions() -> list[Conditions]:
    """Every corner × temperature × supply the characterization runs (45 points)."""
    return [Conditions(c, temp=t, vdd=v) for c in CORNERS for t in TEMPERATURES for v in SUPPLIES]


def mismatch_conditions(samples: int) -> list[Conditions]:
    """Mismatch samples at tt 27 °C 1.8 V, seeds 1…samples (each reproducible)."""
    return [Conditions("tt", mismatch=True, seed=s) for s in range(1, samples + 1)]


def first_crossing(x, y, level: float, rising: bool = True):
    """x where y first crosses `level` (linear interpolation), or None."""
    import numpy as np

    y = np.asarray(y)
    above = y >= level if rising else y <= level
    idx = np.flatnonzero(above)
    if idx.size == 0 or idx[0] == 0:
        return None
    i = idx[0]
    x0, x1, y0, y1 = x[i - 1], x[i], y[i - 1], y[i]
    return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0)) if y1 != y0 else float(x1)
