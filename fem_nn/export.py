"""Fields on disk: exact round-trip files, and sampled files that ParaView opens.

* :func:`save_field` / :func:`load_field` keep a field exactly: one safetensors file holding
  the float64 coefficients as the tensor ``"coefficients"`` and, in its metadata under the
  key ``"fem_nn_field"``, JSON ``{"version": 1, "mesh": <mesh file content>}`` (the content of
  a JSON mesh file, see :mod:`fem_nn.io`). No pickle: loading reads numbers and JSON only.
* :func:`write_paraview` samples a field on a sub-grid of every mesh cell and writes it
  through meshio as VTU or XDMF, for viewing, not for reading back into a Field. meshio (and
  h5py, for XDMF) are the optional extra ``paraview``: imported when a ParaView file is
  written, an ImportError that says how to install them otherwise.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as safetensors_bytes

from . import _checks
from .field import Field
from .io import atomic_write_bytes, mesh_from_dict, mesh_to_dict
from .mesh import Mesh
from .tensor import apply_kronecker

__all__ = ["save_field", "load_field", "write_paraview", "write_paraview_mesh", "PARAVIEW_FORMATS"]

FORMAT, VERSION = "fem_nn_field", 1
TENSOR = "coefficients"
# meshio's writer for each accepted suffix; XML keeps XDMF in one file (no HDF5 side file)
PARAVIEW_FORMATS = {".vtu": ("vtu", {}), ".xdmf": ("xdmf", {"data_format": "XML"})}
CELL_TYPES = {1: "line", 2: "quad", 3: "hexahedron"}
# the most sample points a ParaView file may have (about 1 GB of points, values and cells in
# 3D): a larger request is refused before any array is made
MAX_SAMPLE_POINTS = 2**25
# VTK's corner order of a hexahedron: the bottom face counter-clockwise, then the top face;
# its first 4 rows and 2 columns are VTK's quad, its first 2 rows and 1 column the line
VTK_CORNERS = np.array(
    [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)]
)


def save_field(path: str | os.PathLike, field: Field) -> None:
    """Write `field` to one safetensors file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (by convention ``*.safetensors``); an existing file is replaced
        only once the new one is complete.
    field : Field

    Raises
    ------
    TypeError
        If `field` is not a :class:`~fem_nn.Field`.

    Examples
    --------
    >>> import tempfile
    >>> from fem_nn import Field, bias_mesh
    >>> field = Field.from_function(bias_mesh(), lambda xi, delta: xi * delta)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_field(f"{folder}/bias.safetensors", field)
    ...     copy = load_field(f"{folder}/bias.safetensors")
    >>> copy.mesh == field.mesh, bool(np.array_equal(copy.coefficients, field.coefficients))
    (True, True)
    """
    if not isinstance(field, Field):
        raise TypeError(f"field must be a Field, got {type(field).__name__}")
    header = json.dumps({"version": VERSION, "mesh": mesh_to_dict(field.mesh)})
    tensors = {TENSOR: np.ascontiguousarray(field.coefficients)}
    data = safetensors_bytes(tensors, metadata={FORMAT: header})
    atomic_write_bytes(path, data)


def load_field(path: str | os.PathLike) -> Field:
    """Read and validate a field file written by :func:`save_field`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Field
        On the saved mesh (a field saved on an :class:`~fem_nn.Axis` comes back on the 1D mesh
        of that axis, as ``Field(axis)`` holds it), with the saved coefficients bit for bit.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the file is not a safetensors file, lacks the ``"fem_nn_field"`` metadata of
        version 1, holds an invalid mesh, or its coefficients are not the mesh's dof shape
        or not finite. The message names the file and what was expected.
    TypeError
        If the coefficients are not float64.

    Examples
    --------
    >>> import tempfile
    >>> from fem_nn import Field, uniform_axis
    >>> axis = uniform_axis(n_cells=2, family="legendre", order=1)
    >>> field = Field(axis, np.array([1.0, 0.5, -1.0, 0.0]))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_field(f"{folder}/signal.safetensors", field)
    ...     load_field(f"{folder}/signal.safetensors").coefficients
    array([ 1. ,  0.5, -1. ,  0. ])
    """
    path = Path(path)
    where = f"field file {path}"
    try:
        with safe_open(path, framework="numpy") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: np.array(handle.get_tensor(name)) for name in handle.keys()}
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no such file") from None
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{where}: not a readable safetensors file ({error})") from None
    if FORMAT not in metadata:
        raise ValueError(f"{where}: no '{FORMAT}' metadata (not a fem_nn field file?)")
    try:
        header = json.loads(metadata[FORMAT])
    except (ValueError, RecursionError) as error:  # bad JSON, the int-digits limit, deep nesting
        reason = str(error)[:200]
        raise ValueError(f"{where}: '{FORMAT}' metadata is not valid JSON ({reason})") from None
    version = header.get("version") if isinstance(header, dict) else None
    if type(version) is not int or version != VERSION:  # not True, not 1.0
        raise ValueError(f"{where}: expected '{FORMAT}' metadata with \"version\": {VERSION}")
    mesh = mesh_from_dict(header.get("mesh"), f"{where}: mesh")
    if set(tensors) != {TENSOR}:
        raise ValueError(f"{where}: expected exactly one tensor '{TENSOR}', got {sorted(tensors)}")
    coefficients = tensors[TENSOR]
    if coefficients.dtype != np.float64:
        raise TypeError(f"{where}: '{TENSOR}' must be float64, got {coefficients.dtype}")
    if coefficients.shape != mesh.shape:  # exactly: Field would also take a flat array
        raise ValueError(
            f"{where}: '{TENSOR}' must have the mesh's shape {mesh.shape}, got {coefficients.shape}"
        )
    try:
        return Field(mesh, coefficients)
    except ValueError as error:  # NaN or inf
        raise ValueError(f"{where}: {error}") from None


def _sample_axis(axis, subdivisions: int):
    """`subdivisions` + 1 equispaced points in every cell of `axis`, cell by cell (shape
    (n_cells, subdivisions + 1)), and the sparse matrix giving a coefficient vector's values
    there, each point's value taken from its own cell."""
    t = np.linspace(0.0, 1.0, subdivisions + 1)
    # this form puts the end points exactly on the breakpoints, where `side` picks the cell
    x = axis.breakpoints[:-1, None] * (1.0 - t) + axis.breakpoints[1:, None] * t
    matrix = axis.evaluation_matrix(x.ravel(), side="right").tolil()
    # a cell's right end is its right neighbour's left end: it takes the left limit instead
    matrix[subdivisions :: subdivisions + 1] = axis.evaluation_matrix(x[:, -1], side="left")
    return x, matrix.tocsr()


