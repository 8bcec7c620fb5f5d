"""fem_nn's mass matrices and L2 projections equal scikit-fem's (an independent implementation)
for continuous Lagrange order 1 and 2 on non-uniform 1D, 2D and 3D tensor meshes, up to dof
ordering, to 1e-12 relative.

For p <= 2 the Gauss–Lobatto nodes are the end points and the midpoint, scikit-fem's P1/P2
and Q1/Q2 nodes, so the two bases coincide and only the dof numbering differs: dofs are
matched by their coordinates.
"""

import numpy as np
import pytest
from scipy.sparse.linalg import spsolve
from scipy.spatial import cKDTree

from fem_nn import Axis, Field, Mesh, mass_matrix

skfem = pytest.importorskip("skfem")

ELEMENTS = {
    (1, 1): "ElementLineP1",
    (1, 2): "ElementLineP2",
    (2, 1): "ElementQuad1",
    (2, 2): "ElementQuad2",
    (3, 1): "ElementHex1",
    (3, 2): "ElementHex2",
}
# non-uniform breakpoints of the coarse mesh, per axis: [-1, 1], [-1, 1], [0, 1]
COARSE = (
    np.array([-1.0, -0.55, 0.1, 0.3, 1.0]),
    np.array([-1.0, -0.2, 0.45, 1.0]),
    np.array([0.0, 0.15, 0.6, 1.0]),
)
# a finer mesh that is not a refinement of COARSE: no interior breakpoint in common
NON_NESTED = (
    np.array([-1.0, -0.8, -0.42, -0.1, 0.22, 0.5, 0.77, 1.0]),
    np.array([-1.0, -0.63, -0.31, 0.05, 0.28, 0.66, 1.0]),
    np.array([0.0, 0.09, 0.33, 0.5, 0.71, 0.88, 1.0]),
)
TOLERANCE = 1e-12
DIMS_ORDERS = pytest.mark.parametrize("dim, order", sorted(ELEMENTS))


def smooth(*x):
    """A smooth function that no mesh here represents exactly."""
    value = np.exp(0.5 * x[0])
    for k, xk in enumerate(x[1:]):
        value = value * np.cos(0.7 * xk + 0.1 * k)
    return value


def polynomial(order: int):
    """A polynomial of degree `order` in each variable (a member of the Q_order space)."""

    def f(*x):
        product, total = 1.0, 0.0
        for k, xk in enumerate(x):
            product = product * (1.0 + 0.3 * (k + 1) * xk + (-1) ** k * xk**order)
            total = total + (k - 0.5) * xk**order
        return product + total

    return f


def relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    """max |ours − theirs| / max |theirs|."""
    return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


@skfem.BilinearForm
def mass_form(u, v, _):
    return u * v


@skfem.LinearForm
def load_form(v, w):
    return w["f"] * v


def fem_nn_mesh(breakpoints, order: int) -> Mesh:
    """fem_nn's continuous Lagrange mesh of `order` on the tensor mesh of `breakpoints`."""
    return Mesh([Axis(b, "lagrange", order) for b in breakpoints])


def skfem_basis(breakpoints, order: int):
    """scikit-fem's Lagrange basis of `order` on the tensor mesh of `breakpoints`, with
    quadrature exact for its mass matrix."""
    dim = len(breakpoints)
    if dim == 1:
        mesh = skfem.MeshLine(breakpoints[0])
    else:
        mesh = (skfem.MeshQuad if dim == 2 else skfem.MeshHex).init_tensor(*breakpoints)
    return skfem.Basis(mesh, getattr(skfem, ELEMENTS[(dim, order)])(), intorder=2 * order)


def dof_permutation(mesh: Mesh, basis) -> np.ndarray:
    """`perm` with fem_nn's flat dof ``perm[k]`` at scikit-fem's dof k (same coordinates)."""
    grid = np.meshgrid(*(axis.interpolation_points() for axis in mesh.axes), indexing="ij")
    ours = np.stack([g.ravel() for g in grid], axis=1)
    distance, perm = cKDTree(ours).query(basis.doflocs.T)
    assert distance.max() < 1e-12
    assert np.array_equal(np.sort(perm), np.arange(mesh.n_dofs))
    return perm


