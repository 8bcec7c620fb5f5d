"""The channel groups of the seed's Sym(model) = Π G_i: the matrices T that may mix the
channels of a residual stream, by the activations that act on it.

Each group is one small class with a ``contains`` test and one registration in
:data:`GROUPS`; an unknown name fails loudly (:func:`channel_group`).
"""

from __future__ import annotations

import torch

__all__ = ["ChannelGroup", "GeneralLinear", "Orthogonal", "SignedPermutation", "PositiveMonomial", "Permutation",
           "GROUPS", "channel_group"]


def _is_square(T: torch.Tensor) -> bool:
    return isinstance(T, torch.Tensor) and T.ndim == 2 and T.shape[0] == T.shape[1] and T.is_floating_point()


def _one_per_row_and_column(T: torch.Tensor, tol: float) -> torch.Tensor | None:
    """The nonzero entries of a monomial matrix in row order, or None if T is not one."""
    nonzero = T.abs() > tol * T.abs().max().clamp_min(1e-300)
    if not (bool((nonzero.sum(0) == 1).all()) and bool((nonzero.sum(1) == 1).all())):
        return None
    return T[nonzero]


class ChannelGroup:
    """A subgroup of GL(n, R) acting on a stream's channels."""

    name = ""
    description = ""

    def contains(self, T: torch.Tensor, tol: float = 1e-10) -> bool:
        """Whether the square float matrix `T` lies in the group (to relative `tol`)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class GeneralLinear(ChannelGroup):
    """GL(n): every invertible matrix (the stream of identity activations)."""

    name, description = "general_linear", "GL(n): invertible matrices"

    def contains(self, T, tol=1e-10):
        if not _is_square(T):
            return False
        singular = torch.linalg.svdvals(T.double())
        return bool(singular[-1] > tol * singular[0])


class Orthogonal(ChannelGroup):
    """O(n): T Tᵀ = I (the stream of hardball and softball, which see only the norm)."""

    name, description = "orthogonal", "O(n): orthogonal matrices"

    def contains(self, T, tol=1e-10):
        if not _is_square(T):
            return False
        eye = torch.eye(T.shape[0], dtype=T.dtype, device=T.device)
        return bool((T @ T.T - eye).abs().max() <= tol * max(T.shape[0], 1))


class _Monomial(ChannelGroup):
    """Monomial matrices (one nonzero per row and column) whose nonzeros pass :meth:`allowed`."""

    def allowed(self, entries: torch.Tensor, tol: float) -> bool:
        raise NotImplementedError

    def contains(self, T, tol=1e-10):
        if not _is_square(T):
            return False
        entries = _one_per_row_and_column(T, tol)
        return entries is not None and self.allowed(entries, tol)


class SignedPermutation(_Monomial):
    """Permutations with signs ±1 (odd clipping activations: hardtanh)."""

    name, description = "signed_permutation", "permutations with signs ±1"

    def allowed(self, entries, tol):
        return bool(((entries.abs() - 1).abs() <= tol).all())


class PositiveMonomial(_Monomial):
    """Permutations times positive scalings (positively homogeneous activations: relu)."""

    name, description = "positive_monomial", "permutations times positive scalings"

    def allowed(self, entries, tol):
        return bool((entries > 0).all())


class Permutation(_Monomial):
    """Permutation matrices (any elementwise activation)."""

    name, description = "permutation", "permutation matrices"

    def allowed(self, entries, tol):
        return bool(((entries - 1).abs() <= tol).all())


GROUPS: dict[str, ChannelGroup] = {g.name: g for g in (GeneralLinear(), Orthogonal(), SignedPermutation(),
                                                        PositiveMonomial(), Permutation())}


def channel_group(name: str) -> ChannelGroup:
    """The registered group `name` (ValueError naming the known ones otherwise).

    Examples
    --------
    >>> channel_group("orthogonal").contains(torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64))
    True
    >>> channel_group("permutation").contains(torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64))
    False
    """
    if name not in GROUPS:
        raise ValueError(f"unknown channel group {name!r}; known: {sorted(GROUPS)}")
    return GROUPS[name]
