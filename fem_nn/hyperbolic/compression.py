"""Using the symmetry: lossless compression and a canonical form, chosen in the group.

Every stream of a stage can be mixed by any T of its group without changing the function
(:func:`~fem_nn.hyperbolic.symmetry.transformed`). :func:`compressed` spends that freedom on
exact zeros: it picks one reader of the stream — the first interior lift (its first depth
dof), an m × n matrix L — and a T that makes n of its rows simple:

* GL(n) (identity activations): T = L_P, n rows chosen by pivoted QR, so L T⁻¹ holds the
  identity in those rows: n² − n exact zeros;
* O(n) (hardball, softball): T = Qᵀ with L_P = R̃ Qᵀ an LQ factorization, so L T⁻¹ holds a
  lower triangle: n(n − 1)/2 exact zeros;
* (signed) permutations and positive scalings (elementwise activations): no zero can be made.

The zeros are set exactly (the round-off of the transform, below ``tol`` relative, dropped)
and a sparse store removes them. How far this can go is bounded: zero conditions do not
change when T is scaled, so no T makes more generic weights vanish than its group has
dimensions beyond scaling — n² − 1 in GL(n), n(n − 1)/2 in O(n) (which the LQ choice reaches),
none in a discrete group — while each Eq. (3) block already holds (1 + 2k)·n·m mixing weights:
at most a fraction 1/(1 + 2k) (k = 4: 11 %) of one block's per stage even in GL(n), less with
more blocks (:attr:`Compression.bound`).

:func:`canonical_form` orders a stream instead: T = Uᵀ from the SVD of the stacked maps
writing into it (orthogonal, in every group that contains O(n)), so stream channel i carries
the i-th principal direction of what the stage writes — the "diagonalized mixing".
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import scipy.linalg
import torch

from .network import HyperbolicConvNet
from .symmetry import _checked_model, _has_norm, fused, stream_activations, stream_maps, transformed

__all__ = ["Compression", "compressed", "canonical_form", "mixing_weights"]


def mixing_weights(model: HyperbolicConvNet) -> dict[str, torch.Tensor]:
    """The 1 × 1 (channel-mixing) weights by parameter name: lifts, mixes, direction mixes,
    out maps, skips (as depth coefficients in an interior)."""
    keys = ("lift", "mix", "direction_mix", "out", "skip")
    return {name: p for name, p in _checked_model(model).named_parameters()
            if any(part.split("__")[0] in keys for part in name.split(".")) and not name.endswith("bias")}


# the dimension of a stream's group beyond scaling: the most generic zeros any T can make
_GROUP_DIMENSION = {"general_linear": lambda n: n * n - 1, "orthogonal": lambda n: n * (n - 1) // 2,
                    "discrete": lambda n: 0}


def _group_kind(model, stage) -> str:
    names = {a.group.name for a in stream_activations(model, stage)}
    if names == {"general_linear"}:
        return "general_linear"
    if names <= {"general_linear", "orthogonal"}:
        return "orthogonal"
    return "discrete"


@dataclasses.dataclass(frozen=True)
class Compression:
    """The result of :func:`compressed`.

    Attributes
    ----------
    model : HyperbolicConvNet
        The transformed model, its exact zeros set.
    removed, total : int
        Mixing weights that are exactly zero (a sparse store drops them), and all of them.
    per_stage : tuple of (str, int)
        Each stage's group kind and the zeros it made.
    bound : float
        The most any choice of T could remove, Σ_s d_s / total, with d_s the dimension of
        stage s's group beyond scaling (n² − 1, n(n − 1)/2 or 0).
    """

    model: HyperbolicConvNet
    removed: int
    total: int
    per_stage: tuple
    bound: float

    @property
    def fraction(self) -> float:
        return self.removed / self.total


def _reader(model, stage):
    """The stream reader to simplify: the first interior lift's first depth dof (m × n)."""
    for name, kind, dim in stream_maps(model, stage):
        if kind == "reader" and "lift" in name:
            weight = dict(model.named_parameters())[name].detach()
            return weight[0, :, :, 0, 0] if dim == 2 else weight[:, :, 0, 0]
    raise ValueError(f"stage {stage} has no lift to simplify")


