"""Python API for users who train an FQ-BMRU network in their own code (needs torch: the
`train` extra).

    from flows.bmru.api import BmruModel, LayerSpec, to_network_file
    model = BmruModel(2, [LayerSpec("dense", 4), LayerSpec("bmru", 2)])
    y = model(x)                  # (batch, time, 2): exact Heaviside forward, surrogate backward
    y = model(x, realised=True)   # forward on the values `bmru compile` realises
    to_network_file(model, "net.yaml", name="mine")   # bmru-network/1, validated

`network_from_arrays` (flows.bmru.network, no torch needed) builds a validated `Network`
from numpy arrays, for weights trained with any other framework. The layers, constraints and forward pass are those of
`bmru train` (flows.bmru.train); the realised grid is the compiled circuit's own
(flows.bmru.circuit.realised_network), so the model trains on exactly the ratios and bias-unit
counts the circuit will have.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from flows.bmru.mapping import MappingConfig
from flows.bmru.network import Network, network_from_arrays
from flows.bmru.train import FQNet, LayerSpec, Params, realised, run, write_network

__all__ = ["BmruModel", "LayerSpec", "network_from_arrays", "to_network_file"]

#: Unit current of a network file written without one (ARCHITECTURE §3: 1 nA).
DEFAULT_UNIT_CURRENT = 1e-9


class BmruModel(FQNet):
    """Dense and BMRU layers (`LayerSpec`s) as a torch module with realisable
    parametrisation: α, β_lo < β_hi stay in the cell's range by construction, weights and
    biases stay within the mirrors' range after `project()`."""

    def __init__(self, input_size: int, layers: Sequence[LayerSpec],
                 unit_current: float = DEFAULT_UNIT_CURRENT, mapping: MappingConfig | None = None):
        super().__init__(input_size, list(layers))
        self.unit_current, self.mapping = unit_current, mapping

    def network(self, name: str = "network", params: Params | None = None) -> Network:
        """The current parameters (or `params` of this model) as a validated `Network`."""
        layers = (params or self.params()).to_layer_dicts()
        return network_from_arrays(self.input_size, layers, name, self.unit_current)

    def realised_params(self) -> Params:
        """The parameters with their values replaced by what the compile mapping realises
        (weights k/M at the macro's one M, biases and α/β as bias-unit counts); gradients
        pass straight through."""
        return realised(self.params(), self.unit_current, config=self.mapping)

    def forward(self, x: torch.Tensor, liveness: list | None = None, round_weights: bool = False,
                realised: bool = False) -> torch.Tensor:
        """Outputs (batch, time, outputs) for inputs (batch, time, inputs), §3 semantics."""
        if realised:
            return run(self.realised_params(), x, liveness)
        return super().forward(x, liveness, round_weights)


def to_network_file(model: BmruModel, path: str | Path, name: str = "network",
                    overwrite: bool = False) -> Network:
    """Write `model` as a bmru-network/1 file (validated, atomically) that `bmru compile`
    takes; refuses to replace an existing file unless `overwrite`."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists; pass overwrite=True to replace it")
    return write_network(path, name, model.unit_current, model.params())