def _sub_cells(cells_per_axis, subdivisions) -> tuple[np.ndarray, np.ndarray]:
    """VTK connectivity of the sub-cells on the grid of per-cell sample points, and the index
    (C order) of the mesh cell each sub-cell lies in."""
    starts, owners = [], []
    for n, s in zip(cells_per_axis, subdivisions):
        owner = np.repeat(np.arange(n), s)
        starts.append(owner * (s + 1) + np.tile(np.arange(s), n))  # each sub-cell's first point
        owners.append(owner)
    grid = tuple(n * (s + 1) for n, s in zip(cells_per_axis, subdivisions))
    starts = np.meshgrid(*starts, indexing="ij")
    dim = len(grid)
    connectivity = np.stack(
        [
            np.ravel_multi_index(tuple(g + o for g, o in zip(starts, corner)), grid).ravel()
            for corner in VTK_CORNERS[: 2**dim, :dim]
        ],
        axis=1,
    )
    owners = np.meshgrid(*owners, indexing="ij")
    owner = np.ravel_multi_index(tuple(owners), tuple(cells_per_axis)).ravel()
    return connectivity, owner


def write_paraview(
    path: str | os.PathLike, field: Field, points_per_cell: int | None = None
) -> None:
    """Write `field`, sampled on a sub-grid of every mesh cell, as a file ParaView opens.

    Each mesh cell (a tensor product of one cell per axis) is split into equal sub-cells:
    lines in 1D, quads in 2D, hexahedra in 3D, with mesh axis k along coordinate k (x, y, z;
    unused coordinates are 0). A mesh cell's sample points are its own, not shared with its
    neighbours, so a discontinuous field (P0, Legendre, discontinuous Lagrange) keeps its jumps:
    on a breakpoint, each side shows its own cell's limit.

    Parameters
    ----------
    path : str or os.PathLike
        Ending in ``.vtu`` (VTK unstructured grid) or ``.xdmf`` (XDMF 3, data inline as XML:
        one file). Written atomically.
    field : Field
        On a 1D, 2D or 3D mesh.
    points_per_cell : int, optional
        Sample points per mesh cell along every axis (>= 2): ``points_per_cell - 1``
        sub-cells per axis. Default: ``max(1, max order of the axis) + 1`` along each axis,
        so a P1 or P0 axis is not subdivided and an order-p axis is split p times.

    Raises
    ------
    TypeError
        If `field` is not a Field or `points_per_cell` not an integer.
    ValueError
        If the suffix of `path` is not accepted, or `points_per_cell` < 2; nothing is
        written then.

    Notes
    -----
    The file holds point data ``"value"`` (the field at each point) and cell data ``"cell"``
    (the C-order index of the mesh cell a sub-cell lies in). It has
    ``n_mesh_cells × Π_k s_k`` sub-cells, with ``s_k`` the sub-cells per axis.
    ``.xdmf`` needs h5py installed: meshio's XDMF writer imports it even for inline XML.

    Examples
    --------
    >>> import tempfile, meshio
    >>> from fem_nn import Field, signal_mesh
    >>> field = Field.from_function(signal_mesh(), lambda x: x)  # 8 P1 cells
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_paraview(f"{folder}/signal.vtu", field, points_per_cell=3)
    ...     sampled = meshio.read(f"{folder}/signal.vtu")
    >>> len(sampled.cells_dict["line"]), sampled.points.shape
    (16, (24, 3))
    >>> bool(np.allclose(sampled.point_data["value"], sampled.points[:, 0]))
    True
    """
    if not isinstance(field, Field):
        raise TypeError(f"field must be a Field, got {type(field).__name__}")
    _paraview_format(path)
    axes = field.mesh.axes
    if points_per_cell is None:
        subdivisions = [max(1, axis.max_order) for axis in axes]
    else:
        subdivisions = [_checks.integer(points_per_cell, "points_per_cell", 2) - 1] * len(axes)
    _check_size(axes, subdivisions, "points_per_cell" if points_per_cell is not None else "field")
    samples = [_sample_axis(axis, s) for axis, s in zip(axes, subdivisions)]
    # the values on the whole grid of sample points at once, by sum factorization
    values = apply_kronecker([matrix for _, matrix in samples], field.coefficients).ravel()
    points, connectivity, owner = _sub_grid(axes, [x for x, _ in samples], subdivisions)
    _write(path, points, [(CELL_TYPES[len(axes)], connectivity)], point_data={"value": values}, cell_data={"cell": [owner]})