def skfem_projection(source_basis, source_values: np.ndarray, target_basis, supermesh_basis) -> np.ndarray:
    """The L2 projection onto `target_basis` of the field with dof values `source_values` on
    `source_basis`, by scikit-fem alone and exactly, through the supermesh.

    On the supermesh S (a refinement of both meshes) both fields lie in S's space. So the
    source's S-coefficients are its values at S's nodes, the load is ``∫ u φ_T = P^T M_S u_S``
    with P the prolongation T → S (the target's basis at S's nodes), and ``u_T = M_T^{-1}
    P^T M_S u_S``. (``probes`` inverts the hex mapping by Newton's method, to ~1e-14: the 3D
    Q2 case agrees to ~1e-13, not ~1e-15.)
    """
    on_supermesh = source_basis.probes(supermesh_basis.doflocs) @ source_values
    prolongation = target_basis.probes(supermesh_basis.doflocs)
    load = prolongation.T @ (mass_form.assemble(supermesh_basis) @ on_supermesh)
    return spsolve(mass_form.assemble(target_basis).tocsc(), load)


@DIMS_ORDERS
def test_mass_matrix_equals_scikit_fem(dim, order):
    breakpoints = NON_NESTED[-dim:]
    mesh, basis = fem_nn_mesh(breakpoints, order), skfem_basis(breakpoints, order)
    perm = dof_permutation(mesh, basis)
    ours = mass_matrix(mesh).toarray()[np.ix_(perm, perm)]
    assert relative(ours, mass_form.assemble(basis).toarray()) <= TOLERANCE


@DIMS_ORDERS
@pytest.mark.parametrize("nested", [True, False], ids=["nested", "non-nested"])
def test_l2_projection_equals_scikit_fem(dim, order, nested):
    """A smooth function interpolated onto the coarse mesh, then projected onto a fine mesh
    (a non-uniform refinement of it, or an unrelated finer mesh)."""
    coarse_breakpoints = COARSE[-dim:]
    if nested:  # split cells 0 and 2 of every axis in three
        fine_breakpoints = [Axis(b).refined(cells=[0, 2], k=3).breakpoints for b in coarse_breakpoints]
    else:
        fine_breakpoints = NON_NESTED[-dim:]
    coarse, fine = fem_nn_mesh(coarse_breakpoints, order), fem_nn_mesh(fine_breakpoints, order)
    coarse_basis, fine_basis = skfem_basis(coarse_breakpoints, order), skfem_basis(fine_breakpoints, order)
    supermesh_basis = skfem_basis([np.union1d(a, b) for a, b in zip(coarse_breakpoints, fine_breakpoints)], order)

    source = Field.from_function(coarse, smooth, method="interpolate")
    ours = source.project(fine).coefficients.ravel()[dof_permutation(fine, fine_basis)]
    theirs = skfem_projection(coarse_basis, smooth(*coarse_basis.doflocs), fine_basis, supermesh_basis)
    assert relative(ours, theirs) <= TOLERANCE


@DIMS_ORDERS
def test_projection_of_a_polynomial_equals_scikit_fem(dim, order):
    """A polynomial of degree <= p in each variable, given analytically, lies in both spaces:
    both projections reproduce it, i.e. equal its values at the nodes."""
    breakpoints = NON_NESTED[-dim:]
    mesh, basis = fem_nn_mesh(breakpoints, order), skfem_basis(breakpoints, order)
    f = polynomial(order)
    ours = Field.from_function(mesh, f).coefficients.ravel()[dof_permutation(mesh, basis)]
    # the load ∫ f φ is exact with intorder 2p: f φ has degree 2p in each variable
    load = load_form.assemble(basis, f=f(*np.asarray(basis.global_coordinates())))
    theirs = spsolve(mass_form.assemble(basis).tocsc(), load)
    assert relative(ours, theirs) <= TOLERANCE
    assert relative(theirs, f(*basis.doflocs)) <= TOLERANCE
