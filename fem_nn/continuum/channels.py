"""Channels: a state h(ξ, δ) ∈ R^C, kernels W(ξ, η, δ) ∈ R^{C×C} and biases b(ξ, δ) ∈ R^C.

The coefficients carry the channels as trailing dimensions, ``(n_ξ, n_η, n_δ, C, C)`` and
``(n_b, n_δ, C)``, so that every operation on the mesh axes (projection, refinement,
optimizer-state transfer, MG/OPT) acts on every channel unchanged. The state is kept as
columns ``(nodes · C, batch)``, node-major: the same memory as ``(nodes, C · batch)``, so the
width bases act on all channels at once and a dense kernel is one (nodes · C)² matrix.

The input (one channel) is lifted by a pointwise map ``L ∈ R^{C×1}`` and the output
projected by ``P ∈ R^{1×C}``: ξ-independent fields, P0 on one cell of the width interval
(their mesh :func:`pointwise_mesh`), which every mesh change leaves as they are. A network
of one channel has neither, and computes exactly what it computed before channels existed.
"""

from __future__ import annotations

from ..mesh import Mesh, uniform_axis

__all__ = ["POINTWISE", "pointwise_mesh", "channel_dims", "lifted", "projected"]

# the parameter names of the lifting and projection maps
POINTWISE = ("lifting", "projection")


def pointwise_mesh(interval) -> Mesh:
    """The mesh of the ξ-independent maps: P0 on one cell of the width `interval`, its axis
    named "pointwise" (not a width axis that an indicator or refinement would act on).

    Examples
    --------
    >>> pointwise_mesh((-1.0, 1.0)).shape, pointwise_mesh((-1.0, 1.0)).names
    ((1,), ('pointwise',))
    """
    return Mesh([uniform_axis(interval, 1, "p0", 0)], names=("pointwise",))


def channel_dims(name: str, channels: int) -> tuple[int, ...]:
    """The trailing channel dimensions of parameter `name`: none for one channel, else
    (C, C) for a weight, (C,) for a bias, (C, 1) for the lifting and (1, C) for the projection.

    Examples
    --------
    >>> channel_dims("weight1", 3), channel_dims("bias", 3), channel_dims("lifting", 3), channel_dims("weight", 1)
    ((3, 3), (3,), (3, 1), ())
    """
    if channels == 1:
        return ()
    return {"lifting": (channels, 1), "projection": (1, channels)}.get(
        name, (channels, channels) if name.startswith("weight") else (channels,))


def lifted(h, lifting):
    """State columns ``(nodes · C, batch)`` from one-channel columns `h` ``(nodes, batch)``
    and the lifting coefficients ``(1, C, 1)`` (torch or numpy alike)."""
    return (h[:, None, :] * lifting[0, :, 0, None]).reshape(-1, h.shape[1])


def projected(h, projection):
    """One-channel columns ``(nodes, batch)`` from state columns `h` ``(nodes · C, batch)``
    and the projection coefficients ``(1, 1, C)`` (torch or numpy alike)."""
    channels = projection.shape[-1]
    return (h.reshape(-1, channels, h.shape[1]) * projection[0, 0, :, None]).sum(1)
