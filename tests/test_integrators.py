import numpy as np
import pytest
import torch
from scipy.linalg import expm

from fem_nn.integrators import ButcherTableau, Scheme, integrate, step, tableau

ORDERS = {"euler": 1, "midpoint": 2, "heun": 2, "ralston": 2, "rk4": 4, "rk4_38": 4, "bosh3": 3, "dopri5": 5, "fehlberg45": 5}

HEUN = dict(a=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 1])


def linear_system():
    """A random 4×4 matrix scaled to spectral radius 1.5 (the solution stays bounded on
    [0, 1]) and a random initial state."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((4, 4))
    a = 1.5 * a / np.abs(np.linalg.eigvals(a)).max()
    return a, rng.standard_normal(4)


def order_conditions(a, b, c):
    """The order conditions by order (one per rooted tree), written out independently of
    the module."""
    return {
        1: [sum(b) - 1],
        2: [sum(b[i] * c[i] for i in range(len(b))) - 1 / 2],
        3: [np.dot(b, c**2) - 1 / 3, np.einsum("i,ij,j", b, a, c) - 1 / 6],
        4: [np.dot(b, c**3) - 1 / 4, np.einsum("i,i,ij,j", b, c, a, c) - 1 / 8,
            np.einsum("i,ij,j", b, a, c**2) - 1 / 12, np.einsum("i,ij,jk,k", b, a, a, c) - 1 / 24],
        5: [np.dot(b, c**4) - 1 / 5, np.einsum("i,i,ij,j", b, c**2, a, c) - 1 / 10,
            np.einsum("i,i,ij,j", b, c, a, c**2) - 1 / 15, np.einsum("i,i,ij,jk,k", b, c, a, a, c) - 1 / 30,
            np.einsum("i,ij,j,ik,k", b, a, c, a, c) - 1 / 20, np.einsum("i,ij,j", b, a, c**3) - 1 / 20,
            np.einsum("i,ij,j,jk,k", b, a, c, a, c) - 1 / 40, np.einsum("i,ij,jk,k", b, a, a, c**2) - 1 / 60,
            np.einsum("i,ij,jk,kl,l", b, a, a, a, c) - 1 / 120],
        6: [np.dot(b, c**5) - 1 / 6],  # one tree of order 6: enough to show order 5 is exact
    }


def observed_order(steps, errors):
    return -np.polyfit(np.log(steps), np.log(errors), 1)[0]


def test_builtin_schemes():
    assert [s.value for s in Scheme] == list(ORDERS)
    for name, order in ORDERS.items():
        assert tableau(name) is tableau(Scheme(name))
        assert (tableau(name).name, tableau(name).order) == (name, order)
    assert tableau("euler").stages == 1 and tableau("rk4").stages == 4


@pytest.mark.parametrize("scheme", list(Scheme))
def test_order_conditions(scheme):
    t = tableau(scheme)
    conditions = order_conditions(t.a, t.b, t.c)
    for order in range(1, t.order + 1):
        assert np.max(np.abs(conditions[order])) <= 1e-14, order
    if t.order < 4:  # the order is exact: some condition of the next order fails
        assert np.max(np.abs(conditions[t.order + 1])) > 1e-3
    if t.embedded:  # the embedded weights: their order holds, the next one fails
        conditions = order_conditions(t.a, t.b_embedded, t.c)
        for order in range(1, t.embedded_order + 1):
            assert np.max(np.abs(conditions[order])) <= 1e-14, order
        assert np.max(np.abs(conditions[t.embedded_order + 1])) > 1e-4


@pytest.mark.parametrize("scheme,order", ORDERS.items())
def test_observed_order_on_a_linear_system(scheme, order):
    a, h0 = linear_system()
    exact = expm(a) @ h0
    steps = np.array([8, 16, 32, 64])
    errors = [np.linalg.norm(integrate(lambda t, h: a @ h, h0, steps=int(n), scheme=scheme) - exact) for n in steps]
    assert observed_order(steps, errors) == pytest.approx(order, abs=0.1)


@pytest.mark.parametrize("scheme,order", ORDERS.items())
def test_observed_order_on_a_nonautonomous_problem(scheme, order):
    # dh/dt = cos(t) h, h(0) = 1  =>  h(t) = exp(sin t); wrong stage times would cap the order
    steps = np.array([32, 64, 128, 256]) if order < 5 else np.array([16, 32, 64, 128])  # above round-off
    errors = [abs(integrate(lambda t, h: np.cos(t) * h, 1.0, 0.0, 2.0, int(n), scheme) - np.exp(np.sin(2.0)))
              for n in steps]
    assert observed_order(steps, errors) == pytest.approx(order, abs=0.1 if order < 5 else 0.2)


@pytest.mark.parametrize("scheme,order", ORDERS.items())
def test_quadrature_of_polynomials_in_time_is_exact(scheme, order):
    # dh/dt = k t^(k-1) on [0.5, 2]: exact for k <= order, as b and c form a quadrature rule
    for k in range(1, order + 1):
        result = integrate(lambda t, h: k * t ** (k - 1), 0.0, 0.5, 2.0, 3, scheme)
        assert result == pytest.approx(2.0**k - 0.5**k, rel=1e-14)


@pytest.mark.parametrize("scheme", list(Scheme))
def test_torch_and_numpy_agree_and_gradients_flow(scheme):
    a, h0 = linear_system()
    numpy_result = integrate(lambda t, h: np.tanh(a @ h) * np.cos(t), h0, steps=5, scheme=scheme)
    at = torch.tensor(a, requires_grad=True)
    torch_result = integrate(lambda t, h: torch.tanh(at @ h) * np.cos(t), torch.tensor(h0), steps=5, scheme=scheme)
    np.testing.assert_allclose(torch_result.detach().numpy(), numpy_result, rtol=1e-12, atol=0)
    assert torch.autograd.gradcheck(
        lambda m: integrate(lambda t, h: torch.tanh(m @ h), torch.tensor(h0), steps=3, scheme=scheme), (at,)
    )


def test_any_state_shape_and_torch_dtype():
    rng = np.random.default_rng(1)
    h0 = rng.standard_normal((2, 3, 4))
    result = integrate(lambda t, h: -h * (1 + t), h0, steps=40, scheme="rk4")
    assert result.shape == (2, 3, 4)
    np.testing.assert_allclose(result, h0 * np.exp(-1.5), rtol=1e-6)  # rk4 truncation ~4e-8
    single = integrate(lambda t, h: -h * (1 + t), torch.tensor(h0, dtype=torch.float32), steps=40)
    assert single.dtype == torch.float32 and single.shape == (2, 3, 4)
    np.testing.assert_allclose(single.numpy(), result, rtol=1e-5)


@pytest.mark.parametrize("ours,theirs", [("rk4_38", "rk4"), ("euler", "euler"), ("midpoint", "midpoint")])
def test_agrees_with_torchdiffeq(ours, theirs):
    torchdiffeq = pytest.importorskip("torchdiffeq")
    a, h0 = linear_system()
    at = torch.tensor(a)

    def f(t, h):
        return torch.tanh(h @ at.T) * torch.cos(torch.as_tensor(t, dtype=torch.float64))

    h = torch.tensor(np.stack([h0, -h0]))
    times = torch.linspace(0, 1, 2, dtype=torch.float64)
    reference = torchdiffeq.odeint(f, h, times, method=theirs, options={"step_size": 0.1})[-1]
    result = integrate(f, h, steps=10, scheme=ours)
    torch.testing.assert_close(result, reference, rtol=1e-12, atol=1e-14)
    if theirs == "rk4":  # torchdiffeq's rk4 is the 3/8 rule, not the classic scheme
        assert (integrate(f, h, steps=10, scheme="rk4") - reference).abs().max() > 1e-9


def test_integrate_loops_over_step():
    a, h0 = linear_system()

    def f(t, h):
        return a @ h * np.cos(t)

    h, ends = h0, [0.2, 0.7, 1.2, 1.7]
    for k in range(3):  # each step spans [t_k, t_k+1] exactly, so dt is their difference, not 0.5
        h = step(f, ends[k], h, ends[k + 1] - ends[k], Scheme.RALSTON)
    times, states = integrate(f, h0, 0.2, 1.7, 3, "ralston", return_trajectory=True)
    np.testing.assert_array_equal(times, ends)
    assert len(states) == 4 and states[0] is h0
    np.testing.assert_array_equal(states[-1], h)
    np.testing.assert_array_equal(integrate(f, h0, 0.2, 1.7, 3, "ralston"), h)


def test_checkpointed_gradients_are_the_same():
    a, h0 = linear_system()
    grads = []
    for checkpoint in (False, True):
        at = torch.tensor(a, requires_grad=True)
        h = integrate(lambda t, h: torch.tanh(h @ at.T), torch.tensor(h0), steps=7, checkpoint=checkpoint)
        h.square().sum().backward()
        grads.append((h.detach(), at.grad))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-14, atol=0)


def test_user_tableau_equals_builtin():
    mine = ButcherTableau(**HEUN, name="hand-written heun", order=2)
    a, h0 = linear_system()
    np.testing.assert_array_equal(integrate(lambda t, h: a @ h, h0, steps=3, scheme=mine),
                                  integrate(lambda t, h: a @ h, h0, steps=3, scheme="heun"))
    assert tableau(mine) is mine


def test_tableau_is_a_frozen_copy():
    b = np.array([0.5, 0.5])
    t = ButcherTableau(HEUN["a"], b, HEUN["c"])
    b[0] = 7.0
    assert t.b.tolist() == [0.5, 0.5] and t.b.dtype == np.float64
    with pytest.raises(ValueError):
        t.b[0] = 7.0
    with pytest.raises(AttributeError):
        t.name = "other"


@pytest.mark.parametrize(
    "kwargs,error,match",
    [(dict(a=[[0, 0]], b=[1], c=[0]), ValueError, "'a' must be a square"),
     (dict(a=[0.0], b=[1], c=[0]), ValueError, "'a' must be a square"),
     (dict(a=np.zeros((0, 0)), b=[], c=[]), ValueError, "'a' must be a square"),
     (dict(a=[[0, 1], [0, 0]], b=[0.5, 0.5], c=[1, 0]), ValueError, "'a' must be strictly lower triangular"),
     (dict(a=[[0.5]], b=[1], c=[0.5]), ValueError, "'a' must be strictly lower triangular"),
     (dict(a=[[0, 0], [1, 0]], b=[0.5, 0.4], c=[0, 1]), ValueError, r"'b': weights must sum to 1, got 0\.9$"),
     (dict(a=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 0.5]), ValueError, "'c' must equal the row sums"),
     (dict(a=[[0, 0], [np.nan, 0]], b=[0.5, 0.5], c=[0, 1]), ValueError, "'a' must be finite"),
     (dict(a=[[0, 0], [1, 0]], b=[np.inf, 0.5], c=[0, 1]), ValueError, "'b' must be finite"),
     (dict(a=[[0, 0], [1, 0]], b=[1.0], c=[0, 1]), ValueError, "'b' must have 2 entries"),
     (dict(a=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 1, 2]), ValueError, "'c' must have 2 entries"),
     (dict(a=[[0, 0], [1]], b=[0.5, 0.5], c=[0, 1]), ValueError, "'a' must be a rectangular array"),
     (dict(a=[[0, 0], [1, 0]], b=["x", 1], c=[0, 1]), TypeError, "'b' must be numeric"),
     (dict(a=[[0, 0], [1, 0]], b=["0.5", "0.5"], c=[0, 1]), TypeError, "'b' must be numeric"),
     (dict(a=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[False, True]), TypeError, "'c' must be numeric"),
     (dict(a=[[0, 0], [1, 0]], b=[0.5 + 0j, 0.5], c=[0, 1]), TypeError, "'b' must be numeric"),
     (dict(**HEUN, name=2), TypeError, "'name' must be a string"),
     (dict(**HEUN, order=2.0), TypeError, "'order' must be an integer"),
     (dict(**HEUN, order=0), ValueError, "'order' must be >= 1"),
     (dict(**HEUN, order=3), ValueError, "'order': claims order 3 but fails the order-3 conditions")],
)
def test_invalid_tableaus(kwargs, error, match):
    with pytest.raises(error, match=match):
        ButcherTableau(**kwargs)


def test_bad_arguments():
    def f(t, h):
        return h

    known = r"\['euler', 'midpoint', 'heun', 'ralston', 'rk4', 'rk4_38', 'bosh3', 'dopri5', 'fehlberg45'\]"
    with pytest.raises(ValueError, match="scheme must be one of " + known):
        tableau("rk5")
    with pytest.raises(TypeError, match="scheme must be"):
        integrate(f, 1.0, scheme=None)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        integrate(f, 1.0, steps=0)
    with pytest.raises(TypeError, match="steps must be an integer"):
        integrate(f, 1.0, steps=1.5)
    with pytest.raises(ValueError, match="t1 must differ from t0"):
        integrate(f, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="times must be a non-empty, finite, strictly decreasing"):
        integrate(f, 1.0, 1.0, 0.5, times=[0.6, 0.9])
    with pytest.raises(ValueError, match=r"times must lie in \[t1, t0\] = \[0.5, 1.0\]"):
        integrate(f, 1.0, 1.0, 0.5, times=[0.9, 0.4])
    with pytest.raises(ValueError, match="t1 must be finite"):
        integrate(f, 1.0, 0.0, np.inf)
    with pytest.raises(ValueError, match="t0 must be finite"):
        integrate(f, 1.0, np.nan, 1.0)
    with pytest.raises(TypeError, match="t0 must be a real number"):
        integrate(f, 1.0, "0", 1.0)
    with pytest.raises(TypeError, match="f must be callable"):
        integrate(1.0, 1.0)
    with pytest.raises(TypeError, match="checkpoint needs a torch tensor state h0"):
        integrate(f, np.ones(2), checkpoint=True)
    with pytest.raises(ValueError, match="checkpoint and return_trajectory"):
        integrate(f, torch.ones(2), checkpoint=True, return_trajectory=True)
    for dt in (0.0, -0.1):
        with pytest.raises(ValueError, match="dt must be > 0"):
            step(f, 0.0, 1.0, dt, "rk4")


def test_stages_on_breakpoints_take_the_cell_of_their_step():
    """A right-hand side that jumps at t = 0.5: with 2 steps, rk4's stages at t = 0.5 (end of
    step 1, start of step 2) must each see their own step's value: the result is exact."""

    def f(t, h, interval):
        assert interval[0] <= t <= interval[1]
        return 1.0 if interval[0] < 0.5 else 3.0

    assert integrate(f, 0.0, steps=2, scheme="rk4", pass_interval=True) == pytest.approx(0.5 * 1 + 0.5 * 3, abs=1e-15)
    # judged by the stage time alone, step 1's last stage (t = 0.5) would see the wrong cell
    naive = integrate(lambda t, h: 1.0 if t < 0.5 else 3.0, 0.0, steps=2, scheme="rk4")
    assert naive == pytest.approx(0.5 * (5 / 6 * 1 + 1 / 6 * 3) + 0.5 * 3, abs=1e-15)


