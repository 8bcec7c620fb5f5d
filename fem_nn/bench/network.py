"""Continuum network forward and forward + backward against plain torch and torchdiffeq.

Continuous P1 width with 128 … 512 Nyström nodes, P0 and P1 depth on 8 cells, rk4 with
8 … 32 steps, batch 256, float32. Baselines in the same process: (i) a plain torch loop doing
the same RK4 matrix products with precomputed stage matrices, (ii) torchdiffeq's fixed-step
rk4 on the same vector field; the Numba forward against the torch CPU forward; and the peak
memory of training with the memory-flat option at 8 and 64 steps (in fresh subprocesses); then
adaptive solves and adjoints against torchdiffeq and the gradient modes' trade-offs
(:mod:`fem_nn.bench.adjoint`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

from ..mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, bias_mesh, uniform_axis, weight_mesh
from .._timing import best_times
from . import adjoint
from ..continuum import ContinuumNetwork

BATCH = 256


def add_arguments(parser) -> None:
    parser.add_argument("--nodes", type=int, nargs="+", default=[128, 512], help="width quadrature nodes (default 128 512)")
    parser.add_argument("--steps", type=int, nargs="+", default=[8, 32], help="rk4 steps (default 8 32)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repeats, best kept (default 5)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    parser.add_argument("--skip-adjoint", action="store_true", help="skip the adaptive and adjoint part")
    parser.add_argument("--adjoint-only", action="store_true", help="run only the adaptive and adjoint part")


def build(nodes: int, depth_family: str, steps: int, device: str, memory_flat: bool = False) -> ContinuumNetwork:
    width = uniform_axis(WIDTH_INTERVAL, nodes // 2, "lagrange", 1)  # 2 Gauss nodes per cell
    depth = uniform_axis(DEPTH_INTERVAL, 8, depth_family, 0 if depth_family == "p0" else 1)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), scheme="rk4", steps=steps, memory_flat=memory_flat)
    with torch.no_grad():
        net.bias.normal_(0.0, 0.1)
    return net.to(device)


def plain_stage_tensors(net: ContinuumNetwork):
    """The stage matrices and biases of every step, tabulated once (the plain baseline)."""
    with torch.no_grad():
        ((kernel, bias),) = net.layer_fields(factored=False)
        dt, out = 1.0 / net.steps, []
        for k in range(net.steps):
            interval = (k * dt, (k + 1) * dt)
            times = [interval[0] + c * dt for c in net.tableau.c]
            out.append([(kernel(t, interval).T.contiguous().requires_grad_(), bias(t, interval).clone().requires_grad_()) for t in times])
    return out


def plain_rk4(h: torch.Tensor, stages, dt: float) -> torch.Tensor:
    """Classic RK4 with precomputed stage matrices: what a hand-written torch loop does."""
    for (k1w, k1b), (k2w, k2b), (k3w, k3b), (k4w, k4b) in stages:
        k1 = torch.tanh(torch.addmm(k1b, h, k1w))
        k2 = torch.tanh(torch.addmm(k2b, h + 0.5 * dt * k1, k2w))
        k3 = torch.tanh(torch.addmm(k3b, h + 0.5 * dt * k2, k3w))
        k4 = torch.tanh(torch.addmm(k4b, h + dt * k3, k4w))
        h = h + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return h


def measure(nodes: int, depth_family: str, steps: int, repeat: int, device: str) -> dict:
    torch.manual_seed(0)
    net = build(nodes, depth_family, steps, device)
    x = torch.randn(BATCH, nodes, device=device)
    h0 = net.read_in(x)
    h0_columns = h0.T.contiguous()  # the network's own state layout, for its velocity
    stages = plain_stage_tensors(net)
    dt = 1.0 / steps
    velocity_dt = dt

    def ours_forward():
        with torch.no_grad():
            return net(x)

    def plain_forward():
        with torch.no_grad():
            return plain_rk4(h0, stages, dt)

    def torchdiffeq_forward():
        import torchdiffeq

        with torch.no_grad():
            f = net.velocity()

            def field(t, h):
                start = float(t)
                return f(start, h, (start, start + velocity_dt))

            grid = torch.tensor([0.0, 1.0], device=device)
            return torchdiffeq.odeint(field, h0_columns, grid, method="rk4", options={"step_size": dt})[-1]

    def ours_backward():
        net.zero_grad()
        net(x).square().mean().backward()

    def plain_backward():
        plain_rk4(h0, stages, dt).square().mean().backward()

    forwards = {"ours_fwd": ours_forward, "plain_fwd": plain_forward}
    if importlib.util.find_spec("torchdiffeq") is not None:  # a test extra
        forwards["torchdiffeq_fwd"] = torchdiffeq_forward
    result = {"torchdiffeq_fwd": float("nan"), **best_times(forwards, repeat, device)}
    result.update(best_times({"ours_fwdbwd": ours_backward, "plain_fwdbwd": plain_backward}, repeat, device))
    if device == "cpu":
        from ..numba_backend import NumbaNetwork

        numba_net, x_numpy = NumbaNetwork(net), x.numpy()
        # timed on its own, not in turns: numpy's BLAS threads spin for ~40 ms after a
        # product, and torch's after theirs, so either would slow the other down; the pause
        # lets them stop before the next configuration's torch timings
        numba = best_times({"numba": lambda: numba_net(x_numpy)}, repeat, device)["numba"]
        time.sleep(0.2)
        result["numba_vs_torch"] = numba / result["ours_fwd"]
    return result


_MEMORY_SCRIPT = """
import json, os, sys, threading, time, torch
from fem_nn.bench.network import build, BATCH
nodes, steps, flat, device = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
mode = sys.argv[5] if len(sys.argv) > 5 else None
net = build(nodes, "lagrange", steps, device, memory_flat=flat)
if mode == "adaptive adjoint":
    from fem_nn.bench.adjoint import adaptive_manifestation
    net, mode = adaptive_manifestation(net), "adjoint"
