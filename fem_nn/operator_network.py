"""A channel-lifted operator network: the Fourier neural operator as a continuum in width
and in depth.

A signal of n samples is read as n equal cells on the width [-1, 1] (their midpoints are the
Nyström nodes), lifted pointwise to C channels (with the coordinate ξ as one more input, as
the FNO's positional embedding), advanced in depth by an :class:`~fem_nn.odeblock.OdeBlock`
of the velocity

    R(h; θ(δ)) = σ( ∫ κ(ξ − ξ', δ) h(ξ') dξ' + P(δ) h(ξ) + b(δ) ),

a continuous convolution κ (a spectral or a local kernel field,
:mod:`fem_nn.convolution`) plus a pointwise channel map, every parameter a depth field, and
projected pointwise to the output channels. Nothing depends on n: the same fields answer at
any sample count (the kernel integrates; it does not index samples), and the depth fields
answer under any scheme and step count. With ``dim=2`` the signals are images on the box
[-1, 1]² (n_x × n_y equal cells, both coordinates as inputs) and the kernels their 2D fields
(:class:`~fem_nn.convolution.SpectralKernel2d`, :class:`~fem_nn.convolution.LocalKernel2d`).
"""

from __future__ import annotations

import copy
import functools

import torch

from . import _checks
from .convolution import LocalKernel, LocalKernel2d, SpectralKernel, SpectralKernel2d
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, Mesh, uniform_axis
from .odeblock import OdeBlock

__all__ = ["ChannelMap", "KernelUnit", "OperatorNetwork", "sample_cells"]


@functools.lru_cache(maxsize=16)
def sample_cells(n: int) -> Axis:
    """n equal P0 cells on the width: the midpoint nodes of an n-sample signal."""
    return uniform_axis(WIDTH_INTERVAL, n, "p0", 0)


class ChannelMap(torch.nn.Module):
    """``h ↦ W h + b`` per sample on signals ``(batch, C_in, n)`` or images ``(batch, C_in,
    n_x, n_y)``: a 1×1 convolution by one matmul (on the CPU several times faster than
    ``Conv1d``'s kernel at these sizes), with Conv1d's initialization.

    Examples
    --------
    >>> layer = ChannelMap(3, 2, dtype=torch.float64)
    >>> h = torch.randn(4, 3, 16, dtype=torch.float64)
    >>> bool(torch.allclose(layer(h), torch.nn.functional.conv1d(h, layer.weight[..., None], layer.bias)))
    True
    """

    def __init__(self, in_channels: int, out_channels: int, dtype: torch.dtype = torch.float32):
        super().__init__()
        conv = torch.nn.Conv1d(_checks.integer(in_channels, "in_channels", 1),
                               _checks.integer(out_channels, "out_channels", 1), 1, dtype=dtype)
        self.weight = torch.nn.Parameter(conv.weight.detach()[..., 0].clone())
        self.bias = torch.nn.Parameter(conv.bias.detach().clone())

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return (torch.matmul(self.weight, h.flatten(2)) + self.bias[:, None]).unflatten(2, h.shape[2:])


class KernelUnit(torch.nn.Module):
    """``R(h) = σ(κ ∗ h + P h + b)`` on signals ``(batch, C, n)`` read as n equal cells (or
    images ``(batch, C, n_x, n_y)``, n_x × n_y cells): a continuous convolution `kernel`
    (``kernel(h, width, ...)``, a width per signal axis) plus a pointwise channel map.

    Examples
    --------
    >>> unit = KernelUnit(SpectralKernel(3, 3, modes=4), 3)
    >>> tuple(unit(torch.zeros(2, 3, 16, dtype=torch.float64)).shape)
    (2, 3, 16)
    """

    def __init__(self, kernel: torch.nn.Module, channels: int, activation: str = "gelu"):
        super().__init__()
        channels = _checks.integer(channels, "channels", 1)
        dtype = next(kernel.parameters()).dtype
        self.kernel = kernel
        self.pointwise = ChannelMap(channels, channels, dtype)
        self.activation = getattr(torch.nn.functional, activation)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        widths = [sample_cells(n) for n in h.shape[2:]]
        return self.activation(self.kernel(h, *widths) + self.pointwise(h))


def _kernel(kind: str, dim: int, channels: int, modes: int, radius: float, dtype: torch.dtype) -> torch.nn.Module:
    if kind == "spectral":
        return (SpectralKernel if dim == 1 else SpectralKernel2d)(channels, channels, modes, dtype=dtype)
    if kind == "local":  # a P1 field over `modes` cells of [-r, r] (on each axis)
        axis = uniform_axis((-radius, radius), modes, "legendre", 1)
        if dim == 1:
            return LocalKernel(axis, channels, channels, boundary="periodic", dtype=dtype)
        return LocalKernel2d((axis, axis), channels, channels, boundary="periodic", dtype=dtype)
    raise ValueError(f"kernel must be 'spectral' or 'local', got {kind!r}")


