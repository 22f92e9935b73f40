"""Update-rule references, in place on param and state arrays (the kernels' contract)."""
import math

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


def _lerp(a, b, w):
    """torch.lerp's two forms: a + w (b - a) for |w| < 0.5, else b - (b - a)(1 - w)."""
    t = a.dtype.type
    return a + t(w) * (b - a) if abs(w) < 0.5 else b - (b - a) * (t(1) - t(w))


def _decayed(param, grad, *, lr, weight_decay, decoupled, maximize):
    """The gradient after maximize and L2 decay; decoupled decay scales param in place instead."""
    t = param.dtype.type
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param *= t(1 - lr * weight_decay)
        else:
            g = g + t(weight_decay) * param
    return g


def _sqrt(x: float) -> float:
    """The square root of a Python float, NaN below 0 as in the kernels (``x ** 0.5`` would be complex: a beta
    above 1, which torch.optim refuses and a kernel called directly takes)."""
    return math.sqrt(x) if x >= 0 else math.nan


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay=0.0,
              decoupled_weight_decay=False, amsgrad=False, maximize=False, step):
    """Adam / AdamW as torch.optim.Adam(W) (single-tensor form), step = t >= 1."""
    t = param.dtype.type
    g = _decayed(param, grad, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay, maximize=maximize)
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1)
    exp_avg_sq *= t(beta2)
    exp_avg_sq += t(1 - beta2) * g * g
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = _sqrt(1 - beta2 ** step)
    v = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    denom = np.sqrt(v) / t(bias_correction2_sqrt) + t(eps)
    param += t(-(lr / bias_correction1)) * exp_avg / denom


def nadam_step(param, grad, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay=0.0, momentum_decay,
               decoupled_weight_decay=False, maximize=False, step, mu_product):
    """NAdam as torch.optim.NAdam; mu_product includes this step's mu."""
    t = param.dtype.type
    g = _decayed(param, grad, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay, maximize=maximize)
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1)
    exp_avg_sq *= t(beta2)
    exp_avg_sq += t(1 - beta2) * g * g
    denom = np.sqrt(exp_avg_sq / t(1 - beta2 ** step)) + t(eps)
    param += t(-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
    param += t((-lr * mu_next) / (1.0 - mu_product * mu_next)) * exp_avg / denom


def adamax_step(param, grad, exp_avg, exp_inf, *, lr, beta1, beta2, eps, weight_decay=0.0, maximize=False, step):
    """Adamax as torch.optim.Adamax (single-tensor form), step = t >= 1."""
    t = param.dtype.type
    g = _decayed(param, grad, lr=lr, weight_decay=weight_decay, decoupled=False, maximize=maximize)
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1)
    np.maximum(exp_inf * t(beta2), np.abs(g) + t(eps), out=exp_inf)
    clr = lr / (1 - beta1 ** step)
    param += t(-clr) * exp_avg / exp_inf


def radam_step(param, grad, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, weight_decay=0.0,
               decoupled_weight_decay=False, maximize=False, step):
    """RAdam as torch.optim.RAdam (single-tensor form), step = t >= 1."""
    t = param.dtype.type
    g = _decayed(param, grad, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay, maximize=maximize)
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1)
    exp_avg_sq *= t(beta2)
    exp_avg_sq += t(1 - beta2) * g * g
    bias_correction1, bias_correction2 = 1 - beta1 ** step, 1 - beta2 ** step
    update = exp_avg / t(bias_correction1) * t(lr)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
    if rho_t > 5.0:
        rect = _sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        adaptive = (t(1) / (np.sqrt(exp_avg_sq) + t(eps))) * t(_sqrt(bias_correction2))
        update = update * adaptive * t(rect)
    param -= update


def adagrad_step(param, grad, state_sum, *, lr, lr_decay=0.0, weight_decay=0.0, eps, maximize=False, step):
    """Adagrad as torch.optim.Adagrad, step = t >= 1."""
    t = param.dtype.type
    g = _decayed(param, grad, lr=lr, weight_decay=weight_decay, decoupled=False, maximize=maximize)
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum += g * g
    param += t(-clr) * g / (np.sqrt(state_sum) + t(eps))


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps, weight_decay=0.0,
                 momentum=0.0, centered=False, maximize=False):
    """RMSprop as torch.optim.RMSprop (centered and momentum variants)."""
    t = param.dtype.type
    g = _decayed(param, grad, lr=lr, weight_decay=weight_decay, decoupled=False, maximize=maximize)
    square_avg *= t(alpha)
    square_avg += t(1 - alpha) * g * g
    if centered:
        grad_avg[...] = _lerp(grad_avg, g, 1 - alpha)
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + t(eps)
    else:
        avg = np.sqrt(square_avg) + t(eps)
    if momentum > 0:
        momentum_buffer *= t(momentum)
        momentum_buffer += g / avg
        param += t(-lr) * momentum_buffer
    else:
        param += t(-lr) * g / avg


def adadelta_step(param, grad, square_avg, acc_delta, *, lr, rho, eps, weight_decay=0.0, maximize=False):
    """Adadelta as torch.optim.Adadelta."""
    t = param.dtype.type
    g = _decayed(param, grad, lr=lr, weight_decay=weight_decay, decoupled=False, maximize=maximize)
    square_avg *= t(rho)
    square_avg += t(1 - rho) * g * g
    delta = np.sqrt(acc_delta + t(eps)) / np.sqrt(square_avg + t(eps)) * g
    acc_delta *= t(rho)
    acc_delta += t(1 - rho) * delta * delta
    param += t(-lr) * delta


def rprop_step(param, grad, prev, step_size, *, etaminus, etaplus, step_size_min, step_size_max, maximize=False):
    """Rprop as torch.optim.Rprop: per element, the step size grows by etaplus where the gradient kept its
    sign, shrinks by etaminus where it flipped (and that gradient is then taken as 0), and the parameter moves
    by the step size against the gradient's sign. (An element loop, the plainest form of the rule.)"""
    g = (-grad if maximize else grad).copy()
    for i in np.ndindex(g.shape):
        product = g[i] * prev[i]
        if product > 0:
            step_size[i] = min(step_size[i] * etaplus, step_size_max)
        elif product < 0:
            step_size[i] = max(step_size[i] * etaminus, step_size_min)
            g[i] = 0
        else:
            step_size[i] = min(max(step_size[i], step_size_min), step_size_max)
        param[i] -= np.sign(g[i]) * step_size[i]
    prev[...] = g


def asgd_step(param, grad, ax, scalars: dict, *, lr, lambd, alpha, t0, weight_decay=0.0, maximize=False,
              scalar_dtype=np.float32):
    """ASGD as torch.optim.ASGD; ``scalars`` holds the parameter's step, eta (lr at first) and mu (1 at first),
    kept in PyTorch's scalar dtype (float32 unless the default dtype is float64)."""
    scalars["step"] += 1
    step, eta, mu = scalars["step"], scalars["eta"], scalars["mu"]
    g = -grad if maximize else grad
    if weight_decay:
        g = g + weight_decay * param
    param *= 1 - lambd * eta
    param -= eta * g
    if mu != 1:
        ax += (param - ax) * mu
    else:
        ax[...] = param
    scalars["eta"] = float(scalar_dtype(lr / (1 + lambd * lr * step) ** alpha))
    scalars["mu"] = float(scalar_dtype(1 / max(1, step - t0)))
