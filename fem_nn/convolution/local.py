"""Local kernels: the continuum of a convolution. A kernel field κ(s) ∈ R^{C_out × C_in} on
[-r, r] (or κ(s, t) on a box, for a 2D width) applied to a signal with C_in channels at the
Nyström nodes of a width,

    (K h)(ξ_q) = Σ_j w_j κ(ξ_q − ξ_j) h(ξ_j)   over the nodes (and boundary images) with
                                               ξ_q − ξ_j in the support [-r, r],

gives C_out channels at the same nodes (κ at a jump — a breakpoint of a discontinuous field,
the support's ends — is the mean of its one-sided values: see
:func:`~fem_nn.convolution.stencil.kernel_basis`). Refining the width changes the number of nodes, not
the field: the layer integrates, so its taps scale with the node weights and the same module
computes (nearly) the same function at any resolution.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
import torch.nn.functional as F

from .. import _checks
from ..mesh import Axis, Mesh
from ..transfer import projected_coefficients
from .boundaries import boundaries
from .stencil import Stencil, check_width, kernel_basis, kernel_coefficients

__all__ = ["LocalKernel", "LocalKernel2d"]

_CONV = {1: F.conv1d, 2: F.conv2d}
# the weight of the convolution path from the coefficients c and the taps of each axis
_WEIGHT = {1: "doi,dabk->oaibk", 2: "deoi,dabk,eABl->oaAibBkl"}
# signals per BLAS product of the numpy path: their columns stay in cache
_CHUNK = 8


def _kernel_axis(axis, name: str) -> Axis:
    if not isinstance(axis, Axis):
        raise TypeError(f"{name} must be an Axis on [-r, r], got {type(axis).__name__}")
    a, b = axis.interval
    if not (b > 0 and abs(a + b) <= 1e-12 * b and b <= 1.0 + 1e-12):
        raise ValueError(f"{name} must lie on a symmetric interval [-r, r] with 0 < r <= 1, got [{a:g}, {b:g}]")
    return axis


def _width_key(width: Axis) -> tuple:
    return width.breakpoints.tobytes(), width.quadrature.value, width.quadrature_points


class _LocalKernel(torch.nn.Module):
    """The shared part of :class:`LocalKernel` and :class:`LocalKernel2d`: the kernel field
    on the tensor product of `kernel_axes`, its coefficients a Parameter of shape
    ``(*dofs, out_channels, in_channels)``, applied per width axis by a :class:`Stencil`."""

    def __init__(self, kernel_axes, in_channels, out_channels, boundary, coefficients, dtype, device):
        super().__init__()
        self.kernel_axes = tuple(_kernel_axis(a, "kernel_axis") for a in kernel_axes)
        self.in_channels = _checks.integer(in_channels, "in_channels", 1)
        self.out_channels = _checks.integer(out_channels, "out_channels", 1)
        self.boundary = boundaries(boundary)
        shape = (*(a.n_dofs for a in self.kernel_axes), self.out_channels, self.in_channels)
        # κ of size ~1/sqrt(C_in · support volume): K h keeps the size of h
        volume = float(np.prod([2 * a.interval[1] for a in self.kernel_axes]))
        self.coefficients = kernel_coefficients(coefficients, shape, 1 / np.sqrt(self.in_channels * volume),
                                                "kernel dofs, out, in", dtype, device)
        self._plans: dict = {}  # per width: geometry only (the coefficients enter per call)

    @property
    def radius(self) -> tuple[float, ...]:
        """The support radius of each kernel axis."""
        return tuple(a.interval[1] for a in self.kernel_axes)

    def _plan(self, widths: tuple[Axis, ...]):
        c = self.coefficients
        key = (tuple(_width_key(w) for w in widths), c.dtype, c.device)
        if key not in self._plans:
            stencils = [Stencil(w, k, self.boundary) for w, k in zip(widths, self.kernel_axes)]
            if all(s.uniform for s in stencils):
                taps, halos, index = zip(*(self._lattice(s) for s in stencils))
                index = None if index[0] is None else [torch.as_tensor(i, device=c.device) for i in index]
                plan = ("conv", [torch.as_tensor(t, dtype=c.dtype, device=c.device) for t in taps],
                        list(halos), index, [w.quadrature_points for w in widths])
            else:
                plan = ("banded", [s.banded(c.dtype, c.device) for s in stencils])
            self._plans[key] = plan
        return self._plans[key]

    def _lattice(self, stencil: Stencil) -> tuple[np.ndarray, int, np.ndarray | None]:
        """Equal cells along one width: the taps (:meth:`Stencil.taps`), the padding in
        cells, and the node read at each point of the padded cells (None: zeros)."""
        taps, halo = stencil.taps()
        return taps, halo, stencil.padding_index(halo) if self.boundary.maps else None

    def _check_signal(self, h: torch.Tensor, widths: tuple[Axis, ...]) -> None:
        for name, w in zip(("width", "width_y"), widths):
            check_width(w, name)
        shape = (self.in_channels, *(w.n_cells * w.quadrature_points for w in widths))
        if not isinstance(h, torch.Tensor) or h.dim() != 2 + len(widths) or tuple(h.shape[1:]) != shape:
            got = tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__
            raise ValueError(f"h must be a tensor of shape (batch, {', '.join(map(str, shape))}) "
                             f"(in_channels, the widths' Nyström nodes), got {got}")
        if h.dtype != self.coefficients.dtype:
            raise TypeError(f"h must have the kernel's dtype {self.coefficients.dtype}, got {h.dtype}")

    def _convolve(self, h: torch.Tensor, widths: tuple[Axis, ...]) -> torch.Tensor:
        self._check_signal(h, widths)
        plan = self._plan(widths)
        if plan[0] == "conv":
            return self._conv(h, *plan[1:])
        return self._banded(h, plan[1])

    def _weight(self, taps, points) -> torch.Tensor:
        """The convolution's weight ``(C_out · P, C_in · P, *taps)`` from the coefficients and
        the taps of each axis (P: the product of the rule points per cell)."""
        weight = torch.einsum(_WEIGHT[len(taps)], self.coefficients, *taps)
        n_out = self.out_channels * int(np.prod(points))
        return weight.reshape(n_out, -1, *weight.shape[-len(taps):])

    def _conv_weight(self, widths: tuple[Axis, ...]) -> tuple[torch.Tensor, tuple[int, ...]]:
        for name, w in zip(("width", "width_y"), widths):
            check_width(w, name)
        plan = self._plan(widths)
        if plan[0] != "conv":
            raise ValueError("the widths must have equal cells for the layer to be a convolution (graded cells take "
                             "the banded product)")
        _, taps, halos, _, points = plan
        return self._weight(taps, points), tuple(halos)

    def _conv(self, h, taps, halos, index, points) -> torch.Tensor:
        """Equal cells: one convolution over cells, with the rule's points as channels."""
        d, batch = len(taps), h.shape[0]
        if index is not None:  # the boundary's images of the nodes as padding cells
            for k in range(d):
                h = h.index_select(2 + k, index[k])
        cells = [s // p for s, p in zip(h.shape[2:], points)]
        split = h.reshape(batch, self.in_channels, *(n for pair in zip(cells, points) for n in pair))
        order = [0, 1, *(3 + 2 * k for k in range(d)), *(2 + 2 * k for k in range(d))]
        split = split.permute(order).reshape(batch, self.in_channels * int(np.prod(points)), *cells)
        weight = self._weight(taps, points)
        out = _CONV[d](split, weight, padding=0 if index is not None else tuple(halos))
        out_cells = out.shape[2:]
        out = out.reshape(batch, self.out_channels, *points, *out_cells)
        order = [0, 1, *(n for k in range(d) for n in (2 + d + k, 2 + k))]
        return out.permute(order).reshape(batch, self.out_channels, *(n * p for n, p in zip(out_cells, points)))

    def _banded(self, h, operators) -> torch.Tensor:
        """Any cells: per width axis the banded operator of each kernel dof, then the sum
        over the dofs and input channels with the coefficients."""
        d, g = len(operators), h
        for k, operator in enumerate(operators):
            at = 2 * k + 2  # k dof axes in front, then batch and channels, then k node axes
            moved = g.movedim(at, 0)
            applied = torch.sparse.mm(operator, moved.reshape(moved.shape[0], -1))
            applied = applied.reshape(-1, moved.shape[0], *moved.shape[1:])
            g = applied.movedim(1, at + 1).movedim(0, k)
        dofs = list(range(d))
        out = torch.tensordot(self.coefficients, g, dims=(dofs + [d + 1], dofs + [d + 1]))
        return out.movedim(0, 1)

    def _values(self, offsets) -> torch.Tensor:
        """κ at points of the kernel box (one array of offsets per kernel axis), shape
        ``(n, out_channels, in_channels)``."""
        bases = [torch.as_tensor(kernel_basis(a, s), dtype=self.coefficients.dtype, device=self.coefficients.device)
                 for a, s in zip(self.kernel_axes, offsets)]
        values = torch.tensordot(bases[0], self.coefficients, dims=([1], [0]))
        for basis in bases[1:]:  # the next dof axis is now the second: contract it point by point
            values = torch.einsum("nd,nd...->n...", basis, values)
        return values

    def parameter_meshes(self) -> dict[str, Mesh]:
        """The mesh of each parameter's leading axes, by name (what
        :func:`~fem_nn.transfer_optimizer` moves the optimizer state along)."""
        return {"coefficients": Mesh(self.kernel_axes)}

    def _projected_coefficients(self, targets) -> torch.Tensor:
        # the channel dims trail the kernel axes' dofs: projected entry by entry
        return projected_coefficients(self.coefficients, Mesh(self.kernel_axes), Mesh(tuple(targets)))

    def _like(self, kernel_axes, coefficients):
        raise NotImplementedError

    def projected(self, *kernel_axes):
        """The same module with κ L2-projected onto other kernel axes on the same box (a
        nested refinement or elevation keeps the field, and the outputs, unchanged)."""
        if len(kernel_axes) != len(self.kernel_axes):
            raise TypeError(f"projected needs {len(self.kernel_axes)} kernel axes, got {len(kernel_axes)}")
        axes = tuple(_kernel_axis(a, "kernel_axis") for a in kernel_axes)
        return self._like(axes, self._projected_coefficients(axes))

    def refined(self, k: int = 2):
        """κ on the kernel axes refined by `k` (:meth:`~fem_nn.Axis.refined`): the same field."""
        return self.projected(*(a.refined(k=k) for a in self.kernel_axes))

    def elevated(self, by: int = 1):
        """κ on the kernel axes elevated by `by` (:meth:`~fem_nn.Axis.elevated`): the same field."""
        return self.projected(*(a.elevated(by=by) for a in self.kernel_axes))

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, radius={self.radius}, "
                f"boundary={self.boundary.name!r}")


