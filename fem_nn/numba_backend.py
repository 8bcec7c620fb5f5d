"""Forward evaluation of a continuum network on numpy arrays with Numba kernels: no torch at
call time. The kernel matrices (or, in the factored form, the coefficient matrices) are
tabulated once per snapshot, and the whole pass is planned then (every stage's depth terms
and Runge–Kutta weights); per stage and layer a call runs one BLAS product (the factored
form: between two Numba sparse products with the width bases), a Numba bias add, numpy's
in-place SIMD ufunc for the activation, and one fused Numba kernel for the stage
combinations, on buffers allocated once per call. The state is kept as columns
``(nodes, batch)``, as in the torch network."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .kernels import network as kernels
from .continuum import ContinuumNetwork, DepthLookup
from .continuum.channels import lifted, projected
from .numba_pass import RungeKuttaPass, StageField, activation_ufunc

__all__ = ["NumbaNetwork"]

def _csr_arrays(matrix, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A torch matrix (dense or sparse) as the CSR arrays (indptr, indices, data) of the
    Numba kernels."""
    csr = sparse.csr_matrix(matrix.to_dense().cpu().numpy())
    return csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data.astype(dtype)


def _kernel_table(xi, xi_dofs, eta, eta_dofs, coefficients: np.ndarray, channels: int) -> np.ndarray:
    """The kernel matrices ``(n_depth, nodes · C, nodes · C)`` (channels node-major, as the
    torch network's state), one Numba tabulation per channel pair."""
    if channels == 1:
        return kernels.tabulate_kernels(xi, xi_dofs, eta, eta_dofs, coefficients)
    n_depth, n_nodes = coefficients.shape[2], xi.shape[0]
    table = np.empty((n_depth, n_nodes, channels, n_nodes, channels), dtype=coefficients.dtype)
    for c, d in np.ndindex(channels, channels):
        pair = np.ascontiguousarray(coefficients[..., c, d])
        table[:, :, c, :, d] = kernels.tabulate_kernels(xi, xi_dofs, eta, eta_dofs, pair)
    return table.reshape(n_depth, n_nodes * channels, n_nodes * channels)


def _bias_table(values, dofs, coefficients: np.ndarray, channels: int) -> np.ndarray:
    """The biases ``(n_depth, nodes · C)``, one Numba tabulation per channel."""
    if channels == 1:
        return kernels.tabulate_biases(values, dofs, coefficients)
    table = np.stack([kernels.tabulate_biases(values, dofs, np.ascontiguousarray(coefficients[..., c]))
                      for c in range(channels)], axis=-1)
    return table.reshape(table.shape[0], -1)


