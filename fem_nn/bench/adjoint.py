"""Adaptive solves and adjoint gradients against torchdiffeq, and the gradient modes' trade-offs
(part of ``fem-nn bench network``).

Two problems, float32, batch 256: a neural-ODE MLP field (32 → 64 → 32, tanh, on [0, 4]) and
the continuum network's velocity (128 Nyström nodes, one P2 depth cell: smooth in depth, so
torchdiffeq, which knows no breakpoints, solves the same problem). Same process, same
rtol/atol (1e-5, 1e-7): fem_nn's dopri5 against torchdiffeq's for the evaluations and wall
time of a forward solve, and fem_nn's continuous adjoint against ``odeint_adjoint`` (both with
the seminorm) for forward + backward. The trade-off table: the continuum network (128
nodes, P1 depth on 8 cells) at 32 rk4 steps, each gradient mode's error (float64) against
backprop at the same steps and against the exact flow's gradient (256 steps), its forward +
backward time, and its peak training memory at 8 and 64 steps (fresh subprocesses, as the
memory figures of ``bench network``).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import torch

from .._timing import best_times
from ..adaptive import Adaptive
from ..integrators import integrate_adaptive
from ..mesh import DEPTH_INTERVAL, WIDTH_INTERVAL, bias_mesh, uniform_axis, weight_mesh
from ..continuum import ContinuumNetwork

BATCH, RTOL, ATOL, NODES = 256, 1e-5, 1e-7, 128
MODES = ("backprop", "checkpoint", "discrete", "adjoint", "adaptive adjoint")


class _MLP(torch.nn.Module):
    def __init__(self, n: int = 32, width: int = 64):
        super().__init__()
        self.inner, self.outer = torch.nn.Linear(n, width), torch.nn.Linear(width, n)
        with torch.no_grad():
            self.outer.weight.mul_(3.0)

    def forward(self, t, h):
        return self.outer(torch.tanh(self.inner(h)))


class _Counted(torch.nn.Module):
    """A field ``f(t, h)`` counting its evaluations."""

    def __init__(self, f):
        super().__init__()
        self.f, self.calls = f, 0

    def forward(self, t, h):
        self.calls += 1
        return self.f(float(t.detach()) if isinstance(t, torch.Tensor) else t, h)


def smooth_network(nodes: int, device: str, dtype=torch.float32) -> ContinuumNetwork:
    width = uniform_axis(WIDTH_INTERVAL, nodes // 2, "lagrange", 1)
    depth = uniform_axis(DEPTH_INTERVAL, 1, "lagrange", 2)
    net = ContinuumNetwork(weight_mesh(width, depth), bias_mesh(width, depth), dtype=dtype)
    with torch.no_grad():
        net.weight.mul_(2.0)
        net.bias.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(0))
    return net.to(device)


def _problems(device: str):
    """(name, field f(t, h), what holds its parameters, h0, end time) per problem: the
    network's are its velocity's depth slices (both solvers then stop the gradient there)."""
    torch.manual_seed(0)
    mlp = _MLP().to(device)
    net = smooth_network(NODES, device)
    velocity = net.velocity()
    h0_net = net.read_in(torch.randn(BATCH, NODES, device=device)).T.contiguous()
    return [
        ("mlp", mlp, mlp, torch.randn(BATCH, 32, device=device), 4.0),
        # torchdiffeq steps past the end time and interpolates back: the depth is clamped
        ("network", lambda t, h: velocity(min(max(t, 0.0), 1.0), h, (0.0, 1.0)), velocity, h0_net, 1.0),
    ]


def versus_torchdiffeq(repeat: int, device: str) -> dict:
    """Forward NFE and time, and adjoint forward + backward time, ours / torchdiffeq's."""
    import torchdiffeq

    rows = {}
    for name, f, holder, h0, end in _problems(device):
        ours_f, theirs_f = _Counted(f), _Counted(f)
        times = [0.0, end]
        grid = torch.tensor(times, device=device)
        adaptive = Adaptive("dopri5", rtol=RTOL, atol=ATOL)
        seminorm = {"norm": "seminorm"}
        params = tuple(holder.parameters()) if isinstance(holder, torch.nn.Module) else holder.tensors

        def ours():
            with torch.no_grad():
                return integrate_adaptive(ours_f, h0, times, adaptive)[-1]

        def theirs():
            with torch.no_grad():
                return torchdiffeq.odeint(theirs_f, h0, grid, rtol=RTOL, atol=ATOL, method="dopri5")[-1]

        def ours_adjoint():
            y = integrate_adaptive(ours_f, h0, times, adaptive, gradient="adjoint", params=params)[-1]
            return torch.autograd.grad(y.square().mean(), params)

        def theirs_adjoint():
            y = torchdiffeq.odeint_adjoint(theirs_f, h0, grid, rtol=RTOL, atol=ATOL, method="dopri5",
                                           adjoint_params=params, adjoint_options=seminorm)[-1]
            return torch.autograd.grad(y.square().mean(), params)

        ours_f.calls = theirs_f.calls = 0
        solution, reference = ours(), theirs()
        nfe = (ours_f.calls, theirs_f.calls)
        g_ours, g_theirs = ours_adjoint(), theirs_adjoint()
        timing = best_times({"ours": ours, "theirs": theirs}, repeat, device)
        timing.update(best_times({"ours_adjoint": ours_adjoint, "theirs_adjoint": theirs_adjoint}, repeat, device))
        rows[name] = {
            "nfe": nfe,
            "solution_difference": float((solution - reference).abs().max() / reference.abs().max()),
            "gradient_difference": _relative(torch.cat([g.flatten() for g in g_ours]),
                                             torch.cat([g.flatten() for g in g_theirs])),
            **timing,
        }
    return rows


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def adaptive_manifestation(net: ContinuumNetwork) -> ContinuumNetwork:
    """The network manifested by dopri5 at the bench's tolerances."""
    return net.remanifested(scheme=Adaptive("dopri5", rtol=RTOL, atol=ATOL))


