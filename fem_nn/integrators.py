"""Fixed-step explicit Runge–Kutta schemes from Butcher tableaus, generic over the state.

The state may be a numpy array or a torch tensor of any shape (autograd flows through);
the right-hand side is any callable ``f(t, h)``, or ``f(t, h, step_interval)`` for fields
that are discontinuous in depth (see :func:`integrate`).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from . import _checks
from .tensor import axpy

__all__ = ["ButcherTableau", "Scheme", "tableau", "step", "integrate"]

_TOLERANCE = 1e-12


def _order_residuals(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> dict[int, list[float]]:
    """The residuals of the Runge–Kutta order conditions of orders 1 to 4 (Butcher's rooted
    trees), by order: a scheme has order p when every residual of order <= p vanishes."""
    return {
        1: [b.sum() - 1],
        2: [b @ c - 1 / 2],
        3: [b @ c**2 - 1 / 3, b @ a @ c - 1 / 6],
        4: [b @ c**3 - 1 / 4, b @ (c * (a @ c)) - 1 / 8, b @ a @ c**2 - 1 / 12, b @ a @ a @ c - 1 / 24],
    }


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
    """An explicit Runge–Kutta scheme ``(A, b, c)``.

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
        The classical order. The order conditions up to ``min(order, 4)`` are checked.

    Raises
    ------
    TypeError
        Non-numeric coefficients, a non-string name or a non-integer order.
    ValueError
        Any other violation; the message names the argument (``'a'``, ``'b'``, ``'c'`` or
        ``'order'``). The sums are checked to 1e-12.

    Examples
    --------
    >>> heun = ButcherTableau([[0, 0], [1, 0]], [0.5, 0.5], [0, 1], name="my heun", order=2)
    >>> heun.stages
    2
    """

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    name: str | None = None
    order: int | None = None

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
            order = _checks.integer(self.order, "tableau 'order'", 1)
            for k, residuals in _order_residuals(a, b, c).items():
                if k <= order and max(abs(r) for r in residuals) > _TOLERANCE:
                    raise ValueError(
                        f"tableau 'order': claims order {order} but fails the order-{k} conditions "
                        f"(residuals {[float(r) for r in residuals]})"
                    )
            object.__setattr__(self, "order", order)
        for key, value in (("a", a), ("b", b), ("c", c)):
            object.__setattr__(self, key, value)
        # the non-zero coefficients as Python floats: the stepping loop's hot path
        terms = tuple(tuple((j, float(a[i, j])) for j in range(i) if a[i, j] != 0.0) for i in range(s))
        object.__setattr__(self, "_stage_terms", terms)
        object.__setattr__(self, "_final_terms", tuple((j, float(w)) for j, w in enumerate(b) if w != 0.0))
        object.__setattr__(self, "_nodes", tuple(float(ci) for ci in c))

    @property
    def stages(self) -> int:
        """The number of stages s (right-hand-side evaluations per step)."""
        return len(self.b)


class Scheme(enum.Enum):
    """Built-in explicit Runge–Kutta schemes; :func:`tableau` gives their coefficients.

    ``RK4`` is the classic scheme; ``RK4_38`` is the 3/8 rule, which torchdiffeq calls
    ``rk4``.

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


_TABLEAUS = {
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
}


def tableau(scheme: Scheme | str | ButcherTableau) -> ButcherTableau:
    """The tableau of a scheme.

    Parameters
    ----------
    scheme : Scheme, str or ButcherTableau
        A built-in scheme or its name (``"euler"``, ``"midpoint"``, ``"heun"``,
        ``"ralston"``, ``"rk4"``, ``"rk4_38"``); a ButcherTableau is returned as is.

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
    """
    if isinstance(scheme, ButcherTableau):
        return scheme
    if not isinstance(scheme, (Scheme, str)):
        raise TypeError(f"scheme must be a Scheme, a scheme name or a ButcherTableau, got {scheme!r}")
    try:
        return _TABLEAUS[Scheme(scheme)]
    except ValueError:
        raise ValueError(f"scheme must be one of {[s.value for s in Scheme]}, got {scheme!r}") from None


def step(f: Callable, t: float, h, dt: float, scheme: Scheme | str | ButcherTableau, pass_interval: bool = False):
    """One explicit Runge–Kutta step of size `dt` from ``(t, h)``.

    Parameters
    ----------
    f : callable
        ``f(t, h)``, or ``f(t, h, (t, t + dt))`` with `pass_interval` (see :func:`integrate`).
    t : float
        The step's start.
    h : numpy array or torch tensor
        The state at `t`, any shape; never modified in place.
    dt : float
        The step size, finite and > 0.
    scheme : Scheme, str or ButcherTableau
    pass_interval : bool
        Pass the step interval ``(t, t + dt)`` to `f`. The stage times are ``t + c_i·dt``:
        a stage with ``c_i = 0`` gets exactly the interval's start, one with ``c_i = 1``
        exactly its end.

    Returns
    -------
    The state at ``t + dt``, of the type of `h`.

    Examples
    --------
    >>> step(lambda t, h: t, 0.0, 0.0, 1.0, "heun")  # ∫_0^1 t dt
    0.5
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {f!r}")
    scheme = tableau(scheme)
    t, dt = _checks.real(t, "t"), _checks.real(dt, "dt")
    if not dt > 0:
        raise ValueError(f"dt must be > 0, got {dt}")
    return _step(f, t, h, dt, scheme, pass_interval)


def _step(f: Callable, t: float, h, dt: float, scheme: ButcherTableau, pass_interval: bool):
    """:func:`step` on checked arguments: :func:`integrate`'s loop."""
    interval = (t, t + dt)
    slopes = []
    for c, terms in zip(scheme._nodes, scheme._stage_terms):
        stage = _combination(h, dt, terms, slopes)
        time = t + c * dt
        slopes.append(f(time, stage, interval) if pass_interval else f(time, stage))
    return _combination(h, dt, scheme._final_terms, slopes)


