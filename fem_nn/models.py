"""Models built of :class:`~fem_nn.odeblock.OdeBlock` continua: a ContinuousNet-style image
classifier, and a small training loop for any classifier module.

The classifier is stem (3 × 3 conv to C channels, norm, ReLU) → stages, each an OdeBlock of a
conv residual unit (conv-norm-ReLU-conv) whose parameters and normalization statistics are
depth fields, joined by "stitch" maps (a strided 3 × 3 conv doubling the channels, norm,
ReLU) → global average pooling → a linear head. Only the OdeBlocks are continua:
:meth:`ContinuousNetClassifier.replaced` re-manifests all of them (depth axis, scheme, steps)
and copies the rest.

With a `kernel` axis the width is a continuum too: every convolution is a
:class:`FieldConv2d`, a kernel field on a box read by an image as equal cells of [-1, 1]²
(a stitch is that field followed by the cell averages onto cells twice as wide), so the same
model reads an image at any resolution.

:func:`~fem_nn.trainer.train_classifier` trains a :class:`~fem_nn.ContinuumNetwork` only (its
sampled manifestations, sample counts and DDP wrapping are the continuum network's), so
:func:`train_model` is the loop for these models: AdamW, the one-cycle learning rate of the
trainer (:func:`~fem_nn.trainer.learning_rate_factor`), the task's loss and metric.
"""

from __future__ import annotations

import copy
import functools
import math
import time

import torch

from . import _checks
from .convolution import LocalKernel2d, boundaries
from .io import mesh_from_dict, mesh_to_dict
from .mesh import WIDTH_INTERVAL, Axis, Mesh, uniform_axis
from .odeblock import OdeBlock, manifested
from .optimizers import make_optimizer
from .tasks import Task
from .trainer import DEPTH_MANIFESTATIONS, Manifestations, learning_rate_factor

__all__ = ["ContinuousNetClassifier", "FieldConv2d", "conv_residual_unit", "train_model", "NORMS"]


NORMS = ("group", "batch", "none")


@functools.lru_cache(maxsize=None)
def _cells(n: int) -> Axis:
    """The width [-1, 1] as `n` equal cells, one node (the midpoint) per cell: a pixel row."""
    return uniform_axis(WIDTH_INTERVAL, n, "p0", 0)


