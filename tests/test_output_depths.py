"""Outputs along depth (issue 15): a network or an OdeBlock returns its read-out at a grid of
depths, on its own steps (fixed) or from the dense output (adaptive)."""

import math

import pytest
import torch

from fem_nn import ContinuumNetwork, bias_mesh, integrate, integrate_adaptive, uniform_axis, weight_mesh
from fem_nn.adaptive import Adaptive
from fem_nn.mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Mesh
from fem_nn.odeblock import OdeBlock

F64 = torch.float64


def network(**settings):
    width = uniform_axis(WIDTH_INTERVAL, 4, "legendre", 1)
    depth = uniform_axis(DEPTH_INTERVAL, 3, "legendre", 1)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), dtype=F64,
                           output_mesh=Mesh([uniform_axis(WIDTH_INTERVAL, 3, "p0", 0)]), **settings)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=generator, dtype=F64))
    return net


def inputs():
    return torch.randn(5, 12, generator=torch.Generator().manual_seed(1), dtype=F64)


def test_depths_at_step_ends_are_the_trajectory_of_the_network_s_own_steps():
    net = network(scheme="rk4", steps=6)
    x = inputs()
    along = net(x, depths=[1 / 6, 0.5, 5 / 6, 1.0])
    h0 = net.read_in(x).T.contiguous()
    _, trajectory = integrate(net.velocity(), h0, 0.0, 1.0, 6, "rk4", pass_interval=True, return_trajectory=True)
    expected = torch.stack([(net.readout @ trajectory[k]).T for k in (1, 3, 5, 6)])
    assert torch.allclose(along, expected, rtol=0, atol=1e-13)
    assert torch.equal(along[-1], net(x))


def test_irregular_depths_agree_with_an_adaptive_solve_and_its_dense_output():
    x = inputs()
    depths = [0.05, 0.31, 0.333, 0.74, 0.9]  # inside steps and depth cells alike
    with torch.no_grad():
        fine = network(scheme="rk4", steps=96)(x, depths=depths)
        adaptive = network(scheme=Adaptive("dopri5", rtol=1e-11, atol=1e-13))(x, depths=depths)
    assert tuple(fine.shape) == (5, 5, 3)
    assert torch.allclose(adaptive, fine, rtol=0, atol=1e-8 * float(fine.abs().max()))


@pytest.mark.parametrize("gradient", ["discrete", "checkpoint"])
def test_gradients_along_depth_match_backprop(gradient):
    net = network(scheme="heun", steps=5)
    x = inputs()
    weights = torch.randn(3, 5, 3, generator=torch.Generator().manual_seed(2), dtype=F64)

    def grads(mode):
        net.zero_grad()
        (weights * net(x, depths=[0.1, 0.55, 1.0], gradient=mode)).sum().backward()
        return [p.grad.clone() for p in net.parameters()]

    for a, b in zip(grads(gradient), grads("backprop")):
        assert torch.allclose(a, b, rtol=0, atol=1e-12 * float(b.abs().max()))


def test_the_continuous_adjoint_along_depth_converges_to_backprop():
    net = network(scheme="rk4", steps=60)  # steps end on the depth cells' breakpoints and the depths
    x = inputs()

    def grads(mode):
        net.zero_grad()
        net(x, depths=[0.2, 0.7, 1.0], gradient=mode).square().sum().backward()
        return torch.cat([p.grad.flatten() for p in net.parameters()])

    adjoint, backprop = grads("adjoint"), grads("backprop")
    assert float((adjoint - backprop).norm() / backprop.norm()) < 1e-6


def test_an_odeblock_returns_its_states_along_depth():
    block = OdeBlock(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh()).double(), depth=2, steps=4)
    h = torch.randn(2, 3, generator=torch.Generator().manual_seed(3), dtype=F64)
    along = block(h, depths=[0.25, 0.5, 1.0])
    quarter = block.replaced(steps=1)
    assert torch.equal(along[-1], block(h))
    # the first step of four alone is rk4 on [0, 1/4]: a block of rate 1/4 on one step
    first = OdeBlock.from_config(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh()).double(),
                                 {**quarter.config(), "rate": 0.25}, quarter.state_dict())
    assert torch.allclose(along[0], first(h), rtol=0, atol=1e-14)


@pytest.mark.parametrize("depths", [[], [0.0, 0.5], [0.5, 0.5], [0.7, 0.2], [0.5, 1.5]])
def test_bad_depths_are_refused_before_any_work(depths):
    with pytest.raises(ValueError, match=r"depths must be strictly increasing in \(0, 1\]"):
        network()(inputs(), depths=depths)
    with pytest.raises(ValueError, match=r"depths must be strictly increasing in \(0, 1\]"):
        OdeBlock(torch.nn.Linear(2, 2))(torch.ones(1, 2), depths=depths)


# --- backwards: decreasing times --------------------------------------------------------------------
def jumping(t, h, interval):
    """A field that jumps at t = 0.5: the one-sided rule picks the side of the step."""
    rate = 1.0 if interval[1] <= 0.5 else -2.0
    return rate * math.sin(t) * h


@pytest.mark.parametrize("scheme", ["euler", "rk4"])
def test_a_backward_solve_is_the_forward_solve_in_reversed_time(scheme):
    h1 = torch.tensor([1.0, -0.5], dtype=F64)
    times = [1.0, 0.8, 0.5, 0.2]
    backwards = integrate(jumping, h1, 1.0, 0.0, 10, scheme, pass_interval=True, times=times)

    def reversed_field(s, h, interval):
        return -jumping(-s, h, (-interval[1], -interval[0]))

    expected = integrate(reversed_field, h1, -1.0, 0.0, 10, scheme, pass_interval=True, times=[-t for t in times])
    assert torch.equal(backwards, expected)


def test_a_backward_solve_undoes_the_forward_solve():
    h1 = torch.tensor([1.0, -0.5], dtype=F64)
    h0 = integrate(jumping, h1, 1.0, 0.2, 16, "rk4", pass_interval=True)  # 0.5 is a step end: the jump is exact
    again = integrate(jumping, h0, 0.2, 1.0, 16, "rk4", pass_interval=True)
    assert torch.allclose(again, h1, rtol=0, atol=1e-6)
    assert not torch.allclose(h0, h1, rtol=0, atol=1e-2)  # the solve went somewhere


def test_an_adaptive_backward_solve_agrees_with_the_fixed_step_one():
    h1 = torch.tensor([1.0, -0.5], dtype=F64)
    times = [1.0, 0.7, 0.5, 0.1]
    adaptive = integrate_adaptive(jumping, h1, times, Adaptive("dopri5", rtol=1e-11, atol=1e-13), breakpoints=[0.5],
                                  pass_interval=True)
    fine = integrate(jumping, h1, 1.0, 0.0, 200, "rk4", pass_interval=True, times=times)
    assert torch.allclose(adaptive, fine, rtol=0, atol=1e-9)
