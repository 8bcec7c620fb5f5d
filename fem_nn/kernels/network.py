"""Kernels of the Numba forward pass: kernel and bias tabulation by gathers of the local
width bases, and the fused Runge–Kutta stage combination (the matrix products stay in BLAS,
the activations in numpy's SIMD ufuncs: numba's scalar tanh is 4x slower than numpy's)."""

from __future__ import annotations

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


# The stage update runs serially: between BLAS calls, a second pool of spinning threads
# would fight OpenBLAS' own for the same cores (measured: 20x slower on 2 cores).
@njit(cache=True)
def combine(h, slopes, weights, out):  # pragma: no cover
    """``out = h + Σ_j weights[j] slopes[j]`` (the weights already hold the step size)."""
    batch, n = h.shape
    for b in range(batch):
        for q in range(n):
            value = h[b, q]
            for j in range(weights.shape[0]):
                if weights[j] != 0.0:
                    value += weights[j] * slopes[j, b, q]
            out[b, q] = value
    return out
