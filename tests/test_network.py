import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.linalg import expm

from fem_nn import Axis, Field, Mesh, bias_mesh, uniform_axis, weight_mesh
from fem_nn.continuum import ContinuumNetwork, KernelForm


def residual_mlp(x, matrices, biases, activation):
    h = x
    for a, c in zip(matrices, biases):
        h = h + activation(h @ torch.as_tensor(a).T + torch.as_tensor(c))
    return h


@pytest.mark.parametrize("width", [1, 2, 7, 16, 64])
@pytest.mark.parametrize("depth", [1, 3, 16])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_residual_mlp_is_p0_forward_euler_exactly(width, depth, activation):
    rng = np.random.default_rng(width * 100 + depth)
    matrices = rng.standard_normal((depth, width, width)) / np.sqrt(width)
    biases = rng.standard_normal((depth, width))
    net = ContinuumNetwork.from_residual_mlp(matrices, biases, activation)
    x = torch.as_tensor(rng.standard_normal((9, width)))
    reference = residual_mlp(x, matrices, biases, getattr(torch, activation))
    result = net(x)
    assert torch.max(torch.abs(result - reference)) <= 1e-12 * torch.max(torch.abs(reference))


def residual_mlp_in_sub_steps(x, matrices, biases, scheme, sub):
    """Each block ``h + σ(A h + c)`` as `sub` steps of `scheme` of size 1/`sub` for the
    autonomous h' = tanh(A h + c): what a P0 manifestation at `sub` steps per cell computes."""
    from fem_nn import tableau

    t, h = tableau(scheme), x
    for a, c in zip(matrices, biases):
        for _ in range(sub):
            slopes = []
            for i in range(t.stages):
                stage = h + sum(t.a[i, j] * slopes[j] for j in range(i)) / sub
                slopes.append(np.tanh(stage @ a.T + c))
            h = h + sum(t.b[i] * slopes[i] for i in range(t.stages)) / sub
    return h


@pytest.mark.parametrize("depth,sub", [(5, 3), (10, 3), (6, 5)])
@pytest.mark.parametrize("scheme", ["euler", "heun", "rk4"])
def test_residual_mlp_remanifested_at_sub_steps_is_exact(depth, sub, scheme):
    """Issue 12.1: at D = 5 and 15 steps the step start 0.6 lies one ulp below the breakpoint
    0.6000000000000001, and every stage of that step read the previous cell (off by 1.5 with
    euler). The torch network and its frozen form decide the cell by the step."""
    rng = np.random.default_rng(depth)
    matrices, biases = rng.standard_normal((depth, 6, 6)), rng.standard_normal((depth, 6))
    net = ContinuumNetwork.from_residual_mlp(matrices, biases, "tanh").remanifested(scheme=scheme, steps=depth * sub)
    x = rng.standard_normal((7, 6))
    expected = residual_mlp_in_sub_steps(x, matrices, biases, scheme, sub)
    scale = np.abs(expected).max()
    with torch.no_grad():
        assert np.abs(net(torch.as_tensor(x)).numpy() - expected).max() <= 1e-12 * scale
        assert np.abs(net.frozen(6)(torch.as_tensor(x)).numpy() - expected).max() <= 1e-12 * scale


@pytest.mark.parametrize("scheme", ["euler", "heun", "rk4"])
def test_depth_refinement_by_any_k_at_one_step_per_cell_is_exact(scheme):
    """Issue 12.1: P0 depth refined by k = 3 or 5 has breakpoints b + Δ·j/k, the steps
    linspace's j/(kD); with one step per fine cell heun was off by 0.28 (k = 5). Refined
    with the steps unchanged (k cells per step), the output is unchanged too."""
    rng = np.random.default_rng(2)
    matrices, biases = rng.standard_normal((5, 6, 6)), rng.standard_normal((5, 6))
    net = ContinuumNetwork.from_residual_mlp(matrices, biases, "tanh")
    x = rng.standard_normal((7, 6))
    fields = net.fields()
    for k in (3, 5):
        wm, bm = net.weight_mesh.refined("delta", k=k), net.bias_mesh.refined("delta", k=k)
        weights = {"weight": fields["weight"].project(wm).coefficients, "bias": fields["bias"].project(bm).coefficients}
        for steps, sub in ((5 * k, k), (5, 1)):
            fine = ContinuumNetwork(wm, bm, activation=net.activation, scheme=scheme, steps=steps, weights=weights, dtype=torch.float64)
            expected = residual_mlp_in_sub_steps(x, matrices, biases, scheme, sub)
            with torch.no_grad():
                assert np.abs(fine(torch.as_tensor(x)).numpy() - expected).max() <= 1e-12 * np.abs(expected).max()


