"""Bad input gets a clear error naming the argument and what was expected, before any work."""

import numpy as np
import pytest

from fem_nn import Axis, Field, Mesh, Projector, bias_mesh, gauss_legendre, gauss_lobatto, l2_distance, uniform_axis, weight_mesh

GOOD = Axis([-1.0, 0.0, 1.0], "lagrange", 1)

AXIS_CASES = [
    (dict(breakpoints=[0.0, 1.0, 0.5]), ValueError, "breakpoints must be strictly increasing"),
    (dict(breakpoints=[0.0, 0.5, 0.5, 1.0]), ValueError, "breakpoints must be strictly increasing"),
    (dict(breakpoints=[0.0, np.nan, 1.0]), ValueError, "breakpoints must be finite"),
    (dict(breakpoints=[0.0, np.inf]), ValueError, "breakpoints must be finite"),
    (dict(breakpoints=[0.0]), ValueError, "at least 2 numbers"),
    (dict(breakpoints=[[0.0, 1.0], [1.0, 2.0]]), ValueError, "1D sequence"),
    (dict(breakpoints="abc"), TypeError, "breakpoints must be a sequence of real numbers"),
    (dict(order=-1, family="legendre"), ValueError, "order must be >= 0"),
    (dict(order=0, family="lagrange"), ValueError, "order must be >= 1 for family 'lagrange'"),
    (dict(order=0, family="lagrange_dg"), ValueError, "order must be >= 1 for family 'lagrange_dg'"),
    (dict(order=2, family="p0"), ValueError, "order must be 0 for family 'p0'"),
    (dict(order=1.5), TypeError, "order must be an integer"),
    (dict(order=True), TypeError, "order must be an integer"),
    (dict(order=[1, 2, 3]), ValueError, "one per cell \\(2\\)"),
    (dict(family="hermite"), ValueError, "family must be one of"),
    (dict(quadrature="simpson"), ValueError, "quadrature must be one of"),
    (dict(quadrature="gauss_lobatto", quadrature_points=1), ValueError, "quadrature_points must be >= 2"),
    (dict(quadrature_points=0), ValueError, "quadrature_points must be >= 1"),
]


@pytest.mark.parametrize("kwargs,error,match", AXIS_CASES)
def test_bad_axis(kwargs, error, match):
    arguments = dict(breakpoints=[-1.0, 0.0, 1.0], family="lagrange", order=1)
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        Axis(**arguments)
    assert Axis([-1.0, 0.0, 1.0]).n_dofs == 3  # nothing left in a bad state


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: uniform_axis((0, 1), 0), ValueError, "n_cells must be >= 1"),
        (lambda: uniform_axis((0, 1), 2.5), TypeError, "n_cells must be an integer"),
        (lambda: uniform_axis("ab", 2), ValueError, "interval must be a pair"),
        (lambda: GOOD.refined(k=1), ValueError, "k must be >= 2"),
        (lambda: GOOD.refined(k=1.5), TypeError, "k must be an integer"),
        (lambda: GOOD.refined(cells=[5]), ValueError, "cells must be indices in \\[0, 2\\)"),
        (lambda: GOOD.refined(cells=np.array([True])), ValueError, "cells as a mask must have length 2"),
        (lambda: Axis([0, 1, 2, 3], "p0", 0).coarsened(), ValueError, "not a multiple of 2"),
        (lambda: Axis([0, 0.1, 1.0, 1.5, 2.0], "p0", 0).coarsened(), ValueError, "not a uniform refinement"),
        (lambda: GOOD.lowered(), ValueError, "drop below 1"),
        (lambda: GOOD.elevated(by=-1), ValueError, "by must be >= 0"),
        (lambda: Mesh([]), TypeError, "axes must be a sequence of 1 to 3 Axis"),
        (lambda: Mesh([GOOD] * 4), TypeError, "axes must be a sequence of 1 to 3 Axis"),
        (lambda: Mesh([GOOD, "x"]), TypeError, "axes must be a sequence of 1 to 3 Axis"),
        (lambda: Mesh([GOOD, GOOD], names=("a", "a")), ValueError, "names must be 2 distinct"),
        (lambda: weight_mesh().refined("zeta"), ValueError, "axis must be one of"),
        (lambda: weight_mesh().refined(3), ValueError, "axis must be a name in"),
        (lambda: gauss_legendre(0), ValueError, "n_points must be >= 1"),
        (lambda: gauss_lobatto(1), ValueError, "n_points must be >= 2"),
        (lambda: gauss_legendre(2.5), TypeError, "n_points must be an integer"),
    ],
)
def test_bad_mesh_operations(call, error, match):
    with pytest.raises(error, match=match):
        call()


MESH = bias_mesh()


@pytest.mark.parametrize(
    "coefficients,error,match",
    [
        (np.zeros(7), ValueError, "coefficients must have shape \\(9, 4\\)"),
        (np.zeros((4, 9)), ValueError, "coefficients must have shape \\(9, 4\\)"),
        (np.zeros((9, 4), dtype=int), TypeError, "coefficients must be a real floating-point array"),
        (np.zeros((9, 4), dtype=complex), TypeError, "coefficients must be a real floating-point array"),
        (np.zeros((9, 4), dtype=bool), TypeError, "coefficients must be a real floating-point array"),
        (np.full((9, 4), None), TypeError, "coefficients must be a real floating-point array"),
        (np.full((9, 4), np.nan), ValueError, "coefficients must be finite"),
        (np.full((9, 4), np.inf), ValueError, "coefficients must be finite"),
    ],
)
def test_bad_coefficients(coefficients, error, match):
    with pytest.raises(error, match=match):
        Field(MESH, coefficients)


def test_bad_fields_and_projections():
    field = Field.from_function(MESH, lambda x, d: x + d)
    other_box = bias_mesh(depth=uniform_axis((0.0, 2.0), 2, "p0", 0))
    with pytest.raises(ValueError, match="target mesh covers the box"):
        field.project(other_box)
    with pytest.raises(ValueError, match="target mesh covers the box"):
        field.project(weight_mesh())  # another dimension
    with pytest.raises(ValueError, match="g mesh covers the box"):
        l2_distance(field, Field(other_box))
    with pytest.raises(TypeError, match="g must be a Field"):
        l2_distance(field, 3.0)
    with pytest.raises(ValueError, match="coefficients must have shape \\(\\.\\.\\., 9, 4\\)"):
        Projector(MESH.refined(), MESH)(np.zeros((4, 9)))
    with pytest.raises(TypeError, match="function must be callable"):
        Field.from_function(MESH, 3.0)
    with pytest.raises(ValueError, match="does not broadcast to the grid"):
        Field.from_function(MESH, lambda x, d: np.zeros(5))
    with pytest.raises(ValueError, match="function returned NaN or inf"):
        Field.from_function(MESH, lambda x, d: np.full_like(x * d, np.inf))
    with pytest.raises(ValueError, match="method must be 'l2' or 'interpolate'"):
        Field.from_function(MESH, lambda x, d: x + d, method="spline")
    with pytest.raises(ValueError, match="points must have shape \\(n, 2\\)"):
        field.evaluate(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="points must lie in the axis interval"):
        field.evaluate([[0.0, 1.5]])
    with pytest.raises(ValueError, match="points must be finite"):
        field.evaluate([[np.nan, 0.5]])
    with pytest.raises(ValueError, match="the fields live on different meshes"):
        field + Field(MESH.refined())
    assert field.project(MESH.refined()).integrate() == pytest.approx(field.integrate(), rel=1e-13)
