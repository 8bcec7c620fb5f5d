import numpy as np
import pytest
import torch
from scipy.linalg import expm

from fem_nn.integrators import ButcherTableau, Scheme, integrate, tableau

ORDERS = {"euler": 1, "midpoint": 2, "heun": 2, "ralston": 2, "rk4": 4, "rk4_38": 4}


def linear_system():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((4, 4))
    a = 1.5 * a / np.abs(np.linalg.eigvals(a)).max()
    return a, rng.standard_normal(4)


@pytest.mark.parametrize("scheme", list(Scheme))
def test_order_conditions(scheme):
    t = tableau(scheme)
    a, b, c = t.a, t.b, t.c
    conditions = [b.sum() - 1, b @ c - 1 / 2, b @ c**2 - 1 / 3, b @ a @ c - 1 / 6,
                  b @ c**3 - 1 / 4, b @ (c * (a @ c)) - 1 / 8, b @ a @ c**2 - 1 / 12, b @ a @ a @ c - 1 / 24]
    satisfied = {1: 1, 2: 2, 3: 4, 4: 8}[t.order]
    assert np.allclose(conditions[:satisfied], 0, atol=1e-15)
    assert not np.allclose(conditions[: {1: 2, 2: 4, 3: 8, 4: 8}[t.order]], 0, atol=1e-15) or t.order == 4


@pytest.mark.parametrize("scheme,order", ORDERS.items())
def test_observed_order_on_a_linear_system(scheme, order):
    a, h0 = linear_system()
    exact = expm(a) @ h0
    steps = np.array([8, 16, 32, 64])
    errors = [np.linalg.norm(integrate(lambda t, h: a @ h, h0, steps=int(n), scheme=scheme) - exact) for n in steps]
    assert -np.polyfit(np.log(steps), np.log(errors), 1)[0] == pytest.approx(order, abs=0.1)


@pytest.mark.parametrize("scheme,order", ORDERS.items())
def test_observed_order_on_a_nonautonomous_problem(scheme, order):
    # dh/dt = cos(t) h, h(0) = 1  =>  h(t) = exp(sin t); the stage times c matter here
    steps = np.array([32, 64, 128, 256])
    errors = [abs(integrate(lambda t, h: np.cos(t) * h, 1.0, 0.0, 2.0, int(n), scheme) - np.exp(np.sin(2.0))) for n in steps]
    assert -np.polyfit(np.log(steps), np.log(errors), 1)[0] == pytest.approx(order, abs=0.1)


@pytest.mark.parametrize("scheme", list(Scheme))
def test_torch_and_numpy_agree_and_gradients_flow(scheme):
    a, h0 = linear_system()
    numpy_result = integrate(lambda t, h: np.tanh(a @ h), h0, steps=5, scheme=scheme)
    at = torch.tensor(a, requires_grad=True)
    torch_result = integrate(lambda t, h: torch.tanh(at @ h), torch.tensor(h0), steps=5, scheme=scheme)
    assert np.allclose(torch_result.detach().numpy(), numpy_result, rtol=1e-12, atol=0)
    assert torch.autograd.gradcheck(
        lambda m: integrate(lambda t, h: torch.tanh(m @ h), torch.tensor(h0), steps=3, scheme=scheme), (at,)
    )


@pytest.mark.parametrize("ours,theirs", [("rk4_38", "rk4"), ("euler", "euler"), ("midpoint", "midpoint")])
def test_agrees_with_torchdiffeq(ours, theirs):
    torchdiffeq = pytest.importorskip("torchdiffeq")
    a, h0 = linear_system()
    at = torch.tensor(a)

    def f(t, h):
        return torch.tanh(h @ at.T) * torch.cos(t)

    h = torch.tensor(np.stack([h0, -h0]))
    times = torch.linspace(0, 1, 2, dtype=torch.float64)
    reference = torchdiffeq.odeint(f, h, times, method=theirs, options={"step_size": 0.1})[-1]
    result = integrate(lambda t, y: f(torch.tensor(t), y), h, steps=10, scheme=ours)
    assert torch.allclose(result, reference, rtol=1e-12, atol=1e-14)


def test_user_tableau_equals_builtin():
    mine = ButcherTableau([[0, 0], [1, 0]], [0.5, 0.5], [0, 1])
    a, h0 = linear_system()
    assert np.array_equal(integrate(lambda t, h: a @ h, h0, steps=3, scheme=mine),
                          integrate(lambda t, h: a @ h, h0, steps=3, scheme="heun"))


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(a=[[0, 0]], b=[1], c=[0]), "'a' must be a square"),
     (dict(a=[[0, 1], [0, 0]], b=[0.5, 0.5], c=[1, 0]), "strictly lower triangular"),
     (dict(a=[[0, 0], [1, 0]], b=[0.5, 0.4], c=[0, 1]), "'b': weights must sum to 1"),
     (dict(a=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 0.5]), "'c' must equal the row sums"),
     (dict(a=[[0, 0], [np.nan, 0]], b=[0.5, 0.5], c=[0, 1]), "'a' must be finite"),
     (dict(a=[[0, 0], [1, 0]], b=[1.0], c=[0, 1]), "'b' must have 2 entries"),
     (dict(a=[[0, 0], [1, 0]], b=["x", 1], c=[0, 1]), "'b' must be numeric")],
)
def test_invalid_tableaus(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ButcherTableau(**kwargs)


def test_bad_arguments():
    with pytest.raises(ValueError, match="scheme must be"):
        tableau("rk5")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        integrate(lambda t, h: h, 1.0, steps=0)
    with pytest.raises(TypeError, match="steps must be an integer"):
        integrate(lambda t, h: h, 1.0, steps=1.5)
    with pytest.raises(ValueError, match="t1 must be greater"):
        integrate(lambda t, h: h, 1.0, 1.0, 0.5)


def test_stages_on_breakpoints_take_the_cell_of_their_step():
    """A right-hand side that jumps at t = 0.5: with 2 steps, rk4's stages at t = 0.5 (end of
    step 1, start of step 2) must each see their own step's value: the result is exact."""

    def f(t, h, interval):
        value = 1.0 if interval[0] < 0.5 else 3.0
        assert interval[0] <= t <= interval[1]
        return value

    assert integrate(f, 0.0, steps=2, scheme="rk4", pass_interval=True) == pytest.approx(0.5 * 1 + 0.5 * 3, abs=1e-15)
