"""One thread count for torch and numba.

Numba's OpenMP threading layer sets the OpenMP thread count, which torch shares, to numba's
own count at every parallel region: one projection between two training epochs switched
torch from ``OMP_NUM_THREADS=1`` to numba's default (every core), and with it the round-off
of every later epoch, so that a run resumed in a fresh process no longer repeated the
uninterrupted one. Inside :func:`steady_threads` both libraries use one count.
"""

from __future__ import annotations

import contextlib
import os

import numba
import torch

__all__ = ["steady_threads", "command_line_threads"]


@contextlib.contextmanager
def steady_threads(count: int | None = None):
    """torch and numba on `count` threads (default: torch's count on entry) inside the
    block (numba at most on its ``NUMBA_NUM_THREADS``); both counts restored on exit."""
    torch_before = torch.get_num_threads()  # first: numba's first call may change it
    numba_before = numba.get_num_threads()
    count = torch_before if count is None else count
    torch.set_num_threads(count)
    numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))
    try:
        yield count
    finally:
        numba.set_num_threads(numba_before)
        torch.set_num_threads(torch_before)


def command_line_threads() -> int:
    """The thread count of ``fem-nn demo`` and ``train``: ``OMP_NUM_THREADS`` when set to a
    positive integer, else 1. On a 2-core machine other jobs kept at a load average near
    10, the demo took 56 s on one thread; on torch's default of one thread per core (which
    spin at every barrier) its first 27 of 100 epochs took 174 s."""
    text = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else 1
