"""Bad input gets a clear error, raised before any work is done.

Covered, each case a different malformed input:

- axes, meshes, orders, families and axis lookup; fields, projections and projectors;
  quadrature and tabulation;
- Runge–Kutta tableaus (shape, triangularity, Σb, c = A·1, NaN / inf, non-numeric entries,
  false order claims), scheme names, :func:`~fem_nn.integrate` and ``step`` (steps, interval,
  dt, callables, checkpointing);
- the continuum network: its construction (mesh dimensions and boxes, activation, scheme,
  rhs, steps, dtype, weights, read-out) and its input (shape, dtype, NaN / inf, points); an
  empty batch ``(0, n)`` is not malformed and gives an empty output;
- tasks (:class:`~fem_nn.Task`): kind, input and target types, shapes and dtypes, NaN / inf
  named with the first offending row, labels outside the classes, counts that disagree;
- refinement of live networks: refine / coarsen / elevate / lower / project / adapt,
  indicators and optimizer transfer (axes, k, by, steps, fraction / count, non-networks);
- checkpoint, schedule and field files (empty, text, random, truncated at several places,
  lying safetensors headers, wrong metadata or version, deeply nested or huge-integer JSON,
  hostile network configs, parameters and optimizer state, every schedule key with a wrong
  type or value), each naming the file, with every file in the folder byte-identical
  afterwards; missing files and folders are named too;
- every ``fem-nn`` command (``mesh create|inspect|refine|coarsen|elevate|lower|convert``,
  ``project``, ``export``, ``plot``, ``train``): exit code 2, the argument or file named on
  stderr, no file changed, removed or created (``train`` included: its run folder is left
  alone); argparse usage errors exit 2 naming the option.

Mesh files have their own module, test_mesh_files.py, and field files more in test_export.py.

Every case checks the exception type (ValueError or TypeError; FileNotFoundError for a
missing file), a message that names the argument (the ``match`` regex starts with the
argument's name) or the file, and that a valid call right after the bad one still works (no
cache, shared array or object left in a bad state).
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
    case(lambda: WEIGHTS.coarsened("Depth"), ValueError, r"axis must be one of", "coarsen-unknown-name"),
    case(lambda: WEIGHTS.elevated("breadth"), ValueError, r"or an alias 'width' \(xi, eta\), 'depth' \(delta\), got 'breadth'", "elevate-unknown-name"),
    case(lambda: WEIGHTS.axis_index("width"), ValueError, r"axis 'width' names 2 axes of this mesh \('xi', 'eta'\); give one", "index-alias-of-two"),
    case(lambda: bias_mesh().refined("eta"), ValueError, r"axis must be one of \('xi', 'delta'\) or an alias 'width' \(xi\)", "bias-has-no-eta"),
    case(lambda: Mesh([AXIS], names=("a",)).refined("depth"), ValueError, r"axis must be one of \('a',\), got 'depth'", "alias-on-custom-names"),
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


# --- Runge–Kutta tableaus, integrate and step ------------------------------------------------

import functools  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402

import safetensors.numpy  # noqa: E402
import torch  # noqa: E402
from safetensors.numpy import save as safetensors_bytes  # noqa: E402

from fem_nn import ButcherTableau, ContinuumNetwork, integrate, tableau  # noqa: E402
from fem_nn.integrators import step  # noqa: E402

HEUN = dict(a=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 1])


def rk(**changes):
    """Heun's tableau with `changes`, as given (lists, not arrays: ragged and non-numeric
    entries must reach the constructor)."""
    arguments = {**HEUN, **changes}
    return lambda: ButcherTableau(**arguments)


def f_linear(t, h):
    return -h


def rk_integrate(**changes):
    arguments = dict(f=f_linear, h0=np.ones(2))
    arguments.update(changes)
    return lambda: integrate(**arguments)


def rk_step(**changes):
    arguments = dict(f=f_linear, t=0.0, h=np.ones(2), dt=0.1, scheme="rk4")
    arguments.update(changes)
    return lambda: step(**arguments)


@pytest.mark.parametrize("call, error, match", [
    # ButcherTableau
    case(rk(a=((0, 0, 0), (1, 0, 0))), ValueError, "tableau 'a'", "tableau-a-not-square"),
    case(rk(a=((0.5, 0), (1, 0))), ValueError, "tableau 'a'", "tableau-implicit"),
    case(rk(a=[[0, 0.5], [1, 0]]), ValueError, "tableau 'a'", "tableau-a-upper-entry"),
    case(rk(a=[[0], [1, 0]]), ValueError, "tableau 'a'", "tableau-a-ragged"),
    case(rk(a=[["0", "0"], ["1", "0"]]), TypeError, "tableau 'a'", "tableau-a-strings"),
    case(rk(a=None), TypeError, "tableau 'a'", "tableau-a-none"),
    case(rk(a=np.zeros((0, 0)), b=[], c=[]), ValueError, "tableau 'a'", "tableau-no-stages"),
    case(rk(a=[0, 1]), ValueError, "tableau 'a'", "tableau-a-1d"),
    case(rk(a=[[0, 0], [np.inf, 0]]), ValueError, "tableau 'a'", "tableau-a-inf"),
    case(rk(b=(0.5, 0.25, 0.25)), ValueError, "tableau 'b'", "tableau-b-length"),
    case(rk(b=[[0.5, 0.5]]), ValueError, "tableau 'b'", "tableau-b-2d"),
    case(rk(b=(0.5, 0.4)), ValueError, "tableau 'b'", "tableau-b-sum"),
    case(rk(b=(np.nan, 0.5)), ValueError, "tableau 'b'", "tableau-nan"),
    case(rk(b=[True, False]), TypeError, "tableau 'b'", "tableau-b-booleans"),
    case(rk(c=(0, 0.5)), ValueError, "tableau 'c'", "tableau-c-not-row-sums"),
    case(rk(c=[0, 1, 2]), ValueError, "tableau 'c'", "tableau-c-length"),
    case(rk(c=[0, 1j]), TypeError, "tableau 'c'", "tableau-c-complex"),
    case(rk(name=3), TypeError, "tableau 'name'", "tableau-name-number"),
    case(rk(order=3), ValueError, "tableau 'order'", "tableau-order-claim-too-high"),
    case(rk(order=0), ValueError, "tableau 'order'", "tableau-order-zero"),
    case(rk(order=2.0), TypeError, "tableau 'order'", "tableau-order-float"),
    # tableau
    case(lambda: tableau("rk5_imaginary"), ValueError, "scheme", "tableau-unknown-name"),
    case(lambda: tableau("RK4"), ValueError, "scheme", "tableau-name-case"),
    case(lambda: tableau(""), ValueError, "scheme", "tableau-empty-name"),
    case(lambda: tableau(4), TypeError, "scheme", "tableau-number"),
    case(lambda: tableau(None), TypeError, "scheme", "tableau-none"),
    case(lambda: tableau([[0]]), TypeError, "scheme", "tableau-matrix"),
    # integrate
    case(rk_integrate(steps=0), ValueError, "steps", "integrate-zero-steps"),
    case(rk_integrate(steps=-3), ValueError, "steps", "integrate-negative-steps"),
    case(rk_integrate(steps=2.5), TypeError, "steps", "integrate-float-steps"),
    case(rk_integrate(steps=np.float64(4)), TypeError, "steps", "integrate-numpy-float-steps"),
    case(rk_integrate(steps=True), TypeError, "steps", "integrate-bool-steps"),
    case(rk_integrate(steps="4"), TypeError, "steps", "integrate-string-steps"),
    case(rk_integrate(steps=None), TypeError, "steps", "integrate-none-steps"),
    case(rk_integrate(t0=1.0, t1=1.0), ValueError, "t1", "integrate-empty-interval"),
    case(rk_integrate(t0=0.5, t1=0.5), ValueError, "t1", "integrate-empty-interval"),
    case(rk_integrate(t1=np.inf), ValueError, "t1", "integrate-infinite-end"),
    case(rk_integrate(t1=None), TypeError, "t1", "integrate-none-end"),
    case(rk_integrate(t1=1j), TypeError, "t1", "integrate-complex-end"),
    case(rk_integrate(t0=np.nan), ValueError, "t0", "integrate-nan-start"),
    case(rk_integrate(t0="0"), TypeError, "t0", "integrate-string-start"),
    case(rk_integrate(f="not callable"), TypeError, "f", "integrate-not-callable"),
    case(rk_integrate(f=None), TypeError, "f", "integrate-none-f"),
    case(rk_integrate(scheme="rk45"), ValueError, "scheme", "integrate-unknown-scheme"),
    case(rk_integrate(h0=torch.ones(2), checkpoint=True, return_trajectory=True), ValueError, "checkpoint",
         "integrate-checkpoint-and-trajectory"),
    case(rk_integrate(checkpoint=True), TypeError, "checkpoint", "integrate-checkpoint-numpy-state"),
    # step
    case(rk_step(f=3), TypeError, "f must", "step-not-callable"),
    case(rk_step(t=np.nan), ValueError, "t must", "step-nan-time"),
    case(rk_step(t="a"), TypeError, "t must", "step-string-time"),
    case(rk_step(dt=0.0), ValueError, "dt", "step-zero-dt"),
    case(rk_step(dt=-1.0), ValueError, "dt", "step-negative-dt"),
    case(rk_step(dt=np.nan), ValueError, "dt", "step-nan-dt"),
    case(rk_step(dt="0.1"), TypeError, "dt", "step-string-dt"),
    case(rk_step(scheme="bogus"), ValueError, "scheme", "step-unknown-scheme"),
])
def test_bad_tableaus_and_integration(call, error, match):
    check_raises(call, error, f"^{match}")
    assert abs(float(integrate(f_linear, np.array(1.0), steps=8, scheme="rk4")) - np.exp(-1)) < 1e-5
    assert np.allclose(step(f_linear, 0.0, np.ones(2), 0.5, "heun"), 0.625)


# --- the continuum network ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def network():
    return ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)


def other_box(which: str) -> Mesh:
    """A weight mesh with one axis on another interval."""
    axes = list(weight_mesh().axes)
    index = {"xi": 0, "eta": 1, "delta": 2}[which]
    axes[index] = uniform_axis((axes[index].interval[0], 2.0), axes[index].n_cells, "p0", 0)
    return Mesh(axes, ("xi", "eta", "delta"))


def make_network(**changes):
    arguments = dict(weight_mesh=weight_mesh(), bias_mesh=bias_mesh())
    arguments.update(changes)
    return lambda: ContinuumNetwork(**arguments)


@pytest.mark.parametrize("call, error, match", [
    case(make_network(weight_mesh=bias_mesh()), ValueError, "weight_mesh", "network-2d-weight-mesh"),
    case(make_network(bias_mesh=weight_mesh()), ValueError, "bias_mesh", "network-3d-bias-mesh"),
    case(make_network(weight_mesh=None), ValueError, "weight_mesh", "network-no-weight-mesh"),
    case(make_network(weight_mesh="default"), ValueError, "weight_mesh", "network-weight-mesh-name"),
    case(make_network(weight_mesh=uniform_axis((-1, 1), 4)), ValueError, "weight_mesh", "network-axis-as-weight-mesh"),
    case(make_network(weight_mesh=bias_mesh(), bias_mesh=weight_mesh()), ValueError, "weight_mesh",
         "network-meshes-swapped"),
    case(make_network(bias_mesh=bias_mesh(uniform_axis((0.0, 1.0), 8))), ValueError,
         "weight_mesh and bias_mesh disagree", "network-bias-on-another-box"),
    case(make_network(weight_mesh=other_box("xi")), ValueError, "weight_mesh and bias_mesh disagree",
         "network-xi-on-another-interval"),
    case(make_network(weight_mesh=other_box("eta")), ValueError, "weight_mesh and bias_mesh disagree",
         "network-eta-on-another-interval"),
    case(make_network(weight_mesh=other_box("delta")), ValueError, "weight_mesh and bias_mesh disagree",
         "network-depth-on-another-interval"),
    case(make_network(activation="swishy"), ValueError, "activation", "network-unknown-activation"),
    case(make_network(activation=None), ValueError, "activation", "network-none-activation"),
    case(make_network(activation=3), ValueError, "activation", "network-number-activation"),
    case(make_network(scheme="leapfrog"), ValueError, "scheme", "network-unknown-scheme"),
    case(make_network(scheme=None), TypeError, "scheme", "network-none-scheme"),
    case(make_network(rhs="fourier"), ValueError, "rhs", "network-unknown-rhs"),
    case(make_network(rhs="INTEGRAL"), ValueError, "rhs", "network-rhs-case"),
    case(make_network(rhs=None), ValueError, "rhs", "network-none-rhs"),
    case(make_network(steps=0), ValueError, "steps", "network-zero-steps"),
    case(make_network(steps=-1), ValueError, "steps", "network-negative-steps"),
    case(make_network(steps=2.0), TypeError, "steps", "network-float-steps"),
    case(make_network(steps=True), TypeError, "steps", "network-bool-steps"),
    case(make_network(steps="4"), TypeError, "steps", "network-string-steps"),
    case(make_network(dtype=torch.int32), ValueError, "dtype", "network-int-dtype"),
    case(make_network(dtype=torch.complex64), ValueError, "dtype", "network-complex-dtype"),
    case(make_network(dtype=np.float64), ValueError, "dtype", "network-numpy-dtype"),
    case(make_network(dtype="float64"), ValueError, "dtype", "network-string-dtype"),
    case(make_network(weights={"w": np.zeros(3)}), ValueError, "weights", "network-weights-unknown-name"),
    case(make_network(weights={"weight": np.zeros(3)}), ValueError, "weights", "network-weights-wrong-shape"),
    case(make_network(weights={"bias": np.full((9, 4), np.nan)}), ValueError, "weights", "network-weights-nan"),
    case(make_network(weights={"bias": np.zeros((9, 4), int)}), TypeError, "weights", "network-weights-int"),
    case(make_network(output_mesh=bias_mesh()), ValueError, "output_mesh", "network-2d-output-mesh"),
    case(make_network(output_mesh=Mesh([uniform_axis((0, 1), 4, "p0", 0)])), ValueError, "output_mesh",
         "network-output-mesh-on-another-interval"),
    case(make_network(output_mesh=[]), ValueError, "output_mesh", "network-no-output-points"),
    case(make_network(output_mesh=[[0.0, 0.5]]), ValueError, "output_mesh", "network-2d-output-points"),
    case(make_network(rate="fast"), TypeError, "rate", "network-string-rate"),
    case(make_network(rate=np.nan), ValueError, "rate", "network-nan-rate"),
    case(make_network(rate=10**400), ValueError, "rate", "network-huge-rate"),
    case(make_network(weights=[1, 2]), TypeError, "weights", "network-weights-list"),
    case(make_network(output_mesh="ten"), TypeError, "output_mesh", "network-string-output-mesh"),
    case(make_network(output_mesh=[[0.0], [0.5, 1.0]]), TypeError, "output_mesh", "network-ragged-output-points"),
    case(make_network(dtype=torch.float16), ValueError, "dtype", "network-float16-dtype"),
    case(make_network(memory_flat="no"), TypeError, "memory_flat", "network-string-memory-flat"),
])
def test_bad_network_construction(call, error, match):
    check_raises(call, error, f"^{match}")
    assert make_network(steps=2)().steps == 2


@pytest.mark.parametrize("x, points, error, match", [
    pytest.param(np.ones((2, 8)), None, TypeError, "x", id="x-numpy"),
    pytest.param([[1.0] * 8], None, TypeError, "x", id="x-list"),
    pytest.param(torch.tensor(1.0, dtype=torch.float64), None, ValueError, "x", id="x-0d"),
    pytest.param(torch.ones(8, dtype=torch.float64), None, ValueError, "x", id="x-1d"),
    pytest.param(torch.ones(2, 0, dtype=torch.float64), None, ValueError, "x", id="x-no-samples"),
    pytest.param(torch.ones(0, 0, dtype=torch.float64), None, ValueError, "x", id="x-no-batch-no-samples"),
    pytest.param(torch.ones(2, 3, 8, dtype=torch.float64), None, ValueError, "x", id="x-3d"),
    pytest.param(torch.full((2, 8), np.nan, dtype=torch.float64), None, ValueError, "x", id="x-nan"),
    pytest.param(torch.full((2, 8), np.nan, dtype=torch.float64, requires_grad=True), None, ValueError, "x",
                 id="x-nan-requiring-grad"),
    pytest.param(torch.full((8, 2), np.nan, dtype=torch.float64).T, None, ValueError, "x", id="x-nan-transposed"),
    pytest.param(torch.tensor([[1.0] * 7 + [np.inf]], dtype=torch.float64), None, ValueError, "x", id="x-inf"),
    pytest.param(torch.full((1, 8), -np.inf, dtype=torch.float64), None, ValueError, "x", id="x-minus-inf"),
    pytest.param(torch.full((1, 8), np.nan, dtype=torch.float32), None, ValueError, "x", id="x-nan-float32"),
    pytest.param(torch.ones(2, 8, dtype=torch.complex128), None, TypeError, "x", id="x-complex"),
    pytest.param(torch.ones(2, 8, dtype=torch.bool), None, TypeError, "x", id="x-bool"),
    pytest.param(torch.ones(2, 8, dtype=torch.float64), np.linspace(-1, 1, 5), ValueError, "points", id="points-count"),
    pytest.param(torch.ones(2, 3, dtype=torch.float64), [[0.0, 0.5, 1.0]], ValueError, "points", id="points-2d"),
    pytest.param(torch.ones(2, 3, dtype=torch.float64), [0.0, -0.5, 0.5], ValueError, "points", id="points-unsorted"),
    pytest.param(torch.ones(2, 3, dtype=torch.float64), [0.0, 0.0, 0.5], ValueError, "points", id="points-repeated"),
    pytest.param(torch.ones(2, 3, dtype=torch.float64), [0.0, np.nan, 0.5], ValueError, "points", id="points-nan"),
    pytest.param(torch.ones(2, 3, dtype=torch.float64), [0.0, 0.5, np.inf], ValueError, "points", id="points-inf"),
    pytest.param(torch.ones(2, 8, device="meta"), None, (TypeError, ValueError), "x", id="x-on-meta-device"),
    pytest.param(torch.ones(2, 8, dtype=torch.float64).to_sparse(), None, (TypeError, ValueError), "x", id="x-sparse"),
    pytest.param(torch.ones(2, 3, dtype=torch.float64), ["a", "b", "c"], (TypeError, ValueError), "points",
                 id="points-strings"),
    pytest.param(torch.ones(2, 3, dtype=torch.float64), [0.0, 0.5, 1j], (TypeError, ValueError), "points",
                 id="points-complex"),
])
def test_bad_network_input(network, x, points, error, match):
    with pytest.raises(error, match=f"^{match}"):
        network(x, points)
    assert network(torch.ones(2, 8, dtype=torch.float64)).shape == (2, len(network.nodes))


@pytest.mark.parametrize("points", [None, [-1.0, 0.0, 1.0]], ids=["cells", "points"])
def test_an_empty_batch_gives_an_empty_output(network, points):
    # (0, n) is a batch of no signals, not a malformed one: its output is (0, nodes)
    assert network(torch.ones(0, 3, dtype=torch.float64), points).shape == (0, len(network.nodes))


# --- refinement of live networks ---------------------------------------------------------------

from fem_nn import (  # noqa: E402
    adapted_network, coarsened_network, depth_indicators, depth_smoothness, elevated_network, error_indicators,
    lowered_network, projected_network, refined_network, transfer_optimizer,
)
from fem_nn.continuum import network_axes  # noqa: E402


def rmsprop_after_a_step():
    """An RMSprop optimizer with state (``square_avg``, whose transfer is unknown) and its
    network, both new: the module's network must keep no gradients."""
    net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    optimizer = torch.optim.RMSprop(net.parameters(), momentum=0.9)
    net(torch.ones(2, 8, dtype=torch.float64)).sum().backward()
    optimizer.step()
    return optimizer, net


