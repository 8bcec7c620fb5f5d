"""Bundled tasks: data that ships with an installed package (no download), the network that
fits it, and a plain torch training loop.

- ``digits``: scikit-learn's 8×8 handwritten digits (1797 images), each read in as a signal of
  64 samples on [-1, 1]; 10 P0 read-out cells give the class logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, Mesh, bias_mesh, uniform_axis, weight_mesh
from .activations import ScaledActivation
from .network import ContinuumNetwork

__all__ = ["ClassificationTask", "digits_task", "digits_network", "train_classifier", "accuracy"]


@dataclass
class ClassificationTask:
    """Inputs ``(n, n_samples)`` and integer labels, split into train and test."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    logit_scale: float = 1.0  # multiplies the read-out before the cross-entropy


def digits_task(test_fraction: float = 0.25, seed: int = 0) -> ClassificationTask:
    """scikit-learn's digits, pixels scaled to [0, 1], a fixed stratified held-out split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    images, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        images / 16.0, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    as_x, as_y = (lambda a: torch.tensor(a, dtype=torch.float32)), (lambda a: torch.tensor(a, dtype=torch.long))
    return ClassificationTask(as_x(x_train), as_y(y_train), as_x(x_test), as_y(y_test), 10, logit_scale=2.0)


def digits_network(width_cells: int = 32, width_order: int = 3, depth_cells: int = 4, steps: int = 4, scheme="rk4") -> ContinuumNetwork:
    """The continuum network for the digits: discontinuous Legendre width (4 Gauss nodes per
    cell), continuous P1 depth, γ = 4·tanh, 10 P0 read-out cells."""
    width = uniform_axis(WIDTH_INTERVAL, width_cells, "legendre", width_order)
    depth = uniform_axis(DEPTH_INTERVAL, depth_cells, "lagrange", 1)
    return ContinuumNetwork(
        weight_mesh(width, depth), bias_mesh(width, depth), activation=ScaledActivation("tanh", 4.0),
        scheme=scheme, steps=steps, output_mesh=Mesh([uniform_axis(WIDTH_INTERVAL, 10, "p0", 0)]),
    )


@torch.no_grad()
def accuracy(network: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of `x` classified as `labels` (arg-max of the read-out)."""
    return float((network(x).argmax(dim=1) == labels).float().mean())


def train_classifier(
    network: ContinuumNetwork,
    task: ClassificationTask,
    epochs: int = 100,
    learning_rate: float = 0.02,
    batch_size: int = 64,
    weight_decay: float = 0.01,
    seed: int = 0,
    progress: bool = True,
) -> list[dict]:
    """Train with AdamW and a one-cycle learning rate on the cross-entropy of the read-out
    cells; returns one ``{"epoch", "loss", "test_accuracy"}`` record per epoch."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=weight_decay)
    batches = -(-len(task.x_train) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=epochs * batches)
    history = []
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        order = torch.randperm(len(task.x_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss = F.cross_entropy(task.logit_scale * network(task.x_train[batch]), task.y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        record = {"epoch": epoch + 1, "loss": total / len(order), "test_accuracy": accuracy(network, task.x_test, task.y_test)}
        history.append(record)
        bar.set_postfix(loss=f"{record['loss']:.3f}", test_acc=f"{record['test_accuracy']:.3f}")
    return history
