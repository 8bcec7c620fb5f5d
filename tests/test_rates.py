"""Observed rates (fem_nn.rates): exact on power laws, the convergence test's fit range, bad
input refused; numpy only, so these run without matplotlib."""

import numpy as np
import pytest

from fem_nn.convergence import _fitted_order
from fem_nn.rates import fitted_rate


@pytest.mark.parametrize("x, rate", [([4, 8, 16, 32, 64], 2.0), ([10.0, 3.0, 7.0, 50.0, 1.5], 1.5), ([100, 400, 1600], 0.5)])
def test_fitted_rate_of_a_power_law_is_exact(x, rate):
    errors = [3.7 * float(n) ** -rate for n in x]
    assert abs(fitted_rate(x, errors) - rate) < 1e-12


def test_fitted_rate_range_options_are_the_convergence_orders():
    steps = np.array([2, 4, 8, 16, 32])
    errors = np.array([1.0, 0.5, 1 / 16, 1 / 256, 0.0])  # the last one at round-off
    # the last three usable points: 4, 8, 16, a slope of -4 at the end
    assert fitted_rate(steps, errors, last=3, floor=1e-13) == _fitted_order(steps, errors)
    assert fitted_rate(steps[1:4], errors[1:4]) == pytest.approx(_fitted_order(steps, errors), abs=1e-12)
    assert fitted_rate(steps[1:4], errors[1:4]) == pytest.approx(3.5, abs=1e-12)  # least squares of slopes 3 and 4
    assert np.isnan(fitted_rate(steps, [1.0, 0.0, np.nan, 0.0, 0.0], floor=1e-13))  # one usable point
    assert fitted_rate(steps, [1.0, 0.25, np.inf, 1 / 64, 1 / 256], floor=0.0) == pytest.approx(2.0, abs=1e-12)
    assert fitted_rate([1, 2, 2, 4], [1.0, 0.5, 0.5, 0.25]) == pytest.approx(1.0, abs=1e-12)  # repeated x
    assert np.isnan(fitted_rate([2], [0.1], floor=0.0)) and np.isnan(fitted_rate([2, 2], [0.1, 0.2], floor=0.0))
    assert np.isnan(_fitted_order(np.array([2]), np.array([0.1])))  # a sweep of one step count


@pytest.mark.parametrize(
    "x, errors, options, error, match",
    [
        ([1, 2, 3], [1.0, 0.0, 0.5], {}, ValueError, "errors must be positive"),
        ([1, 2, 3], [1.0, -1.0, 0.5], {}, ValueError, "errors must be positive"),
        ([1, 2, 3], [1.0, np.nan, 0.5], {}, ValueError, "errors must be positive"),
        ([1, 2, 3], [1.0, 0.5], {}, ValueError, "same length"),
        ([0, 2, 3], [1.0, 0.5, 0.2], {}, ValueError, "x must be positive"),
        ([2], [1.0], {}, ValueError, "at least 2 points"),
        ([2, 2], [1.0, 0.5], {}, ValueError, "distinct"),
        ([True, False], [1.0, 0.5], {}, TypeError, "x must be"),
        ("12", [1.0, 0.5], {}, TypeError, "x must be"),
        ([1, 2], ["a", "b"], {}, TypeError, "errors must be"),
        ([[1, 2]], [[1.0, 0.5]], {}, ValueError, "one-dimensional"),
        ([1, 2, 3], [1.0, 0.5, 0.2], {"last": 1}, ValueError, "last"),
        ([1, 2, 3], [1.0, 0.5, 0.2], {"floor": -1.0}, ValueError, "floor"),
        ([1, 2, 3], [1.0, 0.5, 0.2], {"floor": "0"}, TypeError, "floor"),
    ],
)
def test_fitted_rate_rejects_bad_input(x, errors, options, error, match):
    with pytest.raises(error, match=match):
        fitted_rate(x, errors, **options)
