"""``eg.compile``: trace a step once, check the trace, replay its plan at the next calls.

The life of one signature (argument shapes, dtypes and flags, see ``CompiledFunction``):

1. The first call runs the step eagerly while the tracer records it (``recorder``): a plan.
2. The second call traces again; the two plans must have the same structure (else Python decides
   something from values or state the tracer cannot see: the function falls back to eager mode).
3. The third call replays the plan and then, from the same starting state, runs the step eagerly and
   compares every buffer, step count, generator and output bit for bit (``verify=True``, the default):
   eager's results are kept; a difference makes the function fall back to eager mode.
4. Later calls replay the plan.

Any fallback warns once, naming the reason, and the function runs eagerly from then on.
"""
from __future__ import annotations

import functools
import gc
import warnings
from collections import OrderedDict

import numpy as np

from eigengrad import _trace
from eigengrad.autograd import anomaly as _anomaly
from eigengrad.compile.guard import EQ, Guard, Probes
from eigengrad.compile.plan import Plan
from eigengrad.compile.recorder import Tracer, recording, tracing_here
from eigengrad.compile.pystate import PythonState
from eigengrad.compile.state import Reach, StepState, _items, _library, same_bits, token
from eigengrad.tensor import Tensor


class _Entry:
    """The plan of one signature, how the step's result is built from its outputs, and how far it got."""
    __slots__ = ("plan", "layout", "writes", "fingerprint", "traces", "verified", "live")

    def __init__(self, plan: Plan, layout: tuple, writes: tuple, live: dict) -> None:
        self.plan, self.layout, self.writes, self.traces, self.verified = plan, layout, writes, 1, False
        self.live = live  # id -> a returned tensor that lives across calls (see _live)
        self.fingerprint = (layout, plan.fingerprint(), writes)


