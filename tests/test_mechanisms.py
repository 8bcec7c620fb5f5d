"""Mechanisms that make a trained network a continuum: projection read-in, the recorded sample
count with explicit resampling, smooth initialization, the smoothness penalty."""

import numpy as np
import pytest
import torch

from fem_nn import ContinuumNetwork, Field, Mesh, bias_mesh, uniform_axis, weight_mesh
from fem_nn.continuum.initialization import _smooth_field
from fem_nn.refinement import elevated_network, refined_network
from fem_nn.regularization import SmoothnessPenalty, seminorm_matrix
from fem_nn.tasks import Task, digits_task, task_network
from fem_nn.trainer import Trainer


def network(cells=4, order=3, read_in_form="projection", n_samples=None, init="noise", depth_cells=2):
    width, depth = uniform_axis((-1, 1), cells, "legendre", order), uniform_axis((0, 1), depth_cells, "lagrange", 1)
    return ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), read_in_form=read_in_form,
                            n_samples=n_samples, init=init, dtype=torch.float64)


@pytest.fixture(scope="module")
def small_digits():
    full = digits_task()
    return Task("digits", "classification", full.x_train[:256], full.y_train[:256], full.x_test[:128], full.y_test[:128], 10, 2.0)


def test_projection_read_in_is_exact_on_the_width_space_and_reads_every_sample():
    # P0 on 8 cells lies in Legendre p1 on 8 cells: the projection is the input itself
    net = network(cells=8, order=1)
    x = torch.rand(3, 8, dtype=torch.float64)
    cells = np.floor((net.nodes + 1) * 4).astype(int)
    assert torch.allclose(net.read_in(x), x[:, cells], rtol=0, atol=1e-13)
    # 4 cells of 2 Gauss nodes and 32 samples: point sampling never reads 24 of the samples
    coarse, sampled = network(cells=4, order=1), network(cells=4, order=1, read_in_form="sample")
    unread = [k for k in range(32) if torch.equal(sampled.read_in(torch.eye(32, dtype=torch.float64)[k : k + 1]), torch.zeros(1, 8, dtype=torch.float64))]
    assert len(unread) == 24
    assert (coarse.read_in(torch.eye(32, dtype=torch.float64)).abs().sum(1) > 0.01).all()
    # the mean is kept: ∫ of the projection = ∫ of the P0 signal (constants are in the space)
    x = torch.rand(2, 32, dtype=torch.float64)
    assert torch.allclose(coarse.read_in(x) @ coarse.node_weights, x.sum(1) * 2 / 32, rtol=1e-12)


@pytest.mark.parametrize("change", ["quadrature", "bisect", "elevate"])
def test_projection_read_in_makes_the_first_integral_invariant_under_width_changes(change):
    """∫ W h0 dη at the nodes, read by the projection: identical (to round-off) as a field in
    ξ after refinement, elevation or more quadrature points, where point sampling is not."""
    results = {}
    for form in ("projection", "sample"):
        net = network(read_in_form=form, init="smooth")
        other = {"quadrature": lambda n: n.remanifested(quadrature_points=6), "bisect": lambda n: refined_network(n, "width"),
                 "elevate": lambda n: elevated_network(n, "width", by=1)}[change](net)
        x = torch.rand(4, 24, dtype=torch.float64)
        values = []
        for n in (net, other):
            # K(δ=0) h0 at the nodes: a degree-p polynomial per cell in ξ, compared at fixed points
            kernel = n.basis.kernels(n.weight.detach())[0]
            integral = kernel @ n.read_in(x).T
            nodes = n.nodes
            width = n.weight_mesh.axes[0]
            # fit the polynomial per cell from the node values (Nyström interpolation is exact on it)
            values.append(_at_points(width, nodes, integral.numpy(), np.linspace(-0.97, 0.97, 11)))
        results[form] = np.abs(values[0] - values[1]).max() / np.abs(values[0]).max()
    assert results["projection"] < 1e-12
    assert results["sample"] > 1e-3


def _at_points(axis, nodes, values, points):
    """The polynomial per cell of `axis` that interpolates `values` at `nodes`, at `points`."""
    matrix = axis.evaluation_matrix(nodes).toarray()
    coefficients = np.linalg.lstsq(matrix, values, rcond=None)[0]
    return axis.evaluation_matrix(points).toarray() @ coefficients


