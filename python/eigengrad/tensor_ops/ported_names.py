"""PyTorch names that a comparison of ``dir(torch)`` / ``dir(torch.Tensor)`` with eigengrad's found missing, each
built on the operation eigengrad already has (no second copy of a mechanism):

- the top-level in-place forms of Tensor methods (``torch.abs_(x)`` is ``x.abs_()``);
- (the top-level ATen forms of nn.functional operations, ``torch.embedding(weight, indices)``, ``torch.kl_div``,
  ``torch.gru_cell``, ..., are the other area, ``ported_functional``);
- Tensor methods: random fills (``log_normal_``, ``cauchy_``, ``geometric_``), ``apply_``/``map_``/``map2_``
  (a Python callable per element, CPU tensors that do not require grad, as PyTorch), the real-tensor identities
  of the conjugate/negative bits (``conj``, ``resolve_neg``, ``is_conj``, ...), ``storage()`` /
  ``untyped_storage()`` (the memory of the tensor's root array: ``data_ptr()``, ``size()``, ``nbytes()``);
- factories: ``empty_strided``, ``empty_permuted``, ``frombuffer``, ``from_dlpack`` (zero copy through NumPy);
- flags and queries (``get_deterministic_debug_mode``, ``set_warn_always``, ``typename``, ...).

The functions removed from PyTorch 2 (``torch.solve``, ``lstsq``, ``eig``, ``symeig``, ``matrix_rank``) raise the
RuntimeError PyTorch raises, naming the replacement."""
from __future__ import annotations

import math
import numbers
import operator
import sys
import warnings

import numpy as np

from eigengrad import _trace
from eigengrad import _dtype
from eigengrad.autograd import inplace


def _tensor_cls():
    return sys.modules["eigengrad.tensor"].Tensor


def _F():
    from eigengrad.nn import functional

    return functional


def _check_tensor(name: str, input, arg: str = "input") -> None:
    if not isinstance(input, _tensor_cls()):
        raise TypeError(f"{name}(): argument '{arg}' (position 1) must be Tensor, not {type(input).__name__}")


# --- torch.X_(input, ...): the Tensor's in-place method X_ ------------------------------------------------------

INPLACE_ALIASES = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_",
    "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_",
    "detach_", "erf_", "erfc_", "exp2_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "lcm_", "ldexp_",
    "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_",
    "resize_as_", "round_", "rsqrt_", "sin_", "sinc_", "sinh_", "square_", "tan_", "tanh_", "trunc_", "xlogy_",
    "zero_",
)


def _method_alias(name: str):
    def fn(input, *args, **kwargs):
        _check_tensor(name, input)
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, ...)``: ``input.{name}(...)`` (input changed in place and returned)."
    return fn


globals().update({name: _method_alias(name) for name in INPLACE_ALIASES})


def fill(input, value):
    """A new tensor of input's shape and dtype filled with ``value`` (a number or a 0-d tensor; ``torch.fill``).
    Differentiable in a tensor ``value``; input's gradient is zero, as PyTorch's."""
    _check_tensor("fill", input)
    return input.clone().fill_(value)


# --- special functions: the regularized incomplete gamma functions ---------------------------------------------

def igamma(input, other, *, out=None):
    """The regularized lower incomplete gamma function P(input, other) (``torch.special.gammainc``)."""
    from eigengrad.tensor_ops import special

    return special.gammainc(input, other, out=out)


def igammac(input, other, *, out=None):
    """The regularized upper incomplete gamma function Q(input, other) (``torch.special.gammaincc``)."""
    from eigengrad.tensor_ops import special

    return special.gammaincc(input, other, out=out)


igamma_ = inplace.method("igamma", igamma)
igammac_ = inplace.method("igammac", igammac)


def float_power_(self, exponent):
    """``self ** exponent`` in float64, in place: self must be float64 (PyTorch's rule)."""
    from eigengrad.tensor_ops import arithmetic

    if self._data.dtype != np.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {inplace._torch_name(self._data.dtype)} but the "
                           "operation's result requires dtype Double")
    return inplace.functional(self, "float_power_", arithmetic.float_power, exponent)


