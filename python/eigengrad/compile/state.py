"""What a compiled step touches besides its arguments: the modules and optimizers it uses (found in
the function's closure and globals), the signature a plan is valid for, the buffers a trace may read
or write, and snapshots of all of it (to check a plan's first replay against eager mode).
"""
from __future__ import annotations

import dis
import functools
import operator
import sys
import types

import numpy as np

from eigengrad import random as _random
from eigengrad import tensor as _tensor_module
from eigengrad.autograd import grad_mode as _grad_mode
from eigengrad.autograd.grad_mode import is_grad_enabled
from eigengrad.nn.modules import global_hooks
from eigengrad.nn.modules.module import Module
from eigengrad.optim.optimizer import Optimizer
from eigengrad.compile.pystate import PLAIN as _PLAIN  # the types of a module's attributes in a step's signature
from eigengrad.compile.pystate import attribute_names
from eigengrad.compile.guard import AGREE, EQ, LEN, NONE, TRUTH
from eigengrad.compile.recorder import array_root
from eigengrad.tensor import Tensor, default_float


@functools.lru_cache(maxsize=1024)
def _names(code: types.CodeType) -> frozenset:
    """The global names ``code`` (and the code nested in it) loads. Not ``co_names``: that also holds the
    attribute names (``opt.step()`` names ``step``), and a global of the same name (the loop's ``for step in
    range(...)``) then looked like an object the step reads, rebound at every call."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _names(c)
    return frozenset(names)


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
        self.bound = []  # a functools.partial's arguments (the model and optimizer a step was bound to)
        while isinstance(fn, functools.partial):
            self.bound += [*fn.args, *fn.keywords.values()]
            fn = fn.func
        self.owner = getattr(fn, "__self__", None)
        if self.owner is None and not isinstance(fn, types.FunctionType) and isinstance(
                getattr(type(fn), "__call__", None), types.FunctionType):  # a callable object: its __call__
            self.owner, fn = fn, type(fn).__call__
        fn = getattr(fn, "__func__", fn)
        code = getattr(fn, "__code__", None)
        self.code = code
        self.cells = tuple(fn.__closure__ or ()) if code is not None else ()
        self.freevars = code.co_freevars if code is not None else ()
        self.globals = getattr(fn, "__globals__", {}) if code is not None else {}
        self.names = tuple(sorted(_names(code))) if code is not None else ()
        self.assigned = _assigned(code) if code is not None else []
        # default arguments (def step(x, y, model=model)): read like the closure
        self.defaults = (*(getattr(fn, "__defaults__", None) or ()),
                         *(getattr(fn, "__kwdefaults__", None) or {}).values()) if code is not None else ()

    def objects(self, p=None) -> list:
        """The objects, looked up now; with ``p`` (a guard's Probes, compile/guard.py), each read is also
        added to it as a probe as strict as the read or stricter."""
        objs = list(self.bound) + list(self.defaults)
        if self.owner is not None:
            objs.append(self.owner)
            if p is not None and hasattr(self.owner, "__dict__"):
                p.attr(self.owner, "__dict__")
                p.items(self.owner.__dict__)
            objs += list(getattr(self.owner, "__dict__", {}).values())
        for c in self.cells:
            if p is not None:
                p.cell(c)
            if _filled(c):
                objs.append(c.cell_contents)
        g = self.globals
        for n in self.names:
            if p is not None:
                p.name(g, n)
            if n in g:
                objs.append(g[n])
        return objs + _one_level_further(objs, p)

    def named(self) -> tuple[list, list]:
        """((label, object), ...) of what the step names and of what the user's helper functions it names
        name, and the code objects of the step and those helpers: for ``pystate.PythonState``."""
        out = [("a bound argument", o) for o in self.bound] + [("a default argument", o) for o in self.defaults]
        if self.owner is not None:
            out.append(("self", self.owner))
        out += [(name, c.cell_contents) for name, c in zip(self.freevars, self.cells) if _filled(c)]
        out += [(n, self.globals[n]) for n in self.names if n in self.globals]
        codes = [] if self.code is None else [self.code]
        for label, o in list(out):
            if isinstance(o, types.FunctionType) and not _library(o):
                codes.append(o.__code__)
                out += [(f"{label}'s {n}", c.cell_contents)
                        for n, c in zip(o.__code__.co_freevars, o.__closure__ or ()) if _filled(c)]
                out += [(f"{label}'s {n}", o.__globals__[n]) for n in _names(o.__code__) if n in o.__globals__]
        return out, codes


def _one_level_further(objs: list, p=None) -> list:
    """The models and optimizers one step further than the names the step reads: those a helper function of
    the user's names (``def loss_of(x, y): return crit(model(x), y)``) and the attributes of a user's object
    (``trainer.model``). Only models, optimizers and schedulers: a changing attribute of another kind (a
    counter) must not look like a rebinding. A helper's tensors too (``F.cross_entropy(out, y,
    weight=class_weights)`` with a global ``class_weights``), as the step's own: read live at every replay.
    And a helper's plain values (``loss * SCALE`` with a global ``SCALE``), as the step's own names: the trace
    froze them into the plan, so another value traces again.

    With ``p`` (a guard's Probes), each read is also a probe, stricter than the filters above: every value a
    helper or a user's object holds and every element of a container (``_contents`` probes what the filters
    read of each)."""
    found = []
    for o in objs:
        if p is not None:
            _probe_wrapped(p, o)
        wrapped = getattr(o, "__wrapped__", None)  # (a compiled or decorated helper: the function it wraps)
        if not isinstance(o, types.FunctionType) and isinstance(wrapped, types.FunctionType):
            o = wrapped
        if isinstance(o, types.FunctionType) and not _library(o):
            values = _helper_values(o, p)
            found += [v for v in values if _trainable(v) or _holds_tensor(v) or type(v) in _PLAIN]
        elif _users_object(o):
            if p is not None:
                p.attr(o, "__dict__")
                p.items(vars(o))
                for v in vars(o).values():
                    _contents(p, v)
            found += [v for v in vars(o).values() if _trainable(v)]
        elif isinstance(o, (list, tuple, dict)):
            if len(o) > _CONTAINER_ITEMS:
                if p is not None:
                    p.own(o, LEN)
                continue
            if p is not None:
                _contents(p, o)
            items = _items(o)
            found += [v for v in items if _trainable_item(v)]  # (reg["model"] = another model: seen)
            # a registry of the user's functions (LOSSES[name](out, y)): what each of them names, as a helper's
            found += _one_level_further([v for v in items if isinstance(v, types.FunctionType)], p)
    return found


def _helper_values(f, p=None) -> list:
    """What a user's function ``f`` names: its cells' contents and the globals its code loads (each read probed
    into ``p`` when given, with what the filters of ``_one_level_further`` read of it)."""
    if p is not None:
        p.attr(f, "__code__")
    values = []
    for c in f.__closure__ or ():
        if p is not None:
            p.cell(c)
        if _filled(c):
            values.append(c.cell_contents)
    g = f.__globals__
    for n in _names(f.__code__):
        if p is not None:
            p.name(g, n)
        if n in g:
            values.append(g[n])
    if p is not None:
        for v in values:
            _contents(p, v)
    return values


def _probe_wrapped(p, o) -> None:
    """What ``getattr(o, "__wrapped__", None)`` reads: an object's own attribute (its ``__dict__``'s item: a
    module's __getattr__ would run Python), a class's attribute; an object without a ``__dict__`` cannot gain
    one."""
    if isinstance(o, type):
        p.attr(o, "__wrapped__")
    elif type(getattr(o, "__dict__", None)) is dict:
        p.item(o.__dict__, "__wrapped__")


def _contents(p, v) -> None:
    """Probe what ``_trainable(v)`` and ``_holds_tensor(v)`` read of a value: a container's elements (any length)
    and each element's (or the value's own) ``optimizer`` attribute (a scheduler-like object)."""
    if isinstance(v, (list, tuple, dict)):
        p.items(v)
        for x in _items(v):
            _optimizer_attribute(p, x)
    else:
        _optimizer_attribute(p, v)


def _optimizer_attribute(p, x) -> None:
    """What ``getattr(x, "optimizer", None)`` reads: an object's own attribute (its ``__dict__``'s item), or one its
    class defines (a slot, a property). Nothing for a module or an optimizer (their type decides), nor for an
    object that can gain no such attribute (no ``__dict__``, nothing of that name on its class: a tuple in a
    list of batches; a failed lookup would cost an exception at every check)."""
    if isinstance(x, (Module, Optimizer, Tensor, np.ndarray)) or isinstance(x, tuple(_PLAIN)):
        return
    if type(getattr(x, "__dict__", None)) is dict:
        p.item(x.__dict__, "optimizer")
    elif hasattr(type(x), "optimizer"):
        p.attr(x, "optimizer")


# A list, tuple or dict the step names is looked into at every call for the models and optimizers it holds
# (an element replaced between calls is then seen) up to this many elements: a larger one is data.
_CONTAINER_ITEMS = 256


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
        self._tensor_sources += _module_tensor_sources(self.modules)
        self.optimizers = _unique(opts)
        self.params = _unique([p for m in self.modules for p in m.parameters(recurse=False)] +
                              [p for o in self.optimizers for g in o.param_groups for p in g["params"]])
        self.tensors = self._reached_tensors()
        self._plain: list = [None] * len(self.modules)  # per module: (len of its __dict__, its plain values' getter)
        self._code_globals = _code_globals(self.modules)

    def _reached_tensors(self) -> list:
        return _unique(t for src in self._tensor_sources for t in _items(src) if isinstance(t, Tensor))

    def observe(self) -> tuple:
        """(identities, signature, hooks), read in one pass over the modules, parameters and optimizers: it
        runs at every call, after the step's kernels evicted these objects from the caches (inside the
        MLP step at batch 128 on the Intel host, three separate passes cost ~60 us, one ~30 us).

        - identities: the ids of every module's submodules, parameters and buffers and of their arrays,
          then of the optimizers' parameters and arrays (a replaced layer or parameter, or ``p.data =
          ...``, changes them), read from the registries directly (4x cheaper than ``parameters()``);
        - signature: what a plan is specific to besides the arguments: grad mode, every module's training
          flag and other plain Python attributes (a dropout's ``p``, BatchNorm's ``momentum``, a loss's
          ``label_smoothing``: the trace froze them into the plan, so a change traces again; ~1 us for the
          issue's MLP), the optimizers' structure and whether they have state, which parameters have a gradient,
          which require one (``requires_grad_(False)`` between calls: the plan computes and applies every
          gradient its trace computed) and which have gradient hooks (added after the trace: the next trace
          sees them run and falls back);
        - hooks: None, or why hooks keep the step from compiling (they run Python at every call)."""
        ids: list = []
        options = []
        hooks = None
        global_forward = global_hooks.FORWARD_PRE or global_hooks.FORWARD
        for i, m in enumerate(self.modules):
            options.append(self._options(i, m.__dict__))
            ids += map(id, m._modules.values())
            # (a parameter or buffer, then its array: bn.running_mean = ... would leave the plan the old array)
            for t in (*m._parameters.values(), *m._buffers.values()):
                ids.append(id(t))
                if t is not None:
                    ids.append(id(t._data))
            if hooks is None and (global_forward or m._forward_pre_hooks or m._forward_hooks):
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
        signature = (is_grad_enabled(), default_float(), tuple(options),  # (set_default_dtype: the factories)
                     tuple(tuple(len(g["params"]) for g in o.param_groups) for o in self.optimizers),
                     tuple(bool(o.state) for o in self.optimizers),
                     # (which state arrays an update uses, and whether they exist yet: AMSGrad's or SGD's momentum
                     # buffer switched on; fuse_optim.py binds them)
                     tuple(_state_layout(o) for o in self.optimizers),
                     tuple([p._grad is None for p in self.params]),
                     # (a layer frozen or unfrozen between calls; a gradient hook added: the trace then sees it run)
                     tuple([p._requires_grad + 2 * (p._hooks is None) for p in self.params]),
                     # (a global the models' code reads: a plain value the trace froze into the plan)
                     tuple([token(g.get(n, _MISSING)) for g, n in self._code_globals]))
        return ids, signature, hooks

    def probe(self, p) -> None:
        """Add to guard ``p`` (compile/guard.py) what ``observe`` reads, as strictly or more (``rules``: the
        reads that run optimizer code, checked in Python)."""
        for name in ("FORWARD_PRE", "FORWARD"):
            p.item(vars(global_hooks), name, TRUTH)
        p.attr(_grad_mode._state, "enabled", EQ)
        p.item(_tensor_module.__dict__, "_DEFAULT_FLOAT", EQ)
        for i, m in enumerate(self.modules):
            p.attr(m, "__dict__")
            d = m.__dict__
            p.own(d, LEN)
            self._options(i, d)
            for k in self._plain[i][2]:
                p.item(d, k, EQ)
            for name in ("_modules", "_parameters", "_buffers"):
                p.item(d, name)
                p.items(d[name])
            for t in (*m._parameters.values(), *m._buffers.values()):
                if t is not None:
                    p.attr(t, "_data")
            for name in ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks"):
                p.attr(m, name, TRUTH)
        for o in self.optimizers:
            self._probe_optimizer(p, o)
        for src in self._tensor_sources:
            if isinstance(src, (list, tuple, dict)):
                p.items(src)
        for t in self._reached_tensors():
            p.attr(t, "_data")
        for g, n in self._code_globals:
            p.item(g, n)
        for q in self.params:
            p.attr(q, "_grad", NONE)
            p.attr(q, "_requires_grad", EQ)
            p.attr(q, "_hooks", NONE)

    @staticmethod
    def _probe_optimizer(p, o: Optimizer) -> None:
        """An optimizer's part of ``probe``: its param groups, arenas and hooks, and what ``_state_layout``
        reads (the arenas' state arrays; each parameter's state dict, its state tensors and their arrays;
        whether the step counts agree)."""
        p.attr(o, "param_groups")
        p.items(o.param_groups)
        for g in o.param_groups:
            p.item(g, "params")
            p.items(g["params"])
            for q in g["params"]:
                p.attr(q, "_data")
        p.attr(o, "_arenas")
        p.items(o._arenas)
        p.attr(o, "state")
        p.own(o.state, TRUTH)
        for g, arenas in zip(o.param_groups, o._arenas):
            p.items(arenas)
            names = o._state_names(g)
            for a in arenas:
                p.attr(a, "hooks", TRUTH)
                p.attr(a, "_state")
                for n in names:
                    p.item(a._state, n)
                    if n in a._state:
                        p.items(a._state[n][1])
                p.attr(a, "params")
                p.items(a.params)
                states = []
                for q in a.params:
                    p.item(o.state, q)
                    s = o.state.get(q)
                    states.append({} if s is None else s)
                    for n in names if s is not None else ():
                        p.item(s, n)
                        if isinstance(s.get(n), Tensor):
                            p.attr(s[n], "_data")
                for k in o._scalar_state(g):
                    p.own(tuple(states), AGREE, k)

    def rules(self) -> tuple:
        """What ``observe`` reads by running optimizer code (the state arrays and scalar states each group's
        update uses): a guard compares it in Python."""
        return tuple((o._state_names(g), tuple(o._scalar_state(g))) for o in self.optimizers for g in o.param_groups)

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
        roots = {id(array_root(a)) for a, _ in out}
        for o in self.optimizers:  # state outside the arenas (replaced by the user: updated one by one)
            for i, s in enumerate(o.state.values()):
                for name, v in s.items():
                    root = id(array_root(v._data)) if isinstance(v, Tensor) else None
                    if root is not None and root not in roots:
                        roots.add(root)
                        out.append((v._data, f"optimizer state {name!r} of parameter {i}"))
        return out

    def _options(self, i: int, d: dict):
        """The plain attributes' values of module ``i`` (``d``: its ``__dict__``), read by an itemgetter made
        again when an attribute is added or removed (5x cheaper than filtering the dict at every call)."""
        plain = self._plain[i]
        if plain is not None and plain[0] == len(d):
            try:
                return plain[1](d)
            except KeyError:  # (one attribute removed and another added since)
                pass
        keys = [k for k, v in d.items() if type(v) in _PLAIN]
        get = operator.itemgetter(*keys) if keys else (lambda _: ())
        self._plain[i] = (len(d), get, keys)  # (keys: what a guard compares, StepState.probe)
        return get(d)

    def forget_options(self) -> None:
        """Filter the modules' attributes again at the next ``observe`` (one that held a number now holds an
        unhashable value, such as a list: it leaves the signature)."""
        self._plain = [None] * len(self.modules)

    def python_state(self) -> tuple:
        """The Python state a step's own code may set besides tensors: every module's plain attributes
        (``model.eval()`` at the end of the step, a dropout's ``p``) and the parameters' ``requires_grad``."""
        return ([{k: v for k, v in m.__dict__.items() if type(v) in _PLAIN} for m in self.modules],
                [p.requires_grad for p in self.params])

    def tensor_attributes(self) -> dict:
        """{(module index, name): id} of the tensors the user's modules hold as plain attributes (see
        ``_module_tensor_sources``)."""
        return {(i, k): id(v) for i, m in enumerate(self.modules) if not _library(type(m))
                for k, v in m.__dict__.items() if isinstance(v, Tensor)}

    def tensor_attribute_set(self, before: dict) -> str | None:
        """Why the step cannot replay if it set a module's tensor attribute since ``before`` (``self.attn =
        weights`` kept for a plot): a replay would leave the traced tensor there."""
        now = self.tensor_attributes()
        for key in now.keys() | before.keys():
            if now.get(key) != before.get(key):
                i, name = key
                return (f"the step sets {type(self.modules[i]).__name__}.{name} (a tensor attribute, not a parameter "
                        "or buffer): a replay would not set it (keep it out of the compiled step, or register a "
                        "buffer and copy_ into it)")
        return None

    def python_writes(self, before: tuple) -> tuple:
        """What changed in ``python_state()`` since ``before`` (taken at the start of a trace): ((module index,
        ((name, value), ...)), ...), ((parameter index, requires_grad), ...). A replay sets them as the trace
        did (the signature holds the state the trace started from, so the step's code sets the same)."""
        options, flags = self.python_state()
        modules = tuple((i, tuple((k, v) for k, v in now.items() if k not in then or then[k] is not v and then[k] != v))
                        for i, (then, now) in enumerate(zip(before[0], options)) if now != then)
        params = tuple((i, f) for i, (then, f) in enumerate(zip(before[1], flags)) if f != then)
        return modules, params

    def apply_writes(self, writes: tuple) -> None:
        modules, params = writes
        for i, items in modules:
            self.modules[i].__dict__.update(items)
        for i, flag in params:
            self.params[i].requires_grad = flag

    def snapshot(self, generators) -> "Snapshot":
        return Snapshot(self, generators)


def _module_tensor_sources(modules: list) -> list:
    """Where the user's modules keep tensors that are neither parameters nor buffers, read live like the
    step's own: a module's tensor attributes (``self.mask = torch.tril(...)`` without ``register_buffer``),
    the tensors of an object it holds (a prior distribution), and the global tensors its ``forward`` names
    (a module-level ``SCALE``, an ``edge_index``)."""
    from eigengrad.distributions.distribution import Distribution

    found = []
    for m in modules:
        if _library(type(m)):
            continue
        attrs = m.__dict__
        if any(isinstance(v, Tensor) for v in attrs.values()):
            found.append(attrs)
        found += [vars(v) for v in attrs.values() if isinstance(v, Distribution)]
        forward = getattr(type(m), "forward", None)
        if isinstance(forward, types.FunctionType):
            g = forward.__globals__
            found += [g[n] for n in _names(forward.__code__) if n in g and _holds_tensor(g[n])]
    return found


def _code_globals(modules: list) -> list:
    """(globals, name) of every global the user's module classes' ``forward`` names, with the methods it calls
    on ``self`` (the library's own classes left out), and the user's functions that code names, one level
    further: ``forward`` returning ``self.fc(x) * SCALE`` with a global ``SCALE``."""
    pairs, seen = [], set()

    def add(f, further: bool) -> None:
        g = f.__globals__
        for n in sorted(_names(f.__code__)):
            if (id(g), n) not in seen:
                seen.add((id(g), n))
                pairs.append((g, n))
                v = g.get(n)
                if further and isinstance(v, types.FunctionType) and not _library(v):
                    add(v, False)
    for cls in _unique(type(m) for m in modules if not _library(type(m))):
        methods: dict = {}
        for k in reversed([k for k in cls.__mro__ if k is not object and not _library(k)]):
            methods.update({name: getattr(v, "__func__", v) for name, v in vars(k).items()})
        todo, done = ["forward", "__call__"], set()
        while todo:
            f = methods.get(todo.pop())
            if isinstance(f, types.FunctionType) and f not in done:
                done.add(f)
                add(f, True)
                todo += [a for a in attribute_names(f.__code__) if a in methods]
    return pairs


def token(v):
    """What identifies a value the step reads by name: a plain value itself, another object its identity."""
    return ("v", type(v), v) if type(v) in _PLAIN else ("id", id(v))


_MISSING = object()


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
        persistent = state.persistent()
        # (a read-only array, such as a buffer made by expand(), cannot change: HF BERT's position_ids)
        persistent = [(a, name) for a, name in persistent if a.flags.writeable]
        self.arrays = [(a, a.copy()) for a, _ in persistent]
        self.names = [name for _, name in persistent]
        self.scalars = [(s, {k: v for k, v in s.items() if not isinstance(v, np.ndarray)})
                        for o in state.optimizers for s in o.state.values()]
        self.groups = [(g, {k: v for k, v in g.items() if k != "params"})
                       for o in state.optimizers for g in o.param_groups]
        self.schedulers = [(s, s.state_dict()) for s in state.schedulers]
        self.gens = [(g, g._seed, g._offset) for g in _unique([_random.default_generator, *generators])]
        # (the array too: p.grad = None while the snapshot holds the tensor gives it a copy, Tensor.grad)
        self.grads = [(p, p.grad, None if p.grad is None else p.grad._data) for p in state.params]
        # Python state a replay leaves as it was: a step that changes it (requires_grad_, a dropout's p, in the
        # step's own code) does something the plan does not repeat
        self.flags = [(p, p.requires_grad) for p in state.params]
        self.options = [(m, {k: v for k, v in m.__dict__.items() if type(v) in _PLAIN}) for m in state.modules]

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
        for p, grad, data in self.grads:
            if grad is not None:
                grad._data = data
            p.grad = grad
        for p, flag in self.flags:
            p.requires_grad = flag
        for m, options in self.options:
            m.__dict__.update(options)

    def same(self, other: "Snapshot") -> bool:
        return self.difference(other) is None

    def difference(self, other: "Snapshot") -> str | None:
        """None when both hold the same bits, else what differs first (the fallback's reason names it)."""
        if [g[1:] for g in self.gens] != [g[1:] for g in other.gens]:  # (first: draws from it change the rest)
            return "a generator's state (eg.manual_seed inside the step?)"
        if len(self.arrays) != len(other.arrays):
            return "the number of buffers"
        for name, (_, u), (_, v) in zip(self.names, self.arrays, other.arrays):
            if not same_bits(u, v):
                return f"the {name}"
        checks = (("an optimizer's step counts", [s for _, s in self.scalars], [s for _, s in other.scalars]),
                  ("a param group's hyperparameters", [g for _, g in self.groups], [g for _, g in other.groups]),
                  ("a scheduler's epoch", _epochs(self.schedulers), _epochs(other.schedulers)),
                  ("a parameter's requires_grad", [f for _, f in self.flags], [f for _, f in other.flags]),
                  ("a module's Python attributes", [o for _, o in self.options], [o for _, o in other.options]))
        for what, mine, theirs in checks:
            if mine != theirs:
                return what
        return None


def _epochs(schedulers: list) -> list:
    return [saved.get("last_epoch") for _, saved in schedulers]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.ascontiguousarray(a).tobytes() == \
        np.ascontiguousarray(b).tobytes()


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def _state_layout(o: Optimizer) -> tuple:
    """Per param group: the names of the state arrays its update uses, and per arena the flat arrays that
    hold them (their ids: ``opt.state.clear()`` makes new ones at the next step) and whether the state
    allows the fused update (every parameter's state the arena's view, equal step counts: a parameter
    frozen for a step, a state replaced or deleted make eager mode update parameter by parameter). A plan's
    fused updates are bound to those arrays, so a change traces again."""
    out = []
    for g, arenas in zip(o.param_groups, o._arenas):
        names = o._state_names(g)
        out.append((names, tuple((tuple(id(a._state[n][0]) if n in a._state else None for n in names),
                                  o._state_unfused_reason(g, a, names) is None) for a in arenas)))
    return tuple(out)
