"""Whether operations record the graph: ``no_grad`` / ``enable_grad`` / ``set_grad_enabled``,
thread-local as in PyTorch."""
from __future__ import annotations

import functools
import threading

class _State(threading.local):
    enabled = True  # class attribute: every thread starts with grad mode on, and the lookup is fast


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


def _set(mode: bool) -> None:
    _state.enabled = bool(mode)


class _GradMode:
    """Context manager and decorator that sets grad mode for its block and restores it after."""

    mode = True

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(self.mode)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = is_grad_enabled()
            _set(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set(prev)

        return wrapper


class no_grad(_GradMode):
    """Operations inside do not record the graph (inference, weight updates)."""

    mode = False


class enable_grad(_GradMode):
    """Operations inside record the graph even within ``no_grad``."""

    mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(mode)`` switches grad mode now; used as a context manager it restores the
    previous mode on exit (as ``torch.set_grad_enabled``)."""

    def __init__(self, mode: bool) -> None:
        self._prev = is_grad_enabled()
        self.mode = bool(mode)
        _set(self.mode)

    def __enter__(self):
        return self