def hardshrink(input, lambd: float = 0.5):
    return _F().hardshrink(input, lambd)


def prelu(input, weight):
    return _F().prelu(input, weight)


# --- random fills ----------------------------------------------------------------------------------------------

def _log_normal_draw(shape: tuple, dtype: np.dtype, generator, mean: float, std: float) -> np.ndarray:
    from eigengrad.tensor_ops.creation import _normal_draw

    return np.exp(_normal_draw(shape, dtype, generator, mean, std))


def _cauchy_draw(shape: tuple, dtype: np.dtype, generator, median: float, sigma: float) -> np.ndarray:
    from eigengrad.tensor_ops.creation import _uniform

    u = _uniform(shape, np.dtype(np.float64), generator)
    return (median + sigma * np.tan(np.pi * (u - 0.5))).astype(dtype)


def _geometric_draw(shape: tuple, generator, p: float) -> np.ndarray:
    from eigengrad.tensor_ops.creation import _uniform

    u = _uniform(shape, np.dtype(np.float64), generator)
    with np.errstate(divide="ignore"):
        return np.maximum(np.ceil(np.log1p(-u) / np.log1p(-p)), 1.0)


def _float_only(self, name: str, error=NotImplementedError) -> None:
    if self._data.dtype.kind != "f":
        raise error(f"\"{name}\" not implemented for '{inplace._torch_name(self._data.dtype)}'")


def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator=None):
    """Fills self with exp(N(mean, std^2)) draws (the log-normal distribution)."""
    from eigengrad.tensor_ops.creation import _random_fill

    _float_only(self, "log_normal_cpu")
    if not std > 0.0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _random_fill(self, "log_normal_", _log_normal_draw, self.shape, self._data.dtype, generator, float(mean),
                        float(std))


def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator=None):
    """Fills self with Cauchy draws median + sigma tan(pi (U - 1/2))."""
    from eigengrad.tensor_ops.creation import _random_fill

    if self._data.dtype.kind != "f":
        raise RuntimeError("Cauchy distribution is a continuous probability distribution. dtype must be a floating "
                           f"point but you specified {self._data.dtype.name}")
    if not sigma > 0.0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    return _random_fill(self, "cauchy_", _cauchy_draw, self.shape, self._data.dtype, generator, float(median),
                        float(sigma))