class FieldConv2d(torch.nn.Module):
    """A convolution as a continuum: the :class:`~fem_nn.convolution.LocalKernel2d` field κ
    on ``kernel × kernel`` applied to images ``(batch, C_in, H, W)`` read as H × W equal
    cells of [-1, 1]² (each pixel the value at its cell's centre), so its taps are the cell
    area times κ at the offsets of the pixels and the same field reads any resolution.

    `kernel`: an axis on [-r, r]; P1 on two cells of r = one pixel is a 3 × 3 convolution
    (κ at ±r read at half value); `boundary` as for LocalKernel2d ("zero": zero padding).

    Examples
    --------
    >>> conv = FieldConv2d(uniform_axis((-0.25, 0.25), 2, "lagrange", 1), 1, 4, dtype=torch.float64)
    >>> tuple(conv(torch.ones(2, 1, 8, 8, dtype=torch.float64)).shape), tuple(conv.kernel.coefficients.shape)
    ((2, 4, 8, 8), (3, 3, 4, 1))
    """

    def __init__(self, kernel: Axis, in_channels: int, out_channels: int, boundary: str = "zero",
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        self.kernel = LocalKernel2d((kernel, kernel), in_channels, out_channels, boundary=boundary, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.kernel(x, _cells(x.shape[2]), _cells(x.shape[3]))


def _scaled(axis: Axis, factor: float) -> Axis:
    """`axis` with its breakpoints times `factor` (the kernel of a stage of wider cells)."""
    return Axis(axis.breakpoints * factor, axis.family, axis.orders, axis.quadrature)


def _conv(inputs: int, outputs: int, kernel: Axis | None, boundary: str, dtype: torch.dtype) -> torch.nn.Module:
    """A 3 × 3 convolution keeping the image size, or its field (:class:`FieldConv2d`)."""
    if kernel is None:
        return torch.nn.Conv2d(inputs, outputs, 3, padding=1).to(dtype)
    return FieldConv2d(kernel, inputs, outputs, boundary, dtype)


def conv_residual_unit(channels: int, norm: str = "group", dtype: torch.dtype = torch.float32, kernel: Axis | None = None,
                       boundary: str = "zero") -> torch.nn.Sequential:
    """The residual unit R(h) of a stage: 3 × 3 conv, a norm, ReLU, 3 × 3 conv, keeping
    `channels` and the image size; with a `kernel` axis each conv a :class:`FieldConv2d`
    (`boundary` its boundary).

    `norm`: "group" (GroupNorm of up to 4 groups: R is a function of the state alone, so every
    manifestation evaluates the same field), "batch" (BatchNorm, its statistics depth fields of
    the OdeBlock; in evaluation a stage normalizes with its cell's statistics, gathered over
    all the stages of the cell in training, which is exact for one stage per cell, as Euler
    with a step per cell, and approximate otherwise) or "none".

    Examples
    --------
    >>> unit = conv_residual_unit(4)
    >>> tuple(unit(torch.zeros(2, 4, 8, 8)).shape), type(unit[1]).__name__
    ((2, 4, 8, 8), 'GroupNorm')
    """
    channels = _checks.integer(channels, "channels", 1)
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")
    layer = {"group": lambda: torch.nn.GroupNorm(math.gcd(4, channels), channels),
             "batch": lambda: torch.nn.BatchNorm2d(channels), "none": torch.nn.Identity}[norm]()
    return torch.nn.Sequential(
        _conv(channels, channels, kernel, boundary, dtype), layer.to(dtype), torch.nn.ReLU(),
        _conv(channels, channels, kernel, boundary, dtype),
    )


def _conv_norm_relu(inputs: int, outputs: int, stride: int, dtype: torch.dtype, kernel: Axis | None,
                    boundary: str) -> torch.nn.Sequential:
    if kernel is None:
        conv = [torch.nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1).to(dtype)]
    else:  # the field at the finer cells, then the averages onto cells `stride` times as wide
        conv = [FieldConv2d(kernel, inputs, outputs, boundary, dtype)] + ([torch.nn.AvgPool2d(stride)] if stride > 1 else [])
    return torch.nn.Sequential(*conv, torch.nn.BatchNorm2d(outputs).to(dtype), torch.nn.ReLU())


def _stage_block(channels: int, norm: str, depth, scheme, steps, rate: float, dtype: torch.dtype, kernel: Axis | None,
                 boundary: str) -> OdeBlock:
    """An OdeBlock of :func:`conv_residual_unit` whose parameters at each depth dof are an
    independent draw of torch's default initialization (a ResNet's init for P0 depth)."""
    return OdeBlock.drawn(lambda: conv_residual_unit(channels, norm, dtype, kernel, boundary), depth,
                          scheme=scheme, steps=steps, rate=rate)


class ContinuousNetClassifier(torch.nn.Module):
    """A ContinuousNet-style image classifier: stem → OdeBlock stages joined by stitch maps →
    pooling → linear head (see the module's description).

    Parameters
    ----------
    in_channels : int, default 1
    classes : int, default 10
    channels : sequence of int, default (8, 16)
        The channels of each stage; a stitch (stride 2) joins consecutive stages, so each
        should double the last.
    depth : Axis or int, default 2
        Every stage's depth axis on [0, 1], or its number of P0 cells.
    norm : {"group", "batch", "none"}, default "group"
        The norm of the residual units (:func:`conv_residual_unit`); stem and stitches use
        BatchNorm.
    scheme, steps, rate :
        Every stage's (:class:`~fem_nn.odeblock.OdeBlock`); steps default one per depth cell.
    kernel : Axis, optional
        Convolutions as kernel fields (:class:`FieldConv2d`): the first stage's (and the
        stem's) kernel axis on [-r, r], the image read as equal cells of [-1, 1]² (P1 on two
        cells of r = 2 / H: a 3 × 3 conv); each stitch doubles the cell width and the
        kernel's. Default: ``nn.Conv2d``.
    boundary : str, default "zero"
        The kernel fields' boundary (:data:`~fem_nn.convolution.boundaries`).
    dtype : torch.dtype, default torch.float32
    seed : int, optional
        Seeds torch's generator before the parameters are drawn.

    Examples
    --------
    >>> model = ContinuousNetClassifier(channels=(4, 8), depth=2, scheme="rk4", seed=0)
    >>> tuple(model(torch.zeros(3, 1, 8, 8)).shape), [b.steps for b in model.blocks]
    ((3, 10), [2, 2])
    >>> [(b.tableau.name, b.steps) for b in model.replaced(scheme="euler", steps=6).blocks]
    [('euler', 6), ('euler', 6)]
    """

    def __init__(self, in_channels: int = 1, classes: int = 10, channels=(8, 16), depth: Axis | int = 2, norm: str = "group", *,
                 scheme="rk4", steps: int | None = None, rate: float = 1.0, dtype: torch.dtype = torch.float32,
                 seed: int | None = None, kernel: Axis | None = None, boundary: str = "zero"):
        super().__init__()
        in_channels = _checks.integer(in_channels, "in_channels", 1)
        classes = _checks.integer(classes, "classes", 1)
        if isinstance(channels, (str, bytes)) or not hasattr(channels, "__len__") or not len(channels):
            raise ValueError(f"channels must be a non-empty sequence of positive integers, got {channels!r}")
        channels = tuple(_checks.integer(c, "channels", 1) for c in channels)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
        if seed is not None:
            torch.manual_seed(_checks.integer(seed, "seed", 0))
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")
        if kernel is not None and not isinstance(kernel, Axis):
            raise TypeError(f"kernel must be an Axis on [-r, r] or None, got {type(kernel).__name__}")
        boundary = boundaries(boundary).name
        self.in_channels, self.classes, self.channels, self.norm = in_channels, classes, channels, norm
        self.kernel, self.boundary = kernel, boundary
        kernels = [None if kernel is None else _scaled(kernel, 2 ** i) for i in range(len(channels))]
        self.stem = _conv_norm_relu(in_channels, channels[0], 1, dtype, kernels[0], boundary)
        self.blocks = torch.nn.ModuleList(_stage_block(c, norm, depth, scheme, steps, rate, dtype, k, boundary)
                                          for c, k in zip(channels, kernels))
        self.stitches = torch.nn.ModuleList(_conv_norm_relu(a, b, 2, dtype, k, boundary)
                                            for a, b, k in zip(channels, channels[1:], kernels))
        self.head = torch.nn.Linear(channels[-1], classes).to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(batch, classes)`` of images ``(batch, in_channels, H, W)``."""
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be a tensor of images (batch, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        h = self.stem(x.to(self.head.weight.dtype))
        for i, block in enumerate(self.blocks):
            h = block(h if i == 0 else self.stitches[i - 1](h))
        return self.head(h.mean(dim=(2, 3)))

    def replaced(self, depth: Axis | int | None = None, scheme=None, steps: int | None = None,
                 rate: float | None = None) -> "ContinuousNetClassifier":
        """A new classifier whose every stage is re-manifested by
        :meth:`~fem_nn.odeblock.OdeBlock.replaced` (fields L2-projected onto a new depth
        axis; another scheme, step count or rate); stem, stitches and head copied."""
        return self.with_stages(b.replaced(depth, scheme, steps, rate) for b in self.blocks)

    def with_stages(self, stages) -> "ContinuousNetClassifier":
        """A copy whose stages are `stages` (e.g. each :meth:`~fem_nn.odeblock.OdeBlock.refined`);
        stem, stitches and head copied.

        Examples
        --------
        >>> model = ContinuousNetClassifier(channels=(4,), depth=2, seed=0)
        >>> [b.depth.n_cells for b in model.with_stages(b.refined() for b in model.blocks).blocks]
        [4]
        """
        stages = list(stages)
        if len(stages) != len(self.channels) or not all(isinstance(b, OdeBlock) for b in stages):
            raise ValueError(f"stages must be {len(self.channels)} OdeBlocks, got {[type(b).__name__ for b in stages]}")
        model = copy.deepcopy(self)
        model.blocks = torch.nn.ModuleList(stages)
        return model

    def parameter_meshes(self) -> dict[str, Mesh]:
        """The depth mesh of every field parameter, by the model's parameter name (the stem,
        stitches and head have none: :func:`~fem_nn.transfer.transfer_optimizer` copies
        their state)."""
        return {f"blocks.{i}.{name}": mesh for i, b in enumerate(self.blocks) for name, mesh in b.parameter_meshes().items()}

    def config(self) -> dict:
        """The settings as JSON-ready data: with a ``state_dict``, :meth:`from_config`
        rebuilds the model (each stage's own depth, scheme and steps included).

        Examples
        --------
        >>> model = ContinuousNetClassifier(channels=(4,), seed=0).replaced(scheme="heun", steps=3)
        >>> again = ContinuousNetClassifier.from_config(model.config(), model.state_dict())
        >>> x = torch.rand(2, 1, 8, 8)
        >>> bool(torch.equal(again.eval()(x), model.eval()(x)))
        True
        """
        return {"in_channels": self.in_channels, "classes": self.classes, "channels": list(self.channels), "norm": self.norm,
                "dtype": str(self.head.weight.dtype).removeprefix("torch."), "blocks": [b.config() for b in self.blocks],
                "kernel": None if self.kernel is None else mesh_to_dict(Mesh((self.kernel,))), "boundary": self.boundary}

    @classmethod
    def from_config(cls, config: dict, state_dict=None) -> "ContinuousNetClassifier":
        """The model of :meth:`config`, with the parameters and statistics of `state_dict`."""
        keys = {"in_channels", "classes", "channels", "norm", "dtype", "blocks"}
        # a config saved before the width continuum has no kernel: nn.Conv2d
        if not isinstance(config, dict) or not keys <= set(config) <= keys | {"kernel", "boundary"}:
            raise ValueError(f"config must be a dict with keys {sorted(keys)} (and optionally 'kernel', 'boundary'), got "
                             f"{sorted(config) if isinstance(config, dict) else type(config).__name__}")
        dtype = {"float32": torch.float32, "float64": torch.float64}.get(config["dtype"])
        if dtype is None:
            raise ValueError(f"config['dtype'] must be 'float32' or 'float64', got {config['dtype']!r}")
        kernel = None if config.get("kernel") is None else mesh_from_dict(config["kernel"], "config['kernel']").axes[0]
        model = cls(config["in_channels"], config["classes"], config["channels"], norm=config["norm"], dtype=dtype,
                    kernel=kernel, boundary=config.get("boundary", "zero"))
        if not isinstance(config["blocks"], list) or len(config["blocks"]) != len(model.channels):
            raise ValueError(f"config['blocks'] must list {len(model.channels)} block configs")
        model.blocks = torch.nn.ModuleList(
            OdeBlock.from_config(conv_residual_unit(c, model.norm, dtype, None if kernel is None else _scaled(kernel, 2 ** i),
                                                    model.boundary), b)
            for i, (c, b) in enumerate(zip(model.channels, config["blocks"])))
        if state_dict is not None:
            model.load_state_dict(state_dict)
        return model


def train_model(model: torch.nn.Module, task: Task, epochs: int = 20, learning_rate: float = 0.01, batch_size: int = 64,
                weight_decay: float = 1e-4, time_budget: float | None = None, seed: int = 0,
                manifestations: Manifestations | dict | None = DEPTH_MANIFESTATIONS) -> list[dict]:
    """Train any module on a task's loss with AdamW and the one-cycle learning rate; returns
    one ``{"epoch", "loss", <metric>, "seconds"}`` record per epoch (the model left in eval
    mode).

    The schedule runs over `epochs`, or with a `time_budget` (seconds) over whichever ends
    first: its progress is the larger of the batches' and the budget's fraction done, and
    training stops after the epoch that reaches the budget, so a short budget still anneals.

    Each batch trains the model's :class:`~fem_nn.odeblock.OdeBlock` stages in a scheme and
    step multiple drawn from `manifestations` (:func:`~fem_nn.odeblock.manifested`; default
    :data:`~fem_nn.trainer.DEPTH_MANIFESTATIONS`: 1 or 2 times the steps of rk4, rk4_38 or
    midpoint), so that the depth fields learn a flow rather than one map of the trained
    steps (the hyperbolic ConvNet trained as its discrete network lost 75.6 points at rk4 ×
    1; drawn, 0.89). Width draws do not apply to these models. None: the model as it is.

    Examples
    --------
    >>> from fem_nn.tasks import digits_images_task
    >>> task = digits_images_task()
    >>> model = ContinuousNetClassifier(channels=(4,), depth=1, scheme="euler", seed=0)
    >>> history = train_model(model, task, epochs=2)
    >>> [r["epoch"] for r in history], history[-1]["loss"] < history[0]["loss"]
    ([1, 2], True)
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(task, Task):
        raise TypeError(f"task must be a fem_nn.tasks.Task, got {type(task).__name__}")
    epochs = _checks.integer(epochs, "epochs", 1)
    batch_size = _checks.integer(batch_size, "batch_size", 1)
    if time_budget is not None and not _checks.real(time_budget, "time_budget") > 0:
        raise ValueError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
    manifestations = Manifestations.coerce(manifestations)
    if manifestations is not None:
        manifestations.depth_only()
    optimizer = make_optimizer(model, "adamw", learning_rate, weight_decay)
    generator = torch.Generator().manual_seed(_checks.integer(seed, "seed", 0))
    n = len(task.x_train)
    batches = -(-n // batch_size)
    history, start = [], time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order, total = torch.randperm(n, generator=generator), 0.0
        for batch, first in enumerate(range(0, n, batch_size)):
            progress = (epoch * batches + batch) / (epochs * batches)
            if time_budget is not None:
                progress = max(progress, (time.perf_counter() - start) / time_budget)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate * learning_rate_factor("one_cycle", progress)
            indices = order[first:first + batch_size]
            multiple, scheme = (1, None) if manifestations is None else manifestations.draw(generator, False)[:2]
            with manifested(model, scheme, multiple):
                loss = task.loss(model, task.x_train[indices], task.y_train[indices])
                optimizer.zero_grad()
                loss.backward()
            optimizer.step()
            total += loss.item() * len(indices)
        model.eval()
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch + 1, "loss": total / n, task.metric_name: task.metric(model), "seconds": seconds})
        if time_budget is not None and seconds >= time_budget:
            break
    return history
