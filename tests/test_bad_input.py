"""Bad input gets a clear error, raised before any work is done.

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
    case(lambda: P0_ODD.coarsened(), ValueError, r"cannot coarsen 3 cells by k=2", "coarsen-odd"),
    case(lambda: P0_ODD.coarsened(k=1), ValueError, r"k must be >= 2", "coarsen-k-1"),
    case(lambda: P0_ODD.coarsened(k=3.0), TypeError, r"k must be an integer", "coarsen-k-float"),
    case(lambda: NON_UNIFORM.coarsened(), ValueError, r"cannot coarsen by k=2: .*not a uniform refinement", "coarsen-non-uniform"),
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