def test_breakpoints_one_ulp_apart_give_the_same_network():
    """Issue 12.1: two depth axes whose breakpoint 0.6 differs by 1.1e-16 gave outputs 0.12
    apart at 15 euler steps."""
    from fem_nn.continuum import depth_weights

    exact = uniform_axis((0, 1), 5, "p0", 0)
    nudged = Axis(np.where(np.arange(6) == 3, 0.6, exact.breakpoints), "p0", 0)
    assert exact.breakpoints[3] != nudged.breakpoints[3]
    grid = np.linspace(0, 1, 16).tolist()
    for k in range(15):
        interval = (grid[k], grid[k + 1])
        for c in (0.0, 0.5, 1.0):
            t = interval[0] + c * (interval[1] - interval[0])
            dofs = [depth_weights(axis, t, interval)[0].tolist() for axis in (exact, nudged)]
            assert dofs == [[k // 3]] * 2, (k, c, dofs)


def test_export_round_trip_runs_without_fem_nn(tmp_path):
    rng = np.random.default_rng(3)
    matrices, biases = rng.standard_normal((4, 6, 6)) / 3, rng.standard_normal((4, 6))
    net = ContinuumNetwork.from_residual_mlp(matrices, biases, "tanh")
    exported = net.export_resnet(6)
    x = torch.as_tensor(rng.standard_normal((5, 6)))
    assert torch.max(torch.abs(exported.module()(x) - net(x))) <= 1e-12
    path = tmp_path / "resnet.pt2"
    torch.export.save(exported, str(path))
    torch.save(x, tmp_path / "x.pt")
    script = (
        "import sys, torch; m = torch.export.load(sys.argv[1]).module(); x = torch.load(sys.argv[2]);"
        "print(repr(m(x).sum().item())); assert 'fem_nn' not in sys.modules"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "x.pt")], capture_output=True, text=True, check=True)
    assert float(out.stdout) == pytest.approx(net(x).sum().item(), rel=1e-12)


def constant_in_depth_network(scheme, steps):
    width = uniform_axis((-1, 1), 3, "legendre", 2)
    depth = uniform_axis((0, 1), 1, "p0", 0)
    rng = np.random.default_rng(11)
    wm, bm = weight_mesh(width, depth), bias_mesh(width, depth)
    weights = {"weight": rng.standard_normal(wm.shape), "bias": rng.standard_normal(bm.shape)}
    return ContinuumNetwork(wm, bm, activation="identity", scheme=scheme, steps=steps, weights=weights, dtype=torch.float64)


@pytest.mark.parametrize("scheme,order", [("euler", 1), ("midpoint", 2), ("heun", 2), ("ralston", 2), ("rk4", 4), ("rk4_38", 4)])
def test_observed_order_against_the_matrix_exponential(scheme, order):
    x = torch.as_tensor(np.random.default_rng(2).standard_normal((2, 12)))
    steps = np.array([8, 16, 32, 64])
    errors = []
    for n in steps:
        net = constant_in_depth_network(scheme, int(n))
        # the Nyström system h' = K h + b is linear: exact by the augmented exponential
        kernel = net.basis.kernels(net.weight)[0].detach().numpy()
        bias = net.basis.biases(net.bias)[0].detach().numpy()
        q = len(bias)
        augmented = np.zeros((q + 1, q + 1))
        augmented[:q, :q], augmented[:q, q] = kernel, bias
        h0 = net.read_in(x).numpy()
        exact = (expm(augmented) @ np.vstack([h0.T, np.ones((1, len(h0)))]))[:q].T
        errors.append(np.abs(net(x).detach().numpy() - exact).max())
    assert -np.polyfit(np.log(steps), np.log(errors), 1)[0] == pytest.approx(order, abs=0.1)


