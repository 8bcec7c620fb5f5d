"""The convergence test of a continuum network (Queiruga et al. 2020): re-manifest the same
fields with several schemes and step counts (and width quadratures), and measure how the
output converges to a fine reference. A network that learned a dynamical system converges at
each scheme's order; one that overfit its training step does not."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .adaptive import Adaptive
from .integrators import tableau
from .continuum import ContinuumNetwork
from .rates import fitted_rate

__all__ = ["ConvergenceResult", "convergence_test"]


def _relative_error(y: torch.Tensor, reference: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(y - reference) / torch.linalg.vector_norm(reference))


# the asymptotic range: the last three step counts, errors above round-off
_FIT_RANGE = {"last": 3, "floor": 1e-13}


def _fitted_order(steps: np.ndarray, errors: np.ndarray) -> float:
    """Slope of -log(error) against log(steps) over the last three step counts (the
    asymptotic range), ignoring errors at round-off (or not finite)."""
    return fitted_rate(steps, errors, **_FIT_RANGE)


@dataclass
class ConvergenceResult:
    """Errors of every manifestation against the reference, and observed orders.

    Attributes
    ----------
    steps : ndarray
        The step counts swept.
    errors : dict of str to ndarray
        Relative L2 error of the output, per scheme, per step count.
    orders : dict of str to float
        Fitted observed order per scheme.
    quadrature_points, quadrature_errors : ndarray
        The width quadratures swept (points per cell) and their errors, if any.

    Examples
    --------
    >>> from fem_nn import bias_mesh, weight_mesh
    >>> from fem_nn.convergence import convergence_test
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> result = convergence_test(net, torch.ones(2, 8, dtype=torch.float64), ["euler", "midpoint"], [4, 8, 16])
    >>> result.steps.tolist(), sorted(result.errors)
    ([4, 8, 16], ['euler', 'midpoint'])
    >>> round(result.orders["euler"]), round(result.orders["midpoint"])
    (1, 2)
    """

    steps: np.ndarray
    errors: dict[str, np.ndarray]
    orders: dict[str, float]
    quadrature_points: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    quadrature_errors: np.ndarray = field(default_factory=lambda: np.empty(0))

    def table(self) -> str:
        """A text table: one row per step count, one column per scheme, orders last."""
        names = list(self.errors)
        lines = [f"{'steps':>6} " + " ".join(f"{n:>11}" for n in names)]
        for i, n in enumerate(self.steps):
            lines.append(f"{n:>6d} " + " ".join(f"{self.errors[s][i]:11.3e}" for s in names))
        lines.append(f"{'order':>6} " + " ".join(f"{self.orders[s]:11.2f}" for s in names))
        for q, e in zip(self.quadrature_points, self.quadrature_errors):
            lines.append(f"width quadrature {q:>3d} points/cell: error {e:.3e}")
        return "\n".join(lines)

    def plot(self, path=None):
        """Error against steps on log-log axes, with each scheme's fitted order (the same fit
        as :attr:`orders`) in the legend; saved to `path` if given
        (:func:`fem_nn.plotting.plot_convergence`)."""
        from .plotting import plot_convergence  # matplotlib is an optional extra

        return plot_convergence(self.steps, self.errors, xlabel="steps", ylabel="relative error", path=path, **_FIT_RANGE)


@torch.no_grad()
def convergence_test(
    network: ContinuumNetwork,
    x: torch.Tensor,
    schemes=("euler", "midpoint", "rk4"),
    steps=(2, 4, 8, 16, 32),
    reference: torch.Tensor | None = None,
    quadrature_points=(),
) -> ConvergenceResult:
    """Re-manifest `network` with every scheme × step count and compare outputs on `x`.

    Parameters
    ----------
    network : ContinuumNetwork or torch.nn.Module
        A continuum network, or a model of :class:`~fem_nn.odeblock.OdeBlock` depth fields
        with ``replaced(scheme=, steps=)`` (an OdeBlock, :class:`~fem_nn.ContinuousNetClassifier`,
        :class:`~fem_nn.hyperbolic.HyperbolicConvNet`): every block re-manifested alike.
    x : torch.Tensor
        The inputs, shape (batch, n_samples) for a continuum network.
    schemes : sequence of scheme names or tableaus
    steps : sequence of int
    reference : torch.Tensor or Adaptive, optional
        The exact output if known, or an :class:`~fem_nn.Adaptive` pair and
        tolerances to compute it by (the continuum answer at that tolerance); default rk4
        with 8 × max(steps) steps.
    quadrature_points : sequence of int, optional
        Width quadratures (points per cell) to sweep too, at the network's own scheme and
        steps, against the largest one; needs an output mesh (the node count changes).

    Examples
    --------
    >>> from fem_nn import weight_mesh, bias_mesh
    >>> net = ContinuumNetwork(weight_mesh(), bias_mesh(), dtype=torch.float64)
    >>> result = convergence_test(net, torch.ones(2, 8, dtype=torch.float64), ["rk4"], [4, 8, 16])
    >>> 3.5 < result.orders["rk4"] < 4.5
    True
    >>> from fem_nn.adaptive import Adaptive
    >>> adaptive = convergence_test(net, torch.ones(2, 8, dtype=torch.float64), ["rk4"], [4, 8, 16],
    ...                             reference=Adaptive("dopri5", rtol=1e-12, atol=1e-14))
    >>> bool(np.allclose(adaptive.errors["rk4"], result.errors["rk4"], rtol=1e-3))
    True
    """
    continuum = isinstance(network, ContinuumNetwork)
    if not continuum and not callable(getattr(network, "replaced", None)):
        raise TypeError(f"network must be a ContinuumNetwork or a model with replaced(scheme=, steps=), "
                        f"got {type(network).__name__}")
    if not continuum and (isinstance(reference, Adaptive) or len(quadrature_points)):
        raise ValueError("an Adaptive reference and quadrature_points need a ContinuumNetwork")
    manifestation = network.remanifested if continuum else network.replaced
    steps = np.array(sorted(int(s) for s in steps))
    if reference is None:
        reference = manifestation(scheme="rk4", steps=8 * int(steps.max()))(x)
    elif isinstance(reference, Adaptive):
        reference = network.remanifested(scheme=reference)(x)
    errors, orders = {}, {}
    for scheme in schemes:
        name = tableau(scheme).name or str(scheme)
        errors[name] = np.array([_relative_error(manifestation(scheme=scheme, steps=int(n))(x), reference)
                                 for n in steps])
        orders[name] = _fitted_order(steps, errors[name])
    result = ConvergenceResult(steps, errors, orders)
    if len(quadrature_points):
        if network.output_mesh is None:
            raise ValueError("quadrature_points needs a network with an output_mesh: the node count changes")
        points = np.array(sorted(int(q) for q in quadrature_points))
        outputs = [network.remanifested(quadrature_points=int(q))(x) for q in points]
        result.quadrature_points = points
        result.quadrature_errors = np.array([_relative_error(y, outputs[-1]) for y in outputs])
    return result
