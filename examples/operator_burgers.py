"""The channel operator network on Burgers: one set of fields at every resolution and depth
==========================================================================================

Learn u(·, 0) ↦ u(·, T) of viscous Burgers' equation (periodic on [-1, 1]) with
:class:`~fem_nn.operator_network.OperatorNetwork`: each signal's samples are read as equal
cells, lifted pointwise to C channels (with the coordinate ξ), advanced in depth by an
:class:`~fem_nn.odeblock.OdeBlock` whose velocity is a spectral kernel — a Fourier neural
operator layer as a continuum — plus a pointwise channel map, every parameter a field in
depth, and projected pointwise back to one channel.

It is trained at 64 cells, by the loop and recipe of ``fem-nn bench models`` (AdamW, a cosine
learning rate over a time budget, the relative L2 loss, each batch in a scheme and step count
drawn from :data:`~fem_nn.bench.models.OPERATOR_DRAWS`), then evaluated without retraining at
32, 128 and 256 cells and with its depth fields re-manifested by other schemes and step
counts.

Run: ``python examples/operator_burgers.py [--seconds S] [--train N] [--out FIGURE.png]``. The
documentation's gallery runs it with ``FEM_NN_GALLERY=1``: a shorter budget, the figure shown
rather than saved.
"""

from __future__ import annotations

import argparse
import os

import torch

from fem_nn.bench.models import DEPTH_SET, OPERATOR, OPERATOR_DRAWS, OPERATOR_LEARNING_RATE, RESOLUTIONS, relative_l2
from fem_nn.bench.peers import fit_for, parameter_count
from fem_nn.operator_network import OperatorNetwork
from fem_nn.plotting import plot_operator_predictions
from fem_nn.tasks import burgers_initial_conditions, burgers_solution, burgers_task, cell_averages

GALLERY = os.environ.get("FEM_NN_GALLERY", "") not in ("", "0")  # set by docs/conf.py


# %%
# Train at 64 cells
# -----------------
# The bench's recipe (:data:`~fem_nn.bench.models.OPERATOR`): the fields live on continuous P1
# depth cells; every batch is integrated in a manifestation drawn from a few schemes and step
# counts, so the fields learn a flow rather than one step count's map.


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])  # no __doc__ in the gallery
    parser.add_argument("--seconds", type=float, default=20.0 if GALLERY else 60.0, help="training budget")
    parser.add_argument("--train", type=int, default=512, help="training pairs (default 512)")
    parser.add_argument("--out", default="", help="figure path (default: none)")
    args = parser.parse_args(argv)

    task = burgers_task(n_train=args.train, n_test=128, cells=64)
    network = OperatorNetwork(**OPERATOR, seed=0)
    epochs = fit_for(network, task.x_train, task.y_train, relative_l2, args.seconds, learning_rate=OPERATOR_LEARNING_RATE,
                     manifestations=OPERATOR_DRAWS).epochs
    print(f"{parameter_count(network)} parameters, {epochs} epochs in {args.seconds:g} s")

    # %%
    # Evaluate at other resolutions and other depth manifestations
    # ------------------------------------------------------------
    # The kernel integrates over the width rather than indexing samples, so the same network
    # reads 32 or 256 cell averages; :meth:`~fem_nn.operator_network.OperatorNetwork.replaced`
    # re-manifests the depth fields.
    u0 = burgers_initial_conditions(128, 1)
    uT = burgers_solution(u0)
    errors, depth = {}, {}
    print("relative L2 test error (trained at 64 cells)")
    with torch.no_grad():
        for cells in RESOLUTIONS:
            errors[cells] = float(relative_l2(network(cell_averages(u0, cells)), cell_averages(uT, cells)))
            print(f"  {cells:>4} cells: {errors[cells]:.2%}")
        x, y = cell_averages(u0, 64), cell_averages(uT, 64)
        print(f"the depth fields re-manifested (64 cells; trained {OPERATOR['scheme']} × {OPERATOR['steps']})")
        for scheme, steps in DEPTH_SET:
            depth[f"{scheme} × {steps}"] = float(relative_l2(network.replaced(scheme=scheme, steps=steps)(x), y))
            print(f"  {scheme:>8} × {steps:<3} {depth[f'{scheme} × {steps}']:.2%}")
        identity = float(relative_l2(x, y))
    print(f"(the identity map u(T) ≈ u(0) scores {identity:.1%})")

    if args.out or GALLERY:  # the gallery shows the open figure
        with torch.no_grad():
            predictions = {cells: network(cell_averages(u0[:1], cells))[0].numpy() for cells in (32, 256)}
        plot_operator_predictions(u0[0], uT[0], predictions, path=args.out or None)
    return {"errors": errors, "depth": depth, "epochs": epochs, "identity": identity}


# %%
# Run
# ---
# The errors at 32, 128 and 256 cells stay close to the error at the training resolution,
# and the other schemes and step counts of the same depth fields close to the trained one:
# the network is one function of functions, manifested at any resolution and depth.

if __name__ == "__main__":
    main()
