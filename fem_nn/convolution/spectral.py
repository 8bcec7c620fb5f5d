"""The spectral kernel: the layer of a Fourier neural operator as a continuum. Its kernel
W(ξ, ξ') = κ(ξ − ξ') is a trigonometric polynomial of the offset on the periodic width
[-1, 1), a field of the ``fourier`` shape family on one cell:

    κ(s) = c_0 + Σ_{k=1}^{K} c_{2k−1} cos kπs + c_{2k} sin kπs  =  Σ_{|k|<=K} a_k e^{ikπs},

with ``a_0 = c_0``, ``a_k = (c_{2k−1} − i c_{2k}) / 2``, K = modes − 1, each c a
C_out × C_in matrix. Applied by Nyström, ``(K h)(ξ_q) = Σ_j w_j κ(ξ_q − ξ_j) h(ξ_j)``
= Σ_k a_k e^{ikπξ_q} ĥ_k with ĥ_k = Σ_j w_j e^{−ikπξ_j} h(ξ_j): through ``torch.fft.rfft``
on equispaced nodes of equal weights (the midpoint rule on equal cells: the trapezoid rule
of a periodic function, the exact integral of a band-limited signal), through the dense
matrices of the basis at the nodes otherwise.
"""

from __future__ import annotations

import functools
import types

import numpy as np
import torch

from .. import _checks
from ..continuum.width import nystrom_nodes
from ..elements import fourier_tabulate
from ..mesh import WIDTH_INTERVAL, Axis, Mesh
from ..transfer import projected_coefficients
from .stencil import check_width, kernel_coefficients

__all__ = ["SpectralField", "SpectralKernel"]

# the array functions of _applied for numpy arrays (torch's are torch's own)
_NUMPY = types.SimpleNamespace(einsum=functools.partial(np.einsum, optimize=True), concatenate=np.concatenate,
                               stack=np.stack, zeros_like=np.zeros_like)
# equal node spacing and weights, relative to the spacing: the nodes of the rfft path
_EQUISPACED = 1e-12


def fft_applies(width: Axis, modes: int) -> bool:
    """Whether the Nyström sum on `width` is the discrete Fourier transform of `modes` modes:
    equispaced nodes of equal weights (the midpoint rule on equal cells), at least 2 · modes."""
    nodes, weights, _ = nystrom_nodes(check_width(width))
    n, spacing = len(nodes), 2.0 / len(nodes)
    return bool(
        n >= 2 * modes
        and np.all(np.abs(np.diff(nodes) - spacing) <= _EQUISPACED * spacing)
        and np.all(np.abs(weights - spacing) <= _EQUISPACED * spacing)
    )


def _spectral_weights(xp, c):
    """``R_k`` from the coefficients c (2 modes − 1, out, in), in the array module `xp`
    (torch, or numpy's functions in ``_NUMPY``: the layer and its Numba-backend twin do the
    same arithmetic)."""
    return xp.concatenate([2 * c[:1], c[1::2]]) - 1j * xp.concatenate([xp.zeros_like(c[:1]), c[2::2]])


def _applied(xp, c, h, plan, modes: int):
    """K h for coefficients `c` and signals `h` (batch, in, nodes) in the array module `xp`:
    the rfft path where `plan` is None, else the dense path of its (synthesis, analysis)."""
    n = h.shape[-1]
    if plan is None:
        spectrum = xp.fft.rfft(h)[..., :modes]
        return xp.fft.irfft(xp.einsum("koi,bik->bok", _spectral_weights(xp, c), spectrum), n=n)
    synthesis, analysis = plan
    # per mode k: (A_k + i B_k) ↦ (c_{2k-1} + i c_{2k}) (A_k + i B_k), A_k, B_k = Σ w cos, Σ w sin
    moments = xp.einsum("mj,bij->mbi", analysis, h)
    constant = xp.einsum("oi,bi->bo", c[0], moments[0])[None]
    a, b = moments[1::2], moments[2::2]
    cosine = xp.einsum("koi,kbi->kbo", c[1::2], a) - xp.einsum("koi,kbi->kbo", c[2::2], b)
    sine = xp.einsum("koi,kbi->kbo", c[2::2], a) + xp.einsum("koi,kbi->kbo", c[1::2], b)
    paired = xp.stack([cosine, sine], 1)
    out = xp.concatenate([constant, paired.reshape(-1, *paired.shape[2:])])  # (2 modes − 1, batch, out)
    return xp.einsum("qm,mbo->boq", synthesis, out)


