"""Layout-versus-schematic with `klayout.db`.

The layout side: MOS4 devices (type from implants: nsdm/psdm, lvtn, hvtp; W and L in µm;
fingers and parallel unit devices merged), precision poly resistors (body = poly:res in
urpm/rpm, the device by its width; R from the measured sheet resistance) with the
substrate as bulk, p+/nwell diodes (p+ diffusion under areaid:diode; area and perimeter in
µm², µm), MiM capacitors (capm over met3; C from the measured capacitance per area, A and
P of the plate), and their connectivity through poly, licon, li1, mcon, met1, via, met2,
via2, met3, via3 and met4 (a via3 on capm joins the capm, not the met3 under it), wells
and taps included; net names come from text labels on any of the label layers
(`pdk.layers.PIN_LABEL_LAYER` is the documented one).

The schematic side: the project's SPICE (`X<name> d g s b sky130_fd_pr__nfet_01v8 W=2 L=4`,
subckt-style calls, W/L in µm because the models set `scale=1u`), turned into MOS4 devices
by `Sky130SpiceReader`; resistor calls (`X… a b sub sky130_fd_pr__res_xhigh_po_0p35 L=`)
become resistors with bulk, R = measured Ω/µm × L, diode calls (`area=µm²·1e12
perim=µm·1e6`) diodes in µm², µm, and MiM capacitor calls (`X… top bottom
sky130_fd_pr__cap_mim_m3_1 W= L=`) capacitors, C = measured F/µm² × W·L.

Both netlists are flattened below the compared circuit, so a layout drawn with pcell
sub-cells compares against a hierarchical or flat schematic alike.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import klayout.db as db

from pdk import layers
from pdk.devices import CAPACITORS, DIODE_AREA_UNIT, DIODE_PERIM_UNIT, MODELS, PASSIVES, RES_WIDTH

#: Relative tolerance on W and L when devices are compared.
PARAM_TOLERANCE = 0.01
#: Relative tolerance on a resistor's R: 1.5 × the 5 nm grid step of the shortest resistor
#: the family builds (50 kΩ of res_xhigh_po_0p35 is 6.8 µm at 7376 Ω/µm: one step is
#: 37 Ω, 0.07 %). Both sides count the body only (measured Ω/µm × L, the layout from the
#: same number as Ω/sq × L/W), so a drawn length off by more than one grid step is caught.
RESISTOR_TOLERANCE = 0.001
#: Relative tolerance on a diode's area and perimeter: Is = 1.54e-17 A/µm² · A +
#: 5.1e-16 A/µm · P (pdk/goldens/passives.yaml), so 1 % of either moves the clamp voltage
#: by at most n·Vt·ln(1.01) = 0.35 mV.
DIODE_TOLERANCE = 0.01
#: Relative tolerance on a MiM capacitor's C (its area part: both sides count measured
#: F/µm² × plate area) and plate perimeter: one 5 nm grid step on a side of the 1 pF plate
#: (22.3 µm) is 0.02 %, on a 5 µm plate 0.1 %; a plate of the same area in another shape
#: shows in P.
CAPACITOR_TOLERANCE = 0.001

_MODEL_NAMES = {v.upper(): v for v in MODELS.values()}
_PASSIVE_NAMES = {v.upper(): k for k, v in PASSIVES.items()}


def _device_class(nl: db.Netlist, model: str) -> db.DeviceClassMOS4Transistor:
    name = model.upper()
    dc = nl.device_class_by_name(name)
    if dc is None:
        dc = db.DeviceClassMOS4Transistor()
        dc.name = name
        nl.add(dc)
    _set_tolerance(dc)
    return dc


def _passive_class(nl: db.Netlist, model: str) -> db.DeviceClass:
    name = model.upper()
    dc = nl.device_class_by_name(name)
    if dc is None:
        dc = (db.DeviceClassResistorWithBulk() if "__RES_" in name else
              db.DeviceClassCapacitor() if "__CAP_" in name else db.DeviceClassDiode())
        dc.name = name
        nl.add(dc)
    _set_tolerance(dc)
    return dc


def _set_tolerance(dc: db.DeviceClass) -> None:
    if isinstance(dc, db.DeviceClassMOS4Transistor):
        eq = db.EqualDeviceParameters(db.DeviceClassMOS4Transistor.PARAM_W, 0.0, PARAM_TOLERANCE)
        eq += db.EqualDeviceParameters(db.DeviceClassMOS4Transistor.PARAM_L, 0.0, PARAM_TOLERANCE)
        dc.equal_parameters = eq
    elif isinstance(dc, db.DeviceClassResistor):
        dc.equal_parameters = db.EqualDeviceParameters(db.DeviceClassResistor.PARAM_R, 0.0, RESISTOR_TOLERANCE)
    elif isinstance(dc, db.DeviceClassDiode):
        eq = db.EqualDeviceParameters(db.DeviceClassDiode.PARAM_A, 0.0, DIODE_TOLERANCE)
        eq += db.EqualDeviceParameters(db.DeviceClassDiode.PARAM_P, 0.0, DIODE_TOLERANCE)
        dc.equal_parameters = eq
    elif isinstance(dc, db.DeviceClassCapacitor):
        eq = db.EqualDeviceParameters(db.DeviceClassCapacitor.PARAM_C, 0.0, CAPACITOR_TOLERANCE)
        eq += db.EqualDeviceParameters(db.DeviceClassCapacitor.PARAM_P, 0.0, CAPACITOR_TOLERANCE)
        dc.equal_parameters = eq


def _size_params(d: db.Device) -> tuple[str, ...]:
    """The parameters that make two devices of one class the same size."""
    dc = d.device_class()
    if isinstance(dc, db.DeviceClassResistor):
        return ("R",)
    if isinstance(dc, db.DeviceClassDiode):
        return ("A", "P")
    if isinstance(dc, db.DeviceClassCapacitor):
        return ("C", "P")
    return ("W", "L")


def _terminal_names(d: db.Device) -> list[str]:
    """A transistor's terminals in the SPICE order (d g s b), others in their class's."""
    if isinstance(d.device_class(), db.DeviceClassMOS4Transistor):
        return ["D", "G", "S", "B"]
    return [t.name for t in d.device_class().terminal_definitions()]


class Sky130SpiceReader(db.NetlistSpiceReaderDelegate):
    """Turns `X… <sky130 fet model> W= L= [m=]` subckt calls into MOS4 devices, and the
    poly resistor and diode calls into resistors with bulk and diodes."""

    def wants_subcircuit(self, name):
        return name.upper() in _MODEL_NAMES or name.upper() in _PASSIVE_NAMES

    def element(self, circuit, el, name, model, value, nets, params):
        if el == "X" and model.upper() in _PASSIVE_NAMES:
            return self._passive(circuit, name, model, nets, {k.upper(): v for k, v in params.items()})
        if el != "X" or model.upper() not in _MODEL_NAMES:
            return super().element(circuit, el, name, model, value, nets, params)
        if len(nets) != 4:
            self.error(f"{name}: a MOS device needs 4 nets (d g s b), got {len(nets)}")
        p = {k.upper(): v for k, v in params.items()}
        if "W" not in p or "L" not in p:
            self.error(f"{name}: W and L are required")
        w, l = float(p["W"]), float(p["L"])
        if w < 1e-3:  # given in metres (W=2u) rather than scaled microns
            w, l = w * 1e6, l * 1e6
        mult = float(p.get("M", p.get("MULT", 1.0)))
        dev = circuit.create_device(_device_class(circuit.netlist(), model), name)
        for term, net in zip(("D", "G", "S", "B"), nets):
            dev.connect_terminal(term, net)
        dev.set_parameter("W", w * mult)
        dev.set_parameter("L", l)
        return True

    def _passive(self, circuit, name, model, nets, p) -> bool:
        from pdk.passives import area_capacitance, body_resistance

        device = _PASSIVE_NAMES[model.upper()]
        dev = circuit.create_device(_passive_class(circuit.netlist(), model), name)
        if device in RES_WIDTH:
            if len(nets) != 3 or "L" not in p:
                self.error(f"{name}: a poly resistor needs 3 nets (r0 r1 sub) and L")
            for term, net in zip(("A", "B", "W"), nets):
                dev.connect_terminal(term, net)
            dev.set_parameter("R", body_resistance(float(p["L"]), device))
            dev.set_parameter("L", float(p["L"]))
            dev.set_parameter("W", RES_WIDTH[device])
        elif device in CAPACITORS:
            if len(nets) != 2 or "W" not in p or "L" not in p:
                self.error(f"{name}: a MiM capacitor needs 2 nets (top bottom), W and L")
            w, l = float(p["W"]), float(p["L"])
            for term, net in zip(("A", "B"), nets):
                dev.connect_terminal(term, net)
            dev.set_parameter("C", area_capacitance() * w * l)
            dev.set_parameter("A", w * l)
            dev.set_parameter("P", 2 * (w + l))
        else:
            if len(nets) != 2 or "AREA" not in p or "PERIM" not in p:
                self.error(f"{name}: a diode needs 2 nets (anode cathode), area and perim")
            for term, net in zip(("A", "C"), nets):
                dev.connect_terminal(term, net)
            dev.set_parameter("A", float(p["AREA"]) / DIODE_AREA_UNIT)
            dev.set_parameter("P", float(p["PERIM"]) / DIODE_PERIM_UNIT)
        return True


def read_spice(path: str | os.PathLike) -> db.Netlist:
    """Schematic netlist from the project's SPICE."""
    nl = db.Netlist()
    nl.read(str(path), db.NetlistSpiceReader(Sky130SpiceReader()))
    return nl


