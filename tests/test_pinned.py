"""Outputs pinned to round-off: fixed seeded networks, their refinements and a short seeded
training run, against values saved before the network layer was restructured (issue 17).

On the machine that wrote them the values are reproduced bit for bit; across CPUs numpy's
OpenBLAS picks its kernels by the core type (``OPENBLAS_CORETYPE``: an AMD Zen core and an
Intel SkylakeX core differ in the last bit of some products, and the SkylakeX kernels
reproduce the saved file on AMD EPYC), so the comparison allows :data:`ULPS` units in the
last place of each array's scale. A change of the arithmetic that matters (a float32
projection, a copy through another dtype, another formula) still shows, as differences of
1e-8 and more. Regenerate only for a change that is meant to alter results:
``python tests/test_pinned.py --write``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fem_nn import (
    Axis, ContinuumNetwork, Manifestations, NumbaNetwork, Task, Trainer, bias_mesh, coarsened_network,
    elevated_network, refined_network, signal_mesh, transfer_optimizer, uniform_axis, weight_mesh,
)
from fem_nn._threads import steady_threads
from fem_nn.training import projected_depth, projected_width

PINNED = Path(__file__).parent / "data" / "pinned_values.npz"
ULPS = 4  # round-off allowed, in units in the last place of an array's largest entry (see above)


def _networks() -> dict[str, ContinuumNetwork]:
    width = uniform_axis((-1, 1), 4, "legendre", 2)
    depth = uniform_axis((0, 1), 3, "lagrange", 1)
    lobatto = Axis(width.breakpoints, "lagrange_dg", 1, "gauss_lobatto", 3)
    p0_depth = uniform_axis((0, 1), 2, "p0", 0)
    return {
        "integral": ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), scheme="rk4", steps=6,
                                     output_mesh=signal_mesh(uniform_axis((-1, 1), 5, "p0", 0)), dtype=torch.float64),
        "relaxation": ContinuumNetwork(weight_mesh(lobatto, p0_depth), bias_mesh(lobatto, p0_depth), rhs="relaxation",
                                       rate=1.5, activation="gelu", scheme="heun", steps=4, read_in_form="projection",
                                       init="smooth", dtype=torch.float64),
        "two_layer": ContinuumNetwork(weight_mesh(width, p0_depth), bias_mesh(width, p0_depth), rhs="two_layer",
                                      scheme="midpoint", steps=2, output_mesh=np.linspace(-0.9, 0.9, 7), dtype=torch.float64),
        "float32": ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), steps=3),
    }


def _task() -> Task:
    generator = torch.Generator().manual_seed(3)
    x = torch.rand(48, 16, generator=generator, dtype=torch.float64)
    y = torch.tanh(x.flip(1) - 0.5)
    return Task("pinned", "regression", x[:32], y[:32], x[32:], y[32:], output_cells=16)


def pinned_values() -> dict[str, np.ndarray]:
    """Every pinned array, computed by the library as it is now."""
    values = {}
    x = torch.rand(5, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with steady_threads(1), torch.no_grad():
        for name, net in _networks().items():
            inputs = x.to(net.node_weights.dtype)
            values[f"{name}/output"] = net(inputs).double().numpy()
            values[f"{name}/frozen"] = net.frozen(16)(inputs).double().numpy()
            variants = {
                "refined_width": refined_network(net, "width"),
                "refined_depth": refined_network(net, "depth", steps="double"),
                "coarsened_width": coarsened_network(net, "width"),
                "elevated_width": elevated_network(net, "width"),
                "projected_width": projected_width(net, 3, 1),
                "projected_depth": projected_depth(net, 5, 5, "rk4_38"),
                "remanifested": net.remanifested(scheme="ralston", steps=7, quadrature_points=4),
            }
            for variant, refined in variants.items():
                values[f"{name}/{variant}"] = refined(inputs).double().numpy()
                values[f"{name}/{variant}/weight"] = next(refined.parameters()).detach().double().numpy()
        values["integral/numba"] = NumbaNetwork(_networks()["integral"])(x.numpy())
    with steady_threads(1):
        task = _task()
        width, depth = uniform_axis((-1, 1), 4, "legendre", 1), uniform_axis((0, 1), 2, "p0", 0)
        net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), output_mesh=signal_mesh(uniform_axis((-1, 1), 16, "p0", 0)),
                               read_in_form="projection", dtype=torch.float64)
        trainer = Trainer(net, task, batch_size=8, progress=False,
                          manifestations=Manifestations(steps=(1, 2), schemes=("rk4", "midpoint")))
        trainer.fit(2)
        fine = refined_network(trainer.network, "width")
        trainer.replace(fine, transfer_optimizer(trainer.optimizer, trainer.network, fine))
        trainer.fit(1)
        for name, parameter in trainer.network.named_parameters():
            values[f"trained/{name}"] = parameter.detach().numpy()
        values["trained/loss"] = np.array([row["loss"] for row in trainer.history if "loss" in row])
    return values


@pytest.fixture(scope="module")
def computed():
    return pinned_values()


def _within_round_off(saved: np.ndarray, computed: np.ndarray) -> bool:
    scale = float(np.abs(saved).max()) if saved.size else 0.0
    return saved.shape == computed.shape and bool(
        np.all(np.abs(saved - computed) <= ULPS * np.spacing(scale)))


def test_pinned_values_are_reproduced_to_round_off(computed):
    saved = np.load(PINNED)
    assert sorted(saved.files) == sorted(computed)
    differing = [key for key in saved.files if not _within_round_off(saved[key], computed[key])]
    assert not differing, f"changed values in {differing}"


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    PINNED.parent.mkdir(exist_ok=True)
    np.savez_compressed(PINNED, **pinned_values())
    print(f"wrote {PINNED}")
