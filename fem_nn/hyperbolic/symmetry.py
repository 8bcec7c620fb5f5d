"""The continuous symmetry of the hyperbolic ConvNet: mixing a stage's stream channels by T.

A unit reads the stream only through its lift L and writes it only through its out map, a
downsampling block also through its 1 × 1 skip, the stem and the head at the ends. Mixing the
stream of stage s by T — x̃ = T x everywhere in that stage — is therefore exact with

* every map writing into the stream (the stem or the downsampling block entering the stage,
  the interior units' out maps, weights and biases): W ← T W;
* every map reading it (the interior lifts, the next downsampling block's lift and skip, or
  the head): W ← W T⁻¹;

provided each activation σ acting on the stream commutes with T: σ(T x) = T σ(x), i.e. T lies
in σ's group (:mod:`fem_nn.hyperbolic.groups`). Batch norm on the stream does not commute
with T, so :func:`transformed` folds every norm first (:func:`fused`). On a depth continuum
the maps are fields and T acts on each coefficient: exact for any family and tableau.
"""

from __future__ import annotations

import copy

import torch

from ..odeblock import OdeBlock
from .groups import channel_group
from .network import HyperbolicConvNet
from .units import batch_norm_affine

__all__ = ["fused", "transformed", "stream_maps", "stream_activations", "check_transform"]

_FIRST_MOMENTS = ("momentum_buffer", "exp_avg")
_SECOND_MOMENTS = ("exp_avg_sq", "max_exp_avg_sq")


def _checked_model(model) -> HyperbolicConvNet:
    if not isinstance(model, HyperbolicConvNet):
        raise TypeError(f"model must be a HyperbolicConvNet, got {type(model).__name__}")
    return model


def _has_norm(model: HyperbolicConvNet) -> bool:
    """Whether any batch norm is left: its statistics are the model's only buffers."""
    return any(True for _ in model.buffers())


def _folded(conv: torch.nn.Conv2d, norm: torch.nn.BatchNorm2d) -> torch.nn.Conv2d:
    """`conv` then evaluation `norm`, as one convolution with a bias."""
    scale, shift = batch_norm_affine(norm)
    folded = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                             bias=True).to(conv.weight.dtype)
    with torch.no_grad():
        folded.weight.copy_(conv.weight * scale[:, None, None, None])
        folded.bias.copy_(shift if conv.bias is None else shift + scale * conv.bias)
    return folded


def _fused_block(block: OdeBlock) -> OdeBlock:
    if block.depth.family.value != "p0" and any(True for _ in block.buffers()):
        raise ValueError(f"fusing batch norm into a depth field needs P0 depth (the folded scale 1/√var is not in the "
                         f"{block.depth.family.value} space); build the model with norm='none' for other families")
    units = [block.unit_at(dof).eval().fused() for dof in range(block.depth.n_dofs)]
    coefficients = {name: torch.stack([dict(u.named_parameters())[name].detach() for u in units])
                    for name, _ in units[0].named_parameters()}
    return OdeBlock(units[0], block.depth, scheme=block.tableau, steps=block.steps, rate=block.rate,
                    gradient=block.gradient, coefficients=coefficients)


def fused(model: HyperbolicConvNet) -> HyperbolicConvNet:
    """The same function in evaluation with every batch norm folded into the convolution
    before it (the stem's, the skips', each unit's: :meth:`~.units.HyperbolicUnit.fused`);
    a depth continuum with batch norm must have P0 depth. Returns a new model in eval mode.

    Examples
    --------
    >>> model = HyperbolicConvNet(channels=(4, 8), seed=0).eval()
    >>> x = torch.randn(2, 1, 8, 8)
    >>> bool(torch.allclose(fused(model)(x), model(x), atol=1e-5)), fused(model).norm
    (True, 'none')
    """
    model = copy.deepcopy(_checked_model(model)).eval()
    if model.stem_norm is not None:
        model.stem, model.stem_norm = _folded(model.stem, model.stem_norm), None
    for block in model.downsamplings:
        if block.skip_norm is not None:
            block.skip, block.skip_norm = _folded(block.skip, block.skip_norm), None
        block.unit = block.unit.fused()
    if model.placement == "all":
        for stage in model.stages:
            for block in stage:
                block.unit = block.unit.fused()
    else:
        model.stages = torch.nn.ModuleList(_fused_block(b) for b in model.stages)
    model.norm, model.weight_sharing = "none", False
    return model.eval()


