"""Refine, coarsen, elevate and lower live networks; carry the optimizer state over; flag the
cells to refine.

A new manifestation's coefficients are the L2 projections P of the old ones onto the new
meshes. For nested meshes P reproduces the fields exactly, so a nested depth refinement with
unchanged steps computes the same function (the stage depths, and the fields there, are
unchanged). Width refinement moves the Nyström nodes: the function then changes by the
width-quadrature error only.

The optimizer state moves with the fields, by the same projection seen from the gradient's
side. A coefficient gradient is a covector, ``g_i = ∫ φ_i ∂L/∂u``: its field is ``M⁻¹ g``,
which moves by P, and back on the new mesh it is ``M_new P M_old⁻¹ g = Qᵀ g`` with Q the L2
projection from the new mesh back to the old. For nested meshes Qᵀ is the chain rule:
coarsening maps a refined network's gradient to the coarse network's gradient exactly, and
refining then coarsening gives the state back. Momentum and first moments move by Qᵀ, the
square roots of second moments (gradient magnitudes) too; see :func:`transfer_optimizer`.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from scipy import sparse

from . import _checks
from .assembly import mass_factors
from .io import mesh_to_dict
from .mesh import Axis, Mesh, axis_names
from .mgopt import MeshTransfer
from .network import ContinuumNetwork
from .projection import Projector
from .quadrature import gauss_legendre, points_for_degree, rule_on_cells
from .tensor import BandedCholesky, apply_along, apply_kronecker

__all__ = [
    "refined_network", "coarsened_network", "elevated_network", "lowered_network", "projected_network",
    "transfer_optimizer", "error_indicators", "adapted_network", "network_axes", "depth_indicators", "depth_smoothness",
]

# how each optimizer state entry shaped like its parameter moves (see transfer_optimizer):
# gradient averages by Qᵀ, averages of squared gradients through their square roots. Other
# optimizers keep entries of other meaning (RMSprop's momentum is a normalized step) and are
# refused by their state's names.
STATE_KINDS = {
    "momentum_buffer": "covector", "exp_avg": "covector", "exp_avg_sq": "square", "max_exp_avg_sq": "square",
    "sum": "square",
}
INDICATORS = ("jump", "smoothness", "gradient")


def network_axes(axis: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The weight-mesh and bias-mesh axes that a network axis names.

    Parameters
    ----------
    axis : {"depth", "width", "xi", "eta", "delta"}
        "depth" (or "delta", the mesh name): δ of W and b; "width": ξ and η of W and ξ of
        b; "xi": W's output width and b's width; "eta": W's input width (the bias has
        none). The names of :func:`~fem_nn.mesh.axis_names`, as meshes take them.

    Returns
    -------
    weight_axes, bias_axes : tuple of str

    Examples
    --------
    >>> network_axes("width")
    (('xi', 'eta'), ('xi',))
    >>> network_axes("eta")
    (('eta',), ())
    """
    weight = axis_names(axis)
    return weight, tuple(a for a in weight if a in ("xi", "delta"))


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
    and the device carry over: the new network is built from ``network.config()``.

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
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> fine = projected_network(net, net.weight_mesh.refined("delta"), net.bias_mesh.refined("delta"))
    >>> x = torch.rand(3, 8, dtype=torch.float64)
    >>> bool(torch.allclose(fine(x), net(x), rtol=0, atol=1e-12))
    True
    """
    _check_network(network)
    for name, mesh, old in (("weight_mesh", weight_mesh, network.weight_mesh), ("bias_mesh", bias_mesh, network.bias_mesh)):
        if mesh is not None and not isinstance(mesh, Mesh):
            raise TypeError(f"{name} must be a Mesh or None, got {type(mesh).__name__}")
        if mesh is not None and (mesh.dim != old.dim or not np.allclose(mesh.box, old.box)):
            raise ValueError(f"{name} must cover the network's box {old.box}, got {mesh.box}")
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
        coefficients = Projector(target, source)(getattr(network, name).detach().cpu().double().numpy())
        weights[name] = coefficients.copy()  # an unchanged mesh projects to the same array: never share it
    return ContinuumNetwork.from_config(config, weights).to(next(network.parameters()).device)


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
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> back = lowered_network(elevated_network(net, "eta", by=2), "eta", by=2)
    >>> bool(torch.allclose(back.weight, net.weight, rtol=0, atol=1e-12))
    True
    """
    return _changed(network, axis, "lowered", "keep", "keep", 1, by=by, cells=cells)


