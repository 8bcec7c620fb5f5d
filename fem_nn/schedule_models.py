"""What a schedule builds and its phases act on: its form.

A schedule's ``network`` table makes a :class:`~fem_nn.ContinuumNetwork`
(:class:`ContinuumForm`); its ``model`` table instead makes a model of
:class:`~fem_nn.odeblock.OdeBlock` stages, of the kind the table names — one small class per
kind, registered in :data:`MODEL_KINDS` (:func:`register_model_kind`):

.. code-block:: toml

    task = "digits_images"
    model = { kind = "continuousnet", channels = [8, 16], depth = 2, scheme = "rk4" }

A form holds what differs between the two: the checks of its table, the tasks it fits, the
replay of the phases before any training (:meth:`ModelForm.replay`: the weight and bias
meshes of a network; the depth mesh of a model, the width phases refused), the first
network (:meth:`ModelForm.build`) and how a phase changes it (:meth:`ModelForm.changed`: a
network by the phase's :meth:`~fem_nn.phases.NetworkChange.changed`, a model by the
phase's :meth:`~fem_nn.phases.NetworkChange.stage_changed` of every stage). The phases
themselves are one code path for both.

Examples
--------
>>> sorted(MODEL_KINDS)
['continuousnet', 'hyperbolic']
>>> kind = ModelKind.from_dict({"kind": "continuousnet", "depth": 2}, "model")
>>> kind.options["channels"], kind.depth_axis().n_cells
([8, 16], 2)
>>> ModelKind.from_dict({"kind": "continuousnet", "channels": []}, "model")
Traceback (most recent call last):
...
ValueError: model.channels must be a non-empty list of positive integers, got []
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import ClassVar

import torch

from . import _checks, _options
from .elements import as_family
from .hyperbolic import HyperbolicConvNet
from .hyperbolic.activations import STREAM_ACTIVATIONS
from .hyperbolic.units import NORMS as HYPERBOLIC_NORMS
from .hyperbolic.units import UNITS
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, Mesh, bias_mesh, uniform_axis, weight_mesh
from .models import NORMS, ContinuousNetClassifier
from .odeblock import ode_blocks
from .tasks import Task, task_network
from .trainer import Manifestations

__all__ = ["ModelForm", "ContinuumForm", "ModelKind", "ContinuousNetKind", "HyperbolicKind", "MODEL_KINDS",
           "register_model_kind", "model_kind_class", "IMAGE_TASKS"]

MODEL_KINDS: dict[str, type["ModelKind"]] = {}
IMAGE_TASKS = ("digits_images", "shapes_images")  # the bundled tasks of images (n, channels, height, width)
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclasses.dataclass(frozen=True)
class ModelForm:
    """What a schedule builds: its options (completed and checked) and what a form does."""

    options: dict

    def fits(self, task: str, where: str) -> None:
        """ValueError naming `where` and the task unless the form can be built for `task`."""

    def check_training(self, training: dict, where: str) -> None:
        """ValueError naming the entry of the training table the form cannot train with."""

    def replay(self, phases, max_parameters: int, where: str) -> list[Mesh]:
        """The phases' effects on the form's meshes alone, before any training: the mesh
        after each phase, or ValueError naming the first phase that cannot run or makes more
        than `max_parameters` parameters."""
        raise NotImplementedError

    def build(self, task: Task) -> torch.nn.Module:
        """The first network for `task` (drawn from torch's generator: seed it first)."""
        raise NotImplementedError

    def changed(self, phase, network: torch.nn.Module) -> torch.nn.Module:
        """`network` after the :class:`~fem_nn.phases.NetworkChange` `phase`."""
        raise NotImplementedError


class ContinuumForm(ModelForm):
    """A schedule's ``network`` table (checked by :meth:`fem_nn.Schedule.from_dict`): a
    :class:`~fem_nn.ContinuumNetwork` of :func:`~fem_nn.tasks.task_network`."""

    def first_meshes(self) -> tuple[Mesh, Mesh]:
        """The weight and bias meshes of the first manifestation."""
        n = self.options
        width = uniform_axis(WIDTH_INTERVAL, n["width_cells"], n["width_family"], n["width_order"])
        depth = uniform_axis(DEPTH_INTERVAL, n["depth_cells"], n["depth_family"], n["depth_order"])
        return weight_mesh(width, depth), bias_mesh(width, depth)

    def replay(self, phases, max_parameters, where):
        """The weight mesh after each phase (:meth:`fem_nn.phases.Phase.meshes`); the bound
        is on the parameters per field pair (C² per weight dof and C per bias dof, for C
        channels)."""
        try:
            weights, biases = self.first_meshes()
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: network: {error}") from None
        meshes, channels = [], self.options["channels"]
        for i, phase in enumerate(phases):
            here = f"{where}: phases[{i}] ({phase.kind})"
            try:
                weights, biases = phase.meshes(weights, biases)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{here}: {error}") from None
            parameters = weights.n_dofs * channels**2 + biases.n_dofs * channels
            if parameters > max_parameters:
                raise ValueError(f"{here} would make {parameters} parameters per field pair, "
                                 f"more than max_parameters = {max_parameters}")
            meshes.append(weights)
        return meshes

    def build(self, task):
        return task_network(task, **self.options)

    def changed(self, phase, network):
        return phase.changed(network)


# --- the checks of a model table's options: each raises naming the option ------------------
def _positive(value, name):
    _checks.integer(value, name, 1)


def _positive_list(value, name):
    if not (isinstance(value, list) and value and all(type(v) is int and v >= 1 for v in value)):
        raise ValueError(f"{name} must be a non-empty list of positive integers, got {value!r}")


def _optional_positive(value, name):
    if value is not None:
        _positive(value, name)


def _positive_number(value, name):
    _options.number(value, name, 0)


def _optional_positive_number(value, name):
    if value is not None:
        _positive_number(value, name)


def _flag(value, name):
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")


def _family(value, name):
    try:
        as_family(value)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _one_of(*values) -> Callable:
    return lambda value, name: _options.named(value, dict.fromkeys(values), name)


@dataclasses.dataclass(frozen=True)
class ModelKind(ModelForm):
    """A kind of a schedule's ``model`` table: a model of OdeBlock stages.

    Subclasses set :attr:`kind`, :attr:`defaults` (every option with its default),
    :attr:`checks` (per option, ``check(value, name)`` raising naming it), :attr:`tasks`
    (the task names the model fits) and :meth:`make`. Every kind has ``depth`` (cells),
    ``depth_family``, ``depth_order``, ``scheme`` and ``steps``: all stages share one depth
    axis, changed by the phases through the stages' own depth operations
    (:meth:`~fem_nn.odeblock.OdeBlock.refined`, …) and the model's ``with_stages``.

    Examples
    --------
    A schedule's ``model`` table, completed with the kind's defaults and checked:

    >>> model = ModelKind.from_dict({"kind": "continuousnet", "channels": [4, 8], "depth": 3})
    >>> model.options["channels"], model.options["scheme"], model.depth_axis().n_cells
    ([4, 8], 'rk4', 3)
    >>> ModelKind.from_dict({"kind": "continuousnet", "depth": 0})
    Traceback (most recent call last):
    ...
    ValueError: model.depth must be >= 1, got 0
    """

    kind: ClassVar[str] = ""
    defaults: ClassVar[dict] = {}
    checks: ClassVar[dict[str, Callable]] = {}
    tasks: ClassVar[tuple[str, ...]] = IMAGE_TASKS

    DEPTH_DEFAULTS: ClassVar[dict] = {"depth": 2, "depth_family": "p0", "depth_order": 0, "scheme": "rk4", "steps": None,
                                      "dtype": "float32"}
    DEPTH_CHECKS: ClassVar[dict[str, Callable]] = {
        "depth": _positive, "depth_family": _family, "depth_order": lambda value, name: _checks.integer(value, name, 0),
        "scheme": _options.scheme, "steps": _optional_positive, "dtype": _one_of(*DTYPES),
    }

    @classmethod
    def from_dict(cls, table, where: str = "model") -> "ModelKind":
        """The model kind of a schedule's table ``{"kind": name, option: value, ...}``, its
        options completed with the kind's defaults and checked; ValueError naming
        ``<where>.<option>`` and what was expected."""
        if not isinstance(table, dict) or "kind" not in table:
            raise ValueError(f"{where} must be a table with a 'kind' key (one of {sorted(MODEL_KINDS)}), got {table!r}")
        kind = model_kind_class(table["kind"], f"{where}.kind")
        given = {key: value for key, value in table.items() if key != "kind"}
        options = _options.options(given, copy.deepcopy(kind.defaults), where)
        for key, check in kind.checks.items():
            try:
                check(options[key], f"{where}.{key}")
            except TypeError as error:
                raise ValueError(str(error)) from None
        model = kind(options)
        try:
            model.depth_axis()
        except ValueError as error:
            raise ValueError(f"{where}.depth_order: {error}") from None
        return model

    def to_dict(self) -> dict:
        return {"kind": self.kind, **self.options}

    def depth_axis(self) -> Axis:
        """The stages' first depth axis."""
        o = self.options
        return uniform_axis(DEPTH_INTERVAL, o["depth"], o["depth_family"], o["depth_order"])

    def make(self, depth: Axis, in_channels: int, classes: int) -> torch.nn.Module:
        """The model of these options on `depth`, reading `in_channels`, with `classes` outputs."""
        raise NotImplementedError(f"model kind {self.kind!r} has no make")

    def fits(self, task, where):
        if task not in self.tasks:
            raise ValueError(f"{where}: model kind {self.kind!r} does not fit task {task!r}; "
                             f"it reads the images of {list(self.tasks)}")

    def check_training(self, training, where):
        if training["manifestations"] is not None:
            Manifestations.from_dict(training["manifestations"]).depth_only(f"{where}: training.manifestations")
        if training["smoothness"] != 0:
            raise ValueError(f"{where}: training.smoothness needs a ContinuumNetwork's width and depth fields; "
                             f"model kind {self.kind!r} has depth fields only (use 0)")

    def replay(self, phases, max_parameters, where):
        """The depth mesh after each phase, standing for both meshes of
        :meth:`~fem_nn.phases.Phase.meshes`; the bound is on the depth-field parameters
        (each stage's unit parameters per depth dof, times the dofs). A phase that needs
        width fields (:meth:`~fem_nn.phases.Phase.model_refusal`) is refused."""
        depth = Mesh([self.depth_axis()], ("delta",))
        with torch.random.fork_rng(devices=[]):  # a template of one depth dof, drawn aside
            template = self.make(uniform_axis(DEPTH_INTERVAL, 1, "p0", 0), 1, 1)
        per_dof = sum(p.numel() for block in ode_blocks(template) for p in block.parameters())
        meshes = []
        for i, phase in enumerate(phases):
            here = f"{where}: phases[{i}] ({phase.kind})"
            refusal = phase.model_refusal()
            if refusal is not None:
                raise ValueError(f"{here}: {refusal}; model kind {self.kind!r} has depth fields only")
            try:
                depth = phase.meshes(depth, depth)[0]
            except (TypeError, ValueError) as error:
                raise ValueError(f"{here}: {error}") from None
            parameters = per_dof * depth.n_dofs
            if parameters > max_parameters:
                raise ValueError(f"{here} would make {parameters} depth-field parameters, "
                                 f"more than max_parameters = {max_parameters}")
            meshes.append(depth)
        return meshes

    def build(self, task):
        return self.make(self.depth_axis(), task.x_train.shape[1], task.output_cells)

    def changed(self, phase, network):
        return network.with_stages(phase.stage_changed(block) for block in ode_blocks(network))


def register_model_kind(cls: type[ModelKind]) -> type[ModelKind]:
    """Register the model kind `cls` under its :attr:`~ModelKind.kind` (a class decorator).

    Examples
    --------
    >>> register_model_kind(ContinuousNetKind)
    Traceback (most recent call last):
    ...
    ValueError: model kind 'continuousnet' is registered already
    """
    if not (isinstance(cls, type) and issubclass(cls, ModelKind)):
        raise TypeError(f"a model kind must be a subclass of ModelKind, got {cls!r}")
    if not isinstance(cls.kind, str) or not cls.kind:
        raise ValueError(f"{cls.__name__}.kind must be a non-empty string, got {cls.kind!r}")
    if cls.kind in MODEL_KINDS:
        raise ValueError(f"model kind {cls.kind!r} is registered already")
    if set(cls.checks) != set(cls.defaults):
        raise ValueError(f"{cls.__name__}: checks must cover every option, {sorted(cls.defaults)}")
    MODEL_KINDS[cls.kind] = cls
    return cls


def model_kind_class(kind, where: str = "model.kind") -> type[ModelKind]:
    """The registered class of the model kind `kind`, else ValueError listing the kinds."""
    if not isinstance(kind, str) or kind not in MODEL_KINDS:
        raise ValueError(f"{where}: unknown model kind {kind!r}; expected one of {sorted(MODEL_KINDS)}")
    return MODEL_KINDS[kind]


@register_model_kind
class ContinuousNetKind(ModelKind):
    """``continuousnet``: a :class:`~fem_nn.models.ContinuousNetClassifier`: ``channels``
    ([8, 16]), ``norm`` ("group"), ``rate`` (1), and the depth options (``depth`` 2 P0 cells,
    ``scheme`` "rk4", ``steps`` one per cell, ``dtype`` "float32")."""

    kind = "continuousnet"
    defaults = {"channels": [8, 16], "norm": "group", "rate": 1.0, **ModelKind.DEPTH_DEFAULTS}
    checks = {"channels": _positive_list, "norm": _one_of(*NORMS), "rate": _positive_number, **ModelKind.DEPTH_CHECKS}

    def make(self, depth, in_channels, classes):
        o = self.options
        return ContinuousNetClassifier(in_channels, classes, o["channels"], depth, o["norm"], scheme=o["scheme"],
                                       steps=o["steps"], rate=o["rate"], dtype=DTYPES[o["dtype"]])


@register_model_kind
class HyperbolicKind(ModelKind):
    """``hyperbolic``: a :class:`~fem_nn.hyperbolic.HyperbolicConvNet` with the activation
    at the downsamplings (its stage interiors OdeBlocks): ``channels`` ([8, 16]),
    ``variant`` ("eq3"), ``activation`` ("softball"), ``expansion`` (1), ``directions`` (4),
    ``weight_sharing`` (true), ``norm`` ("batch"), ``rate`` (default: the depth cells), and
    the depth options (``scheme`` "euler": the discrete network's)."""

    kind = "hyperbolic"
    defaults = {"channels": [8, 16], "variant": "eq3", "activation": "softball", "expansion": 1, "directions": 4,
                "weight_sharing": True, "norm": "batch", "rate": None, **ModelKind.DEPTH_DEFAULTS, "scheme": "euler"}
    checks = {"channels": _positive_list, "variant": _one_of(*UNITS), "activation": _one_of(*STREAM_ACTIVATIONS),
              "expansion": _positive, "directions": _positive, "weight_sharing": _flag, "norm": _one_of(*HYPERBOLIC_NORMS),
              "rate": _optional_positive_number, **ModelKind.DEPTH_CHECKS}

    def make(self, depth, in_channels, classes):
        o = self.options
        return HyperbolicConvNet(in_channels, classes, o["channels"], o["variant"], o["activation"], "downsampling", depth,
                                 scheme=o["scheme"], steps=o["steps"], rate=o["rate"], expansion=o["expansion"],
                                 directions=o["directions"], weight_sharing=o["weight_sharing"], norm=o["norm"],
                                 dtype=DTYPES[o["dtype"]])
