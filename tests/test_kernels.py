"""Local kernels (fem_nn.convolution): the conv and banded paths against hand-written loops
Σ_j w_j κ(ξ_q − ξ_j) h_j (κ evaluated by Field, images written out per boundary), a bare
conv1d, resolution invariance, kernel-field projection, gradients and bad input."""

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from fem_nn import Axis, Field, Mesh, fitted_rate, uniform_axis
from fem_nn.continuum.width import nystrom_nodes
from fem_nn.convolution import LocalKernel, LocalKernel2d

BOUNDARIES = ["zero", "periodic", "reflect"]
# images of the nodes x per boundary, written out (the library's are affine maps)
IMAGES = {"zero": lambda x: [x], "periodic": lambda x: [x, x - 2, x + 2], "reflect": lambda x: [x, -2 - x, 2 - x]}
WIDTHS = {  # name: (axis, the path the layer takes)
    "midpoint": (uniform_axis((-1, 1), 12, "p0", 0), "conv"),
    "gauss3": (uniform_axis((-1, 1), 5, "legendre", 2), "conv"),
    "lobatto": (uniform_axis((-1, 1), 6, "lagrange", 2, quadrature="gauss_lobatto", quadrature_points=3), "conv"),
    "graded": (Axis([-1, -0.8, -0.45, 0.1, 0.3, 1], "legendre", 1, quadrature_points=3), "banded"),
}
# radius and kernel breakpoints off the node lattices: no offset lands on a jump
KERNEL_AXES = {
    "legendre2": Axis([-0.37, -0.11, 0.05, 0.37], "legendre", 2),
    "lagrange2": Axis([-0.37, 0.02, 0.37], "lagrange", 2),
    "p0": Axis([-0.37, -0.13, 0.17, 0.37], "p0", 0),
}


def kernel_function(kernel_axes, coefficients):
    """κ(s) (or κ(s, t)) at points, shape (n, out, in), by Field evaluation per channel pair."""
    mesh = Mesh(kernel_axes)
    d = len(kernel_axes)
    c = coefficients.detach().numpy()

    def kappa(*offsets):
        points = np.column_stack([np.ravel(o) for o in offsets])
        out = np.zeros((len(points), *c.shape[d:]))
        for o in range(c.shape[d]):
            for i in range(c.shape[d + 1]):
                out[:, o, i] = Field(mesh, c[(Ellipsis, o, i)]).evaluate(points)
        return out

    return kappa


def loop_reference(kernel, h, width):
    x, w, _ = nystrom_nodes(width)
    kappa = kernel_function(kernel.kernel_axes, kernel.coefficients)
    r = kernel.radius[0]
    out = torch.zeros(h.shape[0], kernel.out_channels, len(x), dtype=torch.float64)
    for y in IMAGES[kernel.boundary.name](x):
        for q in range(len(x)):
            j = np.flatnonzero(np.abs(x[q] - y) <= r)
            if len(j):
                k = torch.as_tensor(kappa(x[q] - y[j]) * w[j][:, None, None])  # (j, out, in)
                out[:, :, q] += torch.einsum("joi,bij->bo", k, h[:, :, j])
    return out


@pytest.mark.parametrize("width_name", sorted(WIDTHS))
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_local_kernel_is_the_nystrom_sum(boundary, width_name):
    torch.manual_seed(0)
    width, path = WIDTHS[width_name]
    # every kernel family meets every boundary and is run on each width
    kernel_name = sorted(KERNEL_AXES)[(BOUNDARIES.index(boundary) + sorted(WIDTHS).index(width_name)) % len(KERNEL_AXES)]
    kernel = LocalKernel(KERNEL_AXES[kernel_name], 2, 3, boundary=boundary)
    n = len(nystrom_nodes(width)[0])
    h = torch.randn(4, 2, n, dtype=torch.float64)
    out = kernel(h, width)
    assert kernel._plan((width,))[0] == path
    assert out.shape == (4, 3, n)
    assert (out - loop_reference(kernel, h, width)).abs().max() <= 1e-12


