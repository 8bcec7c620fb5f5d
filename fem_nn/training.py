"""Run a :class:`~fem_nn.schedule.Schedule` on one live network.

Each phase acts on the trainer's network — a continuum network, or a model of OdeBlock
stages of a schedule's ``model`` table (:mod:`fem_nn.schedule_models`) — by its
:meth:`~fem_nn.phases.Phase.run` (the kinds:
:mod:`fem_nn.phases`): ``train`` runs epochs; ``refine`` / ``coarsen`` / ``elevate`` /
``lower`` / ``adapt`` replace it by the L2 projection onto new meshes and carry the optimizer
state over by the same projection; ``remanifest`` changes scheme or steps; ``mgopt`` runs
MG/OPT V-cycles over a depth hierarchy of coarsened copies; ``project_down`` measures the test
metric and inference time of cheaper manifestations without changing the network. Every
change of the network is an event in the history (and on the curve). This module drives
them: the run folder, the checkpoints with the position in the schedule, the resumption.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import torch

from . import distributed
from ._threads import steady_threads
from .checkpoint import load_checkpoint
from .inference import project_down, projected_depth, projected_width  # their old home: fem_nn.training.project_down
from .io import atomic_write_text
from .optimizers import make_optimizer
from .phases import PhaseRun
from .run_folder import run_folder
from .schedule import Schedule, registered
from .tasks import TRANSFORMS, Task, load_task
from .trainer import Trainer

__all__ = ["run_schedule", "resume_schedule", "project_down", "projected_depth", "projected_width"]


def run_schedule(schedule: Schedule, out: str | Path | None = None, progress: bool = True, *, replace: bool = False) -> dict:
    """Run every phase of `schedule`; with `out`, a run folder (:func:`~fem_nn.run_folder.run_folder`):
    ``metrics.jsonl`` (one line per epoch), ``checkpoint.safetensors`` (after every epoch and
    every phase, with the schedule and the position in it, so :func:`resume_schedule` can
    continue), then ``history.json`` and ``curve.png`` (only with matplotlib installed).

    Parameters
    ----------
    schedule : Schedule
    out : str or Path, optional
        The run folder. It must be new or empty, unless `replace`.
    progress : bool, default True
    replace : bool, default False
        Remove the run files already in `out` first (under the folder's lock).

    Returns
    -------
    dict
        ``history`` (per-epoch records and events), ``project_down`` (the rows of each
        project-down phase), ``network`` (the final network, or model) and ``final`` (its
        epochs, test metric and parameter count).

    Examples
    --------
    >>> from fem_nn import Schedule
    >>> schedule = Schedule.from_dict({"task": "digits", "network": {"width_cells": 4}, "phases": [
    ...     {"phase": "train", "epochs": 1}, {"phase": "refine", "axis": "depth", "steps": "double"},
    ...     {"phase": "train", "epochs": 1}]})
    >>> result = run_schedule(schedule, progress=False)
    >>> result["final"]["epochs"], result["final"]["parameters"]
    (2, 216)
    """
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
    schedule.check()  # before any work, also for a schedule built by hand or a phase since unregistered
    with _folder(out, "replace" if replace else "new") as folder, steady_threads():
        plots = _curve_possible(folder)
        torch.manual_seed(schedule.seed)
        task = load_task(schedule.task)
        network = schedule.form.build(task)
        t = schedule.training
        trainer = _trainer(schedule, task, folder, progress,
                           network, make_optimizer(network, t["optimizer"], t["learning_rate"], t["weight_decay"]))
        return _run_phases(schedule, task, trainer, folder, plots, {"phase": 0, "phase_start": 0, "project_down": []})


def resume_schedule(out: str | Path, progress: bool = True, schedule: Schedule | None = None) -> dict:
    """Continue the run in the folder `out` (written by :func:`run_schedule`) from its last
    checkpoint: the rest of the current phase, then the later phases. Network, optimizer,
    batch order and random states come from the checkpoint, so the finished folder equals
    that of an uninterrupted run bit for bit (on the CPU; the project-down times aside).
    ``metrics.jsonl`` is rewritten from the checkpoint's history first (an epoch that ended
    after the last checkpoint is trained again).

    Parameters
    ----------
    out : str or Path
    progress : bool, default True
    schedule : Schedule, optional
        If given, it must be the run's own schedule (a ValueError otherwise).

    Returns
    -------
    dict
        As :func:`run_schedule`.

    Examples
    --------
    >>> import tempfile
    >>> from fem_nn import Schedule
    >>> schedule = Schedule.from_dict({"task": "digits", "network": {"width_cells": 4},
    ...                                "phases": [{"phase": "train", "epochs": 1}]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     first = run_schedule(schedule, f"{folder}/run", progress=False)
    ...     again = resume_schedule(f"{folder}/run", progress=False)  # finished: nothing left to train
    figure: .../run/curve.png
    figure: .../run/curve.png
    >>> again["final"] == first["final"]
    True
    """
    with _folder(out, "resume") as folder, steady_threads():
        path = folder / "checkpoint.safetensors"
        _, _, state = load_checkpoint(path)
        position = state.get("extra") if isinstance(state, dict) else None
        if not isinstance(position, dict) or not {"schedule", "phase", "phase_start", "project_down"} <= set(position):
            raise ValueError(f"{path}: holds no schedule position (not written by fem-nn train of this version); "
                             "cannot resume")
        recorded = Schedule.from_dict(position["schedule"], f"{path}: schedule")
        if schedule is not None and schedule.to_dict() != recorded.to_dict():
            raise ValueError(f"schedule: differs from the schedule of the run in {folder}; resume it without one")
        plots = _curve_possible(folder)
        task = load_task(recorded.task)
        trainer = Trainer.resume(path, task, seed=recorded.seed, progress=progress,
                                 metrics_path=folder / "metrics.jsonl", checkpoint_path=path,
                                 **_training_options(recorded))
        if distributed.rank_and_size()[0] == 0:
            atomic_write_text(folder / "metrics.jsonl",
                              "".join(json.dumps(r) + "\n" for r in trainer.history if "event" not in r))
        return _run_phases(recorded, task, trainer, folder, plots, position)


def _folder(out, mode: str):
    """The run folder under its lock on rank 0 (which alone writes), else just the path."""
    if out is None or distributed.rank_and_size()[0] != 0:
        return contextlib.nullcontext(None if out is None else Path(out))
    return run_folder(out, mode)


def _curve_possible(folder) -> bool:
    """Whether curve.png can be drawn: matplotlib is there; else one warning, before any work."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if folder is not None:
            warnings.warn("matplotlib is not installed: the run writes no curve.png "
                          "(pip install 'fem_nn[examples]'; fem-nn plot draws it from history.json later)")
        return False
    return True


def _training_options(schedule: Schedule) -> dict:
    """The Trainer options a schedule's training table declares (batch transform, smoothness
    weight, manifestation sampling): the same for a run and its resumption."""
    t = schedule.training
    return {
        "transform": None if t["transform"] is None else TRANSFORMS[t["transform"]], "smoothness": t["smoothness"],
        **({} if t["manifestations"] is None else {"manifestations": t["manifestations"]}),
    }


def _trainer(schedule: Schedule, task: Task, folder, progress: bool, network, optimizer) -> Trainer:
    t = schedule.training
    return Trainer(
        network, task, optimizer, batch_size=t["batch_size"], seed=schedule.seed, progress=progress,
        metrics_path=None if folder is None else folder / "metrics.jsonl",
        checkpoint_path=None if folder is None else folder / "checkpoint.safetensors",
        **_training_options(schedule),
    )


def _run_phases(schedule: Schedule, task: Task, trainer: Trainer, folder, plots: bool, position: dict) -> dict:
    """The phases from `position` on (``phase``: its index; ``phase_start``: the epoch it began
    at; ``project_down``: the rows so far); the trainer's checkpoints record the position."""
    writer = folder is not None and distributed.rank_and_size()[0] == 0
    reports = position["project_down"]

    def record(phase: int, phase_start: int) -> dict:
        return {"schedule": schedule.to_dict(), "phase": phase, "phase_start": phase_start, "project_down": reports}

    phase_start = position["phase_start"]
    for i in range(position["phase"], len(schedule.phases)):
        phase = registered(schedule.phases[i], f"schedule: phases[{i}]")
        trainer.checkpoint_metadata = record(i, phase_start)
        phase.run(PhaseRun(trainer, schedule.training, phase_start, reports, schedule.form))
        phase_start = trainer.epoch
        trainer.checkpoint_metadata = record(i + 1, phase_start)
        if writer:  # the phase is done: a resume starts at the next one
            trainer.save(trainer.checkpoint_path, trainer.checkpoint_metadata)
    if writer:
        atomic_write_text(folder / "history.json", json.dumps({"history": trainer.history, "project_down": reports}, indent=1))
        if plots:
            training_curve(trainer.history, task.metric_name, folder / "curve.png")
    final = {"epochs": trainer.epoch, task.metric_name: task.metric(trainer.network),
             "parameters": sum(p.numel() for p in trainer.network.parameters())}
    return {"history": trainer.history, "project_down": reports, "network": trainer.network, "final": final}


def training_curve(history: list[dict], metric: str, path) -> None:
    """Loss and test metric per epoch, with the network changes marked, as a PNG
    (:func:`fem_nn.plotting.plot_training`)."""
    from .plotting import plot_training, pyplot

    pyplot().close(plot_training(history, metrics=["loss", metric], path=path))
