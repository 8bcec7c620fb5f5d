"""Explicit Runge–Kutta solves from Butcher tableaus, generic over the state: fixed steps
(:func:`integrate`) and adaptive steps by embedded pairs (:func:`integrate_adaptive`), with
outputs at any grid of times and a choice of gradient (backprop, checkpointing, continuous
or discrete adjoint).

The state may be a numpy array or a torch tensor of any shape (autograd flows through);
the right-hand side is any callable ``f(t, h)``, or ``f(t, h, step_interval)`` for fields
that are discontinuous in depth (see :func:`integrate`).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from . import _checks
from ._rk import _step
from .adaptive import Adaptive, SolveInfo, _solve
from .adjoint import GRADIENTS, _Problem, _solve_with_adjoint
from .tableaus import ButcherTableau, Scheme, tableau

__all__ = ["ButcherTableau", "Scheme", "tableau", "step", "integrate", "integrate_adaptive", "Adaptive", "SolveInfo"]

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
    times=None,
    gradient: str | None = None,
    params=None,
):
    """Integrate ``dh/dt = f(t, h)`` from `t0` to `t1` in `steps` equal explicit RK steps.

    The steps' ends are ``np.linspace(t0, t1, steps + 1)``, the breakpoints of a uniform
    axis of `steps` cells on ``[t0, t1]``; step k spans ``[t_k, t_{k+1}]`` (by
    :func:`step`). Output `times` between these ends split their steps there.

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
        The interval, finite; ``t1 < t0`` integrates backwards (forwards in s = −t, the
        step intervals passed to `f` still as ``(lower, upper)``).
    steps : int
        Number of equal steps, >= 1.
    scheme : Scheme, str or ButcherTableau
    pass_interval : bool
        Call `f` with the step interval as a third argument (above).
    return_trajectory : bool
        Also return every intermediate state.
    checkpoint : bool
        The same as ``gradient="checkpoint"``.
    times : array_like, optional
        Output times, strictly increasing (decreasing backwards), between `t0` and `t1`: the
        states there are returned, stacked (a new leading axis). Each is a step end: the
        uniform ends stay, and a time within 1e-12 times the interval's length of one is
        taken there; any other splits its step in two.
    gradient : {"backprop", "checkpoint", "adjoint", "discrete"}, optional
        How torch states are differentiated (default "backprop", or "checkpoint" with
        `checkpoint`):

        - "backprop": autograd through every stage of every step (memory: every stage's
          intermediates).
        - "checkpoint": two-level checkpointing (``torch.utils.checkpoint``). The steps are
          split into about √steps segments; the forward pass keeps only each segment's input
          state, the backward pass recomputes a segment keeping each step's input, then each
          step's stages. Memory grows like 2√steps states, for about two extra forward
          passes; the same gradients.
        - "discrete": the exact discrete adjoint: the forward pass keeps each step's input
          state, the backward pass recomputes and backpropagates one step at a time (one
          extra forward pass, memory of one step's graph plus the step inputs); backprop's
          gradients to round-off.
        - "adjoint": the continuous adjoint (:mod:`fem_nn.adjoint`), solved backwards by
          the same scheme on the same steps: memory independent of `steps`, about two extra
          forward passes; the gradient of the exact flow, so it differs from backprop's by
          the scheme's error.

        "checkpoint", "adjoint" and "discrete" exclude `return_trajectory`.
    params : sequence of torch tensors, optional
        For "adjoint" and "discrete": the tensors `f` depends on whose gradients are wanted
        (default: ``f.parameters()`` when `f` is a ``torch.nn.Module``). Tensors `f` uses
        that are not listed get no gradient from these modes.

    Returns
    -------
    The state at `t1`; with `times`, the states there, stacked; with `return_trajectory` a
    pair ``(times, states)``: the step ends (a float64 array) and the list of the states
    there, `h0` first.

    Raises
    ------
    TypeError, ValueError
        Bad arguments; the message names the argument.

    Examples
    --------
    >>> float(integrate(lambda t, h: h, np.array(1.0), steps=8, scheme="rk4"))  # e ≈ 2.71828
    2.7182...
    >>> integrate(lambda t, h: h, np.array(1.0), steps=8, times=[0.0, 0.3, 1.0]).round(4).tolist()
    [1.0, 1.3499, 2.7183]
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {f!r}")
    scheme = tableau(scheme)
    steps = _checks.integer(steps, "steps", 1)
    t0, t1 = _checks.real(t0, "t0"), _checks.real(t1, "t1")
    if t1 == t0:
        raise ValueError(f"t1 must differ from t0, got t0 = t1 = {t0}")
    if t1 < t0:  # backwards: forwards in s = −t
        if times is not None:
            times = _output_times(times, "times", decreasing=True)
            if times[0] > t0 or times[-1] < t1:
                raise ValueError(f"times must lie in [t1, t0] = [{t1}, {t0}], got [{times[-1]}, {times[0]}]")
        solved = integrate(_backwards(f, pass_interval), h0, -t0, -t1, steps, scheme, pass_interval=pass_interval,
                           return_trajectory=return_trajectory, checkpoint=checkpoint,
                           times=None if times is None else -times, gradient=gradient, params=_module_params(f, params))
        return (-solved[0], solved[1]) if return_trajectory else solved
    gradient = _gradient_mode(gradient, checkpoint, GRADIENTS)
    if gradient != "backprop" and return_trajectory:
        raise ValueError(
            f"{gradient} and return_trajectory exclude each other: the trajectory is what the {gradient} mode drops"
        )
    if gradient != "backprop" and not isinstance(h0, torch.Tensor):
        raise TypeError(f"{gradient} needs a torch tensor state h0, got {type(h0).__name__}")
    if times is not None and return_trajectory:
        raise ValueError("times and return_trajectory exclude each other")
    grid, out_index = _step_grid(t0, t1, steps, times)
    if gradient in ("adjoint", "discrete"):
        params = _params(f, params)
        if _needs_graph(h0, params):
            start = [0] if out_index[0] != 0 else []  # the adjoint's outputs begin at the start
            problem = _Problem(f, pass_interval, params, [grid[i] for i in start + out_index], scheme=scheme,
                               grid=grid, out_index=start + out_index)
            states = _solve_with_adjoint(problem, h0, discrete=gradient == "discrete")[len(start):]
            return states[-1] if times is None else states
        gradient = "backprop"
    h, states = h0, [h0]

    def advance(h, first: int, last: int):
        for k in range(first, last):
            h = _step(f, grid[k], h, grid[k + 1] - grid[k], scheme, pass_interval)
            if return_trajectory:
                states.append(h)
        return h

    if return_trajectory:
        return np.array(grid), (advance(h, 0, len(grid) - 1), states)[1]
    run = advance if gradient == "backprop" else _checkpointed(advance)
    outputs = [h0] if out_index[0] == 0 else []
    for first, last in zip([0] + out_index, out_index):
        if last > first:
            h = run(h, first, last)
            outputs.append(h)
    if times is None:
        return h
    return torch.stack(outputs) if isinstance(h0, torch.Tensor) else np.stack([np.asarray(o) for o in outputs])


def _gradient_mode(gradient, checkpoint: bool, known) -> str:
    """The gradient mode, checked against `known`; `checkpoint` is "checkpoint"'s alias."""
    checkpoint = _checks.flag(checkpoint, "checkpoint")
    if gradient is None:
        return "checkpoint" if checkpoint else "backprop"
    if gradient not in known:
        raise ValueError(f"gradient must be one of {list(known)}, got {gradient!r}")
    if checkpoint and gradient != "checkpoint":
        raise ValueError(f"checkpoint=True contradicts gradient={gradient!r}")
    return gradient


def _params(f, params) -> tuple:
    """The tensors of an adjoint's parameter gradients: `params`, or a module's parameters."""
    if params is None:
        if not isinstance(f, torch.nn.Module):
            raise ValueError("params must list the tensors f depends on (f is not a torch.nn.Module): the adjoint "
                             "computes gradients for these only")
        params = tuple(f.parameters())
    params = tuple(params)
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"params[{i}] must be a torch tensor, got {type(p).__name__}")
    return params


