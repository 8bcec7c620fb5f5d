"""The hyperbolic ConvNet: a stem, stages of the seed's residual units joined by downsampling
blocks, pooling and a linear head; each stage's interior a continuum in depth.

stem (3 × 3 conv, norm, stream activation) → stage 0 → [downsampling block → stage s]… →
global average pooling → linear head. A downsampling block is ``σ(S x + R(x))`` with a
strided 1 × 1 skip S (and norm) and a unit R whose 3 × 3 convolution has stride 2. With the
activation at the downsamplings (the seed's "@ds") a stage's interior is an
:class:`~fem_nn.odeblock.OdeBlock` of the variant's unit: its parameters (and batch-norm
statistics) are depth fields, integrated by any tableau; the defaults (P0 depth, Euler, one
step per cell, rate = cells) are exactly the discrete stack of residual blocks. With the
activation after every block ("@all") the interior is that discrete stack, activation after
each block, and has no depth continuum.
"""

from __future__ import annotations

import copy

import torch

from .. import _checks
from ..mesh import Axis, Mesh
from ..odeblock import OdeBlock, depth_axis
from .activations import StreamActivation, stream_activation
from .units import UNITS, UnitSettings, hyperbolic_unit

__all__ = ["HyperbolicConvNet", "DownsamplingBlock", "ActivatedResidual", "PLACEMENTS"]

PLACEMENTS = ("downsampling", "all")


class DownsamplingBlock(torch.nn.Module):
    """``σ(S x + R(x))``: strided 1 × 1 skip S (norm, unless "none") plus a stride-2 unit."""

    def __init__(self, unit, activation: StreamActivation):
        super().__init__()
        s = unit.settings
        batch = s.norm == "batch"
        self.skip = torch.nn.Conv2d(s.in_channels, s.out_channels, 1, stride=s.stride, bias=not batch)
        self.skip_norm = torch.nn.BatchNorm2d(s.out_channels) if batch else None
        self.unit, self.activation = unit, activation

    def forward(self, x):
        skip = self.skip(x)
        skip = skip if self.skip_norm is None else self.skip_norm(skip)
        return self.activation(skip + self.unit(x))


class ActivatedResidual(torch.nn.Module):
    """``σ(x + R(x))``: one block of an "@all" stage."""

    def __init__(self, unit, activation: StreamActivation):
        super().__init__()
        self.unit, self.activation = unit, activation

    def forward(self, x):
        return self.activation(x + self.unit(x))


