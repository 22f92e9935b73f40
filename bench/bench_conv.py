"""Convolution and pooling, forward + backward: eigengrad vs the NumPy reference vs PyTorch.

Kernel level, like with like: eigengrad's ``_kernels.conv2d_forward`` + ``conv2d_backward``, the NumPy
reference's functions of the same signature, torch's ``aten.convolution`` + ``aten.convolution_backward``
(oneDNN on CPU); pooling likewise (``aten.max_pool2d_with_indices`` and its backward, ...). The backward
computes the gradients a network needs: the first layer of the CNN example (1 -> 32 on 28 x 28) has no
input gradient, every other row computes input, weight and bias gradients.

Shapes: the Fashion-MNIST CNN's two blocks at batch 128 (Conv 1->32 and 32->64, 3x3, padding 1; MaxPool 2)
3x3 / 5x5 filters on 32 x 32 inputs (16 -> 32 channels, batch 64), two wider 3x3 layers, and a 4x4 stride-2
and a 2x2 layer (Winograd F(4x4, 2x2)). Each row names the algorithm of forward / input gradient / weight
gradient (``_C.conv2d_algorithms``: winograd, direct or lowering). float32. Target: conv fwd+bwd >= 1.0x
PyTorch at the example's shapes.

Time the rows in one process, as the table does: in a fresh process torch's block-2 buffers are mmapped
on every call (about 7,000 page faults a call, 69 ms instead of 50 ms) until earlier large allocations
have raised glibc's mmap threshold, so a block-2 row timed alone flatters eigengrad by ~30%.

    python bench/bench_conv.py [--threads 1] [--quick] [--no-numpy] [--clock cpu]  # one table: medians, ratios
    python -m pytest bench/bench_conv.py --benchmark-only             # pytest-benchmark
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

from cases import randn, torch
from eigengrad import _kernels as K
from eigengrad import reference as ref

# name -> (n, c, h, w, o, k, input gradient wanted[, stride, padding]); stride 1 and padding k // 2 by default
CONVS = {
    "CNN block 1": (128, 1, 28, 28, 32, 3, False),
    "CNN block 2": (128, 32, 14, 14, 64, 3, True),
    "3x3 on 32x32": (64, 16, 32, 32, 32, 3, True),
    "5x5 on 32x32": (64, 16, 32, 32, 32, 5, True),
    # wider 3x3 layers (a VGG / ResNet stage), where the Winograd F(2x2, 3x3) kernel takes forward and dx
    "wide 3x3 (14x14)": (64, 64, 14, 14, 128, 3, True),
    "wide 3x3 (56x56)": (8, 64, 56, 56, 64, 3, True),
    # Winograd F(4x4, 2x2): a DCGAN discriminator's 4x4 stride-2 layer (over its input's phases) and a 2x2 layer
    "DCGAN D": (64, 64, 32, 32, 128, 4, True, 2, 1),
    "2x2 on 32x32": (64, 64, 32, 32, 64, 2, True, 1, 0),
}
EXAMPLE = ("CNN block 1", "CNN block 2")  # the rows with the >= 1.0x torch target
# name -> (kind, input shape, kernel)
POOLS = {
    "MaxPool2d(2) block 1": ("max", (128, 32, 28, 28), 2),
    "MaxPool2d(2) block 2": ("max", (128, 64, 14, 14), 2),
    "AvgPool2d(2)": ("avg", (128, 32, 28, 28), 2),
    "AdaptiveAvgPool2d(1)": ("adaptive", (64, 32, 32, 32), 1),
}
TORCH_TARGET = 1.0


def conv_shape(name: str):
    """(n, c, h, w, o, k, need_x, stride, padding) of a CONVS row."""
    n, c, h, w, o, k, need_x, *rest = CONVS[name]
    s, p = rest or (1, k // 2)
    return n, c, h, w, o, k, need_x, s, p


def conv_case(name: str, rng=None, numpy: bool = True) -> dict:
    rng = rng or np.random.default_rng(0)
    n, c, h, w, o, k, need_x, s, p = conv_shape(name)
    x, wt, b = randn(rng, n, c, h, w), randn(rng, o, c, k, k) * np.float32(0.1), randn(rng, o)
    dy = randn(rng, n, o, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
    opts = ((s, s), (p, p, p, p), (1, 1), 1)
    grads = (need_x, True, True)

    def eg_fn():
        K.conv2d_forward(x, wt, b, *opts)
        return K.conv2d_backward(dy, x, wt, *opts, grads=grads)

    def np_fn():
        ref.conv2d_forward(x, wt, b, *opts)
        return ref.conv2d_backward(dy, x, wt, *opts, grads=grads)

    fns = {"eigengrad": eg_fn}
    if numpy:
        fns["numpy"] = np_fn
    if torch is not None:
        tx, tw, tb, tdy = map(torch.from_numpy, (x, wt, b, dy))
        aten = torch.ops.aten

        def torch_fn():
            aten.convolution(tx, tw, tb, [s, s], [p, p], [1, 1], False, [0, 0], 1)
            return aten.convolution_backward(tdy, tx, tw, [o], [s, s], [p, p], [1, 1], False, [0, 0], 1, list(grads))
        fns["torch"] = torch_fn
    return fns


def pool_case(name: str, rng=None, numpy: bool = True) -> dict:
    rng = rng or np.random.default_rng(0)
    kind, shape, k = POOLS[name]
    x = randn(rng, *shape)
    if kind == "max":
        dy = randn(rng, shape[0], shape[1], shape[2] // k, shape[3] // k)

        def eg_fn():
            _, idx = K.max_pool2d_forward(x, (k, k), (k, k), (0, 0), (1, 1), False)
            return K.max_pool2d_backward(dy, idx, shape, x.dtype)

        def np_fn():
            _, idx = ref.max_pool2d_forward(x, (k, k), (k, k), (0, 0), (1, 1), False)
            return ref.max_pool2d_backward(dy, idx, shape)

        def torch_fn(tx, tdy, aten):
            _, idx = aten.max_pool2d_with_indices(tx, [k, k], [k, k], [0, 0], [1, 1], False)
            return aten.max_pool2d_with_indices_backward(tdy, tx, [k, k], [k, k], [0, 0], [1, 1], False, idx)
    elif kind == "avg":
        dy = randn(rng, shape[0], shape[1], shape[2] // k, shape[3] // k)
        opts = ((k, k), (k, k), (0, 0), False, True, None)

        def eg_fn():
            K.avg_pool2d_forward(x, *opts)
            return K.avg_pool2d_backward(dy, shape, *opts)

        def np_fn():
            ref.avg_pool2d_forward(x, *opts)
            return ref.avg_pool2d_backward(dy, shape, *opts)

        def torch_fn(tx, tdy, aten):
            aten.avg_pool2d(tx, [k, k], [k, k], [0, 0], False, True, None)
            return aten.avg_pool2d_backward(tdy, tx, [k, k], [k, k], [0, 0], False, True, None)
    else:
        dy = randn(rng, shape[0], shape[1], k, k)

        def eg_fn():
            K.adaptive_avg_pool2d_forward(x, (k, k))
            return K.adaptive_avg_pool2d_backward(dy, shape)

        def np_fn():
            ref.adaptive_avg_pool2d_forward(x, (k, k))
            return ref.adaptive_avg_pool2d_backward(dy, shape)

        def torch_fn(tx, tdy, aten):
            aten._adaptive_avg_pool2d(tx, [k, k])
            return aten._adaptive_avg_pool2d_backward(tdy, tx)
    fns = {"eigengrad": eg_fn}
    if numpy:
        fns["numpy"] = np_fn
    if torch is not None:
        tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
        fns["torch"] = lambda: torch_fn(tx, tdy, torch.ops.aten)
    return fns


def label(name: str) -> str:
    if name in CONVS:
        n, c, h, w, o, k, need_x, s, p = conv_shape(name)
        x, wt = np.zeros((n, c, h, w), np.float32), np.zeros((o, c, k, k), np.float32)
        a = K._C.conv2d_algorithms(x, wt, (s, s), (p,) * 4, (1, 1), 1)  # the algorithm each pass takes
        how = f"[{a['forward']}/{a['input_grad'] if need_x else '-'}/{a['weight_grad']}]"
        stride = f" s{s}" if s > 1 else ""
        return f"{name}: {c}->{o} {k}x{k}{stride} on {n}x{h}x{w} {how}"
    kind, shape, k = POOLS[name]
    return f"{name} on {'x'.join(map(str, shape))}"


ROWS = [(name, impl) for name in (*CONVS, *POOLS) for impl in ("eigengrad", "numpy", "torch")]


@pytest.mark.parametrize("name,impl", ROWS, ids=["-".join(r).replace(" ", "_") for r in ROWS])
def test_conv_pool_forward_backward(bench, name, impl):
    build = conv_case if name in CONVS else pool_case
    bench(f"{label(name)} fwd+bwd", build(name), impl)


# --- the table (python bench/bench_conv.py) -----------------------------------------------------------

def measure(fns: dict, rounds: int, block_s: float, clock) -> tuple:
    """cases.paired_rounds with a block of about ``block_s`` of calls as one sample."""
    import cases

    for fn in fns.values():  # warm-up: allocations, thread pools, oneDNN's primitive cache
        fn(), fn()

    def block(fn) -> float:
        start, calls = clock(), 0
        while clock() - start < block_s or calls < 2:
            fn()
            calls += 1
        return (clock() - start) / calls

    return cases.paired_rounds(fns, rounds, block, settle_s=0.02)


def block_table(description: str, argv=None, add_options=None) -> tuple:
    """What a table timed in blocks (measure) starts with: cases.paired_parser's options, --no-numpy and
    those ``add_options(parser)`` adds, parsed; the threads set and the timing printed. Returns
    (args, rounds, block seconds, clock)."""
    import cases

    p = cases.paired_parser(description)
    p.add_argument("--no-numpy", action="store_true", help="leave out the (slow) NumPy reference column")
    if add_options:
        add_options(p)
    args = p.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 15)
    block_s = 0.1 if args.quick else 0.25
    cases.use_threads(args.threads)
    print(f"timing ({args.clock} clock): {rounds} rounds of one ~{block_s * 1e3:.0f} ms block per implementation; "
          f"times are medians, ratios the median of the per-round ratios (> 1: eigengrad is faster)")
    return args, rounds, block_s, cases.CLOCKS[args.clock]


def main(argv=None) -> int:
    import cases

    args, rounds, block_s, clock = block_table("conv2d and pooling fwd+bwd: eigengrad vs NumPy reference vs torch", argv)
    widths = (72, 10, 10, 7, 10, 8)
    row = cases.table_row(widths)
    cases.table_head(row, ["fwd+bwd, float32", "eg (ms)", "numpy (ms)", "np/eg", "torch (ms)", "torch/eg"], widths)
    misses = []
    for name in (*CONVS, *POOLS):
        build = conv_case if name in CONVS else pool_case
        t, r = measure(build(name, numpy=not args.no_numpy), rounds, block_s, clock)
        cells, below = cases.ratio_cells(t, r, TORCH_TARGET if name in EXAMPLE else None)
        if below:
            misses.append(f"{label(name)}: {r['torch']:.2f}x < {TORCH_TARGET}x torch")
        row([label(name)] + cells)
    print("below target: " + "; ".join(misses) if misses else
          f"the example's conv rows meet the target (>= {TORCH_TARGET}x torch)" if torch is not None else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
