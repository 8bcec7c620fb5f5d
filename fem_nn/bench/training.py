"""Training across discretizations on digits (and the Burgers operator): progressive
training (in depth, width, or both) against training the fine network from scratch,
project-down (in depth and in width) for inference,
MG/OPT against plain gradient descent, adaptive against uniform depth refinement.

All comparisons run in this process, one after the other, on the same data and seeds.
"""

from __future__ import annotations

import time

import torch

from .. import _checks
from ..mgopt import MGOpt
from ..refinement import adapted_network, refined_network
from ..transfer import transfer_optimizer
from ..tasks import Task, burgers_task, digits_task, task_network
from ..trainer import Trainer
from ..inference import format_project_down, project_down

FINE = {"width_cells": 16, "width_order": 3, "depth_cells": 4, "steps": 4}
# Burgers: 64 nodes and 16 depth cells, Adam at 0.3 (the rate of the bundled schedule). On
# smaller networks the fixed per-batch costs (the optimizer, read-in and read-out, Python)
# are a larger share of a fine epoch, and the coarse levels save less (measured at a rate of
# 0.01, progressive from one cell: 32 nodes × 4 cells 0.79 and × 8 cells 0.67, one run each;
# 64 nodes × 8 cells 0.52 and this network 0.31, medians of 3; this network at 0.3: 0.23 and
# 0.17 in two runs of 3).
FINE_BURGERS = {"width_cells": 32, "width_order": 1, "depth_cells": 16, "steps": 16}
# progressive in width: the coarsest network has 2**WIDTH_LEVELS times fewer width cells. On
# the digits network of the demo and the invariance recipe (32 cubic cells; the coarsest 4):
# on 16 cells a batch's fixed costs are most of a fine epoch, and the ratios were 0.77
# (width) and 0.59 (width + depth) with 3 levels, 0.78 and 0.71 with 2 (one run each)
WIDTH_LEVELS = 3
FINE_WIDTH = {"width_cells": 32, "width_order": 3, "depth_cells": 4, "steps": 4}
# the progressive variants measured on digits in width (Burgers: depth only): the refined axes
WIDTH_VARIANTS = {"width": ("width",), "width_depth": ("width", "depth")}


def add_arguments(parser) -> None:
    parser.add_argument("--epochs", type=int, default=30, help="epochs of the from-scratch fine training (default 30)")
    parser.add_argument("--mgopt-evaluations", type=int, default=60, help="fine gradient evaluations (default 60)")
    parser.add_argument("--repeats", type=int, default=3, help="progressive runs, median ratio reported (default 3)")
    parser.add_argument("--skip-burgers", action="store_true", help="digits only")
    parser.add_argument("--plot", default="", help="MG/OPT loss curve PNG, written only when given (default: none)")


def _better(task: Task, value: float, target: float) -> bool:
    return value >= target if task.higher_is_better else value <= target


def timed_run(trainer: Trainer, epochs: int, refinements: dict | None = None, stop_at: float | None = None) -> list:
    """(CPU seconds of this process so far, test metric) after each epoch — CPU time, so
    that other work on a shared machine does not enter the ratios; `refinements` maps an epoch
    count to a function network -> network applied (with the optimizer carried) after it;
    stops early once the metric reaches `stop_at`."""
    points, elapsed = [], 0.0
    for epoch in range(1, epochs + 1):
        start = time.process_time()
        record = trainer.run_epoch()
        if refinements and epoch in refinements:
            new = refinements[epoch](trainer.network)
            trainer.replace(new, transfer_optimizer(trainer.optimizer, trainer.network, new))
        elapsed += time.process_time() - start
        points.append((elapsed, record[trainer.task.metric_name]))
        if stop_at is not None and _better(trainer.task, points[-1][1], stop_at):
            break
    return points


