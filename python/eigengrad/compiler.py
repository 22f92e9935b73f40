"""``torch.compiler``'s calls as scripts make them around ``torch.compile``: ``disable`` (a decorator),
``is_compiling`` / ``is_dynamo_compiling`` (True while ``eg.compile`` traces a step), ``reset``,
``allow_in_graph`` and ``assume_constant_result``. eigengrad's compiler records what a step runs, so these
need no graph-break machinery: a ``disable``d function is traced like any other code of the step (and a
step it makes untraceable falls back to eager mode with a warning, as every such step does)."""
from __future__ import annotations

__all__ = ["disable", "is_compiling", "is_dynamo_compiling", "reset", "allow_in_graph", "assume_constant_result"]


def disable(fn=None, recursive: bool = True, *, reason: str | None = None):
    """``fn`` itself (as a decorator with or without arguments)."""
    if fn is None:
        return lambda f: f
    return fn


def is_compiling() -> bool:
    """Whether ``eg.compile`` is tracing a step now."""
    from eigengrad import _trace

    return _trace.ACTIVE[0] is not None


is_dynamo_compiling = is_compiling


def reset() -> None:
    """Nothing to clear: each compiled step keeps its own plans (drop the compiled object to drop them)."""


def allow_in_graph(fn):
    return fn


def assume_constant_result(fn):
    return fn
