"""Integration views that open flows read beside the GDS: a Liberty view (area, pins, static
power measured by ngspice) and a Verilog blackbox (power pins included). The LEF comes from
the drawn GDS (`layouts.abstract`). All follow the pin contract of ARCHITECTURE §4.
"""
from __future__ import annotations

import numpy as np

from flows.bmru.circuit import Circuit
from layouts.abstract import pin_role
from pdk.models import Conditions


def static_power(circuit: Circuit, step: float, conditions: Conditions = Conditions()) -> dict:
    """Supply power of the idle macro — every input at 0, `iref` at one unit, outputs held
    per the contract, every BMRU cell in its reset state — averaged over one settling step
    (`step`, the macro's timing.step_s) of the transient testbench `bmru simulate` runs."""
    from flows.bmru.simulate import Bench
    from pdk.ngspice import simulate

    network = circuit.network
    bench = Bench.around(circuit, np.zeros((1, network.input_size)), step)
    plot = simulate(bench.deck(conditions), f"{network.name}_static")[0]
    power = bench.score(plot, conditions)["power"]
    return {"total_W": power["total_W"], "by_block": power["by_block"], "conditions": conditions.label(),
            "inputs": "all 0, iref 1 unit, BMRU cells reset", "step_s": bench.plan.step}


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
