"""The optimizer table shared by the optimizer tests: every update rule with every combination of
its options, and a per-parameter re-implementation of each on top of eigengrad.reference (the
oracle the fused, flat-buffer optimizers are checked against)."""
import itertools

import numpy as np

import eigengrad as eg
from eigengrad import reference as ref


def _grid(**axes):
    """Every combination of the given option values, as dicts."""
    keys = list(axes)
    return [dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys))]


def _sgd_valid(o):
    return not o["nesterov"] or (o["momentum"] > 0 and o["dampening"] == 0)


OPTIONS = {
    "SGD": [dict(lr=0.05, **o) for o in _grid(momentum=[0.0, 0.9], dampening=[0.0, 0.1], nesterov=[False, True],
                                             weight_decay=[0.0, 0.01], maximize=[False, True]) if _sgd_valid(o)],
    "Adam": [dict(lr=0.01, **o) for o in _grid(amsgrad=[False, True], weight_decay=[0.0, 0.01],
                                               decoupled_weight_decay=[False, True], maximize=[False, True])]
            + [dict(lr=0.01, betas=(0.3, 0.6), eps=1e-3)],
    "AdamW": [dict(lr=0.01, **o) for o in _grid(amsgrad=[False, True], weight_decay=[0.0, 0.05],
                                                maximize=[False, True])],
    "NAdam": [dict(lr=0.01, **o) for o in _grid(weight_decay=[0.0, 0.01], decoupled_weight_decay=[False, True],
                                                maximize=[False, True])]
             + [dict(lr=0.01, betas=(0.5, 0.9), momentum_decay=0.01)],
    "Adagrad": [dict(lr=0.05, **o) for o in _grid(lr_decay=[0.0, 0.01], weight_decay=[0.0, 0.01],
                                                  initial_accumulator_value=[0.0, 0.1], maximize=[False, True])],
    "RMSprop": [dict(lr=0.01, **o) for o in _grid(momentum=[0.0, 0.9], centered=[False, True],
                                                  weight_decay=[0.0, 0.01], maximize=[False, True])]
               + [dict(lr=0.01, alpha=0.3, eps=1e-4, centered=True)],
    "Adadelta": [dict(lr=1.0, **o) for o in _grid(weight_decay=[0.0, 0.01], maximize=[False, True])]
                + [dict(lr=0.5, rho=0.3, eps=1e-4)],
}
CASES = [(name, opt) for name, opts in OPTIONS.items() for opt in opts]


def case_id(case):
    name, opt = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in opt.items() if k != "lr") + ")"


# --- the per-parameter oracle ------------------------------------------------------------------------------

DEFAULTS = {
    "SGD": dict(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False),
    "Adam": dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
                 decoupled_weight_decay=False),
    "AdamW": dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False),
    "NAdam": dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3, decoupled_weight_decay=False,
                  maximize=False),
    "Adagrad": dict(lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, maximize=False),
    "RMSprop": dict(alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False),
    "Adadelta": dict(rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False),
}


class ReferenceOptimizer:
    """The rule ``name`` with options ``opt`` applied parameter by parameter with eigengrad.reference."""

    def __init__(self, name, arrays, **opt):
        self.name, self.arrays = name, arrays
        self.o = {**DEFAULTS[name], **opt}
        self.step_count = 0
        self.mu_product = 1.0
        fill = self.o.get("initial_accumulator_value", 0.0)
        self.state = [{k: np.full_like(a, fill if k == "sum" else 0.0) for k in self._names()} for a in arrays]

    def _names(self):
        o = self.o
        return {"SGD": ["buf"], "Adam": ["m", "v", "vmax"], "AdamW": ["m", "v", "vmax"], "NAdam": ["m", "v"],
                "Adagrad": ["sum"], "RMSprop": ["v", "ga", "buf"], "Adadelta": ["v", "u"]}[self.name]

    def step(self, grads):
        self.step_count += 1
        t, o = self.step_count, self.o
        if self.name == "NAdam":
            self.mu_product *= o["betas"][0] * (1.0 - 0.5 * 0.96 ** (t * o["momentum_decay"]))
        for p, g, s in zip(self.arrays, grads, self.state):
            if g is not None:
                self._one(p, g, s, t)

    def _one(self, p, g, s, t):
        o, n = self.o, self.name
        if n == "SGD":
            ref.sgd_step(p, g, s["buf"], lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"],
                         weight_decay=o["weight_decay"], nesterov=o["nesterov"], maximize=o["maximize"],
                         first_step=t == 1)
        elif n in ("Adam", "AdamW"):
            ref.adam_step(p, g, s["m"], s["v"], s["vmax"], lr=o["lr"], beta1=o["betas"][0], beta2=o["betas"][1],
                          eps=o["eps"], weight_decay=o["weight_decay"], amsgrad=o["amsgrad"], maximize=o["maximize"],
                          decoupled_weight_decay=n == "AdamW" or o["decoupled_weight_decay"], step=t)
        elif n == "NAdam":
            ref.nadam_step(p, g, s["m"], s["v"], lr=o["lr"], beta1=o["betas"][0], beta2=o["betas"][1], eps=o["eps"],
                           weight_decay=o["weight_decay"], momentum_decay=o["momentum_decay"],
                           decoupled_weight_decay=o["decoupled_weight_decay"], maximize=o["maximize"], step=t,
                           mu_product=self.mu_product)
        elif n == "Adagrad":
            ref.adagrad_step(p, g, s["sum"], lr=o["lr"], lr_decay=o["lr_decay"], weight_decay=o["weight_decay"],
                             eps=o["eps"], maximize=o["maximize"], step=t)
        elif n == "RMSprop":
            ref.rmsprop_step(p, g, s["v"], s["ga"], s["buf"], lr=o["lr"], alpha=o["alpha"], eps=o["eps"],
                             weight_decay=o["weight_decay"], momentum=o["momentum"], centered=o["centered"],
                             maximize=o["maximize"])
        else:
            ref.adadelta_step(p, g, s["v"], s["u"], lr=o["lr"], rho=o["rho"], eps=o["eps"],
                              weight_decay=o["weight_decay"], maximize=o["maximize"])


# --- parameters and a gradient sequence ---------------------------------------------------------------------

SHAPES = [(7, 5), (5,), (1,), (3, 2, 4)]


def make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [eg.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]


def gradient_sequence(steps, dtype, seed=1):
    """``steps`` lists of gradients for SHAPES, drifting so that moments matter."""
    rng = np.random.default_rng(seed)
    drift = [rng.standard_normal(s) for s in SHAPES]
    for _ in range(steps):
        yield [(d + 0.5 * rng.standard_normal(s)).astype(dtype) for d, s in zip(drift, SHAPES)]


def set_grads(params, grads):
    """Gradients ``grads`` (None: no gradient) through backward, so that they land where training puts
    them (the optimizer's flat gradient buffer): d/dp sum(p * g) = g."""
    terms = []
    for p, g in zip(params, grads):
        p.grad = None
        if g is not None:
            terms.append((p * eg.tensor(g)).sum())
    if terms:
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        total.backward()
