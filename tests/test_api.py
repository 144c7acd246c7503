"""The Python API for users who train elsewhere: a torch model trained in user code,
written as a network file that compiles, and networks built from numpy arrays."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from flows.bmru import train  # noqa: E402
from flows.bmru.api import BmruModel, LayerSpec, network_from_arrays, to_network_file  # noqa: E402
from flows.compile import CompileOptions, compile_network  # noqa: E402
from flows.bmru.circuit import realised_network  # noqa: E402
from flows.bmru.model import run_network  # noqa: E402
from flows.errors import InputError  # noqa: E402


def _trained_flipflop() -> tuple[BmruModel, np.ndarray, np.ndarray]:
    """A user's own loop: plain Adam, the realised grid in the last third of the steps."""
    train.setup_determinism(0)
    x, labels = train.flipflop_data(np.random.default_rng(0), 128, 20)
    model = BmruModel(2, [LayerSpec("dense", 4), LayerSpec("bmru", 1), LayerSpec("dense", 2, activation="none")])
    model.init_from_data(x)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.03)
    xt, lt = torch.from_numpy(x), torch.from_numpy(labels)
    for step in range(200):
        liveness = []   # keeps the state unit switching both ways (flows.bmru.train)
        y = model(xt, liveness, realised=step >= 133)
        loss = torch.nn.functional.cross_entropy(y.reshape(-1, 2), lt.reshape(-1)) + sum(liveness)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        model.project()
    return model, x, labels


@pytest.mark.klayout
def test_a_network_trained_with_the_api_compiles_clean_and_computes_its_realised_forward(tmp_path):
    model, x, labels = _trained_flipflop()
    with torch.no_grad():
        realised = model(torch.from_numpy(x), realised=True).numpy()
    # it learned the task on the grid: always answering the majority label scores 0.56
    # (0.786 on the compile's one M = 23; 0.80 when the grid was each layer's own M, 27/32/9)
    assert (realised.argmax(-1) == labels).mean() >= 0.75
    path = tmp_path / "mine.yaml"
    network = to_network_file(model, path, name="mine")
    with pytest.raises(FileExistsError, match="mine.yaml: exists"):
        to_network_file(model, path, name="mine")
    # the realised forward is the mapped model bmru compile builds, to float32 precision
    mapped = run_network(realised_network(network), x[0].astype(float)).output
    np.testing.assert_allclose(realised[0], mapped, atol=1e-5)
    out = tmp_path / "build"
    out.mkdir()
    manifest = compile_network(path, out, CompileOptions())   # raises CheckFailed unless clean
    assert manifest["checks"]["drc_own"]["clean"] and manifest["checks"]["lvs"]["clean"]


def test_network_from_arrays_validates_like_a_file():
    weight = np.array([[0.5, -0.25]])
    net = network_from_arrays(2, [{"kind": "dense", "weight": weight, "bias": np.array([0.1]),
                                   "activation": "relu"}], name="tiny")
    np.testing.assert_array_equal(net.layers[0].weight, weight)
    with pytest.raises(InputError, match=r"layers\[0\]\.weight"):
        network_from_arrays(2, [{"kind": "dense", "weight": np.ones((1, 3)), "bias": [0.0]}])
