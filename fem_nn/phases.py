"""The phases of a training schedule: one small class per kind, registered by its name.

A phase class holds, for its kind,

- :attr:`~Phase.defaults` and :attr:`~Phase.required`: its options, completed and checked by
  :meth:`Phase.from_dict` when a schedule is loaded (:meth:`~Phase.checked`);
- :meth:`~Phase.meshes`: its effect on the weight and bias meshes, replayed on the meshes alone
  by :meth:`~fem_nn.Schedule.check` before any training, so that a phase that cannot run or a
  network over ``max_parameters`` is found then;
- :meth:`~Phase.run`: what it does to the live trainer (:class:`PhaseRun`);
- :meth:`~Phase.model_refusal`: why it cannot run on a model of
  :class:`~fem_nn.odeblock.OdeBlock` stages (a schedule's ``model`` table,
  :mod:`fem_nn.schedule_models`), or None where it can; such a model's depth mesh stands for
  both the weight and the bias mesh of :meth:`~Phase.meshes` (both have the depth axis δ).

A new kind is one subclass and one :func:`register_phase`; an unknown kind is an error that
lists the known ones, when a schedule is loaded, checked or run.

Examples
--------
>>> sorted(PHASES)
['adapt', 'coarsen', 'elevate', 'lower', 'mgopt', 'project_down', 'refine', 'remanifest', 'train']
>>> Phase.from_dict({"phase": "refine", "axis": "depth", "steps": "double"}).options["k"]
2
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import torch

from . import _checks, _options, distributed
from .inference import format_project_down, project_down
from .mesh import MESH_OPERATIONS, WIDTH_INTERVAL, Mesh, uniform_axis
from .mgopt import MGOpt
from .continuum import ContinuumNetwork, network_axes
from .odeblock import OdeBlock
from .refinement import adapted_network, coarsened_network, elevated_network, lowered_network, refined_network
from .transfer import transfer_optimizer
from .trainer import Trainer

if TYPE_CHECKING:  # the forms import the models; the phases need only their methods
    from .schedule_models import ModelForm

__all__ = [
    "Phase", "PhaseRun", "NetworkChange", "MeshChange", "Train", "Refine", "Coarsen", "Elevate", "Lower",
    "Remanifest", "Adapt", "MGOptPhase", "ProjectDown", "PHASES", "register_phase", "phase_class", "COARSER",
]

PHASES: dict[str, type["Phase"]] = {}


@dataclasses.dataclass
class PhaseRun:
    """What a phase runs on: the live trainer, the schedule's training table, the epoch the
    phase began at (a resumed phase began before the resumption), the project-down rows
    of the run so far and the schedule's form (:class:`~fem_nn.schedule_models.ModelForm`:
    how a change of the network is made on what the schedule built)."""

    trainer: Trainer
    training: dict
    phase_start: int
    reports: list
    form: ModelForm


@dataclasses.dataclass(frozen=True)
class Phase:
    """One phase of a schedule: its kind (the class) and its options (completed and checked:
    build it with :meth:`from_dict`).

    Subclasses set :attr:`kind`, :attr:`defaults` (every option with its default), the
    :attr:`required` options and the :attr:`integers` (integer options and their least
    values), and define :meth:`run`, and :meth:`checked` and :meth:`meshes` where they have
    more to check or change the meshes.

    Examples
    --------
    >>> phase = Phase.from_dict({"phase": "refine", "axis": "width", "cells": [0]})
    >>> type(phase).__name__, phase.options
    ('Refine', {'axis': 'width', 'k': 2, 'cells': [0], 'steps': 'keep'})
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> phase.meshes(weight_mesh(), bias_mesh())[0].shape  # P1 width: one more node
    (10, 10, 4)
    """

    options: dict
    kind: ClassVar[str] = ""
    defaults: ClassVar[dict] = {}
    required: ClassVar[tuple[str, ...]] = ()
    integers: ClassVar[dict[str, int]] = {}

    @classmethod
    def from_dict(cls, entry, where: str = "phase") -> "Phase":
        """The phase of a schedule's entry ``{"phase": kind, option: value, ...}``, its
        options completed with the kind's defaults and checked; ValueError naming `where`."""
        if not isinstance(entry, dict) or "phase" not in entry:
            raise ValueError(f"{where} must be a table with a 'phase' key (one of {sorted(PHASES)}), got {entry!r}")
        kind = phase_class(entry["phase"], where)
        given = kind.completed({k: v for k, v in entry.items() if k != "phase"})
        return kind(kind.checked(_options.options(given, copy.deepcopy(kind.defaults), where, kind.required), where))

    @classmethod
    def completed(cls, given: dict) -> dict:
        """The options as given, with any default that depends on the others."""
        return given

    @classmethod
    def checked(cls, options: dict, where: str) -> dict:
        """`options` (complete) checked, integers as ints; ValueError naming `where` and the option."""
        if "axis" in options:
            try:
                network_axes(options["axis"])
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
        for key, least in cls.integers.items():
            options[key] = _checks.integer(options[key], f"{where}: {key}", least)
        if options.get("learning_rate") is not None:
            _options.number(options["learning_rate"], f"{where}: learning_rate", 0)
        if options.get("lr_schedule") is not None:
            _options.lr_schedule(options["lr_schedule"], f"{where}: lr_schedule")
        return options

    def to_dict(self) -> dict:
        return {"phase": self.kind, **self.options}

    def meshes(self, weights: Mesh, biases: Mesh) -> tuple[Mesh, Mesh]:
        """The weight and bias meshes after this phase (by default unchanged)."""
        return weights, biases

    def run(self, run: PhaseRun) -> None:
        """Run this phase on ``run.trainer``."""
        raise NotImplementedError(f"phase {self.kind!r} has no run")

    def model_refusal(self) -> str | None:
        """Why this phase cannot run on a model of OdeBlock stages (depth fields only), or
        None where it can. A kind runs on ContinuumNetworks only unless it says otherwise."""
        return f"phase {self.kind!r} acts on a ContinuumNetwork only"


