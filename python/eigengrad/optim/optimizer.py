"""``Optimizer``: param groups, per-parameter state, ``state_dict``, and the single-pass step over arenas.

An update rule subclasses :class:`Optimizer` and defines

    _state_names(group) -> tuple of per-parameter state arrays it keeps (e.g. ("momentum_buffer",))
    _state_fill(group, name) -> the value a new state array starts at (default 0)
    _scalar_state(group) -> {name: initial value} of per-parameter scalars (e.g. {"step": 0})
    _update(group, param, grad, state, first) -> None
        one fused kernel call over arrays: ``param`` (updated in place), ``grad``, ``state`` (name ->
        array, updated in place, and name -> scalar, which ``_update`` may replace, e.g. the step
        count) and ``first`` (True when the state arrays were created for this step).

Each param group's parameters (per dtype) get a :class:`~eigengrad.optim.arena.ParamArena`: their
gradients and the state arrays are flat, and so are the parameters when their memory can be (see the
arena). The base calls ``_update`` once per arena (one dtype: usually one call per group), or, when
the single pass cannot be used (a parameter without a gradient, parameters that keep their own
memory, states that differ), once per parameter with the same semantics, warning once per arena.
Every parameter the step changes gets a new version (as PyTorch's in-place update).

``self.state[p]`` holds each state array as a tensor over the parameter's view of the arena (no copy; as
PyTorch's, ``state['exp_avg'].norm()`` works and a write into it is what the next step reads); scalar states
such as ``step`` stay Python numbers (PyTorch's are 0-d tensors; ``state_dict()`` gives those).
"""
from __future__ import annotations

import copy
from collections import defaultdict
from typing import Callable, Iterable

import numpy as np

