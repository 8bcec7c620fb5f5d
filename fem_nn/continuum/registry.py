"""A table of named variants (right-hand sides, read-ins): one registration per variant, and
an unknown name fails loudly, naming the argument and the registered names."""

from __future__ import annotations

__all__ = ["Registry"]


class Registry:
    """Instances of `kind` by their ``name``.

    Parameters
    ----------
    kind : type
        The base class of the variants.
    argument : str
        The argument a lookup resolves, named in its errors.

    Examples
    --------
    >>> from fem_nn.continuum import RightHandSide, right_hand_sides
    >>> right_hand_sides("integral").name, "two_layer" in right_hand_sides.names()
    ('integral', True)
    >>> right_hand_sides("fourier")
    Traceback (most recent call last):
    ...
    ValueError: rhs must be one of ['integral', 'relaxation', 'two_layer'...], got 'fourier'
    """

    def __init__(self, kind: type, argument: str):
        self.kind, self.argument, self._items = kind, argument, {}

    def register(self, item):
        """Adds `item` (an instance of the kind) under ``item.name`` and returns it; a name
        taken by another item is refused."""
        if not isinstance(item, self.kind):
            raise TypeError(f"a registered {self.argument} must be a {self.kind.__name__}, got {type(item).__name__}")
        name = item.name
        if not isinstance(name, str) or not name:
            raise ValueError(f"a registered {self.argument} needs a non-empty str name, got {name!r}")
        if self._items.get(name, item) is not item:
            raise ValueError(f"{self.argument} {name!r} is registered already")
        self._items[name] = item
        return item

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._items)

    def __call__(self, value):
        """The registered item named `value`, or a registered item itself; else ValueError
        naming the argument and the registered names."""
        if isinstance(value, self.kind) and self._items.get(value.name) is value:
            return value
        try:
            return self._items[value]
        except (KeyError, TypeError):
            raise ValueError(f"{self.argument} must be one of {self.names()}, got {value!r}") from None
