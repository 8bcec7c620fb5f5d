"""Plots: what is drawn equals what the fields, meshes, errors and histories say."""

import numpy as np
import pytest
import torch

pytest.importorskip("matplotlib")

from fem_nn import Axis, ContinuumNetwork, Field, Mesh, bias_mesh, uniform_axis, weight_mesh  # noqa: E402
from fem_nn.convergence import ConvergenceResult, _fitted_order  # noqa: E402
from fem_nn.plotting import (  # noqa: E402
    plot_canonical_form, plot_convergence, plot_field, plot_mesh, plot_training, plot_weight_slices, pyplot,
)
from fem_nn.training import training_curve  # noqa: E402

plt = pyplot()  # headless


@pytest.fixture(autouse=True)
def close_figures():
    before = set(plt.get_fignums())
    yield
    for number in set(plt.get_fignums()) - before:
        plt.close(number)


def random_field(mesh, seed=0):
    return Field(mesh, np.random.default_rng(seed).normal(size=mesh.shape))


def segments(line):
    """The pieces of a line between its NaN breaks."""
    x, y = (np.asarray(v, dtype=float) for v in line.get_data())
    breaks = np.flatnonzero(np.isnan(x))
    assert np.array_equal(breaks, np.flatnonzero(np.isnan(y)))
    return list(zip(np.split(x, breaks), np.split(y, breaks))), breaks


def image(ax):
    """Cell-centre coordinates (x, y) and values of the one pcolormesh of `ax`."""
    (quads,) = ax.collections
    corners = quads.get_coordinates()
    x_edges, y_edges = corners[0, :, 0], corners[:, 0, 1]
    xc, yc = 0.5 * (x_edges[1:] + x_edges[:-1]), 0.5 * (y_edges[1:] + y_edges[:-1])
    values = np.asarray(quads.get_array()).reshape(len(yc), len(xc))
    return x_edges, y_edges, xc, yc, values


def vertical_lines(ax):
    """x of every full-height vertical line (axvline) of `ax`."""
    return [line.get_xdata()[0] for line in ax.lines if list(line.get_ydata()) == [0, 1]]


# --- convergence plots -------------------------------------------------------------------


def test_plot_convergence_draws_the_data_and_the_fitted_rate():
    x = np.array([10.0, 20.0, 40.0, 80.0])
    errors = 5.0 * x**-3.0
    figure = plot_convergence(x, errors, label="P2", xlabel="dofs")
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["P2: rate 3.00"]
    data, fit = ax.lines
    assert np.array_equal(data.get_xdata(), x) and np.array_equal(data.get_ydata(), errors)
    # the dashed fit spans the fitted range on the power law itself
    assert fit.get_linestyle() == "--"
    assert np.allclose(fit.get_xdata(), [10.0, 80.0], rtol=0, atol=0)
    assert np.allclose(fit.get_ydata(), 5.0 * np.array([10.0, 80.0]) ** -3.0, rtol=1e-12)
    assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_xlabel() == "dofs"

    unlabelled = plot_convergence([1, 2, 4], [1.0, 0.5, 0.25], xlabel="steps").axes[0]
    assert [t.get_text() for t in unlabelled.get_legend().get_texts()] == ["rate 1.00"]
    assert unlabelled.get_xlabel() == "steps"


def test_plot_convergence_of_several_sequences_and_a_given_axes():
    x = [8, 16, 32, 64]
    errors = {"euler": [1 / n for n in x], "rk4": [1 / n**4 for n in x[:-1]] + [0.0]}
    figure, ax = plt.subplots()
    assert plot_convergence(x, errors, floor=1e-13, ax=ax) is figure
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["euler: rate 1.00", "rk4: rate 4.00"]  # the zero is left out of the fit
    rk4 = ax.lines[2]
    assert np.isnan(rk4.get_ydata()[-1])  # and not drawn on log axes
    with pytest.raises(ValueError, match="errors must be positive"):
        plot_convergence(x, errors)  # no floor: the zero is an error
    with pytest.raises(ValueError, match="label"):
        plot_convergence(x, errors, label="both", floor=0.0)
    with pytest.raises(TypeError, match="keys of errors"):
        plot_convergence(x, {1: x})
    with pytest.raises(TypeError, match="ax must be"):
        plot_convergence(x, errors["euler"], ax="left")
    with pytest.raises(TypeError, match="xlabel"):
        plot_convergence(x, errors["euler"], xlabel=3)


