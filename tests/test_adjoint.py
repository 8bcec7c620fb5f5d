"""Gradient modes: the continuous adjoint against backprop (float64, tight tolerances) and
torchdiffeq's odeint_adjoint, the discrete adjoint against backprop to round-off, gradcheck,
breakpoints, and the continuum network's gradient argument and adaptive manifestation."""

import numpy as np
import pytest
import torch

from fem_nn import ContinuumNetwork, bias_mesh, uniform_axis, weight_mesh
from fem_nn.adaptive import Adaptive
from fem_nn.integrators import integrate, integrate_adaptive

TIMES = [0.0, 0.3, 0.7, 1.5]


class Field(torch.nn.Module):
    """A small tanh MLP vector field, non-autonomous."""

    def __init__(self, n=3, width=16):
        super().__init__()
        torch.manual_seed(0)
        self.inner, self.outer = torch.nn.Linear(n, width).double(), torch.nn.Linear(width, n).double()
        self.evaluations = 0

    def forward(self, t, y):
        self.evaluations += 1
        t = float(t.detach()) if isinstance(t, torch.Tensor) else t  # torchdiffeq passes tensors
        return self.outer(torch.tanh(self.inner(y))) * (1.0 + 0.5 * np.sin(t))


def gradients(f, y0, solve):
    """∂L/∂(y0, θ) of a loss on every output, flattened."""
    out = solve()
    loss = (out**2).sum() + out[1].sum()
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, [y0, *f.parameters()])])


def relative(a, b):
    return float((a - b).norm() / b.norm())


@pytest.fixture
def problem():
    f = Field()
    return f, torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).requires_grad_()


@pytest.mark.parametrize("seminorm", [True, False])
def test_continuous_adjoint_of_an_adaptive_solve_is_backprops(problem, seminorm):
    f, y0 = problem
    adaptive = Adaptive("dopri5", rtol=1e-11, atol=1e-12)
    backprop = gradients(f, y0, lambda: integrate_adaptive(f, y0, TIMES, adaptive))
    adjoint = gradients(f, y0, lambda: integrate_adaptive(f, y0, TIMES, adaptive, gradient="adjoint", seminorm=seminorm))
    assert relative(adjoint, backprop) <= 1e-6  # measured 5.7e-11


def test_seminorm_takes_fewer_backward_steps(problem):
    f, y0 = problem
    counts = {}
    for seminorm in (True, False):
        out = integrate_adaptive(f, y0, TIMES, Adaptive(rtol=1e-8, atol=1e-10), gradient="adjoint", seminorm=seminorm)
        f.evaluations = 0
        out.square().sum().backward()
        counts[seminorm] = f.evaluations
    assert counts[True] < counts[False]


def test_continuous_adjoint_agrees_with_torchdiffeq(problem):
    torchdiffeq = pytest.importorskip("torchdiffeq")
    f, y0 = problem
    ours = gradients(f, y0, lambda: integrate_adaptive(f, y0, TIMES, Adaptive(rtol=1e-10, atol=1e-12), gradient="adjoint"))
    times = torch.tensor(TIMES, dtype=torch.float64)
    theirs = gradients(f, y0, lambda: torchdiffeq.odeint_adjoint(f, y0, times, rtol=1e-10, atol=1e-12, method="dopri5"))
    assert relative(ours, theirs) <= 1e-6  # measured 2.3e-11


@pytest.mark.parametrize("scheme", ["rk4", "midpoint", "dopri5"])
def test_discrete_adjoint_is_backprop_to_round_off(problem, scheme):
    f, y0 = problem
    backprop = gradients(f, y0, lambda: integrate(f, y0, 0.0, 1.5, 12, scheme, times=TIMES))
    discrete = gradients(f, y0, lambda: integrate(f, y0, 0.0, 1.5, 12, scheme, times=TIMES, gradient="discrete"))
    assert relative(discrete, backprop) <= 1e-12


def test_fixed_step_continuous_adjoint_converges_to_backprop(problem):
    """The continuous adjoint is the exact flow's gradient: it differs from backprop's by
    the scheme's error, at rk4's rate."""
    f, y0 = problem
    errors = []
    for steps in (15, 30, 60):
        backprop = gradients(f, y0, lambda: integrate(f, y0, 0.0, 1.5, steps, "rk4", times=TIMES))
        adjoint = gradients(f, y0, lambda: integrate(f, y0, 0.0, 1.5, steps, "rk4", times=TIMES, gradient="adjoint"))
        errors.append(relative(adjoint, backprop))
    assert errors[-1] <= 1e-6
    assert np.log2(errors[0] / errors[1]) == pytest.approx(4, abs=0.5)


