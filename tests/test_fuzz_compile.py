"""A differential fuzzer of eg.compile against eager eigengrad: training steps generated at random from a
small grammar (models, losses, optimizers, schedulers, clipping, accumulation, the step's own extras, the
changes a training loop makes between calls), each run eagerly and compiled from identical copies, at 1
and 2 threads. What is compiled varies too: the whole step, the forward and loss alone (backward
outside), a compiled forward inside the compiled step, or the model (``eg.compile(model)``).

The compiled run must give eager's numbers bit for bit (every output, the arguments after each call,
parameters, gradients, buffers, optimizer state, the param groups, the generator's state); each compiled
function warns at most once, exactly once when it fell back (the warning names the reason); it raises only
where eager raises. The cases are seeded (``CASES`` of them), so a failure names its seed: ``python -m
pytest tests/test_fuzz_compile.py -k 'seed_17'`` reruns it, and ``describe(generate(17))`` prints the case.
The regression tests at the end pin the bugs the fuzzer found, each minimised.
"""
from __future__ import annotations

import copy
import random
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.nn import functional as F
from eigengrad.optim import lr_scheduler as S

CASES = 160  # seeds run by test_fuzz_compiled_equals_eager (each at 1 and 2 threads)

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(), "gelu": lambda: nn.GELU(), "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
    "silu": lambda: nn.SiLU(), "tanh": lambda: nn.Tanh(), "sigmoid": lambda: nn.Sigmoid(),
    "leaky": lambda: nn.LeakyReLU(0.1), "elu": lambda: nn.ELU(), "softplus": lambda: nn.Softplus(),
    "mish": lambda: nn.Mish(), "hardswish": lambda: nn.Hardswish(),
}

# shape-preserving layers on (batch, 24) that the MLP may hold besides its activation
FLAT_LAYERS = {
    "rrelu": lambda: nn.RReLU(), "prelu": lambda: nn.PReLU(24), "celu": lambda: nn.CELU(0.7), "selu": lambda: nn.SELU(),
    "softsign": lambda: nn.Softsign(), "hardtanh": lambda: nn.Hardtanh(-0.5, 0.5), "relu6": lambda: nn.ReLU6(),
    "logsigmoid": lambda: nn.LogSigmoid(), "hardsigmoid": lambda: nn.Hardsigmoid(),
    "tanhshrink": lambda: nn.Tanhshrink(),
    "softshrink": lambda: nn.Softshrink(0.2), "hardshrink": lambda: nn.Hardshrink(0.2),
    "alpha_dropout": lambda: nn.AlphaDropout(0.2), "rmsnorm": lambda: nn.RMSNorm(24),
    "bn_cumulative": lambda: nn.BatchNorm1d(24, momentum=None),
    "bn_no_affine": lambda: nn.BatchNorm1d(24, affine=False),
    "bn_no_stats": lambda: nn.BatchNorm1d(24, track_running_stats=False),
    "ln_no_affine": lambda: nn.LayerNorm(24, elementwise_affine=False), "relu_inplace": lambda: nn.ReLU(inplace=True),
    "threshold": lambda: nn.Threshold(0.1, -1.0), "softmax": lambda: nn.Softmax(dim=1),
    "log_softmax": lambda: nn.LogSoftmax(dim=1), "dropout_half": lambda: nn.Dropout(0.5),
}

# layers on (batch, 6, 8, 8) images that keep 6 channels (the spatial size may change)
IMAGE_LAYERS = {
    "conv_stride": lambda: nn.Conv2d(6, 6, 3, stride=2, padding=1),
    "conv_dilated": lambda: nn.Conv2d(6, 6, 3, dilation=2, padding=2),
    "conv_groups": lambda: nn.Conv2d(6, 6, 3, groups=2, padding=1, bias=False),
    "conv_reflect": lambda: nn.Conv2d(6, 6, 3, padding=1, padding_mode="reflect"),
    "conv_circular": lambda: nn.Conv2d(6, 6, 3, padding=1, padding_mode="circular"),
    "maxpool_ceil": lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    "avgpool_exclude": lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    "adaptive_max": lambda: nn.AdaptiveMaxPool2d(3), "adaptive_avg3": lambda: nn.AdaptiveAvgPool2d(3),
    "instance_norm": lambda: nn.InstanceNorm2d(6, affine=True, track_running_stats=True),
    "lppool": lambda: nn.LPPool2d(2, 2), "upsample": lambda: nn.Upsample(scale_factor=2, mode="nearest"),
    "upsample_bilinear": lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
    "zeropad": lambda: nn.ZeroPad2d(1), "reflectpad": lambda: nn.ReflectionPad2d(1),
    "conv_transpose": lambda: nn.ConvTranspose2d(6, 6, 3, stride=2, padding=1),
    "lrn": lambda: nn.LocalResponseNorm(3), "dropout2d": lambda: nn.Dropout2d(0.3),
    "bn2d_cumulative": lambda: nn.BatchNorm2d(6, momentum=None),
}

