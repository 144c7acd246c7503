"""Electrical limits the parameter mapping designs against (SKY130, weak inversion).

A learned parameter that needs a ratio or a current outside these limits cannot be built
reliably; the mapping rejects it at compile time instead of producing a wrong circuit.
"""
from __future__ import annotations

#: Largest number of identical unit devices on either side of one ratio (k/M or n/D):
#: beyond it a single mirror's layout and gate capacitance grow out of proportion to the
#: precision gained.
MAX_UNITS_PER_RATIO = 64

#: Smallest current (A) that a bias branch, or one unit device of a bias mirror, may carry:
#: the models leak about 1 pA at 85 °C, so 20 pA keeps leakage below 5 % of the signal.
MIN_BIAS_CURRENT = 20e-12

#: Largest current (A) in one branch: above ~50 nA the W/L ≈ 4/8 unit devices leave weak
#: inversion and identical-unit ratios stop being exact.
MAX_BRANCH_CURRENT = 50e-9

#: Temperatures (°C) a simulation may ask for. SkyWater's device pages for the 1.8 V FETs
#: state where the SPICE models are valid in voltage only (V_DS, V_GS 0 … 1.95 V; skywater-pdk
#: docs/rules/device-details/nfet_01v8); no temperature range is published with the open
#: models, so the project admits the industrial junction range −40 … 125 °C that its corners
#: bracket. Measured on this machine (tests/test_limits.py): the wheel's tt models still
#: evaluate at 200 °C, and at 250 °C BSIM4 stops with "Vsat at current temperature … is not
#: positive" — the failure a checked range turns into a one-line refusal.
TEMPERATURE_RANGE_C = (-40.0, 125.0)

#: Supply (V). The top is the +10 % corner of 1.8 V (1.98 V), 1.5 % above the 1.95 V up to
#: which SkyWater documents the 01v8 models; below 1.0 V a PMOS source (|Vth| ≈ 0.96 V)
#: stacked on an NMOS diode has no headroom left at all.
SUPPLY_RANGE_V = (1.0, 1.98)

#: Seeds: ngspice's `seed` option is a signed 32-bit integer.
SEED_RANGE = (0, 2**31 - 1)
