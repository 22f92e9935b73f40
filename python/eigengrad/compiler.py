"""``torch.compiler``'s calls as scripts make them around ``torch.compile``: ``disable`` (a decorator),
``is_compiling`` / ``is_dynamo_compiling`` (True while ``eg.compile`` traces a step), ``reset``,
``allow_in_graph`` and ``assume_constant_result``. eigengrad's compiler records what a step runs, so these
need no graph-break machinery: a ``disable``d function is traced like any other code of the step (and a
step it makes untraceable falls back to eager mode with a warning, as every such step does)."""
from __future__ import annotations

__all__ = ["disable", "is_compiling", "is_dynamo_compiling", "reset", "allow_in_graph", "assume_constant_result",
           "set_stance", "cudagraph_mark_step_begin", "list_backends"]


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


_STANCES = ("default", "force_eager", "eager_on_recompile", "fail_on_recompile", "eager_then_compile",
            "aot_eager_then_compile")


class set_stance:
    """PyTorch's switch of ``torch.compile``'s behaviour (``"force_eager"``, ...), as a call, a context manager or a
    decorator. The stance is checked and kept (``get_stance()``); eigengrad's compiled steps do not read it."""

    _current = "default"

    def __init__(self, stance: str = "default", *, skip_guard_eval_unsafe: bool = False, force_backend=None) -> None:
        if stance not in _STANCES:
            raise RuntimeError(f"invalid torch.compile stance '{stance}'")
        self._previous, set_stance._current = set_stance._current, stance

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        set_stance._current = self._previous

    def __call__(self, fn):
        import functools

        stance = set_stance._current
        set_stance._current = self._previous  # (as a decorator, the stance holds only while fn runs)

        @functools.wraps(fn)
        def run(*args, **kwargs):
            with set_stance(stance):
                return fn(*args, **kwargs)

        return run


def get_stance() -> str:
    return set_stance._current


def cudagraph_mark_step_begin() -> None:
    """PyTorch's CUDA-graph step marker (no CUDA graphs here: nothing to mark)."""


def list_backends(exclude_tags=("debug", "experimental")) -> list:
    """The compiler backends: eigengrad's one (its ``backend=`` argument is accepted and changes nothing)."""
    return ["eigengrad"]