@pytest.mark.parametrize("depth_family,order", [("p0", 0), ("lagrange", 1), ("legendre", 2)])
def test_nested_depth_refinement_leaves_the_output_unchanged(depth_family, order):
    width = uniform_axis((-1, 1), 4, "lagrange", 2)
    depth = uniform_axis((0, 1), 3, depth_family, order)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), scheme="rk4", steps=6, dtype=torch.float64)
    with torch.no_grad():
        net.bias.normal_()
    fine_w, fine_b = net.weight_mesh.refined("delta"), net.bias_mesh.refined("delta")
    fields = net.fields()
    refined = ContinuumNetwork(
        fine_w, fine_b, scheme="rk4", steps=6, dtype=torch.float64,
        weights={"weight": fields["weight"].project(fine_w).coefficients, "bias": fields["bias"].project(fine_b).coefficients},
    )
    x = torch.randn(4, 10, dtype=torch.float64)
    assert torch.max(torch.abs(refined(x) - net(x))) <= 1e-12 * torch.max(torch.abs(net(x)))


@pytest.mark.parametrize("kernel_form", ["dense", "factored"])
@pytest.mark.parametrize("rhs", ["integral", "relaxation", "two_layer"])
def test_gradcheck(rhs, kernel_form):
    width = uniform_axis((-1, 1), 2, "lagrange", 1)
    depth = uniform_axis((0, 1), 2, "lagrange", 1)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs=rhs, scheme="midpoint", steps=2,
                           output_mesh=Mesh([uniform_axis((-1, 1), 3, "p0", 0)]), kernel_form=kernel_form,
                           dtype=torch.float64)
    x = torch.randn(2, 5, dtype=torch.float64)
    params = tuple(net.parameters())

    def function(*values):
        for p, v in zip(params, values):
            p.data = v
        return torch.func.functional_call(net, {n: v for (n, _), v in zip(net.named_parameters(), values)}, (x,))

    inputs = tuple(p.detach().clone().requires_grad_(True) for p in params)
    assert torch.autograd.gradcheck(function, inputs)


def test_state_dict_round_trip_and_float32():
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="heun", steps=3)
    other = ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="heun", steps=3)
    with torch.no_grad():
        other.weight.mul_(2.0)
    x = torch.randn(3, 8)
    assert not torch.equal(net(x), other(x))
    other.load_state_dict(net.state_dict())
    assert torch.equal(net(x), other(x))
    assert net(x).dtype == torch.float32
    assert net.double()(x.double()).dtype == torch.float64


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(scheme="rk5"), "scheme must be"), (dict(steps=0), "steps must be >= 1"), (dict(rhs="cubic"), "rhs must be"),
     (dict(activation="swishy"), "activation must be"), (dict(bias_mesh=bias_mesh(depth=uniform_axis((0, 2), 2, "p0", 0))), "disagree"),
     (dict(weights={"weight": np.zeros(3)}), "weights\\['weight'\\] must have shape"), (dict(weights={"W": 0}), "unknown names"),
     (dict(kernel_form="sparse"), "kernel_form must be one of")],
)
def test_bad_construction(kwargs, match):
    arguments = dict(weight_mesh=weight_mesh(), bias_mesh=bias_mesh())
    arguments.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        ContinuumNetwork(arguments.pop("weight_mesh"), arguments.pop("bias_mesh"), **arguments)


def test_bad_inputs():
    net = ContinuumNetwork(weight_mesh(), bias_mesh())
    with pytest.raises(ValueError, match="finite"):
        net(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="shape \\(batch, n_samples\\)"):
        net(torch.ones(3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        net(np.ones((2, 3)))


def test_l2_loss_is_the_integral_of_the_squared_error():
    readout = Mesh([uniform_axis((-1, 1), 4, "lagrange", 2)])
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), output_mesh=readout, dtype=torch.float64)
    from fem_nn import Field

    target = Field.from_function(readout, lambda x: np.cos(x))
    prediction = Field.from_function(readout, lambda x: x**2)
    loss = net.l2_loss(torch.as_tensor(prediction.coefficients)[None], torch.as_tensor(target.coefficients)[None])
    assert loss.item() == pytest.approx((prediction - target).norm() ** 2, rel=1e-13)
    nodes = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    y = torch.ones(3, len(nodes.nodes), dtype=torch.float64)
    assert nodes.l2_loss(2 * y, y).item() == pytest.approx(2.0, rel=1e-14)  # ∫ 1 over [-1, 1]
    with pytest.raises(ValueError, match="prediction and target"):
        nodes.l2_loss(y, y[:, :3])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("kernel_form", ["dense", "factored"])
def test_cpu_and_cuda_agree_in_float32(kernel_form):
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), output_mesh=Mesh([uniform_axis((-1, 1), 10, "p0", 0)]),
                           kernel_form=kernel_form)
    with torch.no_grad():
        net.bias.normal_()
    x = torch.randn(32, 16)
    cpu = net(x)
    gpu = net.to("cuda")(x.to("cuda")).cpu()
    assert torch.allclose(gpu, cpu, rtol=1e-5, atol=1e-5 * cpu.abs().max().item())


