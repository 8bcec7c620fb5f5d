"""Explicit Runge–Kutta schemes as Butcher tableaus, fixed-step ones and embedded pairs.

An embedded pair is one :class:`ButcherTableau` with a second weight vector (the embedded
solution, whose difference from the first estimates the local error) and, where known, a
dense-output interpolant: the adaptive solver of :mod:`fem_nn.adaptive` takes any of them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from . import _checks

__all__ = ["ButcherTableau", "Scheme", "register_tableau", "tableau", "tableau_names"]

_TOLERANCE = 1e-12


def _order_residuals(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[int, list[float]]:
    """The residuals of the Runge–Kutta order conditions of orders 1 to 5 (Butcher's rooted
    trees), by order: a scheme has order p when every residual of order <= p vanishes."""
    ac = a @ c
    return {
        1: [b.sum() - 1],
        2: [b @ c - 1 / 2],
        3: [b @ c**2 - 1 / 3, b @ ac - 1 / 6],
        4: [b @ c**3 - 1 / 4, b @ (c * ac) - 1 / 8, b @ a @ c**2 - 1 / 12, b @ a @ ac - 1 / 24],
        5: [b @ c**4 - 1 / 5, b @ (c**2 * ac) - 1 / 10, b @ (c * (a @ c**2)) - 1 / 15, b @ (c * (a @ ac)) - 1 / 30,
            b @ ac**2 - 1 / 20, b @ a @ c**3 - 1 / 20, b @ a @ (c * ac) - 1 / 40, b @ a @ a @ c**2 - 1 / 60,
            b @ a @ a @ ac - 1 / 120],
    }


def _check_order(a: np.ndarray, b: np.ndarray, c: np.ndarray, order, key: str) -> int:
    """`order` as an int after checking the order conditions up to ``min(order, 5)`` for the
    weights `b`, or ValueError naming `key`."""
    order = _checks.integer(order, f"tableau {key!r}", 1)
    for k, residuals in _order_residuals(a, b, c).items():
        if k <= order and max(abs(r) for r in residuals) > _TOLERANCE:
            raise ValueError(
                f"tableau {key!r}: claims order {order} but fails the order-{k} conditions "
                f"(residuals {[float(r) for r in residuals]})"
            )
    return order


def _coefficients(value, key: str) -> np.ndarray:
    """A tableau argument as a read-only float64 copy, or TypeError / ValueError naming it."""
    try:
        array = np.asarray(value)
    except ValueError:  # ragged nested sequences
        raise ValueError(f"tableau '{key}' must be a rectangular array, got {value!r}") from None
    # strings and booleans would otherwise be cast silently ("0.5" -> 0.5, True -> 1.0)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"tableau '{key}' must be numeric (integers or floats), got {value!r}")
    array = np.array(array, dtype=np.float64)  # a copy: the caller's array may change later
    if not np.all(np.isfinite(array)):
        raise ValueError(f"tableau '{key}' must be finite (no NaN or inf), got {array.tolist()}")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class ButcherTableau:
    """An explicit Runge–Kutta scheme ``(A, b, c)``, or an embedded pair ``(A, b, b̂, c)``.

    Parameters
    ----------
    a : array_like, shape (s, s)
        Stage coefficients, strictly lower triangular (an explicit scheme).
    b : array_like, shape (s,)
        Weights, ``Σ b = 1``.
    c : array_like, shape (s,)
        Nodes (stage times as fractions of the step), ``c = A·1``.
    name : str, optional
    order : int, optional
        The classical order. The order conditions up to ``min(order, 5)`` are checked.
    b_embedded : array_like, shape (s,), optional
        The weights of the embedded solution of an adaptive pair (``Σ b̂ = 1``): the step
        propagates `b`, and ``dt Σ (b_i − b̂_i) k_i`` estimates its local error.
    embedded_order : int, optional
        The order of `b_embedded` (checked like `order`); needed with it.
    interpolant : array_like, shape (s, m), optional
        Dense output of a pair: the state at ``t + θ dt`` is
        ``h + dt Σ_i k_i Σ_j P[i, j] θ^(j+1)``; at θ = 1 it must give `b`. Without one the
        adaptive solver interpolates by cubic Hermite.

    Raises
    ------
    TypeError
        Non-numeric coefficients, a non-string name or a non-integer order.
    ValueError
        Any other violation; the message names the argument (``'a'``, ``'b'``, ``'c'``,
        ``'order'``, ``'b_embedded'``, ``'embedded_order'`` or ``'interpolant'``). The sums
        are checked to 1e-12.

    Examples
    --------
    >>> heun = ButcherTableau([[0, 0], [1, 0]], [0.5, 0.5], [0, 1], name="my heun", order=2)
    >>> heun.stages
    2
    >>> pair = ButcherTableau([[0, 0], [1, 0]], [0.5, 0.5], [0, 1], b_embedded=[1, 0], order=2, embedded_order=1)
    >>> pair.embedded, pair.fsal
    (True, False)
    """

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    name: str | None = None
    order: int | None = None
    b_embedded: np.ndarray | None = None
    embedded_order: int | None = None
    interpolant: np.ndarray | None = None

    def __post_init__(self):
        a, b, c = (_coefficients(getattr(self, key), key) for key in ("a", "b", "c"))
        if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
            raise ValueError(f"tableau 'a' must be a square s×s matrix with s >= 1, got shape {a.shape}")
        s = a.shape[0]
        if np.any(np.triu(a) != 0):
            raise ValueError(f"tableau 'a' must be strictly lower triangular (an explicit scheme), got {a.tolist()}")
        for key, value in (("b", b), ("c", c)):
            if value.shape != (s,):
                raise ValueError(f"tableau '{key}' must have {s} entries (one per stage), got shape {value.shape}")
        if abs(b.sum() - 1.0) > _TOLERANCE:
            raise ValueError(f"tableau 'b': weights must sum to 1, got {float(b.sum())!r}")
        if np.max(np.abs(a.sum(axis=1) - c)) > _TOLERANCE:
            raise ValueError(f"tableau 'c' must equal the row sums of 'a' ({a.sum(axis=1).tolist()}), got {c.tolist()}")
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"tableau 'name' must be a string or None, got {self.name!r}")
        if self.order is not None:
            object.__setattr__(self, "order", _check_order(a, b, c, self.order, "order"))
        for key, value in (("a", a), ("b", b), ("c", c)):
            object.__setattr__(self, key, value)
        self._check_embedded(a, b, c)
        # the non-zero coefficients as Python floats: the stepping loop's hot path
        terms = tuple(tuple((j, float(a[i, j])) for j in range(i) if a[i, j] != 0.0) for i in range(s))
        object.__setattr__(self, "_stage_terms", terms)
        object.__setattr__(self, "_final_terms", tuple((j, float(w)) for j, w in enumerate(b) if w != 0.0))
        object.__setattr__(self, "_nodes", tuple(float(ci) for ci in c))

    def _check_embedded(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
        """Checks and freezes the embedded weights and the interpolant, if any."""
        s = len(b)
        if self.b_embedded is None:
            for key in ("embedded_order", "interpolant"):
                if getattr(self, key) is not None:
                    raise ValueError(f"tableau {key!r} needs 'b_embedded' (an embedded pair)")
            return
        b_hat = _coefficients(self.b_embedded, "b_embedded")
        if b_hat.shape != (s,):
            raise ValueError(f"tableau 'b_embedded' must have {s} entries (one per stage), got shape {b_hat.shape}")
        if abs(b_hat.sum() - 1.0) > _TOLERANCE:
            raise ValueError(f"tableau 'b_embedded': weights must sum to 1, got {float(b_hat.sum())!r}")
        if np.array_equal(b_hat, b):
            raise ValueError("tableau 'b_embedded' must differ from 'b': their difference is the error estimate")
        if self.embedded_order is None or self.order is None:
            raise ValueError("tableau 'embedded_order' and 'order' are needed with 'b_embedded' (the step control's exponent)")
        object.__setattr__(self, "embedded_order", _check_order(a, b_hat, c, self.embedded_order, "embedded_order"))
        object.__setattr__(self, "b_embedded", b_hat)
        if self.interpolant is not None:
            p = _coefficients(self.interpolant, "interpolant")
            if p.ndim != 2 or p.shape[0] != s or p.shape[1] < 1:
                raise ValueError(f"tableau 'interpolant' must have shape ({s}, m), got {p.shape}")
            if np.max(np.abs(p.sum(axis=1) - b)) > _TOLERANCE:
                raise ValueError(f"tableau 'interpolant' must give 'b' at θ = 1 (row sums {p.sum(axis=1).tolist()})")
            object.__setattr__(self, "interpolant", p)
        error = b - b_hat
        object.__setattr__(self, "_error_terms", tuple((j, float(w)) for j, w in enumerate(error) if w != 0.0))

    @property
    def stages(self) -> int:
        """The number of stages s (right-hand-side evaluations per step)."""
        return len(self.b)

    @property
    def embedded(self) -> bool:
        """Whether this is an embedded pair (has `b_embedded`), usable by the adaptive solver."""
        return self.b_embedded is not None

    @property
    def fsal(self) -> bool:
        """First same as last: the last stage is ``f(t + dt, h_new)``, the next step's first."""
        a, b, c = self.a, self.b, self.c
        return bool(self.stages > 1 and c[-1] == 1.0 and b[-1] == 0.0 and np.array_equal(a[-1, :-1], b[:-1]))


