"""The resistor–diode monotone equilibrium network family (schema `mondeq-network/1`).

Pure software: the network file and its realizability rules (`network`), the reference
model with its implicit gradient (`model`), seeded random realizable networks
(`random_networks`) and a trainer that keeps networks realizable (`train`).
"""
