"""The tracer: runs a step eagerly once while recording every kernel call into plain records.

While a step is traced, ``_kernels._C`` (the compiled bindings) and ``_kernels._G`` (the NumPy glue)
are replaced by proxies that record each call (kernel name, arguments by role, see ``roles``) before
making it. Every array argument is identified by the memory it lies in (its root array, and the byte
offset, shape and strides of the view):

- a *persistent* buffer: a parameter, gradient, optimizer state array or module buffer that existed
  before the call (the caller lists them);
- an *input* buffer: the array of a tensor argument of the step (the plan copies new inputs into it);
- a *temporary*: an array a recorded kernel wrote first during this call.

An array that a kernel reads but that is none of these was computed by something the tracer did not
see (NumPy glue, an unsupported kernel): the trace fails rather than replay a stale value. So does a
kernel missing from ``roles``, and anything eager code reports through ``eigengrad._trace``.
Only calls from the tracing thread are recorded (a loader's prefetch thread keeps running eagerly).
"""
from __future__ import annotations

import os
import sys
import threading
import weakref

import numpy as np

from eigengrad import _kernels, _trace
from eigengrad.compile import opaque as _opaque, roles as _roles


class Buffer:
    """One memory block the plan uses: ``kind`` is "persistent", "input" or "temp". ``root``: the array
    (a weak reference while a temporary is traced); ``first``/``last``: the ops that use a temporary
    first and last; ``escaped``: a temporary still referenced after the step (a returned tensor, a
    ``.grad``); ``offset``: a temporary's place in the arena."""

    __slots__ = ("kind", "nbytes", "desc", "root", "first", "last", "escaped", "offset")

    def __init__(self, kind: str, nbytes: int, desc: str, root=None, first: int = -1) -> None:
        self.kind, self.nbytes, self.desc, self.root = kind, nbytes, desc, root
        self.first, self.last, self.escaped, self.offset = first, first, False, -1


class Ref:
    """An array argument: ``shape``/``strides``/``dtype`` at byte ``offset`` of buffer ``buf``; ``array``
    is the traced array itself, kept for persistent and input buffers."""

    __slots__ = ("buf", "offset", "shape", "strides", "dtype", "array")

    def __init__(self, buf: int, offset: int, shape: tuple, strides: tuple, dtype, array=None) -> None:
        self.buf, self.offset, self.shape, self.strides, self.dtype, self.array = buf, offset, shape, strides, dtype, array


class Op:
    """One plan step. ``kind``: "kernel" (``table`` "C": a compiled binding, "G": glue), "draw" or
    "python". ``args``: Ref, list of Ref, or a constant per positional argument; ``kwargs``: frozen
    scalars. ``draw``: for a draw op (generator, n, start, seed), for a kernel (index of its draw op,).
    ``grads``: for a Python op, (parameter, Ref of its ``.grad`` or None) as the op found them. ``live``: the
    kwargs are only the values the kernel is bound with; a replay sets them (an optimizer update's scalars)."""

    __slots__ = ("kind", "name", "fn", "args", "kwargs", "roles", "table", "draw", "grads", "live")

    def __init__(self, kind: str, name: str, fn, args=None, kwargs=None, roles: tuple = (), table: str = "",
                 draw: tuple = ()) -> None:
        self.kind, self.name, self.fn = kind, name, fn
        self.args, self.kwargs = list(args or ()), dict(kwargs or {})
        self.roles, self.table, self.draw = roles, table, draw
        self.grads: list = []
        self.live = False


