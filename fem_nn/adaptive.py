"""Adaptive explicit Runge–Kutta solves with embedded pairs.

Each step estimates its local error by the pair's embedded weights, measures it in a norm
scaled by ``atol + rtol·|h|``, and is accepted when that is at most 1; a PI controller
(Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.4) picks the next step. The first step is
Hairer's estimate from two evaluations. Steps stop exactly at breakpoints (where the
right-hand side may jump: each step's stages then lie in one cell, see
:func:`fem_nn.integrate`), and the states at the output times come from the pair's dense
output (cubic Hermite where it has none).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import _checks
from ._rk import _accumulate, _combination, _quadrature, _slopes, _stages, _weighted_sum
from .tableaus import ButcherTableau, Scheme, tableau
from ._rk import axpy

__all__ = ["Adaptive", "SolveInfo", "NORMS"]


def _rms(x) -> float:
    if isinstance(x, torch.Tensor):
        return float(torch.linalg.vector_norm(x)) / math.sqrt(max(x.numel(), 1))
    return float(np.sqrt(np.mean(np.square(x)))) if np.size(x) else 0.0


def _max(x) -> float:
    if isinstance(x, torch.Tensor):
        return float(x.abs().max()) if x.numel() else 0.0
    return float(np.max(np.abs(x))) if np.size(x) else 0.0


NORMS = {"rms": _rms, "max": _max}
"""The built-in error norms by name: root mean square (the default) and maximum."""


@dataclass(frozen=True)
class Adaptive:
    """An adaptive manifestation: an embedded pair and its tolerances.

    Parameters
    ----------
    pair : str, Scheme or ButcherTableau, default "dopri5"
        An embedded pair (``tableau(pair).embedded``): "bosh3", "dopri5", "fehlberg45" or
        a user's :class:`~fem_nn.ButcherTableau` with `b_embedded`.
    rtol, atol : float
        Relative and absolute tolerances (> 0 and >= 0, not both 0): a step is accepted when
        ``norm(error / (atol + rtol·max(|h|, |h_new|))) <= 1``.
    norm : "rms", "max" or callable, default "rms"
        The error norm of the scaled error (a state-shaped array) as a float. A callable
        may be a seminorm: one that ignores some components leaves them out of the step
        control (e.g. the parameter gradients of an adjoint solve).
    max_steps : int, default 10000
        Attempted steps (accepted and rejected) before the solve fails with RuntimeError.
    first_step : float, optional
        The first step size; default Hairer's estimate (two evaluations, one reused).
    safety, min_factor, max_factor : float
        The step-size controller's safety factor and its bounds on the ratio of new to old
        step (0.9, 0.2, 10).
    beta : float, default 0.04
        The PI controller's coefficient of the previous error (0: plain I control).

    Examples
    --------
    >>> Adaptive("bosh3", rtol=1e-4).pair.name
    'bosh3'
    >>> Adaptive("rk4")
    Traceback (most recent call last):
    ...
    ValueError: pair must be an embedded pair (a tableau with 'b_embedded', e.g. 'bosh3', 'dopri5', 'fehlberg45'), got 'rk4'
    """

    pair: ButcherTableau | Scheme | str = "dopri5"
    rtol: float = 1e-6
    atol: float = 1e-9
    norm: str | Callable = "rms"
    max_steps: int = 10_000
    first_step: float | None = None
    safety: float = 0.9
    min_factor: float = 0.2
    max_factor: float = 10.0
    beta: float = 0.04

    def __post_init__(self):
        pair = tableau(self.pair)
        if not pair.embedded:
            raise ValueError(
                "pair must be an embedded pair (a tableau with 'b_embedded', e.g. 'bosh3', 'dopri5', 'fehlberg45'), "
                f"got {pair.name or self.pair!r}"
            )
        object.__setattr__(self, "pair", pair)
        rtol, atol = _checks.real(self.rtol, "rtol"), _checks.real(self.atol, "atol")
        if rtol < 0 or atol < 0 or rtol == atol == 0:
            raise ValueError(f"rtol and atol must be >= 0 and not both 0, got rtol={rtol}, atol={atol}")
        if not (callable(self.norm) or self.norm in NORMS):
            raise ValueError(f"norm must be one of {sorted(NORMS)} or a callable, got {self.norm!r}")
        if self.first_step is not None and not _checks.real(self.first_step, "first_step") > 0:
            raise ValueError(f"first_step must be > 0, got {self.first_step}")
        for key, low, high in (("safety", 0, 1), ("min_factor", 0, 1), ("max_factor", 1, math.inf), ("beta", -1, 0.2)):
            value = _checks.real(getattr(self, key), key)
            if not low < value <= high or (key == "beta" and value < 0):
                raise ValueError(f"{key} must lie in ({max(low, 0)}, {high}]{' or be 0' * (key == 'beta')}, got {value}")
        for key, value in (("rtol", rtol), ("atol", atol)):
            object.__setattr__(self, key, value)
        object.__setattr__(self, "max_steps", _checks.integer(self.max_steps, "max_steps", 1))

    @property
    def error_norm(self) -> Callable:
        """The norm as a callable."""
        return NORMS[self.norm] if isinstance(self.norm, str) else self.norm


@dataclass(frozen=True)
class SolveInfo:
    """Counts of an adaptive solve: right-hand-side evaluations, accepted and rejected steps."""

    nfe: int
    accepted: int
    rejected: int


def _scaled(error, h, h_new, rtol: float, atol: float):
    """``error / (atol + rtol·max(|h|, |h_new|))``."""
    if isinstance(error, torch.Tensor):
        return error / torch.maximum(h.abs(), h_new.abs()).mul_(rtol).add_(atol)
    return error / (atol + rtol * np.maximum(np.abs(h), np.abs(h_new)))


def _dense(h, h_new, t: float, dt: float, time: float, pair: ButcherTableau, slopes: list, end_slope):
    """The state at `time` inside the accepted step ``[t, t + dt]``: the pair's interpolant,
    else the cubic Hermite interpolant of the ends' states and slopes (`end_slope`)."""
    theta = (time - t) / dt
    if pair.interpolant is not None:
        powers = theta ** np.arange(1, pair.interpolant.shape[1] + 1)
        terms = [(i, float(w)) for i, w in enumerate(pair.interpolant @ powers) if w != 0.0]
        return _combination(h, dt, terms, slopes)
    h00, h01 = 2 * theta**3 - 3 * theta**2 + 1, 3 * theta**2 - 2 * theta**3
    h10, h11 = theta**3 - 2 * theta**2 + theta, theta**3 - theta**2
    out = axpy(h * h00, h01, h_new, inplace=True)
    out = axpy(out, dt * h10, slopes[0], inplace=True)
    return axpy(out, dt * h11, end_slope, inplace=True)