class CompiledFunction:
    """A step compiled by :func:`compile`. Calls take tensors (and hashable Python values, which are
    part of the signature) and return what the step returns, as tensors holding this call's values
    (replays return detached tensors)."""

    def __init__(self, fn, *, modules=(), optimizers=(), verify: bool = True, max_plans: int = 8) -> None:
        if not callable(fn):
            raise TypeError(f"fn: expected a function or a Module, got {type(fn).__name__}")
        if int(max_plans) < 1:
            raise ValueError(f"max_plans: expected a positive integer, got {max_plans!r}")
        functools.update_wrapper(self, fn, updated=())
        self._fn = fn
        self._extra = (list(modules), list(optimizers))
        self._reach = Reach(fn)
        self._reached: tuple = ()
        self._rebound = 0  # calls in a row that found a name the step reads bound to another object
        self._new_in_a_row = 0  # calls in a row whose signature had no plan (a value that changes at every call)
        self._last_key = None
        self._state: StepState | None = None
        self._identities = None
        self.verify = bool(verify)
        self.max_plans = int(max_plans)
        self._plans: OrderedDict = OrderedDict()
        self.fallback_reason: str | None = None
        self.replays = 0
        self._guard: Guard | None = None
        self._guard_misses = 0  # guards in a row that failed at their first check

    # (tests: every call the guard lets through asks the full path too, which must agree)
    _check_guard = False

    # --- calls ----------------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self.fallback_reason is not None or tracing_here():  # (inside another trace: its kernels)
            return self._fn(*args, **kwargs)
        guard = self._guard
        if guard is not None:  # (compile/guard.py: the last replay's decision, if nothing it read changed)
            tensors = _tensors(args, kwargs)
            if guard.holds(_arg_signature(args, kwargs), tensors):
                if self._check_guard:
                    self._agrees(guard, args, kwargs)
                guard.used = True
                return self._replay(guard.entry, tensors)
            self._guard = None
            # (a guard that fails at once, call after call: something it reads changes at every call, which the
            # full path tolerates; making guards then only costs time)
            self._guard_misses = 0 if guard.used else self._guard_misses + 1
        objects = self._reach.objects() + _modules_given(args, kwargs)
        reached = tuple(map(token, objects))  # (a plain value by value: 1.0 + 0 is another object)
        if self._state is None or reached != self._reached:  # first call, or a name now stands for another object
            self._rebound = self._rebound + 1 if self._reached else 0
            if self._rebound >= self.max_plans:  # (as PyTorch's recompile limit: eager from then on)
                return self._fall_back(f"a name the step reads was bound to another object at {self._rebound} calls "
                                       "in a row (a global or closure variable the loop changes, such as a number): "
                                       "each call was traced again", args, kwargs)
            self._state, self._reached = StepState(objects, *self._extra), reached
            self._python = PythonState(*self._reach.named()) if not _library(self._fn) else PythonState([], [])
            self._identities = self._state.observe()[0]
            self._plans.clear()
        else:
            self._rebound = 0
        identities, signature, hooks = self._state.observe()
        why = self._why_not(args, kwargs, identities, hooks)
        if why is not None:
            return self._fall_back(why, args, kwargs)
        key = self._key(args, kwargs, signature)
        try:
            entry = self._plans.get(key)
        except TypeError:  # (a module attribute that held a number holds an unhashable value now)
            self._state.forget_options()
            key = (key[0], self._state.observe()[1], key[2])
            entry = self._plans.get(key)
        if entry is None:  # a new signature: after so many in a row, eager from then on (PyTorch's recompile limit)
            self._new_in_a_row += 1
            if self._new_in_a_row > max(_RETRACE_LIMIT, self.max_plans):
                return self._fall_back(f"the signature changed at {self._new_in_a_row - 1} calls in a row "
                                       f"({_changed(self._last_key, key)} at the last call): each call was traced "
                                       "again", args, kwargs)
        else:
            self._new_in_a_row = 0
        self._last_key = key
        if entry is None or entry.traces < 2:
            return self._trace(key, entry, args, kwargs)
        self._plans.move_to_end(key)
        if not entry.verified and self.verify:
            return self._verify(entry, args, kwargs)
        # (after a run of guards that failed at once, one more every _GUARD_RETRY replays: the loop may have settled)
        retry = self._guard_misses < _GUARD_MISSES or self.replays % _GUARD_RETRY == 0
        self._guard = self._make_guard(entry, key) if retry else None
        return self._replay(entry, _tensors(args, kwargs))

    def _make_guard(self, entry: _Entry, key: tuple) -> Guard | None:
        """The guard of this decision (made before the replay: from the state the decision read), or None when a
        read cannot be probed (a class's ``__dict__``, a mappingproxy, for a classmethod step): then every call
        takes the full path."""
        p = Probes()
        try:
            p.attr(_anomaly._state, "enabled", EQ)
            self._reach.objects(p)
            self._state.probe(p)
        except (TypeError, ValueError):
            return None
        return Guard(p.native, entry, key, self._python, self._state)

    def _agrees(self, guard: Guard, args, kwargs) -> None:
        """(Tests: ``_check_guard``.) Raise AssertionError unless the full path would replay ``guard.entry``."""
        reached = tuple(map(token, self._reach.objects() + _modules_given(args, kwargs)))
        identities, signature, hooks = self._state.observe()
        key = self._key(args, kwargs, signature)
        why = None if reached == self._reached else "a name now stands for another object"
        why = why or self._why_not(args, kwargs, identities, hooks)
        if why is None and self._plans.get(key) is not guard.entry:
            why = "the signature picks another plan"
        if why is not None:
            raise AssertionError(f"eg.compile's guard held but the full path would not replay the plan: {why}")

    def _key(self, args, kwargs, signature: tuple) -> tuple:
        """The key of a call's plan: the arguments' signature, StepState's, the Python state's."""
        return _arg_signature(args, kwargs), signature, self._python.signature()

    def _why_not(self, args, kwargs, identities: list, hooks: str | None) -> str | None:
        if self._reach.assigned:
            names = ", ".join(repr(n) for n in self._reach.assigned)
            return (f"the step assigns {names} (global or nonlocal): a Python side effect that a replay would "
                    "not make")
        if _anomaly._state.enabled:
            return "anomaly detection is on (it checks every op in Python)"
        for a in _leaves([*args, *kwargs.values()]):
            if isinstance(a, Tensor) and a.requires_grad:
                return "an argument requires grad (a plan's results are not differentiable)"
            if isinstance(a, Tensor) and a.dtype.kind not in "fiub":
                return f"an argument has dtype {a.dtype}"
            if not isinstance(a, Tensor):
                try:
                    hash(a)
                except TypeError:
                    return f"an argument of type {type(a).__name__} is neither a tensor nor hashable"
        if identities != self._identities:
            return ("a parameter was replaced after the step was compiled (module.weight = ..., or p.data = ...), a "
                    "module's buffer (bn.running_mean = ...), or a tensor the step reaches by name (a list's element "
                    "replaced or added)")
        return hooks

    def _fall_back(self, reason: str, args, kwargs, result=None, ran: bool = False):
        self.fallback_reason = reason
        self._plans.clear()
        self._guard = None
        warnings.warn(f"eg.compile: {getattr(self._fn, '__qualname__', 'the step')} runs eagerly from now on: "
                      f"{reason}", UserWarning, stacklevel=3)
        return result if ran else self._fn(*args, **kwargs)

    def _trace(self, key, entry: _Entry | None, args, kwargs):
        state = self._state
        inputs = [np.array(a._data, order="C", copy=True) for a in _tensors(args, kwargs)]
        it = iter(inputs)
        targs, tkwargs = _map_tensors(args, kwargs, lambda t: Tensor._wrap(next(it)))
        tracer = Tracer(state.persistent(), inputs, state.params)
        before = state.python_state()
        python_before, tensors_before = self._python.snapshot(), state.tensor_attributes()
        grads_before = [p._grad for p in state.params]
        with recording(tracer):
            result = self._fn(*targs, **tkwargs)
        changed = self._python.changed(python_before) or state.tensor_attribute_set(tensors_before)
        if changed is not None:
            tracer.fail(changed)
        writes = state.python_writes(before)  # (model.eval() in the step: each replay sets them too)
        for a, traced in zip(_tensors(args, kwargs), inputs):
            if not same_bits(a._data, traced):  # (the step ran on copies: the caller's tensor gets eager's values)
                np.copyto(a._data, traced)
                tracer.fail("the step changes an argument in place (x.mul_(...), x[i] = ...): a replay would change "
                            "its own copy of it")
        layout, leaves = _layout(result)
        layout, live = _live(layout, leaves, state)
        outs = []
        for leaf in leaves:
            if isinstance(leaf, Tensor):
                if not tracer.ran_backward and _differentiable(leaf):
                    tracer.fail("the step returns a tensor whose graph the caller can still backpropagate through "
                                "(no backward ran inside the step): a replay's results are detached")
                outs.append(tracer.resolve_output(leaf._data))
            elif leaf is not None:
                tracer.fail(f"the step returns a Python {type(leaf).__name__} (only tensors and None)")
        if tracer.failed is not None:
            return self._fall_back(tracer.failed, args, kwargs, result, ran=True)
        del targs, tkwargs
        gc.collect(1)  # temporaries caught in reference cycles die now, so that the arena can reuse them (the
        # young generations hold them; a full collection costs ~0.1 s with torch imported; one that survives
        # is only kept outside the arena)
        tracer.finish()
        plan = Plan(tracer.ops, tracer.buffers, outs, [(p, None if p.grad is None else p.grad._data)
                                                        for p in state.params])
        plan.step_generators = tracer.step_generators
        plan.set_new_grads([p for p, g in zip(state.params, grads_before) if g is not None and p._grad is not g])
        if entry is None:
            self._plans[key] = entry = _Entry(plan, layout, writes, live)
            while len(self._plans) > self.max_plans:
                self._plans.popitem(last=False)
        elif (layout, plan.fingerprint(), writes) != entry.fingerprint:
            return self._fall_back("the step recorded different operations at two calls with the same signature "
                                   "(Python control flow that depends on values or on Python state)", args, kwargs,
                                   result, ran=True)
        else:
            entry.plan, entry.traces = plan, entry.traces + 1
        return _rebuild(entry.layout, [o.copy() for o in plan.outputs], entry.live)

    def _replay(self, entry: _Entry, tensors: list):
        outs = entry.plan.run([t._data for t in tensors])
        self._state.apply_writes(entry.writes)
        self.replays += 1
        return _rebuild(entry.layout, outs, entry.live)

    def _verify(self, entry: _Entry, args, kwargs):
        """Replay, then rerun eagerly from the same state: the plan is kept only when both agree bit for bit."""
        gens = [op.draw[0] for op in entry.plan.ops if op.kind == "draw"] + entry.plan.step_generators
        before = self._state.snapshot(gens)
        outs = entry.plan.run([t._data for t in _tensors(args, kwargs)])
        self._state.apply_writes(entry.writes)
        replayed = self._state.snapshot(gens)
        before.restore()
        result = self._fn(*args, **kwargs)
        eager = self._state.snapshot(gens)
        _, leaves = _layout(result)
        eager_outs = [x._data for x in leaves if isinstance(x, Tensor)]
        differs = replayed.difference(eager)
        if differs is None and not (len(outs) == len(eager_outs)
                                    and all(same_bits(a, b) for a, b in zip(outs, eager_outs))):
            differs = "a returned tensor"
        if differs is not None:
            return self._fall_back("the replayed plan did not reproduce eager mode bit for bit (the step does "
                                   f"something the tracer does not see; {differs} differed)", args, kwargs, result,
                                   ran=True)
        entry.verified = True
        return result

    # --- inspection -------------------------------------------------------------------------------
    def explain(self, file=None) -> str:
        """Print (to ``file``, default stdout) and return the plans: their ops, buffers and memory."""
        if self.fallback_reason is not None:
            text = f"eager mode: {self.fallback_reason}"
        elif not self._plans:
            text = "no plan yet: the first call traces the step"
        else:
            text = "\n\n".join(f"signature {i} ({'replaying' if e.traces >= 2 else 'traced once'}):\n"
                               f"{e.plan.explain()}" for i, e in enumerate(self._plans.values()))
        print(text, file=file)
        return text


