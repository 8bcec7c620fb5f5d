"""3D L2 transfer coarse -> fine: time, dofs/s, nested error, speed-up over scikit-fem.

A smooth function interpolated on a coarse mesh of [-1, 1]² × [0, 1] is L2-projected onto
the mesh refined by 2 in every axis, for fine meshes of ~1e4 to ~1e7 dofs in half-decade
steps, in continuous Lagrange order 1 and 2 and Legendre order 3. fem_nn's time builds the
:class:`~fem_nn.Projector` (one-axis assembly and banded Cholesky factors) and applies it;
the apply alone is reported too. The meshes are nested, so the projected field must equal the
coarse one: ``l2_distance`` between them is at round-off, and so is an independent pointwise
check at random points. The error against the smooth function is shown for information.

The baseline, in the same process, is scikit-fem on the fine hex mesh (ElementHex1 / Hex2,
quadrature just exact for the mass matrix): assembling the mass matrix and the load of the
coarse field, then CG with a Jacobi preconditioner to 1e-12 relative. Its basis and the
coarse field's values at its quadrature points are computed beforehand, untimed. Its solution
is compared with fem_nn's, dof by dof, to show that both solve the same problem.
"""

from __future__ import annotations

import time

import numpy as np
from threadpoolctl import threadpool_limits

from ..field import Field, l2_distance
from ..mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Mesh, uniform_axis
from ..projection import Projector

CASES = (("lagrange", 1), ("lagrange", 2), ("legendre", 3))
SKFEM_ELEMENTS = {("lagrange", 1): "ElementHex1", ("lagrange", 2): "ElementHex2"}
BOX = (WIDTH_INTERVAL, WIDTH_INTERVAL, DEPTH_INTERVAL)
# a scikit-fem run this long stops the baseline for the larger sizes of its case (each is
# about 3x larger), which keeps the baseline's total well under two minutes
SKFEM_STOP_SECONDS = 10.0
# the slope without the fixed (size-independent) cost that flattens the small sizes
LARGE_DOFS = 1e6
# the speed-up target holds at this size or above
TARGET_DOFS = 2.5e5


def add_arguments(parser) -> None:
    parser.add_argument("--max-dofs", type=float, default=1e7, help="largest fine mesh, in dofs (default 1e7)")
    parser.add_argument("--min-dofs", type=float, default=1e4, help="smallest fine mesh, in dofs (default 1e4)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats, best kept (default 5)")
    parser.add_argument(
        "--skfem-max-dofs", type=float, default=4e5, help="largest fine mesh scikit-fem is run on (default 4e5)"
    )


def smooth(xi, eta, delta):
    """The function interpolated on the coarse mesh; no mesh here represents it exactly."""
    return np.sin(np.pi * xi) * np.cos(0.5 * np.pi * eta) * np.exp(delta)


def target_sizes(low: float, high: float) -> np.ndarray:
    """Fine-mesh sizes from `low` to `high` dofs, half a decade apart."""
    count = int(np.floor(2 * np.log10(high / low) + 1e-9)) + 1
    return low * np.sqrt(10.0) ** np.arange(max(count, 1))


def coarse_mesh(family: str, order: int, fine_dofs: float) -> Mesh:
    """The coarse mesh (equal cell counts on the three axes) whose refinement by 2 has about
    `fine_dofs` dofs."""
    per_axis = fine_dofs ** (1 / 3)
    fine_cells = (per_axis - 1) / order if family == "lagrange" else per_axis / (order + 1)
    cells = max(1, round(fine_cells / 2))
    return Mesh([uniform_axis(interval, cells, family, order) for interval in BOX])


def best_time(function, repeat: int) -> tuple[float, object]:
    """The least wall time of `repeat` calls, and the last call's result."""
    best, result = np.inf, None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def single_threaded_blas():
    """A context with OpenBLAS on one thread.

    After a threaded BLAS call (``np.vdot`` of the error checks, scikit-fem's CG) OpenBLAS's
    idle workers spin for a while and take the cores from numba's parallel kernels: a
    projection of 1e5 dofs then takes 6-45 ms instead of 2.7 ms. The projection calls no
    threaded BLAS, and scikit-fem's time is the same either way (its sparse products are
    single-threaded), so this only keeps the work between timings out of them.
    """
    return threadpool_limits(limits=1, user_api="blas")


def time_transfer(fine: Mesh, coarse: Mesh, coefficients: np.ndarray, repeat: int):
    """Best times of building the projector plus applying it, and of the apply alone.

    Both come from the same calls, so that they see the same state of the machine (fresh
    memory, other load) and the apply never exceeds build + apply.

    Returns
    -------
    seconds, apply_seconds : float
    projected : ndarray
        The projected coefficients.
    """
    seconds = apply_seconds = np.inf
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        projector = Projector(fine, coarse)
        built = time.perf_counter()
        projected = projector(coefficients)
        done = time.perf_counter()
        seconds, apply_seconds = min(seconds, done - start), min(apply_seconds, done - built)
    return seconds, apply_seconds, projected


