"""The optimizers that schedules, the trainer and checkpoints know: one table.

A schedule and :func:`make_optimizer` name an optimizer by its key here; a checkpoint records
its torch class name (:func:`optimizer_class` reads it back). The optimizer state moves across
refinements by :func:`fem_nn.refinement.transfer_optimizer`, which knows the state entries of
these three.
"""

from __future__ import annotations

import math

import torch

__all__ = ["OPTIMIZERS", "make_optimizer", "optimizer_class"]

# name -> (torch class, hyper-parameters it gets beyond the learning rate and weight decay)
OPTIMIZERS: dict[str, tuple[type, dict]] = {
    "adamw": (torch.optim.AdamW, {}),
    "adam": (torch.optim.Adam, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9}),
}


def make_optimizer(network: torch.nn.Module, name: str = "adamw", learning_rate: float = 0.02, weight_decay: float = 0.01):
    """An optimizer of :data:`OPTIMIZERS` over `network`'s parameters (SGD with momentum 0.9).

    Examples
    --------
    >>> from fem_nn import ContinuumNetwork, bias_mesh, weight_mesh
    >>> optimizer = make_optimizer(ContinuumNetwork(weight_mesh(), bias_mesh()), "sgd", 0.1)
    >>> type(optimizer).__name__, optimizer.param_groups[0]["momentum"]
    ('SGD', 0.9)
    >>> make_optimizer(ContinuumNetwork(weight_mesh(), bias_mesh()), "lbfgs")
    Traceback (most recent call last):
    ...
    ValueError: optimizer must be one of ['adamw', 'adam', 'sgd'], got 'lbfgs'
    """
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {name!r}")
    if not (isinstance(learning_rate, (int, float)) and math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    kind, extra = OPTIMIZERS[name]
    return kind(network.parameters(), lr=learning_rate, weight_decay=weight_decay, **extra)


def optimizer_class(class_name) -> type:
    """The torch class of :data:`OPTIMIZERS` whose name is `class_name` (as a checkpoint
    records it), else ValueError listing them.

    Examples
    --------
    >>> optimizer_class("AdamW").__name__
    'AdamW'
    """
    classes = {kind.__name__: kind for kind, _ in OPTIMIZERS.values()}
    if class_name not in classes:
        raise ValueError(f"optimizer must be one of {sorted(classes)}, got {class_name!r}")
    return classes[class_name]