# ----------------------------------------------------------------------------- extraction

#: Device type → (implant selection). Gates are poly & diff; the select layer decides n/p,
#: lvtn/hvtp the threshold flavour.
_FETS = (
    ("nfet_01v8", "n", None),
    ("nfet_01v8_lvt", "n", "lvtn"),
    ("pfet_01v8", "p", None),
    ("pfet_01v8_lvt", "p", "lvtn"),
    ("pfet_01v8_hvt", "p", "hvtp"),
)
_LABELS = ("li1_label", "met1_label", "met2_label", "met3_label")
_LABELED = {"li1_label": "li1", "met1_label": "met1", "met2_label": "met2",
            "met3_label": "met3"}


def extract(gds: str | os.PathLike) -> tuple[db.LayoutVsSchematic, str]:
    """Extract devices and nets of the only top cell of `gds`."""
    ly = db.Layout()
    ly.read(str(gds))
    tops = ly.top_cells()
    if len(tops) != 1:
        raise ValueError(f"{gds}: expected exactly one top cell, found "
                         f"{', '.join(c.name for c in tops) or 'none'}")
    top = tops[0]
    # the substrate: a box over everything, minus nwell (the nfet body)
    sub_idx = ly.layer(db.LayerInfo("bmru_substrate"))
    top.shapes(sub_idx).insert(top.bbox().enlarged(1000, 1000))

    lvs = db.LayoutVsSchematic(db.RecursiveShapeIterator(ly, top, []))

    def mk(name):
        a, b = layers.gds(name)
        return lvs.make_layer(ly.layer(a, b), name)

    L = {n: mk(n) for n in ("nwell", "diff", "tap", "poly", "licon", "li1", "mcon", "met1",
                            "via", "met2", "via2", "met3", "nsdm", "psdm", "lvtn", "hvtp",
                            "rpm", "urpm", "polyres", "diode_id", "via3", "met4", "capm")}
    T = {n: lvs.make_text_layer(ly.layer(*layers.gds(n)), n) for n in _LABELS}
    sub = lvs.make_layer(sub_idx, "substrate")

    gate = L["poly"] & L["diff"]
    sd = L["diff"] - gate
    nsd, psd = sd & L["nsdm"], sd & L["psdm"]
    ntap, ptap = L["tap"] & L["nsdm"], L["tap"] & L["psdm"]
    psub = sub - L["nwell"]
    body = L["poly"] & L["polyres"]
    poly = L["poly"] - body  # a resistor body conducts only through its device
    pdiode = psd & L["diode_id"]
    via3_cap = L["via3"].interacting(L["capm"])  # capm to met4; the met3 below is the other plate
    via3_met3 = L["via3"] - via3_cap
    for name, reg in (("nsd", nsd), ("psd", psd), ("ntap", ntap), ("ptap", ptap),
                      ("psub", psub), ("poly_conductor", poly), ("pdiode", pdiode),
                      ("via3_cap", via3_cap), ("via3_met3", via3_met3)):
        lvs.register(reg, name)

    for dev, pol, implant in _FETS:
        g = gate & (L["nsdm"] if pol == "n" else L["psdm"])
        if implant:
            g = g & L[implant]
        else:
            for other in ("lvtn", "hvtp"):
                g = g - L[other]
        lvs.register(g, f"gate_{dev}")
        ex = db.DeviceExtractorMOS4Transistor(MODELS[dev].upper())
        lvs.extract_devices(ex, {"SD": nsd if pol == "n" else psd, "G": g, "P": poly,
                                 "W": psub if pol == "n" else L["nwell"]})
    _extract_passives(lvs, L, body, poly, pdiode, psub)

    chain = [poly, nsd, psd, ntap, ptap, pdiode]
    for a in chain:
        lvs.connect(a)
        lvs.connect(a, L["licon"])
    stack = ["licon", "li1", "mcon", "met1", "via", "met2", "via2", "met3"]
    for n in stack:
        lvs.connect(L[n])
    for a, b in zip(stack, stack[1:]):
        lvs.connect(L[a], L[b])
    for a, b in ((L["met3"], via3_met3), (via3_met3, L["met4"]), (L["capm"], via3_cap), (via3_cap, L["met4"])):
        lvs.connect(a, b)
    lvs.connect(L["met4"])
    lvs.connect(L["capm"])
    lvs.connect(L["nwell"])
    lvs.connect(L["nwell"], ntap)
    lvs.connect(psub)
    lvs.connect(psub, ptap)
    for t, cond in _LABELED.items():
        lvs.connect(L[cond], T[t])
    lvs.extract_netlist()
    return lvs, top.name