def test_convergence_result_plot_shows_its_orders():
    steps = np.array([4, 8, 16, 32])
    errors = {"euler": 0.3 / steps, "midpoint": 0.7 / steps**2.0, "rk4": np.array([2e-4, 1.25e-5, 1e-14, 0.0])}
    result = ConvergenceResult(steps, errors, {name: _fitted_order(steps, e) for name, e in errors.items()})
    assert result.orders["euler"] == pytest.approx(1.0, abs=1e-12)
    assert result.orders["rk4"] == pytest.approx(4.0, abs=1e-12)  # 1e-14 and 0 are round-off
    ax = result.plot().axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == [f"{name}: rate {order:.2f}" for name, order in result.orders.items()]
    assert ax.get_xlabel() == "steps" and ax.get_ylabel() == "relative error"


# --- fields ------------------------------------------------------------------------------


@pytest.mark.parametrize("family, order", [("legendre", 2), ("p0", 0), ("lagrange", 3), ("lagrange_dg", 1)])
def test_plot_field_curve_is_the_field_cell_by_cell(family, order):
    axis = Axis([-1.0, -0.7, -0.1, 0.2, 0.9, 1.0], family, order)
    field = random_field(Mesh([axis]), seed=3)
    (ax,) = plot_field(field, points_per_cell=9).axes
    (line,) = ax.lines
    pieces, breaks = segments(line)
    assert len(pieces) == axis.n_cells and len(breaks) == axis.n_cells - 1
    for c, (x, y) in enumerate(pieces):
        x, y = x[np.isfinite(x)], y[np.isfinite(y)]
        assert len(x) == 9 and x[0] == axis.breakpoints[c] and x[-1] == axis.breakpoints[c + 1]
        # inside and at its left end from the right, at its right end from the left
        assert np.allclose(y[:-1], field.evaluate(x[:-1], side="right"), rtol=0, atol=1e-12)
        assert abs(y[-1] - field.evaluate(x[-1:], side="left")[0]) < 1e-12
    ends = [p[1][np.isfinite(p[1])] for p in pieces]
    jumps = np.array([ends[c + 1][0] - ends[c][-1] for c in range(axis.n_cells - 1)])
    if axis.family.continuous:
        assert np.allclose(jumps, 0.0, atol=1e-12)
    else:
        assert np.all(np.abs(jumps) > 1e-6)  # the jumps are gaps, not steep lines
    assert np.allclose(ax.xaxis.get_minor_locator().locs, axis.breakpoints)  # a grid line each


def test_plot_field_image_is_the_field_at_cell_centres():
    mesh = Mesh([Axis([-1.0, -0.2, 0.5, 1.0], "legendre", [1, 3, 2]), Axis([0.0, 0.3, 1.0], "p0", 0)])
    field = random_field(mesh, seed=4)
    figure = plot_field(field, points_per_cell=5)
    assert len(figure.axes) == 2  # the image and its colour bar
    x_edges, y_edges, xc, yc, values = image(figure.axes[0])
    assert len(xc) == 3 * 5 and len(yc) == 2 * 5
    assert set(mesh.axes[0].breakpoints) <= set(x_edges) and set(mesh.axes[1].breakpoints) <= set(y_edges)
    points = np.array([(x, y) for y in yc for x in xc])
    assert np.allclose(values.ravel(), field.evaluate(points), rtol=0, atol=1e-12)
    assert figure.axes[0].get_xlabel() == "ξ" and figure.axes[0].get_ylabel() == "δ"


