"""Names an estimator's string options accept, and the eigengrad objects they stand for.

One table per option (activation, solver, learning_rate), so adding a choice is one line, and the
error for a bad name lists what is accepted.
"""
from __future__ import annotations

from typing import Any, Callable

from eigengrad import optim
from eigengrad.train import presets

# scikit-learn's four hidden activations, then eigengrad's extras (all names of eigengrad.train.presets).
ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu")

# solver -> (optimizer class, function of the estimator giving the optimizer's keyword arguments)
SOLVERS: dict[str, tuple[type, Callable[[Any], dict]]] = {
    "sgd": (optim.SGD, lambda e: {"momentum": e.momentum, "nesterov": bool(e.nesterovs_momentum and e.momentum > 0)}),
    "adam": (optim.Adam, lambda e: {"betas": (e.beta_1, e.beta_2), "eps": e.epsilon}),
    "adamw": (optim.AdamW, lambda e: {"betas": (e.beta_1, e.beta_2), "eps": e.epsilon}),
    "nadam": (optim.NAdam, lambda e: {"betas": (e.beta_1, e.beta_2), "eps": e.epsilon}),
    "rmsprop": (optim.RMSprop, lambda e: {"eps": e.epsilon, "momentum": e.momentum}),
    "adagrad": (optim.Adagrad, lambda e: {}),
    "adadelta": (optim.Adadelta, lambda e: {}),
}

# Schedules handled by the estimator's epoch callback (scikit-learn's own) and those built from
# eigengrad.optim.lr_scheduler.
CALLBACK_SCHEDULES = ("constant", "invscaling", "adaptive")
SCHEDULER_SCHEDULES = presets.SCHEDULES
LEARNING_RATES = CALLBACK_SCHEDULES + SCHEDULER_SCHEDULES


def choice(name: str, value: Any, allowed) -> str:
    """``value`` if it is one of ``allowed``, else a ValueError naming the argument and the choices."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}: expected one of {sorted(allowed)}, got {value!r}")
    return value


def make_optimizer(est, params) -> optim.Optimizer:
    """The optimizer ``est.solver`` names, over ``params``, with the estimator's settings.

    ``weight_decay`` goes to the optimizer's own argument: decoupled (Loshchilov & Hutter) for
    ``adamw``, an L2 term added to the gradient (PyTorch's meaning) for the others.
    ``optimizer_kwargs`` override everything.
    """
    cls, kwargs_of = SOLVERS[choice("solver", est.solver, SOLVERS)]
    kwargs = {"lr": est.learning_rate_init, "weight_decay": est.weight_decay, **kwargs_of(est)}
    kwargs.update(est.optimizer_kwargs or {})
    return cls(params, **kwargs)


def make_scheduler(est, optimizer, steps_per_epoch: int):
    """The ``eigengrad.optim.lr_scheduler`` scheduler for ``est.learning_rate``, or None for the
    schedules the estimator applies itself (constant, invscaling, adaptive).

    Defaults, each overridable through ``scheduler_kwargs``: cosine anneals to 0 over ``max_iter``
    epochs; onecycle peaks at ``learning_rate_init`` over ``max_iter`` epochs (stepped per batch);
    step multiplies by 0.1 every ``max(1, max_iter // 3)`` epochs; exponential by 0.95 every epoch.
    """
    name = choice("learning_rate", est.learning_rate, LEARNING_RATES)
    if name not in SCHEDULER_SCHEDULES:
        return None
    return presets.schedule(name, optimizer, epochs=est.max_iter, steps_per_epoch=steps_per_epoch,
                            max_lr=est.learning_rate_init, **(est.scheduler_kwargs or {}))
