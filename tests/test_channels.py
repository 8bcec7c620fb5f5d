"""Channels (issue 13.1): h(ξ, δ) ∈ R^C, W ∈ R^{C×C}, b ∈ R^C, lifting and projection,
against a hand-written einsum reference and through every operation of the toolkit."""

import numpy as np
import pytest
import torch

from fem_nn import (
    Axis, ContinuumNetwork, Mesh, NumbaNetwork, Schedule, Task, bias_mesh, elevated_network, load_checkpoint,
    refined_network, run_schedule, save_checkpoint, task_network, uniform_axis, weight_mesh,
)
from fem_nn.indicators import error_indicators
from fem_nn.mgopt import MGOpt
from fem_nn.tasks import TASKS, register_task
from fem_nn.transfer import MeshTransfer, transfer_optimizer

C, N_SAMPLES = 3, 11  # no node on a sample boundary: the "sample" read-in is unambiguous


def relative(a, b) -> float:
    return float((a - b).detach().abs().max() / b.detach().abs().max())


def network(width=None, depth=None, seed=0, **kwargs) -> ContinuumNetwork:
    width = uniform_axis((-1, 1), 3, "legendre", 2) if width is None else width
    depth = uniform_axis((0, 1), 2, "lagrange", 1) if depth is None else depth
    kwargs = {"channels": C, "dtype": torch.float64, **kwargs}
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), **kwargs)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * (0.3 if p.ndim > 3 else 0.5))
    return net


def inputs(batch=5) -> torch.Tensor:
    return torch.rand(batch, N_SAMPLES, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


# --- the hand-written reference ----------------------------------------------------------
def gauss_nodes(axis):
    """The Nyström nodes and weights: `quadrature_points` Gauss–Legendre points per cell."""
    t, w = np.polynomial.legendre.leggauss(axis.quadrature_points)
    a, b = axis.breakpoints[:-1, None], axis.breakpoints[1:, None]
    return ((a + b) / 2 + (b - a) / 2 * t).ravel(), ((b - a) / 2 * w).ravel()


def sampled(net, name, nodes, t):
    """W(ξ_q, ξ_r, t) ``(q, r, c, c')`` or b(ξ_q, t) ``(q, c)`` from the coefficients, by each
    axis' evaluation matrix (a continuous depth axis: no one-sided values to choose)."""
    u = getattr(net, name).detach().numpy()
    mesh = net.parameter_meshes()[name]
    width = [a.evaluation_matrix(nodes).toarray() for a in mesh.axes[:-1]]
    depth = mesh.axes[-1].evaluation_matrix(np.array([t])).toarray()[0]
    if len(width) == 2:
        return np.einsum("qi,rj,k,ijkcd->qrcd", *width, depth, u)
    return np.einsum("qi,k,ikc->qc", *width, depth, u)


def reference(net, x, rhs):
    """rk4 on the state ``(batch, nodes, C)`` with einsum over nodes and channels."""
    nodes, weights = gauss_nodes(net.weight_mesh.axes[1])
    assert np.allclose(nodes, net.nodes, rtol=0, atol=1e-14)
    cells = np.floor((nodes + 1) / 2 * x.shape[1]).astype(int)  # "sample": the input cell of each node
    h = np.einsum("bq,c->bqc", x.numpy()[:, cells], net.lifting.detach().numpy()[0, :, 0])

    def integral(layer, h, t):
        w, b = sampled(net, f"weight{layer}", nodes, t), sampled(net, f"bias{layer}", nodes, t)
        return b + np.einsum("qrcd,r,brd->bqc", w, weights, h)

    def f(t, h):
        if rhs == "integral":
            return np.tanh(integral("", h, t))
        if rhs == "relaxation":
            return 0.7 * (np.tanh(integral("", h, t)) - h)
        return integral(2, np.tanh(integral(1, h, t)), t)

    dt = 1.0 / net.steps
    for k in range(net.steps):
        t = k * dt
        k1 = f(t, h)
        k2 = f(t + dt / 2, h + dt / 2 * k1)
        k3 = f(t + dt / 2, h + dt / 2 * k2)
        k4 = f(t + dt, h + dt * k3)
        h = h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return torch.as_tensor(np.einsum("bqc,c->bq", h, net.projection.detach().numpy()[0, 0]))


@pytest.mark.parametrize("rhs", ["integral", "relaxation", "two_layer"])
@pytest.mark.parametrize("kernel_form", ["dense", "factored"])
def test_a_channel_network_is_the_einsum_reference(rhs, kernel_form):
    net = network(rhs=rhs, kernel_form=kernel_form, rate=0.7, steps=3)
    assert net.factored == (kernel_form == "factored")
    assert net.weight_mesh.shape + (C, C) == tuple(getattr(net, "weight" if rhs != "two_layer" else "weight2").shape)
    x = inputs()
    assert relative(net(x), reference(net, x, rhs)) < 1e-12


@pytest.mark.parametrize("width", [Axis(np.linspace(-1, 1, 4), "legendre", [1, 3, 2]), uniform_axis((-1, 1), 3, "lagrange", 2),
                                   uniform_axis((-1, 1), 5, "p0", 0), uniform_axis((-1, 1), 2, "lagrange", 1)])
def test_every_family_and_per_cell_orders_match_the_reference(width):
    for kernel_form in ("dense", "factored"):
        net = network(width, kernel_form=kernel_form, steps=2, seed=3)
        x = inputs()
        assert relative(net(x), reference(net, x, "integral")) < 1e-12


def test_one_channel_is_the_scalar_network_and_decoupled_channels_are_copies_of_it():
    width, depth = uniform_axis((-1, 1), 3, "legendre", 2), uniform_axis((0, 1), 2, "lagrange", 1)
    scalar = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs="two_layer", dtype=torch.float64)
    one = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs="two_layer", dtype=torch.float64,
                           channels=1)
    assert one.parameter_shapes() == scalar.parameter_shapes() and "channels" not in repr(one)
    for p, q in zip(scalar.parameters(), one.parameters(), strict=True):
        assert torch.equal(p, q)
    x = inputs()
    assert torch.equal(one(x), scalar(x))
    config = scalar.config()
    assert config.pop("channels") == 1  # a config written before channels: one channel
    assert torch.equal(ContinuumNetwork.from_config(config, scalar.state_dict())(x), scalar(x))
    # W ⊗ I and b ⊗ 1: every channel carries the scalar network's state
    eye = torch.eye(C, dtype=torch.float64)
    weights = {name: p.detach()[..., None, None] * eye if name.startswith("weight") else p.detach()[..., None].expand(*p.shape, C)
               for name, p in scalar.named_parameters()}
    weights["lifting"], weights["projection"] = np.ones((1, C, 1)), np.full((1, 1, C), 1.0 / C)
    for kernel_form in ("dense", "factored"):
        copies = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs="two_layer", dtype=torch.float64,
                                  channels=C, weights=weights, kernel_form=kernel_form)
        assert relative(copies(x), scalar(x)) < 1e-13
    # the indicators add the channel entries' energies: C copies of the weight and of the bias
    for axis in ("depth", "xi"):
        assert np.allclose(error_indicators(copies, axis), np.sqrt(C) * error_indicators(scalar, axis), rtol=1e-12)
        assert np.allclose(error_indicators(copies, axis, "smoothness"), error_indicators(scalar, axis, "smoothness"),
                           rtol=1e-12)