def test_plot_field_slices_of_a_weight_field():
    width, depth = uniform_axis((-1, 1), 3, "legendre", 2), uniform_axis((0, 1), 4, "lagrange_dg", 1)
    w = random_field(weight_mesh(width, depth), seed=5)
    ax = plot_field(w, at={"delta": 0.3}, points_per_cell=4).axes[0]
    _, _, xc, yc, values = image(ax)
    points = np.array([(x, y, 0.3) for y in yc for x in xc])
    assert np.allclose(values.ravel(), w.evaluate(points), rtol=0, atol=1e-12)
    assert ax.get_title() == "δ = 0.3" and (ax.get_xlabel(), ax.get_ylabel()) == ("ξ", "η")

    # a curve in ξ, axes named by index; δ = 0.5 is a breakpoint: the cell on the right
    ax = plot_field(w, at={1: -0.4, 2: 0.5}, points_per_cell=6).axes[0]
    x, y = (np.asarray(v) for v in ax.lines[0].get_data())
    inside = np.isfinite(x) & ~np.isin(x, width.breakpoints[1:])
    points = np.stack([x[inside], np.full(inside.sum(), -0.4), np.full(inside.sum(), 0.5)], axis=1)
    assert np.allclose(y[inside], w.evaluate(points, side="right"), rtol=0, atol=1e-12)
    assert not np.allclose(y[inside], w.evaluate(points, side="left"), atol=1e-6)
    assert ax.get_title() == "η = -0.4, δ = 0.5"


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ({}, ValueError, "3D field needs at="),
        ({"at": {"delta": 1.5}}, ValueError, r"at\['delta'\] = 1.5 lies outside"),
        ({"at": {"zeta": 0.5}}, ValueError, "not an axis"),
        ({"at": {"delta": 0.5, 2: 0.1}}, ValueError, "twice"),
        ({"at": {"xi": 0, "eta": 0, "delta": 0}}, ValueError, "fixes all 3 axes"),
        ({"at": [("delta", 0.5)]}, TypeError, "at must be a mapping"),
        ({"at": {"delta": "0.5"}}, TypeError, "at"),
        ({"at": {"delta": float("nan")}}, ValueError, "finite"),
        ({"at": {"eta": 0.0, "delta": 0.5}, "points_per_cell": 1}, ValueError, "points_per_cell"),
        ({"at": {"delta": 0.5}, "points_per_cell": 0}, ValueError, "points_per_cell"),
        ({"at": {"delta": 0.5}, "points_per_cell": 2.0}, TypeError, "points_per_cell"),
        ({"at": {"delta": 0.5}, "title": 3}, TypeError, "title"),
        ({"at": {"delta": 0.5}, "ax": "axes"}, TypeError, "ax must be"),
    ],
)
def test_plot_field_rejects_bad_arguments_before_drawing(arguments, error, match):
    w = Field(weight_mesh())
    before = plt.get_fignums()
    with pytest.raises(error, match=match):
        plot_field(w, **arguments)
    assert plt.get_fignums() == before  # no figure was made


def test_plot_field_needs_a_field():
    with pytest.raises(TypeError, match="field must be a Field"):
        plot_field(np.zeros(9))


# --- weight slices -----------------------------------------------------------------------


def network(rhs="integral"):
    width, depth = uniform_axis((-1, 1), 4, "legendre", 1), uniform_axis((0, 1), 4, "p0", 0)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs=rhs, dtype=torch.float64)
    generator = torch.Generator().manual_seed(6)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64))
    return net


def test_plot_weight_slices_of_a_network_are_its_fields():
    net = network()
    w = Field(net.weight_mesh, net.weight.detach().numpy())
    b = Field(net.bias_mesh, net.bias.detach().numpy())
    figure = plot_weight_slices(net, depth=0.5, width_point=0.3, points_per_cell=3)
    at_depth, along_depth, bias = figure.axes[:3]
    assert len(figure.axes) == 6  # three images, three colour bars

    _, _, xc, yc, values = image(at_depth)  # δ = 0.5 is a breakpoint: the cell above it
    expected = w.evaluate([(x, y, 0.5) for y in yc for x in xc], side="right")
    assert np.allclose(values.ravel(), expected, rtol=0, atol=1e-12)
    assert (at_depth.get_xlabel(), at_depth.get_ylabel()) == ("ξ", "η")

    _, _, xc, yc, values = image(along_depth)
    assert np.allclose(values.ravel(), w.evaluate([(x, 0.3, y) for y in yc for x in xc]), rtol=0, atol=1e-12)
    assert (along_depth.get_xlabel(), along_depth.get_ylabel()) == ("ξ", "δ")

    _, _, xc, yc, values = image(bias)
    assert np.allclose(values.ravel(), b.evaluate([(x, y) for y in yc for x in xc]), rtol=0, atol=1e-12)
    assert [a.get_title() for a in figure.axes[:3]] == ["weight(ξ, η, δ = 0.5)", "weight(ξ, η = 0.3, δ)", "bias(ξ, δ)"]


