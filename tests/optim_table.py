"""The optimizer table shared by the optimizer tests: every update rule with every combination of
its options, and a per-parameter re-implementation of each on top of eigengrad.reference (the
oracle the fused, flat-buffer optimizers are checked against)."""
import itertools

import numpy as np

import eigengrad as eg
from eigengrad.reference.optimizer import ReferenceOptimizer  # noqa: F401 (the oracle, re-exported)


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
    "Adamax": [dict(lr=0.01, **o) for o in _grid(weight_decay=[0.0, 0.01], maximize=[False, True])]
              + [dict(lr=0.01, betas=(0.5, 0.6), eps=1e-3)],
    "RAdam": [dict(lr=0.01, **o) for o in _grid(weight_decay=[0.0, 0.01], decoupled_weight_decay=[False, True],
                                                maximize=[False, True])]
             + [dict(lr=0.01, betas=(0.5, 0.9), eps=1e-4)],
    "Adagrad": [dict(lr=0.05, **o) for o in _grid(lr_decay=[0.0, 0.01], weight_decay=[0.0, 0.01],
                                                  initial_accumulator_value=[0.0, 0.1], maximize=[False, True])],
    "RMSprop": [dict(lr=0.01, **o) for o in _grid(momentum=[0.0, 0.9], centered=[False, True],
                                                  weight_decay=[0.0, 0.01], maximize=[False, True])]
               + [dict(lr=0.01, alpha=0.3, eps=1e-4, centered=True)],
    "Adadelta": [dict(lr=1.0, **o) for o in _grid(weight_decay=[0.0, 0.01], maximize=[False, True])]
                + [dict(lr=0.5, rho=0.3, eps=1e-4)],
    "Rprop": [dict(lr=0.01, maximize=m) for m in (False, True)] + [dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1))],
    "ASGD": [dict(lr=0.01, **o) for o in _grid(weight_decay=[0.0, 0.01], maximize=[False, True])]
            + [dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=20)],
}
CASES = [(name, opt) for name, opts in OPTIONS.items() for opt in opts]


def case_id(case):
    name, opt = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in opt.items() if k != "lr") + ")"


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
