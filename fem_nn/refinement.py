"""Refine, coarsen, elevate and lower live networks; carry the optimizer state over.

A new manifestation's coefficients are the L2 projections of the old ones onto the new
meshes. For nested meshes the projection reproduces the fields exactly, so a nested depth
refinement with unchanged steps computes the same function (the stage depths, and the
fields there, are unchanged). Width refinement moves the Nyström nodes: the function then
changes by the width-quadrature error only.

The optimizer state is a set of fields on the same meshes (momentum, Adam's moments) and
moves by the same projection, so training continues instead of restarting; second moments
are clipped at zero after the projection (a projection may undershoot), which keeps
Adam's step defined.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .assembly import mass_factors
from .io import mesh_to_dict
from .mesh import Axis, Mesh
from .network import ContinuumNetwork
from .projection import Projector

__all__ = [
    "refined_network", "coarsened_network", "elevated_network", "lowered_network", "projected_network",
    "transfer_optimizer", "depth_indicators", "depth_smoothness", "adapted_network", "network_axes",
]

# a network axis and the weight-mesh axes it names; the bias mesh has xi and delta
NETWORK_AXES = {"depth": ("delta",), "width": ("xi", "eta"), "xi": ("xi",), "eta": ("eta",)}
SECOND_MOMENTS = ("exp_avg_sq", "max_exp_avg_sq")


def network_axes(axis: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The weight-mesh and bias-mesh axes that `axis` ("depth", "width", "xi", "eta") names."""
    if axis not in NETWORK_AXES:
        raise ValueError(f"axis must be one of {list(NETWORK_AXES)}, got {axis!r}")
    weight = NETWORK_AXES[axis]
    return weight, tuple(a for a in weight if a in ("xi", "delta"))


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
    """`network` manifested on other meshes (its fields L2-projected), step count or scheme;
    every other setting, the dtype and the device carry over.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> fine = projected_network(net, net.weight_mesh.refined("delta"), net.bias_mesh.refined("delta"))
    >>> x = torch.rand(3, 8, dtype=torch.float64)
    >>> bool(torch.allclose(fine(x), net(x), rtol=0, atol=1e-12))
    True
    """
    config = network.config()
    targets = {"weight": weight_mesh or network.weight_mesh, "bias": bias_mesh or network.bias_mesh}
    config["weight_mesh"], config["bias_mesh"] = mesh_to_dict(targets["weight"]), mesh_to_dict(targets["bias"])
    if steps is not None:
        config["steps"] = steps
    if scheme is not None:
        config["scheme"] = scheme
    weights = {}
    for name, source in network.parameter_meshes().items():
        target = targets["weight" if name.startswith("weight") else "bias"]
        weights[name] = Projector(target, source)(getattr(network, name).detach().cpu().double().numpy())
    return ContinuumNetwork.from_config(config, weights).to(next(network.parameters()).device)


def _changed(network: ContinuumNetwork, axis: str, method: str, steps: int, **kwargs) -> ContinuumNetwork:
    weight_axes, bias_axes = network_axes(axis)
    weight = getattr(network.weight_mesh, method)(weight_axes, **kwargs)
    bias = getattr(network.bias_mesh, method)(bias_axes, **kwargs) if bias_axes else network.bias_mesh
    return projected_network(network, weight, bias, steps)


def refined_network(network: ContinuumNetwork, axis: str = "depth", cells=None, k: int = 2, steps="keep") -> ContinuumNetwork:
    """h-refine `axis` ("depth", "width", "xi" or "eta"; selected `cells` or all, split by
    `k`); `steps`: "keep", "double" or a number.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> refined_network(net, "depth", steps="double").steps, net.steps
    (8, 4)
    """
    return _changed(network, axis, "refined", _steps(network, steps, "double", 2), cells=cells, k=k)


def coarsened_network(network: ContinuumNetwork, axis: str = "depth", k: int = 2, steps="keep") -> ContinuumNetwork:
    """Merge every `k` cells of `axis` (the inverse of a uniform refinement); `steps`:
    "keep", "halve" (divide by `k`) or a number."""
    return _changed(network, axis, "coarsened", _steps(network, steps, "halve", 1 / k), k=k)


def elevated_network(network: ContinuumNetwork, axis: str = "width", by: int = 1, cells=None) -> ContinuumNetwork:
    """p-refine `axis` by `by` orders (selected `cells` or all)."""
    return _changed(network, axis, "elevated", network.steps, by=by, cells=cells)


def lowered_network(network: ContinuumNetwork, axis: str = "width", by: int = 1, cells=None) -> ContinuumNetwork:
    """The inverse of :func:`elevated_network` (an L2 projection onto lower orders)."""
    return _changed(network, axis, "lowered", network.steps, by=by, cells=cells)


