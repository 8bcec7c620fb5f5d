"""Smoothness control of a network's fields: the broken H¹ seminorm with interior penalty.

For a field u on a tensor mesh, each axis a contributes

    Σ_cells ∫ (∂_a u)²  +  Σ_interior breakpoints x_f  h_f⁻¹ ∫ [u]²_{x_f}

(integrals over the whole box; ``[u]`` the jump across the breakpoint, ``h_f`` the mean
width of the two cells that meet there). For a field in H¹ the jumps vanish and this is
``∫ (∂_a u)²``, whatever the mesh: the penalty's weight has one meaning on every mesh, and a
field that is a patchwork of per-cell noise pays for each jump, more on finer meshes.
"""

from __future__ import annotations

import numpy as np
import torch

from . import _checks
from .assembly import mass_factors
from .mesh import Axis, Mesh
from .quadrature import gauss_legendre, points_for_degree, rule_on_cells

__all__ = ["SmoothnessPenalty", "seminorm_matrix", "smoothness"]


def seminorm_matrix(axis: Axis) -> np.ndarray:
    """A (dense, n_dofs × n_dofs) with ``uᵀ A u`` the broken H¹ seminorm with interior
    penalty of the 1D field u on `axis` (see the module notes).

    Examples
    --------
    >>> from fem_nn import uniform_axis
    >>> axis = uniform_axis((0.0, 1.0), 4, "p0", 0)
    >>> u = np.array([0.0, 0.0, 1.0, 1.0])  # one unit jump at 0.5, cells of width 0.25
    >>> float(u @ seminorm_matrix(axis) @ u)
    4.0
    """
    # the product of two derivatives: degree 2p - 2 for polynomials, the family's own for Fourier
    degree = max(2 * axis.family.quadrature_degree(axis.max_order) - 2, 0)
    x, w = rule_on_cells(gauss_legendre(points_for_degree(degree)), axis.breakpoints)
    derivative = axis.evaluation_matrix(x.ravel(), 1).toarray()
    matrix = derivative.T @ (w.reshape(-1, 1) * derivative)
    interior = axis.breakpoints[1:-1]
    if interior.size and not axis.family.continuous:
        jump = (axis.evaluation_matrix(interior, 0, "left") - axis.evaluation_matrix(interior, 0, "right")).toarray()
        h = 0.5 * (axis.widths[:-1] + axis.widths[1:])
        matrix += jump.T @ (jump / h[:, None])
    return matrix


def _mode_product(matrix: torch.Tensor, u: torch.Tensor, k: int) -> torch.Tensor:
    return torch.movedim(torch.tensordot(matrix, u, dims=([1], [k])), 0, k)


def smoothness(u: torch.Tensor, masses: list[torch.Tensor], seminorms: list[torch.Tensor]) -> torch.Tensor:
    """``Σ_a ⟨u, (A_a along a, M_b along every other axis b) u⟩`` for coefficients `u`."""
    total = u.new_zeros(())
    for a, seminorm in enumerate(seminorms):
        v = u
        for k, mass in enumerate(masses):
            v = _mode_product(seminorm if k == a else mass, v, k)
        total = total + (u * v).sum()
    return total


class SmoothnessPenalty:
    """``weight × Σ_fields |f|²`` over a network's coefficient fields, in the broken H¹
    seminorm with interior penalty along every axis (see the module notes): differentiable,
    the matrices built once per mesh.

    Parameters
    ----------
    weight : float
        The weight; the same on every mesh (the seminorm of a smooth field does not depend on it).

    Examples
    --------
    >>> from fem_nn import ContinuumNetwork, bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> with torch.no_grad():
    ...     _ = net.weight.fill_(2.0)  # a constant field: no gradient, no jump
    >>> SmoothnessPenalty(1.0)(net).item()
    0.0
    """

    def __init__(self, weight: float):
        self.weight = _checks.real(weight, "weight")
        if self.weight < 0:
            raise ValueError(f"weight must be >= 0, got {self.weight}")
        self._cache: dict = {}

    def _matrices(self, mesh: Mesh, like: torch.Tensor) -> tuple[list, list]:
        key = (id(mesh), like.dtype, like.device)
        entry = self._cache.get(key)
        if entry is None or entry[0] is not mesh:
            def tensor(a):
                return torch.as_tensor(np.asarray(a), dtype=like.dtype, device=like.device)

            masses = [tensor(m.toarray()) for m in mass_factors(mesh)]
            entry = self._cache[key] = (mesh, masses, [tensor(seminorm_matrix(axis)) for axis in mesh.axes])
        return entry[1], entry[2]

    def __call__(self, network) -> torch.Tensor:
        total = None
        for name, mesh in network.parameter_meshes().items():
            u = getattr(network, name)
            term = smoothness(u, *self._matrices(mesh, u))
            total = term if total is None else total + term
        return self.weight * total
