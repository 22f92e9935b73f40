"""``DistributedDataParallel``: data-parallel training with ``torch.nn.parallel``'s name and arguments.

Each rank runs the same model on its own share of the batch; at wrap time rank 0's parameters and
buffers are copied to every rank, and during each backward the gradients are averaged over the ranks
(:mod:`.reducer`: buckets of the optimizer's flat gradient buffer, reduced while backward runs), so
every rank takes the same optimizer step and the parameters stay bitwise equal. ``forward`` also
broadcasts rank 0's buffers (BatchNorm's running statistics) first, as PyTorch; the batch statistics
stay per rank (``nn.SyncBatchNorm`` makes them global).
"""
from __future__ import annotations

import contextlib
import warnings
import zlib

import numpy as np

from eigengrad.autograd.function import ViewFunction
from eigengrad.autograd.grad_mode import is_grad_enabled
from eigengrad.distributed import collectives as C
from eigengrad.distributed.process_group import world
from eigengrad.nn.modules.module import Module
from eigengrad.nn.parallel.reducer import FIRST_BUCKET_BYTES, Reducer
from eigengrad.tensor import Tensor

DEFAULT_BUCKET_CAP_MB = 25


class _DDPSink(ViewFunction):
    """The identity on an output (a view, no copy) whose backward queues the reducer's finalize, so that
    the gradients are averaged before ``backward()`` returns (PyTorch's ``_DDPSink``)."""

    @staticmethod
    def view_of(x, reducer):
        return x.view()

    @staticmethod
    def forward(ctx, x, reducer):
        ctx.reducer = reducer
        return x.view()

    @staticmethod
    def backward(ctx, g):
        from eigengrad.autograd.engine import queue_callback

        if not ctx.reducer.armed:
            raise RuntimeError("DistributedDataParallel: a second backward through the output of one forward "
                               "(retain_graph=True) would leave its gradients unaveraged; run the forward again, or "
                               "accumulate under no_sync()")
        queue_callback(ctx.reducer.finalize)
        return g


def _sink(out, reducer: Reducer):
    """``out`` with each tensor that requires grad passed through a sink (tuples, lists and dicts walked)."""
    if isinstance(out, Tensor):
        return _DDPSink.apply(out, reducer=reducer) if out.requires_grad else out
    if isinstance(out, tuple) and hasattr(out, "_fields"):  # a named tuple
        return type(out)(*(_sink(o, reducer) for o in out))
    if isinstance(out, (tuple, list)):
        return type(out)(_sink(o, reducer) for o in out)
    if isinstance(out, dict):
        return type(out)((k, _sink(v, reducer)) for k, v in out.items())
    return out


class DistributedDataParallel(Module):
    """Data parallelism over the ranks of the default process group (``init_process_group`` first).

    Args (PyTorch's; those for GPUs, process groups and compilers must keep their defaults):
        module: the model; reached as ``.module``, so state_dict keys start with ``module.``.
        broadcast_buffers: deprecated in PyTorch 2.13 (``forward_sync_buffers``): False neither copies
            rank 0's buffers at wrap time nor before each forward.
        init_sync: at wrap time check that every rank has the same parameter shapes and copy rank 0's
            parameters (and buffers) to every rank.
        bucket_cap_mb: the size of a gradient bucket (default 25 MiB; the first to start 1 MiB).
        find_unused_parameters: allow parameters that get no gradient in a backward (on some or all
            ranks); without it such a parameter is an error naming it. Costs one small allreduce per step.
        gradient_as_bucket_view: accepted; gradients always are views of the optimizer's flat gradient
            buffer here (the bucket's memory), whatever its value.
        static_graph: accepted (the reducer needs no static graph).
        forward_sync_buffers: copy rank 0's buffers to every rank before each forward (default True).

    ``no_sync()`` accumulates gradients locally; the first backward after it averages the sum.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0, broadcast_buffers=None,
                 init_sync: bool = True, process_group=None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False, delay_all_reduce_named_params=None,
                 param_to_hook_all_reduce=None, mixed_precision=None, device_mesh=None,
                 skip_all_reduce_unused_params: bool = False, bucket_cap_mb_list=None, batched_grad_copy: bool = False,
                 forward_sync_buffers: bool | None = None) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"module: expected an eigengrad.nn.Module, got {type(module).__name__}")
        _check_unsupported(device_ids=device_ids, output_device=output_device, process_group=process_group,
                           delay_all_reduce_named_params=delay_all_reduce_named_params,
                           param_to_hook_all_reduce=param_to_hook_all_reduce, mixed_precision=mixed_precision,
                           device_mesh=device_mesh, bucket_cap_mb_list=bucket_cap_mb_list)
        w = world()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter that "
                               "requires a gradient.")
        self.module = module
        self.dim, self.static_graph, self.gradient_as_bucket_view = dim, bool(static_graph), bool(gradient_as_bucket_view)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.forward_sync_buffers, init_sync_buffers = _buffer_sync(broadcast_buffers, forward_sync_buffers)
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        cap = DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not cap > 0:
            raise ValueError(f"bucket_cap_mb: expected a positive size in MiB, got {bucket_cap_mb!r}")
        object.__setattr__(self, "_world", w)
        if init_sync:
            _verify_same_parameters(w, module)
            tensors = [p for _, p in module.named_parameters()]
            if init_sync_buffers:
                tensors += [b for _, b in module.named_buffers()]
            for t in tensors:
                C.broadcast(t, src=0)
        reducer = Reducer([p for _, p in named], [f"module.{n}" for n, _ in named], cap,
                          FIRST_BUCKET_BYTES if bucket_cap_mb is None else None, self.find_unused_parameters)
        object.__setattr__(self, "reducer", reducer)  # not a submodule

    @property
    def broadcast_buffers(self) -> bool:
        return self.forward_sync_buffers

    @broadcast_buffers.setter
    def broadcast_buffers(self, value: bool) -> None:
        self.forward_sync_buffers = bool(value)

    def forward(self, *inputs, **kwargs):
        sync = is_grad_enabled() and self.require_backward_grad_sync
        self.require_forward_param_sync = sync
        if sync:
            self.reducer.prepare()
        if self.forward_sync_buffers and sync and self._world.size > 1:
            _broadcast_coalesced(list(self.module.buffers()))
        out = self.module(*inputs, **kwargs)
        return _sink(out, self.reducer) if sync else out

    @contextlib.contextmanager
    def no_sync(self):
        """Within this context backward accumulates gradients without averaging them; the first
        synchronised backward after it averages the accumulated sums (the forward must be inside)."""
        before = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    def _detach(self) -> None:
        """Remove the reducer's hooks from the optimizer arenas (the wrapper is no longer used)."""
        self.reducer.detach()
        self.reducer._layout = None

    def extra_repr(self) -> str:
        return ""


