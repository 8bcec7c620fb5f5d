"""Property tests (hypothesis) of meshes, assembly, projection and fields.

Every test draws random tensor meshes — 1, 2 or 3 axes, each on a random interval, with a
random number of cells of random widths (positive weights normalised, so no cell is thinner
than about 1/(4 n) of its axis), a random family among those :class:`~fem_nn.Family` supports
and random per-cell orders that respect the family's limits (``p0``: 0; ``legendre``: 0..4;
both Lagrange families: 1..4) — with at most 400 dofs, and random coefficient arrays
(uniform in [-1, 1], from a drawn seed). The properties, each its own test (2. is two):

1. nested projection is exact: a field projected onto a space that contains it (the mesh
   refined on random cells by a random k, elevated on random cells, its family widened)
   evaluates to the same values at random points, and projects back to its own coefficients;
2. coarsen ∘ refine and lower ∘ elevate are the identity on coefficients (and on meshes);
3. projection conserves the integral (every target family contains the constants), checked
   against the library's exact integral and an independent dense Gauss quadrature;
4. projection is linear, and a batch is projected fibre by fibre;
5. projection is idempotent and L2-orthogonal, for nested and non-nested (supermesh) pairs:
   P(P u) = P u, the same function given on a third, richer mesh projects to the same
   coefficients, and the residual u − P u is orthogonal to every target basis function both
   by the mixed mass matrix and by an independent dense Gauss quadrature on the supermesh;
6. mass matrices are symmetric positive definite, and uᵀ M u = ∫ u² by dense quadrature;
7. nodal (Lagrange) fields evaluate to their coefficients at the nodes;
8. ``Field.from_function`` (L2 and interpolation) reproduces polynomials of degree ≤ order;
9. a network on P0 fields whose depth cells are unions of steps (breakpoints computed as
   ``j / S``, not as the integrator's ``linspace``, then random cells refined by a random k)
   is, under every scheme and any number of sub-steps per step, the scheme applied layer by
   layer to the autonomous residual blocks (a numpy reference), to 1e-12.

Round-off is asserted at 1e-12 relative to the magnitude of the data involved; each test
reports its worst error ratio with ``hypothesis.target`` (see ``--hypothesis-show-statistics``)
and so also steers the search towards it.

The number of examples is fixed (the per-test ``max_examples`` below add up to 9 × 200 + 100
= 1900) and the run is deterministic: ``derandomize=True``, no example database, no deadline.
The settings are attached to each test here; no global hypothesis profile is loaded, so the
rest of the suite is unaffected. The numba kernels run on one thread in this module (the
meshes are small, and the thread pool's overhead dominated the run time on a loaded machine).
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, event, given, settings, strategies as st, target

from fem_nn import (
    Axis,
    Family,
    Field,
    Mesh,
    Projector,
    bias_mesh,
    mass_factors,
    mass_matrix,
    mixed_mass_matrix,
    reference_nodes,
    supermesh_axis,
    tabulate,
    tableau,
    weight_mesh,
)
from fem_nn.mesh import WIDTH_INTERVAL
from fem_nn.continuum import ContinuumNetwork

from strategies import MAX_DERIVED_DOFS, axes, cell_selections, enlarged, mesh_pairs, meshes

RTOL = 1e-12

BASE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def examples(n: int) -> settings:
    return settings(BASE, max_examples=n)


@pytest.fixture(scope="module", autouse=True)
def one_numba_thread():
    """The meshes here are small: numba's thread pool costs more than it saves (several ms a
    call on a loaded machine), so the kernels run on one thread, restored afterwards."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)


# --- strategies ----------------------------------------------------------------------------


seeds = st.integers(0, 2**32 - 1)


def random_coefficients(seed: int, shape, count: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, shape if count is None else (count,) + tuple(shape))