class HyperbolicConvNet(torch.nn.Module):
    """The seed's ConvNet of quasi-linear hyperbolic units (see the module's description).

    Parameters
    ----------
    in_channels, classes : int
    channels : sequence of int, default (16, 32)
        The stream's channels n per stage.
    variant : str, default "eq3"
        The unit (:data:`~fem_nn.hyperbolic.units.UNITS`: eq3 … eq7).
    activation : str, default "softball"
        The stream activation (:data:`~fem_nn.hyperbolic.activations.STREAM_ACTIVATIONS`).
    placement : {"downsampling", "all"}, default "downsampling"
        Where the activation acts: after the stem and each downsampling block, or also after
        every block.
    depth : Axis or int, default 2
        Each stage interior's depth axis on [0, 1] or its number of P0 cells (with "all":
        the number of blocks, an int).
    scheme, steps, rate :
        The interiors' :class:`~fem_nn.odeblock.OdeBlock` settings; defaults Euler, one step
        per cell, rate = cells (the discrete network).
    expansion : int, default 1
        Lifted channels m = expansion · n.
    directions : int, default 4
        Learned derivative directions k per channel.
    weight_sharing : bool, default True
        One 3 × 3 kernel per direction shared by all channels (the seed's minimalist conv).
    norm : {"batch", "none"}, default "batch"
    dtype : torch.dtype, default torch.float32
    seed : int, optional

    Examples
    --------
    >>> model = HyperbolicConvNet(channels=(4, 8), variant="eq3", activation="hardball", seed=0)
    >>> tuple(model(torch.zeros(2, 1, 8, 8)).shape), [b.steps for b in model.stages]
    ((2, 10), [2, 2])
    """

    def __init__(self, in_channels: int = 1, classes: int = 10, channels=(16, 32), variant: str = "eq3",
                 activation: str = "softball", placement: str = "downsampling", depth: Axis | int = 2, *,
                 scheme="euler", steps: int | None = None, rate: float | None = None, expansion: int = 1,
                 directions: int = 4, weight_sharing: bool = True, norm: str = "batch",
                 dtype: torch.dtype = torch.float32, seed: int | None = None):
        super().__init__()
        self.in_channels = _checks.integer(in_channels, "in_channels", 1)
        self.classes = _checks.integer(classes, "classes", 1)
        if isinstance(channels, (str, bytes)) or not hasattr(channels, "__len__") or not len(channels):
            raise ValueError(f"channels must be a non-empty sequence of positive integers, got {channels!r}")
        self.channels = tuple(_checks.integer(c, "channels", 1) for c in channels)
        if variant not in UNITS:
            raise ValueError(f"variant must be one of {sorted(UNITS)}, got {variant!r}")
        stream_activation(activation)  # fails loudly on an unknown name, before any work
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {list(PLACEMENTS)}, got {placement!r}")
        if placement == "all" and not isinstance(depth, int):
            raise ValueError(f"placement 'all' has discrete stages: depth must be a number of blocks, got {depth!r}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
        self.variant, self.activation_name, self.placement = variant, activation, placement
        self.expansion = _checks.integer(expansion, "expansion", 1)
        UnitSettings(1, 1, 1, directions, weight_sharing, norm)  # validates before any work
        self.directions, self.weight_sharing, self.norm = directions, weight_sharing, norm
        if seed is not None:
            torch.manual_seed(_checks.integer(seed, "seed", 0))
        first = self.channels[0]
        self.stem = torch.nn.Conv2d(self.in_channels, first, 3, padding=1, bias=norm == "none")
        self.stem_norm = torch.nn.BatchNorm2d(first) if norm == "batch" else None
        self.stem_activation = stream_activation(activation)
        self.downsamplings = torch.nn.ModuleList(
            DownsamplingBlock(self.make_unit(a, b, stride=2), stream_activation(activation))
            for a, b in zip(self.channels, self.channels[1:]))
        self.stages = torch.nn.ModuleList(self._stage(c, depth, scheme, steps, rate) for c in self.channels)
        self.head = torch.nn.Linear(self.channels[-1], self.classes)
        self.to(dtype)

    def make_unit(self, inputs: int, outputs: int, stride: int = 1, norm: str | None = None):
        """A fresh unit of this model's variant and shape."""
        settings = UnitSettings(inputs, outputs, self.expansion * outputs, self.directions, self.weight_sharing,
                                self.norm if norm is None else norm, stride)
        return hyperbolic_unit(self.variant, settings)

    def _stage(self, channels: int, depth, scheme, steps, rate):
        if self.placement == "all":
            return torch.nn.Sequential(*(ActivatedResidual(self.make_unit(channels, channels),
                                                           stream_activation(self.activation_name))
                                         for _ in range(_checks.integer(depth, "depth", 1))))
        cells = depth_axis(depth).n_cells
        return OdeBlock.drawn(lambda: self.make_unit(channels, channels), depth, scheme=scheme, steps=steps,
                              rate=float(cells) if rate is None else rate)

    @property
    def dtype(self) -> torch.dtype:
        return self.head.weight.dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(batch, classes)`` of images ``(batch, in_channels, H, W)``."""
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be a tensor of images (batch, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        h = self.stem(x.to(self.dtype))
        h = self.stem_activation(h if self.stem_norm is None else self.stem_norm(h))
        for s, stage in enumerate(self.stages):
            h = stage(h if s == 0 else self.downsamplings[s - 1](h))
        return self.head(h.mean(dim=(2, 3)))

    # --- the depth continuum ----------------------------------------------------------------
    def _interiors(self) -> list[OdeBlock]:
        if self.placement == "all":
            raise ValueError("placement 'all' has discrete stages (an activation after every block): no depth continuum")
        return list(self.stages)

    def with_stages(self, stages) -> "HyperbolicConvNet":
        """A copy whose stage interiors are `stages` (e.g. each
        :meth:`~fem_nn.odeblock.OdeBlock.refined`, ``.replaced`` …); the rest copied."""
        stages = list(stages)
        if len(stages) != len(self.channels):
            raise ValueError(f"stages must hold {len(self.channels)} interiors, got {len(stages)}")
        model = copy.deepcopy(self)
        model.stages = torch.nn.ModuleList(stages)
        return model

    def replaced(self, depth: Axis | int | None = None, scheme=None, steps: int | None = None,
                 rate: float | None = None) -> "HyperbolicConvNet":
        """Every stage interior re-manifested by :meth:`~fem_nn.odeblock.OdeBlock.replaced`."""
        return self.with_stages(b.replaced(depth, scheme, steps, rate) for b in self._interiors())

    def refined(self, k: int = 2, steps="keep") -> "HyperbolicConvNet":
        """Every interior's depth cells split in `k` (nested: the same fields)."""
        return self.with_stages(b.refined(k=k, steps=steps) for b in self._interiors())

    def coarsened(self, k: int = 2, steps="keep") -> "HyperbolicConvNet":
        """Every interior's depth cells merged by `k` (L2 projection: a cheaper network)."""
        return self.with_stages(b.coarsened(k=k, steps=steps) for b in self._interiors())

    def parameter_meshes(self) -> dict[str, Mesh]:
        """The depth mesh of every field parameter by the model's parameter name (for
        :func:`~fem_nn.transfer.transfer_optimizer`)."""
        return {f"stages.{i}.{name}": mesh for i, b in enumerate(self._interiors())
                for name, mesh in b.parameter_meshes().items()}

    # --- saving ----------------------------------------------------------------------------
    def config(self) -> dict:
        """The settings as JSON-ready data; :meth:`from_config` with a ``state_dict``
        rebuilds the model (each interior's own depth, scheme and steps included).

        Examples
        --------
        >>> model = HyperbolicConvNet(channels=(4,), variant="eq6", seed=0).replaced(scheme="heun", steps=3)
        >>> again = HyperbolicConvNet.from_config(model.config(), model.state_dict())
        >>> x = torch.rand(2, 1, 8, 8)
        >>> bool(torch.equal(again.eval()(x), model.eval()(x))), again.stages[0].tableau.name
        (True, 'heun')
        """
        stages = [len(s) for s in self.stages] if self.placement == "all" else [b.config() for b in self.stages]
        return {"in_channels": self.in_channels, "classes": self.classes, "channels": list(self.channels),
                "variant": self.variant, "activation": self.activation_name, "placement": self.placement,
                "expansion": self.expansion, "directions": self.directions, "weight_sharing": self.weight_sharing,
                "norm": self.norm, "dtype": str(self.dtype).removeprefix("torch."), "stages": stages}

    @classmethod
    def from_config(cls, config: dict, state_dict=None) -> "HyperbolicConvNet":
        """The model of :meth:`config`, with the parameters and statistics of `state_dict`."""
        keys = {"in_channels", "classes", "channels", "variant", "activation", "placement", "expansion", "directions",
                "weight_sharing", "norm", "dtype", "stages"}
        if not isinstance(config, dict) or set(config) != keys:
            raise ValueError(f"config must be a dict with keys {sorted(keys)}, got "
                             f"{sorted(config) if isinstance(config, dict) else type(config).__name__}")
        dtype = {"float32": torch.float32, "float64": torch.float64}.get(config["dtype"])
        if dtype is None:
            raise ValueError(f"config['dtype'] must be 'float32' or 'float64', got {config['dtype']!r}")
        stages = config["stages"]
        if not isinstance(stages, list) or len(stages) != len(config["channels"]):
            raise ValueError(f"config['stages'] must list one entry per stage ({len(config['channels'])})")
        discrete = config["placement"] == "all"
        settings = {k: config[k] for k in keys - {"dtype", "stages"}}
        model = cls(**settings, depth=stages[0] if discrete else 1, dtype=dtype)
        if discrete:
            model.stages = torch.nn.ModuleList(model._stage(c, n, None, None, None) for c, n in zip(model.channels, stages))
        else:
            model.stages = torch.nn.ModuleList(OdeBlock.from_config(model.make_unit(c, c), b)
                                               for c, b in zip(model.channels, stages))
        model.to(dtype)
        if state_dict is not None:
            model.load_state_dict(state_dict)
        return model

    def extra_repr(self) -> str:
        return (f"variant={self.variant}, activation={self.activation_name}@{self.placement}, channels={self.channels}, "
                f"parameters={sum(p.numel() for p in self.parameters())}")
