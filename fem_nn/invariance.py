"""How far a trained network is one field: its metric under other manifestations of it.

A fem_nn network is worth something only if its function is (nearly) invariant under the
operations the toolkit offers. An *invariance set* lists such manifestations, each a small
class of one kind (registered in :data:`MANIFESTATIONS`, built by name with
:func:`manifestation`), on one of three axes:

- ``depth``: other step counts and schemes (:class:`Restepped`), depth refinement
  (:class:`Refined` on "depth");
- ``width``: more width quadrature points per cell (:class:`Requadrature`), width
  h-refinement (:class:`Refined`) and p-elevation (:class:`Elevated`);
- ``resolution``: the input (and a regression target) at another sample count
  (:class:`Resampled`), from a source of the task's data at that count.

:func:`invariance` evaluates the task's test metric for each and its *drop*: the worst loss
against the trained manifestation, never negative — accuracy points for classification
(0.5 is half a percentage point), the relative increase of the error for regression (0.10:
the error grew by 10 %).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence

import torch

from . import _checks
from .integrators import tableau
from .mesh import WIDTH_INTERVAL, Mesh, uniform_axis
from .continuum import ContinuumNetwork, network_axes
from .refinement import elevated_network, refined_network
from .tasks import RESOLUTIONS, Task, at_resolution

__all__ = [
    "Manifestation", "Restepped", "Requadrature", "Refined", "Elevated", "Resampled", "MANIFESTATIONS",
    "manifestation", "DEFAULT_SET", "InvarianceRow", "InvarianceReport", "invariance", "drop",
]

AXES = ("depth", "width", "resolution")


class Manifestation:
    """One manifestation of a trained network's fields: :meth:`evaluate` gives the task's
    test metric there. Subclasses are frozen dataclasses with a ``kind`` (their name in
    :data:`MANIFESTATIONS`), an ``axis`` of :data:`AXES` and a ``label``."""

    kind: str
    axis: str

    @property
    def label(self) -> str:
        raise NotImplementedError

    def network(self, network: ContinuumNetwork) -> ContinuumNetwork:
        """The manifested network (a new one; `network` is left as it was)."""
        raise NotImplementedError

    def evaluate(self, network: ContinuumNetwork, task: Task, source=None) -> float:
        """The test metric of this manifestation of `network` on `task` (`source`: see
        :class:`Resampled`)."""
        return task.metric(self.network(network))


@dataclasses.dataclass(frozen=True)
class Restepped(Manifestation):
    """`factor` × the trained steps, with `scheme` (default: the trained scheme).

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = Restepped(2, "midpoint").network(ContinuumNetwork(weight_mesh(), bias_mesh(), steps=3))
    >>> net.tableau.name, net.steps
    ('midpoint', 6)
    """

    factor: int = 2
    scheme: str | None = None
    kind = "steps"
    axis = "depth"

    def __post_init__(self):
        _checks.integer(self.factor, "factor", 1)
        if self.scheme is not None:
            tableau(self.scheme)  # an unknown scheme fails here, naming the known ones

    @property
    def label(self) -> str:
        return f"{self.scheme or 'trained scheme'} × {self.factor} steps"

    def network(self, network):
        return network.remanifested(scheme=self.scheme, steps=self.factor * network.steps)


@dataclasses.dataclass(frozen=True)
class Requadrature(Manifestation):
    """`extra` more Nyström quadrature points per width cell than the network has.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh())
    >>> len(net.nodes), len(Requadrature(2).network(net).nodes)  # 8 cells, 2 → 4 points each
    (16, 32)
    """

    extra: int = 1
    kind = "quadrature"
    axis = "width"

    def __post_init__(self):
        _checks.integer(self.extra, "extra", 1)

    @property
    def label(self) -> str:
        return f"width quadrature +{self.extra} points per cell"

    def network(self, network):
        points = network.weight_mesh.axes[1].quadrature_points + self.extra
        return network.remanifested(quadrature_points=points)


@dataclasses.dataclass(frozen=True)
class Refined(Manifestation):
    """Every cell of a network axis ("width" or "depth") split into `k`, the steps kept
    (a nested depth refinement is then exact: the fields at every stage are unchanged).

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> Refined().network(ContinuumNetwork(weight_mesh(), bias_mesh())).weight_mesh.shape  # P1: 9 → 17 dofs
    (17, 17, 4)
    """

    on: str = "width"
    k: int = 2
    kind = "refine"

    def __post_init__(self):
        if self.on not in ("width", "depth"):
            raise ValueError(f"on must be 'width' or 'depth', got {self.on!r}")
        network_axes(self.on)
        _checks.integer(self.k, "k", 2)

    @property
    def axis(self) -> str:
        return self.on

    @property
    def label(self) -> str:
        return f"{self.on} h-refinement × {self.k}"

    def network(self, network):
        return refined_network(network, self.on, k=self.k)


@dataclasses.dataclass(frozen=True)
class Elevated(Manifestation):
    """The order of every width cell raised by `by` (the fields unchanged; the Nyström
    nodes follow the new order unless the axis was given its own count).

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> Elevated().network(ContinuumNetwork(weight_mesh(), bias_mesh())).weight_mesh.axes[0].orders.tolist()
    [2, 2, 2, 2, 2, 2, 2, 2]
    """

    by: int = 1
    kind = "elevate"
    axis = "width"

    def __post_init__(self):
        _checks.integer(self.by, "by", 1)

    @property
    def label(self) -> str:
        return f"width p-elevation +{self.by}"

    def network(self, network):
        return elevated_network(network, "width", by=self.by)


@dataclasses.dataclass(frozen=True)
class Resampled(Manifestation):
    """The task's test inputs (and, for a regression whose targets share the input's cells,
    its targets and the network's P0 read-out) at `factor` × the training sample count,
    read by the network's own read-in with ``resample=True``
    (:meth:`~fem_nn.ContinuumNetwork.read_in`).

    The data come from :func:`~fem_nn.tasks.at_resolution`: the `source` given to
    :meth:`evaluate`, else the one :data:`~fem_nn.tasks.RESOLUTIONS` holds for the task's
    name. A task without one has no resolution: :func:`invariance` skips this manifestation
    there.

    Examples
    --------
    >>> Resampled(0.5).samples(64), Resampled(4).label
    (32, 'input at 4 × the training samples')
    """

    factor: float = 2.0
    kind = "resolution"
    axis = "resolution"

    def __post_init__(self):
        if not _checks.real(self.factor, "factor") > 0:
            raise ValueError(f"factor must be > 0, got {self.factor!r}")

    @property
    def label(self) -> str:
        return f"input at {self.factor:g} × the training samples"

    def samples(self, trained: int) -> int:
        """The sample count read, from the training count `trained`."""
        samples = self.factor * trained
        if samples != round(samples) or samples < 1:
            raise ValueError(f"factor {self.factor:g} × {trained} training samples is not a whole number of samples")
        return int(round(samples))

    def task(self, task: Task, source) -> Task:
        """The task at the new sample count."""
        return at_resolution(task, self.samples(task.x_test.shape[1]), source)

    def evaluate(self, network, task, source=None):
        resampled = self.task(task, source)
        if resampled.output_cells != task.output_cells:
            network = network.remanifested(output_mesh=Mesh([uniform_axis(WIDTH_INTERVAL, resampled.output_cells, "p0", 0)]))
        # a network that records its sample count reads another one only when asked to
        return resampled.metric(functools.partial(network, resample=True))


MANIFESTATIONS: dict[str, type] = {
    cls.kind: cls for cls in (Restepped, Requadrature, Refined, Elevated, Resampled)
}


def manifestation(kind: str, **options) -> Manifestation:
    """A manifestation by its kind's name (a key of :data:`MANIFESTATIONS`) and options.

    Examples
    --------
    >>> manifestation("steps", factor=4, scheme="rk4_38").label
    'rk4_38 × 4 steps'
    >>> manifestation("stretch")
    Traceback (most recent call last):
    ...
    ValueError: kind must be one of ['elevate', 'quadrature', 'refine', 'resolution', 'steps'], got 'stretch'
    """
    if not isinstance(kind, str) or kind not in MANIFESTATIONS:
        raise ValueError(f"kind must be one of {sorted(MANIFESTATIONS)}, got {kind!r}")
    try:
        return MANIFESTATIONS[kind](**options)
    except TypeError as error:  # an unknown option
        raise TypeError(f"manifestation {kind!r}: {error}") from None


# the default invariance set (issue 16): more steps of the trained scheme, other schemes of
# order >= 2 at >= the trained steps, richer width quadrature, width h- and p-refinement, the
# input at half, twice and four times its training resolution
DEFAULT_SET: tuple[Manifestation, ...] = (
    Restepped(2), Restepped(4), Restepped(8), Restepped(1, "rk4_38"), Restepped(2, "rk4_38"),
    Restepped(2, "midpoint"), Restepped(4, "midpoint"),
    Requadrature(1), Requadrature(2), Refined("width"), Elevated(1),
    Resampled(0.5), Resampled(2), Resampled(4),
)


def drop(task: Task, trained: float, value: float) -> float:
    """The loss from `trained` to `value` of the task's metric, 0 when it did not get worse:
    accuracy points (classification) or the relative increase of the error (regression).

    Examples
    --------
    >>> from fem_nn import burgers_task
    >>> drop(burgers_task(n_train=1, n_test=1, cells=8), 0.04, 0.05)  # the error grew by 25 %
    0.25
    """
    if task.higher_is_better:
        return max(0.0, 100.0 * (trained - value))
    if trained <= 0:
        return 0.0 if value <= trained else float("inf")
    return max(0.0, value / trained - 1.0)


@dataclasses.dataclass(frozen=True)
class InvarianceRow:
    """One manifestation's metric and drop."""

    label: str
    axis: str
    metric: float
    drop: float


