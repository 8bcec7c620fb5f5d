"""Models against their peers, trained in one run at equal parameter count and equal time.

- Burgers (the bundled operator task, 512 pairs at 64 cells): the channel operator network
  (:class:`~fem_nn.operator_network.OperatorNetwork`, a spectral kernel) against a Fourier
  neural operator (neuraloperator, the ``bench`` extra; its row is skipped without it) and a
  plain MLP, every model by the same loop (:func:`~fem_nn.bench.peers.fit_for`: AdamW, a cosine
  learning rate over the time budget, the relative L2 loss; each model at its better learning
  rate); errors at 32 / 64 / 128 / 256
  cells without retraining (the MLP reads 64 only), and the operator network's invariance in
  depth (other schemes and step counts of the same fields).
- Digits as 8 × 8 images: the ContinuousNet classifier
  (:class:`~fem_nn.models.ContinuousNetClassifier`) against a plain torch ResNet of the same
  size, both trained on images shifted by ±1 pixel (over ``--seeds`` seeds, the figures their
  means), the classifier's manifestation table (schemes × steps), and the classifier with
  kernel fields for convolutions read at 8 × 8 and at 16 × 16.
- Forward times: the channel continuum against the same matrix RK loop in plain torch, and the
  spectral manifestation against neuraloperator's FNO forward at equal modes and channels.

Runtime, one thread, an idle machine: about ``(3 + 2 × --seeds) × --seconds`` plus a minute.
"""

from __future__ import annotations

import argparse

import torch

from .._threads import steady_threads
from .._timing import best_times
from ..mesh import DEPTH_INTERVAL, uniform_axis
from ..models import ContinuousNetClassifier
from ..operator_network import OperatorNetwork
from ..tasks import burgers_initial_conditions, burgers_solution, burgers_task, cell_averages, load_task
from . import channels
from .peers import PlainMLP, PlainResNet, fit_for, fourier_neural_operator, parameter_count, random_shifts

__all__ = ["add_arguments", "run"]

RESOLUTIONS = (32, 64, 128, 256)
# the FNO of the comparison (76 351 real parameters: its complex spectral weights
# count twice), and an operator network of its size (76 134): the FNO's 9 rfft modes, one
# continuous P1 depth cell, midpoint × 2 (four unit evaluations a batch, as the FNO's four
# layers; docs/operators.rst has the tries, at 33 channels)
FNO = {"modes": 16, "channels": 30}
OPERATOR = {"channels": 45, "modes": 9, "depth": 1, "scheme": "midpoint", "steps": 2}
# the FNO gains nothing from 1e-2 (0.71 % against 0.66 % at 3e-3); the operator network does
LEARNING_RATE, OPERATOR_LEARNING_RATE = 3e-3, 1e-2
# re-manifestations of the trained operator network's depth fields
DEPTH_SET = (("midpoint", 8), ("rk4", 4), ("rk4", 8), ("rk4_38", 4))
# each batch of the operator network drawn from these (scheme, steps factor): the loss an
# average over manifestations, so the fields learn a flow, not one step count's map (without
# the rk4 draw the rk4 manifestations lose 15–23 %)
OPERATOR_DRAWS = [("midpoint", 1), ("midpoint", 2), ("rk4", 1)]
# the ContinuousNet classifier: every stage one continuous P1 depth cell, trained in rk4 × 1
# and Euler × 2 drawn per batch (the invariance; three unit evaluations a batch on average,
# where rk4 × 2 with Euler × 2 took five and bought 30 % fewer epochs: 98.59 % against
# 99.04 % over three seeds), both models on images shifted by ±1 pixel; re-manifested as
# the seed's table does (euler at more steps, rk4_38, midpoint)
IMAGE = {"channels": (8, 16), "depth": uniform_axis(DEPTH_INTERVAL, 1, "lagrange", 1), "scheme": "rk4", "steps": 1}
IMAGE_DRAWS = [("rk4", 1), ("euler", 2)]
IMAGE_SET = (("rk4", 2), ("rk4", 4), ("euler", 2), ("euler", 8), ("rk4_38", 1), ("midpoint", 2), ("midpoint", 4))
# the width a continuum too: P1 kernel fields over two pixels (as many parameters as a 3 × 3
# conv, 5 × 5 taps at 8 × 8): over one pixel the field is not resolved by the image, and
# the trained model read at 16 × 16 falls to about half its accuracy
IMAGE_KERNEL = uniform_axis((-0.5, 0.5), 2, "lagrange", 1)


