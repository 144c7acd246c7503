"""The resistor–diode monotone equilibrium network family (schema `mondeq-network/1`).

The network file and its realizability rules (`network`), the reference
model with its implicit gradient (`model`), seeded random realizable networks
(`random_networks`) and a trainer that keeps networks realizable (`train`).
"""

from flows.mondeq.family import FAMILY  # noqa: E402,F401  (what flows.families registers)
