"""The ``fem-nn demo``: a continuum network trained on the bundled digits and re-manifested
with other schemes and step counts, after the projection of a smooth weight field across
h-refinements, p-elevations and coarsenings of the bundled default mesh."""

from __future__ import annotations

import math

import numpy as np

from . import _checks, limits
from .field import Field, l2_distance
from .io import bundled_mesh


def smooth_weight(xi, eta, delta):
    """A smooth weight field W(ξ, η, δ) on [-1, 1]² × [0, 1]."""
    return np.sin(np.pi * xi) * np.cos(0.5 * np.pi * eta) * np.exp(delta) + 0.25 * xi * eta


def _row(label: str, mesh, error: float, previous: tuple[float, float] | None, by: str) -> str:
    rate = ""
    if previous is not None:
        prev_error, prev_size = previous
        if by == "h":
            rate = f"{math.log(prev_error / error) / math.log(2):8.2f}"
        else:
            rate = f"{prev_error / error:8.1f}x"
    return f"{label:<28} {mesh.n_dofs:>9d} {error:12.3e} {rate:>9}"


def run_demo(levels: int = 2, epochs: int = 100, progress: bool = True) -> None:
    """Print the projection tables, then train on digits and print the re-manifestations."""
    _checks.integer(epochs, "epochs", 1)
    projection_demo(levels)
    print()
    network_demo(epochs, progress)


def network_demo(epochs: int = 100, progress: bool = True) -> None:
    """Train a continuum network on digits (rk4, 4 steps) and print its test accuracy
    re-manifested with other schemes × steps: the learned fields are a dynamical system."""
    from .tasks import accuracy, digits_network, digits_task
    from .trainer import train_classifier

    task = digits_task()
    network = digits_network()
    print(
        f"continuum network on digits: {len(task.x_train)} train / {len(task.x_test)} test images as "
        f"64-sample signals, {len(network.nodes)} width nodes, "
        f"{sum(p.numel() for p in network.parameters())} coefficients, rk4 × {network.steps} steps"
    )
    history = train_classifier(network, task, epochs=epochs, progress=progress)
    print(f"trained: loss {history[-1]['loss']:.4f}, test accuracy {history[-1]['test_accuracy']:.2%}\n")
    steps = (1, 2, 4, 8, 16, 32)
    print("test accuracy re-manifested (same fields, other scheme and steps):")
    print(f"{'scheme':<10}" + "".join(f"{n:>8}" for n in steps))
    for scheme in ("euler", "midpoint", "rk4", "rk4_38"):
        row = [accuracy(network.remanifested(scheme, n), task.x_test, task.y_test) for n in steps]
        print(f"{scheme:<10}" + "".join(f"{a:8.2%}" for a in row))


def _check_levels(mesh, levels) -> None:
    """`levels` a natural number whose finest meshes' error quadrature grids (max order + 4
    Gauss points a cell) fit the memory limit, before any table is printed."""
    levels = _checks.integer(levels, "levels", 0)
    refined = [axis.n_cells * 2**levels * (axis.max_order + 4) for axis in mesh.axes]
    elevated = [axis.n_cells * (axis.max_order + levels + 1 + 4) for axis in mesh.axes]
    for points, what in ((refined, "refined"), (elevated, "elevated")):
        limits.check_bytes(limits.grid_bytes(points), f"levels = {levels}: the quadrature grid of the finest {what} mesh")


def projection_demo(levels: int = 2) -> None:
    """Print the projection tables (h-refinement, p-elevation, coarsening back)."""
    mesh = bundled_mesh("default")
    _check_levels(mesh, levels)
    print("fem_nn demo: L2 projection of W(ξ,η,δ) = sin(πξ)·cos(πη/2)·e^δ + ξη/4")
    print(f"default mesh {mesh.shape} dofs per axis:\n{mesh!r}\n")
    header = f"{'mesh':<28} {'dofs':>9} {'L2 error':>12} {'rate':>9}"

    print("h-refinement (bisect every cell of every axis); rate = log2(e_prev / e),")
    print("bounded by the lowest order of any axis plus one (here depth P1: rate 2)")
    print(header)
    previous, fields = None, []
    for level in range(levels + 1):
        refined = mesh
        for _ in range(level):
            refined = refined.refined()
        field = Field.from_function(refined, smooth_weight)
        error = field.l2_error(smooth_weight)
        print(_row(f"refined x{level}", refined, error, previous, "h"))
        previous = (error, refined.n_dofs)
        fields.append(field)

    print("\np-elevation (raise the order of every axis); gain = e_prev / e")
    print(header)
    previous = None
    for level in range(levels + 2):
        elevated = mesh.elevated(by=level) if level else mesh
        error = Field.from_function(elevated, smooth_weight).l2_error(smooth_weight)
        print(_row(f"elevated +{level}", elevated, error, previous, "p"))
        previous = (error, elevated.n_dofs)

    print("\ncoarsening back from the finest projection, level by level")
    print("(coarsened: the L2 error of the coarsened field, equal to the direct projection's;")
    print(" round trip: ‖coarsen(refine(u)) − u‖ / ‖u‖ for the coarse projection u, at round-off)")
    print(f"{'mesh':<28} {'dofs':>9} {'L2 error':>12} {'round trip':>12}")
    field = fields[-1]
    for level in range(levels - 1, -1, -1):
        field = field.project(field.mesh.coarsened())
        coarse = fields[level]
        round_trip = l2_distance(coarse.project(fields[level + 1].mesh).project(coarse.mesh), coarse)
        print(
            f"{'coarsened to x' + str(level):<28} {field.mesh.n_dofs:>9d} "
            f"{field.l2_error(smooth_weight):12.3e} {round_trip / coarse.norm():12.1e}"
        )