def _network_gradient(net: ContinuumNetwork, x: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "adaptive adjoint":
        net = adaptive_manifestation(net)
    net.zero_grad()
    net(x, gradient=mode.split()[-1]).square().mean().backward()
    return torch.cat([p.grad.flatten() for p in net.parameters()])


def trade_offs(repeat: int, device: str, memory) -> dict:
    """Per gradient mode: errors (float64) vs backprop and vs the exact flow, fwd + bwd time
    (float32) relative to backprop, peak training memory at 8 and 64 steps."""
    torch.manual_seed(0)
    from .network import build

    net64 = build(NODES, "lagrange", 32, device).double()
    x = torch.randn(BATCH, NODES, device=device, dtype=torch.float64)
    backprop = _network_gradient(net64, x, "backprop")
    exact = _network_gradient(net64.remanifested(steps=256), x, "checkpoint")
    net = build(NODES, "lagrange", 32, device)
    x32 = x.float()
    calls = {m: (lambda m=m: _network_gradient(net, x32, m)) for m in MODES}
    timing = best_times(calls, repeat, device)
    table = {}
    for mode in MODES:
        gradient = _network_gradient(net64, x, mode)
        table[mode] = {
            "vs_backprop": _relative(gradient, backprop),
            "vs_exact": _relative(gradient, exact),
            "time_vs_backprop": timing[mode] / timing["backprop"],
            "memory_8": memory(8, mode), "memory_64": memory(64, mode),
        }
    return table


def print_table(table: dict) -> str:
    lines = [f"{'gradient':<17} {'error vs backprop':>17} {'vs exact flow':>13} {'fwd+bwd time':>12} "
             f"{'memory 8 steps':>14} {'64 steps':>9} {'ratio':>6}"]
    for mode, r in table.items():
        lines.append(f"{mode:<17} {r['vs_backprop']:17.1e} {r['vs_exact']:13.1e} {r['time_vs_backprop']:11.2f}x "
                     f"{r['memory_8'] / 2**20:11.1f} MB {r['memory_64'] / 2**20:6.1f} MB "
                     f"{r['memory_64'] / r['memory_8']:6.2f}")
    text = "\n".join(lines)
    print(text)
    return text


def run_part(repeat: int, device: str, memory, nodes: int) -> dict:
    """The figures of this part; `memory(steps, mode[, nodes])` measures peak training
    memory, `nodes` the width of the memory figure's network (that of ``bench network``'s
    ``memory_ratio_64_vs_8``). On the
    CPU the timings run on one thread: these small problems only lose by more (and on a
    shared machine, spinning threads make timings meaningless)."""
    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)
    try:
        return _run_part(repeat, device, memory, nodes)
    finally:
        torch.set_num_threads(threads)


