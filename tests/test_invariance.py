"""The invariance API: exact invariance where the mathematics promises it, hand-computed drops,
the resolution axis, bad input."""

import numpy as np
import pytest
import torch

from fem_nn import ContinuumNetwork, Mesh, Task, bias_mesh, burgers_task, task_network, uniform_axis, weight_mesh
from fem_nn.invariance import (
    DEFAULT_SET, Elevated, Refined, Requadrature, Resampled, Restepped, drop, invariance, manifestation,
)
from fem_nn.tasks import relative_error


def p0_width_network(cells, depth_family="p0", depth_order=0, weights=None, activation="tanh", scheme="rk4", steps=2):
    width = uniform_axis((-1, 1), cells, "p0", 0)
    depth = uniform_axis((0, 1), 1, depth_family, depth_order)
    output = Mesh([uniform_axis((-1, 1), cells, "p0", 0)])
    return ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), activation=activation, scheme=scheme,
                            steps=steps, output_mesh=output, weights=weights, dtype=torch.float64)


def regression_task(x: torch.Tensor, y: torch.Tensor, name="constant per cell") -> Task:
    return Task(name, "regression", x, y, x, y, x.shape[1])


def test_p0_width_with_inputs_on_its_cells_is_width_invariant_to_round_off():
    # state constant on each width cell: every Nyström sum over a cell is exact, whatever its nodes
    rng = np.random.default_rng(0)
    weights = {"weight": rng.normal(0, 1, (4, 4, 1)), "bias": rng.normal(0, 1, (4, 1))}
    net = p0_width_network(4, weights=weights)
    x = torch.as_tensor(rng.normal(0, 1, (6, 4)))
    task = regression_task(x, torch.as_tensor(rng.normal(0, 1, (6, 4))))
    width = [m for m in DEFAULT_SET if m.axis == "width"]
    for m in width:
        torch.testing.assert_close(m.network(net)(x), net(x), rtol=1e-12, atol=1e-13)
    report = invariance(net, task, width)
    assert len(report.rows) == 4
    assert report.max_drop("width") < 1e-12
    assert report.max_drop("depth") is None and set(report.figures()) == {"metric", "max_drop_width"}


def test_nested_depth_refinement_keeps_the_metric_to_round_off():
    rng = np.random.default_rng(1)
    width, depth = uniform_axis((-1, 1), 3, "legendre", 2), uniform_axis((0, 1), 2, "lagrange", 1)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), steps=3, dtype=torch.float64,
                           output_mesh=Mesh([uniform_axis((-1, 1), 5, "p0", 0)]))
    with torch.no_grad():
        net.bias.copy_(torch.as_tensor(rng.normal(0, 1, net.bias.shape)))
    x = torch.as_tensor(rng.normal(0, 1, (8, 5)))
    report = invariance(net, regression_task(x, torch.as_tensor(rng.normal(0, 1, (8, 5)))), [Refined("depth")])
    assert report.metric > 0.1
    assert abs(report.rows[0].metric / report.metric - 1) < 1e-12 and report.rows[0].drop < 1e-12


def test_depth_drops_of_a_linear_bias_in_accuracy_points():
    # W = 0, b = δ·c, γ = identity: h(1) = x + c·S, with S = (n − 1)/(2n) for Euler in n steps
    # and S = 1/2 for every scheme of order >= 2. With c = (+1, −1) on the two width cells,
    # the logit margin of "left" over "right" is m + 2S for an input margin m.
    weights = {"weight": np.zeros((2, 2, 2)), "bias": np.array([[0.0, 1.0], [0.0, -1.0]])}
    net = p0_width_network(2, "lagrange", 1, weights, activation="identity", scheme="euler", steps=1)
    margins = torch.tensor([-0.3, -0.6, -0.8, -1.2], dtype=torch.float64)
    x = torch.stack([margins, torch.zeros(4, dtype=torch.float64)], dim=1)
    labels = torch.ones(4, dtype=torch.long)  # "right": correct while m + 2S < 0
    task = Task("margins", "classification", x, labels, x, labels, 2)
    report = invariance(net, task)
    assert report.metric == 1.0
    # euler × 2, 4, 8: 2S = 0.5, 0.75, 0.875 leave 3, 2 and 1 of 4 right; 2S = 1 leaves 1
    expected = {"trained scheme × 2 steps": 25.0, "trained scheme × 4 steps": 50.0, "trained scheme × 8 steps": 75.0,
                "rk4_38 × 1 steps": 75.0, "rk4_38 × 2 steps": 75.0, "midpoint × 2 steps": 75.0, "midpoint × 4 steps": 75.0}
    depth = {row.label: row.drop for row in report.rows if row.axis == "depth"}
    assert depth == pytest.approx(expected, abs=1e-9)
    assert report.figures() == pytest.approx({"metric": 1.0, "max_drop_depth": 75.0, "max_drop_width": 0.0}, abs=1e-9)


def line_source(task, samples):
    """ξ ↦ ξ as P0 cell averages (the cell centres) on `samples` cells, target = input."""
    centres = -1.0 + (2.0 * np.arange(samples) + 1.0) / samples
    x = torch.as_tensor(np.outer([1.0, -2.0], centres))
    return regression_task(x, x, "line")


