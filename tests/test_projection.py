import numpy as np
import pytest
from scipy.integrate import quad
from strategies import BOXES, containing_axis, random_axis, random_mesh

from fem_nn import Axis, Family, Field, Mesh, Projector, l2_distance, uniform_axis

FAMILIES = [f for f in Family if f.polynomial]  # h-refinement nests them (the Fourier family: tests/test_fourier.py)


def random_field(rng, mesh: Mesh) -> Field:
    return Field(mesh, rng.standard_normal(mesh.shape))


def relative_distance(f: Field, g: Field) -> float:
    return l2_distance(f, g) / f.norm()


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("family", FAMILIES)
def test_projection_onto_containing_space_is_exact(rng, dim, family):
    for _ in range(4):
        source = random_field(rng, random_mesh(rng, dim, family))
        target = Mesh([containing_axis(rng, a) for a in source.mesh.axes])
        projected = source.project(target)
        assert relative_distance(source, projected) <= 1e-12
        points = np.column_stack([rng.uniform(a, b, 50) for a, b in BOXES[dim]])
        values = source.evaluate(points)
        assert np.max(np.abs(projected.evaluate(points) - values)) <= 1e-12 * np.max(np.abs(source.coefficients)) * 10


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("family", FAMILIES)
def test_coarsen_of_refine_is_identity(rng, dim, family):
    mesh = random_mesh(rng, dim, family)
    field = random_field(rng, mesh)
    for k in (2, 3):
        fine = mesh.refined(k=k)
        back = field.project(fine).project(fine.coarsened(k=k))
        assert back.mesh == mesh
        scale = np.max(np.abs(field.coefficients))
        assert np.max(np.abs(back.coefficients - field.coefficients)) <= 1e-12 * scale
    elevated = field.project(mesh.elevated(by=2)).project(mesh)
    assert np.max(np.abs(elevated.coefficients - field.coefficients)) <= 1e-12 * np.max(np.abs(field.coefficients))


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("target_family", FAMILIES)
def test_projection_conserves_the_integral(rng, dim, target_family):
    source = random_field(rng, random_mesh(rng, dim, Family(rng.choice([f.value for f in FAMILIES]))))
    target = random_mesh(rng, dim, target_family)  # not nested
    projected = source.project(target)
    assert projected.integrate() == pytest.approx(source.integrate(), rel=1e-12, abs=1e-12 * source.norm())


def test_projection_is_linear_and_idempotent(rng):
    source_mesh, target_mesh = random_mesh(rng, 3, Family.LAGRANGE), random_mesh(rng, 3, Family.LEGENDRE)
    project = Projector(target_mesh, source_mesh)
    u, v = rng.standard_normal((2,) + source_mesh.shape)
    assert np.allclose(project(2 * u - 3 * v), 2 * project(u) - 3 * project(v), rtol=0, atol=1e-12 * np.abs(project(u)).max())
    batched = project(np.stack([u, v]))
    assert np.array_equal(batched[0], project(u)) and np.array_equal(batched[1], project(v))
    once = Field(target_mesh, project(u))
    assert np.allclose(once.project(target_mesh).coefficients, once.coefficients, rtol=0, atol=1e-13)


def test_projection_is_the_best_approximation(rng):
    """The L2 projection is orthogonal: the error is orthogonal to the target space, so any
    other element of it is farther away."""
    source = random_field(rng, random_mesh(rng, 2, Family.LEGENDRE))
    target = random_mesh(rng, 2, Family.LAGRANGE)
    best = source.project(target)
    error = l2_distance(source, best)
    for _ in range(5):
        other = Field(target, best.coefficients + 1e-3 * rng.standard_normal(target.shape))
        assert l2_distance(source, other) > error


def smooth_1d(x):
    return np.sin(np.pi * x) * np.exp(x)


@pytest.mark.parametrize(
    "family,order",
    [("p0", 0)] + [("legendre", p) for p in range(5)] + [(f, p) for f in ("lagrange", "lagrange_dg") for p in range(1, 5)],
)
def test_h_convergence_at_rate_p_plus_1(family, order):
    cells = [8, 16, 32, 64] if order < 3 else [4, 8, 16, 32]
    errors = [
        Field.from_function(uniform_axis((-1, 1), n, family, order), smooth_1d).l2_error(smooth_1d) for n in cells
    ]
    rate = -np.polyfit(np.log(cells), np.log(errors), 1)[0]
    assert rate == pytest.approx(order + 1, abs=0.1)


@pytest.mark.parametrize("family,order", [("lagrange", 1), ("legendre", 2), ("lagrange_dg", 2)])
def test_h_convergence_in_3d(family, order):
    def smooth(x, y, z):
        return np.sin(np.pi * x) * np.cos(y) * np.exp(z)

    errors = []
    cells = [2, 4, 8]
    for n in cells:
        mesh = Mesh([uniform_axis(i, n, family, order) for i in BOXES[3]])
        errors.append(Field.from_function(mesh, smooth).l2_error(smooth))
    rate = -np.polyfit(np.log(cells[1:]), np.log(errors[1:]), 1)[0]
    assert rate == pytest.approx(order + 1, abs=0.15)


@pytest.mark.parametrize("family", ["legendre", "lagrange_dg", "lagrange"])
def test_p_convergence_is_exponential(family):
    def smooth(xi, delta):
        return np.sin(np.pi * xi) * np.exp(delta)

    orders = list(range(2, 13, 2))
    errors = []
    for p in orders:
        mesh = Mesh([uniform_axis((-1, 1), 2, family, p), uniform_axis((0, 1), 2, family, p)])
        errors.append(Field.from_function(mesh, smooth).l2_error(smooth))
    assert errors[-1] < 1e-10
    # exponential: log error falls linearly in p, each step of 2 gaining a factor > 30
    assert np.all(np.array(errors[:-1]) / np.array(errors[1:]) > 30)


def test_projection_between_families_nonnested_matches_quadrature(rng):
    """‖Πf − f‖ measured exactly on the supermesh equals a fine-quadrature measurement."""
    source = Field(Axis([-1, -0.2, 0.45, 1], "legendre", [3, 1, 2]), rng.standard_normal(9))
    target = uniform_axis((-1, 1), 5, "lagrange", 2)
    projected = source.project(target)
    def squared_difference(x):
        return (projected.evaluate([x])[0] - source.evaluate([x])[0]) ** 2

    breaks = sorted(set(source.mesh.axes[0].breakpoints) | set(target.breakpoints))
    brute = np.sqrt(quad(squared_difference, -1, 1, points=breaks[1:-1], epsabs=1e-15, epsrel=1e-13, limit=200)[0])
    assert l2_distance(source, projected) == pytest.approx(brute, rel=1e-9)


def test_depth_only_refinement_leaves_width_untouched(rng):
    mesh = Mesh([uniform_axis((-1, 1), 3, "lagrange", 2), uniform_axis((-1, 1), 3, "lagrange", 2), uniform_axis((0, 1), 4, "p0", 0)])
    field = random_field(rng, mesh)
    fine_mesh = mesh.refined("delta")
    # the width transfers are identities: no work and no round-off along width
    assert [t.identity for t in Projector(fine_mesh, mesh).transfers] == [True, True, False]
    fine = field.project(fine_mesh)
    for half in (0, 1):
        assert np.allclose(fine.coefficients[:, :, half::2], field.coefficients, rtol=1e-15, atol=0)
