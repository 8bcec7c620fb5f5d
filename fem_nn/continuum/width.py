"""The width side of a network: the Nyström nodes of the integration axis η, the evaluation
of the width bases there, and the stage product ``b + ∫ W h`` in one of two forms.

The state h(ξ, δ) is kept at the width quadrature nodes ξ_q (Nyström), so that

    ∫ W(ξ_q, ξ', δ) h(ξ') dξ'  ≈  Σ_r w_r W(ξ_q, ξ_r, δ) h(ξ_r)

is one matrix product per Runge–Kutta stage, in one of two forms (:class:`KernelForm`): the
kernel matrices ``w_r W(ξ_q, ξ_r, ·)`` tabulated once per forward pass, one per depth dof, by
sum factorization; or, where the width has fewer dofs than nodes (continuous P1 on two Gauss
points per cell: half), the kernel applied in factored form ``Φ_ξ U(δ) Φ_ηᵀ diag(w)`` with no
tabulation at all.
"""

from __future__ import annotations

import enum
import warnings

import numpy as np
import torch

from ..mesh import Axis, Mesh

__all__ = ["KernelForm", "WidthBasis", "nystrom_nodes"]

# The cost of a sparse width product per batch column, in multiply-adds of a dense BLAS
# product: _SPARSE_COST per nonzero plus _SPARSE_CALL for the call (torch CPU, measured at
# batch 256: 23 µs at 128 nodes and 42 µs at 512 for continuous P1, where a dense product
# runs 86 multiply-adds per ns). Small bases are then applied as dense matrices, and the
# factored kernel form is taken from ~170 nodes on (continuous P1 on 2 Gauss points per cell:
# measured 1.3x slower than the dense form at 128 nodes, 1.8x faster at 512).
_SPARSE_COST, _SPARSE_CALL = 8, 5500


class KernelForm(enum.Enum):
    """How a stage applies the width kernel ``∫ W(ξ_q, ξ', δ) h(ξ') dξ'`` at the nodes.

    - ``DENSE``: ``K(δ) h``, K tabulated per depth dof once per pass (nodes² per dof).
    - ``FACTORED``: ``Φ_ξ (U(δ) (Φ_ηᵀ diag(w) h))``, two sparse products with the width
      bases around one with the coefficients (n_ξ × n_η); no tabulation.
    - ``AUTO``: the cheaper of the two for the meshes, by a count of multiply-adds.

    Both forms compute the same sums in another order: they agree to round-off.

    Examples
    --------
    >>> from fem_nn import ContinuumNetwork, bias_mesh, uniform_axis, weight_mesh
    >>> width, depth = uniform_axis((-1, 1), 256, "lagrange", 1), uniform_axis((0, 1), 2, "p0", 0)
    >>> ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth)).factored
    True
    """

    DENSE = "dense"
    FACTORED = "factored"
    AUTO = "auto"


def nystrom_nodes(axis: Axis) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The Nyström nodes and weights of `axis`' quadrature rule, and the ends ``(lower,
    upper)`` of the cell each belongs to.

    A Gauss–Lobatto rule puts a node on each side of every inner breakpoint, one per cell;
    any width axis (a basis, the read-in cells, the read-out space) reads each copy in the
    cell holding its own (:meth:`~fem_nn.Axis.locate_within` of the ends), so that the two
    copies take the two one-sided values of a discontinuous field.
    """
    nodes, weights = axis.quadrature_on_cells()
    spans = tuple(np.broadcast_to(b[:, None], nodes.shape).ravel() for b in (axis.breakpoints[:-1], axis.breakpoints[1:]))
    return nodes.ravel(), weights.ravel(), spans


def _sparse_matrix(values: torch.Tensor, dofs: torch.Tensor, n_dofs: int) -> torch.Tensor:
    """The evaluation matrix (points × dofs) of a gather form, as a sparse COO tensor."""
    rows = torch.arange(values.shape[0]).repeat_interleave(values.shape[1])
    used = values.reshape(-1) != 0
    indices = torch.stack([rows[used], dofs.reshape(-1)[used]])
    shape = (values.shape[0], n_dofs)
    return torch.sparse_coo_tensor(indices, values.reshape(-1)[used], shape, check_invariants=True).coalesce()


def _csr(matrix: torch.Tensor) -> torch.Tensor:
    """A COO matrix as CSR, without torch's notice that CSR support is in beta (an internal
    detail of the tabulation, of no concern to a user)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return matrix.to_sparse_csr()