class Scheme(enum.Enum):
    """Built-in explicit Runge–Kutta schemes; :func:`tableau` gives their coefficients.

    ``RK4`` is the classic scheme; ``RK4_38`` is the 3/8 rule, which torchdiffeq calls
    ``rk4``. The embedded pairs (for :func:`fem_nn.integrate_adaptive`; as fixed-step schemes
    they step by their higher-order weights): ``BOSH3`` (Bogacki–Shampine 3(2)), ``DOPRI5``
    (Dormand–Prince 5(4), with Shampine's dense output) and ``FEHLBERG45`` (Fehlberg 4(5),
    stepping by the fifth-order weights).

    Examples
    --------
    >>> [(s.value, tableau(s).order) for s in (Scheme.EULER, Scheme.MIDPOINT, Scheme.RK4)]
    [('euler', 1), ('midpoint', 2), ('rk4', 4)]
    """

    EULER = "euler"
    MIDPOINT = "midpoint"
    HEUN = "heun"
    RALSTON = "ralston"
    RK4 = "rk4"
    RK4_38 = "rk4_38"
    BOSH3 = "bosh3"
    DOPRI5 = "dopri5"
    FEHLBERG45 = "fehlberg45"


_BUILT_IN = {
    Scheme.EULER: ButcherTableau([[0.0]], [1.0], [0.0], "euler", 1),
    Scheme.MIDPOINT: ButcherTableau([[0, 0], [0.5, 0]], [0, 1], [0, 0.5], "midpoint", 2),
    Scheme.HEUN: ButcherTableau([[0, 0], [1, 0]], [0.5, 0.5], [0, 1], "heun", 2),
    Scheme.RALSTON: ButcherTableau([[0, 0], [2 / 3, 0]], [0.25, 0.75], [0, 2 / 3], "ralston", 2),
    Scheme.RK4: ButcherTableau(
        [[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]],
        [1 / 6, 1 / 3, 1 / 3, 1 / 6],
        [0, 0.5, 0.5, 1],
        "rk4",
        4,
    ),
    Scheme.RK4_38: ButcherTableau(
        [[0, 0, 0, 0], [1 / 3, 0, 0, 0], [-1 / 3, 1, 0, 0], [1, -1, 1, 0]],
        [1 / 8, 3 / 8, 3 / 8, 1 / 8],
        [0, 1 / 3, 2 / 3, 1],
        "rk4_38",
        4,
    ),
    Scheme.BOSH3: ButcherTableau(
        [[0, 0, 0, 0], [1 / 2, 0, 0, 0], [0, 3 / 4, 0, 0], [2 / 9, 1 / 3, 4 / 9, 0]],
        [2 / 9, 1 / 3, 4 / 9, 0],
        [0, 1 / 2, 3 / 4, 1],
        "bosh3", 3, b_embedded=[7 / 24, 1 / 4, 1 / 3, 1 / 8], embedded_order=2,
    ),
    Scheme.DOPRI5: ButcherTableau(
        [
            [0, 0, 0, 0, 0, 0, 0],
            [1 / 5, 0, 0, 0, 0, 0, 0],
            [3 / 40, 9 / 40, 0, 0, 0, 0, 0],
            [44 / 45, -56 / 15, 32 / 9, 0, 0, 0, 0],
            [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0, 0],
            [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0, 0],
            [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
        ],
        [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
        [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1],
        "dopri5", 5,
        b_embedded=[5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40],
        embedded_order=4,
        # Shampine's (1986) fourth-order continuous extension, in powers θ, θ², θ³, θ⁴
        interpolant=[
            [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
            [0, 0, 0, 0],
            [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
            [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
            [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
            [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
            [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
        ],
    ),
    Scheme.FEHLBERG45: ButcherTableau(
        [
            [0, 0, 0, 0, 0, 0],
            [1 / 4, 0, 0, 0, 0, 0],
            [3 / 32, 9 / 32, 0, 0, 0, 0],
            [1932 / 2197, -7200 / 2197, 7296 / 2197, 0, 0, 0],
            [439 / 216, -8, 3680 / 513, -845 / 4104, 0, 0],
            [-8 / 27, 2, -3544 / 2565, 1859 / 4104, -11 / 40, 0],
        ],
        [16 / 135, 0, 6656 / 12825, 28561 / 56430, -9 / 50, 2 / 55],
        [0, 1 / 4, 3 / 8, 12 / 13, 1, 1 / 2],
        "fehlberg45", 5, b_embedded=[25 / 216, 0, 1408 / 2565, 2197 / 4104, -1 / 5, 0], embedded_order=4,
    ),
}


# every named scheme, built-in or registered, by name: the one table tableau() looks in
_TABLEAUS: dict[str, ButcherTableau] = {scheme.value: t for scheme, t in _BUILT_IN.items()}
_BUILT_IN_NAMES = tuple(_TABLEAUS)


def _same_coefficients(t: ButcherTableau, u: ButcherTableau) -> bool:
    keys = ("a", "b", "c", "b_embedded", "interpolant")
    arrays_equal = all(
        (getattr(t, k) is None and getattr(u, k) is None)
        or (getattr(t, k) is not None and getattr(u, k) is not None and np.array_equal(getattr(t, k), getattr(u, k)))
        for k in keys
    )
    return arrays_equal and t.order == u.order and t.embedded_order == u.embedded_order


def register_tableau(t: ButcherTableau) -> ButcherTableau:
    """Make a scheme known by its name: :func:`tableau`, ``ContinuumNetwork(scheme=name)``,
    :class:`~fem_nn.Manifestations` and checkpoints then take the name.

    Registering the same coefficients under the same name again is allowed (a module may be
    imported twice); other coefficients under a taken name are refused.

    Parameters
    ----------
    t : ButcherTableau
        With a `name` (a non-empty string).

    Returns
    -------
    ButcherTableau
        `t` itself, or the tableau already registered with the same coefficients.

    Raises
    ------
    TypeError
        `t` is not a ButcherTableau.
    ValueError
        `t` has no name, or its name is taken by other coefficients.

    Examples
    --------
    >>> ssp3 = ButcherTableau([[0, 0, 0], [1, 0, 0], [1/4, 1/4, 0]], [1/6, 1/6, 2/3], [0, 1, 1/2],
    ...                       name="ssprk3", order=3)
    >>> register_tableau(ssp3) is tableau("ssprk3")
    True
    """
    if not isinstance(t, ButcherTableau):
        raise TypeError(f"register_tableau needs a ButcherTableau, got {type(t).__name__}")
    if not t.name:
        raise ValueError("register_tableau: the tableau needs a name (ButcherTableau(..., name='...'))")
    known = _TABLEAUS.get(t.name)
    if known is not None:
        if known is t or _same_coefficients(known, t):
            return known
        raise ValueError(f"register_tableau: the name {t.name!r} is taken by a tableau with other coefficients")
    _TABLEAUS[t.name] = t
    return t


def tableau_names() -> tuple[str, ...]:
    """The names :func:`tableau` knows: the built-in schemes, then the registered ones.

    Examples
    --------
    >>> tableau_names()[:3]
    ('euler', 'midpoint', 'heun')
    """
    return tuple(_TABLEAUS)


def tableau(scheme: Scheme | str | ButcherTableau) -> ButcherTableau:
    """The tableau of a scheme.

    Parameters
    ----------
    scheme : Scheme, str or ButcherTableau
        A built-in scheme or its name (``"euler"``, ``"midpoint"``, ``"heun"``,
        ``"ralston"``, ``"rk4"``, ``"rk4_38"``, and the pairs ``"bosh3"``, ``"dopri5"``,
        ``"fehlberg45"``), the name of a scheme added by :func:`register_tableau`; a
        ButcherTableau is returned as is.

    Returns
    -------
    ButcherTableau

    Raises
    ------
    ValueError
        An unknown name; the message lists the known ones.
    TypeError
        Anything else.

    Examples
    --------
    >>> tableau("rk4").c.tolist()
    [0.0, 0.5, 0.5, 1.0]
    >>> tableau(Scheme.RK4_38).order
    4
    >>> tableau("dopri5").order, tableau("dopri5").embedded_order, tableau("dopri5").fsal
    (5, 4, True)
    """
    if isinstance(scheme, ButcherTableau):
        return scheme
    if isinstance(scheme, Scheme):
        return _TABLEAUS[scheme.value]
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be a Scheme, a scheme name or a ButcherTableau, got {scheme!r}")
    try:
        return _TABLEAUS[scheme]
    except KeyError:
        registered = [name for name in _TABLEAUS if name not in _BUILT_IN_NAMES]
        also = f" or a registered one {registered}" if registered else ""
        raise ValueError(f"scheme must be one of {list(_BUILT_IN_NAMES)}{also}, got {scheme!r}") from None
