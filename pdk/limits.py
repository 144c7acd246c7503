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
