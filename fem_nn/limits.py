"""Memory limits: an operation estimates the memory it needs before it allocates anything,
and refuses with a :class:`MemoryLimitError` that says how much it would need and which
limit that exceeds.

The limit is the environment variable ``FEM_NN_MAX_BYTES``, read at every check: a number
of bytes (``8000000000``, ``8e9``) or one with a binary suffix (``512M``, ``16G``, ``1T``);
default :data:`DEFAULT_MAX_BYTES` (4 GiB). Raise it to allow larger operations, e.g.
``FEM_NN_MAX_BYTES=64G fem-nn project ...``.

The estimates count the large arrays an operation holds at once (Python's own overhead
aside), so they are lower bounds of its peak: an operation refused here would need at
least that much.

Examples
--------
>>> from fem_nn import weight_mesh
>>> field_bytes(weight_mesh())  # 9 × 9 × 4 float64 coefficients
2592
>>> check_bytes(2**40, "a test")
Traceback (most recent call last):
...
fem_nn.limits.MemoryLimitError: a test would need about 1.0 TiB (1099511627776 bytes), more than the limit FEM_NN_MAX_BYTES = 4.0 GiB; set FEM_NN_MAX_BYTES (e.g. 16G) to allow more
"""

from __future__ import annotations

import math
import os
import re

from .mesh import Mesh

__all__ = [
    "MemoryLimitError", "DEFAULT_MAX_BYTES", "max_bytes", "check_bytes", "axis_bytes", "field_bytes", "grid_bytes",
    "projection_bytes", "mesh_bytes", "plot_bytes", "network_bytes", "check_network",
]

ENV = "FEM_NN_MAX_BYTES"
DEFAULT_MAX_BYTES = 4 * 2**30
# measured (tracemalloc peaks): a uniform P1 axis of 10⁶ cells made and saved as JSON, 162
# bytes a cell; plot_mesh of 5000 cells, 9.8 kB a cell (one matplotlib Rectangle each);
# plot_field of a 1000 × 1000-cell field, 126 bytes a sample of its image
MESH_FILE_BYTES_PER_CELL = 160
PLOT_BYTES_PER_CELL = 10_000
PLOT_BYTES_PER_SAMPLE = 128
_SUFFIXES = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


class MemoryLimitError(ValueError):
    """An operation would need more memory than ``FEM_NN_MAX_BYTES`` allows."""


def max_bytes() -> int:
    """The limit: ``FEM_NN_MAX_BYTES`` if set, else :data:`DEFAULT_MAX_BYTES`."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    match = re.fullmatch(r"([0-9.]+(?:[eE][0-9]+)?)\s*([KMGT]?)i?B?", text, flags=re.IGNORECASE)
    try:
        value = float(match.group(1)) * _SUFFIXES[match.group(2).upper()]
    except (AttributeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{ENV} must be a positive number of bytes, optionally with K, M, G or T, got {text!r}")
    return int(value)


def _size(nbytes: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{int(nbytes)} bytes"


def check_bytes(nbytes: float, what: str) -> None:
    """MemoryLimitError, saying that `what` would need `nbytes` and naming the limit, when
    `nbytes` exceeds :func:`max_bytes`."""
    limit = max_bytes()
    if nbytes > limit:
        raise MemoryLimitError(f"{what} would need about {_size(nbytes)} ({int(nbytes)} bytes), more than the limit "
                               f"{ENV} = {_size(limit)}; set {ENV} (e.g. 16G) to allow more")


def axis_bytes(cells: int, order: int, points: int | None = None) -> int:
    """An axis of `cells` cells up to `order` with `points` quadrature points a cell (default
    ``order + 1``): its breakpoints, orders and dof offsets, and one cell's values and
    derivatives of the shape functions at its points (what any use of the axis tabulates)."""
    points = order + 1 if points is None else points
    return 8 * (3 * cells + 2 * points * (order + 1))


def field_bytes(mesh) -> int:
    """A field's float64 coefficients on `mesh`."""
    return 8 * mesh.n_dofs


