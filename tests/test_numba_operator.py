"""The Numba backend of the operator network and the numpy twins of its kernels, against
the torch layers (float64)."""

import numpy as np
import pytest
import torch

from fem_nn import Axis, uniform_axis
from fem_nn.convolution import LocalKernel, SpectralKernel
from fem_nn.numba_operator import NumbaOperatorNetwork
from fem_nn.operator_network import OperatorNetwork

DEPTHS = {
    "p0": uniform_axis((0, 1), 3, "p0", 0),
    "legendre": Axis([0, 0.4, 1], "legendre", [2, 1]),
    "lagrange": uniform_axis((0, 1), 2, "lagrange", 1),
}


def _relative(actual, expected):
    return np.max(np.abs(actual - expected)) / np.max(np.abs(expected))


@pytest.mark.parametrize("boundary", ["zero", "periodic", "reflect"])
@pytest.mark.parametrize("width", [uniform_axis((-1, 1), 24, "p0", 0), uniform_axis((-1, 1), 7, "legendre", 2)])
def test_local_kernel_numpy_twin(boundary, width):
    """One and three rule points per cell, every boundary, an axis of P2 cells."""
    kernel = LocalKernel(uniform_axis((-0.3, 0.3), 3, "legendre", 2), 3, 2, boundary=boundary)
    h = torch.randn(5, 3, width.n_cells * width.quadrature_points, dtype=torch.float64)
    expected = kernel(h, width).detach().numpy()
    actual = kernel.numpy_apply(kernel.coefficients.detach().numpy(), h.numpy(), kernel.numpy_plan(width))
    assert _relative(actual, expected) <= 1e-12


def test_local_kernel_numpy_twin_refuses_graded_cells():
    kernel = LocalKernel(uniform_axis((-0.3, 0.3), 1, "legendre", 1), 1, 1)
    with pytest.raises(ValueError, match="equal cells"):
        kernel.numpy_plan(Axis([-1, 0.2, 1], "p0", 0))


@pytest.mark.parametrize("n", [6, 32, 33])  # 6 < 2·modes: torch's dense path; 32: its rfft; 33: odd
def test_spectral_kernel_numpy_twin(n):
    kernel = SpectralKernel(3, 4, modes=4)
    width = uniform_axis((-1, 1), n, "p0", 0)
    h = torch.randn(2, 3, n, dtype=torch.float64)
    expected = kernel(h, width).detach().numpy()
    actual = kernel.numpy_apply(kernel.coefficients.detach().numpy(), h.numpy(), kernel.numpy_plan(width))
    assert _relative(actual, expected) <= 1e-12


@pytest.mark.parametrize("kernel", ["local", "spectral"])
@pytest.mark.parametrize("depth", list(DEPTHS))
@pytest.mark.parametrize("scheme,steps", [("rk4", 3), ("heun", 5), ("euler", 4)])
def test_numba_and_torch_agree(kernel, depth, scheme, steps):
    net = OperatorNetwork(channels=5, modes=4, kernel=kernel, radius=0.3, depth=DEPTHS[depth], scheme=scheme,
                          steps=steps, projection_channels=7, dtype=torch.float64, seed=len(depth) + steps)
    net.block = net.block.replaced(rate=0.8)
    snapshot = NumbaOperatorNetwork(net)
    for n in (6, 32, 64):  # any sample count, as the torch network
        x = np.random.default_rng(n).standard_normal((3, n))
        with torch.no_grad():
            expected = net(torch.as_tensor(x)).numpy()
        actual = snapshot(x)
        assert actual.shape == expected.shape == (3, n)
        assert _relative(actual, expected) <= 1e-10


def test_channels_in_and_out():
    net = OperatorNetwork(2, 3, channels=4, modes=3, kernel="local", dtype=torch.float64, seed=3)
    x = np.random.default_rng(0).standard_normal((2, 2, 16))
    with torch.no_grad():
        expected = net(torch.as_tensor(x)).numpy()
    actual = NumbaOperatorNetwork(net)(x)
    assert actual.shape == (2, 3, 16)
    assert _relative(actual, expected) <= 1e-10


def test_snapshot_is_a_copy():
    net = OperatorNetwork(channels=3, modes=3, dtype=torch.float64, seed=0)
    snapshot = NumbaOperatorNetwork(net)
    x = np.random.default_rng(0).standard_normal((2, 16))
    before = snapshot(x)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    assert np.array_equal(snapshot(x), before)


def test_float32_network_runs_in_float32():
    net = OperatorNetwork(channels=4, modes=3, kernel="local", seed=0)
    x = np.random.default_rng(0).standard_normal((2, 32))
    actual = NumbaOperatorNetwork(net)(x)
    with torch.no_grad():
        expected = net(torch.as_tensor(x)).numpy()
    assert actual.dtype == np.float32
    assert _relative(actual, expected) <= 1e-5


def test_bad_input():
    with pytest.raises(TypeError, match="network must be an OperatorNetwork"):
        NumbaOperatorNetwork(torch.nn.Linear(2, 2))
    snapshot = NumbaOperatorNetwork(OperatorNetwork(channels=2, modes=2, dtype=torch.float64, seed=0))
    with pytest.raises(ValueError, match=r"x must be finite signals \(batch, 1, samples\)"):
        snapshot(np.zeros((2, 3, 8)))
    with pytest.raises(ValueError, match="x must be finite"):
        snapshot(np.full((2, 8), np.nan))