@dataclasses.dataclass(frozen=True)
class InvarianceReport:
    """The trained metric and one row per manifestation measured.

    ``figures()`` is ``{"metric": …, "max_drop_depth": …, "max_drop_width": …,
    "max_drop_resolution": …}``, an axis' figure present where a manifestation on it was
    measured.
    """

    task: str
    metric_name: str
    metric: float
    rows: tuple[InvarianceRow, ...]

    def max_drop(self, axis: str) -> float | None:
        """The worst drop on `axis` (None where nothing on it was measured)."""
        if axis not in AXES:
            raise ValueError(f"axis must be one of {list(AXES)}, got {axis!r}")
        drops = [row.drop for row in self.rows if row.axis == axis]
        return max(drops) if drops else None

    def figures(self) -> dict:
        figures = {"metric": self.metric}
        for axis in AXES:
            if self.max_drop(axis) is not None:
                figures[f"max_drop_{axis}"] = self.max_drop(axis)
        return figures

    def table(self) -> str:
        """The rows as a text table."""
        unit = "drop [points]" if self.metric_name == "test_accuracy" else "drop [fraction]"
        lines = [f"{'manifestation':<40} {self.metric_name:>20} {unit:>16}",
                 f"{'trained':<40} {self.metric:>20.4f} {'':>16}"]
        lines += [f"{row.label:<40} {row.metric:>20.4f} {row.drop:>16.4f}" for row in self.rows]
        return "\n".join(lines)


