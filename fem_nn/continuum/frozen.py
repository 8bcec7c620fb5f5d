"""A fixed-step manifestation with everything but the state precomputed, as a plain torch
module for inference, and its ``torch.export`` program."""

from __future__ import annotations

import functools

import numpy as np
import torch

from ..integrators import _step
from .channels import lifted, projected
from .width import dense_integral

__all__ = ["frozen_network", "export_program"]


class _FrozenStep(torch.nn.Module):
    """One Runge–Kutta step on state columns, each distinct stage time's kernel matrices
    and biases frozen in as buffers; the step itself is :func:`~fem_nn.integrators`' own."""

    def __init__(self, slope, tableau, start: float, dt: float, times: list, stages: list):
        super().__init__()
        self.start, self.dt, self.times, self.tableau = start, dt, times, tableau
        self.slope = slope  # traced: an export holds only its operations
        for i, layers in enumerate(stages):
            for j, (kernel, bias) in enumerate(layers):
                self.register_buffer(f"kernel_{i}_{j}", kernel)
                self.register_buffer(f"bias_{i}_{j}", bias)
        self.layers = len(stages[0])

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        values = {
            t: [(getattr(self, f"kernel_{i}_{j}"), getattr(self, f"bias_{i}_{j}")) for j in range(self.layers)]
            for i, t in enumerate(self.times)
        }
        return _step(lambda t, stage: self.slope(stage, values[t], dense_integral), self.start, h, self.dt, self.tableau, False)


class _FrozenNetwork(torch.nn.Module):
    def __init__(self, read_in: torch.Tensor, steps: list, readout: torch.Tensor | None, pointwise):
        super().__init__()
        # the input cell of each node (point sampling) or the read-in matrix
        self.gather = read_in.dtype == torch.long
        self.register_buffer("cells" if self.gather else "read_in", read_in.clone())
        self.steps = torch.nn.ModuleList(steps)
        self.register_buffer("readout", readout)
        self.channels = pointwise is not None  # the lifting and projection of channels
        if self.channels:
            self.register_buffer("lifting", pointwise[0])
            self.register_buffer("projection", pointwise[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x[:, self.cells].T.contiguous() if self.gather else (self.read_in @ x.T).contiguous()
        if self.channels:
            h = lifted(h, self.lifting)
        for step in self.steps:
            h = step(h)
        if self.channels:
            h = projected(h, self.projection)
        return h.T if self.readout is None else (self.readout @ h).T


def frozen_network(network, read_in: torch.Tensor) -> torch.nn.Module:
    """`network` (a fixed-step :class:`~fem_nn.ContinuumNetwork`) frozen with the read-in
    operator `read_in`: every stage's kernel matrices and biases (the dense kernel form),
    at the stage times :func:`~fem_nn.integrate` takes."""
    grid = np.linspace(0.0, 1.0, network.steps + 1).tolist()  # the step ends integrate takes
    slope = functools.partial(network.rhs.slope, activation=network.activation, rate=network.rate)
    with torch.no_grad():
        fields = network.layer_fields(factored=False)
        steps = []
        for k in range(network.steps):
            interval, dt = (grid[k], grid[k + 1]), grid[k + 1] - grid[k]
            times = sorted({interval[0] + c * dt for c in network.tableau.c.tolist()})  # as integrate's stages
            stages = [[(kernel(t, interval).contiguous(), bias(t, interval).clone()) for kernel, bias in fields] for t in times]
            steps.append(_FrozenStep(slope, network.tableau, interval[0], dt, times, stages))
        readout = network.readout.clone() if network.readout is not None else None
        pointwise = (network.lifting.clone(), network.projection.clone()) if network.channels > 1 else None
        return _FrozenNetwork(read_in, steps, readout, pointwise)


def export_program(module: torch.nn.Module, n_samples: int, dtype: torch.dtype, device) -> torch.export.ExportedProgram:
    """`module` (a frozen network reading `n_samples` samples) as a ``torch.export`` program
    of any batch size."""
    example = torch.zeros(2, n_samples, dtype=dtype, device=device)
    return torch.export.export(module, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
