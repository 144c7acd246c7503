"""Parameterized SKY130 circuit cells: one module per cell."""
