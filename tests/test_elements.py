import numpy as np
import pytest
from numpy.polynomial import legendre as npleg
from scipy import special

from fem_nn import Family, gauss_lobatto, tabulate
from fem_nn.elements import reference_nodes

X = np.linspace(-1, 1, 37)


@pytest.mark.parametrize("order", range(0, 16))
def test_legendre_values_and_derivatives_match_numpy(order):
    values = tabulate("legendre", order, X, n_derivatives=1)
    for k in range(order + 1):
        coef = np.zeros(k + 1)
        coef[k] = 1.0
        assert np.allclose(values[0, :, k], special.eval_legendre(k, X), rtol=0, atol=1e-13)
        assert np.allclose(values[1, :, k], npleg.legval(X, npleg.legder(coef)), rtol=0, atol=1e-11 * max(1, k * k))


@pytest.mark.parametrize("family", ["lagrange", "lagrange_dg"])
@pytest.mark.parametrize("order", range(1, 16))
def test_lagrange_is_nodal_on_gauss_lobatto_points(family, order):
    nodes = gauss_lobatto(order + 1).points
    assert np.allclose(tabulate(family, order, nodes)[0], np.eye(order + 1), rtol=0, atol=1e-13)
    values = tabulate(family, order, X, 1)
    assert np.allclose(values[0].sum(axis=1), 1.0, rtol=0, atol=1e-13)  # partition of unity
    assert np.allclose(values[1].sum(axis=1), 0.0, rtol=0, atol=1e-10)


@pytest.mark.parametrize("family,order", [("p0", 0), ("legendre", 5), ("lagrange", 4), ("lagrange_dg", 7)])
def test_derivative_matches_finite_differences(family, order):
    x = np.linspace(-0.9, 0.9, 11)
    step = 1e-6
    fd = (tabulate(family, order, x + step)[0] - tabulate(family, order, x - step)[0]) / (2 * step)
    assert np.allclose(tabulate(family, order, x, 1)[1], fd, rtol=0, atol=1e-7)


def test_p1_lagrange_are_hat_functions():
    values = tabulate(Family.LAGRANGE, 1, X)[0]
    assert np.allclose(values, np.stack([(1 - X) / 2, (1 + X) / 2], axis=1), rtol=0, atol=1e-15)


def test_reference_nodes_unisolvent():
    for family in Family:
        for order in range(family.min_order, 1 if family is Family.P0 else 8):
            vander = tabulate(family, order, reference_nodes(family, order))[0]
            assert np.linalg.cond(vander) < 1e3