from eigengrad import _kernels, _trace
from eigengrad._errors import ArgumentError
from eigengrad.optim import step_hooks
from eigengrad.autograd.grad_mode import enable_grad
from eigengrad.autograd.version import bump, bump_all
from eigengrad.optim.arena import ParamArena, build_arenas
from eigengrad.optim.group_reads import ParamGroup
from eigengrad.optim.step_hooks import register_optimizer_step_post_hook, register_optimizer_step_pre_hook  # noqa: F401
from eigengrad.tensor import Tensor


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of optimizers (``torch.optim.Optimizer``)."""

    def __init__(self, params: Iterable, defaults: dict) -> None:
        step_hooks.patch_step(type(self))
        self.defaults = defaults
        self.state: dict = defaultdict(dict)  # PyTorch's: a hand-written step reads self.state[p] before it fills it
        self.param_groups: list[dict] = []
        self._arenas: list[list[ParamArena]] = []  # per param group, one arena per dtype
        if isinstance(params, Tensor):
            raise TypeError("params: expected an iterable of Tensors or dicts, got a single Tensor")
        if isinstance(params, (set, frozenset)):
            raise TypeError("params: expected an ordered iterable of Tensors or dicts (a set's order varies "
                            "between runs), got a set")
        groups = list(params)
        if not groups:
            raise ValueError("params: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group: expected a dict, got {type(param_group).__name__}")
        group = ParamGroup(param_group)
        params, names = _split_named(group["params"])
        if names is not None:
            group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"params: optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("params: can't optimize a non-leaf Tensor")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("params: some parameters appear in more than one parameter group")
        if len({id(p) for p in params}) != len(params):  # tied weights listed twice: PyTorch warns
            import warnings

            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information "
                          "(eigengrad updates each parameter once)", stacklevel=3)
            first: dict = {}
            for i, p in enumerate(params):
                first.setdefault(id(p), i)
            keep = sorted(first.values())
            params = [params[i] for i in keep]
            if names is not None:
                group["param_names"] = [names[i] for i in keep]
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            group.setdefault(name, default)
        group["params"] = params
        self.param_groups.append(group)
        label = f"{type(self).__name__} param group {len(self.param_groups) - 1}"
        self._arenas.append(build_arenas(params, label) if params else [])

    def register_step_pre_hook(self, hook: Callable):
        """``hook(optimizer, args, kwargs)`` before each ``step``; it may return ``(new_args, new_kwargs)``."""
        return step_hooks.add(self, "_optimizer_step_pre_hooks", hook)

    def register_step_post_hook(self, hook: Callable):
        """``hook(optimizer, args, kwargs)`` after each ``step``."""
        return step_hooks.add(self, "_optimizer_step_post_hooks", hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer)`` before ``state_dict`` packs the state."""
        return step_hooks.add(self, "_optimizer_state_dict_pre_hooks", hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer, state_dict)`` after ``state_dict``; a returned dict replaces it."""
        return step_hooks.add(self, "_optimizer_state_dict_post_hooks", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer, state_dict)`` before ``load_state_dict``; a returned dict is loaded instead."""
        return step_hooks.add(self, "_optimizer_load_state_dict_pre_hooks", hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False):
        """``hook(optimizer)`` after ``load_state_dict``."""
        return step_hooks.add(self, "_optimizer_load_state_dict_post_hooks", hook, prepend)

    def _hooks(self, store: str) -> list:
        return list(self.__dict__.get(store, {}).values())

    @property
    def arenas(self) -> list[ParamArena]:
        """The parameter arenas of all groups, in group order: each holds a gradient buffer ``grad`` that
        backward fills (``register_grad_ready_hook`` hears when each parameter's gradient is final)."""
        return [a for arenas in self._arenas for a in arenas]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear gradients: to None (default, as PyTorch) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    _kernels.fill_(p.grad._data, 0)

    # --- the step ---------------------------------------------------------------------------------
    def _state_names(self, group: dict) -> tuple:
        return ()

    def _state_fill(self, group: dict, name: str) -> float:
        return 0.0

    def _scalar_state(self, group: dict) -> dict:
        return {}

    def _update(self, group: dict, param: np.ndarray, grad: np.ndarray, state: dict, first: bool) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _update()")

    # An update rule that is one elementwise kernel call defines _kernel_call(group, state, first) ->
    # (binding, state names, keyword scalars), advancing the scalar state (step counts) in ``state``; its
    # _update is then _run_kernel. eg.compile uses it to run each parameter's update as soon as its gradient
    # is final (compile/fuse_optim.py), with the scalars of each step.
    _kernel_call = None

    def _run_kernel(self, group: dict, param: np.ndarray, grad: np.ndarray, state: dict, first: bool) -> None:
        fn, names, kw = self._kernel_call(group, state, first)
        fn(param, grad, *[state.get(n) for n in names], **kw)

    def _arena_kernel_call(self, group: dict, arena: ParamArena) -> tuple:
        """What one fused step of ``arena`` would call, its scalar state advanced as that step does (for
        eg.compile's per-parameter updates, whose arrays are bound once): (binding, keyword scalars)."""
        scalars = _shared_scalars([self.state[p] for p in arena.params], self._scalar_state(group))
        if scalars is None:
            raise RuntimeError(f"{type(self).__name__}: the parameters' step counts differ (changed by hand since "
                               "the step was compiled); a compiled step needs them equal within a group")
        state = dict(scalars)
        fn, _, kw = self._kernel_call(group, state, False)
        self._commit_scalars(arena, state, scalars)
        return fn, kw

    def _commit_scalars(self, arena: ParamArena, state: dict, scalars: dict) -> None:
        values = {k: state[k] for k in scalars}
        for p in arena.params:
            self.state.setdefault(p, {}).update(values)
        bump_all(arena.params)

    def step(self, closure: Callable | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = None
        if closure is not None:
            _trace.reject("optimizer.step(closure) inside the step")
            with enable_grad():
                loss = closure()
        # eg.compile replays the update as one plan step: it reads lr, betas, weight decay and the step
        # counts from Python at every replay, as this method does
        _trace.python_op(self._step_groups)
        return loss

    def _step_groups(self) -> None:
        for group, arenas in zip(self.param_groups, self._arenas):
            names = self._state_names(group)
            for arena in arenas:
                why = self._step_fused(group, arena, names)
                if why is not None:
                    arena.note_once(why)
                    self._step_each(group, arena, names)

    def _step_fused(self, group: dict, arena: ParamArena, names: tuple) -> str | None:
        """One kernel call over the arena's buffers; else (nothing done) the reason it cannot be used."""
        why = arena.unfused_reason() or self._state_unfused_reason(group, arena, names)
        if why is not None:
            return why
        states = [self.state.get(p, {}) for p in arena.params]
        arrays = {n: arena.state_buffer(n, [_raw(s[n]) for s in states]) for n in names if n in states[0]}
        missing = [n for n in names if n not in arrays]
        scalars = _shared_scalars(states, self._scalar_state(group))
        for n in missing:  # created only now, so that a fallback never leaves half-made state behind
            arrays[n], views = arena.new_state(n, self._state_fill(group, n))
            for p, v in zip(arena.params, views):
                self.state.setdefault(p, {})[n] = Tensor._wrap(v)
        state = {**scalars, **arrays}
        self._update(group, arena.data, arena.grad, state, bool(missing))
        self._commit_scalars(arena, state, scalars)
        return None

    def _state_unfused_reason(self, group: dict, arena: ParamArena, names: tuple) -> str | None:
        """None when the arena's state allows one kernel call (each state array absent for every parameter, or
        every parameter's the arena's view of it; the step counts equal), else why not. eg.compile reads it at
        every call: a plan's fused updates are bound to the arena's buffers (compile/state.py)."""
        states = [self.state.get(p, _NO_STATE) for p in arena.params]
        for n in names:
            entry = arena._state.get(n)  # (flat array, views): the state is in the arena when each is its view
            if (entry is None or not _all_views(states, n, entry[1])) and any(n in s for s in states):
                return (f"the parameters' {n!r} states are not all in the arena (a parameter had no gradient at "
                        "an earlier step, or a state was replaced)")
        if _shared_scalars(states, self._scalar_state(group)) is None:
            return "the parameters' step counts differ (a parameter had no gradient at an earlier step)"
        return None

    def _step_each(self, group: dict, arena: ParamArena, names: tuple) -> None:
        for i, p in enumerate(arena.params):
            if p.grad is None:
                continue
            state = self.state.setdefault(p, {})
            first = not all(n in state for n in names)
            for n in names:
                if n not in state:
                    state[n] = Tensor._wrap(arena.state_view(n, i, self._state_fill(group, n)))
            for k, v in self._scalar_state(group).items():
                state.setdefault(k, v)
            raw = {k: _raw(v) for k, v in state.items()}
            param = p._data  # a strided parameter (shared with the user) is updated through a contiguous copy
            work = param if param.flags.c_contiguous else np.ascontiguousarray(param)
            # _kernels.contiguous keeps a 0-d gradient 0-d (np.ascontiguousarray makes it shape (1,))
            self._update(group, work, _kernels.contiguous(p.grad._data), raw, first)
            state.update({k: v for k, v in raw.items() if not isinstance(v, np.ndarray)})  # the scalars it replaced
            if work is not param:
                param[...] = work
            bump(p)

    # --- state_dict -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{'state': {index: {name: tensor}}, 'param_groups': [{..., 'params': [indices]}]}`` as PyTorch:
        state arrays as tensors (copies), a step count as a 0-d float32 tensor (``state['step'].item()``).
        The hooks of ``register_state_dict_pre_hook``/``_post_hook`` run before and after."""
        for hook in self._hooks("_optimizer_state_dict_pre_hooks"):
            hook(self)
        packed = self._packed_state()
        for hook in self._hooks("_optimizer_state_dict_post_hooks"):
            result = hook(self, packed)
            packed = packed if result is None else result
        return packed

    def _packed_state(self) -> dict:
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        save = _copied if self._hand_written else _saved_state_value
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {k: save(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    @property
    def _hand_written(self) -> bool:
        """True for a subclass with its own ``step`` over ``self.state`` (a PyTorch-style optimizer a script
        defines, or LBFGS): its state holds whatever its step put there, and is saved and loaded as such."""
        return type(self)._update is Optimizer._update

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state; arrays are copied into the existing (flat) layout. The hooks of
        ``register_load_state_dict_pre_hook`` (which may return the dict to load) and ``_post_hook`` run around."""
        for hook in self._hooks("_optimizer_load_state_dict_pre_hooks"):
            result = hook(self, state_dict)
            state_dict = state_dict if result is None else result
        self._load_packed_state(state_dict)
        for hook in self._hooks("_optimizer_load_state_dict_post_hooks"):
            hook(self)

    def _load_packed_state(self, state_dict: dict) -> None:
        if isinstance(state_dict, dict) and "param_groups" not in state_dict:  # PyTorch's KeyError
            raise KeyError("param_groups")
        groups = state_dict.get("param_groups")
        if not isinstance(groups, list) or len(groups) != len(self.param_groups):
            raise ValueError(f"state_dict: loaded state dict has {len(groups or [])} parameter groups, "
                             f"the optimizer has {len(self.param_groups)}")
        for mine, saved in zip(self.param_groups, groups):
            if len(saved["params"]) != len(mine["params"]):
                raise ValueError("state_dict: loaded state dict contains a parameter group that doesn't match "
                                 "the size of the optimizer's group")
        index = {}
        for mine, saved in zip(self.param_groups, groups):
            for p, i in zip(mine["params"], saved["params"]):
                index[i] = p
        saved_state = {int(k): v for k, v in state_dict.get("state", {}).items()}
        arena_of = {id(p): arena for arena in self.arenas for p in arena.params}
        scalars_of = {id(p): self._scalar_state(g) for g in self.param_groups for p in g["params"]}
        for i, p in index.items():
            for name, value in saved_state.get(i, {}).items():
                if self._hand_written:
                    self.state[p][name] = _cast_to_param(p, name, value)
                else:
                    self._load_state_value(p, name, value, arena_of[id(p)], name in scalars_of[id(p)])
        for mine, saved in zip(self.param_groups, groups):
            for k, v in saved.items():
                if k != "params":
                    mine[k] = copy.deepcopy(v)

    def _load_state_value(self, p: Tensor, name: str, value, arena: ParamArena, scalar: bool) -> None:
        """Store one saved state of ``p``: scalars (``scalar``: a name of ``_scalar_state``) as they are, arrays
        copied into p's slot of the arena's flat state array, so that the next step is again one kernel call."""
        state = self.state.setdefault(p, {})
        value = _foreign_array(value)
        if value is None and not scalar:  # PyTorch's "not made yet" (SGD saves momentum_buffer=None): the next
            state.pop(name, None)         # step starts it afresh, as PyTorch's does
            return
        if not isinstance(value, (np.ndarray, Tensor)):
            state[name] = value
            return
        arr = value._data if isinstance(value, Tensor) else value
        if arr.ndim == 0 and (scalar or p.ndim != 0):  # the step count (PyTorch saves a 0-d float32 tensor); a
            # 0-d parameter's array states (exp_avg, ...) are 0-d too
            v = arr.item()
            if name == "step":
                state[name] = int(v) if float(v).is_integer() else v
            elif np.issubdtype(arr.dtype, np.floating) and np.issubdtype(p._data.dtype, np.floating):
                # as PyTorch's load_state_dict, a floating scalar state other than the step count (NAdam's
                # mu_product, ASGD's eta and mu) takes the parameter's dtype, and the later steps compute it
                # in that dtype: a numpy scalar of that type carries it
                state[name] = p._data.dtype.type(v)
            else:
                state[name] = v
            return
        if arr.shape != p.shape:  # PyTorch: a RuntimeError at the next step
            raise ArgumentError(f"state_dict: state {name!r} has shape {arr.shape}, its parameter has {p.shape}")
        if name not in state:
            state[name] = Tensor._wrap(arena.state_view(name, arena.index(p), 0.0))
        np.copyto(_raw(state[name]), arr.astype(p.dtype, copy=False))

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _raw(v):
    """A state value as the update kernels take it: a state tensor's array (a view into the arena)."""
    return v._data if isinstance(v, Tensor) else v


def _saved_state_value(v):
    """One state value as PyTorch's state_dict holds it: an array as a tensor (a copy), a number (the step
    count, NAdam's mu_product) as a 0-d float32 tensor, a numpy floating scalar as a 0-d tensor of its dtype;
    anything else as it is."""
    v = _raw(v)
    if isinstance(v, np.ndarray):
        return Tensor._wrap(np.array(v, copy=True))
    if isinstance(v, np.floating):  # a scalar state kept in a given dtype (ASGD's eta, mu): saved in it
        return Tensor._wrap(np.array(v, dtype=v.dtype))
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return Tensor._wrap(np.array(v, dtype=np.float32))
    return v


def _foreign_array(value):
    """A state value from another library's state_dict (a ``torch.Tensor`` in a dict that
    ``torch.optim.Optimizer.state_dict()`` returned) as a numpy array; anything else as it is. Stored
    as it came, such a value would only fail at the next step, with a message naming no cause."""
    if isinstance(value, (np.ndarray, Tensor, np.generic)) or not hasattr(value, "__array__") \
            or not hasattr(value, "shape") or not hasattr(value, "dtype"):
        return value
    detach, to_numpy = getattr(value, "detach", None), getattr(value, "numpy", None)
    if callable(detach) and callable(getattr(detach(), "numpy", None)):  # torch: no __array__(copy=...) keyword
        return np.array(detach().numpy(), copy=True)
    if callable(to_numpy):
        return np.array(to_numpy(), copy=True)
    return np.array(np.asarray(value), copy=True)


def _copied(v):
    """A hand-written optimizer's state value as saved: tensors as detached copies, the rest deep-copied."""
    if isinstance(v, Tensor):
        return Tensor._wrap(np.array(v._data, copy=True))
    return copy.deepcopy(v)


def _cast_to_param(p: Tensor, name: str, value):
    """A saved state value loaded for ``p`` as PyTorch's ``Optimizer.load_state_dict`` casts it: floating
    tensors take the parameter's dtype (the step count keeps its own), containers are walked; always copies,
    so that later steps never write into the dict the user loaded."""
    foreign = _foreign_array(value)
    if foreign is not value:  # another library's tensor: as an eigengrad tensor
        value = Tensor._wrap(foreign)
    if isinstance(value, Tensor):
        arr = value._data
        if name != "step" and np.issubdtype(arr.dtype, np.floating) and np.issubdtype(p._data.dtype, np.floating):
            return Tensor._wrap(arr.astype(p._data.dtype, copy=True))
        return Tensor._wrap(np.array(arr, copy=True))
    if isinstance(value, dict):
        return {k: _cast_to_param(p, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_to_param(p, name, v) for v in value)
    return copy.deepcopy(value)


def _split_named(params) -> tuple[list, list | None]:
    """The tensors of ``params`` and, when they come as ``(name, tensor)`` pairs (``named_parameters()``,
    as PyTorch accepts), their names; all or none must be named."""
    if isinstance(params, (set, frozenset)):
        raise TypeError("params: expected an ordered iterable of Tensors, got a set")
    items = [params] if isinstance(params, Tensor) else list(params)
    named = [isinstance(p, tuple) for p in items]
    if not any(named):
        return items, None
    if not all(named) or any(len(p) != 2 or not isinstance(p[0], str) for p in items):
        raise ValueError("params: expected all parameters as (name, Tensor) pairs or none, got a mix")
    return [p[1] for p in items], [p[0] for p in items]


_MISSING = object()
_NO_STATE: dict = {}  # (read only)


def _all_views(states: list, name: str, views: list) -> bool:
    """Whether each state's ``name`` is (a tensor over) the arena's view of it, in order."""
    for s, v in zip(states, views):
        t = s.get(name)
        if t is None or (t._data if isinstance(t, Tensor) else t) is not v:
            return False
    return True


def _shared_scalars(states: list, initial: dict):
    """The scalar states, equal across ``states`` (or all missing: their initial values); None if they differ."""
    scalars = {}
    for name, value0 in initial.items():
        values = [s.get(name, _MISSING) for s in states]
        if all(v is _MISSING for v in values):
            scalars[name] = value0
        elif any(v is _MISSING or v != values[0] for v in values):
            return None
        else:
            scalars[name] = values[0]
    return scalars


# --- PyTorch's private helpers that optimizers copied from torch/optim import -------------------------------------

# The params argument's type (``def __init__(self, params: ParamsT, lr=...)``): tensors, param-group dicts, or
# (name, tensor) pairs.
ParamsT = Iterable  # (typing: Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]])


def _get_value(x):
    """A step count or hyperparameter as a Python number (a 0-d tensor's ``item()``)."""
    return x.item() if isinstance(x, Tensor) else x


def _use_grad_for_differentiable(func: Callable) -> Callable:
    """The decorator of PyTorch's ``step`` methods: the step runs with gradients recorded only when the
    optimizer's ``differentiable`` default is set (off: no_grad, as eigengrad's own steps run)."""
    import functools

    from eigengrad.autograd.grad_mode import set_grad_enabled

    @functools.wraps(func)
    def _use_grad(self, *args, **kwargs):
        with set_grad_enabled(bool(self.defaults.get("differentiable", False))):
            return func(self, *args, **kwargs)

    return _use_grad


def _default_to_fused_or_foreach(params: list, differentiable: bool, use_fused: bool = False) -> tuple[bool, bool]:
    """(fused, foreach): PyTorch picks its multi-tensor or fused CUDA paths; on CPU both are off, as here."""
    return False, False
