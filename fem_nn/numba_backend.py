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
from scipy import sparse, special

from .kernels import network as kernels
from .activations import ACTIVATIONS, ScaledActivation
from .continuum import ContinuumNetwork, DepthLookup
from .continuum.channels import lifted, projected

__all__ = ["NumbaNetwork"]

def _gelu(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.multiply(z, 0.5 * (1.0 + special.erf(z / np.sqrt(2.0))), out=out)


# in-place numpy ufuncs (SIMD) for the named activations
_UFUNCS = {
    ACTIVATIONS["identity"]: lambda z, out: z,
    ACTIVATIONS["tanh"]: np.tanh,
    ACTIVATIONS["relu"]: lambda z, out: np.maximum(z, 0.0, out=out),
    ACTIVATIONS["softplus"]: lambda z, out: np.logaddexp(z, 0.0, out=out),
    ACTIVATIONS["gelu"]: _gelu,
    ACTIVATIONS["sigmoid"]: special.expit,
    ACTIVATIONS["hardtanh"]: lambda z, out: np.clip(z, -1.0, 1.0, out=out),
}


def _activation(activation) -> tuple:
    """The in-place ufunc and the scale of a named (optionally scaled) activation."""
    scale = 1.0
    if isinstance(activation, ScaledActivation):
        activation, scale = activation.function, activation.scale
    if activation not in _UFUNCS:
        raise ValueError(
            "the numba backend supports the named activations "
            f"{sorted(ACTIVATIONS)} (optionally scaled), got {activation!r}"
        )
    return _UFUNCS[activation], scale


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


class _StageField:
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
        self._activation, self._scale = _activation(network.activation)
        self.rhs = network.rhs
        self._rate = network.rate
        self.tableau, self.steps = network.tableau, network.steps
        self.nodes, self.channels = network.nodes, network.channels
        self._read_in_operator, self._cells = network.read_in_operator, {}
        self.dtype = next(network.parameters()).detach().cpu().numpy().dtype

        def array(tensor):
            return np.ascontiguousarray(tensor.detach().cpu().numpy())

        # the stage times as the torch integrator takes them: steps between the points of
        # np.linspace, stage time t_k + c·dt
        grid = np.linspace(0.0, 1.0, self.steps + 1).tolist()
        intervals = [(grid[k], grid[k + 1]) for k in range(self.steps)]
        stage_times = [
            (start + c * (end - start), (start, end)) for start, end in intervals for c in self.tableau.c.tolist()
        ]

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
            self._fields.append(_StageField(table, depth_weight, stage_times))
            table = _bias_table(bias_values, bias_dofs, array(getattr(network, bias)), self.channels)
            self._fields.append(_StageField(table, depth_bias, stage_times))
        self._stages, self._n_inputs = self._plan_stages([end - start for start, end in intervals])

    def _plan_stages(self, step_sizes) -> tuple[list, int]:
        """The Runge–Kutta bookkeeping of every stage of a pass, and the number of stage
        input buffers.

        Stage m's input ``h + dt Σ_j a[m, j] k_j`` is built up in buffer m − 1 as the slopes
        come (none where ``a[m, :] = 0``: the input is h), the next state in a second state
        buffer; so each slope is used once, right after it is computed. Per stage: the
        buffer of its input (None: h), the targets of its slope (buffer index, −1 for the
        next state), their weights ``dt·a`` (``dt·b``) in the network's dtype, whether each
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
        inputs = np.empty((self._n_inputs,) + h.shape, dtype=self.dtype)
        h_next, slope = np.empty(h.shape, dtype=self.dtype), np.empty(h.shape, dtype=self.dtype)
        hidden = [np.empty(h.shape, dtype=self.dtype) for _ in range(self.rhs.hidden)]
        work = None
        if self.factored:
            work = [np.empty((n * self.channels, h.shape[1]), dtype=self.dtype) for n in self._width_dofs]
        integral, slope_of = self._integral(work), self.rhs.numpy_slope
        fields = [field.values() for field in self._fields]
        for (input_buffer, targets, weights, first, last), *values in zip(self._stages, *fields):
            layers = list(zip(values[::2], values[1::2]))
            slope_of(h if input_buffer is None else inputs[input_buffer], layers, integral, self._activate, self._rate, slope, hidden)
            kernels.stage_update(slope, h, inputs, h_next, targets, weights, first)
            if last:
                h, h_next = h_next, h
        if self._pointwise is not None:
            h = projected(h, self._pointwise[1])
        return h.T if self._readout is None else (self._readout @ h).T
