"""Cheaper manifestations of a trained network for inference: its fields projected onto
fewer depth cells (with other schemes and steps) or coarser width spaces, each measured for
the task's test metric and its inference time (the ``project_down`` phase of a schedule).
Models whose stages are :class:`~fem_nn.odeblock.OdeBlock` depth fields (an OdeBlock, a
:class:`~fem_nn.models.ContinuousNetClassifier`, a :class:`~fem_nn.hyperbolic.HyperbolicConvNet`)
are projected down in depth the same way."""

from __future__ import annotations

import torch

from ._timing import best_times
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, uniform_axis
from .continuum import ContinuumNetwork
from .odeblock import ode_blocks
from .refinement import projected_network
from .tasks import Task

__all__ = ["project_down", "projected_depth", "projected_width", "format_project_down"]


def projected_depth(network: ContinuumNetwork, depth_cells: int, steps: int, scheme=None) -> ContinuumNetwork:
    """`network` with its fields L2-projected onto `depth_cells` uniform depth cells (same
    depth family and order), manifested with `steps` steps of `scheme` (default: its own)."""
    def uniform_depth(mesh):
        depth = mesh.axes[-1]
        return mesh.with_axis(mesh.dim - 1, uniform_axis(DEPTH_INTERVAL, depth_cells, depth.family, depth.max_order))

    return projected_network(network, uniform_depth(network.weight_mesh), uniform_depth(network.bias_mesh), steps, scheme)


def projected_width(network: ContinuumNetwork, width_cells: int, width_order: int | None = None) -> ContinuumNetwork:
    """`network` with its fields L2-projected onto `width_cells` uniform width cells of
    `width_order` (default: its own; same family), on both width axes of W and on b; depth,
    scheme and steps kept. A width quadrature count chosen apart from the order (over-
    integration) is kept, the default count (order + 1) follows the new order.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> projected_width(net, 4, 2).weight_mesh.shape, projected_width(net, 2).bias_mesh.shape
    ((9, 9, 4), (3, 4))
    """
    old = network.weight_mesh.axes[0]
    order = old.max_order if width_order is None else width_order
    points = None if old.quadrature_points == old.max_order + 1 else old.quadrature_points
    width = Axis(uniform_axis(WIDTH_INTERVAL, width_cells, old.family, order).breakpoints, old.family, order, old.quadrature, points)
    weights = network.weight_mesh.with_axis(0, width).with_axis(1, width)
    return projected_network(network, weights, network.bias_mesh.with_axis(0, width))


def project_down(network: ContinuumNetwork, task: Task, depth_cells, steps, schemes=("rk4",), width_cells=None,
                 width_orders=None) -> list[dict]:
    """Test metric and inference time of `network` projected onto each number of depth cells
    and manifested with each scheme × steps, and projected in width onto each number of
    width cells × width order; the first row is the network itself. The time is that of
    each manifestation's :meth:`~fem_nn.ContinuumNetwork.frozen` module on the test set
    (what inference deploys: stage matrices precomputed), best of 20 rounds in which the
    manifestations take turns.

    Parameters
    ----------
    network : ContinuumNetwork or torch.nn.Module
        A continuum network, or a model of :class:`~fem_nn.odeblock.OdeBlock` stages with a
        ``replaced(depth, scheme, steps)`` (its every stage projected; no width options;
        timed as the module itself, in eval mode).
    task : Task
        Supplies the test data and metric.
    depth_cells : sequence of int
        The numbers of equal depth cells to project onto (may be empty with width options).
    steps : sequence of int or None
        The step counts each projection is manifested with; None: as many steps as cells.
    schemes : sequence of str, default ("rk4",)
    width_cells, width_orders : sequence of int, optional
        The numbers of equal width cells and the width orders to project onto (each pair but
        the network's own; default: the network's), the depth, scheme and steps kept
        (:func:`projected_width`).

    Returns
    -------
    list of dict
        One row per manifestation: scheme, steps, depth_cells, width_cells, width_order, the
        task's metric, the best-of-repeats inference time in seconds and the speedup over
        the first row.

    Examples
    --------
    >>> from fem_nn import digits_task, task_network
    >>> task = digits_task()
    >>> net = task_network(task, width_cells=4, depth_cells=4, steps=4)
    >>> rows = project_down(net, task, depth_cells=[2, 1], steps=None, schemes=["rk4", "midpoint"])
    >>> [(row["scheme"], row["steps"], row["depth_cells"]) for row in rows]
    [('rk4', 4, 4), ('rk4', 2, 2), ('midpoint', 2, 2), ('rk4', 1, 1), ('midpoint', 1, 1)]
    >>> rows = project_down(net, task, [], None, width_cells=[2], width_orders=[0, 1])
    >>> [(row["width_cells"], row["width_order"]) for row in rows]
    [(4, 1), (2, 0), (2, 1)]
    """
    if not isinstance(network, ContinuumNetwork):
        return _project_down_depth_fields(network, task, depth_cells, steps, schemes, width_cells, width_orders)
    width, depth = network.weight_mesh.axes[0], network.weight_mesh.axes[2].n_cells
    own = (width.n_cells, width.max_order)
    manifestations = [(network.tableau.name, network.steps, depth, *own, network)]
    for cells in depth_cells:
        for scheme in schemes:
            for n in steps or [cells]:
                manifestations.append((scheme, n, cells, *own, projected_depth(network, cells, n, scheme)))
    if width_cells is not None or width_orders is not None:
        for cells in width_cells or [width.n_cells]:
            for order in width_orders or [width.max_order]:
                if (cells, order) != own:
                    manifestations.append((network.tableau.name, network.steps, depth, cells, order,
                                           projected_width(network, cells, order)))
    x = task.x_test
    return _measured(manifestations, [net.frozen(x.shape[1]) for *_, net in manifestations], task)


