"""The continuum network and its parts, one concept per module.

- :mod:`~fem_nn.continuum.network`: :class:`ContinuumNetwork`, the composition.
- :mod:`~fem_nn.continuum.settings`: what the continuum is, how it is manifested.
- :mod:`~fem_nn.continuum.width`: the Nyström nodes and width bases (:class:`WidthBasis`).
- :mod:`~fem_nn.continuum.channels`: channel dimensions, lifting and projection.
- :mod:`~fem_nn.continuum.depth`: depth lookups and stage values.
- :mod:`~fem_nn.continuum.rhs`: right-hand sides, registered in :data:`right_hand_sides`.
- :mod:`~fem_nn.continuum.read_in`: read-ins, registered in :data:`read_ins`.
- :mod:`~fem_nn.continuum.readout`, :mod:`~fem_nn.continuum.initialization`,
  :mod:`~fem_nn.continuum.frozen`, :mod:`~fem_nn.continuum.serialization`,
  :mod:`~fem_nn.continuum.axes`.
"""

from .axes import network_axes
from .depth import DepthLookup, StageValues, depth_weights
from .initialization import Initialization
from .network import ContinuumNetwork
from .read_in import Projection, ReadInForm, Sample, read_ins
from .registry import Registry
from .rhs import Integral, Relaxation, RightHandSide, TwoLayer, right_hand_sides
from .settings import Continuum, Manifestation
from .width import KernelForm, WidthBasis

__all__ = [
    "ContinuumNetwork", "Continuum", "Manifestation", "WidthBasis", "KernelForm", "DepthLookup", "StageValues",
    "depth_weights", "RightHandSide", "Integral", "Relaxation", "TwoLayer", "right_hand_sides", "ReadInForm", "Sample",
    "Projection", "read_ins", "Initialization", "Registry", "network_axes",
]
