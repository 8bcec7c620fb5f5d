"""Training schedules declared as data: one line per phase, loadable from TOML or JSON.

A schedule names a task, the first manifestation of the network, training defaults and a
list of phases, run in order on one live network:

.. code-block:: toml

    task = "digits"
    seed = 0
    network = { width_cells = 8, width_order = 1, depth_cells = 1, steps = 1 }
    training = { optimizer = "adamw", learning_rate = 0.02, batch_size = 64 }
    phases = [
        { phase = "train", epochs = 10 },
        { phase = "refine", axis = "depth", steps = "double" },
        { phase = "train", epochs = 10 },
        { phase = "refine", axis = "width" },
        { phase = "train", epochs = 20 },
        { phase = "project_down", depth_cells = [4, 2], steps = [4, 2], schemes = ["rk4", "midpoint"] },
        { phase = "project_down", width_cells = [8, 4], width_orders = [1, 0] },
    ]

:meth:`Schedule.check` replays every mesh operation on the meshes alone, so that a bad
phase (an axis that cannot be coarsened, an order below the family's minimum, a network
larger than ``max_parameters``) is reported before any training starts.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tomllib
from importlib import resources
from pathlib import Path

from . import _checks
from .integrators import tableau
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Mesh, bias_mesh, uniform_axis, weight_mesh
from .refinement import network_axes

__all__ = ["Phase", "Schedule", "load_schedule", "PHASE_OPTIONS"]

TASKS = ("digits", "burgers")
OPTIMIZERS = ("adamw", "adam", "sgd")

# every phase kind with its options and their defaults (None: required)
PHASE_OPTIONS: dict[str, dict] = {
    "train": {"epochs": None, "learning_rate": None, "lr_schedule": None},
    "refine": {"axis": "depth", "k": 2, "cells": None, "steps": "keep"},
    "coarsen": {"axis": "depth", "k": 2, "steps": "keep"},
    "elevate": {"axis": "width", "by": 1, "cells": None},
    "lower": {"axis": "width", "by": 1, "cells": None},
    "remanifest": {"scheme": None, "steps": None},
    "adapt": {"fraction": 0.25, "steps": "keep", "hp": False},
    "mgopt": {"cycles": None, "levels": 2, "learning_rate": None, "pre_smoothing": 1, "post_smoothing": 1, "coarse_steps": 4},
    "project_down": {"depth_cells": None, "steps": None, "schemes": ["rk4"], "width_cells": [], "width_orders": []},
}
NETWORK_OPTIONS = {
    "width_cells": 8, "width_family": "legendre", "width_order": 1,
    "depth_cells": 1, "depth_family": "lagrange", "depth_order": 1,
    "scheme": "rk4", "steps": None, "scale": 4.0,
    "read_in_form": "projection", "init": "noise", "quadrature_points": None,
}
TRAINING_OPTIONS = {
    "optimizer": "adamw", "learning_rate": 0.02, "batch_size": 64, "weight_decay": 0.01,
    # a name of fem_nn.trainer.LR_SCHEDULES for every train phase (a phase may name its own),
    # a table of fem_nn.trainer.Manifestations (default the Trainer's; { steps = [1] }: the
    # network's own only), a name of fem_nn.tasks.TRANSFORMS, a penalty weight
    "lr_schedule": None, "manifestations": None, "transform": None, "smoothness": 0.0,
}


def _options(given, defaults: dict, where: str) -> dict:
    """`given` (a dict) completed with `defaults`; unknown and missing required keys are errors."""
    if not isinstance(given, dict):
        raise ValueError(f"{where} must be a table / object, got {given!r}")
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}; expected some of {sorted(defaults)}")
    missing = [key for key, value in defaults.items() if value is None and key not in given]
    # None means "all cells" / "as before" / "the default" / "none"
    optional_none = {"cells", "steps", "learning_rate", "lr_schedule", "quadrature_points", "manifestations", "transform"}
    missing = [key for key in missing if key not in optional_none]
    if missing:
        raise ValueError(f"{where} is missing {missing}")
    return {**defaults, **given}


def _number(value, name: str, minimum: float | None = None, strict: bool = True):
    """`value` if it is a finite real number (not a bool) above `minimum` (or at least it,
    without `strict`), else ValueError naming `name`."""
    try:
        finite = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite or (minimum is not None and not (value > minimum if strict else value >= minimum)):
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return value


def _scheme(value, name: str):
    """`value` if it names a built-in Runge–Kutta scheme, else ValueError naming `name`."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a scheme name, got {value!r}")
    try:
        tableau(value)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return value