_GUARD_MISSES = 4  # guards in a row that fail at their first check before the function makes them only ...
_GUARD_RETRY = 64  # ... every this many replays
_RETRACE_LIMIT = 8  # calls in a row with a new signature before the step runs eagerly (PyTorch's recompile_limit)

_SIGNATURE_PARTS = ("grad mode", "the default dtype (set_default_dtype)",  # (StepState.observe's signature, in order)
                    "a module's training flag or Python attribute (a counter the step increments?)",
                    "the optimizers' param groups", "whether the optimizers have state",
                    "the optimizers' state arrays (which exist, and their layout)",
                    "which parameters have a gradient", "which parameters require grad or have gradient hooks",
                    "a global the models' code reads")


def _changed(last, key) -> str:
    """What differs between two calls' signatures, in words."""
    if last is None or last[0] != key[0]:
        return "the arguments' shapes, dtypes or Python values"
    for what, a, b in zip(_SIGNATURE_PARTS, last[1], key[1]):
        if a != b:
            return what
    return "the signature"


def _differentiable(t: Tensor) -> bool:
    """Whether ``t``'s graph still leads to a leaf that requires grad through nodes no backward released:
    ``fwd(x, y).backward()`` outside a compiled ``fwd`` that runs no backward would then work eagerly and
    fail on a replay's detached result. (Asked only of steps that ran no backward: a training step's
    results, even a loss kept by ``retain_graph=True``, are its outputs as before.)"""
    stack, seen = [t._ctx], set()
    while stack:
        ctx = stack.pop()
        if ctx is None or id(ctx) in seen or getattr(ctx, "released", False):
            continue
        seen.add(id(ctx))
        for x in getattr(ctx, "inputs", ()):
            if x is None:
                continue
            if x._ctx is None:
                if x.requires_grad:
                    return True
            else:
                stack.append(x._ctx)
    return False


