"""Shape operations: ``view``/``reshape`` and friends, ``squeeze``/``unsqueeze``, ``expand``, ``repeat``,
``permute``/``transpose``/``t``, ``contiguous``, ``narrow``/``split``/``chunk``/``unbind``, ``cat``/``stack``,
``flip``, ``movedim``, ``tril``/``triu``/``diag``/``diagonal``. Views share memory with their input as in
PyTorch (``view``, ``expand``, ``narrow``, ``split``... return views; ``reshape`` copies only when it must)."""
from __future__ import annotations

import builtins
import operator

import numpy as np

from eigengrad.autograd import inplace
from eigengrad._errors import ArgumentError, ArgumentIndexError, ArgumentTypeError, DtypeNotSupportedError
from eigengrad.autograd import ops, ops_combine, ops_shape, views
from eigengrad.tensor_ops import _dims, _out
from eigengrad.tensor_ops.arithmetic import cast, result_dtype


def _infer(shape: tuple, numel: int) -> tuple:
    """``shape`` with its -1 resolved, or PyTorch's error."""
    if builtins.sum(1 for s in shape if s == -1) > 1:
        raise ArgumentError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise ArgumentTypeError(f"invalid shape dimension {s}")
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if -1 in shape:
        if known == 0:
            raise ArgumentError(f"cannot reshape tensor of 0 elements into shape {list(shape)} because the unspecified "
                               "dimension size -1 can be any value and is ambiguous")
        if numel % known:
            raise ArgumentError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return tuple(numel // known if s == -1 else s for s in shape)
    if known != numel:
        raise ArgumentError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def reshape(input, *shape, **kw):
    """The same elements in ``shape`` (one entry may be -1); a view when the strides allow, else a copy."""
    shape = _dims.keyword_sizes(shape, kw, ("shape",), "reshape")
    return ops.Reshape.apply(input, shape=_infer(_dims.sizes(shape, "shape"), input._data.size))


def view(input, *shape, **kw):
    """A view with ``shape`` (one entry may be -1); PyTorch's error when the strides do not allow one.
    ``view(dtype)`` reinterprets the bytes as another dtype (see ``_view_dtype``)."""
    shape = _dims.keyword_sizes(shape, kw, ("size", "dtype"), "view")
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)) and not hasattr(shape[0], "_data"):
        return _view_dtype(input, shape[0])
    new = _infer(_dims.sizes(shape, "shape"), input._data.size)
    try:
        np.reshape(input._data, new, copy=False)
    except ValueError:
        raise ArgumentError("view size is not compatible with input tensor's size and stride (at least one dimension "
                           "spans across two contiguous subspaces). Use .reshape(...) instead.") from None
    return ops.Reshape.apply(input, shape=new)


