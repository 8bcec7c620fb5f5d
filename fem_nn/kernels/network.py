"""Kernels of the Numba forward pass: kernel and bias tabulation by gathers of the local
width bases, the combination of tabulated fields at a stage's depth, the sparse products of
the factored kernel form, and the fused Runge–Kutta stage update (the matrix products stay
in BLAS, the activations in numpy's SIMD ufuncs: numba's scalar tanh is 4x slower than
numpy's).

The per-pass kernels run serially: between BLAS calls, a second pool of spinning threads
would fight OpenBLAS' own for the same cores (measured: 20x slower on 2 cores), and their
arrays (one batch of states, one kernel matrix) are too small to gain from threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def tabulate_kernels(xi_values, xi_dofs, eta_values, eta_dofs, coefficients):  # pragma: no cover
    """``K[k, q, r] = Σ_ij xi_values[q, i] eta_values[r, j] U[xi_dofs[q, i], eta_dofs[r, j], k]``
    (the Nyström weights are folded into `eta_values` by the caller)."""
    n_nodes = xi_values.shape[0]
    n_depth = coefficients.shape[2]
    out = np.zeros((n_depth, n_nodes, n_nodes), dtype=coefficients.dtype)
    for q in prange(n_nodes):
        for i in range(xi_values.shape[1]):
            vi = xi_values[q, i]
            if vi == 0.0:
                continue
            plane = coefficients[xi_dofs[q, i]]
            for r in range(n_nodes):
                for j in range(eta_values.shape[1]):
                    v = vi * eta_values[r, j]
                    row = plane[eta_dofs[r, j]]
                    for k in range(n_depth):
                        out[k, q, r] += v * row[k]
    return out


@njit(cache=True)
def tabulate_biases(values, dofs, coefficients):  # pragma: no cover
    """``B[k, q] = Σ_i values[q, i] U[dofs[q, i], k]``."""
    n_nodes = values.shape[0]
    out = np.zeros((coefficients.shape[1], n_nodes), dtype=coefficients.dtype)
    for q in range(n_nodes):
        for i in range(values.shape[1]):
            for k in range(coefficients.shape[1]):
                out[k, q] += values[q, i] * coefficients[dofs[q, i], k]
    return out


@njit(cache=True)
def weighted_sum(table, dofs, weights, out):  # pragma: no cover
    """``out = Σ_j weights[j] table[dofs[j]]`` over flattened rows ``table[k]``, summed in
    the order of `dofs` (as the torch network combines its depth dofs)."""
    first = table[dofs[0]]
    w = weights[0]
    for p in range(out.shape[0]):
        out[p] = first[p] * w
    for j in range(1, dofs.shape[0]):
        row = table[dofs[j]]
        w = weights[j]
        for p in range(out.shape[0]):
            out[p] += w * row[p]
    return out


@njit(cache=True)
def add_column(z, bias):  # pragma: no cover
    """``z[q, :] += bias[q]`` in place, for state columns ``(nodes, batch)``."""
    for q in range(z.shape[0]):
        b = bias[q]
        for j in range(z.shape[1]):
            z[q, j] += b
    return z


@njit(cache=True)
def sparse_product(indptr, indices, data, x, bias, out):  # pragma: no cover
    """``out = bias[:, None] + S x`` for the CSR matrix S (indptr, indices, data): each row
    of `out` a sum of rows of `x`, the inner loop a plain SIMD loop over the batch."""
    for i in range(out.shape[0]):
        b = bias[i]
        for j in range(out.shape[1]):
            out[i, j] = b
        for k in range(indptr[i], indptr[i + 1]):
            v = data[k]
            row = x[indices[k]]
            for j in range(out.shape[1]):
                out[i, j] += v * row[j]
    return out


@njit(cache=True)
def stage_update(slope, h, inputs, h_next, targets, weights, first):  # pragma: no cover
    """Adds one stage's slope to every state that uses it: for each target ``t``,
    ``out = base + weights[t]·slope`` where ``out`` is ``inputs[targets[t]]``, or `h_next`
    for ``targets[t] < 0``, and ``base`` is `h` on its first contribution in the step
    (``first[t]``), else ``out`` itself.

    Each target gets its terms in stage order, as the torch network's chain of ``h + a·k``
    sums them; one pass per target keeps the inner loop a plain SIMD loop.
    """
    batch, n = slope.shape
    for t in range(targets.shape[0]):
        out = h_next if targets[t] < 0 else inputs[targets[t]]
        w = weights[t]
        if first[t]:
            for b in range(batch):
                for q in range(n):
                    out[b, q] = h[b, q] + w * slope[b, q]
        else:
            for b in range(batch):
                for q in range(n):
                    out[b, q] += w * slope[b, q]
    return h_next


@njit(cache=True)
def gelu(z, out):  # pragma: no cover
    """``out = z Φ(z)`` (the exact GELU, ``0.5 z (1 + erf(z / √2))``) elementwise, in one
    pass: numpy's chain of ufuncs around scipy's erf makes four temporaries and runs 3x
    slower."""
    values, results = z.reshape(-1), out.reshape(-1)
    for i in range(values.size):
        x = values[i]
        results[i] = 0.5 * x * (1.0 + math.erf(x * 0.7071067811865476))
    return out
