"""Run a :class:`~fem_nn.schedule.Schedule` on one live network.

Each phase acts on the trainer's network: ``train`` runs epochs; ``refine`` / ``coarsen`` /
``elevate`` / ``lower`` / ``adapt`` replace it by the L2 projection onto new meshes and carry
the optimizer state over by the same projection; ``remanifest`` changes scheme or steps;
``mgopt`` runs MG/OPT V-cycles over a depth hierarchy of coarsened copies; ``project_down``
measures the test metric and inference time of cheaper manifestations without changing the
network. Every change of the network is an event in the history (and on the curve).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from . import distributed
from ._timing import best_times
from .io import atomic_write_text
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, uniform_axis
from .mgopt import MGOpt
from .network import ContinuumNetwork
from .refinement import (
    adapted_network, coarsened_network, elevated_network, lowered_network, projected_network, refined_network,
    transfer_optimizer,
)
from .schedule import Phase, Schedule
from .tasks import TRANSFORMS, Task, burgers_task, digits_task, task_network
from .trainer import Trainer, make_optimizer

__all__ = ["run_schedule", "project_down", "projected_depth", "projected_width", "load_task"]


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


def run_schedule(schedule: Schedule, out: str | Path | None = None, progress: bool = True) -> dict:
    """Run every phase of `schedule`; with `out`, write ``metrics.jsonl``,
    ``checkpoint.safetensors``, ``history.json`` and ``curve.png`` there.

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
    torch.manual_seed(schedule.seed)
    task = load_task(schedule.task)
    network = task_network(task, **schedule.network)
    t = schedule.training
    # under torchrun every rank trains; rank 0 alone writes files and prints tables
    writer = distributed.rank_and_size()[0] == 0
    out = None if out is None else Path(out)
    if out is not None and writer:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.jsonl").unlink(missing_ok=True)
    trainer = Trainer(
        network, task, make_optimizer(network, t["optimizer"], t["learning_rate"], t["weight_decay"]),
        batch_size=t["batch_size"], seed=schedule.seed, progress=progress,
        metrics_path=None if out is None else out / "metrics.jsonl",
        checkpoint_path=None if out is None else out / "checkpoint.safetensors",
        transform=None if t["transform"] is None else TRANSFORMS[t["transform"]], smoothness=t["smoothness"],
        **({} if t["manifestations"] is None else {"manifestations": t["manifestations"]}),
    )
    reports = []
    for i, phase in enumerate(schedule.phases):
        o = phase.options
        if phase.kind == "train":
            if o["learning_rate"] is not None:
                for group in trainer.optimizer.param_groups:
                    group["lr"] = o["learning_rate"]
            trainer.fit(o["epochs"], lr_schedule=o["lr_schedule"] or t["lr_schedule"])
        elif phase.kind == "project_down":
            rows = project_down(trainer.network, task, o["depth_cells"], o["steps"], o["schemes"],
                                o["width_cells"] or None, o["width_orders"] or None)
            reports.append(rows)
            if writer:
                print(format_project_down(rows, task.metric_name))
        elif phase.kind == "mgopt":
            _mgopt(trainer, o)
            trainer.history.append({"epoch": trainer.epoch, "event": f"mgopt × {o['cycles']}", task.metric_name: task.metric(trainer.network)})
        else:
            new = _new_network(trainer.network, phase)
            trainer.replace(new, transfer_optimizer(trainer.optimizer, trainer.network, new))
            trainer.history.append({"epoch": trainer.epoch, "event": f"{phase.kind} {o.get('axis', '')}".strip(),
                                    "parameters": sum(p.numel() for p in new.parameters())})
    if out is not None and writer:
        atomic_write_text(out / "history.json", json.dumps({"history": trainer.history, "project_down": reports}, indent=1))
        trainer.save(out / "checkpoint.safetensors", {"schedule": schedule.to_dict()})
        training_curve(trainer.history, task.metric_name, out / "curve.png")
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
