"""The spectral kernel on the periodic box [-1, 1)²: the layer of a two-dimensional Fourier
neural operator as a continuum. Its kernel κ(s, t) is a field of the tensor-product
``fourier`` family on one cell of the box,

    κ(s, t) = Σ_{a,b} c_{ab} φ_a(s) φ_b(t)  =  Σ_{|k|,|l|<=K} a_{kl} e^{iπ(ks + lt)},

φ the trigonometric basis 1, cos πs, sin πs, … of :func:`~fem_nn.elements.fourier_tabulate`
(K = modes − 1, each c a C_out × C_in matrix). Applied by Nyström,
``(K h)(ξ_q, η_r) = Σ_{j,l} w_j v_l κ(ξ_q − ξ_j, η_r − η_l) h(ξ_j, η_l)``
= Σ_{k,l} a_{kl} e^{iπ(kξ_q + lη_r)} ĥ_{kl}: through ``torch.fft.rfft2`` where both widths
have equispaced nodes of equal weights, through the dense matrices of the exponentials at
the nodes otherwise.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import _checks
from ..continuum.width import nystrom_nodes
from ..elements import fourier_tabulate
from ..mesh import Axis
from .spectral import SpectralField, fft_applies
from .stencil import check_width

__all__ = ["SpectralKernel2d"]


def _exponential_map(modes: int) -> np.ndarray:
    """T with φ_a(s) = Σ_k T[a, k] e^{iπks}, k = −K … K by column k + K."""
    K = modes - 1
    T = np.zeros((2 * K + 1, 2 * K + 1), dtype=complex)
    T[0, K] = 1.0
    for k in range(1, K + 1):
        T[2 * k - 1, K + k] = T[2 * k - 1, K - k] = 0.5  # cos kπs
        T[2 * k, K + k], T[2 * k, K - k] = -0.5j, 0.5j  # sin kπs
    return T


class SpectralKernel2d(SpectralField):
    """κ(ξ − ξ', η − η') ∈ R^{C_out × C_in} with `modes` Fourier modes along each width of
    the periodic box, applied to images ``(batch, C_in, nodes_x, nodes_y)`` at the tensor
    Nyström nodes of two width axes (see the module notes).

    The same function at any resolution: with at least ``2 · modes`` equispaced nodes along
    both widths the ``rfft2`` path is the Nyström sum itself, exact for a band-limited
    image. The coefficients are those of the kernel field on :attr:`kernel_axes` (two
    one-cell ``fourier`` axes of order 2(modes − 1)), so
    :class:`~fem_nn.convolution.LocalKernel2d` with the same axes, coefficients and a
    periodic boundary computes the same outputs, and :meth:`projected` moves the field to
    other modes (or, through :func:`~fem_nn.transfer.projected_coefficients`, to any
    polynomial field of the box).

    Parameters
    ----------
    in_channels, out_channels : int
    modes : int
        Modes kept along each width, >= 1 (k, l = 0 … modes − 1 with their negatives).
    coefficients : array_like, optional
        Shape ``(2 modes − 1, 2 modes − 1, out_channels, in_channels)``; default random,
        of size ``1 / (2 sqrt(in_channels))``.
    dtype, device : optional
        Of the coefficients (default float64, CPU).

    Examples
    --------
    κ(s, t) = cos πs · sin πt maps cos πξ cos πη to
    ∫∫ κ(ξ − ξ', η − η') cos πξ' cos πη' = cos πξ sin πη:

    >>> import torch
    >>> from fem_nn import uniform_axis
    >>> c = torch.zeros(3, 3, 1, 1, dtype=torch.float64)
    >>> c[1, 2] = 1.0
    >>> kernel = SpectralKernel2d(1, 1, modes=2, coefficients=c)
    >>> for n in (8, 32):  # midpoint nodes: the rfft2 path
    ...     x = -1 + (2 * torch.arange(n, dtype=torch.float64) + 1) / n
    ...     X, Y = torch.meshgrid(x, x, indexing="ij")
    ...     width = uniform_axis((-1, 1), n, "p0", 0)
    ...     out = kernel((torch.cos(torch.pi * X) * torch.cos(torch.pi * Y))[None, None], width, width)
    ...     print(n, bool(torch.allclose(out, torch.cos(torch.pi * X) * torch.sin(torch.pi * Y), atol=1e-13)))
    8 True
    32 True
    """

    dimensions = 2

    def __init__(self, in_channels: int, out_channels: int, modes: int, *, coefficients=None,
                 dtype: torch.dtype = torch.float64, device=None):
        super().__init__(in_channels, out_channels, modes, coefficients, 0.5 / np.sqrt(_checks.integer(
            in_channels, "in_channels", 1)), dtype, device)

    def exponential_weights(self) -> torch.Tensor:
        """The complex coefficients a_{kl} of κ, shape (2K + 1, 2K + 1, C_out, C_in), row
        and column k + K for k = −K … K."""
        c = self.coefficients
        T = torch.as_tensor(_exponential_map(self.modes), dtype=torch.complex128 if c.dtype == torch.float64
                            else torch.complex64, device=c.device)
        return torch.einsum("ak,bl,aboi->kloi", T, T, c.to(T.dtype))

    def _plan(self, widths: tuple[Axis, Axis]):
        """None where the rfft2 path applies, else the dense path's synthesis (nodes, 2K + 1)
        and analysis (2K + 1, nodes) matrices of each width."""
        c = self.coefficients
        key = tuple((w.breakpoints.tobytes(), w.quadrature.value, w.quadrature_points) for w in widths) + (
            c.dtype, c.device)
        if key not in self._plans:
            if all(fft_applies(w, self.modes) for w in widths):
                self._plans[key] = None
            else:
                K = self.modes - 1
                plan = []
                for width in widths:
                    nodes, weights, _ = nystrom_nodes(width)
                    synthesis = np.exp(1j * np.pi * np.outer(nodes, np.arange(-K, K + 1)))
                    plan += [synthesis, synthesis.conj().T * weights]
                complex_dtype = torch.complex128 if c.dtype == torch.float64 else torch.complex64
                self._plans[key] = tuple(torch.as_tensor(m, dtype=complex_dtype, device=c.device) for m in plan)
        return self._plans[key]

    def forward(self, h: torch.Tensor, width: Axis, width_y: Axis | None = None) -> torch.Tensor:
        """K h at the tensor Nyström nodes of `width` × `width_y` (default `width` again) for
        an image `h` of shape (batch, C_in, nodes_x, nodes_y)."""
        widths = (check_width(width), check_width(width if width_y is None else width_y, "width_y"))
        shape = tuple(w.n_cells * w.quadrature_points for w in widths)
        if not isinstance(h, torch.Tensor) or h.dim() != 4 or tuple(h.shape[1:]) != (self.in_channels, *shape):
            got = tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__
            raise ValueError(f"h must be a tensor of shape (batch, {self.in_channels}, {shape[0]}, {shape[1]}) "
                             f"(in_channels, the widths' Nyström nodes), got {got}")
        if h.dtype != self.coefficients.dtype:
            raise TypeError(f"h must have the kernel's dtype {self.coefficients.dtype}, got {h.dtype}")
        a, plan, K = self.exponential_weights(), self._plan(widths), self.modes - 1
        if plan is not None:
            synthesis_x, analysis_x, synthesis_y, analysis_y = plan
            # one width at a time: never a (nodes × modes)² intermediate
            spectrum = torch.einsum("lm,bikm->bikl", analysis_y, torch.einsum("kj,bijm->bikm", analysis_x, h.to(a.dtype)))
            mixed = torch.einsum("kloi,bikl->bokl", a, spectrum)
            return torch.einsum("rl,boql->boqr", synthesis_y, torch.einsum("qk,bokl->boql", synthesis_x, mixed)).real
        nx, ny = shape
        # rfft2 keeps l >= 0 and irfft2 adds the conjugate half; 4 = (2/nx)(2/ny) · nx ny, the
        # node weights against irfft2's 1/(nx ny)
        rows = torch.arange(-K, K + 1, device=h.device) % nx
        spectrum = torch.fft.rfft2(h)[..., rows, : K + 1]
        out = torch.einsum("kloi,bikl->bokl", 4 * a[:, K:], spectrum)
        full = out.new_zeros(*out.shape[:2], nx, ny // 2 + 1)
        full[..., rows, : K + 1] = out
        return torch.fft.irfft2(full, s=(nx, ny))

    def kernel_values(self, s, t) -> torch.Tensor:
        """κ(s, t) at the points (s_n, t_n): shape ``(n, out_channels, in_channels)``."""
        s, t = np.broadcast_arrays(np.ravel(np.asarray(s, dtype=float)), np.ravel(np.asarray(t, dtype=float)))
        order = 2 * (self.modes - 1)
        c = self.coefficients
        phi_s, phi_t = (torch.as_tensor(fourier_tabulate(order, x)[0], dtype=c.dtype, device=c.device) for x in (s, t))
        return torch.einsum("na,nb,aboi->noi", phi_s, phi_t, c)
