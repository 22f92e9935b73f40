"""``RemovableHandle``: what ``Module.register_forward_pre_hook`` and ``register_forward_hook`` return."""
from __future__ import annotations

import itertools
import weakref

_ids = itertools.count()


class RemovableHandle:
    """Removes the hook it was returned for from its module (``handle.remove()``, or as a context manager)."""

    __slots__ = ("_hooks", "id")

    def __init__(self, hooks: dict) -> None:
        self._hooks = weakref.ref(hooks)
        self.id = next(_ids)

    def remove(self) -> None:
        hooks = self._hooks()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
