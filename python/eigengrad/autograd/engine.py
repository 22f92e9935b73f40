"""Reverse-mode accumulation over the recorded graph (iterative: deep graphs never recurse).

The graph's nodes are the recorded contexts (``Primitive`` instances); a node's edges go to the nodes
that produced its inputs *when it was recorded* (``ctx.edges``), so an in-place op that gives a
tensor a new history later does not change what earlier nodes differentiate through. A leaf's
gradient is summed over all its uses in the graph and accumulated into ``.grad`` once, when its last
use has run; a leaf held by an optimizer's parameter arena then has its gradient written into the
arena's slot, and the arena hears that the gradient is final (``ParamArena.grad_ready``).

One pass (:func:`run`) serves ``Tensor.backward``, ``autograd.backward`` and ``autograd.grad``:

- Without ``create_graph`` every node runs its raw ``backward`` over arrays (the fast path, grad mode
  off). With it, grad mode is on and every node runs ``backward_graph``, written with Tensor
  operations, so the gradients are recorded tensors that can be differentiated again.
- With ``inputs`` only the nodes on a path to them run, and their gradients are captured (after
  their hooks) instead of being accumulated into every leaf's ``.grad``.
- Hooks: a non-leaf tensor's hooks live on its node and run on the node's incoming gradient before
  the node runs; a leaf's run on its summed gradient before it is accumulated or captured; a
  retained gradient is stored after the hooks (PyTorch's order); post-accumulate hooks run after
  ``.grad`` was updated.
- Callbacks queued during a backward (:func:`queue_callback`, e.g. a data-parallel wrapper's wait for
  its gradient allreduces) run when its last node is done, before ``backward()`` returns.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from eigengrad import _fp_quiet, _kernels as K, _trace
from eigengrad.autograd import anomaly as _anomaly
from eigengrad.autograd.function import _tensor_type
from eigengrad.autograd.grad_mode import _state as _grad_state
from eigengrad.autograd.version import check_saved, clock

_anomaly_state = _anomaly._state


class _Backward(threading.local):
    """Per thread, as PyTorch's engine: two threads' backwards queue and run their own callbacks."""
    callbacks: list | None = None  # while a backward runs in this thread: what to call when it is done


_backward = _Backward()


def queue_callback(callback) -> None:
    """Call ``callback()`` when the backward now running has finished its last node (PyTorch's
    ``Variable._execution_engine.queue_callback``); callbacks run in the order queued. Outside a
    backward it is a RuntimeError."""
    if _backward.callbacks is None:
        raise RuntimeError("queue_callback: no backward is running; callbacks can only be queued during one")
    if _trace.ACTIVE[0] is not None:
        _trace.reject("a callback queued on the backward (queue_callback, e.g. a data-parallel allreduce) runs "
                      "Python at every call")
    _backward.callbacks.append(callback)


def _graph(roots: list, leaf_roots: list, stop=()) -> tuple[list, dict]:
    """The nodes reachable from ``roots``, every node after the nodes that produced its inputs, and for
    each leaf (by id) used more than once (edges from these nodes, plus ``leaf_roots``), its number of uses.
    The walk does not go past the nodes whose ids are in ``stop``."""
    order, visited, once, shared = [], set(), set(), {}
    for t in leaf_roots:
        key = id(t)
        if key in once:
            shared[key] = shared.get(key, 1) + 1
        else:
            once.add(key)
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if stop and id(node) in stop:
            continue
        for t, (parent, _), need in zip(node.inputs, node.edges, node.needs_input_grad):
            if not need or t is None:  # a constant, or a node already released by an earlier backward
                continue
            if parent is not None:
                if id(parent) not in visited:
                    stack.append((parent, False))
            elif t.requires_grad:
                key = id(t)
                if key in once:
                    shared[key] = shared.get(key, 1) + 1
                else:
                    once.add(key)
    return order, shared


def _needed(order: list, target_nodes: set, target_leaves: set) -> set:
    """The ids of the nodes that must run for gradients to reach the targets: those with an input edge to
    a target leaf or to a node that is a target or must run (``order`` has producers first)."""
    run, reach = set(), set(target_nodes)
    for node in order:
        if node.released:  # freed by an earlier pass: it may have led to a target; running it raises PyTorch's error
            run.add(id(node))
            reach.add(id(node))
            continue
        for t, (parent, _), need in zip(node.inputs, node.edges, node.needs_input_grad):
            if need and t is not None and (id(parent) in reach if parent is not None else id(t) in target_leaves):
                run.add(id(node))
                reach.add(id(node))
                break
    return run


def accumulate_grad(tensor, grad, owned: bool = False) -> None:
    """Add ``grad`` into ``tensor.grad`` (gradients accumulate, as in PyTorch); ``grad`` is an array, or a
    recorded Tensor under create_graph (``_accumulate_recorded``).

    ``owned``: ``grad`` is a new array that nothing else references (see ``Primitive.fresh_grads``), so a
    first gradient may become ``tensor.grad`` as it is instead of being copied. A tensor in an
    optimizer's parameter arena gets its first gradient written into its slot of the arena's buffer.
    """
    if type(grad) is not np.ndarray:
        if not isinstance(grad, np.generic):
            _accumulate_recorded(tensor, grad)
            return
        grad, owned = np.asarray(grad), True  # a NumPy scalar (a reduction's gradient for a 0-d leaf)
    wrap = _tensor_type()._wrap
    arena = tensor._arena() if tensor._arena is not None else None
    if tensor.grad is None:
        slot = arena.grad_slot(tensor) if arena is not None else None
        if slot is not None and slot.shape == grad.shape and slot.dtype == grad.dtype:
            if grad is not slot:  # (else backward wrote it there itself: _slots_to_write)
                K.copy_into(slot, grad)
            tensor.grad = wrap(slot)
        elif owned and grad.dtype == tensor._data.dtype and grad.flags.c_contiguous and grad.flags.writeable:
            tensor.grad = wrap(grad)
        else:
            own = K.empty(grad.shape, dtype=tensor.dtype)  # a copy in the tensor's dtype, made by a kernel call
            K.copy_into(own, grad)
            tensor.grad = wrap(own)
    else:
        K.add_into(tensor.grad._data, grad)
    if arena is not None and arena.hooks:
        arena.grad_ready(tensor)


def _accumulate_recorded(tensor, grad) -> None:
    """A recorded gradient (create_graph) kept as a graph-connected ``.grad``: the first one cloned, later
    ones added out of place (PyTorch's AccumulateGrad in grad mode)."""
    tensor.grad = grad.clone() if tensor.grad is None else tensor.grad + grad


def _sum(a, b):
    """Two gradients of one node or leaf summed: arrays through a kernel call (``_kernels.add``, so that
    ``eg.compile`` records it), recorded Tensors under create_graph (and NumPy scalars) with ``+``."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape:
        return K.add(a, b)
    return a + b


def _checked(ctx, index: int, parent, grad) -> np.ndarray:
    """``grad`` (an array) checked against ``parent``'s shape, cast to its dtype (the fast path: it runs for
    every edge of every backward, so it reads the parent's array, not the Tensor's Size and dtype objects)."""
    if type(grad) is not np.ndarray:
        grad = np.asarray(grad)
    data = parent._data
    if grad.shape != data.shape:
        raise RuntimeError(
            f"{ctx.name}.backward returned a gradient of shape {grad.shape} for input {index}, "
            f"which has shape {parent.shape}"
        )
    if grad.dtype != data.dtype:
        grad = grad.astype(data.dtype)
    return grad


def _checked_graph(ctx, index: int, parent, grad):
    """``_checked`` under create_graph: a Tensor (an array a backward_graph returned is a constant)."""
    tensor_type = _tensor_type()
    if not isinstance(grad, tensor_type):
        grad = tensor_type._wrap(np.asarray(grad))
    if grad.shape != parent.shape:
        raise RuntimeError(f"{ctx.name}.backward_graph returned a gradient of shape {grad.shape} for input "
                           f"{index}, which has shape {parent.shape}")
    return grad if grad.dtype == parent.dtype else grad.to(parent.dtype)


def _run_node(ctx, g, create_graph: bool, into: dict | None = None) -> tuple:
    """The gradients of ``ctx``'s inputs, after the checks that its saved arrays are intact. ``into``: the
    arrays its backward writes some of them into (``_slots_to_write``), for this call only."""
    if ctx.released:
        raise RuntimeError(
            f"Trying to backward through the graph a second time (through {ctx.name}): its saved arrays "
            "were freed after the first backward; pass retain_graph=True the first time"
        )
    if ctx.clock != clock.ticks:  # something was changed in place since ctx was recorded
        check_saved(ctx)
    if create_graph:
        grads = ctx.backward_graph(ctx, g)
    elif into is None:
        grads = ctx.backward(ctx, g) if _trace.ACTIVE[0] is None else _trace.backward(ctx, g)
    else:
        ctx.grad_into = into
        try:
            grads = ctx.backward(ctx, g)
        finally:  # (a retained graph run again, by autograd.grad say, writes into new arrays)
            ctx.grad_into = None
    grads = grads if isinstance(grads, tuple) else (grads,)
    if _anomaly_state.enabled and _anomaly_state.check_nan:
        _anomaly.check_backward(ctx, tuple(getattr(a, "_data", a) for a in grads))
    return grads


def _node_hooks(ctx, g):
    """Run the hooks of the tensor that ``ctx`` produced on its gradient ``g``, then store the retained
    gradient; returns the (possibly replaced) gradient."""
    if ctx.hooks:
        g = _call_hooks(ctx.hooks, g)
    retained = ctx.retained
    if retained is not None and retained() is not None:
        t = retained()
        if t._grad is None:
            accumulate_grad(t, g)
        else:  # PyTorch's retain_grad hook adds out of place: a reference to the earlier .grad keeps its value
            t._grad = t._grad + g if type(g) is not np.ndarray else _tensor_type()._wrap(K.add(t._grad._data, g))
    return g


def _call_hooks(hooks: dict, g):
    """``hook(grad)`` for each hook in order; a hook returning a tensor replaces the gradient."""
    if hooks and _trace.ACTIVE[0] is not None:
        _trace.reject("a tensor's gradient hook ran during backward (hooks run Python at every call)")
    tensor_type = _tensor_type()
    as_tensor = isinstance(g, tensor_type)
    gt = g if as_tensor else tensor_type._wrap(g)
    for hook in list(hooks.values()):
        new = hook(gt)
        if new is not None:
            new = new if isinstance(new, tensor_type) else tensor_type._wrap(np.asarray(new))
            if new.shape != gt.shape:
                raise RuntimeError(f"hook '{getattr(hook, '__name__', type(hook).__name__)}' has changed the size "
                                   "of value")
            gt = new
    return gt if as_tensor else gt._data


def _deliver(leaf, g, owned: bool):
    """A leaf's final gradient: its hooks, accumulation into ``.grad``, its post-accumulate hooks; returns
    the gradient the hooks left."""
    hooks = leaf._hooks
    if hooks is None:
        accumulate_grad(leaf, g, owned)
        return g
    if hooks.pre:
        new = _call_hooks(hooks.pre, g)
        owned, g = owned and new is g, new
    accumulate_grad(leaf, g, owned)
    if hooks.post and _trace.ACTIVE[0] is not None:
        _trace.reject("a post-accumulate-grad hook ran during backward (hooks run Python at every call)")
    for hook in list(hooks.post.values()):
        hook(leaf)
    return g


def run(roots: list, grads: list, retain_graph: bool = False, create_graph: bool = False, inputs=None,
        accumulate: bool = True, cut: bool = False):
    """One backward pass from ``roots`` (tensors that require grad) with ``grads`` (their gradients:
    arrays, or Tensors when ``create_graph``).

    ``inputs`` None: every leaf reached gets its gradient accumulated into ``.grad``. Otherwise only
    the gradients of ``inputs`` are computed (pruned to the nodes on a path to them); they are added
    into their ``.grad`` when ``accumulate`` (``backward(inputs=...)``) and returned as a list (None
    for an input the graph does not reach; ``autograd.grad``). ``cut``: the walk stops at the inputs'
    nodes (partial derivatives w.r.t. them, for ``composite.composite_backward``; never past an input
    that another input depends on otherwise).
    Then the callbacks queued meanwhile run (:func:`queue_callback`); a pass that raises drops them.
    """
    if create_graph and _trace.ACTIVE[0] is not None:
        _trace.reject("a backward with create_graph=True (gradients recorded to differentiate again) inside the step")
    prev, outer = _grad_state.enabled, _backward.callbacks
    _grad_state.enabled = create_graph  # PyTorch runs backward with grad mode = create_graph
    _backward.callbacks = []
    try:
        # IEEE results without NumPy's warnings (log's 1/x at 0, inf + -inf when gradients accumulate), as
        # PyTorch's backward; the user's state is back for the callbacks (_fp_quiet.py). Hooks run inside.
        quiet = _fp_quiet.enter()
        try:
            result = _run(roots, grads, retain_graph, create_graph, inputs, accumulate, cut)
        finally:
            _fp_quiet.leave(quiet)
        callbacks = _backward.callbacks
        _backward.callbacks = outer  # a callback's own backward (if any) queues into a new list
        for callback in callbacks:
            callback()
        return result
    finally:
        _grad_state.enabled, _backward.callbacks = prev, outer


def _run(roots, grads, retain_graph, create_graph, inputs, accumulate, cut):
    leaf_roots, nodes = [], []
    grad_of: dict = {}  # id(node) -> the gradient of its output summed so far
    for t, g in zip(roots, grads):
        if t._ctx is None:
            leaf_roots.append((t, g))
            continue
        key = id(t._ctx)
        if key in grad_of:
            grad_of[key] = _sum(grad_of[key], g)
        else:
            grad_of[key] = g
            nodes.append(t._ctx)
    stop = {id(t._ctx) for t in inputs if t._ctx is not None} if cut else ()
    order, shared = _graph(nodes, [t for t, _ in leaf_roots], stop)
    if inputs is None:
        _accumulate_pass(order, shared, grad_of, leaf_roots, retain_graph, create_graph)
        return None
    retaining = {id(t) for t in inputs if _retains(t)} if accumulate else ()  # (before the pass frees the nodes)
    captured = _capture_pass(order, grad_of, leaf_roots, inputs, retain_graph, create_graph)
    out, done = [], {}  # done: id(input) -> its result, for an input listed twice (delivered once, as PyTorch)
    for t in inputs:
        if id(t) in done:
            out.append(done[id(t)])
            continue
        g, owned = captured.get(id(t), (None, False))
        if g is not None:
            if t._ctx is None:  # a leaf: its hooks run on its summed gradient (and it is accumulated)
                if accumulate:
                    g = _deliver(t, g, owned)
                elif t._hooks is not None and t._hooks.pre:
                    g = _call_hooks(t._hooks.pre, g)
            elif accumulate and id(t) not in retaining:  # a retained gradient was stored already, at the node
                accumulate_grad(t, g, owned)
        out.append(g)
        done[id(t)] = g
    return out


def _retains(t) -> bool:
    """``t`` is a non-leaf whose node stores its gradient in ``t.grad`` (``retain_grad``)."""
    retained = t._ctx.retained if t._ctx is not None else None
    return retained is not None and retained() is t


def _accumulate_pass(order, shared, grad_of, leaf_roots, retain_graph, create_graph) -> None:
    """Every node runs; every leaf's gradient goes into its ``.grad`` after its last use."""
    pending: dict = {}  # id(leaf used more than once) -> (its gradient summed so far, owned)
    for t, g in leaf_roots:
        _leaf(t, g, False, pending, shared)
    check = _checked_graph if create_graph else _checked
    for ctx in reversed(order):
        g = grad_of.pop(id(ctx), None)
        if g is not None:
            if ctx.hooks is not None or ctx.retained is not None:
                g = _node_hooks(ctx, g)
            into = _slots_to_write(ctx, g, shared) if ctx.writes_grads_into and not create_graph else None
            input_grads = _run_node(ctx, g, create_graph, into)
        else:
            input_grads = ()
        count, owned, inputs = len(input_grads), ctx.fresh_grads, ctx.inputs
        for i, ((node, _), need) in enumerate(zip(ctx.edges, ctx.needs_input_grad)):
            parent = inputs[i]
            if not need or parent is None:
                continue
            pg = input_grads[i] if i < count else None
            if pg is not None:
                pg = check(ctx, i, parent, pg)
            if node is not None:
                if pg is not None:
                    key = id(node)
                    grad_of[key] = pg if key not in grad_of else _sum(grad_of[key], pg)
            elif parent.requires_grad:
                if id(parent) in shared:
                    _leaf(parent, pg, owned, pending, shared)
                elif pg is not None:  # a leaf used once: its gradient is final now
                    if parent._hooks is None:
                        accumulate_grad(parent, pg, owned)
                    else:
                        _deliver(parent, pg, owned)
        if not retain_graph:
            ctx.release()