def pointwise_error(source: Field, projected: Field, n_points: int = 2000) -> float:
    """max |projected − source| / max |source| at random points, by evaluation alone: a
    check independent of the projections inside :func:`~fem_nn.l2_distance`."""
    points = np.random.default_rng(0).uniform(*np.transpose(BOX), (n_points, 3))
    reference = source.evaluate(points)
    return float(np.max(np.abs(projected.evaluate(points) - reference)) / np.max(np.abs(reference)))


def measure(family: str, order: int, target: float, repeat: int) -> dict:
    """Time the coarse -> fine transfer at about `target` fine dofs, and check it."""
    coarse = coarse_mesh(family, order, target)
    fine = coarse.refined()
    source = Field.from_function(coarse, smooth, method="interpolate")
    seconds, apply_seconds, coefficients = time_transfer(fine, coarse, source.coefficients, repeat)
    projected = Field(fine, coefficients)
    return {
        "source": source,
        "projected": projected,
        "dofs": fine.n_dofs,
        "seconds": seconds,
        "apply_seconds": apply_seconds,
        # for Legendre the supermesh space of l2_distance is the fine space itself: both fields
        # reach it by the same projection, and the distance is exactly 0
        "nested_error": l2_distance(projected, source),
        "pointwise_error": pointwise_error(source, projected),
        # order + 1 Gauss points per cell: enough for information, affordable at 1e7 dofs
        "exact_error": projected.l2_error(smooth, quadrature_points=order + 1),
    }


def skfem_baseline(projected: Field, source: Field, element_name: str, repeat: int) -> tuple[float, float]:
    """scikit-fem's assemble (mass matrix + load of `source`) and Jacobi-PCG solve on the fine
    mesh of `projected`.

    Returns
    -------
    seconds : float
        Best time of the assembly and solve.
    difference : float
        max |u_skfem − u_fem_nn| / max |u_fem_nn| over the dofs, matched by coordinates.
    """
    import skfem
    from scipy.spatial import cKDTree

    fine = projected.mesh
    mesh = skfem.MeshHex.init_tensor(*(axis.breakpoints for axis in fine.axes))
    order = fine.axes[0].order
    basis = skfem.Basis(mesh, getattr(skfem, element_name)(), intorder=2 * order)
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
        solver = skfem.solver_iter_pcg(M=skfem.build_pc_diag(matrix), rtol=1e-12, atol=0.0)
        return skfem.solve(matrix, rhs, solver=solver)

    seconds, solution = best_time(assemble_and_solve, min(repeat, 2))
    grid = np.meshgrid(*(axis.interpolation_points() for axis in fine.axes), indexing="ij")
    _, ours = cKDTree(np.stack([g.ravel() for g in grid], axis=1)).query(basis.doflocs.T)
    reference = projected.coefficients.ravel()[ours]
    return seconds, float(np.max(np.abs(solution - reference)) / np.max(np.abs(reference)))


def loglog_slope(dofs, seconds, minimum_dofs: float = 0.0) -> float | None:
    """Least-squares slope of log time against log dofs over the sizes >= `minimum_dofs`
    (None with fewer than two)."""
    dofs, seconds = np.asarray(dofs, dtype=float), np.asarray(seconds)
    keep = dofs >= minimum_dofs
    if keep.sum() < 2:
        return None
    return float(np.polyfit(np.log(dofs[keep]), np.log(seconds[keep]), 1)[0])


def have_skfem() -> bool:
    """Whether scikit-fem imports; a note when it does not."""
    try:
        import skfem  # noqa: F401
    except ImportError:
        print("scikit-fem is not installed: the baseline columns are left empty (pip install scikit-fem)")
        return False
    return True


HEADER = (
    f"{'family':<9} {'p':>1} {'fine dofs':>9} {'time [s]':>9} {'apply [s]':>9} {'dofs/s':>8} "
    f"{'nested L2':>9} {'pointwise':>9} {'L2 vs f':>8} {'skfem [s]':>9} {'speed-up':>8} {'skfem diff':>10}"
)


def row(family: str, order: int, m: dict, baseline: tuple[float, float] | None) -> str:
    """One line of the table: a :func:`measure` and its scikit-fem `baseline`, if run."""
    text = (
        f"{family:<9} {order:>1} {m['dofs']:>9d} {m['seconds']:9.4f} {m['apply_seconds']:9.4f} "
        f"{m['dofs'] / m['seconds']:8.1e} {m['nested_error']:9.1e} {m['pointwise_error']:9.1e} "
        f"{m['exact_error']:8.1e}"
    )
    if baseline is not None:
        seconds, difference = baseline
        text += f" {seconds:9.3f} {seconds / m['seconds']:8.0f} {difference:10.1e}"
    return text


