"""Bad input gets a clear error, raised before any work is done.

Covered: axes, meshes, orders and families; fields and projections; quadrature and
tabulation; Runge–Kutta tableaus and integrate; the continuum network's construction and
inputs (shape, dtype, NaN / inf, points); refinement of live networks; checkpoint, schedule
and field files (empty, truncated, hostile, wrong metadata), with every file in the folder
byte-identical afterwards; and every ``fem-nn`` command (exit code 2, the argument named on
stderr, no file changed or created). Mesh files have their own module, test_mesh_files.py.

Every case checks three things: the exception type (ValueError or TypeError), a message that
names the argument and says what was expected (the ``match`` regex always starts with the
argument's name), and that a valid call right after the bad one still works (no cache, shared
array or object left in a bad state).
"""

import numpy as np
import pytest

from fem_nn import (
    Axis,
    Field,
    Mesh,
    Projector,
    bias_mesh,
    gauss_legendre,
    gauss_lobatto,
    l2_distance,
    quadrature_rule,
    tabulate,
    uniform_axis,
    weight_mesh,
)


def case(call, error, match, id, marks=()):
    return pytest.param(call, error, match, id=id, marks=marks)


def check_raises(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- Axis construction -------------------------------------------------------------------

def make_axis(**changes):
    arguments = dict(breakpoints=[-1.0, 0.0, 1.0], family="lagrange", order=1)
    arguments.update(changes)
    return lambda: Axis(**arguments)


def assert_axis_still_works():
    axis = Axis([-1.0, 0.0, 1.0], "lagrange", 2)
    assert axis.n_dofs == 5 and axis.quadrature_points == 3
    assert np.allclose(tabulate("lagrange", 1, [-1.0, 0.0, 1.0])[0], [[1, 0], [0.5, 0.5], [0, 1]])


AXIS_CASES = [
    # breakpoints
    case(make_axis(breakpoints=[0.0, 1.0, 0.5]), ValueError, r"breakpoints must be strictly increasing", "decreasing"),
    case(make_axis(breakpoints=[1.0, 0.0]), ValueError, r"breakpoints must be strictly increasing", "reversed"),
    case(make_axis(breakpoints=[0.0, 0.5, 0.5, 1.0]), ValueError, r"breakpoints must be strictly increasing", "repeated"),
    case(make_axis(breakpoints=[0.0, np.nan, 1.0]), ValueError, r"breakpoints must be finite", "nan"),
    case(make_axis(breakpoints=[0.0, np.inf]), ValueError, r"breakpoints must be finite", "inf"),
    case(make_axis(breakpoints=[-np.inf, 0.0]), ValueError, r"breakpoints must be finite", "-inf"),
    case(make_axis(breakpoints=[0.0]), ValueError, r"breakpoints must be .*at least 2", "single"),
    case(make_axis(breakpoints=[]), ValueError, r"breakpoints must be .*at least 2", "empty"),
    case(make_axis(breakpoints=3.0), ValueError, r"breakpoints must be a 1D sequence", "scalar"),
    case(make_axis(breakpoints=[[0.0, 1.0], [1.0, 2.0]]), ValueError, r"breakpoints must be a 1D sequence", "2d"),
    case(make_axis(breakpoints="abc"), TypeError, r"breakpoints must be a sequence of real numbers", "string"),
    case(make_axis(breakpoints=["a", "b"]), TypeError, r"breakpoints must be a sequence of real numbers", "strings"),
    case(make_axis(breakpoints=[0.0, 1j]), TypeError, r"breakpoints must be a sequence of real numbers", "complex"),
    case(make_axis(breakpoints=[0.0, None]), (TypeError, ValueError), r"breakpoints must be", "none-entry"),
    case(make_axis(breakpoints=["0", "0.5", "1"]), TypeError, r"breakpoints must be a sequence of real numbers",
         "numeric-strings"),
    case(make_axis(breakpoints=[False, True]), TypeError, r"breakpoints must be a sequence of real numbers",
         "booleans"),
    # orders
    case(make_axis(family="legendre", order=-1), ValueError, r"order must be >= 0 for family 'legendre'", "negative-legendre"),
    case(make_axis(family="p0", order=-1), ValueError, r"order must be >= 0 for family 'p0'", "negative-p0"),
    case(make_axis(family="lagrange", order=-2), ValueError, r"order must be >= 1 for family 'lagrange'", "negative-lagrange"),
    case(make_axis(family="legendre", order=[1, -1]), ValueError, r"order must be >= 0", "negative-per-cell"),
    case(make_axis(family="lagrange", order=0), ValueError, r"order must be >= 1 for family 'lagrange'", "zero-lagrange"),
    case(make_axis(family="lagrange_dg", order=0), ValueError, r"order must be >= 1 for family 'lagrange_dg'", "zero-lagrange_dg"),
    case(make_axis(family="lagrange", order=[1, 0]), ValueError, r"order must be >= 1 for family 'lagrange'", "zero-per-cell"),
    case(make_axis(family="p0", order=1), ValueError, r"order must be 0 for family 'p0'", "p0-order-1"),
    case(make_axis(family="p0", order=[0, 2]), ValueError, r"order must be 0 for family 'p0'", "p0-per-cell"),
    case(make_axis(order=1.5), TypeError, r"order must be an integer", "float"),
    case(make_axis(order=1.0), TypeError, r"order must be an integer", "integral-float"),
    case(make_axis(order=np.float64(2)), TypeError, r"order must be an integer", "numpy-float"),
    case(make_axis(order=True), TypeError, r"order must be an integer", "bool"),
    case(make_axis(order="1"), TypeError, r"order must be an integer", "string"),
    case(make_axis(order=None), TypeError, r"order must be an integer", "none"),
    case(make_axis(order=[1, 2.5]), TypeError, r"order must be an integer", "float-in-list"),
    case(make_axis(order=[1, True]), TypeError, r"order must be an integer", "bool-in-list"),
    case(make_axis(order=[1, 2, 3]), ValueError, r"order must be one integer or one per cell \(2\), got 3", "too-long"),
    case(make_axis(order=[1]), ValueError, r"order must be one integer or one per cell \(2\), got 1", "too-short"),
    case(make_axis(order=[]), (TypeError, ValueError), r"order must be", "empty-list"),
    case(make_axis(order=[[1, 1]]), ValueError, r"order must be one integer or one per cell \(2\).*\(1, 2\)", "order-2d"),
    # family, quadrature
    case(make_axis(family="hermite"), ValueError, r"family must be one of", "unknown-family"),
    case(make_axis(family="Lagrange"), ValueError, r"family must be one of", "family-case"),
    case(make_axis(family=3), ValueError, r"family must be one of", "family-int"),
    case(make_axis(quadrature="simpson"), ValueError, r"quadrature must be one of", "unknown-quadrature"),
    case(make_axis(quadrature=None), ValueError, r"quadrature must be one of", "quadrature-none"),
    case(make_axis(quadrature="gauss_lobatto", quadrature_points=1), ValueError, r"quadrature_points must be >= 2", "lobatto-1"),
    case(make_axis(quadrature="gauss_lobatto", quadrature_points=0), ValueError, r"quadrature_points must be >= 2", "lobatto-0"),
    case(make_axis(quadrature_points=0), ValueError, r"quadrature_points must be >= 1", "legendre-0"),
    case(make_axis(quadrature_points=-2), ValueError, r"quadrature_points must be >= 1", "negative-points"),
    case(make_axis(quadrature_points=2.5), TypeError, r"quadrature_points must be an integer", "float-points"),
    case(make_axis(quadrature_points=True), TypeError, r"quadrature_points must be an integer", "bool-points"),
]


@pytest.mark.parametrize("call,error,match", AXIS_CASES)
def test_bad_axis_arguments(call, error, match):
    check_raises(call, error, match)
    assert_axis_still_works()


UNIFORM_AXIS_CASES = [
    case(lambda: uniform_axis((0, 1), 0), ValueError, r"n_cells must be >= 1", "zero-cells"),
    case(lambda: uniform_axis((0, 1), -4), ValueError, r"n_cells must be >= 1", "negative-cells"),
    case(lambda: uniform_axis((0, 1), 2.5), TypeError, r"n_cells must be an integer", "float-cells"),
    case(lambda: uniform_axis((0, 1), True), TypeError, r"n_cells must be an integer", "bool-cells"),
    case(lambda: uniform_axis((0, 1), "4"), TypeError, r"n_cells must be an integer", "string-cells"),
    case(lambda: uniform_axis("ab", 2), ValueError, r"interval must be a pair", "string-interval"),
    case(lambda: uniform_axis(5, 2), ValueError, r"interval must be a pair", "scalar-interval"),
    case(lambda: uniform_axis((0, 1, 2), 2), ValueError, r"interval must be a pair", "triple-interval"),
    case(lambda: uniform_axis((1, 0), 2), ValueError, r"interval must be", "reversed-interval"),
    case(lambda: uniform_axis((0, 0), 2), ValueError, r"interval must be", "empty-interval"),
    case(lambda: uniform_axis((0, np.nan), 2), ValueError, r"interval must be", "nan-interval"),
    case(lambda: uniform_axis((-np.inf, 0), 2), ValueError, r"interval must be", "inf-interval"),
    case(lambda: uniform_axis(("0", "1"), 2), TypeError, r"interval must be", "numeric-string-interval"),
]


@pytest.mark.parametrize("call,error,match", UNIFORM_AXIS_CASES)
def test_bad_uniform_axis(call, error, match):
    check_raises(call, error, match)
    assert uniform_axis((0.0, 1.0), 4, "p0", 0).n_dofs == 4


# --- new axes from an axis: refine, coarsen, elevate, lower ------------------------------

AXIS = Axis([-1.0, 0.0, 1.0], "lagrange", 1)
P0_ODD = Axis([0.0, 1.0, 2.0, 3.0], "p0", 0)
NON_UNIFORM = Axis([0.0, 0.1, 1.0, 1.5, 2.0], "p0", 0)
HP = Axis([0.0, 0.5, 1.0], "legendre", [0, 2])

AXIS_OPERATION_CASES = [
    case(lambda: AXIS.refined(k=1), ValueError, r"k must be >= 2", "refine-k-1"),
    case(lambda: AXIS.refined(k=0), ValueError, r"k must be >= 2", "refine-k-0"),
    case(lambda: AXIS.refined(k=1.5), TypeError, r"k must be an integer", "refine-k-float"),
    case(lambda: AXIS.refined(k=True), TypeError, r"k must be an integer", "refine-k-bool"),
    case(lambda: AXIS.refined(cells=[5]), ValueError, r"cells must be indices in \[0, 2\)", "refine-cell-too-large"),
    case(lambda: AXIS.refined(cells=[2]), ValueError, r"cells must be indices in \[0, 2\)", "refine-cell-end"),
    case(lambda: AXIS.refined(cells=[-3]), ValueError, r"cells must be indices in \[0, 2\)", "refine-cell-negative"),
    case(lambda: AXIS.refined(cells=[0.5]), TypeError, r"cells must be integer cell indices or a boolean mask", "refine-cell-float"),
    case(lambda: AXIS.refined(cells=["a"]), TypeError, r"cells must be integer cell indices or a boolean mask", "refine-cell-string"),
    case(lambda: AXIS.refined(cells=np.array([True])), ValueError, r"cells as a mask must have length 2", "refine-mask-short"),
    case(lambda: AXIS.refined(cells=np.array([True, False, True])), ValueError, r"cells as a mask must have length 2", "refine-mask-long"),
    case(lambda: P0_ODD.coarsened(), ValueError, r"k must divide the number of cells \(3\)", "coarsen-odd"),
    case(lambda: P0_ODD.coarsened(k=1), ValueError, r"k must be >= 2", "coarsen-k-1"),
    case(lambda: P0_ODD.coarsened(k=3.0), TypeError, r"k must be an integer", "coarsen-k-float"),
    case(lambda: NON_UNIFORM.coarsened(), ValueError, r"k=2 cannot coarsen these breakpoints: .*not a uniform refinement", "coarsen-non-uniform"),
    case(lambda: AXIS.lowered(), ValueError, r"cannot lower by 1: order would drop below 1", "lower-lagrange"),
    case(lambda: Axis([0, 1], "lagrange_dg", 2).lowered(by=2), ValueError, r"cannot lower by 2: order would drop below 1", "lower-dg-by-2"),
    case(lambda: Axis([0, 1], "p0", 0).lowered(), ValueError, r"cannot lower by 1: order would drop below 0", "lower-p0"),
    case(lambda: HP.lowered(), ValueError, r"cannot lower by 1: order would drop below 0", "lower-hp"),
    case(lambda: HP.lowered(cells=[0]), ValueError, r"cannot lower by 1: order would drop below 0", "lower-hp-cell"),
    case(lambda: AXIS.lowered(by=-1), ValueError, r"by must be >= 0", "lower-by-negative"),
    case(lambda: AXIS.elevated(by=-1), ValueError, r"by must be >= 0", "elevate-by-negative"),
    case(lambda: AXIS.elevated(by=1.5), TypeError, r"by must be an integer", "elevate-by-float"),
    case(lambda: AXIS.elevated(cells=[7]), ValueError, r"cells must be indices", "elevate-cell-out-of-range"),
    case(lambda: AXIS.locate([0.0], side="up"), ValueError, r"side must be 'left' or 'right'", "locate-side"),
    case(lambda: AXIS.locate([2.0]), ValueError, r"points must lie in the axis interval \[-1, 1\]", "locate-outside"),
]


@pytest.mark.parametrize("call,error,match", AXIS_OPERATION_CASES)
def test_bad_axis_operations(call, error, match):
    before = [(a.breakpoints.copy(), a.orders.copy()) for a in (AXIS, P0_ODD, NON_UNIFORM, HP)]
    check_raises(call, error, match)
    for axis, (breakpoints, orders) in zip((AXIS, P0_ODD, NON_UNIFORM, HP), before):
        assert np.array_equal(axis.breakpoints, breakpoints) and np.array_equal(axis.orders, orders)
    assert AXIS.refined().n_dofs == 5 and AXIS.refined().coarsened() == AXIS
    assert HP.elevated().lowered() == HP


# --- meshes ------------------------------------------------------------------------------

MESH_CASES = [
    case(lambda: Mesh([]), TypeError, r"axes must be a sequence of 1 to 3 Axis", "no-axes"),
    case(lambda: Mesh([AXIS] * 4), TypeError, r"axes must be a sequence of 1 to 3 Axis", "four-axes"),
    case(lambda: Mesh([AXIS, "x"]), TypeError, r"axes must be a sequence of 1 to 3 Axis", "string-entry"),
    case(lambda: Mesh([AXIS, None]), TypeError, r"axes must be a sequence of 1 to 3 Axis", "none-entry"),
    case(lambda: Mesh([AXIS, bias_mesh()]), TypeError, r"axes must be a sequence of 1 to 3 Axis", "mesh-entry"),
    case(lambda: Mesh(AXIS), TypeError, r"axes must be a sequence of 1 to 3 Axis", "bare-axis"),
    case(lambda: Mesh(None), TypeError, r"axes must be a sequence of 1 to 3 Axis", "none"),
    case(lambda: Mesh([AXIS, AXIS], names=("a", "a")), ValueError, r"names must be 2 distinct", "duplicate-names"),
    case(lambda: Mesh([AXIS, AXIS], names=("a",)), ValueError, r"names must be 2 distinct", "too-few-names"),
    case(lambda: Mesh([AXIS], names=("",)), ValueError, r"names must be 1 distinct non-empty strings", "empty-name"),
    case(lambda: Mesh([AXIS], names=(3,)), ValueError, r"names must be 1 distinct non-empty strings", "int-name"),
    case(lambda: Mesh([AXIS], names=5), (TypeError, ValueError), r"names must be", "names-not-a-sequence"),
    case(lambda: weight_mesh().with_axis("xi", "x"), TypeError, r"new must be an Axis", "with-axis-not-an-axis"),
]


@pytest.mark.parametrize("call,error,match", MESH_CASES)
def test_bad_mesh(call, error, match):
    check_raises(call, error, match)
    assert Mesh([AXIS, AXIS], names=("a", "b")).shape == (3, 3)


WEIGHTS = weight_mesh()

AXIS_LOOKUP_CASES = [
    case(lambda: WEIGHTS.axis_index("zeta"), ValueError, r"axis must be one of \('xi', 'eta', 'delta'\)", "unknown-name"),
    case(lambda: WEIGHTS.axis_index("Xi"), ValueError, r"axis must be one of", "name-case"),
    case(lambda: WEIGHTS.refined("zeta"), ValueError, r"axis must be one of", "refine-unknown-name"),
    case(lambda: WEIGHTS.refined(["xi", "zeta"]), ValueError, r"axis must be one of", "refine-unknown-in-list"),
    case(lambda: WEIGHTS.coarsened("depth"), ValueError, r"axis must be one of", "coarsen-unknown-name"),
    case(lambda: WEIGHTS.elevated("width"), ValueError, r"axis must be one of", "elevate-unknown-name"),
    case(lambda: WEIGHTS.with_axis("zeta", AXIS), ValueError, r"axis must be one of", "with-axis-unknown-name"),
    case(lambda: WEIGHTS.refined(3), ValueError, r"axis must be a name in .* or an index below 3", "index-too-large"),
    case(lambda: WEIGHTS.refined(-4), ValueError, r"axis must be a name in .* or an index below 3", "index-too-small"),
    case(lambda: WEIGHTS.axis_index(True), ValueError, r"axis must be a name in", "index-bool"),
    case(lambda: WEIGHTS.refined([None]), ValueError, r"axis must be a name in", "none-in-list"),
    case(lambda: WEIGHTS.refined(1.5), ValueError, r"axis must be a name in", "index-float"),
]


@pytest.mark.parametrize("call,error,match", AXIS_LOOKUP_CASES)
def test_bad_axis_lookup(call, error, match):
    check_raises(call, error, match)
    assert WEIGHTS.refined("delta").shape == (9, 9, 8) and WEIGHTS.shape == (9, 9, 4)


# --- fields ------------------------------------------------------------------------------

MESH = bias_mesh()  # shape (9, 4)
FIELD = Field.from_function(MESH, lambda xi, delta: 1.0 + xi * delta)
FIELD_COEFFICIENTS = FIELD.coefficients.copy()
PROBE = [[0.3, 0.6], [-1.0, 1.0]]
FIELD_VALUES = FIELD.evaluate(PROBE)  # depth is P0: not 1 + ξδ pointwise, but fixed


def assert_field_still_works():
    assert np.array_equal(FIELD.coefficients, FIELD_COEFFICIENTS)
    assert np.array_equal(FIELD.evaluate(PROBE), FIELD_VALUES)
    assert FIELD.integrate() == pytest.approx(2.0, rel=1e-13)
    fine = FIELD.project(MESH.refined())
    assert fine.integrate() == pytest.approx(2.0, rel=1e-13)
    assert l2_distance(FIELD, fine) < 1e-13


COEFFICIENT_CASES = [
    case(np.zeros(7), ValueError, r"coefficients must have shape \(9, 4\)", "wrong-length"),
    case(np.zeros(37), ValueError, r"coefficients must have shape \(9, 4\)", "one-too-many"),
    case(np.zeros((4, 9)), ValueError, r"coefficients must have shape \(9, 4\)", "transposed"),
    case(np.zeros((9, 4, 1)), ValueError, r"coefficients must have shape \(9, 4\)", "extra-dimension"),
    case(np.zeros((1, 36)), ValueError, r"coefficients must have shape \(9, 4\)", "row-of-right-size"),
    case(np.float64(0.0), ValueError, r"coefficients must have shape \(9, 4\)", "scalar"),
    case(np.zeros((9, 4), dtype=int), TypeError, r"coefficients must be a real floating-point array", "int"),
    case(np.zeros((9, 4), dtype=np.uint8), TypeError, r"coefficients must be a real floating-point array", "uint8"),
    case([[0] * 4] * 9, TypeError, r"coefficients must be a real floating-point array", "int-list"),
    case(np.zeros((9, 4), dtype=complex), TypeError, r"coefficients must be a real floating-point array", "complex"),
    case(np.zeros((9, 4), dtype=bool), TypeError, r"coefficients must be a real floating-point array", "bool"),
    case(np.full((9, 4), None), TypeError, r"coefficients must be a real floating-point array", "object"),
    case(np.full((9, 4), "1.0"), TypeError, r"coefficients must be a real floating-point array", "strings"),
    case(np.full((9, 4), np.nan), ValueError, r"coefficients must be finite", "nan"),
    case(np.where(np.eye(9, 4) > 0, np.inf, 0.0), ValueError, r"coefficients must be finite", "one-inf"),
    case(np.full((9, 4), -np.inf), ValueError, r"coefficients must be finite", "-inf"),
]


@pytest.mark.parametrize("coefficients,error,match", COEFFICIENT_CASES)
def test_bad_coefficients(coefficients, error, match):
    check_raises(lambda: Field(MESH, coefficients), error, match)
    assert_field_still_works()


def test_field_mesh_must_be_a_mesh():
    check_raises(lambda: Field("mesh"), TypeError, r"mesh must be a Mesh or an Axis")
    assert_field_still_works()


FROM_FUNCTION_CASES = [
    case(lambda: Field.from_function(MESH, 3.0), TypeError, r"function must be callable", "not-callable"),
    case(lambda: Field.from_function(MESH, None, method="interpolate"), TypeError, r"function must be callable", "not-callable-interpolate"),
    case(lambda: Field.from_function(MESH, lambda x, d: np.zeros(5)), ValueError, r"function returned shape \(5,\)", "wrong-shape"),
    case(lambda: Field.from_function(MESH, lambda x, d: np.zeros((2, 2, 2))), ValueError, r"function returned shape", "wrong-ndim"),
    case(lambda: Field.from_function(MESH, lambda x, d: np.zeros(3), method="interpolate"), ValueError, r"function returned shape", "wrong-shape-interpolate"),
    case(lambda: Field.from_function(MESH, lambda x, d: np.full_like(x * d, np.nan)), ValueError, r"function returned NaN or inf", "nan"),
    case(lambda: Field.from_function(MESH, lambda x, d: 1.0 / (x * 0 + d * 0)), ValueError, r"function returned NaN or inf", "inf",
         pytest.mark.filterwarnings("ignore:divide by zero")),
    case(lambda: Field.from_function(MESH, lambda x, d: np.where(x > 0.9, np.nan, x + d), method="interpolate"), ValueError,
         r"function returned NaN or inf", "nan-interpolate"),
    case(lambda: Field.from_function(MESH, lambda x, d: x + d, method="spline"), ValueError, r"method must be 'l2' or 'interpolate'", "unknown-method"),
    case(lambda: Field.from_function(MESH, lambda x, d: x + d, method="L2"), ValueError, r"method must be 'l2' or 'interpolate'", "method-case"),
    case(lambda: Field.from_function(MESH, lambda x, d: x + d, quadrature_points=0), ValueError, r"quadrature_points must be >= 1", "zero-points"),
    case(lambda: Field.from_function(MESH, lambda x, d: x + d, quadrature_points=2.5), TypeError, r"quadrature_points must be an integer", "float-points"),
    case(lambda: Field.from_function(MESH, lambda x, d: (x + d) * 1j), TypeError, r"function returned complex", "complex"),
    case(lambda: Field.from_function(MESH, lambda x, d: np.full(np.broadcast(x, d).shape, "a")), TypeError, r"function returned",
         "strings"),
]


@pytest.mark.parametrize("call,error,match", FROM_FUNCTION_CASES)
def test_bad_from_function(call, error, match):
    check_raises(call, error, match)
    assert_field_still_works()


EVALUATE_CASES = [
    case(lambda: FIELD.evaluate(np.zeros((3, 3))), ValueError, r"points must have shape \(n, 2\), got \(3, 3\)", "three-columns"),
    case(lambda: FIELD.evaluate(np.zeros(4)), ValueError, r"points must have shape \(n, 2\), got \(4,\)", "flat"),
    case(lambda: FIELD.evaluate(np.zeros((2, 2, 2))), ValueError, r"points must have shape \(n, 2\)", "3d"),
    case(lambda: FIELD.evaluate(0.5), ValueError, r"points must have shape \(n, 2\)", "scalar"),
    case(lambda: FIELD.evaluate([[0.0, 1.5]]), ValueError, r"points must lie in the axis interval \[0, 1\]", "outside-depth"),
    case(lambda: FIELD.evaluate([[-1.01, 0.5]]), ValueError, r"points must lie in the axis interval \[-1, 1\]", "outside-width"),
    case(lambda: FIELD.evaluate([[0.0, 0.5], [0.0, -0.5]]), ValueError, r"points must lie in the axis interval", "one-outside"),
    case(lambda: FIELD.evaluate([[np.nan, 0.5]]), ValueError, r"points must be finite", "nan"),
    case(lambda: FIELD.evaluate([[0.0, np.inf]]), ValueError, r"points must be finite", "inf"),
    case(lambda: FIELD.evaluate([[0.0, 0.5]], derivative=(2, 0)), ValueError, r"derivative must be 2 entries of 0 or 1", "derivative-2"),
    case(lambda: FIELD.evaluate([[0.0, 0.5]], derivative=(1,)), ValueError, r"derivative must be 2 entries of 0 or 1", "derivative-short"),
    case(lambda: FIELD.evaluate([[0.0, 0.5]], side="middle"), ValueError, r"side must be 'left' or 'right'", "side"),
    case(lambda: FIELD.evaluate([[0.0, 0.5], [0.1]]), (TypeError, ValueError), r"points must", "ragged"),
    case(lambda: FIELD.evaluate("abc"), (TypeError, ValueError), r"points must", "string"),
    case(lambda: FIELD.evaluate_grid(np.linspace(-1, 1, 3)), ValueError, r"evaluate_grid needs 2 coordinate arrays, got 1", "grid-one-array"),
    case(lambda: FIELD.evaluate_grid([0.0], [2.0]), ValueError, r"points must lie in the axis interval \[0, 1\]", "grid-outside"),
]


@pytest.mark.parametrize("call,error,match", EVALUATE_CASES)
def test_bad_evaluate(call, error, match):
    check_raises(call, error, match)
    assert_field_still_works()


OTHER_BOX = bias_mesh(depth=uniform_axis((0.0, 2.0), 2, "p0", 0))  # depth [0, 2], not [0, 1]
SHIFTED_BOX = bias_mesh(width=uniform_axis((-1.0, 1.5), 4, "lagrange", 1))

PROJECTION_CASES = [
    case(lambda: FIELD.project(OTHER_BOX), ValueError, r"mesh covers the box .*same box", "other-depth"),
    case(lambda: FIELD.project(SHIFTED_BOX), ValueError, r"mesh covers the box", "other-width"),
    case(lambda: FIELD.project(weight_mesh()), ValueError, r"mesh covers the box", "3d-target"),
    case(lambda: FIELD.project(uniform_axis((-1, 1), 4)), ValueError, r"mesh covers the box", "1d-axis-target"),
    case(lambda: FIELD.project("mesh"), TypeError, r"mesh must be a Mesh or an Axis", "not-a-mesh"),
    case(lambda: Projector(OTHER_BOX, MESH), ValueError, r"target mesh covers the box", "projector-other-box"),
    case(lambda: Projector(weight_mesh(), MESH), ValueError, r"target mesh covers the box", "projector-other-dim"),
    case(lambda: Projector("target", MESH), TypeError, r"target must be a Mesh", "projector-target-type"),
    case(lambda: Projector(MESH, "source"), TypeError, r"source must be a Mesh", "projector-source-type"),
    case(lambda: l2_distance(FIELD, Field(OTHER_BOX)), ValueError, r"g mesh covers the box", "l2-other-box"),
    case(lambda: l2_distance(FIELD, Field(weight_mesh())), ValueError, r"g mesh covers the box", "l2-other-dim"),
    case(lambda: l2_distance(FIELD, 3.0), TypeError, r"g must be a Field", "l2-g-float"),
    case(lambda: l2_distance(FIELD, FIELD.coefficients), TypeError, r"g must be a Field", "l2-g-array"),
    case(lambda: l2_distance(None, FIELD), TypeError, r"f must be a Field", "l2-f-none"),
    case(lambda: FIELD + Field(MESH.refined()), ValueError, r"the fields live on different meshes", "add-other-mesh"),
    case(lambda: FIELD - 1.0, TypeError, r"other must be a Field", "subtract-float"),
    case(lambda: FIELD * np.ones(3), TypeError, r"real scalar", "multiply-array"),
    case(lambda: FIELD.inner(Field(MESH.refined())), ValueError, r"the fields live on different meshes", "inner-other-mesh"),
]


@pytest.mark.parametrize("call,error,match", PROJECTION_CASES)
def test_bad_projection(call, error, match):
    check_raises(call, error, match)
    assert_field_still_works()


PROJECTOR = Projector(MESH.refined(), MESH)

PROJECTOR_APPLY_CASES = [
    case(np.zeros((4, 9)), ValueError, r"coefficients must have shape \(\.\.\., 9, 4\)", "transposed"),
    case(np.zeros(36), ValueError, r"coefficients must have shape \(\.\.\., 9, 4\)", "flat"),
    case(np.zeros((9, 4, 1)), ValueError, r"coefficients must have shape \(\.\.\., 9, 4\)", "trailing-axis"),
    case(np.zeros(4), ValueError, r"coefficients must have shape \(\.\.\., 9, 4\)", "too-few-dims"),
    case(np.float64(1.0), ValueError, r"coefficients must have shape \(\.\.\., 9, 4\)", "scalar"),
    case(np.zeros((9, 4)) * 1j, TypeError, r"coefficients must be real", "complex"),
    case(np.full((9, 4), "x"), TypeError, r"coefficients must be", "strings"),
    case(np.full((9, 4), np.nan), ValueError, r"coefficients must be finite", "nan"),
]


@pytest.mark.parametrize("coefficients,error,match", PROJECTOR_APPLY_CASES)
def test_bad_projector_input(coefficients, error, match):
    check_raises(lambda: PROJECTOR(coefficients), error, match)
    batch = np.stack([FIELD.coefficients, 2 * FIELD.coefficients])
    out = PROJECTOR(batch)
    assert out.shape == (2,) + MESH.refined().shape
    assert np.allclose(out[1], 2 * out[0], rtol=1e-14, atol=1e-14)
    assert_field_still_works()


# --- quadrature and shape functions --------------------------------------------------------

QUADRATURE_CASES = [
    case(lambda: gauss_legendre(0), ValueError, r"n_points must be >= 1, got 0", "legendre-0"),
    case(lambda: gauss_legendre(-1), ValueError, r"n_points must be >= 1", "legendre-negative"),
    case(lambda: gauss_legendre(2.5), TypeError, r"n_points must be an integer", "legendre-float"),
    case(lambda: gauss_legendre(2.0), TypeError, r"n_points must be an integer", "legendre-integral-float"),
    case(lambda: gauss_legendre("3"), TypeError, r"n_points must be an integer", "legendre-string"),
    case(lambda: gauss_legendre(True), TypeError, r"n_points must be an integer", "legendre-bool"),
    case(lambda: gauss_lobatto(1), ValueError, r"n_points must be >= 2, got 1", "lobatto-1"),
    case(lambda: gauss_lobatto(0), ValueError, r"n_points must be >= 2", "lobatto-0"),
    case(lambda: gauss_lobatto(3.5), TypeError, r"n_points must be an integer", "lobatto-float"),
    case(lambda: quadrature_rule("gauss_lobatto", 1), ValueError, r"n_points must be >= 2", "rule-lobatto-1"),
    case(lambda: quadrature_rule("simpson", 3), ValueError, r"family must be one of", "rule-unknown-family"),
]


@pytest.mark.parametrize("call,error,match", QUADRATURE_CASES)
def test_bad_quadrature(call, error, match):
    check_raises(call, error, match)
    rule = gauss_legendre(3)
    assert rule.weights @ rule.points**4 == pytest.approx(0.4, rel=1e-14)
    assert np.allclose(gauss_lobatto(3).points, [-1.0, 0.0, 1.0])


TABULATE_CASES = [
    case(lambda: tabulate("lagrange", 1, [0.0], n_derivatives=2), ValueError, r"n_derivatives must be 0 or 1", "derivatives-2"),
    case(lambda: tabulate("hermite", 1, [0.0]), ValueError, r"family must be one of", "unknown-family"),
    case(lambda: tabulate("lagrange", 0, [0.0]), ValueError, r"order must be >= 1 for family 'lagrange'", "lagrange-order-0"),
    case(lambda: tabulate("legendre", -1, [0.0]), ValueError, r"order must be >= 0", "negative-order"),
    case(lambda: tabulate("p0", 3, [0.0]), ValueError, r"order must be 0 for family 'p0'", "p0-order-3"),
    case(lambda: tabulate("legendre", 1.5, [0.0]), TypeError, r"order must be an integer", "float-order"),
]


@pytest.mark.parametrize("call,error,match", TABULATE_CASES)
def test_bad_tabulate(call, error, match):
    check_raises(call, error, match)
    assert np.allclose(tabulate("lagrange", 1, [-1.0, 0.0, 1.0])[0], [[1, 0], [0.5, 0.5], [0, 1]])
    assert np.allclose(tabulate("lagrange", 2, [0.0])[0], [[0.0, 1.0, 0.0]])


# --- Runge–Kutta tableaus and integrate ------------------------------------------------------

from fem_nn import ButcherTableau, ContinuumNetwork, integrate, tableau  # noqa: E402


def rk(a=((0, 0), (1, 0)), b=(0.5, 0.5), c=(0, 1)):
    return lambda: ButcherTableau(np.array(a, float), np.array(b, float), np.array(c, float))


def f_linear(t, h):
    return -h


@pytest.mark.parametrize("call, error, match", [
    case(rk(a=((0, 0, 0), (1, 0, 0))), ValueError, "tableau 'a'", "tableau-a-not-square"),
    case(rk(a=((0.5, 0), (1, 0))), ValueError, "tableau 'a'", "tableau-implicit"),
    case(rk(b=(0.5, 0.25, 0.25)), ValueError, "tableau 'b'", "tableau-b-length"),
    case(rk(b=(0.5, 0.4)), ValueError, "tableau 'b'", "tableau-b-sum"),
    case(rk(c=(0, 0.5)), ValueError, "tableau 'c'", "tableau-c-not-row-sums"),
    case(rk(b=(np.nan, 0.5)), ValueError, "tableau 'b'", "tableau-nan"),
    case(lambda: tableau("rk5_imaginary"), ValueError, "scheme", "tableau-unknown-name"),
    case(lambda: tableau(4), TypeError, "scheme", "tableau-number"),
    case(lambda: integrate(f_linear, np.ones(2), steps=0), ValueError, "steps", "integrate-zero-steps"),
    case(lambda: integrate(f_linear, np.ones(2), steps=-3), ValueError, "steps", "integrate-negative-steps"),
    case(lambda: integrate(f_linear, np.ones(2), steps=2.5), TypeError, "steps", "integrate-float-steps"),
    case(lambda: integrate(f_linear, np.ones(2), steps=True), TypeError, "steps", "integrate-bool-steps"),
    case(lambda: integrate(f_linear, np.ones(2), 1.0, 0.0), ValueError, "t1", "integrate-backwards"),
    case(lambda: integrate(f_linear, np.ones(2), 0.0, np.inf), ValueError, "t1", "integrate-infinite-end"),
    case(lambda: integrate("not callable", np.ones(2)), TypeError, "f", "integrate-not-callable"),
])
def test_bad_tableaus_and_integration(call, error, match):
    check_raises(call, error, f"^{match}")
    assert abs(float(integrate(f_linear, np.array(1.0), steps=8, scheme="rk4")) - np.exp(-1)) < 1e-5


# --- the continuum network ---------------------------------------------------------------------

import torch  # noqa: E402


@pytest.fixture(scope="module")
def network():
    return ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)


