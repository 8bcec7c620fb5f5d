"""Random meshes for the property tests: axes of every family, and nested super-spaces."""

import zlib

import numpy as np
import pytest

from fem_nn import Axis, Family, Mesh

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
    and possibly a larger family (continuous ⊂ discontinuous Lagrange ⊂ Legendre)."""
    refined = axis.refined(cells=rng.random(axis.n_cells) < 0.6, k=int(rng.integers(2, 4)))
    orders = refined.orders + rng.integers(0, 3, refined.n_cells)
    family = axis.family
    if family is Family.P0:
        family = rng.choice([Family.P0, Family.LEGENDRE, Family.LAGRANGE_DG])
    elif family is Family.LAGRANGE:
        family = rng.choice([Family.LAGRANGE, Family.LAGRANGE_DG, Family.LEGENDRE])
    elif family is Family.LAGRANGE_DG:
        family = rng.choice([Family.LAGRANGE_DG, Family.LEGENDRE])
    if family is Family.P0:
        orders = 0
    else:
        orders = np.maximum(orders, family.min_order)
    return Axis(refined.breakpoints, family, orders)


def random_mesh(rng, dim: int, family: Family) -> Mesh:
    return Mesh([random_axis(rng, family, interval) for interval in BOXES[dim]])


@pytest.fixture
def rng(request):
    # a seed per test, stable across runs and test selections
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))
