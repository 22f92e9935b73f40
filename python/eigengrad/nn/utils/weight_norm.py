"""Weight normalisation (Salimans & Kingma, 2016), ``torch.nn.utils.weight_norm``'s interface.

A parameter ``w`` is re-parametrised by a magnitude ``g`` and a direction ``v``:

.. math::
    w = g \\, \\frac{v}{\\lVert v \\rVert}

with the norm taken over every dimension except ``dim`` (``dim=None``: over the whole tensor, so ``g``
is a scalar). The module gets the parameters ``<name>_g`` (the norms of ``w``, with ``w``'s number of
dimensions, size 1 except along ``dim``) and ``<name>_v`` (``w`` itself) in place of ``<name>``, and a
forward pre-hook recomputes ``<name>`` from them before every forward, through autograd, so gradients
reach ``g`` and ``v``.
"""
from __future__ import annotations

from typing import TypeVar

from eigengrad.nn.modules.module import Module
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor

M = TypeVar("M", bound=Module)


def norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of ``v`` over every dimension except ``dim``, keeping ``v``'s dimensions (PyTorch's
    ``torch.norm_except_dim``); ``dim=-1`` means the norm of the whole tensor (0-d)."""
    if dim == -1:
        return (v * v).sum().sqrt()
    d = dim % v.ndim
    axes = tuple(i for i in range(v.ndim) if i != d)
    return (v * v).sum(dim=axes, keepdim=True).sqrt()


class WeightNorm:
    """The forward pre-hook that recomputes ``module.<name>`` from ``<name>_g`` and ``<name>_v``."""

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim

    def compute_weight(self, module: Module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, self.dim))

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> "WeightNorm":
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        if dim is None:
            dim = -1
        weight = module._parameters.get(name)
        if not isinstance(weight, Parameter):
            raise ValueError(f"weight_norm: {type(module).__name__} has no parameter named {name!r}")
        if weight.ndim == 0:
            raise ValueError(f"weight_norm: parameter {name!r} is 0-d; expected at least one dimension")
        if not -weight.ndim <= dim < weight.ndim:
            raise ValueError(f"weight_norm: dim: expected None or a dimension of {name}'s shape {weight.shape}, "
                             f"got {dim}")
        fn = WeightNorm(name, dim)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight.detach(), dim)._data.copy()))
        module.register_parameter(name + "_v", Parameter(weight._data.copy()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight._data.copy()))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: M, name: str = "weight", dim: int | None = 0) -> M:
    """Re-parametrise ``module.<name>`` as ``g * v / ||v||`` (norm over every dim but ``dim``; ``None``:
    the whole tensor). Adds the parameters ``<name>_g`` and ``<name>_v``; returns the module.

    Example::

        m = weight_norm(nn.Linear(20, 40))
        m.weight_g.shape  # (40, 1)
        m.weight_v.shape  # (40, 20)
    """
    import warnings

    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)  # (PyTorch's)
    WeightNorm.apply(module, name, dim)
    return module


def remove_reparametrization(module: M, kind: type, name: str, what: str) -> M:
    """Undo a hook-based reparametrization (``kind``: WeightNorm, SpectralNorm) of ``module.<name>``: its
    ``remove`` makes ``<name>`` a plain parameter again, and the hook goes."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, kind) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"{what} of '{name}' not found in {module}")


def remove_weight_norm(module: M, name: str = "weight") -> M:
    """Undo :func:`weight_norm`: ``<name>`` becomes a plain parameter again with the current value."""
    return remove_reparametrization(module, WeightNorm, name, "weight_norm")
