"""Classification of scikit-learn's bundled digits with a continuum network
=========================================================================

Each 8×8 image is read in as a signal of 64 samples on [-1, 1] (P0 on 64 cells); 10 P0
read-out cells give the logits. The network is trained inside rk4 with 4 steps, then the
same fields are re-manifested with other schemes and step counts: the accuracy table shows
how the learned dynamics behave as a continuous-in-depth model.

Run: ``python examples/digits_classification.py [--epochs N] [--out FIGURE.png]``. The
documentation's gallery runs it with ``FEM_NN_GALLERY=1``: fewer epochs, the figure shown
rather than saved.
"""

from __future__ import annotations

import argparse
import os

from fem_nn.tasks import accuracy, digits_network, digits_task
from fem_nn.trainer import train_classifier
from fem_nn.plotting import plot_manifestations

SCHEMES = ("euler", "midpoint", "heun", "rk4", "rk4_38")
STEPS = (1, 2, 3, 4, 6, 8, 16, 32)
GALLERY = os.environ.get("FEM_NN_GALLERY", "") not in ("", "0")  # set by docs/conf.py


# %%
# Train, then re-manifest
# -----------------------
# :func:`fem_nn.tasks.digits_network` manifests the continuum on 32 Legendre cells of order 3
# in width (7 Gauss points per cell: 224 Nyström nodes, more than the field's 4 dofs per
# cell) and 4 continuous P1 cells in depth, integrated by rk4 in 4 steps; each image is read
# in by L2 projection onto the width space. The trainer draws each batch's manifestation
# (1 or 2 times the steps; rk4, rk4_38 or midpoint). After training,
# :meth:`~fem_nn.ContinuumNetwork.remanifested` evaluates the same fields with every scheme
# and step count of the table.


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])  # no __doc__ in the gallery
    parser.add_argument("--epochs", type=int, default=40 if GALLERY else 100)
    parser.add_argument("--out", default="", help="figure path (default: none)")
    args = parser.parse_args(argv)

    task = digits_task()
    network = digits_network()
    history = train_classifier(network, task, epochs=args.epochs, progress=not GALLERY)
    print(f"test accuracy after training (rk4, {network.steps} steps): {history[-1]['test_accuracy']:.2%}")

    table = {s: [accuracy(network.remanifested(s, n), task.x_test, task.y_test) for n in STEPS] for s in SCHEMES}
    print(f"{'scheme':<10}" + "".join(f"{n:>8}" for n in STEPS))
    for scheme, row in table.items():
        print(f"{scheme:<10}" + "".join(f"{a:8.2%}" for a in row))

    if args.out or GALLERY:  # the gallery shows the open figure
        plot_manifestations(table, STEPS, network.steps, ylim=(80, 100), path=args.out or None)
    return table


# %%
# Run
# ---
# Schemes of order 2 and 4 hold the accuracy from the training step count upwards: the
# trained fields behave as a continuous-in-depth model, not as one fixed stack of layers.

if __name__ == "__main__":
    main()
