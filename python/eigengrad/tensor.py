"""``Tensor``: a NumPy array with reverse-mode automatic differentiation (define-by-run).

A tensor holds its array (``numpy()`` returns it without a copy), whether it ``requires_grad``, its
accumulated ``grad`` (a Tensor) and, when an operation produced it while the graph was recorded,
the context of that operation. Arrays that eigengrad creates are C-contiguous; ``from_numpy`` shares
the user's array as it is, and the kernels copy a strided input once (never an output).
"""
from __future__ import annotations

import builtins
import operator
import sys
import warnings

import numpy as np

from eigengrad import _dtype, _kernels, _printing, _trace
from eigengrad._device import CPU, check_device
from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad._kernels import FLOAT_DTYPES
from eigengrad.return_types import max as MaxResult  # noqa: F401 (the name eigengrad exported before)

bool_ = _dtype.bool
_DEFAULT_FLOAT = np.dtype(np.float32)


def get_default_dtype() -> _dtype.dtype:
    """The dtype of floating point tensors made from Python floats and of factories' results
    (``torch.get_default_dtype``): float32 unless :func:`set_default_dtype` changed it."""
    return _dtype.of(_DEFAULT_FLOAT)


def set_default_dtype(d) -> None:
    """``torch.set_default_dtype``: float32 or float64."""
    global _DEFAULT_FLOAT
    d = _dtype.to_numpy(d, "d")
    if d not in FLOAT_DTYPES:
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type, got "
                        f"{_dtype.of(d)}")
    _DEFAULT_FLOAT = d


def default_float() -> np.dtype:
    """The default float dtype as a NumPy dtype (for code that allocates arrays)."""
    return _DEFAULT_FLOAT


def _check_dtype(dtype) -> np.dtype | None:
    return _dtype.to_numpy(dtype)


def _to_array(data, dtype=None, copy=True) -> np.ndarray:
    """Convert ``data`` (Tensor, array, scalar or nested sequence) to an array; Python floats become
    the default float dtype (float32), as in PyTorch."""
    dtype = _check_dtype(dtype)
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, as an array does
        data = np.asarray(data)
    elif not isinstance(data, (np.ndarray, list, tuple)) and hasattr(data, "__array__"):
        data = np.asarray(data)  # a pandas Series or Index: its array, and so its dtype, as PyTorch's
    if isinstance(data, np.ndarray):
        _check_numeric(data.dtype, "data")
        # copy=None: copy only when needed (NumPy 2 raises for copy=False when a dtype change needs one)
        return np.array(data, dtype=dtype, copy=True if copy else None, order="K" if not copy else "C")
    if isinstance(data, (list, tuple)) and _holds_tensors(data):
        # PyTorch reads a tensor inside a sequence as a scalar (its item(), at any depth): one element of any
        # shape, its dtype taking part in the inferred one (``torch.tensor([r1, r2])`` of rewards pushed as
        # ``torch.tensor([r])`` is 1-d); a tensor of more elements is refused with its message
        data, found = _scalars_of_tensors(data, dtype), []
        _leaf_dtypes(data, found)
        dtype = dtype if dtype is not None else _promoted_leaf_dtype(found)
    arr = np.array(data, dtype=dtype)
    if dtype is None and arr.dtype == np.float64 and not _holds_float64_arrays(data):
        arr = arr.astype(_DEFAULT_FLOAT)  # Python floats: the default dtype; float64 arrays in a list keep theirs
    if arr.dtype == object:
        raise TypeError(f"data: could not build a numeric tensor from {type(data).__name__}")
    _check_numeric(arr.dtype, "data")
    return arr


_PY_NUMBERS = frozenset({float, int, bool, complex})
# float() of a tensor that requires grad (with grad mode on) warns once per process, as PyTorch's
_WARNED_FLOAT_OF_GRAD = [False]
# PyTorch's words when ``.grad`` is read on a non-leaf tensor that does not retain its gradient
_NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute won't be "
    "populated during autograd.backward(). If you indeed want the .grad field to be populated for a non-leaf "
    "Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure "
    "you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information.")


def _holds_tensors(data) -> bool:
    """Whether a nested list or tuple holds a Tensor at some depth. A list of Python numbers is recognised by
    the set of its element types, made in C: 100 K floats cost ~3 ms that way (NumPy's conversion ~5 ms), where
    an isinstance test per element cost 17."""
    if set(map(type, data)) <= _PY_NUMBERS:
        return False
    return any(isinstance(d, Tensor) or isinstance(d, (list, tuple)) and _holds_tensors(d) for d in data)


