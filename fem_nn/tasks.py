"""Bundled tasks: data that ships with an installed package or is computed on the spot (no
download), the network that fits it, and a plain torch training loop.

- ``digits``: scikit-learn's 8×8 handwritten digits (1797 images), each read in as a signal of
  64 samples on [-1, 1]; 10 P0 read-out cells give the class logits.
- ``digits_images``: the same digits and split as ``digits``, as 1 × 8 × 8 images for
  convolutional models.
- ``shapes_images``: six kinds of shape (disk, ring, square, cross, triangle, bar) drawn at
  random position, size and orientation as 1 × 16 × 16 images of their pixel coverage, with
  random contrast and additive noise: a second image task, computed in code.
- ``waveforms``: six kinds of waveform of scipy.signal (sine, square, sawtooth, triangle,
  chirp, Gaussian pulse) at random frequency, phase, amplitude and offset, with smooth random
  noise, read as P0 cell averages of `samples` cells: a signal classification with a
  resolution (the same functions averaged on any number of cells).
- ``burgers``: the solution operator u(·, 0) ↦ u(·, T) of viscous Burgers' equation, periodic
  on [-1, 1], from pairs computed by a pseudo-spectral solver; inputs and outputs are P0 cell
  averages, the loss the integral L2 loss.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .activations import ScaledActivation
from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Axis, Mesh, bias_mesh, uniform_axis, weight_mesh
from .continuum import ContinuumNetwork

__all__ = [
    "Task", "digits_task", "digits_images_task", "shapes_images_task", "shape_images", "SHAPES", "burgers_task",
    "waveforms_task", "task_network", "digits_network", "accuracy",
    "relative_error", "TASKS", "register_task", "load_task", "burgers_initial_conditions", "burgers_solution",
    "cell_averages", "BURGERS_GRID", "burgers_symmetries", "TRANSFORMS", "RESOLUTIONS", "at_resolution",
]

BURGERS_GRID = 256  # solver resolution, a multiple of every cell count the task reads
BURGERS_VISCOSITY, BURGERS_TIME = 0.02, 0.5
SHAPES = ("disk", "ring", "square", "cross", "triangle", "bar")  # the classes of shapes_images, in order
WAVEFORM_GRID = 1024  # sample points per signal averaged into cells, a multiple of every cell count read


@dataclass
class Task:
    """Inputs ``(n, n_samples)`` (signals; images ``(n, channels, height, width)``) and
    targets, split into train and test, with the task's loss and test metric.

    ``kind`` is ``"classification"`` (integer labels; cross-entropy of ``logit_scale`` × the
    read-out; metric ``test_accuracy``) or ``"regression"`` (target functions as P0 cell
    averages; the integral L2 loss; metric ``test_relative_error``, the mean relative L2
    error).

    With a validation split (``x_val``, ``y_val``; see :meth:`with_validation`), training
    monitors the metric on it (:attr:`monitor_name`, e.g. ``validation_accuracy``) and the
    test set is left for one measurement at the end.

    Examples
    --------
    >>> task = burgers_task(n_train=4, n_test=2, cells=32)
    >>> task.kind, task.metric_name, tuple(task.x_train.shape), tuple(task.y_test.shape)
    ('regression', 'test_relative_error', (4, 32), (2, 32))
    >>> network = task_network(task, width_cells=4)
    >>> task.loss(network, task.x_train, task.y_train).item() > 0
    True
    """

    name: str
    kind: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    output_cells: int
    logit_scale: float = 1.0  # multiplies the read-out before the cross-entropy
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    held_out: torch.Tensor | None = None  # which pairs of the unsplit training set are x_val (with_validation's)

    def __post_init__(self):
        _check_task(self)

    @property
    def metric_name(self) -> str:
        return "test_accuracy" if self.kind == "classification" else "test_relative_error"

    @property
    def monitor_name(self) -> str:
        """The metric recorded during training: on the validation split if there is one."""
        return self.metric_name if self.x_val is None else self.metric_name.replace("test_", "validation_")

    def with_validation(self, fraction: float = 0.15, seed: int = 0) -> "Task":
        """This task with a random `fraction` of the training pairs (per class, for
        classification) held out as the validation split; the test split is unchanged.

        Examples
        --------
        >>> task = digits_task().with_validation(0.2)
        >>> len(task.x_train), len(task.x_val), len(task.x_test), task.monitor_name
        (1078, 269, 450, 'validation_accuracy')
        """
        if not (isinstance(fraction, (int, float)) and not isinstance(fraction, bool) and 0 < fraction < 1):
            raise ValueError(f"fraction must be a number in (0, 1), got {fraction!r}")
        if self.x_val is not None:
            raise ValueError(f"task {self.name!r} has a validation split already")
        generator = torch.Generator().manual_seed(seed)
        n = len(self.x_train)
        groups = [torch.nonzero(self.y_train == c).ravel() for c in self.y_train.unique()] if self.kind == "classification" else [torch.arange(n)]
        held = torch.zeros(n, dtype=torch.bool)
        for group in groups:
            chosen = group[torch.randperm(len(group), generator=generator)[: int(round(fraction * len(group)))]]
            held[chosen] = True
        return self._split(held)

    def _unsplit(self) -> "Task":
        """The task before :meth:`with_validation`."""
        held, parts = self.held_out, {}
        for name in ("x", "y"):
            train, val = getattr(self, f"{name}_train"), getattr(self, f"{name}_val")
            whole = parts[f"{name}_train"] = train.new_empty((len(held), *train.shape[1:]))
            whole[~held], whole[held] = train, val
        return dataclasses.replace(self, **parts, x_val=None, y_val=None, held_out=None)

    def _split(self, held: torch.Tensor) -> "Task":
        return dataclasses.replace(self, x_train=self.x_train[~held], y_train=self.y_train[~held],
                                   x_val=self.x_train[held], y_val=self.y_train[held], held_out=held)

    @property
    def higher_is_better(self) -> bool:
        return self.kind == "classification"

    def loss(self, network: ContinuumNetwork, x: torch.Tensor, y: torch.Tensor, resample: bool = False) -> torch.Tensor:
        """The training loss of `network` on the batch ``(x, y)`` (read with `resample`, see
        :meth:`~fem_nn.ContinuumNetwork.read_in`, for inputs at another sample count)."""
        prediction = network(x, resample=True) if resample else network(x)
        if self.kind == "classification":
            return F.cross_entropy(self.logit_scale * prediction, y)
        return network.l2_loss(prediction, y)

    @torch.no_grad()
    def metric(self, network: torch.nn.Module, x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> float:
        """The metric of `network` on the test split (or on the pairs `x`, `y`)."""
        x, y = (self.x_test, self.y_test) if x is None else (x, y)
        if self.kind == "classification":
            return accuracy(network, x, y)
        return relative_error(network(x), y)

    def monitor(self, network: torch.nn.Module) -> float:
        """The metric of :attr:`monitor_name`: on the validation split if there is one."""
        return self.metric(network) if self.x_val is None else self.metric(network, self.x_val, self.y_val)


KINDS = ("classification", "regression")


def _finite_rows(tensor: torch.Tensor, name: str) -> None:
    """ValueError naming `name` and the first row of `tensor` with a NaN or inf."""
    bad = ~torch.isfinite(tensor.reshape(len(tensor), -1)).all(dim=1)
    if bad.any():
        rows = bad.nonzero().flatten().tolist()
        more = f" (and {len(rows) - 1} more rows)" if len(rows) > 1 else ""
        raise ValueError(f"{name} must be finite: row {rows[0]} has NaN or inf{more}")


def _check_task(task: "Task") -> None:
    """ValueError / TypeError naming the field of `task` that is malformed: `kind` one of
    :data:`KINDS`; inputs finite float tensors ``(n, n_samples)``, the same `n_samples` for
    train and test; targets as many as the inputs: class labels in ``[0, output_cells)``
    (classification) or finite float rows of `output_cells` values (regression).

    Examples
    --------
    >>> x = torch.zeros(3, 4)
    >>> Task("t", "regresion", x, x, x, x, 4)
    Traceback (most recent call last):
    ...
    ValueError: kind must be one of ('classification', 'regression'), got 'regresion'
    """
    if task.kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {task.kind!r}")
    if isinstance(task.output_cells, bool) or not isinstance(task.output_cells, int) or task.output_cells < 1:
        raise ValueError(f"output_cells must be a positive integer, got {task.output_cells!r}")
    if not (isinstance(task.logit_scale, (int, float)) and not isinstance(task.logit_scale, bool)
            and math.isfinite(task.logit_scale)):
        raise ValueError(f"logit_scale must be a finite number, got {task.logit_scale!r}")
    for split in ("train", "test"):
        x, y = getattr(task, f"x_{split}"), getattr(task, f"y_{split}")
        for name, value in ((f"x_{split}", x), (f"y_{split}", y)):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if x.ndim < 2 or not x.is_floating_point():
            raise ValueError(f"x_{split} must be a float tensor (n, n_samples) or (n, channels, ...), "
                             f"got {x.dtype} {tuple(x.shape)}")
        if x.shape[1:] != task.x_train.shape[1:]:
            if x.ndim == task.x_train.ndim == 2:
                raise ValueError(f"x_{split} has {x.shape[1]} samples per input, x_train {task.x_train.shape[1]}")
            raise ValueError(f"x_{split} has inputs of shape {tuple(x.shape[1:])}, x_train {tuple(task.x_train.shape[1:])}")
        _finite_rows(x, f"x_{split}")
        if len(y) != len(x):
            raise ValueError(f"y_{split} has {len(y)} rows, but x_{split} has {len(x)}")
        if task.kind == "classification":
            if y.ndim != 1 or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
                raise ValueError(f"y_{split} must be integer class labels (n,), got {y.dtype} {tuple(y.shape)}")
            outside = ((y < 0) | (y >= task.output_cells)).nonzero().flatten().tolist()
            if outside:
                raise ValueError(f"y_{split}: row {outside[0]} has label {int(y[outside[0]])}, "
                                 f"outside [0, {task.output_cells}) (output_cells)")
        else:
            if y.ndim != 2 or not y.is_floating_point() or y.shape[1] != task.output_cells:
                raise ValueError(f"y_{split} must be a float tensor (n, output_cells = {task.output_cells}), "
                                 f"got {y.dtype} {tuple(y.shape)}")
            _finite_rows(y, f"y_{split}")


def digits_task(test_fraction: float = 0.25, seed: int = 0) -> Task:
    """scikit-learn's digits, pixels scaled to [0, 1], a fixed stratified held-out split.

    Examples
    --------
    >>> task = digits_task()
    >>> tuple(task.x_train.shape), tuple(task.x_test.shape), task.output_cells
    ((1347, 64), (450, 64), 10)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    images, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        images / 16.0, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    as_x, as_y = (lambda a: torch.tensor(a, dtype=torch.float32)), (lambda a: torch.tensor(a, dtype=torch.long))
    return Task("digits", "classification", as_x(x_train), as_y(y_train), as_x(x_test), as_y(y_test), 10, 2.0)


