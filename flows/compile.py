"""`bmru compile`: one network file to every view of its macro.

Steps, in order: validate → map (a family whose values the wiring moves refits them to its
own drawing, `Family.fit_to_layout`) → netlist → layout (GDS) → DRC and LVS → post-layout timing
→ schematics → testbenches → manifest. Once the GDS is saved two children run the own-engine
DRC (the longest step), one half of the rule table each (`pdk.drc.part_of`), while this
process runs LVS and extracts every net's wiring capacitance from the same comparison: the
family's timing comes from the drawn macro (and a BMRU macro compiled for a frame rate
takes the unit current its wiring needs), so the schematics and testbenches (a third
child) and the idle power (an ngspice job) start after it. The compile waits for all of
them before the manifest. Everything is
written into a temporary sibling of the output directory and renamed into place at the end,
so a failure leaves nothing behind.
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path


from flows import views
from flows.errors import CheckFailed, InputError
from flows.families import Circuit, family_of
from pdk import processes


@dataclass(frozen=True)
class CompileOptions:
    """check: run DRC (own engine) and LVS and fail on any violation; deck: also run the
    external SKY130 runset (slow, needs the KLayout application); build: the family's own
    build options (for BMRU `flows.bmru.BuildOptions`; None: the family's defaults)."""

    check: bool = True
    deck: bool = False
    build: object = None
    target: str | None = None  # a `pdk.tinytapeout.TEMPLATES` key: also wrap the macro into that tile
    outline: tuple[float, float] | None = None  # (width, height) µm the macro must fit in


STEPS = ("map", "netlist", "layout", "lvs", "post-layout", "schematics", "testbenches", "drc", "views", "manifest")


#: row widths tried for the transistor cells, as fractions of the square root of the summed
#: area of the distinct cells (each counted once) at the default fold (None: that fold,
#: `layouts.cell_layout.MAX_UNITS` a row)
ROW_WIDTHS = (None, 1.0, 0.5, 0.25, 0.18)


def draw_macro(circuit: Circuit, pad_pitch: float | None = None, outline: tuple[float, float] | None = None):
    """Layout of the macro from the same cell objects that produced the netlist.

    The floorplan (`layouts.macro.plan`) packs blocks into columns; how well depends on the
    cells' width, so every transistor cell is drawn at each of `ROW_WIDTHS` and the
    smallest macro within `layouts.macro.MAX_ASPECT` is kept (the squarest if none is), or
    with an `outline` (width, height µm) the smallest inside it (ValueError naming the
    smallest box drawn when none fits). `pad_pitch`: port pads in one row that far apart
    (`layouts.macro.assemble`)."""
    from layouts.macro import MAX_ASPECT

    first = _draw_macro(circuit, None, pad_pitch, outline)
    blocks = sum(first.areas[cell.name] for cell in circuit.cells() if cell.name in first.areas)
    macros = [first] + [_draw_macro(circuit, f * blocks ** 0.5, pad_pitch, outline)
                        for f in ROW_WIDTHS if f is not None]
    if outline is not None:
        inside = [m for m in macros if m.top.dbbox().width() <= outline[0] + 1e-9
                  and m.top.dbbox().height() <= outline[1] + 1e-9]
        if not inside:
            boxes = sorted((m.top.dbbox() for m in macros), key=lambda b: max(b.width() / outline[0],
                                                                               b.height() / outline[1]))
            drawn = ", ".join(f"{b.width():.0f} × {b.height():.0f}" for b in boxes[:3])
            raise ValueError(f"no floorplan fits {outline[0]:g} × {outline[1]:g} µm; the closest drawn are "
                             f"{drawn} µm (width × height)")
        return min(inside, key=lambda m: m.area_um2)
    fitting = [m for m in macros if m.aspect <= MAX_ASPECT]
    return min(fitting, key=lambda m: m.area_um2) if fitting else min(macros, key=lambda m: m.aspect)


def _draw_macro(circuit: Circuit, row_width: float | None, pad_pitch: float | None,
                outline: tuple[float, float] | None = None):
    from cells.netlist import Device
    from layouts.cell_layout import draw_cell
    from layouts.macro import Instance, assemble
    from layouts.passive_layout import draw_passive_cell
    from pdk import pcells

    def draw(cell):
        devices = cell.devices()
        if all(isinstance(d, Device) for d in devices):
            return draw_cell(cell.name, circuit.ports_of(cell), devices, ly, row_width=row_width)
        return draw_passive_cell(cell.name, circuit.ports_of(cell), devices, ly)

    ly = pcells.new_layout()
    drawn = {cell.name: draw(cell) for cell in circuit.cells()}
    instances = [Instance(b.name, drawn[b.cell.name], {p: b.nets[p] for p in circuit.ports_of(b.cell)})
                 for b in circuit.blocks]
    return assemble(circuit.network.name, circuit.ports, instances, ly, pad_pitch, outline)


def _schematics(circuit: Circuit, directory: Path) -> list[str]:
    """One SVG per cell (dense blocks and resistor networks as crossbars, the others in
    signal-flow order), the top level as a block diagram, and the xschem views of all of
    them under xschem/."""
    from flows import xschem
    from flows.schematic import Instance, array, block, capacitor_bank, leaf, output_ports, resistor_array

    (directory / "xschem").mkdir(parents=True)
    written = []
    for cell in circuit.cells():
        ports = circuit.ports_of(cell)
        outputs = output_ports(ports, cell.devices())
        draw = {"array": array, "resistor_array": resistor_array,
                "capacitor_bank": capacitor_bank}.get(circuit.schematic_style(cell), leaf)
        (directory / f"{cell.name}.svg").write_text(draw(cell.name, ports, cell.devices(), outputs))
        (directory / "xschem" / f"{cell.name}.sch").write_text(xschem.leaf(ports, cell.devices(), outputs))
        (directory / "xschem" / f"{cell.name}.sym").write_text(xschem.symbol(ports, outputs))
        written += [f"{cell.name}.svg", f"xschem/{cell.name}.sch", f"xschem/{cell.name}.sym"]
    name = circuit.network.name
    top = [Instance(b.name, b.cell.name, {p: b.nets[p] for p in circuit.ports_of(b.cell)},
                    output_ports(circuit.ports_of(b.cell), b.cell.devices())) for b in circuit.blocks]
    outputs = [p for p in circuit.ports if p.startswith("out")]
    (directory / f"{name}.svg").write_text(block(name, circuit.ports, top, outputs))
    (directory / "xschem" / f"{name}.sch").write_text(xschem.top(
        circuit.ports, outputs, [(i.name, i.cell, i.connections, tuple(i.connections), i.outputs) for i in top]))
    (directory / "xschem" / f"{name}.sym").write_text(xschem.symbol(circuit.ports, outputs))
    written += [f"{name}.svg", f"xschem/{name}.sch", f"xschem/{name}.sym"]
    return written


def compile_network(path: Path, out: Path, options: CompileOptions = CompileOptions(),
                    progress=None) -> dict:
    """Compile `path` into the (temporary) directory `out`; returns the manifest."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def done(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(now - clock, 3)
        clock = now
        if progress is not None:
            progress(step)

    family = family_of(path)
    network = family.load_network(path)
    circuit = family.build_circuit(network, options.build)
    if options.target is not None:
        _tile_fits_pins(path, circuit.ports, options.target)
    done("map")
    from flows import postlayout
    from layouts.tiny_tapeout import PAD_PITCH, macro_room  # the tile takes every pad up on a met4 line of its own
    from pdk.tinytapeout import TEMPLATES

    outline = options.outline
    if outline is None and options.target is not None:  # the floorplan that fits the tile
        outline = macro_room(circuit.ports, TEMPLATES[options.target])
    drawings: dict[str, object] = {}

    def drawn(c: Circuit):
        """The macro of `c` (drawn once per netlist)."""
        key = c.netlist()
        if key not in drawings:
            try:
                drawings[key] = draw_macro(c, PAD_PITCH if options.target else None, outline)
            except ValueError as exc:
                if outline is None:
                    raise
                option = "--outline" if options.outline else "--target"
                raise InputError("command line", option, str(exc) if options.outline else
                                 f"{options.target} leaves {outline[0]:.1f} × {outline[1]:.1f} µm for the macro: "
                                 f"{exc}") from None
        return drawings[key]

    circuit = family.fit_to_layout(circuit, lambda c: postlayout.wiring(c, drawn(c)))
    name = network.name
    spice = out / f"{name}.spice"
    netlist = circuit.netlist()
    spice.write_text(netlist)
    done("netlist")
    macro = drawn(circuit)
    drawings.clear()
    gds = out / f"{name}.gds"
    macro.save(gds)
    done("layout")
    with _Background(_own_drc, gds, "front", enabled=options.check) as front, \
            _Background(_own_drc, gds, "back", enabled=options.check) as back:
        comparison = _Comparison(gds, spice)
        checks = comparison.lvs() if options.check else {}
        done("lvs")
        circuit, timing = family.post_layout(circuit, comparison.wiring)
        if circuit.netlist() != netlist:  # the same devices at another unit current
            spice.write_text(circuit.netlist())
        done("post-layout")
        # the idle macro's supply power for the Liberty view: an ngspice job, so a thread waits
        # for it while the views are drawn (pdk.processes stops it on an interrupt)
        with ThreadPoolExecutor(max_workers=1) as power_lane, \
                _Background(_views, family, circuit, out, timing["step_s"]) as views:
            power = power_lane.submit(family.static_power, circuit, timing["step_s"])
            schematics, benches = views.result()
            done("schematics")
            done("testbenches")
            if options.check:
                checks = {**_drc_summary([front.result(), back.result()]), **checks}
            if options.deck:
                checks.update(_deck(gds))
            tile = {}
            if options.target is not None:
                tile, tile_checks = _tiny_tapeout(out, name, macro, list(circuit.ports), options)
                checks.update(tile_checks)
            done("drc")
            idle = power.result()
    integration = _integration_views(out, name, list(circuit.ports), macro.area_um2, idle["total_W"])
    done("views")
    manifest = {
        "schema": "bmru-manifest/1",
        "family": family.schema,
        "network": name,
        "source": str(path),
        "ports": list(circuit.ports),
        "files": {"netlist": spice.name, "gds": gds.name,
                  "schematics": [f"schematics/{s}" for s in schematics],
                  "testbenches": [f"testbench/{t}" for t in benches], **integration},
        "power": {"static": idle},
        **family.manifest(circuit),
        "blocks": [{"instance": b.name, "cell": b.cell.name, "devices": len(b.cell.devices())}
                   for b in circuit.blocks],
        "devices": {"total": circuit.device_count()["total"]},
        "area": {"macro_um2": round(macro.area_um2, 3),
                 "macro_um": [round(macro.top.dbbox().width(), 3), round(macro.top.dbbox().height(), 3)],
                 **({"outline_um": list(options.outline)} if options.outline else {}),
                 "cells_um2": {k: round(v, 3) for k, v in sorted(macro.areas.items())}},
        "checks": checks,
        "timing": timing,
        **({"tile": tile} if tile else {}),
    }
    done("manifest")
    manifest["timings_s"] = timings  # written last so it covers every step
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    failed = [engine for engine, result in checks.items() if not result["clean"]]
    if failed:
        details = "; ".join(f"{e}: {checks[e]['violations']}" for e in failed)
        raise CheckFailed(f"{name}: {', '.join(failed)} not clean ({details}); "
                          "use --no-check to keep the outputs anyway")
    return manifest


class _Background:
    """`function(*args)` in a forked child process while the caller goes on (or nothing
    when not `enabled`); `result()` waits for it. The child is registered with
    `pdk.processes`, so an interrupt kills it; leaving the block early kills it too."""

    def __init__(self, function, *args, enabled: bool = True):
        self.call, self.enabled = (function, *args), enabled

    def __enter__(self) -> "_Background":
        if self.enabled:
            import multiprocessing

            context = multiprocessing.get_context("fork")
            self.receive, send = context.Pipe(duplex=False)
            self.process = context.Process(target=_child, args=(send, *self.call), daemon=True)
            self.process.start()
            processes.track(self.process.pid)
            send.close()
        return self

    def result(self):
        if not self.enabled:
            return {}
        try:
            ok, value = self.receive.recv()
        except EOFError:
            raise RuntimeError(f"{self.call[0].__name__} died (exit {self.process.exitcode})") from None
        if not ok:
            raise value
        return value

    def __exit__(self, *exc) -> None:
        if self.enabled:
            if exc[0] is not None:
                self.process.kill()
            self.process.join()
            processes.untrack(self.process.pid)
            self.receive.close()


def _child(send, function, *args) -> None:
    """Body of a `_Background` child: plain default signal handling (the parent stops it)."""
    import signal

    processes.forget_all()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        send.send((True, function(*args)))
    except BaseException as exc:  # the parent re-raises it
        try:
            send.send((False, exc))
        except Exception:  # an exception that does not pickle still names its cause
            send.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        send.close()


def _integration_views(out: Path, name: str, ports: list[str], area_um2: float, static_W: float) -> dict:
    """LEF (read back from the GDS), Liberty and Verilog beside the GDS."""
    from layouts.abstract import lef

    files = {"lef": f"{name}.lef", "liberty": f"{name}.lib", "verilog": f"{name}.v"}
    (out / files["lef"]).write_text(lef(out / f"{name}.gds"))
    (out / files["liberty"]).write_text(views.liberty(name, ports, area_um2, static_W))
    (out / files["verilog"]).write_text(views.verilog(name, ports))
    return files


def _tile_fits_pins(path: Path, ports, target: str) -> None:
    from flows.errors import InputError
    from layouts.tiny_tapeout import analog_order
    from pdk.tinytapeout import TEMPLATES

    try:
        analog_order(ports, TEMPLATES[target])
    except ValueError as exc:
        raise InputError(path, "--target", str(exc)) from None


def _tiny_tapeout(out: Path, name: str, macro, ports: list[str], options: CompileOptions) -> tuple[dict, dict]:
    """The macro in the Tiny Tapeout tile, as a submission's folders lay it out: tt/gds,
    tt/lef (pin-only abstract), tt/src/project.v and tt/info.yaml; its DRC like the macro's."""
    import re

    from layouts.abstract import lef
    from layouts.tiny_tapeout import wrap
    from pdk import drc, pcells
    from pdk.tinytapeout import TEMPLATES

    template = TEMPLATES[options.target]
    top_name = "tt_um_" + re.sub(r"[^a-z0-9_]", "_", name.lower())
    try:
        tile = wrap(macro, ports, top_name, template)
    except ValueError as exc:
        raise InputError("command line", "--target", str(exc)) from None
    folder = out / "tt"
    for sub in ("gds", "lef", "src"):
        (folder / sub).mkdir(parents=True)
    gds = folder / "gds" / f"{top_name}.gds"
    pcells.save_gds(macro.layout, gds, tile.top)
    (folder / "lef" / f"{top_name}.lef").write_text(
        lef(gds, "met4_label", "met4_pin", template.pin_role, with_obstructions=False))
    (folder / "src" / "project.v").write_text(views.tiny_tapeout_verilog(top_name, name))
    (folder / "info.yaml").write_text(views.tiny_tapeout_info(top_name, name, template.name, tile.assignment))
    checks = {}
    if options.check:
        checks["tile_drc_own"] = _drc_summary([drc.run_own(gds)])["drc_own"]
    if options.deck:
        checks["tile_drc_deck"] = _deck(gds)["drc_deck"]
    files = {sub: str(p.relative_to(out)) for sub, p in
             (("gds", gds), ("lef", folder / "lef" / f"{top_name}.lef"), ("verilog", folder / "src" / "project.v"),
              ("info", folder / "info.yaml"))}
    return {"template": template.name, "top_cell": top_name, "pins": tile.assignment, "files": files}, checks


def _views(family, circuit: Circuit, out: Path, step: float) -> tuple[list[str], list[str]]:
    (out / "testbench").mkdir()
    return _schematics(circuit, out / "schematics"), family.testbenches(circuit, out / "testbench", step)


def _own_drc(gds: Path, part: str):
    """One half of the rule table (`pdk.drc.part_of`): the halves run in two processes
    beside LVS, which keeps both cores busy (one process with two threads idles one core
    for a third of its run)."""
    from pdk import drc

    return drc.run_own(gds, part=part)


def _drc_summary(parts: list) -> dict:
    from pdk.drc import DrcResult

    own = DrcResult.joined(parts)
    return {"drc_own": {"violations": own.total, "clean": own.total == 0, "rules": own.violations,
                        "rules_checked": len(own.counts), "seconds": round(own.seconds, 3)}}


class _Comparison:
    """The layout-against-schematic comparison, made once when LVS or the wiring asks."""

    def __init__(self, gds: Path, spice: Path):
        self.gds, self.spice, self.started, self._compared = gds, spice, 0.0, None

    def compared(self):
        from pdk import lvs

        if self._compared is None:
            self.started = time.monotonic()
            self._compared = lvs.compared(self.gds, self.spice)
        return self._compared

    def lvs(self) -> dict:
        from pdk import lvs

        result = lvs.result_of(self.compared(), self.started)
        return {"lvs": {"violations": len(result.problems), "clean": bool(result.match),
                        "problems": list(result.problems)[:50]}}

    def wiring(self) -> dict[str, float]:
        """Every net's wiring capacitance (F), `pdk.parasitics`."""
        from pdk import parasitics

        return parasitics.net_capacitances(*parasitics.net_regions(self.compared()))


def _deck(gds: Path) -> dict:
    from pdk import drc

    deck = drc.run_deck(gds)
    return {"drc_deck": {"deck": deck.engine, "violations": deck.total, "clean": deck.total == 0,
                         "rules": deck.violations,
                         "rules_checked": len(deck.counts), "seconds": round(deck.seconds, 3)}}
