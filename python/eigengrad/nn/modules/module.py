"""``Module``: the base of layers and models, with PyTorch's registration and state_dict rules."""
from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType
from typing import Callable, Iterator, NamedTuple

import numpy as np

from eigengrad import _dtype
from eigengrad._device import check_device  # noqa: F401 (the layers' device= check)
from eigengrad.nn.modules import casting, global_hooks
from eigengrad.nn.modules.global_hooks import register_module_forward_hook, register_module_forward_pre_hook  # noqa: F401
from eigengrad.nn.parameter import Buffer, Parameter
from eigengrad.tensor import Tensor, get_default_dtype
from eigengrad.utils.hooks import RemovableHandle
from eigengrad._errors import ArgumentError  # noqa: F401 (imported from here by other modules)

_NO_HOOKS = MappingProxyType({})
_MISSING = object()


def _type_name(value) -> str:
    """How PyTorch's assignment errors name a value's type: 'torch.FloatTensor' for a tensor, else the class."""
    return value.type() if isinstance(value, Tensor) else type(value).__name__


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns (PyTorch's ``_IncompatibleKeys``): the keys the module has but the
    state dict lacks, and the keys of the state dict the module does not have."""

    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


_IncompatibleKeys = IncompatibleKeys


def factory_dtype(dtype) -> np.dtype:
    """A layer's ``dtype`` argument as a NumPy dtype: the default float dtype when None."""
    return get_default_dtype().dtype if dtype is None else _dtype.to_numpy(dtype)


class Module:
    """Base class of all layers. Parameters, buffers and submodules assigned as attributes are registered
    in order, so ``named_parameters()`` and ``state_dict()`` give PyTorch's names (``0.weight``, ...)."""

    training: bool
    # Replaced by a module's own dicts when it registers a hook (a module restored without __init__
    # has none).
    _forward_pre_hooks = _NO_HOOKS
    _forward_hooks = _NO_HOOKS
    _backward_pre_hooks = _NO_HOOKS
    _backward_hooks = _NO_HOOKS
    _hooks_with_kwargs = frozenset()  # ids of the forward (pre-)hooks registered with_kwargs=True
    _hooks_always_call = frozenset()  # ids of the forward hooks registered always_call=True

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    # --- registration -----------------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        params = self.__dict__.get("_parameters")
        if params is None:  # before Module.__init__: plain attributes only, as PyTorch's
            if isinstance(value, (Parameter, Module, Buffer)):
                what = "parameters" if isinstance(value, Parameter) else \
                    "module" if isinstance(value, Module) else "buffer"
                raise AttributeError(f"cannot assign {what} before Module.__init__() call")
            object.__setattr__(self, name, value)
            return
        if isinstance(value, Parameter):
            self._forget(name, keep=params)
            params[name] = value  # (a name already there keeps its place, as PyTorch's dict assignment)
        elif isinstance(value, Module):
            self._forget(name, keep=self._modules)
            self._modules[name] = value
        elif isinstance(value, Buffer):  # nn.Buffer: register_buffer, with its persistence
            self.register_buffer(name, Tensor._wrap(value._data), persistent=value.persistent)
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_type_name(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            params[name] = None
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_type_name(value)}' as buffer '{name}' "
                                "(torch.nn.Buffer, torch.Tensor or None expected)")
            self._buffers[name] = value
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_type_name(value)}' as child module '{name}' "
                                "(torch.nn.Module or None expected)")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: dict | None = None) -> None:
        """Remove ``name`` from every store but ``keep`` (where it is about to be assigned: an entry that stays
        keeps its position, so re-assigning a layer or a weight does not move it to the end)."""
        for d in (self.__dict__, self._parameters, self._buffers, self._modules):
            if d is not keep:
                d.pop(name, None)
        if keep is not self._buffers:
            self.__dict__.get("_non_persistent_buffers_set", set()).discard(name)

    def __getattr__(self, name: str):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self.__dict__.get("_non_persistent_buffers_set", set()).discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list:
        """PyTorch's: the class's and instance's attributes plus the registered parameters, buffers and
        submodules (names that start with a digit, as a Sequential's, left out)."""
        names = list(dir(type(self))) + list(self.__dict__)
        for store in ("_parameters", "_buffers", "_modules"):
            names += list(self.__dict__.get(store, ()))
        return sorted(n for n in set(names) if not n[:1].isdigit())

    def _check_new_name(self, name, kind: str, store: dict) -> None:
        """PyTorch's checks of a name registered by ``register_parameter/buffer/add_module``: a non-empty
        string without dots that is not already another attribute (a buffer registered over a parameter's
        name would silently drop the parameter)."""
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}' if kind == "module"
                           else f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if name not in store and hasattr(self, name):
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        self._check_new_name(name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_type_name(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        self._forget(name, keep=self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor of the module's state that is no parameter (BatchNorm's running statistics); with
        ``persistent=False`` it is left out of ``state_dict()`` (a positional encoding's table, recomputed
        at construction), as PyTorch's."""
        self._check_new_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_type_name(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._forget(name, keep=self._buffers)
        self._buffers[name] = tensor
        self.__dict__.get("_non_persistent_buffers_set", set()).discard(name)
        if not persistent:
            if "_non_persistent_buffers_set" not in self.__dict__:
                object.__setattr__(self, "_non_persistent_buffers_set", set())
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        self._check_new_name(name, "module", self._modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_type_name(module)} is not a Module subclass")
        self._forget(name, keep=self._modules)  # a replaced child keeps its place (set_submodule, swaps)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> "Module":
        """The module at the dotted path ``target`` ("" is this module); AttributeError, with PyTorch's
        messages, naming a part that is missing or is no module."""
        module = self
        for part in target.split(".") if target else ():
            child = module._modules.get(part, _MISSING)
            if child is _MISSING or child is None:
                if not hasattr(module, part):
                    raise AttributeError(f"{type(module).__name__} has no attribute `{part}`")
                child = getattr(module, part)
            if not isinstance(child, Module):
                raise AttributeError(f"`{part}` is not an nn.Module")
            module = child
        return module

    def set_submodule(self, target: str, module: "Module", strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target`` (its parent must exist); with ``strict`` the name
        must already be there. The name may hold only a module (or nothing)."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if hasattr(parent, name):
            if not isinstance(getattr(parent, name), Module):
                raise AttributeError(f"`{name}` is not an nn.Module")
        elif strict:
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        setattr(parent, name, module)

    def _get_member(self, target: str, store: str, what: str):
        parent, _, name = target.rpartition(".")
        owner = self.get_submodule(parent)
        if not hasattr(owner, name):
            raise AttributeError(f"{type(owner).__name__} has no attribute `{name}`")
        members = getattr(owner, store)
        if name not in members:
            raise AttributeError(f"`{name}` is not {what}")
        return members[name]

    def get_parameter(self, target: str) -> Parameter:
        return self._get_member(target, "_parameters", "an nn.Parameter")

    def get_buffer(self, target: str) -> Tensor:
        return self._get_member(target, "_buffers", "a buffer")

    def compile(self, *args, **kwargs) -> None:
        """PyTorch's in-place ``Module.compile``: from now on a call that records no gradient (``no_grad``,
        inference, frozen weights) replays the compiled inference forward, as ``eg.compile(module)``'s
        result does (a call that records gradients runs eagerly; a training step is compiled whole with
        ``eg.compile(step)``). Unlike ``eg.compile(module)``, the module itself changes, so its
        ``state_dict`` keys stay as they are. ``torch.compile``'s arguments are accepted (``disable=True``:
        nothing changes)."""
        from eigengrad.compile import compile as compile_fn

        if kwargs.get("disable", False):
            return
        compiled = compile_fn(self._call_impl, *args, modules=(self,), **kwargs)
        object.__setattr__(self, "_compiled_call", compiled)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_compiled_call", None)  # a replay plan is not saved (Module.compile() again after loading)
        return state

    # --- calling ----------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if "_compiled_call" in self.__dict__:  # Module.compile() (one test here: this runs at every call)
            return self._call_compiled(args, kwargs)
        if (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks
                or global_hooks.FORWARD_PRE or global_hooks.FORWARD):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_impl(self, *args, **kwargs):
        """The eager call: forward with the hooks around it (what Module.compile() compiles)."""
        if (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks
                or global_hooks.FORWARD_PRE or global_hooks.FORWARD):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_compiled(self, args: tuple, kwargs: dict):
        from eigengrad.compile.module import records_gradient

        if records_gradient(self, args, kwargs):
            return self._call_impl(*args, **kwargs)
        return self.__dict__["_compiled_call"](*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        with_kwargs = self._hooks_with_kwargs
        for hook in list(global_hooks.FORWARD_PRE.values()):  # everyone's first, as PyTorch's
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in with_kwargs:  # hook(module, args, kwargs) -> None or (args, kwargs)
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                           f"but got {result}.")
                    args, kwargs = result
                    args = args if isinstance(args, tuple) else (args,)
                continue
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        call = None
        if self._backward_hooks or self._backward_pre_hooks:
            from eigengrad.nn.modules import backward_hooks

            args, call = backward_hooks.wrap_inputs(self, args)
        called = set()  # the forward hooks that ran (an always_call one runs once even if a later one raises)
        try:
            output = self.forward(*args, **kwargs)
            for key, hook in list(global_hooks.FORWARD.items()):
                called.add(key)
                result = hook(self, args, kwargs, output) if key in global_hooks.WITH_KWARGS else hook(self, args, output)
                if result is not None:
                    output = result
            for key, hook in list(self._forward_hooks.items()):
                called.add(key)
                result = hook(self, args, kwargs, output) if key in with_kwargs else hook(self, args, output)
                if result is not None:
                    output = result
        except Exception:
            if global_hooks.ALWAYS_CALL or self._hooks_always_call:
                self._run_always_call_hooks(args, kwargs, called)
            raise
        if call is not None:
            output = backward_hooks.wrap_outputs(call, output)
        return output

    def _run_always_call_hooks(self, args: tuple, kwargs: dict, called: set) -> None:
        """After forward (or a forward hook) raised: the ``always_call`` forward hooks not yet run, with
        output None; an error of theirs is reported as a warning, the original error propagates."""
        import warnings

        for hooks, always, kw in ((global_hooks.FORWARD, global_hooks.ALWAYS_CALL, global_hooks.WITH_KWARGS),
                                  (self._forward_hooks, self._hooks_always_call, self._hooks_with_kwargs)):
            for key, hook in list(hooks.items()):
                if key in always and key not in called:
                    try:
                        hook(self, args, kwargs, None) if key in kw else hook(self, args, None)
                    except Exception as e:
                        warnings.warn("forward hook with ``always_call=True`` raised an exception that was silenced "
                                      f"as another error was raised in forward: {e}")

    def _hook_dict(self, store: str) -> OrderedDict:
        hooks = self.__dict__.get(store)
        if hooks is None:
            hooks = OrderedDict()
            object.__setattr__(self, store, hooks)
        return hooks

    def _add_hook(self, store: str, hook: Callable, prepend: bool) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"hook: expected a callable, got {type(hook).__name__}")
        hooks = self._hook_dict(store)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before every ``forward``; a non-None result replaces the positional
        arguments (a tuple, or a single value). ``with_kwargs``: ``hook(module, args, kwargs)``, returning
        None or ``(args, kwargs)``. Returns a handle whose ``remove()`` unregisters it."""
        return self._kwargs_flag(self._add_hook("_forward_pre_hooks", hook, prepend), with_kwargs)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every ``forward``; a non-None result replaces the
        output. ``with_kwargs``: ``hook(module, args, kwargs, output)``. Returns a handle whose ``remove()``
        unregisters it. ``always_call``: also run (with output None) when forward raises."""
        handle = self._kwargs_flag(self._add_hook("_forward_hooks", hook, prepend), with_kwargs)
        if always_call:
            object.__setattr__(self, "_hooks_always_call", self._hooks_always_call | {handle.id})
        return handle

    def _kwargs_flag(self, handle: RemovableHandle, with_kwargs: bool) -> RemovableHandle:
        if with_kwargs:
            object.__setattr__(self, "_hooks_with_kwargs", self._hooks_with_kwargs | {handle.id})
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to the module's
        inputs are computed (tuples: one entry per positional tensor input, per tensor output); a non-None
        result replaces ``grad_input``. Returns a handle whose ``remove()`` unregisters it."""
        return self._add_hook("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients of the module's outputs are known, before
        the module's own backward; a non-None result replaces ``grad_output``."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """PyTorch's deprecated form: here as :meth:`register_full_backward_hook` (PyTorch's own gives the
        gradients of the last operation's inputs, which only equal these for a single-operation module)."""
        return self.register_full_backward_hook(hook)

    # --- traversal --------------------------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo: set | None = None,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """Every module under its dotted path, pre-order; a module held twice is listed once unless
        ``remove_duplicate=False`` (then under each path, as PyTorch's)."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen = set()
        modules = self.named_modules(prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_name, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_name}.{name}" if mod_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter); a tied parameter once unless ``remove_duplicate=False``."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # --- modes and gradients ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode on this module and all submodules; a module pinned by ``keep_eval_(True)``
        (e.g. a frozen batch-norm layer, see ``eigengrad.nn.utils.freeze``) stays in eval."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        object.__setattr__(self, "training", mode and not self.__dict__.get("_keep_eval", False))
        for child in self.children():  # each child's own train(), so an override (a frozen BN) runs, as PyTorch's
            child.train(mode)
        return self

    def keep_eval_(self, keep: bool = True) -> "Module":
        """Pin this module (not its children) in eval mode: ``train()`` leaves it in eval while ``keep``."""
        object.__setattr__(self, "_keep_eval", bool(keep))
        if keep:
            object.__setattr__(self, "training", False)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad._data[...] = 0

    def apply(self, fn) -> "Module":
        """``fn(m)`` for every submodule, children before their parent (PyTorch's post-order: an init
        function that draws random numbers draws them in PyTorch's order); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- device and dtype (modules/casting.py): PyTorch's signatures, eigengrad runs on the CPU --------
    def to(self, *args, **kwargs) -> "Module":
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``: float parameters and buffers
        take the dtype (kept as the same Parameter objects); the device must be the CPU. Returns self."""
        return casting.to(self, *args, **kwargs)

    def cpu(self) -> "Module":
        """self: eigengrad's parameters live in CPU memory."""
        return self

    def cuda(self, device=None) -> "Module":
        """Raises: eigengrad runs on the CPU (``eigengrad.cuda.is_available()`` is False)."""
        return casting.cuda(self, device)

    def type(self, dst_type) -> "Module":
        """Every parameter and buffer cast to ``dst_type`` (a dtype or a type name such as
        'torch.DoubleTensor'). Returns self."""
        return casting.cast_all(self, dst_type)

    def float(self) -> "Module":
        return casting.cast_floating(self, np.float32)

    def double(self) -> "Module":
        return casting.cast_floating(self, np.float64)

    def half(self) -> "Module":
        return casting.cast_floating(self, np.float16)

    def bfloat16(self) -> "Module":
        raise TypeError("bfloat16: eigengrad computes in float32 and float64; bfloat16 is not supported")

    def to_empty(self, *, device=None, recurse: bool = True) -> "Module":
        """self (the parameters are already in CPU memory; their values are kept)."""
        casting.check_device(device)
        return self

    def share_memory(self) -> "Module":
        return self

    # --- state ------------------------------------------------------------------------------------
    _version: int = 1  # the state_dict format of the module's class (its _metadata "version")

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """Parameters and persistent buffers by PyTorch's dotted names (values share memory with the module,
        detached unless ``keep_vars``), with ``_metadata``; see ``state.py`` for the protocol and hooks."""
        from eigengrad.nn.modules import state

        if args:  # PyTorch's deprecated positional form state_dict(destination, prefix, keep_vars)
            destination, prefix, keep_vars = (tuple(args) + (destination, prefix, keep_vars)[len(args):])[:3]
        return state.state_dict(self, destination, prefix, keep_vars)

    def get_extra_state(self):
        """Override (with :meth:`set_extra_state`) to save picklable non-tensor state as ``prefix + '_extra_state'``
        in ``state_dict()``."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called. Please "
                           "file an issue if you see this.")

    def set_extra_state(self, state) -> None:
        """Override (with :meth:`get_extra_state`) to restore the state it saved."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called. Please "
                           "file an issue if you see this.")

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        from eigengrad.nn.modules import state

        state.save_to_state_dict(self, destination, prefix, keep_vars)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False) -> IncompatibleKeys:
        """Copy values into the parameters and buffers in place (views into optimizer buffers stay valid), or
        with ``assign`` put the given tensors in their place.

        Returns ``IncompatibleKeys(missing_keys, unexpected_keys)`` (PyTorch's ``_IncompatibleKeys``). Raises
        RuntimeError listing the missing and unexpected keys when ``strict``, and naming every key whose
        shape differs (also when not ``strict``, as PyTorch); nothing is copied when it raises (unless a
        load post-hook is registered: then, as PyTorch's, the copies and hooks run before the strict check,
        so a hook may drop keys from the lists). Each module's
        ``_load_from_state_dict`` runs (overrides included), then its children's.
        """
        from eigengrad.nn.modules import state

        return state.load_state_dict(self, state_dict, strict, assign)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        from eigengrad.nn.modules import state

        state.load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                   error_msgs)

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, prefix, keep_vars)`` before the module saves its state."""
        return self._add_hook("_state_dict_pre_hooks", hook, False)

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata)`` after the module and its children saved theirs;
        it edits the dict in place (a returned value raises RuntimeError, as PyTorch's)."""
        if not callable(hook):
            raise TypeError(f"hook: expected a callable, got {type(hook).__name__}")

        def must_return_none(*args):
            if hook(*args) is not None:
                raise RuntimeError("state_dict post-hook must return None")
        return self._add_hook("_state_dict_hooks", must_return_none, False)

    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        """PyTorch's private form of :meth:`register_state_dict_post_hook`: a returned dict replaces it."""
        return self._add_hook("_state_dict_hooks", hook, False)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` before the module loads its keys (it may edit ``state_dict``)."""
        return self._add_hook("_load_state_dict_pre_hooks", hook, False)

    def _register_load_state_dict_pre_hook(self, hook: Callable, with_module: bool = False) -> RemovableHandle:
        """PyTorch's private form: ``hook(state_dict, prefix, ...)``, with the module first if ``with_module``."""
        if with_module:
            return self.register_load_state_dict_pre_hook(hook)
        return self.register_load_state_dict_pre_hook(lambda module, *args: hook(*args))

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, incompatible_keys)`` after a successful load (it may edit the key lists)."""
        return self._add_hook("_load_state_dict_post_hooks", hook, False)

    # --- printing ---------------------------------------------------------------------------------
    def _get_name(self) -> str:
        """The class's name (PyTorch's, which repr and summaries print)."""
        return type(self).__name__

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        """PyTorch's layout: a one-line extra_repr alone stays on the head line; otherwise its lines, then the
        submodules', one per line, indented by two."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        lines = extra_lines + [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = type(self).__name__ + "("
        if len(lines) == 1 and extra_lines:
            return head + lines[0] + ")"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
