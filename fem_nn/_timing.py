"""Wall-clock timings that hold up on a shared machine."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def best_times(functions: dict[str, Callable], repeat: int, device: str | torch.device = "cpu") -> dict[str, float]:
    """The best of `repeat` timings of each function, in seconds, by name.

    The functions take turns, one call each per round, after one warm-up call each: a slow
    spell of the machine then costs every contender alike, instead of whichever ran during
    it. On CUDA the device is synchronized around each call.
    """
    cuda = torch.device(device).type == "cuda"
    for function in functions.values():
        function()
    times = {name: float("inf") for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            function()
            if cuda:
                torch.cuda.synchronize()
            times[name] = min(times[name], time.perf_counter() - start)
    return times