class _Controller:
    """The PI step-size controller of Hairer's DOPRI5: ``dt_new = dt · safety ·
    err^(−1/k + 0.75 β) · err_old^β``, bounded by the factors, no growth right after a
    rejection; k is the lower order of the pair plus one."""

    def __init__(self, adaptive: Adaptive):
        pair, self.adaptive = adaptive.pair, adaptive
        self.exponent = 1.0 / (min(pair.order, pair.embedded_order) + 1) - 0.75 * adaptive.beta
        self.previous, self.rejected = 1e-4, False

    def __call__(self, dt: float, ratio: float) -> float:
        """The next step size after a step of `dt` with error ratio `ratio` (accepted if <= 1)."""
        a = self.adaptive
        raised = ratio**self.exponent if ratio > 0 else 0.0
        if ratio <= 1.0:
            factor = raised / self.previous**a.beta / a.safety
            new = dt / min(1.0 / a.min_factor, max(1.0 / a.max_factor, factor))
            if self.rejected:
                new = min(new, dt)
            self.previous, self.rejected = max(ratio, 1e-4), False
            return new
        self.rejected = True
        return dt / min(1.0 / a.min_factor, raised / a.safety)


def _first_step(field, t0: float, h0, f0, adaptive: Adaptive, room: float) -> tuple[float, int]:
    """Hairer's starting step (*Solving ODEs I*, §II.4) and the evaluations it made (one)."""
    rtol, atol, norm, pair = adaptive.rtol, adaptive.atol, adaptive.error_norm, adaptive.pair
    with torch.no_grad():
        scale = h0.abs() * rtol + atol if isinstance(h0, torch.Tensor) else np.abs(h0) * rtol + atol
        d0, d1 = norm(h0 / scale), norm(f0 / scale)
        trial = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        trial = min(trial, room)
        f1 = _slopes([field(t0 + trial, axpy(h0, trial, f0), (t0, t0 + trial))])[0]
        d2 = norm((f1 - f0) / scale) / trial
    if max(d1, d2) <= 1e-15:
        step = max(1e-6, trial * 1e-3)
    else:
        step = (0.01 / max(d1, d2)) ** (1.0 / (min(pair.order, pair.embedded_order) + 1))
    return min(100 * trial, step, room), 1


