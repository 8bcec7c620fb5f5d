"""Mesh files: round trips, the bundled meshes, malformed and hostile files rejected with a
ValueError that names the file and the bad entry, and atomic writes.
"""

import json
import os
import stat

import numpy as np
import pytest
from strategies import random_axis

from fem_nn import Axis, Family, Mesh, bundled_mesh, bundled_meshes, load_mesh, save_mesh, uniform_axis, weight_mesh
from fem_nn import io as mesh_io
from fem_nn import mesh as mesh_module

BUNDLED = bundled_meshes()
BOXES = {1: [(-1.0, 1.0)], 2: [(-1.0, 1.0), (0.0, 1.0)], 3: [(-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0)]}


def round_trip(mesh, folder, **kwargs):
    save_mesh(folder / "mesh.json", mesh, **kwargs)
    return load_mesh(folder / "mesh.json")


# --- round trips -------------------------------------------------------------------------

@pytest.mark.parametrize("name", BUNDLED)
def test_round_trip_of_bundled_mesh(tmp_path, name):
    mesh = bundled_mesh(name)
    loaded = round_trip(mesh, tmp_path, description=f"copy of {name}")
    assert loaded == mesh
    assert loaded.shape == mesh.shape and loaded.names == mesh.names


def hp_axis(rng, family, interval):
    """A random axis of 2 to 6 cells with random breakpoints, per-cell orders that are not all
    equal (but for p0), and a random quadrature rule, sometimes with a chosen point count."""
    axis = random_axis(rng, family, interval, max_cells=6, max_order=5).refined(cells=[0])  # >= 2 cells
    orders = 0
    if family is not Family.P0:
        orders = axis.orders.copy()
        orders[1] = orders[0] + 1 + int(rng.integers(0, 2))
    lobatto = bool(rng.integers(0, 2))
    points = int(rng.integers(2, 9)) if rng.random() < 0.5 else None
    return Axis(axis.breakpoints, family, orders, "gauss_lobatto" if lobatto else "gauss_legendre", points)


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("family", list(Family), ids=[f.value for f in Family])
def test_round_trip_of_random_hp_mesh(tmp_path, rng, family, dim):
    mesh = Mesh([hp_axis(rng, family, interval) for interval in BOXES[dim]], [f"axis{k}" for k in range(dim)])
    assert family is Family.P0 or all(len(set(a.orders.tolist())) > 1 for a in mesh.axes)
    loaded = round_trip(mesh, tmp_path)
    assert loaded == mesh
    assert loaded.shape == mesh.shape and loaded.names == mesh.names
    for a, b in zip(loaded.axes, mesh.axes):
        assert np.array_equal(a.breakpoints, b.breakpoints)  # bit for bit, not approximately
        assert np.array_equal(a.orders, b.orders) and a.quadrature is b.quadrature


def test_round_trip_of_per_cell_orders_and_quadrature(tmp_path):
    depth = Axis([0.0, 0.1, 0.35, 1.0], "legendre", [3, 0, 5], quadrature="gauss_lobatto", quadrature_points=7)
    width = Axis(np.linspace(-1.0, 1.0, 7), "lagrange_dg", [1, 2, 3, 3, 2, 1])
    mesh = Mesh([width, width, depth])
    loaded = round_trip(mesh, tmp_path)
    assert loaded == mesh and loaded.shape == mesh.shape
    assert loaded.axes[2].quadrature_rule.family.value == "gauss_lobatto"
    assert loaded.axes[2].quadrature_points == 7 and loaded.axes[2].orders.tolist() == [3, 0, 5]


def test_round_trip_keeps_the_default_quadrature_following_the_order(tmp_path):
    mesh = Mesh([Axis([0.0, 0.5, 1.0], "legendre", 2)])
    loaded = round_trip(mesh, tmp_path)
    assert loaded.elevated() == mesh.elevated()
    assert loaded.elevated().axes[0].quadrature_points == 4


