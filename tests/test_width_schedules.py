"""Width-aware schedules: project-down in width (nested projections exact), its schedule
options checked before any work, progressive training in width."""

import numpy as np
import pytest
import torch

from fem_nn import ContinuumNetwork, Mesh, Schedule, Task, bias_mesh, refined_network, uniform_axis, weight_mesh
from fem_nn.training import project_down, projected_width, run_schedule


def network(cells=4, order=1, family="legendre", points=None):
    width = uniform_axis((-1, 1), cells, family, order)
    if points is not None:
        from fem_nn import Axis

        width = Axis(width.breakpoints, family, order, width.quadrature, points)
    depth = uniform_axis((0, 1), 2, "lagrange", 1)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), steps=2, dtype=torch.float64,
                           output_mesh=Mesh([uniform_axis((-1, 1), 3, "p0", 0)]))
    with torch.no_grad():
        net.bias.copy_(torch.as_tensor(np.random.default_rng(0).normal(0, 1, net.bias.shape)))
    return net


def test_projecting_a_width_refinement_back_gives_the_network_back():
    coarse = network()
    back = projected_width(refined_network(coarse, "width"), 4, 1)
    for name in ("weight", "bias"):
        torch.testing.assert_close(getattr(back, name), getattr(coarse, name), rtol=0, atol=1e-12)
    x = torch.rand(5, 12, dtype=torch.float64)
    torch.testing.assert_close(back(x), coarse(x), rtol=1e-12, atol=1e-13)


def test_projected_width_keeps_a_chosen_quadrature_and_follows_the_default():
    assert projected_width(network(points=5), 2, 0).weight_mesh.axes[1].quadrature_points == 5
    assert projected_width(network(), 2, 3).weight_mesh.axes[1].quadrature_points == 4
    assert projected_width(network(family="lagrange"), 8).weight_mesh.shape[:2] == (9, 9)


def test_project_down_in_width_rows():
    net = network()
    rng = np.random.default_rng(1)
    x, y = torch.as_tensor(rng.normal(0, 1, (6, 12))), torch.as_tensor(rng.integers(0, 3, 6))
    task = Task("t", "classification", x, y, x, y, 3)
    rows = project_down(net, task, [], None, width_cells=[2, 4], width_orders=[0, 1])
    assert [(r["width_cells"], r["width_order"], r["depth_cells"], r["steps"]) for r in rows] == [
        (4, 1, 2, 2), (2, 0, 2, 2), (2, 1, 2, 2), (4, 0, 2, 2)]
    assert rows[0]["test_accuracy"] == task.metric(net)
    assert rows[1]["test_accuracy"] == task.metric(projected_width(net, 2, 0))
    assert all(r["seconds"] > 0 for r in rows)


def schedule(*phases, network=None):
    return {"task": "digits", "network": network or {"width_cells": 2, "width_order": 1}, "phases": [
        {"phase": "train", "epochs": 1}, *phases]}


def test_schedule_width_project_down_options_are_checked_before_any_work():
    phase = Schedule.from_dict(schedule({"phase": "project_down", "width_cells": [1]})).phases[1]
    assert phase.options["depth_cells"] == [] and phase.options["width_orders"] == []
    with pytest.raises(ValueError, match="width_orders must be a non-empty list of non-negative integers"):
        Schedule.from_dict(schedule({"phase": "project_down", "width_orders": [-1]}))
    with pytest.raises(ValueError, match="width_cells must be a non-empty list of positive integers"):
        Schedule.from_dict(schedule({"phase": "project_down", "width_cells": [0]}))
    with pytest.raises(ValueError, match="depth_cells must be a non-empty list"):
        Schedule.from_dict(schedule({"phase": "project_down", "depth_cells": []}))
    with pytest.raises(ValueError, match=r"phases\[1\] \(project_down\)"):  # continuous Lagrange has no order 0
        Schedule.from_dict(schedule({"phase": "project_down", "width_orders": [0]},
                                    network={"width_cells": 2, "width_family": "lagrange", "width_order": 1}))


def test_progressive_width_schedule_then_project_down_in_width():
    result = run_schedule(Schedule.from_dict(schedule(
        {"phase": "refine", "axis": "width"}, {"phase": "train", "epochs": 1},
        {"phase": "project_down", "width_cells": [2]})), progress=False)
    assert result["network"].weight_mesh.axes[0].n_cells == 4
    assert [e["event"] for e in result["history"] if "event" in e] == ["refine width"]
    (rows,) = result["project_down"]
    assert [(r["width_cells"], r["width_order"]) for r in rows] == [(4, 1), (2, 1)]
    assert rows[0]["test_accuracy"] == result["final"]["test_accuracy"]
