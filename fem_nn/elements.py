"""One-dimensional shape-function families on the reference interval [-1, 1].

Every family is tabulated through the Legendre polynomials: the modal family *is* the
Legendre basis, and the nodal (Lagrange) families are the Legendre basis times the inverse
of its Vandermonde matrix at the Gauss–Lobatto nodes, which stays well conditioned to high
order (unlike monomials on equispaced nodes).
"""

from __future__ import annotations

import enum
from functools import lru_cache

import numpy as np

from . import _checks
from .quadrature import gauss_legendre, gauss_lobatto

__all__ = ["Family", "tabulate", "legendre_tabulate", "reference_nodes"]


class Family(enum.Enum):
    """Shape-function families of an axis.

    ``P0``
        piecewise constant (order 0 only): manifests a discrete network exactly.
    ``LEGENDRE``
        discontinuous, modal, hierarchical Legendre polynomials (diagonal mass per cell).
    ``LAGRANGE_DG``
        discontinuous Lagrange on Gauss–Lobatto nodes, order >= 1.
    ``LAGRANGE``
        continuous (H1) Lagrange on Gauss–Lobatto nodes, order >= 1 (hat functions at 1).

    Examples
    --------
    >>> Family("legendre")
    <Family.LEGENDRE: 'legendre'>
    >>> Family.LAGRANGE.continuous, Family.LAGRANGE_DG.continuous, Family.LAGRANGE_DG.min_order
    (True, False, 1)
    """

    P0 = "p0"
    LEGENDRE = "legendre"
    LAGRANGE_DG = "lagrange_dg"
    LAGRANGE = "lagrange"

    @property
    def continuous(self) -> bool:
        """Whether neighbouring cells share their end-point degrees of freedom."""
        return self is Family.LAGRANGE

    @property
    def min_order(self) -> int:
        return 1 if self in (Family.LAGRANGE, Family.LAGRANGE_DG) else 0

    @property
    def max_order(self) -> int | None:
        return 0 if self is Family.P0 else None

    @property
    def nodal(self) -> bool:
        """Whether the basis is Lagrange (coefficients are values at nodes)."""
        return self in (Family.LAGRANGE, Family.LAGRANGE_DG)


def legendre_tabulate(order: int, x: np.ndarray, n_derivatives: int = 0) -> np.ndarray:
    """Legendre polynomials P_0 … P_order and their first derivatives at `x`.

    Uses the three-term recurrence and ``P'_{k+1} = P'_{k-1} + (2k+1) P_k``.

    Returns
    -------
    ndarray, shape (n_derivatives + 1, len(x), order + 1)
    """
    x = np.asarray(x, dtype=float)
    out = np.zeros((n_derivatives + 1, x.size, order + 1))
    p = out[0]
    p[:, 0] = 1.0
    if order >= 1:
        p[:, 1] = x
    for k in range(1, order):
        p[:, k + 1] = ((2 * k + 1) * x * p[:, k] - k * p[:, k - 1]) / (k + 1)
    if n_derivatives >= 1:
        d = out[1]
        for k in range(order):
            d[:, k + 1] = (2 * k + 1) * p[:, k] + (d[:, k - 1] if k >= 1 else 0.0)
    return out


def reference_nodes(family: Family, order: int) -> np.ndarray:
    """Nodes on [-1, 1] at which interpolation into the family is unisolvent.

    Gauss–Lobatto nodes for the Lagrange families (the basis is nodal there); Gauss–Legendre
    points for the modal families.

    Examples
    --------
    >>> reference_nodes(Family.LAGRANGE, 2)
    array([-1.,  0.,  1.])
    >>> reference_nodes(Family.LEGENDRE, 1)  # ±1/√3
    array([-0.57735027,  0.57735027])
    """
    if family.nodal:
        return gauss_lobatto(order + 1).points
    return gauss_legendre(order + 1).points


@lru_cache(maxsize=None)
def _lagrange_from_legendre(order: int) -> np.ndarray:
    """The matrix C with Lagrange basis = Legendre basis @ C, for Gauss–Lobatto nodes."""
    nodes = gauss_lobatto(order + 1).points
    vandermonde = legendre_tabulate(order, nodes)[0]
    matrix = np.linalg.inv(vandermonde)
    matrix.flags.writeable = False
    return matrix


def as_family(family) -> Family:
    """`family` as a :class:`Family`; ValueError listing the known names otherwise."""
    try:
        return Family(family)
    except ValueError:
        known = ", ".join(repr(f.value) for f in Family)
        raise ValueError(f"family must be one of {known}, got {family!r}") from None


def tabulate(family: Family | str, order: int, x, n_derivatives: int = 0) -> np.ndarray:
    """Values (and first derivatives) of the reference basis of `family` at points `x`.

    Parameters
    ----------
    family : Family or str
    order : int
        Polynomial order of the basis (``order + 1`` functions).
    x : array_like, shape (n,)
        Points in the reference interval [-1, 1].
    n_derivatives : {0, 1}
        Also tabulate the first derivative with respect to the reference coordinate.

    Returns
    -------
    ndarray, shape (n_derivatives + 1, n, order + 1)
        ``[k, i, j]`` is the k-th derivative of basis function j at point i.

    Examples
    --------
    >>> tabulate("lagrange", 1, [-1.0, 0.0, 1.0])[0]
    array([[1. , 0. ],
           [0.5, 0.5],
           [0. , 1. ]])
    """
    family = as_family(family)
    order = _checks.integer(order, "order", 0)
    if order < family.min_order:
        raise ValueError(f"order must be >= {family.min_order} for family '{family.value}', got {order}")
    if family.max_order is not None and order > family.max_order:
        raise ValueError(f"order must be {family.max_order} for family '{family.value}', got {order}")
    if n_derivatives not in (0, 1):
        raise ValueError(f"n_derivatives must be 0 or 1, got {n_derivatives!r}")
    values = legendre_tabulate(order, x, n_derivatives)
    if family.nodal:
        values = values @ _lagrange_from_legendre(order)
    return values
