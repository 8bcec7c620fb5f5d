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

from . import _checks
from .tensor import axpy

__all__ = ["ButcherTableau", "Scheme", "tableau", "step", "integrate"]


@dataclass(frozen=True, eq=False)
class ButcherTableau:
    """An explicit Runge–Kutta scheme ``(A, b, c)``.

    Validated on construction: A square and strictly lower triangular, ``Σ b = 1`` and
    ``c = A·1`` (to 1e-12).

    Examples
    --------
    >>> heun = ButcherTableau([[0, 0], [1, 0]], [0.5, 0.5], [0, 1], name="my heun")
    >>> heun.stages
    2
    """

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    name: str | None = None
    order: int | None = None

    def __post_init__(self):
        arrays = {}
        for key in ("a", "b", "c"):
            try:
                value = np.array(getattr(self, key), dtype=float)
            except (TypeError, ValueError):
                raise TypeError(f"tableau '{key}' must be numeric, got {getattr(self, key)!r}") from None
            if not np.all(np.isfinite(value)):
                raise ValueError(f"tableau '{key}' must be finite (no NaN or inf)")
            value.flags.writeable = False
            arrays[key] = value
        a, b, c = arrays["a"], arrays["b"], arrays["c"]
        if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
            raise ValueError(f"tableau 'a' must be a square s×s matrix, got shape {a.shape}")
        s = a.shape[0]
        if np.any(np.triu(a) != 0):
            raise ValueError("tableau 'a' must be strictly lower triangular (an explicit scheme)")
        for key, value in (("b", b), ("c", c)):
            if value.shape != (s,):
                raise ValueError(f"tableau '{key}' must have {s} entries (one per stage), got shape {value.shape}")
        if abs(b.sum() - 1.0) > 1e-12:
            raise ValueError(f"tableau 'b': weights must sum to 1, got {b.sum()!r}")
        if np.max(np.abs(a.sum(axis=1) - c)) > 1e-12:
            raise ValueError(f"tableau 'c' must equal the row sums of 'a' ({a.sum(axis=1).tolist()}), got {c.tolist()}")
        for key, value in arrays.items():
            object.__setattr__(self, key, value)
        # the non-zero coefficients as Python floats: the stepping loop's hot path
        terms = tuple(tuple((j, float(a[i, j])) for j in range(i) if a[i, j] != 0.0) for i in range(s))
        object.__setattr__(self, "_stage_terms", terms)
        object.__setattr__(self, "_final_terms", tuple((j, float(w)) for j, w in enumerate(b) if w != 0.0))
        object.__setattr__(self, "_nodes", tuple(float(ci) for ci in c))

    @property
    def stages(self) -> int:
        return len(self.b)


class Scheme(enum.Enum):
    """Built-in explicit Runge–Kutta schemes. ``RK4_38`` is the 3/8 rule, which torchdiffeq
    calls ``rk4``."""

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
    """The tableau of a built-in scheme (by :class:`Scheme` or name); a ButcherTableau is
    returned as is.

    Examples
    --------
    >>> tableau("rk4").c.tolist()
    [0.0, 0.5, 0.5, 1.0]
    """
    if isinstance(scheme, ButcherTableau):
        return scheme
    try:
        return _TABLEAUS[Scheme(scheme)]
    except ValueError:
        known = [s.value for s in Scheme]
        raise ValueError(f"scheme must be a ButcherTableau or one of {known}, got {scheme!r}") from None


def step(f: Callable, t: float, h, dt: float, scheme: ButcherTableau, pass_interval: bool = False):
    """One explicit Runge–Kutta step of size `dt` from ``(t, h)``; returns the new state."""
    interval = (t, t + dt)
    slopes = []
    for c, terms in zip(scheme._nodes, scheme._stage_terms):
        stage = h
        for j, a in terms:
            stage = axpy(stage, dt * a, slopes[j])
        time = t + c * dt
        slopes.append(f(time, stage, interval) if pass_interval else f(time, stage))
    for j, b in scheme._final_terms:
        h = axpy(h, dt * b, slopes[j])
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

    Parameters
    ----------
    f : callable
        ``f(t, h)``; with ``pass_interval=True``, ``f(t, h, (t_k, t_k1))`` where
        ``[t_k, t_k1]`` is the step being taken, so that a right-hand side built on fields
        that jump at depth-cell breakpoints can take, at a stage time on a breakpoint, the
        one-sided value of the cell inside the step (ContinuousNet's patch of torchdiffeq).
    h0 : numpy array or torch tensor
        The initial state, any shape.
    t0, t1 : float
        The interval, ``t1 > t0``.
    steps : int
        Number of equal steps, >= 1.
    scheme : Scheme, str or ButcherTableau
    return_trajectory : bool
        Also return every intermediate state.
    checkpoint : bool
        For torch states: two-level checkpointing (``torch.utils.checkpoint``). The steps are
        split into about √steps segments; the forward pass keeps only each segment's input
        state, the backward pass recomputes a segment keeping each step's input, then each
        step's stages. Memory grows like 2√steps states instead of every stage's
        intermediates of every step, for about two extra forward passes of compute; the
        gradients are the same (exact for the discrete scheme).

    Returns
    -------
    The state at `t1`, or ``(times, states)`` with `return_trajectory`.

    Examples
    --------
    >>> float(integrate(lambda t, h: h, np.array(1.0), steps=8, scheme="rk4"))  # e ≈ 2.71828
    2.7182...
    """
    scheme = tableau(scheme)
    steps = _checks.integer(steps, "steps", 1)
    t0, t1 = float(t0), float(t1)
    if not t1 > t0:
        raise ValueError(f"t1 must be greater than t0, got t0={t0}, t1={t1}")
    dt = (t1 - t0) / steps
    times = t0 + dt * np.arange(steps + 1)
    times[-1] = t1
    if checkpoint and return_trajectory:
        raise ValueError("checkpoint and return_trajectory exclude each other: the trajectory is what checkpointing drops")
    h, states = h0, [h0]

    def advance(h, first: int, last: int):
        for k in range(first, last):
            h = step(f, times[k], h, times[k + 1] - times[k], scheme, pass_interval)
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