def register_phase(cls: type[Phase]) -> type[Phase]:
    """Register the phase class `cls` under its :attr:`~Phase.kind` (a class decorator).

    Examples
    --------
    >>> register_phase(Train)
    Traceback (most recent call last):
    ...
    ValueError: phase 'train' is registered already
    """
    if not (isinstance(cls, type) and issubclass(cls, Phase)):
        raise TypeError(f"a phase must be a subclass of Phase, got {cls!r}")
    if not isinstance(cls.kind, str) or not cls.kind:
        raise ValueError(f"{cls.__name__}.kind must be a non-empty string, got {cls.kind!r}")
    if cls.kind in PHASES:
        raise ValueError(f"phase {cls.kind!r} is registered already")
    PHASES[cls.kind] = cls
    return cls


def phase_class(kind, where: str = "phase") -> type[Phase]:
    """The registered class of the phase kind `kind`, else ValueError listing the kinds."""
    if not isinstance(kind, str) or kind not in PHASES:
        raise ValueError(f"{where}: unknown phase {kind!r}; expected one of {sorted(PHASES)}")
    return PHASES[kind]


def _steps(options: dict, named: str, where: str) -> None:
    steps = options["steps"]
    if steps not in ("keep", named) and not (isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1):
        raise ValueError(f"{where}: steps must be 'keep', '{named}' or a positive integer, got {steps!r}")


@register_phase
class Train(Phase):
    """``train``: ``epochs`` epochs (required), at ``learning_rate`` (default: keep the
    current one) with the ``lr_schedule`` (default: the training table's) over the phase."""

    kind = "train"
    defaults = {"epochs": None, "learning_rate": None, "lr_schedule": None}
    required = ("epochs",)
    integers = {"epochs": 1}

    def run(self, run: PhaseRun) -> None:
        o, trainer = self.options, run.trainer
        if o["learning_rate"] is not None:
            for group in trainer.optimizer.param_groups:
                group["lr"] = o["learning_rate"]
        remaining = o["epochs"] - (trainer.epoch - run.phase_start)
        if remaining > 0:
            # the learning-rate schedule spans the whole phase, resumed or not
            trainer.fit(remaining, lr_schedule=o["lr_schedule"] or run.training["lr_schedule"],
                        lr_span=(run.phase_start, o["epochs"]))

    def model_refusal(self):
        return None