def test_nested_refinement_in_width_and_depth_leaves_the_outputs_unchanged():
    """Depth refinement (h and p) computes the same stages; width refinement (h and p) too
    where the width quadrature is exact: a linear flow (identity activation) of an input read
    by projection stays in the width space, and 3 Gauss points a cell integrate W h exactly."""
    output = Mesh([uniform_axis((-1, 1), 2, "p0", 0)])
    width = uniform_axis((-1, 1), 2, "legendre", 1)
    width = type(width)(width.breakpoints, width.family, width.orders, width.quadrature, 4)
    for activation, changes in (("tanh", [("depth", refined_network), ("depth", elevated_network)]),
                                ("identity", [("width", refined_network), ("width", elevated_network)])):
        net = network(width, uniform_axis((0, 1), 2, "p0", 0), output_mesh=output, read_in_form="projection",
                      activation=activation, steps=4, rhs="two_layer")
        x = inputs()
        for axis, change in changes:
            new = change(net, axis)
            assert new.parameter_meshes() != net.parameter_meshes() and new.lifting.shape == (1, C, 1)
            assert relative(new(x), net(x)) < 1e-12, (activation, axis, change.__name__)
        assert torch.equal(new.lifting, net.lifting) and torch.equal(new.projection, net.projection)


@pytest.mark.parametrize("kernel_form", ["dense", "factored"])
def test_numba_frozen_export_and_checkpoint_agree_with_torch(kernel_form, tmp_path):
    net = network(uniform_axis((-1, 1), 4, "lagrange", 1), uniform_axis((0, 1), 2, "p0", 0), rhs="two_layer",
                  kernel_form=kernel_form, steps=4, output_mesh=Mesh([uniform_axis((-1, 1), 3, "p0", 0)]))
    x = inputs()
    y = net(x).detach()
    assert relative(torch.as_tensor(NumbaNetwork(net)(x.numpy())), y) < 1e-10
    assert relative(net.frozen(N_SAMPLES)(x), y) < 1e-12
    assert relative(net.export(N_SAMPLES).module()(x), y) < 1e-12
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(x).square().mean().backward()
    adam.step()
    save_checkpoint(tmp_path / "net.safetensors", net, adam)
    copy, restored, _ = load_checkpoint(tmp_path / "net.safetensors")
    assert copy.channels == C and copy.config() == net.config() and torch.equal(copy(x), net(x))
    for p, q in zip(net.parameters(), copy.parameters(), strict=True):
        assert torch.equal(restored.state[q]["exp_avg"], adam.state[p]["exp_avg"])


