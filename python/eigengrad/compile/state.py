"""What a compiled step touches besides its arguments: the modules and optimizers it uses (found in
the function's closure and globals), the signature a plan is valid for, the buffers a trace may read
or write, and snapshots of all of it (to check a plan's first replay against eager mode).
"""
from __future__ import annotations

import dis
import sys
import types

import numpy as np

from eigengrad import random as _random
from eigengrad.autograd.grad_mode import is_grad_enabled
from eigengrad.nn.modules import global_hooks
from eigengrad.nn.modules.module import Module
from eigengrad.optim.optimizer import Optimizer
from eigengrad.tensor import Tensor


def _names(code: types.CodeType) -> set:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _names(c)
    return names


def _assigned(code: types.CodeType) -> list:
    """The globals and the enclosing function's variables that ``code`` assigns (``global n; n += 1``,
    ``nonlocal``): Python side effects a replay would not make."""
    found = [i.argval for i in dis.get_instructions(code) if i.opname in ("STORE_GLOBAL", "DELETE_GLOBAL")
             or i.opname in ("STORE_DEREF", "DELETE_DEREF") and i.argval in code.co_freevars]
    return sorted(set(found))


class Reach:
    """The objects ``fn`` reaches by name: closure cells, the globals its code (and nested code) names,
    the instance of a bound method and that instance's attributes. ``objects()`` looks them up again (a
    global rebound to another model is seen at the next call). ``assigned``: the globals and outer
    variables ``fn`` itself assigns."""

    def __init__(self, fn) -> None:
        self.owner = getattr(fn, "__self__", None)
        fn = getattr(fn, "__func__", fn)
        code = getattr(fn, "__code__", None)
        self.cells = tuple(fn.__closure__ or ()) if code is not None else ()
        self.globals = getattr(fn, "__globals__", {}) if code is not None else {}
        self.names = tuple(sorted(_names(code))) if code is not None else ()
        self.assigned = _assigned(code) if code is not None else []

    def objects(self) -> list:
        objs = []
        if self.owner is not None:
            objs.append(self.owner)
            objs += list(getattr(self.owner, "__dict__", {}).values())
        objs += [c.cell_contents for c in self.cells if _filled(c)]
        g = self.globals
        objs += [g[n] for n in self.names if n in g]
        return objs + _one_level_further(objs)


def _one_level_further(objs: list) -> list:
    """The models and optimizers one step further than the names the step reads: those a helper function of
    the user's names (``def loss_of(x, y): return crit(model(x), y)``) and the attributes of a user's object
    (``trainer.model``). Only models, optimizers and schedulers: a changing attribute of another kind (a
    counter) must not look like a rebinding. A helper's tensors too (``F.cross_entropy(out, y,
    weight=class_weights)`` with a global ``class_weights``), as the step's own: read live at every replay."""
    found = []
    for o in objs:
        if isinstance(o, types.FunctionType) and not _library(o):
            cells = [c.cell_contents for c in (o.__closure__ or ()) if _filled(c)]
            found += [v for v in cells + [o.__globals__[n] for n in _names(o.__code__) if n in o.__globals__]
                      if _trainable(v) or _holds_tensor(v)]
        elif _users_object(o):
            found += [v for v in vars(o).values() if _trainable(v)]
    return found


def _library(fn) -> bool:
    """A function of eigengrad, NumPy, PyTorch or the standard library (not a helper of the user's)."""
    module = getattr(fn, "__module__", None) or ""
    return module.split(".")[0] in ("eigengrad", "numpy", "torch", "jax") or module in sys.stdlib_module_names


def _users_object(o) -> bool:
    return (hasattr(o, "__dict__") and not isinstance(o, (type, types.ModuleType, types.FunctionType, types.MethodType,
                                                           Module, Optimizer, Tensor, np.ndarray))
            and not _library(type(o)))


