import numpy as np
import pytest

from fem_nn import Axis, Mesh, bias_mesh, signal_mesh, uniform_axis, weight_mesh


def test_continuous_p1_refinement_has_2n_plus_1_nodes():
    axis = uniform_axis((-1, 1), 4, "lagrange", 1)
    assert axis.n_dofs == 5
    assert axis.refined().n_dofs == 9
    assert uniform_axis((-1, 1), 4, "lagrange_dg", 1).refined().n_dofs == 16


@pytest.mark.parametrize("family,order,dofs", [("p0", 0, 3), ("legendre", [2, 0, 3], 8), ("lagrange_dg", [1, 2, 1], 7), ("lagrange", [1, 3, 2], 7)])
def test_dof_counts_with_per_cell_orders(family, order, dofs):
    axis = Axis([0, 0.2, 0.3, 1], family, order)
    assert axis.n_dofs == dofs
    cell_dofs = axis.cell_dofs()
    used = cell_dofs[cell_dofs >= 0]
    assert set(used.tolist()) == set(range(dofs))
    if family == "lagrange":  # neighbours share their end-point dof
        for c in range(2):
            assert cell_dofs[c, axis.orders[c]] == cell_dofs[c + 1, 0]


def test_refine_selected_cells_and_split_by_k():
    axis = Axis([0, 1, 3, 4], "legendre", [1, 2, 3])
    refined = axis.refined(cells=[1], k=4)
    assert np.allclose(refined.breakpoints, [0, 1, 1.5, 2, 2.5, 3, 4])
    assert refined.orders.tolist() == [1, 2, 2, 2, 2, 3]
    mask = np.array([True, False, True])
    assert refined.n_cells == 6 and axis.refined(cells=mask).n_cells == 5


def test_coarsen_inverts_uniform_refine():
    axis = Axis([0, 0.1, 0.5, 1], "legendre", [3, 1, 2])
    for k in (2, 3, 5):
        assert axis.refined(k=k).coarsened(k=k) == axis
    with pytest.raises(ValueError, match="k must divide the number of cells"):
        axis.coarsened()
    with pytest.raises(ValueError, match="not a uniform refinement"):
        Axis([0, 0.1, 1.0, 1.5, 2.0], "p0", 0).coarsened()


def test_elevate_and_lower():
    axis = Axis([0, 0.5, 1], "lagrange", [1, 2])
    assert axis.elevated().orders.tolist() == [2, 3]
    assert axis.elevated(by=2, cells=[1]).orders.tolist() == [1, 4]
    assert axis.elevated(by=3).lowered(by=3) == axis
    p0 = uniform_axis((0, 1), 2, "p0", 0)
    assert p0.elevated().family.value == "legendre"  # the modal family that contains P0
    with pytest.raises(ValueError, match="minimum"):
        axis.lowered()


def test_quadrature_follows_the_order_unless_chosen():
    axis = uniform_axis((-1, 1), 2, "legendre", 2)
    assert axis.quadrature_points == 3 and axis.elevated().quadrature_points == 4
    chosen = Axis([-1, 0, 1], "legendre", 2, "gauss_lobatto", 6)
    assert chosen.elevated().quadrature_points == 6 and chosen.refined().quadrature_rule.family.value == "gauss_lobatto"
    x, w = chosen.quadrature_on_cells()
    assert x.shape == (2, 6) and np.sum(w) == pytest.approx(2.0, rel=1e-15)


def test_default_meshes_cover_the_neural_continuum_box():
    assert signal_mesh().box == ((-1.0, 1.0),)
    assert bias_mesh().box == ((-1.0, 1.0), (0.0, 1.0))
    assert weight_mesh().box == ((-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0))
    assert weight_mesh().names == ("xi", "eta", "delta")


def test_mesh_operations_by_axis_name_index_and_list():
    mesh = weight_mesh()
    assert mesh.refined("delta").shape == (9, 9, 8)
    assert mesh.refined(-1) == mesh.refined("delta")
    assert mesh.refined(["xi", "eta"]).shape == (17, 17, 4)
    assert mesh.elevated("xi").shape == (17, 9, 4)
    assert mesh.refined().coarsened() == mesh
    assert mesh.with_axis("delta", uniform_axis((0, 1), 2, "p0", 0)).shape == (9, 9, 2)
    assert mesh.refined("delta") != mesh