def test_plot_weight_slices_of_a_two_layer_network_has_a_row_per_layer():
    net = network("two_layer")
    figure = plot_weight_slices(net, depth=0.9)
    titles = [a.get_title() for a in figure.axes[:6]]
    assert titles == ["weight1(ξ, η, δ = 0.9)", "weight1(ξ, η = 0, δ)", "bias1(ξ, δ)",
                      "weight2(ξ, η, δ = 0.9)", "weight2(ξ, η = 0, δ)", "bias2(ξ, δ)"]
    _, _, xc, yc, values = image(figure.axes[3])
    w2 = net.fields()["weight2"]
    assert np.allclose(values.ravel(), w2.evaluate([(x, y, 0.9) for y in yc for x in xc]), rtol=0, atol=1e-12)


def test_plot_weight_slices_of_fields():
    net = network()
    w, b = net.fields()["weight"], net.fields()["bias"]
    assert len(plot_weight_slices(w).axes) == 4  # W at a depth, W along depth, their colour bars
    figure = plot_weight_slices(w, b, depth=0.0, width_point=-1.0)
    assert [a.get_title() for a in figure.axes[:3]] == ["W(ξ, η, δ = 0)", "W(ξ, η = -1, δ)", "b(ξ, δ)"]


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ({"depth": 1.5}, ValueError, r"depth must lie in the delta interval \[0, 1\]"),
        ({"depth": -0.1}, ValueError, "depth must lie"),
        ({"width_point": 2.0}, ValueError, r"width_point must lie in the eta interval \[-1, 1\]"),
        ({"depth": "0.5"}, TypeError, "depth must be a real number"),
        ({"depth": True}, TypeError, "depth must be a real number"),
        ({"width_point": float("inf")}, ValueError, "width_point must be finite"),
        ({"bias": Field(bias_mesh())}, ValueError, "bias is taken from the network"),
        ({"points_per_cell": 0}, ValueError, "points_per_cell"),
    ],
)
def test_plot_weight_slices_rejects_bad_arguments(arguments, error, match):
    with pytest.raises(error, match=match):
        plot_weight_slices(network(), **arguments)


def test_plot_weight_slices_rejects_other_objects():
    with pytest.raises(ValueError, match="3D weight field"):
        plot_weight_slices(Field(bias_mesh()))
    with pytest.raises(ValueError, match="bias must be a 2D field"):
        plot_weight_slices(Field(weight_mesh()), Field(weight_mesh()))
    with pytest.raises(TypeError, match="bias must be a Field"):
        plot_weight_slices(Field(weight_mesh()), np.zeros((9, 4)))
    with pytest.raises(TypeError, match="ContinuumNetwork or a 3D Field"):
        plot_weight_slices(np.zeros((9, 9, 4)))


# --- meshes ------------------------------------------------------------------------------


def test_plot_mesh_draws_every_cell_with_its_order():
    xi = Axis([-1.0, -0.5, 0.25, 1.0], "legendre", [1, 3, 2], quadrature="gauss_lobatto")
    delta = uniform_axis((0, 1), 4, "p0", 0)
    mesh = Mesh([xi, delta])
    figure = plot_mesh(mesh)
    assert len(figure.axes) == 2
    for name, axis, ax in zip(mesh.names, mesh.axes, figure.axes):
        rectangles = ax.patches
        assert len(rectangles) == axis.n_cells
        assert np.allclose([r.get_x() for r in rectangles], axis.breakpoints[:-1], rtol=0, atol=1e-15)
        assert np.allclose([r.get_x() + r.get_width() for r in rectangles], axis.breakpoints[1:], rtol=0, atol=1e-15)
        assert [t.get_text() for t in ax.texts] == [str(p) for p in axis.orders]
        assert np.allclose([0.5 * (r.get_x() * 2 + r.get_width()) for r in rectangles], [t.get_position()[0] for t in ax.texts])
        (marks,) = ax.collections  # the breakpoints
        assert np.allclose(sorted(s[0, 0] for s in marks.get_segments()), axis.breakpoints)
        title = ax.get_title()
        assert title.startswith(f"{name}: ") and axis.family.value in title and axis.quadrature.value in title
        assert f"{axis.n_cells} cells, {axis.n_dofs} dofs" in title
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == [f"order {p}" for p in sorted(set(axis.orders.tolist()))]
    # one colour per order, shared between the rows
    colours = {}
    for axis, ax in zip(mesh.axes, figure.axes):
        for p, r in zip(axis.orders, ax.patches):
            colours.setdefault(int(p), set()).add(r.get_facecolor())
    assert all(len(c) == 1 for c in colours.values()) and len({c.pop() for c in colours.values()}) == 4
    assert "gauss_lobatto × 4" in figure.axes[0].get_title()


