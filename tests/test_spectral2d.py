"""The spectral kernel on the box (fem_nn.convolution.SpectralKernel2d) against the Nyström
sum written out with the kernel's values, on the rfft2 path and the dense path; the local
kernel of the same field; exactness for band-limited images at any resolution; projection
between mode counts; bad input."""

import numpy as np
import pytest
import torch

from fem_nn import LocalKernel2d, SpectralKernel2d, uniform_axis
from fem_nn.continuum.width import nystrom_nodes


def nystrom(kernel, h, width_x, width_y):
    """Σ_{j,l} w_j v_l κ(ξ_q − ξ_j, η_r − η_l) h(ξ_j, η_l), κ from kernel_values."""
    (x, w, _), (y, v, _) = nystrom_nodes(width_x), nystrom_nodes(width_y)
    s, t = np.meshgrid((x[:, None] - x[None]).ravel(), (y[:, None] - y[None]).ravel(), indexing="ij")
    kappa = kernel.kernel_values(s, t).detach().reshape(len(x), len(x), len(y), len(y), *kernel.coefficients.shape[2:])
    weights = torch.as_tensor(np.outer(w, v))
    return torch.einsum("qjrloi,jl,bijl->boqr", kappa, weights, h)


WIDTHS = {
    "rfft2 (midpoints)": (uniform_axis((-1, 1), 8, "p0", 0), uniform_axis((-1, 1), 10, "p0", 0)),
    "rfft2 (odd counts)": (uniform_axis((-1, 1), 7, "p0", 0), uniform_axis((-1, 1), 9, "p0", 0)),
    "dense (too few nodes)": (uniform_axis((-1, 1), 4, "p0", 0), uniform_axis((-1, 1), 8, "p0", 0)),
    "dense (Gauss points)": (uniform_axis((-1, 1), 3, "legendre", 1), uniform_axis((-1, 1), 4, "lagrange", 2)),
}


@pytest.mark.parametrize("case", sorted(WIDTHS))
def test_forward_is_the_nystrom_sum(case):
    torch.manual_seed(0)
    kernel = SpectralKernel2d(2, 3, modes=3)
    width_x, width_y = WIDTHS[case]
    shape = (width_x.n_cells * width_x.quadrature_points, width_y.n_cells * width_y.quadrature_points)
    h = torch.randn(4, 2, *shape, dtype=torch.float64)
    assert (kernel._plan((width_x, width_y)) is None) == case.startswith("rfft2")
    torch.testing.assert_close(kernel(h, width_x, width_y), nystrom(kernel, h, width_x, width_y), rtol=0, atol=1e-12)


def test_the_local_kernel_of_the_same_field_computes_the_same():
    torch.manual_seed(1)
    kernel = SpectralKernel2d(2, 2, modes=3)
    local = LocalKernel2d(kernel.kernel_axes, 2, 2, boundary="periodic", coefficients=kernel.coefficients.detach())
    width = uniform_axis((-1, 1), 12, "p0", 0)
    h = torch.randn(3, 2, 12, 12, dtype=torch.float64)
    torch.testing.assert_close(local(h, width), kernel(h, width), rtol=0, atol=1e-12)


def band_limited(n: int) -> torch.Tensor:
    x = -1.0 + (2.0 * torch.arange(n, dtype=torch.float64) + 1.0) / n
    X, Y = torch.meshgrid(x, x, indexing="ij")
    image = torch.sin(torch.pi * X) * torch.cos(2 * torch.pi * Y) + 0.5 * torch.cos(torch.pi * (X - Y)) + 0.25
    return image[None, None]


def test_band_limited_images_give_the_same_output_at_every_resolution():
    # the midpoints of 8 cells are every third midpoint of 24: a trigonometric polynomial of
    # degree below `modes` is integrated exactly at both, and κ ∗ h is one such polynomial
    torch.manual_seed(2)
    kernel = SpectralKernel2d(1, 2, modes=3)
    coarse = kernel(band_limited(8), uniform_axis((-1, 1), 8, "p0", 0))
    fine = kernel(band_limited(24), uniform_axis((-1, 1), 24, "p0", 0))
    torch.testing.assert_close(fine[..., 1::3, 1::3], coarse, rtol=0, atol=1e-12)


def test_projection_between_mode_counts():
    torch.manual_seed(3)
    kernel = SpectralKernel2d(2, 2, modes=3)
    width = uniform_axis((-1, 1), 16, "p0", 0)
    h = torch.randn(2, 2, 16, 16, dtype=torch.float64)
    more = kernel.projected(5)  # the spaces nest: the same kernel
    assert more.coefficients.shape == (9, 9, 2, 2)
    torch.testing.assert_close(more(h, width), kernel(h, width), rtol=0, atol=1e-12)
    torch.testing.assert_close(more.projected(3).coefficients, kernel.coefficients, rtol=0, atol=1e-13)
    fewer = kernel.projected(2)  # the basis is orthogonal: the truncation
    torch.testing.assert_close(fewer.coefficients, kernel.coefficients[:3, :3].detach(), rtol=0, atol=1e-13)
    assert set(kernel.parameter_meshes()) == {"coefficients"}
    assert kernel.parameter_meshes()["coefficients"].shape == (5, 5)


def test_gradients_and_float32():
    kernel = SpectralKernel2d(1, 1, modes=2, dtype=torch.float32)
    width = uniform_axis((-1, 1), 8, "p0", 0)
    out = kernel(torch.randn(2, 1, 8, 8), width)
    assert out.dtype == torch.float32
    out.square().sum().backward()
    assert kernel.coefficients.grad is not None and bool(torch.isfinite(kernel.coefficients.grad).all())


def test_bad_input():
    kernel = SpectralKernel2d(2, 1, modes=2)
    width = uniform_axis((-1, 1), 8, "p0", 0)
    with pytest.raises(ValueError, match=r"h must be a tensor of shape \(batch, 2, 8, 8\)"):
        kernel(torch.zeros(1, 2, 8, dtype=torch.float64), width)
    with pytest.raises(ValueError, match="h must be a tensor"):
        kernel(torch.zeros(1, 1, 8, 8, dtype=torch.float64), width)
    with pytest.raises(TypeError, match="dtype"):
        kernel(torch.zeros(1, 2, 8, 8, dtype=torch.float32), width)
    with pytest.raises(ValueError, match=r"width_y must be an axis on \[-1, 1\]"):
        kernel(torch.zeros(1, 2, 8, 8, dtype=torch.float64), width, uniform_axis((0, 1), 8, "p0", 0))
    with pytest.raises(ValueError, match="coefficients must have shape"):
        SpectralKernel2d(1, 1, modes=2, coefficients=np.zeros((3, 1, 1)))
    with pytest.raises((TypeError, ValueError), match="modes"):
        SpectralKernel2d(1, 1, modes=0)
