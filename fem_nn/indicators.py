"""Error indicators of a network's fields, one per cell of a network axis: the jumps across
cell ends, the share of the highest mode (smoothness), the loss gradient's L2 field; what
:func:`~fem_nn.adapted_network` refines by."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .assembly import mass_factors
from .continuum import ContinuumNetwork, network_axes
from .elements import Family
from .mesh import Axis, Mesh
from .projection import Projector
from .quadrature import gauss_legendre, points_for_degree, rule_on_cells
from .tensor import BandedCholesky, apply_along, apply_kronecker

__all__ = ["error_indicators", "depth_indicators", "depth_smoothness", "INDICATORS"]

INDICATORS = ("jump", "smoothness", "gradient")


def _check_network(network) -> None:
    if not isinstance(network, ContinuumNetwork):
        raise TypeError(f"network must be a ContinuumNetwork, got {type(network).__name__}")


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
    x, w = rule_on_cells(gauss_legendre(points_for_degree(2 * axis.family.quadrature_degree(axis.max_order))), axis.breakpoints)
    return (_slab_energies(mesh, g, k, axis.evaluation_matrix(x.ravel())).reshape(x.shape) * w).sum(axis=1)


def _mode_energies(mesh: Mesh, u: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell of axis `k`, the energy of u's highest mode along `k` on the cell's slab (its
    highest Legendre mode, or a Fourier axis' highest frequency), and its total energy there."""
    axis = mesh.axes[k]
    fourier = axis.family is Family.FOURIER
    if fourier:  # its own modes: orthogonal on each cell
        modal, coefficients = mesh, u
    else:
        modal = mesh.with_axis(k, Axis(axis.breakpoints, "legendre", axis.orders))  # contains u's space
        coefficients = Projector(modal, mesh)(u)
    mass = mass_factors(modal)[k]  # diagonal: the modes are orthogonal
    energy = _slab_energies(modal, coefficients, k, sparse.identity(mass.shape[0])) * mass.diagonal()
    dofs, cells = modal.axes[k].cell_dofs(), np.arange(axis.n_cells)
    top = energy[dofs[cells, axis.orders]]
    if fourier:  # an even order ends on the sine of the frequency whose cosine comes before it
        paired = (axis.orders > 0) & (axis.orders % 2 == 0)
        top = top + np.where(paired, energy[dofs[cells, np.maximum(axis.orders - 1, 0)]], 0.0)
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
    >>> import torch
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
        values = (p.grad if kind == "gradient" else p).detach().cpu().double().numpy()
        k = mesh.axis_index(name)
        for index in np.ndindex(values.shape[mesh.dim:]):  # channel entries: their energies add
            u = values[(..., *index)]
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
    >>> import torch
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> depth_indicators(ContinuumNetwork(weight_mesh(), bias_mesh())).shape
    (4,)
    """
    return error_indicators(network, "depth", "jump")


def depth_smoothness(network: ContinuumNetwork) -> np.ndarray:
    """``error_indicators(network, "depth", "smoothness")`` (the name fem_nn exported first).

    Examples
    --------
    >>> import torch
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> depth_smoothness(ContinuumNetwork(weight_mesh(), bias_mesh())).tolist()  # P0 in depth
    [1.0, 1.0, 1.0, 1.0]
    """
    return error_indicators(network, "depth", "smoothness")