def test_plot_mesh_of_an_axis_and_of_many_cells():
    figure = plot_mesh(uniform_axis((0, 1), 60, "lagrange", 2))
    (ax,) = figure.axes
    assert len(ax.patches) == 60 and len(ax.texts) == 0  # too many cells to label: colours only
    assert len(plot_mesh(weight_mesh()).axes) == 3
    with pytest.raises(TypeError, match="mesh must be a Mesh or an Axis"):
        plot_mesh(Field(bias_mesh()))


# --- training ----------------------------------------------------------------------------

HISTORY = [
    {"epoch": 1, "loss": 2.0, "test_accuracy": 0.3, "parameters": 100},
    {"epoch": 2, "batch": 3, "event": "nan_rollback"},
    {"epoch": 2, "loss": 1.0, "test_accuracy": 0.5, "parameters": 100},
    {"epoch": 2, "event": "refine depth", "parameters": 200},
    {"epoch": 3, "loss": 0.5, "test_accuracy": 0.6, "parameters": 200},
    {"epoch": 3, "event": "mgopt × 2", "test_accuracy": 0.65},
    {"epoch": 4, "loss": 0.25, "test_accuracy": 0.8, "parameters": 200},
    {"epoch": 4, "event": "adapt", "parameters": 150},
]


def test_plot_training_marks_one_line_per_event_at_its_step():
    figure = plot_training(HISTORY)
    loss, accuracy = figure.axes
    assert (loss.get_ylabel(), accuracy.get_ylabel()) == ("loss", "test_accuracy")
    assert loss.get_yscale() == "log" and accuracy.get_yscale() == "linear"
    assert np.array_equal(loss.lines[0].get_xdata(), [1, 2, 3, 4])
    assert np.array_equal(loss.lines[0].get_ydata(), [2.0, 1.0, 0.5, 0.25])
    assert np.array_equal(accuracy.lines[0].get_ydata(), [0.3, 0.5, 0.6, 0.8])  # not the event's 0.65
    for ax in figure.axes:
        assert vertical_lines(ax) == [2, 3, 4]  # nan_rollback is no change of the network
        assert [t.get_text() for t in ax.texts] == ["refine depth", "mgopt × 2", "adapt"]
        assert [t.xy[0] for t in ax.texts] == [2, 3, 4]


def test_plot_training_with_given_events_metrics_and_plain_losses():
    figure = plot_training(HISTORY, events=[(1.5, "elevate"), {"epoch": 3, "event": "coarsen"}], metrics=["test_accuracy"])
    (ax,) = figure.axes
    assert vertical_lines(ax) == [1.5, 3.0] and [t.get_text() for t in ax.texts] == ["elevate", "coarsen"]
    (ax,) = plot_training([0.5, 0.25, 0.125], events=[(2, "refine")]).axes
    assert np.array_equal(ax.lines[0].get_xdata(), [1, 2, 3]) and vertical_lines(ax) == [2.0]
    assert ax.get_xlabel() == "epoch"
    (ax,) = plot_training([{"step": 10, "loss": 1.0}, {"step": 20, "loss": 0.5}], step="step").axes
    assert np.array_equal(ax.lines[0].get_xdata(), [10, 20]) and ax.get_xlabel() == "step"


