"""Channel continuum forward against a plain torch RK4 matmul loop with the same kernels.

Issue 13's ``channel_forward_vs_conv``: C channels on continuous P1 width with 2 Gauss nodes
per cell, P0 depth on one cell, rk4, batch 256, float32 (defaults C = 32, 256 nodes). The
baseline, in the same process, is a hand-written RK4 loop of ``tanh(h Kᵀ + b)`` with the
network's own (nodes · C)² kernel matrix, tabulated once outside the timing; the network's
forward includes its tabulation (dense form) or applies the kernel factored
``Φ_ξ U Φ_ηᵀ diag(w)`` (fewer multiply-adds than the baseline's dense matrix).
"""

from __future__ import annotations

import torch

from .._timing import best_times
from ..continuum import ContinuumNetwork, KernelForm, WidthBasis
from ..mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, bias_mesh, uniform_axis, weight_mesh
from .network import BATCH, plain_rk4


def add_arguments(parser) -> None:
    parser.add_argument("--channels", type=int, default=32, help="channels C (default 32)")
    parser.add_argument("--nodes", type=int, default=256, help="width quadrature nodes (default 256)")
    parser.add_argument("--steps", type=int, default=2, help="rk4 steps (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats, best kept (default 3)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")


def build(channels: int, nodes: int, steps: int, kernel_form: str, device: str) -> ContinuumNetwork:
    width = uniform_axis(WIDTH_INTERVAL, nodes // 2, "lagrange", 1)  # 2 Gauss nodes per cell
    depth = uniform_axis(DEPTH_INTERVAL, 1, "p0", 0)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), steps=steps, channels=channels,
                           kernel_form=kernel_form)
    with torch.no_grad():
        net.bias.normal_(0.0, 0.1)
    return net.to(device)


def run(args) -> dict:
    print(f"device {args.device}, C = {args.channels}, {args.nodes} nodes, batch {BATCH}, float32, rk4, "
          f"{args.steps} steps, {torch.get_num_threads()} threads")
    torch.manual_seed(0)
    x = torch.randn(BATCH, args.nodes, device=args.device)
    nets = {form: build(args.channels, args.nodes, args.steps, form, args.device) for form in ("dense", "factored")}
    dense = nets["dense"]
    with torch.no_grad():
        ((kernel, bias),) = dense.layer_fields(factored=False)
        stage = (kernel(0.0, (0.0, 1.0)).T.contiguous(), bias(0.0, (0.0, 1.0)).clone())  # P0 depth: one matrix
        h0 = (dense.read_in(x)[:, :, None] * dense.lifting[0, :, 0]).reshape(BATCH, -1)
    dt = 1.0 / args.steps

    def plain():
        with torch.no_grad():
            h = plain_rk4(h0, [[stage] * 4] * args.steps, dt)
            return (h.reshape(BATCH, args.nodes, -1) * dense.projection[0, 0]).sum(2)

    def forward(net):
        def call():
            with torch.no_grad():
                return net(x)
        return call

    with torch.no_grad():
        agreement = float((forward(dense)() - plain()).abs().max() / plain().abs().max())
    times = best_times({"plain": plain, **{form: forward(net) for form, net in nets.items()}}, args.repeat, args.device)
    auto = WidthBasis(dense.weight_mesh, dense.bias_mesh, KernelForm.AUTO, torch.float32, args.channels).factored
    figures = {
        "channel_forward_vs_conv": times["factored" if auto else "dense"] / times["plain"],  # the form "auto" takes
        "channel_dense_vs_plain": times["dense"] / times["plain"],
        "channel_factored_vs_plain": times["factored"] / times["plain"],
        "plain_ms": 1e3 * times["plain"], "dense_ms": 1e3 * times["dense"], "factored_ms": 1e3 * times["factored"],
        "dense_vs_plain_relative_difference": agreement,
    }
    print(f"{'plain [ms]':>10} {'dense [ms]':>10} {'/plain':>7} {'factored [ms]':>13} {'/plain':>7}")
    print(f"{figures['plain_ms']:10.1f} {figures['dense_ms']:10.1f} {figures['channel_dense_vs_plain']:7.2f} "
          f"{figures['factored_ms']:13.1f} {figures['channel_factored_vs_plain']:7.2f}")
    return figures
