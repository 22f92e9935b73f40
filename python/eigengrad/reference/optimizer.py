"""A per-parameter optimizer on top of the update-rule references: the oracle that eigengrad.optim's
fused, flat-buffer optimizers are tested against and the NumPy baseline they are benchmarked against.

    opt = ReferenceOptimizer("Adam", [w, b], lr=1e-3)   # arrays updated in place
    opt.step([dw, db])                                  # None: that parameter has no gradient

Options take torch.optim's names and defaults (``betas``, ``initial_accumulator_value``, ...).
"""
import numpy as np

from eigengrad.reference import optim as ref

DEFAULTS = {
    "SGD": dict(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False),
    "Adam": dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
                 decoupled_weight_decay=False),
    "AdamW": dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False),
    "NAdam": dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3, decoupled_weight_decay=False,
                  maximize=False),
    "Adamax": dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False),
    "RAdam": dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False, maximize=False),
    "Adagrad": dict(lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, maximize=False),
    "RMSprop": dict(alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False),
    "Adadelta": dict(rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False),
    "Rprop": dict(etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False),
    "ASGD": dict(lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False),
}


class ReferenceOptimizer:
    """The rule ``name`` (a torch.optim class name) with options ``opt``, parameter by parameter."""

    def __init__(self, name, arrays, **opt):
        if name not in DEFAULTS:
            raise ValueError(f"name: expected one of {', '.join(DEFAULTS)}, got {name!r}")
        self.name, self.arrays = name, arrays
        self.o = {**DEFAULTS[name], **opt}
        self.step_count = 0
        self.mu_product = 1.0
        fill = self.o.get("initial_accumulator_value", 0.0)
        self.state = [{k: np.full_like(a, fill if k == "sum" else self.o["lr"] if k == "step_size" else 0.0)
                       for k in self._names()} for a in arrays]
        self.scalars = [{"step": 0, "eta": float(np.float32(self.o["lr"])), "mu": 1.0} for _ in arrays]  # ASGD

    def _names(self):
        o = self.o
        return {"SGD": ["buf"], "Adam": ["m", "v", "vmax"], "AdamW": ["m", "v", "vmax"], "NAdam": ["m", "v"],
                "Adamax": ["m", "u"], "RAdam": ["m", "v"],
                "Adagrad": ["sum"], "RMSprop": ["v", "ga", "buf"], "Adadelta": ["v", "u"], "Rprop": ["prev", "step_size"],
                "ASGD": ["ax"]}[self.name]

    def step(self, grads):
        self.step_count += 1
        t, o = self.step_count, self.o
        if self.name == "NAdam":
            # PyTorch keeps the product in the default dtype (float32), even for float64 parameters
            mu = o["betas"][0] * (1.0 - 0.5 * 0.96 ** (t * o["momentum_decay"]))
            self.mu_product = float(np.float32(self.mu_product) * np.float32(mu))
        for i, (p, g, s) in enumerate(zip(self.arrays, grads, self.state)):
            if g is not None:
                if self.name == "ASGD":
                    o = self.o
                    ref.asgd_step(p, g, s["ax"], self.scalars[i], lr=o["lr"], lambd=o["lambd"], alpha=o["alpha"],
                                  t0=o["t0"], weight_decay=o["weight_decay"], maximize=o["maximize"])
                else:
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
        elif n == "Adamax":
            ref.adamax_step(p, g, s["m"], s["u"], lr=o["lr"], beta1=o["betas"][0], beta2=o["betas"][1], eps=o["eps"],
                            weight_decay=o["weight_decay"], maximize=o["maximize"], step=t)
        elif n == "RAdam":
            ref.radam_step(p, g, s["m"], s["v"], lr=o["lr"], beta1=o["betas"][0], beta2=o["betas"][1], eps=o["eps"],
                           weight_decay=o["weight_decay"], decoupled_weight_decay=o["decoupled_weight_decay"],
                           maximize=o["maximize"], step=t)
        elif n == "Adagrad":
            ref.adagrad_step(p, g, s["sum"], lr=o["lr"], lr_decay=o["lr_decay"], weight_decay=o["weight_decay"],
                             eps=o["eps"], maximize=o["maximize"], step=t)
        elif n == "RMSprop":
            ref.rmsprop_step(p, g, s["v"], s["ga"], s["buf"], lr=o["lr"], alpha=o["alpha"], eps=o["eps"],
                             weight_decay=o["weight_decay"], momentum=o["momentum"], centered=o["centered"],
                             maximize=o["maximize"])
        elif n == "Rprop":
            ref.rprop_step(p, g, s["prev"], s["step_size"], etaminus=o["etas"][0], etaplus=o["etas"][1],
                           step_size_min=o["step_sizes"][0], step_size_max=o["step_sizes"][1], maximize=o["maximize"])
        else:
            ref.adadelta_step(p, g, s["v"], s["u"], lr=o["lr"], rho=o["rho"], eps=o["eps"],
                              weight_decay=o["weight_decay"], maximize=o["maximize"])