@pytest.mark.parametrize(
    "history, options, error, match",
    [
        ([], {}, ValueError, "history is empty"),
        ({"epoch": 1}, {}, TypeError, "history must be a sequence"),
        ([{"loss": 1.0}], {}, ValueError, "history\\[0\\] has no 'epoch'"),
        ([{"epoch": 1, "loss": 1.0}, 3.0], {}, TypeError, "history\\[1\\]"),
        ([{"epoch": 1, "event": "refine"}], {}, ValueError, "no metric"),
        (HISTORY, {"metrics": ["accuracy"]}, ValueError, "not in the history"),
        (HISTORY, {"metrics": "loss"}, TypeError, "metrics must be"),
        (HISTORY, {"events": [(1, 2)]}, TypeError, "label must be a string"),
        (HISTORY, {"events": [("one", "refine")]}, TypeError, "events\\[0\\] step"),
        (HISTORY, {"events": [{"epoch": 1}]}, ValueError, "events\\[0\\] must have"),
        (HISTORY, {"events": "refine"}, TypeError, "events must be"),
        (HISTORY, {"step": 1}, TypeError, "step must be"),
    ],
)
def test_plot_training_rejects_bad_arguments(history, options, error, match):
    with pytest.raises(error, match=match):
        plot_training(history, **options)


def test_training_curve_is_plot_training_written_as_png(tmp_path, capsys):
    before = plt.get_fignums()
    training_curve(HISTORY, "test_accuracy", tmp_path / "curve.png")
    data = (tmp_path / "curve.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert plt.get_fignums() == before  # closed after writing
    assert "curve.png" in capsys.readouterr().out


# --- canonical forms ---------------------------------------------------------------------


def test_plot_canonical_form_draws_the_singular_values_and_both_matrices_on_one_scale():
    w = np.random.default_rng(3).normal(size=(4, 6))
    u, s, _ = np.linalg.svd(w, full_matrices=False)
    figure = plot_canonical_form(s, w, u.T @ w)
    values, before, after, bar = figure.axes
    assert np.array_equal(values.lines[0].get_xdata(), np.arange(4)) and np.array_equal(values.lines[0].get_ydata(), s)
    assert values.get_yscale() == "log"
    for ax, matrix in ((before, w), (after, u.T @ w)):
        (shown,) = ax.images
        assert np.array_equal(shown.get_array(), np.abs(matrix)) and ax.get_ylabel() == "stream channel"
        assert shown.get_clim() == (0.0, max(np.abs(w).max(), np.abs(u.T @ w).max()))
    # canonical: the rows are orthogonal, their norms the singular values
    rows = np.linalg.norm(u.T @ w, axis=1)
    assert np.allclose(rows, s, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ((np.array([1.0, -1.0]), np.eye(2), np.eye(2)), ValueError, "sigma must be a non-negative vector"),
        ((np.ones((2, 2)), np.eye(2), np.eye(2)), ValueError, "sigma must be a non-negative vector"),
        ((np.array([1, 2]), np.eye(2), np.eye(2)), TypeError, "sigma must be a real floating-point"),
        ((np.ones(3), np.eye(2), np.eye(2)), ValueError, r"before must be a matrix with a row per stream channel \(3\)"),
        ((np.ones(2), np.eye(2), np.ones((2, 3))), ValueError, r"after must have the shape of before \(2, 2\)"),
        ((np.ones(2), np.eye(2), np.full((2, 2), np.nan)), ValueError, "after must be finite"),
    ],
)
def test_plot_canonical_form_rejects_bad_arguments(arguments, error, match):
    with pytest.raises(error, match=match):
        plot_canonical_form(*arguments)


# --- files -------------------------------------------------------------------------------


def test_every_plot_writes_its_figure(tmp_path, capsys):
    net = network()
    drawings = {
        "field": lambda path: plot_field(net.fields()["bias"], path=path),
        "slices": lambda path: plot_weight_slices(net, path=path),
        "mesh": lambda path: plot_mesh(net.weight_mesh, path=path),
        "convergence": lambda path: plot_convergence([2, 4, 8], [1.0, 0.25, 0.0625], path=path),
        "training": lambda path: plot_training(HISTORY, path=path),
        "canonical": lambda path: plot_canonical_form(np.ones(3), np.eye(3), np.eye(3), path=path),
    }
    for name, draw in drawings.items():
        path = tmp_path / f"{name}.png"
        figure = draw(path)
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
        width, height = (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))
        assert (width, height) == tuple(round(v) for v in figure.get_size_inches() * 110), name
    assert capsys.readouterr().out.count("figure: ") == len(drawings)
