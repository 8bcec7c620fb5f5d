"""Mass matrices and L2 projections agree with scikit-fem (an independent implementation)
for continuous Lagrange order 1 and 2 in 1D, 2D and 3D, up to dof ordering."""

import numpy as np
import pytest
from scipy.sparse.linalg import spsolve

from fem_nn import Axis, Field, Mesh, mass_matrix

skfem = pytest.importorskip("skfem")

ELEMENTS = {
    (1, 1): "ElementLineP1", (1, 2): "ElementLineP2",
    (2, 1): "ElementQuad1", (2, 2): "ElementQuad2",
    (3, 1): "ElementHex1", (3, 2): "ElementHex2",
}
BREAKPOINTS = [np.array([-1.0, -0.55, 0.1, 0.3, 1.0]), np.array([-1.0, -0.2, 0.45, 1.0]), np.array([0.0, 0.15, 0.6, 1.0])]


def skfem_mesh(axes):
    points = [a.breakpoints for a in axes]
    if len(axes) == 1:
        return skfem.MeshLine(points[0])
    return (skfem.MeshQuad if len(axes) == 2 else skfem.MeshHex).init_tensor(*points)


def dof_permutation(ours: Mesh, basis) -> np.ndarray:
    """perm with our flat dof perm[k] at scikit-fem's dof k, matched by coordinates."""
    grid = np.meshgrid(*(a.interpolation_points() for a in ours.axes), indexing="ij")
    keys = {tuple(np.round(c, 12)): i for i, c in enumerate(np.stack([g.ravel() for g in grid], axis=1))}
    perm = np.array([keys[tuple(np.round(c, 12))] for c in basis.doflocs.T])
    assert sorted(perm) == list(range(ours.n_dofs))
    return perm


def both(dim, order, breakpoints=BREAKPOINTS):
    axes = [Axis(b, "lagrange", order) for b in breakpoints[-dim:]]
    mesh = Mesh(axes)
    basis = skfem.Basis(skfem_mesh(axes), getattr(skfem, ELEMENTS[(dim, order)])(), intorder=2 * order)
    return mesh, basis, dof_permutation(mesh, basis)


@skfem.BilinearForm
def mass_form(u, v, _):
    return u * v


@skfem.LinearForm
def load_form(v, w):
    return w["f"] * v


def relative(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("order", [1, 2])
def test_mass_matrix_equals_scikit_fem(dim, order):
    mesh, basis, perm = both(dim, order)
    ours = mass_matrix(mesh).toarray()[np.ix_(perm, perm)]
    theirs = mass_form.assemble(basis).toarray()
    assert relative(ours, theirs) <= 1e-12


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("order", [1, 2])
def test_l2_projection_equals_scikit_fem(dim, order):
    coarse = Mesh([Axis(b, "lagrange", order) for b in BREAKPOINTS[-dim:]])
    source = Field(coarse, np.random.default_rng(dim * 10 + order).standard_normal(coarse.shape))
    fine_breakpoints = [a.refined(cells=[0, 2], k=3).breakpoints for a in coarse.axes]
    fine, basis, perm = both(dim, order, fine_breakpoints)
    ours = source.project(fine).coefficients.ravel()[perm]
    # the load of the coarse field, exact: the fine cells are nested in the coarse ones
    points = np.asarray(basis.global_coordinates())
    values = source.evaluate(points.reshape(dim, -1).T).reshape(points.shape[1:])
    theirs = spsolve(mass_form.assemble(basis).tocsc(), load_form.assemble(basis, f=values))
    assert relative(ours, theirs) <= 1e-12


def test_projection_of_a_polynomial_equals_scikit_fem():
    """A polynomial of degree <= 2 per variable is reproduced by both on a 3D Q2 mesh."""
    mesh, basis, perm = both(3, 2)

    def poly(x, y, z):
        return 1 + x * y - 2 * z**2 + x**2 * y * z

    ours = Field.from_function(mesh, poly).coefficients.ravel()[perm]
    points = np.asarray(basis.global_coordinates())
    theirs = spsolve(mass_form.assemble(basis).tocsc(), load_form.assemble(basis, f=poly(*points)))
    assert relative(ours, theirs) <= 1e-12