def _slots_to_write(ctx, g, shared: dict) -> dict | None:
    """{input index: the leaf's optimizer slot} for the inputs of ``ctx`` (among its ``writes_grads_into``)
    whose gradient ``accumulate_grad`` would copy into that slot unchanged: a leaf used once in this graph,
    without hooks, whose ``.grad`` is None, in ``g``'s dtype. Its backward writes the gradient there
    itself, and ``accumulate_grad`` adopts the slot without a copy."""
    into = None
    for i in ctx.writes_grads_into:
        if i >= len(ctx.inputs) or not ctx.needs_input_grad[i]:
            continue
        leaf = ctx.inputs[i]
        if (leaf is None or ctx.edges[i][0] is not None or leaf._arena is None or leaf.grad is not None
                or leaf._hooks is not None or id(leaf) in shared):
            continue
        arena = leaf._arena()
        slot = arena.grad_slot(leaf) if arena is not None else None
        if slot is not None and slot.shape == leaf._data.shape and slot.dtype == g.dtype:
            if into is None:
                into = {}
            into[i] = slot
    return into


def _leaf(leaf, pg, owned: bool, pending: dict, shared: dict) -> None:
    """One use of ``leaf`` reached, with gradient ``pg`` (None: the use gave none): delivered now when the
    leaf has one use, else summed and delivered after its last use."""
    key = id(leaf)
    if key not in shared:
        if pg is not None:
            _deliver(leaf, pg, owned)
        return
    if pg is not None:
        prev = pending.get(key)
        pending[key] = (pg, owned) if prev is None else (_sum(prev[0], pg), True)
    shared[key] -= 1
    if shared[key] == 0 and key in pending:
        _deliver(leaf, *pending.pop(key))