class OperatorNetwork(torch.nn.Module):
    """Function-to-function maps of 1D signals (see the module's description).

    Parameters
    ----------
    in_channels, out_channels : int, default 1
        Signals ``(batch, samples)`` in and out where both are 1, else ``(batch, C, samples)``
        (with ``dim=2``: ``(batch, n_x, n_y)``, else ``(batch, C, n_x, n_y)``).
    channels : int, default 33
        C, the lifted channels.
    modes : int, default 9
        Fourier modes of a spectral kernel (k = 0 … modes − 1: an FNO's ``n_modes=(16,)``
        keeps 9); cells of a local kernel's field.
    kernel : {"spectral", "local"}, default "spectral"
    radius : float, default 0.25
        The support radius of a local kernel (periodic boundary; on each axis for ``dim=2``).
    dim : {1, 2}, default 1
        The signals' axes: functions on the periodic width [-1, 1) or on the box [-1, 1)².
    depth : Axis or int, default 1
        The depth axis of every field, or a number of continuous P1 cells.
    scheme : default "midpoint"
    steps : int, optional
        Default two per depth cell. The defaults are the recipe of ``fem-nn bench models``
        (docs/operators.rst): four unit evaluations per forward, as the FNO's four layers.
    projection_channels : int, default 64
        The hidden channels of the pointwise projection to the output.
    dtype : torch.dtype, default torch.float32
    seed : int, optional
        Seeds torch's generator before the parameters are drawn.

    Examples
    --------
    >>> net = OperatorNetwork(channels=4, modes=4, seed=0)
    >>> x = torch.rand(3, 32)
    >>> tuple(net(x).shape), tuple(net(torch.rand(3, 64)).shape)  # any sample count
    ((3, 32), (3, 64))
    >>> net.replaced(scheme="rk4", steps=8).block.steps
    8
    >>> images = OperatorNetwork(channels=4, modes=3, dim=2, seed=0)
    >>> tuple(images(torch.rand(3, 16, 12)).shape)
    (3, 16, 12)
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, channels: int = 33, modes: int = 9, *,
                 kernel: str = "spectral", radius: float = 0.25, dim: int = 1, depth: Axis | int = 1, scheme="midpoint",
                 steps: int | None = None, projection_channels: int = 64,
                 dtype: torch.dtype = torch.float32, seed: int | None = None):
        super().__init__()
        self.in_channels = _checks.integer(in_channels, "in_channels", 1)
        self.out_channels = _checks.integer(out_channels, "out_channels", 1)
        channels = _checks.integer(channels, "channels", 1)
        modes = _checks.integer(modes, "modes", 1)
        if dim not in (1, 2) or isinstance(dim, bool):
            raise ValueError(f"dim must be 1 or 2 (signals or images), got {dim!r}")
        self.dim = dim
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
        if seed is not None:
            torch.manual_seed(_checks.integer(seed, "seed", 0))
        if not isinstance(depth, Axis):
            depth = uniform_axis(DEPTH_INTERVAL, _checks.integer(depth, "depth", 1), "lagrange", 1)
        self.lift = ChannelMap(self.in_channels + dim, channels, dtype)
        steps = 2 * depth.n_cells if steps is None else steps
        self.block = OdeBlock.drawn(lambda: KernelUnit(_kernel(kernel, dim, channels, modes, radius, dtype), channels), depth,
                                    scheme=scheme, steps=steps)
        self.project = torch.nn.Sequential(
            ChannelMap(channels, projection_channels, dtype), torch.nn.GELU(),
            ChannelMap(projection_channels, self.out_channels, dtype),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The output signals at the input's samples."""
        signals = self.in_channels == 1 and isinstance(x, torch.Tensor) and x.ndim == self.dim + 1
        if signals:
            x = x[:, None]
        if not isinstance(x, torch.Tensor) or x.ndim != self.dim + 2 or x.shape[1] != self.in_channels:
            samples = "samples" if self.dim == 1 else "n_x, n_y"
            raise ValueError(f"x must be signals (batch, {self.in_channels}, {samples})"
                             f"{f' or (batch, {samples})' if self.in_channels == 1 else ''}, "
                             f"got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        x = x.to(self.lift.weight.dtype)
        # the cells' midpoints along each axis: the coordinates, as the FNO's positional embedding
        axes = [-1.0 + (2.0 * torch.arange(n, dtype=x.dtype, device=x.device) + 1.0) / n for n in x.shape[2:]]
        coordinates = torch.stack(torch.meshgrid(*axes, indexing="ij"))[None].expand(len(x), -1, *x.shape[2:])
        y = self.project(self.block(self.lift(torch.cat([x, coordinates], 1))))
        return y[:, 0] if signals and self.out_channels == 1 else y

    def replaced(self, depth: Axis | int | None = None, scheme=None, steps: int | None = None) -> "OperatorNetwork":
        """A new network whose depth fields are re-manifested by
        :meth:`~fem_nn.odeblock.OdeBlock.replaced`; lifting and projection copied."""
        network = copy.deepcopy(self)
        network.block = self.block.replaced(depth, scheme, steps)
        return network

    def parameter_meshes(self) -> dict[str, Mesh]:
        """The depth mesh of every field parameter, by the network's parameter name."""
        return {f"block.{name}": mesh for name, mesh in self.block.parameter_meshes().items()}
