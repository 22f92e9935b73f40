"""eg.compile's BatchNorm -> ReLU [-> Dropout] fusions (compile/fuse.py): the fused kernels against the NumPy
reference and, bit for bit, against the three kernels they replace; where the plan rewrite applies and
where it must not."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _kernels, nn, reference as R
from compile_cases import batches, make_step, mlp, step_of

C = _kernels._C
THRESHOLD = int(round(0.8 * 2**32))
SCALE = 1 / 0.8


def _bn_args(rng, n, c, s, dtype):
    x = rng.standard_normal((n, c, s)).astype(dtype) * 3 + 0.5
    w = rng.uniform(0.5, 2.0, c).astype(dtype)
    b = rng.standard_normal(c).astype(dtype)
    return x, w, b, rng.standard_normal(c).astype(dtype), rng.uniform(0.5, 2.0, c).astype(dtype)


def _unfused(x, w, b, rm, rv, seed, offset):
    """batch_norm_forward, relu_forward, dropout_forward in turn (what eager mode runs)."""
    y = np.empty_like(x)
    sm, si = np.empty(x.shape[1]), np.empty(x.shape[1])
    C.batch_norm_forward(x, w, b, rm, rv, y, sm, si, True, 0.1, 1e-5)
    r = np.empty_like(y)
    C.relu_forward(y.reshape(-1), r.reshape(-1))
    out, mask = np.empty_like(r), np.empty(r.size, np.uint8)
    C.dropout_forward(r.reshape(-1), out.reshape(-1), mask, seed, offset, THRESHOLD, SCALE)
    return out, sm, si, rm, rv, r, mask


def _fused(x, w, b, rm, rv, seed, offset):
    out, mask = np.full_like(x, np.nan), np.full(x.size, 9, np.uint8)
    sm, si = np.empty(x.shape[1]), np.empty(x.shape[1])
    C.batch_norm_relu_dropout_forward(x, w, b, rm, rv, out, sm, si, mask, seed, offset, THRESHOLD, SCALE, 0.1, 1e-5)
    return out, sm, si, rm, rv, mask


SHAPES = [(1, 1, 2), (2, 1, 1), (7, 13, 1), (32, 512, 1), (3, 5, 17), (4, 3, 1000), (131, 257, 1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fused_forward_and_backward_are_the_three_kernels_bit_for_bit(shape, dtype):
    rng = np.random.default_rng(sum(shape))
    x, w, b, rm, rv = _bn_args(rng, *shape, dtype)
    seed, offset = int(rng.integers(2**62)), int(rng.integers(2**40))
    out, sm, si, rm1, rv1, relu_out, keep = _unfused(x, w, b, rm.copy(), rv.copy(), seed, offset)
    fout, fsm, fsi, rm2, rv2, mask = _fused(x, w, b, rm.copy(), rv.copy(), seed, offset)
    for u, v in [(out, fout), (sm, fsm), (si, fsi), (rm1, rm2), (rv1, rv2)]:
        assert u.tobytes() == v.tobytes()
    assert np.array_equal(mask & 1, keep) and np.array_equal(mask >> 1, (relu_out.reshape(-1) > 0).astype(np.uint8))
    assert 0 < (mask & 1).mean() <= 1 and set(np.unique(mask)) <= {0, 1, 2, 3}
    relu_fused, rsm, rsi = np.full_like(x, np.nan), np.empty(shape[1]), np.empty(shape[1])
    rm3, rv3 = rm.copy(), rv.copy()
    C.batch_norm_relu_forward(x, w, b, rm3, rv3, relu_fused, rsm, rsi, 0.1, 1e-5)
    for u, v in [(relu_out, relu_fused), (sm, rsm), (si, rsi), (rm1, rm3), (rv1, rv3)]:
        assert u.tobytes() == v.tobytes()
    gy = rng.standard_normal(x.shape).astype(dtype)
    g1, g2 = np.empty_like(gy), np.empty_like(gy)
    C.masked_scale(gy.reshape(-1, 1), keep, g1.reshape(-1, 1), SCALE)
    C.relu_backward(g1.reshape(-1), relu_out.reshape(-1), g1.reshape(-1))
    C.relu_dropout_backward(gy, mask, g2, SCALE)
    assert g1.tobytes() == g2.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 3, 1), (64, 129, 1), (2, 7, 31)], ids=str)
def test_fused_kernels_match_the_reference(shape, dtype):
    rng = np.random.default_rng(7)
    x, w, b, rm, rv = _bn_args(rng, *shape, dtype)
    seed, offset = 12345, 678
    out, sm, si, rm2, rv2, mask = _fused(x, w, b, rm.copy(), rv.copy(), seed, offset)
    ref_rm, ref_rv = rm.astype(np.float64), rv.astype(np.float64)
    y, mean, invstd, ref_mask = R.batch_norm_relu_dropout_forward(x.astype(np.float64), w.astype(np.float64),
                                                                  b.astype(np.float64), ref_rm, ref_rv, 0.1, 1e-5,
                                                                  seed, offset, THRESHOLD, SCALE)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, y, rtol=tol, atol=tol)
    np.testing.assert_allclose(sm, mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(si, invstd, rtol=1e-10)
    np.testing.assert_allclose(rm2, ref_rm, rtol=tol, atol=tol)
    np.testing.assert_allclose(rv2, ref_rv, rtol=tol, atol=tol)
    assert np.array_equal(mask, ref_mask)
    r, rsm, rsi = np.empty_like(x), np.empty(shape[1]), np.empty(shape[1])
    C.batch_norm_relu_forward(x, w, b, rm.copy(), rv.copy(), r, rsm, rsi, 0.1, 1e-5)
    ref_r, _, _ = R.batch_norm_relu_forward(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                                            None, None, 0.1, 1e-5)
    np.testing.assert_allclose(r, ref_r, rtol=tol, atol=tol)
    gy = rng.standard_normal(shape).astype(dtype)
    gx = np.empty_like(gy)
    C.relu_dropout_backward(gy, mask, gx, SCALE)
    np.testing.assert_array_equal(gx, R.relu_dropout_backward(gy, mask, SCALE))


def test_special_values_follow_relu_and_dropout():
    """NaN stays NaN through ReLU; -0 stays -0 and counts as not positive; the backward of a dropped or
    clipped element is 0 where relu_backward's select gives 0 (not NaN for an infinite gradient)."""
    y = np.array([np.nan, -0.0, 0.0, -np.inf, np.inf, 2.0, -3.0, 1e-30], np.float32)
    mask = np.zeros(y.size, np.uint8)
    C.bernoulli_mask(mask, 5, 9, THRESHOLD)
    relu = np.empty_like(y)
    C.relu_forward(y, relu)
    expect, expect_mask = np.empty_like(y), np.empty_like(mask)
    C.dropout_forward(relu, expect, expect_mask, 5, 9, THRESHOLD, SCALE)
    # the span routine through a one-channel BatchNorm would renormalise: check it through the reference
    r, m = R.relu_dropout_forward(y, 5, 9, THRESHOLD, SCALE)
    assert r.tobytes() == expect.tobytes() and np.array_equal(m & 1, expect_mask)
    gy = np.array([np.inf, 1.0, -1.0, np.nan, 2.0, -2.0, np.inf, 3.0], np.float32)
    g_ref = np.empty_like(gy)
    C.masked_scale(gy.reshape(-1, 1), expect_mask, g_ref.reshape(-1, 1), SCALE)
    C.relu_backward(g_ref, relu, g_ref)
    g = np.empty_like(gy)
    C.relu_dropout_backward(gy, m, g, SCALE)
    assert g.tobytes() == g_ref.tobytes()


