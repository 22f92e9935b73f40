"""``torch.jit``'s entry points for scripts that call them: eigengrad has no TorchScript compiler, so
``script`` and ``trace`` return the module or function itself (it runs as Python, with the same numbers and
gradients), and the decorators (``ignore``, ``unused``, ``export``) leave functions as they are. ``save`` and
``load`` of a TorchScript archive cannot be done: they raise, naming ``eigengrad.save`` for state_dicts.
``eigengrad.compile`` (issue 19) is eigengrad's way to trace a step for speed."""
from __future__ import annotations

import logging
from typing import Any, Final  # noqa: F401  (torch.jit.Final in class annotations)

_log = logging.getLogger(__name__)


def script(obj, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None):
    """The module or function itself: eigengrad runs it as Python (there is no TorchScript)."""
    _log.debug("jit.script(%s): eigengrad runs it as Python", type(obj).__name__)
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    """The module or function itself (run eagerly; ``example_inputs`` are not needed)."""
    _log.debug("jit.trace(%s): eigengrad runs it as Python", type(func).__name__)
    return func


def trace_module(mod, inputs, *args, **kwargs):
    return mod


def freeze(mod, preserved_attrs=None, optimize_numerics: bool = True):
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod


def ignore(drop=False, **kwargs):
    """Decorator: the function as it is (``@torch.jit.ignore`` or ``@torch.jit.ignore(drop=True)``)."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def is_scripting() -> bool:
    return False


def is_tracing() -> bool:
    return False


def annotate(the_type, the_value):
    return the_value


def _archive(name: str):
    raise NotImplementedError(f"torch.jit.{name}: eigengrad has no TorchScript archives; save the weights with "
                              "eigengrad.save(model.state_dict(), path) and load them with model.load_state_dict("
                              "eigengrad.load(path))")


def save(m, f, _extra_files=None):
    _archive("save")


def load(f, map_location=None, _extra_files=None):
    _archive("load")


class ScriptModule:
    """The type ``isinstance(m, torch.jit.ScriptModule)`` checks: no eigengrad module is one."""


class ScriptFunction:
    """The type ``isinstance(f, torch.jit.ScriptFunction)`` checks: no eigengrad function is one."""
