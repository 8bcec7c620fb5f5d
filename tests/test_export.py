"""Fields on disk: exact safetensors round trips, atomic saves, malformed and hostile files
rejected naming the file, and ParaView files (VTU, XDMF) whose sampled values, cell counts
and cell orientation are checked after reading them back with meshio.
"""

import json
import os
import stat

import meshio
import numpy as np
import pytest
from safetensors.numpy import save_file

from fem_nn import Axis, Field, Mesh, uniform_axis
from fem_nn import export
from fem_nn.export import load_field, save_field, write_paraview
from fem_nn.io import mesh_to_dict

BOXES = {1: [(-1.0, 1.0)], 2: [(-1.0, 1.0), (0.0, 1.0)], 3: [(-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0)]}
# (family, order) per axis kind; a list is one order per cell
KINDS = {
    "P0": ("p0", 0),
    "P1": ("lagrange", 1),
    "P2": ("lagrange", 2),
    "P3": ("lagrange", 3),
    "DG2": ("lagrange_dg", 2),
    "legendre": ("legendre", [2, 0, 3]),
}


def axis_of(kind, interval, cells=3):
    """An axis of `kind` with uneven breakpoints (cells of widths 1 : 2 : 3 ...)."""
    family, order = KINDS[kind]
    a, b = interval
    widths = np.arange(1, cells + 1)
    return Axis(a + (b - a) * np.concatenate(([0], np.cumsum(widths))) / widths.sum(), family, order)


def random_field(rng, kinds):
    mesh = Mesh([axis_of(kind, interval) for kind, interval in zip(kinds, BOXES[len(kinds)])])
    return Field(mesh, rng.standard_normal(mesh.shape))


# --- save_field / load_field ------------------------------------------------------------

@pytest.mark.parametrize(
    "kinds",
    [("P0",), ("P3",), ("legendre",), ("P1", "P0"), ("DG2", "legendre"), ("P2", "legendre", "P0"),
     ("P3", "DG2", "P1")],
    ids="-".join,
)
def test_round_trip_is_exact(tmp_path, rng, kinds):
    field = random_field(rng, kinds)
    field.coefficients.flat[:3] = [-0.0, 5e-324, np.finfo(float).max]  # signed zero, subnormal, largest
    save_field(tmp_path / "f.safetensors", field)
    loaded = load_field(tmp_path / "f.safetensors")
    assert loaded.mesh == field.mesh and loaded.mesh.names == field.mesh.names
    assert loaded.coefficients.tobytes() == field.coefficients.tobytes()  # bit for bit
    assert np.array_equal(loaded.coefficients, field.coefficients)


def test_axis_field_round_trips_on_its_axis(tmp_path, rng):
    axis = Axis([0.0, 0.3, 1.0], "legendre", [4, 1], "gauss_lobatto", 7)
    field = Field(axis, rng.standard_normal(axis.n_dofs))
    save_field(str(tmp_path / "f.safetensors"), field)  # a str path as well as a Path
    loaded = load_field(str(tmp_path / "f.safetensors"))
    assert loaded.mesh == Mesh((axis,)) and loaded.mesh.axes[0] == axis
    assert loaded.mesh.axes[0].quadrature_points == 7
    assert np.array_equal(loaded.coefficients, field.coefficients)


def test_loaded_coefficients_are_an_independent_writable_array(tmp_path):
    field = Field(uniform_axis(n_cells=2), np.array([1.0, 2.0, 3.0]))
    save_field(tmp_path / "f.safetensors", field)
    loaded = load_field(tmp_path / "f.safetensors")
    loaded.coefficients[0] = 9.0
    assert load_field(tmp_path / "f.safetensors").coefficients[0] == 1.0


def test_save_rejects_a_non_field(tmp_path):
    with pytest.raises(TypeError, match="field must be a Field"):
        save_field(tmp_path / "f.safetensors", np.zeros(3))
    assert os.listdir(tmp_path) == []