def _check_unsupported(**given) -> None:
    for name, value in given.items():
        if value is None or (name == "device_ids" and value == []):
            continue
        if name in ("device_ids", "output_device"):
            raise ValueError(f"{name}: eigengrad runs on the CPU, where PyTorch too wants None; got {value!r}")
        raise ValueError(f"{name}: not supported by eigengrad's DistributedDataParallel; expected None, got {value!r}")


def _buffer_sync(broadcast_buffers, forward_sync_buffers) -> tuple[bool, bool]:
    """(sync before each forward, sync at wrap time), with PyTorch 2.13's deprecation of broadcast_buffers."""
    if broadcast_buffers is not None:
        warnings.warn("`broadcast_buffers` is deprecated. Use `forward_sync_buffers` instead. IMPORTANT: unlike "
                      "`broadcast_buffers=False`, `forward_sync_buffers=False` still syncs buffers at init."
                      if forward_sync_buffers is None else
                      "Both `broadcast_buffers` and `forward_sync_buffers` were specified. `broadcast_buffers` is "
                      "deprecated and its value is ignored when `forward_sync_buffers` is provided.",
                      FutureWarning, stacklevel=3)
    if forward_sync_buffers is not None:
        return bool(forward_sync_buffers), True
    effective = True if broadcast_buffers is None else bool(broadcast_buffers)
    return effective, effective


def _verify_same_parameters(w, module: Module) -> None:
    """Every rank must wrap the same model: compare the parameters' count, sizes and shapes."""
    params = list(module.parameters())
    shapes = ";".join(f"{tuple(p.shape)}:{p.dtype}" for p in params).encode()
    mine = np.array([len(params), sum(p._data.size for p in params), zlib.crc32(shapes)], dtype=np.int64)
    every = np.empty((w.size, 3), dtype=np.int64)
    C.run(w, "DistributedDataParallel's parameter check", iter([("Allgather", (mine, every), {})]), async_op=False)
    for r in range(w.size):
        if not np.array_equal(every[r], mine):
            raise RuntimeError(f"DDP expects same model across all ranks, but Rank {w.rank} has {mine[0]} params "
                               f"({mine[1]} values), while rank {r} has {every[r][0]} params ({every[r][1]} values)"
                               + ("" if every[r][0] != mine[0] or every[r][1] != mine[1] else " of other shapes"))


def _broadcast_coalesced(tensors: list) -> None:
    """Rank 0's values of ``tensors`` on every rank: one broadcast per dtype of their values packed together
    (a few small BatchNorm buffers per layer: one message instead of one each)."""
    by_dtype: dict = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    for group in by_dtype.values():
        flat = np.concatenate([t._data.reshape(-1) for t in group])
        C.broadcast(flat, src=0)
        if world().rank != 0:
            offset = 0
            for t in group:
                t._data[...] = flat[offset:offset + t._data.size].reshape(t._data.shape)
                offset += t._data.size