def test_loaded_mesh_is_independent_of_the_file(tmp_path):
    mesh = round_trip(weight_mesh(), tmp_path)
    (tmp_path / "mesh.json").write_text("overwritten")
    assert mesh == weight_mesh() and mesh.refined("delta").shape == (9, 9, 8)


# --- bundled meshes ----------------------------------------------------------------------

def test_bundled_mesh_names():
    assert {"default", "resnet_16x8", "graded_hp"} <= set(BUNDLED)
    assert BUNDLED == sorted(BUNDLED)


def test_resnet_16x8_is_p0_16x16x8():
    mesh = bundled_mesh("resnet_16x8")
    assert mesh.names == ("xi", "eta", "delta")
    assert mesh.box == ((-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0))
    assert [a.n_cells for a in mesh.axes] == [16, 16, 8]
    assert mesh.shape == (16, 16, 8)
    assert all(a.family is Family.P0 and a.order == 0 for a in mesh.axes)
    assert all(np.allclose(a.widths, a.widths[0], rtol=1e-12) for a in mesh.axes)


def test_graded_hp_has_graded_depth_cells_and_per_cell_orders():
    mesh = bundled_mesh("graded_hp")
    assert mesh.dim == 3 and mesh.box == ((-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0))
    depth = mesh.axes[mesh.axis_index("delta")]
    assert np.all(np.diff(depth.widths) >= 0) and depth.widths[-1] >= 4 * depth.widths[0]  # graded
    assert len(set(depth.orders.tolist())) > 1  # hp: one order per cell
    with pytest.raises(ValueError, match="per-cell orders"):
        depth.order


def test_default_mesh_loads():
    mesh = bundled_mesh("default")
    assert mesh.dim == 3 and mesh.names == ("xi", "eta", "delta")
    assert mesh.box == ((-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0))
    assert mesh.n_dofs > 0


@pytest.mark.parametrize("name", ["nope", "../meshes/default", "default.json", "DEFAULT", "", 3, None])
def test_unknown_bundled_mesh_name(name):
    with pytest.raises(ValueError, match=r"name must be one of the bundled meshes"):
        bundled_mesh(name)
    assert bundled_mesh("default").dim == 3


# --- hand-written files ------------------------------------------------------------------

def write(folder, content, name="mesh.json"):
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_hand_written_file_with_interval_and_cells(tmp_path):
    path = write(tmp_path, """{
      "fem_nn_mesh": 1,
      "description": "written by hand",
      "axes": [{"interval": [-1, 1], "cells": 4, "family": "legendre", "order": [1, 2, 3, 2]}]
    }""")
    mesh = load_mesh(path)
    assert mesh.names == ("xi",) and mesh.shape == (12,)
    assert np.allclose(mesh.axes[0].breakpoints, [-1.0, -0.5, 0.0, 0.5, 1.0], rtol=0, atol=1e-15)


def test_hand_written_file_with_breakpoints(tmp_path):
    path = write(tmp_path, {"fem_nn_mesh": 1, "axes": [
        {"interval": [-1, 1], "cells": 2, "family": "lagrange", "order": 1},
        {"name": "depth", "breakpoints": [0, 0.25, 1], "family": "p0", "order": 0,
         "quadrature": "gauss_lobatto", "quadrature_points": 3}]})
    mesh = load_mesh(path)
    assert mesh.names == ("xi", "depth") and mesh.shape == (3, 2)
    assert mesh.axes[1].breakpoints.tolist() == [0.0, 0.25, 1.0]
    assert mesh.axes[1].quadrature_points == 3


def test_interval_and_cells_give_the_uniform_axis(tmp_path):
    for cells in range(1, 40):
        path = write(tmp_path, {"fem_nn_mesh": 1, "axes": [
            {"interval": [-1, 1], "cells": cells, "family": "p0", "order": 0}]})
        assert load_mesh(path) == Mesh([uniform_axis((-1.0, 1.0), cells, "p0", 0)]), cells


# --- malformed files ---------------------------------------------------------------------