@pytest.mark.parametrize("scheme", list(Scheme))
@pytest.mark.parametrize("steps", [1, 3, 7, 10])
def test_step_intervals_are_the_grid(scheme, steps):
    """Stage times with c = 0 and c = 1 are the interval's ends bit for bit, consecutive
    intervals share their ends, and the ends are the breakpoints of a uniform axis."""
    calls = []
    times, _ = integrate(lambda t, h, interval: calls.append((t, interval)) or h, 1.0, 0.0, 1.0, steps, scheme,
                         pass_interval=True, return_trajectory=True)
    grid = np.linspace(0.0, 1.0, steps + 1)
    np.testing.assert_array_equal(times, grid)
    intervals = sorted({interval for _, interval in calls})
    assert intervals == list(zip(grid[:-1].tolist(), grid[1:].tolist()))
    for t, (start, end) in calls:
        assert type(t) is float and start <= t <= end
    c = tableau(scheme).c
    for k, (start, end) in enumerate(intervals):
        stage_times = [t for t, interval in calls if interval == (start, end)]
        assert [t == start for t in stage_times] == (c == 0).tolist()
        assert [t == end for t in stage_times] == (c == 1).tolist()


@pytest.mark.parametrize("scheme", list(Scheme))
def test_torch_state_is_never_modified(scheme):
    # stages and steps add their later terms in place: only into tensors they made
    h0 = torch.randn(3, 4, dtype=torch.float64)
    before, version = h0.clone(), h0._version
    integrate(lambda t, h: torch.tanh(h) - t, h0, steps=3, scheme=scheme)
    assert h0._version == version and torch.equal(h0, before)