class LocalKernel(_LocalKernel):
    """A kernel field κ(s) ∈ R^{C_out × C_in}, s ∈ [-r, r], applied to signals of shape
    ``(batch, C_in, nodes)`` at the Nyström nodes of a width axis (see the module notes).

    On equal width cells the nodes are a lattice per pair of rule points, and the layer is
    one ``conv1d`` over cells with the rule's points as channels (one point per cell: a plain
    convolution); on graded cells a banded sparse product per kernel dof. Either way the
    geometry is tabulated once per width (kept, not state) and the coefficients enter per
    call, so the layer is differentiable in both and ``torch.func.functional_call`` works.

    Parameters
    ----------
    kernel_axis : Axis
        The field's axis on [-r, r] (0 < r <= 1), of any family and order.
    in_channels, out_channels : int
    boundary : str, default "zero"
        What the kernel reads beyond [-1, 1]: "zero", "periodic" or "reflect"
        (:data:`~fem_nn.convolution.boundaries`).
    coefficients : array_like, optional
        Shape ``(kernel_axis.n_dofs, out_channels, in_channels)``; default random, of size
        ``1/sqrt(in_channels · 2r)``.
    dtype, device : optional
        Of the coefficients (default float64, CPU).

    Examples
    --------
    >>> import torch
    >>> from fem_nn import uniform_axis
    >>> kernel = LocalKernel(uniform_axis((-0.25, 0.25), 2, "legendre", 1), 3, 2, boundary="periodic")
    >>> width = uniform_axis((-1, 1), 64, "p0", 0)  # midpoint nodes: a plain conv1d
    >>> h = torch.ones(5, 3, 64, dtype=torch.float64)
    >>> kernel(h, width).shape
    torch.Size([5, 2, 64])
    >>> finer = kernel(torch.ones(5, 3, 128, dtype=torch.float64), width.refined())
    >>> bool(torch.allclose(finer[..., ::2], kernel(h, width), atol=1e-12))  # ∫ κ, exact for P1 on the lattice
    True
    """

    def __init__(self, kernel_axis: Axis, in_channels: int, out_channels: int, *, boundary: str = "zero",
                 coefficients=None, dtype: torch.dtype = torch.float64, device=None):
        super().__init__((kernel_axis,), in_channels, out_channels, boundary, coefficients, dtype, device)

    @property
    def kernel_axis(self) -> Axis:
        return self.kernel_axes[0]

    def forward(self, h: torch.Tensor, width: Axis) -> torch.Tensor:
        """K h at the Nyström nodes of `width` for a signal `h` of shape (batch, C_in, nodes)."""
        return self._convolve(h, (width,))

    def conv_weight(self, width: Axis) -> tuple[torch.Tensor, tuple[int]]:
        """The ``conv1d`` weight and padding the layer applies on `width` (equal cells):
        ``(C_out · P, C_in · P, taps)`` with the P rule points of a cell as channels
        (output channel ``o · P + a``), and the padding in cells. With one point per cell and
        the zero boundary, ``conv1d(h, weight, padding=padding)`` is the layer itself — a
        plain convolution to export.

        Examples
        --------
        >>> import torch
        >>> from fem_nn import uniform_axis
        >>> kernel = LocalKernel(uniform_axis((-0.1, 0.1), 1, "lagrange", 1), 2, 3)
        >>> width = uniform_axis((-1, 1), 40, "p0", 0)  # cells of 0.05: taps at 0, ±0.05, ±0.1
        >>> weight, (padding,) = kernel.conv_weight(width)
        >>> tuple(weight.shape), padding
        ((3, 2, 5), 2)
        >>> h = torch.randn(4, 2, 40, dtype=torch.float64)
        >>> bool(torch.allclose(torch.nn.functional.conv1d(h, weight, padding=padding), kernel(h, width)))
        True
        """
        return self._conv_weight((width,))

    def numpy_plan(self, width: Axis) -> tuple:
        """The geometry :meth:`numpy_apply` reads on `width` (equal cells): the taps, the
        padding in cells, the boundary's padding index and the rule's points per cell."""
        stencil = Stencil(check_width(width), self.kernel_axis, self.boundary)
        if not stencil.uniform:
            raise ValueError("width must have equal cells for the numba path (graded cells take the banded product)")
        return (*self._lattice(stencil), width.quadrature_points)

    def numpy_apply(self, coefficients: np.ndarray, h: np.ndarray, plan: tuple) -> np.ndarray:
        """:meth:`forward` on numpy arrays, for the Numba backend: K h for a signal `h`
        ``(batch, C_in, nodes)`` and `coefficients` of this layer's shape (a depth field's
        value at a stage), on the width of `plan` (:meth:`numpy_plan`). The conv path's
        correlation over cells (the rule's points as channels) as BLAS products: the taps'
        windows of a few signals at a time gathered into columns (an im2col; measured 5x
        faster in float32 than a Numba loop over taps)."""
        taps, halo, index, points = plan
        weight = np.einsum(_WEIGHT[1], coefficients, taps.astype(h.dtype))
        weight = weight.reshape(self.out_channels * points, -1)  # (o, a), (i, b, k)
        if index is None:
            padded = np.pad(h, ((0, 0), (0, 0), (halo * points, halo * points)))
        else:
            padded = np.take(h, index, axis=2)
        batch, cells = h.shape[0], padded.shape[2] // points - 2 * halo
        split = padded.reshape(batch, self.in_channels, -1, points).transpose(0, 1, 3, 2)
        out = np.empty((batch, weight.shape[0], cells), dtype=h.dtype)
        for start in range(0, batch, _CHUNK):
            windows = sliding_window_view(split[start:start + _CHUNK], 2 * halo + 1, axis=3)  # (b, i, p, e, k)
            columns = np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 3)).reshape(len(windows), -1, cells)
            np.matmul(weight, columns, out=out[start:start + _CHUNK])
        return out.reshape(batch, self.out_channels, points, cells).transpose(0, 1, 3, 2).reshape(batch, self.out_channels, -1)

    def kernel_values(self, s) -> torch.Tensor:
        """κ(s) at offsets `s` in [-r, r] as the Nyström sum reads it (the mean of the
        one-sided values at a breakpoint, half the value at ±r): shape ``(len(s),
        out_channels, in_channels)``."""
        return self._values((np.ravel(s),))

    def _like(self, kernel_axes, coefficients):
        c = self.coefficients
        return LocalKernel(kernel_axes[0], self.in_channels, self.out_channels, boundary=self.boundary.name,
                           coefficients=coefficients, dtype=c.dtype, device=c.device)