def test_optimizer_state_moves_per_channel_and_mgopt_restricts_every_channel():
    net = network(rhs="two_layer", steps=2, depth=uniform_axis((0, 1), 2, "p0", 0))
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(inputs()).square().mean().backward()
    adam.step()
    fine = refined_network(net, "depth")
    moved = transfer_optimizer(adam, net, fine)
    for (name, p), q in zip(net.named_parameters(), fine.parameters(), strict=True):
        state, old = moved.state[q]["exp_avg"], adam.state[p]["exp_avg"]
        assert state.shape == q.shape
        if name in ("lifting", "projection"):  # a pointwise map is not moved
            assert torch.equal(state, old)
        else:  # each half of a P0 depth cell takes half the gradient, channel by channel
            depth = net.parameter_meshes()[name].dim - 1
            for half in (0, 1):
                assert torch.allclose(state.narrow(depth, half, 1) * 2, old.narrow(depth, 0, 1), rtol=1e-14, atol=0)
    # the transfers act on every channel as on a scalar field
    meshes = net.parameter_meshes()["weight1"], fine.parameter_meshes()["weight1"]
    u = net.weight1.detach()
    per_channel = torch.stack([MeshTransfer(meshes[1], meshes[0])(u[..., c, d]) for c in range(C) for d in range(C)], -1)
    assert torch.equal(MeshTransfer(meshes[1], meshes[0])(u), per_channel.reshape(*meshes[1].shape, C, C))
    x, y = inputs(8), torch.rand(8, len(net.nodes), dtype=torch.float64)

    def loss(level):
        return (level(x) - y).square().mean()

    mg = MGOpt([fine, net], loss, 0.5)
    losses = [loss(fine).item()] + [mg.cycle() for _ in range(2)]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))


@pytest.fixture
def toy_task():
    def make() -> Task:
        x = torch.rand(48, N_SAMPLES, generator=torch.Generator().manual_seed(2))
        y = 0.5 * x.roll(1, dims=1)
        return Task("toy_channels", "regression", x[:32], y[:32], x[32:], y[32:], N_SAMPLES)

    register_task("toy_channels", make)
    yield make()
    del TASKS["toy_channels"]


def test_a_schedule_with_channels_trains_and_checks_its_parameter_count(toy_task, tmp_path):
    data = {"task": "toy_channels", "network": {"width_cells": 2, "depth_cells": 1, "steps": 1, "channels": 2},
            "training": {"batch_size": 16, "learning_rate": 0.01, "manifestations": {"steps": [1]}},
            "phases": [{"phase": "train", "epochs": 1}, {"phase": "refine", "axis": "depth"}, {"phase": "train", "epochs": 1}]}
    result = run_schedule(Schedule.from_dict(data), tmp_path / "run", progress=False)
    net = result["network"]
    assert net.channels == 2 and net.weight1.shape == (4, 4, 3, 2, 2) and net.weight_mesh.axes[2].n_cells == 2
    losses = [row["loss"] for row in result["history"] if "loss" in row]
    assert len(losses) == 2 and losses[-1] < losses[0]
    loaded, _, _ = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    x = toy_task.x_test[:4]
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    with pytest.raises(ValueError, match="network.channels must be >= 1, got 0"):
        Schedule.from_dict({**data, "network": {**data["network"], "channels": 0}})
    with pytest.raises(ValueError, match=r"phases\[1\] \(refine\) would make 468 parameters per field pair"):
        # after the refinement: 4·4·3 weight dofs of 3² channel pairs, 4·3 bias dofs of 3 channels
        Schedule.from_dict({**data, "max_parameters": 400, "network": {**data["network"], "channels": 3}})
    assert task_network(toy_task, width_cells=2, channels=4).projection.shape == (1, 1, 4)


def test_bad_channels_are_refused_before_any_work():
    width, depth = uniform_axis((-1, 1), 2, "legendre", 1), uniform_axis((0, 1), 1, "p0", 0)
    for value, error, message in ((0, ValueError, "channels must be >= 1, got 0"),
                                  (2.0, TypeError, "channels must be an integer, got 2.0")):
        with pytest.raises(error, match=message):
            ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), channels=value)
    with pytest.raises(ValueError, match=r"weights\['weight'\] must have shape \(4, 4, 1, 2, 2\)"):
        ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), channels=2, weights={"weight": np.zeros((4, 4, 1))})


def test_both_kernel_forms_give_the_same_gradients_with_sparse_width_bases():
    width = uniform_axis((-1, 1), 64, "lagrange", 1)  # 128 nodes: the width bases are sparse
    gradients = []
    for kernel_form in ("dense", "factored"):
        net = network(width, rhs="two_layer", kernel_form=kernel_form)
        assert net.basis.matrix("xi").layout == torch.sparse_coo
        net(inputs(3)).square().sum().backward()
        gradients.append([p.grad for p in net.parameters()])
    for a, b in zip(*gradients, strict=True):
        assert relative(b, a) < 1e-12