def array_root(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (through views and as_strided's wrapper)."""
    r = a
    while True:
        b = r.base
        if isinstance(b, np.ndarray):
            r = b
        elif b is not None and isinstance(getattr(b, "base", None), np.ndarray):
            r = b.base
        else:
            return r


_STDLIB = os.path.dirname(os.__file__)  # the standard library (os.py lives there)
_API = os.path.join(_trace.LIBRARY, "compile", "api.py")


def _user_line() -> str:
    """" (at file:line: code)" of the step's own line that was running when the trace failed: the innermost
    frame outside eigengrad and the standard library (the training script, a user's module), so that a
    fallback's warning points at the line to change. Empty when eg.compile itself found the failure after
    the step returned (its frames come first)."""
    import linecache  # (only when a trace fails: it imports tokenize)

    f = sys._getframe(2)
    while f is not None:
        name = f.f_code.co_filename
        if name == _API:
            return ""
        if not (name.startswith(_trace.LIBRARY) or name.startswith(_STDLIB)):
            code = linecache.getline(name, f.f_lineno).strip()
            return f" (at {os.path.basename(name)}:{f.f_lineno}" + (f": {code})" if code else ")")
        f = f.f_back
    return ""


def address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


class Tracer:
    """Records one call of a step. ``persistent``: (array, description) pairs; ``inputs``: the step's
    input arrays (already the plan's own copies); ``params``: the parameters whose ``.grad`` a Python op
    reads (an optimizer's step)."""

    opaque = True  # record a primitive computed in NumPy as one step (ONNX export's tracer does not)

    def __init__(self, persistent: list, inputs: list, params: list = ()) -> None:
        self.failed: str | None = None
        self._recoverable = False  # the failure is NumPy code feeding a kernel (a primitive may absorb it)
        self.step_generators: list = []  # generators that primitives replayed as one step draw from
        self._params = list(params)
        self.ops: list[Op] = []
        self.buffers: list[Buffer] = []
        self._known: dict[int, int] = {}  # id(root) -> buffer (persistent and inputs: held, so ids are stable)
        self._temps: dict[int, tuple] = {}  # id(root) -> (weakref, buffer)
        self._draws: list[int] = []  # draw ops not yet consumed by a kernel
        self._paused = 0
        self.ran_backward = False  # a backward ran inside the step (its results are a training step's)
        self._thread = threading.get_ident()
        for arr, desc in persistent:
            self._add_known(arr, "persistent", desc)
        for i, arr in enumerate(inputs):
            self._add_known(arr, "input", f"input {i}")

    def _add_known(self, arr, kind: str, desc: str) -> None:
        root = array_root(arr)
        if id(root) not in self._known:
            self._known[id(root)] = len(self.buffers)
            self.buffers.append(Buffer(kind, root.nbytes, desc, root=root))

    # --- the hooks eager code calls ---------------------------------------------------------------
    def active(self) -> bool:
        return self.failed is None and self._paused == 0 and threading.get_ident() == self._thread

    def fail(self, reason: str, recoverable: bool = False) -> None:
        if self.failed is None and threading.get_ident() == self._thread:
            self.failed, self._recoverable = reason + _user_line(), recoverable

    def on_draw(self, generator, n: int, start: int) -> None:
        if self.active():
            self._draws.append(len(self.ops))
            self.ops.append(Op("draw", "draw", None, draw=(generator, int(n), int(start), generator._seed)))

    def python_op(self, fn, args: tuple):
        if threading.get_ident() != self._thread:
            return fn(*args)
        if self.active():
            op = Op("python", getattr(fn, "__qualname__", None) or repr(fn), fn, list(args))
            self.ops.append(op)
            # A replay sets the .grad attributes before the op runs (the backward that set them is not run
            # in Python): eager mode's, even when they were None when the call began
            op.grads = [(p, None if p.grad is None else
                         self._array(p.grad._data, "r", len(self.ops) - 1, f"the gradient of parameter {i}"))
                        for i, p in enumerate(self._params)]
        self._paused += 1
        try:
            return fn(*args)
        finally:
            self._paused -= 1

    # --- kernel calls -----------------------------------------------------------------------------
    def record(self, table: str, name: str, fn, args: tuple, kwargs: dict) -> None:
        if not self.active() or (table == "C" and name in _roles.PURE):
            return
        roles = _roles.roles_of(_roles.COMPILED if table == "C" else _roles.GLUE, name, args)
        if roles is None:
            self.fail(f"the kernel {name!r} is not supported by eg.compile yet", recoverable=True)
            return
        index = len(self.ops)
        op = Op("kernel", name, fn, [], dict(kwargs), roles, table)
        for i, (a, role) in enumerate(zip(args, roles)):
            ref = self._arg(a, role, index, f"argument {i} of kernel {name!r}")
            if self.failed is not None:
                return
            op.args.append(ref)
        if "offset" in roles and not self._link_draw(op, roles):
            return
        self.ops.append(op)

    def _arg(self, a, role: str, index: int, what: str):
        if role in ("R", "RW"):
            if not isinstance(a, (list, tuple)):
                self.fail(f"{what}: expected a list of arrays")
                return None
            return [self._array(x, role.lower(), index, what) for x in a]
        if isinstance(a, np.ndarray) and role in ("r", "w", "rw"):
            return self._array(a, role, index, what)
        if isinstance(a, np.ndarray):
            self.fail(f"{what}: an array where a scalar was expected")
        return a

    def _array(self, a: np.ndarray, role: str, index: int, what: str):
        root = array_root(a)
        buf = self._known.get(id(root))
        if buf is None:
            entry = self._temps.get(id(root))
            if entry is not None and entry[0]() is root:
                buf = entry[1]
        if buf is None:
            if role != "w":
                self.fail(f"{what} was computed outside the recorded kernels (NumPy or Python code the tracer "
                          "does not see; or a model's parameter the step reaches other than by a name, closure, "
                          "default argument or attribute: name it, eg.compile(fn, modules=[model], "
                          "optimizers=[opt]))", recoverable=True)
                return None
            buf = len(self.buffers)
            self.buffers.append(Buffer("temp", root.nbytes, f"temporary of {what}", root=weakref.ref(root), first=index))
            self._temps[id(root)] = (weakref.ref(root), buf)
        b = self.buffers[buf]
        offset = address(a) - address(root)
        if any(st < 0 for st in a.strides):
            self.fail(f"{what} has negative strides (a reversed view)")
            return None
        if offset < 0 or offset + _extent(a) > root.nbytes:
            self.fail(f"{what} is not inside the memory of its base array")
            return None
        if b.kind == "temp":
            b.last = index
        keep = a if b.kind != "temp" else None
        return Ref(buf, offset, a.shape, a.strides, a.dtype, keep)

    def _link_draw(self, op: Op, roles: tuple) -> bool:
        seed, offset = op.args[roles.index("seed")], op.args[roles.index("offset")]
        for j in self._draws:
            gen, n, start, gen_seed = self.ops[j].draw
            if start == offset and gen_seed == seed:
                self._draws.remove(j)
                op.draw = (j,)
                return True
        # the numbers of a draw an earlier kernel consumed: a backward that regenerates its forward's dropout
        # mask (attention); the replay gives both the same new numbers
        for j in reversed(range(len(self.ops))):
            d = self.ops[j]
            if d.kind == "draw" and d.draw[2] == offset and d.draw[3] == seed:
                op.draw = (j,)
                return True
        self.fail(f"the random seed and offset of kernel {op.name!r} do not come from a Generator draw")
        return False

    # --- primitives computed in NumPy (compile/opaque.py) ---------------------------------------------
    def primitive_forward(self, cls, ctx, arrays: list, options: dict, keep: bool):
        """Run a primitive's forward; when no recorded kernel produced its output (NumPy code, or a kernel
        the plan cannot hold), drop what it recorded and record the whole forward as one step."""
        if not (self.active() and self.opaque) or cls.writes_grads_into:
            return cls.forward(ctx, *arrays, **options)
        n_ops, n_bufs = len(self.ops), len(self.buffers)
        out = cls.forward(ctx, *arrays, **options)
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if self.failed is None and self._produced(out) or self.failed is not None and not self._recoverable:
            return out
        if not self._rollback(n_ops, n_bufs):
            return out
        out = _forward_strides(out)
        index, what = len(self.ops), f"primitive {cls.__name__}"
        slot = _opaque.Slot([], ctx.needs_input_grad, keep)
        args, roles = [], []
        for i, a in enumerate(arrays):
            self._operand(a, index, f"input {i} of {what}", args, roles)
        slot.refs += [a for a in args if isinstance(a, Ref)]
        consts, names = {}, []
        for key, v in options.items():
            # (a mask or an index, alone or in an index tuple: read at every replay like an input)
            items = (v,) if isinstance(v, np.ndarray) else v if type(v) is tuple and _holds_array(v) else None
            if items is None:
                self._operand(v, index, f"the option {key!r} of {what}", [], [])  # (refuses arrays in containers)
                consts[key] = v
                continue
            pattern = []
            for x in items:  # (only the arrays become operands: the constants stay in the pattern)
                if not isinstance(x, np.ndarray):
                    self._operand(x, index, f"the option {key!r} of {what}", [], [])
                    pattern.append((x,))
                elif self._operand(x, index, f"the option {key!r} of {what}", args, roles):
                    slot.refs.append(args[-1])
                    pattern.append(None)
            names.append((key, None if isinstance(v, np.ndarray) else tuple(pattern)))
        if cls.shape_depends_on_values(arrays, options):
            self.fail(f"{what}'s output shape depends on the values of its inputs (a mask selects elements)")
        args.append(self._array(out, "w", index, f"the output of {what}"))
        if self.failed is None:
            step = _opaque.Forward(cls, slot, len(arrays), names)
            self.ops.append(Op("kernel", f"{cls.__name__}.forward", step, args, consts, tuple(roles) + ("w",), "P"))
            ctx.opaque = slot
        return out

    def primitive_backward(self, ctx, g):
        """A node's backward. Recorded as one step when its forward is one (``ctx.opaque``), or when no
        recorded kernel produced its gradients (NumPy code): then the step rebuilds the context from the
        arrays it saved (the plan's buffers) and its other attributes (frozen, like an op's options)."""
        if threading.get_ident() == self._thread:
            self.ran_backward = True
        slot = getattr(ctx, "opaque", None)
        if not self.active() or slot is None and not self.opaque:
            return ctx.backward(ctx, g)
        n_ops, n_bufs = len(self.ops), len(self.buffers)
        if slot is not None:
            self._paused += 1
        try:
            grads = ctx.backward(ctx, g)
        finally:
            if slot is not None:
                self._paused -= 1
        many = grads if isinstance(grads, tuple) else (grads,)
        if any(isinstance(x, np.generic) for x in many):  # (NumPy's arithmetic on 0-d arrays gives scalars)
            many = tuple(np.asarray(x) if isinstance(x, np.generic) else x for x in many)
            grads = many if isinstance(grads, tuple) else many[0]
        if slot is None and (self.failed is None and all(x is None or self._produced(x) for x in many)
                             or self.failed is not None and not self._recoverable or not self._rollback(n_ops, n_bufs)):
            return grads
        index, what = len(self.ops), f"the backward of primitive {ctx.name}"
        if slot is not None and slot.refs is None:
            self.fail(f"{what} reads a forward that another step's replay computes")
        args = [self._array(g, "r", index, f"the gradient {what} reads")]
        template = {}
        if slot is None:
            template = self._context_template(ctx, args, index, what)
        else:
            args += slot.refs
            for r in slot.refs:  # the forward's context may hold its inputs: alive until this step
                if self.buffers[r.buf].kind == "temp":
                    self.buffers[r.buf].last = index
        new = [i for i, x in enumerate(many) if isinstance(x, np.ndarray) and not self._produced(x)]
        if new:
            many = tuple(_forward_strides(x) if i in new else x for i, x in enumerate(many))
            grads = many if isinstance(grads, tuple) else many[0]
        args += [self._array(many[i], "w", index, f"gradient {i} of {what}") for i in new]
        if any(x is not None and not isinstance(x, np.ndarray) for x in many):
            self.fail(f"{what} returned a gradient that is not an array")
        if self.failed is None:
            roles = ("r",) * (len(args) - len(new)) + ("w",) * len(new)
            step = _opaque.Backward(type(ctx), slot, new)
            self.ops.append(Op("kernel", f"{ctx.name}.backward", step, args, template, roles, "P"))
        return grads

    def _context_template(self, ctx, args: list, index: int, what: str) -> dict:
        """``needs``, ``saved`` and ``attrs`` of ``ctx`` with each array replaced by its position in ``args``
        (its Ref appended there): what a replayed backward rebuilds the context from."""
        def entry(v, name):
            if isinstance(v, np.ndarray):
                args.append(self._array(v, "r", index, f"{name} of {what}"))
                return (True, len(args) - 1)
            if _holds_array(v):
                self.fail(f"{name} of {what} holds arrays in a container (the plan cannot rebuild it)")
            return (False, v)
        saved = [entry(v, f"saved array {i}") for i, v in enumerate(ctx.saved)]
        attrs = [(k, entry(v, f"the attribute {k!r}")) for k, v in vars(ctx).items() if k not in _ENGINE_ATTRIBUTES]
        return {"needs": ctx.needs_input_grad, "saved": tuple(saved), "attrs": tuple(attrs)}

    def inplace_op(self, name: str, fn, target: np.ndarray, args: tuple) -> None:
        """Run ``fn(target, *args)``, an in-place change outside autograd, recorded as one step: ``target``
        updated in place, array arguments read, the others frozen (fn is a module-level function)."""
        if self.active():
            if not self.opaque:
                self.fail(f"{name} changes a tensor in place without autograd (no ONNX form)")
            index, what = len(self.ops), f"the in-place {name}"
            refs, roles = [self._array(target, "rw", index, f"the tensor {what} changes")], ["rw"]
            for i, a in enumerate(args):
                self._operand(a, index, f"operand {i} of {what}", refs, roles)
            if self.failed is None:
                self.ops.append(Op("kernel", name, fn, refs, {}, tuple(roles), "P"))
        fn(target, *args)

    def _operand(self, a, index: int, what: str, args: list, roles: list) -> bool:
        """Append an argument of a step recorded whole to ``args``: an array as a Ref the step reads (True
        returned), anything else as a constant frozen into the plan; an array inside a container fails the
        trace (the plan would freeze its values)."""
        if isinstance(a, np.ndarray):
            args.append(self._array(a, "r", index, what))
            roles.append("r")
            return True
        if _holds_array(a):
            self.fail(f"{what} holds arrays in a container (the plan would freeze them)")
        args.append(a)
        roles.append("s")
        return False

    def _produced(self, a: np.ndarray) -> bool:
        """Whether ``a`` lies in a buffer of the plan (a known array, or a recorded kernel's output)."""
        root = array_root(a)
        if id(root) in self._known:
            return True
        entry = self._temps.get(id(root))
        return entry is not None and entry[0]() is root

    def _rollback(self, n_ops: int, n_bufs: int) -> bool:
        """Forget the ops and temporaries recorded since (n_ops, n_bufs), and a recoverable failure."""
        dropped = self.ops[n_ops:]
        if any(op.kind == "kernel" and op.draw and op.draw[0] < n_ops for op in dropped):
            self.fail("a primitive computed in NumPy consumes random numbers drawn before it")
            return False
        for op in dropped:
            if op.table == "P" and isinstance(op.fn, _opaque.Forward):
                op.fn.slot.refs = None  # (its node's backward cannot be a step of its own now)
        self.step_generators += [op.draw[0] for op in dropped if op.kind == "draw"]
        del self.ops[n_ops:]
        self._draws = [j for j in self._draws if j < n_ops]
        for key in [k for k, (_, buf) in self._temps.items() if buf >= n_bufs]:
            del self._temps[key]
        del self.buffers[n_bufs:]
        self.failed, self._recoverable = None, False
        return True

    # --- the end of the call ------------------------------------------------------------------------
    def resolve_output(self, a: np.ndarray) -> Ref | None:
        """The Ref of an array the step returns (it must be a buffer of the plan)."""
        return self._array(a, "r", len(self.ops), "a tensor the step returns")

    def finish(self) -> None:
        """Mark the temporaries still alive (referenced after the step) as escaped, holding them."""
        for b in self.buffers:
            if b.kind == "temp":
                root = b.root()
                b.escaped = root is not None
                b.root = root


# what the engine sets on a context (not part of what its backward computes from)
_ENGINE_ATTRIBUTES = frozenset({"out_watch", "stack", "retained", "hooks", "grad_into", "opaque"})


def _forward_strides(a: np.ndarray) -> np.ndarray:
    """A new array NumPy code returned as a reversed view (``x[::-1]``): a forward-strided copy of the same
    values (the plan's buffers have no negative strides; a replay copies its result into one anyway)."""
    return np.ascontiguousarray(a) if any(st < 0 for st in a.strides) else a


def _holds_array(v) -> bool:
    """Whether a constant argument holds a NumPy array or scalar (a value the plan would freeze)."""
    if isinstance(v, (np.ndarray, np.generic)) or isinstance(getattr(v, "_data", None), np.ndarray):
        return True  # (an array, a NumPy scalar or a Tensor)
    if isinstance(v, (list, tuple)):
        return any(_holds_array(x) for x in v)
    if isinstance(v, dict):
        return any(_holds_array(x) for x in v.values())
    return False


def _extent(a: np.ndarray) -> int:
    """The bytes from a's first element to one past its last (a's strides are >= 0 here)."""
    if a.size == 0:
        return 0
    return sum((n - 1) * s for n, s in zip(a.shape, a.strides)) + a.itemsize


class _Proxy:
    """Stands for ``_kernels._C`` or ``_kernels._G`` during a trace: every call is recorded, then made."""

    def __init__(self, real, table: str, tracer: Tracer) -> None:
        self._real, self._table, self._tracer = real, table, tracer

    def __getattr__(self, name: str):
        fn = getattr(self._real, name)
        if not callable(fn) or isinstance(fn, type):
            return fn
        tracer, table = self._tracer, self._table

        def call(*args, **kwargs):
            if threading.get_ident() != tracer._thread:  # another thread's call: not the trace's, and it must
                return fn(*args, **kwargs)  # not pause the recording of the traced thread's calls meanwhile
            tracer.record(table, name, fn, args, kwargs)
            tracer._paused += 1  # the kernels a glue step calls are part of it: replayed by replaying it
            try:
                return fn(*args, **kwargs)
            finally:
                tracer._paused -= 1

        return call


# One trace at a time in the process: the kernel tables' proxies and ``_trace.ACTIVE`` are the process's.
# A trace in another thread waits for this one (tracing is one eager step); the proxies and the hooks let
# other threads' calls through unrecorded meanwhile. Re-entrant, so that a trace started inside a trace
# in the same thread reaches the error below instead of a deadlock.
_TRACING = threading.RLock()


def tracing_here() -> bool:
    """Whether this thread is being traced now (by eg.compile or an ONNX export)."""
    tracer = _trace.ACTIVE[0]
    return tracer is not None and tracer._thread == threading.get_ident()


class recording:
    """Context manager: ``tracer`` records the kernel calls and the ``_trace`` hooks of this thread."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def __enter__(self) -> Tracer:
        _TRACING.acquire()
        if _trace.ACTIVE[0] is not None:  # set while this thread holds the lock: it is tracing already
            _TRACING.release()
            raise RuntimeError("eg.compile: a compiled function cannot be traced inside another one's trace")
        self._saved = (_kernels._C, _kernels._G)
        _kernels._C = _Proxy(self._saved[0], "C", self.tracer)
        _kernels._G = _Proxy(self._saved[1], "G", self.tracer)
        _trace.ACTIVE[0] = self.tracer
        return self.tracer

    def __exit__(self, *exc) -> None:
        try:
            _kernels._C, _kernels._G = self._saved
            _trace.ACTIVE[0] = None
        finally:
            _TRACING.release()