AXIS = {"name": "xi", "interval": [-1, 1], "cells": 4, "family": "lagrange", "order": 1}
VALID = {"fem_nn_mesh": 1, "axes": [AXIS]}


def with_axis(**changes):
    """VALID with the axis' entries changed (None: removed)."""
    axis = dict(AXIS, **changes)
    return {"fem_nn_mesh": 1, "axes": [{k: v for k, v in axis.items() if v is not None}]}


def with_breakpoints(breakpoints, **changes):
    return with_axis(interval=None, cells=None, breakpoints=breakpoints, **changes)


def top(**changes):
    data = dict(VALID, **changes)
    return {k: v for k, v in data.items() if v is not None}


def bad(content, match, id, marks=()):
    return pytest.param(content, match, id=id, marks=marks)


MALFORMED = [
    # not a mesh file at all
    bad("", r"not valid JSON", "empty"),
    bad("hello", r"not valid JSON", "text"),
    bad("fem_nn_mesh: 1\naxes: []\n", r"not valid JSON", "yaml"),
    bad("fem_nn_mesh = 1", r"not valid JSON", "toml"),
    bad('{"fem_nn_mesh": 1, "axes": [],}', r"not valid JSON", "trailing-comma"),
    bad("{'fem_nn_mesh': 1}", r"not valid JSON", "single-quotes"),
    bad(b"\x00\x01\x02\x03garbage", r"not valid JSON", "control-bytes"),
    bad(b"\x89PNG\r\n\x1a\n\xff\xfe\x00", r"not UTF-8 text", "png"),
    bad(json.dumps(VALID).encode("utf-16"), r"not UTF-8 text", "utf-16"),
    bad(json.dumps(dict(VALID, description="café"), ensure_ascii=False).encode("latin-1"), r"not UTF-8 text", "latin-1"),
    bad("[1, 2]", r"expected a JSON object at the top level", "top-level-list"),
    bad("null", r"expected a JSON object at the top level", "top-level-null"),
    bad('"mesh"', r"expected a JSON object at the top level", "top-level-string"),
    bad("3", r"expected a JSON object at the top level", "top-level-number"),
    # the format key
    bad({"axes": [AXIS]}, r'expected "fem_nn_mesh": 1', "missing-format-key"),
    bad(top(fem_nn_mesh=2), r'expected "fem_nn_mesh": 1', "version-2"),
    bad(top(fem_nn_mesh=0), r'expected "fem_nn_mesh": 1', "version-0"),
    bad(top(fem_nn_mesh="1"), r'expected "fem_nn_mesh": 1', "version-string"),
    bad(top(fem_nn_mesh=[1]), r'expected "fem_nn_mesh": 1', "version-list"),
    bad(top(fem_nn_mesh=True), r'expected "fem_nn_mesh": 1', "version-true"),
    bad(top(fem_nn_mesh=1.0), r'expected "fem_nn_mesh": 1', "version-float"),
    # top-level keys
    bad(top(extra=1), r"unknown keys \['extra'\]", "unknown-key"),
    bad(top(Axes=[AXIS]), r"unknown keys \['Axes'\]", "key-case"),
    bad(top(description=5), r"description", "description-not-a-string"),
    # axes
    bad(top(axes=None), r"'axes' must be a list of 1 to 3", "missing-axes"),
    bad(top(axes=[]), r"'axes' must be a list of 1 to 3", "no-axes"),
    bad(top(axes=[AXIS] * 4), r"'axes' must be a list of 1 to 3", "four-axes"),
    bad(top(axes={"xi": AXIS}), r"'axes' must be a list of 1 to 3", "axes-object"),
    bad(top(axes=["xi"]), r"axes\[0\]: expected an object, got str", "axis-string"),
    bad(top(axes=[AXIS, None]), r"axes\[1\]: expected an object", "axis-null"),
    bad(with_axis(colour="red"), r"axes\[0\]: unknown keys \['colour'\]", "unknown-axis-key"),
    bad(with_axis(cell=4), r"axes\[0\]: unknown keys \['cell'\]", "axis-key-typo"),
    bad(with_axis(family=None), r"axes\[0\]: missing key 'family'", "missing-family"),
    bad(with_axis(order=None), r"axes\[0\]: missing key 'order'", "missing-order"),
    bad(with_axis(breakpoints=[-1, 0, 1]), r"axes\[0\]: give either 'breakpoints' or both", "breakpoints-and-interval"),
    bad(with_axis(interval=None, breakpoints=[-1, 0, 1]), r"axes\[0\]: give either 'breakpoints' or both", "breakpoints-and-cells"),
    bad(with_axis(interval=None, cells=None), r"axes\[0\]: give either 'breakpoints' or both", "no-partition"),
    bad(with_axis(cells=None), r"axes\[0\]\.cells: expected an integer", "interval-without-cells"),
    bad(with_axis(interval=None), r"axes\[0\]\.interval: expected \[a, b\]", "cells-without-interval"),
    # cells
    bad(with_axis(cells=0), r"axes\[0\]\.cells: expected an integer in \[1, ", "cells-0"),
    bad(with_axis(cells=-3), r"axes\[0\]\.cells: expected an integer in \[1, ", "cells-negative"),
    bad(with_axis(cells=1e9), r"axes\[0\]\.cells: expected an integer in \[1, ", "cells-1e9"),
    bad(with_axis(cells=10**9), r"axes\[0\]\.cells: expected an integer in \[1, ", "cells-10**9"),
    bad(with_axis(cells=mesh_io.MAX_CELLS + 1), r"axes\[0\]\.cells: expected an integer in \[1, ", "cells-over-limit"),
    bad(with_axis(cells="8"), r"axes\[0\]\.cells: expected an integer in \[1, ", "cells-string"),
    bad(with_axis(cells=True), r"axes\[0\]\.cells: expected an integer in \[1, ", "cells-true"),
    bad(with_axis(cells=4.0), r"axes\[0\]\.cells: expected an integer in \[1, ", "cells-float"),
    bad(with_axis(cells=[4]), r"axes\[0\]\.cells: expected an integer in \[1, ", "cells-list"),
    # interval
    bad(with_axis(interval=[1]), r"axes\[0\]\.interval: expected \[a, b\]", "interval-short"),
    bad(with_axis(interval=[0, 1, 2]), r"axes\[0\]\.interval: expected \[a, b\]", "interval-long"),
    bad(with_axis(interval="ab"), r"axes\[0\]\.interval: expected \[a, b\]", "interval-string"),
    bad(with_axis(interval=[0, "x"]), r"axes\[0\]\.interval: expected two numbers", "interval-word"),
    bad(with_axis(interval=[0, None]), r"axes\[0\]\.interval: expected two numbers", "interval-null"),
    bad(with_axis(interval=[0, "1"]), r"axes\[0\]\.interval: expected two numbers", "interval-numeric-string"),
    bad(with_axis(interval=[False, True]), r"axes\[0\]\.interval: expected two numbers", "interval-booleans"),
    bad(with_axis(interval=[1, 0]), r"axes\[0\]\.interval", "interval-reversed"),
    bad(with_axis(interval=[0, 0]), r"axes\[0\]\.interval", "interval-empty"),
    # breakpoints
    bad(with_breakpoints([0, 2, 1]), r"axes\[0\]: breakpoints must be strictly increasing", "breakpoints-decreasing"),
    bad(with_breakpoints([0, 1, 1]), r"axes\[0\]: breakpoints must be strictly increasing", "breakpoints-repeated"),
    bad(with_breakpoints([0]), r"axes\[0\]: breakpoints must be .*at least 2", "breakpoints-single"),
    bad(with_breakpoints([]), r"axes\[0\]: breakpoints must be .*at least 2", "breakpoints-empty"),
    bad(with_breakpoints([[0, 1]]), r"axes\[0\]: breakpoints must be a 1D sequence", "breakpoints-nested"),
    bad(with_breakpoints("0 0.5 1"), r"axes\[0\]\.breakpoints: expected a list", "breakpoints-string"),
    bad(with_breakpoints({"0": 1}), r"axes\[0\]\.breakpoints: expected a list", "breakpoints-object"),
    bad(with_breakpoints([0, None, 1]), r"axes\[0\]: breakpoints must be", "breakpoints-null"),
    bad('{"fem_nn_mesh": 1, "axes": [{"breakpoints": [0, NaN, 1], "family": "p0", "order": 0}]}',
        r"axes\[0\]: breakpoints must be finite", "breakpoints-NaN"),
    bad('{"fem_nn_mesh": 1, "axes": [{"breakpoints": [0, Infinity], "family": "p0", "order": 0}]}',
        r"axes\[0\]: breakpoints must be finite", "breakpoints-Infinity"),
    bad(with_breakpoints(["a", "b"]), r"axes\[0\]: breakpoints must be a sequence of real numbers", "breakpoints-words"),
    bad(with_breakpoints(["-1", "1"]), r"axes\[0\]\.?:? ?breakpoints", "breakpoints-numeric-strings"),
    # family, order, quadrature, name
    bad(with_axis(family="spline"), r"axes\[0\]: family must be one of", "family-unknown"),
    bad(with_axis(family=1), r"axes\[0\]: family must be one of", "family-number"),
    bad(with_axis(order=0), r"axes\[0\]: order must be >= 1 for family 'lagrange'", "order-0-lagrange"),
    bad(with_axis(order=-1), r"axes\[0\]: order must be >= 1", "order-negative"),
    bad(with_axis(order=1.5), r"axes\[0\]: order must be an integer", "order-float"),
    bad(with_axis(order="1"), r"axes\[0\]: order must be an integer", "order-string"),
    bad(with_axis(order=True), r"axes\[0\]: order must be an integer", "order-true"),
    bad(with_axis(order=[1, 2]), r"axes\[0\]: order must be one integer or one per cell \(4\)", "order-wrong-count"),
    bad(with_axis(order=[1, True, 1, 1]), r"axes\[0\]: order must be an integer", "order-true-in-list"),
    bad(with_axis(family="p0", order=1), r"axes\[0\]: order must be 0 for family 'p0'", "order-p0"),
    bad(with_axis(quadrature="simpson"), r"axes\[0\]: quadrature must be one of", "quadrature-unknown"),
    bad(with_axis(quadrature_points=0), r"axes\[0\]: quadrature_points must be >= 1", "quadrature-points-0"),
    bad(with_axis(quadrature="gauss_lobatto", quadrature_points=1), r"axes\[0\]: quadrature_points must be >= 2", "lobatto-1"),
    bad(with_axis(quadrature_points=True), r"axes\[0\]: quadrature_points must be an integer", "quadrature-points-true"),
    bad(with_axis(quadrature_points="3"), r"axes\[0\]: quadrature_points must be an integer", "quadrature-points-string"),
    bad(with_axis(name=3), r"axes\[0\]\.name: expected a string", "name-number"),
    bad(with_axis(name=["xi"]), r"axes\[0\]\.name: expected a string", "name-list"),
    bad(with_axis(name=""), r"names must be 1 distinct non-empty strings", "name-empty"),
    bad(top(axes=[AXIS, AXIS]), r"names must be 2 distinct", "names-duplicate"),
    # hostile content: just unknown keys or bad values, nothing is executed or imported
    bad(top(__class__="os.system"), r"unknown keys \['__class__'\]", "top-__class__"),
    bad(top(__reduce__=["os.system", ["touch PWNED"]]), r"unknown keys \['__reduce__'\]", "top-__reduce__"),
    bad(with_axis(__class__="fem_nn.mesh.Axis"), r"axes\[0\]: unknown keys \['__class__'\]", "axis-__class__"),
    bad(with_axis(__init__={"breakpoints": [0, 1]}), r"axes\[0\]: unknown keys \['__init__'\]", "axis-__init__"),
    bad(with_axis(family="__import__('os').system('touch PWNED')"), r"axes\[0\]: family must be one of", "python-family"),
    bad(with_axis(cells="__import__('os').system('touch PWNED')"), r"axes\[0\]\.cells: expected an integer", "python-cells"),
    bad(with_axis(order="eval('1')"), r"axes\[0\]: order must be an integer", "python-order"),
    bad("__import__('os').system('touch PWNED')", r"not valid JSON", "python-file"),
    bad("!!python/object/apply:os.system ['touch PWNED']", r"not valid JSON", "yaml-python-tag"),
    bad("[" * 100_000 + "]" * 100_000, r"not valid JSON|expected a JSON object", "deeply-nested"),
    bad('{"fem_nn_mesh": 1, "axes": [{"interval": [0, 1], "cells": ' + "9" * 5000 + ', "family": "p0", "order": 0}]}',
        r"not valid JSON|cells", "5000-digit-integer"),
]


