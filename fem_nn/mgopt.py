"""MG/OPT (Nash 2000): multigrid V-cycles over manifestations of one continuum network.

The levels are networks of the same continuum on nested meshes, finest first (e.g. depth
cells and steps halved per level): continuum networks, or any models whose field
parameters have meshes (``parameter_meshes()``: an :class:`~fem_nn.odeblock.OdeBlock`, a
:class:`~fem_nn.models.ContinuousNetClassifier`, a :class:`~fem_nn.hyperbolic.HyperbolicConvNet`);
their other parameters (a stem, a head) are the same space on every level: R copies them and
P is the identity. With R the L2 projection onto the next coarser level and
P the L2 projection back (for nested meshes, the injection), a V-cycle on level l with
objective f_l(x) − ⟨v_l, x⟩ is:

1. smooth: a few gradient steps on level l;
2. restrict: x_c = R x, and the first-order coherence correction
   v_c = ∇f_c(x_c) − Pᵀ ∇(f_l − ⟨v_l, ·⟩)(x), so that the corrected coarse objective has
   the gradient Pᵀ ∇(f_l − ⟨v_l, ·⟩)(x) at x_c — the fine gradient seen through P;
3. recurse on the coarse level (plain gradient steps on the coarsest);
4. prolongate the coarse correction, x ← x + α P (x_c' − x_c), α from a backtracking line
   search on the level's objective;
5. smooth again.

Pᵀ, not R, maps fine gradients down: the coefficients' gradient is a dual vector, and
∂f(P y)/∂y = Pᵀ ∇f. TorchBraid's mgopt follows the same scheme over layer-parallel ResNets.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from . import _checks
from .continuum import ContinuumNetwork
from .transfer import MeshTransfer

__all__ = ["MGOpt"]


class MGOpt:
    """MG/OPT V-cycles over a hierarchy of networks (see the module docstring).

    Parameters
    ----------
    levels : sequence of torch.nn.Module
        The finest first: ContinuumNetworks, or models with ``parameter_meshes()``; each
        manifests the same continuum on meshes coarser than (or equal to) the previous one,
        with the same parameter names (and the same shapes where a parameter has no mesh).
        Trained in place.
    loss : callable
        ``loss(network) -> scalar tensor``: the objective on the current batch, for any level.
    learning_rates : float or sequence of float
        Gradient-step sizes per level (one value for all).
    pre_smoothing, post_smoothing : int, default 1
        Gradient steps before restriction and after prolongation on every level but the
        coarsest.
    coarse_steps : int, default 4
        Gradient steps on the coarsest level.
    line_search : int, default 4
        Halvings tried for the prolongated correction (0: always take it whole); a
        correction that never lowers the objective is dropped.

    Attributes
    ----------
    fine_gradients, fine_evaluations : int
        Gradient and function evaluations on the finest level so far: the cost measure to
        compare with plain training.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> fine = ContinuumNetwork(weight_mesh(), bias_mesh(), steps=4, dtype=torch.float64)
    >>> coarse = ContinuumNetwork(weight_mesh().coarsened("delta"), bias_mesh().coarsened("delta"),
    ...                           steps=2, dtype=torch.float64)
    >>> x, y = torch.rand(32, 8, dtype=torch.float64), torch.rand(32, 16, dtype=torch.float64)
    >>> mg = MGOpt([fine, coarse], lambda net: ((net(x) - y) ** 2).mean(), learning_rates=0.5)
    >>> before = ((fine(x) - y) ** 2).mean().item()
    >>> after = mg.cycle()
    >>> after < before, mg.fine_gradients
    (True, 3)
    """

    def __init__(
        self,
        levels: Sequence[torch.nn.Module],
        loss: Callable[[torch.nn.Module], torch.Tensor],
        learning_rates: float | Sequence[float],
        pre_smoothing: int = 1,
        post_smoothing: int = 1,
        coarse_steps: int = 4,
        line_search: int = 4,
    ):
        self.levels = list(levels)
        if len(self.levels) < 2 or not all(callable(getattr(n, "parameter_meshes", None)) for n in self.levels):
            raise ValueError("levels must be at least two ContinuumNetworks or models with parameter_meshes(), finest first")
        shapes = [{n: tuple(p.shape) for n, p in net.named_parameters()} for net in self.levels]
        names = list(shapes[0])
        for k, net in enumerate(self.levels[1:], 1):
            meshed = net.parameter_meshes()
            if list(shapes[k]) != names or any(shapes[k][n] != shapes[0][n] for n in names if n not in meshed):
                raise ValueError(f"levels[{k}] has parameters {list(shapes[k])}, expected {names} "
                                 f"(the same shapes where a parameter has no mesh)")
        if not callable(loss):
            raise TypeError(f"loss must be callable as loss(network), got {loss!r}")
        rates = [learning_rates] * len(self.levels) if np.isscalar(learning_rates) else list(learning_rates)
        if len(rates) != len(self.levels) or not all(np.isfinite(r) and r > 0 for r in rates):
            raise ValueError(f"learning_rates must be one positive value or one per level, got {learning_rates!r}")
        self.loss, self.learning_rates = loss, [float(r) for r in rates]
        self.pre_smoothing = _checks.integer(pre_smoothing, "pre_smoothing", 0)
        self.post_smoothing = _checks.integer(post_smoothing, "post_smoothing", 0)
        self.coarse_steps = _checks.integer(coarse_steps, "coarse_steps", 1)
        self.line_search = _checks.integer(line_search, "line_search", 0)
        # per pair of levels: restriction R (fine → coarse) and prolongation P (coarse → fine)
        self.restrictions, self.prolongations = [], []
        for fine, coarse in zip(self.levels, self.levels[1:]):
            p = next(fine.parameters())
            fine_meshes, coarse_meshes = fine.parameter_meshes(), coarse.parameter_meshes()
            meshed = [n for n in names if n in fine_meshes]
            self.restrictions.append({n: MeshTransfer(coarse_meshes[n], fine_meshes[n], p.dtype, p.device) for n in meshed})
            self.prolongations.append({n: MeshTransfer(fine_meshes[n], coarse_meshes[n], p.dtype, p.device) for n in meshed})
        self.fine_gradients = self.fine_evaluations = 0

    # --- objectives --------------------------------------------------------------------
    def _objective(self, level: int, shift: dict | None) -> torch.Tensor:
        network = self.levels[level]
        value = self.loss(network)
        if level == 0:
            self.fine_evaluations += 1
        if shift is not None:
            value = value - sum((shift[n] * p).sum() for n, p in network.named_parameters())
        return value

    def _gradient(self, level: int, shift: dict | None) -> dict[str, torch.Tensor]:
        network = self.levels[level]
        names, params = zip(*network.named_parameters())
        grads = torch.autograd.grad(self._objective(level, shift), params)
        if level == 0:
            self.fine_gradients += 1
        return dict(zip(names, grads))

    def coarse_correction(self, level: int, shift: dict | None = None) -> dict[str, torch.Tensor]:
        """Restrict level `level`'s parameters onto level `level + 1` (in place) and return
        the coherence correction v of the coarse objective f_c(x) − ⟨v, x⟩."""
        fine, coarse = self.levels[level], self.levels[level + 1]
        fine_gradient = self._gradient(level, shift)
        fine_parameters = dict(fine.named_parameters())
        with torch.no_grad():
            for name, p in coarse.named_parameters():
                p.copy_(self._transfer(self.restrictions[level], name, fine_parameters[name]))
        coarse_gradient = self._gradient(level + 1, None)
        prolong = self.prolongations[level]
        return {n: coarse_gradient[n] - self._transfer(prolong, n, g, transpose=True) for n, g in fine_gradient.items()}

    @staticmethod
    def _transfer(transfers: dict, name: str, u: torch.Tensor, transpose: bool = False) -> torch.Tensor:
        """`u` moved by the transfer of parameter `name`: the identity for one without a mesh."""
        return transfers[name](u, transpose) if name in transfers else u

    # --- the cycle -----------------------------------------------------------------------
    def _smooth(self, level: int, shift: dict | None, steps: int) -> None:
        network, rate = self.levels[level], self.learning_rates[level]
        for _ in range(steps):
            gradient = self._gradient(level, shift)
            with torch.no_grad():
                for name, p in network.named_parameters():
                    p.sub_(rate * gradient[name])

    def _v_cycle(self, level: int, shift: dict | None) -> None:
        if level == len(self.levels) - 1:
            self._smooth(level, shift, self.coarse_steps)
            return
        self._smooth(level, shift, self.pre_smoothing)
        coarse_shift = self.coarse_correction(level, shift)
        coarse = self.levels[level + 1]
        start = {n: p.detach().clone() for n, p in coarse.named_parameters()}
        self._v_cycle(level + 1, coarse_shift)
        with torch.no_grad():
            prolong = self.prolongations[level]
            step = {n: self._transfer(prolong, n, p - start[n]) for n, p in coarse.named_parameters()}
            self._line_search(level, shift, step)
        self._smooth(level, shift, self.post_smoothing)

    def _line_search(self, level: int, shift: dict | None, step: dict) -> None:
        network = self.levels[level]
        params = dict(network.named_parameters())
        if self.line_search == 0:
            for n, p in params.items():
                p.add_(step[n])
            return
        x0 = {n: p.clone() for n, p in params.items()}
        best = float(self._objective(level, shift))
        alpha = 1.0
        for _ in range(self.line_search + 1):
            for n, p in params.items():
                p.copy_(x0[n] + alpha * step[n])
            if float(self._objective(level, shift)) < best:
                return
            alpha *= 0.5
        for n, p in params.items():
            p.copy_(x0[n])

    def cycle(self) -> float:
        """One V-cycle from the finest level, updating its parameters in place; returns the
        finest level's loss after it."""
        self._v_cycle(0, None)
        with torch.no_grad():
            value = float(self._objective(0, None))
        return value
