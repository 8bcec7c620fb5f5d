"""Forward evaluation of a continuum network on numpy arrays with Numba kernels: no torch at
call time. The kernels tabulate the Nyström kernel matrices and fuse the Runge–Kutta stage
combinations; the matrix products go to BLAS and the activations to numpy's ufuncs."""

from __future__ import annotations

import numpy as np
from scipy import special

from .kernels import network as kernels
from .activations import ACTIVATIONS, ScaledActivation
from .network import ContinuumNetwork, DepthLookup, RightHandSide, StageValues

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
        self.activation, self.scale = _activation(network.activation)
        self.rhs = network.rhs
        self.relaxation_rate = network.rate if network.rhs is RightHandSide.RELAXATION else 0.0
        self.tableau, self.steps = network.tableau, network.steps
        self.nodes = network.nodes
        self.read_in_cells = network._read_in_cells
        self.dtype = next(network.parameters()).detach().cpu().numpy().dtype

        def array(tensor):
            return np.ascontiguousarray(tensor.detach().cpu().numpy())

        xi, xi_dofs = array(network._xi_values), array(network._xi_dofs)
        eta = array(network._eta_values * network.node_weights[:, None])
        eta_dofs = array(network._eta_dofs)
        bias_values, bias_dofs = array(network._bias_values), array(network._bias_dofs)
        self.readout = None if network.output_mesh is None else array(network._readout)
        names = ("1", "2") if self.rhs is RightHandSide.TWO_LAYER else ("",)
        depth_weight, depth_bias = DepthLookup(network.weight_mesh.axes[2]), DepthLookup(network.bias_mesh.axes[1])
        self.kernels = [
            StageValues(kernels.tabulate_kernels(xi, xi_dofs, eta, eta_dofs, array(getattr(network, "weight" + n))), depth_weight)
            for n in names
        ]
        self.biases = [
            StageValues(kernels.tabulate_biases(bias_values, bias_dofs, array(getattr(network, "bias" + n))), depth_bias)
            for n in names
        ]

    def _pointwise(self, z: np.ndarray, bias: np.ndarray, h: np.ndarray, hidden: bool = False) -> np.ndarray:
        """In place: ``z ← scale·σ(z + bias)`` (relaxation: ``rate·(scale·σ(z + bias) − h)``)."""
        z += bias
        self.activation(z, out=z)
        if self.scale != 1.0:
            z *= self.scale
        if self.relaxation_rate and not hidden:
            z -= h
            z *= self.relaxation_rate
        return z

    def _slope(self, h: np.ndarray, t: float, interval) -> np.ndarray:
        z = h @ self.kernels[0](t, interval).T
        if self.rhs is not RightHandSide.TWO_LAYER:
            return self._pointwise(z, self.biases[0](t, interval), h)
        hidden = self._pointwise(z, self.biases[0](t, interval), h, hidden=True)
        out = hidden @ self.kernels[1](t, interval).T
        out += self.biases[1](t, interval)
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Outputs for a batch of input signals ``(batch, N_x)`` (as the torch network)."""
        x = np.asarray(x)
        if x.ndim != 2 or not np.all(np.isfinite(x)):
            raise ValueError(f"x must be a finite array of shape (batch, n_samples), got shape {x.shape}")
        h = np.ascontiguousarray(x[:, self.read_in_cells(x.shape[1]).numpy()], dtype=self.dtype)
        a, b, c, stages = self.tableau.a, self.tableau.b, self.tableau.c, self.tableau.stages
        slopes = np.empty((stages,) + h.shape, dtype=self.dtype)
        stage = np.empty_like(h)
        dt = 1.0 / self.steps
        for k in range(self.steps):
            interval = (k * dt, (k + 1) * dt)
            for i in range(stages):
                kernels.combine(h, slopes[:i], (dt * a[i, :i]).astype(self.dtype), stage)
                slopes[i] = self._slope(stage, interval[0] + c[i] * dt, interval)
            h = kernels.combine(h, slopes, (dt * b).astype(self.dtype), np.empty_like(h))
        return h if self.readout is None else h @ self.readout.T