@pytest.mark.parametrize("call, error, match", [
    case(lambda: ContinuumNetwork(bias_mesh(), bias_mesh()), ValueError, "weight_mesh", "network-2d-weight-mesh"),
    case(lambda: ContinuumNetwork(weight_mesh(), weight_mesh()), ValueError, "bias_mesh", "network-3d-bias-mesh"),
    case(lambda: ContinuumNetwork(weight_mesh(), bias_mesh(uniform_axis((0.0, 1.0), 8))), ValueError,
         "weight_mesh and bias_mesh disagree", "network-bias-on-another-box"),
    case(lambda: ContinuumNetwork(weight_mesh(), bias_mesh(), activation="swishy"), ValueError, "activation",
         "network-unknown-activation"),
    case(lambda: ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="leapfrog"), ValueError, "scheme",
         "network-unknown-scheme"),
    case(lambda: ContinuumNetwork(weight_mesh(), bias_mesh(), rhs="fourier"), ValueError, "rhs", "network-unknown-rhs"),
    case(lambda: ContinuumNetwork(weight_mesh(), bias_mesh(), steps=0), ValueError, "steps", "network-zero-steps"),
    case(lambda: ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.int32), ValueError, "dtype", "network-int-dtype"),
])
def test_bad_network_construction(call, error, match):
    check_raises(call, error, f"^{match}")