@pytest.mark.parametrize("family", ["legendre", "lagrange"])
def test_width_refinement_changes_the_output_by_the_quadrature_error(family):
    """Nested width refinement keeps the fields; only the Nyström nodes change. With Gauss
    rules of q = p + 1 points per cell the output converges at rate 2q = 4 for p = 1."""
    width, depth = uniform_axis((-1, 1), 4, family, 1), uniform_axis((0, 1), 2, "lagrange", 1)
    readout = Mesh([uniform_axis((-1, 1), 4, "legendre", 1)])
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), output_mesh=readout, dtype=torch.float64)
    with torch.no_grad():
        net.weight.mul_(0.3)
        net.bias.copy_(torch.randn(net.bias.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    x = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))  # aligned with the cells
    fields, outputs = net.fields(), []
    for k in (1, 2, 4, 8, 16):
        wm, bm = net.weight_mesh.refined(["xi", "eta"], k=k) if k > 1 else net.weight_mesh, net.bias_mesh.refined("xi", k=k) if k > 1 else net.bias_mesh
        weights = {"weight": fields["weight"].project(wm).coefficients, "bias": fields["bias"].project(bm).coefficients}
        outputs.append(ContinuumNetwork(wm, bm, output_mesh=readout, dtype=torch.float64, weights=weights)(x).detach())
    changes = [float(torch.linalg.vector_norm(b - a)) for a, b in zip(outputs, outputs[1:])]
    rate = -np.polyfit(np.arange(len(changes)), np.log2(changes), 1)[0]
    assert 3.7 <= rate <= 5.5, (changes, rate)


def test_inputs_at_points_and_outputs_at_points():
    width, depth = uniform_axis((-1, 1), 4, "legendre", 2), uniform_axis((0, 1), 2, "p0", 0)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), dtype=torch.float64)
    points = np.linspace(-1, 1, 7)
    x = torch.as_tensor(np.stack([points, points**2]))
    h0 = net.read_in(x, points)
    assert torch.allclose(h0[0], torch.as_tensor(net.nodes), atol=1e-15)  # linear data: exact
    assert float((h0[1] - torch.as_tensor(net.nodes) ** 2).abs().max()) <= (2 / 6) ** 2 / 4  # h² max|f"| / 8
    with pytest.raises(ValueError, match="one entry per sample"):
        net(x, points[:5])
    with pytest.raises(ValueError, match="strictly increasing"):
        net(x, points[::-1].copy())
    # evaluation at points equals the projection read out onto a fine mesh, evaluated there
    at = np.array([-0.9, -0.1, 0.35, 0.8])
    by_points = net.remanifested(output_mesh=at)(x, points)
    fine = Mesh([Axis(width.breakpoints, "legendre", width.orders)])
    coefficients = net.remanifested(output_mesh=fine)(x, points).detach().numpy()
    from fem_nn import Field

    expected = np.stack([Field(fine, c).evaluate(at) for c in coefficients])
    assert np.allclose(by_points.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="interval"):
        net.remanifested(output_mesh=np.array([0.0, 1.5]))


READOUT_WIDTHS = {
    "p0": ([-1, -0.4, 0.1, 1], "p0", 0),
    "legendre": ([-1, -0.2, 0.5, 1], "legendre", [2, 1, 3]),
    "lagrange_dg": ([-1, 0.3, 1], "lagrange_dg", [1, 2]),
    "lagrange": ([-1, -0.5, 0.0, 0.5, 1], "lagrange", 2),
}


def readout_net(width: Axis, output_mesh) -> ContinuumNetwork:
    depth = uniform_axis((0, 1), 1, "p0", 0)
    return ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), output_mesh=output_mesh, dtype=torch.float64)


def piecewise_polynomial(width: Axis, rng):
    """A random polynomial per width cell, of the cell's order (at most the nodes per cell
    less one): its values at each cell's quadrature nodes, in node order, and the function
    (inside the cells)."""
    degrees = np.minimum(width.orders, width.quadrature_points - 1)
    coefficients = [rng.standard_normal(d + 1) for d in degrees]
    nodes = width.quadrature_on_cells()[0]
    at_nodes = np.concatenate([np.polynomial.polynomial.polyval(x, c) for x, c in zip(nodes, coefficients)])

    def f(x):
        cells = np.searchsorted(width.breakpoints, x) - 1
        return np.array([np.polynomial.polynomial.polyval(xi, coefficients[c]) for xi, c in zip(x, cells)])

    return at_nodes, f


