"""The checks of a schedule's tables (top level, network, training, phases): each names the
key that is wrong and what was expected."""

from __future__ import annotations

import math

from .integrators import tableau
from .trainer import LR_SCHEDULES


def options(given, defaults: dict, where: str, required=()) -> dict:
    """`given` (a dict) completed with `defaults`; unknown keys and missing `required` keys
    are errors naming `where`."""
    if not isinstance(given, dict):
        raise ValueError(f"{where} must be a table / object, got {given!r}")
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}; expected some of {sorted(defaults)}")
    missing = [key for key in required if key not in given]
    if missing:
        raise ValueError(f"{where} is missing {missing}")
    return {**defaults, **given}


def number(value, name: str, minimum: float | None = None, strict: bool = True):
    """`value` if it is a finite real number (not a bool) above `minimum` (or at least it,
    without `strict`), else ValueError naming `name`."""
    try:
        finite = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite or (minimum is not None and not (value > minimum if strict else value >= minimum)):
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return value


def scheme(value, name: str):
    """`value` if it names a built-in Runge–Kutta scheme, else ValueError naming `name`."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a scheme name, got {value!r}")
    try:
        tableau(value)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return value


def lr_schedule(value, name: str):
    """`value` if it names a learning-rate schedule, else ValueError naming `name`."""
    if not isinstance(value, str) or value not in LR_SCHEDULES:
        raise ValueError(f"{name} must be one of {sorted(LR_SCHEDULES)}, got {value!r}")
    return value


def named(value, table: dict, name: str):
    """`value` if it is a key of `table`, else ValueError naming `name` and the keys."""
    if not isinstance(value, str) or value not in table:
        raise ValueError(f"{name} must be one of {list(table)}, got {value!r}")
    return value
