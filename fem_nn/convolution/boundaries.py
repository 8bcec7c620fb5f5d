"""What a local kernel reads beyond the ends of the width [-1, 1]: the signal's extension,
as a small registry of one class per boundary ("zero", "periodic", "reflect")."""

from __future__ import annotations

import numpy as np

from ..continuum.registry import Registry

__all__ = ["Boundary", "ZeroBoundary", "PeriodicBoundary", "ReflectBoundary", "boundaries"]


class Boundary:
    """The extension of a signal on [-1, 1] to [-3, 3], as the affine maps ``y ↦ σ y + τ``
    that take a point beyond the left end (y < -1) and beyond the right end (y > 1) to the
    point of [-1, 1] whose value it takes; no maps: the signal is zero there.

    A kernel of radius r <= 1 reads at most one image of each node on each side: the node
    ``x`` of [-1, 1] also stands at ``σ (x - τ)`` (the inverse map, σ = ±1), with its weight.

    Examples
    --------
    >>> boundaries("reflect").images(np.array([-0.5, 0.75]))
    [array([-1.5 , -2.75]), array([2.5 , 1.25])]
    >>> boundaries("zero").images(np.array([0.0]))
    []
    """

    name: str = ""
    maps: tuple[tuple[float, float], ...] = ()

    def images(self, x: np.ndarray) -> list[np.ndarray]:
        """The positions of the nodes `x` beyond the left end and beyond the right end (each
        array as long as `x`; none for a zero extension)."""
        return [sign * (x - shift) for sign, shift in self.maps]


class ZeroBoundary(Boundary):
    """The signal is zero outside [-1, 1] (a convolution with zero padding)."""

    name = "zero"


class PeriodicBoundary(Boundary):
    """The signal is 2-periodic: y < -1 reads y + 2, y > 1 reads y - 2 (circular padding)."""

    name = "periodic"
    maps = ((1.0, 2.0), (1.0, -2.0))


class ReflectBoundary(Boundary):
    """The signal is mirrored at both ends: y < -1 reads -2 - y, y > 1 reads 2 - y (even
    extension; the cell beyond an end is its neighbour's mirror image)."""

    name = "reflect"
    maps = ((-1.0, -2.0), (-1.0, 2.0))


boundaries = Registry(Boundary, "boundary")
for _boundary in (ZeroBoundary, PeriodicBoundary, ReflectBoundary):
    boundaries.register(_boundary())
