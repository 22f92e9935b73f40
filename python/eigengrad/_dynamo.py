"""``torch._dynamo``'s knobs that scripts set next to ``torch.compile`` (``torch._dynamo.config.suppress_errors
= True``, ``cache_size_limit``, ...), so those lines run: eigengrad's compiler has no graph capture of its own
to configure (a step it cannot record falls back to eager mode, with a warning, whatever these say).
``reset`` and ``disable`` behave as ``eigengrad.compiler``'s."""
from __future__ import annotations

from types import SimpleNamespace

from eigengrad.compiler import disable, is_compiling, reset  # noqa: F401

config = SimpleNamespace(suppress_errors=False, cache_size_limit=8, accumulated_cache_size_limit=256,
                         verbose=False, capture_scalar_outputs=False, optimize_ddp=True,
                         automatic_dynamic_shapes=True, assume_static_by_default=True)



def mark_dynamic(t, index, **kwargs) -> None:
    """PyTorch's hint that a dim of ``t`` changes between calls: eigengrad's plans are per shape (no effect)."""


def maybe_mark_dynamic(t, index) -> None:
    """As :func:`mark_dynamic`."""


def mark_static(t, index=None) -> None:
    """PyTorch's hint that a dim stays fixed (no effect: eigengrad's plans are per shape)."""


def allow_in_graph(fn):
    """``fn`` itself: PyTorch's way to keep a function whole in its graph (eigengrad records its kernels)."""
    return fn


def graph_break() -> None:
    """PyTorch's explicit graph break (no effect: eigengrad's plan needs none)."""


__all__ = ["config", "reset", "disable", "is_compiling", "mark_dynamic", "maybe_mark_dynamic", "mark_static",
           "allow_in_graph", "graph_break"]