def add_arguments(parser) -> None:
    parser.add_argument("--seconds", type=float, default=60.0, help="training time per model (default 60)")
    parser.add_argument("--train", type=int, default=512, help="Burgers training pairs (default 512)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="seeds of the image classifiers, the figures their means (default 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--skip-burgers", action="store_true", help="skip the operator comparison")
    parser.add_argument("--skip-images", action="store_true", help="skip the image classifiers")
    parser.add_argument("--skip-forward", action="store_true", help="skip the forward timings")


def relative_l2(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The mean over the batch of ‖prediction − target‖ / ‖target‖ (the FNO's loss)."""
    return ((prediction - target).norm(dim=-1) / target.norm(dim=-1)).mean()


def _errors(model, tests: dict, resolutions=RESOLUTIONS) -> dict:
    with torch.no_grad():
        return {cells: float(relative_l2(model(x), y)) for cells, (x, y) in tests.items() if cells in resolutions}


def _burgers(seconds: float, pairs: int) -> dict:
    task = burgers_task(pairs, 128, 64)
    u0 = burgers_initial_conditions(128, 1)
    uT = burgers_solution(u0)
    tests = {cells: (cell_averages(u0, cells), cell_averages(uT, cells)) for cells in RESOLUTIONS}
    models = {"fem_nn operator": OperatorNetwork(**OPERATOR, seed=0)}
    torch.manual_seed(0)
    fno = fourier_neural_operator(**FNO)
    if fno is None:
        print("neuraloperator is not installed (pip install -e '.[bench]'): no FNO row")
    else:
        models["FNO (neuraloperator)"] = fno
    size = parameter_count(fno if fno is not None else models["fem_nn operator"])
    hidden = int(((128 + 2) ** 2 / 4 + size) ** 0.5 - (128 + 2) / 2)  # 64·h + h² + h·64 ≈ size
    torch.manual_seed(0)
    models["plain MLP"] = PlainMLP(64, hidden)
    rows = {}
    print(f"\nBurgers operator: {pairs} pairs at 64 cells, {seconds:g} s of training each, relative L2 test error")
    print(f"{'model':<22} {'params':>7} {'epochs':>6} " + " ".join(f"{c:>7}" for c in RESOLUTIONS))
    for name, model in models.items():
        operator = isinstance(model, OperatorNetwork)
        epochs = fit_for(model, task.x_train, task.y_train, relative_l2, seconds,
                         learning_rate=OPERATOR_LEARNING_RATE if operator else LEARNING_RATE,
                         manifestations=OPERATOR_DRAWS if operator else None).epochs
        errors = _errors(model, tests, (64,) if isinstance(model, PlainMLP) else RESOLUTIONS)
        rows[name] = {"parameters": parameter_count(model), "epochs": epochs, "errors": errors, "model": model}
        print(f"{name:<22} {parameter_count(model):>7} {epochs:>6} "
              + " ".join(f"{errors[c]:>7.2%}" if c in errors else f"{'—':>7}" for c in RESOLUTIONS), flush=True)
    ours = rows["fem_nn operator"]
    trained = ours["errors"][64]
    print("\nthe operator network's depth fields re-manifested (64 cells)")
    depth = {}
    for scheme, steps in DEPTH_SET:
        depth[f"{scheme}x{steps}"] = _errors(ours["model"].replaced(scheme=scheme, steps=steps), tests, (64,))[64]
        print(f"  {scheme:>8} × {steps:<3} {depth[f'{scheme}x{steps}']:.2%}")
    figures = {
        "burgers_error": trained,
        "burgers_resolution_ratio": max(ours["errors"][c] for c in RESOLUTIONS if c != 64) / trained,
        "burgers_max_drop_depth": max(0.0, max(depth.values()) / trained - 1.0),
        "burgers_parameters": ours["parameters"],
        "burgers_mlp_error": rows["plain MLP"]["errors"][64],
    }
    if fno is not None:
        theirs = rows["FNO (neuraloperator)"]["errors"]
        figures.update({
            "burgers_fno_error": theirs[64], "burgers_fno_parameters": rows["FNO (neuraloperator)"]["parameters"],
            "burgers_error_ratio_vs_fno": trained / theirs[64],
            "burgers_fno_resolution_ratio": max(theirs[c] for c in RESOLUTIONS if c != 64) / theirs[64],
        })
    return figures


def _accuracy(model, x, labels) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == labels).double().mean())


def _images(seconds: float, seeds: int) -> dict:
    """The classifiers on digits images, each seed a fresh draw of both models and of the
    batch order; the figures are means over the seeds (one test image is 0.22 points, about
    the spread between seeds)."""
    task = load_task("digits_images")
    loss = torch.nn.functional.cross_entropy
    fine = task.x_test.repeat_interleave(2, 2).repeat_interleave(2, 3)  # each pixel as 2 × 2 equal cells
    print(f"\ndigits as 8 × 8 images (shifted by ±1 pixel in training), {seconds:g} s of training each, "
          f"test accuracy (and at 16 × 16, the pixels split, for the kernel fields)")
    rows, tables = {}, []
    for seed in range(seeds):
        classifier = ContinuousNetClassifier(**IMAGE, seed=seed)
        torch.manual_seed(seed)
        # a ResNet block per depth dof of the classifier's stages: the same parameter count
        resnet = PlainResNet(1, 10, IMAGE["channels"], blocks=classifier.blocks[0].depth.n_dofs)
        models = [("ContinuousNet (fem_nn)", classifier), ("plain ResNet", resnet)]
        if seed == 0:  # the width continuum's row: one seed
            fields = ContinuousNetClassifier(**IMAGE, kernel=IMAGE_KERNEL, seed=0)
            models.append(("ContinuousNet, fields", fields))
        for name, model in models:
            draws = IMAGE_DRAWS if isinstance(model, ContinuousNetClassifier) else None
            epochs = fit_for(model, task.x_train, task.y_train, loss, seconds, learning_rate=1e-2, manifestations=draws,
                             transform=random_shifts, seed=seed).epochs
            rows.setdefault(name, []).append(_accuracy(model, task.x_test, task.y_test))
            at_16 = f", at 16 × 16 {_accuracy(model, fine, task.y_test):.4f}" if name == "ContinuousNet, fields" else ""
            print(f"  seed {seed} {name:<24} {parameter_count(model):>7} parameters, {epochs:>4} epochs: "
                  f"{rows[name][-1]:.4f}{at_16}", flush=True)
        tables.append([_accuracy(classifier.replaced(scheme=scheme, steps=steps), task.x_test, task.y_test)
                       for scheme, steps in IMAGE_SET])
    mean = {name: sum(accuracies) / len(accuracies) for name, accuracies in rows.items()}
    trained = mean["ContinuousNet (fem_nn)"]
    print(f"\nmeans over {seeds} seed(s): ContinuousNet {trained:.4f}, plain ResNet {mean['plain ResNet']:.4f}")
    print(f"the classifier's manifestations (trained: {IMAGE['scheme']} × {IMAGE['steps']}; means over the seeds)")
    print(f"  {'scheme':>8} {'steps':>5} {'accuracy':>9} {'drop [points]':>14}")
    drops = []
    for (scheme, steps), accuracies in zip(IMAGE_SET, zip(*tables)):
        accuracy = sum(accuracies) / len(accuracies)
        drops.append(max(0.0, 100.0 * (trained - accuracy)))
        print(f"  {scheme:>8} {steps:>5} {accuracy:>9.4f} {drops[-1]:>14.2f}")
    return {"digits_image_accuracy": trained, "digits_image_resnet_accuracy": mean["plain ResNet"],
            "digits_image_vs_resnet": 100.0 * (trained - mean["plain ResNet"]), "digits_image_seeds": seeds,
            "digits_image_parameters": parameter_count(classifier), "digits_image_max_drop_depth": max(drops),
            "digits_image_fields_accuracy": mean["ContinuousNet, fields"],
            "digits_image_fields_accuracy_16": _accuracy(fields, fine, task.y_test)}


def _spectral_forward() -> dict:
    """The operator network's spectral manifestation (Euler × 4: four kernel applications, as
    the FNO's four layers) against neuraloperator's FNO forward, equal modes and channels."""
    fno = fourier_neural_operator(**FNO)
    if fno is None:
        return {}
    # the FNO keeps n_modes // 2 + 1 rfft modes
    ours = OperatorNetwork(channels=FNO["channels"], modes=FNO["modes"] // 2 + 1, depth=4, scheme="euler", steps=4, seed=0)
    x = torch.randn(256, 256)
    fno.eval()
    with torch.no_grad():
        times = best_times({"fem_nn": lambda: ours(x), "fno": lambda: fno(x)}, 5)
    mine, theirs = times["fem_nn"], times["fno"]
    print(f"\nspectral forward, {FNO['channels']} channels, {FNO['modes'] // 2 + 1} rfft modes (the FNO's n_modes "
          f"{FNO['modes']}), four layers, 256 nodes, batch 256: "
          f"fem_nn {mine * 1e3:.1f} ms, FNO {theirs * 1e3:.1f} ms")
    return {"spectral_forward_vs_fno": mine / theirs}


def run(args) -> dict:
    if args.seeds < 1:
        raise ValueError(f"--seeds must be a positive integer, got {args.seeds}")
    # steady: a numba projection (loading a task) would otherwise put torch on every core
    with steady_threads(args.threads):
        return _run(args)


def _run(args) -> dict:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, CPU")
    figures = {}
    if not args.skip_burgers:
        figures.update(_burgers(args.seconds, args.train))
    if not args.skip_images:
        figures.update(_images(args.seconds, args.seeds))
    if not args.skip_forward:
        print("\nchannel continuum forward (fem-nn bench channels)")
        measured = channels.run(argparse.Namespace(channels=32, nodes=256, steps=2, repeat=3, device="cpu"))
        figures["channel_forward_vs_conv"] = measured["channel_forward_vs_conv"]
        figures.update(_spectral_forward())
    return figures