def test_after_training_projection_read_in_keeps_the_output_under_one_more_quadrature_point(small_digits):
    """The effect after a short training: the read-out change under +1 Gauss point per width cell
    (and under width bisection) is many times smaller with the projection read-in."""
    change = {}
    for form in ("sample", "projection"):
        torch.manual_seed(0)
        net = task_network(small_digits, width_cells=4, width_order=3, depth_cells=1, steps=2, read_in_form=form)
        Trainer(net, small_digits, progress=False).fit(3)
        with torch.no_grad():
            y = net(small_digits.x_test)
            more = net.remanifested(quadrature_points=5)(small_digits.x_test)
            bisected = refined_network(net, "width")(small_digits.x_test)
        change[form] = (float((more - y).norm() / y.norm()), float((bisected - y).norm() / y.norm()))
    assert change["projection"][0] < 0.1 * change["sample"][0]  # measured 0.048 against 1.27
    assert change["projection"][1] < 0.5 * change["sample"][1]  # measured 0.15 against 0.67


@pytest.mark.parametrize("form", ["projection", "sample"])
def test_other_sample_counts_are_refused_unless_resampled_by_projection(form):
    net = network(read_in_form=form, n_samples=16)
    x = torch.rand(3, 16, dtype=torch.float64)
    for count in (15, 17, 32, 1):
        with pytest.raises(ValueError, match=f"x has {count} samples per signal, but this network reads 16.*resample=True"):
            net(torch.rand(2, count, dtype=torch.float64))
        with pytest.raises(ValueError, match="reads 16"):
            net.frozen(count)
    # a finer P0 signal of the same function resamples to the same output
    fine = x.repeat_interleave(4, dim=1)
    assert torch.allclose(net(fine, resample=True), net(x), rtol=1e-12, atol=1e-13)
    assert torch.allclose(net.frozen(64, resample=True)(fine), net(x), rtol=1e-12, atol=1e-13)
    assert torch.allclose(net.frozen(16)(x), net(x), rtol=1e-12, atol=1e-13)
    # a coarser one is read by the projection: its mean over each of its cells is kept
    coarse = torch.rand(2, 5, dtype=torch.float64)
    assert net(coarse, resample=True).shape == (2, net.nodes.size)


def test_new_options_survive_config_and_old_configs_keep_the_old_behaviour():
    net = network(read_in_form="projection", n_samples=24, init="smooth")
    config = net.config()
    assert (config["read_in_form"], config["n_samples"], config["init"]) == ("projection", 24, "smooth")
    copy = ContinuumNetwork.from_config(config, net.state_dict())
    x = torch.rand(2, 24, dtype=torch.float64)
    assert torch.equal(copy(x), net(x))
    for key in ("read_in_form", "n_samples", "init"):
        del config[key]
    old = ContinuumNetwork.from_config(config, net.state_dict())
    assert (old.read_in_form.name, old.n_samples, old.init.value) == ("sample", None, "noise")
    x7 = torch.rand(2, 7, dtype=torch.float64)  # any count, read by point sampling
    assert torch.equal(old.read_in(x7), x7[:, np.floor((old.nodes + 1) * 3.5).astype(int)])
    with pytest.raises(ValueError, match="read_in_form must be one of"):
        network(read_in_form="pointwise")
    with pytest.raises(ValueError, match="init must be one of"):
        network(init="zeros")


def test_smooth_initialization_is_one_function_with_a_resolution_independent_norm():
    coarse, fine = network(cells=2, order=5, init="smooth"), network(cells=8, order=5, init="smooth")
    points = np.random.default_rng(1).uniform([-1, -1, 0], [1, 1, 1], (50, 3))
    a = Field(coarse.weight_mesh, coarse.weight.detach().numpy()).evaluate(points)
    b = Field(fine.weight_mesh, fine.weight.detach().numpy()).evaluate(points)
    assert np.abs(a - b).max() < 1e-12 * np.abs(a).max()  # degree-5 modes: in both spaces
    norms = []
    for cells in (16, 32, 64):  # meshes that resolve the modes: the operator, not the mesh, sets the norm
        net = network(cells=cells, order=1, init="smooth")
        norms.append(float(torch.linalg.matrix_norm(net.basis.kernels(net.weight.detach())[0], ord=2)))
    assert max(norms) < 1.01 * min(norms)  # measured 0.9088, 0.9101, 0.9105