def other_network_adam(net):
    return torch.optim.Adam(ContinuumNetwork(weight_mesh(), bias_mesh()).parameters())


@pytest.mark.parametrize("call, error, match", [
    # refined_network
    case(lambda net: refined_network(net, "height"), ValueError, "axis", "refine-unknown-axis"),
    case(lambda net: refined_network(net, "Delta"), ValueError, "axis must be one of", "refine-mesh-axis-case"),
    case(lambda net: refined_network(net, None), ValueError, "axis", "refine-none-axis"),
    case(lambda net: refined_network(net, ["depth"]), ValueError, "axis", "refine-axis-list"),
    case(lambda net: refined_network(net, 2), ValueError, "axis", "refine-axis-index"),
    case(lambda net: refined_network(net, "depth", k=0), ValueError, "k", "refine-k-zero"),
    case(lambda net: refined_network(net, "depth", k=1), ValueError, "k", "refine-k-one"),
    case(lambda net: refined_network(net, "depth", k=-1), ValueError, "k", "refine-k-negative"),
    case(lambda net: refined_network(net, "depth", k=2.0), TypeError, "k", "refine-k-float"),
    case(lambda net: refined_network(net, "depth", k="2"), TypeError, "k", "refine-k-string"),
    case(lambda net: refined_network(net, "depth", k=True), TypeError, "k", "refine-k-bool"),
    case(lambda net: refined_network(net, "depth", steps="triple"), ValueError, "steps", "refine-steps-word"),
    case(lambda net: refined_network(net, "depth", steps="halve"), ValueError, "steps", "refine-steps-halve"),
    case(lambda net: refined_network(net, "depth", steps="DOUBLE"), ValueError, "steps", "refine-steps-case"),
    case(lambda net: refined_network(net, "depth", steps=0), ValueError, "steps", "refine-steps-zero"),
    case(lambda net: refined_network(net, "depth", steps=-2), ValueError, "steps", "refine-steps-negative"),
    case(lambda net: refined_network(net, "depth", steps=2.5), ValueError, "steps", "refine-steps-float"),
    case(lambda net: refined_network(net, "depth", steps=True), ValueError, "steps", "refine-steps-bool"),
    case(lambda net: refined_network(net, "depth", steps=None), ValueError, "steps", "refine-steps-none"),
    case(lambda net: refined_network(net, "depth", cells=[7]), ValueError, "cells", "refine-cell-out-of-range"),
    case(lambda net: refined_network("a network", "depth"), TypeError, "network", "refine-not-a-network"),
    # coarsened_network
    case(lambda net: coarsened_network(net, "depth", k=3), ValueError, "k", "coarsen-k-not-dividing"),
    case(lambda net: coarsened_network(net, "width", k=3), ValueError, "k", "coarsen-width-k-not-dividing"),
    case(lambda net: coarsened_network(net, "depth", k=0), ValueError, "k", "coarsen-k-zero"),
    case(lambda net: coarsened_network(net, "depth", k="2"), TypeError, "k", "coarsen-k-string"),
    case(lambda net: coarsened_network(net, "depth", steps="double"), ValueError, "steps", "coarsen-steps-double"),
    case(lambda net: coarsened_network(net, "height"), ValueError, "axis", "coarsen-unknown-axis"),
    case(lambda net: coarsened_network(None), TypeError, "network", "coarsen-none-network"),
    # elevated_network, lowered_network
    case(lambda net: elevated_network(net, "width", by=-1), ValueError, "by", "elevate-negative"),
    case(lambda net: elevated_network(net, "width", by=1.5), TypeError, "by", "elevate-float"),
    case(lambda net: elevated_network(net, "z"), ValueError, "axis", "elevate-unknown-axis"),
    case(lambda net: elevated_network(net, "width", cells=[100]), ValueError, "cells", "elevate-cell-out-of-range"),
    case(lambda net: elevated_network({}, "width"), TypeError, "network", "elevate-dict-network"),
    case(lambda net: lowered_network(net, "depth"), ValueError, "cannot lower", "lower-p0-depth"),
    case(lambda net: lowered_network(net, "width"), ValueError, "cannot lower", "lower-lagrange-width"),
    case(lambda net: lowered_network(net, "width", by=-1), ValueError, "by", "lower-negative"),
    case(lambda net: lowered_network(3), TypeError, "network", "lower-number-network"),
    # projected_network
    case(lambda net: projected_network("x"), TypeError, "network", "project-string-network"),
    case(lambda net: projected_network(net, "mesh"), TypeError, "weight_mesh", "project-string-weight-mesh"),
    case(lambda net: projected_network(net, bias_mesh()), ValueError, "weight_mesh", "project-2d-weight-mesh"),
    case(lambda net: projected_network(net, None, weight_mesh()), ValueError, "bias_mesh", "project-3d-bias-mesh"),
    case(lambda net: projected_network(net, other_box("delta")), ValueError, "weight_mesh", "project-other-box"),
    case(lambda net: projected_network(net, steps=0), ValueError, "steps", "project-zero-steps"),
    case(lambda net: projected_network(net, steps="double"), TypeError, "steps", "project-steps-word"),
    case(lambda net: projected_network(net, scheme="nope"), ValueError, "scheme", "project-unknown-scheme"),
    # adapted_network
    case(lambda net: adapted_network(net, fraction=1.5), ValueError, "fraction", "adapt-fraction-above-1"),
    case(lambda net: adapted_network(net, fraction=0), ValueError, "fraction", "adapt-fraction-zero"),
    case(lambda net: adapted_network(net, fraction=-0.5), ValueError, "fraction", "adapt-fraction-negative"),
    case(lambda net: adapted_network(net, fraction=float("nan")), ValueError, "fraction", "adapt-fraction-nan"),
    case(lambda net: adapted_network(net, fraction="half"), ValueError, "fraction", "adapt-fraction-word"),
    case(lambda net: adapted_network(net, fraction=True), ValueError, "fraction", "adapt-fraction-bool"),
    case(lambda net: adapted_network(net, fraction=0.5, count=1), ValueError, "give fraction or count",
         "adapt-fraction-and-count"),
    case(lambda net: adapted_network(net, count=9), ValueError, "count", "adapt-count-too-large"),
    case(lambda net: adapted_network(net, count=0), ValueError, "count", "adapt-count-zero"),
    case(lambda net: adapted_network(net, count=1.0), ValueError, "count", "adapt-count-float"),
    case(lambda net: adapted_network(net, count=True), ValueError, "count", "adapt-count-bool"),
    case(lambda net: adapted_network(net, indicator="curvature"), ValueError, "indicator", "adapt-unknown-indicator"),
    case(lambda net: adapted_network(net, indicator="smoothness"), ValueError, "indicator",
         "adapt-smoothness-indicator"),
    case(lambda net: adapted_network(net, indicator="gradient"), ValueError, "indicator", "adapt-gradient-no-backward"),
    case(lambda net: adapted_network(net, hp="yes"), TypeError, "hp", "adapt-hp-word"),
    case(lambda net: adapted_network(net, smooth=0), ValueError, "smooth", "adapt-smooth-zero"),
    case(lambda net: adapted_network(net, smooth=2), ValueError, "smooth", "adapt-smooth-above-1"),
    case(lambda net: adapted_network(net, axis="nope"), ValueError, "axis", "adapt-unknown-axis"),
    case(lambda net: adapted_network(net, steps="many"), ValueError, "steps", "adapt-steps-word"),
    case(lambda net: adapted_network(None), TypeError, "network", "adapt-none-network"),
    # indicators
    case(lambda net: error_indicators(net, "depth", "bogus"), ValueError, "kind", "indicators-unknown-kind"),
    case(lambda net: error_indicators(net, "nope"), ValueError, "axis", "indicators-unknown-axis"),
    case(lambda net: error_indicators(net, "depth", "gradient"), ValueError, "kind", "indicators-gradient-no-backward"),
    case(lambda net: error_indicators("net"), TypeError, "network", "indicators-string-network"),
    case(lambda net: depth_indicators(None), TypeError, "network", "depth-indicators-none"),
    case(lambda net: depth_smoothness(1), TypeError, "network", "depth-smoothness-number"),
    case(lambda net: network_axes("time"), ValueError, "axis", "network-axes-unknown"),
    # transfer_optimizer
    case(lambda net: transfer_optimizer("adam", net, net), TypeError, "optimizer", "transfer-not-an-optimizer"),
    case(lambda net: transfer_optimizer(torch.optim.Adam(net.parameters()), "old", net), TypeError, "old",
         "transfer-string-old"),
    case(lambda net: transfer_optimizer(torch.optim.Adam(net.parameters()), net, None), TypeError, "new",
         "transfer-none-new"),
    case(lambda net: transfer_optimizer(torch.optim.Adam(net.parameters()), net,
                                        ContinuumNetwork(weight_mesh(), bias_mesh(), rhs="two_layer")),
         ValueError, "old and new networks have different parameters", "transfer-other-parameters"),
    case(lambda net: transfer_optimizer(other_network_adam(net), net, net), ValueError, "optimizer",
         "transfer-optimizer-of-another-network"),
    case(lambda net: (lambda o, n: transfer_optimizer(o, n, refined_network(n)))(*rmsprop_after_a_step()),
         ValueError, "optimizer state 'square_avg'", "transfer-rmsprop-state"),
])
def test_bad_refinement(network, call, error, match):
    check_raises(lambda: call(network), error, f"^{match}")
    assert all(p.grad is None for p in network.parameters())
    assert refined_network(network, "depth").weight_mesh.axes[2].n_cells == 8


