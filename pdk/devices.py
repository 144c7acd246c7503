"""SKY130 device names and the electrical limits the cells design against."""
from __future__ import annotations

#: Short device name → SPICE subckt in the SKY130 models.
MODELS = {
    "nfet_01v8": "sky130_fd_pr__nfet_01v8",
    "nfet_01v8_lvt": "sky130_fd_pr__nfet_01v8_lvt",
    "pfet_01v8": "sky130_fd_pr__pfet_01v8",
    "pfet_01v8_lvt": "sky130_fd_pr__pfet_01v8_lvt",
    "pfet_01v8_hvt": "sky130_fd_pr__pfet_01v8_hvt",
}
#: Minimum drawn L and W (µm) of each device (models' bins start here).
MIN_L = {"nfet_01v8": 0.15, "nfet_01v8_lvt": 0.15, "pfet_01v8": 0.15,
         "pfet_01v8_lvt": 0.35, "pfet_01v8_hvt": 0.15}
MIN_W = 0.42


def polarity(device: str) -> str:
    """'n' or 'p' from the device name."""
    return device[0]


def instance(name: str, device: str, d: str, g: str, s: str, b: str, w: float, l: float) -> str:
    """One transistor instance line. The models set `scale=1u`: W and L are in microns."""
    return f"X{name} {d} {g} {s} {b} {MODELS[device]} W={w:g} L={l:g}"


def xschem_symbol(device: str) -> str:
    """The open PDK's xschem symbol of a device (xschem_sky130: `sky130_fd_pr/<name>.sym`,
    attributes W, L in µm, nf, mult, model, spiceprefix=X)."""
    return f"sky130_fd_pr/{device}.sym"


#: Terminal → pin point (x, y) of those symbols, in symbol coordinates (xschem's y grows
#: downwards): NMOS drain on top, PMOS source on top, gate left, body right.
XSCHEM_PINS = {"n": {"d": (20, -30), "g": (-20, 0), "s": (20, 30), "b": (20, 0)},
               "p": {"d": (20, 30), "g": (-20, 0), "s": (20, -30), "b": (20, 0)}}
