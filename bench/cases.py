"""The benchmark cases, shared by the pytest-benchmark suites (bench_*.py) and bench/report.py.

Each ``*_case`` function builds its inputs once and returns ``{implementation: zero-argument callable}``
with the keys "eigengrad", "numpy" (the NumPy reference of ``eigengrad.reference``, the baseline) and
"torch" (only when PyTorch is importable). Every implementation gets inputs of the same shape and
values; in-place steps (SGD) get their own copy of the buffers.
"""
from __future__ import annotations

import ctypes
import glob
import os
import statistics
import time

import numpy as np

import eigengrad as eg
from eigengrad import _kernels as K
from eigengrad import reference as ref

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # the torch columns are left out
    torch = None

IMPLS = ("eigengrad", "numpy", "torch")
MLP_LAYERS = ((784, 512), (512, 256), (256, 10))  # (in_features, out_features)
BATCHES = (32, 128, 1024)
SQUARE = (256, 512, 1024)
GEMM_KINDS = ("forward", "dx", "dw")  # x@W^T+b, dy@W, dy^T@x
ACTIVATIONS = ("relu", "sigmoid", "tanh")
ACT_SHAPES = ((32, 512), (128, 512), (1024, 512), (1024, 4096))
SGD_CONFIGS = {"plain": dict(lr=0.01), "momentum": dict(lr=0.01, momentum=0.9, weight_decay=1e-4)}
TARGETS = {"gemm": 1.2, "activation": 3.0, "sgd": 3.0, "optim": 5.0, "AdamW": 8.0}  # wanted speed-ups over NumPy
OPTIM_RULES = {  # update rule -> options of the benchmarked step (torch.optim's names)
    "SGD": dict(lr=0.01, momentum=0.9, weight_decay=1e-4), "Adam": dict(lr=1e-3), "AdamW": dict(lr=1e-3),
    "NAdam": dict(lr=2e-3), "Adamax": dict(lr=2e-3), "RAdam": dict(lr=1e-3), "Adagrad": dict(lr=1e-2),
    "RMSprop": dict(lr=1e-2), "Adadelta": dict(lr=1.0),
}
OPTIM_LAYOUTS = {"10 x 1M": [(1_000_000,)] * 10}  # plus "MLP 535k", the MLP's six tensors (added below)


def randn(rng, *shape):
    return rng.standard_normal(shape, dtype=np.float32)


# --- threads --------------------------------------------------------------------------------------

def _openblas():
    """NumPy's bundled OpenBLAS (scipy-openblas) as a ctypes library, or None."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "libscipy_openblas*.so*"))
    return ctypes.CDLL(libs[0]) if libs else None


def set_threads(n: int) -> None:
    """The same thread count for eigengrad, PyTorch and NumPy's OpenBLAS (when it can be reached)."""
    eg.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)
    lib = _openblas()
    for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads"):
        if lib is not None and hasattr(lib, name):
            getattr(lib, name)(ctypes.c_int(n))
            return


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}  # --clock: the process's CPU time is steadier
# than wall time on a shared machine, and means the same with one thread


def paired_parser(description: str):
    """An argument parser with the options every paired-rounds table takes: --threads, --quick, --rounds, --clock
    (its function is ``CLOCKS[args.clock]``)."""
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", type=int, default=None, help="threads for eigengrad, torch and OpenBLAS alike")
    p.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    p.add_argument("--rounds", type=int, default=None, help="rounds per row (default: the table's own)")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                   help="wall time, or the process's CPU time (steadier on a shared machine; only with --threads 1)")
    return p


def use_threads(n: int | None) -> None:
    """set_threads(n) when a count is given; then prints the counts in use and torch's version."""
    if n:
        set_threads(n)
    print(f"threads: {thread_counts()}, torch: {torch.__version__ if torch is not None else 'not importable'}")


def table_row(widths, left: int = 1):
    """A function printing a row of cells: the first ``left`` padded on the right, the others right-aligned."""
    def row(cells) -> None:
        print(" | ".join(str(c).ljust(w) if i < left else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))),
              flush=True)
    return row


def table_head(row, cells, widths) -> None:
    row(cells)
    print("-+-".join("-" * w for w in widths))