# tensor operations on (batch, 12) activations that keep the shape (a custom forward's glue): self is the
# Ops module, which holds a (12,) scale and a (12, 12) matrix
TENSOR_OPS = {
    "clamp": lambda s, h: h.clamp(-1.0, 1.0), "pow": lambda s, h: h.pow(2) * 0.1 + h,
    "sqrt": lambda s, h: (h.abs() + 1).sqrt(), "exp": lambda s, h: (h * 0.1).exp(),
    "log": lambda s, h: (h.abs() + 1).log(), "sin": lambda s, h: h.sin() + h.cos(),
    "cat": lambda s, h: eg.cat([h[:, :6], h[:, 6:] * 2], 1),
    "permute": lambda s, h: h.reshape(h.shape[0], 3, 4).transpose(1, 2).reshape(h.shape[0], 12),
    "softmax": lambda s, h: h.softmax(1) * 12, "normalize": lambda s, h: F.normalize(h, dim=1),
    "center": lambda s, h: h - h.mean(1, keepdim=True), "standardize": lambda s, h: h / (h.std(1, keepdim=True) + 1),
    "masked_fill": lambda s, h: h.masked_fill(h > 1.0, 1.0), "where": lambda s, h: eg.where(h > 0, h, 0.1 * h),
    "scale": lambda s, h: h * s.scale, "cumsum": lambda s, h: h.cumsum(1) * 0.1, "flip": lambda s, h: h.flip(1),
    "roll": lambda s, h: h.roll(1, 1), "max": lambda s, h: h.max(1, keepdim=True)[0] + h,
    "logsumexp": lambda s, h: h.logsumexp(1, keepdim=True) - h, "einsum": lambda s, h: eg.einsum("bi,ij->bj", h, s.W),
    "matmul": lambda s, h: h @ s.W, "expand": lambda s, h: h.unsqueeze(1).expand(h.shape[0], 2, 12).sum(1),
    "chunk": lambda s, h: eg.cat(list(reversed(h.chunk(2, 1))), 1), "strided": lambda s, h: h[:, ::2].repeat(1, 2),
    "pad": lambda s, h: F.pad(h, (1, 1))[:, 1:-1], "gate": lambda s, h: h.tanh() * h.sigmoid(),
    "stack_amax": lambda s, h: eg.stack([h, -h], 0).amax(0), "sort": lambda s, h: h.sort(1)[0],
    "inplace": lambda s, h: h.clone().mul_(2.0), "detach": lambda s, h: h.detach() * 0.1 + h,
    "var": lambda s, h: h * h.var(1, keepdim=True, unbiased=False),
    "norm": lambda s, h: h / (1 + h.norm(dim=1, keepdim=True)),
    "gather": lambda s, h: h.gather(1, eg.from_numpy(np.tile(np.arange(11, -1, -1), (h.shape[0], 1)))),
    "index_select": lambda s, h: h.index_select(1, eg.from_numpy(np.arange(12)[::-1].copy())),
    "new_zeros": lambda s, h: h.new_zeros(h.shape) + h, "relu6": lambda s, h: F.relu6(h * 3),
    "topk": lambda s, h: eg.cat([h.topk(6, 1)[0], h[:, :6]], 1),
    "addcmul": lambda s, h: eg.addcmul(h, h, s.scale, value=0.5),
    "rand": lambda s, h: h + 0.01 * eg.rand_like(h), "lerp": lambda s, h: eg.lerp(h, h.tanh(), 0.3),
    "sub_rsub": lambda s, h: 1.0 - h, "div_rdiv": lambda s, h: 1.0 / (h.abs() + 1.0),
    "square": lambda s, h: h.square() - h,
}

OPTIMIZERS = ("sgd", "adam", "adamw", "nadam", "adamax", "radam", "adagrad", "rmsprop", "adadelta", "asgd", "rprop")


# --- the grammar: a case is a dict of choices, drawn from one seed ------------------------------------------
def generate(seed: int) -> dict:
    """The choices of case ``seed``: model, loss, optimizer, schedule and the step's extras."""
    r = random.Random(seed)
    model = r.choice(["mlp", "mlp", "cnn", "conv1d", "rnn", "attention", "residual", "ops", "ops"])
    case = {"seed": seed, "model": model, "act": r.choice(sorted(ACTIVATIONS)), "steps": r.randint(7, 14),
            "batch": r.choice([4, 8, 16]), "float64": r.random() < 0.15}
    case["norm"] = r.choice({"mlp": ["none", "bn", "ln"], "residual": ["ln", "none"], "cnn": ["none", "bn", "gn"],
                             "conv1d": ["none", "bn"], "rnn": ["none"], "attention": ["none"], "ops": ["none"]}[model])
    case["dropout"] = r.choice([0.0, 0.0, 0.2])
    case["pool"] = r.choice(["max", "avg", "none"]) if model == "cnn" else "none"
    case["rnn"] = r.choice(["gru", "lstm"]) if model == "rnn" else None
    case["batch_first"] = r.random() < 0.5
    case["attention"] = r.choice(["mha", "encoder", "encoder_norm_first"]) if model == "attention" else None
    case["tie"] = model == "residual" and r.random() < 0.5
    case["freeze"] = r.random() < 0.2
    case["loss"] = r.choice(["ce", "ce_smooth", "ce_weight", "ce_ignore", "ce_probs", "nll", "mse", "l1", "smoothl1",
                             "huber", "bce", "bce_pos", "kl", "ce_plus_mse"])
    case["reduction"] = r.choice(["mean", "mean", "sum"]) if case["loss"] in ("mse", "l1", "smoothl1", "huber",
                                                                              "bce", "ce") else "mean"
    case["opt"] = r.choice(OPTIMIZERS)
    case["opt_options"] = _opt_options(r, case["opt"])
    case["groups"] = r.random() < 0.3
    case["sched"] = r.choice(["none", "none", "step", "onecycle", "cosine", "plateau", "lambda", "inside"])
    case["clip"] = r.choice(["none", "none", "norm", "value"])
    case["accumulate"] = r.random() < 0.2
    case["returns"] = r.choice(["loss", "loss", "loss_logits", "loss_none"])
    case["lr_change"] = r.random() < 0.25
    case["eval_at"] = r.randint(2, case["steps"] - 2) if r.random() < 0.2 else None
    case["batch_change_at"] = r.randint(2, case["steps"] - 2) if r.random() < 0.2 else None
    case["extra"] = (r.sample(sorted(FLAT_LAYERS), r.randint(1, 2)) if model == "mlp" and r.random() < 0.6 else
                     r.sample(sorted(IMAGE_LAYERS), r.randint(1, 2)) if model == "cnn" and r.random() < 0.6 else [])
    case["ops"] = r.sample(sorted(TENSOR_OPS), r.randint(1, 4)) if model == "ops" else []
    case["rnn_layers"] = r.choice([1, 1, 2])
    case["bidirectional"] = model == "rnn" and r.random() < 0.3
    case["rnn_dropout"] = r.choice([0.0, 0.3]) if case["rnn_layers"] == 2 else 0.0
    case["proj"] = case["rnn"] == "lstm" and r.random() < 0.2
    case["embedding"] = r.choice(["plain", "padding_idx", "max_norm"]) if model == "rnn" else None
    case["zero_grad"] = r.choice(["none", "none", "none", "zeros", "after", "never"])
    case["extra_out"] = r.choice(["none", "none", "accuracy", "detached", "param", "input"])
    case["control_flow"] = r.random() < 0.05
    case["arg_inplace"] = r.random() < 0.05 and model not in ("rnn",)
    case["scalar_arg"] = r.choice([None, None, None, "fixed", "changing"])
    case["input_kind"] = r.choice(["fresh", "fresh", "same", "refill", "view"])
    case["mutation"] = r.choice(MUTATIONS) if r.random() < 0.4 else None
    case["structure"] = r.choice(["step"] * 6 + ["forward_only", "nested", "eval_inside", "module"])
    if case["structure"] != "step":
        case["accumulate"] = case["control_flow"] = False
    if case["structure"] == "nested":  # (the compiled forward returns the loss only)
        case["returns"] = "loss" if case["returns"] == "loss_logits" else case["returns"]
        case["extra_out"] = "none" if case["extra_out"] in ("accuracy", "detached") else case["extra_out"]
    case["mutate_at"] = r.randint(4, case["steps"] - 1)
    return case


