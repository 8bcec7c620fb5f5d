"""The import path of the continuum network before it became the :mod:`fem_nn.continuum`
package (kept while other modules still import it from here)."""

from .continuum import ContinuumNetwork, DepthLookup, Initialization, KernelForm, ReadInForm, RightHandSide, StageValues

__all__ = ["ContinuumNetwork", "DepthLookup", "Initialization", "KernelForm", "ReadInForm", "RightHandSide", "StageValues"]
