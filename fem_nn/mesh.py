"""Axes (partitioned intervals carrying shape functions and quadrature) and tensor meshes.

An :class:`Axis` is immutable: refine, coarsen, elevate and lower return new axes, and the
same methods on a :class:`Mesh` act on one axis or all of them and return a new mesh.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

import numpy as np

from . import _checks
from .elements import Family, as_family, contains, reference_nodes, tabulate
from .quadrature import QuadratureFamily, QuadratureRule, quadrature_rule, rule_on_cells

__all__ = [
    "Axis",
    "Mesh",
    "uniform_axis",
    "signal_mesh",
    "bias_mesh",
    "weight_mesh",
    "axis_names",
    "WIDTH_INTERVAL",
    "DEPTH_INTERVAL",
    "MeshOperation",
    "MESH_OPERATIONS",
]

WIDTH_INTERVAL = (-1.0, 1.0)
DEPTH_INTERVAL = (0.0, 1.0)
# a point this close to a breakpoint, relative to the adjacent cells' width, is on it
_SNAP = 1e-9
DEFAULT_NAMES = {1: ("xi",), 2: ("xi", "delta"), 3: ("xi", "eta", "delta")}
# the network's words for its mesh axes, accepted wherever an axis name is
AXIS_ALIASES = {"width": ("xi", "eta"), "depth": ("delta",)}


def axis_names(axis: str, names: Sequence[str] = DEFAULT_NAMES[3]) -> tuple[str, ...]:
    """The axes among `names` that `axis` names: itself, or for an alias those it stands
    for ("width": ξ and η, "depth": δ). The canonical names are the meshes' ("xi", "eta",
    "delta"); an unknown name is a ValueError listing both.

    Examples
    --------
    >>> axis_names("width"), axis_names("width", ("xi", "delta")), axis_names("delta")
    (('xi', 'eta'), ('xi',), ('delta',))
    """
    if isinstance(axis, str) and axis in names:
        return (axis,)
    named = tuple(n for n in AXIS_ALIASES.get(axis, ()) if n in names) if isinstance(axis, str) else ()
    if not named:
        aliases = ", ".join(
            f"{alias!r} ({', '.join(n for n in meant if n in names)})"
            for alias, meant in AXIS_ALIASES.items() if any(n in names for n in meant)
        )
        raise ValueError(f"axis must be one of {tuple(names)}" + (f" or an alias {aliases}" if aliases else "") + f", got {axis!r}")
    return named


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _as_breakpoints(breakpoints) -> np.ndarray:
    raw = np.asarray(breakpoints) if not isinstance(breakpoints, (str, bytes)) else None
    real = np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating) if raw is not None else False
    if raw is None or raw.dtype == bool or not (real or raw.dtype == object) or (
        raw.dtype == object and not all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in raw.ravel())
    ):
        raise TypeError(f"breakpoints must be a sequence of real numbers (not strings or booleans), got {breakpoints!r}")
    try:
        b = np.array(raw, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"breakpoints must be a sequence of real numbers, got {type(breakpoints).__name__}"
        ) from None
    if b.ndim != 1 or b.size < 2:
        raise ValueError(f"breakpoints must be a 1D sequence of at least 2 numbers, got shape {b.shape}")
    if not np.all(np.isfinite(b)):
        raise ValueError("breakpoints must be finite (no NaN or inf)")
    if not np.all(np.diff(b) > 0):
        bad = int(np.argmin(np.diff(b) > 0))
        raise ValueError(
            f"breakpoints must be strictly increasing; breakpoints[{bad}] = {b[bad]!r} "
            f">= breakpoints[{bad + 1}] = {b[bad + 1]!r}"
        )
    return _readonly(b)


def _entries(values):
    """The scalars of a nested list / tuple / array as given (np.asarray would turn a True
    among integers into 1)."""
    if isinstance(values, (list, tuple)):
        return [v for item in values for v in _entries(item)]
    return list(np.ravel(values)) if isinstance(values, np.ndarray) else [values]


def _as_orders(order, n_cells: int, family: Family) -> np.ndarray:
    raw = np.asarray(order)
    if raw.dtype == bool or not (np.issubdtype(raw.dtype, np.integer) or raw.dtype == object):
        raise TypeError(f"order must be an integer or a sequence of integers, got {order!r}")
    if (raw.ndim > 0 or raw.dtype == object) and not all(
        isinstance(o, (int, np.integer)) and not isinstance(o, (bool, np.bool_)) for o in _entries(order)
    ):
        raise TypeError(f"order must be an integer or a sequence of integers (not booleans), got {order!r}")
    orders = np.broadcast_to(raw.astype(np.int64), (n_cells,)) if raw.ndim == 0 else raw.astype(np.int64)
    if orders.shape != (n_cells,):
        raise ValueError(f"order must be one integer or one per cell ({n_cells}), got {orders.size} (shape {orders.shape})")
    if np.any(orders < family.min_order):
        raise ValueError(
            f"order must be >= {family.min_order} for family '{family.value}', got {orders.min()}"
        )
    if family.max_order is not None and np.any(orders > family.max_order):
        raise ValueError(
            f"order must be {family.max_order} for family '{family.value}' "
            f"(use family 'legendre' for higher orders), got {orders.max()}"
        )
    return _readonly(np.array(orders))


class Axis:
    """An interval partitioned into cells, with a shape-function family, per-cell orders and a
    quadrature rule.

    Parameters
    ----------
    breakpoints : array_like, shape (n_cells + 1,)
        Strictly increasing cell boundaries.
    family : Family or str, default "lagrange"
    order : int or sequence of int, default 1
        Polynomial order, one for all cells or one per cell (hp).
    quadrature : QuadratureFamily or str, default "gauss_legendre"
        The rule used for integrals over this axis (e.g. Nyström width integration). Mass
        and mixed-mass matrices are always assembled exactly, independently of it.
    quadrature_points : int, optional
        Points per cell; default ``max(order) + 1``.

    Examples
    --------
    >>> axis = Axis([-1.0, 0.0, 1.0], family="lagrange", order=2)
    >>> axis.n_cells, axis.n_dofs
    (2, 5)
    >>> axis.refined().n_dofs
    9
    """

    def __init__(
        self,
        breakpoints,
        family: Family | str = Family.LAGRANGE,
        order=1,
        quadrature: QuadratureFamily | str = QuadratureFamily.GAUSS_LEGENDRE,
        quadrature_points: int | None = None,
    ):
        self.breakpoints = _as_breakpoints(breakpoints)
        self.family = as_family(family)
        self.orders = _as_orders(order, len(self.breakpoints) - 1, self.family)
        try:
            self.quadrature = QuadratureFamily(quadrature)
        except ValueError:
            known = ", ".join(repr(q.value) for q in QuadratureFamily)
            raise ValueError(f"quadrature must be one of {known}, got {quadrature!r}") from None
        # a count the user chose survives refine / elevate; the default follows the orders
        self._given_points = quadrature_points
        lobatto = self.quadrature is QuadratureFamily.GAUSS_LOBATTO
        if quadrature_points is None:
            quadrature_points = max(int(self.orders.max()) + 1, 2 if lobatto else 1)
        else:
            _checks.integer(quadrature_points, "quadrature_points", 2 if lobatto else 1)
        self.quadrature_rule: QuadratureRule = quadrature_rule(self.quadrature, quadrature_points)
        if self.family.continuous:
            offsets = np.concatenate(([0], np.cumsum(self.orders)))
            self.n_dofs = int(offsets[-1]) + 1
        else:
            offsets = np.concatenate(([0], np.cumsum(self.orders + 1)))
            self.n_dofs = int(offsets[-1])
        self._offsets = _readonly(offsets)

    # --- description -------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return len(self.breakpoints) - 1

    @property
    def interval(self) -> tuple[float, float]:
        return float(self.breakpoints[0]), float(self.breakpoints[-1])

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.breakpoints)

    @property
    def max_order(self) -> int:
        return int(self.orders.max())

    @property
    def order(self) -> int:
        """The order of every cell; a ValueError for an axis with per-cell orders."""
        if np.any(self.orders != self.orders[0]):
            raise ValueError("this axis has per-cell orders; use Axis.orders")
        return int(self.orders[0])

    @property
    def quadrature_points(self) -> int:
        return self.quadrature_rule.n_points

    def cell_dofs(self) -> np.ndarray:
        """Global dof numbers of every cell, shape (n_cells, max_order + 1), padded with -1."""
        local = np.arange(self.max_order + 1)
        dofs = self._offsets[:-1, None] + local
        return np.where(local <= self.orders[:, None], dofs, -1)

    def quadrature_on_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Physical points and weights of this axis' rule, each shape (n_cells, n_points)."""
        return rule_on_cells(self.quadrature_rule, self.breakpoints)

    def _basis_family(self) -> Family:
        # Legendre of order 0 is 1 on every cell: the P0 basis (elevating then lowering P0 gives it)
        return Family.P0 if self.family is Family.LEGENDRE and not self.orders.any() else self.family

    def same_space(self, other: "Axis") -> bool:
        """Whether `other` spans the same function space with the same dofs (the same basis).

        Examples
        --------
        >>> p0 = uniform_axis((0.0, 1.0), 4, "p0", 0)
        >>> p0.same_space(p0.elevated().lowered()), p0.elevated().lowered().family.value
        (True, 'legendre')
        """
        return (
            self._basis_family() is other._basis_family()
            and np.array_equal(self.breakpoints, other.breakpoints)
            and np.array_equal(self.orders, other.orders)
        )

    def contains(self, other: "Axis") -> bool:
        """Whether this axis' space contains `other`'s (so projecting onto it is exact):
        `other`'s breakpoints are among this axis', every cell's order is at least that of the
        `other` cell holding it, and the family contains `other`'s
        (:func:`~fem_nn.elements.contains`).

        Examples
        --------
        >>> hats = uniform_axis((0.0, 1.0), 2, "lagrange", 1)
        >>> hats.refined().elevated().contains(hats), hats.contains(hats.refined())
        (True, False)
        """
        if not isinstance(other, Axis):
            raise TypeError(f"other must be an Axis, got {type(other).__name__}")
        a, b = self.breakpoints, other.breakpoints
        tolerance = 8 * np.finfo(float).eps * max(abs(a[0]), abs(a[-1]), a[-1] - a[0])
        j = np.clip(np.searchsorted(a, b), 1, len(a) - 1)
        nearest = np.minimum(np.abs(b - a[j - 1]), np.abs(b - a[j]))  # of other's breakpoints, to ours
        if np.any(nearest > tolerance) or not contains(self.family, other._basis_family()):
            return False
        mid = 0.5 * (a[1:] + a[:-1])
        return bool(np.all(self.orders >= other.orders[other.locate(mid)[0]]))

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Axis)
            and self.same_space(other)
            and self.quadrature_rule.family is other.quadrature_rule.family
            and self.quadrature_points == other.quadrature_points
        )

    __hash__ = None

    def __repr__(self) -> str:
        orders = self.orders[0] if np.all(self.orders == self.orders[0]) else self.orders.tolist()
        a, b = self.interval
        return (
            f"Axis([{a:g}, {b:g}], cells={self.n_cells}, family='{self.family.value}', "
            f"order={orders}, dofs={self.n_dofs})"
        )

    # --- evaluation --------------------------------------------------------------------
    def locate(self, x, side: str = "right", cells=None) -> tuple[np.ndarray, np.ndarray]:
        """The cell holding each point and the point's reference coordinate in it.

        A point on an interior breakpoint belongs to the cell on its `side` ("right" or
        "left"): that is how a one-sided value of a discontinuous field is chosen. Given
        `cells` (one cell index per point), each point is taken in its given cell instead,
        with no location: points that two cells share (the end nodes of a Gauss–Lobatto
        rule on each cell) then get each cell's own values. Reference coordinates are
        clipped to [-1, 1].
        """
        x = np.asarray(x, dtype=float)
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        if not np.all(np.isfinite(x)):
            raise ValueError("points must be finite (no NaN or inf)")
        a, b = self.interval
        slack = 1e-12 * (b - a)
        if x.size and (x.min() < a - slack or x.max() > b + slack):
            raise ValueError(f"points must lie in the axis interval [{a:g}, {b:g}]")
        if cells is None:
            cells = np.clip(np.searchsorted(self.breakpoints, x, side=side) - 1, 0, self.n_cells - 1)
        else:
            cells = self._given_cells(cells, x.shape)
        left, right = self.breakpoints[cells], self.breakpoints[cells + 1]
        reference = np.clip((2.0 * x - left - right) / (right - left), -1.0, 1.0)
        return cells, reference

    def _given_cells(self, cells, shape) -> np.ndarray:
        """`cells` as an integer array of `shape` of indices in [0, n_cells), or an error."""
        raw = np.asarray(cells)
        if raw.size and (raw.dtype == bool or not np.issubdtype(raw.dtype, np.integer)):
            raise TypeError(f"cells must be integer cell indices, one per point, got dtype {raw.dtype}")
        if raw.shape != shape:
            raise ValueError(f"cells must have one entry per point (shape {shape}), got shape {raw.shape}")
        if raw.size and (raw.min() < 0 or raw.max() >= self.n_cells):
            raise ValueError(f"cells must be indices in [0, {self.n_cells}), got {raw.min()}..{raw.max()}")
        return raw.astype(np.int64)

    def locate_within(self, x, lower, upper) -> tuple[np.ndarray, np.ndarray]:
        """The cell read at each point `x` of an interval ``[lower, upper]`` (a Runge–Kutta
        step in depth, a quadrature cell of Nyström nodes), and `x` snapped onto the
        breakpoint it lies on within tolerance.

        The decision is combinatorial, not a float comparison: a point within ``1e-9 ×``
        the adjacent cells' width of a breakpoint is on it (a ``linspace`` step grid and the
        breakpoints of :meth:`refined`, or a Gauss–Lobatto end node and its cell's end,
        differ by ulps). The interval's ends so snapped give the cells it spans; a point
        reads the cell that holds it (on a breakpoint: the cell after it), clipped to those
        cells. An interval inside one cell therefore reads that cell at every point, its
        ends included (the one-sided values of a discontinuous field), whichever
        neighbouring cell shares them.

        Parameters
        ----------
        x, lower, upper : array_like
            Broadcast against each other; ``lower <= x <= upper`` is expected (a point
            outside reads the interval's nearest cell).

        Returns
        -------
        cells : ndarray of int
        x : ndarray of float

        Examples
        --------
        >>> axis = uniform_axis((0.0, 1.0), 5, "p0", 0)
        >>> cells, t = axis.locate_within([0.6, 0.6], [0.6, 8 / 15], [2 / 3, 0.6])  # steps of 1/15
        >>> cells  # the step [0.6, 2/3] lies in cell 3; 0.6 ends the step [8/15, 0.6] in cell 2
        array([3, 2])
        >>> t.tolist(), axis.breakpoints[3].item()
        ([0.6000000000000001, 0.6000000000000001], 0.6000000000000001)
        """
        x, lower, upper = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, lower, upper)))
        first = self._snap(lower)[1]
        last = self._snap(upper)[0]
        _, after, snapped = self._snap(x)
        return np.maximum(first, np.minimum(after, last)), snapped

    def _snap(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cells just before and just after each point (the same cell inside one, the
        outer cell at the axis' ends), and the points set to the breakpoint they lie on
        within tolerance."""
        b, n, widths = self.breakpoints, self.n_cells, self.widths
        tolerance = _SNAP * np.minimum(widths[np.maximum(np.arange(n + 1) - 1, 0)], widths[np.minimum(np.arange(n + 1), n - 1)])
        j = np.clip(np.searchsorted(b, x), 1, n)  # b[j - 1] < x <= b[j], up to the ends
        on_lower = np.abs(x - b[j - 1]) <= tolerance[j - 1]
        on_upper = ~on_lower & (np.abs(x - b[j]) <= tolerance[j])
        before = np.where(on_lower, np.maximum(j - 2, 0), j - 1)
        after = np.where(on_upper, np.minimum(j, n - 1), j - 1)
        snapped = np.where(on_lower, b[j - 1], np.where(on_upper, b[j], x))
        return before, after, snapped

    def tabulate(self, x, n_derivatives: int = 0, side: str = "right", cells=None) -> tuple[np.ndarray, np.ndarray]:
        """Basis values (and first derivatives) at physical points, in gather form; each point
        in the cell that holds it (on a breakpoint: on its `side`), or in its given `cells`
        (see :meth:`locate`).

        Returns
        -------
        values : ndarray, shape (n_derivatives + 1, n, max_order + 1)
            Values of the local basis functions of the cell holding each point (zero in the
            padding of lower-order cells); derivatives are with respect to the physical
            coordinate.
        dofs : ndarray, shape (n, max_order + 1)
            Their global dof numbers (0 in the padding, where the value is 0).
        """
        x = np.ravel(np.asarray(x, dtype=float))
        cells, reference = self.locate(x, side, None if cells is None else np.ravel(cells))
        values = np.zeros((n_derivatives + 1, x.size, self.max_order + 1))
        for order in np.unique(self.orders[cells]):
            here = self.orders[cells] == order
            values[:, here, : order + 1] = tabulate(self.family, int(order), reference[here], n_derivatives)
        if n_derivatives:
            values[1] *= (2.0 / self.widths[cells])[:, None]
        dofs = np.maximum(self.cell_dofs()[cells], 0)
        return values, dofs

    def evaluation_matrix(self, x, derivative: int = 0, side: str = "right", cells=None):
        """Sparse matrix E with ``E @ u`` the values (or derivatives) of the coefficients
        `u` at the points `x` (located as in :meth:`tabulate`); shape (len(x), n_dofs)."""
        from scipy import sparse

        values, dofs = self.tabulate(x, derivative, side, cells)
        n = dofs.shape[0]
        rows = np.repeat(np.arange(n), dofs.shape[1])
        return sparse.csr_matrix(
            (values[derivative].ravel(), (rows, dofs.ravel())), shape=(n, self.n_dofs)
        )

    def interpolation_points(self) -> np.ndarray:
        """Points at which nodal interpolation into this axis' space is unisolvent.

        One point per dof: the Gauss–Lobatto nodes of each cell for the Lagrange families
        (shared end points counted once when continuous), Gauss points for the modal ones.
        """
        points = np.empty(self.n_dofs)
        dofs = self.cell_dofs()
        for c in range(self.n_cells):
            p = int(self.orders[c])
            a, b = self.breakpoints[c], self.breakpoints[c + 1]
            t = 0.5 * (reference_nodes(self.family, p) + 1.0)
            points[dofs[c, : p + 1]] = a * (1.0 - t) + b * t  # end nodes exactly on the breakpoints
        return points

    # --- new axes ------------------------------------------------------------------------
    def _replace(self, breakpoints=None, orders=None, family=None) -> "Axis":
        return Axis(
            self.breakpoints if breakpoints is None else breakpoints,
            self.family if family is None else family,
            self.orders if orders is None else orders,
            self.quadrature,
            self._given_points,
        )

    def _cell_mask(self, cells) -> np.ndarray:
        mask = np.zeros(self.n_cells, dtype=bool)
        if cells is None:
            mask[:] = True
            return mask
        idx = np.asarray(cells)
        if idx.dtype == bool:
            if idx.shape != (self.n_cells,):
                raise ValueError(f"cells as a mask must have length {self.n_cells}, got {idx.shape}")
            return idx.copy()
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"cells must be integer cell indices or a boolean mask, got {cells!r}")
        idx = idx.astype(np.int64).ravel()
        if idx.size and (idx.min() < -self.n_cells or idx.max() >= self.n_cells):
            raise ValueError(f"cells must be indices in [0, {self.n_cells}), got {cells!r}")
        mask[idx] = True
        return mask

    def refined(self, cells=None, k: int = 2) -> "Axis":
        """h-refinement: split every cell (or the selected `cells`) into `k` equal cells."""
        k = _checks.integer(k, "k", 2)
        mask = self._cell_mask(cells)
        b, new_b, new_orders = self.breakpoints, [self.breakpoints[:1]], []
        fractions = np.arange(1, k + 1) / k
        for c in range(self.n_cells):
            if mask[c]:
                inner = b[c] + (b[c + 1] - b[c]) * fractions[:-1]
                new_b.append(np.append(inner, b[c + 1]))
                new_orders.append(np.full(k, self.orders[c]))
            else:
                new_b.append(b[c + 1 : c + 2])
                new_orders.append(self.orders[c : c + 1])
        return self._replace(np.concatenate(new_b), np.concatenate(new_orders))

    def coarsened(self, k: int = 2) -> "Axis":
        """Inverse of a uniform refinement by `k`: merge every `k` consecutive cells.

        Raises ValueError unless the number of cells is a multiple of `k` and each group's
        inner breakpoints split it into `k` equal cells.
        """
        k = _checks.integer(k, "k", 2)
        if self.n_cells % k:
            raise ValueError(f"k must divide the number of cells ({self.n_cells}) to coarsen, got k={k}")
        groups = self.breakpoints[:-1].reshape(-1, k)
        ends = self.breakpoints[k::k]
        expected = groups[:, :1] + (ends - groups[:, 0])[:, None] * (np.arange(k) / k)
        if not np.allclose(groups, expected, rtol=0, atol=1e-12 * (ends[-1] - groups[0, 0])):
            raise ValueError(
                f"k={k} cannot coarsen these breakpoints: they are not a uniform refinement by {k} "
                "of a coarser partition"
            )
        orders = self.orders.reshape(-1, k).max(axis=1)
        return self._replace(np.append(groups[:, 0], ends[-1]), orders)

    def elevated(self, by: int = 1, cells=None) -> "Axis":
        """p-refinement: raise the order of every cell (or the selected `cells`) by `by`.

        A ``p0`` axis becomes ``legendre``, the modal family that contains it.
        """
        by = _checks.integer(by, "by", 0)
        orders = self.orders + by * self._cell_mask(cells)
        family = Family.LEGENDRE if self.family is Family.P0 and by else self.family
        return self._replace(orders=orders, family=family)

    def lowered(self, by: int = 1, cells=None) -> "Axis":
        """Inverse of :meth:`elevated`: lower the order of every (or the selected) cell."""
        by = _checks.integer(by, "by", 0)
        orders = self.orders - by * self._cell_mask(cells)
        if orders.min() < self.family.min_order:
            raise ValueError(
                f"cannot lower by {by}: order would drop below {self.family.min_order}, the "
                f"minimum of family '{self.family.value}'"
            )
        return self._replace(orders=orders)

    # --- serialization -----------------------------------------------------------------
    def to_dict(self) -> dict:
        orders = int(self.orders[0]) if np.all(self.orders == self.orders[0]) else self.orders.tolist()
        data = {
            "breakpoints": self.breakpoints.tolist(),
            "family": self.family.value,
            "order": orders,
            "quadrature": self.quadrature.value,
        }
        if self._given_points is not None:  # else the count follows the orders, as here
            data["quadrature_points"] = self._given_points
        return data


def uniform_axis(
    interval: tuple[float, float] = WIDTH_INTERVAL,
    n_cells: int = 8,
    family: Family | str = Family.LAGRANGE,
    order=1,
    **kwargs,
) -> Axis:
    """An axis of `n_cells` equal cells on `interval`; other arguments as for :class:`Axis`.

    Examples
    --------
    >>> uniform_axis((0.0, 1.0), 4, "p0", 0).breakpoints
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    n_cells = _checks.integer(n_cells, "n_cells", 1)
    if isinstance(interval, (str, bytes)) or np.ndim(interval) != 1 or len(interval) != 2:
        raise ValueError(f"interval must be a pair of numbers (a, b), got {interval!r}")
    if not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in interval):
        raise TypeError(f"interval must be a pair of real numbers, got {interval!r}")
    a, b = (float(v) for v in interval)
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise ValueError(f"interval must be finite with a < b, got {interval!r}")
    return Axis(np.linspace(a, b, n_cells + 1), family, order, **kwargs)


class Mesh:
    """Tensor product of one, two or three axes.

    Coefficients of a field on the mesh are an array of shape :attr:`shape` (one dimension
    per axis, in axis order); flattened in C order, the mass matrix is the Kronecker product
    of the axes' mass matrices.

    Parameters
    ----------
    axes : sequence of Axis
    names : sequence of str, optional
        One name per axis; default ``xi`` (1D), ``xi, delta`` (2D), ``xi, eta, delta`` (3D).

    Examples
    --------
    >>> mesh = weight_mesh()
    >>> mesh.names, mesh.shape
    (('xi', 'eta', 'delta'), (9, 9, 4))
    >>> mesh.refined("delta").shape
    (9, 9, 8)
    """

    def __init__(self, axes: Sequence[Axis], names: Sequence[str] | None = None):
        if not isinstance(axes, (list, tuple)):
            raise TypeError(f"axes must be a sequence of 1 to 3 Axis objects, got {type(axes).__name__}")
        if names is not None and (isinstance(names, str) or not isinstance(names, (list, tuple))):
            raise TypeError(f"names must be a sequence of strings, got {names!r}")
        axes = tuple(axes)
        if not 1 <= len(axes) <= 3 or not all(isinstance(a, Axis) for a in axes):
            raise TypeError("axes must be a sequence of 1 to 3 Axis objects")
        names = DEFAULT_NAMES[len(axes)] if names is None else tuple(names)
        if len(names) != len(axes) or len(set(names)) != len(names) or not all(
            isinstance(n, str) and n for n in names
        ):
            raise ValueError(f"names must be {len(axes)} distinct non-empty strings, got {names!r}")
        self.axes = axes
        self.names = names

    @property
    def dim(self) -> int:
        return len(self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(a.n_dofs for a in self.axes)

    @property
    def n_dofs(self) -> int:
        return int(np.prod(self.shape))

    @property
    def box(self) -> tuple[tuple[float, float], ...]:
        return tuple(a.interval for a in self.axes)

    def axis_index(self, axis: int | str) -> int:
        """The position of `axis`, given by position, by name or by an alias of one axis
        of this mesh (see :func:`axis_names`)."""
        if isinstance(axis, str):
            named = axis_names(axis, self.names)
            if len(named) != 1:
                raise ValueError(f"axis {axis!r} names {len(named)} axes of this mesh {named}; give one of them")
            return self.names.index(named[0])
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -self.dim <= axis < self.dim:
            raise ValueError(f"axis must be a name in {self.names} or an index below {self.dim}, got {axis!r}")
        return int(axis) % self.dim

    def _selected(self, axis) -> Iterable[int]:
        if axis is None:
            return range(self.dim)

        def indices(a) -> tuple[int, ...]:  # an alias may name several axes ("width": ξ and η)
            return tuple(self.names.index(n) for n in axis_names(a, self.names)) if isinstance(a, str) else (self.axis_index(a),)

        return tuple(i for a in axis for i in indices(a)) if isinstance(axis, (list, tuple)) else indices(axis)

    def with_axis(self, axis: int | str, new: Axis) -> "Mesh":
        """This mesh with one axis replaced."""
        i = self.axis_index(axis)
        if not isinstance(new, Axis):
            raise TypeError(f"new must be an Axis, got {type(new).__name__}")
        return Mesh(self.axes[:i] + (new,) + self.axes[i + 1 :], self.names)

    def _map(self, axis, method: str, **kwargs) -> "Mesh":
        selected = set(self._selected(axis))
        return Mesh(
            [getattr(a, method)(**kwargs) if i in selected else a for i, a in enumerate(self.axes)],
            self.names,
        )

    def refined(self, axis=None, cells=None, k: int = 2) -> "Mesh":
        """h-refine `axis` (a name, an index, a sequence of them, or None for all axes)."""
        return self._map(axis, "refined", cells=cells, k=k)

    def coarsened(self, axis=None, k: int = 2) -> "Mesh":
        """Inverse of a uniform :meth:`refined` on `axis` (None: all axes)."""
        return self._map(axis, "coarsened", k=k)

    def elevated(self, axis=None, by: int = 1, cells=None) -> "Mesh":
        """p-refine `axis` (None: all axes)."""
        return self._map(axis, "elevated", by=by, cells=cells)

    def lowered(self, axis=None, by: int = 1, cells=None) -> "Mesh":
        """Inverse of :meth:`elevated`."""
        return self._map(axis, "lowered", by=by, cells=cells)

    def check_same_box(self, other: "Mesh", name: str = "target") -> None:
        """Raise ValueError unless `other` covers the same box with the same axis count."""
        if not isinstance(other, Mesh):
            raise TypeError(f"{name} must be a Mesh, got {type(other).__name__}")
        if other.dim != self.dim or not np.allclose(other.box, self.box, rtol=0, atol=1e-12):
            raise ValueError(
                f"{name} mesh covers the box {other.box}, but the source covers {self.box}; "
                "meshes must cover the same box"
            )

    def __eq__(self, other) -> bool:
        return isinstance(other, Mesh) and self.names == other.names and self.axes == other.axes

    __hash__ = None

    def __repr__(self) -> str:
        inner = ",\n     ".join(f"{n}: {a!r}" for n, a in zip(self.names, self.axes))
        return f"Mesh({inner})"

    def contains(self, other: "Mesh") -> bool:
        """Whether this mesh's space contains `other`'s: axis by axis (:meth:`Axis.contains`)."""
        if not isinstance(other, Mesh):
            raise TypeError(f"other must be a Mesh, got {type(other).__name__}")
        return other.dim == self.dim and all(a.contains(b) for a, b in zip(self.axes, other.axes))


    def summary(self) -> str:
        """A table of the axes: interval, cells, family, orders, quadrature and dofs.

        Examples
        --------
        >>> print(bias_mesh().summary())
        axis   interval   cells  family    orders  quadrature         dofs
        xi     [-1, 1]        8  lagrange  1       gauss_legendre × 2    9
        delta  [0, 1]         4  p0        0       gauss_legendre × 1    4
        shape (9, 4), 36 dofs
        """
        rows = [("axis", "interval", "cells", "family", "orders", "quadrature", "dofs")]
        for name, axis in zip(self.names, self.axes):
            orders = axis.to_dict()["order"]
            a, b = axis.interval
            rows.append((
                name, f"[{a:g}, {b:g}]", str(axis.n_cells), axis.family.value,
                str(orders) if isinstance(orders, int) else ",".join(map(str, orders)),
                f"{axis.quadrature.value} × {axis.quadrature_points}", str(axis.n_dofs),
            ))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        right = {2, 6}  # counts align right
        lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
                 for row in rows]
        return "\n".join([*lines, f"shape {self.shape}, {self.n_dofs} dofs"])


def as_mesh(mesh) -> Mesh:
    """`mesh`, or an Axis as the 1D Mesh of it; TypeError for anything else."""
    if isinstance(mesh, Axis):
        return Mesh((mesh,))
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a Mesh or an Axis, got {type(mesh).__name__}")
    return mesh


def signal_mesh(width: Axis | None = None) -> Mesh:
    """A 1D mesh for signals h(ξ) on [-1, 1] (default: 8 continuous P1 cells).

    Examples
    --------
    >>> signal_mesh().shape
    (9,)
    >>> signal_mesh(uniform_axis(WIDTH_INTERVAL, 4, "legendre", 3)).shape
    (16,)
    """
    return Mesh((width or uniform_axis(WIDTH_INTERVAL, 8, Family.LAGRANGE, 1),))


def bias_mesh(width: Axis | None = None, depth: Axis | None = None) -> Mesh:
    """A 2D mesh for biases b(ξ, δ) on [-1, 1] × [0, 1] (default: 8 P1 × 4 P0 cells).

    Examples
    --------
    >>> mesh = bias_mesh(depth=uniform_axis(DEPTH_INTERVAL, 2, "lagrange", 1))
    >>> mesh.names, mesh.shape, mesh.box
    (('xi', 'delta'), (9, 3), ((-1.0, 1.0), (0.0, 1.0)))
    """
    width = width or uniform_axis(WIDTH_INTERVAL, 8, Family.LAGRANGE, 1)
    depth = depth or uniform_axis(DEPTH_INTERVAL, 4, Family.P0, 0)
    return Mesh((width, depth))


def weight_mesh(width: Axis | None = None, depth: Axis | None = None) -> Mesh:
    """A 3D mesh for weights W(ξ, η, δ) on [-1, 1]² × [0, 1] (default: 8 P1 × 8 P1 × 4 P0).

    The width axis serves both ξ and η.

    Examples
    --------
    >>> width = uniform_axis(WIDTH_INTERVAL, 4, "legendre", 2)
    >>> weight_mesh(width).shape  # 12 × 12 width dofs × 4 P0 depth cells
    (12, 12, 4)
    """
    width = width or uniform_axis(WIDTH_INTERVAL, 8, Family.LAGRANGE, 1)
    depth = depth or uniform_axis(DEPTH_INTERVAL, 4, Family.P0, 0)
    return Mesh((width, width, depth))


@dataclasses.dataclass(frozen=True)
class MeshOperation:
    """A change of a mesh's axes by one :class:`Mesh` method, as the command line and the
    schedules name it: the method, its size argument with its default, whether it takes a
    selection of cells, and a line of help."""

    method: str
    size: str
    default: int
    cells: bool
    help: str

    def apply(self, mesh: Mesh, axis, size: int, cells=None) -> Mesh:
        """`mesh` with the axes `axis` changed (``mesh.<method>(axis, <size>=size, cells=cells)``).

        Examples
        --------
        >>> MESH_OPERATIONS["refine"].apply(weight_mesh(), "delta", 2, cells=[0]).shape
        (9, 9, 5)
        """
        return getattr(mesh, self.method)(axis, **{self.size: size}, **({"cells": cells} if self.cells else {}))


# the mesh operations by name (fem-nn mesh SUBCOMMAND, a schedule's phase kind)
MESH_OPERATIONS: dict[str, MeshOperation] = {
    "refine": MeshOperation("refined", "k", 2, True, "split the selected cells of the selected axes into K equal cells (h-refinement)"),
    "coarsen": MeshOperation("coarsened", "k", 2, False, "merge every K consecutive cells of the selected axes"),
    "elevate": MeshOperation("elevated", "by", 1, True, "raise the order of the selected cells by BY (p-refinement)"),
    "lower": MeshOperation("lowered", "by", 1, True, "lower the order of the selected cells by BY"),
}