def _choice(reader: torch.Tensor, kind: str) -> torch.Tensor | None:
    m, n = reader.shape
    if kind == "discrete" or m < n:
        return None
    _, _, pivots = scipy.linalg.qr(reader.double().numpy().T, pivoting=True)
    rows = torch.as_tensor(np.sort(pivots[:n]))
    chosen = reader.double()[rows]
    if kind == "general_linear":
        return chosen
    q, _ = torch.linalg.qr(chosen.T)  # chosen = Rᵀ qᵀ: chosen q is lower triangular
    return q.T


def compressed(model: HyperbolicConvNet, tol: float = 1e-12) -> Compression:
    """Exact zeros made by the symmetry, stage by stage (see the module's description); a
    model with batch norm is fused first. Entries below `tol` relative to their matrix's
    largest are set to zero.

    Examples
    --------
    >>> model = HyperbolicConvNet(channels=(4,), activation="identity", norm="none", dtype=torch.float64, seed=0)
    >>> result = compressed(model)
    >>> result.per_stage, result.removed
    ((('general_linear', 12),), 12)
    >>> x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    >>> bool(torch.allclose(result.model(x), model(x), rtol=1e-10, atol=1e-12))
    True
    """
    new = fused(model) if _has_norm(_checked_model(model)) else copy.deepcopy(model)
    before = sum(int((w == 0).sum()) for w in mixing_weights(new).values())
    per_stage = []
    for stage in range(len(new.channels)):
        kind = _group_kind(new, stage)
        T = _choice(_reader(new, stage), kind)
        made = 0
        if T is not None:
            zeros = sum(int((w == 0).sum()) for w in mixing_weights(new).values())
            new = transformed(new, stage, T.to(new.dtype))
            with torch.no_grad():
                for w in mixing_weights(new).values():
                    w[w.abs() <= tol * w.abs().max()] = 0.0
            made = sum(int((w == 0).sum()) for w in mixing_weights(new).values()) - zeros
        per_stage.append((kind, made))
    weights = mixing_weights(new)
    total = sum(w.numel() for w in weights.values())
    removed = sum(int((w == 0).sum()) for w in weights.values()) - before
    bound = sum(_GROUP_DIMENSION[kind](n) for (kind, _), n in zip(per_stage, new.channels)) / total
    return Compression(new, removed, total, tuple(per_stage), bound)


def canonical_form(model: HyperbolicConvNet, stage: int) -> tuple[HyperbolicConvNet, torch.Tensor]:
    """The model with stage `stage`'s stream in principal directions: T = Uᵀ from the SVD
    ``W = U Σ Vᵀ`` of every map writing into it (unfolded along the stream), so the stream's
    writers become ``Σ Vᵀ``: rows orthogonal, ordered by norm. Returns the model and Σ.
    Needs a group containing O(n) (identity, hardball, softball activations).

    Examples
    --------
    >>> model = HyperbolicConvNet(channels=(4,), norm="none", dtype=torch.float64, seed=0)
    >>> canonical, sigma = canonical_form(model, 0)
    >>> x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    >>> bool(torch.allclose(canonical(x), model(x), rtol=1e-10, atol=1e-12)), bool((sigma[:-1] >= sigma[1:]).all())
    (True, True)
    """
    model = fused(model) if _has_norm(_checked_model(model)) else model
    params = dict(model.named_parameters())
    blocks = [torch.movedim(params[name].detach(), dim, 0).reshape(model.channels[stage], -1)
              for name, kind, dim in stream_maps(model, stage) if kind == "writer"]
    u, sigma, _ = torch.linalg.svd(torch.cat(blocks, dim=1), full_matrices=False)
    return transformed(model, stage, u.T.contiguous()), sigma