def geometric_(self, p: float, *, generator=None):
    """Fills self with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    from eigengrad.tensor_ops.creation import _random_fill

    if not 0.0 < p < 1.0:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _random_fill(self, "geometric_", _geometric_draw, self.shape, generator, float(p))


def binomial(count, prob, generator=None):
    """Binomial draws of ``count`` trials with success probability ``prob`` (floating tensors of one dtype,
    broadcast), NumPy's sampler seeded from eigengrad's generator as :func:`eigengrad.poisson`. No gradient."""
    from eigengrad.random import default_generator

    _check_tensor("binomial", count, "count")
    _check_tensor("binomial", prob, "prob")
    if count._data.dtype.kind != "f":
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{inplace._torch_name(count._data.dtype)}")
    if prob._data.dtype != count._data.dtype:
        raise RuntimeError(f"Found dtype {inplace._torch_name(prob._data.dtype)} but expected "
                           f"{inplace._torch_name(count._data.dtype)}")
    inplace._check_broadcast(np.broadcast_shapes(count.shape, prob.shape), count.shape)
    n, p = count._data.astype(np.float64), prob._data.astype(np.float64)
    if np.any(n < 0) or np.any(np.isnan(n)) or np.any(~((p >= 0) & (p <= 1))):
        raise RuntimeError("binomial: expected count >= 0 and 0 <= prob <= 1")
    gen = default_generator if generator is None else generator
    rng = np.random.default_rng([gen.initial_seed(), gen._advance(1)])
    return _tensor_cls()._wrap(rng.binomial(n.astype(np.int64), p).astype(count._data.dtype))


# --- apply_, map_, map2_: a Python callable per element -------------------------------------------------------

def _python_map(self, name: str, fn, others: tuple):
    if self.requires_grad:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() instead.")
    if not callable(fn):
        raise TypeError(f"{name}(): expected a callable, got {type(fn).__name__}")
    arrays = [np.broadcast_to(self._data, self.shape)]
    for o in others:
        _check_tensor(name, o, "tensor")
        inplace._check_broadcast(self.shape, o.shape)
        arrays.append(np.broadcast_to(o._data, self.shape))
    values = [fn(*args) for args in zip(*(a.ravel().tolist() for a in arrays))]
    result = np.empty(self.shape, dtype=self._data.dtype)
    result.reshape(-1)[:] = values
    return inplace.run(self, name, (inplace._copy_step, result), None)


def apply_(self, callable):
    """Replaces every element x by ``callable(x)`` (a Python number in, a number out)."""
    return _python_map(self, "apply_", callable, ())


def map_(self, tensor, callable):
    """Replaces every element x by ``callable(x, y)``, y the element of ``tensor`` (broadcast to self)."""
    return _python_map(self, "map_", callable, (tensor,))


def map2_(self, x, y, callable):
    """Replaces every element s by ``callable(s, a, b)``, a and b the elements of ``x`` and ``y``."""
    return _python_map(self, "map2_", callable, (x, y))


# --- the conjugate and negative bits (real tensors: identities) ------------------------------------------------

def conj(input):
    """input itself for a real tensor (PyTorch's conj is a lazy view, and a no-op for real dtypes)."""
    if input._data.dtype.kind == "c":
        return _tensor_cls()._wrap(np.conj(input._data))
    return input


def conj_physical(input):
    return conj(input)


def resolve_conj(input):
    return input


def resolve_neg(input):
    return input


def is_conj(input) -> bool:
    return False


def is_neg(input) -> bool:
    return False


def is_inference(input) -> bool:
    return input.is_inference()


# --- views, copies and splits ----------------------------------------------------------------------------------

def unsafe_chunk(input, chunks: int, dim: int = 0):
    """``chunk`` (PyTorch's unsafe_ form only skips view tracking; the values are chunk's)."""
    return input.chunk(chunks, dim)


def unsafe_split(input, split_size, dim: int = 0):
    return input.split(split_size, dim)


def unsafe_split_with_sizes(input, split_sizes, dim: int = 0):
    return input.split_with_sizes(split_sizes, dim)


def narrow_copy(input, dim: int, start, length: int):
    return input.narrow(dim, start, length).clone()


def nonzero_static(input, *, size: int, fill_value: int = -1):
    """``nonzero`` cut or padded (with ``fill_value`` rows) to exactly ``size`` rows."""
    idx = input.nonzero()._data
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    out = np.full((size, input.ndim), fill_value, dtype=np.int64)
    k = min(size, idx.shape[0])
    out[:k] = idx[:k]
    return _tensor_cls()._wrap(out)


def slice_copy(input, dim: int = 0, start=None, end=None, step: int = 1):
    """``input[..., start:end:step, ...]`` along ``dim``, as a new tensor."""
    from eigengrad.tensor_ops import _dims

    _check_tensor("slice_copy", input)
    if step is not None and operator.index(step) <= 0:  # (PyTorch's message: indexing's is another)
        raise RuntimeError("slice step must be positive")
    d = _dims.wrap(dim, input.ndim)
    return input[(slice(None),) * d + (slice(start, end, step),)].clone()


def norm_except_dim(v, pow: float = 2, dim: int = 0):
    """The ``pow``-norm over every dim but ``dim`` (kept as size 1; the whole tensor's norm for dim=-1): the
    norm weight_norm divides by."""
    _check_tensor("norm_except_dim", v)
    if dim == -1:
        return v.norm(pow)
    from eigengrad.tensor_ops import _dims

    d = _dims.wrap(dim, v.ndim)
    others = tuple(i for i in range(v.ndim) if i != d)
    return v.norm(pow, dim=others, keepdim=True) if others else v.abs()


def angle(input):
    """The argument of a real number: pi for negative elements, 0 otherwise, NaN kept (integers give the default
    float dtype). Zero gradient, as PyTorch's for real input."""
    from eigengrad.tensor import default_float

    _check_tensor("angle", input)
    if input._data.dtype.kind == "c":
        return _tensor_cls()._wrap(np.angle(input._data).astype(np.finfo(input._data.dtype).dtype))
    x = input if input._data.dtype.kind == "f" else input.to(default_float())
    return x.where(x.isnan(), (x < 0).to(x._data.dtype) * math.pi)


def svd_lowrank(A, q: int | None = 6, niter: int | None = 2, M=None):
    """(U, S, V) of the ``q`` largest singular values of A - M (``q`` cut to min(m, n)). Computed exactly by
    ``linalg.svd`` (PyTorch's randomized subspace iteration approximates the same; ``niter`` is unused)."""
    from eigengrad import linalg

    _check_tensor("svd_lowrank", A, "A")
    X = A if M is None else A - M
    q = min(6 if q is None else int(q), X.shape[-2], X.shape[-1])
    U, S, Vh = linalg.svd(X, full_matrices=False)
    return U[..., :q], S[..., :q], Vh.mT[..., :q]


def pca_lowrank(A, q: int | None = None, center: bool = True, niter: int = 2):
    """:func:`svd_lowrank` of A with its column means removed (``center``), q = min(6, m, n) by default."""
    _check_tensor("pca_lowrank", A, "A")
    q = min(6, A.shape[-2], A.shape[-1]) if q is None else q
    if not 0 <= q <= min(A.shape[-2], A.shape[-1]):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)="
                         f"{min(A.shape[-2], A.shape[-1])}")
    return svd_lowrank(A - A.mean(dim=-2, keepdim=True) if center else A, q, niter)


