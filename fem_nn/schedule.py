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

The phase kinds are the classes registered in :data:`fem_nn.phases.PHASES`.
:meth:`Schedule.check` replays every phase's effect on the meshes alone, so that a bad
phase (an axis that cannot be coarsened, an order below the family's minimum, a network
larger than ``max_parameters``) is reported before any training starts.

A ``model`` table in place of the ``network`` table builds a model of OdeBlock stages of a
registered kind (:data:`fem_nn.schedule_models.MODEL_KINDS`) and runs the phases on its
depth fields; a phase that needs width fields is refused when the schedule is loaded:

.. code-block:: toml

    task = "digits_images"
    model = { kind = "continuousnet", channels = [8, 16], depth = 2, scheme = "rk4", steps = 2 }
    phases = [
        { phase = "train", epochs = 3 },
        { phase = "refine", axis = "depth" },
        { phase = "train", epochs = 3 },
        { phase = "project_down", depth_cells = [2, 1] },
    ]
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from importlib import resources
from pathlib import Path

from . import _checks, _options
from .mesh import Mesh
from .optimizers import OPTIMIZERS
from .continuum import read_ins, right_hand_sides
from .phases import Phase, phase_class
from .schedule_models import ContinuumForm, ModelForm, ModelKind
from .tasks import TASKS, TRANSFORMS
from .trainer import Manifestations

__all__ = ["Phase", "Schedule", "load_schedule", "registered"]

NETWORK_OPTIONS = {
    "width_cells": 8, "width_family": "legendre", "width_order": 1,
    "depth_cells": 1, "depth_family": "lagrange", "depth_order": 1,
    "scheme": "rk4", "steps": None, "scale": 4.0,
    "read_in_form": "projection", "init": "noise", "quadrature_points": None,
    # a name of fem_nn.continuum.right_hand_sides; None: the task kind's (see task_network)
    "rhs": None,
    "channels": 1,
}
TRAINING_OPTIONS = {
    "optimizer": "adamw", "learning_rate": 0.02, "batch_size": 64, "weight_decay": 0.01,
    # a name of fem_nn.trainer.LR_SCHEDULES for every train phase (a phase may name its own),
    # a table of fem_nn.trainer.Manifestations (default the Trainer's; { steps = [1] }: the
    # network's own only), a name of fem_nn.tasks.TRANSFORMS, a penalty weight
    "lr_schedule": None, "manifestations": None, "transform": None, "smoothness": 0.0,
}


