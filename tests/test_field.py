import numpy as np
import pytest
from strategies import BOXES, random_mesh

from fem_nn import Axis, Family, Field, Mesh, bias_mesh, l2_distance, signal_mesh, uniform_axis, weight_mesh


def polynomial(x, y, z):
    """Degree 2 in x, 1 in y, 2 in z: in every space of order >= 2 per axis."""
    return 1 + x - 2 * x**2 + 3 * x * y * z - z**2


POLY_INTEGRAL = 4 - 2 * (2 / 3) * 2 - (1 / 3) * 4  # over [-1,1]² × [0,1]


@pytest.mark.parametrize("family", ["legendre", "lagrange_dg", "lagrange"])
@pytest.mark.parametrize("method", ["l2", "interpolate"])
def test_polynomials_are_reproduced_exactly(family, method):
    mesh = Mesh([Axis([-1, -0.3, 1], family, 2), Axis([-1, 0.1, 0.5, 1], family, 1), Axis([0, 0.7, 1], family, [2, 3])])
    field = Field.from_function(mesh, polynomial, method=method)
    points = np.random.default_rng(1).uniform([-1, -1, 0], [1, 1, 1], (100, 3))
    assert np.allclose(field.evaluate(points), polynomial(*points.T), rtol=0, atol=1e-13)
    assert field.integrate() == pytest.approx(POLY_INTEGRAL, rel=1e-13)
    assert field.l2_error(polynomial) < 1e-13


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("family", list(Family))
def test_scattered_evaluation_matches_grid_evaluation(rng, dim, family):
    mesh = random_mesh(rng, dim, family)
    field = Field(mesh, rng.standard_normal(mesh.shape))
    coords = [rng.uniform(a, b, 4 + k) for k, (a, b) in enumerate(BOXES[dim])]
    grid = field.evaluate_grid(*coords)
    points = np.stack(np.meshgrid(*coords, indexing="ij"), axis=-1).reshape(-1, dim)
    assert np.allclose(field.evaluate(points), grid.ravel(), rtol=0, atol=1e-13)


@pytest.mark.parametrize("family", list(Family))
def test_interpolation_is_exact_at_the_interpolation_points(rng, family):
    axis = Axis([-1, -0.25, 0.4, 1], family, 0 if family is Family.P0 else [1, 3, 2])

    def wiggle(x):
        return np.cos(3 * x) + x**5

    field = Field.from_function(axis, wiggle, method="interpolate")
    x = axis.interpolation_points()
    assert np.allclose(field.evaluate(x), wiggle(x), rtol=0, atol=1e-13)
    if family.nodal:
        assert np.allclose(field.coefficients, wiggle(x), rtol=0, atol=1e-15)


def test_derivatives():
    mesh = Mesh([uniform_axis((-1, 1), 3, "lagrange", 3), uniform_axis((0, 1), 2, "legendre", 2)])
    field = Field.from_function(mesh, lambda x, d: x**3 * d**2 - x * d)
    points = np.array([[0.3, 0.2], [-0.7, 0.9], [0.95, 0.5]])
    x, d = points.T
    assert np.allclose(field.evaluate(points, derivative=(1, 0)), 3 * x**2 * d**2 - d, atol=1e-12)
    assert np.allclose(field.evaluate(points, derivative=(0, 1)), 2 * x**3 * d - x, atol=1e-12)
    assert np.allclose(field.evaluate(points, derivative=(1, 1)), 6 * x**2 * d - 1, atol=1e-12)


def test_one_sided_values_at_breakpoints():
    field = Field(Axis([0, 0.5, 1], "p0", 0), np.array([1.0, 2.0]))
    assert field.evaluate([0.5]) == 2.0
    assert field.evaluate([0.5], side="left") == 1.0
    assert field.evaluate([0.0, 1.0]).tolist() == [1.0, 2.0]


def test_integrate_and_norm_exact_for_the_resnet_like_p0_field(rng):
    mesh = Mesh([uniform_axis((-1, 1), 4, "p0", 0), uniform_axis((0, 1), 8, "p0", 0)])
    values = rng.standard_normal(mesh.shape)
    field = Field(mesh, values)
    cell_area = 0.5 * 0.125
    assert field.integrate() == pytest.approx(values.sum() * cell_area, rel=1e-14)
    assert field.norm() == pytest.approx(np.sqrt((values**2).sum() * cell_area), rel=1e-14)


def test_l2_distance_symmetric_and_matches_norm_of_difference(rng):
    f = Field(weight_mesh(), rng.standard_normal(weight_mesh().shape))
    other_mesh = weight_mesh(uniform_axis((-1, 1), 5, "legendre", 2), uniform_axis((0, 1), 3, "lagrange", 2))
    g = Field(other_mesh, rng.standard_normal(other_mesh.shape))
    assert l2_distance(f, g) == pytest.approx(l2_distance(g, f), rel=1e-13)
    common = f.project(f.mesh.refined())  # same function, other mesh
    assert l2_distance(f, common) < 1e-13 * f.norm()
    assert l2_distance(f, f * 3.0) == pytest.approx(2 * f.norm(), rel=1e-13)


def test_arithmetic_and_defaults():
    mesh = bias_mesh()
    zero = Field(mesh)
    assert zero.norm() == 0.0 and zero.coefficients.shape == mesh.shape
    one = Field.from_function(mesh, lambda x, d: 1 + 0 * x * d, method="interpolate")
    assert (one + one - 0.5 * one).integrate() == pytest.approx(3.0, rel=1e-14)
    assert (-one).integrate() == pytest.approx(-2.0, rel=1e-14)
    assert Field(signal_mesh(), np.ones(9, dtype=np.float32)).coefficients.dtype == np.float64


@pytest.mark.parametrize("family", ["p0", "legendre", "lagrange_dg", "lagrange"])
@pytest.mark.parametrize("at", [{"delta": 0.3}, {2: 0.5}, {"xi": -0.25, "delta": 0.7}, {1: 0.1}])
def test_restriction_is_the_field_on_the_slice(rng, family, at):
    mesh = random_mesh(rng, 3, Family(family))
    field = Field(mesh, rng.standard_normal(mesh.shape))
    line = field.restricted(at)
    fixed = {mesh.axis_index(k): v for k, v in at.items()}
    free = [k for k in range(3) if k not in fixed]
    assert line.mesh.names == tuple(mesh.names[k] for k in free)
    samples = rng.uniform(-1, 1, (50, len(free)))
    samples[:, -1] = np.abs(samples[:, -1]) if free[-1] == 2 else samples[:, -1]  # δ in [0, 1]
    points = np.empty((50, 3))
    points[:, free] = samples
    for k, v in fixed.items():
        points[:, k] = v
    expected = field.evaluate(points)
    assert np.abs(line.evaluate(samples if len(free) > 1 else samples[:, 0]) - expected).max() <= 1e-13 * max(1.0, np.abs(expected).max())


def test_restriction_checks_its_argument():
    field = Field(bias_mesh())
    with pytest.raises(TypeError, match="at must be a mapping"):
        field.restricted(0.5)
    with pytest.raises(ValueError, match="not an axis"):
        field.restricted({"eta": 0.5})
    with pytest.raises(ValueError, match="outside the delta interval"):
        field.restricted({"delta": 1.5})
    with pytest.raises(ValueError, match="fixes all 2 axes"):
        field.restricted({"xi": 0.0, "delta": 0.5})
