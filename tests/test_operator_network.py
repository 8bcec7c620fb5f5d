"""The channel operator network (fem_nn.operator_network) against hand-written torch loops:
P0 depth and Euler are a plain FNO-like loop ``h += dt · σ(irfft(R · rfft(h)) + P h + b)``
(spectral kernel) or the Nyström sum of a P1 kernel field (local kernel); nested depth
refinement; the sample count; replaced(); the same on images (dim 2); bad input."""

import numpy as np
import pytest
import torch

from fem_nn import DEPTH_INTERVAL, Field, Mesh, SpectralKernel2d, uniform_axis
from fem_nn.operator_network import KernelUnit, OperatorNetwork

gelu = torch.nn.functional.gelu


def p0_network(kernel="spectral", cells=3, modes=5, **options) -> OperatorNetwork:
    """A float64 network on P0 depth, Euler one step per cell: a ResNet of `cells` units."""
    depth = uniform_axis(DEPTH_INTERVAL, cells, "p0", 0)
    return OperatorNetwork(channels=4, modes=modes, kernel=kernel, depth=depth, scheme="euler", steps=cells,
                           projection_channels=6, dtype=torch.float64, seed=3, **options)


def midpoints(n: int) -> torch.Tensor:
    return -1.0 + (2.0 * torch.arange(n, dtype=torch.float64) + 1.0) / n


def conv1x1(weight, bias, h):
    """A pointwise channel map by matmul: weight (out, in[, 1]), h (batch, in, n)."""
    return torch.einsum("oi,bin->bon", weight.reshape(weight.shape[0], -1), h) + bias[None, :, None]


def reference(network, x, kernel_apply):
    """lift with ξ → Euler over the P0 cells → projection, by hand."""
    p = dict(network.named_parameters())
    xi = midpoints(x.shape[-1]).expand(len(x), -1)
    h = conv1x1(p["lift.weight"], p["lift.bias"], torch.stack([x, xi], 1))
    cells = network.block.depth.n_cells
    for k in range(cells):
        velocity = kernel_apply(p["block.kernel__coefficients"][k], h)
        velocity = velocity + conv1x1(p["block.pointwise__weight"][k], p["block.pointwise__bias"][k], h)
        h = h + gelu(velocity) / cells
    h = gelu(conv1x1(p["project.0.weight"], p["project.0.bias"], h))
    return conv1x1(p["project.2.weight"], p["project.2.bias"], h)[:, 0]


def spectral_apply(c, h):
    """irfft(R · rfft(h)): R_0 = 2 c_0, R_k = c_{2k-1} − i c_{2k} (κ = c_0 + Σ c cos + c sin)."""
    modes = (len(c) + 1) // 2
    weights = torch.complex(torch.cat([2 * c[:1], c[1::2]]), -torch.cat([torch.zeros_like(c[:1]), c[2::2]]))
    spectrum = torch.fft.rfft(h)[..., :modes]
    mixed = torch.zeros(h.shape[0], c.shape[1], modes, dtype=spectrum.dtype)
    for k in range(modes):
        mixed[..., k] = spectrum[..., k] @ weights[k].T
    return torch.fft.irfft(mixed, n=h.shape[-1])


def local_apply(axis):
    """Σ_j w_j κ(ξ_q − ξ_j) h_j over the periodic images, κ evaluated by Field."""
    mesh = Mesh([axis])
    r = axis.interval[1]

    def apply(c, h):
        n = h.shape[-1]
        x = midpoints(n).numpy()
        out = torch.zeros_like(h)
        kappa = np.zeros((n, n, *c.shape[1:]))  # (q, j, out, in)
        for y in (x, x - 2, x + 2):
            s = x[:, None] - y[None]
            inside = np.abs(s) <= r
            for o in range(c.shape[1]):
                for i in range(c.shape[2]):
                    values = Field(mesh, c[:, o, i].detach().numpy()).evaluate(s[inside][:, None])
                    kappa[..., o, i][inside] += values
        for q in range(n):
            out[:, :, q] = torch.einsum("joi,bij->bo", torch.as_tensor(kappa[q]) * 2.0 / n, h)
        return out

    return apply


def test_p0_euler_is_the_fno_loop_with_a_spectral_kernel():
    network = p0_network()
    x = torch.randn(3, 32, dtype=torch.float64)
    expected = reference(network, x, spectral_apply)
    torch.testing.assert_close(network(x), expected, rtol=0, atol=1e-12)


