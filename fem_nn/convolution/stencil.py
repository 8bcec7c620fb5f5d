"""The geometry of a local kernel on one width axis: which Nyström nodes (and boundary
images of them) each node reads within the kernel's support, and the kernel basis at those
offsets — as convolution taps where the width's cells are equal, as a banded operator
otherwise. Geometry only (numpy, float64): the kernel coefficients enter per call."""

from __future__ import annotations

import numpy as np
import torch

from ..continuum.width import nystrom_nodes
from ..mesh import Axis
from .boundaries import Boundary

__all__ = ["Stencil", "check_width", "kernel_basis"]

# offsets this close to a kernel breakpoint or to the support's ends, relative to the
# radius, are on them
_EDGE = 1e-9
# equal cells, relative to their width: the node offsets are then a lattice per point pair
_UNIFORM = 1e-12


def check_width(width, name: str = "width") -> Axis:
    """`width` if it is an Axis on [-1, 1] (the signal's width), else a TypeError or
    ValueError naming `name`."""
    if not isinstance(width, Axis):
        raise TypeError(f"{name} must be the signal's width Axis, got {type(width).__name__}")
    a, b = width.breakpoints[0], width.breakpoints[-1]
    if abs(a + 1.0) > 1e-12 or abs(b - 1.0) > 1e-12:
        raise ValueError(f"{name} must be an axis on [-1, 1], got [{a:g}, {b:g}]")
    return width


def kernel_basis(kernel_axis: Axis, offsets: np.ndarray) -> np.ndarray:
    """The kernel axis' basis at `offsets` as a dense matrix (len(offsets), n_dofs), as the
    Nyström sum reads it: the mean of the two one-sided values at an offset on a breakpoint
    (a jump of a discontinuous field), and half the value at the support's ends ±r (where
    κ jumps to 0). A jump that falls on a node then counts half on each side, as the
    integral does (the trapezoid rule of a piecewise linear κ on a lattice is exact), and a
    periodic kernel of radius 1 reads the node at offset ±1 once in all."""
    r = kernel_axis.interval[1]
    s = np.clip(np.asarray(offsets, dtype=float).ravel(), -r, r)
    _, snapped = kernel_axis.locate_within(s, s, s)
    basis = np.zeros((s.size, kernel_axis.n_dofs))
    rows = np.repeat(np.arange(s.size), kernel_axis.max_order + 1)
    for side in ("left", "right"):
        values, dofs = kernel_axis.tabulate(snapped, side=side)
        np.add.at(basis, (rows, dofs.ravel()), 0.5 * values[0].ravel())
    basis[np.abs(np.abs(s) - r) <= _EDGE * r] *= 0.5
    return basis


def in_support(offsets: np.ndarray, radius: float) -> np.ndarray:
    """Whether each offset lies in the support [-r, r] of a kernel of `radius`."""
    return np.abs(offsets) <= radius * (1.0 + _EDGE)


