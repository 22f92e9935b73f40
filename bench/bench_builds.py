"""Two builds of eigengrad side by side: the same training steps timed in paired, interleaved rounds.

    python bench/bench_builds.py BEFORE_DIR AFTER_DIR [--rounds 21] [--cases "digits epoch,train b128"]

A build directory holds an ``eigengrad`` package with its compiled module(s): for an editable install,
copy ``python/eigengrad`` and the compiled ``_C*.so`` next to its files into ``DIR/eigengrad``. The
workers run with ``python -S`` (site-packages added by hand), so an editable install's import hook does
not pick the package.
Each build runs in its own worker process on one thread (``OMP_NUM_THREADS=1``) and times with the
process's CPU clock; a round asks both workers for one sample each, in an order that alternates, so a slow
spell of a shared machine hits both. Printed per case: the medians and the median of the per-round ratios
AFTER / BEFORE (below 1: the after build is faster), with the quartiles of the ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import site
import statistics
import subprocess
import sys

WORKER = r'''
import json, sys, time
sys.path[:0] = [sys.argv[1]] + json.loads(sys.argv[2])  # the build first; -S: no .pth (editable) finders
import numpy as np
import eigengrad as eg

eg.set_num_threads(1)
rng = np.random.default_rng(0)


def mlp(sizes):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [eg.nn.Linear(a, b), eg.nn.ReLU()]
    return eg.nn.Sequential(*layers[:-1])


def train_step(n):
    eg.manual_seed(0)
    model = mlp([784, 512, 256, 10])
    opt = eg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = eg.from_numpy(rng.standard_normal((n, 784), dtype=np.float32))
    y = eg.from_numpy(rng.integers(0, 10, n))

    def step():
        opt.zero_grad()
        eg.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def digits_epoch():
    X, Y = eg.datasets.load_digits(return_X_y=True)
    X = (X / 16).astype("float32")
    eg.manual_seed(0)
    model = mlp([64, 128, 10])
    opt = eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = eg.data.DataLoader(eg.data.TensorDataset(X, Y), batch_size=32, shuffle=True)

    def epoch():
        for xb, yb in loader:
            opt.zero_grad()
            eg.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
    return epoch


def gemm_products(kind):
    """One call of each of the 9 MLP-layer products of ``kind`` (issue 15's GEMM table: x@W^T+b, dy@W or
    dy^T@x at batch 32, 128 and 1024 for 784-512-256-10)."""
    from eigengrad import _kernels as K

    calls = []
    for n in (32, 128, 1024):
        for fin, fout in ((784, 512), (512, 256), (256, 10)):
            x, w = rng.standard_normal((n, fin), dtype=np.float32), rng.standard_normal((fout, fin), dtype=np.float32)
            b, dy = rng.standard_normal(fout, dtype=np.float32), rng.standard_normal((n, fout), dtype=np.float32)
            calls.append({"forward": lambda x=x, w=w, b=b: K.gemm(x, w, bias=b, trans_b=True),
                          "dx": lambda dy=dy, w=w: K.gemm(dy, w),
                          "dw": lambda dy=dy, x=x: K.gemm(dy, x, trans_a=True)}[kind])

    def run():
        for c in calls:
            c()
    return run


def optimizer_step(rule, shapes, **hyper):
    params = [eg.nn.Parameter(eg.tensor(rng.standard_normal(s).astype(np.float32))) for s in shapes]
    opt = getattr(eg.optim, rule)(params, **hyper)
    sum((p * p).sum() for p in params).backward()  # gradients where backward writes them
    opt.step()
    return opt.step


MLP = [(512, 784), (512,), (256, 512), (256,), (10, 256), (10,)]
CASES = {
    "digits epoch": digits_epoch,
    "gemm forward x9": lambda: gemm_products("forward"),
    "gemm dx x9": lambda: gemm_products("dx"),
    "gemm dw x9": lambda: gemm_products("dw"),
    "train b32": lambda: train_step(32),
    "train b128": lambda: train_step(128),
    "SGD.step MLP 535k": lambda: optimizer_step("SGD", MLP, lr=0.01, momentum=0.9, weight_decay=1e-4),
    "Adam.step MLP 535k": lambda: optimizer_step("Adam", MLP, lr=1e-3),
    "SGD.step 10 x 1M": lambda: optimizer_step("SGD", [(1_000_000,)] * 10, lr=0.01, momentum=0.9),
    "AdamW.step 10 x 1M": lambda: optimizer_step("AdamW", [(1_000_000,)] * 10, lr=1e-3),
}
made = {}
for line in sys.stdin:
    name, calls = line.rsplit(" ", 1)
    if name not in made:
        made[name] = CASES[name]()
        made[name]()
    fn, calls = made[name], int(calls)
    t0 = time.process_time()
    for _ in range(calls):
        fn()
    print(json.dumps((time.process_time() - t0) / calls), flush=True)
'''

CASES = ("digits epoch", "gemm forward x9", "gemm dx x9", "gemm dw x9", "train b32", "train b128", "SGD.step MLP 535k", "Adam.step MLP 535k", "SGD.step 10 x 1M",
         "AdamW.step 10 x 1M")


class Worker:
    """One build in its own process, answering "case calls" with seconds of CPU time per call."""

    def __init__(self, build_dir: str) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        # -S keeps an editable install's import hook away, so the build directory decides what is imported
        paths = json.dumps(site.getsitepackages())
        self.proc = subprocess.Popen([sys.executable, "-S", "-c", WORKER, build_dir, paths], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def sample(self, case: str, calls: int) -> float:
        self.proc.stdin.write(f"{case} {calls}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker for case {case!r} stopped (see its error above)")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated, from: " + ", ".join(CASES))
    p.add_argument("--seconds", type=float, default=0.2, help="CPU time of one sample")
    args = p.parse_args(argv)
    for d in (args.before, args.after):
        if not os.path.isdir(os.path.join(d, "eigengrad")):
            p.error(f"{d}: expected a directory holding an eigengrad package")
    workers = {"before": Worker(args.before), "after": Worker(args.after)}
    print(f"{'case':20s} {'before ms':>10s} {'after ms':>10s} {'after/before':>12s} {'quartiles':>13s}")
    try:
        for case in args.cases.split(","):
            calls = max(1, int(args.seconds / max(workers["before"].sample(case, 1), 1e-7)))
            workers["after"].sample(case, calls)  # warm-up of the same length
            samples = {"before": [], "after": []}
            for r in range(args.rounds):
                for k in (("before", "after") if r % 2 == 0 else ("after", "before")):
                    samples[k].append(workers[k].sample(case, calls))
            ratios = [a / b for a, b in zip(samples["after"], samples["before"])]
            q = statistics.quantiles(ratios, n=4)
            print(f"{case:20s} {statistics.median(samples['before']) * 1e3:10.3f} "
                  f"{statistics.median(samples['after']) * 1e3:10.3f} {statistics.median(ratios):12.3f} "
                  f"{q[0]:6.3f}-{q[2]:.3f}", flush=True)
    finally:
        for w in workers.values():
            w.close()


if __name__ == "__main__":
    main()