def transfer_optimizer(optimizer: torch.optim.Optimizer, old: ContinuumNetwork, new: ContinuumNetwork) -> torch.optim.Optimizer:
    """The optimizer of `new`'s parameters that continues `optimizer` (on `old`'s).

    Same class, same parameter groups with the same settings (parameters matched by name),
    and the state moved from `old`'s meshes to `new`'s:

    - momentum buffers and first moments (``momentum_buffer``, ``exp_avg``) average
      gradients, which are covectors: they move by ``Qᵀ = M_new P M_old⁻¹``, Q the L2
      projection from the new meshes back to the old. For nested meshes, coarsening maps a
      refined network's gradient to the coarse network's gradient exactly, and coarsening
      after refining gives the state back.
    - second moments (``exp_avg_sq``, ``max_exp_avg_sq``, Adagrad's ``sum``) move through
      their square roots, which have the gradient's units and so scale like the moments
      divided by them: ``√v_new = max(|Qᵀ √v|, |Qᵀ m| / ρ)`` with ``ρ = max |m| / √v``
      before the transfer (Adam's largest step, in units of the learning rate). The floor
      keeps every coefficient's ratio ``|m| / √v`` within the largest one before the
      transfer, where ``Qᵀ √v`` of a modal or high-order basis undershoots. Alternatives
      measured: projecting v with P and clipping at 0 (a second moment clipped to zero
      under a non-zero first moment steps ``lr · m / eps``; after a Legendre-p2 depth
      refinement that computes the same function, the next Adam step raised the loss from
      0.164 to 0.173), and ``|Qᵀ| √v`` (safe, but too large for continuous families: on
      digits, loss 0.977 after 30 steps against 0.949 with the floor).
    - step counters and other entries are copied.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Over parameters of `old`: SGD, Adam, AdamW (NAdam, RAdam and Adagrad keep state of
        the same kinds and work too; an optimizer with other state is refused).
    old, new : ContinuumNetwork
        The network before and after a change of meshes (same parameter names).

    Returns
    -------
    torch.optim.Optimizer
        A new optimizer; `optimizer` is left as it was.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    >>> net(torch.ones(2, 8, dtype=torch.float64)).sum().backward(); adam.step()
    >>> fine = refined_network(net, "depth")
    >>> state = transfer_optimizer(adam, net, fine).state[fine.weight]
    >>> tuple(state["exp_avg"].shape), float(state["step"])
    ((9, 9, 8), 1.0)
    >>> m = adam.state[net.weight]["exp_avg"]  # each half of a P0 cell takes half its gradient
    >>> bool(torch.allclose(state["exp_avg"][..., ::2], m / 2) and torch.allclose(state["exp_avg"][..., 1::2], m / 2))
    True
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    _check_network(old, "old")
    _check_network(new, "new")
    names = {id(p): name for name, p in old.named_parameters()}
    new_parameters = dict(new.named_parameters())
    if list(names.values()) != list(new_parameters):
        raise ValueError(f"old and new networks have different parameters: {list(names.values())} and {list(new_parameters)}")
    groups = []
    for i, group in enumerate(optimizer.param_groups):
        if any(id(p) not in names for p in group["params"]):
            raise ValueError(f"optimizer.param_groups[{i}] holds parameters that are not old's")
        groups.append({**group, "params": [new_parameters[names[id(p)]] for p in group["params"]]})
    for p, state in optimizer.state.items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and value.shape == p.shape and key not in STATE_KINDS:
                raise ValueError(
                    f"optimizer state {key!r} of {type(optimizer).__name__} is not one whose transfer is known "
                    f"({sorted(STATE_KINDS)})"
                )
    result = type(optimizer)(groups)
    result.defaults.update(optimizer.defaults)
    old_meshes, new_meshes = old.parameter_meshes(), new.parameter_meshes()
    for p, state in optimizer.state.items():
        name = names[id(p)]
        target = new_parameters[name]
        back = MeshTransfer(old_meshes[name], new_meshes[name], torch.float64, target.device)  # Q
        moved = {}
        for key, value in state.items():
            if not (isinstance(value, torch.Tensor) and value.shape == p.shape):
                moved[key] = value.clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)
                continue
            u = value.detach().to(target.device, torch.float64)
            if STATE_KINDS[key] == "covector":
                u = back(u, transpose=True)
            else:
                root = u.sqrt()
                new_root = back(root, transpose=True).abs()
                if "exp_avg" in state:
                    m = state["exp_avg"].detach().to(target.device, torch.float64)
                    ratios = m.abs()[root > 0] / root[root > 0]
                    if ratios.numel() and ratios.max() > 0:
                        new_root = torch.maximum(new_root, back(m, transpose=True).abs() / ratios.max())
                u = new_root**2
            moved[key] = u.to(value.dtype).contiguous()
        result.state[target] = moved
    return result


def _slab_energies(mesh: Mesh, u: np.ndarray, k: int, matrix) -> np.ndarray:
    """For each row a of `matrix` (acting along axis `k`), the squared L2 norm over the other
    axes of the function ``Σ_i a_i u[..., i, ...]``."""
    v = apply_along(sparse.csr_matrix(matrix), u, k)
    masses = mass_factors(mesh)
    masses[k] = None
    return np.moveaxis(v * apply_kronecker(masses, v), k, 0).reshape(v.shape[k], -1).sum(axis=1)


def _jump_energies(mesh: Mesh, u: np.ndarray, k: int) -> np.ndarray:
    """Squared L2 norms (over the other axes) of the jumps of u across the interior
    breakpoints of axis `k`; of its derivative along `k` for a continuous family."""
    axis = mesh.axes[k]
    interior = axis.breakpoints[1:-1]
    derivative = 1 if axis.family.continuous else 0
    jump = axis.evaluation_matrix(interior, derivative, "left") - axis.evaluation_matrix(interior, derivative, "right")
    return _slab_energies(mesh, u, k, jump)


def _gradient_energies(mesh: Mesh, g: np.ndarray, k: int) -> np.ndarray:
    """Per cell of axis `k`, the squared L2 norm on the cell's slab of the L2 gradient field
    ``M⁻¹ g`` (its squares add up to ``gᵀ M⁻¹ g`` over the cells, on any mesh)."""
    for j, mass in enumerate(mass_factors(mesh)):
        g = BandedCholesky(mass).solve_along(g, j)
    axis = mesh.axes[k]
    x, w = rule_on_cells(gauss_legendre(points_for_degree(2 * axis.max_order)), axis.breakpoints)
    return (_slab_energies(mesh, g, k, axis.evaluation_matrix(x.ravel())).reshape(x.shape) * w).sum(axis=1)


def _mode_energies(mesh: Mesh, u: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell of axis `k`, the energy of u's highest Legendre mode along `k` on the cell's
    slab, and its total energy there."""
    axis = mesh.axes[k]
    modal = mesh.with_axis(k, Axis(axis.breakpoints, "legendre", axis.orders))  # contains u's space
    coefficients = Projector(modal, mesh)(u)
    mass = mass_factors(modal)[k]  # diagonal: the modes are orthogonal
    energy = _slab_energies(modal, coefficients, k, sparse.identity(mass.shape[0])) * mass.diagonal()
    dofs = modal.axes[k].cell_dofs()
    top = energy[dofs[np.arange(axis.n_cells), axis.orders]]
    return top, np.where(dofs >= 0, energy[dofs], 0.0).sum(axis=1)


