"""Plots of fields, meshes, convergence studies and training runs (matplotlib is an optional
extra: ``pip install 'fem_nn[examples]'``).

Every ``plot_*`` function checks its arguments before it draws anything (a TypeError or
ValueError naming the argument), returns the matplotlib :class:`~matplotlib.figure.Figure`,
and writes it to `path` when one is given, on the headless Agg backend. Without a path the
figure stays open for ``plt.show()``.
"""

from __future__ import annotations

import io
import numbers
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import _checks
from .field import Field
from .io import atomic_write_bytes
from .mesh import Axis, Mesh
from .rates import log_log_fit

__all__ = [
    "pyplot",
    "save_figure",
    "plot_field",
    "plot_weight_slices",
    "plot_mesh",
    "plot_convergence",
    "plot_training",
    "plot_operator_predictions",
    "plot_manifestations",
    "plot_canonical_form",
]

SYMBOLS = {"xi": "ξ", "eta": "η", "delta": "δ"}
MAX_LABELLED_CELLS = 50  # plot_mesh writes each cell's order in it up to this many cells
SKIPPED_EVENTS = ("nan_rollback",)  # history events that are not changes of the network


def pyplot(headless: bool = True):
    """``matplotlib.pyplot``, on the file-only Agg backend when `headless`."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'fem_nn[examples]'") from None
    if headless:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path) -> None:
    """Lay out `figure`, write it to `path` atomically (PNG, or the format its suffix names:
    pdf, svg, ...) and say so."""
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=Path(path).suffix[1:].lower() or "png", dpi=110)
    atomic_write_bytes(path, buffer.getvalue())
    print(f"figure: {path}")


# --- argument checks -----------------------------------------------------------------------


def _field(value, name: str = "field") -> Field:
    if not isinstance(value, Field):
        raise TypeError(f"{name} must be a Field, got {type(value).__name__}")
    return value


def _points_per_cell(value, minimum: int):
    return None if value is None else _checks.integer(value, "points_per_cell", minimum)


def _symbol(name: str) -> str:
    return SYMBOLS.get(name, name)


def _finish(figure, path):
    if path is not None:
        save_figure(figure, path)
    return figure


# --- fields --------------------------------------------------------------------------------


def _curve_data(field: Field, n: int | None) -> tuple[np.ndarray, np.ndarray]:
    """`n` samples per cell of a 1D field, each cell evaluated from its own side (its right
    end from the left), the cells separated by a NaN."""
    axis = field.mesh.axes[0]
    n = n or max(4, min(64, -(-512 // axis.n_cells)))
    b = axis.breakpoints
    x = b[:-1, None] + np.diff(b)[:, None] * np.linspace(0.0, 1.0, n)
    x[:, -1] = b[1:]
    y = np.empty_like(x)
    y[:, :-1] = field.evaluate(x[:, :-1].ravel(), side="right").reshape(axis.n_cells, n - 1)
    y[:, -1] = field.evaluate(x[:, -1], side="left")
    gap = np.full((axis.n_cells, 1), np.nan)
    return np.hstack([x, gap]).ravel()[:-1], np.hstack([y, gap]).ravel()[:-1]


def _image_data(field: Field, n: int | None):
    """Cell edges per axis (`n` equal pieces per cell, every breakpoint an edge) and the values
    at the pieces' centres, which lie inside one cell each."""
    edges = []
    for axis in field.mesh.axes:
        m = n or max(1, min(32, -(-256 // axis.n_cells)))
        b = axis.breakpoints
        pieces = b[:-1, None] + np.diff(b)[:, None] * np.linspace(0.0, 1.0, m + 1)[:-1]
        edges.append(np.append(pieces.ravel(), b[-1]))
    centres = [0.5 * (e[1:] + e[:-1]) for e in edges]
    return edges, field.evaluate_grid(*centres)


def _draw_field(ax, field: Field, n: int | None, title: str | None) -> None:
    names = field.mesh.names
    if field.mesh.dim == 1:
        x, y = _curve_data(field, n)
        ax.plot(x, y, color="C0")
        ax.set_xticks(field.mesh.axes[0].breakpoints, minor=True)
        ax.grid(True, which="minor", axis="x", alpha=0.3)
        ax.set_xlabel(_symbol(names[0]))
    else:
        edges, values = _image_data(field, n)
        low, high = float(values.min()), float(values.max())
        if low < 0 < high:  # a diverging map centred on zero
            bound = max(-low, high)
            options = {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
        else:
            options = {"cmap": "viridis"}
        image = ax.pcolormesh(edges[0], edges[1], values.T, shading="flat", **options)
        ax.figure.colorbar(image, ax=ax)
        ax.set_xlabel(_symbol(names[0]))
        ax.set_ylabel(_symbol(names[1]))
    if title:
        ax.set_title(title)


def plot_field(field: Field, at=None, *, points_per_cell: int | None = None, ax=None, title: str | None = None, path=None):
    """A field: a curve (1D) or an image (2D); a 3D field, or a slice of any field, through `at`.

    Parameters
    ----------
    field : Field
    at : dict of axis (name or index) to float, optional
        Coordinates of the fixed axes, e.g. ``{"delta": 0.5}`` for W at one depth (an image
        over ξ, η) or ``{"eta": 0.0, "delta": 0.5}`` for a curve in ξ. Needed for a 3D field.
        At an interior breakpoint the value is taken from the cell on the right.
    points_per_cell : int, optional
        Samples per cell (curves: ≥ 2, end points included; images: pieces per cell and
        axis); default about 512 (curves) or 256 (images) samples per axis.
    ax : matplotlib Axes, optional
        Draw there (and save its figure) instead of on a new figure.
    title : str, optional
        Default: the fixed coordinates, if any.
    path : str or Path, optional
        Write the figure there.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    A curve is sampled cell by cell, each cell from its own side (its right end point from
    the left), with a NaN between cells: jumps of a discontinuous field show as gaps. An
    image samples the centres of equal pieces of each cell, so every breakpoint is a pixel
    edge.

    Examples
    --------
    >>> from fem_nn import Field, signal_mesh, weight_mesh
    >>> plt = pyplot()  # headless (Agg)
    >>> f = Field.from_function(signal_mesh(), lambda x: x**2)
    >>> figure = plot_field(f)
    >>> len(figure.axes), len(figure.axes[0].lines)
    (1, 1)
    >>> w = Field.from_function(weight_mesh(), lambda xi, eta, delta: xi * eta + delta)
    >>> figure2 = plot_field(w, at={"delta": 0.25})
    >>> len(figure2.axes)  # the image and its colour bar
    2
    >>> plt.close(figure); plt.close(figure2)
    """
    field = _field(field)
    n = _points_per_cell(points_per_cell, 1)
    if at is None and field.mesh.dim == 3:
        raise ValueError(
            "a 3D field needs at= fixing one axis (an image) or two (a curve), e.g. at={'delta': 0.5}"
        )
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string, got {type(title).__name__}")
    if ax is not None:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    sliced = field if at is None else field.restricted(at)
    if sliced.mesh.dim == 1 and n == 1:
        raise ValueError("points_per_cell must be >= 2 for a curve (both end points of each cell)")
    if title is None and at:
        title = ", ".join(f"{_symbol(field.mesh.names[field.mesh.axis_index(k)])} = {float(v):g}" for k, v in at.items())
    if ax is None:
        plt = pyplot(headless=path is not None)
        figure, ax = plt.subplots(figsize=(5, 4) if sliced.mesh.dim == 2 else (5, 3.4))
    _draw_field(ax, sliced, n, title)
    return _finish(ax.figure, path)


def plot_weight_slices(
    network_or_field,
    bias: Field | None = None,
    depth: float = 0.5,
    width_point: float = 0.0,
    *,
    points_per_cell: int | None = None,
    path=None,
):
    """Slices of the weight field and the bias: W(ξ, η, δ = depth), W(ξ, η = width_point, δ)
    (along depth at one width point) and b(ξ, δ), as images.

    Parameters
    ----------
    network_or_field : ContinuumNetwork or Field
        A network (one row of panels per weight/bias pair of its right-hand side: two for
        ``two_layer``) or a 3D weight field.
    bias : Field, optional
        A 2D bias field to show beside a weight field (not with a network: it has its own).
    depth : float, default 0.5
        δ of the first panel, in the depth interval [0, 1]; from the right at a breakpoint.
    width_point : float, default 0.0
        η of the second panel, in the width interval [-1, 1].
    points_per_cell : int, optional
        As for :func:`plot_field`.
    path : str or Path, optional
        Write the figure there.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import torch
    >>> from fem_nn import ContinuumNetwork, bias_mesh, weight_mesh
    >>> plt = pyplot()  # headless (Agg)
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> figure = plot_weight_slices(net, depth=0.3, width_point=0.5)
    >>> [a.get_title() for a in figure.axes[:3]]  # the panels (their colour bars follow)
    ['weight(ξ, η, δ = 0.3)', 'weight(ξ, η = 0.5, δ)', 'bias(ξ, δ)']
    >>> len(figure.axes)
    6
    >>> plt.close(figure)
    """
    from .continuum import ContinuumNetwork

    depth, width_point = _checks.real(depth, "depth"), _checks.real(width_point, "width_point")
    n = _points_per_cell(points_per_cell, 1)
    if isinstance(network_or_field, ContinuumNetwork):
        if bias is not None:
            raise ValueError("bias is taken from the network; pass bias only with a weight Field")
        mesh = network_or_field.weight_mesh
    elif isinstance(network_or_field, Field):
        mesh = network_or_field.mesh
        if mesh.dim != 3:
            raise ValueError(f"network_or_field must be a 3D weight field W(ξ, η, δ), got a {mesh.dim}D field")
        if bias is not None and _field(bias, "bias").mesh.dim != 2:
            raise ValueError(f"bias must be a 2D field b(ξ, δ), got a {bias.mesh.dim}D field")
    else:
        raise TypeError(f"network_or_field must be a ContinuumNetwork or a 3D Field, got {type(network_or_field).__name__}")
    for value, name, k in ((depth, "depth", 2), (width_point, "width_point", 1)):
        a, b = mesh.axes[k].interval
        if not a <= value <= b:
            raise ValueError(f"{name} must lie in the {mesh.names[k]} interval [{a:g}, {b:g}], got {value:g}")

    if isinstance(network_or_field, Field):
        rows = [("W", network_or_field, "b", bias)]
    else:
        fields = network_or_field.fields()
        rows = [(name, f, "bias" + name[6:], fields.get("bias" + name[6:]))  # weight1 with bias1, ...
                for name, f in fields.items() if name.startswith("weight")]
    columns = 3 if any(b is not None for *_, b in rows) else 2
    plt = pyplot(headless=path is not None)
    figure, axes = plt.subplots(len(rows), columns, figsize=(4.6 * columns, 3.8 * len(rows)), squeeze=False)
    for (w_name, w, b_name, b), row in zip(rows, axes):
        _draw_field(row[0], w.restricted({2: depth}), n, f"{w_name}(ξ, η, δ = {depth:g})")
        _draw_field(row[1], w.restricted({1: width_point}), n, f"{w_name}(ξ, η = {width_point:g}, δ)")
        if b is not None:
            _draw_field(row[2], b, n, f"{b_name}(ξ, δ)")
        elif columns == 3:
            row[2].set_visible(False)
    return _finish(figure, path)


# --- meshes --------------------------------------------------------------------------------


def plot_mesh(mesh, *, path=None):
    """The cells of every axis of a mesh, coloured (and, up to 50 cells, labelled) by their
    polynomial order, with the breakpoints marked.

    Parameters
    ----------
    mesh : Mesh or Axis
    path : str or Path, optional
        Write the figure there.

    Returns
    -------
    matplotlib.figure.Figure
        One row per axis, titled with the axis name, shape-function family, quadrature rule,
        cells and dofs.

    Examples
    --------
    >>> from fem_nn import bias_mesh
    >>> plt = pyplot()  # headless (Agg)
    >>> figure = plot_mesh(bias_mesh().elevated("xi", cells=[0]))
    >>> [len(a.patches) for a in figure.axes]  # one rectangle per cell
    [8, 4]
    >>> [t.get_text() for t in figure.axes[0].texts][:3]
    ['2', '1', '1']
    >>> plt.close(figure)
    """
    if isinstance(mesh, Axis):
        mesh = Mesh((mesh,))
    if not isinstance(mesh, Mesh):
        raise TypeError(f"mesh must be a Mesh or an Axis, got {type(mesh).__name__}")
    from matplotlib.patches import Patch, Rectangle

    plt = pyplot(headless=path is not None)
    orders = sorted({int(p) for axis in mesh.axes for p in axis.orders})
    colormap = plt.get_cmap("viridis")
    colour = {p: colormap(0.25 + 0.7 * i / max(1, len(orders) - 1)) for i, p in enumerate(orders)}
    figure, rows = plt.subplots(mesh.dim, 1, figsize=(7.5, 0.6 + 1.4 * mesh.dim), squeeze=False)
    for name, axis, ax in zip(mesh.names, mesh.axes, rows[:, 0]):
        b = axis.breakpoints
        for c in range(axis.n_cells):
            p = int(axis.orders[c])
            ax.add_patch(Rectangle((b[c], 0.0), b[c + 1] - b[c], 1.0, facecolor=colour[p], edgecolor="black", lw=0.8))
            if axis.n_cells <= MAX_LABELLED_CELLS:
                ax.text(0.5 * (b[c] + b[c + 1]), 0.5, str(p), ha="center", va="center", fontsize=8,
                        color="white" if p == orders[0] and len(orders) > 1 else "black")
        ax.vlines(b, -0.2, 1.2, color="black", lw=1.2)
        a, z = axis.interval
        pad = 0.02 * (z - a)
        ax.set_xlim(a - pad, z + pad)
        ax.set_ylim(-0.3, 1.3)
        ax.set_yticks([])
        ax.set_xlabel(_symbol(name))
        ax.set_title(
            f"{name}: {axis.family.value}, {axis.quadrature.value} × {axis.quadrature_points}; "
            f"{axis.n_cells} cells, {axis.n_dofs} dofs",
            fontsize=9,
        )
        present = sorted({int(p) for p in axis.orders})
        ax.legend([Patch(facecolor=colour[p], edgecolor="black") for p in present], [f"order {p}" for p in present],
                  loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return _finish(figure, path)


# --- convergence -----------------------------------------------------------------------------


def plot_convergence(
    x,
    errors,
    label: str | None = None,
    xlabel: str = "dofs",
    ylabel: str = "error",
    *,
    last: int | None = None,
    floor: float | None = None,
    ax=None,
    path=None,
):
    """Error against `x` on log-log axes, with the least-squares fitted rate in the legend
    and the fitted line dashed.

    Parameters
    ----------
    x : array_like of float, shape (n,)
        Positive: dofs, steps, ...
    errors : array_like of float, shape (n,), or dict of str to array_like
        One error sequence, or several by label (one curve each).
    label : str, optional
        The label of a single sequence.
    xlabel, ylabel : str
    last, floor : optional
        The fitted range, as for :func:`fitted_rate`. Without `floor` every error must be
        positive.
    ax : matplotlib Axes, optional
        Draw there instead of on a new figure.
    path : str or Path, optional
        Write the figure there.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> plt = pyplot()  # headless (Agg)
    >>> x = [8, 16, 32, 64]
    >>> figure = plot_convergence(x, [n**-2.0 for n in x], label="P1")
    >>> [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    ['P1: rate 2.00']
    >>> plt.close(figure)
    """
    if isinstance(errors, Mapping):
        if label is not None:
            raise ValueError("label is for one error sequence; the keys of an errors mapping are the labels")
        if not errors:
            raise ValueError("errors must not be empty")
        series = dict(errors)
        for name in series:
            if not isinstance(name, str):
                raise TypeError(f"the keys of errors must be strings (the labels), got {name!r}")
    else:
        if label is not None and not isinstance(label, str):
            raise TypeError(f"label must be a string, got {type(label).__name__}")
        series = {label: errors}
    for name, value in (("xlabel", xlabel), ("ylabel", ylabel)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    fits = {name: log_log_fit(x, e, last, floor) for name, e in series.items()}  # validates everything
    if ax is not None:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    else:
        plt = pyplot(headless=path is not None)
        _, ax = plt.subplots(figsize=(5, 4))
    x = _checks.real_vector(x, "x")
    for name, e in series.items():
        rate, log_c, fitted = fits[name]
        e = _checks.real_vector(e, "errors")
        shown = np.where(np.isfinite(e) & (e > 0), e, np.nan)
        text = "n/a" if np.isnan(rate) else f"{rate:.2f}"
        (line,) = ax.loglog(x, shown, "o-", label=f"rate {text}" if name is None else f"{name}: rate {text}")
        if not np.isnan(rate):
            ends = np.array([fitted.min(), fitted.max()])
            ax.loglog(ends, np.exp(log_c) * ends**-rate, "--", color=line.get_color(), lw=1, label="_fit")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return _finish(ax.figure, path)


# --- training --------------------------------------------------------------------------------


def _events(events, step: str) -> list[tuple[float, str]]:
    if isinstance(events, (str, bytes, Mapping)) or not hasattr(events, "__iter__"):
        raise TypeError(f"events must be a sequence of (step, label) pairs or of history records, got {events!r}")
    out = []
    for i, event in enumerate(events):
        if isinstance(event, Mapping):
            if step not in event or "event" not in event:
                raise ValueError(f"events[{i}] must have the keys {step!r} and 'event', got {sorted(event)}")
            at, label = event[step], event["event"]
        elif isinstance(event, (tuple, list)) and len(event) == 2:
            at, label = event
        else:
            raise TypeError(f"events[{i}] must be a (step, label) pair or a history record, got {event!r}")
        if not isinstance(label, str):
            raise TypeError(f"events[{i}]: the label must be a string, got {label!r}")
        out.append((_checks.real(at, f"events[{i}] step"), label))
    return out


def _shared_steps(marks: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """One mark per step, the labels of events at one step joined (drawn apart they overprint).

    Examples
    --------
    >>> _shared_steps([(2.0, "refine depth"), (2.0, "adapt"), (5.0, "coarsen depth")])
    [(2.0, 'refine depth + adapt'), (5.0, 'coarsen depth')]
    """
    steps: dict[float, list[str]] = {}
    for at, label in marks:
        steps.setdefault(at, []).append(label)
    return [(at, " + ".join(labels)) for at, labels in steps.items()]


def plot_training(history, events=None, metrics=None, *, step: str = "epoch", path=None):
    """Training curves against the step, one panel per metric, with the events (refinements,
    re-manifestations, ...) as labelled vertical lines.

    Parameters
    ----------
    history : sequence of dict, or sequence of float
        Records as in the ``history`` of :func:`~fem_nn.run_schedule` (a Trainer's): records
        with a `step` key and metric values, and event records with an ``"event"`` label.
        A plain sequence of numbers is a loss per step (steps 1, 2, ...).
    events : sequence of (step, label) pairs or of records, optional
        The events to mark; default the event records of `history`, less ``nan_rollback``
        (skipped steps, not changes of the network).
    metrics : sequence of str, optional
        The metrics to plot; default ``loss`` and every other numeric key of the records
        except `step`, ``parameters`` and ``batch``. Metrics named like a loss or an error
        get a logarithmic axis when positive.
    step : str, default "epoch"
        The key of the step in the records.
    path : str or Path, optional
        Write the figure there.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> plt = pyplot()  # headless (Agg)
    >>> history = [{"epoch": 1, "loss": 1.0, "accuracy": 0.5}, {"epoch": 2, "loss": 0.5, "accuracy": 0.7},
    ...            {"epoch": 2, "event": "refine depth"}, {"epoch": 3, "loss": 0.2, "accuracy": 0.9}]
    >>> figure = plot_training(history)
    >>> [a.get_ylabel() for a in figure.axes], [t.get_text() for t in figure.axes[0].texts]
    (['loss', 'accuracy'], ['refine depth'])
    >>> plt.close(figure)
    """
    if not isinstance(step, str):
        raise TypeError(f"step must be a string, got {type(step).__name__}")
    if isinstance(history, (str, bytes, Mapping)) or not hasattr(history, "__iter__"):
        raise TypeError(f"history must be a sequence of records (dicts) or of numbers, got {type(history).__name__}")
    history = list(history)
    if not history:
        raise ValueError("history is empty")
    if all(isinstance(r, numbers.Real) and not isinstance(r, bool) for r in history):
        history = [{step: i + 1, "loss": float(v)} for i, v in enumerate(history)]
    for i, record in enumerate(history):
        if not isinstance(record, Mapping):
            raise TypeError(f"history[{i}] must be a dict (a record) or every entry a number, got {record!r}")
        if step not in record:
            raise ValueError(f"history[{i}] has no {step!r} key: {record!r}")
    points = [r for r in history if "event" not in r]
    numeric = lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)  # noqa: E731
    available = []
    for record in points:
        for key, value in record.items():
            if key not in (step, "parameters", "batch") and numeric(value) and key not in available:
                available.append(key)
    if metrics is None:
        metrics = sorted(available, key=lambda k: k != "loss")  # the loss first
        if not metrics:
            raise ValueError(
                f"history has no metric to plot: no record without an event has a numeric value besides {step!r}"
            )
    else:
        if isinstance(metrics, str) or not all(isinstance(m, str) for m in metrics):
            raise TypeError(f"metrics must be a sequence of strings, got {metrics!r}")
        metrics = list(metrics)
        missing = [m for m in metrics if m not in available]
        if missing or not metrics:
            raise ValueError(f"metrics {missing or metrics} are not in the history; it has {available}")
    if events is None:
        marks = [(float(r[step]), str(r["event"])) for r in history if "event" in r and r["event"] not in SKIPPED_EVENTS]
    else:
        marks = _events(events, step)

    plt = pyplot(headless=path is not None)
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.4), squeeze=False)
    for metric, ax in zip(metrics, axes[0]):
        records = [r for r in points if numeric(r.get(metric))]
        xs = np.array([float(r[step]) for r in records])
        ys = np.array([float(r[metric]) for r in records])
        ax.plot(xs, ys, color="C0")
        if ("loss" in metric or "error" in metric) and np.all(ys > 0):
            ax.set_yscale("log")
        for at, label in _shared_steps(marks):
            ax.axvline(at, color="grey", ls=":", lw=1)
            ax.annotate(label, (at, 1.0), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                        fontsize=7, color="grey")
        ax.set_xlabel(step)
        ax.set_ylabel(metric)
    return _finish(figure, path)


def plot_operator_predictions(u0, uT, predictions: Mapping, *, path=None):
    """One function-to-function test pair — input `u0` and target `uT` sampled at the
    midpoints of equal cells of [-1, 1] — with a model's predictions as P0 cell values, one
    curve per entry ``cells -> values`` of `predictions` (any resolutions); the figure, saved
    to `path` if given.

    Examples
    --------
    >>> u = np.sin(np.pi * np.linspace(-1, 1, 64, endpoint=False))
    >>> figure = plot_operator_predictions(u, 0.5 * u, {8: 0.5 * u.reshape(8, -1).mean(1)})
    >>> len(figure.axes[0].lines)
    3
    """
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(6, 3.6))
    for values, style in ((u0, {"color": "grey", "lw": 1, "label": "u(0)"}), (uT, {"color": "black", "lw": 1.5, "label": "u(T)"})):
        values = np.asarray(values, dtype=float)
        ax.plot(-1.0 + (2.0 * np.arange(len(values)) + 1.0) / len(values), values, **style)
    for cells, values in predictions.items():
        ax.step(-1.0 + (2.0 * np.arange(cells) + 1.0) / cells, np.asarray(values, dtype=float), where="mid",
                label=f"prediction, {cells} cells")
    ax.set_xlabel("ξ")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return _finish(figure, path)


def plot_manifestations(table: Mapping, steps, trained_steps: int, *, xlabel: str = "steps", ylim=None, path=None):
    """Test accuracy against step count, one curve per scheme: ``table`` maps a scheme to its
    accuracies (fractions) at `steps`; a dotted line marks the trained step count. The
    figure, saved to `path` if given.

    Examples
    --------
    >>> figure = plot_manifestations({"rk4": [0.9, 0.97], "euler": [0.5, 0.9]}, [2, 4], 4)
    >>> len(figure.axes[0].lines)
    3
    """
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(6, 4))
    for scheme, row in table.items():
        ax.semilogx(list(steps), [100 * a for a in row], "o-", label=scheme)
    ax.axvline(trained_steps, color="grey", linestyle=":", label="training steps")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy [%]")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    return _finish(figure, path)


def plot_canonical_form(sigma, before, after, *, path=None):
    """A stream in its canonical form (:func:`fem_nn.hyperbolic.compression.canonical_form`):
    the singular values `sigma` of the maps writing into it, and one of them — a mixing
    matrix with a row per stream channel, e.g. a unit's out map — as |entries| `before` and
    `after` the transform, on one colour scale. The figure, saved to `path` if given.

    Parameters
    ----------
    sigma : array_like of float, shape (n,)
        Non-negative, one per stream channel.
    before, after : array_like of float, shape (n, columns)
        The matrix before and after the transform (numpy arrays or detached tensors).
    path : str or Path, optional
        Write the figure there.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels (singular values, |before|, |after|) and the colour bar.

    Examples
    --------
    >>> w = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0]])
    >>> u, s, vt = np.linalg.svd(w, full_matrices=False)
    >>> figure = plot_canonical_form(s, w, u.T @ w)  # the rows of uᵀ w: orthogonal, by norm
    >>> [a.get_title() for a in figure.axes[:3]]
    ['singular values of the writers', '|weight| before', '|weight| in canonical form']
    """
    sigma = _checks.real_array(sigma, "sigma")
    if sigma.ndim != 1 or not np.all(sigma >= 0):
        raise ValueError(f"sigma must be a non-negative vector (one value per stream channel), got shape {sigma.shape}")
    before, after = _checks.real_array(before, "before"), _checks.real_array(after, "after")
    if before.ndim != 2 or before.shape[0] != len(sigma):
        raise ValueError(f"before must be a matrix with a row per stream channel ({len(sigma)}), got shape {before.shape}")
    if after.shape != before.shape:
        raise ValueError(f"after must have the shape of before {before.shape}, got {after.shape}")
    plt = pyplot()
    figure, (values, first, second) = plt.subplots(1, 3, figsize=(12, 3.6), width_ratios=(1, 1.4, 1.4))
    channels = np.arange(len(sigma))
    values.semilogy(channels, sigma, "o-")
    values.set_xlabel("stream channel")
    values.set_title("singular values of the writers")
    values.grid(True, which="both", alpha=0.3)
    top = max(float(np.abs(before).max()), float(np.abs(after).max()))
    for ax, matrix, title in ((first, before, "|weight| before"), (second, after, "|weight| in canonical form")):
        image = ax.imshow(np.abs(matrix), aspect="auto", interpolation="nearest", cmap="magma", vmin=0.0, vmax=top)
        ax.set_xlabel("column")
        ax.set_ylabel("stream channel")
        ax.set_title(title)
    figure.colorbar(image, ax=second)
    return _finish(figure, path)