def _resize(self, sizes: tuple, name: str):
    from eigengrad.tensor_ops import _dims

    shape = _dims.check_sizes(_dims.sizes(sizes))
    warnings.warn(f"non-inplace {name} is deprecated", UserWarning, stacklevel=3)
    n = int(np.prod(shape, dtype=np.int64))
    if n != self.numel():
        raise RuntimeError(f"requested resize to {'x'.join(map(str, shape))} ({n} elements in total), but the given "
                           f"tensor has a size of {'x'.join(map(str, self.shape))} ({self.numel()} elements). "
                           "autograd's resize can only change the shape of a given tensor, while preserving the number "
                           "of elements. ")
    return self.reshape(shape)


def resize(self, *sizes):
    """The deprecated out-of-place resize: a reshape to ``sizes`` that keeps the number of elements (warns)."""
    return _resize(self, sizes, "resize")


def resize_as(self, tensor):
    return _resize(self, (tuple(tensor.shape),), "resize_as")


def new_empty_strided(self, size, stride, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                      pin_memory: bool = False):
    dtype = self._data.dtype if dtype is None else dtype
    return empty_strided(size, stride, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def const_data_ptr(self):
    return self.data_ptr()


def dim_order(self, *, ambiguity_check: bool = False):
    """The dims from outermost to innermost in memory (largest stride first; ties keep the logical order)."""
    strides = self.stride()
    return tuple(sorted(range(self.ndim), key=lambda d: -strides[d]))


# --- storage: the memory of the tensor's root array ------------------------------------------------------------

class UntypedStorage:
    """The bytes under a tensor: the root NumPy array that owns its memory (a view's storage is its base's).
    ``data_ptr()``, ``nbytes()``, ``size()`` (bytes) answer questions such as "do these tensors share memory";
    resizing or swapping a storage is not supported."""

    def __init__(self, root: np.ndarray) -> None:
        self._root = root

    def data_ptr(self) -> int:
        return self._root.__array_interface__["data"][0]

    def nbytes(self) -> int:
        return self._root.nbytes

    def size(self) -> int:
        return self.nbytes()

    def __len__(self) -> int:
        return self.size()

    def element_size(self) -> int:
        return 1

    @property
    def device(self):
        from eigengrad._device import CPU

        return CPU

    def _bytes(self) -> np.ndarray:
        return np.ascontiguousarray(self._root).reshape(-1).view(np.uint8)

    def tolist(self) -> list:
        return self._bytes().tolist()

    def __getitem__(self, i):
        return self._bytes()[i].tolist()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data_ptr={self.data_ptr():#x}, nbytes={self.nbytes()})"


class TypedStorage(UntypedStorage):
    """The storage in elements of the tensor's dtype (``tensor.storage()``)."""

    def __init__(self, root: np.ndarray, dtype: np.dtype) -> None:
        super().__init__(root)
        self._dtype = np.dtype(dtype)

    @property
    def dtype(self):
        return _dtype.of(self._dtype)

    def size(self) -> int:
        return self.nbytes() // self._dtype.itemsize

    def element_size(self) -> int:
        return self._dtype.itemsize

    def untyped(self) -> UntypedStorage:
        return UntypedStorage(self._root)

    def _untyped_storage(self) -> UntypedStorage:
        return self.untyped()

    def _elements(self) -> np.ndarray:
        return self._bytes()[:self.size() * self._dtype.itemsize].view(self._dtype)

    def tolist(self) -> list:
        return self._elements().tolist()

    def __getitem__(self, i):
        return self._elements()[i].tolist()


def _root(self) -> np.ndarray:
    from eigengrad.autograd.ops_shape import _root as root

    return root(self._data)


def storage(self) -> TypedStorage:
    return TypedStorage(_root(self), self._data.dtype)


def untyped_storage(self) -> UntypedStorage:
    return UntypedStorage(_root(self))


def is_storage(obj) -> bool:
    return isinstance(obj, UntypedStorage)


# --- factories -------------------------------------------------------------------------------------------------

def _factory_dtype(dtype) -> np.dtype:
    from eigengrad.tensor import default_float

    return default_float() if dtype is None else _dtype.to_numpy(dtype)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False):
    """A zero-filled tensor of ``size`` whose elements lie at the given ``stride`` (in elements) in a fresh
    storage just large enough (eigengrad hands out no uninitialised memory)."""
    from eigengrad.tensor_ops import _dims
    from eigengrad.tensor_ops.creation import _layout, _new

    _layout(layout)
    size, stride = _dims.check_sizes(_dims.sizes((size,), "size")), _dims.sizes((stride,), "stride")
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of strides "
                           f"({len(stride)})")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"empty_strided: negative strides are not supported, got {list(stride)}")
    dt = _factory_dtype(dtype)
    needed = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    storage_ = np.zeros(needed, dtype=dt)
    arr = np.lib.stride_tricks.as_strided(storage_, tuple(size), tuple(s * dt.itemsize for s in stride),
                                          writeable=True)
    return _new(arr, requires_grad, device)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                   pin_memory: bool = False):
    """A zero-filled tensor of ``size`` whose dims lie in memory in the order ``physical_layout`` (outermost
    first): ``empty([size[d] for d in physical_layout]).permute(inverse of physical_layout)``, not a view."""
    from eigengrad.tensor_ops import _dims
    from eigengrad.tensor_ops.creation import _layout, _new

    _layout(layout)
    size, order = _dims.check_sizes(_dims.sizes((size,), "size")), tuple(int(d) for d in physical_layout)
    if len(size) != len(order):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the physical_layout; i.e. "
                           f"len(size) = {len(size)} is not equal to len(physical_layout) = {len(order)}")
    if sorted(order) != list(range(len(size))):
        raise RuntimeError(f"empty_permuted: physical_layout {list(order)} is not a permutation of the dims")
    arr = np.zeros([size[d] for d in order], dtype=_factory_dtype(dtype))
    return _new(arr.transpose(np.argsort(order)), requires_grad, device)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False):
    """A 1-D tensor over the memory of an object of the buffer protocol (no copy: writes show in both; the
    tensor of a read-only buffer such as bytes cannot be changed in place)."""
    dt = _dtype.to_numpy(dtype)
    length = memoryview(buffer).nbytes
    if length == 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if offset < 0 or offset >= length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length ({length} "
                         "bytes) minus 1")
    if count > 0:
        if count * dt.itemsize > length - offset:
            raise ValueError(f"requested buffer length ({count} * {dt.itemsize} bytes) after offset ({offset} bytes) "
                             f"must not be greater than actual buffer length ({length} bytes)")
    elif (length - offset) % dt.itemsize:
        raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} bytes) must be a multiple of "
                         f"element size ({dt.itemsize})")
    arr = np.frombuffer(buffer, dtype=dt, count=count, offset=offset)
    return _tensor_cls()._wrap(arr, requires_grad)


