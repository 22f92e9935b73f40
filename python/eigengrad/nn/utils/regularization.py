"""Explicit regularisation penalties and fine-tuning helpers.

``l1_penalty``/``l2_penalty`` return a differentiable scalar to add to the loss, typically over
``decay_parameters(model)`` (the weights, without biases and normalisation parameters; the same
selection as ``eigengrad.optim.param_groups_weight_decay``). ``freeze``/``unfreeze`` switch a
sub-module's parameters off/on for fine-tuning and can pin its batch-norm layers in eval mode.
"""
from __future__ import annotations

from typing import Iterable

from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor, tensor

__all__ = ["l1_penalty", "l2_penalty", "decay_parameters", "freeze", "unfreeze", "is_batchnorm"]


def _params(params) -> list[Tensor]:
    if isinstance(params, Module):
        raise TypeError("params: expected an iterable of tensors, got a Module; pass "
                        "eigengrad.nn.utils.decay_parameters(model) or model.parameters()")
    if isinstance(params, Tensor):
        return [params]
    out = list(params)
    for i, p in enumerate(out):
        if not isinstance(p, Tensor):
            raise TypeError(f"params[{i}]: expected a Tensor, got {type(p).__name__}")
    return out


def l1_penalty(params: Iterable[Tensor] | Tensor) -> Tensor:
    """sum_p sum_i |p_i| over the given tensors, differentiable (gradient sign(p), 0 at 0).

    Add ``lambda * l1_penalty(decay_parameters(model))`` to the loss for L1 regularisation (sparse
    weights; Tibshirani 1996). An empty list gives a float32 zero.
    """
    total = None
    for p in _params(params):
        term = p.abs().sum()
        total = term if total is None else total + term
    return tensor(0.0) if total is None else total


def l2_penalty(params: Iterable[Tensor] | Tensor) -> Tensor:
    """sum_p sum_i p_i^2 over the given tensors: the plain sum of squares, WITHOUT a factor 1/2
    (gradient 2 p), differentiable.

    ``loss + lambda * l2_penalty(ps)`` adds 2 lambda p to each gradient, so it equals SGD's
    ``weight_decay = 2 lambda`` (with plain SGD; with Adam an L2 penalty is not decoupled weight decay,
    Loshchilov & Hutter 2019). An empty list gives a float32 zero.
    """
    total = None
    for p in _params(params):
        term = (p * p).sum()
        total = term if total is None else total + term
    return tensor(0.0) if total is None else total


def decay_parameters(model: Module, no_decay: str | Iterable[str] = ("bias",), skip_1d: bool = True,
                     skip_norm: bool = True) -> list:
    """The trainable parameters of ``model`` to regularise, in ``named_parameters()`` order: all but
    those with ndim <= 1 (``skip_1d``), those of normalisation layers (``skip_norm``: class name contains
    "Norm") and those whose names match ``no_decay`` (substring, or fnmatch pattern with wildcards).
    The rule is ``eigengrad.optim.param_groups.split_decay_parameters``, shared with
    ``param_groups_weight_decay``."""
    from eigengrad.optim.param_groups import split_decay_parameters

    decay, _ = split_decay_parameters(model, no_decay, skip_1d, skip_norm)
    return [p for _, p in decay]


def is_batchnorm(module: Module) -> bool:
    """A batch-norm layer: class name contains "BatchNorm", or it has a ``running_mean`` buffer."""
    return "BatchNorm" in type(module).__name__ or "running_mean" in module.__dict__.get("_buffers", {})


def freeze(module: Module, *, bn_eval: bool = True) -> Module:
    """Freeze ``module`` for fine-tuning: ``requires_grad=False`` on all its parameters, and (``bn_eval``)
    its batch-norm layers put in eval mode and kept there: a later ``model.train()`` on an enclosing
    model leaves them in eval, so their running statistics stay those of pre-training. Returns ``module``.

    Give the optimizer only the trainable parameters (``[p for p in model.parameters() if p.requires_grad]``).
    """
    if not isinstance(module, Module):
        raise TypeError(f"module: expected an eigengrad.nn.Module, got {type(module).__name__}")
    module.requires_grad_(False)
    if bn_eval:
        for m in module.modules():
            if is_batchnorm(m):
                m.keep_eval_(True)
    return module


def unfreeze(module: Module) -> Module:
    """Undo :func:`freeze`: ``requires_grad=True`` on all parameters, batch-norm layers no longer pinned
    to eval (they take ``module``'s current mode). Returns ``module``."""
    if not isinstance(module, Module):
        raise TypeError(f"module: expected an eigengrad.nn.Module, got {type(module).__name__}")
    module.requires_grad_(True)
    for m in module.modules():
        if m.__dict__.get("_keep_eval", False):
            m.keep_eval_(False)
            object.__setattr__(m, "training", module.training)
    return module
