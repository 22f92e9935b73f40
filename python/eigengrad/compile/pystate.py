"""The Python state a compiled step reads or changes besides the tensors, modules and optimizers its plan
covers: the plain attributes of the user's objects it names (``trainer.it``), the dicts and lists it names
(``state["step"]``, ``preds``), and the random generators of NumPy and Python (``np.random.rand()``).

- Read: the plain values are part of the signature, so a value the loop changes between calls traces the
  step again (and after ``max_plans`` such calls in a row it runs eagerly) instead of replaying the value
  the trace read. Only the attributes the step's code names by attribute access are read.
- Changed by the step itself (a counter it increments, a list it appends to, a draw from NumPy's generator):
  a replay would not make the change and would reuse the value the trace saw, so the step falls back, naming
  what changed (``changed``)."""
from __future__ import annotations

import dis
import functools
import random
import types

import numpy as np

# the values compared by value (others by identity): Python's and NumPy's scalars (a module's `self.s =
# np.float32(0.5)` is a number the trace freezes into the plan like a float)
PLAIN = frozenset((int, float, complex, bool, str, type(None), np.bool_, np.int8, np.int16, np.int32, np.int64,
                   np.uint8, np.uint16, np.uint32, np.uint64, np.float16, np.float32, np.float64, np.complex64,
                   np.complex128))
# a dict or list longer than this is data, not state: only its length is compared
_ITEMS = 256
_GENERATORS = (np.random.Generator, np.random.RandomState, random.Random)


@functools.lru_cache(maxsize=1024)
def attribute_names(code: types.CodeType) -> frozenset:
    """The attribute names ``code`` (and the code nested in it) loads or stores (``tr.it``)."""
    names = {i.argval for i in dis.get_instructions(code)
             if i.opname in ("LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR", "DELETE_ATTR")}
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= attribute_names(c)
    return frozenset(names)


def _user_object(o) -> bool:
    from eigengrad.compile.state import _users_object

    return _users_object(o)


class PythonState:
    """The labelled objects a step names (see ``Reach.named``) that hold Python state, and the attribute names
    its code uses."""

    def __init__(self, named: list, codes: list) -> None:
        self.attrs = tuple(sorted(frozenset().union(*(attribute_names(c) for c in codes))))
        seen, self.objects = set(), []
        for label, o in named:
            if id(o) not in seen and (isinstance(o, (dict, list) + _GENERATORS) or _user_object(o)):
                seen.add(id(o))
                self.objects.append((label, o))

    def signature(self) -> tuple:
        """The plain values the step may read: of each user object, the attributes its code names; of each dict
        and list, the plain items (the length of a long one)."""
        out = []
        for _, o in self.objects:
            if isinstance(o, dict):
                out.append(len(o) if len(o) > _ITEMS else tuple((k, v) for k, v in o.items() if type(v) in PLAIN))
            elif isinstance(o, list):
                out.append(len(o) if len(o) > _ITEMS else tuple(v if type(v) in PLAIN else id(v) for v in o))
            elif not isinstance(o, _GENERATORS):
                d = o.__dict__
                out.append(tuple((n, d[n]) for n in self.attrs if n in d and type(d[n]) in PLAIN))
        return tuple(out)

    def snapshot(self) -> list:
        """Everything ``changed`` compares: each object's items (plain ones by value, others by identity),
        each generator's state, and NumPy's and Python's global generators."""
        snap = [_global_generators()]
        for _, o in self.objects:
            if isinstance(o, _GENERATORS):
                snap.append(_generator_state(o))
            else:
                items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else vars(o).items()
                snap.append({k: _token(v) for k, v in items})
        return snap

    def changed(self, before: list) -> str | None:
        """What the step's code changed since ``before`` (a snapshot), named, or None."""
        now = self.snapshot()
        (numpy_then, python_then), (numpy_now, python_now) = before[0], now[0]
        if numpy_then != numpy_now or python_then != python_now:
            which = "NumPy's global" if numpy_then != numpy_now else "Python's `random`"
            return f"the step draws from {which} random generator: a replay would reuse the traced draw"
        for (label, o), then, then_now in zip(self.objects, before[1:], now[1:]):
            if isinstance(o, _GENERATORS):
                if then != then_now:
                    return f"the step draws from the random generator {label}: a replay would reuse the traced draw"
                continue
            keys = [k for k in {**then, **then_now} if then.get(k, _MISSING) != then_now.get(k, _MISSING)]
            if keys:
                what = (f"{label}[{keys[0]!r}]" if isinstance(o, dict) else
                        f"{label} (appended to or changed)" if isinstance(o, list) else f"{label}.{keys[0]}")
                return (f"the step changes the Python state {what}: a replay would not change it, and would use "
                        "the value the trace read")
        return None


_MISSING = object()


def _token(v):
    return ("v", v) if type(v) in PLAIN else ("id", id(v))


def _global_generators() -> tuple:
    return _mersenne(np.random.get_state()), random.getstate()


def _mersenne(state: tuple) -> tuple:
    """A legacy NumPy generator's state (name, keys, position, ...) as a comparable value."""
    return state[1].tobytes(), state[2:]


def _generator_state(g):
    if isinstance(g, np.random.Generator):
        return repr(g.bit_generator.state)
    if isinstance(g, np.random.RandomState):
        return _mersenne(g.get_state())
    return g.getstate()
