"""matplotlib, imported only when something is drawn (an optional extra: ``pip install matplotlib``)."""
from __future__ import annotations


def pyplot(what: str):
    """``matplotlib.pyplot``, or an ImportError saying what needed it and how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(f"plot: matplotlib is needed to plot {what}; pip install matplotlib") from None
    return plt


def new_axes(what: str, ncols: int = 1, figsize=None):
    """Fresh axes (one, or an array of ``ncols``) on a new figure."""
    axes = pyplot(what).subplots(1, ncols, figsize=figsize)[1]
    return axes