# --- tasks: checked at construction, the offending row named ----------------------------------

from fem_nn import Task  # noqa: E402

X, LABELS, TARGETS = torch.rand(10, 8), torch.arange(10) % 3, torch.rand(10, 3)


def with_row(tensor, row: int, value):
    changed = tensor.clone()
    changed[row] = value
    return changed


def make_task(kind="classification", **changes):
    y = LABELS if kind == "classification" else TARGETS
    arguments = dict(name="t", kind=kind, x_train=X, y_train=y, x_test=X[:4], y_test=y[:4], output_cells=3)
    arguments.update(changes)
    return lambda: Task(**arguments)


TASK_CASES = [
    case(make_task(kind="regresion"), ValueError, "kind must be one of", "task-misspelt-kind"),
    case(make_task(kind=None), ValueError, "kind", "task-no-kind"),
    case(make_task(x_train=X.numpy()), TypeError, "x_train must be a torch.Tensor", "task-numpy-inputs"),
    case(make_task(y_train=LABELS.tolist()), TypeError, "y_train must be a torch.Tensor", "task-list-labels"),
    case(make_task(x_train=X.flatten()), ValueError, "x_train must be a float tensor", "task-1d-inputs"),
    case(make_task(x_train=(X * 10).long()), ValueError, "x_train must be a float tensor", "task-integer-inputs"),
    case(make_task(x_train=with_row(X, 5, float("nan"))), ValueError, "x_train must be finite: row 5 has NaN",
         "task-nan-input-row"),
    case(make_task(x_test=with_row(X[:4], 0, float("inf"))), ValueError, "x_test must be finite: row 0",
         "task-inf-test-row"),
    case(make_task(x_test=torch.rand(4, 7)), ValueError, "x_test has 7 samples per input, x_train 8",
         "task-test-sample-count"),
    case(make_task(y_train=LABELS[:9]), ValueError, "y_train has 9 rows, but x_train has 10", "task-fewer-labels"),
    case(make_task(y_test=LABELS[:5]), ValueError, "y_test has 5 rows, but x_test has 4", "task-more-test-labels"),
    case(make_task(y_train=LABELS.float()), ValueError, "y_train must be integer class labels", "task-float-labels"),
    case(make_task(y_train=LABELS.bool()), ValueError, "y_train must be integer class labels", "task-bool-labels"),
    case(make_task(y_test=LABELS[:4, None]), ValueError, "y_test must be integer class labels", "task-2d-labels"),
    case(make_task(y_train=with_row(LABELS, 7, 3)), ValueError, r"y_train: row 7 has label 3, outside \[0, 3\)",
         "task-label-too-large"),
    case(make_task(y_train=with_row(LABELS, 2, -1)), ValueError, "y_train: row 2 has label -1", "task-negative-label"),
    case(make_task("regression", y_train=with_row(TARGETS, 4, float("nan"))), ValueError,
         "y_train must be finite: row 4", "task-nan-target-row"),
    case(make_task("regression", y_train=torch.rand(10, 4)), ValueError, "y_train must be a float tensor",
         "task-targets-of-other-cells"),
    case(make_task("regression", y_test=LABELS[:4]), ValueError, "y_test must be a float tensor",
         "task-labels-as-targets"),
    case(make_task(output_cells=0), ValueError, "output_cells must be a positive integer", "task-no-output-cells"),
    case(make_task(output_cells=True), ValueError, "output_cells", "task-bool-output-cells"),
    case(make_task(output_cells=3.0), ValueError, "output_cells", "task-float-output-cells"),
    case(make_task(logit_scale=float("nan")), ValueError, "logit_scale must be a finite number", "task-nan-logit-scale"),
]