def _capture_pass(order, grad_of, leaf_roots, inputs, retain_graph, create_graph) -> dict:
    """Only the nodes on a path to ``inputs`` run; returns id(input) -> (its gradient, owned)."""
    target_nodes = {id(t._ctx): t for t in inputs if t._ctx is not None}
    target_leaves = {id(t) for t in inputs if t._ctx is None}
    needed = _needed(order, set(target_nodes), target_leaves)
    captured: dict = {}

    def add(key, g, owned):
        prev = captured.get(key)
        captured[key] = (g, owned) if prev is None else (_sum(prev[0], g), True)

    check = _checked_graph if create_graph else _checked
    for t, g in leaf_roots:
        if id(t) in target_leaves:
            add(id(t), g, False)
    for ctx in reversed(order):
        key = id(ctx)
        g = grad_of.pop(key, None)
        if g is None:
            continue
        if ctx.released:  # freed by an earlier backward: it cannot tell whether it leads to the inputs
            _run_node(ctx, g, create_graph)  # raises PyTorch's "backward through the graph a second time"
        if key not in needed and key not in target_nodes:
            continue
        if ctx.hooks is not None or ctx.retained is not None:
            g = _node_hooks(ctx, g)
        if key in target_nodes:
            add(id(target_nodes[key]), g, False)
        if key not in needed:
            continue
        input_grads = _run_node(ctx, g, create_graph)
        count, owned, inputs_ = len(input_grads), ctx.fresh_grads, ctx.inputs
        for i, ((node, _), need) in enumerate(zip(ctx.edges, ctx.needs_input_grad)):
            parent = inputs_[i]
            pg = input_grads[i] if i < count else None
            if not need or parent is None or pg is None:
                continue
            pg = check(ctx, i, parent, pg)
            if node is not None:
                k = id(node)
                grad_of[k] = pg if k not in grad_of else _sum(grad_of[k], pg)
            elif id(parent) in target_leaves:
                add(id(parent), pg, owned)
        if not retain_graph:
            ctx.release()
    return captured


def retain(tensor) -> None:
    """Make ``tensor``'s current node keep its gradient in ``tensor.grad`` (``Tensor.retain_grad``)."""
    if tensor._ctx is not None:
        tensor._ctx.retained = weakref.ref(tensor)