def _project_down_depth_fields(model, task, depth_cells, steps, schemes, width_cells, width_orders) -> list[dict]:
    """:func:`project_down` of a model of OdeBlock stages: every stage projected onto the
    uniform depth cells (its family and order) by the model's ``replaced``."""
    blocks = ode_blocks(model)
    if not blocks or not callable(getattr(model, "replaced", None)):
        raise TypeError(f"network must be a ContinuumNetwork or a model of OdeBlock stages with replaced(), got {type(model).__name__}")
    if width_cells is not None or width_orders is not None:
        raise ValueError(f"width_cells and width_orders need a ContinuumNetwork (a {type(model).__name__} has no width fields)")
    block = blocks[0]
    family, order = block.depth.family, block.depth.max_order
    manifestations = [(block.tableau.name, block.steps, block.depth.n_cells, None, None, model)]
    for cells in depth_cells:
        depth = uniform_axis(DEPTH_INTERVAL, cells, family, order)
        for scheme in schemes:
            for n in steps or [cells]:
                manifestations.append((scheme, n, cells, None, None, model.replaced(depth, scheme, n)))
    models = [m.eval() for *_, m in manifestations]
    return _measured(manifestations, models, task)


def _measured(manifestations: list, modules: list, task: Task) -> list[dict]:
    """The rows of :func:`project_down`: each manifestation's metric and best-of-20 time."""
    x = task.x_test
    with torch.no_grad():
        seconds = best_times({i: (lambda m=m: m(x)) for i, m in enumerate(modules)}, repeat=20, device=x.device)
    keys = ("scheme", "steps", "depth_cells", "width_cells", "width_order")
    return [{**dict(zip(keys, m[:5])), task.metric_name: task.metric(m[5]), "seconds": seconds[i], "speedup": seconds[0] / seconds[i]}
            for i, m in enumerate(manifestations)]


def format_project_down(rows: list[dict], metric: str) -> str:
    """The project-down table."""
    lines = [f"{'scheme':>8} {'steps':>5} {'depth cells':>11} {'width cells':>11} {'order':>5} {metric:>20} {'inference [ms]':>14} {'speedup':>7}"]
    for r in rows:
        width = ["—" if r[key] is None else r[key] for key in ("width_cells", "width_order")]
        lines.append(f"{r['scheme']:>8} {r['steps']:>5} {r['depth_cells']:>11} {width[0]:>11} {width[1]:>5} {r[metric]:>20.4f} "
                     f"{1e3 * r['seconds']:>14.2f} {r['speedup']:>7.2f}")
    return "\n".join(lines)