def _needs_graph(h0, params) -> bool:
    """Whether an adjoint Function is needed: grad mode on and something requires grad."""
    return torch.is_grad_enabled() and (h0.requires_grad or any(p.requires_grad for p in params))


def _step_grid(t0: float, t1: float, steps: int, times) -> tuple[list, list]:
    """The step ends (Python floats) and, per output time, its index among them (default:
    the last end only)."""
    uniform = np.linspace(t0, t1, steps + 1)
    if times is None:
        return uniform.tolist(), [steps]
    times = _output_times(times, "times")
    if times[0] < t0 or times[-1] > t1:
        raise ValueError(f"times must lie in [t0, t1] = [{t0}, {t1}], got [{times[0]}, {times[-1]}]")
    nearest = np.clip(np.searchsorted(uniform, times), 1, steps)
    nearest = np.where(np.abs(uniform[nearest - 1] - times) <= np.abs(uniform[nearest] - times), nearest - 1, nearest)
    snapped = np.abs(uniform[nearest] - times) <= 1e-12 * (t1 - t0)
    grid = np.union1d(uniform, times[~snapped])
    outputs = np.where(snapped, uniform[nearest], times)
    return grid.tolist(), np.searchsorted(grid, outputs).tolist()


def _output_times(times, name: str, decreasing: bool = False) -> np.ndarray:
    """`times` as a strictly increasing (or `decreasing`), finite 1D float array, or an
    error naming `name`."""
    array = np.asarray(times.detach().cpu() if isinstance(times, torch.Tensor) else times)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real times, got {times!r}")
    array = array.astype(np.float64)
    order, sign = ("decreasing", -1.0) if decreasing else ("increasing", 1.0)
    if array.ndim != 1 or array.size < 1 or not np.all(np.isfinite(array)) or np.any(sign * np.diff(array) <= 0):
        raise ValueError(f"{name} must be a non-empty, finite, strictly {order} 1D array, got {array.tolist()}")
    return array


