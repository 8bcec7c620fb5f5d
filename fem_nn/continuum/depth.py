"""The depth side of a stage: which depth dofs a stage time reads, memoized per stage, and a
field tabulated per depth dof combined at each stage's depth. Shared by the torch network, its
frozen form and the Numba backend."""

from __future__ import annotations

import numpy as np
import torch

from .._rk import axpy
from ..mesh import Axis

__all__ = ["depth_weights", "DepthLookup", "StageValues"]


def depth_weights(axis: Axis, t: float, interval) -> tuple[np.ndarray, np.ndarray]:
    """The depth dofs whose basis functions are non-zero at stage time `t` of the step
    `interval` and their values, in the cell :meth:`~fem_nn.Axis.locate_within` decides: a
    step inside one depth cell reads that cell at every stage (its one-sided values on the
    ends), whatever ulps its float ends and the breakpoints differ by."""
    cell, t = axis.locate_within([t], interval[0], interval[1])
    values, dofs = axis.tabulate(t, cells=cell)
    active = values[0, 0] != 0.0
    return dofs[0, active], values[0, 0, active]


class DepthLookup:
    """:func:`depth_weights` of one depth axis, memoized by stage: the same few stage times
    recur in every pass, and a lookup is much cheaper than locating and tabulating."""

    def __init__(self, axis: Axis):
        self.axis, self._memo = axis, {}

    def __call__(self, t: float, interval) -> tuple[tuple[int, float], ...]:
        """The ``(dof, value)`` pairs at stage time `t` as Python numbers, one tuple object
        per stage (so that a caller can recognize a stage by identity)."""
        key = (t, interval[0], interval[1])
        terms = self._memo.get(key)
        if terms is None:
            dofs, values = depth_weights(self.axis, t, interval)
            terms = self._memo[key] = tuple(zip(dofs.tolist(), values.tolist()))
        return terms


class StageValues:
    """A field tabulated per depth dof (``table[k]``), combined at each stage's depth.

    Stages of one step often share a time (rk4's two midpoint stages), so the last
    combination is kept within the step. It is forgotten at every step's first stage
    (c = 0 in an explicit scheme), so that a checkpointed step recomputes exactly what it
    computed the first time. A stage where one basis function is 1 (P0, the nodes of P1) is
    a view.
    """

    def __init__(self, table, lookup: DepthLookup):
        # views of table[k], a torch tensor or a numpy array; unbind's backward stacks the
        # gradients once, where indexing per stage would scatter into a zero table each time
        self.slices = table.unbind(0) if isinstance(table, torch.Tensor) else list(table)
        self.lookup = lookup
        self._terms, self._value, self._grad = None, None, torch.is_grad_enabled()

    def __call__(self, t: float, interval):
        # a value made without autograd (an adjoint's forward pass) must not serve one with
        if t == interval[0] or self._grad != torch.is_grad_enabled():
            self._terms = self._value = None
            self._grad = torch.is_grad_enabled()
        terms = self.lookup(t, interval)
        if len(terms) == 1 and terms[0][1] == 1.0:
            return self.slices[terms[0][0]]
        if terms is not self._terms:
            self._terms, self._value = terms, self._combination(terms)
        return self._value

    def _combination(self, terms):
        """``Σ value · table[dof]`` over a stage's ``(dof, value)`` terms, a new array."""
        (dof, weight), *rest = terms
        if len(rest) == 1 and weight + rest[0][1] == 1.0 and isinstance(self.slices[dof], torch.Tensor):
            # a partition of unity in one pass over memory, not two (P1 between its nodes)
            return torch.lerp(self.slices[dof], self.slices[rest[0][0]], rest[0][1])
        value = self.slices[dof] * weight
        for dof, weight in rest:
            value = axpy(value, weight, self.slices[dof], inplace=True)
        return value