def error_indicators(network: ContinuumNetwork, axis: str = "depth", kind: str = "jump") -> np.ndarray:
    """One error indicator per cell of a network axis, from W and b together.

    Parameters
    ----------
    network : ContinuumNetwork
    axis : {"depth", "width", "xi", "eta"}, default "depth"
        "width" combines ξ and η (which must then share their cells): the root sum of
        squares of both, or for "smoothness" the larger share.
    kind : {"jump", "smoothness", "gradient"}, default "jump"
        - "jump": the L2 norm, over the other axes, of the fields' jump across each end of
          the cell (of their derivative along the axis for a continuous family), averaged
          over the cell's two ends (0 at the ends of the interval); fields summed in squares.
          Large where the field changes abruptly between cells.
        - "smoothness": the share of the fields' energy on the cell in their highest
          Legendre mode along the axis: small where the field is smooth there (raising the
          order pays), 1 for order-0 cells, which have no decay to judge.
        - "gradient": the L2 norm on the cell of the loss's L2 gradient field ``M⁻¹ ∂L/∂u``
          (from the parameters' ``.grad``; call ``backward()`` first). Its squares add up
          over the cells to the gradient's squared dual norm, whatever the mesh.

    Returns
    -------
    ndarray, shape (n_cells,)

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> with torch.no_grad():
    ...     _ = net.weight.zero_(), net.bias.zero_()
    ...     net.weight[..., 3] = 1.0  # W = 1 on the last depth cell: a jump of norm 2 at δ = 0.75
    >>> error_indicators(net).round(3).tolist()
    [0.0, 0.0, 1.0, 1.0]
    >>> net(torch.ones(1, 8, dtype=torch.float64)).sum().backward()
    >>> error_indicators(net, "depth", "gradient").shape
    (4,)
    """
    _check_network(network)
    weight_axes, _ = network_axes(axis)
    if kind not in INDICATORS:
        raise ValueError(f"kind must be one of {list(INDICATORS)}, got {kind!r}")
    if axis == "width":
        xi, eta = network.weight_mesh.axes[:2]
        if not np.array_equal(xi.breakpoints, eta.breakpoints):
            raise ValueError("axis 'width' needs ξ and η with the same cells; ask for 'xi' or 'eta'")
        both = [error_indicators(network, a, kind) for a in weight_axes]
        return np.maximum(*both) if kind == "smoothness" else np.hypot(*both)
    if kind == "gradient" and any(p.grad is None for p in network.parameters()):
        raise ValueError("kind 'gradient' needs the parameters' gradients: call backward() first")
    name = weight_axes[0]
    meshes = {n: m for n, m in network.parameter_meshes().items() if name in m.names}
    breakpoints = [m.axes[m.axis_index(name)].breakpoints for m in meshes.values()]
    if any(not np.array_equal(b, breakpoints[0]) for b in breakpoints):
        raise ValueError(f"the weight and bias meshes have different cells along {name!r}")
    sums = []
    for n, mesh in meshes.items():
        p = getattr(network, n)
        u = (p.grad if kind == "gradient" else p).detach().cpu().double().numpy()
        k = mesh.axis_index(name)
        if kind == "jump":
            sums.append(_jump_energies(mesh, u, k))
        elif kind == "gradient":
            sums.append(_gradient_energies(mesh, u, k))
        else:
            sums.append(np.stack(_mode_energies(mesh, u, k)))
    total = np.sum(sums, axis=0)
    if kind == "gradient":
        return np.sqrt(np.maximum(total, 0.0))
    if kind == "jump":
        ends = np.concatenate(([0.0], np.sqrt(np.maximum(total, 0.0)), [0.0]))
        return 0.5 * (ends[:-1] + ends[1:])
    top, energy = total
    orders = network.weight_mesh.axes[network.weight_mesh.axis_index(name)].orders
    return np.where((orders > 0) & (energy > 0), top / np.maximum(energy, 1e-300), 1.0)


def depth_indicators(network: ContinuumNetwork) -> np.ndarray:
    """``error_indicators(network, "depth", "jump")`` (the name fem_nn exported first).

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> depth_indicators(ContinuumNetwork(weight_mesh(), bias_mesh())).shape
    (4,)
    """
    return error_indicators(network, "depth", "jump")


def depth_smoothness(network: ContinuumNetwork) -> np.ndarray:
    """``error_indicators(network, "depth", "smoothness")`` (the name fem_nn exported first).

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> depth_smoothness(ContinuumNetwork(weight_mesh(), bias_mesh())).tolist()  # P0 in depth
    [1.0, 1.0, 1.0, 1.0]
    """
    return error_indicators(network, "depth", "smoothness")


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