def _run_part(repeat: int, device: str, memory, nodes: int) -> dict:
    figures = {}
    print(f"\nadaptive dopri5 and adjoints vs torchdiffeq (rtol {RTOL}, atol {ATOL}, batch {BATCH}, float32)")
    if importlib.util.find_spec("torchdiffeq") is not None:
        rows = versus_torchdiffeq(repeat, device)
        print(f"{'problem':<8} {'nfe ours/theirs':>15} {'fwd ms ours/theirs':>19} {'adjoint ms ours/theirs':>23} "
              f"{'sol diff':>9} {'grad diff':>9}")
        for name, r in rows.items():
            print(f"{name:<8} {r['nfe'][0]:>7d}/{r['nfe'][1]:<7d} {1e3 * r['ours']:9.1f}/{1e3 * r['theirs']:<9.1f} "
                  f"{1e3 * r['ours_adjoint']:11.1f}/{1e3 * r['theirs_adjoint']:<11.1f} "
                  f"{r['solution_difference']:9.1e} {r['gradient_difference']:9.1e}")
        geomean = lambda values: float(np.exp(np.mean(np.log(values))))  # noqa: E731
        figures["adaptive_nfe_vs_torchdiffeq"] = geomean([r["nfe"][0] / r["nfe"][1] for r in rows.values()])
        figures["adaptive_time_vs_torchdiffeq"] = geomean([r["ours"] / r["theirs"] for r in rows.values()])
        figures["adjoint_time_vs_torchdiffeq"] = geomean([r["ours_adjoint"] / r["theirs_adjoint"] for r in rows.values()])
    else:
        figures.update(dict.fromkeys(("adaptive_nfe_vs_torchdiffeq", "adaptive_time_vs_torchdiffeq",
                                      "adjoint_time_vs_torchdiffeq")))
        print("torchdiffeq is not installed: its comparisons are skipped")
    print(f"\ngradient modes: continuum network, {NODES} nodes, P1 depth on 8 cells, rk4 32 steps (peak training memory "
          f"at 8 / 64 steps; the adaptive adjoint: dopri5 at rtol {RTOL}); error in float64, time in float32")
    table = trade_offs(repeat, device, memory)
    print_table(table)
    # on the network of memory_ratio_64_vs_8 (bench network's widest): the table's 5 MB
    # problem leaves the ratio's second digit to the allocator (8 to 512 steps: 5.5-6.2 MB)
    adjoint_memory = {steps: memory(steps, "adjoint", nodes) for steps in (8, 64)}
    print(f"\ncontinuous adjoint, {nodes} nodes: peak training memory {adjoint_memory[8] / 2**20:.1f} MB at 8 steps, "
          f"{adjoint_memory[64] / 2**20:.1f} MB at 64")
    figures["adjoint_memory_ratio_64_vs_8"] = adjoint_memory[64] / adjoint_memory[8]
    figures["discrete_memory_ratio_64_vs_8"] = table["discrete"]["memory_64"] / table["discrete"]["memory_8"]
    figures["discrete_adjoint_error_vs_backprop"] = table["discrete"]["vs_backprop"]
    print("\nfigure                          value   target")
    for name, target in (("adaptive_nfe_vs_torchdiffeq", 1.1), ("adaptive_time_vs_torchdiffeq", 0.9),
                         ("adjoint_time_vs_torchdiffeq", 0.9), ("adjoint_memory_ratio_64_vs_8", 1.1)):
        value = figures[name]
        print(f"{name:<30} {value if value is not None else float('nan'):7.3f}   <= {target}")
    return figures