def test_zero_size_batch():
    x = np.zeros((0, 4, 1), np.float32)
    out, mask = np.zeros_like(x), np.zeros(0, np.uint8)
    sm, si = np.empty(4), np.empty(4)
    rm, rv = np.zeros(4, np.float32), np.ones(4, np.float32)
    C.batch_norm_relu_dropout_forward(x, None, None, rm, rv, out, sm, si, mask, 1, 2, THRESHOLD, SCALE, 0.1, 1e-5)
    assert np.array_equal(rm, np.zeros(4)) and np.array_equal(rv, np.ones(4))  # left alone, as PyTorch
    g = np.zeros((0, 4), np.float32)
    C.relu_dropout_backward(g, mask, g, SCALE)


def test_bad_arguments_name_the_argument():
    x, w, b, rm, rv = _bn_args(np.random.default_rng(0), 4, 3, 1, np.float32)
    out, sm, si = np.empty_like(x), np.empty(3), np.empty(3)
    with pytest.raises(TypeError, match="mask: expected a uint8 array"):
        C.batch_norm_relu_dropout_forward(x, w, b, rm, rv, out, sm, si, np.zeros(12, np.float32), 1, 2, THRESHOLD,
                                          SCALE, 0.1, 1e-5)
    with pytest.raises(ValueError, match="mask"):
        C.batch_norm_relu_dropout_forward(x, w, b, rm, rv, out, sm, si, np.zeros(11, np.uint8), 1, 2, THRESHOLD,
                                          SCALE, 0.1, 1e-5)
    with pytest.raises(ValueError, match="threshold"):
        C.batch_norm_relu_dropout_forward(x, w, b, rm, rv, out, sm, si, np.zeros(12, np.uint8), 1, 2, 2**32 + 1,
                                          SCALE, 0.1, 1e-5)
    with pytest.raises(ValueError, match="mask"):
        C.relu_dropout_backward(x, np.zeros(5, np.uint8), out, SCALE)


