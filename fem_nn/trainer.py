"""A plain torch training loop for continuum networks: seeded, checkpointed, resumable,
distributed, and safe against NaN steps.

Every rank draws the same shuffled global batches from one seeded generator and trains on
its share (see :mod:`fem_nn.distributed`). A step whose loss or gradient is not finite is
rolled back before it moves anything (the check comes between backward and the optimizer,
on the gradients every rank shares after DDP's averaging), recorded in the history, and
skipped. Checkpoints (:mod:`fem_nn.checkpoint`) hold the generator and RNG states, so a
resumed run repeats an uninterrupted one bit for bit on the CPU.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import _checks, distributed
from .checkpoint import load_checkpoint, save_checkpoint
from .integrators import tableau
from .continuum import ContinuumNetwork
from .optimizers import make_optimizer
from .regularization import SmoothnessPenalty
from .mesh import WIDTH_INTERVAL, Mesh, uniform_axis
from .odeblock import manifested, ode_blocks
from .tasks import RESOLUTIONS, Task, at_resolution

__all__ = [
    "Trainer", "make_optimizer", "Manifestations", "DEFAULT_MANIFESTATIONS", "DEPTH_MANIFESTATIONS", "learning_rate_factor", "LR_SCHEDULES",
    "train_classifier",
]

MAX_BAD_STEPS = 5


def _constant(progress: float) -> float:
    return 1.0


def _cosine(progress: float) -> float:
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def _one_cycle(progress: float) -> float:
    """Warm-up from 1/25 to 1 over the first 30 %, then annealing to 1/25e4 (cosine both
    ways): torch's ``OneCycleLR`` defaults, without its momentum cycle."""
    low, final = 1.0 / 25.0, 1.0 / 25e4
    if progress < 0.3:
        return low + (1.0 - low) * _cosine(1.0 - progress / 0.3)
    return final + (1.0 - final) * _cosine((progress - 0.3) / 0.7)


# the learning rate as a fraction of the base rate, a pure function of the progress through
# a fit (0 at its first batch, 1 after its last): a resumed run recomputes it, no state
LR_SCHEDULES: dict[str, Callable[[float], float]] = {"constant": _constant, "cosine": _cosine, "one_cycle": _one_cycle}


def learning_rate_factor(name: str, progress: float) -> float:
    """The learning rate of schedule `name` (a key of :data:`LR_SCHEDULES`) at `progress`
    in [0, 1], as a fraction of the base rate.

    Examples
    --------
    >>> [round(learning_rate_factor("cosine", p), 3) for p in (0.0, 0.5, 1.0)]
    [1.0, 0.5, 0.0]
    >>> learning_rate_factor("one_cycle", 0.3)
    1.0
    """
    if name not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {sorted(LR_SCHEDULES)}, got {name!r}")
    return LR_SCHEDULES[name](min(max(float(progress), 0.0), 1.0))