def test_gradcheck():
    torch.manual_seed(2)
    a = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    y0 = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def f(t, y):
        return torch.tanh(a @ y) * np.cos(t)

    def discrete(a_, y):
        return integrate(f, y, 0.0, 1.0, 4, "rk4", times=[0.0, 0.4, 1.0], gradient="discrete", params=[a])

    assert torch.autograd.gradcheck(discrete, (a, y0))
    continuous = lambda a_, y: integrate(f, y, 0.0, 1.0, 64, "rk4", gradient="adjoint", params=[a])  # noqa: E731
    assert torch.autograd.gradcheck(continuous, (a, y0), atol=1e-6, rtol=1e-5)
    adaptive = Adaptive(rtol=1e-10, atol=1e-12)
    solve = lambda a_, y: integrate_adaptive(f, y, [0.0, 1.0], adaptive, gradient="adjoint", params=[a])  # noqa: E731
    assert torch.autograd.gradcheck(solve, (a, y0), atol=1e-6, rtol=1e-5)


def test_adjoints_keep_the_one_sided_rule_at_breakpoints():
    """A field with a parameter that jumps at t = 0.5: the adjoint's backward steps take
    each side's value, as the forward ones did."""
    w = torch.tensor([0.7, -1.3], dtype=torch.float64, requires_grad=True)
    y0 = torch.tensor([1.0, 0.5], dtype=torch.float64, requires_grad=True)

    def f(t, y, interval):
        return torch.tanh(y) * w[0 if interval[0] < 0.5 else 1]

    def grad(solve):
        return torch.cat(torch.autograd.grad(solve().square().sum(), [y0, w]))

    backprop = grad(lambda: integrate(f, y0, steps=4, pass_interval=True))
    discrete = grad(lambda: integrate(f, y0, steps=4, pass_interval=True, gradient="discrete", params=[w]))
    assert relative(discrete, backprop) <= 1e-12
    adaptive = Adaptive(rtol=1e-11, atol=1e-12)
    exact = grad(lambda: integrate_adaptive(f, y0, [0.0, 1.0], adaptive, breakpoints=[0.5], pass_interval=True)[-1])
    adjoint = grad(lambda: integrate_adaptive(f, y0, [0.0, 1.0], adaptive, breakpoints=[0.5], pass_interval=True,
                                              gradient="adjoint", params=[w])[-1])
    assert relative(adjoint, exact) <= 1e-6


def network(depth_family="lagrange", **kwargs):
    width = uniform_axis((-1, 1), 6, "lagrange", 1)
    depth = uniform_axis((0, 1), 3, depth_family, 0 if depth_family == "p0" else 1)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), dtype=torch.float64, **kwargs)
    with torch.no_grad():
        net.bias.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(0))
    return net


def network_gradients(net, x, **kwargs):
    net.zero_grad()
    net(x, **kwargs).square().sum().backward()
    return torch.cat([p.grad.flatten() for p in net.parameters()])


@pytest.mark.parametrize("depth_family", ["p0", "lagrange"])
def test_network_gradient_modes(depth_family):
    x = torch.randn(4, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    net = network(depth_family, steps=6)
    backprop = network_gradients(net, x)
    assert relative(network_gradients(net, x, gradient="discrete"), backprop) <= 1e-12
    assert relative(network_gradients(net, x, gradient="checkpoint"), backprop) <= 1e-12
    fine = network(depth_family, steps=96)
    assert relative(network_gradients(fine, x, gradient="adjoint"), network_gradients(fine, x)) <= 1e-6


@pytest.mark.parametrize("depth_family", ["p0", "lagrange"])
def test_network_adaptive_manifestation(depth_family):
    x = torch.randn(4, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    net = network(depth_family, scheme=Adaptive("dopri5", rtol=1e-10, atol=1e-12))
    reference = network(depth_family, steps=384)(x)  # rk4, one-sided at the breakpoints: converged
    torch.testing.assert_close(net(x), reference, rtol=1e-8, atol=1e-9)
    adjoint, backprop = network_gradients(net, x, gradient="adjoint"), network_gradients(net, x)
    assert relative(adjoint, backprop) <= 1e-6
    copy = ContinuumNetwork.from_config(net.config(), net.state_dict())
    assert copy.adaptive == net.adaptive and torch.equal(copy(x), net(x))
    with pytest.raises(ValueError, match="frozen needs a fixed-step manifestation"):
        net.frozen(12)