@pytest.mark.parametrize("content,match", MALFORMED)
def test_malformed_file(tmp_path, monkeypatch, content, match):
    monkeypatch.chdir(tmp_path)  # a 'touch PWNED' that ran would show up here
    path = write(tmp_path, content, name="bad_file.json")
    with pytest.raises(ValueError, match=match) as error:
        load_mesh(path)
    assert "bad_file.json" in str(error.value)
    assert not (tmp_path / "PWNED").exists()
    assert load_mesh(write(tmp_path, VALID, name="good.json")).shape == (5,)


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0])
def test_truncated_file(tmp_path, fraction):
    save_mesh(tmp_path / "full.json", bundled_mesh("graded_hp"))
    text = (tmp_path / "full.json").read_text().rstrip()
    cut = min(int(fraction * len(text)), len(text) - 1)  # always at least the closing brace lost
    path = write(tmp_path, text[:cut], name="cut.json")
    with pytest.raises(ValueError, match=r"cut\.json: not valid JSON"):
        load_mesh(path)
    assert load_mesh(tmp_path / "full.json") == bundled_mesh("graded_hp")


def test_huge_breakpoint_list_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(mesh_io, "MAX_CELLS", 10)
    path = write(tmp_path, with_breakpoints(np.linspace(0.0, 1.0, 12).tolist()))
    with pytest.raises(ValueError, match=r"mesh\.json: axes\[0\]\.breakpoints: expected a list of at most 11"):
        load_mesh(path)
    assert load_mesh(write(tmp_path, with_breakpoints(np.linspace(0.0, 1.0, 11).tolist()))).shape == (11,)