@pytest.mark.parametrize("quadrature", ["gauss_legendre", "gauss_lobatto"])
@pytest.mark.parametrize("family", list(READOUT_WIDTHS))
def test_readout_recovers_states_of_the_space(family, quadrature):
    """Issue 12.2: a Lobatto rule has each inner breakpoint as a node of both cells; every
    copy was read in the right-hand cell (a constant 1.7 read back as 0.85..3.4). Each copy
    is now read in its own cell: constants, and every piecewise polynomial the nodes
    determine, are read back exactly at points and onto an output mesh."""
    breakpoints, name, orders = READOUT_WIDTHS[family]
    width = Axis(breakpoints, name, orders, quadrature, 2 if name == "p0" and quadrature == "gauss_lobatto" else None)
    rng = np.random.default_rng(7)
    points = np.sort(rng.uniform(-1, 1, 40))
    output = Mesh([Axis(breakpoints, "legendre", width.max_order).refined()])
    at_points, onto_mesh = readout_net(width, points).readout.numpy(), readout_net(width, output).readout.numpy()
    assert np.abs(at_points @ np.full(at_points.shape[1], 1.7) - 1.7).max() <= 1e-12
    constant = Field(output, onto_mesh @ np.full(onto_mesh.shape[1], 1.7))
    assert np.abs(constant.evaluate(points) - 1.7).max() <= 1e-12
    state, f = piecewise_polynomial(width, rng)
    expected = f(points)
    scale = np.abs(expected).max()
    assert np.abs(at_points @ state - expected).max() <= 1e-12 * scale
    assert np.abs(Field(output, onto_mesh @ state).evaluate(points) - expected).max() <= 1e-12 * scale


@pytest.mark.parametrize("quadrature", ["gauss_legendre", "gauss_lobatto"])
@pytest.mark.parametrize("family,order", [("p0", 0), ("legendre", 2), ("lagrange_dg", 1), ("lagrange", 1), ("lagrange", 3)])
def test_readout_of_a_smooth_state_converges_under_h_refinement(family, order, quadrature):
    """Issue 12.2: with Lobatto the read-out error stayed at 1.97 (legendre p2) and 5.9
    (lagrange p1) however fine the mesh; now it falls like h^(p+1), as with Gauss."""
    points = np.linspace(-1, 1, 97)[1:-1] + 1e-3
    errors = []
    for n in (4, 8, 16, 32):
        width = Axis(np.linspace(-1, 1, n + 1), family, order, quadrature, 2 if family == "p0" and quadrature == "gauss_lobatto" else None)
        net = readout_net(width, points)
        errors.append(np.abs(net.readout.numpy() @ np.sin(2 * net.nodes) - np.sin(2 * points)).max())
    rate = -np.polyfit(np.log([4, 8, 16, 32]), np.log(errors), 1)[0]
    assert order + 0.8 <= rate <= order + 1.5, errors  # p3 on 4 Lobatto points superconverges a little


@pytest.mark.parametrize("points", [2, 3])
def test_lobatto_nodes_are_read_in_their_own_cells(points):
    """Issue 12.2: the Nyström tabulation (ξ, η and bias gather forms) and the read-in put
    both copies of a shared Lobatto node in the right-hand cell. On P0 fields a state
    constant per cell stays so, and a Lobatto rule integrates it exactly: the network is the
    one-point Gauss network (the residual MLP) to round-off, in torch, frozen and Numba."""
    from fem_nn.numba_backend import NumbaNetwork

    breakpoints = [-1, -0.6, -0.1, 0.2, 1]
    gauss, lobatto = Axis(breakpoints, "p0", 0), Axis(breakpoints, "p0", 0, "gauss_lobatto", points)
    depth = uniform_axis((0, 1), 2, "p0", 0)
    rng = np.random.default_rng(3)
    weights = {"weight": rng.standard_normal((4, 4, 2)), "bias": rng.standard_normal((4, 2))}
    output = Mesh([gauss])
    nets = [
        ContinuumNetwork(weight_mesh(w, depth), bias_mesh(w, depth), scheme="heun", steps=4, output_mesh=output,
                         weights=weights, dtype=torch.float64)
        for w in (gauss, lobatto)
    ]
    signals = [Field(output, row) for row in rng.standard_normal((3, 4))]
    expected = nets[0](signals).detach()
    scale = expected.abs().max()
    assert (nets[1](signals).detach() - expected).abs().max() <= 1e-12 * scale
    uniform = [ContinuumNetwork(weight_mesh(w, depth), bias_mesh(w, depth), weights=weights, dtype=torch.float64)
               for w in (uniform_axis((-1, 1), 4, "p0", 0), uniform_axis((-1, 1), 4, "p0", 0, quadrature="gauss_lobatto", quadrature_points=points))]
    x = torch.as_tensor(rng.standard_normal((3, 4)))
    node_states = [net(x).detach() for net in uniform]
    reference = node_states[0].repeat_interleave(points, dim=1)  # each cell's value at each of its nodes
    assert (node_states[1] - reference).abs().max() <= 1e-12 * reference.abs().max()
    assert (uniform[1].frozen(4)(x) - reference).abs().max() <= 1e-12 * reference.abs().max()
    assert np.abs(NumbaNetwork(uniform[1])(x.numpy()) - reference.numpy()).max() <= 1e-12 * reference.abs().max().item()


