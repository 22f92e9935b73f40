"""Module backward hooks (``register_full_backward_hook``, ``register_full_backward_pre_hook``), as PyTorch's
``BackwardHook``: a call of a module that has them passes its tensor inputs and its outputs through two
identity autograd Functions. When the outputs' gradients arrive, the pre-hooks see (and may replace)
``grad_output``; when the inputs' gradients are computed, the hooks see ``(grad_input, grad_output)`` and
may replace ``grad_input``. ``grad_input`` has one entry per positional tensor input (None where it needs no
gradient); when no input needs one, the hooks run with all-None ``grad_input`` as soon as ``grad_output``
is known (Grad-CAM on a first layer)."""
from __future__ import annotations

import warnings

from eigengrad._errors import user_stacklevel

from eigengrad.autograd.custom_function import Function
from eigengrad.autograd.grad_mode import is_grad_enabled
from eigengrad.tensor import Tensor


class _Call:
    """One module call's hooks and the gradient of its outputs, shared by its two identity Functions. As
    PyTorch's, the hooks see one gradient per positional argument and per element of a tuple output (None
    where that is not a tensor, or not one the identity carries); ``*_at``: where the carried tensors sit."""

    def __init__(self, module, n_inputs: int, inputs_at: list, inputs_need_grad: bool) -> None:
        self.module, self.n_inputs, self.inputs_at, self.inputs_need_grad = module, n_inputs, inputs_at, \
            inputs_need_grad
        self.n_outputs, self.outputs_at = 0, []
        self.grad_output: tuple | None = None

    def outputs_backward(self, grads: tuple) -> tuple:
        packed = _packed(grads, self.outputs_at, self.n_outputs)
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, packed)
            if result is not None:
                packed = _as_grads(result, len(packed), "backward pre hook")
        self.grad_output = packed
        if not self.inputs_need_grad:  # (PyTorch warns with backward pre-hooks alone too)
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
                          "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details.",
                          UserWarning, stacklevel=user_stacklevel())
            self._run_hooks((None,) * self.n_inputs)
        return tuple(packed[i] for i in self.outputs_at)

    def inputs_backward(self, grads: tuple) -> tuple:
        grad_input = self._run_hooks(_packed(grads, self.inputs_at, self.n_inputs))
        return tuple(grad_input[i] for i in self.inputs_at)

    def _run_hooks(self, grad_input: tuple) -> tuple:
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = _as_grads(result, len(grad_input), "backward hook")
        return grad_input


def _packed(grads: tuple, at: list, n: int) -> tuple:
    """``n`` gradients: ``grads`` at the positions ``at``, None elsewhere."""
    out = [None] * n
    for i, g in zip(at, grads):
        out[i] = g
    return tuple(out)


def _as_grads(result, n: int, what: str) -> tuple:
    grads = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(grads) != n:
        raise RuntimeError(f"{what} returned an invalid number of gradients - got {len(grads)}, but expected {n}")
    return grads


class _Identity(Function):
    """The tensors unchanged; backward hands their gradients to ``call`` (``side``: inputs or outputs)."""

    @staticmethod
    def forward(ctx, call, side, *tensors):
        ctx.call, ctx.side = call, side
        ctx.set_materialize_grads(False)  # an unused output's gradient reaches the hooks as None, as PyTorch's
        outs = tuple(t.view_as(t) for t in tensors)
        return outs if len(outs) != 1 else outs[0]

    @staticmethod
    def backward(ctx, *grads):
        handled = ctx.call.outputs_backward(grads) if ctx.side == "out" else ctx.call.inputs_backward(grads)
        return (None, None, *handled)


def wrap_inputs(module, args: tuple) -> tuple[tuple, _Call | None]:
    """(args with their tensors passed through the inputs' identity, the call's record) when grad mode is on."""
    if not is_grad_enabled():
        return args, None
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    need = any(args[i].requires_grad for i in positions)
    call = _Call(module, len(args), positions, need)
    if not need:
        return args, call
    wrapped = _Identity.apply(call, "in", *(args[i] for i in positions))
    wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
    args = list(args)
    for i, t in zip(positions, wrapped):
        args[i] = t
    return tuple(args), call


def wrap_outputs(call: _Call | None, output):
    """The module's output (a tensor, or a tuple/list of them) with its tensors through the outputs' identity."""
    if call is None:
        return output
    items = list(output) if isinstance(output, (tuple, list)) else [output]
    positions = [i for i, o in enumerate(items) if isinstance(o, Tensor) and o.requires_grad]
    call.n_outputs, call.outputs_at = len(items), positions
    if not positions:
        return output
    wrapped = _Identity.apply(call, "out", *(items[i] for i in positions))
    wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
    for i, t in zip(positions, wrapped):
        items[i] = t
    if isinstance(output, tuple):
        return tuple(items) if type(output) is tuple else type(output)(*items)  # (a named tuple)
    return items if isinstance(output, list) else items[0]