def test_cells_above_the_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(mesh_io, "MAX_CELLS", 10)
    path = write(tmp_path, with_axis(cells=11))
    with pytest.raises(ValueError, match=r"mesh\.json: axes\[0\]\.cells: expected an integer in \[1, 10\]"):
        load_mesh(path)
    assert load_mesh(write(tmp_path, with_axis(cells=10))).shape == (11,)


@pytest.fixture
def no_huge_rules(monkeypatch):
    """Make a rule of more than 10 000 points fail at once instead of taking minutes."""
    real = mesh_module.quadrature_rule

    def guarded(family, n_points):
        if n_points > 10_000:
            raise RuntimeError(f"test guard: a quadrature rule of {n_points} points was requested")
        return real(family, n_points)

    monkeypatch.setattr(mesh_module, "quadrature_rule", guarded)


@pytest.mark.parametrize(
    "changes,match",
    [
        pytest.param(dict(family="legendre", order=10**6), r"axes\[0\]\.?:? ?order", id="order-10**6"),
        pytest.param(dict(family="legendre", order=[1, 1, 1, 10**9]), r"axes\[0\]\.?:? ?order", id="per-cell-order-10**9"),
        pytest.param(dict(quadrature_points=10**6), r"axes\[0\]\.?:? ?quadrature_points", id="quadrature-points-10**6"),
    ],
)
def test_huge_orders_are_refused(tmp_path, no_huge_rules, changes, match):
    path = write(tmp_path, with_axis(**changes), name="huge.json")
    with pytest.raises(ValueError, match=match) as error:
        load_mesh(path)
    assert "huge.json" in str(error.value)
    assert load_mesh(write(tmp_path, with_axis(family="legendre", order=20))).shape == (84,)


