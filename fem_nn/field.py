"""Fields: coefficients on a tensor mesh, with evaluation, integration, norms and projection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Callable

import numpy as np
from scipy import sparse
from scipy.sparse import linalg as sparse_linalg

from . import _checks, limits
from .assembly import integral_vector, mass_factors, mixed_mass_factors
from .kernels import tensor_gather_evaluate
from .mesh import Axis, Mesh, as_mesh
from .projection import Projector, supermesh_axis
from .quadrature import gauss_legendre, rule_on_cells
from .tensor import BandedCholesky, apply_kronecker

__all__ = ["Field", "l2_distance"]


def _gauss_grid(mesh: Mesh, points_per_cell: int | None, extra: int):
    """Per-axis Gauss points and weights, `points_per_cell` on every cell of every axis
    (default: max order + 1 + `extra`; for a family that is not polynomial, its quadrature
    degree at the max order in place of the order)."""
    grid = []
    for axis in mesh.axes:
        degree = axis.family.quadrature_degree(axis.max_order)
        n = degree + 1 + extra if points_per_cell is None else points_per_cell
        x, w = rule_on_cells(gauss_legendre(_checks.integer(n, "quadrature_points", 1)), axis.breakpoints)
        grid.append((x.ravel(), w.ravel()))
    limits.check_bytes(limits.grid_bytes([len(x) for x, _ in grid]), f"a quadrature grid on the mesh {mesh.shape}")
    return grid


def _call_on_grid(function: Callable, coordinates: list[np.ndarray]) -> np.ndarray:
    """Evaluate a vectorized callable f(x0, x1, ...) on the tensor grid of `coordinates`."""
    if not callable(function):
        raise TypeError(f"function must be callable as f({', '.join('x' * len(coordinates))}), got {function!r}")
    mesh_axes = np.meshgrid(*coordinates, indexing="ij", sparse=True)
    values = np.asarray(function(*mesh_axes))
    if np.iscomplexobj(values):
        raise TypeError("function returned complex values; a field is real")
    if not (np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)):
        raise TypeError(f"function returned values of dtype {values.dtype}, expected real numbers")
    values = values.astype(float)
    shape = tuple(len(c) for c in coordinates)
    try:
        values = np.broadcast_to(values, shape)
    except ValueError:
        raise ValueError(
            f"function returned shape {values.shape}, which does not broadcast to the grid {shape}"
        ) from None
    if not np.all(np.isfinite(values)):
        raise ValueError("function returned NaN or inf on the mesh")
    return values


class Field:
    """A field: coefficients of the tensor-product basis of a mesh.

    Parameters
    ----------
    mesh : Mesh or Axis
    coefficients : array_like of float, shape ``mesh.shape`` (or flat of ``mesh.n_dofs``)
        Default: zeros.

    Examples
    --------
    >>> from fem_nn import bias_mesh
    >>> mesh = bias_mesh()
    >>> f = Field.from_function(mesh, lambda xi, delta: 1 + xi * delta)
    >>> round(f.integrate(), 12)  # ∫∫ 1 + ξδ over [-1, 1] × [0, 1]
    2.0
    """

    def __init__(self, mesh: Mesh | Axis, coefficients=None):
        self.mesh = as_mesh(mesh)
        limits.check_bytes(limits.field_bytes(self.mesh), f"a field on the mesh {self.mesh.shape}")
        if coefficients is None:
            coefficients = np.zeros(self.mesh.shape)
        self.coefficients = _checks.real_array(coefficients, "coefficients", self.mesh.shape)

    def __repr__(self) -> str:
        return f"Field(shape={self.mesh.shape}, mesh={self.mesh!r})"

    # --- construction --------------------------------------------------------------------
    @classmethod
    def from_function(
        cls,
        mesh: Mesh | Axis,
        function: Callable,
        method: str = "l2",
        quadrature_points: int | None = None,
    ) -> "Field":
        """The field of `mesh` closest to a callable.

        Parameters
        ----------
        function : callable
            ``f(x0, x1, ...)``, one argument per axis, vectorized (it receives broadcastable
            arrays of a tensor grid).
        method : {"l2", "interpolate"}
            L2 projection (by Gauss quadrature) or interpolation at the axes'
            :meth:`~fem_nn.Axis.interpolation_points`.
        quadrature_points : int, optional
            Gauss points per cell for the L2 projection; default max order + 3.
        """
        mesh = as_mesh(mesh)
        if method == "interpolate":
            points = [axis.interpolation_points() for axis in mesh.axes]
            values = _call_on_grid(function, points)
            # nodal bases are the identity at their nodes; modal ones solve per cell
            inverses = [
                None if axis.family.nodal else sparse_linalg.inv(axis.evaluation_matrix(x).tocsc())
                for axis, x in zip(mesh.axes, points)
            ]
            return cls(mesh, apply_kronecker(inverses, values))
        if method != "l2":
            raise ValueError(f"method must be 'l2' or 'interpolate', got {method!r}")
        grid = _gauss_grid(mesh, quadrature_points, extra=2)
        values = _call_on_grid(function, [x for x, _ in grid])
        # ∫ f φ_i by quadrature: (E^T diag(w)) on each axis, then the mass solves
        loads = [axis.evaluation_matrix(x).T.multiply(w).tocsr() for axis, (x, w) in zip(mesh.axes, grid)]
        rhs = apply_kronecker(loads, values)
        for k, mass in enumerate(mass_factors(mesh)):
            rhs = BandedCholesky(mass).solve_along(rhs, k)
        return cls(mesh, rhs)

    # --- evaluation ----------------------------------------------------------------------
    def evaluate(self, points, derivative=None, side: str = "right") -> np.ndarray:
        """Values at scattered points.

        Parameters
        ----------
        points : array_like, shape (n, dim) (or (n,) on a 1D mesh)
        derivative : sequence of {0, 1}, optional
            Per-axis derivative order, e.g. ``(0, 0, 1)`` for ∂/∂δ of a weight field.
        side : {"right", "left"}
            Which cell a point on an interior breakpoint takes its value from.

        Returns
        -------
        ndarray, shape (n,)
        """
        dim = self.mesh.dim
        try:
            pts = np.asarray(points, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"points must be an array of real numbers of shape (n, {dim})") from None
        if dim == 1 and pts.ndim == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != dim:
            raise ValueError(f"points must have shape (n, {dim}), got {np.shape(points)}")
        derivative = (0,) * dim if derivative is None else tuple(derivative)
        if len(derivative) != dim or any(d not in (0, 1) for d in derivative):
            raise ValueError(f"derivative must be {dim} entries of 0 or 1, got {derivative!r}")
        gathers = []
        for k, axis in enumerate(self.mesh.axes):
            values, dofs = axis.tabulate(pts[:, k], derivative[k], side)
            gathers += [values[derivative[k]], dofs]
        trivial = [np.ones((len(pts), 1)), np.zeros((len(pts), 1), dtype=np.int64)]
        gathers += trivial * (3 - dim)
        coefficients = self.coefficients.reshape(self.mesh.shape + (1,) * (3 - dim))
        return tensor_gather_evaluate(*gathers, coefficients)

    def evaluate_grid(self, *coordinates, side: str = "right") -> np.ndarray:
        """Values on the tensor grid of per-axis coordinates, by sum factorization.

        Returns an array of shape ``(len(coordinates[0]), len(coordinates[1]), ...)``.
        """
        if len(coordinates) != self.mesh.dim:
            raise ValueError(f"evaluate_grid needs {self.mesh.dim} coordinate arrays, got {len(coordinates)}")
        matrices = [axis.evaluation_matrix(np.ravel(x), 0, side) for axis, x in zip(self.mesh.axes, coordinates)]
        return apply_kronecker(matrices, self.coefficients)

    def restricted(self, at) -> "Field":
        """The restriction of this field to the coordinates `at` fixes: a field on the other
        axes, exact (the fixed axes' basis functions are evaluated there, from the right at an
        interior breakpoint).

        Parameters
        ----------
        at : mapping of axis (name or index) to float
            The fixed coordinates; at least one axis is left free.

        Examples
        --------
        >>> from fem_nn import bias_mesh, uniform_axis
        >>> mesh = bias_mesh(depth=uniform_axis((0.0, 1.0), 2, "lagrange", 1))  # holds ξδ exactly
        >>> f = Field.from_function(mesh, lambda xi, delta: xi * delta)
        >>> line = f.restricted({"delta": 0.5})  # ξ ↦ ξ / 2 on the ξ axis
        >>> line.mesh.names, round(float(line.evaluate([0.5])[0]), 12)
        (('xi',), 0.25)
        """
        if not isinstance(at, Mapping):
            raise TypeError(f"at must be a mapping of axis (name or index) to coordinate, e.g. {{'delta': 0.5}}, got {at!r}")
        mesh, fixed = self.mesh, {}
        for key, value in at.items():
            try:
                k = mesh.axis_index(key)
            except ValueError:
                raise ValueError(f"at: {key!r} is not an axis of the field; axes are {mesh.names} (or their indices)") from None
            if k in fixed:
                raise ValueError(f"at fixes the axis {mesh.names[k]!r} twice")
            value = _checks.real(value, f"at[{key!r}]")
            a, b = mesh.axes[k].interval
            if not a <= value <= b:
                raise ValueError(f"at[{key!r}] = {value:g} lies outside the {mesh.names[k]} interval [{a:g}, {b:g}]")
            fixed[k] = value
        if len(fixed) >= mesh.dim:
            raise ValueError(f"at fixes all {mesh.dim} axes of the field; leave one axis (a curve) or two (an image) free")
        coefficients = self.coefficients
        for k in sorted(fixed, reverse=True):
            row = mesh.axes[k].evaluation_matrix([fixed[k]]).toarray()[0]
            coefficients = np.tensordot(coefficients, row, axes=([k], [0]))
        free = [k for k in range(mesh.dim) if k not in fixed]
        return Field(Mesh([mesh.axes[k] for k in free], [mesh.names[k] for k in free]), np.ascontiguousarray(coefficients))

    # --- integrals -----------------------------------------------------------------------
    def integrate(self) -> float:
        """∫ f over the mesh's box, exact."""
        vectors = [sparse.csr_matrix(integral_vector(axis)) for axis in self.mesh.axes]
        return float(apply_kronecker(vectors, self.coefficients).ravel()[0])

    def inner(self, other: "Field") -> float:
        """The L2 inner product with a field on the same mesh, exact."""
        self._check_same_mesh(other)
        return float(np.vdot(self.coefficients, apply_kronecker(mass_factors(self.mesh), other.coefficients)))

    def norm(self) -> float:
        """The L2 norm, exact."""
        return float(np.sqrt(max(self.inner(self), 0.0)))

    def l2_error(self, function: Callable, quadrature_points: int | None = None) -> float:
        """‖f − function‖ in L2, by Gauss quadrature (default max order + 4 points per cell)."""
        grid = _gauss_grid(self.mesh, quadrature_points, extra=3)
        exact = _call_on_grid(function, [x for x, _ in grid])
        error = self.evaluate_grid(*(x for x, _ in grid)) - exact
        weights = [w for _, w in grid]
        for k, w in enumerate(weights):
            shape = [1] * len(weights)
            shape[k] = len(w)
            error = error * np.sqrt(w).reshape(shape)
        return float(np.sqrt(np.sum(error**2)))

    # --- projection ----------------------------------------------------------------------
    def project(self, mesh: Mesh | Axis) -> "Field":
        """The L2 projection onto `mesh` (same box; nested or not)."""
        mesh = as_mesh(mesh)
        limits.check_bytes(limits.projection_bytes(self.mesh, mesh), f"the projection onto the mesh {mesh.shape}")
        return Field(mesh, Projector(mesh, self.mesh)(self.coefficients))

    # --- arithmetic on one mesh ----------------------------------------------------------
    def _check_same_mesh(self, other) -> None:
        if not isinstance(other, Field):
            raise TypeError(f"other must be a Field, got {type(other).__name__}")
        if other.mesh != self.mesh:
            raise ValueError("the fields live on different meshes; project one onto the other's mesh first")

    def __add__(self, other: "Field") -> "Field":
        self._check_same_mesh(other)
        return Field(self.mesh, self.coefficients + other.coefficients)

    def __sub__(self, other: "Field") -> "Field":
        self._check_same_mesh(other)
        return Field(self.mesh, self.coefficients - other.coefficients)

    def __mul__(self, scalar: float) -> "Field":
        if not np.isscalar(scalar) or not np.isreal(scalar):
            raise TypeError(f"a Field can be multiplied by a real scalar, got {type(scalar).__name__}")
        return Field(self.mesh, self.coefficients * float(scalar))

    __rmul__ = __mul__

    def __neg__(self) -> "Field":
        return self * -1.0