def test_read_in_at_one_point_is_the_constant_signal():
    """Issue 12.3: ``read_in(points=[one point])`` raised IndexError."""
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    x = torch.tensor([[3.0], [-1.5]], dtype=torch.float64)
    h = net.read_in(x, points=[0.2])
    assert torch.equal(h, x.expand(-1, len(net.nodes)))
    assert torch.equal(net(x, points=[0.2]), net(x.expand(-1, 5), points=np.linspace(-1, 1, 5)))


def test_rate_activation_and_relaxation_steps_are_as_documented():
    """Issue 12.3, the docs of RateActivation: with Euler steps of Δ = 1/D, γ(z) = (f(z) − z)/Δ
    gives ``h + f(z) − z`` per step; the "relaxation" right-hand side at rate 1/Δ gives the
    MLP layer ``f(A h + c)`` exactly."""
    from fem_nn import RateActivation

    rng = np.random.default_rng(4)
    matrices, biases = rng.standard_normal((3, 5, 5)) / 2, rng.standard_normal((3, 5))
    residual = ContinuumNetwork.from_residual_mlp(matrices, biases)  # the P0 fields of A_k, c_k
    weights = {name: p.detach().numpy() for name, p in residual.named_parameters()}
    meshes = residual.weight_mesh, residual.bias_mesh
    rate = ContinuumNetwork(*meshes, activation=RateActivation("tanh", 1 / 3), scheme="euler", weights=weights, dtype=torch.float64)
    relaxation = ContinuumNetwork(*meshes, rhs="relaxation", rate=3.0, scheme="euler", weights=weights, dtype=torch.float64)
    x = rng.standard_normal((4, 5))
    by_rate, mlp = x, x
    for a, c in zip(matrices, biases):
        z = by_rate @ a.T + c
        by_rate = by_rate + np.tanh(z) - z
        mlp = np.tanh(mlp @ a.T + c)
    with torch.no_grad():
        assert np.abs(rate(torch.as_tensor(x)).numpy() - by_rate).max() <= 1e-12 * np.abs(by_rate).max()
        assert np.abs(relaxation(torch.as_tensor(x)).numpy() - mlp).max() <= 1e-12 * np.abs(mlp).max()


def test_repr_shows_meshes_scheme_steps_and_parameter_count_and_help_shows_fem_nn():
    """Issue 12.11: ``repr`` of a network showed ``ContinuumNetwork()``; ``help`` of its
    ``__init__`` showed torch's text."""
    import pydoc

    width = Axis([-1, 0.2, 1], "legendre", [1, 3])
    depth = uniform_axis((0, 1), 3, "lagrange", 1)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs="two_layer", scheme="ralston", steps=7,
                           output_mesh=Mesh([uniform_axis((-1, 1), 5, "p0", 0)]))
    text = repr(net)
    assert "weight_mesh: xi 2 legendre p1-3 × eta 2 legendre p1-3 × delta 3 lagrange p1 (6 × 6 × 4 dofs)" in text
    assert "bias_mesh: xi 2 legendre p1-3 × delta 3 lagrange p1 (6 × 4 dofs)" in text
    assert "output: L2 projection onto xi 5 p0 (5 dofs)" in text
    assert "rhs=two_layer, activation=tanh, scheme=ralston, steps=7" in text
    assert f"parameters: {2 * (6 * 6 * 4 + 6 * 4)} (weight1 144, bias1 24, weight2 144, bias2 24)" in text
    help_text = pydoc.render_doc(ContinuumNetwork.__init__)
    assert "help(ContinuumNetwork)" in help_text and "Module state" not in help_text