def _backwards(f: Callable, pass_interval: bool) -> Callable:
    """`f` in reversed time s = −t: ``dh/ds = −f(−s, h)``; the step interval (a, b) in s is
    the interval (−b, −a) in t, so a breakpoint keeps its one-sided rule."""
    if pass_interval:
        return lambda s, h, interval: -f(-s, h, (-interval[1], -interval[0]))
    return lambda s, h: -f(-s, h)


def _module_params(f, params):
    """`params`, or a module's own parameters (a wrapper of `f` is no module)."""
    return tuple(f.parameters()) if params is None and isinstance(f, torch.nn.Module) else params


def _checkpointed(advance: Callable) -> Callable:
    """`advance` over a range of steps by two-level checkpointing: segments of about
    √steps keep their input state; a segment's steps, recomputed in the backward pass, keep
    only theirs; a step's stages live only while it is recomputed."""
    from torch.utils.checkpoint import checkpoint as recompute

    def steps_checkpointed(h, first: int, last: int):
        for k in range(first, last):
            h = recompute(advance, h, k, k + 1, use_reentrant=False)
        return h

    def run(h, first: int, last: int):
        segment = math.ceil(math.sqrt(last - first))
        for start in range(first, last, segment):
            h = recompute(steps_checkpointed, h, start, min(start + segment, last), use_reentrant=False)
        return h

    return run