@pytest.mark.parametrize("boundary, mode", [("zero", "constant"), ("periodic", "circular"), ("reflect", None)])
def test_midpoint_nodes_make_a_plain_conv1d(boundary, mode):
    """One node per equal cell: the layer is conv1d with the taps h κ(m h), h the cell width."""
    torch.manual_seed(1)
    n, r = 32, 0.3
    kernel = LocalKernel(uniform_axis((-r, r), 3, "lagrange", 2), 4, 5, boundary=boundary)
    step = 2 / n
    m = np.arange(-int(r / step), int(r / step) + 1)
    taps = step * kernel_function(kernel.kernel_axes, kernel.coefficients)(m * step)  # (taps, out, in)
    weight = torch.as_tensor(taps[::-1].copy()).permute(1, 2, 0)  # cross-correlation order
    h = torch.randn(3, 4, n, dtype=torch.float64)
    halo = len(m) // 2
    if mode is None:  # mirror about the ends, the end cell included
        padded = torch.cat([h[..., :halo].flip(-1), h, h[..., -halo:].flip(-1)], -1)
    else:
        padded = torch.nn.functional.pad(h, (halo, halo), mode=mode)
    reference = torch.nn.functional.conv1d(padded, weight)
    width = uniform_axis((-1, 1), n, "p0", 0)
    assert (kernel(h, width) - reference).abs().max() <= 1e-12
    exported, padding = kernel.conv_weight(width)  # what a plain torch model would hold
    assert padding == (halo,) and (exported - weight).abs().max() <= 1e-15
    with pytest.raises(ValueError, match="the widths must have equal cells"):
        kernel.conv_weight(WIDTHS["graded"][0])


def test_the_benchmark_runs_and_reports_its_ratios(capsys):
    from argparse import Namespace

    from fem_nn.bench import kernels as bench

    figures = bench.run(Namespace(channels=2, nodes=16, batch=2, radius=0.2, modes=3, repeat=1))
    assert {"local_forward_vs_conv1d", "spectral_forward_vs_rfft"} <= set(figures)
    assert all(value > 0 for value in figures.values()) and "conv1d" in capsys.readouterr().out


def loop_reference_2d(kernel, h, width_x, width_y):
    """Σ over the image pairs of Σ_{j,l} w_j v_l κ(ξ_q − ξ_j, η_p − η_l) h_jl, the box support
    as a mask, κ by Field on every (q, j, p, l) of one image pair at once."""
    (x, wx, _), (y, wy, _) = nystrom_nodes(width_x), nystrom_nodes(width_y)
    kappa = kernel_function(kernel.kernel_axes, kernel.coefficients)
    rs, rt = kernel.radius
    out = torch.zeros(h.shape[0], kernel.out_channels, len(x), len(y), dtype=torch.float64)
    images = IMAGES[kernel.boundary.name]
    for ix in images(x):
        for iy in images(y):
            s, t = x[:, None] - ix[None, :], y[:, None] - iy[None, :]  # (q, j), (p, l)
            inside = (np.abs(s) <= rs)[:, :, None, None] & (np.abs(t) <= rt)[None, None, :, :]
            q, j, p, l = np.nonzero(inside)
            if len(q) == 0:
                continue
            k = np.zeros((len(x), len(x), len(y), len(y), kernel.out_channels, kernel.in_channels))
            k[q, j, p, l] = kappa(s[q, j], t[p, l]) * (wx[j] * wy[l])[:, None, None]
            out += torch.einsum("qjploi,bijl->boqp", torch.as_tensor(k), h)
    return out


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("widths, path", [
    ((uniform_axis((-1, 1), 6, "p0", 0), uniform_axis((-1, 1), 3, "legendre", 1)), "conv"),
    ((Axis([-1, -0.3, 0.2, 1], "legendre", 1), uniform_axis((-1, 1), 5, "p0", 0)), "banded"),
])
def test_local_kernel_2d_is_the_nystrom_sum(boundary, widths, path):
    torch.manual_seed(2)
    kernel_axes = (Axis([-0.43, 0.1, 0.43], "legendre", 1), Axis([-0.61, 0.61], "lagrange", 2))
    kernel = LocalKernel2d(kernel_axes, 2, 3, boundary=boundary)
    shape = [len(nystrom_nodes(w)[0]) for w in widths]
    h = torch.randn(2, 2, *shape, dtype=torch.float64)
    out = kernel(h, *widths)
    assert kernel._plan(widths)[0] == path and out.shape == (2, 3, *shape)
    assert (out - loop_reference_2d(kernel, h, *widths)).abs().max() <= 1e-12


def test_conv2d_of_a_separable_kernel_is_two_conv1d():
    """κ(s, t) = κ1(s) κ2(t) on a P0 × P0 image: the 2D layer is the 1D layers along each axis."""
    torch.manual_seed(3)
    axis_s, axis_t = uniform_axis((-0.3, 0.3), 2, "lagrange", 1), uniform_axis((-0.5, 0.5), 3, "legendre", 1)
    along_s, along_t = LocalKernel(axis_s, 1, 1, boundary="reflect"), LocalKernel(axis_t, 1, 1, boundary="reflect")
    product = torch.einsum("d,e->de", along_s.coefficients[:, 0, 0], along_t.coefficients[:, 0, 0])[..., None, None]
    kernel = LocalKernel2d((axis_s, axis_t), 1, 1, boundary="reflect", coefficients=product.detach())
    width = uniform_axis((-1, 1), 16, "p0", 0)
    h = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    # along x for every (image, y), then along y for every (image, x)
    rows = along_s(h.permute(0, 3, 1, 2).reshape(-1, 1, 16), width).reshape(2, 16, 1, 16).permute(0, 2, 3, 1)
    both = along_t(rows.reshape(-1, 1, 16), width).reshape(2, 1, 16, 16)
    assert (kernel(h, width) - both).abs().max() <= 1e-12


