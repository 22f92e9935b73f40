"""Update-rule references, in place on param and state arrays (the kernels' contract)."""
import numpy as np


def sgd_step(param, grad, momentum_buffer, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False, first_step=True):
    """SGD as torch.optim.SGD: weight decay, momentum (buffer = g on the first step), Nesterov."""
    t = param.dtype.type
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + t(weight_decay) * param
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = g
        else:
            momentum_buffer *= t(momentum)
            momentum_buffer += t(1 - dampening) * g
        g = g + t(momentum) * momentum_buffer if nesterov else momentum_buffer
    param -= t(lr) * g