def test_fused_results_do_not_depend_on_threads(restore_threads):
    rng = np.random.default_rng(3)
    x, w, b, rm, rv = _bn_args(rng, 300, 257, 1, np.float32)
    results = []
    for t in (1, 2):
        eg.set_num_threads(t)
        out, *_, mask = _fused(x, w, b, rm.copy(), rv.copy(), 11, 22)
        g = np.empty_like(out)
        C.relu_dropout_backward(out, mask, g, SCALE)
        results.append((out.tobytes(), mask.tobytes(), g.tobytes()))
    assert results[0] == results[1]


def _plan(step, data):
    fn = eg.compile(step)
    for x, y in data:
        fn(x, y)
    return fn, next(iter(fn._plans.values())).plan


def test_the_issue_mlp_fuses_both_blocks_and_trains_as_eager():
    """(test_compile's fifty-step comparisons run the same MLP; here the rewrite's count and one run.)"""
    step, *_ = make_step()
    fn, plan = _plan(step, batches(4))
    assert plan.fused == 2


def _model_step(blocks, seed=0):
    eg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 16), *blocks, nn.Linear(16, 10))
    opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return step_of(model, opt, nn.CrossEntropyLoss()), model


@pytest.mark.parametrize("blocks, fused", [
    (lambda: [nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3)], 1),
    (lambda: [nn.BatchNorm1d(16), nn.ReLU()], 1),                      # no dropout: batch_norm_relu_forward
    (lambda: [nn.BatchNorm1d(16), nn.Dropout(0.3), nn.ReLU()], 0),     # another order
    (lambda: [nn.BatchNorm1d(16, affine=False), nn.ReLU(), nn.Dropout(0.5)], 1),
    (lambda: [nn.BatchNorm1d(16, track_running_stats=False), nn.ReLU(), nn.Dropout(0.1)], 1),
    (lambda: [nn.ReLU(), nn.Dropout(0.3)], 1),                        # Linear -> ReLU -> Dropout: the GEMM's epilogue
    (lambda: [nn.ReLU()], 0),                                          # Linear -> ReLU: left as two kernels
    (lambda: [nn.Dropout(0.3), nn.ReLU()], 0),
    (lambda: [nn.Tanh(), nn.Dropout(0.3)], 0),                        # another activation: not fused
], ids=["bn-relu-dropout", "bn-relu", "bn-dropout-relu", "no-affine", "no-running-stats", "linear-relu-dropout",
        "linear-relu", "linear-dropout-relu", "linear-tanh-dropout"])
def test_rewrite_applies_exactly_to_the_pattern_and_keeps_eager_numbers(blocks, fused):
    data = batches(6, n=16, n_in=20)
    results = []
    for compiled in (False, True):
        step, model = _model_step(blocks())
        fn = eg.compile(step) if compiled else step
        losses = [float(fn(x, y)) for x, y in data]
        results.append((losses, [p._data.tobytes() for p in model.parameters()],
                        [b._data.tobytes() for _, b in model.named_buffers()]))
        if compiled:
            assert fn.fallback_reason is None and next(iter(fn._plans.values())).plan.fused == fused
    assert results[0] == results[1]