def _opt_options(r: random.Random, name: str) -> dict:
    """Random hyperparameters of optimizer ``name`` (options it takes, values that train stably)."""
    o: dict = {}
    if r.random() < 0.3:
        o["weight_decay"] = r.choice([1e-4, 1e-2])
    if r.random() < 0.2 and name not in ("asgd",):
        o["maximize"] = r.random() >= 0.5
    if r.random() < 0.3:
        o["foreach"] = r.choice([True, False])
    if name == "sgd":
        o["lr"] = 0.05
        if r.random() < 0.6:
            o["momentum"] = 0.9
            o["nesterov"] = r.random() < 0.5
            o["dampening"] = 0.0 if o["nesterov"] else r.choice([0.0, 0.1])
    elif name in ("adam", "adamw"):
        o["lr"] = 1e-3
        o["amsgrad"] = r.random() < 0.4
        o["betas"] = r.choice([(0.9, 0.999), (0.8, 0.99)])
    elif name == "rmsprop":
        o["lr"] = 1e-3
        o["momentum"] = r.choice([0.0, 0.5])
        o["centered"] = r.random() < 0.5
    elif name == "adagrad":
        o["lr"] = 1e-2
        o["lr_decay"] = r.choice([0.0, 1e-3])
        o["initial_accumulator_value"] = r.choice([0.0, 0.1])
    elif name == "adadelta":
        o["lr"] = 1.0
    elif name == "asgd":
        o["lr"] = 1e-2
        o["t0"] = r.choice([1e6, 3.0])  # (averaging from the third step: a branch on the step count)
    elif name in ("nadam", "radam"):
        o["lr"] = 1e-3
        o["decoupled_weight_decay"] = r.random() < 0.5
    else:
        o["lr"] = 1e-2
    if name == "rprop":
        o.pop("weight_decay", None)
    return o


# changes between two calls, made the same way to the eager and the compiled run
MUTATIONS = ("freeze", "unfreeze", "replace_buffer", "reseed", "load_optimizer", "load_model", "momentum", "amsgrad",
             "weight_decay", "threads", "grad_none", "scale_params", "reset_buffers", "eval_submodule",
             "module_options", "grad_hook")


def mutate(kind: str, model: nn.Module, opt, saved: tuple) -> None:
    """Apply mutation ``kind`` (``saved``: the model's and optimizer's state dicts from an earlier step)."""
    params = list(model.parameters())
    if kind == "freeze":
        params[-1].requires_grad_(False)
    elif kind == "unfreeze":
        params[0].requires_grad_(True)
    elif kind == "replace_buffer":
        for m in model.modules():
            for name, b in list(m._buffers.items()):
                if b is not None and b.dtype.kind == "f":
                    setattr(m, name, eg.from_numpy(b.numpy() * 0.5))
    elif kind == "reseed":
        eg.manual_seed(1234)
    elif kind == "load_optimizer":
        opt.load_state_dict(saved[1])
    elif kind == "load_model":
        model.load_state_dict(saved[0])
    elif kind in ("momentum", "amsgrad", "weight_decay"):
        for g in opt.param_groups:
            if kind == "momentum" and "momentum" in g:
                g["momentum"] = 0.5
            elif kind in g and not isinstance(g[kind], tuple):
                g[kind] = True if kind == "amsgrad" else 0.05
    elif kind == "threads":
        eg.set_num_threads(1 if eg.get_num_threads() == 2 else 2)
    elif kind == "grad_none":
        params[0].grad = None
    elif kind == "scale_params":
        with eg.no_grad():
            for p in params:
                p.mul_(0.9)
    elif kind == "reset_buffers":
        for m in model.modules():
            if hasattr(m, "reset_running_stats"):
                m.reset_running_stats()
    elif kind == "module_options":  # (plain Python attributes of the modules: dropout p, BatchNorm momentum, ...)
        for m in model.modules():
            if isinstance(m, (nn.Dropout, nn.Dropout2d, nn.AlphaDropout)):
                m.p = 0.4
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.momentum is not None:
                m.momentum = 0.3
            elif isinstance(m, nn.LeakyReLU):
                m.negative_slope = 0.2
    elif kind == "grad_hook":
        params[-1].register_hook(_halve)
    elif kind == "eval_submodule":
        next(m for m in model.modules() if m is not model).eval() if len(list(model.modules())) > 1 else None


def _halve(g):
    return g * 0.5


def describe(case: dict) -> str:
    """The case's choices, one line (what a failure message shows)."""
    return ", ".join(f"{k}={v}" for k, v in case.items())