def test_locate_points_on_breakpoints():
    axis = Axis([0, 0.5, 1], "p0", 0)
    cells, ref = axis.locate([0.0, 0.5, 1.0])
    assert cells.tolist() == [0, 1, 1] and ref.tolist() == [-1.0, -1.0, 1.0]
    cells, ref = axis.locate([0.5], side="left")
    assert cells.tolist() == [0] and ref.tolist() == [1.0]


def test_stage_cells_are_decided_by_the_step_not_by_float_comparison():
    """Issue 12.1: the step [0.6, 2/3] of a 15-step grid starts one ulp below the breakpoint
    0.6000000000000001 of 5 equal cells; it lies in cell 3, and so do its stages."""
    axis = uniform_axis((0, 1), 5, "p0", 0)
    grid = np.linspace(0, 1, 16)
    assert grid[9] < axis.breakpoints[3]
    stages = grid[9] + np.array([0.0, 0.5, 1.0]) * (grid[10] - grid[9])
    cells, snapped = axis.locate_within(stages, grid[9], grid[10])
    assert cells.tolist() == [3, 3, 3] and snapped[0] == axis.breakpoints[3] and snapped[1] == stages[1]
    assert axis.locate_within(grid[9], grid[8], grid[9])[0] == 2  # a step's end: the cell before
    # a step spanning cells: a point on an inner breakpoint reads the cell after it, and one
    # near it (within 1e-9 of the cells' width) is on it
    cells, snapped = axis.locate_within([0.4 + 1e-12, 0.4 - 1e-8, 0.2, 0.6], 0.2, 0.6)
    assert cells.tolist() == [2, 1, 1, 2] and snapped[0] == 0.4
    # refined breakpoints b + Δ·j/k against a linspace grid: every step in its own cell
    fine = axis.refined(k=3)
    for c in (0.0, 0.5, 1.0):
        assert fine.locate_within(grid[:-1] + c / 15, grid[:-1], grid[1:])[0].tolist() == list(range(15))


def test_tabulate_in_given_cells():
    """A point two cells share is tabulated in the cell it is given (the Lobatto nodes)."""
    axis = Axis([-1, 0, 1], "lagrange_dg", 1)
    values, dofs = axis.tabulate([0.0, 0.0], cells=[0, 1])
    assert values[0].tolist() == [[0.0, 1.0], [1.0, 0.0]] and dofs.tolist() == [[0, 1], [2, 3]]
    assert axis.evaluation_matrix([0.0, 0.0], cells=[0, 1]).toarray().tolist() == [[0, 1, 0, 0], [0, 0, 1, 0]]
    with pytest.raises(ValueError, match="cells must be indices in"):
        axis.tabulate([0.0], cells=[2])
    with pytest.raises(ValueError, match="one entry per point"):
        axis.tabulate([0.0], cells=[0, 1])
    with pytest.raises(TypeError, match="integer cell indices"):
        axis.tabulate([0.0], cells=[0.5])


def test_axis_is_immutable():
    axis = uniform_axis()
    with pytest.raises(ValueError):
        axis.breakpoints[0] = 3.0
    with pytest.raises(ValueError):
        axis.orders[0] = 3


def test_repr_mentions_the_structure():
    text = repr(weight_mesh())
    assert "xi" in text and "family='lagrange'" in text and "family='p0'" in text


def test_interpolation_points_put_end_nodes_exactly_on_the_breakpoints():
    # found by the property tests: a + (b - a) · 1 can miss b by an ulp, and a DG node read
    # from the left at its cell's right end then landed in the next cell
    breakpoints = [0.0, 0.18350911368471498, 0.4501192804500645, 0.5834236973106549, 1.0]
    axis = Axis(breakpoints, "lagrange_dg", 1)
    np.testing.assert_array_equal(axis.interpolation_points().reshape(-1, 2), np.c_[breakpoints[:-1], breakpoints[1:]])
