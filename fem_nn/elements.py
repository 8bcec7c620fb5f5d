"""One-dimensional shape-function families on the reference interval [-1, 1].

The polynomial built-in families are tabulated through the Legendre polynomials: the modal
family *is* the Legendre basis, and the nodal (Lagrange) families are the Legendre basis times
the inverse of its Vandermonde matrix at the Gauss–Lobatto nodes, which stays well conditioned
to high order (unlike monomials on equispaced nodes). The ``fourier`` family holds
trigonometric polynomials on each cell (a one-cell axis is a periodic width). Other families
are added by :func:`register_family`, with the relation that says which family's space
contains which.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

from . import _checks
from .quadrature import gauss_legendre, gauss_lobatto

__all__ = [
    "Family", "register_family", "contains", "containing_families", "tabulate", "legendre_tabulate",
    "fourier_tabulate", "fourier_degree", "reference_nodes",
]


class _Registry(type):
    """Makes :class:`Family` read like an Enum of every registered family: ``Family(name)``
    looks one up, ``Family.LEGENDRE`` names a built-in one, iteration gives them all."""

    def __call__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs:
            return as_family(args[0])
        return super().__call__(*args, **kwargs)

    def __iter__(cls):
        return iter(tuple(_FAMILIES.values()))

    def __len__(cls) -> int:
        return len(_FAMILIES)


class Family(metaclass=_Registry):
    """A shape-function family of an axis: per cell, ``order + 1`` basis functions (for the
    polynomial families, a basis of the polynomials of degree <= the cell's order).

    ``Family(name)`` is the registered family of that name (ValueError listing the known
    ones otherwise); ``Family(name, basis=...)`` defines a new one, which
    :func:`register_family` makes known. The built-in ones:

    ``P0``
        piecewise constant (order 0 only): manifests a discrete network exactly.
    ``LEGENDRE``
        discontinuous, modal, hierarchical Legendre polynomials (diagonal mass per cell).
    ``LAGRANGE_DG``
        discontinuous Lagrange on Gauss–Lobatto nodes, order >= 1.
    ``LAGRANGE``
        continuous (H1) Lagrange on Gauss–Lobatto nodes, order >= 1 (hat functions at 1).
    ``FOURIER``
        discontinuous, modal, hierarchical trigonometric polynomials on each cell's reference
        coordinate x: 1, cos πx, sin πx, cos 2πx, sin 2πx, … (order + 1 of them; see
        :func:`fourier_tabulate`): diagonal mass per cell; not polynomial.

    Parameters
    ----------
    value : str
        The name, as written in mesh files and configs.
    basis : callable
        ``basis(order, x, n_derivatives)`` -> array of shape ``(n_derivatives + 1, len(x),
        order + 1)``: the reference basis and its first derivative (``n_derivatives`` 0 or 1)
        at points `x` of [-1, 1]; polynomials of degree <= `order` unless `degree` is given
        (the mass matrices are assembled exactly for those).
    min_order : int, default 0
    max_order : int, optional
        Orders the family has; None for no maximum.
    continuous : bool, default False
        Neighbouring cells share their end-point dofs: the basis' first function must be the
        only one non-zero at -1 and its last the only one at +1, both 1 there.
    nodal : bool, default False
        The coefficients are values at the Gauss–Lobatto nodes (interpolation needs no solve).
    within : sequence of str, default ()
        The families whose spaces contain this one's (see :func:`contains`); ``legendre``
        always does.
    includes : sequence of str, default ()
        The families whose spaces this one's contains.
    degree : callable, optional
        For a basis that is not polynomial: ``degree(order)`` -> int, a polynomial degree
        such that Gauss rules exact to ``degree(order) + d`` integrate the basis times any
        function of this degree-`d` kind to round-off (the mass and mixed-mass matrices take
        their points from it). None (the default): the basis is polynomials of degree <=
        `order`, so broken Legendre contains it and h-refinement nests its spaces.

    Examples
    --------
    >>> Family("legendre")
    <Family.LEGENDRE: 'legendre'>
    >>> Family.LAGRANGE.continuous, Family.LAGRANGE_DG.continuous, Family.LAGRANGE_DG.min_order
    (True, False, 1)
    """

    def __init__(
        self,
        value: str,
        *,
        basis: Callable,
        min_order: int = 0,
        max_order: int | None = None,
        continuous: bool = False,
        nodal: bool = False,
        within=(),
        includes=(),
        degree: Callable | None = None,
    ):
        if not isinstance(value, str) or not value:
            raise TypeError(f"family 'value' must be a non-empty string, got {value!r}")
        if not callable(basis):
            raise TypeError(f"family 'basis' must be callable as basis(order, x, n_derivatives), got {basis!r}")
        self.value = value
        self.basis = basis
        self.min_order = _checks.integer(min_order, "min_order", 0)
        self.max_order = None if max_order is None else _checks.integer(max_order, "max_order", self.min_order)
        self.continuous = _checks.flag(continuous, "continuous")
        self.nodal = _checks.flag(nodal, "nodal")
        for key, names in (("within", within), ("includes", includes)):
            if isinstance(names, str) or not all(isinstance(name, str) for name in names):
                raise TypeError(f"family {key!r} must be a sequence of family names, got {names!r}")
        self.within, self.includes = tuple(within), tuple(includes)
        if degree is not None and not callable(degree):
            raise TypeError(f"family 'degree' must be None or callable as degree(order), got {degree!r}")
        self.degree = degree

    @property
    def polynomial(self) -> bool:
        """Whether the basis is polynomials of degree <= order (no `degree` was given)."""
        return self.degree is None

    def quadrature_degree(self, order: int) -> int:
        """The polynomial degree whose Gauss rules integrate this basis at `order` as exactly
        as a polynomial of that degree (the order itself for a polynomial family)."""
        return order if self.degree is None else int(self.degree(order))

    def __setattr__(self, key, value):
        if key in self.__dict__:
            raise AttributeError(f"a Family is immutable: cannot set {key!r}")
        super().__setattr__(key, value)

    def __repr__(self) -> str:
        return f"<Family.{self.value.upper()}: {self.value!r}>"

    def __reduce__(self):  # unpickled as the registered family of this name (identity kept)
        return as_family, (self.value,)


# every known family by name, built-ins first; and the (smaller, larger) pairs of contains()
_FAMILIES: dict[str, Family] = {}
_CONTAINED: set[tuple[str, str]] = set()


def register_family(family: Family) -> Family:
    """Make `family` known by its name: ``Axis(..., family=name)``, mesh files and configs
    then take it, and its `within` / `includes` enter :func:`contains`.

    Registering the same family again is allowed (the same object, or the same definition run
    again: equal settings and a basis function of the same name and code); another family
    under a taken name is refused.

    Examples
    --------
    A second modal basis, the Chebyshev polynomials (the function imports what it uses: a
    registered family outlives the module that defined it):

    >>> def chebyshev_basis(order, x, n_derivatives):
    ...     import numpy as np
    ...     from numpy.polynomial import chebyshev as C
    ...     eye = np.eye(order + 1)
    ...     return np.stack([C.chebval(x, C.chebder(eye, d) if d else eye).T for d in range(n_derivatives + 1)])
    >>> chebyshev = register_family(Family("chebyshev", basis=chebyshev_basis, includes=["legendre"]))
    >>> Family("chebyshev") is chebyshev, contains("chebyshev", "lagrange"), contains("lagrange", "chebyshev")
    (True, True, False)
    >>> tabulate("chebyshev", 2, [0.5])[0]  # T_0, T_1, T_2 = 2x² − 1
    array([[ 1. ,  0.5, -0.5]])
    """
    if not isinstance(family, Family):
        raise TypeError(f"register_family needs a Family, got {type(family).__name__}")
    known = _FAMILIES.get(family.value)
    if known is not None:
        if known is family or _same_definition(known, family):
            return known
        raise ValueError(f"register_family: the name {family.value!r} is taken by another family")
    for name in family.within + family.includes:
        if name not in _FAMILIES and name != family.value:
            raise ValueError(f"register_family: {family.value!r} names an unknown family {name!r}")
    _FAMILIES[family.value] = family
    if "legendre" in _FAMILIES and family.polynomial:  # degree <= order per cell: broken Legendre holds them
        _CONTAINED.add((family.value, "legendre"))
    _CONTAINED.update((family.value, name) for name in family.within)
    _CONTAINED.update((name, family.value) for name in family.includes)
    while True:  # the transitive closure: a ⊂ b ⊂ c gives a ⊂ c
        implied = {(a, d) for a, b in _CONTAINED for c, d in _CONTAINED if b == c and a != d} - _CONTAINED
        if not implied:
            return family
        _CONTAINED.update(implied)


def _same_definition(a: Family, b: Family) -> bool:
    """Whether two families are one definition run twice (a module reloaded, a notebook cell
    run again): the same settings and a basis function of the same name and code."""
    settings = ("value", "min_order", "max_order", "continuous", "nodal", "within", "includes", "polynomial")
    f, g = a.basis, b.basis
    same_basis = f is g or (
        getattr(f, "__module__", None) == getattr(g, "__module__", None)
        and getattr(f, "__qualname__", None) == getattr(g, "__qualname__", None)
        and getattr(getattr(f, "__code__", None), "co_code", None) is not None
        and f.__code__.co_code == g.__code__.co_code
        and f.__code__.co_consts == g.__code__.co_consts
    )
    return same_basis and all(getattr(a, key) == getattr(b, key) for key in settings)


def as_family(family) -> Family:
    """`family` as a :class:`Family`; ValueError listing the known names otherwise."""
    if isinstance(family, Family):
        return family
    if isinstance(family, str) and family in _FAMILIES:
        return _FAMILIES[family]
    known = ", ".join(repr(name) for name in _BUILT_IN)
    registered = [name for name in _FAMILIES if name not in _BUILT_IN]
    also = f" or a registered one {registered}" if registered else ""
    raise ValueError(f"family must be one of {known}{also}, got {family!r}")


def contains(larger, smaller) -> bool:
    """Whether the space of family `larger` contains that of `smaller` on the same cells, at
    the orders of `smaller` (raised to `larger`'s minimum order): continuous Lagrange ⊂
    discontinuous Lagrange = Legendre (at orders >= 1), and P0 ⊂ every discontinuous family.

    Examples
    --------
    >>> contains("legendre", "lagrange"), contains("lagrange", "legendre"), contains("lagrange_dg", "p0")
    (True, False, True)
    """
    larger, smaller = as_family(larger), as_family(smaller)
    return larger is smaller or (smaller.value, larger.value) in _CONTAINED


def containing_families(family) -> tuple[Family, ...]:
    """The families whose spaces contain that of `family` (:func:`contains`), itself first.

    Examples
    --------
    >>> [f.value for f in containing_families("lagrange")][:3]  # then the registered ones that do
    ['lagrange', 'legendre', 'lagrange_dg']
    """
    family = as_family(family)
    return (family,) + tuple(f for f in _FAMILIES.values() if f is not family and contains(f, family))


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


def reference_nodes(family: Family | str, order: int) -> np.ndarray:
    """Nodes on [-1, 1] at which interpolation into the family is unisolvent.

    Gauss–Lobatto nodes for the Lagrange families (the basis is nodal there); Gauss–Legendre
    points for the modal polynomial families; for a family that is not polynomial (the
    trigonometric one) the equispaced ``-1 + 2j/(order + 1)``, where interpolation is a
    discrete Fourier transform (symmetric points would lose an odd order's last cosine).

    Examples
    --------
    >>> reference_nodes(Family.LAGRANGE, 2)
    array([-1.,  0.,  1.])
    >>> reference_nodes(Family.LEGENDRE, 1)  # ±1/√3
    array([-0.57735027,  0.57735027])
    """
    family = as_family(family)
    if family.nodal:
        return gauss_lobatto(order + 1).points
    if not family.polynomial:
        return -1.0 + 2.0 * np.arange(order + 1) / (order + 1)
    return gauss_legendre(order + 1).points


@lru_cache(maxsize=None)
def _lagrange_from_legendre(order: int) -> np.ndarray:
    """The matrix C with Lagrange basis = Legendre basis @ C, for Gauss–Lobatto nodes."""
    nodes = gauss_lobatto(order + 1).points
    vandermonde = legendre_tabulate(order, nodes)[0]
    matrix = np.linalg.inv(vandermonde)
    matrix.flags.writeable = False
    return matrix


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
    x = np.asarray(x, dtype=float)
    values = family.basis(order, x, n_derivatives)
    if values.shape != (n_derivatives + 1, x.size, order + 1):
        raise ValueError(
            f"family '{family.value}': basis({order}, x, {n_derivatives}) returned shape {values.shape}, "
            f"expected {(n_derivatives + 1, x.size, order + 1)}"
        )
    return values


def _lagrange_tabulate(order: int, x: np.ndarray, n_derivatives: int = 0) -> np.ndarray:
    """The Lagrange basis on the Gauss–Lobatto nodes, through the Legendre one."""
    return legendre_tabulate(order, x, n_derivatives) @ _lagrange_from_legendre(order)


def fourier_tabulate(order: int, x: np.ndarray, n_derivatives: int = 0) -> np.ndarray:
    """The trigonometric basis 1, cos πx, sin πx, cos 2πx, sin 2πx, … (its first ``order + 1``
    functions) and their first derivatives at `x`: basis function j >= 1 is the cosine
    (j odd) or the sine (j even) of mode k = ⌈j/2⌉.

    Order 2K holds every mode k <= K (2K + 1 functions, a real trigonometric polynomial of
    degree K); an odd order 2K − 1 holds cos Kπx but not yet sin Kπx. The order counts
    functions, as for the polynomial families (order + 1 of them, one more per elevation),
    so that every axis operation takes the family unchanged. On [-1, 1] the functions are
    orthogonal: the mass is ``diag(2, 1, 1, …)``.

    Returns
    -------
    ndarray, shape (n_derivatives + 1, len(x), order + 1)

    Examples
    --------
    >>> fourier_tabulate(2, np.array([0.0, 0.5]))[0]  # 1, cos πx, sin πx
    array([[1.000000e+00, 1.000000e+00, 0.000000e+00],
           [1.000000e+00, 6.123234e-17, 1.000000e+00]])
    """
    x = np.asarray(x, dtype=float)
    out = np.empty((n_derivatives + 1, x.size, order + 1))
    out[0, :, 0] = 1.0
    if n_derivatives:
        out[1, :, 0] = 0.0
    modes = (np.arange(1, order + 1) + 1) // 2
    angle = np.pi * modes * x[:, None]
    cosine = np.arange(1, order + 1) % 2 == 1
    out[0, :, 1:] = np.where(cosine, np.cos(angle), np.sin(angle))
    if n_derivatives:
        out[1, :, 1:] = np.pi * modes * np.where(cosine, -np.sin(angle), np.cos(angle))
    return out


def fourier_degree(order: int) -> int:
    """The quadrature degree of the Fourier family at `order`: ``4 ⌈order/2⌉ + 24``.

    The mass matrices of an axis take ``⌈(d_A + d_B + 1)/2⌉`` Gauss points per supermesh
    cell; with this d, a product of modes up to K with any basis of the other axis gets
    at least 2K + 12 points, which integrates it to round-off (measured on [-1, 1] against
    a 1000-point rule: at most 6e-13, the round-off of the sums, for orders up to 160 against
    Fourier and for Legendre up to order 11).

    Examples
    --------
    >>> fourier_degree(0), fourier_degree(4)
    (24, 32)
    """
    return 4 * ((order + 1) // 2) + 24


_BUILT_IN = ("p0", "legendre", "lagrange_dg", "lagrange", "fourier")
Family.P0 = register_family(Family("p0", basis=legendre_tabulate, max_order=0))
Family.LEGENDRE = register_family(Family("legendre", basis=legendre_tabulate, includes=["p0"]))
Family.LAGRANGE_DG = register_family(
    Family("lagrange_dg", basis=_lagrange_tabulate, min_order=1, nodal=True, includes=["p0", "legendre"])
)
Family.LAGRANGE = register_family(
    Family("lagrange", basis=_lagrange_tabulate, min_order=1, continuous=True, nodal=True, within=["lagrange_dg"])
)
Family.FOURIER = register_family(Family("fourier", basis=fourier_tabulate, includes=["p0"], degree=fourier_degree))