class LocalKernel2d(_LocalKernel):
    """A kernel field κ(s, t) ∈ R^{C_out × C_in} on the box [-r_s, r_s] × [-r_t, r_t] (the
    tensor product of two kernel axes) applied to images ``(batch, C_in, nodes_x,
    nodes_y)`` at the tensor Nyström nodes of two width axes:

        (K h)(ξ_q, η_p) = Σ_{j,l} w_j v_l κ(ξ_q − ξ_j, η_p − η_l) h(ξ_j, η_l).

    On equal cells along both widths one ``conv2d`` (the rule's points as channels), else
    the banded product along each width in turn. The same boundary on both axes.

    Parameters
    ----------
    kernel_axes : pair of Axis
        The field's axes along s and t.
    in_channels, out_channels, boundary, coefficients, dtype, device
        As for :class:`LocalKernel`; `coefficients` of shape ``(n_s, n_t, out, in)``.

    Examples
    --------
    >>> import torch
    >>> from fem_nn import uniform_axis
    >>> box = uniform_axis((-0.5, 0.5), 2, "lagrange", 1)
    >>> kernel = LocalKernel2d((box, box), 1, 4, boundary="reflect")
    >>> width = uniform_axis((-1, 1), 8, "p0", 0)  # an 8 × 8 image
    >>> kernel(torch.zeros(2, 1, 8, 8, dtype=torch.float64), width, width).shape
    torch.Size([2, 4, 8, 8])
    """

    def __init__(self, kernel_axes, in_channels: int, out_channels: int, *, boundary: str = "zero",
                 coefficients=None, dtype: torch.dtype = torch.float64, device=None):
        if isinstance(kernel_axes, Axis) or len(kernel_axes) != 2:
            raise TypeError(f"kernel_axes must be a pair of Axis, got {kernel_axes!r}")
        super().__init__(tuple(kernel_axes), in_channels, out_channels, boundary, coefficients, dtype, device)

    def forward(self, h: torch.Tensor, width: Axis, width_y: Axis | None = None) -> torch.Tensor:
        """K h at the tensor Nyström nodes of `width` × `width_y` (default `width` again)."""
        return self._convolve(h, (width, width if width_y is None else width_y))

    def conv_weight(self, width: Axis, width_y: Axis | None = None) -> tuple[torch.Tensor, tuple[int, int]]:
        """The ``conv2d`` weight ``(C_out · P, C_in · P, taps_x, taps_y)`` and padding the
        layer applies on equal cells (see :meth:`LocalKernel.conv_weight`; P the product of
        the rule points per cell of both widths)."""
        return self._conv_weight((width, width if width_y is None else width_y))

    def kernel_values(self, s, t) -> torch.Tensor:
        """κ(s, t) at the points (s_n, t_n) of the box, read per axis as in
        :meth:`LocalKernel.kernel_values`: shape ``(n, out_channels, in_channels)``."""
        s, t = np.broadcast_arrays(np.ravel(s), np.ravel(t))
        return self._values((s, t))

    def _like(self, kernel_axes, coefficients):
        c = self.coefficients
        return LocalKernel2d(kernel_axes, self.in_channels, self.out_channels, boundary=self.boundary.name,
                             coefficients=coefficients, dtype=c.dtype, device=c.device)
