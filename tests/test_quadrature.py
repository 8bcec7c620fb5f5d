import numpy as np
import pytest

from fem_nn import gauss_legendre, gauss_lobatto, quadrature_rule
from fem_nn.quadrature import rule_on_cells, tensor_rule


def monomial_integral(k: int) -> float:
    """∫_{-1}^{1} x^k dx."""
    return 0.0 if k % 2 else 2.0 / (k + 1)


@pytest.mark.parametrize("n", range(1, 21))
def test_gauss_legendre_exact_to_degree_2n_minus_1(n):
    rule = gauss_legendre(n)
    assert rule.degree == 2 * n - 1
    for k in range(2 * n):
        assert rule.weights @ rule.points**k == pytest.approx(monomial_integral(k), abs=1e-14)
    # and not beyond: x^{2n} is integrated with an error
    assert abs(rule.weights @ rule.points ** (2 * n) - monomial_integral(2 * n)) > 1e-6 / 4**n


@pytest.mark.parametrize("n", range(2, 21))
def test_gauss_lobatto_exact_to_degree_2n_minus_3(n):
    rule = gauss_lobatto(n)
    assert rule.degree == 2 * n - 3
    assert rule.points[0] == -1.0 and rule.points[-1] == 1.0
    assert np.all(np.diff(rule.points) > 0) and np.all(rule.weights > 0)
    for k in range(2 * n - 2):
        assert rule.weights @ rule.points**k == pytest.approx(monomial_integral(k), abs=1e-14)
    assert abs(rule.weights @ rule.points ** (2 * n - 2) - monomial_integral(2 * n - 2)) > 1e-6 / 4**n


def test_rule_by_name():
    assert np.array_equal(quadrature_rule("gauss_lobatto", 4).points, gauss_lobatto(4).points)


def test_rule_on_cells_integrates_exactly_on_a_partition():
    breakpoints = np.array([0.0, 0.1, 0.35, 1.0])
    x, w = rule_on_cells(gauss_legendre(3), breakpoints)
    assert x.shape == w.shape == (3, 3)
    assert np.sum(w * x**5) == pytest.approx(1 / 6, rel=1e-14)


def test_tensor_rule_3d_exact_for_products():
    rules = [rule_on_cells(gauss_legendre(3), np.array([-1.0, 0.3, 1.0])), (gauss_legendre(2).points, gauss_legendre(2).weights),
             rule_on_cells(gauss_lobatto(3), np.array([0.0, 1.0]))]
    points, weights = tensor_rule(*rules)
    assert points.shape == (6 * 2 * 3, 3)
    exact = (2 / 5) * (2 / 3) * (1 / 2)  # ∫ x^4 · y^2 · z over [-1,1]² × [0,1]
    assert weights @ (points[:, 0] ** 4 * points[:, 1] ** 2 * points[:, 2]) == pytest.approx(exact, rel=1e-14)
