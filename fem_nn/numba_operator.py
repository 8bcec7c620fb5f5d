"""Forward evaluation of an :class:`~fem_nn.operator_network.OperatorNetwork` on numpy
arrays with Numba kernels: no torch at call time.

The snapshot copies the depth fields of the block and plans the Runge–Kutta pass once
(:class:`~fem_nn.numba_pass.RungeKuttaPass`: the stage's depth terms, the fused stage
updates); per sample count it tabulates the kernel's geometry once. Per stage a call reads
every field at the stage's depth (:class:`~fem_nn.numba_pass.StageField`), applies the
kernel by its numpy twin (a local kernel: one Numba correlation over cells; a spectral one:
numpy's FFT), the pointwise channel map by one BLAS product, and the activation by numpy's
in-place ufunc. The lifting and the projection are BLAS products.
"""

from __future__ import annotations

import numpy as np

from .continuum import DepthLookup
from .numba_pass import RungeKuttaPass, StageField, activation_ufunc
from .activations import ACTIVATIONS
from .operator_network import OperatorNetwork, sample_cells

__all__ = ["NumbaOperatorNetwork"]


class NumbaOperatorNetwork:
    """A snapshot of an :class:`~fem_nn.operator_network.OperatorNetwork` evaluated with
    Numba kernels, at any sample count (as the torch network).

    Parameters
    ----------
    network : OperatorNetwork
        Its parameters are copied; later training of `network` does not change this one.

    Examples
    --------
    >>> import torch
    >>> net = OperatorNetwork(channels=4, modes=3, kernel="local", dtype=torch.float64, seed=0)
    >>> x = np.random.default_rng(0).standard_normal((2, 32))
    >>> with torch.no_grad():
    ...     expected = net(torch.as_tensor(x)).numpy()
    >>> bool(np.allclose(NumbaOperatorNetwork(net)(x), expected, rtol=0, atol=1e-12))
    True
    """

    def __init__(self, network: OperatorNetwork):
        if not isinstance(network, OperatorNetwork):
            raise TypeError(f"network must be an OperatorNetwork, got {type(network).__name__}")
        if network.dim != 1:
            raise ValueError(f"the numba backend evaluates signals (dim 1), got an OperatorNetwork of dim {network.dim}")
        block, unit = network.block, network.block.unit_at(0)
        self.in_channels, self.out_channels = network.in_channels, network.out_channels
        self.dtype = network.lift.weight.detach().numpy().dtype

        def array(tensor):
            return np.array(tensor.detach().cpu().numpy(), order="C")  # a copy: the snapshot stays

        name = getattr(unit.activation, "__name__", None)
        if name not in ACTIVATIONS:
            raise ValueError(f"the numba backend supports the named activations {sorted(ACTIVATIONS)}, "
                             f"got the unit's {unit.activation!r}")
        self._activation = activation_ufunc(ACTIVATIONS[name])[0]
        self._gelu = activation_ufunc(ACTIVATIONS["gelu"])[0]
        self._kernel, self._rate, self._plans = unit.kernel, block.rate, {}
        self._lift = (array(network.lift.weight), array(network.lift.bias))
        first, _, last = network.project
        self._project = [(array(layer.weight), array(layer.bias)) for layer in (first, last)]
        self._pass = RungeKuttaPass(block.tableau, block.steps, self.dtype)
        lookup = DepthLookup(block.depth)
        # the kernel's coefficients, the pointwise weight and bias, as the unit names them
        self._fields = [StageField(array(getattr(block, block.names[name])), lookup, self._pass.stage_times)
                        for name in ("kernel.coefficients", "pointwise.weight", "pointwise.bias")]

    def _plan(self, n: int):
        plan = self._plans.get(n)
        if plan is None:
            plan = self._plans[n] = self._kernel.numpy_plan(sample_cells(n))
        return plan

    @staticmethod
    def _channel_map(weight, bias, h):
        z = np.matmul(weight, h)
        z += bias[:, None]
        return z

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The output signals at the input's samples: ``(batch, samples)`` in and out where
        both channel counts are 1, else ``(batch, C, samples)``."""
        x = np.asarray(x)
        signals = self.in_channels == 1 and x.ndim == 2
        if signals:
            x = x[:, None]
        if x.ndim != 3 or x.shape[1] != self.in_channels or x.shape[2] < 1 or not np.isfinite(x).all():
            raise ValueError(f"x must be finite signals (batch, {self.in_channels}, samples)"
                             f"{' or (batch, samples)' if self.in_channels == 1 else ''}, got shape {x.shape}")
        batch, n = x.shape[0], x.shape[2]
        xi = np.broadcast_to(-1.0 + (2.0 * np.arange(n, dtype=self.dtype) + 1.0) / n, (batch, 1, n))
        h = self._channel_map(*self._lift, np.concatenate([x.astype(self.dtype), xi], 1))
        shape, plan = h.shape, self._plan(n)

        def slope(state, values, out):
            coefficients, weight, bias = values
            state = state.reshape(shape)
            z = self._kernel.numpy_apply(coefficients, state, plan)
            z += self._channel_map(weight, bias, state)
            self._activation(z, out=z)
            if self._rate != 1.0:
                z *= self._rate
            out.reshape(shape)[...] = z

        h = self._pass.integrate(h.reshape(batch, -1), self._fields, slope).reshape(shape)
        hidden = self._channel_map(*self._project[0], h)
        y = self._channel_map(*self._project[1], self._gelu(hidden, out=hidden))
        return y[:, 0] if signals and self.out_channels == 1 else y
