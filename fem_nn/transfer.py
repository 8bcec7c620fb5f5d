"""Coefficients and optimizer state moved between meshes, by one projection.

A new manifestation's coefficients are the L2 projections P of the old ones onto the new
meshes (:func:`projected_coefficients`). The optimizer state moves with the fields, by the
same projection seen from the gradient's side. A coefficient gradient is a covector,
``g_i = ∫ φ_i ∂L/∂u``: its field is ``M⁻¹ g``, which moves by P, and back on the new mesh it
is ``M_new P M_old⁻¹ g = Qᵀ g`` with Q the L2 projection from the new mesh back to the old.
For nested meshes Qᵀ is the chain rule: coarsening maps a refined network's gradient to the
coarse network's gradient exactly, and refining then coarsening gives the state back.
Momentum and first moments move by Qᵀ, the square roots of second moments (gradient
magnitudes) too; see :func:`transfer_optimizer`. Both P and Q are
:class:`~fem_nn.Projector`'s; :class:`MeshTransfer` holds Q per axis as dense torch
matrices (MG/OPT's restriction and prolongation).
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from ._threads import steady_threads
from .mesh import Mesh
from .projection import Projector

__all__ = ["MeshTransfer", "projected_coefficients", "transfer_optimizer"]

# how each optimizer state entry shaped like its parameter moves (see transfer_optimizer):
# gradient averages by Qᵀ, averages of squared gradients through their square roots. Other
# optimizers keep entries of other meaning (RMSprop's momentum is a normalized step) and are
# refused by their state's names.
STATE_KINDS = {
    "momentum_buffer": "covector", "exp_avg": "covector", "exp_avg_sq": "square", "max_exp_avg_sq": "square",
    "sum": "square",
}


class MeshTransfer:
    """The L2 projection between two meshes on torch tensors, as one dense matrix per axis,
    with its transpose: the network's axes are small, so dense mode products on the
    parameters' device beat sparse solves on the CPU.

    Examples
    --------
    >>> from fem_nn import weight_mesh
    >>> coarse = weight_mesh()
    >>> prolong = MeshTransfer(coarse.refined("delta"), coarse)
    >>> u = torch.rand(coarse.shape, dtype=torch.float64)
    >>> back = MeshTransfer(coarse, coarse.refined("delta"))(prolong(u))
    >>> bool(torch.allclose(back, u, atol=1e-14))
    True
    """

    def __init__(self, target: Mesh, source: Mesh, dtype: torch.dtype = torch.float64, device=None):
        projector = Projector(target, source)
        self.matrices = [
            torch.as_tensor(transfer.apply(np.eye(n), 0), dtype=dtype, device=device)
            for transfer, n in zip(projector.transfers, source.shape)
        ]

    def __call__(self, u: torch.Tensor, transpose: bool = False) -> torch.Tensor:
        """The projection of `u` (shape: the source mesh's), or with `transpose` the
        transposed map applied to `u` (shape: the target mesh's)."""
        for axis, matrix in enumerate(self.matrices):
            u = torch.tensordot(matrix.T if transpose else matrix, u, dims=([1], [axis])).movedim(0, axis)
        return u


def projected_coefficients(value: torch.Tensor, source: Mesh, target: Mesh) -> torch.Tensor:
    """The L2 projection of coefficients `value` on `source` onto `target` (each entry of
    any trailing dimensions beyond the mesh's, e.g. channels), a new tensor of
    `value`'s dtype on its device: a copy where both meshes span the same space (a change
    of quadrature only), else :class:`~fem_nn.Projector`'s in float64.

    Examples
    --------
    >>> from fem_nn import weight_mesh
    >>> coarse = weight_mesh()
    >>> u = torch.rand(coarse.shape, dtype=torch.float64)
    >>> fine = projected_coefficients(u, coarse, coarse.refined("delta"))
    >>> bool(torch.allclose(projected_coefficients(fine, coarse.refined("delta"), coarse), u, rtol=0, atol=1e-14))
    True
    """
    value = value.detach()
    if all(a.same_space(b) for a, b in zip(source.axes, target.axes)):
        return value.clone()
    # trailing dims beyond the mesh's (channels) are a batch: the Projector takes it in front
    channels = list(range(source.dim, value.ndim))
    front = list(range(len(channels)))
    with steady_threads():  # the Projector's Numba kernels would leave torch on numba's count
        moved = Projector(target, source)(np.moveaxis(value.cpu().double().numpy(), channels, front))
    return torch.as_tensor(np.ascontiguousarray(np.moveaxis(moved, front, channels)), dtype=value.dtype).to(value.device)


def _check_network(network, name: str) -> None:
    # any module with coefficient meshes by parameter name (a ContinuumNetwork)
    if not (isinstance(network, torch.nn.Module) and callable(getattr(network, "parameter_meshes", None))):
        raise TypeError(f"{name} must be a module with parameter_meshes() (a ContinuumNetwork), got {type(network).__name__}")


def transfer_optimizer(optimizer: torch.optim.Optimizer, old, new) -> torch.optim.Optimizer:
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
    - step counters and other entries are copied, and so is the whole state of a parameter
      that has no mesh in ``parameter_meshes()`` (a stem or head layer beside the fields).

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Over parameters of `old`: SGD, Adam, AdamW (NAdam, RAdam and Adagrad keep state of
        the same kinds and work too; an optimizer with other state is refused).
    old, new : torch.nn.Module with ``parameter_meshes()``
        The network before and after a change of meshes (same parameter names): a
        ContinuumNetwork, an :class:`~fem_nn.odeblock.OdeBlock` or a model of them.

    Returns
    -------
    torch.optim.Optimizer
        A new optimizer; `optimizer` is left as it was.

    Examples
    --------
    >>> from fem_nn import ContinuumNetwork, bias_mesh, refined_network, weight_mesh
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
        # a parameter without a mesh (an ordinary layer beside the fields) keeps its state
        back = MeshTransfer(old_meshes[name], new_meshes[name], torch.float64, target.device) if name in old_meshes else None
        moved = {}
        for key, value in state.items():
            if back is None or not (isinstance(value, torch.Tensor) and value.shape == p.shape):
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
