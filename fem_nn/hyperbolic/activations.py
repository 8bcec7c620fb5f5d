"""Stream activations of the hyperbolic ConvNet, each with the channel group it commutes
with: σ(T x) = T σ(x) for every T of :attr:`StreamActivation.group`.

hardball and softball (Liu, Shao, Bai) act on the vector of channels at each pixel and see
only its Euclidean norm, so they commute with O(n); elementwise activations commute only with
(signed, or positively scaled) permutations. The modules are plain ``torch.nn.Module``\\ s,
usable anywhere in fem_nn (``channel_dim`` picks the channel axis).
"""

from __future__ import annotations

import math

import torch

from .. import _checks
from .groups import ChannelGroup, channel_group

__all__ = ["StreamActivation", "Identity", "Relu", "Hardtanh", "Hardball", "Softball", "STREAM_ACTIVATIONS",
           "stream_activation"]


class StreamActivation(torch.nn.Module):
    """An activation with the channel group it commutes with (:attr:`group`)."""

    name = ""
    group_name = "permutation"

    def __init__(self, channel_dim: int = 1):
        super().__init__()
        self.channel_dim = _checks.integer(channel_dim, "channel_dim")

    @property
    def group(self) -> ChannelGroup:
        """The channel group σ commutes with."""
        return channel_group(self.group_name)

    def extra_repr(self) -> str:
        return f"group={self.group_name}"


class Identity(StreamActivation):
    """No activation: commutes with all of GL(n)."""

    name, group_name = "identity", "general_linear"

    def forward(self, x):
        return x


class Relu(StreamActivation):
    """relu: positively homogeneous, so it commutes with permutations times positive scalings."""

    name, group_name = "relu", "positive_monomial"

    def forward(self, x):
        return torch.relu(x)


class Hardtanh(StreamActivation):
    """Clipping to [−1, 1] (``nn.Hardtanh``): odd, so it commutes with signed permutations."""

    name, group_name = "hardtanh", "signed_permutation"

    def forward(self, x):
        return torch.nn.functional.hardtanh(x)


class _Ball(StreamActivation):
    group_name = "orthogonal"

    def __init__(self, radius: float | None = None, channel_dim: int = 1):
        super().__init__(channel_dim)
        if radius is not None and not _checks.real(radius, "radius") > 0:
            raise ValueError(f"radius must be positive or None (√channels), got {radius!r}")
        self.radius = None if radius is None else float(radius)

    def _radius(self, x: torch.Tensor) -> float:
        return math.sqrt(x.shape[self.channel_dim]) if self.radius is None else self.radius

    def _norm(self, x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vector_norm(x, dim=self.channel_dim, keepdim=True)

    def extra_repr(self) -> str:
        return f"radius={'√channels' if self.radius is None else self.radius}, group={self.group_name}"


class Hardball(_Ball):
    """x ↦ x · min(1, R / ‖x‖): each pixel's channel vector into the ball of radius R
    (default √channels).

    Examples
    --------
    >>> x = torch.tensor([[3.0, 0.3], [4.0, 0.4]])[None]  # (batch, channels, pixels): norms 5 and 0.5
    >>> [[round(v, 4) for v in pixel] for pixel in Hardball(radius=1.0)(x).squeeze(0).T.tolist()]
    [[0.6, 0.8], [0.3, 0.4]]
    """

    name = "hardball"

    def forward(self, x):
        radius = self._radius(x)
        return x * torch.clamp(radius / self._norm(x).clamp_min(torch.finfo(x.dtype).tiny), max=1.0)


class Softball(_Ball):
    """x ↦ x / √(1 + ‖x‖² / R²): a smooth hardball (default R = √channels).

    Examples
    --------
    >>> [round(v, 4) for v in Softball(radius=1.0)(torch.tensor([[3.0], [4.0]])[None]).flatten().tolist()]  # x / √26
    [0.5883, 0.7845]
    """

    name = "softball"

    def forward(self, x):
        radius = self._radius(x)
        return x * torch.rsqrt(1.0 + self._norm(x) ** 2 / radius ** 2)


STREAM_ACTIVATIONS: dict[str, type[StreamActivation]] = {
    cls.name: cls for cls in (Identity, Relu, Hardtanh, Hardball, Softball)
}


def stream_activation(name: str | StreamActivation) -> StreamActivation:
    """A stream activation by name (or the module itself); ValueError naming the known ones."""
    if isinstance(name, StreamActivation):
        return name
    if name not in STREAM_ACTIVATIONS:
        raise ValueError(f"unknown stream activation {name!r}; known: {sorted(STREAM_ACTIVATIONS)}")
    return STREAM_ACTIVATIONS[name]()
