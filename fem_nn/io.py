"""Mesh files: JSON a person can read and edit, validated on load, written atomically.

Format (one object)::

    {
      "fem_nn_mesh": 1,
      "description": "optional text",
      "axes": [
        {"name": "xi", "interval": [-1, 1], "cells": 8, "family": "lagrange", "order": 1},
        {"name": "delta", "breakpoints": [0, 0.1, 0.3, 1], "family": "legendre",
         "order": [3, 2, 1], "quadrature": "gauss_lobatto", "quadrature_points": 5}
      ]
    }

Each axis gives either ``breakpoints`` or ``interval`` and ``cells``; ``quadrature`` and
``quadrature_points`` are optional.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

from .mesh import DEFAULT_NAMES, Axis, Mesh

__all__ = [
    "save_mesh", "load_mesh", "mesh_from_dict", "bundled_mesh", "bundled_meshes", "atomic_write_bytes", "atomic_write_text",
]

FORMAT_KEY = "fem_nn_mesh"
FORMAT_VERSION = 1
MAX_CELLS = 10_000_000
# a hostile file must not make Axis build huge Gauss rules (20 000 points already take ~9 s)
MAX_ORDER, MAX_QUADRATURE_POINTS = 64, 256
_AXIS_KEYS = {"name", "breakpoints", "interval", "cells", "family", "order", "quadrature", "quadrature_points"}


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename, so
    an interrupted write never leaves a half-written file in place of the old one.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     atomic_write_bytes(f"{folder}/a.bin", b"fem")
    ...     Path(f"{folder}/a.bin").read_bytes()
    b'fem'
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise _naming(error, path) from None
    try:
        # mkstemp's 0600 would replace the file's mode: keep the old file's, else the umask's
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        os.unlink(tmp)
        raise _naming(error, path) from None
    except BaseException:
        os.unlink(tmp)
        raise


def _naming(error: OSError, path: Path) -> OSError:
    """`error` of writing `path` through a temporary file, named by `path`, not by the
    temporary file that the user never asked for."""
    return type(error)(error.errno, f"cannot write {path}: {error.strerror or error}")


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` of `text` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def mesh_to_dict(mesh: Mesh, description: str | None = None) -> dict:
    """The content of a mesh file, which :func:`mesh_from_dict` reads back.

    Examples
    --------
    >>> from fem_nn import signal_mesh
    >>> mesh_to_dict(signal_mesh(), "eight hat cells")
    {'fem_nn_mesh': 1, 'description': 'eight hat cells', 'axes': [{'name': 'xi', 'breakpoints': [-1.0, -0.75, ...], 'family': 'lagrange', 'order': 1, 'quadrature': 'gauss_legendre'}]}
    """
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a Mesh, got {type(mesh).__name__}")
    data = {FORMAT_KEY: FORMAT_VERSION}
    if description is not None:
        data["description"] = str(description)
    # an axis writes its own entry: only it knows whether its quadrature count was chosen
    return {**data, "axes": [{"name": name, **axis.to_dict()} for name, axis in zip(mesh.names, mesh.axes)]}


def save_mesh(path: str | os.PathLike, mesh: Mesh, description: str | None = None) -> None:
    """Write `mesh` to a JSON mesh file at `path` (atomically).

    The path comes first, as for :func:`~fem_nn.save_field` and
    :func:`~fem_nn.save_checkpoint`; the earlier order ``save_mesh(mesh, path)``
    still works (a Mesh is never a path) with a DeprecationWarning.

    Examples
    --------
    >>> import tempfile
    >>> from fem_nn import weight_mesh
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_mesh(f"{folder}/w.json", weight_mesh(), description="8 P1 × 8 P1 × 4 P0")
    ...     load_mesh(f"{folder}/w.json") == weight_mesh()
    True
    """
    if isinstance(path, Mesh) and not isinstance(mesh, Mesh):
        warnings.warn(
            "save_mesh(mesh, path) is deprecated: call save_mesh(path, mesh), the order of save_field and save_checkpoint",
            DeprecationWarning, stacklevel=2,
        )
        path, mesh = mesh, path
    data = mesh_to_dict(mesh, description)
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def _axis_from_dict(entry, where: str) -> tuple[str | None, Axis]:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object, got {type(entry).__name__}")
    unknown = set(entry) - _AXIS_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_AXIS_KEYS)}")
    for key in ("family", "order"):
        if key not in entry:
            raise ValueError(f"{where}: missing key '{key}'")
    if ("breakpoints" in entry) == ("interval" in entry or "cells" in entry):
        raise ValueError(f"{where}: give either 'breakpoints' or both 'interval' and 'cells'")
    if "breakpoints" in entry:
        breakpoints = entry["breakpoints"]
        if not isinstance(breakpoints, list) or len(breakpoints) > MAX_CELLS + 1:
            raise ValueError(f"{where}.breakpoints: expected a list of at most {MAX_CELLS + 1} numbers")
    else:
        interval, cells = entry.get("interval"), entry.get("cells")
        if not (isinstance(interval, list) and len(interval) == 2):
            raise ValueError(f"{where}.interval: expected [a, b], got {interval!r}")
        if not isinstance(cells, int) or isinstance(cells, bool) or not 1 <= cells <= MAX_CELLS:
            raise ValueError(f"{where}.cells: expected an integer in [1, {MAX_CELLS}], got {cells!r}")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in interval):
            raise ValueError(f"{where}.interval: expected two numbers, got {interval!r}")
        a, b = (float(v) for v in interval)
        if not (math.isfinite(a) and math.isfinite(b) and a < b):
            raise ValueError(f"{where}.interval: expected finite a < b, got {interval!r}")
        breakpoints = np.linspace(a, b, cells + 1)  # as uniform_axis: the same mesh, bit for bit
    orders = entry["order"] if isinstance(entry["order"], list) else [entry["order"]]
    if any(isinstance(o, int) and o > MAX_ORDER for o in orders):
        raise ValueError(f"{where}.order: at most {MAX_ORDER}, got {max(o for o in orders if isinstance(o, int))}")
    points = entry.get("quadrature_points")
    if isinstance(points, int) and points > MAX_QUADRATURE_POINTS:
        raise ValueError(f"{where}.quadrature_points: at most {MAX_QUADRATURE_POINTS}, got {points}")
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise ValueError(f"{where}.name: expected a string, got {name!r}")
    try:
        axis = Axis(
            breakpoints,
            entry["family"],
            entry["order"],
            entry.get("quadrature", "gauss_legendre"),
            entry.get("quadrature_points"),
        )
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}") from None
    return name, axis


def mesh_from_dict(data, source: str = "mesh data") -> Mesh:
    """Build and validate a mesh from the parsed content of a mesh file.

    Examples
    --------
    >>> mesh = mesh_from_dict({"fem_nn_mesh": 1, "axes": [
    ...     {"interval": [-1, 1], "cells": 4, "family": "legendre", "order": 3},
    ...     {"breakpoints": [0, 0.25, 1], "family": "p0", "order": 0}]})
    >>> mesh.names, mesh.shape
    (('xi', 'delta'), (16, 2))
    >>> mesh_from_dict({"fem_nn_mesh": 1, "axes": [
    ...     {"interval": [0, 1], "cells": 2, "family": "hermite", "order": 3}]})
    Traceback (most recent call last):
    ...
    ValueError: mesh data: axes[0]: family must be one of 'p0', 'legendre', 'lagrange_dg', 'lagrange'..., got 'hermite'
    """
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a JSON object at the top level")
    version = data.get(FORMAT_KEY)
    if type(version) is not int or version != FORMAT_VERSION:
        raise ValueError(f"{source}: expected \"{FORMAT_KEY}\": {FORMAT_VERSION} (not a fem_nn mesh file?)")
    unknown = set(data) - {FORMAT_KEY, "description", "axes"}
    if unknown:
        raise ValueError(f"{source}: unknown keys {sorted(unknown)}")
    if not isinstance(data.get("description", ""), str):
        raise ValueError(f"{source}: 'description' must be a string, got {data['description']!r}")
    axes = data.get("axes")
    if not isinstance(axes, list) or not 1 <= len(axes) <= 3:
        raise ValueError(f"{source}: 'axes' must be a list of 1 to 3 axis objects")
    parsed = [_axis_from_dict(entry, f"{source}: axes[{i}]") for i, entry in enumerate(axes)]
    defaults = DEFAULT_NAMES[len(parsed)]
    names = [name if name is not None else default for (name, _), default in zip(parsed, defaults)]
    try:
        return Mesh([axis for _, axis in parsed], names)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: {error}") from None


def load_mesh(path: str | os.PathLike) -> Mesh:
    """Read and validate a JSON mesh file; a ValueError names the file and the bad entry.

    Examples
    --------
    >>> import json, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with open(f"{folder}/depth.json", "w") as file:
    ...         json.dump({"fem_nn_mesh": 1, "axes": [
    ...             {"name": "delta", "interval": [0, 1], "cells": 3, "family": "lagrange", "order": 2}]}, file)
    ...     load_mesh(f"{folder}/depth.json")
    Mesh(delta: Axis([0, 1], cells=3, family='lagrange', order=2, dofs=7))
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"mesh file {path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, the int-digits limit, deep nesting
        raise ValueError(f"mesh file {path}: not valid JSON ({type(error).__name__}: {str(error)[:200]})") from None
    return mesh_from_dict(data, f"mesh file {path}")


def bundled_meshes() -> list[str]:
    """Names of the ready-made meshes shipped in ``meshes/``.

    Examples
    --------
    >>> bundled_meshes()
    ['default', 'graded_hp', 'resnet_16x8']
    """
    folder = resources.files("fem_nn.meshes")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def bundled_mesh(name: str) -> Mesh:
    """A ready-made mesh by name (see :func:`bundled_meshes`), e.g. ``"default"``.

    Examples
    --------
    >>> mesh = bundled_mesh("resnet_16x8")  # a 16-wide, 8-deep residual MLP
    >>> mesh.shape, mesh.axes[0].family.value
    ((16, 16, 8), 'p0')
    """
    names = bundled_meshes()
    if name not in names:
        raise ValueError(f"name must be one of the bundled meshes {names}, got {name!r}")
    with resources.as_file(resources.files("fem_nn.meshes") / f"{name}.json") as path:
        return load_mesh(path)
