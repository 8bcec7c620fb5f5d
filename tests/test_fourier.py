"""The Fourier shape family (orthogonality, projections to and from the polynomial
families) and the spectral kernel (against a hand-written DFT, at two resolutions, against
a local kernel of radius 1 and neuraloperator's SpectralConv)."""

import numpy as np
import pytest
import torch

from fem_nn import Axis, Family, Field, fitted_rate, l2_distance, mass_matrix, tabulate, uniform_axis
from fem_nn.continuum.width import nystrom_nodes
from fem_nn.convolution import LocalKernel, SpectralKernel


def test_the_basis_is_1_cos_sin_and_its_derivative_matches():
    x = np.linspace(-1, 1, 7)
    values, derivatives = tabulate("fourier", 4, x, 1)
    expected = np.stack([np.ones_like(x), np.cos(np.pi * x), np.sin(np.pi * x), np.cos(2 * np.pi * x), np.sin(2 * np.pi * x)], 1)
    assert np.abs(values - expected).max() <= 1e-15
    step = 1e-6
    fd = (tabulate("fourier", 4, x + step)[0] - tabulate("fourier", 4, x - step)[0]) / (2 * step)
    assert np.abs(derivatives - fd).max() <= 1e-7
    assert not Family.FOURIER.polynomial and Family.LEGENDRE.polynomial


@pytest.mark.parametrize("order", [0, 3, 8, 24])
def test_the_mass_is_diagonal(order):
    mass = mass_matrix(Axis([-1, 1], "fourier", order)).toarray()
    assert np.abs(mass - np.diag([2.0] + [1.0] * order)).max() <= 1e-13
    cells = Axis([-1, -0.2, 0.5, 1], "fourier", [order, 2, 5]).widths
    mass = mass_matrix(Axis([-1, -0.2, 0.5, 1], "fourier", [order, 2, 5])).toarray()
    diagonal = np.concatenate([h / 2 * np.array([2.0] + [1.0] * p) for h, p in zip(cells, [order, 2, 5])])
    assert np.abs(mass - np.diag(diagonal)).max() <= 1e-13


def test_fourier_to_fourier_of_higher_order_is_exact(rng):
    coarse = Axis([-1, 1], "fourier", 6)
    field = Field(coarse, rng.standard_normal(coarse.n_dofs))
    for finer in (coarse.elevated(), coarse.elevated(9)):
        assert finer.contains(coarse) and not coarse.contains(finer)
        up = field.project(finer)
        assert np.abs(up.coefficients[:7] - field.coefficients).max() <= 1e-13
        assert np.abs(up.coefficients[7:]).max() <= 1e-13
        assert np.abs(up.project(coarse).coefficients - field.coefficients).max() <= 1e-13
    x = np.linspace(-1, 1, 11)[:, None]
    assert np.abs(field.project(coarse.elevated(3)).evaluate(x) - field.evaluate(x)).max() <= 1e-12


@pytest.mark.parametrize("polynomial, order", [("p0", 0), ("legendre", 3), ("lagrange", 2)])
def test_constants_are_exact_both_ways(polynomial, order):
    """Constants on each cell (one constant for the continuous family): from the polynomial
    family into Fourier of any order, and from Fourier of order 0 into it."""
    cells = [-1, -0.3, 1]
    other = Axis(cells, polynomial, order)
    means = np.array([2.5, 2.5]) if other.family.continuous else np.array([2.5, -1.0])
    constant = Field(Axis(cells, "p0", 0), means)
    x = np.array([[-0.9], [-0.5], [0.2], [0.99]])
    for fourier in (Axis(cells, "fourier", 5), Axis(cells, "fourier", 0), Axis([-1, 1], "fourier", 2)):
        if fourier.n_cells == 1 and not other.family.continuous:
            continue  # one Fourier cell holds one constant only
        to_fourier = constant.project(other).project(fourier)
        assert np.abs(to_fourier.evaluate(x) - constant.evaluate(x)).max() <= 1e-12
        assert to_fourier.integrate() == pytest.approx(constant.integrate(), abs=1e-12)
    back = Field(Axis(cells, "fourier", 0), means).project(other)
    assert np.abs(back.evaluate(x) - constant.evaluate(x)).max() <= 1e-12
    assert Axis(cells, "fourier", 3).contains(Axis(cells, "p0", 0)) and Axis(cells, "fourier", 3).contains(Axis(cells, "fourier", 1))
    assert not Axis(cells, "fourier", 3).contains(Axis(cells, "legendre", 1))
    assert not Axis(cells, "legendre", 9).contains(Axis(cells, "fourier", 1))


