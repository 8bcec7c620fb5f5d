"""What every Numba forward pass shares: the named activations as in-place numpy ufuncs,
fields tabulated per depth dof and read at each stage's depth (:class:`StageField`), and
the Runge–Kutta bookkeeping of a pass over depth [0, 1] (:class:`RungeKuttaPass`): the
stage times as the torch integrator takes them, every slope added to the states that use
it by one fused Numba kernel, on buffers allocated once per call."""

from __future__ import annotations

import numpy as np
from scipy import special

from .activations import ACTIVATIONS, ScaledActivation
from .continuum import DepthLookup
from .kernels import network as kernels

__all__ = ["activation_ufunc", "StageField", "RungeKuttaPass"]


# in-place numpy ufuncs (SIMD) for the named activations, a Numba loop for the GELU
_UFUNCS = {
    ACTIVATIONS["identity"]: lambda z, out: z,
    ACTIVATIONS["tanh"]: np.tanh,
    ACTIVATIONS["relu"]: lambda z, out: np.maximum(z, 0.0, out=out),
    ACTIVATIONS["softplus"]: lambda z, out: np.logaddexp(z, 0.0, out=out),
    ACTIVATIONS["gelu"]: kernels.gelu,
    ACTIVATIONS["sigmoid"]: special.expit,
    ACTIVATIONS["hardtanh"]: lambda z, out: np.clip(z, -1.0, 1.0, out=out),
}


def activation_ufunc(activation) -> tuple:
    """The in-place ufunc ``f(z, out=z)`` and the scale of a named (optionally scaled)
    activation, else a ValueError listing the names."""
    scale = 1.0
    if isinstance(activation, ScaledActivation):
        activation, scale = activation.function, activation.scale
    if activation not in _UFUNCS:
        raise ValueError(
            "the numba backend supports the named activations "
            f"{sorted(ACTIVATIONS)} (optionally scaled), got {activation!r}"
        )
    return _UFUNCS[activation], scale


class StageField:
    """A field tabulated per depth dof (``table[k]``) at the depth of every stage of a pass.

    The depth terms of each stage are looked up once, here. A stage where one basis function
    is 1 (P0, the nodes of P1) reads a row of the table; any other combines rows into a
    buffer, unless the buffer already holds the same combination (rk4's two midpoint stages,
    and a step's first stage after the previous step's last one).

    Parameters
    ----------
    table : numpy.ndarray
        ``(n_depth_dofs, ...)``, C-contiguous.
    lookup : DepthLookup
        The depth axis' ``(dof, value)`` pairs at a stage.
    stage_times : list of (float, tuple)
        Every stage's time and step interval, in pass order.
    """

    def __init__(self, table: np.ndarray, lookup: DepthLookup, stage_times):
        self.table = table
        self._rows = table.reshape(table.shape[0], -1)
        # per stage: a row of the table, a (dofs, weights) pair to combine into the buffer,
        # or None where the buffer holds this stage's value already
        self._sources, combined = [], None
        for t, interval in stage_times:
            terms = lookup(t, interval)
            if len(terms) == 1 and terms[0][1] == 1.0:
                self._sources.append(table[terms[0][0]])
            elif terms == combined:
                self._sources.append(None)
            else:
                dofs, weights = zip(*terms)
                dofs, weights = np.array(dofs, dtype=np.int64), np.array(weights, dtype=table.dtype)
                self._sources.append((dofs, weights))
                combined = terms

    def values(self):
        """Yields the field at each stage of one pass, in order (a buffer's contents change
        as the pass goes on: use each value before asking for the next)."""
        buffer = np.empty(self.table.shape[1:], dtype=self.table.dtype)
        flat = buffer.reshape(-1)
        for source in self._sources:
            if isinstance(source, tuple):
                kernels.weighted_sum(self._rows, source[0], source[1], flat)
                yield buffer
            else:
                yield buffer if source is None else source


class RungeKuttaPass:
    """The stages of `steps` equal steps of `tableau` over [0, 1], planned once.

    Parameters
    ----------
    tableau : ButcherTableau
    steps : int
    dtype : numpy.dtype
        Of the states (the stage weights are cast to it).

    Attributes
    ----------
    stage_times : list of (float, tuple)
        Every stage's time and step interval, in pass order: the steps between the points of
        ``np.linspace(0, 1, steps + 1)``, stage time ``t_k + c·dt``, as the torch integrator
        takes them.
    """

    def __init__(self, tableau, steps: int, dtype):
        self.tableau, self.dtype = tableau, dtype
        grid = np.linspace(0.0, 1.0, steps + 1).tolist()
        intervals = [(grid[k], grid[k + 1]) for k in range(steps)]
        self.stage_times = [
            (start + c * (end - start), (start, end)) for start, end in intervals for c in tableau.c.tolist()
        ]
        self._stages, self._n_inputs = self._planned([end - start for start, end in intervals])

    def _planned(self, step_sizes) -> tuple[list, int]:
        """The bookkeeping of every stage of a pass, and the number of stage input buffers.

        Stage m's input ``h + dt Σ_j a[m, j] k_j`` is built up in buffer m − 1 as the slopes
        come (none where ``a[m, :] = 0``: the input is h), the next state in a second state
        buffer; so each slope is used once, right after it is computed. Per stage: the
        buffer of its input (None: h), the targets of its slope (buffer index, −1 for the
        next state), their weights ``dt·a`` (``dt·b``) in the states' dtype, whether each
        is the target's first term in the step, and whether the stage ends the step.
        """
        a, b, s = self.tableau.a, self.tableau.b, self.tableau.stages
        first_term = [int(np.flatnonzero(a[m])[0]) if np.any(a[m]) else None for m in range(s)]
        first_final = int(np.flatnonzero(b)[0])
        structure = []
        for i in range(s):
            uses = [(m - 1, a[m, i], i == first_term[m]) for m in range(i + 1, s) if a[m, i] != 0.0]
            if b[i] != 0.0:
                uses.append((-1, b[i], i == first_final))
            targets = np.array([target for target, _, _ in uses], dtype=np.int64)
            coefficients = np.array([coefficient for _, coefficient, _ in uses], dtype=np.float64)
            first = np.array([is_first for _, _, is_first in uses], dtype=np.bool_)
            input_buffer = None if first_term[i] is None else i - 1
            structure.append((input_buffer, targets, coefficients, first, i == s - 1))
        stages = [
            (input_buffer, targets, (dt * coefficients).astype(self.dtype), first, last)
            for dt in step_sizes
            for input_buffer, targets, coefficients, first, last in structure
        ]
        return stages, s - 1

    def integrate(self, h: np.ndarray, fields, slope) -> np.ndarray:
        """The state at depth 1 from the state `h` (2D, C-contiguous; its buffer is reused)
        at depth 0.

        ``slope(state, values, out)`` writes into `out` the slope at a stage's input
        `state`, given `values`, the stage's value of each of `fields` (:class:`StageField`,
        planned on :attr:`stage_times`)."""
        inputs = np.empty((self._n_inputs,) + h.shape, dtype=self.dtype)
        h_next, k = np.empty(h.shape, dtype=self.dtype), np.empty(h.shape, dtype=self.dtype)
        for (input_buffer, targets, weights, first, last), *values in zip(self._stages, *(f.values() for f in fields)):
            slope(h if input_buffer is None else inputs[input_buffer], values, k)
            kernels.stage_update(k, h, inputs, h_next, targets, weights, first)
            if last:
                h, h_next = h_next, h
        return h
