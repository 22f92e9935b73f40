"""One entry per function of the compiled module: how to make a valid call, which arguments it writes, which
output may be exactly which input (in place), and what the NumPy reference says the outputs are.

The table-driven test (test_binding_checks.py) walks every entry to show each binding checks dtypes,
layouts, writeability and overlaps, and fails when a function of ``_C`` has no entry; the fuzz suite
(tests/fuzz) mutates the same calls at random. A builder takes a :class:`Case` (a seeded generator, the
float dtype and a few small sizes) and returns the keyword arguments of a valid call; ``expect`` gets a
copy of the arguments as they were before the call and returns the expected outputs by name ("return" for
the return value) from ``eigengrad.reference``.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np

from eigengrad import reference as R
from eigengrad.reference import augment as RA, conv as RC, pool as RP


class Case:
    """What a builder draws from: ``dim(i)`` sizes (0 allowed in the fuzz), arrays of ``dtype``, coin flips
    (``full``: all True, so every optional array is present)."""

    def __init__(self, seed: int, dtype, dims=(3, 5, 2, 4), full: bool = False) -> None:
        self.rng = np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)
        self.dims = tuple(int(d) for d in dims)
        self.full = full  # every coin flip comes up True: every optional argument is given

    def dim(self, i: int, low: int = 0) -> int:
        return max(self.dims[i % len(self.dims)], low)

    def normal(self, *shape, scale: float = 1.0) -> np.ndarray:
        return (self.rng.standard_normal(shape) * scale).astype(self.dtype)

    def uniform(self, *shape, low: float = 0.0, high: float = 1.0, dtype=None) -> np.ndarray:
        return self.rng.uniform(low, high, shape).astype(dtype or self.dtype)

    def empty(self, *shape, dtype=None) -> np.ndarray:
        return np.full(shape, np.nan, dtype or self.dtype) if np.dtype(dtype or self.dtype).kind == "f" \
            else np.zeros(shape, dtype)

    def flag(self, p: float = 0.5) -> bool:
        return bool(self.rng.random() < p) or self.full

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]


@dataclasses.dataclass(frozen=True)
class Binding:
    make: Callable[[Case], dict]
    outputs: tuple = ()  # arguments the binding writes (a list argument: every array in it)
    expect: Callable[[dict], dict] | None = None
    in_place: tuple = ()  # (output, input): the output may be exactly that input
    strided: tuple = ()  # inputs read through their strides (any layout but unaligned is valid)
    rtol: float = 1.0  # a factor on the fuzz tolerance (reference/kernel differ in summation order)
    # inputs whose dtype selects one of many kernels (gather, scatter, sort: any element type): another dtype
    # is valid for them, so the arrays that must match it name the mismatch
    any_dtype: tuple = ()


TABLE: dict[str, Binding] = {}


def entry(name: str, **kw) -> None:
    assert name not in TABLE, name
    TABLE[name] = Binding(**kw)


# --- GEMM -------------------------------------------------------------------------------------------

def _gemm(c):
    m, k, n = c.dim(0), c.dim(1), c.dim(2)
    ta, tb = c.flag(), c.flag()
    kw = dict(a=c.normal(*((k, m) if ta else (m, k))), b=c.normal(*((n, k) if tb else (k, n))), out=c.normal(m, n),
              bias=c.normal(n) if c.flag() else None, trans_a=ta, trans_b=tb, accumulate=c.flag(0.3))
    return kw


def _gemm_expect(kw):
    y = R.gemm(kw["a"], kw["b"], kw["bias"], kw["trans_a"], kw["trans_b"])
    return {"out": y + kw["out"] if kw["accumulate"] else y}


entry("gemm", make=_gemm, outputs=("out",), expect=_gemm_expect)

# --- activations ------------------------------------------------------------------------------------

_ELEMENTWISE_PARAMS = {
    "relu": {}, "sigmoid": {}, "tanh": {},
    "leaky_relu": {"negative_slope": 0.2},
    "elu": {"alpha": 1.3, "scale": 1.05, "input_scale": 0.9},
    "gelu": {"tanh_approximation": True},
    "softplus": {"beta": 1.5, "threshold": 4.0},
}


def _ref_params(kind, params):
    if kind == "gelu":
        return {"approximate": "tanh" if params["tanh_approximation"] else "none"}
    return dict(params)


def _activation(kind):
    params = _ELEMENTWISE_PARAMS[kind]
    saved = "y" if kind in ("relu", "sigmoid", "tanh") else "x"
    fwd, bwd = getattr(R, f"{kind}_forward"), getattr(R, f"{kind}_backward")

    def make_fwd(c):
        x = c.normal(c.dim(0), c.dim(1), scale=3.0)
        return dict(x=x, out=c.empty(*x.shape), **params)

    def make_bwd(c):
        x = c.normal(c.dim(0), c.dim(1), scale=3.0)
        s = fwd(x) if saved == "y" else x
        return {"grad_out": c.normal(*x.shape), saved: s, "grad_in": c.empty(*x.shape), **params}

    def expect_fwd(kw):
        return {"out": fwd(kw["x"], **_ref_params(kind, {k: kw[k] for k in params}))}

    def expect_bwd(kw):
        return {"grad_in": bwd(kw["grad_out"], kw[saved], **_ref_params(kind, {k: kw[k] for k in params}))}

    entry(f"{kind}_forward", make=make_fwd, outputs=("out",), expect=expect_fwd, in_place=(("out", "x"),))
    entry(f"{kind}_backward", make=make_bwd, outputs=("grad_in",), expect=expect_bwd,
          in_place=(("grad_in", "grad_out"), ("grad_in", saved)))


for _kind in _ELEMENTWISE_PARAMS:
    _activation(_kind)


def _prelu(c, backward):
    x = c.normal(c.dim(0), c.dim(1), c.dim(2))
    w = c.uniform(c.dim(1) if c.flag() else 1, low=0.05, high=0.5)
    if not backward:
        return dict(x=x, weight=w, out=c.empty(*x.shape))
    return dict(grad_out=c.normal(*x.shape), x=x, weight=w, grad_in=c.empty(*x.shape),
                grad_weight=c.empty(*w.shape) if c.flag(0.8) else None)


def _prelu_bwd_expect(kw):
    gx, gw = R.prelu_backward(kw["grad_out"], kw["x"], kw["weight"])
    return {"grad_in": gx, **({"grad_weight": gw} if kw["grad_weight"] is not None else {})}


entry("prelu_forward", make=lambda c: _prelu(c, False), outputs=("out",), in_place=(("out", "x"),),
      expect=lambda kw: {"out": R.prelu_forward(kw["x"], kw["weight"])})
entry("prelu_backward", make=lambda c: _prelu(c, True), outputs=("grad_in", "grad_weight"), expect=_prelu_bwd_expect,
      in_place=(("grad_in", "grad_out"), ("grad_in", "x")), rtol=10.0)


def _maxout_fwd(c):
    g, p = c.dim(0), c.dim(1, low=1)
    return dict(z=c.normal(g, p), out=c.empty(g), idx=np.full(g, -7, np.int64))


def _maxout_fwd_expect(kw):
    y, idx = R.maxout_forward(kw["z"], kw["z"].shape[1])  # z (groups, pieces): one group of pieces per row
    return {"out": y[:, 0], "idx": idx[:, 0]}


def _maxout_bwd(c):
    g, p = c.dim(0), c.dim(1, low=1)
    return dict(grad_out=c.normal(g), idx=c.rng.integers(0, p, g).astype(np.int64), grad_in=c.empty(g, p))


entry("maxout_forward", make=_maxout_fwd, outputs=("out", "idx"), expect=_maxout_fwd_expect)
entry("maxout_backward", make=_maxout_bwd, outputs=("grad_in",),
      expect=lambda kw: {"grad_in": R.maxout_backward(kw["grad_out"], kw["idx"], kw["grad_in"].shape[1]).reshape(
          kw["grad_in"].shape)})

# --- losses -----------------------------------------------------------------------------------------


def _targets(c, n, classes, ignore=-100):
    t = c.rng.integers(0, max(classes, 1), n).astype(np.int64)
    t[c.rng.random(n) < 0.2] = ignore
    return t


def _ce_fwd(c):
    n, k = c.dim(0), c.dim(1, low=1)
    return dict(logits=c.normal(n, k, scale=3.0), target=_targets(c, n, k), loss=c.empty(n), lse=c.empty(n),
                ignore_index=-100)


def _ce_fwd_expect(kw):
    loss, lse = R.softmax_cross_entropy_forward(kw["logits"], kw["target"], kw["ignore_index"])
    return {"loss": loss, "lse": lse}


def _ce_bwd(c):
    kw = _ce_fwd(c)
    _, lse = R.softmax_cross_entropy_forward(kw["logits"], kw["target"])
    n = len(lse)
    return dict(logits=kw["logits"], target=kw["target"], lse=lse, scale=c.uniform(n), grad_logits=c.empty(*kw["logits"].shape),
                ignore_index=-100)


entry("softmax_cross_entropy_forward", make=_ce_fwd, outputs=("loss", "lse"), expect=_ce_fwd_expect)
entry("softmax_cross_entropy_backward", make=_ce_bwd, outputs=("grad_logits",),
      expect=lambda kw: {"grad_logits": R.softmax_cross_entropy_backward(kw["logits"], kw["target"], kw["lse"],
                                                                         kw["scale"], kw["ignore_index"])})


def _ce_fwd_bwd(c):
    kw = _ce_fwd(c)
    n, k = kw["logits"].shape
    return dict(logits=kw["logits"], target=kw["target"], loss=kw["loss"], lse=kw["lse"], scale=c.uniform(n),
                grad_logits=c.empty(n, k), ignore_index=-100)


def _fwd_bwd_expect(loss, lse, grad):
    return {"loss": loss, "lse": lse, "grad_logits": grad}


entry("softmax_cross_entropy_forward_backward", make=_ce_fwd_bwd, outputs=("loss", "lse", "grad_logits"),
      expect=lambda kw: _fwd_bwd_expect(*R.softmax_cross_entropy_forward_backward(
          kw["logits"], kw["target"], kw["scale"], kw["ignore_index"])))


def _wce(c, backward):
    kw = _ce_fwd(c)
    k = kw["logits"].shape[1]
    out = dict(logits=kw["logits"], target=kw["target"], weight=c.uniform(k, low=0.1, high=2.0) if c.flag() else None,
               label_smoothing=c.pick([0.0, 0.1, 1.0]))
    if not backward:
        return dict(out, loss=kw["loss"], lse=kw["lse"], ignore_index=-100)
    _, lse = R.softmax_cross_entropy_forward(kw["logits"], kw["target"])
    return dict(out, lse=lse, scale=c.uniform(len(lse)), grad_logits=c.empty(*kw["logits"].shape), ignore_index=-100)


def _wce_fwd_expect(kw):
    loss, lse = R.weighted_softmax_cross_entropy_forward(kw["logits"], kw["target"], kw["weight"],
                                                         kw["label_smoothing"], kw["ignore_index"])
    return {"loss": loss, "lse": lse}


entry("weighted_softmax_cross_entropy_forward", make=lambda c: _wce(c, False), outputs=("loss", "lse"),
      expect=_wce_fwd_expect)
entry("weighted_softmax_cross_entropy_backward", make=lambda c: _wce(c, True), outputs=("grad_logits",),
      expect=lambda kw: {"grad_logits": R.weighted_softmax_cross_entropy_backward(
          kw["logits"], kw["target"], kw["weight"], kw["label_smoothing"], kw["lse"], kw["scale"],
          kw["ignore_index"])})


def _wce_fwd_bwd(c):
    kw = _wce(c, False)
    n, k = kw["logits"].shape
    return dict(kw, scale=c.uniform(n), grad_logits=c.empty(n, k))


entry("weighted_softmax_cross_entropy_forward_backward", make=_wce_fwd_bwd, outputs=("loss", "lse", "grad_logits"),
      expect=lambda kw: _fwd_bwd_expect(*R.weighted_softmax_cross_entropy_forward_backward(
          kw["logits"], kw["target"], kw["weight"], kw["label_smoothing"], kw["scale"], kw["ignore_index"])))


def _pair(c):
    shape = (c.dim(0), c.dim(1))
    return c.normal(*shape), c.normal(*shape)


entry("squared_error_sum", make=lambda c: dict(zip(("input", "target"), _pair(c))),
      expect=lambda kw: {"return": R.squared_error_sum(kw["input"], kw["target"])})
entry("squared_error", make=lambda c: dict(zip(("input", "target", "out"), (*_pair(c), c.empty(c.dim(0), c.dim(1))))),
      outputs=("out",), in_place=(("out", "input"), ("out", "target")),
      expect=lambda kw: {"out": R.squared_error(kw["input"], kw["target"])})


def _se_bwd(c):
    x, y = _pair(c)
    return dict(input=x, target=y, grad_out=c.normal(*x.shape) if c.flag() else None, coef=0.75,
                grad_in=c.empty(*x.shape))


entry("squared_error_backward", make=_se_bwd, outputs=("grad_in",),
      in_place=(("grad_in", "input"), ("grad_in", "target"), ("grad_in", "grad_out")),
      expect=lambda kw: {"grad_in": R.squared_error_backward(kw["input"], kw["target"], kw["grad_out"], kw["coef"])})


def _bce(c, backward):
    x = c.normal(c.dim(0), c.dim(1), scale=2.0)
    kw = dict(input=x, target=c.uniform(*x.shape),
              weight=c.uniform(x.shape[1], low=0.1, high=2.0) if c.flag() else None,
              pos_weight=c.uniform(x.shape[1], low=0.5, high=3.0) if c.flag() else None)
    if backward:
        return dict(kw, grad_out=c.normal(*x.shape) if c.flag() else None, coef=0.5, grad_in=c.empty(*x.shape))
    return dict(kw, loss=c.empty(*x.shape) if c.flag(0.8) else None)


def _bce_fwd_expect(kw):
    total, loss = R.bce_with_logits_forward(kw["input"], kw["target"], kw["weight"], kw["pos_weight"])
    out = {"return": total}
    if kw["loss"] is not None:
        out["loss"] = loss
    return out


entry("bce_with_logits_forward", make=lambda c: _bce(c, False), outputs=("loss",), expect=_bce_fwd_expect)
entry("bce_with_logits_backward", make=lambda c: _bce(c, True), outputs=("grad_in",),
      expect=lambda kw: {"grad_in": R.bce_with_logits_backward(kw["input"], kw["target"], kw["weight"],
                                                               kw["pos_weight"], kw["grad_out"], kw["coef"])})

# --- optimizer steps (param and the state buffers are written) -----------------------------------------


def _optim(c, states, **hyper):
    shape = (c.dim(0), c.dim(1))
    kw = dict(param=c.normal(*shape), grad=c.normal(*shape))
    for name in states:
        kw[name] = c.uniform(*shape, low=0.0, high=1.0)
    kw.update(hyper)
    return kw


def _optim_expect(step, states):
    def expect(kw):
        kw = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        step(**kw)
        return {k: kw[k] for k in ("param", *states) if kw[k] is not None}
    return expect


def _optim_entry(name, states, make):
    entry(name, make=make, outputs=("param", *states), expect=_optim_expect(getattr(R, name), states), rtol=10.0)


def _sgd(c):
    momentum = c.pick([0.0, 0.9])
    kw = _optim(c, ["momentum_buffer"], lr=0.1, momentum=momentum, dampening=0.1, weight_decay=0.01,
                nesterov=False, maximize=c.flag(), first_step=c.flag())
    if momentum == 0:  # no buffer without momentum (the binding ignores one)
        kw["momentum_buffer"] = None
    return kw


_optim_entry("sgd_step", ["momentum_buffer"], _sgd)


def _adam(c):
    ams = c.flag()
    kw = _optim(c, ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0.01, decoupled_weight_decay=c.flag(), amsgrad=ams, maximize=c.flag(), step=3)
    if not ams:
        kw["max_exp_avg_sq"] = None
    return kw


_optim_entry("adam_step", ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], _adam)
_optim_entry("nadam_step", ["exp_avg", "exp_avg_sq"], lambda c: _optim(
    c, ["exp_avg", "exp_avg_sq"], lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, momentum_decay=0.004,
    decoupled_weight_decay=c.flag(), maximize=False, step=2, mu_product=0.81))
_optim_entry("adamax_step", ["exp_avg", "exp_inf"], lambda c: _optim(
    c, ["exp_avg", "exp_inf"], lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, maximize=c.flag(), step=3))
_optim_entry("radam_step", ["exp_avg", "exp_avg_sq"], lambda c: _optim(  # step 2: unrectified, 10: rectified
    c, ["exp_avg", "exp_avg_sq"], lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01,
    decoupled_weight_decay=c.flag(), maximize=c.flag(), step=c.pick([2, 10])))
_optim_entry("adagrad_step", ["state_sum"], lambda c: _optim(
    c, ["state_sum"], lr=0.1, lr_decay=0.01, weight_decay=0.01, eps=1e-10, maximize=c.flag(), step=4))


def _rmsprop(c):
    centered, momentum = c.flag(), c.pick([0.0, 0.9])
    kw = _optim(c, ["square_avg", "grad_avg", "momentum_buffer"], lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.01,
                momentum=momentum, centered=centered, maximize=c.flag())
    kw["square_avg"] += 0.5
    kw["grad_avg"] = kw["grad_avg"] - 0.5 if centered else None  # square_avg > grad_avg ** 2, as in a real run
    kw["momentum_buffer"] = kw["momentum_buffer"] if momentum > 0 else None
    return kw


_optim_entry("rmsprop_step", ["square_avg", "grad_avg", "momentum_buffer"], _rmsprop)
_optim_entry("adadelta_step", ["square_avg", "acc_delta"], lambda c: _optim(
    c, ["square_avg", "acc_delta"], lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.01, maximize=c.flag()))

# --- gradient clipping over lists of arrays -----------------------------------------------------------


def _grads(c):
    return [c.normal(c.dim(i), c.dim(i + 1)) for i in range(1 + c.dim(3) % 3)]


def _clip_expect(fn, *args, returns=True):
    def expect(kw):
        grads = [g.copy() for g in kw["grads"]]
        value = fn(grads, *[kw[a] for a in args])
        out = {"grads": grads}
        if returns:
            out["return"] = value
        return out
    return expect


entry("grad_norm", make=lambda c: dict(grads=_grads(c), norm_type=c.pick([2.0, 1.0, math.inf, 3.0, 0.0])),
      expect=lambda kw: {"return": R.grad_norm(kw["grads"], kw["norm_type"])})
entry("clip_grad_norm", make=lambda c: dict(grads=_grads(c), max_norm=0.5, norm_type=c.pick([2.0, 1.0, math.inf]),
                                            scale_if_nonfinite=True),
      outputs=("grads",), expect=_clip_expect(R.clip_grad_norm, "max_norm", "norm_type"), rtol=10.0)
entry("scale_grads", make=lambda c: dict(grads=_grads(c), coef=0.3), outputs=("grads",),
      expect=lambda kw: {"grads": [g * g.dtype.type(kw["coef"]) for g in kw["grads"]]})
entry("clip_grad_value", make=lambda c: dict(grads=_grads(c), clip_value=0.5), outputs=("grads",),
      expect=_clip_expect(R.clip_grad_value, "clip_value", returns=False))

# --- random numbers and dropout (counter-based: the reference draws the same numbers) -----------------


def _seed(c):
    return dict(seed=int(c.rng.integers(0, 2**63)), offset=int(c.rng.integers(0, 2**40)))


entry("uniform_fill", make=lambda c: dict(out=c.empty(c.dim(0), c.dim(1)), **_seed(c), low=-2.0, high=3.0),
      outputs=("out",), expect=lambda kw: {"out": R.uniform_fill(kw["out"].size, kw["out"].dtype, kw["seed"], kw["offset"],
                                                                 kw["low"], kw["high"]).reshape(kw["out"].shape)})
entry("normal_fill", make=lambda c: dict(out=c.empty(c.dim(0), c.dim(1)), **_seed(c), mean=1.0, std=2.0),
      outputs=("out",), expect=lambda kw: {"out": R.normal_fill(kw["out"].size, kw["out"].dtype, kw["seed"], kw["offset"],
                                                                kw["mean"], kw["std"]).reshape(kw["out"].shape)})
entry("randperm", make=lambda c: dict(out=np.full(c.dim(0) * c.dim(1), -1, np.int64), **_seed(c)), outputs=("out",),
      expect=lambda kw: {"out": R.randperm(kw["out"].size, kw["seed"], kw["offset"])})
entry("philox4x32", make=lambda c: dict(ctr_lo=int(c.rng.integers(0, 2**63)), ctr_hi=int(c.rng.integers(0, 2**32)),
                                        seed=int(c.rng.integers(0, 2**63))),
      expect=lambda kw: {"return": tuple(int(w) for w in R.philox4x32(np.uint64(kw["ctr_lo"]), np.uint64(kw["ctr_hi"]),
                                                                      np.uint64(kw["seed"])))})
_THRESHOLD = int(round(0.7 * 2**32))
entry("bernoulli_mask", make=lambda c: dict(mask=np.full(c.dim(0) * c.dim(1), 9, np.uint8), **_seed(c),
                                            threshold=_THRESHOLD),
      outputs=("mask",), expect=lambda kw: {"mask": R.bernoulli_mask(kw["mask"].size, kw["seed"], kw["offset"],
                                                                     kw["threshold"])})


def _dropout(c, rows=False):
    x = c.normal(c.dim(0), c.dim(1))
    n = x.shape[0] if rows else x.size
    return dict(x=x, out=c.empty(*x.shape), mask=np.full(n, 9, np.uint8), **_seed(c), threshold=_THRESHOLD)


def _dropout_expect(fn, *params):
    def expect(kw):
        y, mask = fn(kw["x"], kw["seed"], kw["offset"], kw["threshold"], *[kw[p] for p in params])
        return {"out": y, "mask": mask.reshape(-1)}
    return expect


entry("dropout_forward", make=lambda c: dict(_dropout(c), scale=1 / 0.7), outputs=("out", "mask"),
      in_place=(("out", "x"),), expect=_dropout_expect(R.dropout_forward, "scale"))
entry("alpha_dropout_forward", make=lambda c: dict(_dropout(c), a=0.9, b_keep=0.1, b_drop=-0.6),
      outputs=("out", "mask"), in_place=(("out", "x"),),
      expect=_dropout_expect(R.alpha_dropout_forward, "a", "b_keep", "b_drop"))
entry("feature_dropout_forward", make=lambda c: dict(_dropout(c, rows=True), scale=1 / 0.7), outputs=("out", "mask"),
      in_place=(("out", "x"),), expect=_dropout_expect(R.feature_dropout_forward, "scale"))
entry("masked_scale", make=lambda c: dict(grad_out=c.normal(c.dim(0), c.dim(1)),
                                          mask=(c.rng.random(c.dim(0)) < 0.7).astype(np.uint8),
                                          grad_in=c.empty(c.dim(0), c.dim(1)), scale=1 / 0.7),
      outputs=("grad_in",), in_place=(("grad_in", "grad_out"),),
      expect=lambda kw: {"grad_in": R.feature_dropout_backward(kw["grad_out"], kw["mask"], kw["scale"])})

def _gemm_epilogue(c):
    kw = _gemm(c)
    del kw["accumulate"]
    return kw


def _gemm_relu_dropout(c):
    kw = _gemm_epilogue(c)
    return dict(kw, mask=np.full(kw["out"].size, 9, np.uint8), **_seed(c), threshold=_THRESHOLD, scale=1 / 0.7)


def _gemm_relu_dropout_expect(kw):
    out, mask = R.gemm_relu_dropout(kw["a"], kw["b"], kw["bias"], kw["trans_a"], kw["trans_b"], kw["seed"], kw["offset"],
                                    kw["threshold"], kw["scale"])
    return {"out": out, "mask": mask}


entry("gemm_relu_dropout", make=_gemm_relu_dropout, outputs=("out", "mask"), expect=_gemm_relu_dropout_expect)

entry("relu_dropout_backward", make=lambda c: dict(grad_out=c.normal(c.dim(0), c.dim(1)),
                                                   mask=c.rng.integers(0, 4, c.dim(0) * c.dim(1)).astype(np.uint8),
                                                   grad_in=c.empty(c.dim(0), c.dim(1)), scale=1 / 0.7),
      outputs=("grad_in",), in_place=(("grad_in", "grad_out"),),
      expect=lambda kw: {"grad_in": R.relu_dropout_backward(kw["grad_out"], kw["mask"], kw["scale"])})

# --- normalisation ----------------------------------------------------------------------------------


def _bn_fwd(c):
    n, ch, s = c.dim(0), c.dim(1), c.dim(2)
    training = c.flag()
    stats = c.flag(0.7) or not training
    if training and n * s == 1:
        n = 2
    return dict(input=c.normal(n, ch, s), weight=c.uniform(ch, low=0.5, high=2.0) if c.flag() else None,
                bias=c.normal(ch) if c.flag() else None, running_mean=c.normal(ch) if stats else None,
                running_var=c.uniform(ch, low=0.5, high=2.0) if stats else None, out=c.empty(n, ch, s),
                save_mean=c.empty(ch, dtype=np.float64), save_invstd=c.empty(ch, dtype=np.float64), training=training,
                momentum=0.1, eps=1e-5)


def _bn_fwd_expect(kw):
    rm = None if kw["running_mean"] is None else kw["running_mean"].copy()
    rv = None if kw["running_var"] is None else kw["running_var"].copy()
    y, mean, invstd = R.batch_norm_forward(kw["input"], kw["weight"], kw["bias"], rm, rv, kw["training"],
                                           kw["momentum"], kw["eps"])
    out = {"out": y, "save_mean": mean, "save_invstd": invstd}
    if kw["training"] and rm is not None:
        out.update(running_mean=rm, running_var=rv)
    return out


def _grads_of(kw, names=("grad_in", "grad_weight", "grad_bias")):
    return tuple(kw[k] is not None for k in names)


def _named(values, names=("grad_in", "grad_weight", "grad_bias")):
    return {k: v for k, v in zip(names, values) if v is not None}


def _bn_bwd(c):
    kw = _bn_fwd(c)
    _, mean, invstd = R.batch_norm_forward(kw["input"], None, None, None, None, True, 0.1, 1e-5) if kw["training"] \
        else (None, kw["running_mean"].astype(np.float64), 1 / np.sqrt(kw["running_var"].astype(np.float64) + 1e-5))
    x = kw["input"]
    ch = x.shape[1]
    return dict(grad_out=c.normal(*x.shape), input=x, save_mean=mean, save_invstd=invstd, weight=kw["weight"],
                grad_in=c.empty(*x.shape) if c.flag(0.8) else None, grad_weight=c.empty(ch) if c.flag(0.8) else None,
                grad_bias=c.empty(ch) if c.flag(0.8) else None, training=kw["training"])


entry("batch_norm_forward", make=_bn_fwd, outputs=("out", "save_mean", "save_invstd", "running_mean", "running_var"),
      expect=_bn_fwd_expect, rtol=10.0)
def _bn_relu_dropout(c):
    kw = _bn_fwd(c)
    kw.update(training=True, mask=np.full(kw["input"].size, 9, np.uint8), **_seed(c), threshold=_THRESHOLD,
              scale=1 / 0.7)
    if kw["input"].shape[0] * kw["input"].shape[2] == 1:
        kw["input"], kw["out"] = np.concatenate([kw["input"]] * 2), np.concatenate([kw["out"]] * 2)
        kw["mask"] = np.full(kw["input"].size, 9, np.uint8)
    del kw["training"]
    return kw


def _bn_relu_dropout_expect(kw):
    rm = None if kw["running_mean"] is None else kw["running_mean"].copy()
    rv = None if kw["running_var"] is None else kw["running_var"].copy()
    y, mean, invstd, mask = R.batch_norm_relu_dropout_forward(
        kw["input"], kw["weight"], kw["bias"], rm, rv, kw["momentum"], kw["eps"], kw["seed"], kw["offset"],
        kw["threshold"], kw["scale"])
    out = {"out": y, "save_mean": mean, "save_invstd": invstd, "mask": mask}
    if rm is not None:
        out.update(running_mean=rm, running_var=rv)
    return out


def _bn_relu(c):
    kw = _bn_relu_dropout(c)
    for k in ("mask", "seed", "offset", "threshold", "scale"):
        del kw[k]
    return kw


def _bn_relu_expect(kw):
    rm = None if kw["running_mean"] is None else kw["running_mean"].copy()
    rv = None if kw["running_var"] is None else kw["running_var"].copy()
    y, mean, invstd = R.batch_norm_relu_forward(kw["input"], kw["weight"], kw["bias"], rm, rv, kw["momentum"], kw["eps"])
    out = {"out": y, "save_mean": mean, "save_invstd": invstd}
    if rm is not None:
        out.update(running_mean=rm, running_var=rv)
    return out


entry("batch_norm_relu_forward", make=_bn_relu, outputs=("out", "save_mean", "save_invstd", "running_mean", "running_var"),
      expect=_bn_relu_expect, rtol=10.0)
entry("batch_norm_relu_dropout_forward", make=_bn_relu_dropout,
      outputs=("out", "save_mean", "save_invstd", "running_mean", "running_var", "mask"),
      expect=_bn_relu_dropout_expect, rtol=10.0)
entry("batch_norm_backward", make=_bn_bwd, outputs=("grad_in", "grad_weight", "grad_bias"), rtol=10.0,
      expect=lambda kw: _named(R.batch_norm_backward(kw["grad_out"], kw["input"], kw["save_mean"], kw["save_invstd"],
                                                     kw["weight"], kw["training"], _grads_of(kw))))


def _ln_fwd(c, groups):
    if groups:
        g = c.dim(3, low=1) % 3 + 1
        x = c.normal(c.dim(0), g * c.dim(1), c.dim(2))
        p = x.shape[1]
        rows = x.shape[0] * g
    else:
        x = c.normal(c.dim(0), c.dim(1))
        p, rows = x.shape[1], x.shape[0]
    kw = dict(input=x, weight=c.uniform(p, low=0.5, high=2.0) if c.flag() else None,
              bias=c.normal(p) if c.flag() else None, out=c.empty(*x.shape), mean=c.empty(rows, dtype=np.float64),
              rstd=c.empty(rows, dtype=np.float64), eps=1e-5)
    if groups:
        kw["num_groups"] = g
    return kw


def _ln_bwd(c, groups):
    kw = _ln_fwd(c, groups)
    x = kw["input"]
    if groups:
        _, mean, rstd = R.group_norm_forward(x, kw["num_groups"], None, None, 1e-5)
    else:
        _, mean, rstd = R.layer_norm_forward(x, 1, None, None, 1e-5)
    p = x.shape[1]
    out = dict(grad_out=c.normal(*x.shape), input=x, mean=mean, rstd=rstd, weight=kw["weight"],
               grad_in=c.empty(*x.shape) if c.flag(0.8) else None, grad_weight=c.empty(p) if c.flag(0.8) else None,
               grad_bias=c.empty(p) if c.flag(0.8) else None)
    if groups:
        out["num_groups"] = kw["num_groups"]
    return out


def _ln_fwd_expect(kw):
    y, mean, rstd = R.layer_norm_forward(kw["input"], 1, kw["weight"], kw["bias"], kw["eps"])
    return {"out": y, "mean": mean, "rstd": rstd}


def _gn_fwd_expect(kw):
    y, mean, rstd = R.group_norm_forward(kw["input"], kw["num_groups"], kw["weight"], kw["bias"], kw["eps"])
    return {"out": y, "mean": mean, "rstd": rstd}


entry("layer_norm_forward", make=lambda c: _ln_fwd(c, False), outputs=("out", "mean", "rstd"), expect=_ln_fwd_expect,
      rtol=10.0)
entry("layer_norm_backward", make=lambda c: _ln_bwd(c, False), outputs=("grad_in", "grad_weight", "grad_bias"),
      rtol=10.0, expect=lambda kw: _named(R.layer_norm_backward(kw["grad_out"], kw["input"], kw["mean"], kw["rstd"], 1,
                                                               kw["weight"], _grads_of(kw))))
entry("group_norm_forward", make=lambda c: _ln_fwd(c, True), outputs=("out", "mean", "rstd"), expect=_gn_fwd_expect,
      rtol=10.0)
entry("group_norm_backward", make=lambda c: _ln_bwd(c, True), outputs=("grad_in", "grad_weight", "grad_bias"),
      rtol=10.0, expect=lambda kw: _named(R.group_norm_backward(kw["grad_out"], kw["input"], kw["mean"], kw["rstd"],
                                                               kw["num_groups"], kw["weight"], _grads_of(kw))))


def _lrn(c, backward):
    x = c.normal(c.dim(0), c.dim(1), c.dim(2))
    kw = dict(input=x, size=c.pick([1, 2, 3, 5]), alpha=1e-2, beta=0.75)
    if not backward:
        return dict(kw, out=c.empty(*x.shape), div=c.empty(*x.shape), k=1.0)
    _, div = R.local_response_norm_forward(x, kw["size"], kw["alpha"], kw["beta"], 1.0)
    return dict(kw, grad_out=c.normal(*x.shape), div=div.astype(x.dtype), grad_in=c.empty(*x.shape))


def _lrn_fwd_expect(kw):
    y, div = R.local_response_norm_forward(kw["input"], kw["size"], kw["alpha"], kw["beta"], kw["k"])
    return {"out": y, "div": div}


entry("local_response_norm_forward", make=lambda c: _lrn(c, False), outputs=("out", "div"), expect=_lrn_fwd_expect,
      rtol=10.0)
entry("local_response_norm_backward", make=lambda c: _lrn(c, True), outputs=("grad_in",), rtol=10.0,
      expect=lambda kw: {"grad_in": R.local_response_norm_backward(kw["grad_out"], kw["input"], kw["div"], kw["size"],
                                                                   kw["alpha"], kw["beta"])})

# --- convolution and pooling --------------------------------------------------------------------------


def _conv_options(c):
    stride, dilation = (c.pick([1, 2]), c.pick([1, 2])), (c.pick([1, 2]), 1)
    padding = tuple(c.pick([0, 1, 2]) for _ in range(4))
    return stride, padding, dilation


def _conv(c):
    groups = c.pick([1, 1, 2])
    n, cin, cout = c.dim(0), groups * c.dim(1, low=1), groups * c.dim(2, low=1)
    stride, padding, dilation = _conv_options(c)
    kh, kw_ = c.pick([1, 2, 3]), c.pick([1, 3])
    h = max(c.dim(3), dilation[0] * (kh - 1) + 1)
    w = max(c.dim(0), dilation[1] * (kw_ - 1) + 1)
    x, weight = c.normal(n, cin, h, w), c.normal(cout, cin // groups, kh, kw_)
    oh, ow = RC.conv2d_output_size(h, w, kh, kw_, stride, padding, dilation)
    return x, weight, (stride, padding, dilation, groups), (n, cout, oh, ow)


def _conv_fwd(c):
    x, weight, (s, p, d, g), yshape = _conv(c)
    return dict(input=x, weight=weight, bias=c.normal(weight.shape[0]) if c.flag() else None, out=c.empty(*yshape),
                stride=s, padding=p, dilation=d, groups=g)


def _conv_bwd(c):
    x, weight, (s, p, d, g), yshape = _conv(c)
    return dict(grad_out=c.normal(*yshape), input=x, weight=weight, grad_in=c.empty(*x.shape) if c.flag(0.8) else None,
                grad_weight=c.empty(*weight.shape) if c.flag(0.8) else None,
                grad_bias=c.empty(weight.shape[0]) if c.flag(0.8) else None, stride=s, padding=p, dilation=d, groups=g)


def _conv_options_of(kw):
    return kw["stride"], kw["padding"], kw["dilation"], kw["groups"]


entry("conv2d_forward", make=_conv_fwd, outputs=("out",), rtol=10.0,
      expect=lambda kw: {"out": R.conv2d_forward(kw["input"], kw["weight"], kw["bias"], *_conv_options_of(kw))})
entry("conv2d_backward", make=_conv_bwd, outputs=("grad_in", "grad_weight", "grad_bias"), rtol=10.0,
      expect=lambda kw: _named(R.conv2d_backward(kw["grad_out"], kw["input"], kw["weight"], *_conv_options_of(kw),
                                                 grads=_grads_of(kw))))
entry("conv2d_algorithms", make=lambda c: {k: v for k, v in _conv_fwd(c).items() if k not in ("bias", "out")},
      expect=None)  # (which algorithm: tests/test_kernels_conv_winograd.py)
entry("conv2d_output_size", make=lambda c: dict(zip(("h", "w", "kh", "kw"), (c.dim(0) + 3, c.dim(1) + 3, 2, 3)),
                                                stride=(1, 2), padding=(1, 0, 0, 1), dilation=(1, 1)),
      expect=lambda kw: {"return": list(RC.conv2d_output_size(kw["h"], kw["w"], kw["kh"], kw["kw"], kw["stride"],
                                                             kw["padding"], kw["dilation"]))})


def _pool_options(c, dilation=True):
    k = (c.pick([1, 2, 3]), c.pick([1, 2, 3]))
    return dict(kernel_size=k, stride=(c.pick([1, 2]), c.pick([1, 2, 3])),
                padding=(c.pick(range(k[0] // 2 + 1)), c.pick(range(k[1] // 2 + 1))),
                **({"dilation": (c.pick([1, 2]), 1)} if dilation else {}), ceil_mode=c.flag())


def _pool_plane(c, opts):
    k, d = opts["kernel_size"], opts.get("dilation", (1, 1))
    h = max(c.dim(0), d[0] * (k[0] - 1) + 1)
    w = max(c.dim(1), d[1] * (k[1] - 1) + 1)
    return c.normal(c.dim(2), h, w)


def _pool_out_shape(x, opts):
    oh, ow, _ = RP._geometry(x[None].shape, opts["kernel_size"], opts["stride"], opts["padding"],
                                 opts.get("dilation", (1, 1)), opts["ceil_mode"])
    return (x.shape[0], oh, ow)


def _maxpool_fwd(c):
    opts = _pool_options(c)
    x = _pool_plane(c, opts)
    shape = _pool_out_shape(x, opts)
    return dict(input=x, out=c.empty(*shape), indices=np.full(shape, -7, np.int64), **opts)


def _maxpool_ref(kw):
    return R.max_pool2d_forward(kw["input"][None], kw["kernel_size"], kw["stride"], kw["padding"], kw["dilation"],
                                kw["ceil_mode"])


def _maxpool_bwd(c):
    kw = _maxpool_fwd(c)
    _, idx = _maxpool_ref(kw)
    return dict(grad_out=c.normal(*kw["out"].shape), indices=idx[0], grad_in=c.empty(*kw["input"].shape))


entry("max_pool2d_forward", make=_maxpool_fwd, outputs=("out", "indices"),
      expect=lambda kw: dict(zip(("out", "indices"), (a[0] for a in _maxpool_ref(kw)))))
entry("max_pool2d_backward", make=_maxpool_bwd, outputs=("grad_in",),
      expect=lambda kw: {"grad_in": R.max_pool2d_backward(kw["grad_out"][None], kw["indices"][None],
                                                          (1, *kw["grad_in"].shape))[0]})


def _maxpool_relu_bwd(c):
    kw = _maxpool_fwd(c)
    kw["input"] = np.maximum(kw["input"], 0)  # the pool of a ReLU's output
    out, idx = _maxpool_ref(kw)
    return dict(grad_out=c.normal(*kw["out"].shape), indices=idx[0], out=out[0], grad_in=c.empty(*kw["input"].shape))


entry("max_pool2d_relu_backward", make=_maxpool_relu_bwd, outputs=("grad_in",),
      expect=lambda kw: {"grad_in": R.max_pool2d_relu_backward(kw["grad_out"][None], kw["indices"][None],
                                                               kw["out"][None], (1, *kw["grad_in"].shape))[0]})


def _bn_relu_pool(c):
    opts = _pool_options(c)
    h, w = _pool_plane(c, opts).shape[1:]
    kw = _bn_relu(c)
    n, ch = kw["input"].shape[:2]
    n = n if n * h * w > 1 else 2
    oh, ow, _ = RP._geometry((n, ch, h, w), opts["kernel_size"], opts["stride"], opts["padding"], opts["dilation"],
                             opts["ceil_mode"])
    del kw["out"]
    return dict(kw, input=c.normal(n, ch, h * w, scale=2.0), out=c.empty(n * ch, oh, ow),
                indices=np.full((n * ch, oh, ow), -7, np.int64), input_size=(h, w), **opts)


def _bn_relu_pool_expect(kw):
    rm = None if kw["running_mean"] is None else kw["running_mean"].copy()
    rv = None if kw["running_var"] is None else kw["running_var"].copy()
    out, idx, mean, invstd = R.batch_norm_relu_max_pool2d_forward(
        kw["input"], kw["weight"], kw["bias"], rm, rv, kw["momentum"], kw["eps"], kw["input_size"],
        kw["kernel_size"], kw["stride"], kw["padding"], kw["dilation"], kw["ceil_mode"])
    res = {"out": out, "indices": idx, "save_mean": mean, "save_invstd": invstd}
    if rm is not None:
        res.update(running_mean=rm, running_var=rv)
    return res


entry("batch_norm_relu_max_pool2d_forward", make=_bn_relu_pool, expect=_bn_relu_pool_expect, rtol=10.0,
      outputs=("out", "indices", "save_mean", "save_invstd", "running_mean", "running_var"))


def _avg_options(c):
    opts = _pool_options(c, dilation=False)
    return dict(opts, count_include_pad=c.flag(), divisor_override=c.pick([0, 0, 3]))


def _avgpool_fwd(c):
    opts = _avg_options(c)
    x = _pool_plane(c, opts)
    return dict(input=x, out=c.empty(*_pool_out_shape(x, opts)), **opts)


def _avg_args(kw):
    return (kw["kernel_size"], kw["stride"], kw["padding"], kw["ceil_mode"], kw["count_include_pad"],
            kw["divisor_override"] or None)


def _avgpool_bwd(c):
    opts = _avg_options(c)
    x = _pool_plane(c, opts)
    return dict(grad_out=c.normal(*_pool_out_shape(x, opts)), grad_in=c.empty(*x.shape), **opts)


entry("avg_pool2d_forward", make=_avgpool_fwd, outputs=("out",),
      expect=lambda kw: {"out": R.avg_pool2d_forward(kw["input"][None], *_avg_args(kw))[0]})
entry("avg_pool2d_backward", make=_avgpool_bwd, outputs=("grad_in",),
      expect=lambda kw: {"grad_in": R.avg_pool2d_backward(kw["grad_out"][None], (1, *kw["grad_in"].shape),
                                                          *_avg_args(kw))[0]})


def _adaptive(c, backward):
    x = c.normal(c.dim(0), c.dim(1, low=1), c.dim(2, low=1))
    out = (x.shape[0], c.pick([1, 2, 3, 5]), c.pick([1, 2, 4]))
    if backward:
        return dict(grad_out=c.normal(*out), grad_in=c.empty(*x.shape))
    return dict(input=x, out=c.empty(*out))


entry("adaptive_avg_pool2d_forward", make=lambda c: _adaptive(c, False), outputs=("out",),
      expect=lambda kw: {"out": R.adaptive_avg_pool2d_forward(kw["input"][None], kw["out"].shape[1:])[0]})
entry("adaptive_avg_pool2d_backward", make=lambda c: _adaptive(c, True), outputs=("grad_in",),
      expect=lambda kw: {"grad_in": R.adaptive_avg_pool2d_backward(kw["grad_out"][None], (1, *kw["grad_in"].shape))[0]})
entry("pool2d_output_size", make=lambda c: dict(size=c.dim(0) + 4, kernel_size=3, padding=1, stride=2, dilation=1,
                                                ceil_mode=c.flag()),
      expect=lambda kw: {"return": RP.pool2d_output_size(kw["size"], kw["kernel_size"], kw["padding"], kw["stride"],
                                                        kw["dilation"], kw["ceil_mode"])})
def _pair_list(v):
    return [int(v), int(v)] if isinstance(v, int) else [int(x) for x in v]


entry("pool2d_options", make=lambda c: dict(kernel_size=3, stride=(2, 1), padding=1, dilation=(1, 2)),
      expect=lambda kw: {"return": tuple(_pair_list(kw[k]) for k in ("kernel_size", "stride", "padding", "dilation"))})

# --- image augmentation -----------------------------------------------------------------------------


def _images(c):
    return c.normal(c.dim(0), c.dim(1), c.dim(2) + 1, c.dim(3) + 1)


def _flip(c):
    x = _images(c)
    return dict(images=x, out=c.empty(*x.shape), flip=(c.rng.random(x.shape[0]) < 0.5).astype(np.uint8),
                horizontal=c.flag())


def _warp(c):
    x = _images(c)
    maps = np.tile(np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]), (x.shape[0], 1)) + c.rng.normal(0, 0.3, (x.shape[0], 6))
    return dict(images=x, out=c.empty(*x.shape), maps=maps, interpolation=c.pick(["bilinear", "nearest"]), fill=0.5)


def _erase(c):
    x = _images(c)
    h, w = x.shape[2:]
    y0, x0 = c.rng.integers(-1, h + 1, x.shape[0]), c.rng.integers(-1, w + 1, x.shape[0])
    boxes = np.stack([y0, x0, y0 + c.rng.integers(0, 4, x.shape[0]), x0 + c.rng.integers(0, 4, x.shape[0])], 1)
    return dict(images=x, boxes=boxes.astype(np.int64), value=-1.5)


def _erase_expect(kw):
    x = kw["images"].copy()
    RA.erase_boxes(x, kw["boxes"], kw["value"])
    return {"images": x}


def _normalize(c):
    x = _images(c)
    return dict(images=x, out=c.empty(*x.shape), mean=c.rng.normal(0, 1, x.shape[1]),
                std=c.rng.uniform(0.5, 2, x.shape[1]))


entry("flip_images", make=_flip, outputs=("out",),
      expect=lambda kw: {"out": RA.flip_images(kw["images"], kw["flip"], kw["horizontal"])})
entry("affine_warp", make=_warp, outputs=("out",), rtol=10.0,
      expect=lambda kw: {"out": RA.affine_warp(kw["images"], kw["maps"], kw["interpolation"], kw["fill"])})
entry("erase_boxes", make=_erase, outputs=("images",), expect=_erase_expect)
entry("normalize_channels", make=_normalize, outputs=("out",), in_place=(("out", "images"),),
      expect=lambda kw: {"out": RA.normalize_channels(kw["images"], kw["mean"], kw["std"])})

# --- recurrent layers -------------------------------------------------------------------------------

_GATES = {"RNN_TANH": (1, 0), "RNN_RELU": (1, 0), "LSTM": (4, 2), "GRU": (3, 1)}


def _rnn_layer(c):
    mode = c.pick(list(_GATES))
    t, n, i, h = c.dim(0), c.dim(1), c.dim(2), c.dim(3, low=1)
    g = _GATES[mode][0]
    bias = c.flag(0.7)
    return dict(mode=mode, input=c.normal(t, n, i), h0=c.normal(n, h), c0=c.normal(n, h) if mode == "LSTM" else None,
                w_ih=c.normal(g * h, i, scale=0.5), w_hh=c.normal(g * h, h, scale=0.5),
                b_ih=c.normal(g * h) if bias else None, b_hh=c.normal(g * h) if bias else None, reverse=c.flag())


_LAYER = ("mode", "input", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh")


def _rnn_fwd(c):
    kw = _rnn_layer(c)
    t, n, _ = kw["input"].shape
    h = kw["w_hh"].shape[1]
    g, a = _GATES[kw["mode"]]
    lstm = kw["mode"] == "LSTM"
    return dict(kw, out=c.empty(t, n, h), h_n=c.empty(n, h) if c.flag(0.8) else None,
                c_n=c.empty(n, h) if lstm and c.flag(0.8) else None, gates=c.empty(t, n, g * h) if a else None,
                aux=c.empty(t, n, a * h) if a else None)


def _rnn_fwd_expect(kw):
    y, h_n, c_n, gates, aux = R.rnn_forward(*[kw[k] for k in _LAYER], reverse=kw["reverse"])
    out = {"out": y}
    for name, value in (("h_n", h_n), ("c_n", c_n), ("gates", gates), ("aux", aux)):
        if kw[name] is not None:
            out[name] = value
    return out


_RNN_GRADS = ("grad_input", "grad_h0", "grad_c0", "grad_w_ih", "grad_w_hh", "grad_b_ih", "grad_b_hh")


def _rnn_bwd(c):
    kw = _rnn_layer(c)
    y, _, _, gates, aux = R.rnn_forward(*[kw[k] for k in _LAYER], reverse=kw["reverse"])
    t, n, i = kw["input"].shape
    h, gh = kw["w_hh"].shape[1], kw["w_ih"].shape[0]
    lstm, gru = kw["mode"] == "LSTM", kw["mode"] == "GRU"
    shapes = ((t, n, i), (n, h), (n, h), (gh, i), (gh, h), (gh,), (gh,))
    present = (True, True, lstm, True, True, kw["b_ih"] is not None, kw["b_hh"] is not None)
    grads = {k: (c.empty(*s) if ok and c.flag(0.8) else None) for k, s, ok in zip(_RNN_GRADS, shapes, present)}
    work = c.empty(t * n * (2 * gh if gru else gh + i + h))
    return dict(kw, out=y, gates=gates, aux=aux, grad_out=c.normal(t, n, h),
                grad_h_n=c.normal(n, h) if c.flag() else None, grad_c_n=c.normal(n, h) if lstm and c.flag() else None,
                **grads, work=work)


def _rnn_bwd_expect(kw):
    got = R.rnn_backward(*[kw[k] for k in _LAYER], kw["out"], kw["gates"], kw["aux"], kw["grad_out"], kw["grad_h_n"],
                         kw["grad_c_n"], reverse=kw["reverse"])
    return {k: v for k, v in zip(_RNN_GRADS, got) if kw[k] is not None}


entry("rnn_forward", make=_rnn_fwd, outputs=("out", "h_n", "c_n", "gates", "aux"), expect=_rnn_fwd_expect, rtol=10.0)
entry("rnn_backward", make=_rnn_bwd, outputs=(*_RNN_GRADS, "work"), expect=_rnn_bwd_expect, rtol=100.0)

# --- transposed convolution and adaptive max pooling ----------------------------------------------------


def _convt(c):
    groups = c.pick([1, 1, 2])
    n, ci, co = c.dim(0), groups * c.dim(1, low=1), groups * c.dim(2, low=1)
    stride, dilation = (c.pick([1, 2]), c.pick([1, 3])), (c.pick([1, 2]), 1)
    output_padding = tuple(c.pick(range(max(s, d))) for s, d in zip(stride, dilation))
    kh, kw_ = c.pick([1, 2, 3]), c.pick([1, 3])
    h, w = c.dim(3, low=1), c.dim(0, low=1)  # (a transposed convolution refuses empty planes, as PyTorch)
    padding = (c.pick([0, 1]), c.pick([0, 1]))
    if min(RC.conv_transpose2d_output_size(h, w, kh, kw_, stride, padding, output_padding, dilation)) < 1:
        padding = (0, 0)
    oh, ow = RC.conv_transpose2d_output_size(h, w, kh, kw_, stride, padding, output_padding, dilation)
    x, weight = c.normal(n, ci, h, w), c.normal(ci, co // groups, kh, kw_)
    return x, weight, dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation,
                           groups=groups), (n, co, oh, ow)


def _convt_fwd(c):
    x, weight, opts, yshape = _convt(c)
    return dict(input=x, weight=weight, bias=c.normal(yshape[1]) if c.flag() else None, out=c.empty(*yshape), **opts)


def _convt_bwd(c):
    x, weight, opts, yshape = _convt(c)
    return dict(grad_out=c.normal(*yshape), input=x, weight=weight,
                grad_in=c.empty(*x.shape) if c.flag(0.8) else None,
                grad_weight=c.empty(*weight.shape) if c.flag(0.8) else None,
                grad_bias=c.empty(yshape[1]) if c.flag(0.8) else None, **opts)


def _convt_options_of(kw):
    return kw["stride"], kw["padding"], kw["output_padding"], kw["dilation"], kw["groups"]


entry("conv_transpose2d_forward", make=_convt_fwd, outputs=("out",), rtol=10.0,
      expect=lambda kw: {"out": R.conv_transpose2d_forward(kw["input"], kw["weight"], kw["bias"],
                                                           *_convt_options_of(kw))})
entry("conv_transpose2d_backward", make=_convt_bwd, outputs=("grad_in", "grad_weight", "grad_bias"), rtol=10.0,
      expect=lambda kw: _named(R.conv_transpose2d_backward(kw["grad_out"], kw["input"], kw["weight"],
                                                           *_convt_options_of(kw), grads=_grads_of(kw))))
entry("conv_transpose2d_output_size",
      make=lambda c: dict(h=c.dim(0) + 1, w=c.dim(1) + 1, kh=2, kw=3, stride=(2, 1), padding=(1, 0),
                          output_padding=(1, 0), dilation=(1, 2)),
      expect=lambda kw: {"return": list(RC.conv_transpose2d_output_size(
          kw["h"], kw["w"], kw["kh"], kw["kw"], kw["stride"], kw["padding"], kw["output_padding"], kw["dilation"]))})


def _adaptive_max(c):
    x = c.normal(c.dim(0), c.dim(1, low=1), c.dim(2, low=1))
    out = (x.shape[0], c.pick([1, 2, 3, 5]), c.pick([1, 2, 4]))
    return dict(input=x, out=c.empty(*out), indices=np.full(out, -7, np.int64))


entry("adaptive_max_pool2d_forward", make=_adaptive_max, outputs=("out", "indices"),
      expect=lambda kw: dict(zip(("out", "indices"), (a[0] for a in R.adaptive_max_pool2d_forward(
          kw["input"][None], kw["out"].shape[1:])))))

# --- embeddings -------------------------------------------------------------------------------------


def _lookup(c):
    """(num, dim, n, indices): indices of either index dtype into num >= 1 rows, repeats likely."""
    num, dim, n = c.dim(0, low=1), c.dim(1), c.dim(2) + c.dim(3)
    return num, dim, n, c.rng.integers(0, num, n).astype(c.pick([np.int64, np.int32]))


def _emb_fwd(c):
    num, dim, n, idx = _lookup(c)
    return dict(weight=c.normal(num, dim), indices=idx, out=c.empty(n, dim))


def _emb_bwd(c):
    num, dim, n, idx = _lookup(c)
    return dict(grad_out=c.normal(n, dim), indices=idx, grad_weight=c.empty(num, dim), padding_idx=c.pick([-1, 0]),
                scale_grad_by_freq=c.flag())


def _emb_renorm(c):
    num, dim, _, idx = _lookup(c)
    return dict(weight=c.normal(num, dim), indices=idx, max_norm=c.pick([0.5, 1.0, 2.0]),
                norm_type=c.pick([2.0, 1.0, math.inf]))


def _renorm_expect(kw):
    w = kw["weight"].copy()
    R.embedding_renorm(w, kw["indices"], kw["max_norm"], kw["norm_type"])
    return {"weight": w}


entry("embedding_forward", make=_emb_fwd, outputs=("out",),
      expect=lambda kw: {"out": R.embedding_forward(kw["weight"], kw["indices"])})
entry("embedding_backward", make=_emb_bwd, outputs=("grad_weight",), rtol=10.0,
      expect=lambda kw: {"grad_weight": R.embedding_backward(kw["grad_out"], kw["indices"], kw["grad_weight"].shape[0],
                                                             kw["padding_idx"], kw["scale_grad_by_freq"])})
entry("embedding_renorm", make=_emb_renorm, outputs=("weight",), expect=_renorm_expect, rtol=10.0)

_BAG_MODES = ("sum", "mean", "max")


def _bags(c):
    """weight, indices, offsets (non-decreasing starts within the indices), mode, per-sample weights, padding."""
    num, dim, n, idx = _lookup(c)
    starts = np.sort(c.rng.integers(0, n + 1, c.dim(1) + 1)).astype(np.int64)
    mode = c.pick([0, 1, 2])
    psw = c.uniform(n, low=0.5, high=2.0) if mode == 0 and c.flag() else None
    return c.normal(num, dim), idx, starts, mode, psw, c.pick([-1, 0])


def _bag_fwd(c):
    weight, idx, starts, mode, psw, pad = _bags(c)
    bags, dim = len(starts) - 1, weight.shape[1]
    return dict(weight=weight, indices=idx, offsets=starts, per_sample_weights=psw, out=c.empty(bags, dim),
                bag_size=np.full(bags, -7, np.int64),
                max_indices=np.full((bags, dim), -7, np.int64) if mode == 2 else None, mode=mode, padding_idx=pad)


def _bag_fwd_expect(kw):
    out, size, at = R.embedding_bag_forward(kw["weight"], kw["indices"], kw["offsets"], kw["per_sample_weights"],
                                            _BAG_MODES[kw["mode"]], kw["padding_idx"])
    return {"out": out, "bag_size": size, **({"max_indices": at} if at is not None else {})}


def _bag_bwd(c):
    weight, idx, starts, mode, psw, pad = _bags(c)
    _, size, at = R.embedding_bag_forward(weight, idx, starts, psw, _BAG_MODES[mode], pad)
    return dict(grad_out=c.normal(len(starts) - 1, weight.shape[1]), indices=idx, offsets=starts,
                per_sample_weights=psw, bag_size=size, max_indices=at, grad_weight=c.empty(*weight.shape), mode=mode,
                padding_idx=pad, scale_grad_by_freq=c.flag())


def _bag_psw_bwd(c):
    weight, idx, starts, _, _, pad = _bags(c)
    return dict(grad_out=c.normal(len(starts) - 1, weight.shape[1]), weight=weight, indices=idx, offsets=starts,
                grad_per_sample_weights=c.empty(idx.size), padding_idx=pad)


entry("embedding_bag_forward", make=_bag_fwd, outputs=("out", "bag_size", "max_indices"), expect=_bag_fwd_expect,
      rtol=10.0)
entry("embedding_bag_backward", make=_bag_bwd, outputs=("grad_weight",), rtol=10.0,
      expect=lambda kw: {"grad_weight": R.embedding_bag_backward(
          kw["grad_out"], kw["indices"], kw["offsets"], kw["per_sample_weights"], kw["bag_size"], kw["max_indices"],
          kw["grad_weight"].shape[0], _BAG_MODES[kw["mode"]], kw["padding_idx"], kw["scale_grad_by_freq"])})
entry("embedding_bag_per_sample_weights_backward", make=_bag_psw_bwd, outputs=("grad_per_sample_weights",),
      rtol=10.0, expect=lambda kw: {"grad_per_sample_weights": R.embedding_bag_per_sample_weights_backward(
          kw["grad_out"], kw["weight"], kw["indices"], kw["offsets"], kw["padding_idx"])})

# --- upsampling -------------------------------------------------------------------------------------


def _upsample(c, backward):
    mode = c.pick(["nearest", "nearest-exact", "linear"])
    p, h, w = c.dim(0), c.dim(1, low=1), c.dim(2, low=1)
    oh, ow = c.pick([1, h, 2 * h, h + 3]), c.pick([1, w, 2 * w, 3])
    opts = dict(mode=mode, scale_h=oh / h if c.flag() else 0.0, scale_w=ow / w if c.flag() else 0.0,
                align_corners=mode == "linear" and c.flag(), legacy_nearest=mode != "linear" and c.flag())
    if backward:
        return dict(grad_out=c.normal(p, oh, ow), grad_in=c.empty(p, h, w), **opts)
    return dict(input=c.normal(p, h, w), out=c.empty(p, oh, ow), **opts)


def _upsample_args(kw):
    return kw["mode"], (kw["scale_h"], kw["scale_w"]), kw["align_corners"], kw["legacy_nearest"]


entry("upsample_forward", make=lambda c: _upsample(c, False), outputs=("out",), rtol=10.0,
      expect=lambda kw: {"out": R.upsample_forward(kw["input"][None], kw["out"].shape[1:], *_upsample_args(kw))[0]})
entry("upsample_backward", make=lambda c: _upsample(c, True), outputs=("grad_in",), rtol=10.0,
      expect=lambda kw: {"grad_in": R.upsample_backward(kw["grad_out"][None], (1, *kw["grad_in"].shape),
                                                        *_upsample_args(kw))[0]})

# --- scaled dot-product attention ---------------------------------------------------------------------

_KEEP_ALL = (0, 0, 1 << 32, 1.0)  # (seed, offset, threshold, keep_scale): no dropout


def _attention(c):
    b, hk = c.dim(0), c.dim(1, low=1)
    hq = hk * c.pick([1, 2])
    lq, lk, e, ev = c.dim(2), c.dim(3), c.dim(0, low=1), c.dim(1, low=1)
    q, k, v = c.normal(b, hq, lq, e), c.normal(b, hk, lk, e), c.normal(b, hk, lk, ev)
    kind = c.pick([None, "bool", "float", "broadcast"])
    shape = (b, hq, lq, lk)
    mask = None
    if kind == "bool":
        mask = c.rng.random(shape) < 0.8
    elif kind == "float":
        mask = c.normal(*shape)
    elif kind == "broadcast":  # read through zero strides, never copied
        mask = np.broadcast_to(c.normal(1, 1, lq, lk), shape)
    dropout = _KEEP_ALL if c.flag(0.7) else (int(c.rng.integers(0, 2**62)), 0, int(0.8 * 2**32), 1 / 0.8)
    return dict(query=q, key=k, value=v, attn_mask=mask), dict(
        scale=1 / math.sqrt(e), causal=c.flag(0.3), seed=dropout[0], offset=dropout[1], threshold=dropout[2],
        keep_scale=dropout[3])


def _attention_options(kw):
    return kw["scale"], kw["causal"], (kw["seed"], kw["offset"], kw["threshold"], kw["keep_scale"])


def _attn_weights(kw, lse):
    """The weights exp(scale q k^T + mask - lse) the forward keeps (0 where masked or on a masked row)."""
    q, k, mask = (kw[n].astype(np.float64) if kw[n] is not None and kw[n].dtype.kind == "f" else kw[n]
                  for n in ("query", "key", "attn_mask"))
    x = kw["scale"] * np.einsum("bhie,bhje->bhij", q, np.repeat(k, q.shape[1] // max(k.shape[1], 1), axis=1))
    if mask is not None:
        x = np.where(mask, x, -np.inf) if mask.dtype == np.bool_ else x + mask
    if kw["causal"]:
        x = np.where(np.tri(x.shape[2], x.shape[3], dtype=bool), x, -np.inf)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(lse)[..., None], np.exp(x - lse[..., None]), 0.0)


def _attn_fwd(c):
    arrays, opts = _attention(c)
    b, hq, lq, _ = arrays["query"].shape
    weights = c.empty(b, hq, lq, arrays["key"].shape[2]) if c.flag() else None  # keys of one block: kept
    return dict(arrays, out=c.empty(b, hq, lq, arrays["value"].shape[3]), lse=c.empty(b, hq, lq), weights=weights,
                **opts)


def _attn_bwd(c):
    arrays, opts = _attention(c)
    q, k, v, mask = arrays["query"], arrays["key"], arrays["value"], arrays["attn_mask"]
    out, lse = R.attention_forward(q, k, v, mask, *_attention_options(opts))
    weights = _attn_weights(dict(arrays, **opts), lse).astype(q.dtype) if c.flag() else None
    grad_mask = c.empty(*q.shape[:3], k.shape[2]) if mask is not None and mask.dtype != np.bool_ and c.flag() else None
    return dict(query=q, key=k, value=v, out=out, lse=lse, weights=weights, grad_out=c.normal(*out.shape),
                attn_mask=mask,
                grad_query=c.empty(*q.shape), grad_key=c.empty(*k.shape), grad_value=c.empty(*v.shape),
                grad_mask=grad_mask, **opts)


def _attn_fwd_expect(kw):
    out, lse = R.attention_forward(kw["query"], kw["key"], kw["value"], kw["attn_mask"], *_attention_options(kw))
    return {"out": out, "lse": lse, **({"weights": _attn_weights(kw, lse)} if kw["weights"] is not None else {})}


def _attn_bwd_expect(kw):
    if kw["weights"] is not None:
        kept = _attn_weights(kw, kw["lse"])
        if kept.shape != kw["weights"].shape or not np.allclose(kw["weights"], kept, rtol=1e-3, atol=1e-6):
            # a mutated option (scale, causal, mask) no longer matches the kept weights, which the kernel
            # trusts (they come from the forward with the same options): nothing to compare the result with
            return {}
    grads = R.attention_backward(kw["query"], kw["key"], kw["value"], kw["out"], kw["lse"], kw["grad_out"],
                                 kw["attn_mask"], *_attention_options(kw), mask_grad=kw["grad_mask"] is not None)
    return _named(grads, ("grad_query", "grad_key", "grad_value", "grad_mask"))


entry("attention_forward", make=_attn_fwd, outputs=("out", "lse", "weights"), expect=_attn_fwd_expect, rtol=10.0,
      strided=("attn_mask",))
entry("attention_keeps_weights", make=lambda c: dict(key_length=c.pick([0, 128, 129, 256, 257]), causal=c.flag()),
      expect=lambda kw: {"return": kw["key_length"] <= (128 if kw["causal"] else 256)})
entry("attention_backward", make=_attn_bwd, outputs=("grad_query", "grad_key", "grad_value", "grad_mask"),
      expect=_attn_bwd_expect, rtol=100.0, strided=("attn_mask",))

# --- tensor operations: reductions along a dim, gather/scatter/index, sort/topk ---------------------------
# x is (outer, n, inner), the reduced or indexed dim the middle one (eigengrad._kernels reshapes to this).

def _reduce(c, var=False):
    outer, n, inner = c.dim(0), c.dim(1), c.dim(2)
    kw = dict(x=c.normal(outer, n, inner), out=c.empty(outer, inner))
    if var:
        kw.update(mean_out=c.empty(outer, inner) if c.flag() else None, correction=c.pick([0.0, 1.0]),
                  take_sqrt=c.flag())
    return kw


def _var_expect(kw):
    out, mean = R.reduce_var(kw["x"], (1,), kw["correction"], kw["take_sqrt"])
    return {"out": out, **({"mean_out": mean} if kw["mean_out"] is not None else {})}


entry("reduce_sum", make=lambda c: {**_reduce(c), "scale": c.pick([1.0, 0.5])}, outputs=("out",),
      expect=lambda kw: {"out": R.reduce_sum(kw["x"], (1,), kw["scale"])})
entry("reduce_var", make=lambda c: _reduce(c, var=True), outputs=("out", "mean_out"), expect=_var_expect)
def _reduce_norm(c):
    kw = _reduce(c)
    # the max norm of an empty axis is undefined (the binding refuses it, as torch.linalg.vector_norm does):
    # a valid call with an empty reduced axis takes a finite p
    p = c.pick([2.0, 1.0, 3.0, math.inf])
    return {**kw, "p": 2.0 if math.isinf(p) and kw["x"].shape[1] == 0 else p}


entry("reduce_norm", make=_reduce_norm, outputs=("out",), expect=lambda kw: {"out": R.reduce_norm(kw["x"], (1,), kw["p"])})


def _strided_copy(c):
    x = c.normal(c.dim(0), c.dim(1), c.dim(2))
    src = np.transpose(x, c.pick([(1, 0, 2), (2, 0, 1), (0, 2, 1)]))[:, ::c.pick([1, 2])]
    return dict(src=src, out=c.empty(*src.shape))


entry("strided_copy", make=_strided_copy, outputs=("out",), strided=("src",), any_dtype=("src",),
      expect=lambda kw: {"out": R.strided_copy(kw["src"])})


entry("fill", make=lambda c: dict(out=c.empty(c.dim(0), c.dim(1)), value=c.pick([0.0, 1.0, -2.5, 1e-40, float("inf")])),
      outputs=("out",), expect=lambda kw: {"out": R.fill(kw["out"].shape, kw["out"].dtype, kw["value"])})
entry("increment", make=lambda c: dict(count=np.array(c.pick([0, 7, -3, 2**40]), dtype=np.int64)),
      outputs=("count",), expect=lambda kw: {"count": R.increment(kw["count"])})


entry("sum_rows", make=lambda c: dict(x=c.normal(c.dim(0), c.dim(1), c.dim(2)), out=c.empty(c.dim(1), c.dim(2))),
      outputs=("out",), expect=lambda kw: {"out": R.sum_rows(kw["x"])})


def _loss_rows(c, upstream=False, weighted=True):
    n, classes = c.dim(1), c.dim(3, low=1)
    target = c.rng.integers(0, classes, n).astype(np.int64)
    if n and c.flag():
        target[0] = -100
    kw = dict(target=target)
    if weighted:
        kw["weight"] = c.uniform(classes, low=0.5, high=2.0) if c.flag() else None
    kw["ignore_index"] = -100
    if upstream:
        kw["g"] = np.asarray(c.normal(1)[0] if c.flag() else 0.5, dtype=c.dtype)
    else:
        kw["rows"] = c.normal(n)
    if weighted:
        kw["mean"] = c.flag()
    kw["out"] = c.empty(n) if upstream else c.empty()
    return kw


entry("loss_reduce", make=_loss_rows, outputs=("out",), rtol=4.0,
      expect=lambda kw: {"out": R.loss_reduce(kw["rows"], kw["target"], kw["weight"], kw["ignore_index"], kw["mean"])})
entry("loss_upstream", make=lambda c: _loss_rows(c, upstream=True), outputs=("out",),
      expect=lambda kw: {"out": R.loss_upstream(kw["g"], kw["target"], kw["weight"], kw["ignore_index"], kw["mean"],
                                                kw["out"].dtype)})
entry("mean_upstream", make=lambda c: _loss_rows(c, upstream=True, weighted=False), outputs=("out",),
      expect=lambda kw: {"out": R.mean_upstream(kw["g"], kw["target"], kw["ignore_index"], kw["out"].dtype)})


def _gather(c):
    outer, n, inner, m = c.dim(0), c.dim(1, low=1), c.dim(2), c.dim(3)
    return dict(x=c.normal(outer, n, inner), index=c.rng.integers(0, n, (outer, m, inner)).astype(np.int64),
                out=c.empty(outer, m, inner))


def _index_select(c):
    outer, n, inner, m = c.dim(0), c.dim(1, low=1), c.dim(2), c.dim(3)
    return dict(x=c.normal(outer, n, inner), index=c.rng.integers(0, n, m).astype(np.int64),
                out=c.empty(outer, m, inner))


def _scatter(c):
    outer, n, inner, m = c.dim(0), c.dim(1, low=1), c.dim(2), c.dim(3)
    return dict(out=c.normal(outer, n, inner), index=c.rng.integers(0, n, (outer, m, inner)).astype(np.int64),
                src=c.normal(outer, m, inner), reduce=c.pick(["assign", "add", "multiply", "amax", "amin"]))


def _index_add(c):
    outer, n, inner, m = c.dim(0), c.dim(1, low=1), c.dim(2), c.dim(3)
    return dict(out=c.normal(outer, n, inner), index=c.rng.integers(0, n, m).astype(np.int64),
                src=c.normal(outer, m, inner), alpha=c.pick([1.0, -0.5]))


entry("gather", make=_gather, outputs=("out",), any_dtype=("x",), expect=lambda kw: {"out": R.gather(kw["x"], 1, kw["index"])})
entry("index_select", make=_index_select, outputs=("out",), any_dtype=("x",),
      expect=lambda kw: {"out": R.index_select(kw["x"], 1, kw["index"])})
entry("scatter", make=_scatter, outputs=("out",), any_dtype=("out",),
      expect=lambda kw: {"out": R.scatter_(kw["out"].copy(), 1, kw["index"], kw["src"], kw["reduce"])})
entry("index_add", make=_index_add, outputs=("out",), any_dtype=("out",),
      expect=lambda kw: {"out": R.index_add_(kw["out"].copy(), 1, kw["index"], kw["src"], kw["alpha"])})


def _sort(c, topk=False):
    outer, n, inner = c.dim(0), c.dim(1), c.dim(2)
    k = int(c.rng.integers(0, n + 1)) if topk else n
    kw = dict(x=c.normal(outer, n, inner), values=c.empty(outer, k, inner) if topk or c.flag() else None,
              indices=np.zeros((outer, k, inner), np.int64))
    kw.update({"k": k, "largest": c.flag()} if topk else {"descending": c.flag()})
    return kw


def _sort_expect(kw, topk=False):
    values, idx = (R.topk(kw["x"], 1, kw["k"], kw["largest"]) if topk else
                   R.sort(kw["x"], 1, kw["descending"]))
    return {"indices": idx, **({"values": values} if kw["values"] is not None else {})}


entry("sort", make=_sort, outputs=("values", "indices"), any_dtype=("x",), expect=_sort_expect)
entry("topk", make=lambda c: _sort(c, topk=True), outputs=("values", "indices"), any_dtype=("x",),
      expect=lambda kw: _sort_expect(kw, topk=True))

# --- anomaly detection ------------------------------------------------------------------------------

entry("all_finite", make=lambda c: dict(x=c.normal(c.dim(0), c.dim(1), c.dim(2))),
      expect=lambda kw: {"return": R.all_finite(kw["x"])})

# --- the error function -------------------------------------------------------------------------------


def _erf_entry(kind):
    def make(c):
        x = c.normal(c.dim(0), c.dim(1), scale=0.4 if kind == "erfinv" else 3.0)
        return dict(x=x, out=c.empty(*x.shape))

    entry(kind, make=make, outputs=("out",), in_place=(("out", "x"),),
          expect=lambda kw: {"out": R.erf_forward(kind, kw["x"])})


for _kind in ("erf", "erfc", "erfinv"):
    _erf_entry(_kind)

# --- threads (global state: the table test runs them in forked children) ------------------------------

entry("get_num_threads", make=lambda c: {}, expect=None)
entry("capturable_kernels", make=lambda c: {}, expect=None)
entry("PlanExecutor", make=lambda c: dict(n=c.dim(0)), expect=None)  # (its calls: test_compile_native.py)
entry("Guard", make=lambda c: {}, expect=None)  # (its probes: test_compile_guard.py)
entry("requested_num_threads", make=lambda c: {}, expect=None)
entry("set_num_threads", make=lambda c: dict(n=c.pick([1, 2, 0])), expect=lambda kw: {"return": None})
entry("backing_off", make=lambda c: {}, expect=None)
entry("backoff_count", make=lambda c: {}, expect=None)
entry("report_region", make=lambda c: dict(region_seconds=c.pick([1e-4, 0.01]), mean_work_seconds=1e-4,
                                            contended=c.pick([True, False])),
      expect=lambda kw: {"return": None})
entry("end_region", make=lambda c: dict(region_seconds=c.pick([1e-4, 0.01]), mean_work_seconds=1e-4,
                                         team=c.pick([0, 2, 1 << 20])),
      expect=lambda kw: {"return": None})
# (its value depends on the machine's load: tests/test_thread_policy.py checks it)
entry("others_runnable", make=lambda c: dict(team=c.pick([0, 2, 1 << 20])), expect=None)
# the kernels' scratch from eigengrad._memory's cache (set at import; tests/test_memory.py checks its use)
entry("recycle_scratch", make=lambda c: {}, expect=lambda kw: {"return": None})


def array_args(kw: dict) -> list[str]:
    """The names of the array arguments of a call (a list of arrays counts as one: its name)."""
    return [k for k, v in kw.items() if isinstance(v, np.ndarray)
            or (isinstance(v, list) and v and all(isinstance(a, np.ndarray) for a in v))]


def describe(kw: dict) -> str:
    """The arguments of a call, arrays by dtype, shape and layout, for a failure message."""
    def one(v: Any) -> str:
        if isinstance(v, np.ndarray):
            flags = "".join(f for f, on in (("C", v.flags.c_contiguous), ("F", v.flags.f_contiguous),
                                            ("w", v.flags.writeable), ("a", v.flags.aligned)) if on)
            return f"array({v.dtype}, {v.shape}, strides={v.strides}, flags={flags})"
        if isinstance(v, list):
            return "[" + ", ".join(one(a) for a in v) + "]"
        return repr(v)
    return ", ".join(f"{k}={one(v)}" for k, v in kw.items())