class NetworkChange(Phase):
    """A phase that replaces the trainer's network by :meth:`changed`, the optimizer state
    carried over by the same projection (:func:`~fem_nn.transfer_optimizer`), and records
    the change as an event in the history. The change is made by the schedule's form
    (``run.form.changed``): :meth:`changed` on a ContinuumNetwork, :meth:`stage_changed` on
    every stage of a model of OdeBlock stages."""

    def changed(self, network: ContinuumNetwork) -> ContinuumNetwork:
        raise NotImplementedError(f"phase {self.kind!r} has no changed network")

    def stage_changed(self, block: OdeBlock) -> OdeBlock:
        """One stage of a model of OdeBlock stages after this phase."""
        raise NotImplementedError(f"phase {self.kind!r} has no changed stage")

    @property
    def event(self) -> str:
        return f"{self.kind} {self.options.get('axis', '')}".strip()

    def run(self, run: PhaseRun) -> None:
        trainer = run.trainer
        new = run.form.changed(self, trainer.network)
        trainer.replace(new, transfer_optimizer(trainer.optimizer, trainer.network, new), event=self.event)


class MeshChange(NetworkChange):
    """A mesh operation of :data:`~fem_nn.mesh.MESH_OPERATIONS` (named by :attr:`kind`) on
    the mesh axes that a network ``axis`` names; its options (``axis``, the operation's size,
    ``cells`` where it selects cells, ``steps`` where :attr:`steps_word` is set) come from the
    operation."""

    default_axis: ClassVar[str] = "depth"
    steps_word: ClassVar[str | None] = None  # the word for "steps × k", None: no steps option
    network_change: ClassVar[Callable]  # (network, **options) -> network

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        operation = MESH_OPERATIONS[cls.kind]
        cls.defaults = {"axis": cls.default_axis, operation.size: operation.default,
                        **({"cells": None} if operation.cells else {}), **({"steps": "keep"} if cls.steps_word else {})}
        cls.integers = {operation.size: 2 if operation.size == "k" else 1}  # a split or merge: k >= 2

    @classmethod
    def checked(cls, options, where):
        options = super().checked(options, where)
        if cls.steps_word:
            _steps(options, cls.steps_word, where)
        return options

    def meshes(self, weights, biases):
        o, operation = self.options, MESH_OPERATIONS[self.kind]
        weight_axes, bias_axes = network_axes(o["axis"])

        def apply(mesh, axes):
            return operation.apply(mesh, axes, o[operation.size], o.get("cells")) if axes else mesh

        return apply(weights, weight_axes), apply(biases, bias_axes)

    def changed(self, network):
        return self.network_change(network, **self.options)

    def stage_changed(self, block):
        """The stage's own depth operation (:meth:`~fem_nn.odeblock.OdeBlock.refined`,
        ``coarsened``, ``elevated``, ``lowered``) with this phase's options."""
        method = MESH_OPERATIONS[self.kind].method
        return getattr(block, method)(**{key: value for key, value in self.options.items() if key != "axis"})

    def model_refusal(self):
        if network_axes(self.options["axis"]) != network_axes("depth"):
            return f"axis {self.options['axis']!r} is a width axis"
        return None


@register_phase
class Refine(MeshChange):
    """``refine``: h-refinement (:func:`~fem_nn.refined_network`): ``axis`` ("depth"), ``k``
    (2), ``cells`` (all), ``steps`` ("keep", "double": × k, or a number)."""

    kind, steps_word = "refine", "double"
    network_change = staticmethod(refined_network)


@register_phase
class Coarsen(MeshChange):
    """``coarsen``: the inverse (:func:`~fem_nn.coarsened_network`): ``axis`` ("depth"),
    ``k`` (2), ``steps`` ("keep", "halve" or a number)."""

    kind, steps_word = "coarsen", "halve"
    network_change = staticmethod(coarsened_network)


@register_phase
class Elevate(MeshChange):
    """``elevate``: p-refinement (:func:`~fem_nn.elevated_network`): ``axis`` ("width"),
    ``by`` (1), ``cells`` (all)."""

    kind, default_axis = "elevate", "width"
    network_change = staticmethod(elevated_network)