def digits_images_task(test_fraction: float = 0.25, seed: int = 0) -> Task:
    """The digits of :func:`digits_task` (the same split) as images ``(n, 1, 8, 8)``, for
    convolutional models (:class:`~fem_nn.models.ContinuousNetClassifier`); logit scale 1.

    Examples
    --------
    >>> task = digits_images_task()
    >>> tuple(task.x_train.shape), bool(torch.equal(task.x_test.flatten(1), digits_task().x_test))
    ((1347, 1, 8, 8), True)
    """
    task = digits_task(test_fraction, seed)
    return dataclasses.replace(task, name="digits_images", x_train=task.x_train.reshape(-1, 1, 8, 8),
                               x_test=task.x_test.reshape(-1, 1, 8, 8), logit_scale=1.0)


def _inside(kind: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether the points ``(a, b)`` of a shape's own frame (its size 1) lie in shape `kind`."""
    r2 = a**2 + b**2
    if kind == "disk":
        return r2 <= 1.0
    if kind == "ring":
        return (r2 <= 1.0) & (r2 >= 0.55**2)
    if kind == "square":
        return np.maximum(abs(a), abs(b)) <= 0.8
    if kind == "cross":
        return ((abs(a) <= 1.0) & (abs(b) <= 0.3)) | ((abs(b) <= 1.0) & (abs(a) <= 0.3))
    if kind == "triangle":  # equilateral, circumradius 1: three half-planes at inradius ½
        return np.all([np.cos(phi) * a + np.sin(phi) * b <= 0.5 for phi in np.pi / 2 + 2 * np.pi * np.arange(3) / 3], axis=0)
    return (abs(a) <= 1.0) & (abs(b) <= 0.3)  # bar


def shape_images(kinds, centers, sizes, angles, pixels: int = 16, supersampling: int = 4) -> np.ndarray:
    """Images ``(n, pixels, pixels)`` of the shapes of :data:`SHAPES` on the square
    [-1, 1]² (rows along y): each pixel the fraction of it a shape covers, read at
    ``supersampling²`` sub-pixel midpoints (a P0 cell average of the shape's indicator).

    Shape i is ``SHAPES[kinds[i]]`` of size ``sizes[i]`` (the radius of its circumscribed
    circle, ring and disk their radius) centred at ``centers[i] = (x, y)`` and turned by
    ``angles[i]`` radians.

    Examples
    --------
    >>> disk = shape_images([0], [(0.0, 0.0)], [0.5], [0.0], pixels=16, supersampling=8)[0]
    >>> round(float(disk.sum()) * (2 / 16) ** 2 / (np.pi * 0.25), 2)  # its area, π r²
    1.0
    """
    kinds, sizes, angles = np.asarray(kinds), np.asarray(sizes, dtype=float), np.asarray(angles, dtype=float)
    centers = np.asarray(centers, dtype=float).reshape(-1, 2)
    if not (len(kinds) == len(centers) == len(sizes) == len(angles)):
        raise ValueError(f"kinds, centers, sizes and angles must be as many, got {len(kinds)}, {len(centers)}, "
                         f"{len(sizes)}, {len(angles)}")
    if kinds.size and (kinds.min() < 0 or kinds.max() >= len(SHAPES)):
        raise ValueError(f"kinds must be indices into SHAPES (0 … {len(SHAPES) - 1}), got {kinds.min()} … {kinds.max()}")
    fine = pixels * supersampling
    t = -1.0 + (np.arange(fine) + 0.5) * 2.0 / fine
    x, y = t[None, None, :], t[None, :, None]
    coverage = np.empty((len(kinds), fine, fine))
    for k, kind in enumerate(SHAPES):
        chosen = np.flatnonzero(kinds == k)
        dx, dy = x - centers[chosen, 0, None, None], y - centers[chosen, 1, None, None]
        c, s, r = (v[chosen, None, None] for v in (np.cos(angles), np.sin(angles), sizes))
        coverage[chosen] = _inside(kind, (c * dx + s * dy) / r, (c * dy - s * dx) / r)
    return coverage.reshape(len(kinds), pixels, supersampling, pixels, supersampling).mean(axis=(2, 4))


def shapes_images_task(n: int = 2400, noise: float = 0.3, test_fraction: float = 0.25, seed: int = 0) -> Task:
    """Classify the shapes of :data:`SHAPES` in images ``(n, 1, 16, 16)`` (:func:`shape_images`):
    as many of each kind, sizes in [0.35, 0.7] of the half-width, centred anywhere the shape
    fits, any orientation, a contrast in [0.6, 1], Gaussian noise of standard deviation
    `noise` added and the pixels clipped to [0, 1] (the digits' range); a fixed stratified
    held-out split; logit scale 1.

    Examples
    --------
    >>> task = shapes_images_task()
    >>> tuple(task.x_train.shape), tuple(task.x_test.shape), task.output_cells
    ((1800, 1, 16, 16), (600, 1, 16, 16), 6)
    """
    from sklearn.model_selection import train_test_split

    if isinstance(n, bool) or not isinstance(n, int) or n < len(SHAPES) or n % len(SHAPES):
        raise ValueError(f"n must be a positive multiple of {len(SHAPES)} (as many of each shape), got {n!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number ≥ 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    kinds = rng.permutation(np.repeat(np.arange(len(SHAPES)), n // len(SHAPES)))
    sizes = rng.uniform(0.35, 0.7, n)
    centers = rng.uniform(-1.0, 1.0, (n, 2)) * (0.95 - sizes[:, None])
    images = shape_images(kinds, centers, sizes, rng.uniform(0.0, 2 * np.pi, n))
    images = np.clip(rng.uniform(0.6, 1.0, (n, 1, 1)) * images + noise * rng.standard_normal(images.shape), 0.0, 1.0)
    x_train, x_test, y_train, y_test = train_test_split(images[:, None], kinds, test_size=test_fraction,
                                                        random_state=seed, stratify=kinds)
    as_x, as_y = (lambda a: torch.tensor(a, dtype=torch.float32)), (lambda a: torch.tensor(a, dtype=torch.long))
    return Task("shapes_images", "classification", as_x(x_train), as_y(y_train), as_x(x_test), as_y(y_test), len(SHAPES))


def waveforms(n: int, seed: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` random waveforms of the six kinds of :func:`waveforms_task` as cell averages on
    `samples` cells (from :data:`WAVEFORM_GRID` cell-midpoint samples), and their kinds."""
    u, kinds = _fine_waveforms(n, seed)
    return u.reshape(n, samples, -1).mean(axis=2), kinds


@functools.lru_cache(maxsize=4)  # every resolution of a task averages the same functions
def _fine_waveforms(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy import signal

    rng = np.random.default_rng(seed)
    t = (np.arange(WAVEFORM_GRID) + 0.5) / WAVEFORM_GRID  # the window [0, 1) is ξ ∈ [-1, 1)
    kinds = rng.integers(0, 6, n)
    frequency, phase = rng.uniform(1.0, 3.0, (n, 1)), rng.uniform(0.0, 2 * np.pi, (n, 1))
    argument = 2 * np.pi * frequency * t + phase
    shapes = [
        np.sin(argument), signal.square(argument), signal.sawtooth(argument), signal.sawtooth(argument, width=0.5),
        np.stack([signal.chirp(t, f, 1.0, 3 * f, phi=np.degrees(p)) for f, p in zip(frequency[:, 0], phase[:, 0])]),
        np.stack([signal.gausspulse(t - c, fc=4 * f, bw=0.5) for f, c in zip(frequency[:, 0], rng.uniform(0.3, 0.7, n))]),
    ]
    clean = np.choose(kinds[:, None], shapes)
    modes = np.arange(1, 17)  # smooth noise: random Fourier modes with decaying amplitudes
    a, b = (rng.standard_normal((n, len(modes))) * 0.1 / modes for _ in range(2))
    noise = a @ np.cos(2 * np.pi * np.outer(modes, t)) + b @ np.sin(2 * np.pi * np.outer(modes, t))
    u = rng.uniform(0.5, 1.5, (n, 1)) * clean + rng.uniform(-0.5, 0.5, (n, 1)) + noise
    u.flags.writeable = kinds.flags.writeable = False  # shared by the cache
    return u, kinds


def waveforms_task(n_train: int = 2000, n_test: int = 1000, samples: int = 32) -> Task:
    """Classify waveforms of scipy.signal by kind (sine, square, sawtooth, triangle, chirp,
    Gaussian pulse), read as `samples` P0 cell averages (a divisor of ``WAVEFORM_GRID``).
    The test signals depend on `n_test` alone, the same functions at every `samples`.

    Examples
    --------
    >>> task = waveforms_task(n_train=8, n_test=4, samples=16)
    >>> tuple(task.x_train.shape), tuple(task.x_test.shape), task.output_cells
    ((8, 16), (4, 16), 6)
    """
    if not isinstance(samples, int) or samples < 1 or WAVEFORM_GRID % samples:
        raise ValueError(f"samples must be a positive divisor of {WAVEFORM_GRID}, got {samples!r}")
    (x_train, y_train), (x_test, y_test) = waveforms(n_train, 0, samples), waveforms(n_test, 1, samples)
    as_x, as_y = (lambda a: torch.tensor(a, dtype=torch.float32)), (lambda a: torch.tensor(a, dtype=torch.long))
    return Task("waveforms", "classification", as_x(x_train), as_y(y_train), as_x(x_test), as_y(y_test), 6, 2.0)


def burgers_initial_conditions(n: int, seed: int) -> np.ndarray:
    """Random smooth periodic functions on the solver grid: a few Fourier modes with
    decaying amplitudes."""
    rng = np.random.default_rng(seed)
    x = -1.0 + 2.0 * np.arange(BURGERS_GRID) / BURGERS_GRID
    modes = np.arange(1, 6)
    a, b = (rng.standard_normal((n, len(modes))) / modes**1.5 for _ in range(2))
    return a @ np.sin(np.pi * np.outer(modes, x)) + b @ np.cos(np.pi * np.outer(modes, x))


def burgers_solution(u0: np.ndarray, dt: float = 1e-3) -> np.ndarray:
    """u(·, T) from u(·, 0) (rows on the solver grid) for u_t + u u_x = ν u_xx: integrating-
    factor RK4 in Fourier space, the viscous term exact over each step, 2/3 de-aliasing."""
    k = np.pi * np.fft.rfftfreq(BURGERS_GRID, d=1.0 / BURGERS_GRID)
    dealias = k < (2.0 / 3.0) * k.max()
    full, half = np.exp(-BURGERS_VISCOSITY * k**2 * dt), np.exp(-BURGERS_VISCOSITY * k**2 * dt / 2)

    def nonlinear(u_hat):  # -(u²/2)_x, de-aliased
        return -0.5j * k * np.fft.rfft(np.fft.irfft(u_hat, n=BURGERS_GRID) ** 2) * dealias

    u = np.fft.rfft(u0)
    for _ in range(int(round(BURGERS_TIME / dt))):
        a = nonlinear(u)
        b = nonlinear(half * (u + 0.5 * dt * a))
        c = nonlinear(half * u + 0.5 * dt * b)
        d = nonlinear(full * u + dt * half * c)
        u = full * u + dt / 6.0 * (full * a + 2.0 * half * (b + c) + d)
    return np.fft.irfft(u, n=BURGERS_GRID)


def cell_averages(u: np.ndarray, cells: int) -> torch.Tensor:
    """P0 cell averages on `cells` equal cells of functions sampled on the solver grid."""
    return torch.tensor(u.reshape(len(u), cells, -1).mean(axis=2), dtype=torch.float32)


def burgers_symmetries(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of Burgers pairs moved by the equation's symmetries (a transform for
    :class:`~fem_nn.Trainer`): each pair shifted periodically by a random number of cells
    and, with probability ½, mapped by u(ξ) ↦ −u(−ξ). On equal periodic cells both act
    exactly on cell averages, the same on input and target.

    Examples
    --------
    >>> x = torch.arange(4.0).repeat(2, 1)
    >>> moved_x, moved_y = burgers_symmetries(x, x + 10, torch.Generator().manual_seed(1))
    >>> moved_x  # the first reflected and shifted, the second shifted by 3 cells
    tensor([[-0., -3., -2., -1.],
            [ 3.,  0.,  1.,  2.]])
    >>> bool(torch.equal(moved_y, moved_x + torch.where(moved_x[:, :1] > 0, 10.0, -10.0)))
    True
    """
    cells = x.shape[1]
    index = (torch.arange(cells) + torch.randint(0, cells, (len(x), 1), generator=generator)) % cells
    x, y = x.gather(1, index), y.gather(1, index)
    reflect = (torch.rand(len(x), generator=generator) < 0.5)[:, None]
    return torch.where(reflect, -x.flip(1), x), torch.where(reflect, -y.flip(1), y)


# batch transforms by name (schedules name them)
TRANSFORMS = {"burgers_symmetries": burgers_symmetries}


def burgers_task(n_train: int = 512, n_test: int = 128, cells: int = 64) -> Task:
    """The Burgers solution operator at `cells` P0 cells (a divisor of ``BURGERS_GRID``).

    Examples
    --------
    >>> task = burgers_task(n_train=8, n_test=4, cells=64)
    >>> tuple(task.x_train.shape), tuple(task.y_train.shape), task.output_cells
    ((8, 64), (8, 64), 64)
    """
    if BURGERS_GRID % cells:
        raise ValueError(f"cells must divide {BURGERS_GRID}, got {cells!r}")
    (u0_train, u_train), (u0_test, u_test) = _burgers_pairs(n_train, 0), _burgers_pairs(n_test, 1)
    x_train, x_test, y_train, y_test = (cell_averages(u, cells) for u in (u0_train, u0_test, u_train, u_test))
    return Task("burgers", "regression", x_train, y_train, x_test, y_test, cells)


@functools.lru_cache(maxsize=4)  # every resolution of a task averages the same solutions
def _burgers_pairs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    u0 = burgers_initial_conditions(n, seed)
    u = burgers_solution(u0)
    u0.flags.writeable = u.flags.writeable = False
    return u0, u


def _burgers_at(task: Task, samples: int) -> Task:
    return burgers_task(n_train=len(task.x_train), n_test=len(task.x_test), cells=samples)


def _waveforms_at(task: Task, samples: int) -> Task:
    return waveforms_task(n_train=len(task.x_train), n_test=len(task.x_test), samples=samples)


# task name -> source(task, samples): the task's pairs (train and test, in order) at another
# sample count, the same functions averaged on other cells
RESOLUTIONS: dict[str, Callable[[Task, int], Task]] = {"burgers": _burgers_at, "waveforms": _waveforms_at}


def at_resolution(task: Task, samples: int, source: Callable[[Task, int], Task] | None = None) -> Task:
    """`task` with its signals (and a regression's targets, which share their cells) at
    `samples` samples: ``source(task, samples)``, by default the task's entry in
    :data:`RESOLUTIONS`, checked to reproduce the task's own pairs at its own count. A
    validation split (:meth:`Task.with_validation`) is made of the same pairs.

    Examples
    --------
    >>> task = burgers_task(n_train=8, n_test=4, cells=64)
    >>> coarse = at_resolution(task, 32)
    >>> tuple(coarse.x_train.shape), coarse.output_cells
    ((8, 32), 32)
    >>> bool(torch.allclose(coarse.x_train, task.x_train.reshape(8, 32, 2).mean(2)))  # the same functions
    True
    """
    source = RESOLUTIONS.get(task.name) if source is None else source
    if source is None:
        raise ValueError(f"task {task.name!r} has no resolution source: pass source= or add it to RESOLUTIONS")
    if not callable(source):
        raise TypeError(f"source must be callable (task, samples) -> Task, got {source!r}")
    own = task.x_test.shape[1]
    unsplit = task if task.held_out is None else task._unsplit()

    def at(count: int) -> Task:
        made = source(unsplit, count)
        return made if task.held_out is None else made._split(task.held_out)

    same = at(own)
    for split in ("train", "test"):
        mine, theirs = getattr(task, f"x_{split}"), getattr(same, f"x_{split}")
        if mine.shape != theirs.shape or not torch.allclose(mine, theirs):
            raise ValueError(f"the resolution source of task {task.name!r} does not reproduce its {split} inputs at {own} samples")
    return same if samples == own else at(samples)


def task_network(
    task: Task,
    width_cells: int = 8,
    width_family: str = "legendre",
    width_order: int = 1,
    depth_cells: int = 1,
    depth_family: str = "lagrange",
    depth_order: int = 1,
    scheme="rk4",
    steps: int | None = None,
    scale: float = 4.0,
    read_in_form: str = "projection",
    init: str = "noise",
    quadrature_points: int | None = None,
    rhs: str | None = None,
    channels: int = 1,
) -> ContinuumNetwork:
    """A first manifestation for `task`, built to train as a continuum: uniform width and
    depth axes, P0 read-out cells, the input read by L2 projection onto the width space
    (``read_in_form``, see :class:`~fem_nn.continuum.ReadInForm`), the width integrals by
    2p + 1 Gauss points per cell (`quadrature_points`; richer than the p + 1 dofs per cell, so
    that W's node values are not free parameters) and the task's sample count recorded.

    Classification: γ = `scale`·tanh, by default the integral right-hand side. Regression:
    σ = gelu, by default Li & Shi's transport velocity ∫ W2 σ(∫ W1 h + b1) + b2 (Burgers is a
    transport problem; this right-hand side learns it far better than γ(∫ W h + b)), the
    weights scaled by 0.05 so that the flow starts near the identity map. `rhs` names
    another registered right-hand side; `channels` is the network's C (its lifting and
    projection as initialized: every channel a copy of the input, their mean read out).

    Examples
    --------
    >>> task = digits_task()
    >>> network = task_network(task, width_cells=8, depth_cells=2, steps=4)
    >>> network.weight_mesh.shape, network.steps, tuple(network(task.x_test[:3]).shape)
    ((16, 16, 3), 4, (3, 10))
    """
    if task.x_train.ndim != 2:
        raise ValueError(f"task {task.name!r} has inputs of shape {tuple(task.x_train.shape[1:])}: a continuum network "
                         f"reads signals (n, n_samples); images train with fem_nn.models.ContinuousNetClassifier")
    width = uniform_axis(WIDTH_INTERVAL, width_cells, width_family, width_order)
    points = 2 * width.max_order + 1 if quadrature_points is None else quadrature_points
    width = Axis(width.breakpoints, width.family, width.orders, width.quadrature, points)
    depth = uniform_axis(DEPTH_INTERVAL, depth_cells, depth_family, depth_order)
    output = Mesh([uniform_axis(WIDTH_INTERVAL, task.output_cells, "p0", 0)])
    options = dict(scheme=scheme, steps=steps, output_mesh=output, read_in_form=read_in_form, init=init,
                   n_samples=task.x_train.shape[1], channels=channels)
    classification = task.kind == "classification"
    if rhs is None:
        rhs = "integral" if classification else "two_layer"
    activation = ScaledActivation("tanh", scale) if classification else "gelu"
    network = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), rhs=rhs, activation=activation, **options)
    if not classification:
        with torch.no_grad():
            for name, parameter in network.named_parameters():
                if name.startswith("weight"):
                    parameter.mul_(0.05)
    return network


def digits_network(width_cells: int = 32, width_order: int = 3, depth_cells: int = 4, steps: int = 4, scheme="rk4") -> ContinuumNetwork:
    """The continuum network for the digits: discontinuous Legendre width (7 Gauss nodes per
    cubic cell), continuous P1 depth, γ = 4·tanh, 10 P0 read-out cells, the input read by
    projection (see :func:`task_network`)."""
    return task_network(digits_task(), width_cells, "legendre", width_order, depth_cells, "lagrange", 1, scheme, steps)


@torch.no_grad()
def accuracy(network: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of `x` classified as `labels` (arg-max of the read-out)."""
    return float((network(x).argmax(dim=1) == labels).float().mean())


@torch.no_grad()
def relative_error(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """The mean over the batch of the relative L2 error of P0 cell values."""
    return float((torch.linalg.vector_norm(prediction - target, dim=1) / torch.linalg.vector_norm(target, dim=1)).mean())


# the bundled tasks by name: what a schedule's ``task``, ``fem-nn train --task`` and
# ``fem-nn bench invariance --tasks`` accept (register_task adds one)
TASKS: dict[str, Callable[[], Task]] = {
    "digits": digits_task, "burgers": burgers_task, "waveforms": waveforms_task, "digits_images": digits_images_task,
    "shapes_images": shapes_images_task,
}


def register_task(name: str, factory: Callable[[], Task]) -> None:
    """Make `factory` (no arguments, returns a :class:`Task`) the task called `name`
    everywhere a task is named (schedules, the command line, the benchmarks).

    Examples
    --------
    >>> register_task("digits", digits_task)
    Traceback (most recent call last):
    ...
    ValueError: task 'digits' is registered already
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory must be callable () -> Task, got {factory!r}")
    if name in TASKS:
        raise ValueError(f"task {name!r} is registered already")
    TASKS[name] = factory


def load_task(name: str) -> Task:
    """The task called `name` (a key of :data:`TASKS`), else ValueError listing them.

    Examples
    --------
    >>> load_task("digits").output_cells
    10
    >>> load_task("cifar")
    Traceback (most recent call last):
    ...
    ValueError: task must be one of ['digits', 'burgers', 'waveforms', 'digits_images', 'shapes_images'], got 'cifar'
    """
    if not isinstance(name, str) or name not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {name!r}")
    task = TASKS[name]()
    if not isinstance(task, Task):
        raise TypeError(f"task {name!r}: its factory returned {type(task).__name__}, not a Task")
    return task