def test_p0_euler_with_a_local_kernel_is_the_nystrom_loop():
    # radius 0.3 on 5 cells: no node offset (multiples of 1/8) lands on a kernel breakpoint
    network = p0_network("local", radius=0.3)
    x = torch.randn(2, 16, dtype=torch.float64)
    axis = uniform_axis((-0.3, 0.3), 5, "legendre", 1)
    torch.testing.assert_close(network(x), reference(network, x, local_apply(axis)), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kernel", ["spectral", "local"])
def test_nested_depth_refinement_keeps_the_function(kernel):
    network = OperatorNetwork(channels=3, modes=4, kernel=kernel, depth=2, scheme="rk4", steps=4,
                              dtype=torch.float64, seed=1)
    x = torch.randn(2, 24, dtype=torch.float64)
    fine = network.replaced(depth=network.block.depth.refined())
    assert fine.block.depth.n_cells == 4 and fine.block.steps == 4
    torch.testing.assert_close(fine(x), network(x), rtol=0, atol=1e-12)


def band_limited(n: int) -> torch.Tensor:
    xi = midpoints(n)
    return torch.stack([torch.sin(torch.pi * xi) + 0.5 * torch.cos(3 * torch.pi * xi), torch.cos(2 * torch.pi * xi)])


def test_pointwise_parts_are_exact_at_nested_samples():
    # the midpoints of 64 cells are every third midpoint of 192: with the kernel off the
    # network is pointwise (lift with ξ, Euler, projection), the same at every node
    network = p0_network()
    with torch.no_grad():
        network.block.get_parameter("kernel__coefficients").zero_()
    torch.testing.assert_close(network(band_limited(192))[:, 1::3], network(band_limited(64)), rtol=0, atol=1e-12)


def spectrum(samples: torch.Tensor) -> torch.Tensor:
    """The Fourier coefficients of a trigonometric polynomial from its midpoint samples
    (rfft / n, the grid's offset −1 + 1/n taken out)."""
    n = samples.shape[-1]
    k = torch.arange(n // 2 + 1, dtype=torch.float64)
    return torch.fft.rfft(samples) / n * torch.exp(-1j * torch.pi * k * (1.0 / n - 1.0))


def test_the_kernel_is_exact_for_band_limited_states_at_any_sample_count():
    kernel = OperatorNetwork(channels=2, modes=4, dtype=torch.float64, seed=0).block.unit_at(0).kernel
    with torch.no_grad():
        outputs = {n: spectrum(kernel(band_limited(n)[None], uniform_axis((-1, 1), n, "p0", 0))[0]) for n in (8, 64, 128)}
    for n in (64, 128):  # the same trigonometric polynomial of degree < modes at every n >= 2 modes
        torch.testing.assert_close(outputs[n][..., :4], outputs[8][..., :4], rtol=0, atol=1e-12)
        assert float(outputs[n][..., 4:].abs().max()) < 1e-12


def test_the_network_converges_in_the_sample_count():
    # the pointwise activation makes harmonics above any Nyquist rate: the sample count is
    # exact for the lift, projection and band-limited kernels, and converges for the rest
    network = OperatorNetwork(channels=4, modes=4, dtype=torch.float64, seed=2)
    with torch.no_grad():
        out = {n: network(band_limited(n)) for n in (64, 192, 576)}
    coarse = float((out[192][:, 1::3] - out[64]).abs().max())
    fine = float((out[576][:, 1::3] - out[192]).abs().max())
    assert fine < coarse / 4 and coarse < 1e-2


def test_replaced_remanifests_depth_and_copies_the_rest():
    network = OperatorNetwork(channels=3, modes=4, depth=2, dtype=torch.float64, seed=0)
    x = torch.randn(2, 32, dtype=torch.float64)
    same = network.replaced()
    torch.testing.assert_close(same(x), network(x), rtol=0, atol=0)
    other = network.replaced(scheme="rk4", steps=16)
    assert (other.block.steps, other.block.tableau.name, network.block.steps) == (16, "rk4", 4)
    with torch.no_grad():
        other.lift.weight.add_(1.0)
    torch.testing.assert_close(network(x), same(x), rtol=0, atol=0)  # copies, not shared
    # one flow: rk4 converges to it at order 4 (steps that straddle no depth breakpoint)
    with torch.no_grad():
        outputs = [network.replaced(scheme="rk4", steps=steps)(x) for steps in (8, 16, 32)]
    coarse, fine = float((outputs[1] - outputs[0]).abs().max()), float((outputs[2] - outputs[1]).abs().max())
    assert fine < coarse / 12
    assert set(network.parameter_meshes()) == {f"block.{n}" for n in network.block.names.values()}


def test_bad_input():
    network = OperatorNetwork(channels=2, modes=2, seed=0)
    with pytest.raises(ValueError, match="x must be signals"):
        network(torch.zeros(2, 2, 8))
    with pytest.raises(ValueError, match="x must be signals"):
        network(torch.zeros(8))
    with pytest.raises(ValueError, match="x must be signals"):
        network([[0.0] * 8])
    with pytest.raises(ValueError, match="x must be signals"):
        OperatorNetwork(in_channels=2, channels=2, modes=2)(torch.zeros(3, 8))
    with pytest.raises(ValueError, match="kernel must be"):
        OperatorNetwork(kernel="dense")
    with pytest.raises(ValueError, match="dim must be 1 or 2"):
        OperatorNetwork(dim=3)
    with pytest.raises(ValueError, match=r"x must be signals \(batch, 1, n_x, n_y\)"):
        OperatorNetwork(channels=2, modes=2, dim=2)(torch.zeros(3, 8))
    with pytest.raises(ValueError, match="dtype"):
        OperatorNetwork(dtype=torch.int64)
    for name in ("channels", "modes", "in_channels", "out_channels", "depth"):
        with pytest.raises((ValueError, TypeError), match=name):
            OperatorNetwork(**{name: 0})


def image_reference(network, x):
    """lift with (ξ, η) → Euler over the P0 cells → projection, by hand; the kernel by the
    Nyström sum of its values at the offsets between the nodes."""
    p = dict(network.named_parameters())
    n_x, n_y = x.shape[1:]
    X, Y = torch.meshgrid(midpoints(n_x), midpoints(n_y), indexing="ij")
    inputs = torch.stack([x, X.expand_as(x), Y.expand_as(x)], 1)

    def pointwise(weight, bias, h):
        return torch.einsum("oi,bixy->boxy", weight, h) + bias[None, :, None, None]

    s, t = np.meshgrid((X[:, :1] - X[None, :, 0]).ravel().numpy(), (Y[:1] - Y[0][:, None]).T.ravel().numpy(),
                       indexing="ij")
    h = pointwise(p["lift.weight"], p["lift.bias"], inputs)
    cells = network.block.depth.n_cells
    for k in range(cells):
        c = p["block.kernel__coefficients"][k]
        kernel = SpectralKernel2d(c.shape[3], c.shape[2], (c.shape[0] + 1) // 2, coefficients=c.detach())
        kappa = kernel.kernel_values(s, t).reshape(n_x, n_x, n_y, n_y, *c.shape[2:])
        convolved = torch.einsum("qjrloi,bijl->boqr", kappa, h) * (2.0 / n_x) * (2.0 / n_y)
        velocity = convolved + pointwise(p["block.pointwise__weight"][k], p["block.pointwise__bias"][k], h)
        h = h + gelu(velocity) / cells
    h = gelu(pointwise(p["project.0.weight"], p["project.0.bias"], h))
    return pointwise(p["project.2.weight"], p["project.2.bias"], h)[:, 0]


def test_p0_euler_on_images_is_the_nystrom_loop():
    network = p0_network(dim=2, modes=3)
    x = torch.randn(2, 8, 6, dtype=torch.float64)
    torch.testing.assert_close(network(x), image_reference(network, x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kernel", ["spectral", "local"])
def test_nested_depth_refinement_keeps_the_function_on_images(kernel):
    network = OperatorNetwork(channels=3, modes=3, kernel=kernel, dim=2, depth=2, scheme="rk4", steps=4,
                              dtype=torch.float64, seed=1)
    x = torch.randn(2, 12, 12, dtype=torch.float64)
    fine = network.replaced(depth=network.block.depth.refined())
    torch.testing.assert_close(fine(x), network(x), rtol=0, atol=1e-12)


def test_pointwise_parts_are_exact_at_nested_samples_on_images():
    network = p0_network(dim=2, modes=3)
    with torch.no_grad():
        network.block.get_parameter("kernel__coefficients").zero_()
    x = torch.randn(2, 24, 24, dtype=torch.float64)
    coarse = x.reshape(2, 8, 3, 8, 3)[:, :, 1, :, 1]  # the images' values at the 8 × 8 midpoints
    torch.testing.assert_close(network(x)[:, 1::3, 1::3], network(coarse), rtol=0, atol=1e-12)
