"""SKY130 device names and the electrical limits the cells design against."""
from __future__ import annotations

from pdk.rules import value as _rule

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
    for a FET attributes W, L in µm, nf, mult, model, spiceprefix=X; for a poly resistor
    W, L, mult, model, spiceprefix=X; every diode is `diode.sym` with model and area)."""
    return "sky130_fd_pr/diode.sym" if xschem_kind(device) == "diode" else f"sky130_fd_pr/{device}.sym"


def xschem_kind(device: str) -> str:
    """Key of `XSCHEM_PINS`: 'n', 'p', 'res', 'diode' or 'cap'."""
    if device.startswith("cap_"):
        return "cap"
    return "res" if device.startswith("res_") else "diode" if device.startswith("diode_") else polarity(device)


#: Terminal (the device record's field) → pin point (x, y) of those symbols, in symbol
#: coordinates (xschem's y grows downwards), in the symbols' pin order (xschem's @pinlist
#: follows the order of the pin boxes in the file): NMOS drain on top, PMOS source on top,
#: gate left, body right; a resistor's first terminal (pin M) at the bottom, its second (P)
#: on top, its substrate (B) left; a diode's anode (d0) at the bottom, cathode (d1) on top.
XSCHEM_PINS = {"n": {"d": (20, -30), "g": (-20, 0), "s": (20, 30), "b": (20, 0)},
               "p": {"d": (20, 30), "g": (-20, 0), "s": (20, -30), "b": (20, 0)},
               "res": {"a": (0, 30), "b": (0, -30), "sub": (-20, 0)},
               "diode": {"anode": (0, 30), "cathode": (0, -30)},
               "cap": {"top": (0, -30), "bottom": (0, 30)}}


#: Poly resistors, the floating diode of the resistor–diode (monDEQ) family and the MiM
#: capacitor (the R²NN family's masses): short name →
#: the wheel's subckt. The `_0pXX` resistors are the fixed-width wrappers of the scalable
#: models (terminals r0 r1 and the substrate under the poly; only L is free). The diode is
#: p+ diffusion in an nwell (anode a, cathode c = the nwell), floating above the substrate;
#: `diode_pw2nd_05v5` sits in the grounded p-substrate and cannot clamp a node. The MiM
#: capacitor's terminals are c0, the top plate (capm, contacted from met4 through via3),
#: and c1, the met3 bottom plate (magic's SKY130 extraction writes the capm net first).
PASSIVES = {
    "res_xhigh_po_0p35": "sky130_fd_pr__res_xhigh_po_0p35",
    "res_xhigh_po_0p69": "sky130_fd_pr__res_xhigh_po_0p69",
    "res_xhigh_po_1p41": "sky130_fd_pr__res_xhigh_po_1p41",
    "res_high_po_0p35": "sky130_fd_pr__res_high_po_0p35",
    "res_high_po_0p69": "sky130_fd_pr__res_high_po_0p69",
    "diode_pd2nw_05v5": "sky130_fd_pr__diode_pd2nw_05v5",
    "cap_mim_m3_1": "sky130_fd_pr__cap_mim_m3_1",
}
#: Drawn body width (µm) each fixed-width resistor stands for.
RES_WIDTH = {"res_xhigh_po_0p35": 0.35, "res_xhigh_po_0p69": 0.69, "res_xhigh_po_1p41": 1.41,
             "res_high_po_0p35": 0.35, "res_high_po_0p69": 0.69}
#: Shortest body (µm): the xhigh_po model's voltage-coefficient term min(0.2, leff − 0.5)
#: is fitted from L = 0.5 µm up, and the MPW deck wants a poly:res of 0.66 µm at least.
RES_MIN_L = max(0.5, _rule("MR_poly.LEN.2"))
#: Smallest drawn p+ diffusion edge of the diode (µm, SKY130 difftap.1 minimum width).
DIODE_MIN_W = 0.42
#: Highest voltage (V) across a passive: the diode's 5 V class (05v5); the poly resistors'
#: models publish no own limit, and the resistor–diode network runs below 3.3 V.
PASSIVE_MAX_V = 5.5


def resistor_instance(name: str, device: str, a: str, b: str, sub: str, l: float) -> str:
    """One poly resistor between a and b over substrate `sub`; L in µm (`scale=1u`)."""
    return f"X{name} {a} {b} {sub} {PASSIVES[device]} L={l:g}"


#: The diode models' junction parameters are per µm² and per µm, but ngspice applies
#: `scale=1u` to a diode's area (×1e-12) and perimeter (×1e-6) as well: instances give
#: µm²·1e12 and µm·1e6 (open_pdks issue 289; measured: the junction then holds
#: 0.74 fF/µm²). The series resistance `rs_int` = 600e-12 of the 05v5 diode is meant per
#: m² of area; under that convention it becomes 6e-10 Ω, a 1.7e9 S conductance that rounds
#: every current below ≈ 0.1 µA to 0 (measured). `rs_int` = 600 restores its
#: 600 Ω·µm² / area.
DIODE_AREA_UNIT, DIODE_PERIM_UNIT = 1e12, 1e6
DIODE_RS_INT = {"diode_pd2nw_05v5": 600.0}


def diode_geometry(w: float, l: float) -> str:
    """`area=… perim=…` of a drawn W×L µm junction, in the units the models expect."""
    return f"area={w * l * DIODE_AREA_UNIT:.6g} perim={2 * (w + l) * DIODE_PERIM_UNIT:.6g}"


def diode_instance(name: str, device: str, anode: str, cathode: str, w: float, l: float) -> str:
    """One p+/nwell diode of drawn W×L µm (anode the p+ diffusion, cathode the nwell)."""
    return (f"X{name} {anode} {cathode} {PASSIVES[device]} {diode_geometry(w, l)} "
            f"rs_int={DIODE_RS_INT[device]:g}")


#: The MiM capacitors (keys of PASSIVES).
CAPACITORS = ("cap_mim_m3_1",)
#: Narrowest drawn capm plate side (µm). The rule pages publish no largest plate or aspect
#: ratio (capm.6 and capm.12 read N/A) and the MPW deck checks none.
CAP_MIN_W = _rule("capm.1")


def capacitor_instance(name: str, device: str, top: str, bottom: str, w: float, l: float) -> str:
    """One MiM capacitor: top plate (capm) `top`, met3 bottom plate `bottom`, drawn capm
    plate w × l µm. W and L are plain subckt parameters in µm, which `scale=1u` leaves
    alone: the model computes C = ca·(W + dw)·(L + dw) with ca per µm² and dw in µm
    (measured: W = L = 10 gives 206.0 fF = 2 fF/µm² · 10.15²)."""
    return f"X{name} {top} {bottom} {PASSIVES[device]} W={w:g} L={l:g}"