def ratio_cells(t: dict, r: dict, target: float | None = None, digits: int = 2) -> tuple[list, bool]:
    """The cells "eg (ms)", "numpy (ms)", "np/eg", "torch (ms)", "torch/eg" of a row from its median times t
    and ratios r ("-" for a missing column), and whether torch/eg is below ``target`` (marked "!")."""
    ms = lambda v: "-" if v is None else f"{v * 1e3:.{digits}f}"  # noqa: E731
    below = target is not None and "torch" in r and r["torch"] < target
    return [ms(t["eigengrad"]), ms(t.get("numpy")), f"{r['numpy']:.2f}x" if "numpy" in r else "-", ms(t.get("torch")),
            f"{r['torch']:.2f}x{'!' if below else ''}" if "torch" in r else "-"], below


def thread_counts() -> dict:
    counts = {"eigengrad": eg.get_num_threads()}
    lib = _openblas()
    if lib is not None and hasattr(lib, "scipy_openblas_get_num_threads64_"):
        counts["numpy (OpenBLAS)"] = lib.scipy_openblas_get_num_threads64_()
    if torch is not None:
        counts["torch"] = torch.get_num_threads()
    return counts


# --- GEMM -----------------------------------------------------------------------------------------

def gemm_case(kind: str, n: int, fin: int, fout: int, rng=None) -> dict:
    """One product of a Linear(fin -> fout) layer at batch n: x@W^T+b, dy@W or dy^T@x."""
    rng = rng or np.random.default_rng(0)
    x, w, b, dy = randn(rng, n, fin), randn(rng, fout, fin), randn(rng, fout), randn(rng, n, fout)
    fns = {
        "forward": {"eigengrad": lambda: K.gemm(x, w, bias=b, trans_b=True),
                    "numpy": lambda: ref.gemm(x, w, b, trans_b=True)},
        "dx": {"eigengrad": lambda: K.gemm(dy, w), "numpy": lambda: ref.gemm(dy, w)},
        "dw": {"eigengrad": lambda: K.gemm(dy, x, trans_a=True), "numpy": lambda: ref.gemm(dy, x, trans_a=True)},
    }[kind]
    if torch is not None:
        tx, tw, tb, tdy = map(torch.from_numpy, (x, w, b, dy))
        fns["torch"] = {"forward": lambda: TF.linear(tx, tw, tb), "dx": lambda: torch.mm(tdy, tw),
                        "dw": lambda: torch.mm(tdy.t(), tx)}[kind]
    return fns


def square_gemm_case(n: int, rng=None) -> dict:
    rng = rng or np.random.default_rng(0)
    a, b = randn(rng, n, n), randn(rng, n, n)
    fns = {"eigengrad": lambda: K.gemm(a, b), "numpy": lambda: ref.gemm(a, b)}
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        fns["torch"] = lambda: torch.mm(ta, tb)
    return fns


def gemm_label(kind: str, n: int, fin: int, fout: int) -> str:
    return {"forward": f"x({n}x{fin}) @ W^T({fin}x{fout}) + b",
            "dx": f"dy({n}x{fout}) @ W({fout}x{fin})",
            "dw": f"dy^T({fout}x{n}) @ x({n}x{fin})"}[kind]


# --- activations ----------------------------------------------------------------------------------

def activation_case(kind: str, direction: str, shape: tuple, rng=None) -> dict:
    """Forward y = f(x), or backward dx from (dy, y) as the kernels take it (the saved output y)."""
    rng = rng or np.random.default_rng(0)
    x, dy = randn(rng, *shape), randn(rng, *shape)
    y = getattr(ref, f"{kind}_forward")(x).astype(np.float32)
    if direction == "forward":
        fns = {"eigengrad": lambda: K.activation_forward(kind, x), "numpy": lambda: getattr(ref, f"{kind}_forward")(x)}
    else:
        fns = {"eigengrad": lambda: K.activation_backward(kind, dy, y),
               "numpy": lambda: getattr(ref, f"{kind}_backward")(dy, y)}
    if torch is not None:
        tx, ty, tdy = map(torch.from_numpy, (x, y, dy))
        aten = torch.ops.aten
        fns["torch"] = {
            ("relu", "forward"): lambda: torch.relu(tx),
            ("sigmoid", "forward"): lambda: torch.sigmoid(tx),
            ("tanh", "forward"): lambda: torch.tanh(tx),
            ("relu", "backward"): lambda: aten.threshold_backward(tdy, ty, 0),
            ("sigmoid", "backward"): lambda: aten.sigmoid_backward(tdy, ty),
            ("tanh", "backward"): lambda: aten.tanh_backward(tdy, ty),
        }[kind, direction]
    return fns