@pytest.mark.parametrize("x, points, error, match", [
    pytest.param(np.ones((2, 8)), None, TypeError, "x", id="x-numpy"),
    pytest.param(torch.ones(8, dtype=torch.float64), None, ValueError, "x", id="x-1d"),
    pytest.param(torch.ones(2, 0, dtype=torch.float64), None, ValueError, "x", id="x-no-samples"),
    pytest.param(torch.ones(2, 3, 8, dtype=torch.float64), None, ValueError, "x", id="x-3d"),
    pytest.param(torch.full((2, 8), np.nan, dtype=torch.float64), None, ValueError, "x", id="x-nan"),
    pytest.param(torch.tensor([[1.0] * 7 + [np.inf]], dtype=torch.float64), None, ValueError, "x", id="x-inf"),
    pytest.param(torch.ones(2, 8, dtype=torch.complex128), None, TypeError, "x", id="x-complex"),
    pytest.param(torch.ones(2, 8, dtype=torch.bool), None, TypeError, "x", id="x-bool"),
    pytest.param(torch.ones(2, 8, dtype=torch.float64), np.linspace(-1, 1, 5), ValueError, "points", id="points-count"),
    pytest.param(torch.ones(2, 3, dtype=torch.float64), [0.0, -0.5, 0.5], ValueError, "points", id="points-unsorted"),
    pytest.param(torch.ones(2, 3, dtype=torch.float64), [0.0, np.nan, 0.5], ValueError, "points", id="points-nan"),
])
def test_bad_network_input(network, x, points, error, match):
    with pytest.raises(error, match=f"^{match}"):
        network(x, points)
    assert network(torch.ones(2, 8, dtype=torch.float64)).shape == (2, len(network.nodes))


