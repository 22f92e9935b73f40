"""``torch.autograd.graph``'s context managers for saved tensors, as scripts use them for activation
offloading: ``save_on_cpu`` keeps the saved tensors where they are (on the CPU already: the same numbers and
memory as without it), ``disable_saved_tensors_hooks`` has no hooks to disable. ``saved_tensors_hooks`` with
a user's own pack/unpack functions is refused: eigengrad's primitives keep their saved arrays themselves
and would not call them."""
from __future__ import annotations

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]


class saved_tensors_hooks:  # noqa: N801  (PyTorch's name)
    """``with saved_tensors_hooks(pack_hook, unpack_hook):``: refused on entering (NotImplementedError, a
    RuntimeError): the hooks would not be called."""

    def __init__(self, pack_hook, unpack_hook) -> None:
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        raise NotImplementedError("saved_tensors_hooks: eigengrad does not pass saved tensors through pack/unpack "
                                  "hooks (its primitives keep their saved arrays); save_on_cpu works (tensors are "
                                  "on the CPU already)")

    def __exit__(self, *exc) -> bool:
        return False


class save_on_cpu:  # noqa: N801
    """Saved tensors stay on the CPU, where eigengrad keeps every tensor: a no-op (``pin_memory`` has no
    meaning without a GPU)."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        self.pin_memory, self.device_type = pin_memory, device_type

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False


class disable_saved_tensors_hooks:  # noqa: N801
    """No saved-tensor hooks run in eigengrad, so there are none to disable: a no-op context manager."""

    def __init__(self, error_message: str = "") -> None:
        self.error_message = error_message

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False