class SpectralField(torch.nn.Module):
    """What the spectral kernels share: their channels, their modes and the coefficients of
    the kernel field on :attr:`kernel_axes`, one ``fourier`` cell on [-1, 1] of order
    2(modes − 1) per width (:attr:`dimensions` of them), shaped ``(2 modes − 1, …, C_out,
    C_in)``. Subclasses set :attr:`dimensions` and apply the field.

    Examples
    --------
    >>> SpectralKernel(2, 3, modes=4).projected(2).coefficients.shape
    torch.Size([3, 3, 2])
    """

    dimensions = 1

    def __init__(self, in_channels: int, out_channels: int, modes: int, coefficients, size: float, dtype, device):
        super().__init__()
        self.in_channels = _checks.integer(in_channels, "in_channels", 1)
        self.out_channels = _checks.integer(out_channels, "out_channels", 1)
        self.modes = _checks.integer(modes, "modes", 1)
        shape = (2 * self.modes - 1,) * self.dimensions + (self.out_channels, self.in_channels)
        layout = ", ".join(["2 modes − 1"] * self.dimensions + ["out", "in"])
        self.coefficients = kernel_coefficients(coefficients, shape, size, layout, dtype, device)
        self._plans: dict = {}

    @property
    def kernel_axes(self) -> tuple[Axis, ...]:
        """The kernel field's axes: one ``fourier`` cell on [-1, 1] of order 2(modes − 1) per width."""
        return (Axis(WIDTH_INTERVAL, "fourier", 2 * (self.modes - 1)),) * self.dimensions

    def projected(self, modes: int):
        """The same layer with `modes` modes (along each width): κ L2-projected in the
        Fourier family (exact for more modes, the truncation for fewer)."""
        modes = _checks.integer(modes, "modes", 1)
        target = Mesh((Axis(WIDTH_INTERVAL, "fourier", 2 * (modes - 1)),) * self.dimensions)
        c = self.coefficients
        projected = projected_coefficients(c, Mesh(self.kernel_axes), target)
        return type(self)(self.in_channels, self.out_channels, modes, coefficients=projected, dtype=c.dtype,
                          device=c.device)

    def parameter_meshes(self) -> dict[str, Mesh]:
        """The mesh of the coefficients' leading axes, by name (for
        :func:`~fem_nn.transfer_optimizer`)."""
        return {"coefficients": Mesh(self.kernel_axes)}

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}, modes={self.modes}"