# --- building a case: models, data, loss, optimizer, step ---------------------------------------------------
class Residual(nn.Module):
    """x + f(norm(x)) blocks written in forward, a Linear used twice (its weight in two places of the graph),
    optionally the head tied to the input layer's weight."""

    def __init__(self, n_in: int, width: int, n_out: int, case: dict) -> None:
        super().__init__()
        self.inp = nn.Linear(n_in, width)
        self.norm = nn.LayerNorm(width) if case["norm"] == "ln" else nn.Identity()
        self.shared = nn.Linear(width, width)
        self.act = ACTIVATIONS[case["act"]]()
        self.drop = nn.Dropout(case["dropout"])
        self.tie = case["tie"]
        self.head = nn.Linear(width, n_out) if not self.tie else None

    def forward(self, x):
        h = self.inp(x)
        h = h + self.drop(self.act(self.shared(self.norm(h))))
        h = h + self.act(self.shared(h)) * 0.5  # (the shared Linear used twice)
        if self.tie:  # (the input layer's weight read again: n_out == n_in)
            return h @ self.inp.weight
        return self.head(h)


class Recurrent(nn.Module):
    """Embedding, GRU or LSTM, the last step's output through a Linear."""

    def __init__(self, vocab: int, n_out: int, case: dict) -> None:
        super().__init__()
        self.batch_first = case["batch_first"]
        options = {"padding_idx": {"padding_idx": 0}, "max_norm": {"max_norm": 1.0}}.get(case["embedding"], {})
        self.emb = nn.Embedding(vocab, 8, **options)
        more = {"proj_size": 5} if case["proj"] else {}
        cls = nn.GRU if case["rnn"] == "gru" else nn.LSTM
        self.rnn = cls(8, 12, num_layers=case["rnn_layers"], dropout=case["rnn_dropout"],
                       bidirectional=case["bidirectional"], batch_first=self.batch_first, **more)
        self.head = nn.Linear((5 if case["proj"] else 12) * (2 if case["bidirectional"] else 1), n_out)

    def forward(self, tokens):
        h = self.emb(tokens if self.batch_first else tokens.t())
        out, _ = self.rnn(h)
        last = out[:, -1] if self.batch_first else out[-1]
        return self.head(last)


class Attention(nn.Module):
    """A Linear embedding, MultiheadAttention or a TransformerEncoderLayer, mean over time, a Linear head."""

    def __init__(self, n_in: int, n_out: int, case: dict) -> None:
        super().__init__()
        self.batch_first = case["batch_first"]
        self.proj = nn.Linear(n_in, 16)
        self.kind = case["attention"]
        if self.kind == "mha":
            self.att = nn.MultiheadAttention(16, 2, dropout=case["dropout"], batch_first=self.batch_first)
        else:
            self.att = nn.TransformerEncoderLayer(16, 2, dim_feedforward=24, dropout=case["dropout"],
                                                  batch_first=self.batch_first,
                                                  norm_first=self.kind == "encoder_norm_first")
        self.head = nn.Linear(16, n_out)

    def forward(self, x):  # x: (batch, time, n_in)
        h = self.proj(x if self.batch_first else x.transpose(0, 1))
        if self.kind == "mha":
            h = self.att(h, h, h)[0] + h
        else:
            h = self.att(h)
        return self.head(h.mean(1 if self.batch_first else 0))


class Ops(nn.Module):
    """Linear, the case's tensor operations in a row (TENSOR_OPS), Linear: a custom forward's glue."""

    def __init__(self, n_in: int, n_out: int, case: dict) -> None:
        super().__init__()
        self.inp, self.out = nn.Linear(n_in, 12), nn.Linear(12, n_out)
        self.scale = nn.Parameter(eg.from_numpy(np.linspace(0.5, 1.5, 12).astype(np.float32)))
        self.W = nn.Parameter(eg.from_numpy(np.eye(12, dtype=np.float32) * 0.9 + 0.01))
        self.ops = [TENSOR_OPS[name] for name in case["ops"]]

    def forward(self, x):
        h = self.inp(x)
        for op in self.ops:
            h = op(self, h)
        return self.out(h)


def _model(case: dict, n_in: int, n_out: int) -> nn.Module:
    act = ACTIVATIONS[case["act"]]
    kind = case["model"]
    if kind == "mlp":
        norm = {"bn": lambda: nn.BatchNorm1d(24), "ln": lambda: nn.LayerNorm(24), "none": nn.Identity}[case["norm"]]
        extra = [FLAT_LAYERS[name]() for name in case["extra"]]
        return nn.Sequential(nn.Linear(n_in, 24), norm(), act(), *extra, nn.Dropout(case["dropout"]),
                             nn.Linear(24, 16), act(), nn.Linear(16, n_out))
    if kind == "cnn":
        norm = {"bn": lambda: nn.BatchNorm2d(6), "gn": lambda: nn.GroupNorm(2, 6), "none": nn.Identity}[case["norm"]]
        pool = {"max": lambda: nn.MaxPool2d(2), "avg": lambda: nn.AvgPool2d(2), "none": nn.Identity}[case["pool"]]
        extra = [IMAGE_LAYERS[name]() for name in case["extra"]]
        return nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), norm(), act(), *extra, pool(),
                             nn.Dropout2d(case["dropout"]), nn.Conv2d(6, 4, 3, padding=1), act(),
                             nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, n_out))
    if kind == "conv1d":
        norm = nn.BatchNorm1d(5) if case["norm"] == "bn" else nn.Identity()
        return nn.Sequential(nn.Conv1d(3, 5, 3), norm, act(), nn.Flatten(), nn.Linear(5 * 6, n_out))
    if kind == "rnn":
        return Recurrent(11, n_out, case)
    if kind == "attention":
        return Attention(n_in, n_out, case)
    if kind == "ops":
        return Ops(n_in, n_out, case)
    return Residual(n_in, 12, n_out, case)


def _input(case: dict, rng: np.random.Generator, batch: int):
    dtype = np.float64 if case["float64"] else np.float32
    kind = case["model"]
    if kind == "cnn":
        return rng.standard_normal((batch, 2, 8, 8)).astype(dtype)
    if kind == "conv1d":
        return rng.standard_normal((batch, 3, 8)).astype(dtype)
    if kind == "rnn":
        return rng.integers(0, 11, (batch, 5)).astype(np.int64)
    if kind == "attention":
        return rng.standard_normal((batch, 5, 6)).astype(dtype)
    return rng.standard_normal((batch, 6)).astype(dtype)


N_OUT = 6  # classes / outputs of every model (the tied residual maps back to its 6 inputs)


