"""The hyperbolic ConvNet's continuous channel symmetry, and its depth continuum
==============================================================================

Liu, Shao and Bai's ConvNet of quasi-linear hyperbolic units (:mod:`fem_nn.hyperbolic`, Eq. (3)
with softball at the downsampling) is trained on the 8×8 digits as images. Its weights then
admit a continuous symmetry: mixing a stage's stream channels by any orthogonal T (softball
sees only the norm of each pixel's channel vector) leaves every output unchanged. A generic
invertible T is refused; with relu after every block only permutations and positive
scalings survive, and a rotation changes the output. The freedom is then spent on exact
zeros (:func:`~fem_nn.hyperbolic.compression.compressed`) and on a canonical form, and the
stage interiors, depth fields, are re-manifested with other schemes and steps.

Run: ``python examples/hyperbolic_symmetry.py [--epochs E] [--out FIGURE.png]``. The
documentation's gallery runs it with ``FEM_NN_GALLERY=1``: fewer epochs, the figure shown
rather than saved.
"""

from __future__ import annotations

import argparse
import copy
import os

import torch

from fem_nn.hyperbolic import HyperbolicConvNet, fused, transformed
from fem_nn.hyperbolic.compression import canonical_form, compressed
from fem_nn.models import train_model
from fem_nn.plotting import plot_canonical_form
from fem_nn.tasks import accuracy, digits_images_task

CHANNELS = (8, 16)
MANIFESTATIONS = {"rk4 × 2": {"scheme": "rk4", "steps": 2}, "rk4_38 × 1": {"scheme": "rk4_38", "steps": 1},
                  "midpoint × 4": {"scheme": "midpoint", "steps": 4}, "euler × 8": {"scheme": "euler", "steps": 8}}
GALLERY = os.environ.get("FEM_NN_GALLERY", "") not in ("", "0")  # set by docs/conf.py


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a − b| / max |b|."""
    return float((a - b).abs().max() / b.abs().max())


def random_orthogonal(n: int, generator: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64, generator=generator))
    return q


# %%
# Train, then fuse in float64
# ---------------------------
# Each stage interior is one P0 depth cell — constant coefficients in depth, as in the
# seed's PDE — integrated by one rk4 step. Trained as a flow (rather than as Euler's one step
# per cell, the discrete network, whose fields fit that one map), the fields can be
# re-manifested at the end. :func:`~fem_nn.hyperbolic.fused` folds every batch norm into
# the convolution before it: batch norm on a stream does not commute with T.


def trained(epochs: int):
    """The trained model, its parameter count and training history, and the task."""
    task = digits_images_task()
    model = HyperbolicConvNet(channels=CHANNELS, variant="eq3", activation="softball", depth=1, scheme="rk4", seed=0)
    history = train_model(model, task, epochs=epochs, learning_rate=0.01)
    return model, sum(p.numel() for p in model.parameters()), history, task


# %%
# The group
# ---------
# :func:`~fem_nn.hyperbolic.transformed` multiplies every map writing into stage 1's stream
# by T and every map reading it by T⁻¹, after checking T against the group of each
# activation on that stream: O(n) for softball, so a random orthogonal T passes and a
# generic invertible one is refused. With relu after every block only permutations times
# positive scalings commute with the activation. To see that a rotation really breaks it,
# the identity-activation twin (the same weights: activations have none), which admits any
# invertible T, is rotated, and its weights are loaded into the relu model.


def group(net: HyperbolicConvNet, x: torch.Tensor, generator: torch.Generator) -> dict:
    """Relative output changes under the group and outside it, and the refusal's message."""
    n = CHANNELS[1]
    logits = net(x)
    T = random_orthogonal(n, generator)
    orthogonal = relative_difference(transformed(net, 1, T)(x), logits)
    try:
        transformed(net, 1, torch.randn(n, n, dtype=torch.float64, generator=generator))
        refused = ""
    except ValueError as error:
        refused = str(error)

    relu, twin = (HyperbolicConvNet(channels=CHANNELS, activation=a, placement="all", norm="none", dtype=torch.float64,
                                    seed=0) for a in ("relu", "identity"))
    relu_logits = relu(x)
    shuffle = torch.eye(n, dtype=torch.float64)[torch.randperm(n, generator=generator)]
    scaled = shuffle * (0.5 + torch.rand(n, 1, dtype=torch.float64, generator=generator))
    permutation = relative_difference(transformed(relu, 1, scaled)(x), relu_logits)
    rotated = copy.deepcopy(relu)
    rotated.load_state_dict(transformed(twin, 1, T).state_dict())
    rotation = relative_difference(rotated(x), relu_logits)
    print(f"random orthogonal T on stage 1: outputs change by {orthogonal:.1e} (relative)")
    print(f"a generic T in GL({n}) is refused: {refused}")
    print(f"relu@all: a scaled permutation changes the outputs by {permutation:.1e}, a rotation by {rotation:.2f}")
    return {"orthogonal": orthogonal, "refused": refused, "permutation": permutation, "rotation": rotation}


