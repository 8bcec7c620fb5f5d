import numpy as np
import pytest
from strategies import random_mesh
from scipy import sparse
from scipy.integrate import quad_vec

from fem_nn import Axis, Family, Field, Mesh, mass_factors, mass_matrix, mixed_mass_factors, mixed_mass_matrix, supermesh

GOLDEN = (np.sqrt(5) - 1) / 2


def irrational_breakpoints(n_cells: int, shift: float) -> np.ndarray:
    """Breakpoints of [-1, 1] at irrational, non-uniform positions."""
    t = np.sort((np.arange(1, n_cells) * GOLDEN + shift) % 1.0)
    return np.concatenate(([-1.0], -1.0 + 2.0 * t ** np.sqrt(2), [1.0]))


def brute_force_mixed_mass(target: Axis, source: Axis) -> np.ndarray:
    """∫ φ^target_i φ^source_j by adaptive quadrature (scipy.integrate.quad_vec) of the
    matrix-valued integrand, splitting at every breakpoint of either axis."""
    breaks = sorted(set(target.breakpoints) | set(source.breakpoints))

    def outer(x):
        return np.outer(target.evaluation_matrix([x]).toarray(), source.evaluation_matrix([x]).toarray())

    return quad_vec(outer, -1, 1, points=breaks[1:-1], epsabs=1e-15, epsrel=1e-13, limit=2000)[0]


@pytest.mark.parametrize(
    "target_family,target_order,source_family,source_order",
    [("lagrange", 2, "legendre", [1, 3, 0, 2, 1, 2, 1]), ("lagrange_dg", [1, 2, 3, 1, 2], "p0", 0),
     ("legendre", [0, 4, 2, 1, 3], "lagrange", 3)],
)
def test_nonnested_mixed_mass_matches_adaptive_quadrature(target_family, target_order, source_family, source_order):
    target = Axis(irrational_breakpoints(5, 0.1), target_family, target_order)
    source = Axis(irrational_breakpoints(7, 0.37), source_family, source_order)
    assert len(np.intersect1d(target.breakpoints[1:-1], source.breakpoints[1:-1])) == 0
    exact = mixed_mass_matrix(target, source).toarray()
    reference = brute_force_mixed_mass(target, source)
    assert np.max(np.abs(exact - reference)) <= 1e-10 * np.max(np.abs(reference))


@pytest.mark.parametrize("family", list(Family))
def test_mass_matrix_symmetric_positive_definite(rng, family):
    mesh = random_mesh(rng, 3, family)
    m = mass_matrix(mesh).toarray()
    assert np.allclose(m, m.T, rtol=0, atol=1e-16)
    assert np.linalg.eigvalsh(m).min() > 0
    # ‖1‖² is the volume of the box [-1, 1]² × [0, 1]
    one = Field.from_function(mesh, lambda x, y, z: np.ones_like(x * y * z), method="interpolate")
    assert one.coefficients.ravel() @ m @ one.coefficients.ravel() == pytest.approx(4.0, rel=1e-13)


def test_legendre_mass_is_diagonal():
    m = mass_matrix(Axis([-1, -0.5, 1], "legendre", [3, 5])).toarray()
    assert np.allclose(m, np.diag(np.diag(m)), rtol=0, atol=1e-15)
    k = np.arange(4)
    assert np.allclose(np.diag(m)[:4], 0.25 * 2 / (2 * k + 1), rtol=1e-14)


def test_tensor_matrices_are_kronecker_products_of_axis_factors(rng):
    target, source = random_mesh(rng, 3, Family.LAGRANGE), random_mesh(rng, 3, Family.LEGENDRE)
    factors = mixed_mass_factors(target, source)
    kron = sparse.kron(sparse.kron(factors[0], factors[1]), factors[2]).toarray()
    assert np.array_equal(mixed_mass_matrix(target, source).toarray(), kron)
    assert [f.shape for f in mass_factors(target)] == [(n, n) for n in target.shape]


def test_mass_matrix_gives_the_l2_inner_product(rng):
    """u^T M v = ∫ u v, checked against a tensor Gauss rule with many points per cell."""
    from fem_nn.quadrature import gauss_legendre, rule_on_cells

    mesh = random_mesh(rng, 2, Family.LAGRANGE_DG)
    u, v = (Field(mesh, rng.standard_normal(mesh.shape)) for _ in range(2))
    grids = [rule_on_cells(gauss_legendre(12), a.breakpoints) for a in mesh.axes]
    xs, ws = [g[0].ravel() for g in grids], [g[1].ravel() for g in grids]
    integral = np.einsum("ij,i,j->", u.evaluate_grid(*xs) * v.evaluate_grid(*xs), *ws)
    flat = mass_matrix(mesh) @ v.coefficients.ravel()
    assert u.coefficients.ravel() @ flat == pytest.approx(integral, rel=1e-12)


def test_supermesh_merges_nearly_equal_breakpoints():
    a = np.array([0.0, 0.5, 1.0])
    b = np.array([0.0, 0.5 + 1e-17, 0.7, 1.0])
    assert np.array_equal(supermesh(a, b), [0.0, 0.5, 0.7, 1.0])
    with pytest.raises(ValueError, match="different intervals"):
        supermesh(a, np.array([0.0, 2.0]))


def test_mesh_with_one_axis_equals_axis_matrices():
    axis = Axis([-1, 0.2, 1], "lagrange", 2)
    assert np.array_equal(mass_matrix(axis).toarray(), mass_matrix(Mesh([axis])).toarray())