def _target(case: dict, rng: np.random.Generator, batch: int):
    dtype = np.float64 if case["float64"] else np.float32
    loss = case["loss"]
    if loss in ("ce", "ce_smooth", "ce_weight", "ce_ignore", "nll", "ce_plus_mse"):
        y = rng.integers(0, N_OUT, batch).astype(np.int64)
        if loss == "ce_ignore":
            y[rng.random(batch) < 0.3] = -1
        return y
    if loss in ("ce_probs", "kl"):
        p = rng.random((batch, N_OUT)).astype(dtype)
        return p / p.sum(1, keepdims=True)
    if loss in ("bce", "bce_pos"):
        return (rng.random((batch, N_OUT)) < 0.5).astype(dtype)
    return rng.standard_normal((batch, N_OUT)).astype(dtype)


def data(case: dict) -> list:
    """The (x, y) batches of the case's steps (the batch size changes once when ``batch_change_at``)."""
    rng = np.random.default_rng(case["seed"] + 1000)
    out = []
    for i in range(case["steps"]):
        b = case["batch"] if case["batch_change_at"] is None or i < case["batch_change_at"] else case["batch"] + 3
        x, y = _input(case, rng, b), _target(case, rng, b)
        if case["input_kind"] == "view":  # (non-contiguous: every other element of a wider array)
            x, y = _strided(x), _strided(y)
        out.append((eg.from_numpy(x), eg.from_numpy(y)))
    if case["input_kind"] == "same":
        out = [out[0]] * len(out)
    return out


def _strided(a: np.ndarray) -> np.ndarray:
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype) if a.ndim > 1 else np.zeros(2 * a.shape[0], a.dtype)
    wide[..., ::2] = a
    return wide[..., ::2]


def _loss_fn(case: dict, dtype):
    loss, red = case["loss"], case["reduction"]
    if loss == "ce":
        return nn.CrossEntropyLoss(reduction=red)
    if loss == "ce_smooth":
        return nn.CrossEntropyLoss(label_smoothing=0.1)
    if loss == "ce_weight":
        return nn.CrossEntropyLoss(weight=eg.from_numpy(np.linspace(0.5, 1.5, N_OUT).astype(dtype)))
    if loss == "ce_ignore":
        return nn.CrossEntropyLoss(ignore_index=-1)
    if loss == "ce_probs":
        return nn.CrossEntropyLoss(label_smoothing=0.05)
    if loss == "nll":
        nll = nn.NLLLoss()
        return lambda out, y: nll(F.log_softmax(out, dim=1), y)
    if loss == "mse":
        return nn.MSELoss(reduction=red)
    if loss == "l1":
        return nn.L1Loss(reduction=red)
    if loss == "smoothl1":
        return nn.SmoothL1Loss(reduction=red, beta=0.5)
    if loss == "huber":
        return nn.HuberLoss(reduction=red, delta=0.7)
    if loss == "bce":
        return nn.BCEWithLogitsLoss(reduction=red)
    if loss == "bce_pos":
        return nn.BCEWithLogitsLoss(pos_weight=eg.from_numpy(np.full(N_OUT, 2.0, dtype)))
    if loss == "kl":
        kl = nn.KLDivLoss(reduction="batchmean")
        return lambda out, y: kl(F.log_softmax(out, dim=1), y)
    ce, mse = nn.CrossEntropyLoss(), nn.MSELoss()  # ce_plus_mse: two losses summed
    return lambda out, y: ce(out, y) + 0.1 * mse(out, F.one_hot(y, N_OUT).to(out.dtype))


def _optimizer(case: dict, model: nn.Module):
    params = [p for p in model.parameters() if p.requires_grad]
    cls = {"sgd": eg.optim.SGD, "adam": eg.optim.Adam, "adamw": eg.optim.AdamW, "nadam": eg.optim.NAdam,
           "adamax": eg.optim.Adamax, "radam": eg.optim.RAdam, "adagrad": eg.optim.Adagrad,
           "rmsprop": eg.optim.RMSprop, "adadelta": eg.optim.Adadelta, "asgd": eg.optim.ASGD,
           "rprop": eg.optim.Rprop}[case["opt"]]
    options = dict(case["opt_options"])
    if case["groups"] and len(params) > 1:
        half = len(params) // 2
        return cls([{"params": params[:half]}, {"params": params[half:], "lr": options["lr"] * 0.5}], **options)
    return cls(params, **options)


def _scheduler(case: dict, opt):
    kind = case["sched"]
    if kind == "step":
        return S.StepLR(opt, step_size=3, gamma=0.5)
    if kind == "onecycle":
        if case["opt"] in ("adagrad", "rprop", "asgd", "adadelta"):  # (no momentum or betas to cycle)
            return S.OneCycleLR(opt, max_lr=2 * opt.param_groups[0]["lr"], total_steps=case["steps"] + 1,
                                cycle_momentum=False)
        return S.OneCycleLR(opt, max_lr=2 * opt.param_groups[0]["lr"], total_steps=case["steps"] + 1)
    if kind == "cosine":
        return S.CosineAnnealingLR(opt, T_max=5)
    if kind == "plateau":
        return S.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    if kind in ("lambda", "inside"):
        return S.LambdaLR(opt, lambda e: 1.0 / (1 + e))
    return None