def random_points(seed: int, mesh: Mesh, n: int = 40, snap: float = 0.2) -> np.ndarray:
    """Uniform points in the box; a fraction of the coordinates moved onto a breakpoint of
    their axis (ends included)."""
    rng = np.random.default_rng(seed)
    columns = []
    for axis in mesh.axes:
        a, b = axis.interval
        x = rng.uniform(a, b, n)
        on_breakpoint = rng.random(n) < snap
        x[on_breakpoint] = rng.choice(axis.breakpoints, on_breakpoint.sum())
        columns.append(x)
    return np.column_stack(columns)


# --- independent dense quadrature ----------------------------------------------------------


def dense_rule(breakpoints: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` Gauss–Legendre points per cell from numpy (not the library's rules)."""
    x, w = np.polynomial.legendre.leggauss(n)
    left, right = breakpoints[:-1, None], breakpoints[1:, None]
    half = 0.5 * (right - left)
    return (left + half * (x + 1.0)).ravel(), (half * w).ravel()


def common_breakpoints(*axes_: Axis) -> np.ndarray:
    """The union of the axes' breakpoints, without sliver cells."""
    merged = np.unique(np.concatenate([a.breakpoints for a in axes_]))
    a, b = merged[0], merged[-1]
    keep = np.concatenate(([True], np.diff(merged) > 1e-12 * (b - a)))
    merged = merged[keep]
    merged[-1] = b
    return merged


def contract(matrices, u: np.ndarray) -> np.ndarray:
    """(A_0 ⊗ A_1 ⊗ …) u on a coefficient tensor, by dense tensordots."""
    for k, matrix in enumerate(matrices):
        u = np.moveaxis(np.tensordot(matrix, u, axes=(1, k)), 0, k)
    return u


def evaluation(axis: Axis, x: np.ndarray, side: str = "right") -> np.ndarray:
    return axis.evaluation_matrix(x, side=side).toarray()


class Errors:
    """Round-off checks of one example: each asserts ``max |actual − expected| <= RTOL ·
    scale``; :meth:`report` hands the worst ratio per label to ``hypothesis.target``."""

    def __init__(self):
        self.worst: dict[str, float] = {}

    def check(self, actual, expected, scale: float, label: str) -> None:
        error = float(np.max(np.abs(np.asarray(actual) - np.asarray(expected)), initial=0.0))
        scale = max(float(scale), np.finfo(float).tiny)
        self.worst[label] = max(self.worst.get(label, 0.0), error / scale / RTOL)
        assert error <= RTOL * scale, f"{label}: error {error:.3e} > {RTOL:g} * scale {scale:.3e}"

    def report(self) -> None:
        for label, ratio in self.worst.items():
            target(ratio, label=label)


def box_volume(mesh: Mesh) -> float:
    return float(np.prod([b - a for a, b in mesh.box]))


# --- properties ----------------------------------------------------------------------------


@examples(200)
@given(data=st.data(), seed=seeds)
def test_nested_projection_is_exact(data, seed):
    """A field projected onto a containing space is the same function; projecting it back
    returns its own coefficients."""
    errors = Errors()
    mesh = data.draw(meshes(), "mesh")
    fine = data.draw(enlarged(mesh), "fine")
    event(f"dim {mesh.dim}")
    event(f"dofs x{fine.n_dofs / mesh.n_dofs:.0f}" if fine.n_dofs < 8 * mesh.n_dofs else "dofs x8 or more")
    u = random_coefficients(seed, mesh.shape)
    refined = Projector(fine, mesh)(u)
    points = random_points(seed + 1, mesh)
    expected = Field(mesh, u).evaluate(points)
    scale = np.max(np.abs(expected)) + np.max(np.abs(u))
    errors.check(Field(fine, refined).evaluate(points), expected, scale, "values on the containing mesh")
    errors.check(Projector(mesh, fine)(refined), u, np.max(np.abs(u)), "coefficients projected back")
    errors.report()


@examples(200)
@given(mesh=meshes(), k=st.integers(2, 3), seed=seeds, data=st.data())
def test_coarsen_of_refine_is_identity(mesh, k, seed, data):
    """Uniform refinement by k of some axes, then coarsening by k: the same mesh, and the
    same coefficients after projecting there and back."""
    errors = Errors()
    event(f"dim {mesh.dim}, families " + "+".join(sorted({a.family.value for a in mesh.axes})))
    selected = data.draw(st.lists(st.integers(0, mesh.dim - 1), min_size=1, max_size=mesh.dim, unique=True), "axes")
    fine = mesh.refined(axis=selected, k=k)
    assume(fine.n_dofs <= MAX_DERIVED_DOFS)
    coarse = fine.coarsened(axis=selected, k=k)
    assert coarse == mesh
    u = random_coefficients(seed, mesh.shape)
    back = Projector(coarse, fine)(Projector(fine, mesh)(u))
    errors.check(back, u, np.max(np.abs(u)), "coarsen(refine(u))")
    errors.report()


@examples(200)
@given(mesh=meshes(), seed=seeds, data=st.data())
def test_lower_of_elevate_is_identity(mesh, seed, data):
    """Elevating random cells of every axis by random amounts and lowering them again gives
    the same space, and the same coefficients after projecting there and back."""
    errors = Errors()
    event(f"dim {mesh.dim}, families " + "+".join(sorted({a.family.value for a in mesh.axes})))
    up = mesh
    steps = []
    for i in range(mesh.dim):
        by = data.draw(st.integers(0, 3), f"by[{i}]")
        cells = data.draw(cell_selections(mesh.axes[i].n_cells), f"cells[{i}]")
        up = up.elevated(axis=i, by=by, cells=cells)
        steps.append((i, by, cells))
    down = up
    for i, by, cells in steps:
        down = down.lowered(axis=i, by=by, cells=cells)
    for before, after in zip(mesh.axes, down.axes):
        # a p0 axis elevated becomes legendre; lowered, legendre order 0: the same basis
        assert after.same_space(before)
    u = random_coefficients(seed, mesh.shape)
    back = Projector(down, up)(Projector(up, mesh)(u))
    errors.check(back, u, np.max(np.abs(u)), "lower(elevate(u))")
    errors.report()


@examples(200)
@given(pair=mesh_pairs(), seed=seeds)
def test_projection_conserves_the_integral(pair, seed):
    """∫ P u = ∫ u (every target space contains the constants), and both agree with a dense
    Gauss quadrature of the evaluated fields."""
    errors = Errors()
    relation, source, target_mesh = pair
    event(f"{relation}, dim {source.dim}")
    u = random_coefficients(seed, source.shape)
    projected = Field(target_mesh, Projector(target_mesh, source)(u))
    field = Field(source, u)
    scale = box_volume(source) * (np.max(np.abs(u)) + np.max(np.abs(projected.coefficients)))
    errors.check(projected.integrate(), field.integrate(), scale, "integral of the projection")
    # independent: dense quadrature of the evaluated source field
    rules = [dense_rule(a.breakpoints, a.max_order + 2) for a in source.axes]
    values = contract([evaluation(a, x) for a, (x, _) in zip(source.axes, rules)], u)
    dense = contract([w[None, :] for _, w in rules], values).item()
    errors.check(field.integrate(), dense, scale, "integral against dense quadrature")
    errors.report()


@examples(200)
@given(pair=mesh_pairs(), seed=seeds, a=st.floats(-2.0, 2.0), b=st.floats(-2.0, 2.0))
def test_projection_is_linear(pair, seed, a, b):
    """P(a u + b v) = a P(u) + b P(v); a batch (2, *shape) is projected fibre by fibre."""
    errors = Errors()
    relation, source, target_mesh = pair
    event(f"{relation}, dim {source.dim}")
    u, v = random_coefficients(seed, source.shape, count=2)
    project = Projector(target_mesh, source)
    pu, pv = project(u), project(v)
    scale = (abs(a) + abs(b) + 1.0) * max(np.max(np.abs(pu)), np.max(np.abs(pv)), 1.0)
    errors.check(project(a * u + b * v), a * pu + b * pv, scale, "linearity")
    batch = project(np.stack([u, v]))
    assert batch.shape == (2,) + target_mesh.shape
    errors.check(batch, np.stack([pu, pv]), scale, "batch")
    errors.report()


@examples(200)
@given(pair=mesh_pairs(), seed=seeds)
def test_projection_is_idempotent_and_orthogonal(pair, seed):
    """P is the L2-orthogonal projection onto the target: P(P u) = P u, the same u given on
    a richer (supermesh Legendre) mesh projects to the same coefficients, and the residual
    u − P u is orthogonal to every target basis function — by the mixed mass matrices and by
    an independent dense quadrature on the supermesh."""
    errors = Errors()
    relation, source, target_mesh = pair
    event(f"{relation}, dim {source.dim}")
    u = random_coefficients(seed, source.shape)
    project = Projector(target_mesh, source)
    pu = project(u)
    size = np.max(np.abs(u)) + np.max(np.abs(pu))
    errors.check(Projector(target_mesh, target_mesh)(pu), pu, size, "P(P u)")
    # the same functions on a mesh whose space contains both source and target
    common = Mesh([supermesh_axis(s, t) for s, t in zip(source.axes, target_mesh.axes)])
    assume(common.n_dofs <= MAX_DERIVED_DOFS)
    down = Projector(target_mesh, common)
    errors.check(down(Projector(common, target_mesh)(pu)), pu, size, "P(P u) via a richer mesh")
    errors.check(down(Projector(common, source)(u)), pu, size, "P u via a richer mesh")
    # orthogonality through the library's matrices: M_BA u − M_B P u = 0
    mixed = mixed_mass_matrix(target_mesh, source)
    mass = mass_matrix(target_mesh)
    residual = mixed @ u.ravel() - mass @ pu.ravel()
    bound = abs(mixed) @ np.abs(u.ravel()) + abs(mass) @ np.abs(pu.ravel())
    errors.check(residual, 0.0, np.max(bound), "orthogonality by mixed mass")
    # independent: ∫ (u − P u) φ_i by dense Gauss quadrature on the supermesh
    rules = [
        dense_rule(common_breakpoints(s, t), max(s.max_order, t.max_order) + 2)
        for s, t in zip(source.axes, target_mesh.axes)
    ]
    difference = contract([evaluation(s, x) for s, (x, _) in zip(source.axes, rules)], u) - contract(
        [evaluation(t, x) for t, (x, _) in zip(target_mesh.axes, rules)], pu
    )
    tests = [evaluation(t, x).T * w for t, (x, w) in zip(target_mesh.axes, rules)]
    residual = contract(tests, difference)
    bound = contract([np.abs(m) for m in tests], np.abs(difference) + 2 * size)
    errors.check(residual, 0.0, np.max(bound), "orthogonality by dense quadrature")
    errors.report()


@examples(200)
@given(mesh=meshes(), seed=seeds)
def test_mass_matrix_is_spd_and_integrates_squares(mesh, seed):
    """M is symmetric positive definite (per axis and assembled), and uᵀ M u = ∫ u² by a
    dense Gauss quadrature (numpy's rule, more points than the library uses)."""
    errors = Errors()
    event(f"dim {mesh.dim}, families " + "+".join(sorted({a.family.value for a in mesh.axes})))
    matrix = mass_matrix(mesh).toarray()
    assert matrix.shape == (mesh.n_dofs, mesh.n_dofs)
    errors.check(matrix, matrix.T, np.max(np.abs(matrix)), "symmetry")
    np.linalg.cholesky(matrix)  # raises LinAlgError unless positive definite
    assert np.linalg.eigvalsh(matrix).min() > 0
    for factor in mass_factors(mesh):
        dense = factor.toarray()
        errors.check(dense, dense.T, np.max(np.abs(dense)), "symmetry per axis")
        assert np.linalg.eigvalsh(dense).min() > 0
    u = random_coefficients(seed, mesh.shape)
    rules = [dense_rule(a.breakpoints, a.max_order + 3) for a in mesh.axes]
    values = contract([evaluation(a, x) for a, (x, _) in zip(mesh.axes, rules)], u)
    dense_square = contract([w[None, :] for _, w in rules], values**2).item()
    energy = u.ravel() @ matrix @ u.ravel()
    scale = contract([w[None, :] for _, w in rules], values**2 + np.max(np.abs(u)) ** 2).item()
    errors.check(energy, dense_square, scale, "u^T M u against dense quadrature")
    errors.check(Field(mesh, u).norm() ** 2, dense_square, scale, "norm^2 against dense quadrature")
    errors.report()


NODAL = (Family.LAGRANGE, Family.LAGRANGE_DG)


@examples(200)
@given(mesh=meshes(families=NODAL), seed=seeds)
def test_nodal_fields_interpolate_their_coefficients(mesh, seed):
    """For the Lagrange families the reference basis is the identity at the reference nodes,
    and a field evaluates to its coefficients at the nodes (a DG node on a cell's right end
    from the left, on its left end from the right; continuous nodes from both sides)."""
    errors = Errors()
    event(f"dim {mesh.dim}, families " + "+".join(sorted({a.family.value for a in mesh.axes})))
    for axis in mesh.axes:
        for order in np.unique(axis.orders):
            basis = tabulate(axis.family, int(order), reference_nodes(axis.family, int(order)))[0]
            errors.check(basis, np.eye(int(order) + 1), 1.0, "reference basis at the nodes")
    c = random_coefficients(seed, mesh.shape)
    nodes = [axis.interpolation_points() for axis in mesh.axes]
    grid = np.stack(np.meshgrid(*nodes, indexing="ij"), axis=-1).reshape(-1, mesh.dim)
    field = Field(mesh, c)
    for side in ("left", "right"):
        masks = []
        for axis in mesh.axes:
            dofs = axis.cell_dofs()
            local = np.zeros(axis.n_dofs, dtype=int)
            owner_order = np.zeros(axis.n_dofs, dtype=int)
            for cell in range(axis.n_cells):
                p = int(axis.orders[cell])
                local[dofs[cell, : p + 1]] = np.arange(p + 1)
                owner_order[dofs[cell, : p + 1]] = p
            if axis.family.continuous:
                mask = np.ones(axis.n_dofs, dtype=bool)
            else:
                first, last = local == 0, local == owner_order
                mask = ~(first | last) | (first if side == "right" else last)
                mask[[0, -1]] = True  # the ends of the interval are clipped into their cell
            masks.append(mask)
        wanted = np.ix_(*masks)
        values = field.evaluate(grid, side=side).reshape(mesh.shape)
        errors.check(values[wanted], c[wanted], 1.0, f"values at the nodes ({side})")
        on_grid = contract([evaluation(a, x, side) for a, x in zip(mesh.axes, nodes)], c)
        errors.check(on_grid[wanted], c[wanted], 1.0, f"grid values at the nodes ({side})")
        assert all(m.any() for m in masks)
    errors.report()


def polynomial(coefficients: np.ndarray, box):
    """f(x_0, …) = Σ a_{ij…} t_0^i t_1^j …, with t_k the coordinate mapped onto [-1, 1]."""

    def f(*xs):
        ts = [(2.0 * x - a - b) / (b - a) for x, (a, b) in zip(xs, box)]
        total = 0.0
        for index in np.ndindex(coefficients.shape):
            term = coefficients[index]
            for t, power in zip(ts, index):
                term = term * t**power
            total = total + term
        return total

    return f


@examples(200)
@given(mesh=meshes(), seed=seeds, data=st.data())
def test_from_function_reproduces_polynomials(mesh, seed, data):
    """Tensor polynomials of degree ≤ the lowest order of each axis are reproduced exactly
    by ``Field.from_function`` (L2 projection and interpolation): same values at random
    points, L2 error 0, and the exact integral."""
    errors = Errors()
    event(f"dim {mesh.dim}, families " + "+".join(sorted({a.family.value for a in mesh.axes})))
    degrees = tuple(
        data.draw(st.integers(0, int(axis.orders.min())), f"degree[{k}]") for k, axis in enumerate(mesh.axes)
    )
    a = random_coefficients(seed, tuple(d + 1 for d in degrees))
    f = polynomial(a, mesh.box)
    points = random_points(seed + 1, mesh)
    exact = f(*points.T)
    scale = np.sum(np.abs(a))
    # ∫ t^i over [-1, 1] is 2/(i+1) for even i, 0 for odd i; dx = (b − a)/2 dt
    moments = [
        np.array([2.0 / (i + 1) if i % 2 == 0 else 0.0 for i in range(d + 1)]) * (hi - lo) / 2
        for d, (lo, hi) in zip(degrees, mesh.box)
    ]
    integral = contract([m[None, :] for m in moments], a).item()
    for method in ("l2", "interpolate"):
        field = Field.from_function(mesh, f, method=method)
        errors.check(field.evaluate(points), exact, scale, f"{method}: values")
        errors.check(field.l2_error(f), 0.0, scale * np.sqrt(box_volume(mesh)), f"{method}: L2 error")
        errors.check(field.integrate(), integral, scale * box_volume(mesh), f"{method}: integral")
    errors.report()


def residual_flow(x, layers, a, c, scheme, steps) -> np.ndarray:
    """`steps` equal steps of `scheme` for h' = tanh(A_ℓ h + c_ℓ), step i in layer
    ``layers[i]``: each layer's right-hand side is autonomous, so no stage time is needed."""
    t, h, dt = tableau(scheme), x, 1.0 / steps
    for layer in layers:
        slopes = []
        for i in range(t.stages):
            stage = h + dt * sum(t.a[i, j] * slopes[j] for j in range(i))
            slopes.append(np.tanh(stage @ a[layer].T + c[layer]))
        h = h + dt * sum(t.b[i] * slopes[i] for i in range(t.stages))
    return h


@examples(100)
@given(data=st.data(), seed=seeds)
def test_depth_cells_are_decided_by_the_steps_they_hold(data, seed):
    """Steps nested in P0 depth cells read exactly their cell: no ulp between a breakpoint
    and a step end sends a stage to the neighbouring cell."""
    errors = Errors()
    width = data.draw(axes(WIDTH_INTERVAL, 4, 0, (Family.P0,)), "width")
    grid = data.draw(st.integers(1, 16), "S")  # the coarse step grid j / S
    inner = data.draw(st.sets(st.integers(1, grid - 1), max_size=grid - 1) if grid > 1 else st.just(set()), "inner")
    ends = np.array(sorted({0, grid} | inner))
    depth = Axis(ends / grid, "p0", 0)
    if data.draw(st.booleans(), "refine"):
        depth = depth.refined(cells=data.draw(cell_selections(depth.n_cells), "cells"), k=data.draw(st.integers(2, 5), "k"))
    sub = data.draw(st.integers(1, 3), "sub-steps")
    scheme = data.draw(st.sampled_from(["euler", "midpoint", "heun", "ralston", "rk4", "rk4_38"]), "scheme")
    event(scheme)
    rng = np.random.default_rng(seed)
    n, layers = width.n_cells, len(ends) - 1
    a, c = rng.standard_normal((layers, n, n)), rng.standard_normal((layers, n))
    # every depth cell copies the layer (coarse cell) that holds its midpoint
    midpoints = 0.5 * (depth.breakpoints[1:] + depth.breakpoints[:-1]) * grid
    layer_of_cell = np.searchsorted(ends, midpoints) - 1
    nodes, node_weights = width.quadrature_on_cells()  # the P0 cells' midpoints and widths
    weights = {
        "weight": (a / node_weights.ravel()[None, None, :]).transpose(1, 2, 0)[:, :, layer_of_cell],
        "bias": c.T[:, layer_of_cell],
    }
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), scheme=scheme, steps=grid * sub,
                           weights=weights, dtype=torch.float64)
    x = torch.as_tensor(rng.standard_normal((3, n)))
    step_layers = np.searchsorted(ends, np.arange(grid * sub) // sub, side="right") - 1
    # the read-in (N_x equal cells, not the width cells) is not the point here
    expected = residual_flow(net.read_in(x).numpy(), step_layers, a, c, scheme, grid * sub)
    with torch.no_grad():
        actual = net(x).numpy()
    errors.check(actual, expected, np.abs(expected).max(), "output")
    errors.report()