def _returning_step():
    eg.manual_seed(0)
    bn, drop, head = nn.BatchNorm1d(16), nn.Dropout(0.2), nn.Linear(16, 10)
    lin = nn.Linear(20, 16)
    opt = eg.optim.SGD(list(lin.parameters()) + list(bn.parameters()) + list(head.parameters()), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        h = nn.functional.relu(bn(lin(x)))
        loss = nn.functional.cross_entropy(head(drop(h)), y)
        loss.backward()
        opt.step()
        return loss, h

    return step


def test_a_block_whose_activations_are_returned_is_not_fused():
    """The ReLU's output is read after the step: the BatchNorm -> ReLU -> Dropout kernel, which never stores it,
    must not run (the BatchNorm -> ReLU one, which writes it, may)."""
    data = batches(6, n=16, n_in=20)
    runs = []
    for fn in (_returning_step(), None):  # one after the other: each from the same seed
        fn = fn or eg.compile(_returning_step())
        runs.append([(loss.detach().numpy().tobytes(), h.detach().numpy().tobytes())
                     for loss, h in (fn(x, y) for x, y in data)])
    assert runs[0] == runs[1]
    compiled = fn
    plan = next(iter(compiled._plans.values())).plan
    names = [op.name for op in plan.ops if op.kind == "kernel"]
    assert plan.fused == 1 and "batch_norm_relu_forward" in names and "dropout_forward" in names
    assert "batch_norm_relu_dropout_forward" not in names and "relu_backward" in names


def test_the_cnn_blocks_fuse_batchnorm_and_relu():
    """Conv -> BatchNorm2d -> ReLU -> MaxPool (the CNN example's block): the pair fuses, the numbers stay."""
    data = [(eg.randn(4, 1, 8, 8), eg.randint(0, 3, (4,))) for _ in range(4)]
    results = []
    for compiled in (False, True):
        eg.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(64, 3))
        opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        step = step_of(model, opt, nn.CrossEntropyLoss())
        fn = eg.compile(step) if compiled else step
        losses = [float(fn(x, y)) for x, y in data]
        results.append((losses, [p._data.tobytes() for p in model.parameters()],
                        [b._data.tobytes() for _, b in model.named_buffers()]))
        if compiled:
            plan = next(iter(fn._plans.values())).plan
            assert fn.fallback_reason is None and plan.fused == 1 and plan.fused_pools == 2  # pool: both ways
            names = [op.name for op in plan.ops if op.kind == "kernel"]
            assert "batch_norm_relu_max_pool2d_forward" in names and "max_pool2d_forward" not in names
    assert results[0] == results[1]


# --- ReLU -> MaxPool backward: the ReLU's mask in the pool's backward -------------------------------------