class SpectralKernel(SpectralField):
    """κ(ξ − ξ') ∈ R^{C_out × C_in} with `modes` Fourier modes (k = 0 … modes − 1) on the
    periodic width, applied to signals ``(batch, C_in, nodes)`` at the Nyström nodes of a
    width axis (see the module notes).

    The same function at any resolution: on equispaced nodes (midpoint rule on equal cells)
    with at least ``2 · modes`` of them the rfft path is the Nyström sum itself, exact for a
    band-limited signal; other nodes take the dense path. The coefficients are those of the
    kernel field on :attr:`kernel_axis` (a one-cell ``fourier`` axis of order 2(modes − 1)),
    so :class:`~fem_nn.convolution.LocalKernel` with the same axis, coefficients, radius 1
    and a periodic boundary computes the same outputs; against the complex weights ``R_k``
    of a Fourier neural operator layer (``irfft(R · rfft(h))``): ``R_0 = 2 c_0`` and ``R_k =
    c_{2k−1} − i c_{2k}``.

    Parameters
    ----------
    in_channels, out_channels : int
    modes : int
        Modes kept, >= 1.
    coefficients : array_like, optional
        Shape ``(2 modes − 1, out_channels, in_channels)``; default random, of size
        ``1/sqrt(2 in_channels)``.
    dtype, device : optional
        Of the coefficients (default float64, CPU).

    Examples
    --------
    κ(s) = 2 cos πs + 3 sin πs maps sin πξ to ∫ κ(ξ − ξ') sin πξ' dξ' = 2 sin πξ − 3 cos πξ:

    >>> import torch
    >>> from fem_nn import uniform_axis
    >>> kernel = SpectralKernel(1, 1, modes=2, coefficients=[[[0.0]], [[2.0]], [[3.0]]])
    >>> for n in (8, 64):  # midpoint nodes: the rfft path
    ...     x = -1 + (2 * torch.arange(n, dtype=torch.float64) + 1) / n
    ...     out = kernel(torch.sin(torch.pi * x)[None, None], uniform_axis((-1, 1), n, "p0", 0))
    ...     print(n, bool(torch.allclose(out, 2 * torch.sin(torch.pi * x) - 3 * torch.cos(torch.pi * x), atol=1e-13)))
    8 True
    64 True
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int, *, coefficients=None,
                 dtype: torch.dtype = torch.float64, device=None):
        # ∫ κ h over the period keeps the size of h
        super().__init__(in_channels, out_channels, modes, coefficients, 1 / np.sqrt(2 * _checks.integer(
            in_channels, "in_channels", 1)), dtype, device)

    @property
    def kernel_axis(self) -> Axis:
        """The kernel field's axis: one ``fourier`` cell on [-1, 1] of order 2(modes − 1)."""
        return self.kernel_axes[0]

    def spectral_weights(self) -> torch.Tensor:
        """The complex weights ``R_k`` (modes, C_out, C_in) of ``irfft(R · rfft(h))``."""
        return _spectral_weights(torch, self.coefficients)

    def _geometry(self, width: Axis):
        """None where the rfft path applies on `width`, else the dense path's synthesis
        (nodes, 2 modes − 1) and analysis (2 modes − 1, nodes) matrices (numpy)."""
        return None if fft_applies(width, self.modes) else self.numpy_plan(width)

    def _plan(self, width: Axis):
        c = self.coefficients
        key = (width.breakpoints.tobytes(), width.quadrature.value, width.quadrature_points, c.dtype, c.device)
        if key not in self._plans:
            geometry = self._geometry(width)
            self._plans[key] = None if geometry is None else tuple(
                torch.as_tensor(m, dtype=c.dtype, device=c.device) for m in geometry)
        return self._plans[key]

    def forward(self, h: torch.Tensor, width: Axis) -> torch.Tensor:
        """K h at the Nyström nodes of `width` for a signal `h` of shape (batch, C_in, nodes)."""
        check_width(width)
        n = width.n_cells * width.quadrature_points
        if not isinstance(h, torch.Tensor) or h.dim() != 3 or tuple(h.shape[1:]) != (self.in_channels, n):
            got = tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__
            raise ValueError(f"h must be a tensor of shape (batch, {self.in_channels}, {n}) (in_channels, the width's "
                             f"Nyström nodes), got {got}")
        if h.dtype != self.coefficients.dtype:
            raise TypeError(f"h must have the kernel's dtype {self.coefficients.dtype}, got {h.dtype}")
        return _applied(torch, self.coefficients, h, self._plan(width), self.modes)

    def numpy_plan(self, width: Axis) -> tuple[np.ndarray, np.ndarray]:
        """The geometry :meth:`numpy_apply` reads on `width`: the dense path's matrices on
        any nodes (at the few modes of a layer, BLAS products outrun numpy's FFT)."""
        nodes, weights, _ = nystrom_nodes(check_width(width))
        basis = fourier_tabulate(2 * (self.modes - 1), nodes)[0]
        return basis, np.ascontiguousarray(basis.T * weights)

    def numpy_apply(self, coefficients: np.ndarray, h: np.ndarray, plan) -> np.ndarray:
        """:meth:`forward` on numpy arrays, for the Numba backend: K h for a signal `h`
        ``(batch, C_in, nodes)`` and `coefficients` of this layer's shape (a depth field's
        value at a stage), on the width of `plan` (:meth:`numpy_plan`): the arithmetic of
        the dense path."""
        return _applied(_NUMPY, coefficients, h, tuple(m.astype(h.dtype) for m in plan), self.modes)

    def kernel_values(self, s) -> torch.Tensor:
        """κ(s) at offsets `s`: shape ``(len(s), out_channels, in_channels)``."""
        basis = fourier_tabulate(2 * (self.modes - 1), np.ravel(np.asarray(s, dtype=float)))[0]
        return torch.tensordot(torch.as_tensor(basis, dtype=self.coefficients.dtype), self.coefficients, dims=([1], [0]))
