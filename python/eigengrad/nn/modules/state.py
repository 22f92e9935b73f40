"""``Module.state_dict`` and ``load_state_dict`` with PyTorch's protocol, so that layers and libraries that
override its steps work unchanged:

- ``state_dict`` recurses: each module's ``_save_to_state_dict(destination, prefix, keep_vars)`` writes its
  parameters and persistent buffers, then its children follow under ``prefix + name + '.'``; the result's
  ``_metadata`` maps each module's prefix to ``{"version": module._version}``; state-dict pre- and post-hooks.
- ``load_state_dict`` recurses: each module's ``_load_from_state_dict(state_dict, prefix, local_metadata,
  strict, missing_keys, unexpected_keys, error_msgs)`` takes its own keys (an override may rename or add
  keys first, as BatchNorm fills in ``num_batches_tracked`` for older checkpoints), then each child gets the
  keys under its prefix; load pre- and post-hooks; ``assign=True`` takes the given tensors themselves.

Unlike PyTorch, a load that raises changes nothing: the copies wait until every module has checked its
keys and shapes (``_PENDING``), then run together (with load post-hooks registered, the copies and hooks
run before the strict missing/unexpected check, as PyTorch's, since a hook may edit those lists).
``get_extra_state``/``set_extra_state`` overrides are saved and loaded under ``prefix + "_extra_state"``.
"""
from __future__ import annotations

import contextvars
from collections import OrderedDict

import numpy as np

from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor

_PENDING: contextvars.ContextVar = contextvars.ContextVar("eigengrad_pending_state_copies", default=None)


def save_to_state_dict(module, destination: dict, prefix: str, keep_vars: bool) -> None:
    """The module's own parameters and persistent buffers (the default ``_save_to_state_dict``)."""
    skip = module.__dict__.get("_non_persistent_buffers_set", ())
    for name, value in module._parameters.items():
        if value is not None:
            destination[prefix + name] = value if keep_vars else value.detach()
    for name, value in module._buffers.items():
        if value is not None and name not in skip:
            destination[prefix + name] = value if keep_vars else value.detach()
    if _has_extra_state(module):
        destination[prefix + EXTRA_STATE_KEY] = module.get_extra_state()


EXTRA_STATE_KEY = "_extra_state"


def _has_extra_state(module) -> bool:
    from eigengrad.nn.modules.module import Module

    return type(module).get_extra_state is not Module.get_extra_state


def state_dict(module, destination=None, prefix: str = "", keep_vars: bool = False):
    if destination is None:
        destination = OrderedDict()
        destination._metadata = OrderedDict()
    local_metadata = {"version": getattr(module, "_version", 1)}
    if hasattr(destination, "_metadata"):
        destination._metadata[prefix[:-1]] = local_metadata
    for hook in module.__dict__.get("_state_dict_pre_hooks", {}).values():
        hook(module, prefix, keep_vars)
    module._save_to_state_dict(destination, prefix, keep_vars)
    for name, child in module._modules.items():
        if child is not None:
            child.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
    for hook in module.__dict__.get("_state_dict_hooks", {}).values():
        result = hook(module, destination, prefix, local_metadata)
        if result is not None:
            destination = result
    return destination