POOLS = [((2, 2), (2, 2), (0, 0), (1, 1), False), ((3, 3), (1, 1), (1, 1), (1, 1), False),
         ((3, 2), (2, 1), (1, 0), (1, 2), True), ((1, 1), (1, 1), (0, 0), (1, 1), False)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", POOLS, ids=str)
@pytest.mark.parametrize("shape", [(1, 1, 1), (6, 7, 9), (64, 28, 28), (0, 4, 4)], ids=str)
def test_pool_relu_backward_is_the_two_kernels_bit_for_bit(shape, pool, dtype, restore_threads):
    kernel, stride, padding, dilation, ceil = pool
    rng = np.random.default_rng(sum(shape))
    planes, h, w = shape
    h, w = max(h, dilation[0] * (kernel[0] - 1) + 1), max(w, dilation[1] * (kernel[1] - 1) + 1)
    x = rng.standard_normal((planes, h, w)).astype(dtype)
    x[x < -1.5] = np.nan  # NaN wins a window: its pooled value is NaN, not > 0
    relu = np.empty_like(x)
    C.relu_forward(x.reshape(-1), relu.reshape(-1))
    oh, ow = (C.pool2d_output_size(n, k, p, s, d, ceil) for n, k, p, s, d in
              zip((h, w), kernel, padding, stride, dilation))
    y, idx = np.empty((planes, oh, ow), dtype), np.empty((planes, oh, ow), np.int64)
    C.max_pool2d_forward(relu, y, idx, kernel, stride, padding, dilation, ceil)
    g = rng.standard_normal(y.shape).astype(dtype)
    g.reshape(-1)[:3] = np.nan  # a NaN gradient where the ReLU is off must stay 0
    d, expected = np.empty_like(x), np.empty_like(x)
    C.max_pool2d_backward(g, idx, d)
    C.relu_backward(d.reshape(-1), relu.reshape(-1), expected.reshape(-1))
    for threads in (1, 2):
        eg.set_num_threads(threads)
        got = np.full_like(x, 7.0)
        C.max_pool2d_relu_backward(g, idx, y, got)
        assert got.tobytes() == expected.tobytes()
    np.testing.assert_array_equal(got, R.max_pool2d_relu_backward(g[None], idx[None], y[None], (1, *x.shape))[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", POOLS, ids=str)
@pytest.mark.parametrize("shape", [(2, 1, 1, 1), (3, 5, 7, 9), (16, 32, 28, 28), (0, 3, 4, 4), (1, 2, 1, 3)],
                         ids=str)
def test_bn_relu_pool_forward_is_the_two_kernels_bit_for_bit(shape, pool, dtype, restore_threads):
    kernel, stride, padding, dilation, ceil = pool
    n, c, h, w = shape
    h, w = max(h, dilation[0] * (kernel[0] - 1) + 1), max(w, dilation[1] * (kernel[1] - 1) + 1)
    if n * h * w == 1:
        n = 2
    rng = np.random.default_rng(n + c + h + w)
    x, wt, b, rm, rv = _bn_args(rng, n, c, h * w, dtype)
    x.reshape(-1)[::97] = np.nan  # a NaN propagates through BatchNorm and wins its windows
    oh, ow = (C.pool2d_output_size(m, k, p, s_, d, ceil) for m, k, p, s_, d in
              zip((h, w), kernel, padding, stride, dilation))
    relu = np.empty_like(x)
    sm, si, rm1, rv1 = np.empty(c), np.empty(c), rm.copy(), rv.copy()
    C.batch_norm_relu_forward(x, wt, b, rm1, rv1, relu, sm, si, 0.1, 1e-5)
    y, idx = np.empty((n * c, oh, ow), dtype), np.empty((n * c, oh, ow), np.int64)
    C.max_pool2d_forward(relu.reshape(n * c, h, w), y, idx, kernel, stride, padding, dilation, ceil)
    for threads in (1, 2):
        eg.set_num_threads(threads)
        fy, fidx = np.full_like(y, 5.0), np.full_like(idx, -9)
        fsm, fsi, rm2, rv2 = np.empty(c), np.empty(c), rm.copy(), rv.copy()
        C.batch_norm_relu_max_pool2d_forward(x, wt, b, rm2, rv2, fy, fidx, fsm, fsi, 0.1, 1e-5, (h, w), kernel,
                                             stride, padding, dilation, ceil)
        for u, v in [(y, fy), (idx, fidx), (sm, fsm), (si, fsi), (rm1, rm2), (rv1, rv2)]:
            assert u.tobytes() == v.tobytes()
    if y.size:
        assert (fy[np.isfinite(fy)] >= 0).all() and np.isnan(fy).any() == np.isnan(x).any()


def test_bn_relu_pool_forward_bad_arguments_name_the_argument():
    x, wt, b, rm, rv = _bn_args(np.random.default_rng(0), 2, 3, 16, np.float32)
    y, idx, sm, si = np.empty((6, 2, 2), np.float32), np.empty((6, 2, 2), np.int64), np.empty(3), np.empty(3)
    args = dict(input=x, weight=wt, bias=b, running_mean=rm, running_var=rv, out=y, indices=idx, save_mean=sm,
                save_invstd=si, momentum=0.1, eps=1e-5, input_size=(4, 4), kernel_size=2, stride=2, padding=0,
                dilation=1, ceil_mode=False)
    C.batch_norm_relu_max_pool2d_forward(**args)
    for bad, error, match in [
            (dict(input_size=(4, 5)), ValueError, "input_size"),
            (dict(out=np.empty((6, 3, 2), np.float32)), ValueError, "out"),
            (dict(indices=np.empty((6, 2, 2), np.int32)), TypeError, "indices"),
            (dict(kernel_size=5), ValueError, "kernel_size"), (dict(padding=2), ValueError, "padding"),
            (dict(out=x.reshape(-1)[:24].reshape(6, 2, 2)), ValueError, "out.*input"),
            (dict(running_mean=rm[:2]), ValueError, "running_mean")]:
        with pytest.raises(error, match=match):
            C.batch_norm_relu_max_pool2d_forward(**{**args, **bad})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_relu_backward_skips_windows_without_input(dtype):
    """A window lying wholly in the padding has index -1: skipped by both ways (no write out of the plane)."""
    relu = np.abs(np.random.default_rng(0).standard_normal((3, 4, 4))).astype(dtype)
    relu[1] = 0  # a plane the ReLU zeroed: every mask off
    y, idx = np.empty((3, 2, 2), dtype), np.empty((3, 2, 2), np.int64)
    C.max_pool2d_forward(relu, y, idx, 2, 2, 0, 1, False)
    idx[0, 0, 0] = idx[2, 1, 1] = -1  # as max_pool2d_forward gives a window without input position
    g = np.arange(1, 13, dtype=dtype).reshape(y.shape)
    d, want, got = np.empty_like(relu), np.empty_like(relu), np.full_like(relu, 7.0)
    C.max_pool2d_backward(g, idx, d)
    C.relu_backward(d.reshape(-1), relu.reshape(-1), want.reshape(-1))
    C.max_pool2d_relu_backward(g, idx, y, got)
    assert got.tobytes() == want.tobytes() and not got[1].any()
    assert np.count_nonzero(got[0]) == 3 and np.count_nonzero(got[2]) == 3
    assert got.sum() == want.sum() == 2 + 3 + 4 + 9 + 10 + 11


@pytest.mark.parametrize("blocks, fused", [
    (lambda: [nn.ReLU(), nn.MaxPool2d(2)], 1),
    (lambda: [nn.ReLU(), nn.MaxPool2d(3, stride=1, padding=1)], 1),  # overlapping windows: sums in order
    (lambda: [nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)], 2),  # and the forward
    (lambda: [nn.BatchNorm2d(4, affine=False, track_running_stats=False), nn.ReLU(),
              nn.MaxPool2d(3, stride=2, padding=1, dilation=1)], 2),
    (lambda: [nn.Tanh(), nn.MaxPool2d(2)], 0),
    (lambda: [nn.ReLU(), nn.AvgPool2d(2)], 0),
    (lambda: [nn.MaxPool2d(2), nn.ReLU()], 0),
], ids=["relu-pool", "relu-overlapping", "bn-relu-pool-ceil", "bn-plain-relu-pool", "tanh-pool", "relu-avgpool",
        "pool-relu"])
def test_pool_relu_rewrite_applies_to_the_pattern_and_keeps_eager_numbers(blocks, fused):
    data = [(eg.randn(4, 1, 9, 9), eg.randint(0, 3, (4,))) for _ in range(5)]
    results = []
    for compiled in (False, True):
        eg.manual_seed(0)
        body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), *blocks())
        width = int(np.prod(body(eg.zeros(1, 1, 9, 9)).shape))
        model = nn.Sequential(body, nn.Flatten(), nn.Linear(width, 3))
        opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        fn = eg.compile(step_of(model, opt, nn.CrossEntropyLoss())) if compiled else \
            step_of(model, opt, nn.CrossEntropyLoss())
        losses = [float(fn(x, y)) for x, y in data]
        results.append((losses, [p._data.tobytes() for p in model.parameters()]))
        if compiled:
            plan = next(iter(fn._plans.values())).plan
            assert fn.fallback_reason is None and plan.fused_pools == fused
            relu_backward = [op for op in plan.ops if op.kind == "kernel" and op.name == "relu_backward"]
            assert not relu_backward if fused else fn.replays >= 1
    assert results[0] == results[1]