def l2_distance(f: Field, g: Field) -> float:
    """‖f − g‖ in L2 for fields on any two meshes of one box, exact.

    Both fields are projected (exactly) onto a space that contains them, where the difference
    is taken: no cancellation between ‖f‖² and ‖g‖². That is the mesh of one of them when it
    contains the other's (:meth:`~fem_nn.Mesh.contains`), else discontinuous Legendre spaces on the
    per-axis supermesh. No Legendre space contains a family that is not polynomial (Fourier):
    with one, and neither mesh containing the other, the distance is ``sqrt(‖f‖² + ‖g‖² − 2 (f,
    g))``, exact but with round-off relative to the norms.

    Examples
    --------
    >>> from fem_nn import signal_mesh
    >>> f = Field.from_function(signal_mesh(), lambda x: x**2)
    >>> float(l2_distance(f, f.project(f.mesh.refined())))  < 1e-14
    True
    """
    for name, field in (("f", f), ("g", g)):
        if not isinstance(field, Field):
            raise TypeError(f"{name} must be a Field, got {type(field).__name__}")
    f.mesh.check_same_box(g.mesh, "g")
    if f.mesh == g.mesh:
        return (f - g).norm()
    if f.mesh.contains(g.mesh):  # nested: g projects exactly onto f's mesh, no supermesh needed
        return (f - g.project(f.mesh)).norm()
    if g.mesh.contains(f.mesh):
        return (f.project(g.mesh) - g).norm()
    if not all(axis.family.polynomial for axis in f.mesh.axes + g.mesh.axes):
        # no Legendre space contains a trigonometric one: ‖f‖² + ‖g‖² − 2 (f, g), exact
        # (round-off relative to ‖f‖² + ‖g‖², not to the distance)
        cross = np.vdot(f.coefficients, apply_kronecker(mixed_mass_factors(f.mesh, g.mesh), g.coefficients))
        return float(np.sqrt(max(f.inner(f) + g.inner(g) - 2.0 * cross, 0.0)))
    common = Mesh([supermesh_axis(a, b) for a, b in zip(f.mesh.axes, g.mesh.axes)], f.mesh.names)
    return (f.project(common) - g.project(common)).norm()