def _view_dtype(input, dtype):
    """The bytes of ``input`` as ``dtype`` (not differentiable). Another element size changes the last dim by
    the size ratio, as PyTorch's: the last dim contiguous, and from a smaller element size, the last dim, the
    offset and the other strides divisible by the ratio (PyTorch's checks and messages)."""
    from eigengrad import _dtype
    from eigengrad.tensor import Tensor
    from eigengrad.tensor_ops.conversion import storage_offset

    a = input._data
    dt = _dtype.to_numpy(dtype)
    old, new = a.dtype.itemsize, dt.itemsize
    if new != old:
        what = (f"to view {_dtype.scalar_type_name(a.dtype)} as {_dtype.scalar_type_name(dt)} (different element "
                "sizes)")
        if a.ndim == 0:
            raise ArgumentError(f"self.dim() cannot be 0 {what}")
        if a.size and a.shape[-1] != 1 and a.strides[-1] != old:
            raise ArgumentError(f"self.stride(-1) must be 1 {what}, but got {a.strides[-1] // old}")
        if new > old:
            ratio = new // old
            if a.shape[-1] % ratio:
                raise ArgumentError(f"self.size(-1) must be divisible by {ratio} {what}, but got {a.shape[-1]}")
            offset = storage_offset(input) if a.size else 0
            if offset % ratio:
                raise ArgumentError(f"self.storage_offset() must be divisible by {ratio} {what}, but got {offset}")
            for d in range(a.ndim - 1):
                if a.size and a.shape[d] != 1 and (a.strides[d] // old) % ratio:
                    raise ArgumentError(f"self.stride({d}) must be divisible by {ratio} {what}, but got "
                                        f"{a.strides[d] // old}")
        if a.size == 0:  # (NumPy cannot view an empty array's last dim; PyTorch scales it)
            last = a.shape[-1] * old // new
            return Tensor._wrap(np.empty(a.shape[:-1] + (last,), dtype=dt))
        if a.shape[-1] == 1 and a.strides[-1] != old:  # (a size-1 last dim of any stride: NumPy wants it packed)
            a = np.lib.stride_tricks.as_strided(a, a.shape, a.strides[:-1] + (old,))
    return Tensor._wrap(a.view(dt))


def view_as(input, other):
    return view(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Dims start_dim..end_dim merged into one (a 0-d tensor becomes 1-d)."""
    if input.ndim == 0:  # (its dims are checked as PyTorch's: -1 and 0 only)
        _dims.wrap(start_dim, 1), _dims.wrap(end_dim, 1)
        return reshape(input, 1)
    s, e = _dims.wrap(start_dim, input.ndim), _dims.wrap(end_dim, input.ndim)
    if s > e:
        raise ArgumentError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shape = input.shape
    return reshape(input, *shape[:s], -1 if input._data.size else int(np.prod(shape[s:e + 1])), *shape[e + 1:])


def unflatten(input, dim: int, sizes):
    """Dim ``dim`` split into ``sizes`` (one may be -1)."""
    if input.ndim == 0:
        raise ArgumentError(f"unflatten: Dimension specified as {dim} but tensor has no dimensions")
    d = _dims.wrap(dim, input.ndim)
    sizes = tuple(operator.index(s) for s in sizes)
    n = input.shape[d]
    known = int(np.prod([s for s in sizes if s != -1], dtype=np.int64))
    if -1 in sizes:
        if builtins.sum(1 for s in sizes if s == -1) > 1:
            raise ArgumentError("only one dimension can be inferred")
        sizes = tuple(n // known if s == -1 and known else s for s in sizes)
    if int(np.prod(sizes, dtype=np.int64)) != n:
        raise ArgumentError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} ({n}) "
                           "in the input tensor")
    return reshape(input, *input.shape[:d], *sizes, *input.shape[d + 1:])


def squeeze(input, dim=None):
    """Drop dims of size 1 (all, or those of ``dim``, an int or tuple; a dim of another size stays)."""
    shape = input.shape
    if dim is None:
        drop = {i for i, n in enumerate(shape) if n == 1}
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)  # (an empty tuple selects no dim, as PyTorch's)
        drop = {d for d in _dims.dims(dims, input.ndim) if shape[d] == 1} if dims else set()
    if not drop:
        return ops.Reshape.apply(input, shape=shape)
    return ops.Reshape.apply(input, shape=tuple(n for i, n in enumerate(shape) if i not in drop))


def unsqueeze(input, dim: int):
    """A dim of size 1 inserted at ``dim`` (in [-ndim-1, ndim])."""
    d = _dims.wrap(dim, input.ndim + 1)
    shape = input.shape
    return ops.Reshape.apply(input, shape=(*shape[:d], 1, *shape[d:]))


def expand(input, *sizes, **kw):
    """A broadcast view with ``sizes`` (-1 keeps a dim; new dims go in front); no copy."""
    sizes = _dims.sizes(_dims.keyword_sizes(sizes, {k: v for k, v in kw.items() if k != "implicit"}, ("size",),
                                            "expand"))
    shape = input.shape
    if len(sizes) < len(shape):
        raise ArgumentError(f"expand({input.type()}{{{list(shape)}}}, size={list(sizes)}): the number of sizes provided "
                           f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor "
                           f"({len(shape)})")
    lead = len(sizes) - len(shape)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise ArgumentError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, non-existing "
                                   f"dimension {i}")
            out.append(s)
            continue
        n = shape[i - lead]
        if s == -1:
            s = n
        if s != n and n != 1:
            raise ArgumentError(f"The expanded size of the tensor ({s}) must match the existing size ({n}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(shape)}")
        out.append(s)
    return ops.Expand.apply(input, shape=tuple(out))


def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, size):
    return expand(input, size)


def repeat(input, *sizes, repeats=None):
    """Tiled ``sizes`` times along each dim (len(sizes) >= ndim; extra sizes add leading dims); ``repeats=``
    is PyTorch's keyword."""
    if repeats is not None:
        if sizes:
            raise TypeError("repeat(): expected the sizes either by position or as repeats=, got both")
        sizes = (repeats,)
    reps = _dims.sizes(sizes)
    if len(reps) < input.ndim:
        raise ArgumentError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    if builtins.any(r < 0 for r in reps):
        raise ArgumentError(f"Trying to create tensor with negative dimension: {list(reps)}")
    return ops_shape.Repeat.apply(input, reps=reps)


def permute(input, *dims, **kw):
    """The dims reordered (a view)."""
    order = _dims.sizes(_dims.keyword_sizes(dims, kw, ("dims",), "permute"), "dims")
    if len(order) != input.ndim:
        raise ArgumentError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
                           f"of the desired ordering of dimensions i.e. input.dim() = {input.ndim} is not equal to "
                           f"len(dims) = {len(order)}")
    wrapped = tuple(_dims.wrap(d, input.ndim) for d in order)
    if len(set(wrapped)) != len(wrapped):
        raise ArgumentError("permute(): duplicate dims are not allowed.")
    return ops.Permute.apply(input, dims=wrapped)


def transpose(input, dim0: int, dim1: int):
    """Dims dim0 and dim1 swapped (a view)."""
    order = list(range(input.ndim))
    a, b = _dims.wrap(dim0, input.ndim), _dims.wrap(dim1, input.ndim)
    if input.ndim:  # (a 0-d tensor: a view of it as it is, as PyTorch's)
        order[a], order[b] = order[b], order[a]
    return _named(ops.Permute.apply(input, dims=tuple(order)), "Transpose")


def t(input):
    """The transpose of a 2-D tensor (of a 0-d or 1-d tensor, a view of it as it is)."""
    if input.ndim > 2:
        raise ArgumentError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return _named(ops.Permute.apply(input, dims=(1, 0) if input.ndim == 2 else tuple(range(input.ndim))), "T")


def _named(out, name: str, op=ops.Permute):
    """``out`` with its node named as PyTorch's (``TBackward0`` for ``t()``, ``TransposeBackward0``,
    ``SliceBackward0`` for narrow, ``UnbindBackward0``): the node is the ``op`` that ``out`` was just made by
    (none when nothing requires grad)."""
    ctx = out._ctx
    if ctx is not None and type(ctx) is op:
        ctx.torch_name = name
    return out


def _T(self):
    """All dims reversed (``x.T``); on other than 2 dims with PyTorch's deprecation warnings (a 3-D ``x.T`` is
    usually a bug for ``x.mT``)."""
    if self.ndim != 2:
        import warnings

        from eigengrad._errors import user_stacklevel

        message = ("Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases."
                   if self.ndim == 0 else
                   "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated and it "
                   "will throw an error in a future release. Consider `x.mT` to transpose batches of matrices or "
                   "`x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.")
        warnings.warn(message, UserWarning, stacklevel=user_stacklevel())
    return ops.Permute.apply(self, dims=tuple(reversed(range(self.ndim))))


def _mT(self):
    """The last two dims swapped (``x.mT``)."""
    if self.ndim < 2:
        raise ArgumentError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return transpose(self, -2, -1)


def _mH(self):
    """The conjugate transpose of the last two dims (``x.mH``): ``x.mT`` for real tensors (a view)."""
    if self.ndim < 2:
        raise ArgumentError(f"tensor.mH is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return transpose(self, -2, -1)


def adjoint(input):
    """The conjugate transpose of the last two dims: ``input.mT`` for real tensors (a view)."""
    if input.ndim < 2:
        raise ArgumentError(f"tensor.adjoint() is only supported on matrices or batches of matrices. Got "
                            f"{input.ndim}-D tensor.")
    return transpose(input, -2, -1)


def movedim(input, source, destination):
    """Dims at ``source`` moved to ``destination`` (ints or sequences); the other dims keep their order."""
    n = input.ndim
    if n == 0:  # a 0-d tensor's one "dim" (0 or -1) moved to itself
        for d in ((source,) if isinstance(source, int) else tuple(source)) + (
                (destination,) if isinstance(destination, int) else tuple(destination)):
            _dims.wrap(d, 1)
        return ops.Permute.apply(input, dims=())
    src = [_dims.wrap(d, n) for d in ((source,) if isinstance(source, int) else source)]
    dst = [_dims.wrap(d, n) for d in ((destination,) if isinstance(destination, int) else destination)]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ArgumentError(f"movedim: Invalid source or destination dims: source ({list(src)}) and destination "
                           f"({list(dst)}) must be lists of distinct dims of the same length")
    perm = [None] * n
    for s_, d_ in zip(src, dst):
        perm[d_] = s_
    rest = iter(d for d in range(n) if d not in src)
    return ops.Permute.apply(input, dims=tuple(p if p is not None else next(rest) for p in perm))


def contiguous(input, memory_format=None):
    """``input`` when it is C-contiguous, else a C-contiguous copy (differentiable). With ``memory_format=
    channels_last`` (``channels_last_3d``), laid out with the channels last: the (N, C, H, W) tensor's memory is
    (N, H, W, C), as PyTorch's; eigengrad's kernels read it through a copy."""
    order = _channels_last_order(input, memory_format)
    if order is not None:
        if is_contiguous(input, memory_format):
            return input
        inverse = tuple(int(i) for i in np.argsort(order))
        return contiguous(input.permute(*order)).permute(*inverse)
    if input._data.flags.c_contiguous:
        return input
    return ops_shape.Contiguous.apply(input)


def is_contiguous(input, memory_format=None) -> bool:
    """C-contiguous; with ``memory_format=channels_last`` (``_3d``), dense with the channels last (PyTorch's
    test: the dims of more than one element, in the order C, W, H(, D), N, have the packed strides)."""
    name = getattr(memory_format, "name", None)
    if name in ("channels_last", "channels_last_3d"):
        a = input._data
        if a.ndim != (4 if name == "channels_last" else 5):
            return False
        expected = 1
        for d in (1, *range(a.ndim - 1, 1, -1), 0):
            if a.shape[d] != 1:
                if a.strides[d] != expected * a.itemsize:
                    return False
                expected *= a.shape[d]
        return True
    return bool(input._data.flags.c_contiguous)


def _channels_last_order(input, memory_format) -> tuple | None:
    """The permutation that puts the channels last for ``memory_format`` (None for the C-contiguous ones);
    PyTorch's error for a tensor of another rank."""
    name = getattr(memory_format, "name", None)
    if name not in ("channels_last", "channels_last_3d"):
        return None
    rank = 4 if name == "channels_last" else 5
    if input.ndim != rank:
        raise ArgumentError(f"required rank {rank} tensor to use {name} format")
    return (0, *range(2, rank), 1)


def narrow(input, dim: int, start, length: int):
    """Elements start..start+length-1 of ``dim`` (a view); ``start`` may be negative or a 0-d tensor."""
    d = _dims.wrap(dim, input.ndim)
    n = input.shape[d]
    start = operator.index(start)
    if start < 0:
        start += n
    if not 0 <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    if length < 0:
        raise ArgumentError("narrow(): length must be non-negative.")
    if start + length > n:
        raise ArgumentError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    # (PyTorch's Slice even over the whole dim, where x[:, 0:n] is an Alias)
    return _named(_slice(input, d, start, start + length), "Slice", ops.GetItem)


def _slice(input, d: int, start: int, stop: int):
    return ops.GetItem.apply(input, index=(slice(None),) * d + (slice(start, stop),))


def select(input, dim: int, index: int):
    """The slice at ``index`` of ``dim``, without that dim (a view)."""
    d = _dims.wrap(dim, input.ndim)
    n = input.shape[d]
    i = operator.index(index)
    if not -n <= i < n:
        raise IndexError(f"select(): index {i} out of range for tensor of size {list(input.shape)} at dimension {dim}")
    return ops.GetItem.apply(input, index=(slice(None),) * d + (i % n,))


def split(input, split_size_or_sections=None, dim: int = 0, *, split_size=None):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes (views).
    ``split_size=`` is the method's keyword in PyTorch (``x.split(split_size=[2, 4], dim=-1)``)."""
    split_size_or_sections = _one_of("split", split_size_or_sections=split_size_or_sections, split_size=split_size)
    d = _dims.wrap(dim, input.ndim)
    n = input.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [operator.index(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n or builtins.any(s < 0 for s in sizes):
            raise ArgumentError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                               f"dimension {dim}), but got split_sizes={sizes}")
    else:
        size = operator.index(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise ArgumentError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = ([size] * (n // size) + ([n % size] if n % size else [])) if size and n else [0]
    return views.multi_output(_pieces(input, d, sizes), input,
                              "SplitWithSizes" if isinstance(split_size_or_sections, (list, tuple)) else "Split")


def _pieces(input, d: int, sizes) -> tuple:
    out, start = [], 0
    for s in sizes:
        out.append(_slice(input, d, start, start + s))
        start += s
    return tuple(out)


def _one_of(fn: str, **given):
    """The one argument of ``given`` that is not None (PyTorch's overloads name it differently)."""
    present = [k for k, v in given.items() if v is not None]
    if len(present) != 1:
        raise TypeError(f"{fn}(): expected one of the arguments {', '.join(given)}, got "
                        f"{'none' if not present else ' and '.join(present)}")
    return given[present[0]]


def chunk(input, chunks: int, dim: int = 0):
    """``chunks`` pieces along ``dim`` of ceil(n / chunks) elements each (so perhaps fewer pieces)."""
    if chunks <= 0:
        raise ArgumentError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input.shape[_dims.wrap(dim, input.ndim)]
    return split(input, max(-(-n // chunks), 1) if n else 0, dim) if n else split(input, [0] * chunks, dim)


def tensor_split(input, indices_or_sections=None, dim: int = 0, *, sections=None, indices=None):
    """Split at the given indices, or into ``sections`` pieces whose sizes differ by at most one (PyTorch's
    keyword forms ``sections=`` and ``indices=`` too)."""
    indices_or_sections = _one_of("tensor_split", indices_or_sections=indices_or_sections, sections=sections,
                                  indices=indices)
    if getattr(indices_or_sections, "ndim", None) == 0:  # a 0-d tensor is a number of sections
        indices_or_sections = operator.index(indices_or_sections)
    d = _dims.wrap(dim, input.ndim)
    n = input.shape[d]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise ArgumentError(f"number of sections must be larger than 0, got {k}")
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        return _pieces(input, d, sizes)  # (views PyTorch lets change in place, unlike split's)
    # each piece is the Python slice input[i_{k-1}:i_k]: a negative index counts from the end
    bounds = [0] + [builtins.min(builtins.max(int(i) + n if int(i) < 0 else int(i), 0), n)
                    for i in indices_or_sections] + [n]
    return tuple(_slice(input, d, a, builtins.max(a, b)) for a, b in zip(bounds[:-1], bounds[1:]))


def unbind(input, dim: int = 0):
    """The slices along ``dim``, without it (views)."""
    d = _dims.wrap(dim, input.ndim)
    outs = tuple(_named(select(input, d, i), "Unbind", ops.GetItem) for i in range(input.shape[d]))
    return views.multi_output(outs, input, "Unbind")


def _tensor_list(tensors, name: str) -> list:
    from eigengrad.tensor import Tensor

    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        if name == "cat":  # PyTorch's Python-level check, a ValueError
            raise ValueError(f"torch.{name}(): expected a non-empty list of Tensors")
        _nonempty(tensors, name)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    dt = result_dtype(*tensors) if len({t._data.dtype for t in tensors}) > 1 else None
    return [cast(t, dt) for t in tensors] if dt is not None else list(tensors)


def _nonempty(tensors, name: str) -> None:
    """PyTorch's RuntimeError for stack/hstack/vstack/dstack/column_stack of no tensors."""
    if isinstance(tensors, (list, tuple)) and not tensors:
        raise ArgumentError(f"{name} expects a non-empty TensorList")


def cat(tensors, dim: int = 0, *, out=None):
    """Concatenation along an existing dim (dtypes promoted; legacy empty 1-d tensors are skipped, as PyTorch)."""
    ts = _tensor_list(tensors, "cat")
    kept = [t for t in ts if not (t.ndim == 1 and t._data.size == 0)] or ts[:1]
    ref = kept[0]
    if ref.ndim == 0:
        raise ArgumentError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = _dims.wrap(dim, ref.ndim)
    for i, t in enumerate(kept):
        if t.ndim != ref.ndim:
            raise ArgumentError(f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}")
        for k in range(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                raise ArgumentError(f"Sizes of tensors must match except in dimension {d}. Expected size {ref.shape[k]} "
                                   f"but got size {t.shape[k]} for tensor number {i} in the list.")
    y = ops_combine.Cat.apply(*kept, dim=d)
    if len(kept) < len(ts):  # a skipped tensor stays in the graph and gets its (empty) zero gradient, as PyTorch's
        for t in ts:
            if t.requires_grad and t.ndim == 1 and t._data.size == 0 and t is not kept[0]:
                y = ops.ZeroGradTo.apply(y, t)
    return _out.write(y, out)


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, out=None):
    """Tensors of one shape stacked along a new dim ``dim``."""
    ts = _tensor_list(tensors, "stack")
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise ArgumentError(f"stack expects each tensor to be equal size, but got {list(ts[0].shape)} at entry 0 and "
                               f"{list(t.shape)} at entry {i}")
    d = _dims.wrap(dim, ts[0].ndim + 1)
    return _out.write(ops_combine.Stack.apply(*ts, dim=d), out)


def hstack(tensors, *, out=None):
    _nonempty(tensors, "hstack")
    ts = [t if t.ndim else reshape(t, 1) for t in tensors]
    return cat(ts, 0 if ts[0].ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    _nonempty(tensors, "vstack")
    ts = [t if t.ndim >= 2 else reshape(t, 1, -1) for t in tensors]
    return cat(ts, 0, out=out)


def flip(input, *args, dims=None):
    """Elements reversed along ``dims`` (``flip(x, [0, 1])``, ``flip(x, dims=(0, 1))`` or ``x.flip(0, 1)``)."""
    if dims is not None and args:
        raise TypeError("flip() got multiple values for argument 'dims'")
    if dims is None and not args:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    order = _dims.sizes(args if dims is None else (dims,), "dims")
    wrapped = tuple(_dims.wrap(d, input.ndim) for d in order)
    for i, d in enumerate(wrapped):
        if d in wrapped[:i]:
            raise ArgumentError(f"dim {d} appears multiple times in the list of dims")
    if not input.ndim:
        return input.clone()  # (dims 0 and -1 name a 0-d tensor's only element)
    return ops_shape.Flip.apply(input, dims=wrapped)


def fliplr(input):
    if input.ndim < 2:
        raise ArgumentError("Input must be >= 2-d.")
    return flip(input, 1)


def flipud(input):
    if input.ndim < 1:
        raise ArgumentError("Input must be >= 1-d.")
    return flip(input, 0)


def roll(input, shifts, dims=None):
    """Elements shifted cyclically along ``dims`` (the flattened tensor when None), one shift per dim."""
    shifts = _roll_ints(shifts, "shifts")
    dims = () if dims is None else _roll_ints(dims, "dims")
    if not shifts:
        raise ArgumentError("`shifts` required")
    if not dims and len(shifts) == 1:
        return reshape(roll(flatten(input), shifts, 0), input.shape)
    if len(shifts) != len(dims):
        raise ArgumentError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    out = input
    for s, d in zip(shifts, dims):
        d = _dims.wrap(d, input.ndim)
        if not input.ndim:
            raise ArgumentIndexError(f"Dimension specified as {d} but tensor has no dimensions")
        n = input.shape[d]
        if n == 0:
            continue
        s %= n
        if s:
            out = cat([_slice(out, d, n - s, n), _slice(out, d, 0, n - s)], d)
    return out


def _roll_ints(value, name: str) -> tuple:
    """roll's ``shifts`` or ``dims``: an int (a NumPy or 0-d integer tensor one too) or a sequence of them."""
    try:
        return (operator.index(value),)
    except TypeError:
        pass
    try:
        return tuple(operator.index(v) for v in value)
    except TypeError:
        raise TypeError(f"roll(): argument '{name}' must be tuple of ints, not {type(value).__name__}") from None


def tril(input, diagonal: int = 0, *, out=None):
    """The lower triangle of the last two dims from ``diagonal`` down; the rest zero."""
    if input.ndim < 2:
        raise ArgumentError("tril: input tensor must have at least 2 dimensions")
    return _out.write(ops_shape.Triangle.apply(input, diagonal=int(diagonal), upper=False), out)


def triu(input, diagonal: int = 0, *, out=None):
    """The upper triangle of the last two dims from ``diagonal`` up; the rest zero."""
    if input.ndim < 2:
        raise ArgumentError("triu: input tensor must have at least 2 dimensions")
    return _out.write(ops_shape.Triangle.apply(input, diagonal=int(diagonal), upper=True), out)


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal ``offset`` of the planes (dim1, dim2), as the last dim (a view)."""
    a, b = _dims.wrap(dim1, input.ndim), _dims.wrap(dim2, input.ndim)
    if a == b:
        raise ArgumentError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return ops_shape.Diagonal.apply(input, offset=int(offset), dim1=a, dim2=b)


def diag(input, diagonal: int = 0):
    """A 1-D tensor placed on a diagonal of a square matrix, or the diagonal of a 2-D tensor."""
    if input.ndim == 1:
        n = input.shape[0] + abs(int(diagonal))
        return ops_shape.DiagonalAdjoint.apply(input, offset=int(diagonal), dim1=0, dim2=1, shape=(n, n))
    if input.ndim == 2:
        out = globals()["diagonal"](input, diagonal)
        return contiguous(out) if not out._data.flags.c_contiguous else out
    raise ArgumentError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def trace(input):
    """The sum of the main diagonal of a 2-D tensor."""
    if input.ndim != 2:
        raise ArgumentError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input._data.dtype == np.bool_:  # no bool kernel in PyTorch (a sum would give int64)
        raise DtypeNotSupportedError("\"trace\" not implemented for 'Bool'")
    return diagonal(input).sum()


swapaxes = swapdims = transpose
moveaxis = movedim

METHODS = ("reshape", "view", "view_as", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze", "expand",
           "expand_as", "broadcast_to", "repeat", "permute", "transpose", "t", "movedim", "moveaxis", "contiguous",
           "is_contiguous", "narrow", "select", "split", "chunk", "tensor_split", "unbind", "flip", "fliplr", "flipud",
           "roll", "tril", "triu", "diagonal", "diag", "trace", "swapaxes", "swapdims", "adjoint")
FUNCTIONS = ("real",) + tuple(n for n in METHODS if n not in ("view", "view_as", "reshape_as", "expand", "expand_as",
                                                   "contiguous", "is_contiguous")) + (
    "cat", "concat", "concatenate", "stack", "hstack", "vstack")
def _H(self):
    """The conjugate transpose of a matrix (``x.H``): its transpose for real tensors (a view)."""
    if self.ndim != 2:
        raise ArgumentError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.")
    return transpose(self, 0, 1)


def _real(self):
    """The real part: the tensor itself for real tensors (``x.real``, as PyTorch's; eigengrad has no complex)."""
    return self


def _imag(self):
    raise ArgumentError("imag is not implemented for tensors with non-complex dtypes.")


def real(input):
    """``torch.real``: the tensor itself for real tensors."""
    return input


PROPERTIES = {"T": _T, "mT": _mT, "mH": _mH, "H": _H, "real": _real, "imag": _imag}


# In-place forms (autograd.inplace)
INPLACE = {n + "_": inplace.method(n, globals()[n]) for n in ("tril", "triu")}
globals().update(INPLACE)
METHODS = METHODS + tuple(INPLACE)