def _training_extras(training: dict, source: str) -> None:
    """Checks the training table's schedule, manifestation, transform and penalty entries."""
    if training["lr_schedule"] is not None:
        _options.lr_schedule(training["lr_schedule"], f"{source}: training.lr_schedule")
    if training["manifestations"] is not None:
        Manifestations.from_dict(training["manifestations"], f"{source}: training.manifestations")
    if training["transform"] is not None:
        _options.named(training["transform"], TRANSFORMS, f"{source}: training.transform")
    _options.number(training["smoothness"], f"{source}: training.smoothness", 0, strict=False)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A task, the first network, training defaults and the phases.

    Parameters
    ----------
    task : str
        A key of :data:`fem_nn.tasks.TASKS`.
    phases : tuple of Phase
    network : dict
        Options of the first manifestation (see ``NETWORK_OPTIONS``); empty with `model`.
    training : dict
        Optimizer, learning rate, batch size, weight decay (see ``TRAINING_OPTIONS``).
    seed : int
    max_parameters : int
        The largest network any phase may create (checked before training).
    model : ModelKind, optional
        A model of OdeBlock stages to build instead of a network
        (:mod:`fem_nn.schedule_models`).

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
    model: ModelKind | None = None

    @classmethod
    def from_dict(cls, data, source: str = "schedule") -> "Schedule":
        known = {"task", "phases", "network", "training", "seed", "max_parameters", "model"}
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a table / object at the top level")
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{source}: unknown keys {sorted(unknown)}; expected some of {sorted(known)}")
        _options.named(data.get("task"), TASKS, f"{source}: task")
        phases = data.get("phases")
        if not isinstance(phases, list) or not phases:
            raise ValueError(f"{source}: phases must be a non-empty list of phase tables")
        if "network" in data and "model" in data:
            raise ValueError(f"{source}: give a network table (a ContinuumNetwork) or a model table (a model of "
                             "OdeBlock stages), not both")
        model = None if "model" not in data else ModelKind.from_dict(data["model"], f"{source}: model")
        network = {} if model is not None else cls._network(data.get("network", {}), source)
        training = _options.options(data.get("training", {}), TRAINING_OPTIONS, f"{source}: training")
        _options.named(training["optimizer"], OPTIMIZERS, f"{source}: training.optimizer")
        # checked here, not when training starts: a run folder is prepared before that
        _options.number(training["learning_rate"], f"{source}: training.learning_rate", 0)
        _options.number(training["weight_decay"], f"{source}: training.weight_decay", 0, strict=False)
        _checks.integer(training["batch_size"], f"{source}: training.batch_size", 1)
        _training_extras(training, source)
        schedule = cls(
            task=data["task"],
            phases=tuple(Phase.from_dict(p, f"{source}: phases[{i}]") for i, p in enumerate(phases)),
            network=network,
            training=training,
            seed=_checks.integer(data.get("seed", 0), f"{source}: seed", 0),
            max_parameters=_checks.integer(data.get("max_parameters", 10_000_000), f"{source}: max_parameters", 1),
            model=model,
        )
        schedule.check(source)
        return schedule

    @staticmethod
    def _network(table, source: str) -> dict:
        """The network table completed with ``NETWORK_OPTIONS`` and checked."""
        network = _options.options(table, NETWORK_OPTIONS, f"{source}: network")
        _options.scheme(network["scheme"], f"{source}: network.scheme")
        for key, registry in (("rhs", right_hand_sides), ("read_in_form", read_ins)):
            if network[key] is not None:
                _options.named(network[key], dict.fromkeys(registry.names()), f"{source}: network.{key}")
        if network["steps"] is not None:
            _checks.integer(network["steps"], f"{source}: network.steps", 1)
        _checks.integer(network["channels"], f"{source}: network.channels", 1)
        _options.number(network["scale"], f"{source}: network.scale")
        return network

    def to_dict(self) -> dict:
        first = {"network": dict(self.network)} if self.model is None else {"model": self.model.to_dict()}
        return {
            "task": self.task, "seed": self.seed, "max_parameters": self.max_parameters,
            **first, "training": dict(self.training),
            "phases": [p.to_dict() for p in self.phases],
        }

    @property
    def form(self) -> ModelForm:
        """What the schedule builds and its phases act on (:mod:`fem_nn.schedule_models`):
        the model kind, or the network table's :class:`~fem_nn.schedule_models.ContinuumForm`."""
        return ContinuumForm(self.network) if self.model is None else self.model

    def first_meshes(self) -> tuple[Mesh, Mesh]:
        """The weight and bias meshes of the first manifestation (of the network table)."""
        return ContinuumForm(self.network).first_meshes()

    def check(self, source: str = "schedule") -> list[Mesh]:
        """Replay the phases' effects on the meshes alone (:meth:`fem_nn.phases.Phase.meshes`,
        :meth:`~fem_nn.schedule_models.ModelForm.replay`); returns the weight mesh after each
        phase (a model's depth mesh), or raises ValueError naming the first phase that cannot
        run or would make more than ``max_parameters`` parameters: per field pair of a
        network (C² per weight dof and C per bias dof, for C channels), in the depth fields
        of a model. A model kind is also checked to fit the task and the training table."""
        for i, phase in enumerate(self.phases):
            registered(phase, f"{source}: phases[{i}]")
        form = self.form
        form.fits(self.task, source)
        form.check_training(self.training, source)
        return form.replay(self.phases, self.max_parameters, source)


def registered(phase, where: str = "phase") -> Phase:
    """`phase` if it is a :class:`~fem_nn.phases.Phase` of a registered kind, else an error
    naming `where` and the known kinds."""
    if not isinstance(phase, Phase):
        raise TypeError(f"{where} must be a Phase, got {type(phase).__name__}")
    if phase_class(phase.kind, where) is not type(phase):
        raise ValueError(f"{where}: phase {phase.kind!r} is not the registered {phase.kind!r} phase")
    return phase


def load_schedule(path: str | os.PathLike) -> Schedule:
    """Read and validate a schedule file (``.toml`` or ``.json``), or a bundled schedule by
    name (a file of ``fem_nn/schedules``: ``progressive``, ``burgers``, ``mgopt``,
    ``continuousnet``).

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