def smooth_periodic(x):
    return np.exp(np.sin(np.pi * x)) + np.cos(3 * np.pi * x) / 4


def test_legendre_to_fourier_converges_spectrally():
    """A smooth periodic function, as an accurate Legendre field, projected onto one Fourier
    cell of modes K: the L2 error falls faster than any power of K."""
    legendre = Field.from_function(uniform_axis((-1, 1), 8, "legendre", 12), smooth_periodic)
    modes = [2, 4, 6, 8, 10, 12]
    errors = [legendre.project(Axis([-1, 1], "fourier", 2 * k)).l2_error(smooth_periodic, quadrature_points=80)
              for k in modes]
    assert all(b < a / 10 for a, b in zip(errors, errors[1:4]))  # geometric decay ...
    assert fitted_rate(modes[:4], errors[:4]) >= 6  # ... before the Legendre field's own error
    assert errors[-1] <= 1e-11


def test_fourier_to_legendre_converges_at_order_plus_one():
    fourier = Field.from_function(Axis([-1, 1], "fourier", 12), smooth_periodic, quadrature_points=80)
    for order in (1, 2):
        cells = [4, 8, 16, 32]
        errors = [fourier.project(uniform_axis((-1, 1), n, "legendre", order)).l2_error(smooth_periodic, quadrature_points=12)
                  for n in cells]
        assert fitted_rate(cells, errors, last=3) >= order + 0.8


def dft_reference(kernel, h, x, w, at=None):
    """Σ_{|k| < modes} a_k e^{ikπξ_q} Σ_j w_j e^{-ikπξ_j} h_j, a_{-k} = conj(a_k), in complex
    arithmetic, at the nodes ξ_q = `at` (default the nodes x_j)."""
    c = kernel.coefficients.detach().to(torch.complex128)
    a = [c[0]] + [(c[2 * k - 1] - 1j * c[2 * k]) / 2 for k in range(1, kernel.modes)]
    x, w, h = torch.as_tensor(x), torch.as_tensor(w), h.to(torch.complex128)
    at = x if at is None else torch.as_tensor(at)
    out = torch.zeros(h.shape[0], kernel.out_channels, len(at), dtype=torch.complex128)
    for k in range(-kernel.modes + 1, kernel.modes):
        ak = a[k] if k >= 0 else a[-k].conj()
        moment = torch.einsum("j,bij->bi", w * torch.exp(-1j * k * torch.pi * x), h)
        out += torch.einsum("oi,bi,q->boq", ak, moment, torch.exp(1j * k * torch.pi * at))
    assert out.imag.abs().max() <= 1e-12
    return out.real


@pytest.mark.parametrize("width, rfft", [
    (uniform_axis((-1, 1), 32, "p0", 0), True),
    (uniform_axis((-1, 1), 9, "p0", 0), False),  # fewer than 2 · modes nodes
    (Axis([-1, -0.6, 0.1, 0.3, 1], "legendre", 3), False),
    (uniform_axis((-1, 1), 7, "lagrange", 1, quadrature="gauss_lobatto", quadrature_points=2), False),
])
def test_spectral_kernel_is_the_dft_sum(width, rfft):
    torch.manual_seed(0)
    kernel = SpectralKernel(3, 2, modes=6)
    x, w, _ = nystrom_nodes(width)
    h = torch.randn(4, 3, len(x), dtype=torch.float64)
    assert (kernel._plan(width) is None) == rfft
    out = kernel(h, width)
    assert (out - dft_reference(kernel, h, x, w)).abs().max() <= 1e-12
    # the same kernel field as a local kernel of radius 1 on the periodic width
    local = LocalKernel(kernel.kernel_axis, 3, 2, boundary="periodic", coefficients=kernel.coefficients.detach())
    assert (local(h, width) - out).abs().max() <= 1e-12