class _Capsule:
    """A DLPack capsule as NumPy's from_dlpack takes it (an object with __dlpack__)."""

    def __init__(self, capsule) -> None:
        self._capsule = capsule

    def __dlpack__(self, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU


def from_dlpack(ext_tensor):
    """A tensor sharing the memory of a DLPack producer (a CPU torch tensor, a NumPy array, a JAX array, ...) or
    of a DLPack capsule, without a copy (NumPy's ``from_dlpack``)."""
    if isinstance(ext_tensor, _tensor_cls()):
        return _tensor_cls()._wrap(ext_tensor._data)
    src = ext_tensor if hasattr(ext_tensor, "__dlpack__") else _Capsule(ext_tensor)
    try:
        arr = np.from_dlpack(src)
    except BufferError as e:
        raise RuntimeError(f"from_dlpack: {e}") from e
    return _tensor_cls()._wrap(arr)


def to_dlpack(tensor):
    """A DLPack capsule of the tensor's memory (no copy)."""
    return tensor.__dlpack__()


def __dlpack__(self, stream=None, **kwargs):
    _trace.reject("a tensor exported through DLPack (np.from_dlpack, to_dlpack) inside the step: its values "
                  "leave the recorded kernels")
    if self.requires_grad:
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
    return self._data.__dlpack__(**({"stream": stream} if stream is not None else {}), **kwargs)


def __dlpack_device__(self):
    return (1, 0)  # kDLCPU, device 0


# --- flags and queries -----------------------------------------------------------------------------------------

_WARN_ALWAYS = {"on": False}
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def get_deterministic_debug_mode() -> int:
    """0 (default), 1 (warn) or 2 (error), as :func:`use_deterministic_algorithms` last set it."""
    from eigengrad import _flags

    return 0 if not _flags.are_deterministic_algorithms_enabled() else (
        1 if _flags.is_deterministic_algorithms_warn_only_enabled() else 2)


def set_deterministic_debug_mode(debug_mode) -> None:
    from eigengrad import _flags

    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f'invalid value of debug_mode, expected one of "default", "warn", "error", but got '
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif isinstance(debug_mode, bool) or not isinstance(debug_mode, numbers.Integral) or debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    _flags.use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def set_warn_always(b: bool) -> None:
    """Recorded for :func:`is_warn_always_enabled` (PyTorch's switch for its once-only C++ warnings)."""
    _WARN_ALWAYS["on"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _WARN_ALWAYS["on"]


def init_num_threads() -> None:
    """Nothing to do: eigengrad's thread pool starts with the process (see ``set_num_threads``)."""


def set_flush_denormal(mode: bool) -> bool:
    """False: eigengrad does not change the CPU's denormal mode (PyTorch returns False where unsupported)."""
    return False


def typename(obj) -> str:
    """'torch.FloatTensor' style for a tensor, else the dotted name of obj (or of its class)."""
    if isinstance(obj, _tensor_cls()):
        return obj.type()
    module = getattr(obj, "__module__", None) or ""
    module = "" if module in ("", "builtins", "__builtin__") else module + "."
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    return module + name


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Switches anomaly detection (``autograd.set_detect_anomaly`` without the context manager)."""
    from eigengrad.autograd import anomaly

    anomaly._set(enabled, check_nan)


_DEFAULT_TENSOR_TYPES = {"FloatTensor": np.float32, "DoubleTensor": np.float64}


def set_default_tensor_type(t) -> None:
    """The deprecated form of :func:`set_default_dtype`: ``FloatTensor`` / ``DoubleTensor`` (or their names
    'torch.FloatTensor', ...) set the default float dtype; a CUDA type is an error (no GPU)."""
    from eigengrad.tensor import set_default_dtype

    name = t if isinstance(t, str) else getattr(t, "__name__", type(t).__name__)
    short = name.rsplit(".", 1)[-1]
    if ".cuda." in name or short not in _DEFAULT_TENSOR_TYPES:
        raise TypeError(f"set_default_tensor_type: only FloatTensor and DoubleTensor (CPU) are supported, got {name}")
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning, stacklevel=2)
    set_default_dtype(_DEFAULT_TENSOR_TYPES[short])


# --- removed from PyTorch 2: its error, naming the replacement -------------------------------------------------

_REMOVED = {"solve": "torch.linalg.solve", "lstsq": "torch.linalg.lstsq", "eig": "torch.linalg.eig",
            "symeig": "torch.linalg.eigh", "matrix_rank": "torch.linalg.matrix_rank"}


def _removed(name: str):
    def fn(*args, **kwargs):
        raise RuntimeError(f"This function was deprecated since version 1.9 and is now removed. `torch.{name}` is "
                           f"replaced by `{_REMOVED[name]}`.")

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Removed from PyTorch (1.9 deprecation): raises, naming ``{_REMOVED[name]}``."
    return fn


globals().update({name: _removed(name) for name in _REMOVED})

# --- torch.X_copy: the view operation's result as a new tensor (differentiable) --------------------------------

_COPY_OF = ("view", "permute", "expand", "squeeze", "unsqueeze", "t", "transpose", "diagonal", "select", "detach",
            "unfold", "unbind", "split", "split_with_sizes", "as_strided", "alias")


def _copy_form(op: str):
    name = op + "_copy"

    def fn(input, *args, **kwargs):
        _check_tensor(name, input)
        out = input if op == "alias" else getattr(input, op)(*args, **kwargs)
        return [o.clone() for o in out] if isinstance(out, (list, tuple)) else out.clone()

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``{op}`` of input as a new tensor (a copy, not a view)."
    return fn


globals().update({op + "_copy": _copy_form(op) for op in _COPY_OF})

METHODS = ("apply_", "map_", "map2_", "log_normal_", "cauchy_", "geometric_", "float_power_", "hardshrink", "prelu",
           "igamma", "igammac", "igamma_", "igammac_", "new_empty_strided", "unsafe_chunk", "unsafe_split",
           "unsafe_split_with_sizes", "resize", "resize_as", "is_neg", "is_conj", "resolve_neg", "resolve_conj", "conj",
           "conj_physical", "storage", "untyped_storage", "narrow_copy", "nonzero_static", "const_data_ptr",
           "dim_order", "__dlpack__", "__dlpack_device__", "solve", "lstsq", "eig", "symeig", "angle")
FUNCTIONS = INPLACE_ALIASES + (
    "fill", "igamma", "igammac", "binomial", "conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj",
    "is_neg", "is_inference", "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes", "narrow_copy",
    "nonzero_static", "is_storage", "empty_strided", "empty_permuted", "frombuffer", "from_dlpack", "to_dlpack",
    "get_deterministic_debug_mode", "set_deterministic_debug_mode", "set_warn_always", "is_warn_always_enabled",
    "init_num_threads", "set_flush_denormal", "typename", "is_signed", "get_device", "set_anomaly_enabled",
    "set_default_tensor_type", "slice_copy", "norm_except_dim", "angle", "svd_lowrank", "pca_lowrank",
) + tuple(_REMOVED) + tuple(op + "_copy" for op in _COPY_OF)


def is_signed(input) -> bool:
    from eigengrad.tensor_ops import conversion

    return conversion.is_signed(input)


def get_device(input) -> int:
    """-1: the CPU."""
    return -1