def test_a_finer_width_computes_the_integral_at_the_quadrature_rate():
    """Zero boundary, a polynomial kernel vanishing at ±r and a smooth signal on Gauss–Lobatto
    nodes (P1: the trapezoid rule): at the coarse breakpoints, common to every refinement,
    the outputs converge to ∫ κ(ξ − ξ') h(ξ') dξ' at rate 2 (kinks of κ at kernel
    breakpoints keep the rate but make its constant jump with the offsets' alignment)."""
    r = 0.35
    kernel_axis = uniform_axis((-r, r), 1, "lagrange", 6)
    bump = Field.from_function(kernel_axis, lambda s: (r**2 - s**2) ** 2 / r**4, method="interpolate")  # 0 at ±r
    kernel = LocalKernel(kernel_axis, 1, 1, coefficients=bump.coefficients[:, None, None])

    def signal(x):
        return np.sin(2 * x) * np.exp(x)

    points = np.linspace(-1, 1, 5)
    exact = np.array([quad(lambda y: bump.evaluate(np.array([[p - y]]))[0] * signal(y), max(-1, p - r), min(1, p + r),
                           points=[p - b for b in kernel_axis.breakpoints if -1 < p - b < 1], limit=200)[0]
                      for p in points])
    cells, errors, outputs = [16, 32, 64, 128, 256], [], []
    for n in cells:
        width = uniform_axis((-1, 1), n, "lagrange", 1, quadrature="gauss_lobatto", quadrature_points=2)
        x = nystrom_nodes(width)[0]
        out = kernel(torch.as_tensor(signal(x))[None, None], width)[0, 0].detach().numpy()
        # each coarse breakpoint is a node (twice inside: both copies read the same sum)
        at = [int(np.flatnonzero(np.isclose(x, p, atol=1e-14))[0]) for p in points]
        outputs.append(out[at])
        errors.append(np.abs(out[at] - exact).max())
    assert fitted_rate(cells, errors) >= 1.8
    assert np.abs(outputs[-1] - outputs[-2]).max() <= 2e-5


@pytest.mark.parametrize("width", [WIDTHS["gauss3"][0], WIDTHS["graded"][0]], ids=["conv", "banded"])
def test_nested_kernel_refinement_leaves_the_outputs_unchanged(width):
    torch.manual_seed(4)
    kernel = LocalKernel(KERNEL_AXES["legendre2"], 2, 2, boundary="periodic")
    h = torch.randn(3, 2, len(nystrom_nodes(width)[0]), dtype=torch.float64)
    out = kernel(h, width)
    for other in (kernel.refined(), kernel.elevated(2), kernel.refined(3).elevated()):
        assert other.kernel_axis.contains(kernel.kernel_axis)
        assert (other(h, width) - out).abs().max() <= 1e-12
    back = kernel.refined().projected(kernel.kernel_axis)
    assert (back.coefficients - kernel.coefficients).abs().max() <= 1e-13
    box = (KERNEL_AXES["legendre2"], KERNEL_AXES["p0"])
    image = LocalKernel2d(box, 1, 2)
    h2 = torch.randn(1, 1, 12, 12, dtype=torch.float64)
    grid = WIDTHS["midpoint"][0]
    assert (image.refined().elevated()(h2, grid) - image(h2, grid)).abs().max() <= 1e-12


@pytest.mark.parametrize("width", [uniform_axis((-1, 1), 3, "legendre", 1), WIDTHS["graded"][0]], ids=["conv", "banded"])
def test_gradients_in_the_signal_and_the_coefficients(width):
    torch.manual_seed(5)
    kernel = LocalKernel(KERNEL_AXES["lagrange2"], 2, 1, boundary="reflect")
    h = torch.randn(1, 2, len(nystrom_nodes(width)[0]), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda h, c: torch.func.functional_call(kernel, {"coefficients": c}, (h, width)),
                                    (h, kernel.coefficients.detach().clone().requires_grad_()))


