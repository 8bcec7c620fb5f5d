"""Numba kernels for the loops that BLAS does not do: sparse and banded one-axis operators
applied along an axis of a tensor, gathers of tensor-product bases at scattered points, and
the network's kernel tabulation and fused stage updates (:mod:`.network`)."""

from .tensor import banded_cholesky_solve, csr_mode_product, tensor_gather_evaluate

__all__ = ["banded_cholesky_solve", "csr_mode_product", "tensor_gather_evaluate"]
