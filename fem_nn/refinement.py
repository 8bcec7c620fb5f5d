"""Refine, coarsen, elevate, lower and adapt live networks: other meshes, the fields
L2-projected (:meth:`~fem_nn.ContinuumNetwork.replaced`).

A new manifestation's coefficients are the L2 projections P of the old ones onto the new
meshes. For nested meshes P reproduces the fields exactly, so a nested depth refinement with
unchanged steps computes the same function (the stage depths, and the fields there, are
unchanged). Width refinement moves the Nyström nodes: the function then changes by the
width-quadrature error only.

The optimizer state moves by :func:`~fem_nn.transfer.transfer_optimizer`, the cells to refine
are flagged by :mod:`fem_nn.indicators`.
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks
from .continuum import ContinuumNetwork, network_axes
from .indicators import error_indicators
from .mesh import Mesh

__all__ = [
    "refined_network", "coarsened_network", "elevated_network", "lowered_network", "projected_network", "adapted_network",
]


def _check_network(network, name: str = "network") -> None:
    if not isinstance(network, ContinuumNetwork):
        raise TypeError(f"{name} must be a ContinuumNetwork, got {type(network).__name__}")


def _steps(network: ContinuumNetwork, steps, named: str, factor: float) -> int:
    if steps == "keep":
        return network.steps
    if steps == named:
        return max(1, int(network.steps * factor))
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool) and steps >= 1:
        return int(steps)
    raise ValueError(f"steps must be 'keep', {named!r} or a positive integer, got {steps!r}")


def projected_network(
    network: ContinuumNetwork, weight_mesh: Mesh | None = None, bias_mesh: Mesh | None = None, steps: int | None = None,
    scheme=None,
) -> ContinuumNetwork:
    """`network` manifested on other meshes, step count or scheme, its fields L2-projected.

    Every other setting (right-hand side, activation, read-out, rate, memory_flat), the dtype
    and the device carry over: :meth:`~fem_nn.ContinuumNetwork.replaced` with these.

    Parameters
    ----------
    network : ContinuumNetwork
    weight_mesh, bias_mesh : Mesh, optional
        The new meshes (on the same boxes); default the network's.
    steps : int, optional
        The new step count; default the network's.
    scheme : str, Scheme or ButcherTableau, optional
        The new scheme; default the network's.

    Returns
    -------
    ContinuumNetwork
        A new network; `network` is left as it was.

    Examples
    --------
    >>> import torch
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> fine = projected_network(net, net.weight_mesh.refined("delta"), net.bias_mesh.refined("delta"))
    >>> x = torch.rand(3, 8, dtype=torch.float64)
    >>> bool(torch.allclose(fine(x), net(x), rtol=0, atol=1e-12))
    True
    """
    _check_network(network)
    return network.replaced(weight_mesh=weight_mesh, bias_mesh=bias_mesh, steps=steps, scheme=scheme)


def _changed(network: ContinuumNetwork, axis: str, method: str, steps, named: str, factor: float, **kwargs) -> ContinuumNetwork:
    """`network` with `method` (a Mesh method) applied to the mesh axes that `axis` names."""
    _check_network(network)
    weight_axes, bias_axes = network_axes(axis)
    steps = _steps(network, steps, named, factor)
    weight = getattr(network.weight_mesh, method)(weight_axes, **kwargs)
    bias = getattr(network.bias_mesh, method)(bias_axes, **kwargs) if bias_axes else network.bias_mesh
    return projected_network(network, weight, bias, steps)


def refined_network(network: ContinuumNetwork, axis: str = "depth", cells=None, k: int = 2, steps="keep") -> ContinuumNetwork:
    """h-refine a network along one of its axes.

    Parameters
    ----------
    network : ContinuumNetwork
    axis : {"depth", "width", "xi", "eta"}, default "depth"
        See :func:`network_axes`; W and b are refined together where they share an axis.
    cells : array_like of int or bool, optional
        The cells to split (indices or a mask); default all.
    k : int, default 2
        Each selected cell becomes `k` equal cells.
    steps : "keep", "double" or int, default "keep"
        The new step count: unchanged (a nested depth refinement then computes the same
        function), multiplied by `k` ("double" for bisection), or the given number.

    Returns
    -------
    ContinuumNetwork
        A new network whose fields are the old ones (exactly, the meshes being nested).

    Examples
    --------
    >>> import torch
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> fine = refined_network(net, "depth", steps="double")
    >>> fine.weight_mesh.axes[2].n_cells, fine.steps, net.steps
    (8, 8, 4)
    >>> refined_network(net, "width", cells=[0]).weight_mesh.shape
    (10, 10, 4)
    """
    return _changed(network, axis, "refined", steps, "double", k, cells=cells, k=k)


def coarsened_network(network: ContinuumNetwork, axis: str = "depth", k: int = 2, steps="keep") -> ContinuumNetwork:
    """Merge every `k` consecutive cells of an axis: the inverse of a uniform refinement.

    Parameters
    ----------
    network : ContinuumNetwork
    axis : {"depth", "width", "xi", "eta"}, default "depth"
    k : int, default 2
    steps : "keep", "halve" or int, default "keep"
        The new step count: unchanged, divided by `k` ("halve" for k = 2, at least 1), or
        the given number.

    Returns
    -------
    ContinuumNetwork
        The L2 projection of the network; ``coarsened_network(refined_network(net))``
        gives `net`'s coefficients back.

    Examples
    --------
    >>> import torch
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> back = coarsened_network(refined_network(net, steps="double"), steps="halve")
    >>> back.steps, bool(torch.allclose(back.weight, net.weight, rtol=0, atol=1e-12))
    (4, True)
    """
    k = _checks.integer(k, "k", 2)  # before 1 / k
    return _changed(network, axis, "coarsened", steps, "halve", 1 / k, k=k)


def elevated_network(network: ContinuumNetwork, axis: str = "width", by: int = 1, cells=None) -> ContinuumNetwork:
    """p-refine an axis: raise the order of its cells (all or the selected `cells`) by `by`.

    Parameters
    ----------
    network : ContinuumNetwork
    axis : {"depth", "width", "xi", "eta"}, default "width"
    by : int, default 1
    cells : array_like of int or bool, optional

    Returns
    -------
    ContinuumNetwork
        The same fields (the new space contains the old); the steps are kept.

    Examples
    --------
    >>> import torch
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> net.weight_mesh.axes[2].orders.tolist(), elevated_network(net, "depth", by=2).weight_mesh.axes[2].orders.tolist()
    ([0, 0, 0, 0], [2, 2, 2, 2])
    """
    return _changed(network, axis, "elevated", "keep", "keep", 1, by=by, cells=cells)


def lowered_network(network: ContinuumNetwork, axis: str = "width", by: int = 1, cells=None) -> ContinuumNetwork:
    """The inverse of :func:`elevated_network`: the L2 projection onto lower orders.

    Parameters
    ----------
    network : ContinuumNetwork
    axis : {"depth", "width", "xi", "eta"}, default "width"
    by : int, default 1
    cells : array_like of int or bool, optional

    Returns
    -------
    ContinuumNetwork

    Examples
    --------
    >>> import torch
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> back = lowered_network(elevated_network(net, "eta", by=2), "eta", by=2)
    >>> bool(torch.allclose(back.weight, net.weight, rtol=0, atol=1e-12))
    True
    """
    return _changed(network, axis, "lowered", "keep", "keep", 1, by=by, cells=cells)


def adapted_network(
    network: ContinuumNetwork, axis: str = "depth", fraction: float | None = None, count: int | None = None,
    indicator: str = "jump", hp: bool = False, smooth: float = 1e-3, steps="keep",
) -> ContinuumNetwork:
    """Refine the cells of an axis with the largest :func:`error_indicators`.

    Parameters
    ----------
    network : ContinuumNetwork
    axis : {"depth", "width", "xi", "eta"}, default "depth"
    fraction : float in (0, 1], optional
        Adapt the ``ceil(fraction · n_cells)`` worst cells (default 0.25 when `count` is
        not given either).
    count : int, optional
        Adapt this many worst cells instead.
    indicator : {"jump", "gradient"}, default "jump"
    hp : bool, default False
        Raise the order by one, instead of bisecting, on the selected cells where the
        fields are smooth (the "smoothness" indicator below `smooth`).
    smooth : float, default 1e-3
    steps : "keep", "double" or int, default "keep"
        As in :func:`refined_network`.

    Returns
    -------
    ContinuumNetwork
        The same fields (nested meshes) on the adapted meshes.

    Examples
    --------
    >>> import torch
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> adapted_network(net, fraction=0.5).weight_mesh.axes[2].n_cells
    6
    >>> adapted_network(net, "width", count=1).weight_mesh.shape
    (10, 10, 4)
    """
    _check_network(network)
    weight_axes, bias_axes = network_axes(axis)
    if indicator not in ("jump", "gradient"):
        raise ValueError(f"indicator must be 'jump' or 'gradient', got {indicator!r}")
    if indicator == "gradient" and any(p.grad is None for p in network.parameters()):
        raise ValueError("indicator 'gradient' needs the parameters' gradients: call backward() first")
    if not isinstance(hp, bool):
        raise TypeError(f"hp must be a bool, got {hp!r}")
    if isinstance(smooth, bool) or not isinstance(smooth, (int, float)) or not 0 < smooth < 1:
        raise ValueError(f"smooth must be a number in (0, 1), got {smooth!r}")
    n_cells = network.weight_mesh.axes[network.weight_mesh.axis_index(weight_axes[0])].n_cells
    if fraction is not None and count is not None:
        raise ValueError("give fraction or count, not both")
    if count is None:
        fraction = 0.25 if fraction is None else fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
        count = math.ceil(fraction * n_cells)
    elif isinstance(count, bool) or not isinstance(count, (int, np.integer)) or not 1 <= count <= n_cells:
        raise ValueError(f"count must be an integer in [1, {n_cells}], got {count!r}")
    steps = _steps(network, steps, "double", 2)
    worst = np.sort(np.argsort(-error_indicators(network, axis, indicator), kind="stable")[:count])
    weight, bias = network.weight_mesh, network.bias_mesh
    if hp:
        is_smooth = error_indicators(network, axis, "smoothness")[worst] < smooth
        elevate, worst = worst[is_smooth], worst[~is_smooth]
        if len(elevate):  # before any bisection, which renumbers the cells
            weight = weight.elevated(weight_axes, cells=elevate)
            bias = bias.elevated(bias_axes, cells=elevate) if bias_axes else bias
    if len(worst):
        weight = weight.refined(weight_axes, cells=worst)
        bias = bias.refined(bias_axes, cells=worst) if bias_axes else bias
    return projected_network(network, weight, bias, steps)