@pytest.mark.parametrize("family,order", [("lagrange", 1), ("lagrange", 2), ("legendre", 1)])
def test_stage_values_combine_the_depth_dofs(family, order):
    # P1 between its nodes is one interpolation (a partition of unity), the others a sum
    from fem_nn.continuum import DepthLookup, StageValues, depth_weights

    depth = uniform_axis((0, 1), 2, family, order)
    table = torch.randn(depth.n_dofs, 3, 4, dtype=torch.float64)
    values = StageValues(table, DepthLookup(depth))
    for t, interval in [(0.0, (0.0, 0.25)), (0.1, (0.0, 0.25)), (0.5, (0.25, 0.5)), (0.5, (0.5, 0.75)), (0.8, (0.75, 1.0))]:
        dofs, weights = depth_weights(depth, t, interval)
        expected = sum(w * table[d] for d, w in zip(dofs, weights))
        torch.testing.assert_close(values(t, interval), expected, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "identity", "gelu", "hardtanh", {"name": "tanh", "scale": 3.0}])
def test_activations_in_place_are_the_activations(activation):
    from fem_nn.activations import activation_function, apply_in_place

    function = activation_function(activation)
    z = torch.randn(4, 3, dtype=torch.float64)
    assert torch.equal(apply_in_place(function, z.clone()), function(z))
    # on a fresh product, as in a stage: autograd's gradients stay right
    m = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda m: apply_in_place(function, z @ m), (m,))


@pytest.mark.parametrize("rhs", ["integral", "relaxation", "two_layer"])
@pytest.mark.parametrize("width", [
    Axis([-1, -0.3, 0.2, 1], "p0", 0, quadrature_points=2), Axis([-1, 0.1, 1], "legendre", [3, 1]),
    Axis([-1, -0.5, 0.5, 1], "lagrange_dg", [1, 2, 3]), uniform_axis((-1, 1), 5, "lagrange", 2),
])
def test_kernel_forms_agree_in_outputs_and_gradients(width, rhs):
    depth = Axis([0, 0.4, 1], "lagrange", [2, 1])
    nets = [ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs=rhs, scheme="rk4", steps=3,
                             kernel_form=form, dtype=torch.float64) for form in ("dense", "factored")]
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in nets[0].parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64))
    nets[1].load_state_dict(nets[0].state_dict())
    x = torch.randn(4, 7, generator=generator, dtype=torch.float64)
    outputs = []
    for net in nets:
        y = net(x)
        y.square().sum().backward()
        outputs.append([y] + [p.grad for p in net.parameters()])
    for dense, factored in zip(*outputs):
        assert torch.max(torch.abs(dense - factored)) <= 1e-12 * torch.max(torch.abs(dense))


def test_auto_kernel_form_takes_the_factored_form_where_it_saves_work():
    def form(width):
        depth = uniform_axis((0, 1), 2, "p0", 0)
        return ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth)).factored

    # continuous P1 on 2 Gauss points per cell: half as many dofs as nodes, worth it from ~170 nodes
    assert not form(uniform_axis((-1, 1), 64, "lagrange", 1)) and form(uniform_axis((-1, 1), 256, "lagrange", 1))
    # as many dofs as nodes: the factored form only adds the sparse products
    assert not form(uniform_axis((-1, 1), 256, "legendre", 1)) and not form(uniform_axis((-1, 1), 512, "p0", 0))
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), kernel_form="factored")
    assert net.factored and ContinuumNetwork.from_config(net.config()).kernel_form is KernelForm.FACTORED
    older = {key: value for key, value in net.config().items() if key != "kernel_form"}  # saved before kernel forms
    assert ContinuumNetwork.from_config(older).kernel_form is KernelForm.AUTO
    assert net.remanifested(steps=2).factored