def _as_manifestation(entry, i: int) -> Manifestation:
    if isinstance(entry, Manifestation):
        return entry
    if isinstance(entry, Mapping) and "kind" in entry:
        return manifestation(entry["kind"], **{k: v for k, v in entry.items() if k != "kind"})
    raise TypeError(f"manifestations[{i}] must be a Manifestation or a mapping with a 'kind', got {entry!r}")


def invariance(
    network: ContinuumNetwork, task: Task, manifestations: Sequence | None = None, source=None
) -> InvarianceReport:
    """The test metric of `network` on `task` under each manifestation of an invariance set,
    and the drops.

    Parameters
    ----------
    network : ContinuumNetwork
        The trained network (left as it was).
    task : Task
        Its task: the test data and metric.
    manifestations : sequence of Manifestation or mapping, optional
        The invariance set (a mapping is ``{"kind": name, **options}``, see
        :func:`manifestation`); default :data:`DEFAULT_SET`. Resolution manifestations are
        skipped for a task without a resolution source.
    source : callable, optional
        ``source(task, samples) -> Task``: the task's data at another sample count;
        default the task's entry in :data:`~fem_nn.tasks.RESOLUTIONS`.

    Returns
    -------
    InvarianceReport

    Examples
    --------
    A nested depth refinement with unchanged steps computes the same function:

    >>> from fem_nn import digits_task, task_network
    >>> task = digits_task()
    >>> report = invariance(task_network(task, width_cells=4), task, [Refined("depth"), {"kind": "quadrature", "extra": 1}])
    >>> [row.label for row in report.rows], report.rows[0].drop
    (['depth h-refinement × 2', 'width quadrature +1 points per cell'], 0.0)
    >>> sorted(report.figures())
    ['max_drop_depth', 'max_drop_width', 'metric']
    """
    if not isinstance(network, ContinuumNetwork):
        raise TypeError(f"network must be a ContinuumNetwork, got {type(network).__name__}")
    if not isinstance(task, Task):
        raise TypeError(f"task must be a fem_nn.tasks.Task, got {type(task).__name__}")
    if source is not None and not callable(source):
        raise TypeError(f"source must be callable (task, samples) -> Task, got {source!r}")
    if manifestations is None:
        manifestations = DEFAULT_SET
    if isinstance(manifestations, (str, Mapping)) or not isinstance(manifestations, Sequence):
        raise TypeError(f"manifestations must be a sequence of manifestations, got {manifestations!r}")
    chosen = [_as_manifestation(entry, i) for i, entry in enumerate(manifestations)]
    has_resolution = source is not None or task.name in RESOLUTIONS
    chosen = [m for m in chosen if m.axis != "resolution" or has_resolution]
    for m in chosen:
        if m.axis == "resolution":
            m.samples(task.x_test.shape[1])  # a fractional count fails before any work
    trained = task.metric(network)
    rows = []
    for m in chosen:
        value = m.evaluate(network, task, source)
        rows.append(InvarianceRow(m.label, m.axis, value, drop(task, trained, value)))
    return InvarianceReport(task.name, task.metric_name, trained, tuple(rows))
