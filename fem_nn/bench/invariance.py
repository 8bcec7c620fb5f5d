"""Invariance of trained networks: each task's test metric under the default invariance set
(:mod:`fem_nn.invariance`), per training mechanism.

Three tasks by default, each trained by its recipe (:data:`RECIPES`): digits (scikit-learn's
images as 64-sample signals), the Burgers solution operator (the recipe of
``examples/burgers_operator.py``) and waveforms (scipy.signal's waveform kinds, 32 samples);
``--tasks`` takes any task of :data:`fem_nn.tasks.TASKS`, one without a recipe trained by
the recipe of its kind (:func:`recipe`).
The first table per task is the library's default training; the per-mechanism table trains
the same recipe once per entry of :data:`MECHANISMS` (the training before issue 16, and
that training with one mechanism switched on) and reports the metric and the three drops.

Runtime, one thread: about 10 minutes for ``--mechanisms default`` (Burgers' 1500 epochs most
of it), about 45 for the full table (``--quick`` cuts every recipe's epochs to a fifth;
``--tasks`` and ``--mechanisms`` select).
"""

from __future__ import annotations

import dataclasses
import time

import torch

from ..invariance import invariance
from ..tasks import TASKS, Task, burgers_symmetries, load_task, task_network
from ..trainer import Trainer

