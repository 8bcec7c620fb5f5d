import numpy as np
import pytest
import torch

from fem_nn import Mesh, bias_mesh, uniform_axis, weight_mesh
from fem_nn.convergence import convergence_test
from fem_nn.continuum import ContinuumNetwork

READOUT = Mesh([uniform_axis((-1, 1), 4, "legendre", 1)])


def smooth_network(depth=None, scale=1.0):
    width = uniform_axis((-1, 1), 4, "legendre", 2)
    depth = depth or uniform_axis((0, 1), 2, "lagrange", 2)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), output_mesh=READOUT, dtype=torch.float64)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        net.weight.copy_(scale * torch.randn(net.weight.shape, generator=generator, dtype=torch.float64))
        net.bias.copy_(torch.randn(net.bias.shape, generator=generator, dtype=torch.float64))
    return net


def test_observed_orders_of_a_network_with_smooth_depth_fields():
    net = smooth_network(scale=0.5)
    x = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    result = convergence_test(net, x, ["euler", "midpoint", "heun", "rk4", "rk4_38"], [16, 32, 64, 128])
    expected = {"euler": 1, "midpoint": 2, "heun": 2, "rk4": 4, "rk4_38": 4}
    for scheme, order in expected.items():
        assert result.orders[scheme] == pytest.approx(order, abs=0.15), result.table()
    assert "order" in result.table()


def test_orders_hold_with_p0_depth_when_steps_respect_the_cells():
    """Fields that jump at depth breakpoints keep the scheme's order when every step lies in
    one cell and stages on a breakpoint take the one-sided value of their step's cell."""
    net = smooth_network(uniform_axis((0, 1), 4, "p0", 0), scale=0.5)
    x = torch.randn(2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    result = convergence_test(net, x, ["midpoint", "rk4"], [8, 16, 32, 64])
    assert result.orders["midpoint"] == pytest.approx(2, abs=0.15)
    assert result.orders["rk4"] == pytest.approx(4, abs=0.15)


def test_width_quadrature_sweep_converges():
    net = smooth_network(scale=0.3)
    x = torch.randn(2, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    result = convergence_test(net, x, ["rk4"], [4, 8], quadrature_points=[3, 5, 7, 9, 16])
    errors = result.quadrature_errors[:-1]
    # exponential in the points per cell: a constant factor gained per two points
    assert np.all(errors[1:] < errors[:-1] / 4) and errors[-1] < 1e-4, result.table()
    with pytest.raises(ValueError, match="output_mesh"):
        convergence_test(ContinuumNetwork(weight_mesh(), bias_mesh()), torch.ones(1, 8), ["rk4"], [2], quadrature_points=[2, 3])


def test_remanifested_shares_the_fields_not_the_parameters():
    net = smooth_network()
    other = net.remanifested(scheme="euler", steps=7)
    assert other.steps == 7 and other.tableau.name == "euler" and net.tableau.name == "rk4"
    assert torch.equal(other.weight, net.weight) and other.weight is not net.weight


@pytest.mark.parametrize("cells,steps", [(2, 2), (8, 8), (8, 32), (3, 7)])
def test_memory_flat_gives_the_same_gradients(cells, steps):
    net = smooth_network(uniform_axis((0, 1), cells, "lagrange", 1)).remanifested(steps=steps)
    flat = net.remanifested()
    flat.memory_flat = True
    x = torch.randn(4, 4, dtype=torch.float64)
    for model in (net, flat):
        model.zero_grad()
        model(x).square().sum().backward()
    assert torch.allclose(net.weight.grad, flat.weight.grad, rtol=1e-13, atol=0)
    assert torch.allclose(net.bias.grad, flat.bias.grad, rtol=1e-13, atol=0)