# --- atomic writes -----------------------------------------------------------------------

def fail_in_replace(monkeypatch):
    def replace(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", replace)
    return OSError


def fail_in_fsync(monkeypatch):
    def fsync(_):
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", fsync)
    return OSError


def fail_halfway_through_the_write(monkeypatch):
    real = os.fdopen

    class HalfWriter:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)

        def write(self, text):
            self.handle.write(text[: len(text) // 2])
            self.handle.flush()
            raise OSError("no space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: HalfWriter(real(*a, **k)))
    return OSError


def interrupt_in_fsync(monkeypatch):
    def fsync(_):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", fsync)
    return KeyboardInterrupt


@pytest.mark.parametrize(
    "failure", [fail_in_replace, fail_in_fsync, fail_halfway_through_the_write, interrupt_in_fsync],
    ids=["replace", "fsync", "half-written", "keyboard-interrupt"],
)
def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch, failure):
    path = tmp_path / "mesh.json"
    save_mesh(path, bundled_mesh("default"))
    before = path.read_bytes()
    error = failure(monkeypatch)
    with pytest.raises(error):
        save_mesh(path, bundled_mesh("resnet_16x8"), description="new")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["mesh.json"]  # no temporary left behind
    save_mesh(path, bundled_mesh("resnet_16x8"))  # and the next save works
    assert load_mesh(path) == bundled_mesh("resnet_16x8")


def test_unserializable_description_leaves_the_old_file_intact(tmp_path):
    class Unprintable:
        def __str__(self):
            raise RuntimeError("cannot describe")

    path = tmp_path / "mesh.json"
    save_mesh(path, bundled_mesh("default"))
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="cannot describe"):
        save_mesh(path, bundled_mesh("resnet_16x8"), description=Unprintable())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["mesh.json"]


def test_save_mesh_takes_the_path_first_and_the_old_order_with_a_warning(tmp_path):
    """Issue 12.11: save_mesh(mesh, path) against save_field(path, field) and
    save_checkpoint(path, net): the path comes first now; the old order still saves."""
    mesh = bundled_mesh("graded_hp")
    save_mesh(tmp_path / "new.json", mesh, "d")
    with pytest.warns(DeprecationWarning, match=r"call save_mesh\(path, mesh\)"):
        save_mesh(mesh, tmp_path / "old.json", "d")
    assert (tmp_path / "new.json").read_bytes() == (tmp_path / "old.json").read_bytes()
    assert load_mesh(tmp_path / "old.json") == mesh


def test_saving_a_non_mesh_creates_nothing(tmp_path):
    for not_a_mesh in (Axis([0.0, 1.0]), {"axes": []}, None):
        with pytest.raises(TypeError, match=r"mesh must be a Mesh"):
            save_mesh(tmp_path / "m.json", not_a_mesh)
    assert list(tmp_path.iterdir()) == []


def test_saving_into_a_missing_folder_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        save_mesh(tmp_path / "missing" / "m.json", bundled_mesh("default"))
    assert list(tmp_path.iterdir()) == []


def test_saving_onto_a_folder_leaves_it_alone(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        save_mesh(tmp_path / "taken", bundled_mesh("default"))
    assert (tmp_path / "taken").is_dir() and list((tmp_path / "taken").iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_saving_over_a_file_replaces_it_completely(tmp_path):
    path = tmp_path / "mesh.json"
    path.write_text("x" * 100_000)  # longer than the new content: nothing of it may remain
    save_mesh(path, bundled_mesh("default"))
    assert load_mesh(path) == bundled_mesh("default")
    assert [p.name for p in tmp_path.iterdir()] == ["mesh.json"]


def test_saved_file_has_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = tmp_path / "mesh.json"
        save_mesh(path, bundled_mesh("default"))
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    finally:
        os.umask(umask)