def _scalars_of_tensors(data, dtype=None):
    """``data`` with every Tensor in it replaced by its one element (a 0-d array of its dtype). Asked for an
    integer or bool dtype, PyTorch takes the element as an index: a floating one is refused."""
    if isinstance(data, Tensor):
        if data._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if dtype is not None and dtype.kind in "biu" and data._data.dtype.kind not in "biu":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return data._data.reshape(())
    if isinstance(data, (list, tuple)):
        return [_scalars_of_tensors(d, dtype) for d in data]
    return data


def _leaf_dtypes(data, found: list) -> None:
    """The dtypes PyTorch's inference sees in ``data``: a Python bool/int/float is bool/int64/the default
    float, a NumPy scalar or array (a tensor's element, here) its own dtype."""
    if isinstance(data, (list, tuple)):
        for d in data:
            _leaf_dtypes(d, found)
    elif isinstance(data, (np.ndarray, np.generic)):
        found.append(data.dtype)
    elif isinstance(data, bool):
        found.append(np.dtype(np.bool_))
    elif isinstance(data, int):
        found.append(np.dtype(np.int64))
    elif isinstance(data, float):
        found.append(_DEFAULT_FLOAT)
    elif isinstance(data, complex):
        found.append(np.dtype(np.complex128))


def _promoted_leaf_dtype(found: list) -> np.dtype | None:
    """PyTorch's promoteTypes over the leaves' dtypes: floats beat integers whatever their width (an int64
    and a float32 give float32, where NumPy would give float64), integers beat bools."""
    if not found:
        return None
    for kind in "cf":
        of_kind = [d for d in found if d.kind == kind]
        if of_kind:
            return np.result_type(*of_kind)
    return np.result_type(*found)


def _holds_float64_arrays(data) -> bool:
    """Whether a nested list is one of float64 NumPy arrays or scalars (then torch.tensor gives float64, as for
    ``torch.tensor([np.ones(2), np.zeros(2)])``); Python floats give the default dtype. The first element at
    each level decides (a list is one kind of thing), so this costs the nesting depth, not the element count."""
    item = data
    while isinstance(item, (list, tuple)) and len(item):
        item = item[0]
    return isinstance(item, (np.ndarray, np.generic)) and item.dtype == np.float64


class Size(tuple):
    """A tensor's shape (``torch.Size``): a tuple of ints with ``numel()``. It prints as a tuple, so messages
    that show a shape read the same for tensors and arrays."""

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out
def _check_numeric(dtype: np.dtype, name: str) -> None:
    """Tensors hold bools and numbers (as PyTorch's): strings, bytes, dates and records are refused."""
    if dtype.kind not in "biufc":
        raise TypeError(f"{name}: expected numbers or bools, got dtype {dtype}")


def _requires_grad_leaf_error(requires_grad: bool) -> str:
    """PyTorch's message (``requires_grad_leaf_error``) for changing the flag of a non-leaf tensor."""
    message = "you can only change requires_grad flags of leaf variables."
    if not requires_grad:
        message += (" If you want to use a computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach().")
    return message