def test_a_band_limited_signal_gives_the_same_function_at_64_and_128_nodes():
    """A signal of modes up to 10 at 64 and at 128 midpoint nodes: both outputs are the
    continuum's ∫ κ(ξ − ξ') h(ξ') dξ' at their nodes (its moments taken exactly on 512 nodes)."""
    torch.manual_seed(1)
    kernel = SpectralKernel(2, 3, modes=8)
    coefficients = torch.randn(2, 2 * 10 + 1, dtype=torch.float64)

    def signal(x):
        return (coefficients @ torch.as_tensor(tabulate("fourier", 20, x)[0]).T)[None]

    fine = np.linspace(-1, 1, 512, endpoint=False)
    for n in (64, 128):
        width = uniform_axis((-1, 1), n, "p0", 0)
        x = nystrom_nodes(width)[0]
        exact = dft_reference(kernel, signal(fine), fine, np.full(512, 2 / 512), at=x)
        assert (kernel(signal(x), width) - exact).abs().max() <= 1e-12


def test_fewer_and_more_modes_by_projection():
    torch.manual_seed(2)
    kernel = SpectralKernel(1, 2, modes=4)
    more = kernel.projected(7)
    assert (more.coefficients[:7] - kernel.coefficients).abs().max() <= 1e-13
    assert more.coefficients[7:].abs().max() <= 1e-13
    width = uniform_axis((-1, 1), 32, "p0", 0)
    h = torch.randn(2, 1, 32, dtype=torch.float64)
    assert (more(h, width) - kernel(h, width)).abs().max() <= 1e-12
    assert (more.projected(4).coefficients - kernel.coefficients).abs().max() <= 1e-13


def test_spectral_kernel_equals_neuraloperators_spectral_conv():
    layers = pytest.importorskip("neuralop.layers.spectral_convolution")
    torch.manual_seed(3)
    kernel = SpectralKernel(4, 3, modes=6, dtype=torch.float32)
    conv = layers.SpectralConv(4, 3, n_modes=(2 * 6 - 1,), bias=False)
    with torch.no_grad():
        conv.weight.tensor.copy_(kernel.spectral_weights().permute(2, 1, 0))  # (in, out, modes)
    for n in (32, 64):
        h = torch.randn(5, 4, n)
        out = kernel(h, uniform_axis((-1, 1), n, "p0", 0))
        assert (out - conv(h)).abs().max() <= 1e-5 * out.abs().max()


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="modes must be >= 1"):
        SpectralKernel(1, 1, modes=0)
    with pytest.raises(ValueError, match=r"coefficients must have shape \(5, 1, 1\)"):
        SpectralKernel(1, 1, modes=3, coefficients=np.zeros((4, 1, 1)))
    kernel = SpectralKernel(2, 1, modes=3)
    with pytest.raises(ValueError, match=r"h must be a tensor of shape \(batch, 2, 16\)"):
        kernel(torch.zeros(1, 1, 16, dtype=torch.float64), uniform_axis((-1, 1), 16, "p0", 0))
    with pytest.raises(TypeError, match="h must have the kernel's dtype torch.float64"):
        kernel(torch.zeros(1, 2, 16), uniform_axis((-1, 1), 16, "p0", 0))
    with pytest.raises(TypeError, match="width must be the signal's width Axis"):
        kernel(torch.zeros(1, 2, 16, dtype=torch.float64), 16)


def test_fields_and_distances_integrate_the_fourier_family_accurately():
    """Field.from_function and l2_error take their Gauss points from the family's quadrature
    degree, and l2_distance to a polynomial field does not pass through a Legendre space."""
    axis = Axis([-1, 1], "fourier", 16)
    fourier, reference = Field.from_function(axis, smooth_periodic), Field.from_function(axis, smooth_periodic, quadrature_points=200)
    assert np.abs(fourier.coefficients - reference.coefficients).max() <= 1e-13
    assert fourier.l2_error(smooth_periodic) == pytest.approx(fourier.l2_error(smooth_periodic, quadrature_points=200), rel=1e-6)
    legendre = Field.from_function(uniform_axis((-1, 1), 3, "legendre", 4), smooth_periodic)
    exact = legendre.l2_error(smooth_periodic, quadrature_points=40)
    assert l2_distance(fourier, legendre) == pytest.approx(exact, rel=1e-8)
    assert l2_distance(legendre, fourier) == pytest.approx(exact, rel=1e-8)