@register_phase
class Lower(MeshChange):
    """``lower``: the inverse of ``elevate`` (:func:`~fem_nn.lowered_network`)."""

    kind, default_axis = "lower", "width"
    network_change = staticmethod(lowered_network)


# one level down an MG/OPT hierarchy: depth cells and steps halved
COARSER = Phase.from_dict({"phase": "coarsen", "axis": "depth", "steps": "halve"}, "COARSER")


@register_phase
class Remanifest(NetworkChange):
    """``remanifest``: the same fields with another ``scheme`` (required) and ``steps``
    (default: as before)."""

    kind = "remanifest"
    defaults = {"scheme": None, "steps": None}
    required = ("scheme",)

    @classmethod
    def checked(cls, options, where):
        options = super().checked(options, where)
        _options.scheme(options["scheme"], f"{where}: scheme")
        if options["steps"] is not None:
            options["steps"] = _checks.integer(options["steps"], f"{where}: steps", 1)
        return options

    def changed(self, network):
        return network.remanifested(scheme=self.options["scheme"], steps=self.options["steps"])

    def stage_changed(self, block):
        return block.replaced(scheme=self.options["scheme"], steps=self.options["steps"])

    def model_refusal(self):
        return None


@register_phase
class Adapt(NetworkChange):
    """``adapt``: bisect the depth cells with the largest error indicators
    (:func:`~fem_nn.adapted_network`): ``fraction`` (0.25) of them, ``steps`` ("keep",
    "double" or a number), ``hp`` (false; true: raise the order instead where the fields are
    smooth)."""

    kind = "adapt"
    defaults = {"fraction": 0.25, "steps": "keep", "hp": False}

    @classmethod
    def checked(cls, options, where):
        options = super().checked(options, where)
        _steps(options, "double", where)
        if not (isinstance(options["fraction"], (int, float)) and 0 < options["fraction"] <= 1):
            raise ValueError(f"{where}: fraction must be in (0, 1], got {options['fraction']!r}")
        if not isinstance(options["hp"], bool):
            raise ValueError(f"{where}: hp must be true or false, got {options['hp']!r}")
        return options

    def meshes(self, weights, biases):
        """The worst case: the cells adapted are chosen by the trained fields, so the bound
        checked is ``ceil(fraction · n)`` of the n depth cells, each one whose bisection (with
        ``hp``: bisection or elevation by one, whichever adds more) adds the most dofs. The
        dofs that changing one cell adds do not depend on the other cells (the depth axis's
        dofs are a sum over its cells, the mesh's a product over its axes), so no run of the
        phase makes more parameters than these meshes have; the later phases are checked on
        them."""
        o, (weight_axes, bias_axes) = self.options, network_axes("depth")
        n = weights.axes[weights.axis_index("delta")].n_cells

        def changed(meshes, kind, cells):
            operation = MESH_OPERATIONS[kind]
            return tuple(operation.apply(mesh, axes, operation.default, cells) if cells else mesh
                         for mesh, axes in zip(meshes, (weight_axes, bias_axes)))

        meshes = (weights, biases)
        kinds = ("refine", "elevate") if o["hp"] else ("refine",)
        added = {kind: [sum(m.n_dofs for m in changed(meshes, kind, [i])) for i in range(n)] for kind in kinds}
        best = [max(kinds, key=lambda kind: added[kind][i]) for i in range(n)]
        worst = sorted(range(n), key=lambda i: -added[best[i]][i])[: math.ceil(o["fraction"] * n)]
        # elevation first, as adapted_network does: it keeps the cell numbers that bisection changes
        meshes = changed(meshes, "elevate", sorted(i for i in worst if best[i] == "elevate"))
        return changed(meshes, "refine", sorted(i for i in worst if best[i] == "refine"))

    def changed(self, network):
        o = self.options
        return adapted_network(network, fraction=o["fraction"], steps=o["steps"], hp=o["hp"])

    def model_refusal(self):
        return "adapt's error indicators need a ContinuumNetwork's weight and bias fields"


