"""Param groups that exempt biases and normalisation parameters from weight decay (works with every optimizer).

Decaying a bias or a normalisation layer's scale/shift toward zero only constrains what the layer can
represent (a BatchNorm/LayerNorm gain pulled toward 0 shrinks the signal), without the regularising
effect weight decay has on weight matrices. The usual practice (e.g. Goyal et al. 2017, "Accurate, Large
Minibatch SGD"; Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"; timm's
``param_groups_weight_decay``) is to decay only the multi-dimensional weights.
"""
from __future__ import annotations

import fnmatch
import numbers
from typing import Iterable

from eigengrad.nn.modules.module import Module

_MAGIC = set("*?[")


def param_groups_weight_decay(model: Module, weight_decay: float, no_decay: str | Iterable[str] = ("bias",),
                              skip_1d: bool = True, skip_norm: bool = True, **group_options) -> list[dict]:
    """Split ``model``'s trainable parameters into a decayed and a non-decayed param group.

    A parameter gets no weight decay when any of these holds:

    * ``skip_1d`` and it has at most one dimension (biases, normalisation scales and shifts);
    * ``skip_norm`` and it belongs directly to a module whose class name contains ``"Norm"``
      (BatchNorm1d, LayerNorm, GroupNorm, ...), whatever its shape;
    * its ``named_parameters()`` name matches a pattern of ``no_decay``: an ``fnmatch`` pattern against
      the whole name when it has wildcards (``"*.bias"``, ``"embed.*"``), else a plain substring
      (``"bias"`` matches ``"0.bias"`` and ``"attn.bias_k"``).

    Parameters with ``requires_grad=False`` are left out; empty groups are dropped.

    Args:
        model: the module whose ``named_parameters()`` are grouped.
        weight_decay: the decay of the decayed group (>= 0); the other group gets 0.0.
        no_decay: name patterns exempt from decay (one string or several).
        skip_1d: exempt parameters with ``ndim <= 1``.
        skip_norm: exempt parameters of normalisation layers.
        **group_options: other options for both groups (e.g. ``lr=0.1``); not ``params``/``weight_decay``.

    Returns:
        ``[{"params": decayed, "weight_decay": weight_decay, **group_options},
        {"params": not_decayed, "weight_decay": 0.0, **group_options}]`` without the empty ones: pass
        it to any optimizer.

    Example:
        >>> groups = eg.optim.param_groups_weight_decay(model, 5e-4)
        >>> opt = eg.optim.SGD(groups, lr=0.1, momentum=0.9)
        >>> # AdamW (when eigengrad has it) takes the same groups:
        >>> # opt = eg.optim.AdamW(eg.optim.param_groups_weight_decay(model, 0.05), lr=1e-3)
    """
    _check_arguments(model, weight_decay, no_decay, group_options)
    decay_named, keep_named = split_decay_parameters(model, no_decay, skip_1d, skip_norm)
    decay, keep = [p for _, p in decay_named], [p for _, p in keep_named]
    groups = [{"params": decay, "weight_decay": float(weight_decay), **group_options},
              {"params": keep, "weight_decay": 0.0, **group_options}]
    return [g for g in groups if g["params"]]


def split_decay_parameters(model: Module, no_decay: str | Iterable[str] = ("bias",), skip_1d: bool = True,
                           skip_norm: bool = True) -> tuple[list, list]:
    """The selection rule shared by :func:`param_groups_weight_decay` and ``eigengrad.nn.utils.decay_parameters``
    (and the L1/L2 penalties built on it): ``(decayed, exempt)``, each a list of ``(name, parameter)`` in
    ``named_parameters()`` order, trainable parameters only. Exempt: ``skip_1d`` and ndim <= 1; ``skip_norm``
    and the parameter belongs directly to a module whose class name contains "Norm"; or the name matches a
    pattern of ``no_decay`` (``fnmatch`` when it has wildcards, else a substring)."""
    if not isinstance(model, Module):
        raise TypeError(f"model: expected an eigengrad.nn.Module, got {type(model).__name__}")
    patterns = _patterns(no_decay)
    norm_params = {id(p) for m in model.modules() if skip_norm and "Norm" in type(m).__name__
                   for p in m.parameters(recurse=False)}
    decay, keep = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        exempt = (skip_1d and p.ndim <= 1) or id(p) in norm_params or _matches(name, patterns)
        (keep if exempt else decay).append((name, p))
    return decay, keep


def _patterns(no_decay) -> tuple[str, ...]:
    patterns = (no_decay,) if isinstance(no_decay, str) else tuple(no_decay)
    for pat in patterns:
        if not isinstance(pat, str):
            raise TypeError(f"no_decay: expected name patterns (str), got {type(pat).__name__}")
    return patterns


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pat) if _MAGIC & set(pat) else pat in name for pat in patterns)


def _check_arguments(model, weight_decay, no_decay, group_options: dict) -> tuple[str, ...]:
    if not isinstance(model, Module):
        raise TypeError(f"model: expected an eigengrad.nn.Module, got {type(model).__name__}")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, numbers.Real):
        raise TypeError(f"weight_decay: expected a number, got {type(weight_decay).__name__}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay: expected a value >= 0, got {weight_decay}")
    patterns = _patterns(no_decay)
    for key in ("params", "weight_decay"):
        if key in group_options:
            raise ValueError(f"{key}: set by param_groups_weight_decay itself, got it in group_options")
    return patterns