# %%
# Lossless compression and the canonical form
# -------------------------------------------
# An orthogonal stream can turn its first lift into a lower triangle: n(n − 1)/2 exact zeros
# per stage, the dimension of O(n) and so the most any orthogonal T can make. Against all the
# mixing weights this is little, and even GL(n) allows only n² − 1 per stage. The canonical form
# rotates stage 1's stream into the principal directions of what the stage writes; the
# figure shows their singular values and the interior's out map before and after.


def symmetry_used(net: HyperbolicConvNet, x: torch.Tensor, y: torch.Tensor, out: str) -> dict:
    """The compression's counts, output change and accuracy; the canonical form's."""
    logits, before_accuracy = net(x), accuracy(net, x, y)
    result = compressed(net)
    changed = relative_difference(result.model(x), logits)
    after_accuracy = accuracy(result.model, x, y)
    print(f"compressed: {result.removed} of {result.total} mixing weights exactly zero ({result.fraction:.1%}; "
          f"bound {result.bound:.1%}), outputs change by {changed:.1e}, "
          f"accuracy {before_accuracy:.2%} -> {after_accuracy:.2%}")

    canonical, sigma = canonical_form(net, 1)
    canonical_difference = relative_difference(canonical(x), logits)
    name = "stages.1.out__weight"  # the interior's out map: (depth dofs, n, k·m, 1, 1)
    before, after = (dict(m.named_parameters())[name][0, :, :, 0, 0] for m in (net, canonical))
    print(f"canonical form of stage 1: singular values {sigma[0]:.2f} … {sigma[-1]:.2f}, "
          f"outputs change by {canonical_difference:.1e}")
    if out or GALLERY:  # the gallery shows the open figure
        plot_canonical_form(sigma.numpy(), before.numpy(), after.numpy(), path=out or None)
    return {"removed": result.removed, "total": result.total, "fraction": result.fraction, "bound": result.bound,
            "compressed_difference": changed, "compressed_accuracy": after_accuracy,
            "canonical_difference": canonical_difference, "sigma": sigma.tolist()}


# %%
# The depth continuum
# -------------------
# The same fields under other tableaus and step counts; nested refinement (each cell split in
# two, the steps kept) reads the same values, so it computes the same function.


def continuum(net: HyperbolicConvNet, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Accuracy of each re-manifestation and the refined model's relative output change."""
    manifestations = {label: accuracy(net.replaced(**options), x, y) for label, options in MANIFESTATIONS.items()}
    refined = relative_difference(net.refined()(x), net(x))
    print("re-manifested: " + ", ".join(f"{label} {a:.2%}" for label, a in manifestations.items()))
    print(f"refined (2 cells per stage): outputs change by {refined:.1e}")
    return {"manifestations": manifestations, "refined": refined}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])  # no __doc__ in the gallery
    parser.add_argument("--epochs", type=int, default=4 if GALLERY else 6)
    parser.add_argument("--out", default="", help="figure path (default: none)")
    args = parser.parse_args(argv)

    model, parameters, history, task = trained(args.epochs)
    print(f"eq3 softball@ds, {parameters} parameters: test accuracy {history[-1]['test_accuracy']:.2%} "
          f"after {args.epochs} epochs, {history[-1]['seconds']:.1f} s (rk4, 1 step per stage)")
    net = fused(model).double()
    x, y = task.x_test.double(), task.y_test
    with torch.no_grad():
        results = {"accuracy": accuracy(net, x, y), "parameters": parameters,
                   **group(net, x, torch.Generator().manual_seed(1)), **symmetry_used(net, x, y, args.out),
                   **continuum(net, x, y)}
    return results


# %%
# Run
# ---
# Every transform in the group leaves the outputs unchanged to round-off; the compression
# makes a few percent of the mixing weights exactly zero at unchanged accuracy, and the
# re-manifested flows hold the accuracy.

if __name__ == "__main__":
    main()