def _extract_passives(lvs, L, body, poly, pdiode, psub) -> None:
    """Resistors (one extractor per device: implant and drawn width), diodes and MiM
    capacitors."""
    from pdk.passives import area_capacitance, sheet_resistance

    for device, w in RES_WIDTH.items():
        implant = L["urpm"] if "xhigh" in device else L["rpm"]
        wd = int(round(w * 1000))
        r = (body & implant).with_bbox_min(wd, wd + 1, False)
        lvs.register(r, f"body_{device}")
        ex = db.DeviceExtractorResistorWithBulk(PASSIVES[device].upper(), sheet_resistance(device))
        lvs.extract_devices(ex, {"R": r, "C": poly, "W": psub})
    ex = db.DeviceExtractorDiode(PASSIVES["diode_pd2nw_05v5"].upper())
    lvs.extract_devices(ex, {"P": pdiode, "N": L["nwell"]})
    for device in CAPACITORS:  # terminal A the capm (top plate, the model's c0), B the met3
        ex = db.DeviceExtractorCapacitor(PASSIVES[device].upper(), area_capacitance())
        lvs.extract_devices(ex, {"P1": L["capm"], "P2": L["met3"]})


# ----------------------------------------------------------------------------- comparison

@dataclass
class LvsResult:
    """Outcome of one comparison, with the differences in a designer's words."""
    top: str
    match: bool
    layout_devices: int
    schematic_devices: int
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    dummies: int = 0  # layout devices with all terminals on one net, left out of the count

    def summary(self) -> str:
        head = (f"LVS {self.top}: {'clean' if self.match else 'MISMATCH'} "
                f"({self.layout_devices} layout / {self.schematic_devices} schematic devices "
                f"after merging fingers and parallel units"
                + (f"; {self.dummies} shorted dummy device(s) ignored" if self.dummies else "")
                + f", {self.seconds:.2f} s)")
        return "\n".join([head] + [f"  {p}" for p in self.problems])


