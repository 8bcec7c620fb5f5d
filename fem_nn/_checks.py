"""Argument checks shared by the public API: each error names the argument and what was
expected, and is raised before any work is done."""

from __future__ import annotations

import math

import numpy as np


def integer(value, name: str, minimum: int | None = None) -> int:
    """`value` as an int, or TypeError / ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def real(value, name: str) -> float:
    """`value` (a number, or a 0-d array or tensor) as a finite float, or TypeError /
    ValueError naming `name`; bools and strings are not numbers here, though float() takes them."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an integer too large for a float
        raise ValueError(f"{name} must be finite, got {value}") from None
    except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor of several entries
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def flag(value, name: str) -> bool:
    """`value` if it is a bool (numpy's included), else TypeError naming `name`: ``bool("no")``
    is True, so truthiness is not asked."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def real_array(value, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """`value` as a finite float64 array (of `shape` when given).

    Integer, boolean, complex and object arrays are rejected with TypeError: silently casting
    them hides mistakes such as passing dof indices instead of coefficients.
    """
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name} must be a real floating-point array, got dtype {array.dtype}")
    if shape is not None and array.shape != tuple(shape):
        if array.size == int(np.prod(shape)) and array.ndim == 1:
            array = array.reshape(shape)
        else:
            raise ValueError(f"{name} must have shape {tuple(shape)} (or be flat of that size), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return np.asarray(array, dtype=np.float64)


def real_vector(value, name: str) -> np.ndarray:
    """A 1D float array from a sequence of real numbers (integers allowed, not booleans)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of real numbers, got {value!r}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of real numbers") from None
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name} must be a sequence of real numbers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array.astype(float)


def output_depths(value, name: str = "depths") -> list[float]:
    """Output depths: strictly increasing, in (0, 1] (the state at depth 0 is the input)."""
    depths = real_vector(value, name).tolist()
    if not depths or depths[0] <= 0.0 or depths[-1] > 1.0 or any(b <= a for a, b in zip(depths, depths[1:])):
        raise ValueError(f"{name} must be strictly increasing in (0, 1], got {depths}")
    return depths
