"""Kernels of the Numba forward pass: kernel and bias tabulation by gathers of the local
width bases, and fused pointwise stage updates (the matrix products stay in BLAS)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# activation codes (see fem_nn.numba_backend)
IDENTITY, TANH, RELU, SOFTPLUS, GELU, SIGMOID = range(6)


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


@njit(inline="always")
def _activate(z, code):  # pragma: no cover
    if code == TANH:
        return math.tanh(z)
    if code == RELU:
        return max(z, 0.0)
    if code == SOFTPLUS:
        return max(z, 0.0) + math.log1p(math.exp(-abs(z)))
    if code == GELU:
        return 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0)))
    if code == SIGMOID:
        return 1.0 / (1.0 + math.exp(-z))
    return z


# The pointwise kernels run serially: between BLAS calls, a second pool of spinning threads
# would fight OpenBLAS' own for the same cores (measured: 20x slower on 2 cores).
@njit(cache=True)
def slope(z, bias, h, code, scale, relaxation_rate):  # pragma: no cover
    """In place: ``z ← scale·σ(z + bias)``, or ``rate·(scale·σ(z + bias) − h)`` when
    `relaxation_rate` is positive."""
    batch, n = z.shape
    for b in range(batch):
        for q in range(n):
            value = scale * _activate(z[b, q] + bias[q], code)
            if relaxation_rate > 0.0:
                value = relaxation_rate * (value - h[b, q])
            z[b, q] = value
    return z


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
