"""A network's settings in two groups: what the continuum is (its meshes, right-hand side,
activation, read-in and read-out, initialization), and how it is manifested (scheme, steps,
kernel form, memory, dtype). :meth:`~fem_nn.ContinuumNetwork.replaced` rebuilds a network
from both with some of them changed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch

from ..adaptive import Adaptive
from ..integrators import ButcherTableau
from ..mesh import Mesh
from .initialization import Initialization
from .read_in import ReadInForm
from .rhs import RightHandSide
from .width import KernelForm

__all__ = ["Continuum", "Manifestation"]


class _Settings:
    def arguments(self) -> dict:
        """The settings as :class:`~fem_nn.ContinuumNetwork`'s keyword arguments."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


@dataclasses.dataclass(frozen=True, eq=False)
class Continuum(_Settings):
    """What the continuum is, checked (see :class:`~fem_nn.ContinuumNetwork` for each).

    Examples
    --------
    >>> from fem_nn import ContinuumNetwork, bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), rhs="relaxation")
    >>> net.continuum.rhs, net.continuum.rate, net.continuum.weight_mesh.shape
    (RightHandSide('relaxation'), 1.0, (9, 9, 4))
    """

    weight_mesh: Mesh
    bias_mesh: Mesh
    rhs: RightHandSide
    activation: Callable
    rate: float
    output_mesh: object
    read_in_form: ReadInForm
    n_samples: int | None
    init: Initialization
    channels: int = 1


@dataclasses.dataclass(frozen=True, eq=False)
class Manifestation(_Settings):
    """How a continuum is manifested, checked (see :class:`~fem_nn.ContinuumNetwork`).

    Examples
    --------
    >>> from fem_nn import ContinuumNetwork, bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), scheme="heun", steps=3)
    >>> net.manifestation.scheme.name, net.manifestation.steps, net.manifestation.dtype
    ('heun', 3, torch.float32)
    """

    scheme: ButcherTableau | Adaptive
    steps: int
    kernel_form: KernelForm
    memory_flat: bool
    dtype: torch.dtype