def _dev_text(d: db.Device | None) -> str:
    if d is None:
        return "nothing"
    nets = []
    for t in _terminal_names(d):
        n = d.net_for_terminal(t)
        nets.append(f"{t.lower()}={n.expanded_name().lower() if n else '?'}")
    return f"{d.device_class().name.lower()} {_size_text(d)} ({' '.join(nets)})"


def _size_text(d: db.Device) -> str:
    """W=… L=… of a transistor, A=… P=… of a diode, R=… or C=… P=… (6 digits: their
    tolerance is 0.1 %)."""
    digits = 6 if isinstance(d.device_class(), (db.DeviceClassResistor, db.DeviceClassCapacitor)) else 3
    return " ".join(f"{p}={d.parameter(p):.{digits}g}" for p in _size_params(d))


def _net_text(n: db.Net | None) -> str:
    if n is None:
        return "nothing"
    terms = sorted({f"{t.device().device_class().name.lower().split('__')[-1]}."
                    f"{t.terminal_def().name.lower()}" for t in n.each_terminal()})
    shown = ", ".join(terms[:6]) + (" …" if len(terms) > 6 else "")
    return f"net {n.expanded_name().lower()!r} ({n.terminal_count()} device terminals: {shown or 'none'})"


def _drop_shorted(c: db.Circuit) -> int:
    """Remove devices whose four terminals sit on one net (matching dummies: they carry no
    current in any circuit); returns how many."""
    gone = []
    for d in c.each_device():
        if not isinstance(d.device_class(), db.DeviceClassMOS4Transistor):
            continue
        nets = {d.net_for_terminal(t).expanded_name() if d.net_for_terminal(t) else None
                for t in ("D", "G", "S", "B")}
        if len(nets) == 1 and None not in nets:
            gone.append(d)
    for d in gone:
        c.remove_device(d)
    return len(gone)