class Stencil:
    """The pairs (node q, node j) of the Nyström nodes of `width` with ``ξ_q − y_j`` in the
    support [-r, r] of `kernel_axis`, y_j the node ξ_j itself or one of its `boundary`
    images, and the kernel basis there.

    Parameters
    ----------
    width : Axis
        The signal's width axis on [-1, 1]; its quadrature rule gives the nodes and weights.
    kernel_axis : Axis
        The kernel's axis, on [-r, r] with 0 < r <= 1.
    boundary : Boundary

    Attributes
    ----------
    n_nodes : int
    uniform : bool
        Whether the width's cells are equal: then :meth:`taps` apply as a convolution over
        cells with the rule's points as channels.
    """

    def __init__(self, width: Axis, kernel_axis: Axis, boundary: Boundary):
        self.width, self.kernel_axis, self.boundary = width, kernel_axis, boundary
        self.radius = kernel_axis.interval[1]
        self.nodes, self.weights, _ = nystrom_nodes(width)
        self.n_nodes = len(self.nodes)
        widths = width.widths
        self.uniform = bool(np.all(np.abs(widths - widths[0]) <= _UNIFORM * widths[0]))

    def banded(self, dtype: torch.dtype, device) -> torch.Tensor:
        """The sparse operator A (n_dofs · n_nodes × n_nodes), row ``d · n + q``, column j:
        ``Σ w_j φ_d(ξ_q − y_j)`` over node j and its images y_j in the support of node q."""
        n, r = self.n_nodes, self.radius
        positions = np.concatenate([self.nodes, *self.boundary.images(self.nodes)])
        sources = np.tile(np.arange(n), len(positions) // n)
        order = np.argsort(positions, kind="stable")
        positions, sources = positions[order], sources[order]
        slack = 2 * _EDGE * r
        first = np.searchsorted(positions, self.nodes - r - slack, side="left")
        last = np.searchsorted(positions, self.nodes + r + slack, side="right")
        q = np.repeat(np.arange(n), last - first)
        j = np.concatenate([np.arange(a, b) for a, b in zip(first, last)]) if n else np.zeros(0, int)
        offsets = self.nodes[q] - positions[j]
        keep = in_support(offsets, r)
        q, j, offsets = q[keep], sources[j[keep]], offsets[keep]
        basis = kernel_basis(self.kernel_axis, offsets) * self.weights[j][:, None]  # (pairs, dofs)
        d, pair = np.nonzero(basis.T)
        indices = torch.as_tensor(np.stack([d * n + q[pair], j[pair]]), dtype=torch.long)
        values = torch.as_tensor(basis.T[d, pair], dtype=dtype)
        shape = (self.kernel_axis.n_dofs * n, n)
        return torch.sparse_coo_tensor(indices, values, shape, device=device, check_invariants=True).coalesce()

    def taps(self) -> tuple[np.ndarray, int]:
        """On equal cells of width h with the rule's points t_a and weights ω_b: the taps
        ``T[d, a, b, k] = (ω_b h / 2) φ_d(m h + (t_a − t_b) h / 2)`` for the cell offsets
        ``m = M − k``, ``k = 0 … 2M`` (a cross-correlation's order), zero outside the
        support; and M, the padding in cells on each side."""
        rule = self.width.quadrature_rule
        h = float(self.width.widths[0])
        t, omega = rule.points, rule.weights
        spread = (t[-1] - t[0]) / 2  # the largest offset within a cell, in cells
        halo = int(np.floor(self.radius * (1.0 + _EDGE) / h + spread))
        m = halo - np.arange(2 * halo + 1)
        offsets = m[None, None, :] * h + (t[:, None, None] - t[None, :, None]) * h / 2  # (a, b, k)
        basis = kernel_basis(self.kernel_axis, offsets).reshape(*offsets.shape, -1)
        basis *= in_support(offsets, self.radius)[..., None] * (omega * h / 2)[None, :, None, None]
        return np.moveaxis(basis, -1, 0), halo

    def padding_index(self, halo: int) -> np.ndarray:
        """For a padding of `halo` cells on each side of equal cells: the node read at each
        point of each padded cell (the boundary's image of it; its own node inside)."""
        n_cells, points = self.width.n_cells, self.width.quadrature_points
        h = 2.0 / n_cells
        index = np.empty((n_cells + 2 * halo, points), dtype=np.int64)
        for e in range(-halo, n_cells + halo):
            cell, flipped = e, False
            if not 0 <= e < n_cells:
                sign, shift = self.boundary.maps[0 if e < 0 else 1]
                centre = sign * (-1.0 + (e + 0.5) * h) + shift
                cell, flipped = int(np.floor((centre + 1.0) / h)), sign < 0
            local = np.arange(points)[::-1] if flipped else np.arange(points)
            index[e + halo] = cell * points + local
        return index.ravel()


def kernel_coefficients(coefficients, shape: tuple, size: float, layout: str, dtype, device) -> torch.nn.Parameter:
    """A kernel field's coefficients as a Parameter of `shape` (`layout` names its axes in
    the error): a copy of `coefficients`, or where None a draw of standard deviation `size`."""
    if coefficients is None:
        coefficients = size * torch.randn(shape, dtype=dtype, device=device)
    if not isinstance(coefficients, torch.Tensor):
        coefficients = np.array(coefficients, dtype=float)  # a writable copy
    coefficients = torch.as_tensor(coefficients, dtype=dtype, device=device)
    if tuple(coefficients.shape) != shape:
        raise ValueError(f"coefficients must have shape {shape} ({layout}), got {tuple(coefficients.shape)}")
    return torch.nn.Parameter(coefficients.clone())
