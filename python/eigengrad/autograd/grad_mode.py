"""Whether operations record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` and
``inference_mode``, thread-local as in PyTorch.

Each is a context manager and a decorator (on functions and on generator functions, whose every
resumption runs in the mode, as PyTorch's ``_DecoratorContextManager``); ``no_grad``, ``enable_grad``
and ``inference_mode`` also decorate without parentheses. ``set_grad_enabled(mode)`` also works as a
plain call.

``inference_mode`` is ``no_grad`` that also marks the outputs of operations run inside as inference
tensors (``Tensor.is_inference()``); such a tensor cannot be changed in place, nor made to require
grad, outside the mode (PyTorch's errors); so are the tensors factories (``zeros``, ``tensor``,
``from_numpy`` ...) make inside the mode, as in PyTorch. What differs from PyTorch: an inference tensor keeps
its version counter, and one used in an operation recorded later is accepted (PyTorch refuses it when the
operation saves it for backward). eigengrad has no dispatch or version-counter overhead to save, so the
mode is as fast as ``no_grad``, not faster.
"""
from __future__ import annotations

import functools
import inspect
import sys
import threading


class _State(threading.local):
    enabled = True  # class attributes: every thread starts with grad mode on, and the lookup is fast
    inference = False


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


def is_inference_mode_enabled() -> bool:
    return _state.inference


def _set(mode: bool) -> None:
    _state.enabled = bool(mode)


def _wrap_generator(factory, gen_fn):
    """Run every resumption of the generator made by ``gen_fn`` inside a fresh ``factory()`` context."""

    @functools.wraps(gen_fn)
    def generator_context(*args, **kwargs):
        gen = gen_fn(*args, **kwargs)
        try:
            with factory():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with factory():
                        gen.close()
                    raise
                except BaseException:
                    with factory():
                        response = gen.throw(*sys.exc_info())
                else:
                    with factory():
                        response = gen.send(request)
        except StopIteration as e:
            return e.value

    return generator_context


class _GradMode:
    """A context manager that is also a decorator (``clone()`` gives the fresh context each call uses)."""

    def __call__(self, fn):
        if inspect.isclass(fn):
            raise TypeError(f"{type(self).__name__}: cannot decorate a class; decorate its methods")
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: expected a function to decorate, got {type(fn).__name__}")
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(self.clone, fn)
        factory = self.clone

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with factory():
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return type(self)()

    def __repr__(self) -> str:
        return f"eigengrad.autograd.grad_mode.{type(self).__name__}()"


class _NoParam(_GradMode):
    """Also a decorator without parentheses: ``@no_grad`` as ``@no_grad()``."""

    def __new__(cls, fn=None):
        if fn is None:
            return super().__new__(cls)
        return cls()(fn)


class _Switch(_NoParam):
    """Sets grad mode to ``mode`` for its block and restores the previous mode after."""

    mode = True

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc) -> bool:
        _state.enabled = self._prev
        return False


class no_grad(_Switch):
    """Operations inside do not record the graph (inference, weight updates)."""

    mode = False


class enable_grad(_Switch):
    """Operations inside record the graph even within ``no_grad``."""

    mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(mode)`` switches grad mode now; as a context manager it restores the previous mode
    on exit, as a decorator it leaves the mode as it was and sets ``mode`` around each call (as
    ``torch.set_grad_enabled``)."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"mode: expected a bool, got {type(mode).__name__}")
        self.prev = _state.enabled
        self.mode = mode
        _state.enabled = mode

    def __call__(self, fn):
        _state.enabled = self.prev
        return super().__call__(fn)

    def __enter__(self) -> "set_grad_enabled":
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc) -> bool:
        _state.enabled = self.prev
        return False

    def clone(self) -> "set_grad_enabled":
        prev = _state.enabled
        out = type(self)(self.mode)  # the constructor switches the mode: the context is entered at once
        _state.enabled = prev
        return out

    def __repr__(self) -> str:
        return f"eigengrad.autograd.grad_mode.set_grad_enabled(mode={self.mode})"


class inference_mode(_GradMode):
    """``no_grad`` that marks the outputs of the operations inside as inference tensors (see the module's
    docstring for what differs from PyTorch). ``inference_mode(False)`` leaves the mode (grad on)."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # @inference_mode without parentheses

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode

    def __enter__(self) -> "inference_mode":
        self._prev = (_state.enabled, _state.inference)
        _state.enabled, _state.inference = not self.mode, self.mode
        return self

    def __exit__(self, *exc) -> bool:
        _state.enabled, _state.inference = self._prev
        return False

    def clone(self) -> "inference_mode":
        return type(self)(self.mode)

    def __repr__(self) -> str:
        return f"eigengrad.autograd.grad_mode.inference_mode(mode={self.mode})"