# Tuples, lists and dicts among the arguments are looked into (a DataLoader's (x, y) batch, an LSTM's (h, c)
# state), up to this many elements each: their tensors are the step's inputs, their structure and other
# values part of the signature. A larger one is a plain Python value.
_CONTAINER_ITEMS = 64


def _opened(a) -> bool:
    """Whether the arguments are looked into ``a``: a tuple (a named one too), list or dict, not too large."""
    return isinstance(a, (tuple, list, dict)) and len(a) <= _CONTAINER_ITEMS


def _leaves(values) -> list:
    """The tensors and other values of ``values``, containers opened (depth first, in order)."""
    out = []
    for a in values:
        if _opened(a):
            out += _leaves(_items(a))
        else:
            out.append(a)
    return out


def _tensors(args, kwargs) -> list:
    return [a for a in _leaves([*args, *kwargs.values()]) if isinstance(a, Tensor)]


def _rebuilt(a, fn):
    """``a`` with every tensor t in it (containers opened) replaced by fn(t)."""
    if isinstance(a, Tensor):
        return fn(a)
    if not _opened(a):
        return a
    if isinstance(a, dict):
        return type(a)((k, _rebuilt(v, fn)) for k, v in a.items())
    items = [_rebuilt(x, fn) for x in a]
    return type(a)(*items) if hasattr(a, "_fields") else type(a)(items)


