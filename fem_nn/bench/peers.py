"""The peers of ``fem-nn bench models``, and the one training loop every model of the bench
shares (so that equal time means equal treatment).

- :func:`fourier_neural_operator`: neuraloperator's FNO (the ``bench`` extra; None without it);
- :class:`PlainMLP`: a fully connected map of the sample vector (one resolution only);
- :class:`PlainResNet`: a hand-written torch ResNet for images, stem → stages of residual
  blocks joined by strided convolutions → pooling → linear head;
- :func:`fit_for`: the loop, for a time budget, counting its breakdowns (:class:`Fit`).
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable
from typing import NamedTuple

import torch

from ..odeblock import manifested

__all__ = ["PlainMLP", "PlainResNet", "fourier_neural_operator", "parameter_count", "Fit", "fit_for", "random_shifts"]


def parameter_count(module: torch.nn.Module) -> int:
    """The number of trainable real scalars of `module` (a complex weight, as the FNO's
    spectral weights, counts twice: ``numel`` would count it once)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in module.parameters() if p.requires_grad)


def fourier_neural_operator(modes: int, channels: int) -> torch.nn.Module | None:
    """neuraloperator's 1D ``FNO(n_modes=(modes,), hidden_channels=channels)`` on signals
    ``(batch, samples)``, or None where neuraloperator is not installed
    (``pip install -e ".[bench]"``)."""
    if importlib.util.find_spec("neuralop") is None:
        return None
    from neuralop.models import FNO

    class _Signals(torch.nn.Module):  # (batch, samples) in and out, as the other models
        def __init__(self):
            super().__init__()
            self.fno = FNO(n_modes=(modes,), hidden_channels=channels, in_channels=1, out_channels=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fno(x[:, None])[:, 0]

    return _Signals()


class PlainMLP(torch.nn.Module):
    """``samples → hidden → hidden → samples`` with GELU: the peer that is tied to one
    sample count."""

    def __init__(self, samples: int, hidden: int):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(samples, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, hidden), torch.nn.GELU(),
            torch.nn.Linear(hidden, samples),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class _Block(torch.nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False), torch.nn.BatchNorm2d(channels), torch.nn.ReLU(),
            torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False), torch.nn.BatchNorm2d(channels),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class PlainResNet(torch.nn.Module):
    """A small image ResNet: a 3×3 stem to ``channels[0]``, `blocks` residual blocks per stage,
    a strided 3×3 convolution between stages, global average pooling and a linear head."""

    def __init__(self, in_channels: int, classes: int, channels=(8, 16), blocks: int = 2):
        super().__init__()
        layers = [torch.nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False), torch.nn.BatchNorm2d(channels[0]),
                  torch.nn.ReLU()]
        for stage, width in enumerate(channels):
            if stage:
                layers += [torch.nn.Conv2d(channels[stage - 1], width, 3, stride=2, padding=1, bias=False),
                           torch.nn.BatchNorm2d(width), torch.nn.ReLU()]
            layers += [_Block(width) for _ in range(blocks)]
        self.features = torch.nn.Sequential(*layers)
        self.head = torch.nn.Linear(channels[-1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


def random_shifts(x: torch.Tensor, generator: torch.Generator, pixels: int = 1) -> torch.Tensor:
    """Each image of ``(batch, channels, H, W)`` shifted by its own random offsets of up to
    `pixels` along each axis, zeros shifted in (a batch transform of :func:`fit_for`).

    Examples
    --------
    >>> x = torch.arange(9.0).reshape(1, 1, 3, 3)
    >>> shifted = random_shifts(x, torch.Generator().manual_seed(0))
    >>> shifted.shape, bool(set(shifted.flatten().tolist()) <= set(x.flatten().tolist()) | {0.0})
    (torch.Size([1, 1, 3, 3]), True)
    """
    batch, _, height, width = x.shape
    offsets = torch.randint(2 * pixels + 1, (2, batch), generator=generator)
    padded = torch.nn.functional.pad(x, (pixels,) * 4)
    rows = (offsets[0, :, None] + torch.arange(height))[:, None, :, None]
    columns = (offsets[1, :, None] + torch.arange(width))[:, None, None, :]
    return padded[torch.arange(batch)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, columns]


class Fit(NamedTuple):
    """What :func:`fit_for` ran: the epochs, and the breakdowns (batches whose loss or a
    gradient was not finite: skipped, the model as before the batch).

    Examples
    --------
    >>> Fit(epochs=3, breakdowns=0).breakdowns
    0
    """

    epochs: int
    breakdowns: int


def fit_for(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Callable, seconds: float,
            learning_rate: float, batch_size: int = 32, weight_decay: float = 1e-4, seed: int = 0,
            manifestations=None, transform: Callable | None = None) -> Fit:
    """Train `model` on ``(x, y)`` with AdamW for `seconds` of wall time, the learning rate on
    a cosine over that time (each batch reads the clock); returns the epochs run and the
    breakdowns. A batch whose loss or a gradient is not finite is a breakdown: its step is
    not taken (parameters and optimizer state stay at the last finite state) and the buffers
    its forward changed (batch-norm statistics) are put back.
    `manifestations`, a list of ``(scheme, steps_factor)``, draws one per batch for the
    model's OdeBlocks (:func:`~fem_nn.odeblock.manifested`); `transform(inputs, generator)`
    augments each batch (e.g. :func:`random_shifts`).

    Examples
    --------
    >>> model = torch.nn.Linear(2, 1)
    >>> x = torch.tensor([[1.0, 2.0], [float("nan"), 0.0]])
    >>> fit = fit_for(model, x, torch.zeros(2, 1), torch.nn.functional.mse_loss, 0.05, 1e-2, batch_size=1)
    >>> fit.breakdowns == fit.epochs, bool(torch.isfinite(model.weight).all())  # one NaN batch an epoch
    (True, True)
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    buffers = [b for b in model.buffers()]
    finite_buffers = [b.detach().clone() for b in buffers]
    model.train()
    start, epochs, breakdowns = time.perf_counter(), 0, 0
    while (elapsed := time.perf_counter() - start) < seconds:
        for index in torch.randperm(len(x), generator=generator).split(batch_size):
            elapsed = min(time.perf_counter() - start, seconds)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate * 0.5 * (1.0 + math.cos(math.pi * elapsed / seconds))
            optimizer.zero_grad()
            drawn = (None, 1) if not manifestations else manifestations[
                int(torch.randint(len(manifestations), (1,), generator=generator))]
            with torch.no_grad():
                for saved, buffer in zip(finite_buffers, buffers):
                    saved.copy_(buffer)
            with manifested(model, *drawn):
                inputs = x[index] if transform is None else transform(x[index], generator)
                value = loss(model(inputs), y[index])
                value.backward()
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            if bool(torch.stack([torch.isfinite(value).all()] + [torch.isfinite(g).all() for g in grads]).all()):
                optimizer.step()
            else:
                breakdowns += 1
                with torch.no_grad():
                    for saved, buffer in zip(finite_buffers, buffers):
                        buffer.copy_(saved)
        epochs += 1
    model.eval()
    return Fit(epochs, breakdowns)
