"""The guard of the last replay: a replay whose guard holds skips the full observation of the step.

At every call, ``CompiledFunction`` looks the step's names up again (``Reach.objects``), reads every
module, parameter and optimizer the step uses (``StepState.observe``) and builds the signature that picks
a plan: 30-100 us of Python a call on the MLP of issue 19 (the step's kernels have just evicted these
objects from the caches), 5-15% of a step at batch 32. After a call that replayed a plan, the guard
records every read that decision made as a probe (``_C.Guard``: an attribute, a dict's item or a cell's
content, and what it held), each probe as strict as the read or stricter: the same object where the
observation compares identities, an equal value of the same type where it compares values. The next call
checks the probes in C, its arguments' signature and the few reads that run optimizer code (the state
names an update uses) in Python, and replays the same plan when all hold. When any differs, the call
takes the full path, which decides as before (and makes a new guard when it replays).

The reads are probed where they are made: ``Reach.objects`` and ``_one_level_further`` add each read as a
probe when given the guard's ``Probes``; ``StepState.probe`` sits beside ``StepState.observe``. Tests run every call that the guard lets through the
full path too (``CompiledFunction._check_guard``) and fail where the two would decide differently.
"""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.compile.pystate import PLAIN

# where a probe reads (bind_guard.cpp's Access)
SELF, ATTR, ITEM, CELL = 0, 1, 2, 3
# what it checks (bind_guard.cpp's Test)
IS, EQ, ITEMS, TRUTH, NONE, AGREE, LEN = 0, 1, 2, 3, 4, 5, 7


class Probes:
    """The probes of a guard being made, each added once."""

    def __init__(self) -> None:
        self.native = _kernels.compiled_module().Guard()
        self._seen: set = set()

    def add(self, access: int, obj, key, test: int) -> None:
        k = (access, id(obj), key if isinstance(key, str) else id(key), test)
        if k not in self._seen:  # (the objects stay alive in the guard: their ids are not reused meanwhile)
            self._seen.add(k)
            self.native.add(access, obj, key, test)

    def attr(self, obj, name: str, test: int = IS) -> None:
        self.add(ATTR, obj, name, test)

    def item(self, d: dict, key, test: int = IS) -> None:
        self.add(ITEM, d, key, test)

    def cell(self, c) -> None:
        """The same content (an equal value of the same type for a plain value, as ``state.token`` compares)."""
        try:
            plain = type(c.cell_contents) in PLAIN
        except ValueError:  # (empty)
            plain = False
        self.add(CELL, c, None, EQ if plain else IS)

    def name(self, g: dict, n: str) -> None:
        """A global: the same object (an equal value of the same type for a plain value)."""
        self.add(ITEM, g, n, EQ if type(g.get(n)) in PLAIN else IS)

    def items(self, container) -> None:
        """The same elements (a dict's values), identical and in order."""
        self.add(SELF, container, None, ITEMS)

    def own(self, obj, test: int, key=None) -> None:
        self.add(SELF, obj, key, test)


class Guard:
    """What the last replay of ``entry`` depended on. ``holds`` is True when a call with these arguments
    would take the same decision through the full path: replay ``entry``."""

    __slots__ = ("native", "entry", "args", "python", "python_state", "state", "rules", "used")

    def __init__(self, native, entry, key: tuple, python_state, state) -> None:
        """``key``: the plan's (CompiledFunction._key); ``python_state``, ``state``: the function's PythonState and
        StepState (a guard lives no longer than they do: a call that finds other objects takes the full path)."""
        self.native, self.entry, self.python_state, self.state = native, entry, python_state, state
        self.used = False  # whether a call was let through
        self.args, self.python = key[0], key[2]  # the arguments' signature, the Python state's
        self.rules = state.rules()

    def holds(self, args_signature: tuple, tensors: list) -> bool:
        if self.native.check() >= 0:
            return False
        try:  # (the full path's key is a dict key: an unhashable value there is refused, not compared, and an
            # array among the values of an argument too large to open compares elementwise)
            hash(args_signature)
            if args_signature != self.args:
                return False
        except (TypeError, ValueError):
            return False
        for t in tensors:  # (CompiledFunction._why_not: an argument that requires grad is not replayed)
            if t.requires_grad:
                return False
        return self.python_state.signature() == self.python and self.state.rules() == self.rules
