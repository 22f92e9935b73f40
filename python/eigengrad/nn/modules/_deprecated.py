"""PyTorch's ``@deprecated(message, category=FutureWarning)`` on a module class (``nn.Container``, ``NLLLoss2d``)."""
from __future__ import annotations

import warnings

from eigengrad.nn.modules.module import Module


def deprecated_class(message: str):
    """PyTorch's ``@deprecated(message, category=FutureWarning)`` on a class: a FutureWarning when the class itself
    is instantiated (pointing at the caller) and when it is subclassed."""

    def wrap(cls):
        def __new__(klass, *args, **kwargs):
            if klass is cls:
                warnings.warn(message, FutureWarning, stacklevel=2)
            return Module.__new__(klass)

        def __init_subclass__(klass, *args, **kwargs):
            warnings.warn(message, FutureWarning, stacklevel=2)
            return super(cls, klass).__init_subclass__(*args, **kwargs)

        cls.__new__ = __new__
        cls.__init_subclass__ = classmethod(__init_subclass__)
        cls.__deprecated__ = message
        return cls

    return wrap
