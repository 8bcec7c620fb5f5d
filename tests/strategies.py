"""Random meshes for the tests, shared by the seeded tests (numpy generators: random_axis,
containing_axis, random_mesh) and the hypothesis property tests (intervals, axes, meshes,
enlarged, mesh_pairs). Both widen a family only to one that contains it, by the library's
relation (:func:`fem_nn.containing_families`), drawn among the built-in families: one
registered by a test is tested by that test."""

import numpy as np
from hypothesis import assume, strategies as st

from fem_nn import Axis, Family, Mesh, containing_families

FAMILIES = (Family.P0, Family.LEGENDRE, Family.LAGRANGE_DG, Family.LAGRANGE)
MAX_DOFS = 400
# per dimension: the most cells and the highest order of one axis (dofs stay ~<= 400)
LIMITS = {1: (6, 4), 2: (4, 4), 3: (2, 3)}
# the cap on meshes derived by refinement / elevation (the 3D ones grow fastest)
MAX_DERIVED_DOFS = 6000


def wider(family: Family) -> list[Family]:
    """The built-in families whose spaces contain `family`'s, itself first."""
    return [f for f in containing_families(family) if f in FAMILIES]


# --- seeded factories (a numpy Generator) ----------------------------------------------------


BOXES = {1: [(-1.0, 1.0)], 2: [(-1.0, 1.0), (0.0, 1.0)], 3: [(-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0)]}


def random_axis(rng, family: Family, interval=(-1.0, 1.0), max_cells=5, max_order=4) -> Axis:
    """An axis with random breakpoints and, for every family but p0, random per-cell orders."""
    n = int(rng.integers(1, max_cells + 1))
    a, b = interval
    inner = np.sort(rng.uniform(a, b, n - 1))
    breakpoints = np.concatenate(([a], inner, [b]))
    if family is Family.P0:
        orders = 0
    else:
        orders = rng.integers(family.min_order, max_order + 1, n)
    return Axis(breakpoints, family, orders)


def containing_axis(rng, axis: Axis) -> Axis:
    """A random axis whose space contains `axis`' space: random cells split, orders raised,
    and possibly a family that contains its family (:func:`wider`)."""
    refined = axis.refined(cells=rng.random(axis.n_cells) < 0.6, k=int(rng.integers(2, 4)))
    orders = refined.orders + rng.integers(0, 3, refined.n_cells)
    family = rng.choice(wider(axis.family))
    if family is Family.P0:
        orders = 0
    else:
        orders = np.maximum(orders, family.min_order)
    return Axis(refined.breakpoints, family, orders)


def random_mesh(rng, dim: int, family: Family) -> Mesh:
    return Mesh([random_axis(rng, family, interval) for interval in BOXES[dim]])


# --- hypothesis strategies -------------------------------------------------------------------


@st.composite
def intervals(draw):
    """The standard width / depth intervals, or a random one."""
    standard = st.sampled_from([(-1.0, 1.0), (0.0, 1.0)])
    a = st.floats(-2.0, 2.0, allow_subnormal=False)
    length = st.floats(0.25, 4.0)
    return draw(st.one_of(standard, st.tuples(a, length).map(lambda t: (t[0], t[0] + t[1]))))


@st.composite
def axes(draw, interval, max_cells=6, max_order=4, families=FAMILIES):
    family = draw(st.sampled_from(families))
    n = draw(st.integers(1, max_cells))
    weights = np.array(draw(st.lists(st.floats(1.0, 4.0), min_size=n, max_size=n)))
    a, b = interval
    inner = a + (b - a) * np.cumsum(weights)[:-1] / weights.sum()
    breakpoints = np.concatenate(([a], inner, [b]))
    if family is Family.P0:
        orders = 0
    else:
        orders = draw(st.lists(st.integers(family.min_order, max_order), min_size=n, max_size=n))
    return Axis(breakpoints, family, orders)


@st.composite
def meshes(draw, dims=(1, 2, 3), families=FAMILIES, box=None):
    """A random mesh; `box` fixes the intervals (and so the dimension)."""
    if box is None:
        dim = draw(st.sampled_from(dims))
        box = [draw(intervals()) for _ in range(dim)]
    cells, order = LIMITS[len(box)]
    mesh = Mesh([draw(axes(interval, cells, order, families)) for interval in box])
    assume(mesh.n_dofs <= MAX_DOFS)
    return mesh


@st.composite
def cell_selections(draw, n_cells):
    """None (all cells) or a boolean mask."""
    return draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=n_cells, max_size=n_cells).map(np.array)))


@st.composite
def enlarged(draw, mesh: Mesh) -> Mesh:
    """A mesh whose space contains `mesh`'s: per axis, random cells refined by a random k,
    random cells elevated, the family possibly widened to one that contains it (:func:`wider`)."""
    for i in range(mesh.dim):
        if draw(st.booleans()):
            cells = draw(cell_selections(mesh.axes[i].n_cells))
            mesh = mesh.refined(axis=i, cells=cells, k=draw(st.integers(2, 3)))
        by = draw(st.integers(0, 2))
        if by:
            mesh = mesh.elevated(axis=mesh.names[i], by=by, cells=draw(cell_selections(mesh.axes[i].n_cells)))
        axis = mesh.axes[i]
        family = draw(st.sampled_from(wider(axis.family)))
        if family is not axis.family:
            mesh = mesh.with_axis(i, Axis(axis.breakpoints, family, np.maximum(axis.orders, family.min_order)))
    assume(mesh.n_dofs <= MAX_DERIVED_DOFS)
    return mesh


@st.composite
def mesh_pairs(draw):
    """(relation, source, target) on one box: target ⊇ source, target ⊆ source, or unrelated
    breakpoints and families (projection through the supermesh)."""
    relation = draw(st.sampled_from(["finer", "coarser", "unrelated"]))
    first = draw(meshes())
    if relation == "finer":
        return relation, first, draw(enlarged(first))
    if relation == "coarser":
        return relation, draw(enlarged(first)), first
    return relation, first, draw(meshes(box=first.box))