def test_seminorm_is_the_h1_seminorm_for_smooth_fields_and_penalizes_jumps():
    # u = x on [-1, 1]: |u|² = 2, on any mesh and family that holds it
    for axis in (uniform_axis((-1, 1), 3, "legendre", 1), uniform_axis((-1, 1), 5, "lagrange", 2)):
        u = Field.from_function(Mesh([axis]), lambda x: x).coefficients
        assert u @ seminorm_matrix(axis) @ u == pytest.approx(2.0, rel=1e-12)
    # a periodic Fourier axis: cos kπx and sin kπx have |u|² = (kπ)², the modes orthogonal
    fourier = seminorm_matrix(uniform_axis((-1, 1), 1, "fourier", 4))
    np.testing.assert_allclose(fourier, np.diag([0.0, 1, 1, 4, 4]) * np.pi**2, rtol=1e-12, atol=1e-12)
    # a unit jump between cells of width h costs 1/h
    p0 = uniform_axis((0, 1), 8, "p0", 0)
    step = (np.arange(8) >= 3).astype(float)
    assert step @ seminorm_matrix(p0) @ step == pytest.approx(8.0, rel=1e-12)
    # W = ξ + 2η + 3δ, b = ξ + δ: (1 + 4 + 9) · |box| + (1 + 1) · |box|
    net = network(cells=3, order=1)
    with torch.no_grad():
        net.weight.copy_(torch.as_tensor(Field.from_function(net.weight_mesh, lambda x, y, z: x + 2 * y + 3 * z).coefficients))
        net.bias.copy_(torch.as_tensor(Field.from_function(net.bias_mesh, lambda x, z: x + z).coefficients))
    assert float(SmoothnessPenalty(0.5)(net).detach()) == pytest.approx(0.5 * (14 * 4 + 2 * 2), rel=1e-10)
    # mesh-independent for a smooth field: converged values on 4 and 16 cells agree
    values = []
    for cells in (4, 16):
        axis = uniform_axis((-1, 1), cells, "legendre", 2)
        u = Field.from_function(Mesh([axis]), np.sin).coefficients
        values.append(u @ seminorm_matrix(axis) @ u)
    exact = 1 + np.sin(2) / 2  # ∫ cos² over [-1, 1]
    assert abs(values[1] - exact) < 0.1 * abs(values[0] - exact) + 1e-12


@pytest.fixture(scope="module")
def small_burgers():
    from fem_nn.tasks import burgers_task

    return burgers_task(n_train=64, n_test=32, cells=32)


def _trained_burgers(task, quadrature_points=None, manifestations=None):
    torch.manual_seed(0)
    net = task_network(task, width_cells=4, width_order=3, depth_cells=2, steps=2, quadrature_points=quadrature_points)
    Trainer(net, task, "adam", 0.3, 0.0, progress=False, manifestations=manifestations).fit(30, lr_schedule="cosine")
    return net


def _change(task, net, other) -> float:
    with torch.no_grad():
        y = net(task.x_test)
        return float((other(task.x_test) - y).norm() / y.norm())


def test_after_training_over_integration_keeps_the_output_under_one_more_quadrature_point(small_burgers):
    """Cubic width cells with 7 Gauss points (2p + 1) instead of 4: the node values of W are no
    longer free, and after training one more point changes the output several times less."""
    change = {}
    for points in (4, 7):
        net = _trained_burgers(small_burgers, quadrature_points=points)
        change[points] = _change(small_burgers, net, net.remanifested(quadrature_points=points + 1))
    assert change[7] < 0.3 * change[4]  # measured 0.014 against 0.107


def test_after_training_manifestation_sampling_keeps_the_output_under_other_schemes_and_steps(small_burgers):
    """Trained in draws of 1 or 2 times the steps and of rk4, rk4_38 and midpoint: the output of
    rk4_38 and of midpoint at twice the steps stays closer to the trained manifestation's."""
    change = {}
    for sampled in (False, True):
        m = {"steps": [1, 2], "schemes": ["rk4", "rk4_38", "midpoint"]} if sampled else None
        net = _trained_burgers(small_burgers, manifestations=m)
        change[sampled] = max(_change(small_burgers, net, net.remanifested("rk4_38")),
                              _change(small_burgers, net, net.remanifested("midpoint", 4)))
    assert change[True] < 0.6 * change[False]  # measured 0.061 against 0.151


def test_a_task_network_refuses_other_sample_counts_and_frozen_too(small_digits):
    """Issue 12 item 9: a digits network (64 samples) given 63, 65, 32 or 1 samples ran and lost
    25–85 points; frozen(63) raised IndexError and frozen(65) was accepted."""
    net = task_network(small_digits, width_cells=4, width_order=1)
    assert net.n_samples == 64 and net.config()["n_samples"] == 64
    for count in (63, 65, 32, 1):
        with pytest.raises(ValueError, match=f"x has {count} samples per signal, but this network reads 64"):
            net(torch.rand(2, count))
        with pytest.raises(ValueError, match="reads 64"):
            net.frozen(count)
        assert net.frozen(count, resample=True)(torch.rand(2, count)).shape == (2, 10)