x = torch.randn(BATCH, nodes, device=device)
def loss():
    return net(x, gradient=mode).square().mean()
loss().backward()  # allocator, libraries and threads warm
net.zero_grad()
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
if device.startswith("cuda"):
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
    loss().backward(); torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
else:
    base, peak, running = rss(), [0], [True]
    def sample():
        while running[0]:
            peak[0] = max(peak[0], rss()); time.sleep(2e-4)
    sampler = threading.Thread(target=sample); sampler.start()
    loss().backward()
    running[0] = False; sampler.join(); peak = max(peak[0], rss())
print(json.dumps({"bytes": peak - base}))
"""


def training_memory(nodes: int, steps: int, memory_flat: bool, device: str, gradient: str | None = None) -> int:
    """Peak memory added by one forward + backward, in a fresh process. On the CPU: resident
    memory sampled during the pass, with large blocks mmap-ed so that freeing returns them.
    `gradient`: the network's gradient mode, or "adaptive adjoint" (see :mod:`.adjoint`)."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_ARENA_MAX="2")
    mode = [] if gradient is None else [gradient]
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(nodes), str(steps), "1" if memory_flat else "0", device, *mode],
        capture_output=True, text=True, check=True, env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["bytes"]


def _geomean(values) -> float:
    return float(np.exp(np.mean(np.log(values))))


def _adjoint_part(args) -> dict:
    memory = lambda steps, mode, nodes=adjoint.NODES: training_memory(nodes, steps, False, args.device, mode)  # noqa: E731
    return adjoint.run_part(args.repeat, args.device, memory, max(args.nodes))


def run(args) -> dict:
    if args.adjoint_only:
        return _adjoint_part(args)
    torch.set_num_threads(torch.get_num_threads())
    print(f"device {args.device}, batch {BATCH}, float32, rk4, {torch.get_num_threads()} threads")
    header = (f"{'nodes':>5} {'depth':>5} {'steps':>5} {'fwd [ms]':>9} {'/plain':>7} {'/tdiffeq':>8} "
              f"{'fwd+bwd [ms]':>12} {'/plain':>7} {'numba/torch':>11}")
    print(header)
    print("-" * len(header))
    ratios = {"plain_fwd": [], "plain_fwdbwd": [], "torchdiffeq": [], "numba": []}
    for nodes in args.nodes:
        for depth_family in ("p0", "lagrange"):
            for steps in args.steps:
                r = measure(nodes, depth_family, steps, args.repeat, args.device)
                ratios["plain_fwd"].append(r["ours_fwd"] / r["plain_fwd"])
                ratios["plain_fwdbwd"].append(r["ours_fwdbwd"] / r["plain_fwdbwd"])
                ratios["torchdiffeq"].append(r["ours_fwd"] / r["torchdiffeq_fwd"])
                numba = r.get("numba_vs_torch", float("nan"))
                ratios["numba"].append(numba)
                print(
                    f"{nodes:>5} {'P0' if depth_family == 'p0' else 'P1':>5} {steps:>5} {1e3 * r['ours_fwd']:9.2f} "
                    f"{ratios['plain_fwd'][-1]:7.3f} {ratios['torchdiffeq'][-1]:8.3f} {1e3 * r['ours_fwdbwd']:12.2f} "
                    f"{ratios['plain_fwdbwd'][-1]:7.3f} {numba:11.3f}"
                )
    nodes = max(args.nodes)
    memory = {(s, flat): training_memory(nodes, s, flat, args.device) for s in (8, 64) for flat in (True, False)}
    print(f"\npeak training memory, {nodes} nodes (MB):  steps 8 / 64")
    for flat in (True, False):
        print(f"  memory_flat={str(flat):<5}  {memory[(8, flat)] / 2**20:8.1f} / {memory[(64, flat)] / 2**20:8.1f}"
              f"   ratio {memory[(64, flat)] / memory[(8, flat)]:.2f}")
    figures = {
        "ratio_vs_plain_fwd": _geomean(ratios["plain_fwd"]),
        "ratio_vs_plain_fwdbwd": _geomean(ratios["plain_fwdbwd"]),
        "ratio_vs_torchdiffeq_fwd": _geomean(ratios["torchdiffeq"]),
        "ratio_numba_vs_torch": _geomean(ratios["numba"]) if args.device == "cpu" else None,
        "memory_ratio_64_vs_8": memory[(64, True)] / memory[(8, True)],
    }
    worst = {k: max(v) for k, v in ratios.items()}
    print("\nfigure                      geomean   worst   target")
    for (name, target), key in zip(
        (("ratio_vs_plain_fwd", 1.10), ("ratio_vs_plain_fwdbwd", 1.15), ("ratio_vs_torchdiffeq_fwd", 0.9), ("ratio_numba_vs_torch", 1.3)),
        ("plain_fwd", "plain_fwdbwd", "torchdiffeq", "numba"),
    ):
        value = figures[name]
        print(f"{name:<26} {value if value is not None else float('nan'):8.3f} {worst[key]:7.3f}   <= {target}")
    print(f"{'memory_ratio_64_vs_8':<26} {figures['memory_ratio_64_vs_8']:8.3f}            <= 1.5")
    if not args.skip_adjoint:
        figures.update(_adjoint_part(args))
    return figures