def identity_network(output_cells):
    """Zero fields on one linear Legendre width cell (nodes ±1/√3): the identity flow."""
    width, depth = uniform_axis((-1, 1), 1, "legendre", 1), uniform_axis((0, 1), 1, "p0", 0)
    return ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), output_mesh=Mesh([uniform_axis((-1, 1), output_cells, "p0", 0)]),
                            weights={"weight": np.zeros((2, 2, 1)), "bias": np.zeros((2, 1))}, dtype=torch.float64)


def test_resolution_drops_of_the_identity_read_at_two_gauss_nodes():
    # zero fields: the output is the linear field through the input's values at ±1/√3, read
    # from the input cell holding each node; for ξ ↦ ξ that field is s·ξ with s = c(N)·√3, c(N)
    # the centre of that cell, and the relative error of every output is |s − 1|
    net = identity_network(8)

    def error(n):
        cell = np.floor((1 / np.sqrt(3) + 1) / 2 * n)
        return abs((-1 + (2 * cell + 1) / n) * np.sqrt(3) - 1)

    report = invariance(net, line_source(None, 8), [Resampled(0.5), Resampled(2), Resampled(4)], source=line_source)
    assert report.metric == pytest.approx(error(8), rel=1e-12)
    assert [row.metric for row in report.rows] == pytest.approx([error(4), error(16), error(32)], rel=1e-12)
    assert report.max_drop("resolution") == pytest.approx(error(4) / error(8) - 1, rel=1e-12)
    assert [row.drop for row in report.rows[1:]] == [0.0, 0.0]  # finer inputs: smaller errors here


def test_burgers_resolution_matches_a_direct_evaluation():
    task = burgers_task(n_train=2, n_test=3, cells=32)
    net = task_network(task, width_cells=4)
    report = invariance(net, task, [Resampled(2)])
    fine = burgers_task(n_train=1, n_test=3, cells=64)
    direct = net.remanifested(output_mesh=Mesh([uniform_axis((-1, 1), 64, "p0", 0)]))
    with torch.no_grad():
        expected = relative_error(direct(fine.x_test, resample=True), fine.y_test)
    assert report.rows[0].metric == pytest.approx(expected, rel=1e-6)
    assert report.rows[0].metric != pytest.approx(report.metric, rel=1e-3)  # another resolution, another error


def test_resolution_is_skipped_for_a_task_without_a_source():
    net = p0_width_network(2)
    x = torch.ones(3, 2, dtype=torch.float64)
    report = invariance(net, regression_task(x, x), [Requadrature(1), Resampled(2)])
    assert [row.axis for row in report.rows] == ["width"]


def test_drop_units():
    classification = Task("c", "classification", torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), 2)
    regression = regression_task(torch.zeros(1, 2), torch.zeros(1, 2))
    assert drop(classification, 0.97, 0.965) == pytest.approx(0.5)  # half an accuracy point
    assert drop(classification, 0.90, 0.95) == 0.0
    assert drop(regression, 0.04, 0.044) == pytest.approx(0.1)
    assert drop(regression, 0.04, 0.03) == 0.0


def test_bad_input_fails_loudly():
    net = p0_width_network(2)
    x = torch.ones(3, 2, dtype=torch.float64)
    task = regression_task(x, x)
    with pytest.raises(ValueError, match="kind must be one of"):
        manifestation("stretch")
    with pytest.raises(TypeError, match="manifestation 'steps'"):
        manifestation("steps", steps=3)
    with pytest.raises(ValueError, match="scheme must be one of"):
        Restepped(2, "rk5")
    with pytest.raises(ValueError, match="factor must be >= 1"):
        Restepped(0)
    with pytest.raises(ValueError, match="on must be 'width' or 'depth'"):
        Refined("xi")
    with pytest.raises(ValueError, match="by must be >= 1"):
        Elevated(0)
    with pytest.raises(TypeError, match="network must be a ContinuumNetwork"):
        invariance(torch.nn.Linear(2, 2), task)
    with pytest.raises(TypeError, match="manifestations must be a sequence"):
        invariance(net, task, "steps")
    with pytest.raises(TypeError, match=r"manifestations\[0\] must be a Manifestation"):
        invariance(net, task, [3])
    with pytest.raises(ValueError, match="not a whole number of samples"):
        invariance(net, line_source(None, 8), [Resampled(0.3)], source=line_source)
    with pytest.raises(ValueError, match="does not reproduce its train inputs"):
        invariance(identity_network(6), line_source(None, 6), [Resampled(2)], source=lambda task, n: line_source(task, n + 1))


def test_bench_invariance_prints_the_json_figures(capsys, tmp_path):
    import json

    from fem_nn.cli import main

    plot = tmp_path / "slices.png"
    assert main(["bench", "invariance", "--epochs", "1", "--tasks", "digits", "--mechanisms", "default", "--plot", str(plot), "--json"]) == 0
    assert plot.stat().st_size > 0
    out = capsys.readouterr().out
    figures = json.loads(out.strip().splitlines()[-1])
    assert set(figures) == {"digits", "mechanisms"} and set(figures["mechanisms"]) == {"default"}
    digits = figures["digits"]
    assert set(digits) == {"metric", "max_drop_depth", "max_drop_width"}  # digits has no resolution
    assert 0.2 < digits["metric"] <= 1 and digits["max_drop_depth"] >= 0 and digits["max_drop_width"] >= 0
    assert figures["mechanisms"]["default"]["digits"] == digits
    assert f"{digits['metric']:.4f}" in out  # the table shows what the JSON holds
    assert main(["bench", "invariance", "--tasks", "cifar"]) == 2