def test_bad_input_is_refused_by_name():
    axis = KERNEL_AXES["p0"]
    with pytest.raises(ValueError, match=r"boundary must be one of \['zero', 'periodic', 'reflect'"):
        LocalKernel(axis, 1, 1, boundary="mirror")
    with pytest.raises(ValueError, match="kernel_axis must lie on a symmetric interval"):
        LocalKernel(uniform_axis((-0.2, 0.3), 2, "p0", 0), 1, 1)
    with pytest.raises(ValueError, match="0 < r <= 1"):
        LocalKernel(uniform_axis((-1.5, 1.5), 2, "p0", 0), 1, 1)
    with pytest.raises(TypeError, match="kernel_axis must be an Axis"):
        LocalKernel((-0.3, 0.3), 1, 1)
    with pytest.raises(ValueError, match=r"coefficients must have shape \(3, 2, 1\)"):
        LocalKernel(axis, 1, 2, coefficients=np.zeros((3, 1, 2)))
    kernel = LocalKernel(axis, 2, 1)
    with pytest.raises(ValueError, match=r"h must be a tensor of shape \(batch, 2, 12\)"):
        kernel(torch.zeros(1, 2, 10, dtype=torch.float64), WIDTHS["midpoint"][0])
    with pytest.raises(ValueError, match=r"width must be an axis on \[-1, 1\]"):
        kernel(torch.zeros(1, 2, 4, dtype=torch.float64), uniform_axis((0, 1), 4, "p0", 0))
    with pytest.raises(TypeError, match="h must have the kernel's dtype torch.float64"):
        kernel(torch.zeros(1, 2, 12), WIDTHS["midpoint"][0])
    with pytest.raises(TypeError, match="kernel_axes must be a pair of Axis"):
        LocalKernel2d(axis, 1, 1)


def test_a_registered_boundary_runs_through_both_paths():
    """A toy boundary registered from here: periodic on the left, mirrored on the right."""
    from fem_nn.convolution import Boundary, boundaries

    class Mixed(Boundary):
        name = "test_periodic_reflect"
        maps = ((1.0, 2.0), (-1.0, 2.0))

    mixed = boundaries.register(Mixed())
    assert boundaries("test_periodic_reflect") is mixed
    IMAGES[mixed.name] = lambda x: [x, x - 2, 2 - x]
    torch.manual_seed(6)
    kernel = LocalKernel(KERNEL_AXES["legendre2"], 1, 2, boundary=mixed.name)
    for name in ("gauss3", "graded"):
        width, path = WIDTHS[name]
        h = torch.randn(2, 1, len(nystrom_nodes(width)[0]), dtype=torch.float64)
        assert kernel._plan((width,))[0] == path
        assert (kernel(h, width) - loop_reference(kernel, h, width)).abs().max() <= 1e-12


def test_the_optimizer_state_moves_with_a_refined_kernel():
    """transfer_optimizer moves Adam's moments along the kernel axes (parameter_meshes):
    coarsening after refining gives the first moments back."""
    from fem_nn import transfer_optimizer

    torch.manual_seed(7)
    kernel = LocalKernel(KERNEL_AXES["legendre2"], 2, 2, boundary="periodic")
    adam = torch.optim.Adam(kernel.parameters(), lr=1e-2)
    width = WIDTHS["midpoint"][0]
    kernel(torch.randn(3, 2, 12, dtype=torch.float64), width).square().sum().backward()
    adam.step()
    fine = kernel.refined()
    moved = transfer_optimizer(adam, kernel, fine)
    assert moved.state[fine.coefficients]["exp_avg"].shape == fine.coefficients.shape
    back = transfer_optimizer(moved, fine, fine.projected(kernel.kernel_axis))
    before, after = adam.state[kernel.coefficients]["exp_avg"], next(iter(back.state.values()))["exp_avg"]
    assert (after - before).abs().max() <= 1e-12 * before.abs().max()
    assert (moved.state[fine.coefficients]["exp_avg_sq"] >= 0).all()


def test_a_kernel_moves_to_another_dtype_and_is_copied_with_its_function():
    import copy

    torch.manual_seed(8)
    kernel = LocalKernel(KERNEL_AXES["legendre2"], 2, 2, boundary="reflect")
    width = WIDTHS["graded"][0]
    h = torch.randn(2, 2, len(nystrom_nodes(width)[0]), dtype=torch.float64)
    out = kernel(h, width)
    assert (copy.deepcopy(kernel)(h, width) - out).abs().max() == 0
    single = copy.deepcopy(kernel).float()
    assert single.coefficients.dtype == torch.float32 and list(single.state_dict()) == ["coefficients"]
    assert (single(h.float(), width).double() - out).abs().max() <= 1e-5