def _map_tensors(args, kwargs, fn):
    return [_rebuilt(a, fn) for a in args], {k: _rebuilt(v, fn) for k, v in kwargs.items()}


def _modules_given(args, kwargs) -> list:
    """The models and optimizers passed as arguments (gpt-fast's ``decode_one_token(model, x, input_pos)``): the
    step's state as much as those it names (an argument's identity is in the signature, so another model is
    another call's)."""
    from eigengrad.nn.modules.module import Module
    from eigengrad.optim.optimizer import Optimizer

    return [a for a in (*args, *kwargs.values()) if isinstance(a, (Module, Optimizer))]


def _arg_signature(args, kwargs) -> tuple:
    return tuple(map(_signature_of, args)), tuple((k, _signature_of(v)) for k, v in sorted(kwargs.items()))


def _signature_of(a) -> tuple:
    """What a plan is specific to in one argument: a tensor's shape and dtype (read from its array: this runs
    at every call), a container's structure, another value itself."""
    if isinstance(a, Tensor):
        data = a._data
        return ("T", data.shape, data.dtype.str)
    if _opened(a):
        keys = tuple(a) if isinstance(a, dict) else ()
        return ("C", type(a), keys, tuple(map(_signature_of, _items(a))))
    return ("v", type(a), a)


def _layout(result) -> tuple:
    """(its structure, its leaves) of a step's result: a tensor, None, or a tuple (named too), list or dict of
    them, nested (``loss, (h, c)``). The structure: "T" for a tensor, None for another leaf, ("C", type, dict
    keys, the elements' structures) for a container."""
    leaves = []

    def structure(a):
        if _opened(a):
            return ("C", type(a), tuple(a) if isinstance(a, dict) else (), tuple(structure(x) for x in _items(a)))
        leaves.append(a)
        return "T" if isinstance(a, Tensor) else None
    return structure(result), leaves


def _live(layout, leaves: list, state) -> tuple:
    """(``layout`` with each returned tensor that lives across calls as ("L", its id), {id: tensor}): a
    parameter, a module's buffer or a tensor the step reaches by name, which eager mode returns itself (a step
    returning ``bn.running_mean`` for a log), so a replay returns it too, holding the replay's values."""
    persistent = {id(t): t for t in (*state.params, *state.tensors,
                                     *(b for m in state.modules for b in m._buffers.values() if b is not None))}
    leaf, live = iter(leaves), {}

    def walk(s):
        if s is None or s == "T":
            t = next(leaf)
            if s == "T" and id(t) in persistent:
                live[id(t)] = t
                return ("L", id(t))
            return s
        return (s[0], s[1], s[2], tuple(walk(p) for p in s[3]))
    return walk(layout), live


def _rebuild(layout, arrays: list, live: dict):
    """The result of ``layout`` (``_layout``, ``_live``) with tensors over ``arrays``, in order (a live tensor's
    array is the tensor's own: it is returned itself)."""
    it = iter(arrays)

    def build(s):
        if s is None or s == "T":
            return None if s is None else Tensor._wrap(next(it))
        if s[0] == "L":
            next(it)
            return live[s[1]]
        _, kind, keys, parts = s
        items = [build(p) for p in parts]
        if issubclass(kind, dict):
            return kind(zip(keys, items))
        return kind(*items) if hasattr(kind, "_fields") else kind(items)
    return build(layout)