def _terms(n: db.Net) -> list[tuple[str, str]]:
    return sorted((t.device().device_class().name.upper(), t.terminal_def().name)
                  for t in n.each_terminal())


def _pick(nl: db.Netlist, name: str, what: str) -> db.Circuit:
    """The circuit called `name` (any case), else the only top-level circuit."""
    for c in nl.each_circuit():
        if c.name.upper() == name.upper():
            return c
    tops = [c for c in nl.each_circuit() if not list(c.each_ref())]
    if len(tops) == 1:
        return tops[0]
    raise ValueError(f"{what} has no circuit named {name!r} (has "
                     f"{', '.join(c.name for c in nl.each_circuit()) or 'none'})")


def _flatten_below(nl: db.Netlist, keep: db.Circuit) -> None:
    """Flatten everything inside `keep`; drop circuits that are not part of it."""
    for c in [c for c in nl.each_circuit() if c.name != keep.name]:
        if list(c.each_ref()):
            nl.flatten_circuit(c)
    for c in [c for c in nl.each_circuit() if c.name != keep.name]:
        nl.remove(c)


@dataclass
class Compared:
    """An extraction compared with its schematic: the LVS database (shapes of every net,
    the cross reference) and the two flattened top circuits."""
    lvs: db.LayoutVsSchematic
    top: str
    layout_circuit: db.Circuit
    schematic_circuit: db.Circuit
    matched: bool
    dummies: int
    seconds: float


def compared(gds: str | os.PathLike, spice: str | os.PathLike, circuit: str | None = None) -> Compared:
    """Extract the top cell of `gds` and compare it with the subckt of the same name (or
    `circuit`) of `spice`, both flattened below the compared circuit."""
    t0 = time.monotonic()
    lvs, top = extract(gds)
    lay = lvs.netlist()
    ref = read_spice(spice)
    lc = _pick(lay, top, "layout")
    rc = _pick(ref, circuit or top, f"schematic {spice}")
    dummies = {False: 0, True: 0}
    for nl, keep in ((lay, lc), (ref, rc)):
        _flatten_below(nl, keep)
        if nl is lay:
            # labelled nets are pins before devices combine: two resistors meeting at an
            # input pin are not one resistor in series
            lay.make_top_level_pins()
        for dc in nl.each_device_class():
            _set_tolerance(dc)
        nl.combine_devices()
        dummies[nl is ref] = _drop_shorted(keep)
        nl.purge_nets()
    # the layout's pins are the labelled nets; drop schematic pins that the layout lacks so
    # that pins alone never decide (their nets are still compared)
    lvs.reference = ref
    cmp = db.NetlistComparer()
    cmp.same_circuits(lc, rc)
    for dc in lay.each_device_class():
        other = ref.device_class_by_name(dc.name)
        if other is not None:
            cmp.same_device_classes(dc, other)
    ok = lvs.compare(cmp)
    return Compared(lvs, top, lc, rc, bool(ok), dummies[False], time.monotonic() - t0)


def compare(gds: str | os.PathLike, spice: str | os.PathLike,
            circuit: str | None = None) -> LvsResult:
    """LVS of the top cell of `gds` against the subckt of the same name (or `circuit`)."""
    t0 = time.monotonic()
    return result_of(compared(gds, spice, circuit), t0)