def transfer_optimizer(optimizer: torch.optim.Optimizer, old: ContinuumNetwork, new: ContinuumNetwork) -> torch.optim.Optimizer:
    """An optimizer of `optimizer`'s class and hyper-parameters over `new`'s parameters,
    whose state (momentum buffers, Adam's moments) is `optimizer`'s projected from `old`'s
    meshes onto `new`'s; step counters are kept.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    >>> net(torch.ones(2, 8)).sum().backward(); adam.step()
    >>> fine = refined_network(net, "depth")
    >>> state = transfer_optimizer(adam, net, fine).state[fine.weight]
    >>> tuple(state["exp_avg"].shape), float(state["step"])
    ((9, 9, 8), 1.0)
    """
    if len(optimizer.param_groups) != 1:
        raise ValueError(f"optimizer must have one parameter group, got {len(optimizer.param_groups)}")
    old_parameters, new_parameters = dict(old.named_parameters()), dict(new.named_parameters())
    if list(old_parameters) != list(new_parameters):
        raise ValueError(f"old and new networks have different parameters: {list(old_parameters)} and {list(new_parameters)}")
    hyper = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
    result = type(optimizer)(list(new_parameters.values()), lr=hyper["lr"])
    result.param_groups[0].update(hyper)
    old_meshes, new_meshes = old.parameter_meshes(), new.parameter_meshes()
    for name, p in old_parameters.items():
        if p not in optimizer.state:
            continue
        target = new_parameters[name]
        project = Projector(new_meshes[name], old_meshes[name])
        state = {}
        for key, value in optimizer.state[p].items():
            if isinstance(value, torch.Tensor) and value.shape == p.shape:
                moved = torch.as_tensor(project(value.detach().cpu().double().numpy()), dtype=value.dtype)
                state[key] = (moved.clamp_min(0.0) if key in SECOND_MOMENTS else moved).to(target.device)
            else:
                state[key] = value.clone() if isinstance(value, torch.Tensor) else value
        result.state[target] = state
    return result


def depth_indicators(network: ContinuumNetwork) -> np.ndarray:
    """An error indicator per depth cell: the L2 norm over the width box of the jump of W
    (of ∂W/∂δ for continuous depth families) across the cell's ends, averaged over its two
    ends (interior ends only), plus the same of b.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> with torch.no_grad():
    ...     _ = net.weight.zero_(), net.bias.zero_()
    ...     net.weight[..., 3] = 1.0  # W = 1 on the last depth cell: a jump of norm 2 at δ = 0.75
    >>> depth_indicators(net).round(3).tolist()
    [0.0, 0.0, 1.0, 1.0]
    """
    cells = network.weight_mesh.axes[2].n_cells
    jumps = np.zeros(cells + 1)
    for name, mesh in network.parameter_meshes().items():
        depth = mesh.axes[-1]
        interior = depth.breakpoints[1:-1]
        derivative = 1 if depth.family.continuous else 0
        jump = depth.evaluation_matrix(interior, derivative, "left") - depth.evaluation_matrix(interior, derivative, "right")
        u = getattr(network, name).detach().cpu().double().numpy()
        across = np.tensordot(u, jump.toarray(), axes=([-1], [1]))  # (width dofs..., interior)
        masses = [m.toarray() for m in mass_factors(mesh)[:-1]]
        weighted = _apply_masses(masses, across)  # u^T (M ⊗ M) u per jump
        squared = (across * weighted).reshape(-1, len(interior)).sum(axis=0)
        jumps[1:-1] += np.sqrt(np.maximum(squared, 0.0))
    return 0.5 * (jumps[:-1] + jumps[1:])


def _apply_masses(masses, u):
    """`u` with each width mass matrix applied along its axis."""
    for axis, m in enumerate(masses):
        u = np.moveaxis(np.tensordot(m, u, axes=([1], [axis])), 0, axis)
    return u


def depth_smoothness(network: ContinuumNetwork) -> np.ndarray:
    """Per depth cell, the share of the weight field's energy in its highest Legendre mode
    (on the cell, in L2 over the width box): small where the field is smooth there, so that
    raising the order pays; 1 for order-0 cells, which have no decay to judge."""
    mesh = network.weight_mesh
    depth = mesh.axes[2]
    modal = mesh.with_axis(2, Axis(depth.breakpoints, "legendre", depth.orders))  # contains the field's space
    u = Projector(modal, mesh)(network.weight.detach().cpu().double().numpy())
    masses = [m.toarray() for m in mass_factors(modal)]
    width_energy = (_apply_masses(masses[:2], u) * u).reshape(-1, u.shape[-1]).sum(axis=0)
    energy = width_energy * np.diag(masses[2])  # per depth mode: the modal mass is diagonal
    dofs = depth.cell_dofs()
    top = dofs[np.arange(depth.n_cells), depth.orders]
    total = np.array([energy[d[d >= 0]].sum() for d in dofs])
    return np.where((depth.orders > 0) & (total > 0), energy[top] / np.maximum(total, 1e-300), 1.0)


def adapted_network(
    network: ContinuumNetwork, fraction: float = 0.25, steps="keep", hp: bool = False, smooth: float = 1e-3
) -> ContinuumNetwork:
    """Adapt the ``ceil(fraction · cells)`` depth cells with the largest
    :func:`depth_indicators`: bisect them, or with `hp`, raise the order by one instead where
    the field is smooth on the cell (:func:`depth_smoothness` below `smooth`).

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> adapted_network(net, fraction=0.5).weight_mesh.axes[2].n_cells
    6
    """
    if not (isinstance(fraction, (int, float)) and 0 < fraction <= 1):
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    indicators = depth_indicators(network)
    worst = np.sort(np.argsort(-indicators, kind="stable")[: math.ceil(fraction * len(indicators))])
    weight, bias = network.weight_mesh, network.bias_mesh
    if hp:
        is_smooth = depth_smoothness(network)[worst] < smooth
        elevate, worst = worst[is_smooth], worst[~is_smooth]
        if len(elevate):  # before any bisection, which renumbers the cells
            weight, bias = weight.elevated("delta", cells=elevate), bias.elevated("delta", cells=elevate)
    if len(worst):
        weight, bias = weight.refined("delta", cells=worst), bias.refined("delta", cells=worst)
    return projected_network(network, weight, bias, _steps(network, steps, "double", 2))
