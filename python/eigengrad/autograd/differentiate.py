"""``autograd.grad`` and ``autograd.backward`` (also behind ``Tensor.backward``): PyTorch's arguments,
defaults and messages over one engine pass (``autograd.engine.run``).

``grad`` returns the gradients of ``outputs`` w.r.t. ``inputs`` and leaves every ``.grad`` alone;
``backward`` accumulates into ``.grad`` (of every leaf, or only of ``inputs``). With
``create_graph=True`` the gradients are recorded tensors, so they can be differentiated again
(``retain_graph`` then defaults to True, as in PyTorch).
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Sequence

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd import engine
from eigengrad.autograd.function import _tensor_type


def _seq(x, name: str, fn: str = "grad") -> list:
    tensor_type = _tensor_type()
    if isinstance(x, tensor_type):
        return [x]
    if type(x) is dict and name == "inputs":  # dict(model.named_parameters()): its values (PyTorch 2.13)
        return list(x.values())
    if isinstance(x, Mapping) and name == "inputs":
        raise TypeError(f"`inputs` argument to `{fn}()` must be a dict, not {type(x).__name__}. "
                        "Other Mapping types are not supported.")
    if isinstance(x, (list, tuple)):
        return list(x)
    if x is None:
        return []
    if hasattr(x, "__iter__") and not isinstance(x, (str, bytes, dict)):  # model.parameters(), a generator
        return list(x)
    raise TypeError(f"{name}: expected a Tensor or a sequence of Tensors, got {type(x).__name__}")


def _make_grads(outputs: list, grad_outputs: list, create_graph: bool, batched: bool = False) -> list:
    """One gradient per output (arrays, or Tensors when create_graph), PyTorch's checks and messages."""
    tensor_type = _tensor_type()
    out = []
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None and (not isinstance(o, tensor_type) or not o.requires_grad):
            out.append(None)  # (PyTorch: None; its engine then says the output does not require grad)
            continue
        if g is None:
            if o._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if o.dtype.kind != "f":
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {o.dtype}")
            arr = K.ones_like(o._data)  # a kernel call: eg.compile records it
            out.append(tensor_type._wrap(arr) if create_graph else arr)
            continue
        if not isinstance(g, tensor_type):
            if not isinstance(g, np.ndarray):  # (an array is eigengrad's extension; a number is PyTorch's error)
                raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
            g = tensor_type._wrap(g)
        shape = g.shape[1:] if batched else g.shape
        if shape != o.shape:
            if batched:
                raise RuntimeError(
                    "If `is_grads_batched=True`, we interpret the first dimension of each grad_output as the batch "
                    "dimension. The sizes of the remaining dimensions are expected to match the shape of "
                    f"corresponding output, but a mismatch was detected: grad_output[{i}] has a shape of "
                    f"{tuple(shape)} and output[{i}] has a shape of {o.shape}. If you only want some tensors in "
                    "`grad_output` to be considered batched, consider using vmap.")
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(shape)} and output[{i}] "
                               f"has a shape of {o.shape}.")
        if g.dtype != o.dtype:
            g = g.to(o.dtype) if create_graph else tensor_type._wrap(g._data.astype(o.dtype))
        out.append(g if create_graph else g._data)
    return out


def _check_outputs(outputs: list) -> None:
    for i, o in enumerate(outputs):
        if not isinstance(o, _tensor_type()):
            raise TypeError(f"outputs: element {i} is a {type(o).__name__}, expected a Tensor")
        if not o.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")


def _pair_grads(outputs: list, grad_outputs, name: str) -> list:
    if grad_outputs is None:
        return [None] * len(outputs)
    if isinstance(grad_outputs, (_tensor_type(), np.ndarray)):  # one gradient (an array: eigengrad's extension)
        return [grad_outputs]
    if not hasattr(grad_outputs, "__iter__"):
        raise TypeError(f"'{type(grad_outputs).__name__}' object is not iterable")
    return list(grad_outputs)


