"""The initial coefficients of a network's fields, where none are given."""

from __future__ import annotations

import enum

import numpy as np

from ..field import Field
from ..mesh import WIDTH_INTERVAL, Mesh
from .channels import POINTWISE, channel_dims

__all__ = ["Initialization", "initial_coefficients"]


class Initialization(enum.Enum):
    """The initial coefficients of the fields (where none are given).

    - ``NOISE``: independent normal coefficients, std ``0.25 √nodes`` for weights (a random
      kernel matrix of operator norm ~1), zero biases. Not a continuum: refining the mesh
      does not refine the noise.
    - ``SMOOTH``: a random smooth field W(ξ, η, δ) = Σ a_mnl ψ_m(ξ) ψ_n(η) χ_l(δ) of the first
      6 orthonormal Legendre polynomials in each width variable and 2 in depth, L2-projected
      onto the mesh, with std(a) chosen so that the integral operator's norm is ~1 whatever
      the mesh: the same function on every mesh that resolves it; zero biases.

    Examples
    --------
    >>> from fem_nn import ContinuumNetwork, bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), init="smooth")
    >>> net.init, bool(net.weight.abs().max() > 0), float(net.bias.detach().abs().max())
    (<Initialization.SMOOTH: 'smooth'>, True, 0.0)
    """

    NOISE = "noise"
    SMOOTH = "smooth"


_SMOOTH_MODES = (6, 2)  # width and depth modes of the smooth initialization


def _smooth_field(mesh: Mesh, rng: np.random.Generator) -> np.ndarray:
    """Coefficients of a random smooth weight field on `mesh` (see :class:`Initialization`)."""
    from numpy.polynomial import legendre

    width, depth = _SMOOTH_MODES
    # the operator of Σ_mn a_mn ψ_m ⊗ ψ_n has the singular values of (a_mn): ~2√M std(a)
    a = rng.normal(0.0, 0.5 / np.sqrt(width * depth), (width, width, depth))

    def orthonormal(x, n, interval):
        t = (2 * x - interval[0] - interval[1]) / (interval[1] - interval[0])
        scale = np.sqrt((2 * np.arange(n) + 1) / (interval[1] - interval[0]))
        return np.stack([legendre.legval(t, np.eye(n)[k]) * scale[k] for k in range(n)], axis=-1)

    def function(xi, eta, delta):
        px, pe = orthonormal(xi.ravel(), width, WIDTH_INTERVAL), orthonormal(eta.ravel(), width, WIDTH_INTERVAL)
        pd = orthonormal(delta.ravel(), depth, mesh.axes[2].interval)
        return np.einsum("im,jn,kl,mnl->ijk", px, pe, pd, a)

    return Field.from_function(mesh, function).coefficients


def initial_coefficients(init: Initialization, meshes: dict[str, Mesh], n_nodes: int, given: dict, channels: int = 1) -> dict:
    """Each parameter's coefficients by name, in the order of `meshes`: `given` where it
    names one (as given), else drawn as `init` says from one generator of seed 0 (weights
    are the parameters whose name starts with "weight"), each of C × C channel pairs with
    1/√C of one channel's scale, so that the kernel operator's norm stays ~1. The lifting
    copies the input into every channel, the projection averages them."""
    rng = np.random.default_rng(0)
    values = {}
    for name, mesh in meshes.items():
        shape = mesh.shape + channel_dims(name, channels)
        if name in given:
            values[name] = given[name]
        elif name in POINTWISE:
            values[name] = np.full(shape, 1.0 if name == "lifting" else 1.0 / channels)
        elif init is Initialization.SMOOTH and name.startswith("weight"):
            pairs = [_smooth_field(mesh, rng) for _ in range(channels**2)]
            values[name] = np.stack(pairs, axis=-1).reshape(shape) / np.sqrt(channels)
        elif init is Initialization.SMOOTH:
            values[name] = np.zeros(shape)
        else:  # small enough that the flow stays near the identity at initialization
            value = rng.normal(0.0, 0.5 / np.sqrt(n_nodes * channels), shape) * (n_nodes / 2.0)
            values[name] = value * (0.0 if name.startswith("bias") else 1.0)
    return values
