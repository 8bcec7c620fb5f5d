"""Observed rates of convergence: least-squares fits of log(error) against log(x), used by
the convergence test of a network and by its plot (numpy only)."""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["fitted_rate", "log_log_fit"]


def log_log_fit(x, errors, last: int | None = None, floor: float | None = None):
    """Validated least-squares fit of log(error) = log(C) - rate·log(x): (rate, log C, the x
    fitted); rate NaN when fewer than two points are usable. The options are those of
    :func:`fitted_rate`.

    Examples
    --------
    >>> rate, log_c, fitted = log_log_fit([2, 4, 8], [0.5, 0.125, 0.03125])
    >>> round(rate, 12), round(float(np.exp(log_c)), 12), fitted.tolist()
    (2.0, 2.0, [2.0, 4.0, 8.0])
    """
    x, errors = _checks.real_vector(x, "x"), _checks.real_vector(errors, "errors")
    if len(x) != len(errors):
        raise ValueError(f"x and errors must have the same length, got {len(x)} and {len(errors)}")
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise ValueError("x must be positive and finite for a log-log fit")
    if last is not None:
        last = _checks.integer(last, "last", 2)
    if floor is None:
        if len(x) < 2:
            raise ValueError(f"a rate needs at least 2 points, got {len(x)}")
        if len(np.unique(x)) < 2:
            raise ValueError("x must hold at least two distinct values")
        if not np.all(np.isfinite(errors)) or np.any(errors <= 0):
            raise ValueError(
                "errors must be positive and finite for a log-log fit; pass floor= to leave out "
                "errors at round-off (or not finite)"
            )
        usable = np.ones(len(x), dtype=bool)
    else:
        floor = _checks.real(floor, "floor")
        if floor < 0:
            raise ValueError(f"floor must be >= 0, got {floor}")
        usable = np.isfinite(errors) & (errors > floor)
    order = np.argsort(x, kind="stable")
    s, e = x[order][usable[order]], errors[order][usable[order]]
    if last is not None:
        s, e = s[-last:], e[-last:]
    if len(np.unique(s)) < 2:
        return float("nan"), float("nan"), s
    slope, intercept = np.polyfit(np.log(s), np.log(e), 1)
    return float(-slope), float(intercept), s


def fitted_rate(x, errors, *, last: int | None = None, floor: float | None = None) -> float:
    """The observed rate of convergence: minus the least-squares slope of log(error) against
    log(x).

    Parameters
    ----------
    x : array_like of float, shape (n,)
        Positive, at least two distinct: degrees of freedom, step counts, 1/h, ...
    errors : array_like of float, shape (n,)
        Positive errors.
    last : int, optional
        Fit only the `last` usable points of largest `x` (the asymptotic range).
    floor : float, optional
        Leave out of the fit, instead of refusing them, errors at or below `floor`
        (round-off) or not finite; with it, too few points give NaN, not an error.

    Returns
    -------
    float
        ``r`` with ``error ≈ C · x**-r``; NaN when, with `floor`, fewer than two points of
        distinct `x` are left to fit.

    Examples
    --------
    >>> x = [4, 8, 16, 32]
    >>> round(fitted_rate(x, [3.0 * n**-2.0 for n in x]), 12)
    2.0
    >>> round(fitted_rate(x, [1.0, 1e-2, 1e-4, 0.0], floor=1e-13), 12)  # the zero is left out
    6.643856189775
    """
    return log_log_fit(x, errors, last, floor)[0]
