"""L2 projection between tensor meshes, one axis at a time.

The projection of u_A onto mesh B solves ``M_B u_B = M_BA u_A``. Both matrices are
Kronecker products of one-axis matrices, so the solve is a sequence of one-axis operations
``u ↦ M_B,k^{-1} M_BA,k u`` along each axis k: O(N · (p+1)) work, no global sparse solve.
"""

from __future__ import annotations

import numpy as np

from .assembly import _axis_mixed_mass, supermesh
from .mesh import Axis, Mesh
from .tensor import BandedCholesky, apply_along

__all__ = ["AxisTransfer", "Projector", "project", "supermesh_axis"]


class AxisTransfer:
    """The one-axis L2 projection ``M_B^{-1} M_BA`` from `source` onto `target`.

    The identity (no work, no round-off) when both axes span the same space with the same
    dofs, e.g. the width axes when only depth is refined.

    Examples
    --------
    >>> from fem_nn import uniform_axis
    >>> hats = uniform_axis((0.0, 1.0), 1, "lagrange", 1)
    >>> halves = uniform_axis((0.0, 1.0), 2, "p0", 0)
    >>> AxisTransfer(halves, hats).apply(np.array([0.0, 1.0]), axis=0)  # x → its cell means
    array([0.25, 0.75])
    >>> AxisTransfer(hats, hats).identity
    True
    """

    def __init__(self, target: Axis, source: Axis):
        self.target, self.source = target, source
        self.identity = target.same_space(source)
        if not self.identity:
            self.mixed_mass = _axis_mixed_mass(target, source)
            self.mass = BandedCholesky(_axis_mixed_mass(target, target))

    def apply(self, u: np.ndarray, axis: int) -> np.ndarray:
        """Project every fibre of `u` along `axis`."""
        if self.identity:
            return u
        return self.mass.solve_along(apply_along(self.mixed_mass, u, axis), axis)


class Projector:
    """L2 projection from `source` onto `target`, assembled once and applied to any number
    of coefficient arrays (fields, optimizer moments, ...).

    Parameters
    ----------
    target, source : Mesh
        Meshes on the same box, nested or not.

    Examples
    --------
    >>> from fem_nn import weight_mesh
    >>> coarse = weight_mesh()
    >>> fine = coarse.refined()
    >>> u = np.random.default_rng(0).random(coarse.shape)
    >>> back = Projector(coarse, fine)(Projector(fine, coarse)(u))
    >>> bool(np.abs(back - u).max() < 1e-14)  # coarsen(refine(u)) = u
    True
    """

    def __init__(self, target: Mesh, source: Mesh):
        if not isinstance(source, Mesh):
            raise TypeError(f"source must be a Mesh, got {type(source).__name__}")
        source.check_same_box(target, "target")
        self.target, self.source = target, source
        self.transfers = [AxisTransfer(t, s) for t, s in zip(target.axes, source.axes)]

    def __call__(self, coefficients: np.ndarray) -> np.ndarray:
        """Project coefficients of shape ``(*batch, *source.shape)`` onto the target mesh."""
        u = np.asarray(coefficients)
        if not (np.issubdtype(u.dtype, np.floating) or np.issubdtype(u.dtype, np.integer)) or u.dtype == bool:
            raise TypeError(f"coefficients must be real numbers, got dtype {u.dtype}")
        u = u.astype(np.float64, copy=False)
        dim = self.source.dim
        if u.shape[u.ndim - dim :] != self.source.shape or u.ndim < dim:
            raise ValueError(
                f"coefficients must have shape (..., {', '.join(map(str, self.source.shape))}) "
                f"to match the source mesh, got {u.shape}"
            )
        if not np.isfinite(u).all():
            raise ValueError("coefficients must be finite (no NaN or inf)")
        first = u.ndim - dim
        for k, transfer in enumerate(self.transfers):
            u = transfer.apply(u, first + k)
        return u


def project(field, mesh: Mesh):
    """The L2 projection of `field` onto `mesh` (a new :class:`~fem_nn.Field`).

    Examples
    --------
    >>> from fem_nn import Field, uniform_axis
    >>> f = Field.from_function(uniform_axis((-1.0, 1.0), 2, "lagrange", 2), lambda x: x**2)
    >>> means = project(f, uniform_axis((-1.0, 1.0), 2, "p0", 0))
    >>> means.coefficients  # the cell means of x² on [-1, 0] and [0, 1]
    array([0.33333333, 0.33333333])
    """
    return field.project(mesh)


def supermesh_axis(a: Axis, b: Axis) -> Axis:
    """A discontinuous Legendre axis on the supermesh of `a` and `b` whose space contains
    both: on each supermesh cell, the larger of the two parent cells' orders.

    Examples
    --------
    >>> from fem_nn import uniform_axis
    >>> a = uniform_axis((0.0, 1.0), 2, "lagrange", 1)
    >>> b = uniform_axis((0.0, 1.0), 3, "p0", 0)
    >>> supermesh_axis(a, b)
    Axis([0, 1], cells=4, family='legendre', order=1, dofs=8)
    """
    breakpoints = supermesh(a.breakpoints, b.breakpoints)
    mid = 0.5 * (breakpoints[1:] + breakpoints[:-1])
    orders = np.maximum(a.orders[a.locate(mid)[0]], b.orders[b.locate(mid)[0]])
    return Axis(breakpoints, "legendre", orders)