def _solve(field: Callable, h0, times: list, adaptive: Adaptive, breakpoints=(), quadrature_controlled: bool = False):
    """The adaptive solve on checked arguments, forward in time.

    `field(t, h, interval)` returns the slope, or a pair ``(slope, integrands)`` where
    `integrands` is a list of arrays (or None) whose integrals along the solve are
    accumulated by each accepted step's quadrature (``dt Σ b_i g_i``) and returned;
    `quadrature_controlled` adds their error estimates to the step control (a mixed norm:
    the largest of the state's and each integral's RMS), else they are left out (a
    seminorm). Returns the states at `times` (`h0` first), the integrals (or None) and a
    :class:`SolveInfo`.
    """
    pair, rtol, atol, norm = adaptive.pair, adaptive.rtol, adaptive.atol, adaptive.error_norm
    t, end = times[0], times[-1]
    stops = sorted({float(b) for b in breakpoints if t < b < end} | {end})
    outputs, h = [h0], h0
    pending = 1  # index of the next output time
    first = field(t, h, (t, stops[0]))
    nfe, accepted, rejected = 1, 0, 0
    totals = [None] * len(first[1]) if isinstance(first, tuple) else None
    if adaptive.first_step is None:
        dt, extra = _first_step(field, t, h, _slopes([first])[0], adaptive, stops[0] - t)
        nfe += extra
    else:
        dt = adaptive.first_step
    control = _Controller(adaptive)
    stop = 0
    while pending < len(times):
        while stops[stop] <= t:
            stop += 1
        landing = t + dt >= stops[stop]
        t_new = stops[stop] if landing else t + dt
        dt = t_new - t
        if not t_new > t or dt < 4 * np.finfo(float).eps * abs(t):
            raise RuntimeError(f"adaptive solve: step size underflow at t={t} (dt={dt}); the problem may be stiff "
                               "or the tolerances too tight")
        if accepted + rejected >= adaptive.max_steps:
            raise RuntimeError(f"adaptive solve: max_steps={adaptive.max_steps} steps taken, reached t={t} of "
                               f"[{times[0]}, {end}] (last step {dt:.3g}); raise max_steps or loosen rtol/atol")
        interval = (t, t_new)
        stage_outputs = _stages(field, t, h, dt, pair, interval, first)
        nfe += pair.stages - (first is not None)
        slopes = _slopes(stage_outputs)
        h_new = _combination(h, dt, pair._final_terms, slopes)
        with torch.no_grad():
            ratio = norm(_scaled(_weighted_sum(dt, pair._error_terms, slopes), h, h_new, rtol, atol))
            increments = _quadrature(dt, pair, stage_outputs) if totals is not None else None
            if quadrature_controlled and totals is not None:
                errors = _quadrature(dt, pair, stage_outputs, pair._error_terms)
                for total, increment, error in zip(totals, increments, errors):
                    if error is not None:
                        base = increment if total is None else total
                        ratio = max(ratio, _rms(_scaled(error, base, base + increment, rtol, atol)))
        dt_next = control(dt, ratio)
        if ratio > 1.0:
            rejected += 1
            first = stage_outputs[0]
            dt = dt_next
            continue
        accepted += 1
        end_slope = stage_outputs[-1] if pair.fsal else None
        while pending < len(times) and times[pending] <= t_new:
            time = times[pending]
            if time == t_new:
                outputs.append(h_new)
            else:
                if end_slope is None and pair.interpolant is None:
                    end_slope = field(t_new, h_new, interval)
                    nfe += 1
                outputs.append(_dense(h, h_new, t, dt, time, pair, slopes, _slopes([end_slope])[0]))
            pending += 1
        if totals is not None:
            totals = _accumulate(totals, increments)
        # a stop may be a jump of the field: the next step's first stage is then re-evaluated
        first = end_slope if end_slope is not None and not landing else None
        if first is None and pending < len(times):
            first = field(t_new, h_new, (t_new, stops[min(stop + landing, len(stops) - 1)]))
            nfe += 1
        t, h, dt = t_new, h_new, dt_next
    return outputs, totals, SolveInfo(nfe, accepted, rejected)
