"""``torch.nn.utils.stateless``: the older home of ``functional_call`` (now ``torch.func.functional_call``)."""
from __future__ import annotations


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False):
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by ``parameters_and_buffers`` for the
    call (see :func:`eigengrad.func.functional_call`)."""
    from eigengrad.func import functional_call as call

    return call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
