"""Pointwise activations of the continuum's right-hand side, by name or as callables."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["RateActivation", "ScaledActivation", "activation_function", "activation_spec", "apply_in_place", "ACTIVATIONS"]


def identity(z):
    """The identity activation."""
    return z


ACTIVATIONS: dict[str, Callable] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softplus": F.softplus,
    "gelu": F.gelu,
    "sigmoid": torch.sigmoid,
    "hardtanh": F.hardtanh,  # clipping to [-1, 1]: the hyperbolic ConvNet's elementwise choice
    "identity": identity,
}


class RateActivation:
    """The seed's activation rate γ(z) = (f(z) − z) / Δ for a pointwise f and a step Δ.

    With the "integral" right-hand side γ(z) is taken at the pre-activation z = ∫ W h + b,
    so a forward-Euler step of size Δ gives ``h + Δ γ(z) = h + f(z) − z``: the layer
    f(z) only where z = h. The MLP layer ``h ← f(A h + c)`` itself is the "relaxation"
    right-hand side ``rate · (f(z) − h)`` with rate 1/Δ, whose Euler step of size Δ is
    exactly f(z); a residual block ``h + f(z)`` is :class:`ScaledActivation` with scale 1/Δ.

    Examples
    --------
    >>> gamma = RateActivation("tanh", 0.5)
    >>> gamma(torch.tensor([0.0, 1.0]))  # (tanh(z) − z) / 0.5
    tensor([ 0.0000, -0.4768])
    """

    def __init__(self, function: str | Callable, delta: float):
        self.function = activation_function(function)
        self.delta = float(delta)
        if not self.delta > 0:
            raise ValueError(f"delta must be positive, got {delta!r}")

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (self.function(z) - z) / self.delta

    def __repr__(self) -> str:
        return f"RateActivation({self.function!r}, delta={self.delta})"


class ScaledActivation:
    """γ(z) = scale · σ(z): a residual block h + σ(z) is a forward-Euler step of size Δ with
    γ = σ / Δ.

    Examples
    --------
    >>> gamma = ScaledActivation("relu", 4)  # a residual MLP of depth 4, as forward Euler
    >>> gamma(torch.tensor([-1.0, 0.5]))
    tensor([0., 2.])
    """

    def __init__(self, function: str | Callable, scale: float):
        self.function = activation_function(function)
        self.scale = float(scale)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.scale * self.function(z)

    def __repr__(self) -> str:
        return f"ScaledActivation({self.function!r}, scale={self.scale})"


# the named activations with an in-place torch form, by id (a custom callable may be unhashable);
# each records its result for autograd, never the input it overwrites
_IN_PLACE = {id(torch.tanh): torch.tanh_, id(torch.relu): torch.relu_, id(torch.sigmoid): torch.sigmoid_, id(identity): identity}


def apply_in_place(function: Callable, z: torch.Tensor) -> torch.Tensor:
    """``function(z)``, overwriting `z` where `function` is a named activation with an in-place
    form (or a :class:`ScaledActivation` of one): for a fresh tensor the caller owns, such as a
    stage's pre-activation, it saves an allocation and a pass over memory.

    Examples
    --------
    >>> z = torch.tensor([0.0, 1.0])
    >>> apply_in_place(torch.tanh, z) is z
    True
    """
    if isinstance(function, ScaledActivation):
        return function.scale * apply_in_place(function.function, z)
    overwrite = _IN_PLACE.get(id(function))
    return function(z) if overwrite is None else overwrite(z)


def activation_function(spec: str | dict | Callable) -> Callable:
    """A pointwise activation by name (tanh, relu, softplus, gelu, sigmoid, hardtanh, identity), from
    the dict form of :func:`activation_spec`, or a callable, returned as is.

    Examples
    --------
    >>> activation_function("tanh") is torch.tanh
    True
    >>> activation_function({"name": "tanh", "delta": 0.25})
    RateActivation(<built-in method tanh ...>, delta=0.25)
    """
    if callable(spec):
        return spec
    if isinstance(spec, dict):
        if set(spec) == {"name", "scale"}:
            return ScaledActivation(spec["name"], spec["scale"])
        if set(spec) == {"name", "delta"}:
            return RateActivation(spec["name"], spec["delta"])
        raise ValueError(f"activation dict must have keys {{name, scale}} or {{name, delta}}, got {sorted(spec)}")
    if spec not in ACTIVATIONS:
        raise ValueError(f"activation must be a callable or one of {sorted(ACTIVATIONS)}, got {spec!r}")
    return ACTIVATIONS[spec]


def activation_spec(function: Callable):
    """The JSON form of an activation (a name, or a dict for the scaled and rate forms), from
    which :func:`activation_function` rebuilds it; TypeError for an arbitrary callable, whose
    code a saved file must not hold."""
    for name, known in ACTIVATIONS.items():
        if function is known:
            return name
    if isinstance(function, ScaledActivation):
        return {"name": activation_spec(function.function), "scale": function.scale}
    if isinstance(function, RateActivation):
        return {"name": activation_spec(function.function), "delta": function.delta}
    raise TypeError(
        f"activation {function!r} cannot be saved: use a named activation {sorted(ACTIVATIONS)} "
        "or ScaledActivation / RateActivation of one"
    )
