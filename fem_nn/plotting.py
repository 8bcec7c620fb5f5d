"""Matplotlib helpers shared by the plots and examples (matplotlib is an optional extra)."""

from __future__ import annotations

__all__ = ["pyplot", "save_figure"]


def pyplot(headless: bool = True):
    """``matplotlib.pyplot``, on the file-only Agg backend when `headless`."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'fem_nn[examples]'") from None
    if headless:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path) -> None:
    """Lay out `figure`, write it to `path` (PNG, or any format matplotlib infers) and say so."""
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"figure: {path}")
