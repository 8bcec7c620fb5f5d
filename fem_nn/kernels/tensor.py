"""Kernels on tensors viewed as (before, n, after): the one-axis operator acts on the middle
index, and the loops run over the other two, the contiguous `after` index innermost."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Columns of `after` handled by one parallel task: long enough for the inner loop to
# vectorize, short enough that the axis-0 case (before == 1) still splits across cores.
_BLOCK = 64


@njit(parallel=True, cache=True)
def csr_mode_product(indptr, indices, data, u, n_rows):  # pragma: no cover - compiled
    """``out[a, i, b] = sum_j A[i, j] u[a, j, b]`` for a CSR matrix A with `n_rows` rows."""
    before, _, after = u.shape
    out = np.empty((before, n_rows, after), dtype=u.dtype)
    for task in prange(before * n_rows):
        a = task // n_rows
        i = task % n_rows
        row = out[a, i]
        row[:] = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            v = data[k]
            src = u[a, indices[k]]
            for b in range(after):
                row[b] += v * src[b]
    return out


@njit(parallel=True, cache=True)
def banded_cholesky_solve(lower, rhs):  # pragma: no cover - compiled
    """Solve ``L L^T x = rhs`` along the middle index of `rhs`, in place.

    `lower` is the Cholesky factor in LAPACK lower band storage:
    ``lower[d, j] = L[j + d, j]`` (as returned by ``scipy.linalg.cholesky_banded(...,
    lower=True)``).
    """
    before, n, after = rhs.shape
    bandwidth = lower.shape[0] - 1
    blocks = (after + _BLOCK - 1) // _BLOCK
    for task in prange(before * blocks):
        a = task // blocks
        b0 = (task % blocks) * _BLOCK
        b1 = min(b0 + _BLOCK, after)
        x = rhs[a]
        for i in range(n):  # forward: L y = rhs
            for j in range(max(0, i - bandwidth), i):
                l_ij = lower[i - j, j]
                for b in range(b0, b1):
                    x[i, b] -= l_ij * x[j, b]
            inv = 1.0 / lower[0, i]
            for b in range(b0, b1):
                x[i, b] *= inv
        for i in range(n - 1, -1, -1):  # backward: L^T x = y
            for j in range(i + 1, min(n, i + bandwidth + 1)):
                l_ji = lower[j - i, i]
                for b in range(b0, b1):
                    x[i, b] -= l_ji * x[j, b]
            inv = 1.0 / lower[0, i]
            for b in range(b0, b1):
                x[i, b] *= inv
    return rhs


@njit(parallel=True, cache=True)
def tensor_gather_evaluate(v0, d0, v1, d1, v2, d2, coefficients):  # pragma: no cover - compiled
    """``out[p] = sum_ijk v0[p,i] v1[p,j] v2[p,k] U[d0[p,i], d1[p,j], d2[p,k]]``.

    The tabulated local bases `v*` and their dof numbers `d*` have one row per point; a mesh
    of fewer than three axes passes a trivial axis (value 1 at dof 0).
    """
    n = v0.shape[0]
    out = np.empty(n)
    for p in prange(n):
        total = 0.0
        for i in range(v0.shape[1]):
            for j in range(v1.shape[1]):
                vij = v0[p, i] * v1[p, j]
                if vij == 0.0:
                    continue
                plane = coefficients[d0[p, i], d1[p, j]]
                for k in range(v2.shape[1]):
                    total += vij * v2[p, k] * plane[d2[p, k]]
        out[p] = total
    return out
