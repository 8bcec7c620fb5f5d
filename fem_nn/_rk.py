"""The stage loop of an explicit Runge–Kutta step, shared by the fixed-step and adaptive
solvers and the adjoints: generic over the state (numpy array or torch tensor)."""

from __future__ import annotations

from typing import Callable

import torch

from .tableaus import ButcherTableau


def axpy(h, alpha: float, k, *, inplace: bool = False):
    """``h + alpha·k`` for numpy arrays or torch tensors, one fused operation for tensors.

    With `inplace` a tensor `h` is updated in place (no allocation), for a fresh intermediate
    its caller owns; autograd allows it, as the sum's backward needs neither operand.
    """
    if isinstance(h, torch.Tensor):
        return h.add_(k, alpha=alpha) if inplace else torch.add(h, k, alpha=alpha)
    return h + alpha * k


def _stages(f: Callable, t: float, h, dt: float, scheme: ButcherTableau, interval, first=None) -> list:
    """The outputs of `f` at the stages of one step from ``(t, h)``: ``f(t_i, stage_i,
    interval)``, or ``f(t_i, stage_i)`` when `interval` is None. An output is the slope, or
    with a quadrature a pair ``(slope, integrand)`` (see :func:`_slopes`). `first`: the
    first stage's output when already known (first same as last). With an `interval`, a
    stage with ``c = 1`` gets exactly its end (``t + dt`` may round past it)."""
    outputs, slopes = [], []
    for c, terms in zip(scheme._nodes, scheme._stage_terms):
        if first is not None and not outputs:
            output = first
        else:
            stage = _combination(h, dt, terms, slopes)
            time = interval[1] if c == 1.0 and interval is not None else t + c * dt
            output = f(time, stage) if interval is None else f(time, stage, interval)
        outputs.append(output)
        slopes.append(output[0] if isinstance(output, tuple) else output)
    return outputs


def _slopes(outputs: list) -> list:
    """The slopes of :func:`_stages`' outputs."""
    return [output[0] if isinstance(output, tuple) else output for output in outputs]


def _step(f: Callable, t: float, h, dt: float, scheme: ButcherTableau, pass_interval: bool):
    """One step on checked arguments: :func:`~fem_nn.integrators.step`'s and
    :func:`~fem_nn.integrate`'s loop."""
    outputs = _stages(f, t, h, dt, scheme, (t, t + dt) if pass_interval else None)
    return _combination(h, dt, scheme._final_terms, outputs)


def _combination(h, dt: float, terms, slopes):
    """``h + dt Σ_j a_j k_j`` over the ``(j, a_j)`` terms: the first term makes a new state
    (`h` is never modified), the others add into it in place."""
    for n, (j, a) in enumerate(terms):
        h = axpy(h, dt * a, slopes[j], inplace=n > 0)
    return h


def _weighted_sum(dt: float, terms, values):
    """``dt Σ_j w_j v_j`` over the ``(j, w_j)`` terms, a new array (None where every `v_j`
    is None: an integrand that does not depend on a parameter)."""
    total = None
    for j, w in terms:
        if values[j] is None:
            continue
        total = values[j] * (dt * w) if total is None else axpy(total, dt * w, values[j], inplace=True)
    return total


def _quadrature(dt: float, scheme: ButcherTableau, outputs: list, terms=None) -> list:
    """``dt Σ_i b_i g_i`` per integrand of the stage outputs' integrands ``g_i`` (a list per
    stage), with the weights `terms` (default the scheme's `b`)."""
    integrands = [output[1] for output in outputs]
    terms = scheme._final_terms if terms is None else terms
    return [_weighted_sum(dt, terms, [g[p] for g in integrands]) for p in range(len(integrands[0]))]


def _accumulate(totals, increments) -> list:
    """The sums of two lists of arrays where None is zero (the quadrature's running totals)."""
    if totals is None:
        return list(increments)
    return [i if s is None else (s if i is None else s + i) for s, i in zip(totals, increments)]