def result_of(c: Compared, t0: float) -> LvsResult:
    """The LVS verdict of a comparison (`compared`) started at `t0` (time.monotonic)."""
    lvs, lc, rc = c.lvs, c.layout_circuit, c.schematic_circuit
    lay, ref = lc.netlist(), rc.netlist()
    problems = _describe(lvs, lc, rc)
    nlay = sum(1 for _ in lc.each_device())
    nref = sum(1 for _ in rc.each_device())
    if nlay != nref:
        problems.insert(0, f"device count differs: layout has {nlay}, schematic {nref}")
    for dc in lay.each_device_class():
        if ref.device_class_by_name(dc.name) is None and any(
                d.device_class().name == dc.name for d in lc.each_device()):
            problems.append(f"layout has {dc.name.lower()} devices, the schematic has none")
    res = LvsResult(c.top, c.matched and not problems, nlay, nref, problems,
                    time.monotonic() - t0)
    res.dummies = c.dummies
    return res


def _sig(d: db.Device) -> tuple:
    """Device class and terminal net names (any case): what a resized device keeps."""
    nets = []
    for t in _terminal_names(d):
        n = d.net_for_terminal(t)
        nets.append(n.expanded_name().lower() if n else "?")
    return (d.device_class().name.upper(), tuple(nets))


def _same_size(a: db.Device, b: db.Device) -> bool:
    dc = b.device_class()
    tol = (RESISTOR_TOLERANCE if isinstance(dc, db.DeviceClassResistor) else
           DIODE_TOLERANCE if isinstance(dc, db.DeviceClassDiode) else
           CAPACITOR_TOLERANCE if isinstance(dc, db.DeviceClassCapacitor) else PARAM_TOLERANCE)
    return all(abs(a.parameter(p) - b.parameter(p)) <= tol * max(abs(b.parameter(p)), 1e-9)
               for p in _size_params(b))


def _unpaired_differences(lc: db.Circuit, rc: db.Circuit, said: list[str]) -> list[str]:
    """Schematic resistors and diodes the comparer could not pair (a resistor of another
    value leaves its nets unpaired, not its device): a layout device on the same nets with
    another size, or of the same class on the same nets in another order (a diode drawn
    backwards). Transistors are described by the device pairs alone, as before."""
    def oriented(d: db.Device) -> tuple:  # a resistor's two ends are interchangeable
        cls, nets = _sig(d)
        return (cls, tuple(sorted(nets[:2])) + nets[2:]) if isinstance(d.device_class(), db.DeviceClassResistor) \
            else (cls, nets)

    lay: dict[tuple, list[db.Device]] = {}
    for a in lc.each_device():
        cls, nets = _sig(a)
        lay.setdefault((cls, tuple(sorted(nets))), []).append(a)
    out = []
    for b in rc.each_device():
        name = b.expanded_name()
        if isinstance(b.device_class(), db.DeviceClassMOS4Transistor) or any(f"device {name} " in x or f"device {name}:" in x for x in said):
            continue
        cls, nets = _sig(b)
        twins = lay.get((cls, tuple(sorted(nets))), [])
        if not twins or any(oriented(a) == oriented(b) and _same_size(a, b) for a in twins):
            continue
        same_order = [a for a in twins if oriented(a) == oriented(b)]
        if same_order:
            out.append(f"resized device {name}: schematic {_dev_text(b)}, layout has "
                       f"{_size_text(same_order[0])} on the same nets")
        else:
            out.append(f"device {name}: terminals swapped: schematic {_dev_text(b)}, "
                       f"layout {_dev_text(twins[0])}")
    return out


def _swapped_plates(xref: db.NetlistCrossReference, cp) -> list[str]:
    """Paired MiM capacitors whose top plate (terminal A) lies on the net the schematic
    gives the bottom plate: the comparer pairs a capacitor's terminals either way round,
    but the met3 plate carries the larger parasitic to the substrate."""
    out = []
    for dp in xref.each_device_pair(cp):
        a, b = dp.first(), dp.second()
        if a is None or b is None or not isinstance(b.device_class(), db.DeviceClassCapacitor):
            continue
        top = xref.other_net_for(a.net_for_terminal("A"))
        if top is not None and top.expanded_name() != b.net_for_terminal("A").expanded_name():
            out.append(f"device {b.expanded_name()}: plates swapped: schematic {_dev_text(b)}, layout {_dev_text(a)}")
    return out


