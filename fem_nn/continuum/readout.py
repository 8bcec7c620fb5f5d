"""The read-out: the state at the Nyström nodes projected onto an output mesh (or evaluated
at output points), and the mass matrix of the integral L2 loss on the outputs."""

from __future__ import annotations

import numpy as np

from ..assembly import mass_factors, mass_matrix, mixed_mass_matrix
from ..mesh import Axis, Mesh
from .read_in import positions
from .width import nystrom_nodes

__all__ = ["readout_matrix", "output_mass"]


def readout_matrix(output_mesh, node_axis: Axis) -> np.ndarray:
    """R with R h the L2 projection of the state onto the output mesh (or its values at
    output points).

    The state, known at the nodes, is first a field of the discontinuous (Legendre)
    space of the nodes' partition, of each cell's order (at most the nodes per cell
    less one), by the discrete L2 projection of the Nyström quadrature (discontinuous,
    as the state may jump where the input does; each node read in its own cell, so
    that both copies of a Lobatto node count). With the quadrature's own mass matrix,
    a state of that space is recovered exactly for Gauss–Legendre and Gauss–Lobatto
    rules alike. The field is then projected exactly, on the supermesh, onto the output
    mesh: outputs finer than the nodes read the field, not empty cells.

    Examples
    --------
    >>> from fem_nn import uniform_axis
    >>> axis = uniform_axis((-1, 1), 4, "lagrange", 1)  # 8 Gauss nodes
    >>> readout_matrix(np.array([-0.5, 0.0, 0.5]), axis).shape
    (3, 8)
    """
    nodes, weights, spans = nystrom_nodes(node_axis)
    orders = np.minimum(node_axis.orders, node_axis.quadrature_points - 1)
    width = Axis(node_axis.breakpoints, "legendre", orders)
    cells, nodes = width.locate_within(nodes, *spans)
    values = width.evaluation_matrix(nodes, cells=cells).toarray()
    load = values.T * weights
    to_width = np.linalg.solve(load @ values, load)
    if not isinstance(output_mesh, Mesh):
        points = positions(output_mesh, "output_mesh")
        if points.ndim != 1 or points.size == 0:
            raise ValueError(f"output_mesh must be a 1D Mesh or a 1D array of points, got shape {points.shape}")
        return width.evaluation_matrix(points).toarray() @ to_width  # locate() checks the interval
    if output_mesh.dim != 1:
        raise ValueError("output_mesh must be a 1D Mesh on the width interval")
    if not np.allclose(output_mesh.box[0], width.interval):
        raise ValueError(f"output_mesh must cover the width interval {width.interval}, got {output_mesh.box[0]}")
    return np.linalg.solve(mass_matrix(output_mesh).toarray(), mixed_mass_matrix(output_mesh.axes[0], width) @ to_width)


def output_mass(output_mesh, readout: np.ndarray | None, node_weights: np.ndarray, width_interval) -> np.ndarray:
    """The matrix M of the loss ``∫ (y − y*)² dξ = eᵀ M e`` on the outputs: the output mesh's
    mass matrix, the interval's length over the count for output points, or the Nyström
    weights for the state at the nodes (`readout` None)."""
    if readout is None:
        return np.diag(node_weights)
    if isinstance(output_mesh, Mesh):
        return mass_factors(output_mesh)[0].toarray()
    return np.eye(len(readout)) * (np.diff(width_interval)[0] / len(readout))