def test_fields_read_in_as_their_values_at_the_nodes():
    from fem_nn import Field

    width, depth = uniform_axis((-1, 1), 4, "legendre", 2), uniform_axis((0, 1), 2, "p0", 0)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), output_mesh=np.array([-0.5, 0.5]),
                           dtype=torch.float64)
    samples = np.random.default_rng(4).standard_normal((3, 6))
    signals = [Field(Mesh([uniform_axis((-1, 1), 6, "p0", 0)]), row) for row in samples]
    # a P0 field on N_x equal cells is the signal of N_x samples
    assert torch.equal(net(signals), net(torch.as_tensor(samples)))
    smooth = Field.from_function(Mesh([uniform_axis((-1, 1), 3, "lagrange", 3)]), lambda x: np.sin(2 * x))
    assert torch.allclose(net.read_in(smooth)[0], torch.as_tensor(smooth.evaluate(net.nodes)), rtol=0, atol=0)
    with pytest.raises(ValueError, match="points must be None"):
        net(smooth, points=np.linspace(-1, 1, 4))
    with pytest.raises(ValueError, match=r"x\[0\] must be a Field on a 1D mesh"):
        net([Field(Mesh([uniform_axis((0, 1), 2, "p0", 0)]), np.ones(2))])


@pytest.mark.parametrize("scheme", ["euler", "heun", "rk4", "rk4_38"])
@pytest.mark.parametrize("rhs", ["integral", "relaxation", "two_layer"])
@pytest.mark.parametrize("depth", [uniform_axis((0, 1), 3, "p0", 0), Axis([0, 0.4, 1], "lagrange", [2, 1])])
def test_frozen_manifestation_computes_the_network(scheme, rhs, depth):
    width = uniform_axis((-1, 1), 5, "lagrange", 2)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs=rhs, scheme=scheme, steps=5, rate=0.7,
                           output_mesh=Mesh([uniform_axis((-1, 1), 3, "p0", 0)]), kernel_form="factored", dtype=torch.float64)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64))
    x = torch.randn(4, 9, generator=generator, dtype=torch.float64)
    expected = net(x)
    assert torch.max(torch.abs(net.frozen(9)(x) - expected)) <= 1e-12 * torch.max(torch.abs(expected))
    program = net.export(9)
    assert torch.max(torch.abs(program.module()(x[:3]) - expected[:3])) <= 1e-12 * torch.max(torch.abs(expected))
    if scheme == "euler" and rhs != "two_layer":
        net.export_resnet(9)
    else:
        with pytest.raises(ValueError, match="export_resnet needs scheme 'euler'"):
            net.export_resnet(9)


def test_replaced_rebuilds_without_the_file_format(monkeypatch):
    from fem_nn import refined_network
    from fem_nn.training import projected_depth

    width, depth = uniform_axis((-1, 1), 3, "legendre", 1), uniform_axis((0, 1), 2, "p0", 0)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs="relaxation", rate=0.5,
                           read_in_form="projection", n_samples=12, dtype=torch.float64)
    monkeypatch.setattr(ContinuumNetwork, "config", lambda self: pytest.fail("a rebuild went through config()"))
    x = torch.rand(3, 12, dtype=torch.float64)
    deeper = refined_network(net, "depth")  # nested: the same function, every setting kept
    assert torch.allclose(deeper(x), net(x), rtol=0, atol=1e-13) and deeper.n_samples == 12 and deeper.rate == 0.5
    assert projected_depth(net, 4, 4, "rk4").weight.shape == (6, 6, 4)
    other = net.remanifested(scheme="midpoint", steps=3, quadrature_points=3)
    assert torch.equal(other.weight, net.weight) and other.weight is not net.weight and len(other.nodes) == 9
    given = net.replaced(weights={"weight": np.zeros(net.weight.shape), "bias": np.ones(net.bias.shape)})
    assert float(given.weight.detach().abs().max()) == 0.0 and given.dtype == torch.float64
    shadow = net.replaced(steps=4, share=True)
    assert all(p is q for p, q in zip(shadow.parameters(), net.parameters(), strict=True)) and net.steps == 2
    with pytest.raises(ValueError, match="share needs"):
        net.replaced(weight_mesh=net.weight_mesh.refined("delta"), bias_mesh=net.bias_mesh.refined("delta"), share=True)


def test_a_resampling_read_in_follows_a_changed_sample_count():
    # the read-in memo was keyed without the trained count: after n_samples changed, signals
    # of another count were still resampled onto the old count
    width, depth = uniform_axis((-1, 1), 4, "lagrange", 1), uniform_axis((0, 1), 1, "p0", 0)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), n_samples=24, dtype=torch.float64)
    x = torch.rand(2, 16, dtype=torch.float64)
    net.read_in(x, resample=True)
    net.n_samples = 32
    fresh = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), n_samples=32, dtype=torch.float64)
    assert torch.equal(net.read_in(x, resample=True), fresh.read_in(x, resample=True))