def check_arguments(args) -> None:
    """Raise ValueError for sizes or repeats that cannot be run."""
    if not 0 < args.min_dofs <= args.max_dofs:
        raise ValueError(f"need 0 < --min-dofs <= --max-dofs, got {args.min_dofs:g} and {args.max_dofs:g}")
    if args.repeat < 1:
        raise ValueError(f"--repeat must be >= 1, got {args.repeat}")


def run(args) -> dict:
    check_arguments(args)
    skfem_available = have_skfem()
    with single_threaded_blas():
        for family, order in CASES:  # compile the numba kernels outside the timings
            measure(family, order, 1e3, 1)
        return benchmark(args, skfem_available)


def benchmark(args, skfem_available: bool) -> dict:
    """Run every case and size, print the table and return the figures."""
    print(HEADER)
    print("-" * len(HEADER))
    slopes, slopes_large, nested, pointwise, speedups, differences = {}, {}, [], [], {}, []
    skfem_seconds = 0.0  # the baseline's whole wall time, setup and repeats included
    for case in CASES:
        dofs, seconds = [], []
        element = SKFEM_ELEMENTS.get(case) if skfem_available else None
        for target in target_sizes(args.min_dofs, args.max_dofs):
            m = measure(*case, target, args.repeat)
            dofs.append(m["dofs"])
            seconds.append(m["seconds"])
            nested.append(m["nested_error"])
            pointwise.append(m["pointwise_error"])
            baseline = None
            if element and m["dofs"] <= args.skfem_max_dofs:
                start = time.perf_counter()
                baseline = skfem_baseline(m["projected"], m["source"], element, args.repeat)
                skfem_seconds += time.perf_counter() - start
                speedups[case] = (m["dofs"], baseline[0] / m["seconds"])
                differences.append(baseline[1])
                if baseline[0] > SKFEM_STOP_SECONDS:
                    element = None
            print(row(*case, m, baseline), flush=True)
        slopes[case] = loglog_slope(dofs, seconds)
        slopes_large[case] = loglog_slope(dofs, seconds, LARGE_DOFS)
    return summary(slopes, slopes_large, nested, pointwise, speedups, differences, skfem_seconds)


def _largest(values) -> float | None:
    """The largest of the values that are not None (None if there is none)."""
    known = [v for v in values if v is not None]
    return float(max(known)) if known else None


def summary(slopes, slopes_large, nested, pointwise, speedups, differences, skfem_seconds) -> dict:
    """Print the per-case slopes and speed-ups and return the figures (None where a figure
    needs more sizes, or the baseline, than were run)."""
    print()
    for (family, order), slope in slopes.items():
        large = slopes_large[(family, order)]
        text = "needs two sizes" if slope is None else f"{slope:.3f}"
        if large is not None:
            text += f", over sizes >= {LARGE_DOFS:.0e}: {large:.3f}"
        print(f"log-log slope of time vs dofs, {family} p={order}: {text}")
    for (family, order), (at, ratio) in speedups.items():
        print(f"speed-up over scikit-fem, {family} p={order} at {at} dofs: {ratio:.0f}x")
    figures = {
        "speedup_vs_skfem": None,
        "speedup_vs_skfem_dofs": None,
        "speedup_vs_skfem_p2": None,
        "loglog_slope": _largest(slopes.values()),
        "loglog_slope_large": _largest(slopes_large.values()),
        "max_nested_error": float(max(nested)),
        "max_nested_pointwise_error": float(max(pointwise)),
        "max_skfem_difference": _largest(differences),
        "skfem_wall_seconds": skfem_seconds,
    }
    if ("lagrange", 1) in speedups:
        at, ratio = speedups[("lagrange", 1)]
        figures.update(speedup_vs_skfem=float(ratio), speedup_vs_skfem_dofs=int(at))
        below = "" if at >= TARGET_DOFS else f"; below the {TARGET_DOFS:.1e} dofs the target is for"
        print(f"speedup_vs_skfem: {ratio:.0f}x at {at} dofs, Lagrange p=1  (target >= 100{below})")
    if ("lagrange", 2) in speedups:
        figures["speedup_vs_skfem_p2"] = float(speedups[("lagrange", 2)][1])
    if figures["loglog_slope"] is not None:
        print(f"loglog_slope: {figures['loglog_slope']:.3f}  (target <= 1.1)")
    print(f"max_nested_error: {figures['max_nested_error']:.1e}  (target <= 1e-12)")
    return figures