class _SparseProduct(torch.autograd.Function):
    """``S @ M`` (plus a column `bias`, if not None) for a constant sparse S, whose backward
    pass multiplies by a precomputed Sᵀ: autograd's own backward transposes S on every call
    and is slow on strided gradients (30 ms against 1 ms for the 512-node tabulation).

    The COO buffers (which, unlike CSR tensors, can be deep-copied) are converted to CSR per
    call (~3 µs): the CSR product is 1.4–1.8× faster (0.16 → 0.09 ms for 128 nodes).
    """

    @staticmethod
    def forward(ctx, matrix: torch.Tensor, transpose: torch.Tensor, dense: torch.Tensor, bias) -> torch.Tensor:
        ctx.transpose = transpose
        if bias is None:
            return torch.sparse.mm(_csr(matrix), dense)
        # the bias enters as the product's initial value: no second pass over the result
        return torch.sparse.addmm(bias[:, None].expand(-1, dense.shape[1]), _csr(matrix), dense)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.contiguous()
        grad_bias = grad.sum(1) if ctx.needs_input_grad[3] else None
        return None, None, torch.sparse.mm(_csr(ctx.transpose), grad), grad_bias


def dense_integral(kernel: torch.Tensor, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``b + K h`` for a kernel matrix K, state columns `h` and a bias row `bias`."""
    return torch.addmm(bias[:, None], kernel, h)


class WidthBasis(torch.nn.Module):
    """The width bases of a weight mesh and a bias mesh at the Nyström nodes of η, as
    buffers that are not state (derived from the meshes: ``state_dict`` holds none).

    Parameters
    ----------
    weight_mesh, bias_mesh : Mesh
        The meshes of W(ξ, η, δ) and b(ξ, δ).
    kernel_form : KernelForm
    dtype : torch.dtype
    channels : int, default 1
        C: the kernels are (nodes · C)² matrices on state columns ``(nodes · C, batch)``
        (see :mod:`~fem_nn.continuum.channels`).

    Attributes
    ----------
    nodes : numpy.ndarray
        The Nyström nodes, cell by cell (a Gauss–Lobatto node on a breakpoint twice).
    spans : tuple of numpy.ndarray
        The ends ``(lower, upper)`` of each node's cell (:func:`nystrom_nodes`).
    node_axis : Axis
        The integration axis η, whose quadrature the nodes are.
    weights : numpy.ndarray
        The Nyström weights (float64).
    node_weights : torch.Tensor
        The Nyström weights in the network's dtype (a buffer).
    factored : bool
        Whether stages apply the kernel in factored form (see :class:`KernelForm`).
    channels : int
        C, as given.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> basis = WidthBasis(weight_mesh(), bias_mesh(), KernelForm.AUTO, torch.float64)
    >>> len(basis.nodes), basis.factored, tuple(basis.kernels(torch.ones(9, 9, 4, dtype=torch.float64)).shape)
    (16, False, (4, 16, 16))
    """

    def __init__(self, weight_mesh: Mesh, bias_mesh: Mesh, kernel_form: KernelForm, dtype: torch.dtype, channels: int = 1):
        super().__init__()
        self.channels = channels
        self.node_axis = weight_mesh.axes[1]
        self.nodes, self.weights, self.spans = nystrom_nodes(self.node_axis)
        nodes = self.nodes
        self.register_buffer("node_weights", torch.as_tensor(self.weights, dtype=dtype), persistent=False)
        axes = {"xi": weight_mesh.axes[0], "eta": weight_mesh.axes[1], "bias": bias_mesh.axes[0]}
        for name, axis in axes.items():
            cells, at = axis.locate_within(nodes, *self.spans)
            values, dofs = axis.tabulate(at, cells=cells)
            self.register_buffer(f"{name}_values", torch.as_tensor(values[0]).to(dtype), persistent=False)
            self.register_buffer(f"{name}_dofs", torch.as_tensor(dofs, dtype=torch.long), persistent=False)
        costs = {name: self._register_matrix(name, _sparse_matrix(*self.gather_form(name), axis.n_dofs))
                 for name, axis in axes.items()}
        n_xi, n_eta = weight_mesh.shape[:2]
        # per batch column of one channel: the width bases act on C columns, the kernels on C²
        self.factored = kernel_form is KernelForm.FACTORED or (
            kernel_form is KernelForm.AUTO and channels * n_xi * n_eta + costs["xi"] + costs["eta"] < channels * len(nodes) ** 2
        )

    def gather_form(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The values ``(nodes, per-cell dofs)`` and dof numbers of basis `name` at the nodes:
        "xi" (W's output width), "eta" (W's input width, times the Nyström weights: what
        the kernels take) or "bias"."""
        values = getattr(self, f"{name}_values")
        if name == "eta":
            values = values * self.node_weights[:, None]
        return values, getattr(self, f"{name}_dofs")

    def _register_matrix(self, name: str, matrix: torch.Tensor) -> int:
        """Registers the evaluation matrix (nodes × dofs, coalesced COO) of basis `name` and
        its transpose for :meth:`product`: dense where a dense product costs fewer
        multiply-adds than the sparse one (see :data:`_SPARSE_COST`; small meshes: the
        sparse kernels' overhead would dominate), else sparse. Returns the cost of one
        product per batch column."""
        dense_cost = matrix.shape[0] * matrix.shape[1]
        sparse_cost = _SPARSE_COST * matrix._nnz() + _SPARSE_CALL
        if dense_cost <= sparse_cost:
            matrix = matrix.to_dense()
            pair = (matrix, matrix.t().contiguous())
        else:
            pair = (matrix, matrix.t().coalesce())
        for suffix, value in zip(("", "_t"), pair):
            self.register_buffer(f"{name}_matrix{suffix}", value, persistent=False)
        return min(dense_cost, sparse_cost)

    def matrix(self, name: str, transpose: bool = False) -> torch.Tensor:
        """The evaluation matrix Φ (nodes × dofs) of basis `name` ("xi", "eta" with the
        Nyström weights, or "bias"), or Φᵀ; dense or sparse (COO) as the cost model chose."""
        return getattr(self, f"{name}_matrix_t" if transpose else f"{name}_matrix")

    def product(self, name: str, dense: torch.Tensor, bias=None, transpose: bool = False) -> torch.Tensor:
        """``Φ @ dense`` (``Φᵀ @ dense`` with `transpose`), plus a column `bias` if given."""
        matrix, matrix_t = self.matrix(name, transpose), self.matrix(name, not transpose)
        if matrix.layout == torch.strided:
            return matrix @ dense if bias is None else torch.addmm(bias[:, None], matrix, dense)
        return _SparseProduct.apply(matrix, matrix_t, dense, bias)

    def kernels(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``K[k, (q, c), (r, c')] = w_r Σ_ij φ_i(ξ_q) φ_j(ξ_r) U[i, j, k, c, c']`` for every
        depth dof k (no channel dimensions for one channel), as two mode products with the
        width evaluation matrices (sum factorization).

        The result is a view of one ((r, c'), k, (q, c)) array: each ``K[k].T`` is then a
        matrix with unit column stride that BLAS takes as it is, and no (k, q, r) copy of the
        whole tabulation is made (it cost as much as both products).
        """
        (n_xi, n_eta, n_depth), c = coefficients.shape[:3], self.channels
        along_xi = self.product("xi", coefficients.reshape(n_xi, -1))  # (q, j * k * c * c')
        n_nodes = along_xi.shape[0]
        along_xi = along_xi.reshape(n_nodes, n_eta, n_depth, c, c).permute(1, 4, 2, 0, 3).reshape(n_eta, -1)  # (j, c' * k * q * c)
        both = self.product("eta", along_xi)  # (r, c' * k * q * c)
        return both.reshape(-1, n_depth, n_nodes * c).permute(1, 2, 0)

    def biases(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``B[k, (q, c)] = Σ_i φ_i(ξ_q) U[i, k, c]`` for every depth dof k, each row contiguous."""
        along = self.product("bias", coefficients.reshape(coefficients.shape[0], -1))  # (q, k * c)
        n_depth = coefficients.shape[1]
        return along.reshape(along.shape[0], n_depth, -1).transpose(0, 1).reshape(n_depth, -1)

    def weight_table(self, coefficients: torch.Tensor, factored: bool) -> torch.Tensor:
        """A weight per depth dof as a stage takes it: the kernel matrices K (:meth:`kernels`),
        or with `factored` the coefficient matrices ``U[:, :, k]`` as ((i, c), (j, c'))
        matrices (each contiguous)."""
        if not factored:
            return self.kernels(coefficients)
        # stacking the depth slices copies 1.7x faster than a permuted .contiguous()
        (n_xi, n_eta, n_depth), c = coefficients.shape[:3], self.channels
        table = torch.stack(coefficients.unbind(2))  # (k, i, j, c, c')
        return table if c == 1 else table.transpose(2, 3).reshape(n_depth, n_xi * c, n_eta * c)

    def integral(self, kernel: torch.Tensor, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """``b + ∫ W h`` at the nodes for state columns `h` ``(nodes · C, batch)``, given a
        stage's weight (as :meth:`weight_table` gives it for :attr:`factored`) and bias."""
        if not self.factored:
            return dense_integral(kernel, h, bias)
        c, batch = self.channels, h.shape[1]
        # the bases act on (nodes, C · batch), the same memory as (nodes · C, batch)
        along_eta = self.product("eta", h.reshape(-1, c * batch), transpose=True).reshape(-1, batch)
        along_xi = (kernel @ along_eta).reshape(-1, c * batch)
        if c == 1:
            return self.product("xi", along_xi, bias)
        return self.product("xi", along_xi).reshape(-1, batch).add_(bias[:, None])

    def node_cells(self, axis: Axis) -> tuple[np.ndarray, np.ndarray]:
        """The cell of `axis` holding each node (in the node's own cell) and the node there."""
        return axis.locate_within(self.nodes, *self.spans)