def write_paraview_mesh(path: str | os.PathLike, mesh: Mesh) -> None:
    """Write the cells of `mesh` as a file ParaView opens, with each cell's order per axis.

    Parameters
    ----------
    path : str or os.PathLike
        Ending in ``.vtu`` or ``.xdmf``, as for :func:`write_paraview`; written atomically.
    mesh : Mesh
        A 1D, 2D or 3D mesh: one line, quad or hexahedron per mesh cell.

    Notes
    -----
    Cell data: ``"cell"`` (the C-order index of the mesh cell) and ``"order_<axis>"`` (the
    polynomial order of the cell along each axis, e.g. ``order_delta``).

    Examples
    --------
    >>> import tempfile, meshio
    >>> from fem_nn import bundled_mesh
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_paraview_mesh(f"{folder}/mesh.vtu", bundled_mesh("graded_hp"))
    ...     cells = meshio.read(f"{folder}/mesh.vtu")
    >>> len(cells.cells_dict["hexahedron"]), sorted(set(cells.cell_data["order_delta"][0].tolist()))
    (320, [1, 2, 3, 4])
    """
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a Mesh, got {type(mesh).__name__}")
    _paraview_format(path)
    axes, ones = mesh.axes, [1] * mesh.dim
    _check_size(axes, ones, "mesh")
    points, connectivity, owner = _sub_grid(axes, [_sample_axis(axis, 1)[0] for axis in axes], ones)
    cell = np.unravel_index(owner, tuple(axis.n_cells for axis in axes))
    orders = {f"order_{name}": [axis.orders[c]] for name, axis, c in zip(mesh.names, axes, cell)}
    _write(path, points, [(CELL_TYPES[mesh.dim], connectivity)], cell_data={"cell": [owner], **orders})