@register_phase
class MGOptPhase(Phase):
    """``mgopt``: ``cycles`` (required) MG/OPT V-cycles (:class:`~fem_nn.MGOpt`) over a
    depth hierarchy of ``levels`` (2) networks, each coarsened from the last (depth cells
    and steps halved), one global batch per cycle: ``learning_rate`` (the optimizer's),
    ``pre_smoothing`` / ``post_smoothing`` (1), ``coarse_steps`` (4)."""

    kind = "mgopt"
    defaults = {"cycles": None, "levels": 2, "learning_rate": None, "pre_smoothing": 1, "post_smoothing": 1,
                "coarse_steps": 4}
    required = ("cycles",)
    integers = {"cycles": 1, "levels": 2, "pre_smoothing": 0, "post_smoothing": 0, "coarse_steps": 1}

    def meshes(self, weights, biases):
        """Unchanged; the hierarchy's coarsened depth meshes are checked to exist."""
        coarse = (weights, biases)
        for _ in range(self.options["levels"] - 1):
            coarse = COARSER.meshes(*coarse)
        return weights, biases

    def model_refusal(self):
        return None

    def run(self, run: PhaseRun) -> None:
        o, trainer = self.options, run.trainer
        levels = [trainer.network]
        for _ in range(o["levels"] - 1):
            levels.append(run.form.changed(COARSER, levels[-1]))
        rate = o["learning_rate"] or trainer.optimizer.param_groups[0]["lr"]
        task, batch = trainer.task, {}
        cycle = MGOpt(levels, lambda net: task.loss(net, batch["x"], batch["y"]), rate,
                      o["pre_smoothing"], o["post_smoothing"], o["coarse_steps"])
        for _ in range(o["cycles"]):
            indices = torch.randperm(len(task.x_train), generator=trainer.generator)[: trainer.batch_size]
            batch["x"], batch["y"] = task.x_train[indices], task.y_train[indices]
            cycle.cycle()
        trainer.history.append({"epoch": trainer.epoch, "event": f"mgopt × {o['cycles']}",
                                task.metric_name: task.metric(trainer.network)})


@register_phase
class ProjectDown(Phase):
    """``project_down``: measure cheaper manifestations without changing the network
    (:func:`~fem_nn.project_down`): ``depth_cells`` (a list; may be left out with width
    lists), ``steps`` (a list; default one step per depth cell), ``schemes`` (["rk4"]),
    ``width_cells`` and ``width_orders`` (lists; default none)."""

    kind = "project_down"
    defaults = {"depth_cells": None, "steps": None, "schemes": ["rk4"], "width_cells": [], "width_orders": []}
    required = ("depth_cells",)

    @classmethod
    def completed(cls, given):
        if (given.get("width_cells") or given.get("width_orders")) and "depth_cells" not in given:
            return {**given, "depth_cells": []}  # a project-down in width alone
        return given

    @classmethod
    def checked(cls, options, where):
        options = super().checked(options, where)
        schemes = options["schemes"]
        if not isinstance(schemes, list) or not schemes:
            raise ValueError(f"{where}: schemes must be a non-empty list of scheme names, got {schemes!r}")
        for scheme in schemes:
            _options.scheme(scheme, f"{where}: schemes")
        width_down = bool(options["width_cells"] or options["width_orders"])
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
        return options

    def model_refusal(self):
        if self.options["width_cells"] or self.options["width_orders"]:
            return "width_cells and width_orders project width fields"
        return None

    def meshes(self, weights, biases):
        """Unchanged; each width order is checked against the width family's orders."""
        width = weights.axes[0]
        for order in self.options["width_orders"]:
            uniform_axis(WIDTH_INTERVAL, 1, width.family, order)  # an order the family lacks fails here
        return weights, biases

    def run(self, run: PhaseRun) -> None:
        o, trainer = self.options, run.trainer
        rows = project_down(trainer.network, trainer.task, o["depth_cells"], o["steps"], o["schemes"],
                            o["width_cells"] or None, o["width_orders"] or None)
        run.reports.append(rows)
        if distributed.rank_and_size()[0] == 0:
            print(format_project_down(rows, trainer.task.metric_name))
