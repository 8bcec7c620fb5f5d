"""Right-hand sides of ∂h/∂δ, one small class each, registered by name.

A right-hand side names its layers (a weight on the weight mesh and a bias on the bias mesh
each), and gives its slope twice: on torch tensors for the network, on numpy arrays for the
Numba backend, both from the same stage products ``integral(weight, h, bias) = b + ∫ W h``.
A new form is one subclass and one :meth:`~fem_nn.continuum.Registry.register` call on
:data:`right_hand_sides`.
"""

from __future__ import annotations

from ..activations import apply_in_place
from .registry import Registry

__all__ = ["RightHandSide", "Integral", "Relaxation", "TwoLayer", "right_hand_sides"]


class RightHandSide:
    """The base of the right-hand sides.

    Attributes
    ----------
    name : str
        The registered name (what ``rhs=`` and a saved config take).
    layers : tuple of (str, str)
        Each layer's weight and bias parameter names, in parameter order.
    hidden : int
        The state-shaped work buffers :meth:`numpy_slope` needs.
    rated : bool
        Whether the slope uses the network's rate (the network's repr then shows it).

    Examples
    --------
    >>> from fem_nn import ContinuumNetwork, bias_mesh, weight_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), rhs="two_layer", activation="gelu")
    >>> net.rhs, sorted(net.parameter_shapes())
    (RightHandSide('two_layer'), ['bias1', 'bias2', 'weight1', 'weight2'])
    """

    name = ""
    layers: tuple[tuple[str, str], ...] = (("weight", "bias"),)
    hidden = 0
    rated = False

    def slope(self, h, layers, integral, activation, rate):
        """The slope at state columns `h` (torch), given each layer's stage weight and bias
        in `layers`, the product `integral(weight, h, bias)` that applies one (a fresh
        tensor the slope may overwrite), the activation and the rate."""
        raise NotImplementedError

    def numpy_slope(self, h, layers, integral, activate, rate, out, hidden):
        """:meth:`slope` on numpy arrays into `out`: ``integral(weight, h, bias, out)`` writes
        its product into `out`, ``activate(z)`` applies the activation in place, `hidden`
        holds :attr:`hidden` work buffers shaped like `h`."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"RightHandSide({self.name!r})"


class Integral(RightHandSide):
    """γ(∫ W h + b) — the seed's equation."""

    name = "integral"

    def slope(self, h, layers, integral, activation, rate):
        ((kernel, bias),) = layers
        return apply_in_place(activation, integral(kernel, h, bias))

    def numpy_slope(self, h, layers, integral, activate, rate, out, hidden):
        ((kernel, bias),) = layers
        return activate(integral(kernel, h, bias, out))


class Relaxation(RightHandSide):
    """rate · (σ(∫ W h + b) − h) — the plain-MLP limit."""

    name = "relaxation"
    rated = True

    def slope(self, h, layers, integral, activation, rate):
        ((kernel, bias),) = layers
        return rate * (apply_in_place(activation, integral(kernel, h, bias)) - h)

    def numpy_slope(self, h, layers, integral, activate, rate, out, hidden):
        ((kernel, bias),) = layers
        activate(integral(kernel, h, bias, out))
        out -= h
        out *= rate
        return out


class TwoLayer(RightHandSide):
    """∫ W2 σ(∫ W1 h + b1) + b2 — the transport velocity of Li & Shi (2017)."""

    name = "two_layer"
    layers = (("weight1", "bias1"), ("weight2", "bias2"))
    hidden = 1

    def slope(self, h, layers, integral, activation, rate):
        (kernel1, bias1), (kernel2, bias2) = layers
        return integral(kernel2, apply_in_place(activation, integral(kernel1, h, bias1)), bias2)

    def numpy_slope(self, h, layers, integral, activate, rate, out, hidden):
        (kernel1, bias1), (kernel2, bias2) = layers
        return integral(kernel2, activate(integral(kernel1, h, bias1, hidden[0])), bias2, out)


right_hand_sides = Registry(RightHandSide, "rhs")
right_hand_sides.register(Integral())
right_hand_sides.register(Relaxation())
right_hand_sides.register(TwoLayer())
