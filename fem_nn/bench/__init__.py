"""Benchmarks run by ``fem-nn bench NAME``.

Each module has ``add_arguments(parser)`` and ``run(args) -> dict``: ``run`` prints its table
(figures as ratios against a baseline measured in the same process) and returns the figures
that ``--json`` prints as the last line.
"""

from . import channels, hyperbolic, invariance, kernels, models, network, projection, training

BENCHMARKS = {
    "projection": projection, "network": network, "training": training, "invariance": invariance, "kernels": kernels,
    "channels": channels, "models": models, "hyperbolic": hyperbolic,
}