# --- Linear -> ReLU [-> Dropout]: the GEMM's epilogue ------------------------------------------------

GEMM_SHAPES = [(1, 1, 1, False, False), (5, 7, 3, False, True), (32, 784, 512, False, True),
               (128, 600, 257, False, True),   # two k-blocks: the epilogue only after the last
               (400, 64, 300, True, False),    # several row blocks, transposed a
               (200, 256, 10, False, True),    # a narrow product with W^T: computed in dot form
               (200, 256, 10, False, False),   # a narrow product: computed as C^T (swapped operands)
               (1030, 300, 12, False, True),   # dot form on two threads: the epilogue per chunk of rows
               (3, 0, 6, False, False)]        # k = 0: the bias alone


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n, ta, tb", GEMM_SHAPES, ids=str)
def test_gemm_epilogues_are_the_separate_kernels_bit_for_bit(m, k, n, ta, tb, dtype, restore_threads):
    rng = np.random.default_rng(m * 31 + n)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype)
    for threads in (1, 2):
        eg.set_num_threads(threads)
        t = np.empty((m, n), dtype)
        C.gemm(a, b, t, bias, ta, tb, False)
        relu = np.empty_like(t)
        C.relu_forward(t.reshape(-1), relu.reshape(-1))
        drop, keep = np.empty_like(t), np.empty(t.size, np.uint8)
        C.dropout_forward(relu.reshape(-1), drop.reshape(-1), keep, 17, 99, THRESHOLD, SCALE)
        got, mask = np.full_like(t, np.nan), np.full(t.size, 9, np.uint8)
        C.gemm_relu_dropout(a, b, got, bias, ta, tb, mask, 17, 99, THRESHOLD, SCALE)
        assert got.tobytes() == drop.tobytes()
        assert np.array_equal(mask & 1, keep) and np.array_equal(mask >> 1, (relu.reshape(-1) > 0).astype(np.uint8))


