"""One-axis linear operators applied along the axes of a coefficient tensor.

A Kronecker-structured operator ``A_0 ⊗ A_1 ⊗ A_2`` is never formed: each factor acts on
its own axis of the tensor (sum factorization), so applying it costs O(N · nnz-per-row).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, sparse

from .kernels import banded_cholesky_solve, csr_mode_product

__all__ = ["apply_along", "apply_kronecker", "BandedCholesky"]


def _as_three(u: np.ndarray, axis: int) -> np.ndarray:
    shape = u.shape
    return np.ascontiguousarray(u, dtype=np.float64).reshape(
        int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1 :]))
    )


def apply_along(matrix: sparse.spmatrix, u: np.ndarray, axis: int) -> np.ndarray:
    """``matrix`` applied to every fibre of `u` along `axis` (the mode-`axis` product)."""
    matrix = sparse.csr_matrix(matrix)
    out = csr_mode_product(
        matrix.indptr, matrix.indices, matrix.data.astype(np.float64), _as_three(u, axis), matrix.shape[0]
    )
    return out.reshape(u.shape[:axis] + (matrix.shape[0],) + u.shape[axis + 1 :])


def apply_kronecker(matrices, u: np.ndarray) -> np.ndarray:
    """``(A_0 ⊗ … ⊗ A_{d-1}) u`` for the last d axes of `u`; a None factor is the identity."""
    first = u.ndim - len(matrices)
    for k, matrix in enumerate(matrices):
        if matrix is not None:
            u = apply_along(matrix, u, first + k)
    return u


class BandedCholesky:
    """Cholesky factor of a sparse symmetric positive-definite banded matrix, solving along
    one axis of a tensor (mass matrices of 1D meshes are banded: block diagonal for the
    discontinuous families, overlapping blocks for the continuous one).

    Parameters
    ----------
    matrix : scipy.sparse matrix, shape (n, n)
    """

    def __init__(self, matrix: sparse.spmatrix):
        coo = sparse.coo_matrix(matrix)
        lower = coo.row >= coo.col
        rows, cols, vals = coo.row[lower], coo.col[lower], coo.data[lower]
        self.bandwidth = int((rows - cols).max(initial=0))
        band = np.zeros((self.bandwidth + 1, matrix.shape[0]))
        np.add.at(band, (rows - cols, cols), vals)
        self.factor = linalg.cholesky_banded(band, lower=True)
        self.n = matrix.shape[0]

    def solve_along(self, rhs: np.ndarray, axis: int) -> np.ndarray:
        """Solve with the matrix on every fibre of `rhs` along `axis` (a new array)."""
        out = np.array(rhs, dtype=np.float64, order="C", copy=True)
        banded_cholesky_solve(self.factor, _as_three(out, axis))
        return out
