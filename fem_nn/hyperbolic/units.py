"""The residual units of the quasi-linear hyperbolic ConvNet (Liu, Shao, Bai; the seed's
Eqs. (3)–(7)), one class per variant, registered in :data:`UNITS`.

Each unit maps a stream x (n channels) to a slope. It reads the stream only through a 1 × 1
*lift* u = L x (m channels: the PDE's unknowns in the block's own coordinates) and writes it
only through a 1 × 1 *out* map (A and B stacked), so mixing the stream's channels by T is
absorbed exactly by L ← L T⁻¹ and out ← T out, whatever happens in between: the seed's
continuous symmetry (:mod:`fem_nn.hyperbolic.symmetry`). In between, ∂/∂x and ∂/∂y are a
depthwise 3 × 3 convolution D into k learned directions per channel (weights shared across
the channels: the seed's "minimalist" conv, or not), and the nonlinearity is an elementwise
product of two branches — no activation. With `norm` "batch", batch norm follows D and the
out map, where the seed puts it; :meth:`HyperbolicUnit.fused` folds both into biases.

==========  ======================================================  ======================
variant     slope (index j a channel of u, d a direction)           out reads
==========  ======================================================  ======================
``eq3``     (C u)_{jd} · D_d u_j                                   k·m channels
``eq4``     (C u)_{jd} · (A_d D_d u)_j                             k·m channels
``eq5``     Σ_d (C u)_{jd} · D_d u_j                               m channels
``eq6``     D_d [(C u)_j u_j]   (conservation form, one C)          k·m channels
``eq7``     D_d [(C u)_{jd} u_j]   (conservation form, C per d)     k·m channels
==========  ======================================================  ======================
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from .. import _checks

__all__ = ["UnitSettings", "HyperbolicUnit", "Eq3", "Eq4", "Eq5", "Eq6", "Eq7", "UNITS", "hyperbolic_unit"]

NORMS = ("batch", "none")


@dataclasses.dataclass(frozen=True)
class UnitSettings:
    """A unit's shape: stream channels in and out, lifted channels m, directions k, shared
    3 × 3 weights, norm, stride of the 3 × 3 convolution (2 at a downsampling)."""

    in_channels: int
    out_channels: int
    width: int
    directions: int = 4
    weight_sharing: bool = True
    norm: str = "batch"
    stride: int = 1

    def __post_init__(self):
        for name in ("in_channels", "out_channels", "width", "directions", "stride"):
            _checks.integer(getattr(self, name), name, 1)
        _checks.flag(self.weight_sharing, "weight_sharing")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {list(NORMS)}, got {self.norm!r}")


class HyperbolicUnit(torch.nn.Module):
    """The common frame of a variant: lift → variant core → out (+ norms); see the module's
    description. Subclasses set :attr:`variant`, :attr:`spread` (D maps m channels to k·m,
    else it filters k·m channels one by one), :attr:`out_reads` and :meth:`core`."""

    variant = ""
    spread = True

    def __init__(self, settings: UnitSettings):
        super().__init__()
        if not isinstance(settings, UnitSettings):
            raise TypeError(f"settings must be a UnitSettings, got {type(settings).__name__}")
        self.settings = s = settings
        hidden = s.directions * s.width
        self.lift = torch.nn.Conv2d(s.in_channels, s.width, 1, bias=False)
        kernels = s.directions if s.weight_sharing else hidden
        self.kernel = torch.nn.Parameter(torch.empty(kernels, 1, 3, 3))
        torch.nn.init.kaiming_uniform_(self.kernel, a=5 ** 0.5)
        batch = s.norm == "batch"
        self.kernel_bias = None if batch else torch.nn.Parameter(torch.zeros(hidden))
        self.hidden_norm = torch.nn.BatchNorm2d(hidden) if batch else None
        self.build_core()
        self.out = torch.nn.Conv2d(self.out_reads(), s.out_channels, 1, bias=not batch)
        self.out_norm = torch.nn.BatchNorm2d(s.out_channels) if batch else None

    # --- the variant ------------------------------------------------------------------------
    def build_core(self) -> None:
        """Create the variant's own mixing parameters."""
        raise NotImplementedError

    def out_reads(self) -> int:
        return self.settings.directions * self.settings.width

    def core(self, u: torch.Tensor) -> torch.Tensor:
        """The variant's slope in hidden channels, from the lifted stream u."""
        raise NotImplementedError

    # --- shared pieces ----------------------------------------------------------------------
    def derivative(self, v: torch.Tensor) -> torch.Tensor:
        """D: the depthwise 3 × 3 convolution (shared weights repeated over the channels),
        then the hidden norm; channel j·k + d is direction d of input channel j."""
        s = self.settings
        weight = self.kernel.repeat(s.width, 1, 1, 1) if s.weight_sharing else self.kernel
        groups = s.width if self.spread else s.width * s.directions
        out = F.conv2d(v, weight, self.kernel_bias, stride=s.stride, padding=1, groups=groups)
        return out if self.hidden_norm is None else self.hidden_norm(out)

    def strided(self, v: torch.Tensor) -> torch.Tensor:
        """v at the resolution of D's output (a strided 1 × 1 read)."""
        stride = self.settings.stride
        return v if stride == 1 else v[..., ::stride, ::stride]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.out(self.core(self.lift(x)))
        return y if self.out_norm is None else self.out_norm(y)

    # --- inference --------------------------------------------------------------------------
    def fused(self) -> "HyperbolicUnit":
        """The same function in evaluation with both batch norms folded into D's bias and the
        out map's weight and bias (norm "none", unshared 3 × 3 weights); a copy of a unit
        without norm."""
        s = self.settings
        fused = type(self)(dataclasses.replace(s, norm="none", weight_sharing=False)).to(self.kernel.dtype)
        with torch.no_grad():
            own = dict(self.named_parameters())
            for name, value in fused.named_parameters():
                if name in own and own[name].shape == value.shape:
                    value.copy_(own[name])
            kernel = self.kernel.repeat(s.width, 1, 1, 1) if s.weight_sharing else self.kernel
            if self.hidden_norm is None:
                fused.kernel.copy_(kernel)
                fused.kernel_bias.copy_(self.kernel_bias)
                fused.out.weight.copy_(self.out.weight)
                fused.out.bias.copy_(self.out.bias)
            else:
                scale, shift = batch_norm_affine(self.hidden_norm)
                fused.kernel.copy_(kernel * scale[:, None, None, None])
                fused.kernel_bias.copy_(shift)
                scale, shift = batch_norm_affine(self.out_norm)
                fused.out.weight.copy_(self.out.weight * scale[:, None, None, None])
                fused.out.bias.copy_(shift)
        return fused.train(self.training)

    def extra_repr(self) -> str:
        s = self.settings
        return (f"variant={self.variant}, {s.in_channels}→{s.out_channels}, width={s.width}, directions={s.directions}, "
                f"weight_sharing={s.weight_sharing}, norm={s.norm}, stride={s.stride}")