def grid_bytes(points_per_axis) -> int:
    """Three float64 arrays on the tensor grid with `points_per_axis` points along each axis
    (a function's values there, and the two stages of applying one-axis operators)."""
    return 24 * math.prod(points_per_axis)


def projection_bytes(source, target) -> int:
    """The L2 projection of a field on the mesh `source` onto `target`, one axis at a time:
    both coefficient arrays and twice the largest intermediate (source axes left of the
    axis done, target axes right of it)."""
    shapes = [math.prod(target.shape[:k]) * math.prod(source.shape[k:]) for k in range(source.dim + 1)]
    return 8 * (source.n_dofs + target.n_dofs + 2 * max(shapes))


def mesh_bytes(axes) -> int:
    """A mesh made and written to a file: :func:`axis_bytes` of each ``(cells, order, points)``
    in `axes` and :data:`MESH_FILE_BYTES_PER_CELL` a cell."""
    return sum(axis_bytes(*axis) + MESH_FILE_BYTES_PER_CELL * axis[0] for axis in axes)


def plot_bytes(mesh, field: bool) -> int:
    """A figure of `mesh` (:data:`PLOT_BYTES_PER_CELL` a cell) or of a field on it: a slice's
    copy of the coefficients and :data:`PLOT_BYTES_PER_SAMPLE` for each sample of an image
    across the two finest axes (at least one sample a cell, and 256 an axis)."""
    if not field:
        return PLOT_BYTES_PER_CELL * sum(axis.n_cells for axis in mesh.axes)
    samples = sorted(max(axis.n_cells, 256) for axis in mesh.axes)[-2:]
    return field_bytes(mesh) + PLOT_BYTES_PER_SAMPLE * math.prod(samples)


def network_bytes(weight_mesh, bias_mesh, layers: int = 1, itemsize: int = 4, outputs: int | None = None,
                  channels: int = 1, kernel_form: str = "auto") -> int:
    """A continuum network of `layers` weight-and-bias pairs of `channels` channels: its
    parameters (drawn in float64, kept at `itemsize` bytes), the
    dense output mass (``outputs`` read-out dofs or points; ``None``: one per Nyström node)
    and read-out, and one forward pass's kernels per depth dof: a (node · channel)² matrix
    for the ``"dense"`` `kernel_form`, the coefficient matrix for ``"factored"``, the
    smaller of the two for ``"auto"``."""
    nodes = weight_mesh.axes[1].n_cells * weight_mesh.axes[1].quadrature_points
    n_xi, n_eta, n_depth = weight_mesh.shape
    parameters = layers * (weight_mesh.n_dofs * channels**2 + bias_mesh.n_dofs * channels) * (8 + itemsize)
    output = 8 * nodes**2 if outputs is None else 8 * outputs * (outputs + nodes)
    table = {"dense": nodes**2, "factored": n_xi * n_eta}.get(str(kernel_form), min(nodes**2, n_xi * n_eta))
    kernels = layers * n_depth * table * channels**2 * itemsize
    return parameters + output + kernels


def check_network(weight_mesh, bias_mesh, layers: int, dtype, output_mesh, channels: int = 1, kernel_form: str = "auto") -> None:
    """:func:`check_bytes` of a :class:`~fem_nn.ContinuumNetwork` built with these arguments
    (checked meshes; the others as given to the constructor, checked later)."""
    itemsize = getattr(dtype, "itemsize", None)
    itemsize = itemsize if isinstance(itemsize, int) else 8  # not a torch dtype: refused after this
    if output_mesh is None or isinstance(output_mesh, Mesh):
        outputs = None if output_mesh is None else output_mesh.n_dofs
    else:  # read-out points
        outputs = len(output_mesh) if hasattr(output_mesh, "__len__") else 0
    nbytes = network_bytes(weight_mesh, bias_mesh, layers, itemsize, outputs, channels, kernel_form)
    check_bytes(nbytes, f"a continuum network on the weight mesh {weight_mesh.shape}")