def _combination(h, dt: float, terms, slopes):
    """``h + dt Σ_j a_j k_j`` over the ``(j, a_j)`` terms: the first term makes a new state
    (`h` is never modified), the others add into it in place."""
    for n, (j, a) in enumerate(terms):
        h = axpy(h, dt * a, slopes[j], inplace=n > 0)
    return h


def integrate(
    f: Callable,
    h0,
    t0: float = 0.0,
    t1: float = 1.0,
    steps: int = 1,
    scheme: Scheme | str | ButcherTableau = Scheme.RK4,
    *,
    pass_interval: bool = False,
    return_trajectory: bool = False,
    checkpoint: bool = False,
):
    """Integrate ``dh/dt = f(t, h)`` from `t0` to `t1` in `steps` equal explicit RK steps.

    The steps' ends are ``np.linspace(t0, t1, steps + 1)``, the breakpoints of a uniform
    axis of `steps` cells on ``[t0, t1]``; step k spans ``[t_k, t_{k+1}]`` (by
    :func:`step`).

    Parameters
    ----------
    f : callable
        ``f(t, h)`` returning dh/dt at stage time ``t`` (a Python float) and stage state `h`.
        With ``pass_interval=True`` it is called as ``f(t, h, (t_k, t_k1))``, where
        ``[t_k, t_k1]`` is the step being taken: a right-hand side built on fields that
        jump at depth-cell breakpoints must then take, at a stage time on a breakpoint
        (``t == t_k`` or ``t == t_k1``), the one-sided value of the cell inside
        ``[t_k, t_k1]`` (ContinuousNet's patch of torchdiffeq). Stage times with ``c = 0``
        and ``c = 1`` equal the interval's ends bit for bit; when ``t0 = 0`` consecutive
        intervals also share their ends bit for bit. The step ends need not equal the
        fields' breakpoints bit for bit (``linspace`` grids of different counts differ by
        ulps): :meth:`~fem_nn.Axis.locate_within` decides a stage's cell with a tolerance.
    h0 : numpy array, torch tensor or float
        The initial state, any shape. Torch states keep their dtype and device, and the
        result is differentiable (no in-place operations).
    t0, t1 : float
        The interval, finite, ``t1 > t0``.
    steps : int
        Number of equal steps, >= 1.
    scheme : Scheme, str or ButcherTableau
    pass_interval : bool
        Call `f` with the step interval as a third argument (above).
    return_trajectory : bool
        Also return every intermediate state.
    checkpoint : bool
        For torch states: two-level checkpointing (``torch.utils.checkpoint``). The steps are
        split into about √steps segments; the forward pass keeps only each segment's input
        state, the backward pass recomputes a segment keeping each step's input, then each
        step's stages. Memory grows like 2√steps states instead of every stage's
        intermediates of every step, for about two extra forward passes of compute; the
        gradients are the same (exact for the discrete scheme). Excludes
        `return_trajectory`.

    Returns
    -------
    The state at `t1`, or with `return_trajectory` a pair ``(times, states)``: the
    ``steps + 1`` step ends (a float64 array) and the list of the states there, `h0` first.

    Raises
    ------
    TypeError, ValueError
        Bad arguments; the message names the argument.

    Examples
    --------
    >>> float(integrate(lambda t, h: h, np.array(1.0), steps=8, scheme="rk4"))  # e ≈ 2.71828
    2.7182...
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {f!r}")
    scheme = tableau(scheme)
    steps = _checks.integer(steps, "steps", 1)
    t0, t1 = _checks.real(t0, "t0"), _checks.real(t1, "t1")
    if not t1 > t0:
        raise ValueError(f"t1 must be greater than t0, got t0={t0}, t1={t1}")
    if checkpoint and return_trajectory:
        raise ValueError(
            "checkpoint and return_trajectory exclude each other: the trajectory is what checkpointing drops"
        )
    if checkpoint and not isinstance(h0, torch.Tensor):
        raise TypeError(f"checkpoint needs a torch tensor state h0, got {type(h0).__name__}")
    times = np.linspace(t0, t1, steps + 1)
    grid = times.tolist()  # Python floats: what f receives as stage times
    h, states = h0, [h0]

    def advance(h, first: int, last: int):
        for k in range(first, last):
            h = _step(f, grid[k], h, grid[k + 1] - grid[k], scheme, pass_interval)
            if return_trajectory:
                states.append(h)
        return h

    if not checkpoint:
        h = advance(h, 0, steps)
        return (times, states) if return_trajectory else h

    from torch.utils.checkpoint import checkpoint as recompute

    def advance_checkpointed(h, first: int, last: int):
        for k in range(first, last):
            h = recompute(advance, h, k, k + 1, use_reentrant=False)
        return h

    # two levels: segments keep their input state; a segment's steps, recomputed in the
    # backward pass, keep only theirs; a step's stages live only while it is recomputed
    segment = math.ceil(math.sqrt(steps))
    for first in range(0, steps, segment):
        h = recompute(advance_checkpointed, h, first, min(first + segment, steps), use_reentrant=False)
    return h
