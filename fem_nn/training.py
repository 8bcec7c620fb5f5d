"""Run a :class:`~fem_nn.schedule.Schedule` on one live network.

Each phase acts on the trainer's network: ``train`` runs epochs; ``refine`` / ``coarsen`` /
``elevate`` / ``lower`` / ``adapt`` replace it by the L2 projection onto new meshes and carry
the optimizer state over by the same projection; ``remanifest`` changes scheme or steps;
``mgopt`` runs MG/OPT V-cycles over a depth hierarchy of coarsened copies; ``project_down``
measures the test metric and inference time of cheaper manifestations without changing the
network. Every change of the network is an event in the history (and on the curve).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import torch

from . import distributed
from ._threads import steady_threads
from ._timing import best_times
from .checkpoint import load_checkpoint
from .io import atomic_write_text
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, uniform_axis
from .mgopt import MGOpt
from .network import ContinuumNetwork
from .refinement import (
    adapted_network, coarsened_network, elevated_network, lowered_network, projected_network, refined_network,
    transfer_optimizer,
)
from .run_folder import run_folder
from .schedule import Phase, Schedule
from .tasks import TRANSFORMS, Task, burgers_task, digits_task, task_network
from .trainer import Trainer, make_optimizer

__all__ = ["run_schedule", "resume_schedule", "project_down", "projected_depth", "projected_width", "load_task"]


def load_task(name: str) -> Task:
    """A bundled task by name."""
    return {"digits": digits_task, "burgers": burgers_task}[name]()


def projected_depth(network: ContinuumNetwork, depth_cells: int, steps: int, scheme=None) -> ContinuumNetwork:
    """`network` with its fields L2-projected onto `depth_cells` uniform depth cells (same
    depth family and order), manifested with `steps` steps of `scheme` (default: its own)."""
    def uniform_depth(mesh):
        depth = mesh.axes[-1]
        return mesh.with_axis(mesh.dim - 1, uniform_axis(DEPTH_INTERVAL, depth_cells, depth.family, depth.max_order))

    return projected_network(network, uniform_depth(network.weight_mesh), uniform_depth(network.bias_mesh), steps, scheme)


def projected_width(network: ContinuumNetwork, width_cells: int, width_order: int | None = None) -> ContinuumNetwork:
    """`network` with its fields L2-projected onto `width_cells` uniform width cells of
    `width_order` (default: its own; same family), on both width axes of W and on b; depth,
    scheme and steps kept. A width quadrature count chosen apart from the order (over-
    integration) is kept, the default count (order + 1) follows the new order.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> projected_width(net, 4, 2).weight_mesh.shape, projected_width(net, 2).bias_mesh.shape
    ((9, 9, 4), (3, 4))
    """
    old = network.weight_mesh.axes[0]
    order = old.max_order if width_order is None else width_order
    points = None if old.quadrature_points == old.max_order + 1 else old.quadrature_points
    width = Axis(uniform_axis(WIDTH_INTERVAL, width_cells, old.family, order).breakpoints, old.family, order, old.quadrature, points)
    weights = network.weight_mesh.with_axis(0, width).with_axis(1, width)
    return projected_network(network, weights, network.bias_mesh.with_axis(0, width))


def project_down(network: ContinuumNetwork, task: Task, depth_cells, steps, schemes=("rk4",), width_cells=None,
                 width_orders=None) -> list[dict]:
    """Test metric and inference time of `network` projected onto each number of depth cells
    and manifested with each scheme × steps, and projected in width onto each number of
    width cells × width order; the first row is the network itself. The time is that of
    each manifestation's :meth:`~fem_nn.ContinuumNetwork.frozen` module on the test set
    (what inference deploys: stage matrices precomputed), best of 20 rounds in which the
    manifestations take turns.

    Parameters
    ----------
    network : ContinuumNetwork
    task : Task
        Supplies the test data and metric.
    depth_cells : sequence of int
        The numbers of equal depth cells to project onto (may be empty with width options).
    steps : sequence of int or None
        The step counts each projection is manifested with; None: as many steps as cells.
    schemes : sequence of str, default ("rk4",)
    width_cells, width_orders : sequence of int, optional
        The numbers of equal width cells and the width orders to project onto (each pair but
        the network's own; default: the network's), the depth, scheme and steps kept
        (:func:`projected_width`).

    Returns
    -------
    list of dict
        One row per manifestation: scheme, steps, depth_cells, width_cells, width_order, the
        task's metric, the best-of-repeats inference time in seconds and the speedup over
        the first row.

    Examples
    --------
    >>> from fem_nn import digits_task, task_network
    >>> task = digits_task()
    >>> net = task_network(task, width_cells=4, depth_cells=4, steps=4)
    >>> rows = project_down(net, task, depth_cells=[2, 1], steps=None, schemes=["rk4", "midpoint"])
    >>> [(row["scheme"], row["steps"], row["depth_cells"]) for row in rows]
    [('rk4', 4, 4), ('rk4', 2, 2), ('midpoint', 2, 2), ('rk4', 1, 1), ('midpoint', 1, 1)]
    >>> rows = project_down(net, task, [], None, width_cells=[2], width_orders=[0, 1])
    >>> [(row["width_cells"], row["width_order"]) for row in rows]
    [(4, 1), (2, 0), (2, 1)]
    """
    width, depth = network.weight_mesh.axes[0], network.weight_mesh.axes[2].n_cells
    own = (width.n_cells, width.max_order)
    manifestations = [(network.tableau.name, network.steps, depth, *own, network)]
    for cells in depth_cells:
        for scheme in schemes:
            for n in steps or [cells]:
                manifestations.append((scheme, n, cells, *own, projected_depth(network, cells, n, scheme)))
    if width_cells is not None or width_orders is not None:
        for cells in width_cells or [width.n_cells]:
            for order in width_orders or [width.max_order]:
                if (cells, order) != own:
                    manifestations.append((network.tableau.name, network.steps, depth, cells, order,
                                           projected_width(network, cells, order)))
    x = task.x_test
    frozen = [net.frozen(x.shape[1]) for *_, net in manifestations]
    with torch.no_grad():
        seconds = best_times({i: (lambda m=m: m(x)) for i, m in enumerate(frozen)}, repeat=20, device=x.device)
    keys = ("scheme", "steps", "depth_cells", "width_cells", "width_order")
    return [{**dict(zip(keys, m[:5])), task.metric_name: task.metric(m[5]), "seconds": seconds[i], "speedup": seconds[0] / seconds[i]}
            for i, m in enumerate(manifestations)]


def _mgopt(trainer: Trainer, options: dict) -> None:
    """MG/OPT V-cycles on the trainer's network, one global batch per cycle."""
    levels = [trainer.network]
    for _ in range(options["levels"] - 1):
        levels.append(coarsened_network(levels[-1], "depth", steps="halve"))
    rate = options["learning_rate"] or trainer.optimizer.param_groups[0]["lr"]
    task, batch = trainer.task, {}
    cycle = MGOpt(levels, lambda net: task.loss(net, batch["x"], batch["y"]), rate,
                  options["pre_smoothing"], options["post_smoothing"], options["coarse_steps"])
    for _ in range(options["cycles"]):
        indices = torch.randperm(len(task.x_train), generator=trainer.generator)[: trainer.batch_size]
        batch["x"], batch["y"] = task.x_train[indices], task.y_train[indices]
        cycle.cycle()