__all__ = ["Recipe", "RECIPES", "MECHANISMS", "recipe", "trained", "add_arguments", "run"]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A task's first manifestation (options of :func:`~fem_nn.tasks.task_network`) and its
    training (options of :class:`~fem_nn.Trainer` and :meth:`~fem_nn.Trainer.fit`)."""

    network: dict
    training: dict
    epochs: int
    lr_schedule: str = "one_cycle"


CLASSIFIER = {"optimizer": "adamw", "learning_rate": 0.02, "weight_decay": 0.01, "batch_size": 64}
RECIPES = {
    # digits_network and the demo: 32 cubic Legendre cells (128 nodes), 4 P1 depth cells, rk4 × 4,
    # one-cycle AdamW
    "digits": Recipe({"width_cells": 32, "width_order": 3, "depth_cells": 4, "steps": 4}, CLASSIFIER, 100),
    # examples/burgers_operator.py: 16 quartic Legendre cells (80 dofs), 8 P1 depth cells, rk4 × 8,
    # Adam at 0.3 with a cosine rate, the equation's symmetries as augmentation
    "burgers": Recipe(
        {"width_cells": 16, "width_order": 4, "depth_cells": 8, "steps": 8},
        {"optimizer": "adam", "learning_rate": 0.3, "weight_decay": 0.0, "batch_size": 64, "transform": burgers_symmetries},
        1500, "cosine",
    ),
    "waveforms": Recipe({"width_cells": 16, "width_order": 3, "depth_cells": 4, "steps": 4}, CLASSIFIER, 60),
}


def recipe(name: str, task: Task) -> Recipe:
    """The recipe of the task `name`, or for a task without one that of its kind: the
    waveforms' (classification) or the Burgers' without its symmetries (regression)."""
    if name in RECIPES:
        return RECIPES[name]
    if task.kind == "classification":
        return RECIPES["waveforms"]
    burgers = RECIPES["burgers"]
    return dataclasses.replace(burgers, training={k: v for k, v in burgers.training.items() if k != "transform"})

# The training before issue 16 (point-sampled read-in, noise initialization, as many Gauss
# points per width cell as the order needs, no sampling of manifestations, no smoothness
# penalty); each mechanism switched on alone; "default": the library's defaults, no option
# given (those kept: projection read-in, 2p + 1 Gauss points per width cell, and drawn per
# batch: steps × 1 or 2 of rk4 / rk4_38 / midpoint, 0 to 2 extra Gauss points per width cell,
# the input at ½ to 4 × its sample count where the task has a resolution).
OLD = {"network": {"read_in_form": "sample", "init": "noise", "over_integration": False},
       "trainer": {"smoothness": 0.0, "manifestations": None}}
SAMPLING = {"steps": [1, 2], "schemes": ["rk4", "rk4_38", "midpoint"], "quadrature": [0, 1, 2]}


def _with(**options) -> dict:
    network = {k: v for k, v in options.items() if k in OLD["network"]}
    trainer = {k: v for k, v in options.items() if k in OLD["trainer"]}
    return {"network": {**OLD["network"], **network}, "trainer": {**OLD["trainer"], **trainer}}


MECHANISMS = {
    "old default": OLD,
    "projection read-in": _with(read_in_form="projection"),
    "over-integration": _with(over_integration=True),
    "manifestation sampling": _with(manifestations=SAMPLING),
    "resolution sampling": _with(manifestations={"resolution": [0.5, 1, 2, 4]}),
    # the penalty of the noise initialization on digits is ~9e5: × 1e-5, a few times the loss
    "smoothness penalty": _with(smoothness=1e-5),
    "smooth init": _with(init="smooth"),
    "default": {"network": {}, "trainer": {}},
}


def trained(recipe: Recipe, mechanism: dict, epochs: int, task: Task):
    """(task, network trained on `task` by `recipe` with the `mechanism`'s options, seconds)."""
    network_options = {**recipe.network, **mechanism["network"]}
    if "over_integration" in network_options:  # 2p + 1 Gauss points per width cell, or p + 1
        over = network_options.pop("over_integration")
        network_options["quadrature_points"] = (2 if over else 1) * network_options["width_order"] + 1
    torch.manual_seed(0)
    network = task_network(task, **network_options)
    trainer = Trainer(network, task, progress=False, **{**recipe.training, **mechanism["trainer"]})
    start = time.perf_counter()
    trainer.fit(epochs, lr_schedule=recipe.lr_schedule)
    return task, trainer.network, time.perf_counter() - start


def add_arguments(parser) -> None:
    parser.add_argument("--tasks", default=",".join(RECIPES),
                        help=f"comma-separated, of {', '.join(TASKS)} (default {', '.join(RECIPES)})")
    parser.add_argument("--mechanisms", default=",".join(MECHANISMS),
                        help=f"comma-separated rows of the per-mechanism table, of {', '.join(MECHANISMS)} (default all; "
                        "the per-task tables and their figures need 'default')")
    parser.add_argument("--quick", action="store_true", help="a fifth of every recipe's epochs")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of every recipe (default: its own)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--plot", default="", help="PNG of the trained W(ξ, η, 0.5) of the first task, per mechanism ('' for none)")


def _names(value: str, known: dict, option: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ValueError(f"{option} must be a comma-separated list of {list(known)}, got {value!r}")
    return names


def _shown(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def run(args) -> dict:
    tasks = _names(args.tasks, TASKS, "--tasks")
    mechanisms = _names(args.mechanisms, MECHANISMS, "--mechanisms")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, CPU")
    figures, table, slices = {}, [], {}
    for name in tasks:
        task = load_task(name)
        chosen = recipe(name, task)
        epochs = args.epochs or (max(chosen.epochs // 5, 1) if args.quick else chosen.epochs)
        for mechanism in mechanisms:
            _, network, seconds = trained(chosen, MECHANISMS[mechanism], epochs, task)
            report = invariance(network, task)
            row = report.figures()
            table.append((mechanism, name, row, seconds))
            print(f"{name}, {mechanism}: {row} ({seconds:.0f} s)", flush=True)  # each row as soon as measured
            if name == tasks[0]:
                slices[mechanism] = network
            if mechanism == "default":  # the per-task tables and figures
                print(f"\n{name}: {chosen.network}, {epochs} epochs, default training ({seconds:.0f} s)")
                print(report.table())
                figures[name] = row
    print("\nper mechanism (the training before issue 16 with one mechanism on; 'default': the library's)")
    print(f"{'mechanism':<24} {'task':<10} {'metric':>8} {'depth drop':>11} {'width drop':>11} {'resolution':>11} {'train [s]':>9}")
    for mechanism, name, row, seconds in table:
        print(f"{mechanism:<24} {name:<10} {row['metric']:>8.4f} {_shown(row.get('max_drop_depth')):>11} "
              f"{_shown(row.get('max_drop_width')):>11} {_shown(row.get('max_drop_resolution')):>11} {seconds:>9.1f}")
    figures["mechanisms"] = {m: {n: row for mm, n, row, _ in table if mm == m} for m in mechanisms}
    if args.plot:
        weight_slices(slices, f"{tasks[0]}, trained", args.plot)
    return figures


def weight_slices(networks: dict, title: str, path) -> None:
    """W(ξ, η, δ = 0.5) (the first weight field) of each network, side by side, as a PNG."""
    import numpy as np

    from ..plotting import pyplot, save_figure

    plt = pyplot()
    grid = np.linspace(-1.0, 1.0, 257)
    figure, axes = plt.subplots(1, len(networks), figsize=(3.6 * len(networks), 3.4), squeeze=False)
    for axis, (name, network) in zip(axes[0], networks.items()):
        field = next(f for key, f in network.fields().items() if key.startswith("weight"))
        values = field.evaluate_grid(grid, grid, np.array([0.5]))[:, :, 0]
        limit = np.abs(values).max()
        image = axis.imshow(values.T, origin="lower", extent=(-1, 1, -1, 1), cmap="RdBu_r", vmin=-limit, vmax=limit)
        axis.set_title(f"{name}", fontsize=9)
        axis.set_xlabel("ξ")
        axis.set_ylabel("η")
        figure.colorbar(image, ax=axis, shrink=0.8)
    figure.suptitle(f"W(ξ, η, δ = 0.5), {title}", fontsize=10)
    figure.tight_layout()
    save_figure(figure, path)
    plt.close(figure)