def load_from_state_dict(module, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                         missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
    """The default ``_load_from_state_dict``: check and (at the end of the load) copy this module's own
    parameters and persistent buffers; record its missing keys and the unexpected keys under its prefix."""
    for hook in module.__dict__.get("_load_state_dict_pre_hooks", {}).values():
        hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
    skip = module.__dict__.get("_non_persistent_buffers_set", ())
    local = [(n, p, True) for n, p in module._parameters.items() if p is not None]
    local += [(n, b, False) for n, b in module._buffers.items() if b is not None and n not in skip]
    assign = bool(local_metadata.get("assign_to_params_buffers", False))
    for name, target, is_param in local:
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        value = state_dict[key]
        if not isinstance(value, (Tensor, np.ndarray, np.generic, int, float)):
            error_msgs.append(f'While copying the parameter named "{key}", expected torch.Tensor or Tensor-like '
                              f"object from checkpoint but received {type(value)}")
            continue
        arr = value._data if isinstance(value, Tensor) else np.asarray(value)
        if arr.shape != target.shape:
            error_msgs.append(f"size mismatch for {key}: copying a param with shape torch.Size({list(arr.shape)}) from "
                              f"checkpoint, the shape in current model is torch.Size({list(target.shape)}).")
            continue
        _queue(module, name, target, value, arr, is_param, assign)
    extra = _has_extra_state(module)
    if extra:
        key = prefix + EXTRA_STATE_KEY
        if key in state_dict:
            _queue_call(lambda value=state_dict[key]: module.set_extra_state(value))
        elif strict:
            missing_keys.append(key)
    if strict:
        names = {n for n, _, _ in local} | ({EXTRA_STATE_KEY} if extra else set())
        for key in state_dict:
            if key.startswith(prefix):
                head = key[len(prefix):].split(".", 1)
                if (len(head) > 1 and head[0] not in module._modules) or (len(head) == 1 and head[0] not in names):
                    unexpected_keys.append(key)


def _queue(module, name: str, target: Tensor, value, arr: np.ndarray, is_param: bool, assign: bool) -> None:
    """Copy ``arr`` into ``target`` (or, with assign, put ``value`` in its place) now or at the load's end."""
    if assign:
        new = value if isinstance(value, Tensor) else Tensor._wrap(np.array(arr))
        if is_param:
            new = new if isinstance(new, Parameter) else Parameter(new._data, requires_grad=target.requires_grad)

        def run():
            (module._parameters if is_param else module._buffers)[name] = new
    else:
        def run():
            np.copyto(target._data, arr, casting="same_kind")
    _queue_call(run)


def _queue_call(run) -> None:
    pending = _PENDING.get()
    if pending is None:
        run()
    else:
        pending.append(run)


def load_state_dict(module, state_dict, strict: bool = True, assign: bool = False):
    from eigengrad.nn.modules.module import IncompatibleKeys

    if not isinstance(state_dict, dict) and not hasattr(state_dict, "keys"):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    metadata = getattr(state_dict, "_metadata", None)
    state_dict = OrderedDict(state_dict)  # the overrides may rename keys: the caller's dict stays as it was
    missing, unexpected, errors = [], [], []
    pending: list = []
    token = _PENDING.set(pending)
    try:
        _load(module, state_dict, "", metadata, strict, assign, missing, unexpected, errors)
    finally:
        _PENDING.reset(token)
    hooked = [m for m in _modules_post_order(module) if m.__dict__.get("_load_state_dict_post_hooks")]
    if errors or (strict and (missing or unexpected) and not hooked):
        _raise_load_errors(module, strict, missing, unexpected, errors)
    for run in pending:
        run()
    # Post-hooks run after the copies, children's before their parent's, and may edit the key lists in place
    # (a hook that drops an expected missing key keeps a strict load from raising, as PyTorch's).
    result = IncompatibleKeys(missing, unexpected)
    for mod in hooked:
        for hook in list(mod.__dict__["_load_state_dict_post_hooks"].values()):
            if hook(mod, result) is not None:
                raise AssertionError("Hooks registered with ``register_load_state_dict_post_hook`` are not expected to "
                                     "return new values, if incompatible_keys need to be modified, it should be done "
                                     "inplace.")
    if strict and (missing or unexpected):
        _raise_load_errors(module, strict, missing, unexpected, errors)
    return result


def _raise_load_errors(module, strict: bool, missing: list, unexpected: list, errors: list) -> None:
    """PyTorch's message: missing keys, then unexpected keys (when strict), then the other errors."""
    head = []
    if strict and missing:
        head.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
    if strict and unexpected:
        head.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
    raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t" + "\n\t".join(head + errors))


def _load(module, local: dict, prefix: str, metadata, strict, assign, missing, unexpected, errors) -> None:
    local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
    if assign:
        local_metadata["assign_to_params_buffers"] = True
    module._load_from_state_dict(local, prefix, local_metadata, True, missing, unexpected, errors)
    for name, child in module._modules.items():
        if child is not None:
            child_prefix = prefix + name + "."
            child_local = {k: v for k, v in local.items() if k.startswith(child_prefix)}
            _load(child, child_local, child_prefix, metadata, strict, assign, missing, unexpected, errors)


def _modules_post_order(module):
    for child in module._modules.values():
        if child is not None:
            yield from _modules_post_order(child)
    yield module