def test_gemm_epilogue_bad_arguments():
    a, b = np.ones((4, 3), np.float32), np.ones((3, 5), np.float32)
    out = np.empty((4, 5), np.float32)
    with pytest.raises(ValueError, match="mask"):
        C.gemm_relu_dropout(a, b, out, None, False, False, np.zeros(19, np.uint8), 1, 2, THRESHOLD, SCALE)
    with pytest.raises(TypeError, match="mask: expected a uint8"):
        C.gemm_relu_dropout(a, b, out, None, False, False, np.zeros(20, np.float32), 1, 2, THRESHOLD, SCALE)
    mask = np.zeros(20, np.uint8)
    with pytest.raises(ValueError, match="inner dimensions"):
        C.gemm_relu_dropout(a, np.ones((4, 5), np.float32), out, None, False, False, mask, 1, 2, THRESHOLD, SCALE)
    with pytest.raises(ValueError, match="out"):
        C.gemm_relu_dropout(a, b, a, None, False, False, mask, 1, 2, THRESHOLD, SCALE)


def test_the_linear_blocks_of_a_plain_mlp_use_the_gemm_epilogue():
    """The eager benchmark's MLP (Linear -> ReLU twice, no BatchNorm) with dropout, compiled: both hidden
    Linear layers fuse, forward and backward, and fifty steps equal eager ones bit for bit."""
    data = batches(50, n=8, n_in=20)
    runs = []
    for compiled in (False, True):
        eg.manual_seed(3)
        model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.25), nn.Linear(32, 16), nn.ReLU(),
                              nn.Dropout(0.25), nn.Linear(16, 10))
        opt = eg.optim.AdamW(model.parameters(), lr=1e-2)
        step = step_of(model, opt, nn.CrossEntropyLoss(label_smoothing=0.1))
        fn = eg.compile(step) if compiled else step
        losses = [fn(x, y).detach().numpy().tobytes() for x, y in data]
        runs.append((losses, [p._data.tobytes() for p in model.parameters()]))
        if compiled:
            plan = next(iter(fn._plans.values())).plan
            names = [op.name for op in plan.ops if op.kind == "kernel"]
            assert plan.fused == 2 and names.count("gemm_relu_dropout") == 2
            assert names.count("relu_dropout_backward") == 2 and "relu_forward" not in names
    assert runs[0] == runs[1]


def _liveness_holds(plan) -> list:
    """The ops of a rewritten plan that use an arena temporary outside its live range [first, last] (the
    arena may give those bytes to another buffer there)."""
    from eigengrad.compile.rewrite import array_refs

    bad = []
    for k, op in enumerate(plan.ops):
        if op.kind in ("elided", "draw", "python"):
            continue
        for _, r in array_refs(op):
            b = plan.buffers[r.buf]
            if b.kind == "temp" and not b.escaped and not b.first <= k <= b.last:
                bad.append((k, op.name, r.buf, b.first, b.last))
    return bad


def test_rewrites_keep_every_temporary_live_where_it_is_used():
    # the fused backward of ReLU -> Dropout writes its gradient where the dropout's backward was, before the
    # ReLU's backward: the buffer's live range must start there (it did not: with the MLP run twice in a
    # step the arena gave those bytes to the mask it reads, and the plan's binding refused the overlap)
    model, opt = mlp(0), None
    opt = eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

    def twice(x, y):
        opt.zero_grad()
        for xs, ys in ((x[:8], y[:8]), (x[8:], y[8:])):
            loss = loss_fn(model(xs), ys) / 2 + 0.5 * loss_fn(model(xs), ys)
            loss.backward()
        opt.step()
        return loss

    for step in (twice, make_step()[0]):
        fn, plan = _plan(step, batches(5))
        assert fn.fallback_reason is None and plan.fused >= 2
        assert _liveness_holds(plan) == []