def build(case: dict, compile=lambda f: f):
    """(the function the loop calls, the compiled functions, model, optimizer, scheduler) of the case:
    identical at every call (seeded). ``compile``: eg.compile, or the identity for the eager run; where it
    applies depends on ``structure`` (the whole step, the forward and loss only with backward outside, or
    a compiled forward called inside the compiled step)."""
    eg.manual_seed(case["seed"])
    dtype = np.float64 if case["float64"] else np.float32
    n_in = 6
    model = _model(case, n_in, N_OUT)
    if case["float64"]:
        model = model.double()
    if case["freeze"]:
        first = next(iter(model.parameters()))
        first.requires_grad_(False)
    opt = _optimizer(case, model)
    sched = _scheduler(case, opt)
    loss_fn = _loss_fn(case, dtype)
    clip, accumulate, returns = case["clip"], case["accumulate"], case["returns"]
    inside = sched if case["sched"] == "inside" else None

    zero, extra_out, control, scalar = case["zero_grad"], case["extra_out"], case["control_flow"], case["scalar_arg"]
    structure = case["structure"]
    forward = compile(lambda x, y: loss_fn(model(x), y)) if structure == "nested" else None

    arg_inplace = case["arg_inplace"]

    def step(x, y, scale=1.0):
        if arg_inplace:  # (the caller's tensor changes: eager's values after the call)
            x.mul_(0.5)
        if zero == "none":
            opt.zero_grad()
        elif zero == "zeros":
            opt.zero_grad(set_to_none=False)
        if accumulate:  # two halves, each loss scaled by one half
            k = x.shape[0] // 2
            out = model(x[:k])
            loss = loss_fn(out, y[:k]) / 2
            loss.backward()
            out2 = model(x[k:])
            loss2 = loss_fn(out2, y[k:]) / 2
            loss2.backward()
            loss = loss + loss2
        elif forward is not None:
            out = None
            loss = forward(x, y)
            loss.backward()
        else:
            out = model(x)
            loss = loss_fn(out, y)
            if control and loss > 1.5:  # (Python control flow on a value)
                loss = loss * 0.5
            if scalar is not None:
                loss = loss * scale
            loss.backward()
        if clip == "norm":
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        elif clip == "value":
            nn.utils.clip_grad_value_(model.parameters(), 0.05)
        opt.step()
        if zero == "after":
            opt.zero_grad()
        if inside is not None:
            inside.step()
        if structure == "eval_inside":  # (the loop does not call train() again: the plan must)
            model.eval()
        more = ()
        if extra_out == "accuracy":
            with eg.no_grad():
                more = ((out.argmax(1) == 0).float().mean(),)
        elif extra_out == "detached":
            more = (out.detach() * 2,)
        elif extra_out == "param":
            more = (next(iter(model.parameters())),)
        elif extra_out == "input":
            more = (x,)
        if returns == "loss_logits":
            return (loss, out) + more
        if returns == "loss_none":
            return (loss, None) + more
        return (loss,) + more if more else loss

    if structure == "module":  # eg.compile(model): trained eagerly through it, every other call a no_grad forward
        net = compile(model)
        calls = [0]

        def module_step(x, y, scale=1.0):
            calls[0] += 1
            if calls[0] % 2 == 0:
                with eg.no_grad():
                    return net(x) * scale
            opt.zero_grad()
            loss = loss_fn(net(x), y) * scale
            loss.backward()
            opt.step()
            return loss.detach()

        return module_step, [net._compiled] if net is not model else [], model, opt, sched
    if structure == "forward_only":  # the compiled function returns the loss; backward and the update outside
        fwd = compile(lambda x, y: loss_fn(model(x), y))

        def loop_step(x, y, scale=1.0):
            opt.zero_grad()
            loss = fwd(x, y) * scale
            loss.backward()
            opt.step()
            return loss.detach()

        return loop_step, [fwd], model, opt, sched
    compiled = compile(step)
    return compiled, [compiled] + ([forward] if forward is not None else []), model, opt, sched


# --- running a case ---------------------------------------------------------------------------------------------
def state(model, opt) -> list:
    """Every number training changes: parameters, gradients, buffers, optimizer state and step counts, the
    param groups' hyperparameters, the default generator's state."""
    out = [p._data.copy() for p in model.parameters()]
    out += [p.grad._data.copy() if p.grad is not None else np.zeros(0, np.int8) for p in model.parameters()]
    out += [b._data.copy() for _, b in model.named_buffers()]
    for p in model.parameters():
        for _, v in sorted(opt.state.get(p, {}).items()):
            out.append(np.array(v._data if isinstance(v, eg.Tensor) else v).copy())
    for g in opt.param_groups:
        out.append(np.array([float(v) for k, v in sorted(g.items()) if isinstance(v, (int, float))
                             and not isinstance(v, bool)]))
    out.append(np.frombuffer(bytes(np.asarray(eg.get_rng_state()._data if isinstance(eg.get_rng_state(), eg.Tensor)
                                              else eg.get_rng_state()).tobytes()), np.uint8))
    return out


def run(case: dict, compiled: bool):
    """(arrays of every step's outputs and the final state, the error eager-or-compiled raised, the
    eg.compile warnings, the compiled functions)."""
    fn, compiled_fns, model, opt, sched = build(case, eg.compile if compiled else (lambda f: f))
    outs: list = []
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            batches = data(case)
            buffers = saved = None
            for i, (x, y) in enumerate(batches):
                if i == 2 and case["mutation"] is not None:
                    saved = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()))
                if case["mutation"] is not None and i == case["mutate_at"]:
                    mutate(case["mutation"], model, opt, saved)
                if case["input_kind"] == "refill":  # (one tensor per argument, its values overwritten in place)
                    if buffers is None or buffers[0].shape != x.shape:
                        buffers = (eg.from_numpy(x.numpy().copy()), eg.from_numpy(y.numpy().copy()))
                    buffers[0]._data[...] = x._data
                    buffers[1]._data[...] = y._data
                    x, y = buffers
                if case["eval_at"] is not None and i == case["eval_at"]:
                    model.eval()
                if case["eval_at"] is not None and i == case["eval_at"] + 2:
                    model.train()
                if case["lr_change"] and i == 3:
                    for g in opt.param_groups:
                        g["lr"] = g["lr"] * 0.3
                        if "betas" in g:
                            g["betas"] = (0.85, g["betas"][1])
                if case["scalar_arg"] == "fixed":
                    result = fn(x, y, 0.5)
                elif case["scalar_arg"] == "changing":
                    result = fn(x, y, scale=1.0 / (1 + i % 2))
                else:
                    result = fn(x, y)
                for t in result if isinstance(result, tuple) else (result,):
                    if t is not None:
                        outs.append(t.detach().numpy().copy())
                outs.append(x.detach().numpy().copy())  # (the caller's tensor: a step may change it in place)
                if case["sched"] == "plateau":
                    sched.step(float((result[0] if isinstance(result, tuple) else result).detach().numpy()))
                elif sched is not None and case["sched"] != "inside":
                    sched.step()
        except Exception as e:  # noqa: BLE001 (compared with eager's)
            error = f"{type(e).__name__}: {e}"
    ours = [str(w.message) for w in caught if "eg.compile" in str(w.message)]
    return outs + state(model, opt), error, ours, compiled_fns


