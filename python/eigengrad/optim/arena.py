"""``ParamArena``: one param group's parameters of one dtype, their gradients and the optimizer's state,
laid out flat in buffers that the arena alone owns.

Parameter i occupies ``[offsets[i], offsets[i+1])`` of every flat array of the arena: the parameter
buffer ``data`` (when the parameters live in one), the gradient buffer ``grad`` (always) and each state
array of the optimizer. Backward writes each parameter's first gradient into its slot of ``grad`` and
then tells the arena the gradient is final (:meth:`grad_ready`, where hooks such as a bucketed
allreduce can start); an optimizer step is one kernel call over the buffers; clipping takes ``grad``
as one segment.

Where the parameters live. A parameter's memory never moves while anything but the parameter can see
it, so what ``from_numpy`` shares and what ``.numpy()`` returned stay the parameter's memory (PyTorch's
aliasing):

1. *In place*: the parameters' arrays are already consecutive, C-contiguous pieces of one memory block
   in the group's order (one parameter; an earlier arena over the same parameters; views of one user
   array): that block is the parameter buffer.
2. *Adopted*: every array owns its memory and only its parameter references it (CPython's reference
   count, calibrated at import; arrays a module allocated and nobody took with ``.numpy()``): they are
   copied into a new buffer and the parameters become views of it, which nobody can notice.
3. Otherwise (an array the user still holds, a strided or read-only array, memory owned elsewhere):
   the parameters stay where they are, each step makes one kernel call per parameter (gradients and
   state are still flat), and the arena logs the reason once.

The step also leaves the single pass, logging once per arena, when a parameter has no gradient in its
slot or the parameters' states differ; it runs per parameter with the same semantics.

The note is an INFO record of the ``eigengrad.optim`` logger, not a warning: every one of these cases is
ordinary PyTorch code (frozen parameters, a GAN's two optimizers, ``from_numpy`` aliasing, a gradient
assigned by hand) that PyTorch runs silently, and a warning would fail the test suites that turn
warnings into errors. Only the speed differs (``logging.getLogger("eigengrad.optim").setLevel("INFO")``
shows why a step is not one kernel call).
"""
from __future__ import annotations

import logging
import sys
import weakref
from collections import OrderedDict

import numpy as np

from eigengrad import _memory
from eigengrad.tensor import Tensor
from eigengrad.utils.hooks import RemovableHandle

logger = logging.getLogger("eigengrad.optim")


def _data_refs(t: Tensor) -> int:
    return sys.getrefcount(t._data)


# The count of a tensor's array held by nothing but the tensor (measured, not assumed: interpreters
# differ in the references a call holds).
_EXCLUSIVE_REFS = _data_refs(Tensor._wrap(np.empty(1)))


