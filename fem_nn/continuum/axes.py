"""The axes of a network: which weight-mesh and bias-mesh axes a name such as "width" means."""

from __future__ import annotations

from ..mesh import axis_names

__all__ = ["network_axes"]


def network_axes(axis: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The weight-mesh and bias-mesh axes that a network axis names.

    Parameters
    ----------
    axis : {"depth", "width", "xi", "eta", "delta"}
        "depth" (or "delta", the mesh name): δ of W and b; "width": ξ and η of W and ξ of
        b; "xi": W's output width and b's width; "eta": W's input width (the bias has
        none). The names of :func:`~fem_nn.mesh.axis_names`, as meshes take them.

    Returns
    -------
    weight_axes, bias_axes : tuple of str

    Examples
    --------
    >>> network_axes("width")
    (('xi', 'eta'), ('xi',))
    >>> network_axes("eta")
    (('eta',), ())
    """
    weight = axis_names(axis)
    return weight, tuple(a for a in weight if a in ("xi", "delta"))