def check(case: dict, threads: int) -> None:
    """The compiled run of ``case`` equals the eager one bit for bit, each compiled function warns at most
    once (once exactly when it fell back, naming its reason) and it raises only where eager raises."""
    before = eg.get_num_threads()
    try:
        eg.set_num_threads(threads)
        want, want_err, _, _ = run(case, False)
        eg.set_num_threads(threads)  # (a mutation may have changed it)
        got, got_err, warned, fns = run(case, True)
    finally:
        eg.set_num_threads(before)
    where = describe(case)
    if want_err is not None:  # (a case eager itself rejects: the compiled run raises too)
        assert got_err is not None, f"eager raised {want_err}, the compiled run did not\n{where}"
        return
    assert got_err is None, f"compiled raised where eager did not: {got_err}\n{where}"
    reasons = [fn.fallback_reason for fn in fns if fn.fallback_reason is not None]
    assert len(warned) == len(reasons), f"{len(warned)} warnings for {len(reasons)} fallbacks: {warned}\n{where}"
    for reason in reasons:
        assert sum(reason in w for w in warned) >= 1, f"no warning names {reason!r}: {warned}\n{where}"
    assert len(got) == len(want), where
    for i, (u, v) in enumerate(zip(got, want)):
        assert u.dtype == v.dtype and u.shape == v.shape, \
            f"array {i}: {u.dtype}{u.shape} vs {v.dtype}{v.shape}\n{where}"
        assert u.tobytes() == v.tobytes(), (f"array {i} differs (max abs {np.max(np.abs(u.astype(float) - v)):.3g}; "
                                            f"fallbacks: {reasons}, replays {[fn.replays for fn in fns]})\n{where}")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed_{s}") for s in range(CASES)])
def test_fuzz_compiled_equals_eager(seed, threads):
    check(generate(seed), threads)


# --- regressions: the bugs the fuzzer found, each minimised --------------------------------------------------------
def _mlp(seed: int = 0, bn: bool = False, p: float = 0.0) -> nn.Module:
    eg.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), *([nn.BatchNorm1d(8)] if bn else []), nn.ReLU(), nn.Dropout(p),
                         nn.Linear(8, 3))


def _batches(n: int = 10, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [(eg.from_numpy(rng.standard_normal((6, 4)).astype(np.float32)), eg.from_numpy(rng.integers(0, 3, 6)))
            for _ in range(n)]


def _side_by_side(make, between=None, n: int = 10):
    """``make()`` -> (step, model, optimizer), run eagerly and compiled over the same batches, ``between(i,
    model, opt)`` called before call i. Returns (eager arrays, compiled arrays, compiled function, warnings)."""
    results = []
    for compiled in (False, True):
        step, model, opt = make()
        fn = eg.compile(step) if compiled else step
        outs = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i, (x, y) in enumerate(_batches(n)):
                if between is not None:
                    between(i, model, opt)
                r = fn(x, y)
                outs += [t.detach().numpy().copy() for t in (r if isinstance(r, tuple) else (r,))] + [x.numpy().copy()]
        outs += state(model, opt)
        results.append((outs, fn, [str(w.message) for w in caught if "eg.compile" in str(w.message)]))
    (want, _, _), (got, fn, warned) = results
    return want, got, fn, warned


def _same(got: list, want: list) -> None:
    assert len(got) == len(want)
    for i, (u, v) in enumerate(zip(got, want)):
        assert u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes(), f"array {i} differs"


def _sgd_step(model_args: dict | None = None, momentum: float = 0.9, build=None):
    """make() for _side_by_side: a cross-entropy SGD step over ``build()`` (default: the MLP of ``model_args``)."""
    def make():
        eg.manual_seed(0)
        model = build() if build is not None else _mlp(**(model_args or {}))
        opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=momentum)
        loss_fn = nn.CrossEntropyLoss()

        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return step, model, opt
    return make


def test_freezing_a_layer_between_calls_traces_again():
    """requires_grad_(False) between replays: the plan kept computing and applying the frozen weight's gradient
    (requires_grad was not part of the signature)."""
    def freeze(i, model, opt):
        if i == 6:
            model[0].weight.requires_grad_(False)
    want, got, fn, warned = _side_by_side(_sgd_step(), freeze)
    _same(got, want)
    assert fn.fallback_reason is None and not warned and fn.replays >= 2


def test_a_replaced_module_buffer_falls_back():
    """bn.running_mean = new tensor between replays: the plan kept updating the old array (buffers were not
    among the identities checked at every call)."""
    def replace(i, model, opt):
        if i == 6:
            model[1].running_mean = eg.zeros(8)
    want, got, fn, warned = _side_by_side(_sgd_step({"bn": True}), replace)
    _same(got, want)
    assert len(warned) == 1 and "module's buffer" in fn.fallback_reason


def test_a_changed_dropout_probability_or_batchnorm_momentum_traces_again():
    """A module's plain attributes changed between calls (dropout p, BatchNorm momentum): the plan replayed the
    traced values (now part of the signature)."""
    def change(i, model, opt):
        if i == 5:
            model[3].p = 0.5
            model[1].momentum = 0.5
    want, got, fn, warned = _side_by_side(_sgd_step({"bn": True, "p": 0.2}), change)
    _same(got, want)
    assert fn.fallback_reason is None and not warned and fn.replays >= 3


def test_python_state_the_step_itself_changes_is_set_by_each_replay():
    """A step that changes a parameter's requires_grad or a module's attribute in its own code: replays did not
    (now the trace's changes are applied after each replay, and verified)."""
    def make():
        step, model, opt = _sgd_step({"p": 0.3})()

        def toggling(x, y):
            loss = step(x, y)
            model[0].weight.requires_grad_(not model[0].weight.requires_grad)
            model[2].p = 0.5 if model[2].p == 0.3 else 0.3
            return loss
        return toggling, model, opt
    want, got, fn, warned = _side_by_side(make, n=12)
    _same(got, want)
    assert fn.fallback_reason is None and not warned and fn.replays >= 3