class Manifestations:
    """A distribution of manifestations to train in: each batch draws, uniformly and
    independently, a step count (a multiple of the network's own), a scheme, a number of
    extra width quadrature points and an input resolution, so the loss is an average over
    manifestations of one continuum (the depth analogue of multi-resolution training).

    Parameters
    ----------
    steps : sequence of int, default (1,)
        Multiples of the network's steps.
    schemes : sequence of str, optional
        Runge–Kutta scheme names; default the network's own.
    quadrature : sequence of int, default (0,)
        Extra Gauss points per width cell (0: the network's own rule).
    resolution : sequence of float, default (1,)
        Multiples of the task's sample count: a batch drawn at another resolution is the
        same training pairs at that count (:func:`~fem_nn.tasks.at_resolution`; a
        regression's targets and P0 read-out cells follow), read with ``resample=True``.
        A task without a resolution (no entry in :data:`~fem_nn.tasks.RESOLUTIONS`, e.g.
        digits) is trained at its own, as :func:`~fem_nn.invariance.invariance` skips it.

    Examples
    --------
    >>> m = Manifestations(steps=[1, 2], schemes=["rk4", "rk4_38"], resolution=[0.5, 1, 2])
    >>> m.draw(torch.Generator().manual_seed(0))  # (steps multiple, scheme, extra points, resolution)
    (1, 'rk4_38', 0, 2.0)
    """

    def __init__(self, steps: Sequence[int] = (1,), schemes: Sequence[str] | None = None, quadrature: Sequence[int] = (0,),
                 resolution: Sequence[float] = (1,)):
        self.steps = self._integers(steps, "steps", 1)
        self.quadrature = self._integers(quadrature, "quadrature", 0)
        if isinstance(resolution, (str, bytes)) or not isinstance(resolution, Sequence) or not resolution:
            raise ValueError(f"resolution must be a non-empty list of positive numbers, got {resolution!r}")
        self.resolution = tuple(float(_checks.real(v, f"resolution[{i}]")) for i, v in enumerate(resolution))
        if not all(v > 0 for v in self.resolution):
            raise ValueError(f"resolution must hold positive multiples of the sample count, got {list(resolution)}")
        if schemes is not None:
            if isinstance(schemes, str) or not isinstance(schemes, Sequence) or not schemes:
                raise ValueError(f"schemes must be a non-empty list of scheme names, got {schemes!r}")
            schemes = tuple(tableau(s).name for s in schemes)
        self.schemes = schemes

    @staticmethod
    def _integers(values, name: str, minimum: int) -> tuple[int, ...]:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"{name} must be a non-empty list of integers, got {values!r}")
        return tuple(_checks.integer(v, f"{name}[{i}]", minimum) for i, v in enumerate(values))

    @classmethod
    def from_dict(cls, data: dict, where: str = "manifestations") -> "Manifestations":
        """From a schedule's table ``{steps = [...], schemes = [...], quadrature = [...],
        resolution = [...]}``."""
        if not isinstance(data, dict) or not set(data) <= {"steps", "schemes", "quadrature", "resolution"}:
            raise ValueError(f"{where} must be a table with keys among steps, schemes, quadrature, resolution, got {data!r}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: {error}") from None

    @classmethod
    def coerce(cls, value) -> "Manifestations | None":
        """`value` as a Manifestations: one, a schedule's table (:meth:`from_dict`) or None."""
        if isinstance(value, dict):
            value = cls.from_dict(value)
        if value is not None and not isinstance(value, cls):
            raise TypeError(f"manifestations must be a Manifestations, a dict or None, got {type(value).__name__}")
        return value

    def to_dict(self) -> dict:
        data = {"steps": list(self.steps), "quadrature": list(self.quadrature)}
        if self.resolution != (1.0,):  # schedules saved before resolution sampling read the same
            data["resolution"] = list(self.resolution)
        return data if self.schemes is None else {**data, "schemes": list(self.schemes)}

    def depth_only(self, where: str = "manifestations") -> "Manifestations":
        """This distribution, checked to draw no width quadrature and no input resolution:
        what models of OdeBlock stages (no width fields) can be trained in."""
        if self.quadrature != (0,) or self.resolution != (1.0,):
            raise ValueError(f"{where}: quadrature and resolution draws need a ContinuumNetwork; "
                             "models of OdeBlock stages draw steps and schemes")
        return self

    def draw(self, generator: torch.Generator, resolution: bool = True) -> tuple[int, str | None, int, float]:
        """(steps multiple, scheme or None for the network's own, extra quadrature points,
        resolution multiple: 1 without drawing where the task has no `resolution`)."""
        def pick(options):
            return options[int(torch.randint(len(options), (1,), generator=generator))] if len(options) > 1 else options[0]

        drawn = pick(self.steps), None if self.schemes is None else pick(self.schemes), pick(self.quadrature)
        return (*drawn, pick(self.resolution) if resolution else 1.0)


# measured (digits, 100 epochs; Burgers, 300): rk4 × 4 steps trained alone loses 12x its
# Burgers error under rk4 × 8; drawn from these, every depth manifestation of the invariance
# set stays within 1.4 % of the trained error, at ~1.25x the training time. Burgers, 300
# epochs (bench invariance --quick): steps, schemes and quadrature drawn leave the worst
# resolution 3.8x the trained error, the resolution drawn alone the worst width 2.2x; all
# drawn: depth, width and resolution within 0 %, 0.05 % and 7.2 %
DEPTH_MANIFESTATIONS = Manifestations(steps=(1, 2), schemes=("rk4", "rk4_38", "midpoint"))  # models without width
DEFAULT_MANIFESTATIONS = Manifestations(steps=DEPTH_MANIFESTATIONS.steps, schemes=DEPTH_MANIFESTATIONS.schemes,
                                        quadrature=(0, 1, 2), resolution=(0.5, 1, 2, 4))