def _new_network(network: ContinuumNetwork, phase: Phase) -> ContinuumNetwork:
    o = phase.options
    if phase.kind == "refine":
        return refined_network(network, o["axis"], cells=o["cells"], k=o["k"], steps=o["steps"])
    if phase.kind == "coarsen":
        return coarsened_network(network, o["axis"], k=o["k"], steps=o["steps"])
    if phase.kind == "elevate":
        return elevated_network(network, o["axis"], by=o["by"], cells=o["cells"])
    if phase.kind == "lower":
        return lowered_network(network, o["axis"], by=o["by"], cells=o["cells"])
    if phase.kind == "adapt":
        return adapted_network(network, fraction=o["fraction"], steps=o["steps"], hp=bool(o["hp"]))
    return network.remanifested(scheme=o["scheme"], steps=o["steps"])  # remanifest


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
        project-down phase), ``network`` (the final network) and ``final`` (its epochs, test
        metric and parameter count).

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
    with _folder(out, "replace" if replace else "new") as folder, steady_threads():
        plots = _curve_possible(folder)
        torch.manual_seed(schedule.seed)
        task = load_task(schedule.task)
        network = task_network(task, **schedule.network)
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
        phase = schedule.phases[i]
        o = phase.options
        trainer.checkpoint_metadata = record(i, phase_start)
        if phase.kind == "train":
            if o["learning_rate"] is not None:
                for group in trainer.optimizer.param_groups:
                    group["lr"] = o["learning_rate"]
            remaining = o["epochs"] - (trainer.epoch - phase_start)
            if remaining > 0:
                # the learning-rate schedule spans the whole phase, resumed or not
                trainer.fit(remaining, lr_schedule=o["lr_schedule"] or schedule.training["lr_schedule"],
                            lr_span=(phase_start, o["epochs"]))
        elif phase.kind == "project_down":
            rows = project_down(trainer.network, task, o["depth_cells"], o["steps"], o["schemes"],
                                o["width_cells"] or None, o["width_orders"] or None)
            reports.append(rows)
            if distributed.rank_and_size()[0] == 0:
                print(format_project_down(rows, task.metric_name))
        elif phase.kind == "mgopt":
            _mgopt(trainer, o)
            trainer.history.append({"epoch": trainer.epoch, "event": f"mgopt × {o['cycles']}", task.metric_name: task.metric(trainer.network)})
        else:
            new = _new_network(trainer.network, phase)
            trainer.replace(new, transfer_optimizer(trainer.optimizer, trainer.network, new),
                            event=f"{phase.kind} {o.get('axis', '')}".strip())
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


def format_project_down(rows: list[dict], metric: str) -> str:
    """The project-down table."""
    lines = [f"{'scheme':>8} {'steps':>5} {'depth cells':>11} {'width cells':>11} {'order':>5} {metric:>20} {'inference [ms]':>14} {'speedup':>7}"]
    for r in rows:
        lines.append(f"{r['scheme']:>8} {r['steps']:>5} {r['depth_cells']:>11} {r['width_cells']:>11} {r['width_order']:>5} {r[metric]:>20.4f} "
                     f"{1e3 * r['seconds']:>14.2f} {r['speedup']:>7.2f}")
    return "\n".join(lines)


def training_curve(history: list[dict], metric: str, path) -> None:
    """Loss and test metric per epoch, with the network changes marked, as a PNG
    (:func:`fem_nn.plotting.plot_training`)."""
    from .plotting import plot_training, pyplot

    pyplot().close(plot_training(history, metrics=["loss", metric], path=path))
