"""Forward time of the continuous convolutions against the bare torch operations they run.

:class:`~fem_nn.LocalKernel` on midpoint nodes (one per equal cell) against ``conv1d`` with
the taps it tabulates, and :class:`~fem_nn.SpectralKernel` against ``rfft``, the mode-wise
channel product and ``irfft`` with its complex weights (and against neuraloperator's
``SpectralConv`` with those weights, where it is installed). Both sides are timed in the same
process, alternately and each leading in turn (so a loaded machine slows both alike), one
thread, no gradient; each figure is the ratio of the least times. Defaults: 32 channels, 256
nodes, batch 256, float32, a kernel of radius 0.05 (13 taps), 16 modes.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..convolution import LocalKernel, SpectralKernel
from ..mesh import uniform_axis


def add_arguments(parser) -> None:
    parser.add_argument("--channels", type=int, default=32, help="channels in and out (default 32)")
    parser.add_argument("--nodes", type=int, default=256, help="width nodes (default 256)")
    parser.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    parser.add_argument("--radius", type=float, default=0.05, help="the local kernel's radius (default 0.05)")
    parser.add_argument("--modes", type=int, default=16, help="the spectral kernel's modes (default 16)")
    parser.add_argument("--repeat", type=int, default=40, help="timed calls of each, least kept (default 40)")


def least_times(first, second, repeat: int) -> tuple[float, float]:
    """The least wall times of `first` and `second`, called alternately `repeat` times each,
    which one leads swapped every round (the call after the other's is the slower one: 1.3–1.9x
    measured for the same rfft layer)."""
    first(), second()
    times = np.full((2, max(1, repeat)), np.inf)
    for i in range(times.shape[1]):
        for row in ((0, 1) if i % 2 else (1, 0)):
            start = time.perf_counter()
            (first, second)[row]()
            times[row, i] = time.perf_counter() - start
    return float(times[0].min()), float(times[1].min())


def run(args) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(args)
    finally:
        torch.set_num_threads(threads)


def _run(args) -> dict:
    c, n = args.channels, args.nodes
    width = uniform_axis((-1, 1), n, "p0", 0)
    h = torch.randn(args.batch, c, n, generator=torch.Generator().manual_seed(0))
    figures = {}
    with torch.no_grad():
        local = LocalKernel(uniform_axis((-args.radius, args.radius), 2, "lagrange", 2), c, c, dtype=torch.float32)
        weight, (halo,) = local.conv_weight(width)
        weight = weight.contiguous()
        error = float((local(h, width) - torch.nn.functional.conv1d(h, weight, padding=halo)).abs().max())
        ours, bare = least_times(lambda: local(h, width), lambda: torch.nn.functional.conv1d(h, weight, padding=halo),
                                 args.repeat)
        print(f"LocalKernel  {weight.shape[-1]:3d} taps  {ours * 1e3:8.2f} ms   conv1d       {bare * 1e3:8.2f} ms   "
              f"ratio {ours / bare:.3f}   max difference {error:.1e}")
        figures["local_forward_vs_conv1d"] = ours / bare

        spectral = SpectralKernel(c, c, args.modes, dtype=torch.float32)
        weights, modes = spectral.spectral_weights(), args.modes

        def fft_layer():
            return torch.fft.irfft(torch.einsum("koi,bik->bok", weights, torch.fft.rfft(h)[..., :modes]), n=n)

        error = float((spectral(h, width) - fft_layer()).abs().max())
        ours, bare = least_times(lambda: spectral(h, width), fft_layer, args.repeat)
        print(f"SpectralKernel {modes:2d} modes {ours * 1e3:8.2f} ms   rfft·R·irfft {bare * 1e3:8.2f} ms   "
              f"ratio {ours / bare:.3f}   max difference {error:.1e}")
        figures["spectral_forward_vs_rfft"] = ours / bare
        try:
            from neuralop.layers.spectral_convolution import SpectralConv
        except ImportError:
            print("neuraloperator is not installed: no SpectralConv row")
        else:
            fno = SpectralConv(c, c, n_modes=(2 * modes - 1,), bias=False)
            fno.weight.tensor.copy_(weights.permute(2, 1, 0))
            error = float((spectral(h, width) - fno(h)).abs().max())
            ours, bare = least_times(lambda: spectral(h, width), lambda: fno(h), args.repeat)
            print(f"SpectralKernel {modes:2d} modes {ours * 1e3:8.2f} ms   SpectralConv {bare * 1e3:8.2f} ms   "
                  f"ratio {ours / bare:.3f}   max difference {error:.1e}")
            figures["spectral_forward_vs_fno"] = ours / bare
    return figures