def _check_trainable(network) -> None:
    """TypeError unless `network` is a ContinuumNetwork or a model of OdeBlock stages."""
    if isinstance(network, ContinuumNetwork):
        return
    if not (ode_blocks(network) and callable(getattr(network, "parameter_meshes", None))):
        raise TypeError(f"network must be a ContinuumNetwork or a model of OdeBlock stages with parameter_meshes(), "
                        f"got {type(network).__name__}")


def _span(lr_span, epoch: int, epochs: int) -> tuple[int, int]:
    """`lr_span` checked to hold the epochs ``epoch … epoch + epochs``."""
    if not (isinstance(lr_span, tuple) and len(lr_span) == 2):
        raise ValueError(f"lr_span must be a pair (first epoch, epochs), got {lr_span!r}")
    first, span = (_checks.integer(v, f"lr_span[{i}]", 0) for i, v in enumerate(lr_span))
    if not first <= epoch or epoch + epochs > first + span:
        raise ValueError(f"lr_span {lr_span} must hold epochs {epoch}..{epoch + epochs}")
    return first, span


class Trainer:
    """Train a :class:`~fem_nn.ContinuumNetwork` on a :class:`~fem_nn.tasks.Task`.

    Parameters
    ----------
    network : ContinuumNetwork or torch.nn.Module
        A continuum network, or a model of :class:`~fem_nn.odeblock.OdeBlock` stages with
        ``parameter_meshes()`` (:class:`~fem_nn.models.ContinuousNetClassifier`,
        :class:`~fem_nn.hyperbolic.HyperbolicConvNet`): trained itself, its stages in the
        drawn steps and schemes (by default :data:`DEPTH_MANIFESTATIONS`; no width draws,
        no smoothness penalty).
    task : Task
    optimizer : torch.optim.Optimizer or str, default "adamw"
        An optimizer over the network's parameters, or a name for :func:`make_optimizer`.
    learning_rate, weight_decay : float
        Used when `optimizer` is a name.
    batch_size : int, default 64
        The global batch (over all ranks).
    seed : int, default 0
    metrics_path : path, optional
        A JSON-lines file: one line per epoch (loss, the task's metric, parameter count).
    checkpoint_path : path, optional
        Written every `checkpoint_every` epochs, with :attr:`checkpoint_metadata` (JSON-ready;
        :func:`~fem_nn.run_schedule` keeps the schedule and its position in it there).
    progress : bool, default True
    manifestations : Manifestations or dict or None, default :data:`DEFAULT_MANIFESTATIONS`
        Train each batch in a manifestation drawn from this distribution (see
        :class:`Manifestations`): by default 1 or 2 times the network's steps of rk4, rk4_38
        or midpoint, so that the fields learn a flow that every scheme of order ≥ 2 at the
        trained steps or more integrates alike, not one map of the trained steps; 0, 1 or 2
        extra Gauss points per width cell; and, where the task has a resolution, its inputs
        at ½, 1, 2 or 4 times its sample count. None: the network's own manifestation only.
    transform : callable, optional
        ``transform(x, y, generator) -> (x, y)`` applied to every training batch before the
        loss (augmentation, e.g. :func:`fem_nn.tasks.burgers_symmetries`); it draws from
        `generator` (the trainer's, so that runs repeat).
    smoothness : float, default 0
        The weight of the smoothness penalty (:class:`~fem_nn.regularization.SmoothnessPenalty`)
        added to the loss.

    Examples
    --------
    >>> from fem_nn.tasks import digits_task, task_network
    >>> task = digits_task()
    >>> trainer = Trainer(task_network(task, width_cells=8), task, progress=False)
    >>> first, second = trainer.fit(2)
    >>> second["epoch"], second["loss"] < first["loss"], second["test_accuracy"] > 0.2
    (2, True, True)
    """

    def __init__(
        self,
        network: ContinuumNetwork,
        task: Task,
        optimizer="adamw",
        learning_rate: float = 0.02,
        weight_decay: float = 0.01,
        batch_size: int = 64,
        seed: int = 0,
        metrics_path=None,
        checkpoint_path=None,
        checkpoint_every: int = 1,
        progress: bool = True,
        manifestations: Manifestations | dict | None = DEFAULT_MANIFESTATIONS,
        transform: Callable | None = None,
        smoothness: float = 0.0,
    ):
        _check_trainable(network)
        if not isinstance(task, Task):
            raise TypeError(f"task must be a fem_nn.tasks.Task, got {type(task).__name__}")
        self.task = task
        self.batch_size = _checks.integer(batch_size, "batch_size", 1)
        self.checkpoint_every = _checks.integer(checkpoint_every, "checkpoint_every", 1)
        self.metrics_path = None if metrics_path is None else Path(metrics_path)
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.progress = progress
        manifestations = Manifestations.coerce(manifestations)
        continuum = isinstance(network, ContinuumNetwork)
        if not continuum and manifestations is not None:  # no width: the default's depth part
            manifestations = DEPTH_MANIFESTATIONS if manifestations is DEFAULT_MANIFESTATIONS else manifestations.depth_only()
        self.manifestations = manifestations
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable (x, y, generator) -> (x, y), got {transform!r}")
        self.transform = transform
        smoothness = _checks.real(smoothness, "smoothness")
        if smoothness < 0:
            raise ValueError(f"smoothness must be >= 0, got {smoothness}")
        if smoothness > 0 and not continuum:
            raise ValueError(f"smoothness needs a ContinuumNetwork (its width and depth fields), got a {type(network).__name__}")
        self.penalty = SmoothnessPenalty(smoothness) if smoothness > 0 else None
        self.generator = torch.Generator().manual_seed(_checks.integer(seed, "seed", 0))
        torch.manual_seed(seed)
        if isinstance(optimizer, str):
            optimizer = make_optimizer(network, optimizer, learning_rate, weight_decay)
        self.epoch, self.history, self._scheduler = 0, [], None
        self.checkpoint_metadata = None
        self._use(network, optimizer)

    def replace(self, network: torch.nn.Module, optimizer: torch.optim.Optimizer, event: str | None = None) -> None:
        """Train `network` with `optimizer` from now on (after a refinement: see
        :func:`fem_nn.refinement.transfer_optimizer`); re-wrapped for DDP on every rank.
        A network without a sample count records the task's. The history records the change
        as an event (labelled `event`, default "network replaced") with the new parameter
        count, so that training curves mark refinements made by hand too."""
        _check_trainable(network)
        if isinstance(network, ContinuumNetwork) != isinstance(self.network, ContinuumNetwork):
            raise TypeError(f"network must be of the kind the trainer was made for: a {type(self.network).__name__} "
                            f"cannot be replaced by a {type(network).__name__}")
        self._use(network, optimizer)
        label = "network replaced" if event is None else str(event)
        self.history.append({"epoch": self.epoch, "event": label, "parameters": sum(p.numel() for p in network.parameters())})

    def _use(self, network: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
        if isinstance(network, ContinuumNetwork):
            n_samples = self.task.x_train.shape[1]
            if network.n_samples is None:
                network.n_samples = n_samples
            elif network.n_samples != n_samples:
                raise ValueError(f"network reads {network.n_samples} samples per signal, but the task's inputs have {n_samples}")
        self.network, self.optimizer = network, optimizer
        self.model = distributed.wrap(network)
        self._drawn_manifestations, self._resolutions = {}, {}

    @contextlib.contextmanager
    def _manifested(self) -> Iterator[tuple[torch.nn.Module, Task]]:
        """The module to train this batch in and the task its pairs come from: the network's
        own and the task, or a manifestation of the network with the steps, scheme and
        quadrature drawn, sharing its parameters (made once per draw,
        :meth:`~fem_nn.ContinuumNetwork.replaced`; the network itself is left as is), and
        the task at the resolution drawn (with a regression's read-out cells to match). A
        model of OdeBlock stages is trained itself, its stages re-manifested while the batch
        lasts (:func:`~fem_nn.odeblock.manifested`)."""
        if self.manifestations is None:
            yield self.model, self.task
            return
        draw = multiple, scheme, extra, resolution = self.manifestations.draw(self.generator, self.task.name in RESOLUTIONS)
        if not isinstance(self.network, ContinuumNetwork):
            with manifested(self.network, scheme, multiple):
                yield self.model, self.task
            return
        task = self.task if resolution == 1 else self._resolution(resolution)
        if multiple == 1 and scheme is None and not extra and task is self.task:
            yield self.model, task
            return
        model = self._drawn_manifestations.get(draw)
        if model is None:
            points = self.network.weight_mesh.axes[1].quadrature_points + extra if extra else None
            output = None
            if task.output_cells != self.task.output_cells:  # a regression's P0 read-out at the drawn cells
                output = Mesh([uniform_axis(WIDTH_INTERVAL, task.output_cells, "p0", 0)])
            shadow = self.network.replaced(steps=self.network.steps * multiple, scheme=scheme, quadrature_points=points,
                                           output_mesh=output, share=True)
            model = self._drawn_manifestations[draw] = distributed.wrap(shadow)
        yield model, task

    def _resolution(self, factor: float) -> Task:
        """The task's pairs at `factor` × its sample count (built once)."""
        task = self._resolutions.get(factor)
        if task is None:
            samples = factor * self.task.x_train.shape[1]
            if samples != round(samples):
                raise ValueError(f"manifestations: resolution {factor:g} × {self.task.x_train.shape[1]} samples is not a whole number")
            task = self._resolutions[factor] = at_resolution(self.task, int(round(samples)))
        return task

    # --- training ------------------------------------------------------------------------
    def _step(self, indices: torch.Tensor) -> float | None:
        """One optimizer step on a global batch; None, with nothing changed, when the loss
        or a gradient is not finite (the step is never taken, so there is nothing to undo)."""
        share, scale = distributed.shard(indices)
        with self._manifested() as (model, task):
            x, y = task.x_train[share], task.y_train[share]
            if self.transform is not None:
                x, y = self.transform(x, y, self.generator)
            loss = self.task.loss(model, x, y, resample=task is not self.task)
            if self.penalty is not None:
                loss = loss + self.penalty(self.network)
            loss = loss * scale
            self.optimizer.zero_grad()
            loss.backward()
        finite = torch.stack([torch.isfinite(loss).all()] + [torch.isfinite(p.grad).all() for p in self.network.parameters()]).all()
        if not finite:
            self.optimizer.zero_grad()
            return None
        self.optimizer.step()
        return loss.item() / scale

    def run_epoch(self) -> dict:
        """One epoch of shuffled mini-batches; returns and records its metrics."""
        self.network.train()
        order = torch.randperm(len(self.task.x_train), generator=self.generator)
        total, count, bad = 0.0, 0, 0
        for batch, start in enumerate(range(0, len(order), self.batch_size)):
            indices = order[start : start + self.batch_size]
            if self._scheduler is not None:
                self._scheduler(batch)
            loss = self._step(indices)
            if loss is None:
                bad += 1
                self.history.append({"epoch": self.epoch + 1, "batch": batch, "event": "nan_rollback"})
                warnings.warn(f"epoch {self.epoch + 1}, batch {batch}: loss or gradient not finite; step skipped")
                if bad >= MAX_BAD_STEPS:
                    raise RuntimeError(f"{MAX_BAD_STEPS} consecutive non-finite steps in epoch {self.epoch + 1}; stopping")
                continue
            bad = 0
            total += loss * len(indices)
            count += len(indices)
        self.epoch += 1
        self.network.eval()
        record = {
            "epoch": self.epoch,
            "loss": total / max(count, 1),
            self.task.monitor_name: self.task.monitor(self.network),
            "parameters": sum(p.numel() for p in self.network.parameters()),
        }
        self.history.append(record)
        self._after_epoch(record)
        return record

    def _after_epoch(self, record: dict) -> None:
        if distributed.rank_and_size()[0] != 0:
            return
        if self.metrics_path is not None:
            with open(self.metrics_path, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(record) + "\n")
        if self.checkpoint_path is not None and self.epoch % self.checkpoint_every == 0:
            self.save(self.checkpoint_path, self.checkpoint_metadata)

    def fit(
        self, epochs: int, one_cycle: bool = False, lr_schedule: str | None = None, time_budget: float | None = None,
        lr_span: tuple[int, int] | None = None,
    ) -> list[dict]:
        """Run `epochs` epochs (with a progress bar); returns the history.

        With `lr_schedule` (a key of :data:`LR_SCHEDULES`), each batch's learning rate is the
        schedule's fraction (:func:`learning_rate_factor`) of each group's rate at the start,
        a function of the progress through these epochs, or through the `lr_span` ``(first
        epoch, epochs)`` that holds them (a phase resumed part-way); the rates are restored at
        the end. The base rates are kept in the groups (``"base_lr"``) while a schedule runs,
        so a checkpoint written mid-schedule resumes it exactly. `one_cycle` is ``lr_schedule="one_cycle"``, the schedule that trains the digits
        network to 97 % in a minute. With `time_budget` (seconds), training stops after the
        epoch that reaches it (an event in the history). Where the task has a validation
        split, the epochs record the metric on it and the last one also the test metric.
        """
        epochs = _checks.integer(epochs, "epochs", 1)
        if one_cycle:
            lr_schedule = "one_cycle" if lr_schedule is None else lr_schedule
        if lr_schedule is not None:
            learning_rate_factor(lr_schedule, 0.0)  # checks the name
        if time_budget is not None and not (_checks.real(time_budget, "time_budget") > 0):
            raise ValueError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
        batches = -(-len(self.task.x_train) // self.batch_size)
        bases = [g.get("base_lr", g["lr"]) for g in self.optimizer.param_groups]
        if lr_schedule is not None:
            first, span = (self.epoch, epochs) if lr_span is None else _span(lr_span, self.epoch, epochs)
            total = span * batches
            for group, base in zip(self.optimizer.param_groups, bases):
                group["base_lr"] = base
            self._scheduler = lambda batch: self._set_learning_rates(
                bases, learning_rate_factor(lr_schedule, ((self.epoch - first) * batches + batch) / total))
        start = time.perf_counter()
        bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not self.progress or distributed.rank_and_size()[0] != 0)
        monitor = self.task.monitor_name
        try:
            for _ in bar:
                record = self.run_epoch()
                bar.set_postfix(loss=f"{record['loss']:.4f}", **{monitor: f"{record[monitor]:.4f}"})
                if time_budget is not None and time.perf_counter() - start >= time_budget:
                    self.history.append({"epoch": self.epoch, "event": f"time budget {time_budget:g} s"})
                    break
        finally:
            self._scheduler = None
            if lr_schedule is not None:
                self._set_learning_rates(bases, 1.0)
                for group in self.optimizer.param_groups:
                    group.pop("base_lr", None)
        if monitor != self.task.metric_name:
            record[self.task.metric_name] = self.task.metric(self.network)
        return self.history

    def _set_learning_rates(self, bases: list[float], factor: float) -> None:
        for group, base in zip(self.optimizer.param_groups, bases):
            group["lr"] = base * factor

    # --- checkpoints ---------------------------------------------------------------------
    def save(self, path, metadata: dict | None = None) -> None:
        """A checkpoint of the network, optimizer, epoch, history and random states."""
        state = {
            "epoch": self.epoch,
            "history": self.history,
            "batch_size": self.batch_size,
            "generator": self.generator.get_state().tolist(),
            "torch_rng": torch.get_rng_state().tolist(),
            "extra": metadata,
        }
        save_checkpoint(path, self.network, self.optimizer, state)

    @classmethod
    def resume(cls, path, task: Task, **options) -> "Trainer":
        """A trainer continuing from a checkpoint written by :meth:`save` (`options` as for
        the constructor, except network, optimizer and batch_size, which come from the file)."""
        network, optimizer, state = load_checkpoint(path)
        if optimizer is None or not isinstance(state, dict) or "generator" not in state:
            raise ValueError(f"{path}: not a trainer checkpoint (no optimizer or training state)")
        trainer = cls(network, task, optimizer, batch_size=state["batch_size"], **options)
        trainer.epoch, trainer.history = state["epoch"], state["history"]
        trainer.generator.set_state(torch.tensor(state["generator"], dtype=torch.uint8))
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
        return trainer


def train_classifier(
    network: ContinuumNetwork,
    task: Task,
    epochs: int = 100,
    learning_rate: float = 0.02,
    batch_size: int = 64,
    weight_decay: float = 0.01,
    seed: int = 0,
    progress: bool = True,
) -> list[dict]:
    """Train with AdamW and a one-cycle learning rate on the task's loss (cross-entropy of the
    read-out cells for classification): a :class:`~fem_nn.Trainer` run, in its default
    sampled manifestations; returns one ``{"epoch", "loss", <metric>, "parameters"}`` record
    per epoch.

    Examples
    --------
    >>> from fem_nn.tasks import digits_task, task_network
    >>> task = digits_task()
    >>> history = train_classifier(task_network(task, width_cells=4), task, epochs=3, progress=False)
    >>> [record["epoch"] for record in history], history[-1]["test_accuracy"] > history[0]["test_accuracy"]
    ([1, 2, 3], True)
    """
    trainer = Trainer(network, task, "adamw", learning_rate, weight_decay, batch_size, seed, progress=progress)
    return trainer.fit(epochs, one_cycle=True)