def batch_norm_affine(norm: torch.nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Evaluation batch norm as y ↦ scale · y + shift per channel."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    return scale, norm.bias - scale * norm.running_mean


class Eq3(HyperbolicUnit):
    """Eq. (3): Σ_j A_ij (Σ_k C_jk u_k) ∂u_j — the quasi-linear system."""

    variant = "eq3"

    def build_core(self):
        s = self.settings
        self.mix = torch.nn.Conv2d(s.width, s.directions * s.width, 1, bias=False)

    def core(self, u):
        return self.mix(self.strided(u)) * self.derivative(u)


class Eq4(HyperbolicUnit):
    """Eq. (4): (Σ_k C_ik u_k)(Σ_j A_ij ∂u_j) — the derivatives mixed per direction first."""

    variant = "eq4"

    def build_core(self):
        s = self.settings
        self.mix = torch.nn.Conv2d(s.width, s.directions * s.width, 1, bias=False)
        self.direction_mix = torch.nn.Parameter(torch.empty(s.directions, s.width, s.width))
        torch.nn.init.uniform_(self.direction_mix, -s.width ** -0.5, s.width ** -0.5)

    def core(self, u):
        s = self.settings
        d = self.derivative(u)
        d = d.unflatten(1, (s.width, s.directions))
        mixed = torch.einsum("dij,bjdhw->bidhw", self.direction_mix, d).flatten(1, 2)
        return self.mix(self.strided(u)) * mixed


class Eq5(HyperbolicUnit):
    """Eq. (5): Σ_d (Σ_k C_ik u_k) ∂_d u_i — each channel carried by its own derivatives."""

    variant = "eq5"

    def build_core(self):
        s = self.settings
        self.mix = torch.nn.Conv2d(s.width, s.directions * s.width, 1, bias=False)

    def out_reads(self):
        return self.settings.width

    def core(self, u):
        s = self.settings
        return (self.mix(self.strided(u)) * self.derivative(u)).unflatten(1, (s.width, s.directions)).sum(2)


class Eq6(HyperbolicUnit):
    """Eq. (6): Σ_j A_ij ∂[(Σ_k C_jk u_k) u_j] — conservation form, one C for all directions."""

    variant = "eq6"

    def build_core(self):
        s = self.settings
        self.mix = torch.nn.Conv2d(s.width, s.width, 1, bias=False)

    def core(self, u):
        return self.derivative(self.mix(u) * u)


class Eq7(HyperbolicUnit):
    """Eq. (7): Σ_j A_ij ∂_d[(Σ_k C^d_jk u_k) u_j] — conservation form, C per direction."""

    variant = "eq7"
    spread = False

    def build_core(self):
        s = self.settings
        self.mix = torch.nn.Conv2d(s.width, s.directions * s.width, 1, bias=False)

    def core(self, u):
        return self.derivative(self.mix(u) * u.repeat_interleave(self.settings.directions, dim=1))


UNITS: dict[str, type[HyperbolicUnit]] = {cls.variant: cls for cls in (Eq3, Eq4, Eq5, Eq6, Eq7)}


def hyperbolic_unit(variant: str, settings: UnitSettings) -> HyperbolicUnit:
    """A unit of `variant` (ValueError naming the known ones otherwise).

    Examples
    --------
    >>> unit = hyperbolic_unit("eq3", UnitSettings(4, 4, width=4)).eval()
    >>> x = torch.randn(2, 4, 6, 6)
    >>> bool(torch.allclose(unit.fused()(x), unit(x), atol=1e-6)), tuple(unit(x).shape)
    (True, (2, 4, 6, 6))
    """
    if variant not in UNITS:
        raise ValueError(f"unknown hyperbolic variant {variant!r}; known: {sorted(UNITS)}")
    return UNITS[variant](settings)