def integrate_adaptive(
    f: Callable,
    h0,
    times,
    scheme: Adaptive | Scheme | str | ButcherTableau = "dopri5",
    *,
    breakpoints=(),
    pass_interval: bool = False,
    gradient: str = "backprop",
    params=None,
    seminorm: bool = True,
    return_info: bool = False,
):
    """Integrate ``dh/dt = f(t, h)`` by adaptive steps of an embedded pair, with the states
    at `times` (:mod:`fem_nn.adaptive`).

    Parameters
    ----------
    f : callable
        ``f(t, h)``, or ``f(t, h, (t_k, t_k1))`` with `pass_interval` (as in
        :func:`integrate`).
    h0 : numpy array, torch tensor or float
        The state at ``times[0]``.
    times : array_like
        Strictly increasing (or decreasing: a backward solve) output times, at least two;
        the solve runs from the first to the last, and the states in between come from the dense output (dopri5's own, fourth
        order; else cubic Hermite, third order: for a fifth-order pair without an
        interpolant, list the times in `breakpoints` too to hit them with steps).
    scheme : Adaptive, or an embedded pair (name or tableau), default "dopri5"
        The pair and its tolerances (:class:`~fem_nn.Adaptive`; a pair alone gets
        the default tolerances).
    breakpoints : sequence of float
        Times where steps must stop (the right-hand side may jump there, e.g. depth-cell
        breakpoints): no step straddles one, and the first stage after one is evaluated
        afresh.
    pass_interval : bool
    gradient : {"backprop", "adjoint"}
        For torch states: autograd through the accepted steps and the dense output (the
        step sizes are constants), or the continuous adjoint, solved backwards adaptively at
        the same tolerances (memory independent of the steps).
    params : sequence of torch tensors, optional
        For "adjoint", the tensors `f` depends on (see :func:`integrate`).
    seminorm : bool, default True
        For "adjoint": leave the parameters' gradient quadrature out of the backward step
        control (Kidger et al. 2021: fewer steps, gradients as accurate); False controls
        its error too.
    return_info : bool
        Also return the :class:`~fem_nn.adaptive.SolveInfo` of the forward solve.

    Returns
    -------
    The states at `times`, stacked along a new leading axis (and the info).

    Examples
    --------
    >>> states = integrate_adaptive(lambda t, h: -h, np.array(1.0), [0.0, 0.5, 2.0], Adaptive(rtol=1e-8))
    >>> np.allclose(states, np.exp([0.0, -0.5, -2.0]), rtol=1e-7)
    True
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {f!r}")
    adaptive = scheme if isinstance(scheme, Adaptive) else Adaptive(scheme)
    array = np.asarray(times.detach().cpu() if isinstance(times, torch.Tensor) else times)
    if array.ndim == 1 and array.size >= 2 and array.dtype.kind in "iuf" and array[-1] < array[0]:  # backwards
        return integrate_adaptive(_backwards(f, pass_interval), h0, -_output_times(times, "times", decreasing=True),
                                  adaptive, breakpoints=[-_checks.real(b, "breakpoints") for b in breakpoints],
                                  pass_interval=pass_interval, gradient=gradient, params=_module_params(f, params),
                                  seminorm=seminorm, return_info=return_info)
    times = _output_times(times, "times")
    if times.size < 2:
        raise ValueError(f"times must hold at least two times (the start and an output), got {times.tolist()}")
    breakpoints = [_checks.real(b, "breakpoints") for b in breakpoints]
    if gradient not in ("backprop", "adjoint"):
        raise ValueError(f"gradient must be 'backprop' or 'adjoint' for an adaptive solve, got {gradient!r}")
    if gradient == "adjoint" and not isinstance(h0, torch.Tensor):
        raise TypeError(f"gradient='adjoint' needs a torch tensor state h0, got {type(h0).__name__}")
    seminorm = _checks.flag(seminorm, "seminorm")
    if return_info and gradient == "adjoint":
        raise ValueError("return_info needs gradient='backprop' (the adjoint's forward solve runs inside autograd)")
    times = times.tolist()
    field = f if pass_interval else (lambda t, h, interval: f(t, h))
    if gradient == "adjoint":
        params = _params(f, params)
        if _needs_graph(h0, params):
            problem = _Problem(f, pass_interval, params, times, adaptive=adaptive, breakpoints=breakpoints,
                               seminorm=seminorm)
            return _solve_with_adjoint(problem, h0, discrete=False)
    if not isinstance(h0, torch.Tensor):
        h0 = np.asarray(h0, dtype=np.float64)
    outputs, _, info = _solve(field, h0, times, adaptive, breakpoints)
    states = torch.stack(outputs) if isinstance(h0, torch.Tensor) else np.stack(outputs)
    return (states, info) if return_info else states