def progressive(task: Task, epochs: int, fine: dict, learning_rate: float, repeats: int = 3,
                variants: dict | None = None) -> dict:
    """Fine from scratch for `epochs` epochs against nested iteration: the coarse network
    refined after 1/2, 3/4, 7/8 … of the epochs until it is the fine network, run until it
    reaches the fine network's final test metric (at most twice the epochs): the median over
    `repeats` of the ratio of the CPU times, per variant.

    `variants` maps a name to the axes refined (default ``{"depth": ("depth",)}``): in depth,
    one depth cell and one step, both doubled at each refinement until they are the fine
    network's (a power of two); in width, :data:`WIDTH_LEVELS` fewer bisections of the width
    cells, one per refinement. An axis with fewer levels is refined in the first stages.

    Half the epochs on the coarsest level because a coarse network learns about as much per
    epoch as the fine one here, at a fraction of the cost (digits, measured: refining after
    1/3 and 2/3 of the epochs gave a ratio of 0.54, after 1/2 and 3/4 0.40, after 0.6 and
    0.8 0.45). Training is deterministic, so repeats differ in their timings only: a pair
    of runs takes seconds, and one pair alone moved by ±0.05 under load.
    """
    repeats = _checks.integer(repeats, "repeats", 1)
    variants = {"depth": ("depth",)} if variants is None else variants
    depth_levels = fine["depth_cells"].bit_length() - 1
    if fine["depth_cells"] != 2**depth_levels or fine["steps"] != fine["depth_cells"]:
        raise ValueError(f"fine needs a power of two of depth cells, one step each, got {fine}")
    if fine["width_cells"] % 2**WIDTH_LEVELS:
        raise ValueError(f"fine needs a multiple of {2**WIDTH_LEVELS} width cells, got {fine}")

    def plan(axes):
        """The coarse network's options and the refinements by epoch."""
        levels = {"depth": depth_levels if "depth" in axes else 0, "width": WIDTH_LEVELS if "width" in axes else 0}

        def refine(j):
            def refined(net):
                for axis in ("depth", "width"):
                    if j <= levels[axis]:
                        net = refined_network(net, axis, steps="double" if axis == "depth" else "keep")
                return net
            return refined

        coarse = {**fine, "width_cells": fine["width_cells"] // 2 ** levels["width"]}
        if levels["depth"]:
            coarse.update(depth_cells=1, steps=1)
        return coarse, {max(int(epochs * (1 - 0.5**j)), j): refine(j) for j in range(1, max(levels.values()) + 1)}

    runs = {name: [] for name in variants}
    for _ in range(repeats):
        torch.manual_seed(0)
        scratch = Trainer(task_network(task, **fine), task, "adamw", learning_rate, progress=False)
        reference = timed_run(scratch, epochs)
        target, fine_time = reference[-1][1], reference[-1][0]
        for name, axes in variants.items():
            coarse, stages = plan(axes)
            torch.manual_seed(0)
            trainer = Trainer(task_network(task, **coarse), task, "adamw", learning_rate, progress=False)
            curve = timed_run(trainer, 2 * epochs, stages, stop_at=target)
            reached = next((t for t, value in curve if _better(task, value, target)), None)
            runs[name].append({"target": target, "fine_seconds": fine_time, "progressive_seconds": reached,
                               "progressive_final": curve[-1][1], "ratio": None if reached is None else reached / fine_time,
                               "trained": scratch.network})
    results = {}
    for name, variant in runs.items():
        if any(run["ratio"] is None for run in variant):
            results[name] = next(run for run in variant if run["ratio"] is None)
        else:
            median = sorted(variant, key=lambda run: run["ratio"])[len(variant) // 2]
            results[name] = {**median, "ratios": [run["ratio"] for run in variant]}
    return results


RATES = (0.2, 0.5, 1.0)


def mgopt_against_plain(task: Task, evaluations: int, plot: str) -> float:
    """Training loss on a fixed batch of 512 after equal fine-gradient evaluations, each
    method at its best step size of :data:`RATES` (the same tuning effort for both)."""
    x, y = task.x_train[:512], task.y_train[:512]

    def loss(net):
        return task.loss(net, x, y)

    def level(cells):
        torch.manual_seed(1)
        return task_network(task, width_cells=8, width_order=1, depth_cells=cells, steps=cells)

    plain_curves, mg_curves = {}, {}
    for rate in RATES:
        plain, curve = level(4), []
        for _ in range(evaluations):
            gradient = torch.autograd.grad(loss(plain), list(plain.parameters()))
            with torch.no_grad():
                for p, g in zip(plain.parameters(), gradient):
                    p.sub_(rate * g)
                curve.append((len(curve) + 1, loss(plain).item()))
        plain_curves[rate] = curve
        mg, curve = MGOpt([level(4), level(2), level(1)], loss, rate, coarse_steps=4), []
        while mg.fine_gradients < evaluations:
            curve.append((mg.fine_gradients, mg.cycle()))
        mg_curves[rate] = curve
    best_plain = min(RATES, key=lambda r: plain_curves[r][-1][1])
    best_mg = min(RATES, key=lambda r: mg_curves[r][-1][1])
    at, mg_loss = mg_curves[best_mg][-1]
    plain_loss = plain_curves[best_plain][min(at, evaluations) - 1][1]
    print(f"\nMG/OPT (depth 4 → 2 → 1, step {best_mg}) loss {mg_loss:.4f} after {at} fine gradients; "
          f"gradient descent (step {best_plain}) {plain_loss:.4f}")
    if plot:
        from ..plotting import pyplot, save_figure

        plt = pyplot()
        figure, axis = plt.subplots(figsize=(5, 3.4))
        axis.semilogy(*zip(*plain_curves[best_plain]), label=f"gradient descent, step {best_plain}")
        axis.semilogy(*zip(*mg_curves[best_mg]), "o-", label=f"MG/OPT (depth 4 → 2 → 1), step {best_mg}")
        axis.set_xlabel("fine gradient evaluations")
        axis.set_ylabel("training loss (512 digits)")
        axis.legend()
        save_figure(figure, plot)
    return mg_loss / plain_loss


def adaptive_against_uniform(task: Task, epochs: int) -> dict:
    """Two rounds of depth refinement from 2 cells: all cells, or the half with the largest
    error indicator; parameters and final test metric of each."""
    results = {}
    for name in ("uniform", "adaptive"):
        torch.manual_seed(0)
        trainer = Trainer(task_network(task, width_cells=8, width_order=3, depth_cells=2, steps=4, depth_family="legendre"),
                          task, "adamw", 0.02, progress=False)
        stage = max(epochs // 3, 1)
        if name == "uniform":
            def refine(net):
                return refined_network(net, "depth")
        else:
            def refine(net):
                return adapted_network(net, fraction=0.5)
        timed_run(trainer, epochs, {stage: refine, 2 * stage: refine})
        results[name] = {"parameters": sum(p.numel() for p in trainer.network.parameters()),
                         "metric": task.metric(trainer.network)}
    return results


def run(args) -> dict:
    figures = {}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, CPU")
    tasks = [("digits", digits_task(), 0.02)] + ([] if args.skip_burgers else [("burgers", burgers_task(), 0.3)])
    for name, task, rate in tasks:
        epochs = args.epochs if name == "digits" else 5 * args.epochs  # a Burgers epoch is 8 batches
        runs = [(FINE, None), (FINE_WIDTH, WIDTH_VARIANTS)] if name == "digits" else [(FINE_BURGERS, None)]
        results = {variant: {**r, "fine": fine} for fine, variants in runs
                   for variant, r in progressive(task, epochs, fine, rate, args.repeats, variants).items()}
        for variant, r in results.items():
            ratio = "not reached" if r["ratio"] is None else f"{r['ratio']:.2f}, median of {', '.join(f'{q:.2f}' for q in r['ratios'])}"
            print(f"\n{name} {r['fine']}, progressive in {variant.replace('_', ' + ')}: fine from scratch {r['fine_seconds']:.1f} s to "
                  f"{task.metric_name} {r['target']:.4f}; progressive reaches it in {r['progressive_seconds'] or float('nan'):.1f} s "
                  f"(ratio {ratio}), final {r['progressive_final']:.4f}")
            key = {"depth": "", "width": "_width", "width_depth": "_width_depth"}[variant]
            figures[f"progressive_time_ratio{key}{'' if name == 'digits' else '_burgers'}"] = r["ratio"]
        if name == "digits":
            rows = project_down(results["depth"]["trained"], task, depth_cells=[2, 1], steps=[4, 2, 1],
                                schemes=["rk4", "midpoint", "euler"], width_cells=[16, 8], width_orders=[3, 1])
            print(f"\nproject-down of the RK4-trained digits network ({FINE})")
            print(format_project_down(rows, task.metric_name))
            half = next(row for row in rows[1:] if row["scheme"] == "rk4" and row["steps"] == 2 and row["depth_cells"] == 2)
            figures["project_down_speedup"] = half["speedup"]
            figures["project_down_acc_drop"] = 100.0 * (rows[0][task.metric_name] - half[task.metric_name])
            narrow = next(row for row in rows[1:] if row["width_cells"] == 8 and row["width_order"] == 3)
            figures["project_down_width_speedup"] = narrow["speedup"]
            figures["project_down_width_acc_drop"] = 100.0 * (rows[0][task.metric_name] - narrow[task.metric_name])
            figures["mgopt_loss_ratio"] = mgopt_against_plain(task, args.mgopt_evaluations, args.plot)
            adaptive = adaptive_against_uniform(task, args.epochs // 2)
            print(f"\nadaptive vs uniform depth refinement: {adaptive}")
            a, u = adaptive["adaptive"], adaptive["uniform"]
            figures["adaptive_param_ratio"] = a["parameters"] / u["parameters"] if a["metric"] >= u["metric"] - 0.005 else None
    targets = {"progressive_time_ratio": "<= 0.5", "progressive_time_ratio_width": "<= 0.5",
               "progressive_time_ratio_width_depth": "<= 0.5", "project_down_speedup": ">= 2", "project_down_acc_drop": "<= 0.5",
               "mgopt_loss_ratio": "< 1", "adaptive_param_ratio": "< 1"}
    print(f"\n{'figure':<32} {'value':>10}   target")
    for key, value in figures.items():
        shown = "n/a" if value is None else f"{value:.3f}"
        print(f"{key:<32} {shown:>10}   {targets.get(key.removesuffix('_burgers'), '')}")
    return figures
