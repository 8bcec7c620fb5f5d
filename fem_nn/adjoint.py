"""Gradients of solves by adjoints, as ``torch.autograd.Function`` objects.

- The **continuous adjoint** (Chen et al. 2018): the forward solve keeps only the outputs;
  the backward pass solves the adjoint ``a = ∂L/∂h`` of the ODE,
  ``da/dt = −aᵀ ∂f/∂h``, backwards together with the state (re-solved backwards from the
  output), and integrates the parameters' gradient ``∫ aᵀ ∂f/∂θ dt`` by each backward
  step's quadrature (``dt Σ b_i g_i``, outside the stage combinations). Memory does not
  grow with the steps; the gradient is that of the exact flow, to the solve's accuracy.
- The **discrete adjoint** of a fixed-step solve: the forward pass keeps each step's input
  state, the backward pass recomputes one step at a time and backpropagates through it. It
  is the gradient of the discrete scheme (backprop's, to round-off), with memory of one
  step's graph plus the step inputs.

At depth-cell breakpoints the backward solve keeps the one-sided rule of the forward one:
its intervals are the forward intervals, and a stage on an end takes the cell inside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch

from ._rk import _accumulate, _combination, _quadrature, _slopes, _stages, _step
from .adaptive import _solve
from .tableaus import ButcherTableau

__all__ = ["GRADIENTS"]

GRADIENTS = ("backprop", "checkpoint", "adjoint", "discrete")
"""The gradient modes of :func:`fem_nn.integrate` (:func:`fem_nn.integrate_adaptive` takes
"backprop" and "adjoint")."""


def _rms_max(parts) -> float:
    """The mixed norm of the stacked (state, adjoint) error: the larger RMS of the two."""
    return max(float(torch.linalg.vector_norm(p)) / max(p.numel(), 1) ** 0.5 for p in parts.unbind(0))


class _Problem:
    """What a solve needs to be redone forwards or its adjoint solved backwards: the field,
    the parameters it depends on, and the solver's plan (a fixed step grid with the output
    indices, or an adaptive scheme with its breakpoints)."""

    def __init__(self, f: Callable, pass_interval: bool, params, times: list, *, scheme: ButcherTableau | None = None,
                 grid=None, out_index=None, adaptive: Adaptive | None = None, breakpoints=(), seminorm: bool = True):
        self.f, self.pass_interval, self.params, self.times = f, pass_interval, tuple(params), times
        self.scheme, self.grid, self.out_index = scheme, grid, out_index
        self.adaptive, self.breakpoints, self.seminorm = adaptive, breakpoints, seminorm

    def field(self, t, h, interval):
        return self.f(t, h, interval) if self.pass_interval else self.f(t, h)

    def forward_outputs(self, h0, keep_steps: bool = False):
        """The states at the output times (and, with `keep_steps`, every step's input)."""
        if self.adaptive is not None:
            return _solve(self.field, h0, self.times, self.adaptive, self.breakpoints)[0], None
        wanted, outputs, inputs, h = set(self.out_index), [], [], h0
        if 0 in wanted:
            outputs.append(h0)
        for k in range(len(self.grid) - 1):
            if keep_steps:
                inputs.append(h)
            h = _step(self.f, self.grid[k], h, self.grid[k + 1] - self.grid[k], self.scheme, self.pass_interval)
            if k + 1 in wanted:
                outputs.append(h)
        return outputs, inputs

    def _adjoint_field(self):
        """The augmented field in reversed time s = −t on ``z = stack(h, a)``: ``dh/ds = −f``,
        ``da/ds = aᵀ ∂f/∂h``, with the parameters' integrand ``aᵀ ∂f/∂θ``."""
        params = self.params

        def field(s, z, interval):
            h, a = z.unbind(0)
            with torch.enable_grad():
                h = h.detach().requires_grad_(True)
                slope = self.field(-s, h, (-interval[1], -interval[0]))
                grads = torch.autograd.grad(slope, (h, *params), a, allow_unused=True, retain_graph=True)
            along = grads[0] if grads[0] is not None else torch.zeros_like(a)
            out = torch.stack([slope.detach(), along])
            out[0].neg_()
            return out, list(grads[1:])

        return field

    def continuous_adjoint(self, outputs: torch.Tensor, grads: torch.Tensor):
        """∂L/∂h0 and ∂L/∂θ from the outputs' gradients, segment by segment backwards: each
        segment restarts from the forward output there and adds that output's gradient."""
        field, totals = self._adjoint_field(), None
        a = grads[-1]
        for i in range(len(self.times) - 1, 0, -1):
            z = torch.stack([outputs[i], a])
            if self.adaptive is not None:
                norm = self.adaptive.norm if self.adaptive.norm != "rms" else _rms_max
                adaptive = replace(self.adaptive, norm=norm, first_step=None)
                states, increments, _ = _solve(field, z, [-self.times[i], -self.times[i - 1]], adaptive,
                                               [-b for b in self.breakpoints], quadrature_controlled=not self.seminorm)
                z = states[-1]
            else:
                grid = [-t for t in self.grid[self.out_index[i - 1]:self.out_index[i] + 1][::-1]]
                z, increments = _fixed_quadrature(field, z, grid, self.scheme)
            totals = _accumulate(totals, increments)
            a = z[1] + grads[i - 1]
        return a, totals if totals is not None else [None] * len(self.params)

    def discrete_adjoint(self, inputs: list, grads: torch.Tensor):
        """∂L/∂h0 and ∂L/∂θ by backpropagating through one recomputed step at a time."""
        at_index = dict(zip(self.out_index, grads.unbind(0)))
        a, totals = at_index.get(len(self.grid) - 1, torch.zeros_like(inputs[0])), None
        for k in range(len(self.grid) - 2, -1, -1):
            with torch.enable_grad():
                h = inputs[k].detach().requires_grad_(True)
                h_new = _step(self.f, self.grid[k], h, self.grid[k + 1] - self.grid[k], self.scheme, self.pass_interval)
                step_grads = torch.autograd.grad(h_new, (h, *self.params), a, allow_unused=True)
            totals = _accumulate(totals, step_grads[1:])
            a = step_grads[0] + at_index[k] if k in at_index else step_grads[0]
        return a, totals if totals is not None else [None] * len(self.params)


def _fixed_quadrature(field: Callable, z, grid: list, scheme: ButcherTableau):
    """Fixed steps over the exact `grid` (intervals ``(grid[k], grid[k+1])``) of a field with
    integrands: the final state and the integrals by the steps' quadrature."""
    totals = None
    for k in range(len(grid) - 1):
        dt = grid[k + 1] - grid[k]
        outputs = _stages(field, grid[k], z, dt, scheme, (grid[k], grid[k + 1]))
        z = _combination(z, dt, scheme._final_terms, _slopes(outputs))
        totals = _accumulate(totals, _quadrature(dt, scheme, outputs))
    return z, totals


class _ContinuousAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, problem: _Problem, h0: torch.Tensor, *params):
        outputs = torch.stack(problem.forward_outputs(h0)[0])
        ctx.problem = problem
        ctx.save_for_backward(outputs)
        return outputs

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grads):
        (outputs,) = ctx.saved_tensors
        grad_h0, grad_params = ctx.problem.continuous_adjoint(outputs, grads)
        return (None, grad_h0, *grad_params)


class _DiscreteAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, problem: _Problem, h0: torch.Tensor, *params):
        outputs, inputs = problem.forward_outputs(h0, keep_steps=True)
        ctx.problem, ctx.inputs = problem, inputs
        return torch.stack(outputs)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grads):
        grad_h0, grad_params = ctx.problem.discrete_adjoint(ctx.inputs, grads)
        return (None, grad_h0, *grad_params)


def _solve_with_adjoint(problem: _Problem, h0: torch.Tensor, discrete: bool) -> torch.Tensor:
    """The stacked outputs, differentiable by the continuous or the discrete adjoint."""
    function = _DiscreteAdjoint if discrete else _ContinuousAdjoint
    return function.apply(problem, h0, *problem.params)