def stream_maps(model: HyperbolicConvNet, stage: int) -> list[tuple[str, str, int]]:
    """The parameters that write into or read from stage `stage`'s stream, as
    ``(name, "writer" or "reader", the stream's dimension in that tensor)``."""
    model = _checked_model(model)
    last = len(model.channels) - 1
    if not (isinstance(stage, int) and 0 <= stage <= last):
        raise ValueError(f"stage must be an int in [0, {last}], got {stage!r}")
    maps = []
    names = dict(model.named_parameters())

    def add(name, kind, dim):
        if name in names:
            maps.append((name, kind, dim))

    if stage == 0:
        add("stem.weight", "writer", 0), add("stem.bias", "writer", 0)
    else:
        entry = f"downsamplings.{stage - 1}"
        for name in (f"{entry}.skip.weight", f"{entry}.skip.bias", f"{entry}.unit.out.weight", f"{entry}.unit.out.bias"):
            add(name, "writer", 0)
    if model.placement == "all":
        for b in range(len(model.stages[stage])):
            prefix = f"stages.{stage}.{b}.unit"
            add(f"{prefix}.lift.weight", "reader", 1)
            add(f"{prefix}.out.weight", "writer", 0), add(f"{prefix}.out.bias", "writer", 0)
    else:  # coefficients: a leading depth-dof dimension
        add(f"stages.{stage}.lift__weight", "reader", 2)
        add(f"stages.{stage}.out__weight", "writer", 1), add(f"stages.{stage}.out__bias", "writer", 1)
    if stage < last:
        add(f"downsamplings.{stage}.skip.weight", "reader", 1), add(f"downsamplings.{stage}.unit.lift.weight", "reader", 1)
    else:
        add("head.weight", "reader", 1)
    return maps


def stream_activations(model: HyperbolicConvNet, stage: int) -> list[torch.nn.Module]:
    """The stream activations acting on stage `stage`'s stream."""
    model = _checked_model(model)
    entry = model.stem_activation if stage == 0 else model.downsamplings[stage - 1].activation
    inner = [block.activation for block in model.stages[stage]] if model.placement == "all" else []
    return [entry, *inner]


def check_transform(model: HyperbolicConvNet, stage: int, T: torch.Tensor, tol: float = 1e-10) -> None:
    """ValueError unless `T` is an (n × n) matrix of every group of the activations on stage
    `stage`'s stream, naming the activation and its group."""
    model = _checked_model(model)
    stream_maps(model, stage)  # validates the stage
    n = model.channels[stage]
    if not isinstance(T, torch.Tensor) or tuple(T.shape) != (n, n) or not T.is_floating_point():
        raise ValueError(f"T must be a float tensor of shape ({n}, {n}) (stage {stage}'s channels), "
                         f"got {tuple(T.shape) if isinstance(T, torch.Tensor) else type(T).__name__}")
    if not channel_group("general_linear").contains(T, tol):
        raise ValueError("T must be invertible")
    for activation in stream_activations(model, stage):
        if not activation.group.contains(T, tol):
            raise ValueError(f"T is not in {activation.group.description}, the group that the {activation.name} "
                             f"activation on stage {stage}'s stream commutes with: the output would change")


def _along(tensor: torch.Tensor, matrix: torch.Tensor, dim: int) -> torch.Tensor:
    """`matrix` applied to `tensor` along dimension `dim`."""
    return torch.movedim(torch.tensordot(matrix, tensor, dims=([1], [dim])), 0, dim)