def _holds_tensor(v) -> bool:
    """A tensor, or a list, tuple or dict holding one (as StepState's tensor sources)."""
    return isinstance(v, Tensor) or isinstance(v, (list, tuple, dict)) and any(isinstance(o, Tensor) for o in _items(v))


def _trainable(v) -> bool:
    """A model, an optimizer or a scheduler, or a list, tuple or dict holding one (as StepState reads them)."""
    if isinstance(v, (list, tuple, dict)):
        return any(_trainable_item(x) for x in (v.values() if isinstance(v, dict) else v))
    return _trainable_item(v)


def _trainable_item(v) -> bool:
    return isinstance(v, (Module, Optimizer)) or isinstance(getattr(v, "optimizer", None), Optimizer)


def _is_scheduler(o) -> bool:
    """Whether ``o`` is an ``LRScheduler`` (whose module is loaded only when one is built: import eigengrad
    stays light)."""
    base = sys.modules.get("eigengrad.optim._schedulers.base")
    return base is not None and isinstance(o, base.LRScheduler)


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


class StepState:
    """The modules, optimizers and parameters a step uses."""

    def __init__(self, objects: list, modules=(), optimizers=()) -> None:
        mods, opts, scheds = list(modules), list(optimizers), []
        # tensors the step reaches by name, alone or in a list, tuple or dict (an EMA's shadow weights): buffers
        # of the plan; ``observe`` reads the containers again at every call
        self._tensor_sources = [obj for obj in objects if _holds_tensor(obj)]
        for obj in objects:
            for o in _items(obj):
                if isinstance(o, Module):
                    mods.append(o)
                elif isinstance(o, Optimizer):
                    opts.append(o)
                elif isinstance(getattr(o, "optimizer", None), Optimizer):  # a scheduler
                    opts.append(o.optimizer)
                    if _is_scheduler(o):  # its step() is a plan step: replays change its state
                        scheds.append(o)
        self.roots = _unique(mods)
        self.schedulers = _unique(scheds)
        self.modules = _unique(m for root in mods for m in root.modules())
        self.optimizers = _unique(opts)
        self.params = _unique([p for m in self.modules for p in m.parameters(recurse=False)] +
                              [p for o in self.optimizers for g in o.param_groups for p in g["params"]])
        self.tensors = self._reached_tensors()

    def _reached_tensors(self) -> list:
        return _unique(t for src in self._tensor_sources for t in _items(src) if isinstance(t, Tensor))

    def observe(self) -> tuple:
        """(identities, signature, hooks), read in one pass over the modules, parameters and optimizers: it
        runs at every call, after the step's kernels evicted these objects from the caches (inside the
        MLP step at batch 128 on the Intel host, three separate passes cost ~60 us, one ~30 us).

        - identities: the ids of every module's submodules and parameters and of the parameters' arrays,
          then of the optimizers' parameters and arrays (a replaced layer or parameter, or ``p.data =
          ...``, changes them), read from the registries directly (4x cheaper than ``parameters()``);
        - signature: what a plan is specific to besides the arguments: grad mode, every module's training
          flag, the optimizers' structure and whether they have state, which parameters have a gradient;
        - hooks: None, or why hooks keep the step from compiling (they run Python at every call)."""
        ids: list = []
        training = []
        hooks = None
        for m in self.modules:
            training.append(m.training)
            ids += map(id, m._modules.values())
            for p in m._parameters.values():
                ids.append(id(p))
                if p is not None:
                    ids.append(id(p._data))
            if hooks is None and (m._forward_pre_hooks or m._forward_hooks or global_hooks.FORWARD_PRE
                                  or global_hooks.FORWARD):
                hooks = f"{type(m).__name__} has forward hooks (hooks run Python at every call)"
            if hooks is None and (m._backward_pre_hooks or m._backward_hooks):
                hooks = f"{type(m).__name__} has backward hooks (hooks run Python at every call)"
        for o in self.optimizers:
            for g in o.param_groups:
                for p in g["params"]:
                    ids.append(id(p))
                    ids.append(id(p._data))
            if hooks is None and any(arena.hooks for arena in o.arenas):
                hooks = "an optimizer's gradient buffer has grad-ready hooks (hooks run Python at every call)"
        for t in self._reached_tensors():  # (an element replaced, added or removed, or t.data = ...)
            ids.append(id(t))
            ids.append(id(t._data))
        signature = (is_grad_enabled(), tuple(training),
                     tuple(tuple(len(g["params"]) for g in o.param_groups) for o in self.optimizers),
                     tuple(bool(o.state) for o in self.optimizers),
                     tuple(p.grad is None for p in self.params))
        return ids, signature, hooks

    def persistent(self) -> list:
        """(array, description) of every buffer that lives across steps."""
        out = []
        for i, p in enumerate(self.params):
            out.append((p._data, f"parameter {i} {tuple(p.shape)}"))
            if p.grad is not None:
                out.append((p.grad._data, f"gradient {i}"))
        for m in self.modules:
            for name, b in m.named_buffers(recurse=False):
                if b is not None:
                    out.append((b._data, f"{type(m).__name__}.{name}"))
        for i, t in enumerate(self.tensors):
            out.append((t._data, f"tensor {i} the step reaches by name {tuple(t.shape)}"))
        for o in self.optimizers:
            for arena in o.arenas:
                out.append((arena.grad, f"{arena.label} gradient buffer"))
                if arena.data is not None:
                    out.append((arena.data, f"{arena.label} parameter buffer"))
                for name, (flat, _) in arena._state.items():
                    out.append((flat, f"{arena.label} {name}"))
        return out

    def snapshot(self, generators) -> "Snapshot":
        return Snapshot(self, generators)


