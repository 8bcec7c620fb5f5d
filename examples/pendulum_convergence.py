"""Convergence test of a learned dynamical system (Queiruga et al. 2020)
=====================================================================

A small tanh MLP vector field f(x) is trained to map pendulum states x(t) to x(t + Δt)
inside one Runge–Kutta scheme (euler, midpoint or rk4) at one step Δt. Each trained field
is then integrated over the same Δt with n = 1, 2, 4, … substeps, by its own scheme and by
the others. A field trained inside Euler has overfit its step: its error is smallest at the
training step (n = 1) and grows as the step is refined. A field trained inside rk4 is a true
vector field: the error falls smoothly towards a limit under refinement, by any scheme.

Run: ``python examples/pendulum_convergence.py [--epochs N] [--out FIGURE.png]``. The
documentation's gallery runs it with ``FEM_NN_GALLERY=1``: fewer epochs, the figure shown
rather than saved.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from scipy.integrate import solve_ivp

from fem_nn import Adaptive, integrate, integrate_adaptive
from fem_nn.plotting import pyplot, save_figure

SCHEMES = ("euler", "midpoint", "rk4")
SUBSTEPS = (1, 2, 4, 8, 16, 32)
TOLERANCES = (1e-2, 1e-4, 1e-6, 1e-8)  # the adaptive curve: dopri5 at these rtol (atol = rtol / 100)
GALLERY = os.environ.get("FEM_NN_GALLERY", "") not in ("", "0")  # set by docs/conf.py


# %%
# The data: pendulum trajectories
# -------------------------------
# Pairs of states ``x(t)``, ``x(t + Δt)`` of the pendulum ``θ'' = −sin θ``, solved by scipy at
# a tolerance far below every error measured here.


def pendulum(_, x):
    return [x[1], -np.sin(x[0])]


def make_pairs(n_trajectories: int, dt: float, length: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """States x(t) and x(t + dt) along pendulum trajectories, solved at tight tolerance."""
    rng = np.random.default_rng(seed)
    starts, ends = [], []
    for _ in range(n_trajectories):
        x0 = [rng.uniform(-2.0, 2.0), rng.uniform(-1.0, 1.0)]
        times = dt * np.arange(length + 1)
        path = solve_ivp(pendulum, (0, times[-1]), x0, t_eval=times, rtol=1e-12, atol=1e-12, method="DOP853").y.T
        starts.append(path[:-1])
        ends.append(path[1:])
    return torch.tensor(np.concatenate(starts)), torch.tensor(np.concatenate(ends))


# %%
# The vector field and its flow
# -----------------------------
# :func:`fem_nn.integrate` takes any right-hand side ``f(t, h)`` (here a plain torch MLP) and
# any explicit Runge–Kutta scheme; gradients flow through the steps. Training fits one step
# of the trained-in scheme over ``Δt``.


def vector_field(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2)
    ).double()


def flow(model: torch.nn.Module, x: torch.Tensor, dt: float, scheme: str, substeps: int) -> torch.Tensor:
    return integrate(lambda t, h: model(h), x, 0.0, dt, substeps, scheme)


def train(scheme: str, x: torch.Tensor, y: torch.Tensor, dt: float, epochs: int, seed: int = 0) -> torch.nn.Module:
    model = vector_field(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    for _ in range(epochs):
        loss = (flow(model, x, dt, scheme, 1) - y).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return model


@torch.no_grad()
def error(model, x, y, dt, scheme, substeps) -> float:
    """Relative one-interval error against the exact pendulum flow."""
    return float(torch.linalg.vector_norm(flow(model, x, dt, scheme, substeps) - y) / torch.linalg.vector_norm(y - x))


@torch.no_grad()
def adaptive_curve(model, x, y, dt) -> tuple[list, list]:
    """Steps taken and relative error of dopri5 solves of the field at each tolerance: the
    continuum answer of the trained field, whatever its training scheme."""
    steps, errors = [], []
    for rtol in TOLERANCES:
        end, info = integrate_adaptive(lambda t, h: model(h), x, [0.0, dt], Adaptive("dopri5", rtol, rtol / 100),
                                       return_info=True)
        steps.append(info.accepted + info.rejected)
        errors.append(float(torch.linalg.vector_norm(end[-1] - y) / torch.linalg.vector_norm(y - x)))
    return steps, errors


# %%
# The convergence test
# --------------------
# Each trained field is integrated over the same ``Δt`` with ``n`` substeps by every scheme,
# and compared with the exact flow and with its own converged flow (rk4, 256 substeps); the
# adaptive curve solves it by dopri5 at decreasing tolerances (:func:`fem_nn.integrate_adaptive`).


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])  # no __doc__ in the gallery
    parser.add_argument("--epochs", type=int, default=800 if GALLERY else 1500)
    parser.add_argument("--dt", type=float, default=0.5, help="training step Δt (default 0.5)")
    parser.add_argument("--out", default="", help="figure path (default: none)")
    args = parser.parse_args(argv)

    x_train, y_train = make_pairs(16, args.dt, 20, seed=0)
    x_test, y_test = make_pairs(8, args.dt, 20, seed=1)
    models = {scheme: train(scheme, x_train, y_train, args.dt, args.epochs) for scheme in SCHEMES}

    table = {}
    print(f"relative test error over one Δt = {args.dt}, integrated with n substeps")
    print(f"{'trained in':<11}{'run with':<10}" + "".join(f"{'n=' + str(n):>10}" for n in SUBSTEPS))
    for trained, model in models.items():
        for scheme in SCHEMES:
            table[(trained, scheme)] = [error(model, x_test, y_test, args.dt, scheme, n) for n in SUBSTEPS]
            print(f"{trained:<11}{scheme:<10}" + "".join(f"{e:10.2e}" for e in table[(trained, scheme)]))
    print("\nconvergence to each field's own flow (rk4, 256 substeps): distance and fitted order")
    for trained, model in models.items():
        with torch.no_grad():
            limit = flow(model, x_test, args.dt, "rk4", 256)
            for scheme in SCHEMES:
                gaps = np.array([float(torch.linalg.vector_norm(flow(model, x_test, args.dt, scheme, n) - limit)) for n in SUBSTEPS])
                usable = gaps > 1e-13 * float(torch.linalg.vector_norm(limit))
                order = -np.polyfit(np.log(np.array(SUBSTEPS)[usable][-3:]), np.log(gaps[usable][-3:]), 1)[0]
                print(f"{trained:<11}{scheme:<10}" + "".join(f"{g:10.2e}" for g in gaps) + f"   order {order:.2f}")
    print("\nadaptive dopri5, rtol " + " ".join(f"{r:.0e}" for r in TOLERANCES) + ": steps taken / relative error")
    for trained, model in models.items():
        table[(trained, "adaptive")] = adaptive_curve(model, x_test, y_test, args.dt)
        steps, errors = table[(trained, "adaptive")]
        print(f"{trained:<11}" + "".join(f"{n:>5d} /{e:9.2e}" for n, e in zip(steps, errors)))
    own = {s: table[(s, s)] for s in SCHEMES}
    print(f"\neuler-trained: error at n=1 {own['euler'][0]:.2e} vs refined n={SUBSTEPS[-1]} {own['euler'][-1]:.2e}"
          f" ({own['euler'][-1] / own['euler'][0]:.1f}x worse: it overfit its step)")
    print(f"rk4-trained:   error at n=1 {own['rk4'][0]:.2e} vs refined n={SUBSTEPS[-1]} {own['rk4'][-1]:.2e}"
          f" (converged: a vector field usable by any scheme)")

    if args.out or GALLERY:  # the gallery shows the open figure
        plt = pyplot()
        figure, axes = plt.subplots(1, len(SCHEMES), figsize=(12, 3.6), sharey=True)
        for ax, trained in zip(axes, SCHEMES):
            for scheme in SCHEMES:
                ax.loglog(SUBSTEPS, table[(trained, scheme)], "o-", label=f"run with {scheme}")
            ax.loglog(*table[(trained, "adaptive")], "ks--", label="adaptive dopri5 (steps taken)")
            ax.set_title(f"trained inside {trained}")
            ax.set_xlabel("substeps n (adaptive: steps) of the training Δt")
            ax.grid(True, which="both", alpha=0.3)
        axes[0].set_ylabel("relative error")
        axes[0].legend()
        figure.tight_layout()
        if args.out:
            save_figure(figure, args.out)
    return table


# %%
# Run
# ---
# The Euler-trained field's error is smallest at the training step and grows under
# refinement; the rk4-trained field's error is flat in ``n``, whichever scheme integrates it.

if __name__ == "__main__":
    main()
