"""A neural ODE from irregular observations, trained by the adjoint (Chen et al. 2018)
=====================================================================================

A damped pendulum ``θ'' = −sin θ − 0.3 θ'`` is observed at irregular times on ``[0, 5]``
(ground truth: scipy's DOP853 at tolerance 1e-12). A small tanh MLP vector field ``f(x)`` is
fitted so that the adaptive solve of ``dx/dt = f(x)`` (dopri5) passes through the
observations; the gradients come from the continuous adjoint, solved backwards, with
memory independent of the number of steps. The trained field then predicts the state at
arbitrary future times on ``(5, 8]``, which it never saw.

Run: ``python examples/irregular_pendulum.py [--epochs N] [--out FIGURE.png]``. Without
``--out`` no figure is written (the gallery, ``FEM_NN_GALLERY=1``, shows it instead).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from scipy.integrate import solve_ivp

from fem_nn import Adaptive, integrate_adaptive
from fem_nn.plotting import pyplot, save_figure

GALLERY = os.environ.get("FEM_NN_GALLERY", "") not in ("", "0")  # set by docs/conf.py
DAMPING, OBSERVED, FUTURE = 0.3, 5.0, 8.0


# %%
# The observations
# ----------------
# Three trajectories, each seen at 20 random times (a different set per trajectory would
# need one solve each; here the times are shared, irregular, and include t = 0).


def pendulum(_, x):
    return [x[1], -np.sin(x[0]) - DAMPING * x[1]]


def truth(x0: np.ndarray, times: np.ndarray) -> np.ndarray:
    """States (time, trajectory, 2) by scipy at tight tolerance."""
    return np.stack([solve_ivp(pendulum, (0.0, times[-1]), x, t_eval=times, method="DOP853", rtol=1e-12,
                               atol=1e-12).y.T for x in x0], axis=1)


# %%
# The vector field and its training
# ---------------------------------
# :func:`fem_nn.integrate_adaptive` solves at the observation times by dense output;
# ``gradient="adjoint"`` makes its backward pass the adjoint ODE.


def vector_field(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2)).double()


def solve(model, x0: torch.Tensor, times, rtol: float, gradient: str = "backprop") -> torch.Tensor:
    return integrate_adaptive(lambda t, h: model(h), x0, times, Adaptive("dopri5", rtol=rtol, atol=rtol / 100),
                              gradient=gradient, params=list(model.parameters()))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--rtol", type=float, default=1e-4, help="training tolerance (default 1e-4)")
    parser.add_argument("--out", default="", help="figure path (default: none)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x0 = np.array([[2.0, 0.0], [-1.0, 1.2], [0.5, -1.5]])
    times = np.concatenate([[0.0], np.sort(rng.uniform(0.0, OBSERVED, 19))])
    observed = torch.tensor(truth(x0, times))
    start = observed[0]

    model = vector_field()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs)
    losses = []
    for _ in range(args.epochs):
        loss = (solve(model, start, times, args.rtol, "adjoint") - observed).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())

    future = np.sort(rng.uniform(OBSERVED, FUTURE, 30))  # arbitrary times never observed
    grid = np.concatenate([times, future])
    exact = truth(x0, grid)
    with torch.no_grad():
        predicted = solve(model, start, grid, 1e-8).numpy()
    scale = np.abs(exact).max()
    fit_error = float(np.abs(predicted[: len(times)] - exact[: len(times)]).max() / scale)
    future_error = float(np.abs(predicted[len(times):] - exact[len(times):]).max() / scale)
    untrained = solve(vector_field(), start, grid, 1e-8).detach().numpy()
    baseline = float(np.abs(untrained[len(times):] - exact[len(times):]).max() / scale)
    print(f"loss {losses[0]:.3e} -> {losses[-1]:.3e} in {args.epochs} epochs (adjoint gradients, rtol {args.rtol})")
    print(f"max error / max |x|: observed times {fit_error:.3f}, future times {future_error:.3f} "
          f"(untrained field {baseline:.3f})")

    if args.out or GALLERY:
        plt = pyplot()
        figure, ax = plt.subplots(figsize=(9, 3.6))
        dense = np.linspace(0.0, FUTURE, 400)
        exact_dense = truth(x0, dense)
        with torch.no_grad():
            model_dense = solve(model, start, dense, 1e-8).numpy()
        for k in range(len(x0)):
            line, = ax.plot(dense, exact_dense[:, k, 0], lw=1, alpha=0.5)
            ax.plot(dense, model_dense[:, k, 0], "--", color=line.get_color())
            ax.plot(times, observed[:, k, 0], "o", ms=3, color=line.get_color())
            ax.plot(future, predicted[len(times):, k, 0], "x", ms=4, color=line.get_color())
        ax.axvline(OBSERVED, color="k", lw=0.8)
        ax.set_xlabel("t (observed: dots; predicted at future times: crosses; dashed: the learned flow)")
        ax.set_ylabel("θ")
        figure.tight_layout()
        if args.out:
            save_figure(figure, args.out)
    return {"losses": losses, "fit_error": fit_error, "future_error": future_error, "untrained_error": baseline}


if __name__ == "__main__":
    main()
