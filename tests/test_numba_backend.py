import numpy as np
import pytest
import torch

from fem_nn import Axis, Mesh, bias_mesh, uniform_axis, weight_mesh
from fem_nn import RateActivation
from fem_nn.continuum import ContinuumNetwork
from fem_nn.numba_backend import NumbaNetwork

WIDTHS = {
    "p0": Axis([-1, -0.3, 0.2, 1], "p0", 0, quadrature_points=2),
    "legendre": Axis([-1, 0.1, 1], "legendre", [3, 1]),
    "lagrange_dg": Axis([-1, -0.5, 0.5, 1], "lagrange_dg", [1, 2, 3]),
    "lagrange": uniform_axis((-1, 1), 3, "lagrange", 2),
}
DEPTHS = [uniform_axis((0, 1), 3, "p0", 0), Axis([0, 0.4, 1], "legendre", [2, 1]), uniform_axis((0, 1), 2, "lagrange", 1)]


@pytest.mark.parametrize("kernel_form", ["dense", "factored"])
@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("depth", range(len(DEPTHS)))
@pytest.mark.parametrize("rhs,activation", [("integral", "tanh"), ("relaxation", "sigmoid"), ("two_layer", "relu"), ("integral", "gelu"), ("integral", "softplus"), ("relaxation", "hardtanh")])
def test_numba_and_torch_agree(width, depth, rhs, activation, kernel_form):
    w, d = WIDTHS[width], DEPTHS[depth]
    net = ContinuumNetwork(weight_mesh(w, d), bias_mesh(w, d), rhs=rhs, activation=activation, scheme="rk4", steps=6,
                           output_mesh=Mesh([uniform_axis((-1, 1), 5, "p0", 0)]), rate=0.7, kernel_form=kernel_form,
                           dtype=torch.float64)
    generator = torch.Generator().manual_seed(len(width) + depth)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64))
    x = np.random.default_rng(depth).standard_normal((4, 11))
    expected = net(torch.as_tensor(x)).detach().numpy()
    assert np.max(np.abs(NumbaNetwork(net)(x) - expected)) <= 1e-10 * np.max(np.abs(expected))


def test_residual_mlp_through_numba():
    rng = np.random.default_rng(0)
    net = ContinuumNetwork.from_residual_mlp(rng.standard_normal((5, 8, 8)) / 3, rng.standard_normal((5, 8)), "tanh")
    x = rng.standard_normal((3, 8))
    assert np.allclose(NumbaNetwork(net)(x), net(torch.as_tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-14)


def test_numba_decides_depth_cells_as_torch_does():
    """Issue 12.1: at D = 5 and 15 steps the Numba plan reads the same cells as torch (one
    shared lookup), where a float comparison read the previous cell: euler is each block
    ``h + tanh(A h + c)`` as three steps of a third."""
    rng = np.random.default_rng(1)
    matrices, biases = rng.standard_normal((5, 6, 6)), rng.standard_normal((5, 6))
    net = ContinuumNetwork.from_residual_mlp(matrices, biases, "tanh")
    x = rng.standard_normal((3, 6))
    expected = x
    for a, c in zip(matrices, biases):
        for _ in range(3):
            expected = expected + np.tanh(expected @ a.T + c) / 3
    actual = NumbaNetwork(net.remanifested(steps=15))(x)
    assert np.max(np.abs(actual - expected)) <= 1e-12 * np.max(np.abs(expected))
    rk4 = net.remanifested(scheme="rk4", steps=15)
    with torch.no_grad():
        assert np.max(np.abs(NumbaNetwork(rk4)(x) - rk4(torch.as_tensor(x)).numpy())) <= 1e-12 * np.max(np.abs(expected))


def test_float32_snapshot_and_unsupported_activation():
    net = ContinuumNetwork(weight_mesh(), bias_mesh())
    x = np.ones((2, 8), dtype=np.float32)
    assert NumbaNetwork(net)(x).dtype == np.float32
    with pytest.raises(ValueError, match="named activations"):
        NumbaNetwork(ContinuumNetwork(weight_mesh(), bias_mesh(), activation=RateActivation("tanh", 0.5)))
    with pytest.raises(TypeError, match="ContinuumNetwork"):
        NumbaNetwork("net")


@pytest.mark.parametrize("kernel_form", ["dense", "factored"])
@pytest.mark.parametrize("scheme", ["euler", "midpoint", "heun", "ralston", "rk4_38"])
@pytest.mark.parametrize("rhs", ["integral", "relaxation", "two_layer"])
def test_every_scheme_agrees(scheme, rhs, kernel_form):
    # rk4_38 has stages fed by several slopes: every buffer and first-term case of the plan
    width, depth = uniform_axis((-1, 1), 3, "lagrange", 1), Axis([0, 0.3, 1], "lagrange", [2, 1])
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs=rhs, scheme=scheme,
                           steps=5, rate=0.7, kernel_form=kernel_form, dtype=torch.float64)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64))
    x = np.asfortranarray(np.random.default_rng(1).standard_normal((4, 9)).astype(np.float32))
    expected = net(torch.as_tensor(np.ascontiguousarray(x))).detach().numpy()
    assert np.max(np.abs(NumbaNetwork(net)(x) - expected)) <= 1e-12 * np.max(np.abs(expected))


def test_relaxation_at_rate_zero_keeps_the_state():
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), rhs="relaxation", rate=0.0,
                           dtype=torch.float64)
    x = np.random.default_rng(2).standard_normal((3, 8))
    assert np.array_equal(NumbaNetwork(net)(x), net(torch.as_tensor(x)).detach().numpy())


def test_snapshot_is_a_copy():
    """Training the network after the snapshot leaves the snapshot's outputs (lifting,
    projection and read-out included) unchanged."""
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), output_mesh=Mesh([uniform_axis((-1, 1), 3, "p0", 0)]),
                           channels=2, dtype=torch.float64)
    snapshot = NumbaNetwork(net)
    x = np.random.default_rng(0).standard_normal((2, 8))
    before = snapshot(x)
    with torch.no_grad():
        for tensor in [*net.parameters(), *net.buffers()]:
            if tensor.is_floating_point():
                tensor.add_(1.0)
    assert np.array_equal(snapshot(x), before)
