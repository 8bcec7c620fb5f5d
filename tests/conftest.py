"""Fixtures of the suite; the random meshes and strategies are in strategies.py."""

import zlib

import numpy as np
import pytest


@pytest.fixture
def rng(request):
    # a seed per test, stable across runs and test selections
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))
