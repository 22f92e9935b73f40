"""The ONNX graph under construction: values, nodes, initializers, and array views turned into nodes.

Every array a recorded op reads is a reference (buffer, byte offset, shape, strides) into memory that an
earlier op wrote, an input, or a parameter. ``read`` finds the value an earlier op produced over those
bytes and expresses the reference as ONNX nodes over it: the same view (nothing), a reshape and/or a
transpose of it (flatten, ``transpose``, the pooling kernels' (N*C, H, W) planes), or a sub-tensor
(a slice or a selected index, such as an RNN's last time step). Any other view raises ExportError
rather than export a wrong graph.

Dynamic dimensions: when the export traces twice (a second batch size), a dimension whose size differs
between the traces is dynamic; reshapes put -1 there, slices take it whole.
"""
from __future__ import annotations

import numpy as np

from eigengrad.onnx._trace import ExportError



class Graph:
    """Nodes, initializers and the values each buffer's bytes currently hold."""

    def __init__(self, onnx, buffers: list) -> None:
        self.onnx, self.helper = onnx, onnx.helper
        self.buffers = buffers
        self.nodes: list = []
        self.initializers: list = []
        self._held: dict[int, list] = {}  # buffer -> [(ref, value, dyn)] over the bytes last written
        self._params: dict[tuple, str] = {}
        self._count = 0

    # --- names, nodes, constants --------------------------------------------------------------------
    def fresh(self, hint: str = "v") -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def node(self, op_type: str, inputs: list, n_out: int = 1, **attrs):
        """Append a node; returns its output name (or names when n_out > 1). '' marks an absent input."""
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, array, hint: str = "c") -> str:
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def elem_type(self, dtype) -> int:
        """ONNX's element type of a NumPy dtype."""
        return self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    def ints(self, values) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64), "shape")

    def reshape(self, v: str, shape: tuple, dyn: tuple) -> str:
        """v reshaped to ``shape``; a dynamic dimension becomes -1 (at most one may be dynamic)."""
        if sum(dyn) > 1:
            raise ExportError(f"a reshape to {shape} with {sum(dyn)} dynamic dimensions cannot be exported (one "
                              "dynamic dimension per reshape is supported)")
        return self.node("Reshape", [v, self.ints(-1 if d else n for n, d in zip(shape, dyn))])

    def transpose(self, v: str, perm: list) -> str:
        return v if list(perm) == sorted(perm) else self.node("Transpose", [v], perm=list(perm))

    # --- values held by buffers ---------------------------------------------------------------------
    def hold(self, ref, value: str, dyn: tuple) -> None:
        """Record that ``value`` now holds the bytes ``ref`` covers (replacing what overlapped them)."""
        if self.buffers[ref.buf].kind == "persistent":  # parameters are initializers: constants of the file
            raise ExportError(f"the forward writes into {self.buffers[ref.buf].desc} (a parameter or buffer): "
                              "not exportable")
        lo, hi = _extent(ref)
        held = [h for h in self._held.get(ref.buf, []) if _extent(h[0])[1] <= lo or _extent(h[0])[0] >= hi]
        self._held[ref.buf] = held + [(ref, value, tuple(dyn))]

    def read(self, ref, dyn: tuple, what: str) -> str:
        """The value of the array ``ref`` stands for, with nodes for the view if needed."""
        buf = self.buffers[ref.buf]
        if buf.kind == "persistent":
            return self._param(ref)
        lo, hi = _extent(ref)
        for src, value, sdyn in reversed(self._held.get(ref.buf, [])):
            slo, shi = _extent(src)
            if slo <= lo and hi <= shi:
                if (src.offset, src.shape, src.strides) == (ref.offset, ref.shape, ref.strides):
                    return value
                return self._view(src, value, sdyn, ref, dyn, what)
        raise ExportError(f"{what} reads memory that no exported operation wrote ({buf.desc})")

    def _param(self, ref) -> str:
        key = (ref.buf, ref.offset, ref.shape, ref.strides)
        if key not in self._params:
            desc = self.buffers[ref.buf].desc.replace(".", "_")
            self._params[key] = self.const(np.array(ref.array, copy=True, order="C"), desc)
        return self._params[key]

    def _view(self, src, value: str, sdyn: tuple, ref, dyn: tuple, what: str) -> str:
        q, qshape, qdyn = self._memory_order(src, value, sdyn, what)
        qstrides = _c_strides(qshape, src.dtype.itemsize)
        keep = [i for i, n in enumerate(ref.shape) if n != 1]
        order = sorted(keep, key=lambda i: -ref.strides[i])
        rshape = tuple(ref.shape[i] for i in order)
        rdyn = tuple(dyn[i] for i in order)
        if ref.offset == src.offset and tuple(ref.strides[i] for i in order) == _c_strides(rshape, src.dtype.itemsize) \
                and int(np.prod(rshape)) == int(np.prod(qshape)):
            v = q if rshape == qshape else self.reshape(q, rshape, rdyn)  # a reshape of the memory order
        else:
            fshape, fstrides, fdyn = _refined(qshape, qstrides, qdyn, [ref.strides[i] for i in order])
            if fshape != qshape:  # (a slice of a dim then split by a view: q's dim split the same way first)
                q = self.reshape(q, fshape, fdyn)
            v = self._select(q, fshape, fstrides, fdyn, src.offset, ref, order, dyn, what)
        v = self.transpose(v, [order.index(i) for i in keep])
        if tuple(ref.shape) != tuple(ref.shape[i] for i in keep):
            v = self.reshape(v, ref.shape, dyn)
        return v

    def _memory_order(self, src, value: str, sdyn: tuple, what: str):
        """The producer's value transposed into the order of its bytes (size-1 dims dropped)."""
        keep = [i for i, n in enumerate(src.shape) if n != 1]
        order = sorted(keep, key=lambda i: -src.strides[i])
        shape = tuple(src.shape[i] for i in order)
        if tuple(src.strides[i] for i in order) != _c_strides(shape, src.dtype.itemsize):
            raise ExportError(f"{what}: the array it is a view of is itself a strided view (not exportable)")
        v = self.transpose(value, [i for i in order] + [i for i in range(len(src.shape)) if i not in keep])
        if len(keep) != len(src.shape):
            v = self.reshape(v, shape, tuple(sdyn[i] for i in order))
        return v, shape, tuple(sdyn[i] for i in order)

    def _select(self, q, qshape, qstrides, qdyn, qoffset, ref, order, dyn, what) -> str:
        """ref as a sub-tensor of the contiguous value q: each of its dims one of q's (a slice), q's other
        dims at one index; the result's dims in q's order (ref's dims of size > 1 only)."""
        delta = ref.offset - qoffset
        start = []
        for n, s in zip(qshape, qstrides):
            start.append(delta // s)
            delta -= start[-1] * s
        if delta != 0 or any(i >= n for i, n in zip(start, qshape)):
            raise ExportError(f"{what}: a view that is not a sub-tensor of the array it views (not exportable)")
        match = {}
        for i in order:
            k = qstrides.index(ref.strides[i]) if ref.strides[i] in qstrides else -1
            if k < 0 or k in match or start[k] + ref.shape[i] > qshape[k]:
                raise ExportError(f"{what}: a strided view that is not a slice of its array (not exportable)")
            match[k] = i
        starts, ends, axes = [], [], []
        for k, n in enumerate(qshape):
            size = ref.shape[match[k]] if k in match else 1
            if k in match and dyn[match[k]]:
                if start[k] != 0 or not qdyn[k]:
                    raise ExportError(f"{what}: a slice of a dynamic dimension (not exportable)")
                continue
            if qdyn[k]:
                raise ExportError(f"{what}: selects one index of a dynamic dimension (not exportable)")
            if (start[k], size) != (0, n):
                starts.append(start[k]), ends.append(start[k] + size), axes.append(k)
        v = q
        if axes:
            v = self.node("Slice", [q, self.ints(starts), self.ints(ends), self.ints(axes)])
        kept = [k for k in range(len(qshape)) if k in match]
        if len(kept) != len(qshape):
            v = self.reshape(v, tuple(ref.shape[match[k]] for k in kept), tuple(dyn[match[k]] for k in kept))
        # dims now in q's order: put them in ``order`` (ref's dims sorted by stride, i.e. q's order too)
        return v


def _refined(shape: tuple, strides: tuple, dyn: tuple, wanted: list) -> tuple:
    """The contiguous (shape, strides, dyn) with dims split so that each stride in ``wanted`` that
    falls inside a dim (a multiple of its stride dividing its extent) becomes a dim's stride: the heads of
    ``x[..., :C].view(B, T, heads, C // heads)`` are a dim of the producer's (B, T, 3 C) split as (3 heads,
    C // heads)."""
    shape, strides, dyn = list(shape), list(strides), list(dyn)
    for s in sorted(set(wanted), reverse=True):
        if s in strides:
            continue
        for k, (n, st) in enumerate(zip(shape, strides)):
            if st < s < st * n and s % st == 0 and (st * n) % s == 0:  # (a dynamic dim: its outer part varies)
                shape[k:k + 1], strides[k:k + 1], dyn[k:k + 1] = [st * n // s, s // st], [s, st], [dyn[k], False]
                break
    return tuple(shape), tuple(strides), tuple(dyn)


def _c_strides(shape: tuple, itemsize: int) -> tuple:
    strides, acc = [], itemsize
    for n in reversed(shape):
        strides.append(acc)
        acc *= n
    return tuple(reversed(strides))


def _extent(ref) -> tuple:
    """[first byte, one past the last byte) of ref within its buffer."""
    if not ref.shape or all(n > 0 for n in ref.shape):
        span = sum((n - 1) * s for n, s in zip(ref.shape, ref.strides)) + ref.dtype.itemsize
    else:
        span = 0
    return ref.offset, ref.offset + span