def _check_count(outputs: list, grads: list) -> None:
    """PyTorch pairs outputs and gradients with zip, makes the gradients, then its engine checks the counts."""
    if len(grads) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grads)} gradients")


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False,
             grad_variables=None, inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves (``torch.autograd.backward``).

    Args:
        tensors: a Tensor or a sequence of them; each one's gradient is ``grad_tensors``' entry (None for a
            one-element tensor: 1).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: record the backward, so the gradients (graph-connected ``.grad``) can be
            differentiated again.
        inputs: if given, only these tensors (leaves or not) get their ``.grad`` accumulated.
    """
    if grad_variables is not None:
        warnings.warn("'grad_variables' is deprecated. Use 'grad_tensors' instead.", FutureWarning, stacklevel=2)
        if grad_tensors is not None:
            raise RuntimeError("'grad_tensors' and 'grad_variables' (deprecated) arguments both passed to "
                               "backward(). Please only use 'grad_tensors'.")
        grad_tensors = grad_variables
    if inputs is not None:
        inputs = _seq(inputs, "inputs", "backward")
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    outputs = _seq(tensors, "tensors")
    grad_list = _pair_grads(outputs, grad_tensors, "grad_tensors")
    grads = _make_grads(outputs, grad_list, create_graph)
    _check_count(outputs, grad_list)
    _check_outputs(outputs)  # (before the inputs' check: PyTorch's order, so its message when both fail)
    if inputs is not None:
        for t in inputs:  # PyTorch's engine calls retain_grad() on each input (its message; a non-leaf input
            if not t.requires_grad:  # keeps retaining its gradient in later backwards)
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            if t._ctx is not None:
                t.retain_grad()
    retain = create_graph if retain_graph is None else retain_graph
    if create_graph and not _WARNED_CREATE_GRAPH:  # (PyTorch's engine: once per process)
        _WARNED_CREATE_GRAPH.append(True)
        warnings.warn("Using backward() with create_graph=True will create a reference cycle between the parameter "
                      "and its gradient which can cause a memory leak. We recommend using autograd.grad when creating "
                      "the graph to avoid this. If you have to use this function, make sure to reset the .grad fields "
                      "of your parameters to None after use to break the cycle and avoid the leak.", UserWarning,
                      stacklevel=3)
    engine.run(outputs, grads, retain_graph=retain, create_graph=create_graph, inputs=inputs)


_WARNED_CREATE_GRAPH: list = []  # not empty once backward(create_graph=True) has warned


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` w.r.t. ``inputs`` (``torch.autograd.grad``); no ``.grad`` is changed.

    Args:
        outputs: a Tensor or a sequence of them.
        inputs: the Tensors (leaves or not) to differentiate with respect to.
        grad_outputs: the vector of the vector-Jacobian product, one per output (None: 1 for a
            one-element output).
        retain_graph: keep the graph for another pass (default: ``create_graph``).
        create_graph: record the backward, so the gradients can be differentiated again (double
            backward: gradient penalties, Hessian-vector products).
        allow_unused: an input the outputs do not depend on gets None instead of an error.
        is_grads_batched: the first dimension of each grad_output is a batch: one vector-Jacobian
            product per row, stacked (PyTorch vectorises this with vmap; eigengrad runs the rows in turn).
        materialize_grads: zeros instead of None for unused inputs (implies ``allow_unused``).

    Returns a tuple with one gradient per input.
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.", FutureWarning,
                      stacklevel=2)
    outputs = _seq(outputs, "outputs")
    inputs_ = _seq(inputs, "inputs")
    if type(inputs) is dict:  # PyTorch 2.13: the gradients in a dict with the inputs' keys
        grads = grad(outputs, inputs_, grad_outputs, retain_graph, create_graph, only_inputs, allow_unused,
                     is_grads_batched, materialize_grads)
        return dict(zip(inputs.keys(), grads))
    if not inputs_:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    for t in inputs_:
        if not isinstance(t, _tensor_type()):
            raise TypeError(f"inputs: expected Tensors, got {type(t).__name__}")
    grad_list = _pair_grads(outputs, grad_outputs, "grad_outputs")
    if not is_grads_batched:  # (PyTorch's order: the gradients are made, then its engine checks the rest)
        grads = _make_grads(outputs, grad_list, create_graph)
    elif all(isinstance(g, _tensor_type()) for g in grad_list):
        _make_grads(outputs, grad_list, create_graph, batched=True)  # the shape checks
    _check_count(outputs, grad_list)
    _check_outputs(outputs)  # (before the inputs' requires_grad: PyTorch's order, so its message when both fail)
    for t in inputs_:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    retain = create_graph if retain_graph is None else retain_graph
    if is_grads_batched:
        return _batched(outputs, inputs_, grad_list, retain, create_graph, allow_unused, materialize_grads)
    found = engine.run(outputs, grads, retain_graph=retain, create_graph=create_graph, inputs=inputs_,
                       accumulate=False)
    return _results(found, inputs_, allow_unused, materialize_grads, create_graph)


def _results(found: list, inputs: Sequence, allow_unused: bool, materialize: bool, create_graph: bool = False) -> tuple:
    tensor_type = _tensor_type()
    out = []
    for i, (g, t) in enumerate(zip(found, inputs)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
            if materialize:  # (PyTorch: zeros_like(input, requires_grad=create_graph))
                zero = tensor_type._wrap(K.zeros(t.shape, t.dtype))
                out.append(zero.requires_grad_() if create_graph else zero)
            else:
                out.append(None)
        elif isinstance(g, tensor_type):
            out.append(g)
        else:  # an array from the fast path may be a view of another gradient, or read-only: give the user a copy
            copy = np.empty(np.shape(g), dtype=t.dtype)  # (through _kernels: eg.compile records it)
            K.copy_into(copy, g)
            out.append(tensor_type._wrap(copy))
    return tuple(out)


def _batched(outputs, inputs, grad_list, retain, create_graph, allow_unused, materialize) -> tuple:
    """is_grads_batched: one pass per row of the grad_outputs, results stacked along a new first dim."""
    from eigengrad.functions import stack

    tensor_type = _tensor_type()
    if any(g is None for g in grad_list):
        raise RuntimeError("is_grads_batched=True needs a grad_output for every output")
    rows = [g if isinstance(g, tensor_type) else tensor_type._wrap(np.asarray(g)) for g in grad_list]
    _make_grads(outputs, rows, create_graph, batched=True)  # the shape checks
    batch = rows[0].shape[0]
    per_row = []
    for b in range(batch):
        grads = _make_grads(outputs, [g[b] for g in rows], create_graph)
        found = engine.run(outputs, grads, retain_graph=True if b < batch - 1 else retain,
                           create_graph=create_graph, inputs=inputs, accumulate=False)
        per_row.append(_results(found, inputs, allow_unused, materialize, create_graph))
    out = []
    for i, t in enumerate(inputs):
        column = [r[i] for r in per_row]
        if any(c is None for c in column):
            out.append(None)
        else:
            out.append(stack(column) if batch else tensor_type._wrap(np.zeros((0,) + t.shape, t.dtype)))
    return tuple(out)
