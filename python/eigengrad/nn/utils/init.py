"""``torch.nn.utils.skip_init``: build a module without spending its initialisation on the caller's generator."""
from __future__ import annotations

import inspect

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """Instantiate ``module_cls(*args, **kwargs)`` with its parameters and buffers left uninitialised, as if made
    by ``empty`` (PyTorch builds it on the 'meta' device, then ``to_empty``). The class must take a ``device``
    argument (RuntimeError otherwise, as PyTorch). eigengrad has no meta tensors: the module is built on the CPU
    and its values are whatever its constructor put there, but the default generator is restored afterwards, so
    the draws after ``skip_init`` are the same as if it had not been called (PyTorch draws nothing either)."""
    from eigengrad.nn.modules.module import Module
    from eigengrad.random import fork_rng

    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    with fork_rng():
        module = module_cls(*args, **kwargs)
    return module.to_empty(device=final_device)