def _sub_grid(axes, samples, subdivisions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 3D points of the per-cell sample grids (`samples[k]`: axis k's points, cell by
    cell), the sub-cells' VTK connectivity and each sub-cell's mesh cell."""
    coordinates = np.meshgrid(*(x.ravel() for x in samples), indexing="ij")
    points = np.zeros((coordinates[0].size, 3))
    points[:, : len(axes)] = np.stack([c.ravel() for c in coordinates], axis=1)
    connectivity, owner = _sub_cells([axis.n_cells for axis in axes], subdivisions)
    return points, connectivity, owner


def _check_size(axes, subdivisions, name: str) -> None:
    """ValueError naming `name` if the sample grid would exceed MAX_SAMPLE_POINTS."""
    points = 1
    for axis, s in zip(axes, subdivisions):
        points *= axis.n_cells * (s + 1)  # Python integers: no overflow
    if points > MAX_SAMPLE_POINTS:
        raise ValueError(f"{name}: the sample grid would have {points} points, more than {MAX_SAMPLE_POINTS}")


def _paraview_format(path) -> tuple[str, dict]:
    """meshio's format name and writer options for the suffix of `path`."""
    suffix = Path(path).suffix.lower()
    if suffix not in PARAVIEW_FORMATS:
        raise ValueError(f"path must end in one of {sorted(PARAVIEW_FORMATS)}, got {os.fspath(path)!r}")
    return PARAVIEW_FORMATS[suffix]


def _meshio(file_format: str):
    """The meshio module, checked to write `file_format`; ImportError saying what to install."""
    needed = ["meshio"] + (["h5py"] if file_format == "xdmf" else [])  # meshio's XDMF writer imports h5py
    try:
        import meshio

        if file_format == "xdmf":
            import h5py  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"writing a ParaView .{file_format} file needs {' and '.join(needed)} (missing: {error.name}): "
            "pip install 'fem_nn[paraview]'"
        ) from None
    return meshio


def _write(path, points: np.ndarray, cells: list, **data) -> None:
    """meshio's file of the points, cells and `data` (point_data, cell_data), made in a
    scratch folder and then written atomically at `path`."""
    file_format, options = _paraview_format(path)
    meshio = _meshio(file_format)
    sampled = meshio.Mesh(points, cells, **data)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder) / f"out{Path(path).suffix}"
        meshio.write(scratch, sampled, file_format=file_format, **options)
        atomic_write_bytes(path, scratch.read_bytes())
