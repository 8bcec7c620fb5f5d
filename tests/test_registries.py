"""A toy right-hand side and a toy read-in, registered from here (no library file touched),
run through torch, Numba, freeze and export, refinement, a checkpoint and a schedule."""

import numpy as np
import pytest
import torch

from fem_nn import (
    ContinuumNetwork, NumbaNetwork, Schedule, Task, bias_mesh, load_checkpoint, refined_network, run_schedule, save_checkpoint,
    uniform_axis, weight_mesh,
)
from fem_nn.activations import apply_in_place
from fem_nn.continuum import ReadInForm, RightHandSide, read_ins, right_hand_sides
from fem_nn.tasks import TASKS, register_task

RTOL = 1e-12


class Damped(RightHandSide):
    """γ(∫ W h + b) − rate · h."""

    name = "toy_damped"
    rated = True

    def slope(self, h, layers, integral, activation, rate):
        ((kernel, bias),) = layers
        return apply_in_place(activation, integral(kernel, h, bias)) - rate * h

    def numpy_slope(self, h, layers, integral, activate, rate, out, hidden):
        ((kernel, bias),) = layers
        activate(integral(kernel, h, bias, out))
        out -= rate * h
        return out


class Linear(ReadInForm):
    """The piecewise-linear interpolant of the samples at their cells' midpoints."""

    name = "toy_linear"

    def operator(self, basis, n_samples):
        midpoints = -1.0 + (2 * np.arange(n_samples) + 1) / n_samples
        return np.stack([np.interp(basis.nodes, midpoints, e) for e in np.eye(n_samples)], axis=1)


DAMPED, LINEAR = right_hand_sides.register(Damped()), read_ins.register(Linear())
N_SAMPLES = 12


def toy_network(depth_cells=2, **kwargs) -> ContinuumNetwork:
    width, depth = uniform_axis((-1, 1), 4, "lagrange", 1), uniform_axis((0, 1), depth_cells, "p0", 0)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs="toy_damped", read_in_form="toy_linear",
                           rate=0.6, scheme="rk4", dtype=torch.float64, **kwargs)
    with torch.no_grad():
        net.bias.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(0))
    return net


def inputs() -> torch.Tensor:
    return torch.rand(5, N_SAMPLES, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def reference(net: ContinuumNetwork, x: torch.Tensor) -> torch.Tensor:
    """The toy network by hand: kernel matrices from the meshes' evaluation matrices, the
    read-in by np.interp, one rk4 step per P0 depth cell."""
    xi, eta, depth = net.weight_mesh.axes
    nodes, weights = eta.quadrature_on_cells()
    nodes, weights = nodes.ravel(), weights.ravel()
    phi_xi, phi_eta = xi.evaluation_matrix(nodes).toarray(), eta.evaluation_matrix(nodes).toarray()
    phi_bias = net.bias_mesh.axes[0].evaluation_matrix(nodes).toarray()
    u, b = net.weight.detach().numpy(), net.bias.detach().numpy()
    midpoints = -1.0 + (2 * np.arange(x.shape[1]) + 1) / x.shape[1]
    h = torch.as_tensor(np.stack([np.interp(nodes, midpoints, row) for row in x.numpy()]))
    dt = 1.0 / depth.n_cells
    for k in range(depth.n_cells):
        kernel = torch.as_tensor(phi_xi @ u[:, :, k] @ phi_eta.T * weights)
        bias = torch.as_tensor(phi_bias @ b[:, k])

        def f(state):
            return torch.tanh(state @ kernel.T + bias) - 0.6 * state

        k1 = f(h)
        k2 = f(h + dt / 2 * k1)
        k3 = f(h + dt / 2 * k2)
        k4 = f(h + dt * k3)
        h = h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return h


def close(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) <= RTOL * np.max(np.abs(b))


@pytest.mark.parametrize("kernel_form", ["dense", "factored"])
def test_toy_forms_in_torch_match_a_hand_written_reference(kernel_form):
    net, x = toy_network(kernel_form=kernel_form), inputs()
    assert net.rhs is DAMPED and net.read_in_form is LINEAR and "rate=0.6" in repr(net)
    with torch.no_grad():
        assert close(net(x), reference(net, x))


def test_toy_forms_in_numba_frozen_and_export_match_torch():
    net, x = toy_network(), inputs()
    with torch.no_grad():
        expected = net(x)
        assert close(NumbaNetwork(net)(x.numpy()), expected)
        assert close(net.frozen(N_SAMPLES)(x), expected)
        assert close(net.export(N_SAMPLES).module()(x), expected)
        euler = net.remanifested(scheme="euler", steps=4)  # one residual block h + Δ f(h) per step
        assert close(euler.export_resnet(N_SAMPLES).module()(x), euler(x))


def test_toy_forms_survive_refinement():
    net, x = toy_network(), inputs()
    with torch.no_grad():
        deeper = refined_network(net, "depth")  # nested, steps kept: the same stage fields
        assert close(deeper(x), net(x))
        wider = refined_network(net, "width")
        assert wider.rhs is DAMPED and wider.read_in_form is LINEAR
        assert close(wider(x), reference(wider, x))


def test_toy_forms_round_trip_through_a_checkpoint(tmp_path):
    net, x = toy_network(), inputs()
    save_checkpoint(tmp_path / "toy.safetensors", net)
    loaded, _, _ = load_checkpoint(tmp_path / "toy.safetensors")
    assert loaded.rhs is DAMPED and loaded.read_in_form is LINEAR and loaded.config() == net.config()
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))