class Tensor:
    """An n-dimensional array that records the operations applied to it for backpropagation."""

    # _counter: the version counter (None until needed, see autograd.version); _view: what a view knows
    # about its base (autograd.views); _arena: a weak reference to the optimizer arena that holds this
    # tensor's gradient slot (optim.arena); _hooks: a leaf's gradient hooks (autograd.hooks.LeafHooks, None
    # until one is registered; a non-leaf's hooks live on its node).
    __slots__ = ("_data", "_grad", "_requires_grad", "_ctx", "_counter", "_view", "_arena", "_retains_grad",
                 "_hooks", "_inference", "__weakref__")
    # ndarray <op> Tensor defers to Tensor's reflected operators (NumPy's rule for an operand of a higher priority
    # without __array_ufunc__), and a ufunc of tensors (np.exp(t)) reads them through __array__ and gives a tensor
    # through __array_wrap__, as PyTorch's
    __array_priority__ = 1000

    def __init__(self, *args, requires_grad: bool = False, dtype=None, device=None) -> None:
        """``torch.Tensor`` (the FloatTensor constructor): ``Tensor(2, 3)`` is a zero tensor of that size,
        ``Tensor([1, 2])`` and ``Tensor(ndarray)`` hold the data in the default float dtype (an array already of
        that dtype is shared, any other -- bool, int, float64 -- converted, as PyTorch does) and ``Tensor(tensor)``
        shares the tensor's data and dtype. Subclasses (Parameter, Buffer) keep an array's dtype."""
        check_device(device)
        if len(args) == 1 and isinstance(args[0], (np.ndarray, Tensor)):
            arr = args[0]._data if isinstance(args[0], Tensor) else args[0]
            if dtype is not None:
                arr = _to_array(arr, dtype=dtype, copy=False)
            elif type(self) is Tensor and arr is args[0] and arr.dtype != _DEFAULT_FLOAT and arr.dtype.kind in "biuf":
                arr = arr.astype(_DEFAULT_FLOAT)
        else:
            from eigengrad.tensor_ops.creation import legacy_data

            arr = legacy_data(args, _DEFAULT_FLOAT if dtype is None else _check_dtype(dtype))
        self._init(arr, requires_grad)

    def _init(self, arr: np.ndarray, requires_grad: bool) -> None:
        self._data = arr
        self._grad = None
        self._ctx = self._counter = self._view = self._arena = self._hooks = None
        self._retains_grad = False
        self._inference = _grad_mode._state.inference  # (made inside inference_mode: an inference tensor, as PyTorch)
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, arr, requires_grad: bool = False) -> "Tensor":
        """Fast internal constructor around an array the caller owns (the hot path of every op)."""
        t = object.__new__(cls)
        t._data = arr if type(arr) is np.ndarray else np.asarray(arr)
        t._grad = t._ctx = t._counter = t._view = t._arena = t._hooks = None
        t._retains_grad = t._inference = False
        t._requires_grad = False
        if requires_grad:
            t.requires_grad_(True)  # checks the dtype: only float tensors can require grad
        return t

    # --- array access -----------------------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's array, detached from the graph and with its own version counter (as
        ``torch.Tensor.data``: changes through it are not seen by autograd; ``p.data -= lr * g`` updates p)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value) -> None:
        """``p.data = other``: p now uses other's array (shared, as in PyTorch); p's graph role is unchanged."""
        arr = value._data if isinstance(value, Tensor) else value
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"data: expected a Tensor or numpy array, got {type(value).__name__}")
        self._data = arr

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has had (shared by its views; ``torch``'s ``_version``)."""
        return version_of(self)

    @property
    def _base(self):
        """The tensor this one is a view of, or None (``torch.Tensor._base``)."""
        return None if self._view is None else self._view.base

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (no copy: writes to it change the tensor). ``force`` (PyTorch's: detach and
        move to the CPU first) only lifts PyTorch's refusal of a tensor that requires grad (while grad mode is on):
        the array is always the CPU's and shared."""
        if _trace.ACTIVE[0] is not None:
            _trace.reject(".numpy() inside the step (its values leave the recorded kernels)")
        if self._requires_grad and not force and _grad_mode.is_grad_enabled():
            raise RuntimeError(_NUMPY_OF_GRAD)
        return self._data

    def __array__(self, dtype=None, copy=None):
        if _trace.ACTIVE[0] is not None:
            _trace.reject("a tensor converted to a NumPy array (np.asarray(tensor)) inside the step")
        if self._requires_grad and _grad_mode.is_grad_enabled():  # (PyTorch's: __array__ calls numpy())
            raise RuntimeError(_NUMPY_OF_GRAD)
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __array_wrap__(self, array, context=None, return_scalar: bool = False):
        """A NumPy ufunc's result on tensors (``np.exp(t)``, ``np.sqrt(loss)``) as a tensor, as PyTorch's (a bool
        result as uint8, PyTorch's legacy workaround there)."""
        array = np.asarray(array)
        return Tensor._wrap(array.astype(np.uint8) if array.dtype == np.bool_ else array)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ArgumentError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        if _trace.ACTIVE[0] is not None:
            _trace.reject(".item() (or float()/int()) inside the step: a Python value read from a tensor")
        return self._data.item()

    def tolist(self):
        if _trace.ACTIVE[0] is not None:
            _trace.reject(".tolist() inside the step: Python values read from a tensor")
        return self._data.tolist()

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or with ``dim`` (negative counts from the end) the size of that dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dims.wrap(dim, self._data.ndim)]

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.of(self._data.dtype)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    @property
    def device(self):
        """Always ``device(type='cpu')``: eigengrad runs on the CPU (``to``/``cpu``/``cuda``: tensor_ops.conversion)."""
        return CPU

    is_cpu = True
    is_cuda = False
    is_mps = False
    is_sparse = False
    is_quantized = False
    is_meta = False
    is_nested = False  # (no nested tensors: attention code checks it)

    @property
    def is_leaf(self) -> bool:
        if self._view is not None:
            _views.catch_up(self)
        return self._ctx is None

    @property
    def grad_fn(self):
        if self._view is not None:
            _views.catch_up(self)
        return self._ctx

    # --- autograd ---------------------------------------------------------------------------------
    @property
    def grad(self) -> "Tensor | None":
        """The gradient accumulated by backward (None until then). Read on a non-leaf tensor that does not
        retain its gradient, it is None, with PyTorch's warning (backward will not fill it)."""
        grad = self._grad
        if grad is None and self._ctx is not None and not self._retains_grad:
            warnings.warn(_NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return grad

    @grad.setter
    def grad(self, value) -> None:
        # PyTorch's checks: a gradient of another shape or dtype would fail (or silently mix dtypes) later, in
        # the optimizer's step
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value._data.shape)}' to a tensor "
                                   f"of size '{list(self._data.shape)}'. Please ensure that the gradient and the "
                                   "tensor are the same size")
            if value._data.dtype != self._data.dtype:  # (PyTorch's C++ names: 'float', grad_dtype 'Double')
                scalar = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
                          "bool": "Bool"}.get(self._data.dtype.name, self._data.dtype.name)
                given = _dtype.c_type_name(value._data.dtype)
                raise RuntimeError(f"attempting to assign a gradient with dtype '{given}' to a tensor with grad_dtype "
                                   f"'{scalar}'. The gradient must match the tensor's "
                                   "grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype "
                                   "attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with "
                                   "caution. Diverging the dtypes of a tensor and its gradient may break downstream "
                                   "systems that assume they match.")
        old = getattr(self, "_grad", None)  # (unset while a Parameter is built)
        if old is not None and old is not value and self._arena is not None and sys.getrefcount(old) > 3:
            # Held by the caller (3: the attribute, `old`, getrefcount's argument). PyTorch's p.grad = None (or
            # zero_grad()) leaves the caller's tensor as it is, and the next backward makes a new one; here it
            # writes into the same slot of the optimizer's buffer, so the held tensor keeps a copy of its values.
            if self._in_grad_slot(old._data):
                old._data = old._data.copy()
        self._grad = value

    def _in_grad_slot(self, arr: np.ndarray) -> bool:
        """Whether ``arr`` is this parameter's slot of its optimizer's gradient buffer (where backward writes
        its gradient again at every step)."""
        arena = self._arena() if self._arena is not None else None
        return arena is not None and arena.grad_slot(self) is arr

    def is_inference(self) -> bool:
        """True for the output of an operation run in ``inference_mode`` (see ``autograd.grad_mode``)."""
        return self._inference

    def _set_requires_grad(self, requires_grad) -> None:
        # The ``requires_grad`` attribute's setter, with PyTorch's checks in its order: unlike requires_grad_, it
        # refuses a non-leaf even for True (a computed tensor's flag follows from its inputs, not from the user)
        if not isinstance(requires_grad, bool):
            raise RuntimeError("requires_grad must be a bool")
        if self._view is not None:
            _views.catch_up(self)
        if self._ctx is not None:
            raise RuntimeError(_requires_grad_leaf_error(requires_grad))
        self.requires_grad_(requires_grad)

    def _get_requires_grad(self) -> bool:
        if self._view is not None:  # (a view another view of its base wrote into: it requires grad now, as PyTorch's)
            _views.catch_up(self)
        return self._requires_grad

    # PyTorch's flag; its value lives in the _requires_grad slot, which eigengrad's own code reads and writes
    # directly (an op's output is a non-leaf that the setter would refuse)
    requires_grad = property(_get_requires_grad, _set_requires_grad,
                             doc="Whether backward computes a gradient for this tensor (only a leaf's may be set).")

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self._inference and not is_inference_mode_enabled():
            raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.")
        if requires_grad and self._data.dtype not in FLOAT_DTYPES:
            raise ArgumentTypeError("only Tensors of floating point dtype can require gradients")  # (PyTorch's)
        if not requires_grad and self._ctx is not None:  # True on a non-leaf is accepted: it already requires grad
            raise RuntimeError(_requires_grad_leaf_error(False))
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``grad`` on this non-leaf tensor after backward (after its hooks ran, as PyTorch)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True
        engine.retain(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` whenever this tensor's gradient is computed, before it is used or accumulated;
        a hook that returns a tensor replaces the gradient. Returns a handle whose ``remove()`` unregisters it
        (``torch.Tensor.register_hook``)."""
        return hooks.register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after this leaf's ``.grad`` was accumulated in a backward (leaves only)."""
        return hooks.register_post_accumulate_grad_hook(self, hook)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad and self._ctx is not None

    def detach(self) -> "Tensor":
        """A tensor sharing this one's array and version counter, outside the graph (as PyTorch: an in-place
        change through it is seen by the version checks of backward)."""
        t = Tensor._wrap(self._data)
        t._counter = counter_of(self)
        return t

    def detach_(self) -> "Tensor":
        """Detach this tensor from the graph in place (PyTorch's): it becomes a leaf that needs no gradient
        (a truncated backpropagation's carried hidden state); returns it."""
        if self._view is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead. If you are using "
                               "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as "
                               "True, gradients are views of DDP buckets, and hence detach_() cannot be called on "
                               "these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in "
                               "torch/optim/optimizer.py as the solution.")
        self._ctx = None
        self._requires_grad = False
        return self

    def clone(self, *, memory_format=None) -> "Tensor":
        """A copy with its own memory, in the graph (``CloneBackward0``); ``memory_format`` is accepted as
        PyTorch's (eigengrad's tensors are strided: the copy is C-contiguous)."""
        # (without grad, Clone's forward alone: its copy is a kernel call, which eg.compile records)
        return ops.Clone.apply(self) if self.requires_grad else Tensor._wrap(ops.Clone.forward(None, self._data))

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``grad`` (``torch.Tensor.backward``).

        Args:
            gradient: d(something)/d(self); may be omitted only for a one-element tensor (then 1).
            retain_graph: keep the saved arrays so backward can run through the graph again (default:
                ``create_graph``).
            create_graph: record the backward, so the gradients can be differentiated again.
            inputs: accumulate only into these tensors' ``grad``.
        """
        if gradient is None and inputs is None and not create_graph and self.requires_grad and self._data.size == 1 \
                and self._data.dtype.kind == "f":  # loss.backward(): the checks below have nothing to say
            engine.run([self], [_kernels.ones_like(self._data)], retain_graph=bool(retain_graph))
            return
        differentiate.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # --- in-place operations (autograd/inplace.py: PyTorch's rules, autograd, version counter) -----
    def __iadd__(self, o): return inplace.arithmetic(self, "add_", o)
    def __isub__(self, o): return inplace.arithmetic(self, "sub_", o)
    def __imul__(self, o): return inplace.arithmetic(self, "mul_", o)
    def __itruediv__(self, o): return inplace.arithmetic(self, "div_", o)
    def __ipow__(self, o): return self.pow_(o)
    def __imod__(self, o): return self.remainder_(o)
    def __ifloordiv__(self, o): return self.floor_divide_(o)
    # mask &= other writes into the mask (views of it and other names see it), as PyTorch's
    def __iand__(self, o): return self.bitwise_and_(o)
    def __ior__(self, o): return self.bitwise_or_(o)
    def __ixor__(self, o): return self.bitwise_xor_(o)
    def __ilshift__(self, o): return self.bitwise_left_shift_(o)
    def __irshift__(self, o): return self.bitwise_right_shift_(o)

    def add_(self, other, *deprecated, alpha=1) -> "Tensor":
        """self += alpha * other, in place (``add_(alpha, other)``: PyTorch's deprecated order, with its warning)."""
        if deprecated:
            other, alpha = _arith.alpha_first("add_", other, deprecated, alpha)
        return inplace.arithmetic(self, "add_", other, alpha)

    def sub_(self, other, *deprecated, alpha=1) -> "Tensor":
        """self -= alpha * other, in place (``sub_(alpha, other)``: PyTorch's deprecated order, with its warning)."""
        if deprecated:
            other, alpha = _arith.alpha_first("sub_", other, deprecated, alpha)
        return inplace.arithmetic(self, "sub_", other, alpha)

    def mul_(self, other) -> "Tensor":
        return inplace.arithmetic(self, "mul_", other)

    def div_(self, other, *, rounding_mode=None) -> "Tensor":
        if rounding_mode is not None:
            return inplace.functional(self, "div_", _arith.div, other, rounding_mode=rounding_mode)
        return inplace.arithmetic(self, "div_", other)

    def zero_(self) -> "Tensor":
        return inplace.fill(self, 0, "zero_")

    def fill_(self, value) -> "Tensor":
        return inplace.fill(self, value)

    def copy_(self, src, non_blocking: bool = False) -> "Tensor":
        """Copy ``src`` (broadcast, cast to this dtype) into this tensor; differentiable w.r.t. ``src``."""
        return inplace.copy(self, src)

    def clamp_(self, min=None, max=None) -> "Tensor":
        return inplace.clamp(self, min, max)

    clip_ = clamp_

    def __setitem__(self, index, value) -> None:
        """``self[index] = value`` (basic or advanced indexing; value a Tensor, array or number, broadcast
        and cast); differentiable w.r.t. this tensor's earlier value and ``value``."""
        if index is True or index is False:  # PyTorch's: x[True] = v copies into x.unsqueeze(0); False writes nothing
            if index is False:
                return
            index = None
        split = _ints_first(index)
        if split is not None:  # into the view the integers select (see __getitem__)
            if split[1] is None:
                self[split[0]] = value
            else:
                self[split[0]][split[1]] = value
            return
        inplace.setitem(self, _index(index), value)

    def __getstate__(self):
        """Pickled: everything but the link to an optimizer's arena (a process-local weak reference)."""
        slots = {k: getattr(self, k) for k in ("_data", "grad", "requires_grad", "_ctx", "_counter", "_view",
                                               "_retains_grad", "_hooks", "_inference")}
        return getattr(self, "__dict__", None), slots

    def __setstate__(self, state) -> None:
        extra, slots = state
        self._hooks, self._inference = None, False  # pickles written before these slots existed lack them
        for k, v in slots.items():  # (the flag into its slot: the setter would check a half-restored tensor)
            setattr(self, "_requires_grad" if k == "requires_grad" else k, v)
        self._arena = None
        if extra:
            self.__dict__.update(extra)

    def __deepcopy__(self, memo) -> "Tensor":
        """A copy with its own memory and version, outside any optimizer's arena (the graph is copied)."""
        import copy

        t = object.__new__(type(self))
        memo[id(self)] = t
        t._data = copy.deepcopy(self._data, memo)
        t.grad = copy.deepcopy(self.grad, memo)
        t._requires_grad = self._requires_grad
        t._ctx = copy.deepcopy(self._ctx, memo)
        t._retains_grad = self._retains_grad
        t._counter = t._view = t._arena = None
        t._hooks = copy.deepcopy(self._hooks, memo)
        t._inference = self._inference
        if hasattr(self, "__dict__"):  # subclasses without __slots__ (Parameter) may carry attributes
            t.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return t

    # --- arithmetic operators (tensor_ops.arithmetic: PyTorch's type promotion) ---------------------
    def __add__(self, o): return _arith.binary(ops.Add, self, o)
    def __radd__(self, o): return _arith.binary(ops.Add, o, self)
    def __sub__(self, o): return _arith.binary(ops.Sub, self, o)
    def __rsub__(self, o): return _arith.binary(ops.Sub, o, self)
    def __mul__(self, o): return _arith.binary(ops.Mul, self, o)
    def __rmul__(self, o): return _arith.binary(ops.Mul, o, self)
    def __truediv__(self, o): return _arith.binary(ops.Div, self, o, true_div=True)
    def __rtruediv__(self, o): return _arith.binary(ops.Div, o, self, true_div=True)
    def __pow__(self, o): return _arith.pow(self, o)
    def __rpow__(self, o): return _arith.pow(o, self)
    def __matmul__(self, o): return _products.matmul(self, _arith.as_operand_tensor(o, self))
    def __rmatmul__(self, o): return _products.matmul(_arith.as_operand_tensor(o, self), self)
    def __floordiv__(self, o): return _arith.floor_divide(self, o)
    def __rfloordiv__(self, o): return _arith.floor_divide(_arith.as_operand_tensor(o, self), self)
    def __mod__(self, o): return _arith.remainder(self, o)
    def __rmod__(self, o): return _arith.remainder(_arith.as_operand_tensor(o, self), self)
    def __neg__(self): return _arith.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _pointwise.abs(self)

    # --- comparisons and logic (bool results, no gradient; tensor_ops.comparison) -----------------
    def __eq__(self, o): return _comparison.eq(self, o)
    def __ne__(self, o): return _comparison.ne(self, o)
    def __lt__(self, o): return _comparison.lt(self, o)
    def __le__(self, o): return _comparison.le(self, o)
    def __gt__(self, o): return _comparison.gt(self, o)
    def __ge__(self, o): return _comparison.ge(self, o)
    def __and__(self, o): return _comparison.bitwise_and(self, o)
    def __rand__(self, o): return _comparison.bitwise_and(self, o)
    def __or__(self, o): return _comparison.bitwise_or(self, o)
    def __ror__(self, o): return _comparison.bitwise_or(self, o)
    def __xor__(self, o): return _comparison.bitwise_xor(self, o)
    def __rxor__(self, o): return _comparison.bitwise_xor(self, o)
    def __invert__(self): return _comparison.bitwise_not(self)
    def __lshift__(self, o): return _comparison.bitwise_left_shift(self, o)
    def __rlshift__(self, o): return _comparison.bitwise_left_shift(_comparison.operand(o), self)
    def __rshift__(self, o): return _comparison.bitwise_right_shift(self, o)
    def __rrshift__(self, o): return _comparison.bitwise_right_shift(_comparison.operand(o), self)
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous (the tensor has "
                               f"{self._data.size} elements)")
        if _trace.ACTIVE[0] is not None:
            _trace.reject("Python control flow on a tensor's value (bool(tensor), if tensor: ...) inside the step")
        return bool(self._data)

    def __float__(self):
        if self._requires_grad and not _WARNED_FLOAT_OF_GRAD[0] and _grad_mode.is_grad_enabled():
            _WARNED_FLOAT_OF_GRAD[0] = True  # once per process, as PyTorch's TORCH_WARN_ONCE
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                          "Consider using tensor.detach() first.", UserWarning, stacklevel=2)
        return builtins_float(self.item())

    def __int__(self): return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __getitem__(self, index):
        split = _ints_first(index)
        if split is not None:  # PyTorch's order: the integers select first, then the advanced indices apply
            return self[split[0]] if split[1] is None else self[split[0]][split[1]]
        return ops.GetItem.apply(self, index=_index(index))

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __format__(self, format_spec: str) -> str:
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``), as PyTorch; others as their repr."""
        if self.ndim == 0 and not _printing.prints_as_repr(self):  # (a Parameter formats as its repr)
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __repr__(self) -> str:
        if _trace.ACTIVE[0] is not None:  # (a print inside a compiled step would print only while tracing)
            _trace.reject("a tensor printed (repr/str) inside the step: its values are read into Python")
        grad_fn = None if self._ctx is None else self._ctx.name()  # PyTorch's node name: MulBackward0, ...
        return _printing.tensor_repr(self._data, self.dtype, grad_fn, self.requires_grad)


builtins_float = builtins.float
_NUMPY_OF_GRAD = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."


def _index(index):
    kind = type(index)
    if kind is slice:
        if index.step is not None:
            _check_step(index.step)
        return index
    if isinstance(index, Tensor):
        return _index_array(index)
    if isinstance(index, list) and _sequence_as_tuple(index):
        import warnings

        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed in "
                      "pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be interpreted as "
                      "tensor index, x[torch.tensor(seq)], which will result either in an error or a different result",
                      UserWarning, stacklevel=3)
        index = tuple(index)
    if isinstance(index, tuple):  # (a tuple, a tuple subclass or a list taken as a tuple)
        for i in index:
            if type(i) is slice and i.step is not None:
                _check_step(i.step)
        return tuple(_index_array(i) if isinstance(i, Tensor) else i for i in index)
    return index


def _check_step(step) -> None:
    """PyTorch's check of a slice's step: a negative one is refused (NumPy would reverse), zero as Python's."""
    try:
        step = operator.index(step)
    except TypeError:
        raise TypeError("slice indices must be integers or None or have an __index__ method") from None
    if step < 0:
        raise ValueError("step must be greater than zero")
    if step == 0:
        raise ValueError("slice step cannot be zero")


def _sequence_as_tuple(index: list) -> bool:
    """PyTorch's rule (treatSequenceAsTuple, NumPy's old one): a list of fewer than 32 items holding a tensor, a
    sequence, a slice, Ellipsis or None is a tuple of indices (``x[[[0, 1], [2, 0]]]`` is ``x[[0, 1], [2, 0]]``);
    a list of numbers is one index."""
    return len(index) < 32 and any(isinstance(i, (Tensor, np.ndarray, list, tuple, range, slice)) or i is None
                                   or i is Ellipsis for i in index)


def _index_array(t: "Tensor") -> np.ndarray:
    """A tensor used as an index: a uint8 one is a mask, as PyTorch's legacy ``mask.byte()`` idiom."""
    if t._data.dtype == np.uint8:
        import warnings

        warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead.",
                      UserWarning, stacklevel=3)
        return t._data.astype(bool)
    return t._data


def _is_int_index(k) -> bool:
    if isinstance(k, (Tensor, np.ndarray)):
        arr = k._data if isinstance(k, Tensor) else k
        return arr.ndim == 0 and arr.dtype.kind in "iu"
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _advanced_dims(k) -> int:
    """The dims an advanced index (a list, an array or a tensor) consumes, else 0: a mask its own ndim."""
    if isinstance(k, (Tensor, np.ndarray)):
        arr = k._data if isinstance(k, Tensor) else k
        return (arr.ndim if arr.dtype.kind == "b" or arr.dtype == np.uint8 else 1) if arr.ndim else 0
    if isinstance(k, (list, tuple)):
        arr = np.asarray([_index_array(i) if isinstance(i, Tensor) else i for i in k])  # (inside a tuple: one index)
        return arr.ndim if arr.dtype.kind == "b" else 1
    return 0


def _is_bool_scalar(k) -> bool:
    """A bool used as one index: Python's, NumPy's or a 0-d bool (or uint8) tensor or array."""
    if isinstance(k, (Tensor, np.ndarray)):
        arr = k._data if isinstance(k, Tensor) else k
        return arr.ndim == 0 and (arr.dtype.kind == "b" or arr.dtype == np.uint8)
    return isinstance(k, (bool, np.bool_))


def _ints_first(index):
    """For an index that mixes integers with advanced indices, PyTorch's two steps: ``(basic, advanced)``, the
    first selecting with the integers (and the slices, None and Ellipsis), the second applying the advanced
    indices to that view. NumPy instead counts an integer as an advanced index, so that ``x[0, :, [1, 2]]``
    would put the list's dim first. As PyTorch's, a 0-d integer tensor (or array) is an integer (the result a
    view), and a bool scalar (Python's or a 0-d tensor) is a new dim indexed by ``[0]`` (True) or ``[]``
    (False), an advanced index that broadcasts with the others. The second step is None when nothing advanced
    is left. None when the index is none of these."""
    kind = type(index)
    if kind is not tuple:
        if kind is int or kind is slice or index is None or not (kind is bool or _is_bool_scalar(index)
                                                                  or _is_int_index(index) and kind is not int):
            return None
        index = (index,)
    has_int = has_advanced = special = False
    for k in index:  # one pass with the common kinds first: this runs at every tuple index
        kind = type(k)
        if kind is slice or k is None or k is Ellipsis:
            continue
        if kind is int:
            has_int = True
        elif _is_int_index(k):
            has_int = True
            special = special or isinstance(k, (Tensor, np.ndarray))  # a 0-d tensor: PyTorch selects (a view)
        elif _is_bool_scalar(k):
            special = True
        elif _advanced_dims(k):
            has_advanced = True
    if not (special or has_int and has_advanced):
        return None
    first, second, advanced = [], [], False
    for k in index:
        n = 0 if _is_int_index(k) else _advanced_dims(k)
        if _is_int_index(k):
            first.append(operator.index(k))  # a Python int: a 0-d array would index (and copy) as an advanced one
        elif _is_bool_scalar(k):
            first.append(None)
            second.append(np.zeros(1 if bool(k._data if isinstance(k, Tensor) else k) else 0, dtype=np.int64))
            advanced = True
        elif n:
            first += [slice(None)] * n
            second.append(k)
            advanced = True
        elif k is None:
            first.append(None)
            second.append(slice(None))
        elif k is Ellipsis:
            first.append(Ellipsis)
            second.append(Ellipsis)
        else:
            first.append(k)
            second.append(slice(None))
    return tuple(first), (tuple(second) if advanced else None)


# Imported last: the primitives, the engine and the operations refer back to Tensor.
from eigengrad.autograd import differentiate, engine, hooks, inplace, ops  # noqa: E402
from eigengrad.autograd import views as _views  # noqa: E402
from eigengrad.autograd.grad_mode import is_inference_mode_enabled  # noqa: E402
from eigengrad.autograd import grad_mode as _grad_mode  # noqa: E402
from eigengrad.autograd.version import counter_of, version_of  # noqa: E402
from eigengrad import tensor_ops  # noqa: E402
from eigengrad.tensor_ops import _dims  # noqa: E402
from eigengrad.tensor_ops import arithmetic as _arith  # noqa: E402
from eigengrad.tensor_ops import comparison as _comparison  # noqa: E402
from eigengrad.tensor_ops import pointwise as _pointwise  # noqa: E402
from eigengrad.tensor_ops import products as _products  # noqa: E402

tensor_ops.install(Tensor)

# The factories live in tensor_ops.creation; these names are kept for the modules that import them from here.
from eigengrad.tensor_ops.creation import (  # noqa: E402
    arange, as_tensor, empty, from_numpy, full, ones, ones_like, rand, randn, randperm, tensor, zeros, zeros_like,
)
