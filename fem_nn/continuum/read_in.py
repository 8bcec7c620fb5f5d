"""Read-ins: how an input becomes the state at the width nodes.

A P0 signal of N_x samples (N_x equal cells of the width interval) is read by a registered
:class:`ReadInForm`, whose operator (a gather of one sample per node, or a matrix nodes ×
N_x) the network, its frozen form and the Numba backend all apply. Samples at given points
are read by linear interpolation, and :class:`~fem_nn.Field` inputs by their values.
A new form is one subclass and one :meth:`~fem_nn.continuum.Registry.register` call on
:data:`read_ins`.
"""

from __future__ import annotations

import numpy as np
import torch

from ..assembly import mass_matrix, mixed_mass_matrix
from ..mesh import Axis, uniform_axis
from .registry import Registry

__all__ = ["ReadInForm", "Sample", "Projection", "read_ins", "interpolated", "field_values", "positions"]


def _p0_projection(target: Axis, source: Axis) -> np.ndarray:
    """The L2 projection (target dofs × source dofs) from `source` onto `target`, dense."""
    return np.linalg.solve(mass_matrix(target).toarray(), mixed_mass_matrix(target, source).toarray())


class ReadInForm:
    """The base of the read-ins of P0 signals.

    Attributes
    ----------
    name : str
        The registered name (what ``read_in_form=`` and a saved config take).

    Examples
    --------
    >>> from fem_nn import ContinuumNetwork, bias_mesh, uniform_axis, weight_mesh
    >>> width, depth = uniform_axis((-1, 1), 2, "legendre", 1), uniform_axis((0, 1), 1, "p0", 0)
    >>> net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), read_in_form="projection")
    >>> net.read_in_form, net.read_in(torch.tensor([[0.0, 1.0, 2.0, 3.0]])).round(decimals=4)  # a linear fit per cell
    (ReadInForm('projection'), tensor([[0.0670, 0.9330, 2.0670, 2.9330]]))
    """

    name = ""

    def operator(self, basis, n_samples: int) -> np.ndarray:
        """The read-in of signals of `n_samples` samples at the nodes of `basis` (a
        :class:`~fem_nn.continuum.WidthBasis`): an integer array (the sample each node
        reads) or a float64 matrix R (nodes × n_samples), the state being ``R x``."""
        raise NotImplementedError

    def resampled(self, basis, n_samples: int, trained: int) -> np.ndarray:
        """The matrix (nodes × n_samples) that reads `n_samples` samples into a network
        built for `trained`: by default the L2 projection onto P0 on `trained` cells, then
        this form's operator."""
        interval = basis.node_axis.interval
        projection = _p0_projection(uniform_axis(interval, trained, "p0", 0), uniform_axis(interval, n_samples, "p0", 0))
        operator = self.operator(basis, trained)
        return projection[operator] if operator.dtype.kind == "i" else operator @ projection

    def __repr__(self) -> str:
        return f"ReadInForm({self.name!r})"


class Sample(ReadInForm):
    """Each node reads the input cell that holds it. With fewer nodes than samples some
    samples are never read, and what is read depends on where the nodes lie."""

    name = "sample"

    def operator(self, basis, n_samples: int) -> np.ndarray:
        return basis.node_cells(uniform_axis(basis.node_axis.interval, n_samples, "p0", 0))[0]


class Projection(ReadInForm):
    """The exact L2 projection of the P0 signal onto the discontinuous polynomials of the
    width partition and orders (on the supermesh), evaluated at the nodes. Every sample
    counts, and the first integral ``∫ W h dη`` is unchanged by width refinement,
    elevation or more quadrature points: the projection's error is orthogonal to every
    W(ξ, ·, δ) of the width space, and the integrand is a polynomial the rule integrates
    exactly. Any sample count is read the same way."""

    name = "projection"

    def operator(self, basis, n_samples: int) -> np.ndarray:
        eta = basis.node_axis
        width = Axis(eta.breakpoints, "legendre", eta.orders)
        projection = _p0_projection(width, uniform_axis(eta.interval, n_samples, "p0", 0))
        cells, nodes = basis.node_cells(width)  # each node in its own cell
        return width.evaluation_matrix(nodes, cells=cells).toarray() @ projection

    def resampled(self, basis, n_samples: int, trained: int) -> np.ndarray:
        return self.operator(basis, n_samples)


read_ins = Registry(ReadInForm, "read_in_form")
read_ins.register(Sample())
read_ins.register(Projection())


def positions(value, name: str) -> np.ndarray:
    """`value` as a float array of positions, or TypeError naming `name`."""
    try:
        array = np.asarray(value)
    except ValueError:  # ragged nesting
        raise TypeError(f"{name} must be an array of real positions, got {value!r}") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an array of real positions, got dtype {array.dtype}")
    return array.astype(float)


def interpolated(nodes: np.ndarray, x: torch.Tensor, points, dtype: torch.dtype) -> torch.Tensor:
    """The piecewise-linear interpolant at `nodes` of samples `x` ``(batch, N_x)`` at
    `points` (N_x increasing positions), constant beyond the first and last point."""
    points = positions(points, "points")
    if points.shape != (x.shape[1],):
        raise ValueError(f"points must have one entry per sample of x ({x.shape[1]}), got shape {points.shape}")
    if not np.all(np.isfinite(points)) or np.any(np.diff(points) <= 0):
        raise ValueError("points must be finite and strictly increasing")
    # one point: left = right = 0, the constant signal
    right = np.clip(np.searchsorted(points, nodes), min(1, len(points) - 1), len(points) - 1)
    left = np.maximum(right - 1, 0)
    span = points[right] - points[left]
    weight = np.clip((nodes - points[left]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    w = torch.as_tensor(weight, dtype=dtype, device=x.device)
    x = x.to(dtype)
    return x[:, torch.as_tensor(left, device=x.device)] * (1 - w) + x[:, torch.as_tensor(right, device=x.device)] * w


def field_values(basis, fields: list, points) -> torch.Tensor:
    """The state ``(batch, nodes)`` from 1D Fields on the width interval: their values at the
    nodes of `basis`, each node read in its own cell."""
    if points is not None:
        raise ValueError("points must be None when x holds Fields: a Field carries its own mesh")
    interval = basis.node_axis.interval
    for i, field in enumerate(fields):
        if field.mesh.dim != 1 or not np.allclose(field.mesh.box[0], interval):
            raise ValueError(f"x[{i}] must be a Field on a 1D mesh of the width interval {interval}, got {field.mesh.box}")
    values = []
    for field in fields:
        axis = field.mesh.axes[0]
        cells, nodes = basis.node_cells(axis)
        values.append(axis.evaluation_matrix(nodes, cells=cells) @ field.coefficients)
    return torch.as_tensor(np.stack(values), dtype=basis.node_weights.dtype, device=basis.node_weights.device)