def test_an_empty_batch_gives_an_empty_output(network):
    assert network(torch.ones(0, 8, dtype=torch.float64)).shape == (0, len(network.nodes))


# --- refinement of live networks ---------------------------------------------------------------

from fem_nn import adapted_network, coarsened_network, elevated_network, refined_network, transfer_optimizer  # noqa: E402


@pytest.mark.parametrize("call, error, match", [
    case(lambda net: refined_network(net, "height"), ValueError, "axis", "refine-unknown-axis"),
    case(lambda net: refined_network(net, "depth", k=0), ValueError, "k", "refine-k-zero"),
    case(lambda net: refined_network(net, "depth", steps="triple"), ValueError, "steps", "refine-steps-word"),
    case(lambda net: refined_network(net, "depth", cells=[7]), ValueError, "cells", "refine-cell-out-of-range"),
    case(lambda net: coarsened_network(net, "depth", k=3), ValueError, "k", "coarsen-k-not-dividing"),
    case(lambda net: elevated_network(net, "width", by=-1), ValueError, "by", "elevate-negative"),
    case(lambda net: adapted_network(net, fraction=1.5), ValueError, "fraction", "adapt-fraction-above-1"),
    case(lambda net: adapted_network(net, fraction=0.5, count=1), ValueError, "give fraction or count",
         "adapt-fraction-and-count"),
    case(lambda net: adapted_network(net, count=9), ValueError, "count", "adapt-count-too-large"),
    case(lambda net: adapted_network(net, indicator="curvature"), ValueError, "indicator", "adapt-unknown-indicator"),
    case(lambda net: refined_network("a network", "depth"), TypeError, "network", "refine-not-a-network"),
    case(lambda net: transfer_optimizer("adam", net, net), TypeError, "optimizer", "transfer-not-an-optimizer"),
])
def test_bad_refinement(network, call, error, match):
    check_raises(lambda: call(network), error, f"^{match}")
    assert refined_network(network, "depth").weight_mesh.axes[2].n_cells == 8