def transformed(model: HyperbolicConvNet, stage: int, T: torch.Tensor, optimizer: torch.optim.Optimizer | None = None,
                tol: float = 1e-10):
    """A new model computing the same function with stage `stage`'s stream mixed by `T`
    (see the module's description); norms are folded first (:func:`fused`), so a model with
    batch norm comes back fused and in eval mode.

    With `optimizer` (over `model`'s parameters, a model without norm: mid-training) returns
    ``(model, optimizer)``, the new optimizer holding the matching state: a parameter changed
    as W̃ = M W along a dimension has gradients g̃ = M⁻ᵀ g, so first moments (momentum,
    Adam's mean) map as gradients, and Adam's second moments by the entries' squares — exact
    only for monomial T (ValueError otherwise). For orthogonal T, SGD (with momentum and
    weight decay) then takes exactly the transformed steps.

    Examples
    --------
    >>> model = HyperbolicConvNet(channels=(4,), activation="identity", norm="none", dtype=torch.float64, seed=0)
    >>> T = torch.randn(4, 4, dtype=torch.float64) + 4 * torch.eye(4, dtype=torch.float64)
    >>> x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    >>> bool(torch.allclose(transformed(model, 0, T)(x), model(x), rtol=1e-10, atol=1e-12))
    True
    """
    model = _checked_model(model)
    check_transform(model, stage, T, tol)
    if optimizer is not None and _has_norm(model):
        raise ValueError("optimizer: a model with batch norm is fused before it is transformed, so its parameters "
                         "change; transform mid-training only a model built with norm='none'")
    new = fused(model) if _has_norm(model) else copy.deepcopy(model)
    params = dict(new.named_parameters())
    T = T.to(new.dtype)
    inverse = torch.linalg.inv(T)
    changes = {}
    with torch.no_grad():
        for name, kind, dim in stream_maps(new, stage):
            matrix = T if kind == "writer" else inverse.T
            params[name].copy_(_along(params[name], matrix, dim))
            changes[name] = (matrix, dim)
    if optimizer is None:
        return new
    return new, _transformed_optimizer(model, new, optimizer, changes, tol)


def _transformed_optimizer(model, new, optimizer, changes, tol):
    old_names = {id(p): name for name, p in model.named_parameters()}
    new_params = dict(new.named_parameters())
    groups = []
    for group in optimizer.param_groups:
        missing = [p for p in group["params"] if id(p) not in old_names]
        if missing:
            raise ValueError("optimizer must hold only the model's parameters")
        groups.append({**{k: v for k, v in group.items() if k != "params"},
                       "params": [new_params[old_names[id(p)]] for p in group["params"]]})
    result = type(optimizer)(groups, **optimizer.defaults)
    for old in (p for group in optimizer.param_groups for p in group["params"]):
        state = optimizer.state.get(old)
        if not state:
            continue
        name = old_names[id(old)]
        matrix, dim = changes.get(name, (None, None))
        mapped = {}
        for key, value in state.items():
            if matrix is None or not isinstance(value, torch.Tensor) or value.ndim == 0:
                mapped[key] = value.clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)
            elif key in _FIRST_MOMENTS:
                mapped[key] = _along(value, torch.linalg.inv(matrix).T, dim)
            elif key in _SECOND_MOMENTS:
                covector = torch.linalg.inv(matrix).T
                if not channel_group("positive_monomial").contains(covector.abs(), tol):
                    raise ValueError(f"optimizer: {key!r} (per-entry second moments) maps exactly only under a "
                                     "monomial T (permutations and scalings); reset it or use SGD")
                mapped[key] = _along(value, covector ** 2, dim)
            else:
                raise ValueError(f"optimizer: no rule to transform state {key!r} of {type(optimizer).__name__}")
        result.state[new_params[name]] = mapped
    return result