# --- SGD ------------------------------------------------------------------------------------------

def mlp(nn):
    """MLP 784-512-256-10 with ReLU, from ``eigengrad.nn`` or ``torch.nn`` (same names)."""
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


def mlp_param_shapes() -> list:
    return [s for fin, fout in MLP_LAYERS for s in ((fout, fin), (fout,))]


OPTIM_LAYOUTS["MLP 535k"] = mlp_param_shapes()


def sgd_flat_case(config: str, rng=None) -> dict:
    """One SGD step over the MLP's 535,818 parameters: kernel and reference on a flat buffer each,
    torch.optim.SGD (foreach) on the six parameter tensors."""
    rng = rng or np.random.default_rng(0)
    hyper = SGD_CONFIGS[config]
    size = sum(int(np.prod(s)) for s in mlp_param_shapes())
    param, grad = randn(rng, size), randn(rng, size) * np.float32(1e-3)
    p_eg, buf_eg = param.copy(), np.zeros_like(param)
    p_np, buf_np = param.copy(), np.zeros_like(param)
    fns = {"eigengrad": lambda: K.sgd_step(p_eg, grad, buf_eg, **hyper, first_step=False),
           "numpy": lambda: ref.sgd_step(p_np, grad, buf_np, **hyper, first_step=False)}
    if torch is not None:
        params = []
        for s in mlp_param_shapes():
            p = torch.nn.Parameter(torch.randn(s))
            p.grad = torch.randn(s) * 1e-3
            params.append(p)
        fns["torch"] = torch.optim.SGD(params, **hyper).step
    return fns


def sgd_optimizer_case(config: str, rng=None) -> dict:
    """``optimizer.step()`` of eg.optim.SGD vs torch.optim.SGD on an MLP whose gradients are present."""
    rng = rng or np.random.default_rng(0)
    model = mlp(eg.nn)
    opt = eg.optim.SGD(model.parameters(), **SGD_CONFIGS[config])
    _with_flat_grads(opt, [randn(rng, *p.shape) * np.float32(1e-3) for p in model.parameters()])
    fns = {"eigengrad": opt.step}
    if torch is not None:
        tmodel = mlp(torch.nn)
        for p in tmodel.parameters():
            p.grad = torch.randn(p.shape) * 1e-3
        fns["torch"] = torch.optim.SGD(tmodel.parameters(), **SGD_CONFIGS[config]).step
    return fns


# --- every update rule: optimizer.step() -----------------------------------------------------------

def _with_flat_grads(opt, grads) -> None:
    """Gradients written where backward writes them: the slots of the optimizer arenas' gradient buffers."""
    params = [p for g in opt.param_groups for p in g["params"]]
    for p, g in zip(params, grads):
        slot = p._arena().grad_slot(p)
        slot[...] = g
        p.grad = eg.Tensor._wrap(slot)
    assert all(arena.unfused_reason() is None for arena in opt.arenas), "not the one-call path"


def torch_optimizer(rule: str, params, hyper: dict):
    """torch.optim's rule with fused=True where PyTorch has a fused CPU kernel, else its default."""
    try:
        return getattr(torch.optim, rule)(params, **hyper, fused=True), "fused"
    except (TypeError, RuntimeError, ValueError):
        return getattr(torch.optim, rule)(params, **hyper), "default"


def optim_case(rule: str, layout: str, rng=None) -> dict:
    """One ``step()`` of the rule over the layout's float32 tensors (state made by a first step):
    eigengrad.optim (one fused call over its flat buffer), the NumPy reference per tensor
    (eigengrad.reference.ReferenceOptimizer) and torch.optim (fused when it has it)."""
    rng = rng or np.random.default_rng(0)
    hyper, shapes = OPTIM_RULES[rule], OPTIM_LAYOUTS[layout]
    values = [randn(rng, *s) for s in shapes]
    grads = [randn(rng, *s) * np.float32(1e-3) for s in shapes]
    opt = getattr(eg.optim, rule)([eg.tensor(v.copy(), requires_grad=True) for v in values], **hyper)
    _with_flat_grads(opt, grads)
    reference = ref.ReferenceOptimizer(rule, [v.copy() for v in values], **hyper)
    fns = {"eigengrad": opt.step, "numpy": lambda: reference.step(grads)}
    if torch is not None:
        params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
        for p, g in zip(params, grads):
            p.grad = torch.from_numpy(g)
        fns["torch"] = torch_optimizer(rule, params, hyper)[0].step
    for fn in fns.values():
        fn()  # the state (moments, step) exists before timing, as in training
    return fns


