"""A network's settings as JSON-ready data and back: the checkpoint format (see
:mod:`fem_nn.checkpoint`). Rebuilding a network in memory is
:meth:`~fem_nn.ContinuumNetwork.replaced`, not a round trip through this format."""

from __future__ import annotations

import numpy as np
import torch

from ..activations import activation_function, activation_spec
from ..adaptive import Adaptive
from ..integrators import ButcherTableau, Scheme, tableau
from ..io import mesh_from_dict, mesh_to_dict
from ..mesh import Mesh

__all__ = ["network_config", "config_arguments"]

_KEYS = {"weight_mesh", "bias_mesh", "rhs", "activation", "scheme", "steps", "output", "rate", "memory_flat",
         "kernel_form", "read_in_form", "n_samples", "init", "channels", "dtype"}
# absent from the configs written before these options: their defaults are the old behaviour
_OPTIONAL = {"kernel_form": "auto", "read_in_form": "sample", "n_samples": None, "init": "noise", "channels": 1}


def network_config(network) -> dict:
    """Everything of `network` but the coefficients, as JSON-ready data (see
    :meth:`~fem_nn.ContinuumNetwork.config`)."""
    t = network.tableau
    builtin = t.name in {s.value for s in Scheme} and tableau(t.name) is t
    if network.adaptive is not None and not (builtin and isinstance(network.adaptive.norm, str)):
        raise TypeError("config of an adaptive manifestation needs a built-in pair and a named norm")
    output = network.output_mesh
    if isinstance(output, Mesh):
        output = {"mesh": mesh_to_dict(output)}
    elif output is not None:
        output = {"points": np.asarray(output, dtype=float).tolist()}
    return {
        "weight_mesh": mesh_to_dict(network.weight_mesh),
        "bias_mesh": mesh_to_dict(network.bias_mesh),
        "rhs": network.rhs.name,
        "activation": activation_spec(network.activation),
        "scheme": {"adaptive": {**network.adaptive.__dict__, "pair": t.name}} if network.adaptive else
        t.name if builtin else {"a": t.a.tolist(), "b": t.b.tolist(), "c": t.c.tolist(), "name": t.name, "order": t.order},
        "steps": network.steps,
        "output": output,
        "rate": network.rate,
        "memory_flat": network.memory_flat,
        "kernel_form": network.kernel_form.value,
        "read_in_form": network.read_in_form.name,
        "n_samples": network.n_samples,
        "init": network.init.value,
        "channels": network.channels,
        "dtype": str(network.dtype).removeprefix("torch."),
    }


def config_arguments(config: dict, weights: dict | None) -> dict:
    """The constructor arguments of a network's :func:`network_config` (validated), with
    `weights` by parameter name as float64 arrays."""
    if not isinstance(config, dict) or not _KEYS - set(_OPTIONAL) <= set(config) <= _KEYS:
        got = sorted(config) if isinstance(config, dict) else type(config).__name__
        raise ValueError(f"config must be a dict with keys {sorted(_KEYS)}, got {got}")
    config = {**_OPTIONAL, **config}
    output = config["output"]
    if isinstance(output, dict) and set(output) == {"mesh"}:
        output = mesh_from_dict(output["mesh"], "config['output']['mesh']")
    elif isinstance(output, dict) and set(output) == {"points"}:
        output = output["points"]
    elif output is not None:
        raise ValueError(f"config['output'] must be null, {{'mesh': ...}} or {{'points': [...]}}, got {output!r}")
    scheme = config["scheme"]
    if isinstance(scheme, dict):
        scheme = Adaptive(**scheme["adaptive"]) if set(scheme) == {"adaptive"} else ButcherTableau(**scheme)
    dtype = {"float32": torch.float32, "float64": torch.float64}.get(config["dtype"])
    if dtype is None:
        raise ValueError(f"config['dtype'] must be 'float32' or 'float64', got {config['dtype']!r}")
    if weights is not None:
        weights = {name: torch.as_tensor(value).detach().cpu().double().numpy() for name, value in weights.items()}
    return dict(
        weight_mesh=mesh_from_dict(config["weight_mesh"], "config['weight_mesh']"),
        bias_mesh=mesh_from_dict(config["bias_mesh"], "config['bias_mesh']"),
        rhs=config["rhs"], activation=activation_function(config["activation"]), scheme=scheme,
        steps=config["steps"], output_mesh=output, rate=config["rate"], memory_flat=config["memory_flat"],
        kernel_form=config["kernel_form"], read_in_form=config["read_in_form"],
        n_samples=config["n_samples"], init=config["init"], channels=config["channels"], dtype=dtype, weights=weights,
    )
