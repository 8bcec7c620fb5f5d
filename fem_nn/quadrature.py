"""Quadrature rules on the reference interval [-1, 1], on cells, and on tensor boxes.

Rules come from :mod:`scipy.special` (Golub–Welsch eigenvalue solves), never from
quadpy/orthopy, which no longer import without a licence.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "QuadratureFamily",
    "QuadratureRule",
    "quadrature_rule",
    "gauss_legendre",
    "gauss_lobatto",
    "points_for_degree",
    "rule_on_cells",
    "tensor_rule",
]


class QuadratureFamily(enum.Enum):
    """Families of one-dimensional quadrature rules.

    Examples
    --------
    >>> [family.value for family in QuadratureFamily]
    ['gauss_legendre', 'gauss_lobatto']
    """

    GAUSS_LEGENDRE = "gauss_legendre"
    GAUSS_LOBATTO = "gauss_lobatto"


@dataclass(frozen=True)
class QuadratureRule:
    """Points and weights of a rule on the reference interval [-1, 1].

    Attributes
    ----------
    family : QuadratureFamily
    points : ndarray, shape (n,)
        Increasing points in [-1, 1].
    weights : ndarray, shape (n,)
        Positive weights summing to 2.
    degree : int
        Highest polynomial degree integrated exactly.

    Examples
    --------
    >>> rule = gauss_lobatto(4)
    >>> rule.family, rule.n_points, rule.degree
    (<QuadratureFamily.GAUSS_LOBATTO: 'gauss_lobatto'>, 4, 5)
    >>> round(float(rule.weights.sum()), 12)
    2.0
    """

    family: QuadratureFamily
    points: np.ndarray
    weights: np.ndarray
    degree: int

    @property
    def n_points(self) -> int:
        return len(self.points)


def _check_count(n, minimum: int, name: str = "n_points") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return int(n)


def gauss_legendre(n_points: int) -> QuadratureRule:
    """Gauss–Legendre rule with `n_points` points, exact to degree ``2 n_points - 1``.

    Examples
    --------
    >>> rule = gauss_legendre(3)
    >>> round(float(rule.weights @ rule.points**4), 14)  # exact: 2/5
    0.4
    """
    n = _check_count(n_points, 1)
    x, w = special.roots_legendre(n)
    return QuadratureRule(QuadratureFamily.GAUSS_LEGENDRE, x, w, 2 * n - 1)


def gauss_lobatto(n_points: int) -> QuadratureRule:
    """Gauss–Lobatto rule with `n_points` >= 2 points (both ends included), exact to degree
    ``2 n_points - 3``.

    The interior points are the roots of P'_{n-1}, i.e. of the Jacobi polynomial
    P^{(1,1)}_{n-2}; the weights are ``2 / (n (n-1) P_{n-1}(x)^2)``.

    Examples
    --------
    >>> gauss_lobatto(3).points
    array([-1.,  0.,  1.])
    """
    n = _check_count(n_points, 2)
    interior = special.roots_jacobi(n - 2, 1.0, 1.0)[0] if n > 2 else np.empty(0)
    x = np.concatenate(([-1.0], interior, [1.0]))
    w = 2.0 / (n * (n - 1) * special.eval_legendre(n - 1, x) ** 2)
    return QuadratureRule(QuadratureFamily.GAUSS_LOBATTO, x, w, 2 * n - 3)


def quadrature_rule(family: QuadratureFamily | str, n_points: int) -> QuadratureRule:
    """The rule of `family` (a :class:`QuadratureFamily` or its name) with `n_points` points.

    Examples
    --------
    >>> quadrature_rule("gauss_legendre", 2).points  # ±1/√3
    array([-0.57735027,  0.57735027])
    >>> quadrature_rule(QuadratureFamily.GAUSS_LOBATTO, 3).weights
    array([0.33333333, 1.33333333, 0.33333333])
    """
    try:
        family = QuadratureFamily(family)
    except ValueError:
        known = ", ".join(repr(f.value) for f in QuadratureFamily)
        raise ValueError(f"family must be one of {known}, got {family!r}") from None
    if family is QuadratureFamily.GAUSS_LEGENDRE:
        return gauss_legendre(n_points)
    return gauss_lobatto(n_points)


def points_for_degree(degree: int) -> int:
    """The fewest Gauss–Legendre points exact for polynomials of `degree`."""
    return max(1, math.ceil((degree + 1) / 2))


def rule_on_cells(rule: QuadratureRule, breakpoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map `rule` onto every cell of a partition.

    Returns
    -------
    points, weights : ndarray, shape (n_cells, n_points)
        Physical points and weights (scaled by the cell Jacobian ``h/2``).
    """
    left, right = breakpoints[:-1, None], breakpoints[1:, None]
    half = 0.5 * (right - left)
    return left + half * (rule.points + 1.0), half * rule.weights


def tensor_rule(*rules_on_axes: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Tensor product of one-dimensional (points, weights) pairs.

    Each pair may be flat or per cell (as from :func:`rule_on_cells`); it is flattened.

    Returns
    -------
    points : ndarray, shape (N, d)
        All combinations, the last axis varying fastest.
    weights : ndarray, shape (N,)
    """
    pts = [np.ravel(p) for p, _ in rules_on_axes]
    wts = [np.ravel(w) for _, w in rules_on_axes]
    grids = np.meshgrid(*pts, indexing="ij")
    points = np.stack([g.ravel() for g in grids], axis=-1)
    weights = wts[0]
    for w in wts[1:]:
        weights = np.multiply.outer(weights, w).ravel()
    return points, weights
