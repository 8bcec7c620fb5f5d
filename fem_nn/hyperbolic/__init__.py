"""The quasi-linear hyperbolic ConvNet of Liu, Shao and Bai (the seed's Eqs. (3)–(7)), as a
continuum in depth, with its continuous channel symmetry as an API.

* :mod:`~fem_nn.hyperbolic.units` — the residual units, one class per variant;
* :mod:`~fem_nn.hyperbolic.activations` — hardtanh, hardball, softball (and relu, identity),
  each with the channel group it commutes with (:mod:`~fem_nn.hyperbolic.groups`);
* :mod:`~fem_nn.hyperbolic.network` — :class:`HyperbolicConvNet`, its stage interiors
  :class:`~fem_nn.odeblock.OdeBlock` depth fields;
* :mod:`~fem_nn.hyperbolic.symmetry` — :func:`fused`, :func:`transformed` (T between blocks,
  checked against the group, with the optimizer state);
* :mod:`~fem_nn.hyperbolic.compression` — lossless compression and canonical forms found in
  the group.
"""

from .activations import STREAM_ACTIVATIONS, Hardball, Hardtanh, Softball, stream_activation
from .compression import Compression, canonical_form, compressed
from .groups import GROUPS, channel_group
from .network import HyperbolicConvNet
from .symmetry import check_transform, fused, transformed
from .units import UNITS, UnitSettings, hyperbolic_unit

__all__ = ["HyperbolicConvNet", "UnitSettings", "hyperbolic_unit", "UNITS", "Hardball", "Softball", "Hardtanh",
           "stream_activation", "STREAM_ACTIVATIONS", "channel_group", "GROUPS", "fused", "transformed",
           "check_transform", "compressed", "Compression", "canonical_form"]