def test_unknown_and_taken_names_fail_loudly():
    with pytest.raises(ValueError, match=r"rhs must be one of \[.*'toy_damped'.*\], got 'toy_gated'"):
        ContinuumNetwork(weight_mesh(), bias_mesh(), rhs="toy_gated")
    with pytest.raises(ValueError, match=r"read_in_form must be one of \[.*'toy_linear'.*\], got 'toy_cubic'"):
        ContinuumNetwork(weight_mesh(), bias_mesh(), read_in_form="toy_cubic")
    config = {**toy_network().config(), "rhs": "toy_unregistered"}
    with pytest.raises(ValueError, match="rhs must be one of"):
        ContinuumNetwork.from_config(config)
    with pytest.raises(ValueError, match="'toy_damped' is registered already"):
        right_hand_sides.register(Damped())
    with pytest.raises(TypeError, match="must be a RightHandSide"):
        right_hand_sides.register(Linear())
    assert right_hand_sides.register(DAMPED) is DAMPED  # the same object again: a no-op


@pytest.fixture
def toy_task():
    def make() -> Task:
        x = torch.rand(48, N_SAMPLES, generator=torch.Generator().manual_seed(2))
        y = 0.5 * x.roll(1, dims=1)
        return Task("toy_shift", "regression", x[:32], y[:32], x[32:], y[32:], N_SAMPLES)

    register_task("toy_shift", make)
    yield
    del TASKS["toy_shift"]


def test_toy_forms_train_through_a_schedule(toy_task, tmp_path):
    network = {"width_cells": 2, "depth_cells": 1, "steps": 2, "rhs": "toy_damped", "read_in_form": "toy_linear"}
    phases = [{"phase": "train", "epochs": 2}, {"phase": "refine", "axis": "width"}, {"phase": "train", "epochs": 2}]
    data = {"task": "toy_shift", "network": network, "phases": phases,
            "training": {"batch_size": 16, "learning_rate": 0.01, "manifestations": {"steps": [1, 2]}}}
    result = run_schedule(Schedule.from_dict(data), tmp_path / "run", progress=False)
    net = result["network"]
    assert net.rhs is DAMPED and net.read_in_form is LINEAR and net.weight_mesh.axes[0].n_cells == 4
    losses = [row["loss"] for row in result["history"] if "loss" in row]
    assert len(losses) == 4 and losses[-1] < losses[0]
    loaded, _, _ = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    with torch.no_grad():
        assert torch.equal(loaded(inputs().float()), net(inputs().float()))
    for key, name in (("rhs", "toy_gated"), ("read_in_form", "toy_cubic")):
        with pytest.raises(ValueError, match=rf"network\.{key} must be one of \[.*'toy_.*\], got '{name}'"):
            Schedule.from_dict({**data, "network": {**network, key: name}})
