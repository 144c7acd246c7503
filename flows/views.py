"""Integration views that open flows read beside the GDS: a Liberty view (area, pins, static
power measured by ngspice) and a Verilog blackbox (power pins included). The LEF comes from
the drawn GDS (`layouts.abstract`). All follow the pin contract of ARCHITECTURE §4.
"""
from __future__ import annotations

from layouts.abstract import pin_role
from pdk.models import Conditions


def liberty(name: str, ports: list[str], area_um2: float, static_W: float | None,
            conditions: Conditions = Conditions()) -> str:
    """Liberty text for one analog macro cell: a timing-free view that lets a digital flow
    place it, budget its area and leakage, and connect its power pins."""
    corner = f"{conditions.corner}_{conditions.temp:g}C_{conditions.vdd:g}V".replace(".", "p").replace("-", "m")
    lines = [f"/* {name}: analog current-mode macro written by bmru-sky130 (no timing arcs) */",
             f"library ({name}_lib) {{",
             '  delay_model : "table_lookup" ;',
             '  time_unit : "1ns" ;', '  voltage_unit : "1V" ;', '  current_unit : "1uA" ;',
             '  leakage_power_unit : "1nW" ;', "  capacitive_load_unit (1, pf) ;",
             '  pulling_resistance_unit : "1kohm" ;',
             "  nom_process : 1.0 ;", f"  nom_temperature : {conditions.temp:g} ;",
             f"  nom_voltage : {conditions.vdd:g} ;",
             f"  voltage_map (VPWR, {conditions.vdd:g}) ;", "  voltage_map (VGND, 0) ;",
             f'  operating_conditions ("{corner}") {{',
             "    process : 1.0 ;", f"    temperature : {conditions.temp:g} ;",
             f"    voltage : {conditions.vdd:g} ;", "  }",
             f'  default_operating_conditions : "{corner}" ;',
             f"  cell ({name}) {{",
             f"    area : {area_um2:.3f} ;",
             "    is_macro_cell : true ;", "    dont_touch : true ;", "    dont_use : true ;"]
    if static_W is not None:
        lines.append(f"    cell_leakage_power : {static_W * 1e9:.6g} ;")
    for port in ports:
        direction, use = pin_role(port)
        if use in ("POWER", "GROUND"):
            kind, rail = ("primary_power", "VPWR") if use == "POWER" else ("primary_ground", "VGND")
            lines += [f"    pg_pin ({port}) {{", f"      voltage_name : {rail} ;", f"      pg_type : {kind} ;",
                      "    }"]
        else:
            lines += [f"    pin ({port}) {{", f"      direction : {direction.lower()} ;",
                      '      related_power_pin : "vdd" ;', '      related_ground_pin : "vss" ;', "    }"]
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def verilog(name: str, ports: list[str]) -> str:
    """A Verilog blackbox module with every pin of the macro, power pins included
    (Verilog-1995 port list: every tool and parser reads it)."""
    decl = {"INPUT": "input", "OUTPUT": "output", "INOUT": "inout"}
    body = "".join(f"  {decl[pin_role(p)[0]]} {p};\n" for p in ports)
    return (f"// {name}: analog current-mode macro written by bmru-sky130 (blackbox: the circuit is\n"
            f"// the SPICE netlist and GDS beside this file). Currents in software units x unit_current.\n"
            f"(* blackbox *)\nmodule {name} ({', '.join(ports)});\n{body}endmodule\n")


def tiny_tapeout_verilog(top_name: str, network: str) -> str:
    """The Tiny Tapeout blackbox stub (`src/project.v`): the template's ports, Verilog-1995
    declarations as `verilog` writes them."""
    ports = (("input", "", "VGND"), ("input", "", "VDPWR"), ("input", "[7:0] ", "ui_in"),
             ("output", "[7:0] ", "uo_out"), ("input", "[7:0] ", "uio_in"), ("output", "[7:0] ", "uio_out"),
             ("output", "[7:0] ", "uio_oe"), ("inout", "[7:0] ", "ua"), ("input", "", "ena"),
             ("input", "", "clk"), ("input", "", "rst_n"))
    body = "".join(f"  {kind} {width}{name};\n" for kind, width, name in ports)
    return (f"// {top_name}: the bmru-sky130 macro of network {network!r} in a Tiny Tapeout analog tile\n"
            "// (blackbox: the circuit is the GDS; ua pins carry currents, see info.yaml).\n"
            f"(* blackbox *)\nmodule {top_name} ({', '.join(p[2] for p in ports)});\n{body}endmodule\n")


def tiny_tapeout_info(top_name: str, network: str, template: str, assignment: dict[str, str]) -> str:
    """`info.yaml` of the submission: the project fields to fill in, the tile size and the
    analog pinout (each used ua pin and the macro port on it)."""
    import yaml

    analog = {f"ua[{i}]": "" for i in range(8)}
    for ua, port in assignment.items():
        analog[ua] = ("iref: reference current in (1 unit, manifest.json)" if port == "iref" else
                      f"{port}: current {'out' if port.startswith('out') else 'in'}")
    info = {"project": {"title": f"{network} (bmru-sky130)", "author": "", "discord": "",
                        "description": f"analog network {network} compiled by bmru-sky130",
                        "language": "Analog", "clock_hz": 0, "tiles": template.removeprefix("tt-analog-"),
                        "analog_pins": len(assignment), "uses_3v3": False, "top_module": top_name},
            "pinout": {**{f"ui[{i}]": "" for i in range(8)}, **{f"uo[{i}]": "" for i in range(8)},
                       **{f"uio[{i}]": "" for i in range(8)}, **analog},
            "yaml_version": 6}
    return yaml.safe_dump(info, sort_keys=False, allow_unicode=True)
