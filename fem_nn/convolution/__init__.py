"""Continuous convolutions of a channel continuum: kernel fields applied to signals with
channels at the Nyström nodes of a width axis (or of two, for images), giving channels at
the same nodes — local kernels of a support radius (:class:`LocalKernel`,
:class:`LocalKernel2d`) and the spectral kernel of a Fourier neural operator
(:class:`SpectralKernel`, :class:`SpectralKernel2d` on the box). Refining the width changes
the number of nodes, not the field."""

from .boundaries import Boundary, boundaries
from .local import LocalKernel, LocalKernel2d
from .spectral import SpectralKernel
from .spectral2d import SpectralKernel2d

__all__ = ["Boundary", "boundaries", "LocalKernel", "LocalKernel2d", "SpectralKernel", "SpectralKernel2d"]