# --- whole training step --------------------------------------------------------------------------

def training_step(model, opt, loss_fn):
    """step(x, y): zero_grad, forward, loss, backward, optimizer step; returns the loss (eigengrad or torch)."""
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _train_step(lib, n: int, rng):
    """zero_grad, forward, cross-entropy, backward, SGD momentum step; ``lib`` is eigengrad or torch."""
    model = mlp(lib.nn)
    step = training_step(model, lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), lib.nn.CrossEntropyLoss())
    x = lib.from_numpy(randn(rng, n, 784))
    y = lib.from_numpy(rng.integers(0, 10, n, dtype=np.int64))
    return lambda: step(x, y)


def train_case(n: int, rng=None) -> dict:
    rng = rng or np.random.default_rng(0)
    fns = {"eigengrad": _train_step(eg, n, rng)}
    if torch is not None:
        fns["torch"] = _train_step(torch, n, rng)
    return fns


# --- paired rounds (the bench_*.py tables) ------------------------------------------------------------

def paired_rounds(fns: dict, rounds: int, sample, settle_s: float = 0.03) -> tuple:
    """Median seconds per call of each implementation, and the median over rounds of the ratio (time of
    the other / time of eigengrad). A round takes one ``sample(fn)`` (seconds per call) of each
    implementation in turn, in an order that rotates from round to round and after a pause (so the
    previous implementation's idle thread pool has stopped spinning): pairing the samples of a round
    cancels the drift of a loaded machine."""
    samples = {k: [] for k in fns}
    order = list(fns)
    for r in range(rounds):
        for k in order[r % len(order):] + order[:r % len(order)]:
            time.sleep(settle_s)
            samples[k].append(sample(fns[k]))
    medians = {k: statistics.median(v) for k, v in samples.items()}
    ratios = {k: statistics.median(o / e for o, e in zip(v, samples["eigengrad"])) for k, v in samples.items()
              if k != "eigengrad"}
    return medians, ratios


def call_rounds(fns: dict, rounds: int, timer, warmup: int = 1, settle_s: float = 0.03) -> tuple:
    """paired_rounds with one call as one sample (for calls of several milliseconds), after ``warmup`` calls
    of each implementation (allocations, thread pools, an optimizer's state)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()

    def one_call(fn) -> float:
        t0 = timer()
        fn()
        return timer() - t0

    return paired_rounds(fns, rounds, one_call, settle_s)


# The columns of a table of eigengrad (through its autograd), its kernels called directly, the NumPy
# reference and torch, and the cells of one row of it from call_rounds' medians and ratios.
KERNEL_TABLE_HEAD = ["eg (ms)", "eg kern (ms)", "kern/eg", "numpy (ms)", "numpy/eg", "torch (ms)", "torch/eg"]


def kernel_table_cells(medians: dict, ratios: dict) -> list:
    def ms(k):
        return f"{medians[k] * 1e3:.2f}" if k in medians else "-"

    def rt(k):
        return f"{ratios[k]:.2f}x" if k in ratios else "-"

    return [ms("eigengrad"), ms("eigengrad kernels"), rt("eigengrad kernels"), ms("numpy"), rt("numpy"), ms("torch"),
            rt("torch")]


def start_kernel_table(args, first_width: int, default_rounds: int = 21) -> tuple:
    """For a ``paired_parser`` script printing a KERNEL_TABLE_HEAD table: sets the threads, prints the timing
    line and the table's head; returns (rounds, timer, row)."""
    rounds = args.rounds or (5 if args.quick else default_rounds)
    use_threads(args.threads)
    print(f"timing: {rounds} rounds, {args.clock} time; times are medians, ratios the median of the per-round "
          f"ratios other / eigengrad (> 1: eigengrad is faster)")
    widths = (first_width, 10, 12, 9, 12, 9, 12, 9)
    row = table_row(widths)
    table_head(row, ["fwd+bwd"] + KERNEL_TABLE_HEAD, widths)
    return rounds, CLOCKS[args.clock], row