def test_a_step_returning_its_argument_replays():
    """Returning an argument: the replay returned the trace's copy of it, so the first replay's check fell back."""
    def make():
        step, model, opt = _sgd_step()()
        return (lambda x, y: (step(x, y), x)), model, opt
    want, got, fn, warned = _side_by_side(make)
    _same(got, want)
    assert fn.fallback_reason is None and not warned and fn.replays >= 5


def test_a_compiled_forward_whose_loss_goes_backward_outside_falls_back():
    """eg.compile(forward) with backward outside: replays returned detached tensors, so loss.backward() raised
    where eager mode trains (now: one fallback naming it). A compiled forward called inside a compiled step is
    read through (the step compiles)."""
    model = _mlp()
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    fwd = eg.compile(lambda x, y: loss_fn(model(x), y))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x, y in _batches(6):
            opt.zero_grad()
            fwd(x, y).backward()
            opt.step()
    assert "graph the caller can still backpropagate" in fwd.fallback_reason and len(caught) == 1

    def make():
        model = _mlp()
        opt = eg.optim.SGD(model.parameters(), lr=0.1)
        inner = eg.compile(lambda x, y: loss_fn(model(x), y))

        def step(x, y):
            opt.zero_grad()
            loss = inner(x, y)
            loss.backward()
            opt.step()
            return loss
        return step, model, opt
    want, got, fn, _ = _side_by_side(make)
    _same(got, want)
    assert fn.fallback_reason is None and fn.replays >= 5


def test_a_training_step_returning_a_loss_with_a_retained_graph_replays():
    """The check above asks only steps that ran no backward: a GAN step whose discriminator loss keeps its graph
    (retain_graph=True) still replays."""
    def make():
        gen, disc = _mlp(0), nn.Sequential(nn.Linear(3, 5), nn.LeakyReLU(0.2), nn.Linear(5, 1))
        opt_g, opt_d = eg.optim.Adam(gen.parameters(), lr=1e-3), eg.optim.Adam(disc.parameters(), lr=1e-3)
        bce = nn.BCEWithLogitsLoss()

        def step(z, y):
            fake = gen(z)
            opt_d.zero_grad()
            loss_d = bce(disc(fake), (y[:, None] > 0).float())
            loss_d.backward(retain_graph=True)
            opt_d.step()
            opt_g.zero_grad()
            loss_g = bce(disc(fake), eg.ones(z.shape[0], 1))
            loss_g.backward()
            opt_g.step()
            return loss_d, loss_g
        return step, nn.ModuleList([gen, disc]), opt_g
    want, got, fn, warned = _side_by_side(make)
    _same(got, want)
    assert fn.fallback_reason is None and not warned and fn.replays >= 5


def test_a_gradient_hook_added_between_calls_is_seen():
    """register_hook on a parameter after the plan existed: replays ignored the hook."""
    def hook(i, model, opt):
        if i == 5:
            model[0].weight.register_hook(_halve)
    want, got, fn, warned = _side_by_side(_sgd_step(), hook)
    _same(got, want)
    assert len(warned) == 1 and "gradient hook" in fn.fallback_reason


def test_a_step_changing_its_argument_in_place_falls_back_with_eager_values():
    """x.mul_(...) inside the step: traces and replays ran on copies, so the caller's tensor kept its values."""
    def make():
        step, model, opt = _sgd_step()()

        def scaling(x, y):
            x.mul_(2.0)
            return step(x, y)
        return scaling, model, opt
    want, got, fn, warned = _side_by_side(make)
    _same(got, want)
    assert len(warned) == 1 and "changes an argument in place" in fn.fallback_reason


def test_instance_norm_running_statistics_compile():
    """InstanceNorm2d(track_running_stats=True) updated its statistics in NumPy the tracer did not see: the first
    replay's check fell back (now an in-place step of the plan)."""
    def make():
        eg.manual_seed(0)
        model = nn.Sequential(nn.Unflatten(1, (1, 2, 2)), nn.Conv2d(1, 4, 2, padding=1),
                              nn.InstanceNorm2d(4, affine=True, track_running_stats=True), nn.ReLU(), nn.Flatten(),
                              nn.Linear(36, 3))
        opt = eg.optim.Adam(model.parameters(), lr=0.01)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step, model, opt
    want, got, fn, warned = _side_by_side(make)
    _same(got, want)
    assert fn.fallback_reason is None and not warned and fn.replays >= 5


def test_a_signature_that_changes_at_every_call_falls_back_naming_it():
    """A module attribute the step increments (now part of the signature): every call traced again; after
    eight in a row the step runs eagerly with one warning naming what changed."""
    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            return self.lin(x)

    want, got, fn, warned = _side_by_side(_sgd_step(momentum=0.0, build=Counting), n=12)
    _same(got, want)
    assert len(warned) == 1 and "signature changed at 8 calls in a row" in fn.fallback_reason
    assert "Python attribute" in fn.fallback_reason


def test_the_first_replays_check_names_what_differed():
    """A step that reseeds the generator itself falls back at the first replay's check, naming the generator."""
    def make():
        step, model, opt = _sgd_step({"p": 0.3})()

        def seeded(x, y):
            eg.manual_seed(7)
            return step(x, y)
        return seeded, model, opt
    want, got, fn, warned = _side_by_side(make)
    _same(got, want)
    assert len(warned) == 1 and "a generator's state" in fn.fallback_reason


def test_a_module_attribute_that_stops_being_a_number_leaves_the_signature():
    """The signature reads the modules' plain attributes through a cached getter: an attribute that held None
    and now holds a list (unhashable) is filtered out again instead of failing the call."""
    class Caching(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)
            self.cache = None

        def forward(self, x):
            return self.lin(x)

    def fill(i, model, opt):
        if i == 5:
            model.cache = [1, 2]
    want, got, fn, warned = _side_by_side(_sgd_step(momentum=0.0, build=Caching), fill, n=12)
    _same(got, want)
    assert fn.fallback_reason is None and not warned and fn.replays >= 5