@pytest.mark.parametrize("call, error, match", TASK_CASES)
def test_bad_task(call, error, match):
    check_raises(call, error, f"^{match}")
    assert make_task()().metric_name == "test_accuracy" and make_task("regression")().kind == "regression"


# --- files: checkpoints, schedules, fields -----------------------------------------------------

from fem_nn import load_checkpoint, load_field, load_schedule, save_checkpoint, save_field, save_mesh  # noqa: E402


def folder_state(folder):
    """Every file's hash and every folder, by path below `folder`: a changed, removed or new
    file or folder changes it."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
        for p in sorted(folder.rglob("*"))
    }


@functools.lru_cache(maxsize=None)
def good_checkpoint():
    """A valid checkpoint with Adam state: its bytes, its fem_nn header and its tensors."""
    net = ContinuumNetwork(weight_mesh(), bias_mesh())
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.ones(2, 8)).sum().backward()
    adam.step()
    with tempfile.TemporaryDirectory() as folder:
        save_checkpoint(f"{folder}/c.safetensors", net, adam, metadata={"epoch": 1})
        data = open(f"{folder}/c.safetensors", "rb").read()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(json.loads(data[8 : 8 + length])["__metadata__"]["fem_nn"])
    return data, header, safetensors.numpy.load(data)


def raw_safetensors(header: dict, body: bytes = b"") -> bytes:
    """A safetensors file from a header written by hand (which may lie)."""
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + body


def checkpoint_with(header=None, network=None, optimizer=None, tensors=None, drop=(), metadata=None) -> bytes:
    """The good checkpoint with entries of its header, its network config, its optimizer
    record or its tensors replaced (or `drop`ped), or its whole fem_nn metadata text."""
    _, good_header, good_tensors = good_checkpoint()
    h = {**good_header, **(header or {})}
    if network is not None:
        h["network"] = {**good_header["network"], **network}
    if optimizer is not None:
        h["optimizer"] = {**good_header["optimizer"], **optimizer}
    t = {k: v for k, v in {**good_tensors, **(tensors or {})}.items() if k not in drop}
    return safetensors_bytes(t, metadata={"fem_nn": json.dumps(h) if metadata is None else metadata})


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def truncated(fraction: float):
    return lambda: good_checkpoint()[0][: int(len(good_checkpoint()[0]) * fraction)]


def header_length() -> int:
    return int.from_bytes(good_checkpoint()[0][:8], "little")


WEIGHT_SHAPE, F32 = (9, 9, 4), np.float32
HOSTILE_MESH = {"fem_nn_mesh": 1, "axes": [{"name": "xi", "interval": [-1, 1], "cells": 10**9, "family": "lagrange",
                                            "order": 1}]}

CHECKPOINTS = {
    # not a safetensors file at all
    "empty": lambda: b"",
    "text": lambda: b"this is not a checkpoint\n",
    "all-zero-bytes": lambda: bytes(1000),
    "random-bytes": lambda: np.random.default_rng(0).bytes(4096),
    # truncated, at several places
    "truncated-length-prefix": lambda: good_checkpoint()[0][:5],
    "truncated-mid-header": lambda: good_checkpoint()[0][: 8 + header_length() // 2],
    "truncated-after-header": lambda: good_checkpoint()[0][: 8 + header_length()],
    "truncated-quarter": truncated(0.25),
    "truncated-half": truncated(0.5),
    "truncated-three-quarters": truncated(0.75),
    "truncated-last-byte": lambda: good_checkpoint()[0][:-1],
    "trailing-garbage": lambda: good_checkpoint()[0] + b"junk",
    # a lying safetensors header
    "header-length-huge": lambda: (2**63).to_bytes(8, "little") + b"{}",
    "header-not-json": lambda: (5).to_bytes(8, "little") + b"{oops",
    "header-json-array": lambda: (2).to_bytes(8, "little") + b"[]",
    "huge-tensor-claim": lambda: raw_safetensors({"w": {"dtype": "F32", "shape": [10**12], "data_offsets": [0, 4 * 10**12]}}),
    "overlapping-tensors": lambda: raw_safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)),
    "unknown-dtype": lambda: raw_safetensors({"a": {"dtype": "X99", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)),
    "negative-shape": lambda: raw_safetensors({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, bytes(8)),
    # the fem_nn metadata
    "no-metadata": lambda: safetensors_bytes({"param/weight": np.zeros(WEIGHT_SHAPE, F32)}),
    "wrong-format": lambda: checkpoint_with(header={"format": "other"}),
    "wrong-version": lambda: checkpoint_with(header={"version": 99}),
    "version-true": lambda: checkpoint_with(header={"version": True}),
    "version-float": lambda: checkpoint_with(header={"version": 1.0}),
    "version-string": lambda: checkpoint_with(header={"version": "1"}),
    "metadata-not-json": lambda: checkpoint_with(metadata="{oops"),
    "metadata-deeply-nested": lambda: checkpoint_with(metadata=deep_json(100_000)),
    "metadata-huge-integer": lambda: checkpoint_with(metadata='{"format": "fem_nn_checkpoint", "version": ' + "1" * 5000 + "}"),
    "metadata-array": lambda: checkpoint_with(metadata="[1, 2]"),
    "metadata-null": lambda: checkpoint_with(metadata="null"),
    # the network's config
    "network-config-empty": lambda: checkpoint_with(header={"network": {}}),
    "network-config-string": lambda: checkpoint_with(header={"network": "net"}),
    "network-negative-steps": lambda: checkpoint_with(network={"steps": -1}),
    "network-unknown-scheme": lambda: checkpoint_with(network={"scheme": "rk99"}),
    "network-implicit-tableau": lambda: checkpoint_with(network={"scheme": {"a": [[1]], "b": [1], "c": [0]}}),
    "network-tableau-extra-key": lambda: checkpoint_with(network={"scheme": {"a": [[0]], "b": [1], "c": [0], "evil": 1}}),
    "network-hostile-activation": lambda: checkpoint_with(network={"activation": "os.system"}),
    "network-float16": lambda: checkpoint_with(network={"dtype": "float16"}),
    "network-rhs-null": lambda: checkpoint_with(network={"rhs": None}),
    "network-hostile-output-mesh": lambda: checkpoint_with(network={"output": {"mesh": {"evil": 1}}}),
    "network-output-points-outside": lambda: checkpoint_with(network={"output": {"points": [0.0, 5.0]}}),
    "network-2d-weight-mesh": lambda: checkpoint_with(network={"weight_mesh": good_checkpoint()[1]["network"]["bias_mesh"]}),
    "network-huge-weight-mesh": lambda: checkpoint_with(network={"weight_mesh": HOSTILE_MESH}),
    # the parameters
    "param-wrong-shape": lambda: checkpoint_with(tensors={"param/weight": np.zeros((3, 3, 3), F32)}),
    "param-nan": lambda: checkpoint_with(tensors={"param/weight": np.full(WEIGHT_SHAPE, np.nan, F32)}),
    "param-missing": lambda: checkpoint_with(drop=("param/weight",)),
    "param-unknown": lambda: checkpoint_with(tensors={"param/extra": np.zeros(3, F32)}),
    # the optimizer
    "optimizer-state-wrong-shape": lambda: checkpoint_with(tensors={"optim/weight/exp_avg": np.zeros(3, F32)}),
    "optimizer-state-nan": lambda: checkpoint_with(tensors={"optim/weight/exp_avg": np.full(WEIGHT_SHAPE, np.nan, F32)}),
    "optimizer-state-integer": lambda: checkpoint_with(tensors={"optim/weight/exp_avg": np.zeros(WEIGHT_SHAPE, np.int32)}),
    "optimizer-state-unknown-parameter": lambda: checkpoint_with(tensors={"optim/nothing/exp_avg": np.zeros(3, F32)}),
    "optimizer-unknown-class": lambda: checkpoint_with(optimizer={"class": "Evil"}),
    "optimizer-dunder-class": lambda: checkpoint_with(optimizer={"class": "__class__"}),
    "optimizer-no-groups": lambda: checkpoint_with(optimizer={"param_groups": []}),
    "optimizer-two-groups": lambda: checkpoint_with(optimizer={"param_groups": [{"lr": 0.1}, {"lr": 0.1}]}),
    "optimizer-lr-string": lambda: checkpoint_with(optimizer={"param_groups": [{"lr": "fast"}]}),
    "optimizer-lr-negative": lambda: checkpoint_with(optimizer={"param_groups": [{"lr": -1}]}),
    "optimizer-scalars-list": lambda: checkpoint_with(optimizer={"scalars": [1]}),
    "optimizer-scalar-string": lambda: checkpoint_with(optimizer={"scalars": {"weight": {"step": "x"}}}),
    "optimizer-string": lambda: checkpoint_with(header={"optimizer": "adam"}),
    "optimizer-null": lambda: checkpoint_with(header={"optimizer": None}),
}


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_bad_checkpoint_files(tmp_path, name):
    (tmp_path / "valid.safetensors").write_bytes(good_checkpoint()[0])
    path = tmp_path / "bad.safetensors"
    path.write_bytes(CHECKPOINTS[name]())
    before = folder_state(tmp_path)
    with pytest.raises(ValueError, match="bad.safetensors"):
        load_checkpoint(path)
    assert folder_state(tmp_path) == before
    assert load_checkpoint(tmp_path / "valid.safetensors")[2] == {"epoch": 1}


def schedule_json(phases=({"phase": "train", "epochs": 1},), **top) -> str:
    return json.dumps({"task": "digits", "phases": list(phases), **top})


def one_phase(**phase) -> str:
    return schedule_json([phase])


TOML_TRAIN = 'task = "digits"\n{top}[[phases]]\nphase = "train"\nepochs = {epochs}\n{phase}'

# name: (file name, content, what the message must name besides the file)
SCHEDULES = {
    # not a schedule file
    "toml-syntax": ("s.toml", 'task = "digits"\nphases = [ { phase = "train", epochs = 1 }\n', "TOML"),
    "json-syntax": ("s.json", '{"task": "digits", "phases": [}', "JSON"),
    "truncated": ("s.toml", 'task = "digits"\n[[phases]]\nphase = "tra', "TOML"),
    "truncated-json": ("s.json", schedule_json()[:-7], "JSON"),
    "empty-json": ("s.json", "", "JSON"),
    "empty-toml": ("s.toml", "", "task"),
    "not-utf8": ("s.toml", b"\xff\xfe\x00task", "text"),
    "utf8-bom": ("s.json", b"\xef\xbb\xbf" + schedule_json().encode(), "JSON"),
    "nul-byte": ("s.toml", b'task = "digits"\x00\n', "TOML"),
    "wrong-suffix": ("s.yaml", "task: digits", "JSON"),
    "deeply-nested-json": ("s.json", deep_json(100_000), "JSON"),
    "deeply-nested-toml": ("s.toml", "a = " + deep_json(100_000), "TOML"),
    "huge-integer-json": ("s.json", '{"task": "digits", "seed": ' + "9" * 5000 + "}", "JSON"),
    "top-level-array": ("s.json", "[1, 2]", "top level"),
    "top-level-string": ("s.json", '"digits"', "top level"),
    # the top level
    "unknown-task": ("s.json", schedule_json(task="imagenet"), "task"),
    "no-task": ("s.json", json.dumps({"phases": [{"phase": "train", "epochs": 1}]}), "task"),
    "unknown-top-key": ("s.json", schedule_json(tasks="digits"), "tasks"),
    "no-phases": ("s.json", schedule_json(phases=[]), "phases"),
    "phases-a-table": ("s.json", json.dumps({"task": "digits", "phases": {"phase": "train"}}), "phases"),
    "negative-seed": ("s.json", schedule_json(seed=-1), "seed"),
    "float-seed": ("s.json", schedule_json(seed=1.5), "seed"),
    "zero-max-parameters": ("s.json", schedule_json(max_parameters=0), "max_parameters"),
    # training
    "training-not-a-table": ("s.json", schedule_json(training=[1]), "training"),
    "training-unknown-key": ("s.json", schedule_json(training={"momentum": 0.9}), "momentum"),
    "training-unknown-optimizer": ("s.json", schedule_json(training={"optimizer": "lbfgs"}), "training.optimizer"),
    "training-learning-rate-word": ("s.json", schedule_json(training={"learning_rate": "fast"}), "training.learning_rate"),
    "training-learning-rate-zero": ("s.json", schedule_json(training={"learning_rate": 0}), "training.learning_rate"),
    "training-learning-rate-inf": ("s.toml", TOML_TRAIN.format(top="training = { learning_rate = inf }\n", epochs=1,
                                                               phase=""), "training.learning_rate"),
    "training-batch-size-zero": ("s.json", schedule_json(training={"batch_size": 0}), "training.batch_size"),
    "training-batch-size-word": ("s.json", schedule_json(training={"batch_size": "64"}), "training.batch_size"),
    "training-weight-decay-negative": ("s.json", schedule_json(training={"weight_decay": -1}), "training.weight_decay"),
    # network
    "network-unknown-key": ("s.json", schedule_json(network={"layers": 3}), "layers"),
    "network-zero-width-cells": ("s.json", schedule_json(network={"width_cells": 0}), "network"),
    "network-width-cells-word": ("s.json", schedule_json(network={"width_cells": "8"}), "network"),
    "network-unknown-family": ("s.json", schedule_json(network={"width_family": "hermite"}), "network"),
    "network-unknown-scheme": ("s.json", schedule_json(network={"scheme": "rk99"}), "network.scheme"),
    "network-zero-steps": ("s.json", schedule_json(network={"steps": 0}), "network.steps"),
    "network-scale-word": ("s.json", schedule_json(network={"scale": "big"}), "network.scale"),
    "network-too-large": ("s.json", schedule_json(network={"width_cells": 10**6}), "max_parameters"),
    # phases
    "phase-a-string": ("s.json", schedule_json(["train"]), r"phases\[0\]"),
    "phase-without-kind": ("s.json", one_phase(epochs=1), "'phase' key"),
    "unknown-phase": ("s.json", one_phase(phase="dance"), "unknown phase 'dance'"),
    "phase-kind-number": ("s.json", one_phase(phase=3), "unknown phase 3"),
    "phase-kind-list": ("s.json", one_phase(phase=["train"]), "unknown phase"),
    "unknown-key": ("s.json", one_phase(phase="train", epochs=1, speed=2), "speed"),
    "negative-epochs": ("s.json", one_phase(phase="train", epochs=-1), "epochs"),
    "zero-epochs": ("s.json", one_phase(phase="train", epochs=0), "epochs"),
    "epochs-as-text": ("s.json", one_phase(phase="train", epochs="ten"), "epochs"),
    "epochs-float": ("s.json", one_phase(phase="train", epochs=2.5), "epochs"),
    "epochs-bool": ("s.json", one_phase(phase="train", epochs=True), "epochs"),
    "epochs-missing": ("s.json", one_phase(phase="train"), "epochs"),
    "epochs-nan": ("s.toml", TOML_TRAIN.format(top="", epochs="nan", phase=""), "epochs"),
    "phase-learning-rate-nan": ("s.toml", TOML_TRAIN.format(top="", epochs=1, phase="learning_rate = nan\n"),
                                "learning_rate"),
    "phase-learning-rate-word": ("s.json", one_phase(phase="train", epochs=1, learning_rate="fast"), "learning_rate"),
    "phase-learning-rate-negative": ("s.json", one_phase(phase="train", epochs=1, learning_rate=-1.0), "learning_rate"),
    "refine-unknown-axis": ("s.json", one_phase(phase="refine", axis="time"), "axis"),
    "refine-axis-list": ("s.json", one_phase(phase="refine", axis=["depth"]), "axis"),
    "refine-k-one": ("s.json", one_phase(phase="refine", k=1), "k must"),
    "refine-steps-word": ("s.json", one_phase(phase="refine", steps="triple"), "steps"),
    "refine-cell-out-of-range": ("s.json", one_phase(phase="refine", cells=[99]), "cells"),
    "refine-cells-word": ("s.json", one_phase(phase="refine", cells="all"), "cells"),
    "refinements-too-large": ("s.json", schedule_json([{"phase": "refine", "axis": "width"}] * 12), "max_parameters"),
    "coarsen-one-cell": ("s.json", one_phase(phase="coarsen"), "k must divide"),
    "lower-below-minimum": ("s.json", one_phase(phase="lower", axis="depth"), "cannot lower"),
    "elevate-by-zero": ("s.json", one_phase(phase="elevate", by=0), "by must"),
    "adapt-fraction-2": ("s.json", one_phase(phase="adapt", fraction=2), "fraction"),
    "adapt-hp-word": ("s.json", one_phase(phase="adapt", hp="yes"), "hp"),
    "remanifest-unknown-scheme": ("s.json", one_phase(phase="remanifest", scheme="rk99", steps=2), "scheme"),
    "remanifest-negative-steps": ("s.json", one_phase(phase="remanifest", scheme="rk4", steps=-2), "steps"),
    "remanifest-without-scheme": ("s.json", one_phase(phase="remanifest", steps=2), "scheme"),
    "mgopt-zero-cycles": ("s.json", one_phase(phase="mgopt", cycles=0), "cycles"),
    "mgopt-one-level": ("s.json", one_phase(phase="mgopt", cycles=1, levels=1), "levels"),
    "project-down-no-depths": ("s.json", one_phase(phase="project_down", depth_cells=[]), "depth_cells"),
    "project-down-unknown-scheme": ("s.json", one_phase(phase="project_down", depth_cells=[1], schemes=["rk99"]),
                                    "schemes"),
    "project-down-schemes-string": ("s.json", one_phase(phase="project_down", depth_cells=[1], schemes="rk4"),
                                    "schemes"),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_bad_schedule_files(tmp_path, name):
    file_name, content, what = SCHEDULES[name]
    (tmp_path / "good.json").write_text(schedule_json())
    path = tmp_path / file_name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = folder_state(tmp_path)
    with pytest.raises((ValueError, TypeError)) as info:
        load_schedule(path)
    message = str(info.value)
    assert file_name in message and re.search(what, message), message
    assert folder_state(tmp_path) == before
    assert load_schedule(tmp_path / "good.json").phases[0].kind == "train"


@functools.lru_cache(maxsize=None)
def good_field_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        save_field(f"{folder}/f.safetensors", Field.from_function(bias_mesh(), lambda x, d: x + d))
        return open(f"{folder}/f.safetensors", "rb").read()


def field_with(coefficients=None, header=None, metadata=None, extra=None) -> bytes:
    """The good field file with its coefficients, its header entries or its whole
    fem_nn_field metadata text replaced, or another tensor added."""
    good = safetensors.numpy.load(good_field_bytes())
    length = int.from_bytes(good_field_bytes()[:8], "little")
    good_header = json.loads(json.loads(good_field_bytes()[8 : 8 + length])["__metadata__"]["fem_nn_field"])
    tensors = {"coefficients": good["coefficients"] if coefficients is None else coefficients, **(extra or {})}
    text = json.dumps({**good_header, **(header or {})}) if metadata is None else metadata
    return safetensors_bytes(tensors, metadata={"fem_nn_field": text})


FIELDS = {
    "empty": lambda: b"",
    "text": lambda: b"coefficients = [1, 2, 3]\n",
    "random-bytes": lambda: np.random.default_rng(1).bytes(2048),
    "truncated": lambda: good_field_bytes()[: len(good_field_bytes()) // 2],
    "checkpoint-not-field": lambda: good_checkpoint()[0],
    "nan-coefficients": lambda: field_with(coefficients=np.full((9, 4), np.nan)),
    "wrong-shape": lambda: field_with(coefficients=np.zeros(7)),
    "extra-tensor": lambda: field_with(extra={"evil": np.zeros(1)}),
    "wrong-version": lambda: field_with(header={"version": 2}),
    "version-true": lambda: field_with(header={"version": True}),
    "metadata-not-json": lambda: field_with(metadata="{oops"),
    "metadata-deeply-nested": lambda: field_with(metadata=deep_json(100_000)),
    "hostile-mesh": lambda: field_with(coefficients=np.zeros(9), header={"mesh": HOSTILE_MESH}),
}


@pytest.mark.parametrize("name", FIELDS)
def test_bad_field_files(tmp_path, name):
    (tmp_path / "good.safetensors").write_bytes(good_field_bytes())
    path = tmp_path / "bad.safetensors"
    path.write_bytes(FIELDS[name]())
    before = folder_state(tmp_path)
    with pytest.raises(ValueError, match="bad.safetensors"):
        load_field(path)
    assert folder_state(tmp_path) == before
    assert load_field(tmp_path / "good.safetensors").mesh == bias_mesh()


@pytest.mark.parametrize("load", [load_checkpoint, load_field, load_schedule], ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_missing_file_or_a_folder_is_named(tmp_path, load, kind):
    path = tmp_path / ("missing.json" if kind == "missing" else "folder.json")
    if kind == "folder":
        path.mkdir()
    before = folder_state(tmp_path)
    with pytest.raises((FileNotFoundError, IsADirectoryError, ValueError), match=re.escape(path.name)):
        load(path)
    assert folder_state(tmp_path) == before


# --- the command line: exit code 2, the argument named, no file touched ----------------------

from fem_nn.cli import EXIT_BAD_INPUT, main  # noqa: E402


@pytest.fixture
def cli_folder(tmp_path, monkeypatch):
    """A folder of good and malformed input files, the working directory (``train``'s
    default output folder lands here)."""
    files = {
        "field.safetensors": good_field_bytes(),
        "checkpoint.safetensors": good_checkpoint()[0],
        "truncated.safetensors": good_field_bytes()[:100],
        "text.safetensors": b"hello",
        "hostile.json": json.dumps(HOSTILE_MESH),
        "existing.json": "keep me",
        "deep.json": deep_json(100_000),
        "huge-int.json": '{"fem_nn_mesh": ' + "9" * 5000 + "}",
        "empty.json": "",
        "list.json": "[]",
        "nan.json": json.dumps({"fem_nn_mesh": 1, "axes": [{"name": "xi", "breakpoints": [0, float("nan"), 1],
                                                            "family": "p0", "order": 0}]}),
        "order.json": json.dumps({"fem_nn_mesh": 1, "axes": [{"name": "xi", "interval": [-1, 1], "cells": 4,
                                                              "family": "lagrange", "order": 99999}]}),
        "not-utf8.jsonl": b"\xff\xfe",
        "bad-history.jsonl": "{not json}\n",
        "history.json": json.dumps({"history": [{"epoch": 1, "loss": 0.5}]}),
        "deep-schedule.json": deep_json(100_000),
        "bad-batch.toml": TOML_TRAIN.format(top="training = { batch_size = 0 }\n", epochs=1, phase=""),
        "syntax.toml": 'task = "digits"\nphases = [\n',
        "unknown-phase.json": one_phase(phase="dance"),
        "run/metrics.jsonl": '{"epoch": 1}\n',
    }
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    save_field(tmp_path / "weight.safetensors", Field(weight_mesh()))
    save_mesh(tmp_path / "bias.json", bias_mesh())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(argv, named, id):
    """A malformed command line and what its message must name (a string or several)."""
    return pytest.param(argv, (named,) if isinstance(named, str) else named, id=id)


CLI_CASES = [
    # mesh inspect
    cli(["mesh", "inspect", "{d}/missing.json"], "MESH", "inspect-missing"),
    cli(["mesh", "inspect", "{d}/hostile.json"], "hostile.json", "inspect-hostile"),
    cli(["mesh", "inspect", "{d}/deep.json"], "deep.json", "inspect-deeply-nested"),
    cli(["mesh", "inspect", "{d}/huge-int.json"], "huge-int.json", "inspect-huge-integer"),
    cli(["mesh", "inspect", "{d}/empty.json"], "empty.json", "inspect-empty"),
    cli(["mesh", "inspect", "{d}/list.json"], "list.json", "inspect-array"),
    cli(["mesh", "inspect", "{d}/nan.json"], ("nan.json", "breakpoints"), "inspect-nan-breakpoint"),
    cli(["mesh", "inspect", "{d}/order.json"], ("order.json", "order"), "inspect-huge-order"),
    cli(["mesh", "inspect", "{d}/text.safetensors"], "text.safetensors", "inspect-text-file"),
    cli(["mesh", "inspect", "{d}/field.safetensors"], "field.safetensors", "inspect-binary-file"),
    cli(["mesh", "inspect", "{d}/run"], "MESH", "inspect-folder"),
    # mesh create
    cli(["mesh", "create", "{d}/existing.json"], "OUT", "create-existing"),
    cli(["mesh", "create", "{d}/nowhere/new.json"], "OUT", "create-missing-folder"),
    cli(["mesh", "create", "{d}/run"], "OUT", "create-onto-folder"),
    cli(["mesh", "create", "{d}/new.json", "--width-order", "-1"], "order", "create-negative-order"),
    cli(["mesh", "create", "{d}/new.json", "--width-order", "0"], "order", "create-lagrange-order-0"),
    cli(["mesh", "create", "{d}/new.json", "--depth-order", "1"], "order", "create-p0-order-1"),
    cli(["mesh", "create", "{d}/new.xyz"], "OUT", "create-wrong-suffix"),
    # mesh refine
    cli(["mesh", "refine", "{d}/hostile.json", "{d}/new.json"], "hostile.json", "refine-hostile"),
    cli(["mesh", "refine", "{d}/missing.json", "{d}/new.json"], "MESH", "refine-missing"),
    cli(["mesh", "refine", "default", "{d}/existing.json"], "OUT", "refine-existing"),
    cli(["mesh", "refine", "default", "{d}/new.json", "--axis", "omega"], "axis", "refine-unknown-axis"),
    cli(["mesh", "refine", "default", "{d}/new.json", "--axis", "5"], "axis", "refine-axis-index"),
    cli(["mesh", "refine", "default", "{d}/new.json", "--k", "1"], "k must", "refine-k-1"),
    cli(["mesh", "refine", "default", "{d}/new.json", "--cells", "99"], "cells", "refine-cell-out-of-range"),
    cli(["mesh", "refine", "default", "{d}/new.json", "--cells", "-99"], "cells", "refine-cell-below-range"),
    # mesh coarsen
    cli(["mesh", "coarsen", "default", "{d}/new.json", "--axis", "delta", "--k", "3"], "k", "coarsen-k-not-dividing"),
    cli(["mesh", "coarsen", "graded_hp", "{d}/new.json", "--axis", "delta"], "k must divide", "coarsen-odd-cells"),
    cli(["mesh", "coarsen", "{d}/deep.json", "{d}/new.json"], "deep.json", "coarsen-deeply-nested"),
    # mesh elevate
    cli(["mesh", "elevate", "default", "{d}/new.json", "--cells", "40"], "cells", "elevate-cell-out-of-range"),
    cli(["mesh", "elevate", "default", "{d}/new.json", "--axis", "zeta"], "axis", "elevate-unknown-axis"),
    cli(["mesh", "elevate", "{d}/empty.json", "{d}/new.json"], "empty.json", "elevate-empty"),
    # mesh lower
    cli(["mesh", "lower", "default", "{d}/new.json", "--by", "9"], "order", "lower-too-far"),
    cli(["mesh", "lower", "resnet_16x8", "{d}/new.json", "--axis", "delta"], "order", "lower-p0"),
    cli(["mesh", "lower", "{d}/list.json", "{d}/new.json"], "list.json", "lower-array"),
    # mesh convert
    cli(["mesh", "convert", "default", "{d}/new.stl"], "OUT", "convert-unknown-suffix"),
    cli(["mesh", "convert", "default", "{d}/new"], "OUT", "convert-no-suffix"),
    cli(["mesh", "convert", "default", "{d}/existing.json"], "OUT", "convert-existing"),
    cli(["mesh", "convert", "default", "{d}/nowhere/new.vtu"], "OUT", "convert-missing-folder"),
    cli(["mesh", "convert", "{d}/deep.json", "{d}/new.json"], "deep.json", "convert-deeply-nested"),
    # project
    cli(["project", "{d}/truncated.safetensors", "default", "{d}/new.safetensors"], "truncated.safetensors",
        "project-truncated"),
    cli(["project", "{d}/text.safetensors", "default", "{d}/new.safetensors"], "text.safetensors", "project-text"),
    cli(["project", "{d}/missing.safetensors", "default", "{d}/new.safetensors"], "FIELD", "project-missing"),
    cli(["project", "{d}/field.safetensors", "{d}/hostile.json", "{d}/new.safetensors"], "hostile.json",
        "project-hostile-mesh"),
    cli(["project", "{d}/field.safetensors", "{d}/nan.json", "{d}/new.safetensors"], "nan.json", "project-nan-mesh"),
    cli(["project", "{d}/field.safetensors", "default", "{d}/new.safetensors"], "MESH", "project-other-box"),
    cli(["project", "{d}/field.safetensors", "{d}/bias.json", "{d}/existing.json"], "OUT", "project-existing"),
    cli(["project", "{d}/history.json", "{d}/bias.json", "{d}/new.safetensors"], "FIELD", "project-history"),
    cli(["project", "{d}/checkpoint.safetensors", "default", "{d}/new.safetensors", "--parameter", "gamma"],
        "--parameter", "project-unknown-parameter"),
    cli(["project", "{d}/field.safetensors", "{d}/bias.json", "{d}/new.safetensors", "--parameter", "weight"],
        "--parameter", "project-parameter-of-a-field"),
    cli(["project", "{d}/deep.json", "{d}/bias.json", "{d}/new.safetensors"], ("FIELD", "deep.json"),
        "project-deeply-nested"),
    # export
    cli(["export", "{d}/field.safetensors", "{d}/new.obj"], "OUT", "export-unknown-suffix"),
    cli(["export", "{d}/field.safetensors", "{d}/existing.json"], "OUT", "export-existing"),
    cli(["export", "{d}/field.safetensors", "{d}/nowhere/new.vtu"], "OUT", "export-missing-folder"),
    cli(["export", "{d}/field.safetensors", "{d}/new.vtu", "--points-per-cell", "1"], "points_per_cell",
        "export-one-point"),
    cli(["export", "{d}/field.safetensors", "{d}/new.vtu", "--points-per-cell", "-5"], "points_per_cell",
        "export-negative-points"),
    cli(["export", "{d}/field.safetensors", "{d}/new.vtu", "--points-per-cell", "100000"], "points_per_cell",
        "export-huge-points"),
    cli(["export", "{d}/existing.json", "{d}/new.vtu"], "INPUT", "export-not-json"),
    cli(["export", "{d}/empty.json", "{d}/new.vtu"], "INPUT", "export-empty"),
    cli(["export", "{d}/huge-int.json", "{d}/new.vtu"], "huge-int.json", "export-huge-integer"),
    cli(["export", "{d}/text.safetensors", "{d}/new.vtu"], "text.safetensors", "export-text"),
    cli(["export", "{d}/missing.safetensors", "{d}/new.vtu"], "INPUT", "export-missing"),
    cli(["export", "{d}/checkpoint.safetensors", "{d}/new.vtu", "--parameter", "gamma"], "--parameter",
        "export-unknown-parameter"),
    # plot
    cli(["plot", "{d}/truncated.safetensors", "{d}/new.png"], "truncated.safetensors", "plot-truncated"),
    cli(["plot", "{d}/hostile.json", "{d}/new.png"], "hostile.json", "plot-hostile"),
    cli(["plot", "{d}/text.safetensors", "{d}/new.png"], "text.safetensors", "plot-text"),
    cli(["plot", "{d}/missing.json", "{d}/new.png"], "INPUT", "plot-missing"),
    cli(["plot", "{d}/bad-history.jsonl", "{d}/new.png"], "bad-history.jsonl", "plot-bad-json-lines"),
    cli(["plot", "{d}/field.safetensors", "{d}/existing.json"], "OUT", "plot-existing"),
    cli(["plot", "{d}/field.safetensors", "{d}/nowhere/new.png"], "OUT", "plot-missing-folder"),
    cli(["plot", "{d}/weight.safetensors", "{d}/new.png", "--depth", "5"], "depth", "plot-depth-outside"),
    cli(["plot", "{d}/weight.safetensors", "{d}/new.png", "--depth", "nan"], "depth", "plot-depth-nan"),
    cli(["plot", "{d}/weight.safetensors", "{d}/new.png", "--width-point", "inf"], "width_point", "plot-width-inf"),
    cli(["plot", "{d}/checkpoint.safetensors", "{d}/new.png", "--depth", "-1"], "depth", "plot-checkpoint-depth"),
    cli(["plot", "{d}/not-utf8.jsonl", "{d}/new.png"], ("INPUT", "not-utf8.jsonl"), "plot-not-utf8-json-lines"),
    cli(["plot", "{d}/deep.json", "{d}/new.png"], ("INPUT", "deep.json"), "plot-deeply-nested"),
    cli(["plot", "{d}/field.safetensors", "{d}/new.txt"], "OUT", "plot-unknown-suffix"),
    # train
    cli(["train", "{d}/hostile.json"], "hostile.json", "train-mesh-as-schedule"),
    cli(["train", "{d}/missing.toml"], "missing.toml", "train-missing"),
    cli(["train", "{d}/run"], ("directory", "run"), "train-folder"),
    cli(["train", "{d}/text.safetensors"], "text.safetensors", "train-binary"),
    cli(["train", "{d}/syntax.toml"], "syntax.toml", "train-toml-syntax"),
    cli(["train", "{d}/unknown-phase.json"], ("unknown-phase.json", "phase"), "train-unknown-phase"),
    cli(["train", "{d}/deep-schedule.json"], "deep-schedule.json", "train-deeply-nested"),
    cli(["train", "{d}/bad-batch.toml", "--out", "{d}/run"], ("bad-batch.toml", "batch_size"), "train-zero-batch"),
    cli(["train"], "SCHEDULE", "train-no-schedule"),
]


@pytest.mark.parametrize("argv, named", CLI_CASES)
def test_bad_command_lines(cli_folder, capsys, argv, named):
    before = folder_state(cli_folder)
    assert main([a.format(d=cli_folder) for a in argv]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert all(n in err for n in named), err
    assert folder_state(cli_folder) == before  # nothing changed, nothing new


@pytest.mark.parametrize("argv, named", [
    (["mesh", "refine", "default", "x.json", "--k", "0"], "--k"),
    (["mesh", "refine", "default", "x.json", "--k", "-2"], "--k"),
    (["mesh", "refine", "default", "x.json", "--cells", "x"], "--cells"),
    (["mesh", "elevate", "default", "x.json", "--by", "0"], "--by"),
    (["mesh", "coarsen", "default", "x.json", "--cells", "1"], "--cells"),
    (["mesh", "create", "x.json", "--width-cells", "many"], "--width-cells"),
    (["mesh", "create", "x.json", "--width-cells", "0"], "--width-cells"),
    (["mesh", "create", "x.json", "--width-cells", "1e9"], "--width-cells"),
    (["mesh", "create", "x.json", "--kind", "tensor"], "--kind"),
    (["mesh", "create", "x.json", "--width-family", "hermite"], "--width-family"),
    (["mesh", "create"], "OUT"),
    (["mesh"], "ACTION"),
    ([], "COMMAND"),
    (["project", "a.safetensors", "default"], "OUT"),
    (["export"], "INPUT"),
    (["export", "a", "b.vtu", "--points-per-cell", "two"], "--points-per-cell"),
    (["plot", "a"], "OUT"),
    (["plot", "a", "b.png", "--depth", "deep"], "--depth"),
    (["bench", "nothing"], "NAME"),
    (["train", "progressive", "--task", "cifar"], "--task"),
    (["demo", "--levels", "x"], "--levels"),
    (["demo", "--levels", "-1"], "--levels"),
    (["demo", "--epochs", "0"], "--epochs"),
], ids=lambda value: " ".join(value) or "nothing" if isinstance(value, list) else None)
def test_usage_errors_exit_2(tmp_path, monkeypatch, capsys, argv, named):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit:
        main(argv)
    err = capsys.readouterr().err
    assert exit.value.code == EXIT_BAD_INPUT and "usage: fem-nn" in err and named in err, err
    assert folder_state(tmp_path) == {}