def _lr_schedule(value, name: str):
    """`value` if it names a learning-rate schedule, else ValueError naming `name`."""
    from .trainer import LR_SCHEDULES  # the trainer imports the tasks, not the schedules

    if not isinstance(value, str) or value not in LR_SCHEDULES:
        raise ValueError(f"{name} must be one of {sorted(LR_SCHEDULES)}, got {value!r}")
    return value


def _training_extras(training: dict, source: str) -> None:
    """Checks the training table's schedule, manifestation, transform and penalty entries."""
    from .tasks import TRANSFORMS
    from .trainer import Manifestations

    if training["lr_schedule"] is not None:
        _lr_schedule(training["lr_schedule"], f"{source}: training.lr_schedule")
    if training["manifestations"] is not None:
        Manifestations.from_dict(training["manifestations"], f"{source}: training.manifestations")
    if training["transform"] is not None and (not isinstance(training["transform"], str) or training["transform"] not in TRANSFORMS):
        raise ValueError(f"{source}: training.transform must be one of {sorted(TRANSFORMS)}, got {training['transform']!r}")
    _number(training["smoothness"], f"{source}: training.smoothness", 0, strict=False)


@dataclasses.dataclass(frozen=True)
class Phase:
    """One phase of a schedule: its kind (a key of :data:`PHASE_OPTIONS`) and options.

    Examples
    --------
    >>> Phase.from_dict({"phase": "refine", "axis": "depth", "steps": "double"}).options["k"]
    2
    """

    kind: str
    options: dict

    @classmethod
    def from_dict(cls, entry, where: str = "phase") -> "Phase":
        if not isinstance(entry, dict) or "phase" not in entry:
            raise ValueError(f"{where} must be a table with a 'phase' key (one of {sorted(PHASE_OPTIONS)}), got {entry!r}")
        kind = entry["phase"]
        if not isinstance(kind, str) or kind not in PHASE_OPTIONS:
            raise ValueError(f"{where}: unknown phase {kind!r}; expected one of {sorted(PHASE_OPTIONS)}")
        width_down = kind == "project_down" and bool(entry.get("width_cells") or entry.get("width_orders"))
        if width_down and "depth_cells" not in entry:
            entry = {**entry, "depth_cells": []}  # a project-down in width alone
        options = _options({k: v for k, v in entry.items() if k != "phase"}, PHASE_OPTIONS[kind], where)
        if "axis" in options:
            try:
                network_axes(options["axis"])
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
        for key in ("epochs", "cycles", "k", "by", "levels", "pre_smoothing", "post_smoothing", "coarse_steps"):
            if key in options:
                minimum = {"k": 2, "levels": 2, "pre_smoothing": 0, "post_smoothing": 0}.get(key, 1)
                options[key] = _checks.integer(options[key], f"{where}: {key}", minimum)
        if kind in ("refine", "coarsen", "adapt"):
            named = "halve" if kind == "coarsen" else "double"
            steps = options["steps"]
            if steps not in ("keep", named) and not (isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1):
                raise ValueError(f"{where}: steps must be 'keep', '{named}' or a positive integer, got {steps!r}")
        if kind == "adapt" and not (isinstance(options["fraction"], (int, float)) and 0 < options["fraction"] <= 1):
            raise ValueError(f"{where}: fraction must be in (0, 1], got {options['fraction']!r}")
        if kind == "adapt" and not isinstance(options["hp"], bool):
            raise ValueError(f"{where}: hp must be true or false, got {options['hp']!r}")
        if options.get("learning_rate") is not None:
            _number(options["learning_rate"], f"{where}: learning_rate", 0)
        if options.get("lr_schedule") is not None:
            _lr_schedule(options["lr_schedule"], f"{where}: lr_schedule")
        if kind == "remanifest":
            _scheme(options["scheme"], f"{where}: scheme")
            if options["steps"] is not None:
                options["steps"] = _checks.integer(options["steps"], f"{where}: steps", 1)
        if kind == "project_down":
            schemes = options["schemes"]
            if not isinstance(schemes, list) or not schemes:
                raise ValueError(f"{where}: schemes must be a non-empty list of scheme names, got {schemes!r}")
            for scheme in schemes:
                _scheme(scheme, f"{where}: schemes")
        if kind == "project_down":
            for key in ("depth_cells", "steps", "width_cells", "width_orders"):
                value, least = options[key], 0 if key == "width_orders" else 1
                # no width lists: no width project-down; no depth cells: a width project-down alone
                empty = value == [] and (key.startswith("width") or width_down)
                if value is not None and not empty and (
                    not isinstance(value, list) or not value
                    or not all(isinstance(v, int) and not isinstance(v, bool) and v >= least for v in value)
                ):
                    kind_of = "non-negative" if least == 0 else "positive"
                    raise ValueError(f"{where}: {key} must be a non-empty list of {kind_of} integers, got {value!r}")
        return cls(kind, options)

    def to_dict(self) -> dict:
        return {"phase": self.kind, **self.options}


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A task, the first network, training defaults and the phases.

    Parameters
    ----------
    task : {"digits", "burgers"}
    phases : list of Phase
    network : dict
        Options of the first manifestation (see ``NETWORK_OPTIONS``).
    training : dict
        Optimizer, learning rate, batch size, weight decay (see ``TRAINING_OPTIONS``).
    seed : int
    max_parameters : int
        The largest network any phase may create (checked before training).

    Examples
    --------
    >>> s = Schedule.from_dict({"task": "digits", "phases": [
    ...     {"phase": "train", "epochs": 2}, {"phase": "refine", "axis": "depth"}]})
    >>> s.check()[-1].shape  # the weight mesh after the last phase
    (16, 16, 3)
    """

    task: str
    phases: tuple
    network: dict
    training: dict
    seed: int = 0
    max_parameters: int = 10_000_000

    @classmethod
    def from_dict(cls, data, source: str = "schedule") -> "Schedule":
        known = {"task", "phases", "network", "training", "seed", "max_parameters"}
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a table / object at the top level")
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{source}: unknown keys {sorted(unknown)}; expected some of {sorted(known)}")
        if data.get("task") not in TASKS:
            raise ValueError(f"{source}: task must be one of {list(TASKS)}, got {data.get('task')!r}")
        phases = data.get("phases")
        if not isinstance(phases, list) or not phases:
            raise ValueError(f"{source}: phases must be a non-empty list of phase tables")
        network = _options(data.get("network", {}), NETWORK_OPTIONS, f"{source}: network")
        training = _options(data.get("training", {}), TRAINING_OPTIONS, f"{source}: training")
        if not isinstance(training["optimizer"], str) or training["optimizer"] not in OPTIMIZERS:
            raise ValueError(f"{source}: training.optimizer must be one of {list(OPTIMIZERS)}, got {training['optimizer']!r}")
        # checked here, not when training starts: a run folder is prepared before that
        _number(training["learning_rate"], f"{source}: training.learning_rate", 0)
        _number(training["weight_decay"], f"{source}: training.weight_decay", 0, strict=False)
        _checks.integer(training["batch_size"], f"{source}: training.batch_size", 1)
        _training_extras(training, source)
        _scheme(network["scheme"], f"{source}: network.scheme")
        if network["steps"] is not None:
            _checks.integer(network["steps"], f"{source}: network.steps", 1)
        _number(network["scale"], f"{source}: network.scale")
        schedule = cls(
            task=data["task"],
            phases=tuple(Phase.from_dict(p, f"{source}: phases[{i}]") for i, p in enumerate(phases)),
            network=network,
            training=training,
            seed=_checks.integer(data.get("seed", 0), f"{source}: seed", 0),
            max_parameters=_checks.integer(data.get("max_parameters", 10_000_000), f"{source}: max_parameters", 1),
        )
        schedule.check(source)
        return schedule

    def to_dict(self) -> dict:
        return {
            "task": self.task, "seed": self.seed, "max_parameters": self.max_parameters,
            "network": dict(self.network), "training": dict(self.training),
            "phases": [p.to_dict() for p in self.phases],
        }

    def first_meshes(self) -> tuple[Mesh, Mesh]:
        """The weight and bias meshes of the first manifestation."""
        n = self.network
        width = uniform_axis(WIDTH_INTERVAL, n["width_cells"], n["width_family"], n["width_order"])
        depth = uniform_axis(DEPTH_INTERVAL, n["depth_cells"], n["depth_family"], n["depth_order"])
        return weight_mesh(width, depth), bias_mesh(width, depth)

    def check(self, source: str = "schedule") -> list[Mesh]:
        """Replay the phases' mesh operations on the meshes alone; returns the weight mesh
        after each phase, or raises ValueError naming the first phase that cannot run."""
        try:
            weights, biases = self.first_meshes()
        except (TypeError, ValueError) as error:
            raise ValueError(f"{source}: network: {error}") from None
        meshes = []
        for i, phase in enumerate(self.phases):
            try:
                weights, biases = mesh_operation(phase, weights, biases)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{source}: phases[{i}] ({phase.kind}): {error}") from None
            parameters = weights.n_dofs + biases.n_dofs
            if parameters > self.max_parameters:
                raise ValueError(
                    f"{source}: phases[{i}] ({phase.kind}) would make {parameters} parameters per field pair, "
                    f"more than max_parameters = {self.max_parameters}"
                )
            meshes.append(weights)
        return meshes


def mesh_operation(phase: Phase, weights: Mesh, biases: Mesh) -> tuple[Mesh, Mesh]:
    """The weight and bias meshes after `phase` (unchanged for phases that keep them; a
    project-down in width is checked against the width family's orders)."""
    o = phase.options
    if phase.kind == "project_down":
        width = weights.axes[0]
        for order in o["width_orders"]:
            uniform_axis(WIDTH_INTERVAL, 1, width.family, order)  # an order the family lacks fails here
    if phase.kind not in ("refine", "coarsen", "elevate", "lower"):
        return weights, biases
    weight_axes, bias_axes = network_axes(o["axis"])
    if phase.kind == "refine":
        def apply(mesh, axes):
            return mesh.refined(axes, cells=o["cells"], k=o["k"]) if axes else mesh
    elif phase.kind == "coarsen":
        def apply(mesh, axes):
            return mesh.coarsened(axes, k=o["k"]) if axes else mesh
    else:
        def apply(mesh, axes):
            method = getattr(mesh, {"elevate": "elevated", "lower": "lowered"}[phase.kind])
            return method(axes, by=o["by"], cells=o["cells"]) if axes else mesh
    return apply(weights, weight_axes), apply(biases, bias_axes)


def load_schedule(path: str | os.PathLike) -> Schedule:
    """Read and validate a schedule file (``.toml`` or ``.json``), or a bundled schedule by
    name (a file of ``fem_nn/schedules``: ``progressive``, ``burgers``, ``mgopt``).

    Examples
    --------
    >>> load_schedule("progressive").phases[1].kind
    'refine'
    """
    bundled = resources.files("fem_nn") / "schedules" / f"{path}.toml"
    path = Path(str(bundled)) if isinstance(path, str) and bundled.is_file() else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (ValueError, RecursionError) as error:  # bad syntax, the int-digits limit, deep nesting
        reason = str(error)[:200]
        raise ValueError(f"{path}: not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {reason}") from None
    return Schedule.from_dict(data, str(path))
