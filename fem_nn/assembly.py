"""Mass and mixed-mass matrices, exact on the supermesh, per axis and as Kronecker products.

For tensor meshes ``M = M_0 ⊗ M_1 ⊗ M_2`` (C-order flattening of the coefficient array), so
everything reduces to one-dimensional assembly: integrals over the supermesh of the two
partitions with just enough Gauss points for the product of the two bases.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
from scipy import sparse

from .mesh import Axis, Mesh, as_mesh
from .quadrature import gauss_legendre, points_for_degree, rule_on_cells

__all__ = [
    "supermesh",
    "mass_matrix",
    "mixed_mass_matrix",
    "mass_factors",
    "mixed_mass_factors",
    "integral_vector",
]


def supermesh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The common refinement of two partitions of one interval: their sorted, merged
    breakpoints, with breakpoints closer than a few ulps taken as one (no sliver cells).

    Examples
    --------
    >>> supermesh(np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.25, 1.0]))
    array([0.  , 0.25, 0.5 , 1.  ])
    """
    if not np.allclose([a[0], a[-1]], [b[0], b[-1]], rtol=0, atol=1e-12 * (a[-1] - a[0])):
        raise ValueError(
            f"the partitions cover different intervals: [{a[0]:g}, {a[-1]:g}] and "
            f"[{b[0]:g}, {b[-1]:g}]"
        )
    merged = np.unique(np.concatenate((a, b)))
    tolerance = 8 * np.finfo(float).eps * max(abs(merged[0]), abs(merged[-1]), merged[-1] - merged[0])
    merged = np.concatenate((merged[:1], merged[1:][np.diff(merged) > tolerance]))
    merged[-1] = max(a[-1], b[-1])  # a sliver at the end dropped the end point itself
    return merged


def _axis_mixed_mass(target: Axis, source: Axis) -> sparse.csr_matrix:
    """∫ φ_target_i φ_source_j over the shared interval, exact on the supermesh."""
    cells = supermesh(target.breakpoints, source.breakpoints)
    degree = target.family.quadrature_degree(target.max_order) + source.family.quadrature_degree(source.max_order)
    rule = gauss_legendre(points_for_degree(degree))
    x, w = rule_on_cells(rule, cells)
    # Gauss points are interior to a supermesh cell, hence to exactly one cell of each axis.
    vt, dt = target.tabulate(x.ravel())
    vs, ds = source.tabulate(x.ravel())
    n_cells, n_points = x.shape
    vt = vt[0].reshape(n_cells, n_points, -1)
    vs = vs[0].reshape(n_cells, n_points, -1)
    local = np.einsum("cq,cqi,cqj->cij", w, vt, vs)
    rows = dt.reshape(n_cells, n_points, -1)[:, 0, :, None]
    cols = ds.reshape(n_cells, n_points, -1)[:, 0, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    # padded (absent) basis functions tabulate to 0: drop them rather than store zeros
    used = np.einsum("cqi,cqj->cij", vt != 0, vs != 0) > 0
    return sparse.csr_matrix(
        (local[used], (rows[used], cols[used])), shape=(target.n_dofs, source.n_dofs)
    )


def _kron(factors) -> sparse.csr_matrix:
    return reduce(lambda a, b: sparse.kron(a, b, format="csr"), factors)


def mass_factors(mesh: Mesh) -> list[sparse.csr_matrix]:
    """The one-axis mass matrices ``M_k = ∫ φ_i φ_j`` of each axis of `mesh`.

    Examples
    --------
    >>> from fem_nn import bias_mesh
    >>> mesh = bias_mesh()  # 8 P1 width cells × 4 P0 depth cells
    >>> [factor.shape for factor in mass_factors(mesh)]
    [(9, 9), (4, 4)]
    >>> mass_factors(mesh)[1].diagonal()  # P0 cells of width 1/4
    array([0.25, 0.25, 0.25, 0.25])
    """
    return [_axis_mixed_mass(axis, axis) for axis in mesh.axes]


def mixed_mass_factors(target: Mesh, source: Mesh) -> list[sparse.csr_matrix]:
    """The one-axis mixed-mass matrices ``∫ φ^target_i φ^source_j`` of two meshes on one box.

    Examples
    --------
    >>> from fem_nn import bias_mesh
    >>> coarse = bias_mesh()
    >>> [factor.shape for factor in mixed_mass_factors(coarse.refined("delta"), coarse)]
    [(9, 9), (8, 4)]
    """
    source.check_same_box(target)
    return [_axis_mixed_mass(t, s) for t, s in zip(target.axes, source.axes)]


def mass_matrix(mesh: Mesh | Axis) -> sparse.csr_matrix:
    """The mass matrix of `mesh` as a scipy.sparse CSR matrix (C-order dofs).

    Examples
    --------
    >>> from fem_nn import uniform_axis
    >>> mass_matrix(uniform_axis((0.0, 1.0), 1, "lagrange", 1)).toarray() * 6
    array([[2., 1.],
           [1., 2.]])
    """
    return _kron(mass_factors(as_mesh(mesh)))


def mixed_mass_matrix(target: Mesh | Axis, source: Mesh | Axis) -> sparse.csr_matrix:
    """The mixed-mass matrix ``M_BA = ∫ φ^B_i φ^A_j`` (B = `target`, A = `source`), exact for
    nested and non-nested meshes alike.

    Examples
    --------
    >>> from fem_nn import uniform_axis
    >>> halves = uniform_axis((0.0, 1.0), 2, "p0", 0)
    >>> hats = uniform_axis((0.0, 1.0), 1, "lagrange", 1)
    >>> mixed_mass_matrix(halves, hats).toarray() * 8  # ∫ over each half of 1 − x and x
    array([[3., 1.],
           [1., 3.]])
    """
    return _kron(mixed_mass_factors(as_mesh(target), as_mesh(source)))


def integral_vector(axis: Axis) -> np.ndarray:
    """``∫ φ_i`` over the axis, exact: the mixed mass against the constant function 1.

    Examples
    --------
    >>> from fem_nn import uniform_axis
    >>> integral_vector(uniform_axis((0.0, 1.0), 2, "lagrange", 1))  # hat functions
    array([0.25, 0.5 , 0.25])
    """
    constant = Axis(axis.interval, "p0", 0)
    return np.asarray(_axis_mixed_mass(constant, axis).toarray()).ravel()