def _items(obj):
    """A container's elements (a dict's values), or the object itself."""
    return obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else (obj,)


def _unique(items) -> list:
    seen, out = set(), []
    for x in items:
        if id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out


class Snapshot:
    """Copies of everything a step changes: buffers, optimizer scalars (step counts) and hyperparameters,
    schedulers, generators, and the ``.grad`` attributes; ``restore()`` puts them back, ``==`` compares
    bit for bit."""

    def __init__(self, state: StepState, generators) -> None:
        self.arrays = [(a, a.copy()) for a, _ in state.persistent()]
        self.scalars = [(s, {k: v for k, v in s.items() if not isinstance(v, np.ndarray)})
                        for o in state.optimizers for s in o.state.values()]
        self.groups = [(g, {k: v for k, v in g.items() if k != "params"})
                       for o in state.optimizers for g in o.param_groups]
        self.schedulers = [(s, s.state_dict()) for s in state.schedulers]
        self.gens = [(g, g._seed, g._offset) for g in _unique([_random.default_generator, *generators])]
        self.grads = [(p, p.grad) for p in state.params]

    def restore(self) -> None:
        for a, saved in self.arrays:
            np.copyto(a, saved)
        for s, scalars in self.scalars:
            s.update(scalars)
        for g, values in self.groups:
            g.update(values)
        for s, saved in self.schedulers:
            s.load_state_dict(saved)
        for g, seed, offset in self.gens:
            g._seed, g._offset = seed, offset
        for p, grad in self.grads:
            p.grad = grad

    def same(self, other: "Snapshot") -> bool:
        return (len(self.arrays) == len(other.arrays)
                and all(same_bits(a, b) for (_, a), (_, b) in zip(self.arrays, other.arrays))
                and [s for _, s in self.scalars] == [s for _, s in other.scalars]
                and [g for _, g in self.groups] == [g for _, g in other.groups]
                and _epochs(self.schedulers) == _epochs(other.schedulers)
                and [g[1:] for g in self.gens] == [g[1:] for g in other.gens])


def _epochs(schedulers: list) -> list:
    return [saved.get("last_epoch") for _, saved in schedulers]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.ascontiguousarray(a).tobytes() == \
        np.ascontiguousarray(b).tobytes()


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)