def _describe(lvs: db.LayoutVsSchematic, lc: db.Circuit, rc: db.Circuit) -> list[str]:
    """Every non-matching device, net and pin of the compared circuit, in words. Devices
    that differ only in size on the same nets are reported once as resized; nets of the
    same name are reported once with both sides' connections."""
    xref = lvs.xref()
    out: list[str] = []
    cp = None
    for pair in xref.each_circuit_pair():
        if pair.first() is not None and pair.first().name == lc.name:
            cp = pair
    if cp is None:
        return ["the layout and schematic circuits could not be paired"]
    ok = (db.NetlistCrossReference.Match, db.NetlistCrossReference.MatchWithWarning)
    for n in lc.each_net():  # one conductor carrying two different labels
        names = sorted({x.strip() for x in (n.name or "").split(",") if x.strip()})
        if len(names) > 1:
            out.append(f"short: one layout net carries the labels {', '.join(map(repr, names))}")
    only_lay, only_ref = [], []
    for dp in xref.each_device_pair(cp):
        if dp.status() in ok:
            continue
        a, b = dp.first(), dp.second()
        if a is None:
            only_ref.append(b)
        elif b is None:
            only_lay.append(a)
        elif _sig(a)[0] != _sig(b)[0] or not _same_size(a, b):
            out.append(f"device {b.expanded_name()} differs: layout {_dev_text(a)}, "
                       f"schematic {_dev_text(b)}")
    out += _swapped_plates(xref, cp)
    for b in list(only_ref):
        twin = next((a for a in only_lay if _sig(a) == _sig(b)), None)
        if twin is not None:
            only_ref.remove(b)
            only_lay.remove(twin)
            out.append(f"resized device {b.expanded_name()}: schematic {_dev_text(b)}, layout has "
                       f"{_size_text(twin)} on the same nets (parallel units and fingers are summed)")
    out += _unpaired_differences(lc, rc, out)
    for b in only_ref:
        out.append(f"schematic device {b.expanded_name()}: {_dev_text(b)} has no match in the layout")
    for a in only_lay:
        out.append(f"a layout device {_dev_text(a)} has no match in the schematic")
    lay_nets, ref_nets = {}, {}
    for np in xref.each_net_pair(cp):
        if np.status() in ok:
            continue
        a, b = np.first(), np.second()
        if a is not None and b is not None:
            out.append(f"layout {_net_text(a)} does not connect like schematic {_net_text(b)}")
        elif a is not None:
            lay_nets[a.expanded_name().lower()] = a
        elif b is not None:
            ref_nets[b.expanded_name().lower()] = b
    for name in sorted(set(lay_nets) & set(ref_nets)):
        if _terms(lay_nets[name]) == _terms(ref_nets[name]):  # follows from a device above
            del lay_nets[name], ref_nets[name]
            continue
        out.append(f"net {name!r} is connected differently: layout {_net_text(lay_nets.pop(name))}; "
                   f"schematic {_net_text(ref_nets.pop(name))}")
    for n in ref_nets.values():
        out.append(f"schematic {_net_text(n)} has no counterpart in the layout (open or missing wire?)")
    for n in lay_nets.values():
        out.append(f"layout {_net_text(n)} has no counterpart in the schematic "
                   "(a cut wire leaves an unnamed piece; or a short, or an extra device)")
    # topology alone cannot tell two symmetric pins apart: their labels must agree too
    for np in xref.each_net_pair(cp):
        a, b = np.first(), np.second()
        if a is None or b is None or np.status() not in ok or b.pin_count() == 0:
            continue
        want = b.expanded_name().lower()
        got = (a.name or "").lower()
        if not got:
            out.append(f"schematic pin {want!r} lands on an unlabelled layout net "
                       f"(label it on {layers.PIN_LABEL_LAYER})")
        elif want not in {n.lower() for n in got.split(",")}:
            out.append(f"schematic pin {want!r} lands on the layout net labelled {got!r} "
                       "(pins or labels swapped?)")
    for pp in xref.each_pin_pair(cp):
        if pp.status() in ok:
            continue
        a, b = pp.first(), pp.second()
        if b is not None and a is None:
            out.append(f"schematic pin {b.expanded_name().lower()!r} has no labelled net in the layout "
                       f"(label it on {layers.PIN_LABEL_LAYER})")
        elif a is not None and b is None:
            out.append(f"layout label {a.expanded_name()!r} is not a pin of the schematic")
    return out