class NumbaNetwork:
    """A snapshot of a :class:`~fem_nn.ContinuumNetwork` evaluated with Numba kernels.

    Parameters
    ----------
    network : ContinuumNetwork
        Its coefficients are copied; later training of `network` does not change this one.

    Examples
    --------
    >>> import torch
    >>> from fem_nn import weight_mesh, bias_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> x = np.random.default_rng(0).standard_normal((3, 8))
    >>> bool(np.allclose(NumbaNetwork(net)(x), net(torch.as_tensor(x)).detach().numpy(), rtol=1e-12))
    True
    """

    def __init__(self, network: ContinuumNetwork):
        if not isinstance(network, ContinuumNetwork):
            raise TypeError(f"network must be a ContinuumNetwork, got {type(network).__name__}")
        self._activation, self._scale = activation_ufunc(network.activation)
        self.rhs = network.rhs
        self._rate = network.rate
        self.tableau, self.steps = network.tableau, network.steps
        self.nodes, self.channels = network.nodes, network.channels
        self._read_in_operator, self._cells = network.read_in_operator, {}
        self.dtype = next(network.parameters()).detach().cpu().numpy().dtype

        def array(tensor):
            return np.array(tensor.detach().cpu().numpy(), order="C")  # a copy: the snapshot stays

        self._pass = RungeKuttaPass(self.tableau, self.steps, self.dtype)

        basis = network.basis
        (xi, xi_dofs), (eta, eta_dofs), (bias_values, bias_dofs) = (
            [array(t) for t in basis.gather_form(name)] for name in ("xi", "eta", "bias")
        )
        self._readout = None if network.readout is None else array(network.readout)
        self._pointwise = (array(network.lifting), array(network.projection)) if self.channels > 1 else None
        self.factored = basis.factored
        if self.factored:  # the width bases as CSR (indptr, indices, data): Φ_ηᵀ diag(w) and Φ_ξ
            self._bases = [_csr_arrays(m, self.dtype) for m in (basis.matrix("eta", transpose=True), basis.matrix("xi"))]
            self._zero_bias = np.zeros(max(network.weight_mesh.shape[1], len(self.nodes)), dtype=self.dtype)
            self._width_dofs = network.weight_mesh.shape[1::-1]  # along η first, then ξ
        depth_weight, depth_bias = DepthLookup(network.weight_mesh.axes[2]), DepthLookup(network.bias_mesh.axes[1])
        self._fields = []  # kernel and bias of each layer
        for weight, bias in self.rhs.layers:
            coefficients = array(getattr(network, weight))
            if self.factored:  # per depth dof a ((i, c), (j, c')) matrix
                n_xi, n_eta, n_depth = coefficients.shape[:3]
                table = coefficients.reshape(n_xi, n_eta, n_depth, self.channels, self.channels)
                table = np.ascontiguousarray(table.transpose(2, 0, 3, 1, 4)).reshape(n_depth, n_xi * self.channels, -1)
            else:
                table = _kernel_table(xi, xi_dofs, eta, eta_dofs, coefficients, self.channels)
            self._fields.append(StageField(table, depth_weight, self._pass.stage_times))
            table = _bias_table(bias_values, bias_dofs, array(getattr(network, bias)), self.channels)
            self._fields.append(StageField(table, depth_bias, self._pass.stage_times))

    def _activate(self, z: np.ndarray) -> np.ndarray:
        """In place: ``z ← scale·σ(z)``."""
        self._activation(z, out=z)
        if self._scale != 1.0:
            z *= self._scale
        return z

    def _integral(self, work):
        """``integral(kernel, h, bias, out)``: ``bias + ∫ W h`` at the nodes into `out`, for
        state columns `h` and a stage's kernel (or coefficient) matrix; `work` holds the
        factored form's two intermediates."""
        if not self.factored:
            return lambda kernel, h, bias, out: kernels.add_column(np.matmul(kernel, h, out=out), bias)
        (eta, xi), (along_eta, along_xi), c = self._bases, work, self.channels

        def integral(kernel, h, bias, out):
            # the bases act on (nodes, C · batch), the same memory as (nodes · C, batch)
            batch = h.shape[1]
            kernels.sparse_product(*eta, h.reshape(-1, c * batch), self._zero_bias, along_eta.reshape(-1, c * batch))
            np.matmul(kernel, along_eta, out=along_xi)
            if c == 1:
                return kernels.sparse_product(*xi, along_xi, bias, out)
            kernels.sparse_product(*xi, along_xi.reshape(-1, c * batch), self._zero_bias, out.reshape(-1, c * batch))
            return kernels.add_column(out, bias)

        return integral

    def _read_in(self, x: np.ndarray) -> np.ndarray:
        """The state columns at the width nodes, read as the torch network reads them: the
        input cell that holds each node, or the projection's matrix."""
        operator = self._cells.get(x.shape[1])
        if operator is None:
            operator = self._cells[x.shape[1]] = self._read_in_operator(x.shape[1], False).numpy()
        if operator.dtype.kind == "i":
            return np.ascontiguousarray(np.take(x, operator, axis=1).T, dtype=self.dtype)
        return np.ascontiguousarray(operator.astype(self.dtype) @ x.T.astype(self.dtype))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Outputs for a batch of input signals ``(batch, N_x)`` (as the torch network)."""
        x = np.asarray(x)
        # NaN propagates through min and max: two numbers to check instead of a full mask
        if x.ndim != 2 or x.shape[1] < 1 or (x.size and not np.isfinite([x.min(), x.max()]).all()):
            raise ValueError(f"x must be a finite array of shape (batch, n_samples), got shape {x.shape}")
        h = self._read_in(x)
        if self._pointwise is not None:
            h = np.ascontiguousarray(lifted(h, self._pointwise[0]))
        hidden = [np.empty(h.shape, dtype=self.dtype) for _ in range(self.rhs.hidden)]
        work = None
        if self.factored:
            work = [np.empty((n * self.channels, h.shape[1]), dtype=self.dtype) for n in self._width_dofs]
        integral, slope_of = self._integral(work), self.rhs.numpy_slope

        def slope(state, values, out):
            layers = list(zip(values[::2], values[1::2]))
            slope_of(state, layers, integral, self._activate, self._rate, out, hidden)

        h = self._pass.integrate(h, self._fields, slope)
        if self._pointwise is not None:
            h = projected(h, self._pointwise[1])
        return h.T if self._readout is None else (self._readout @ h).T
