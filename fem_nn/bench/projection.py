"""3D L2 transfer coarse -> fine: time, dofs/s, error, speed-up over scikit-fem.

A field on a coarse mesh of [-1, 1]² × [0, 1] is L2-projected onto the mesh refined once in
every axis, for fine meshes from ~1e4 to ~1e7 dofs. fem_nn's time includes the assembly of
the one-axis matrices and the solves (``Projector(...)(u)``). The baseline, in the same
process, is scikit-fem assembling the fine mass matrix and the load of the coarse field on a
hex mesh (quadrature just exact for the mass matrix) and solving by CG with a Jacobi
preconditioner.
"""

from __future__ import annotations

import time

import numpy as np

from ..field import Field
from ..mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Mesh, uniform_axis
from ..projection import Projector

CASES = (("lagrange", 1), ("lagrange", 2), ("legendre", 3))
SKFEM_ELEMENTS = {("lagrange", 1): "ElementHex1", ("lagrange", 2): "ElementHex2"}


def add_arguments(parser) -> None:
    parser.add_argument("--max-dofs", type=float, default=1e7, help="largest fine mesh, in dofs (default 1e7)")
    parser.add_argument("--min-dofs", type=float, default=1e4, help="smallest fine mesh, in dofs (default 1e4)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats, best kept (default 3)")
    parser.add_argument(
        "--skfem-max-dofs", type=float, default=4e5, help="largest size scikit-fem is run at (default 4e5)"
    )


def smooth(xi, eta, delta):
    return np.sin(np.pi * xi) * np.cos(0.5 * np.pi * eta) * np.exp(delta)


def coarse_mesh(family: str, order: int, fine_dofs: float) -> Mesh:
    """The coarse mesh whose once-refined mesh has about `fine_dofs` dofs."""
    per_axis = fine_dofs ** (1 / 3)
    fine_cells = (per_axis - 1) / order if family == "lagrange" else per_axis / (order + 1)
    cells = max(1, int(round(fine_cells / 2)))
    return Mesh([uniform_axis(interval, cells, family, order) for interval in (WIDTH_INTERVAL, WIDTH_INTERVAL, DEPTH_INTERVAL)])


def pointwise_error(source: Field, projected: Field, n_points: int = 2000) -> float:
    """max |source − projected| / max |source| at random points: an exactness check that is
    independent of the projection's own machinery."""
    points = np.random.default_rng(0).uniform([-1, -1, 0], [1, 1, 1], (n_points, 3))
    reference = source.evaluate(points)
    return float(np.max(np.abs(projected.evaluate(points) - reference)) / np.max(np.abs(reference)))


def best_time(function, repeat: int) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def skfem_time(fine: Mesh, source: Field, element_name: str, repeat: int) -> float:
    """scikit-fem's assemble (mass + load) and Jacobi-preconditioned CG solve on `fine`."""
    import skfem

    mesh = skfem.MeshHex.init_tensor(*(axis.breakpoints for axis in fine.axes))
    element = getattr(skfem, element_name)()
    order = 1 if element_name.endswith("1") else 2
    basis = skfem.Basis(mesh, element, intorder=2 * order)
    points = np.asarray(basis.global_coordinates())  # (3, elements, quadrature points)
    values = source.evaluate(points.reshape(3, -1).T).reshape(points.shape[1:])

    @skfem.BilinearForm
    def mass(u, v, _):
        return u * v

    @skfem.LinearForm
    def load(v, w):
        return w["f"] * v

    def assemble_and_solve():
        matrix = mass.assemble(basis)
        rhs = load.assemble(basis, f=values)
        solver = skfem.solver_iter_pcg(M=skfem.build_pc_diag(matrix), rtol=1e-12)
        return skfem.solve(matrix, rhs, solver=solver)

    seconds, _ = best_time(assemble_and_solve, max(1, repeat - 1))
    return seconds


def _sizes(low: float, high: float) -> np.ndarray:
    count = int(np.floor(np.log10(high / low) * 2)) + 1
    return low * np.sqrt(10.0) ** np.arange(count)


def run(args) -> dict:
    try:
        import skfem  # noqa: F401

        have_skfem = True
    except ImportError:
        have_skfem = False
        print("scikit-fem is not installed: the baseline column is skipped (pip install scikit-fem)")

    # compile the numba kernels outside the timings
    warm = coarse_mesh("lagrange", 1, 1e3)
    Field.from_function(warm, smooth, method="interpolate").project(warm.refined())

    header = f"{'family':<10} {'p':>2} {'fine dofs':>10} {'time [s]':>10} {'apply [s]':>10} {'dofs/s':>10} {'nested err':>11} {'skfem [s]':>10} {'speed-up':>9}"
    print(header)
    print("-" * len(header))
    slopes, slopes_large, nested_errors, speedups = {}, {}, [], {}
    for family, order in CASES:
        dofs, times = [], []
        for target in _sizes(args.min_dofs, args.max_dofs):
            coarse = coarse_mesh(family, order, target)
            fine = coarse.refined()
            source = Field.from_function(coarse, smooth, method="interpolate")
            seconds, projected = best_time(lambda: Projector(fine, coarse)(source.coefficients), args.repeat)
            projector = Projector(fine, coarse)
            apply_seconds, _ = best_time(lambda: projector(source.coefficients), args.repeat)
            error = pointwise_error(source, Field(fine, projected))
            nested_errors.append(error)
            dofs.append(fine.n_dofs)
            times.append(seconds)
            baseline = ""
            element = SKFEM_ELEMENTS.get((family, order))
            if have_skfem and element and fine.n_dofs <= args.skfem_max_dofs:
                reference = skfem_time(fine, source, element, args.repeat)
                speedups[(family, order)] = (fine.n_dofs, reference / seconds)
                baseline = f"{reference:10.3f} {reference / seconds:9.0f}"
            print(
                f"{family:<10} {order:>2} {fine.n_dofs:>10d} {seconds:10.4f} {apply_seconds:10.4f} "
                f"{fine.n_dofs / seconds:10.2e} {error:11.1e} {baseline}"
            )
        slopes[(family, order)] = float(np.polyfit(np.log(dofs), np.log(times), 1)[0])
        large = np.array(dofs) >= 1e6
        if large.sum() >= 2:  # without the fixed overhead that flattens the small sizes
            slopes_large[(family, order)] = float(np.polyfit(np.log(np.array(dofs)[large]), np.log(np.array(times)[large]), 1)[0])

    print()
    for (family, order), slope in slopes.items():
        large = f", over sizes >= 1e6: {slopes_large[(family, order)]:.3f}" if (family, order) in slopes_large else ""
        print(f"log-log slope of time vs dofs, {family} p={order}: {slope:.3f}{large}")
    figures = {
        "speedup_vs_skfem": None,
        "speedup_vs_skfem_dofs": None,
        "loglog_slope": max(slopes.values()),
        "loglog_slope_large": max(slopes_large.values()) if slopes_large else None,
        "max_nested_error": float(max(nested_errors)),
    }
    if ("lagrange", 1) in speedups:
        at, ratio = speedups[("lagrange", 1)]
        figures.update(speedup_vs_skfem=float(ratio), speedup_vs_skfem_dofs=int(at))
        print(f"speed-up over scikit-fem at {at} dofs (Lagrange p=1): {ratio:.0f}x  (target >= 100)")
    print(f"loglog_slope: {figures['loglog_slope']:.3f}  (target <= 1.1)")
    print(f"max_nested_error: {figures['max_nested_error']:.1e}  (target <= 1e-12)")
    return figures