class ParamArena:
    """The flat buffers of parameters ``params`` (one dtype). ``label`` names them in log records."""

    def __init__(self, params: list[Tensor], label: str) -> None:
        self.params = list(params)
        self.label = label
        self.dtype = self.params[0].dtype
        sizes = [p._data.size for p in self.params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._index = {id(p): i for i, p in enumerate(self.params)}
        self.grad = _flat(int(self.offsets[-1]), self.dtype, 0)
        self._grad_views = self.split(self.grad)
        self._state: dict[str, tuple[np.ndarray, list[np.ndarray]]] = {}
        self.hooks: OrderedDict = OrderedDict()  # grad-ready hooks (RemovableHandle keeps a weak reference)
        self._noted = False
        self.data, self.placement = self._place()
        self._data_views = [p._data for p in self.params] if self.data is not None else []
        for p in self.params:
            p._arena = weakref.ref(self)  # the newest arena holds the gradient slot (while its optimizer lives)
        if self.data is None:
            self.note_once(self.placement)

    def __getstate__(self) -> dict:
        """What a copy (deepcopy, pickle) keeps: not the parameter buffer, because copied views are no views
        of a copied buffer; a copy steps its (copied) parameters one kernel call at a time."""
        state = dict(self.__dict__)
        state.update(data=None, _data_views=[], _noted=False, hooks=OrderedDict(),
                     placement="it is a copy (deepcopy or pickle), whose parameters keep their own memory")
        return state

    # --- layout -----------------------------------------------------------------------------------
    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """Per-parameter views of an array laid out like the arena."""
        o = self.offsets
        return [flat[o[i]:o[i + 1]].reshape(p.shape) for i, p in enumerate(self.params)]

    def _place(self) -> tuple[np.ndarray | None, str]:
        """The parameter buffer and how it was made ("in place", "adopted"), or None and why not."""
        flat = _back_to_back([p._data for p in self.params])
        if flat is not None:
            return flat, "in place"
        for i, p in enumerate(self.params):
            why = _why_not_movable(p)
            if why is not None and not p._data.flags.writeable:
                raise ValueError(f"params: parameter {i} of {self.label} (shape {tuple(p.shape)}) is read-only (e.g. "
                                 "from_numpy of a read-only array); an optimizer updates its parameters in place")
            if why is not None:
                return None, (f"parameter {i} (shape {tuple(p.shape)}) cannot move into the group's flat buffer: "
                              f"{why}; it keeps its memory, as in PyTorch")
        flat = _flat(int(self.offsets[-1]), self.dtype)
        for p, view in zip(self.params, self.split(flat)):
            view[...] = p._data
            p._data = view
        return flat, "adopted"

    # --- gradients ----------------------------------------------------------------------------------
    def grad_slot(self, p: Tensor) -> np.ndarray | None:
        """``p``'s slot of the gradient buffer (where backward writes its first gradient), or None."""
        i = self._index.get(id(p))
        return None if i is None or self.params[i] is not p else self._grad_views[i]

    def grad_ready(self, p: Tensor) -> None:
        """Called by backward when ``p``'s gradient for this backward is complete (summed over its uses)."""
        i = self._index[id(p)]
        for hook in list(self.hooks.values()):
            hook(self, i)

    def register_grad_ready_hook(self, hook) -> RemovableHandle:
        """``hook(arena, i)`` runs whenever parameter i's gradient becomes final in a backward; its values
        are then ``arena.grad[arena.offsets[i]:arena.offsets[i + 1]]`` when it is in its slot."""
        handle = RemovableHandle(self.hooks)
        self.hooks[handle.id] = hook
        return handle

    def grads_in_slots(self) -> bool:
        """True when every parameter's gradient is the view of its slot (the buffer holds them all)."""
        return all(p.grad is not None and p.grad._data is g for p, g in zip(self.params, self._grad_views))

    # --- the single pass ----------------------------------------------------------------------------
    def unfused_reason(self) -> str | None:
        """None when one kernel call over the buffers can update every parameter, else why not."""
        if self.data is None:
            return self.placement
        for i, (p, view) in enumerate(zip(self.params, self._data_views)):
            if p._data is not view:
                return f"parameter {i}'s array was replaced (p.data = ...), so it is no longer in the flat buffer"
        for i, (p, g) in enumerate(zip(self.params, self._grad_views)):
            if p.grad is None:
                return f"parameter {i} (shape {tuple(p.shape)}) has no gradient (it is skipped, as in PyTorch)"
            if p.grad._data is not g:
                return (f"parameter {i}'s gradient is not in its slot of the gradient buffer (it was assigned to "
                        "p.grad, or computed before the optimizer was built)")
        return None

    def note_once(self, reason: str) -> None:
        """Logs (once per arena) why the step runs one kernel call per parameter."""
        if getattr(self, "_noted", False):  # an arena pickled before the note existed has none
            return
        self._noted = True
        logger.info("%s: the optimizer step runs one kernel call per parameter instead of one for the group, "
                    "because %s.", self.label, reason)

    # --- optimizer state ----------------------------------------------------------------------------
    def new_state(self, name: str, fill: float) -> tuple[np.ndarray, list[np.ndarray]]:
        """A new flat state array ``name`` filled with ``fill``, and its per-parameter views."""
        flat = _flat(int(self.offsets[-1]), self.dtype, fill)
        self._state[name] = (flat, self.split(flat))
        return self._state[name]

    def state_view(self, name: str, i: int, fill: float) -> np.ndarray:
        """Parameter i's view of state ``name`` (the flat array is made on first use), set to ``fill``."""
        if name not in self._state:
            self.new_state(name, fill)
        view = self._state[name][1][i]
        view[...] = fill
        return view

    def state_buffer(self, name: str, views: list) -> np.ndarray | None:
        """The flat array of state ``name`` when ``views`` (one per parameter) are exactly its views."""
        entry = self._state.get(name)
        if entry is None or any(v is not w for v, w in zip(views, entry[1])):
            return None
        return entry[0]

    def index(self, p: Tensor) -> int:
        return self._index[id(p)]


def build_arenas(params: list[Tensor], label: str) -> list[ParamArena]:
    """One arena per dtype among ``params`` (kernels take one dtype per call)."""
    by_dtype: dict = {}
    for p in params:
        by_dtype.setdefault(p.dtype, []).append(p)
    return [ParamArena(ps, label) for ps in by_dtype.values()]


def _back_to_back(arrays: list[np.ndarray]) -> np.ndarray | None:
    """A flat view over ``arrays`` when they are consecutive C-contiguous writeable pieces of one memory
    block, in this order; else None."""
    root = _root(arrays[0])
    address = arrays[0].__array_interface__["data"][0]
    for a in arrays:
        if (not a.flags.c_contiguous or not a.flags.writeable or _root(a) is not root
                or a.__array_interface__["data"][0] != address):
            return None
        address += a.nbytes
    total = sum(a.size for a in arrays)
    return np.lib.stride_tricks.as_strided(arrays[0], shape=(total,), strides=(arrays[0].itemsize,))


def _root(a: np.ndarray):
    return a if a.base is None else a.base


def _why_not_movable(p: Tensor) -> str | None:
    """None when nothing but ``p`` can see its array (moving it is unobservable), else why not."""
    if not p._data.flags.owndata:
        return ("its array is a view of memory it does not own (from_numpy of a slice or view, or another "
                "optimizer's buffer in another order)")
    if _data_refs(p) > _EXCLUSIVE_REFS:
        return ("its array is referenced outside the parameter (from_numpy of an array that is still used, or "
                ".numpy() taken before the optimizer was built)")
    return None


def _flat(n: int, dtype, fill=None) -> np.ndarray:
    """A new flat buffer of ``n`` elements (set to ``fill`` when given), from eigengrad._memory: a large one starts
    at a cache line of its page that the other large buffers do not (the optimizer's update streams the
    parameters, gradients and moments side by side: at one page offset each, every element would alias)."""
    out = _memory.empty(n, dtype)
    if fill is not None:
        out.fill(fill)
    return out