# --- files: checkpoints, schedules, fields -----------------------------------------------------

import hashlib  # noqa: E402
import json  # noqa: E402

from safetensors.numpy import save as safetensors_bytes  # noqa: E402

from fem_nn import load_checkpoint, load_field, load_schedule, save_checkpoint, save_field  # noqa: E402


def folder_state(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def valid_checkpoint_bytes(tmp_path) -> bytes:
    save_checkpoint(tmp_path / "valid.safetensors", ContinuumNetwork(weight_mesh(), bias_mesh()))
    return (tmp_path / "valid.safetensors").read_bytes()


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


CHECKPOINTS = {
    "empty": lambda good: b"",
    "text": lambda good: b"this is not a checkpoint\n",
    "truncated-header": lambda good: good[:5],
    "truncated-quarter": lambda good: good[: len(good) // 4],
    "truncated-half": lambda good: good[: len(good) // 2],
    "truncated-last-byte": lambda good: good[:-1],
    "no-metadata": lambda good: safetensors_bytes({"param/weight": np.zeros((9, 9, 4), np.float32)}),
    "wrong-format": lambda good: safetensors_bytes({"x": np.zeros(1)}, metadata={"fem_nn": json.dumps({"format": "other"})}),
    "wrong-version": lambda good: safetensors_bytes(
        {"x": np.zeros(1)}, metadata={"fem_nn": json.dumps({"format": "fem_nn_checkpoint", "version": 99})}),
    "metadata-not-json": lambda good: safetensors_bytes({"x": np.zeros(1)}, metadata={"fem_nn": "{oops"}),
    "metadata-deeply-nested": lambda good: safetensors_bytes({"x": np.zeros(1)}, metadata={"fem_nn": deep_json(100_000)}),
    "huge-tensor-claim": lambda good: (lambda header: len(header).to_bytes(8, "little") + header)(
        json.dumps({"w": {"dtype": "F32", "shape": [10**12], "data_offsets": [0, 4 * 10**12]}}).encode()),
    "network-config-missing": lambda good: safetensors_bytes(
        {"param/weight": np.zeros((9, 9, 4), np.float32)},
        metadata={"fem_nn": json.dumps({"format": "fem_nn_checkpoint", "version": 1, "network": {}})}),
}


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_bad_checkpoint_files(tmp_path, name):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(CHECKPOINTS[name](valid_checkpoint_bytes(tmp_path)))
    before = folder_state(tmp_path)
    with pytest.raises(ValueError, match="bad.safetensors"):
        load_checkpoint(path)
    assert folder_state(tmp_path) == before


SCHEDULES = {
    "toml-syntax": ("s.toml", 'task = "digits"\nphases = [ { phase = "train", epochs = 1 }\n'),
    "json-syntax": ("s.json", '{"task": "digits", "phases": [}'),
    "unknown-phase": ("s.json", json.dumps({"task": "digits", "phases": [{"phase": "dance"}]})),
    "negative-epochs": ("s.json", json.dumps({"task": "digits", "phases": [{"phase": "train", "epochs": -1}]})),
    "epochs-as-text": ("s.json", json.dumps({"task": "digits", "phases": [{"phase": "train", "epochs": "ten"}]})),
    "unknown-key": ("s.json", json.dumps({"task": "digits", "phases": [{"phase": "train", "epochs": 1, "speed": 2}]})),
    "unknown-task": ("s.json", json.dumps({"task": "imagenet", "phases": [{"phase": "train", "epochs": 1}]})),
    "no-phases": ("s.json", json.dumps({"task": "digits", "phases": []})),
    "truncated": ("s.toml", 'task = "digits"\n[[phases]]\nphase = "tra'),
    "not-utf8": ("s.toml", b"\xff\xfe\x00task"),
    "wrong-suffix": ("s.yaml", "task: digits"),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_bad_schedule_files(tmp_path, name):
    file_name, content = SCHEDULES[name]
    path = tmp_path / file_name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = folder_state(tmp_path)
    with pytest.raises((ValueError, TypeError), match=file_name.replace(".", r"\.") + "|phase|task|epochs|suffix"):
        load_schedule(path)
    assert folder_state(tmp_path) == before


FIELDS = {
    "empty": lambda good: b"",
    "truncated": lambda good: good[: len(good) // 2],
    "checkpoint-not-field": lambda good: None,
    "nan-coefficients": lambda good: safetensors_bytes(
        {"coefficients": np.full(9, np.nan)},
        metadata={"fem_nn_field": json.dumps({"version": 1, "mesh": json.loads((
            '{"fem_nn_mesh": 1, "axes": [{"name": "xi", "interval": [-1, 1], "cells": 8, "family": "lagrange", "order": 1}]}'))})}),
    "hostile-mesh": lambda good: safetensors_bytes(
        {"coefficients": np.zeros(9)},
        metadata={"fem_nn_field": json.dumps({"version": 1, "mesh": {"fem_nn_mesh": 1, "axes": [
            {"name": "xi", "interval": [-1, 1], "cells": 10**9, "family": "lagrange", "order": 1}]}})}),
}


@pytest.mark.parametrize("name", FIELDS)
def test_bad_field_files(tmp_path, name):
    save_field(tmp_path / "good.safetensors", Field.from_function(bias_mesh(), lambda x, d: x + d))
    good = (tmp_path / "good.safetensors").read_bytes()
    content = FIELDS[name](good)
    if content is None:
        content = valid_checkpoint_bytes(tmp_path)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    before = folder_state(tmp_path)
    with pytest.raises(ValueError, match="bad.safetensors"):
        load_field(path)
    assert folder_state(tmp_path) == before


# --- the command line: exit code 2, the argument named, no file touched ----------------------

from fem_nn.cli import EXIT_BAD_INPUT, main  # noqa: E402

CLI_CASES = [
    (["mesh", "inspect", "{d}/missing.json"], "MESH"),
    (["mesh", "inspect", "{d}/hostile.json"], "hostile.json"),
    (["mesh", "create", "{d}/existing.json"], "OUT"),
    (["mesh", "create", "{d}/new.json", "--width-order", "-1"], "order"),
    (["mesh", "refine", "{d}/hostile.json", "{d}/new.json"], "hostile.json"),
    (["mesh", "refine", "default", "{d}/new.json", "--axis", "omega"], "axis"),
    (["mesh", "coarsen", "default", "{d}/new.json", "--axis", "delta", "--k", "3"], "k"),
    (["mesh", "elevate", "default", "{d}/new.json", "--cells", "40"], "cells"),
    (["mesh", "lower", "default", "{d}/new.json", "--by", "9"], "order"),
    (["mesh", "convert", "default", "{d}/new.stl"], "OUT"),
    (["mesh", "convert", "default", "{d}/existing.json"], "OUT"),
    (["project", "{d}/truncated.safetensors", "default", "{d}/new.safetensors"], "truncated.safetensors"),
    (["project", "{d}/field.safetensors", "{d}/hostile.json", "{d}/new.safetensors"], "hostile.json"),
    (["project", "{d}/field.safetensors", "default", "{d}/new.safetensors"], "MESH"),
    (["export", "{d}/field.safetensors", "{d}/new.obj"], "OUT"),
    (["export", "{d}/field.safetensors", "{d}/new.vtu", "--points-per-cell", "1"], "points_per_cell"),
    (["export", "{d}/field.safetensors", "{d}/existing.json"], "OUT"),
    (["export", "{d}/existing.json", "{d}/new.vtu"], "INPUT"),
    (["plot", "{d}/truncated.safetensors", "{d}/new.png"], "truncated.safetensors"),
    (["plot", "{d}/hostile.json", "{d}/new.png"], "hostile.json"),
    (["train", "{d}/hostile.json"], "hostile.json"),
    (["train", "{d}/missing.toml"], "missing.toml"),
]


@pytest.mark.parametrize("argv, named", CLI_CASES, ids=[" ".join(a[:2]) + f"-{i}" for i, (a, _) in enumerate(CLI_CASES)])
def test_bad_command_lines(tmp_path, capsys, argv, named):
    save_field(tmp_path / "field.safetensors", Field.from_function(bias_mesh(), lambda x, d: x + d))
    (tmp_path / "truncated.safetensors").write_bytes((tmp_path / "field.safetensors").read_bytes()[:100])
    (tmp_path / "hostile.json").write_text(json.dumps({"fem_nn_mesh": 1, "axes": [
        {"name": "xi", "interval": [-1, 1], "cells": 10**9, "family": "lagrange", "order": 1}]}))
    (tmp_path / "existing.json").write_text("keep me")
    before = folder_state(tmp_path)
    assert main([a.format(d=tmp_path) for a in argv]) == EXIT_BAD_INPUT
    assert named in capsys.readouterr().err
    assert folder_state(tmp_path) == before  # nothing changed, nothing new


@pytest.mark.parametrize("argv", [
    ["mesh", "refine", "default", "x.json", "--k", "0"],
    ["mesh", "create", "x.json", "--width-cells", "many"],
    ["export"],
    ["plot", "a"],
    ["bench", "nothing"],
    ["train", "progressive", "--task", "cifar"],
], ids=lambda argv: " ".join(argv))
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == EXIT_BAD_INPUT and "usage: fem-nn" in capsys.readouterr().err