# --- atomic saves -------------------------------------------------------------------------

def failing_half_way(monkeypatch):
    """Make the next file opened by os.fdopen write half its data, then fail."""
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)

        def write(data):
            handle.raw.write(data[: len(data) // 2])
            raise OSError("disk full")

        handle.write = write
        return handle

    monkeypatch.setattr(os, "fdopen", fdopen)


def test_interrupted_save_keeps_the_old_file(tmp_path, rng, monkeypatch):
    path = tmp_path / "f.safetensors"
    save_field(path, random_field(rng, ("P2", "P0")))
    old = path.read_bytes()
    failing_half_way(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        save_field(path, random_field(rng, ("P2", "P0")))
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["f.safetensors"]  # no temporary file left


def test_interrupted_save_of_a_new_file_leaves_nothing(tmp_path, monkeypatch):
    failing_half_way(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        save_field(tmp_path / "f.safetensors", Field(uniform_axis()))
    assert os.listdir(tmp_path) == []


def test_save_over_a_file_keeps_its_mode(tmp_path):
    path = tmp_path / "f.safetensors"
    path.write_bytes(b"old")
    path.chmod(0o640)
    save_field(path, Field(uniform_axis()))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# --- malformed and hostile files ----------------------------------------------------------

MESH = Mesh([uniform_axis(n_cells=2, order=2), uniform_axis((0.0, 1.0), 3, "p0", 0)])  # shape (5, 3)
GOOD_HEADER = {"version": 1, "mesh": mesh_to_dict(MESH)}


def write_raw(path, header=GOOD_HEADER, tensors=None, key=export.FORMAT):
    """A safetensors file: `tensors` (default: ones of MESH's shape) and, unless None,
    `header` as metadata under `key` (a dict dumped to JSON, a str written as is)."""
    tensors = {"coefficients": np.ones(MESH.shape)} if tensors is None else tensors
    metadata = None if header is None else {key: header if isinstance(header, str) else json.dumps(header)}
    save_file(tensors, str(path), metadata=metadata)
    return path


def assert_rejected(path, error, message):
    """load_field(path) raises `error`, naming the file, with `message` in its text."""
    with pytest.raises(error) as caught:
        load_field(path)
    assert f"field file {path}" in str(caught.value) and message in str(caught.value)


def test_missing_file(tmp_path):
    assert_rejected(tmp_path / "nope.safetensors", FileNotFoundError, "no such file")


# empty; text; a header length (8) past the end of the file
@pytest.mark.parametrize("content", [b"", b"hello, not safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}"])
def test_not_safetensors(tmp_path, content):
    path = tmp_path / "f.safetensors"
    path.write_bytes(content)
    assert_rejected(path, ValueError, "not a readable safetensors file")


def test_a_folder_is_not_a_field_file(tmp_path):
    assert_rejected(tmp_path, ValueError, "not a readable safetensors file")


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "f.safetensors"
    save_field(path, Field(MESH, np.ones(MESH.shape)))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert_rejected(path, ValueError, "not a readable safetensors file")


@pytest.mark.parametrize("tensors", [None, {}])  # with and without tensors
def test_missing_metadata(tmp_path, tensors):
    path = write_raw(tmp_path / "f.safetensors", header=None, tensors=tensors)
    assert_rejected(path, ValueError, "no 'fem_nn_field' metadata")


def test_metadata_under_another_key(tmp_path):
    path = write_raw(tmp_path / "f.safetensors", key="fem_nn")
    assert_rejected(path, ValueError, "no 'fem_nn_field' metadata")


@pytest.mark.parametrize("version", [2, 0, "1", True, 1.0, None])
def test_wrong_version(tmp_path, version):
    path = write_raw(tmp_path / "f.safetensors", {**GOOD_HEADER, "version": version})
    assert_rejected(path, ValueError, "expected 'fem_nn_field' metadata with \"version\": 1")


@pytest.mark.parametrize(
    "header, message",
    [
        ("not json", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),  # nesting past the recursion limit
        ("1" * 5000, "not valid JSON"),  # past Python's int-digits limit
        ("[1, 2]", "\"version\": 1"),
        ('"text"', "\"version\": 1"),
    ],
)
def test_header_not_a_json_object(tmp_path, header, message):
    assert_rejected(write_raw(tmp_path / "f.safetensors", header), ValueError, message)


def axis_entry(**changes):
    return {"breakpoints": [-1, 1], "family": "p0", "order": 0, **changes}


@pytest.mark.parametrize(
    "mesh, message",
    [
        (None, "expected a JSON object"),
        ({"axes": [axis_entry()]}, "fem_nn_mesh"),
        ({"fem_nn_mesh": 1, "axes": [axis_entry()] * 4}, "1 to 3"),
        ({"fem_nn_mesh": 1, "axes": [{"interval": [-1, 1], "cells": 10**9, "family": "p0", "order": 0}]},
         "cells"),
        ({"fem_nn_mesh": 1, "axes": [axis_entry(family="legendre", order=10**6)]}, "order: at most"),
        ({"fem_nn_mesh": 1, "axes": [axis_entry(breakpoints=[1, -1])]}, "strictly increasing"),
        ({"fem_nn_mesh": 1, "axes": [axis_entry(breakpoints=[-1, 1e400])]}, "finite"),
        ({"fem_nn_mesh": 1, "axes": [axis_entry(family="__import__('os')")]}, "family"),
        ({"fem_nn_mesh": 1, "axes": [axis_entry(code="print(1)")]}, "unknown keys"),
    ],
)
def test_hostile_mesh(tmp_path, mesh, message):
    path = write_raw(tmp_path / "f.safetensors", {"version": 1, "mesh": mesh}, {"coefficients": np.ones(1)})
    assert_rejected(path, ValueError, message)


@pytest.mark.parametrize("shape", [(15,), (3, 5), (5, 3, 1), (5, 4), ()])
def test_wrong_coefficient_shape(tmp_path, shape):
    path = write_raw(tmp_path / "f.safetensors", tensors={"coefficients": np.ones(shape)})
    assert_rejected(path, ValueError, "'coefficients' must have the mesh's shape (5, 3)")


@pytest.mark.parametrize(
    "tensors", [{}, {"coeffs": np.ones((5, 3))}, {"coefficients": np.ones((5, 3)), "extra": np.ones(1)}]
)
def test_wrong_tensor_names(tmp_path, tensors):
    path = write_raw(tmp_path / "f.safetensors", tensors=tensors)
    assert_rejected(path, ValueError, "expected exactly one tensor 'coefficients'")


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.bool_])
def test_coefficients_not_float64(tmp_path, dtype):
    path = write_raw(tmp_path / "f.safetensors", tensors={"coefficients": np.ones((5, 3), dtype=dtype)})
    assert_rejected(path, TypeError, "'coefficients' must be float64")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_coefficients(tmp_path, bad):
    coefficients = np.ones((5, 3))
    coefficients[2, 1] = bad
    path = write_raw(tmp_path / "f.safetensors", tensors={"coefficients": coefficients})
    assert_rejected(path, ValueError, "coefficients must be finite")


# --- ParaView files -----------------------------------------------------------------------

def read_back(tmp_path, field, suffix, **kwargs):
    """Write `field` with write_paraview, read it with meshio: points, connectivity, values,
    mesh cell of each sub-cell."""
    path = tmp_path / f"field{suffix}"
    write_paraview(path, field, **kwargs)
    sampled = meshio.read(path)
    (block,) = sampled.cells
    assert block.type == export.CELL_TYPES[field.mesh.dim]
    (owner,) = sampled.cell_data["cell"]
    assert np.issubdtype(owner.dtype, np.integer)
    return sampled.points, block.data, sampled.point_data["value"], owner


def restriction(field, cell):
    """The field on one mesh cell (a multi-index), as a Field on a one-cell mesh: evaluated
    there, it gives the cell's own values up to its boundary, whatever its neighbours hold."""
    axes, dofs = [], []
    for axis, c in zip(field.mesh.axes, cell):
        order = int(axis.orders[c])
        axes.append(Axis(axis.breakpoints[c : c + 2], axis.family, order))
        dofs.append(axis.cell_dofs()[c, : order + 1])
    return Field(Mesh(axes), field.coefficients[np.ix_(*dofs)])


def expected_values(field, points, connectivity, owner):
    """Each point's value from the restriction of the field to the mesh cell it lies in."""
    dim = field.mesh.dim
    expected = np.full(len(points), np.nan)
    cells_per_axis = tuple(axis.n_cells for axis in field.mesh.axes)
    for index in np.unique(owner):
        ids = np.unique(connectivity[owner == index])
        cell = np.unravel_index(index, cells_per_axis)
        expected[ids] = restriction(field, cell).evaluate(points[ids, :dim])
    assert not np.any(np.isnan(expected))  # every point is a corner of some sub-cell
    return expected


SUFFIXES = [".vtu", ".xdmf"]


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("kinds", [("P3",), ("P2", "P3"), ("P3", "P2", "P3")], ids="-".join)
def test_continuous_field_values_equal_evaluate(tmp_path, rng, suffix, kinds):
    field = random_field(rng, kinds)
    points, connectivity, values, owner = read_back(tmp_path, field, suffix)
    np.testing.assert_allclose(values, field.evaluate(points[:, : field.mesh.dim]), rtol=0, atol=1e-12)
    expected = expected_values(field, points, connectivity, owner)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize(
    "kinds",
    [("legendre",), ("DG2",), ("legendre", "P0"), ("P3", "legendre"), ("legendre", "DG2", "P0")],
    ids="-".join,
)
def test_discontinuous_field_values_are_each_cells_own(tmp_path, rng, suffix, kinds):
    field = random_field(rng, kinds)
    points, connectivity, values, owner = read_back(tmp_path, field, suffix)
    expected = expected_values(field, points, connectivity, owner)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)
    # away from interior breakpoints the one-sided choice does not matter
    dim = field.mesh.dim
    inside = np.ones(len(points), dtype=bool)
    for k, axis in enumerate(field.mesh.axes):
        inside &= ~np.isin(points[:, k], axis.breakpoints[1:-1])
    assert inside.sum() > len(points) / 10
    np.testing.assert_allclose(values[inside], field.evaluate(points[inside, :dim]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_p0_field_keeps_its_jumps(tmp_path, rng, suffix, dim):
    field = random_field(rng, ("P0",) * dim)
    points, connectivity, values, owner = read_back(tmp_path, field, suffix, points_per_cell=3)
    # every corner of a sub-cell holds its mesh cell's constant
    assert np.all(values[connectivity] == field.coefficients.ravel()[owner][:, None])
    # an interior mesh vertex appears once per mesh cell around it
    corner = [axis.breakpoints[1] for axis in field.mesh.axes]  # shared by 2**dim mesh cells
    copies = np.all(points[:, :dim] == corner, axis=1)
    assert copies.sum() == 2**dim
    # each copy holds one of the touching cells' distinct constants: the jumps are kept
    touching = field.coefficients[(slice(0, 2),) * dim].ravel()  # P0: dof index = cell index
    assert np.array_equal(np.sort(values[copies]), np.sort(touching))
    assert len(np.unique(touching)) == 2**dim


# VTK's corner order as offsets in {0, 1} per axis: the line; the quad counter-clockwise;
# the hexahedron's bottom face counter-clockwise, then its top face
VTK_OFFSETS = {
    1: [(0,), (1,)],
    2: [(0, 0), (1, 0), (1, 1), (0, 1)],
    3: [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)],
}
EDGE_ENDS = {1: [1], 2: [1, 3], 3: [1, 3, 4]}  # the corners one edge away from corner 0, along x, y, z


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_cells_are_positively_oriented_boxes_that_tile_the_mesh(tmp_path, rng, suffix, dim):
    field = random_field(rng, ("P3", "legendre", "P1")[:dim])
    points, connectivity, _, owner = read_back(tmp_path, field, suffix)
    assert np.all(points[:, dim:] == 0)  # padded to 3D
    corners = points[connectivity][:, :, :dim]  # (sub-cells, 2**dim, dim)
    low, high = corners.min(axis=1), corners.max(axis=1)
    assert np.all(high > low)
    assert np.array_equal(corners, low[:, None] + np.array(VTK_OFFSETS[dim]) * (high - low)[:, None])
    # the signed length / area / volume spanned by corner 0's edges, in VTK's order
    edges = corners[:, EDGE_ENDS[dim]] - corners[:, :1]
    measures = np.linalg.det(edges)
    assert np.all(measures > 0)
    assert np.isclose(measures.sum(), np.prod([b - a for a, b in BOXES[dim]]), rtol=1e-13)
    # each sub-cell lies in the mesh cell named by its "cell" data
    cells_per_axis = tuple(axis.n_cells for axis in field.mesh.axes)
    for k, (axis, c) in enumerate(zip(field.mesh.axes, np.unravel_index(owner, cells_per_axis))):
        assert np.all(axis.breakpoints[c] <= low[:, k]) and np.all(high[:, k] <= axis.breakpoints[c + 1])


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("points_per_cell", [2, 3, 5])
def test_cell_count_with_points_per_cell(tmp_path, rng, dim, points_per_cell):
    field = random_field(rng, ("P2", "legendre", "P0")[:dim])
    points, connectivity, _, owner = read_back(tmp_path, field, ".vtu", points_per_cell=points_per_cell)
    n_mesh_cells = int(np.prod([axis.n_cells for axis in field.mesh.axes]))
    s = points_per_cell - 1
    assert len(connectivity) == n_mesh_cells * s**dim
    assert len(points) == n_mesh_cells * points_per_cell**dim  # no point shared between mesh cells
    assert np.array_equal(np.bincount(owner), np.full(n_mesh_cells, s**dim))


def test_default_subdivision_follows_each_axis_order(tmp_path, rng):
    field = random_field(rng, ("P3", "P0", "legendre"))  # max orders 3, 0, 3
    points, connectivity, _, _ = read_back(tmp_path, field, ".xdmf")
    assert len(connectivity) == 27 * 3 * 1 * 3
    assert len(points) == 27 * 4 * 2 * 4


def test_p1_field_is_not_subdivided(tmp_path, rng):
    field = random_field(rng, ("P1", "P1"))
    points, connectivity, values, _ = read_back(tmp_path, field, ".vtu")
    assert len(connectivity) == 9 and len(points) == 36
    np.testing.assert_allclose(values, field.evaluate(points[:, :2]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["field.vtk", "field.h5", "field", "field.xmf", "field.vtu.txt"])
def test_bad_suffix_writes_nothing(tmp_path, name):
    with pytest.raises(ValueError, match=r"path must end in one of \['.vtu', '.xdmf'\]"):
        write_paraview(tmp_path / name, Field(uniform_axis()))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "points_per_cell, error",
    [(1, ValueError), (0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError), ("3", TypeError)],
)
def test_bad_points_per_cell_writes_nothing(tmp_path, points_per_cell, error):
    with pytest.raises(error, match="points_per_cell"):
        write_paraview(tmp_path / "field.vtu", Field(uniform_axis()), points_per_cell=points_per_cell)
    assert os.listdir(tmp_path) == []


def test_write_paraview_rejects_a_non_field(tmp_path):
    with pytest.raises(TypeError, match="field must be a Field"):
        write_paraview(tmp_path / "field.vtu", uniform_axis())
    assert os.listdir(tmp_path) == []
