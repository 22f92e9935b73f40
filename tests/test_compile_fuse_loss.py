"""eg.compile's cross-entropy fusion (compile/fuse_loss.py): the fused forward-backward kernels against the two
kernels they replace, bit for bit, and where the plan rewrite applies and where it must not."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _kernels, nn
from eigengrad.compile.fuse_loss import fuse_cross_entropy
from eigengrad.compile.recorder import Buffer, Op, Ref
from compile_cases import batches, step_of

C = _kernels._C
SHAPES = [(1, 1), (0, 5), (3, 1), (7, 13), (64, 10), (131, 1000)]


def _case(shape, dtype, seed=0):
    rng = np.random.default_rng(seed + shape[0] * 31 + shape[1])
    n, c = shape
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.integers(0, c, n).astype(np.int64)
    t[rng.random(n) < 0.2] = -100
    return x, t, rng.uniform(0.1, 2.0, n).astype(dtype), rng.uniform(0.5, 2.0, c).astype(dtype)


def _two_calls(x, t, scale, weight, eps):
    n = len(x)
    loss, lse, grad = np.empty(n, x.dtype), np.empty(n, x.dtype), np.empty_like(x)
    if weight is None and eps is None:
        C.softmax_cross_entropy_forward(x, t, loss, lse)
        C.softmax_cross_entropy_backward(x, t, lse, scale, grad)
    else:
        C.weighted_softmax_cross_entropy_forward(x, t, weight, eps, loss, lse)
        C.weighted_softmax_cross_entropy_backward(x, t, weight, eps, lse, scale, grad)
    return loss, lse, grad


def _fused(x, t, scale, weight, eps):
    n = len(x)
    loss, lse, grad = np.full(n, np.nan, x.dtype), np.full(n, np.nan, x.dtype), np.full_like(x, np.nan)
    if weight is None and eps is None:
        C.softmax_cross_entropy_forward_backward(x, t, loss, lse, scale, grad)
    else:
        C.weighted_softmax_cross_entropy_forward_backward(x, t, weight, eps, loss, lse, scale, grad)
    return loss, lse, grad


VARIANTS = [(False, None), (False, 0.0), (True, 0.0), (False, 0.1), (True, 0.1), (True, 1.0)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("weighted, eps", VARIANTS, ids=lambda v: str(v))
def test_fused_kernel_is_the_two_calls_bit_for_bit(shape, dtype, weighted, eps, restore_threads):
    x, t, scale, w = _case(shape, dtype)
    weight = w if weighted else None
    expected = _two_calls(x, t, scale, weight, eps)
    for threads in (1, 2):
        eg.set_num_threads(threads)
        got = _fused(x, t, scale, weight, eps)
        for u, v in zip(expected, got):
            assert u.tobytes() == v.tobytes()
    if shape[0] and shape[1] > 1:  # (one class: softmax 1, every gradient 0)
        assert np.isfinite(expected[2]).all() and np.abs(expected[2]).max() > 0
        assert (expected[2][t == -100] == 0).all()


def test_fused_kernel_refuses_what_the_two_calls_refuse():
    x, t, scale, _ = _case((4, 3), np.float32)
    loss, lse, grad = np.empty(4, np.float32), np.empty(4, np.float32), np.empty_like(x)
    bad = t.copy()
    bad[1] = 3
    with pytest.raises(ValueError, match="target"):
        C.softmax_cross_entropy_forward_backward(x, bad, loss, lse, scale, grad)
    with pytest.raises(ValueError, match="scale"):
        C.softmax_cross_entropy_forward_backward(x, t, loss, lse, scale[:3], grad)
    with pytest.raises(ValueError, match="grad_logits"):
        C.weighted_softmax_cross_entropy_forward_backward(x, t, None, 0.1, loss, lse, scale, x)
    with pytest.raises(ValueError, match="label_smoothing"):
        C.weighted_softmax_cross_entropy_forward_backward(x, t, None, 1.5, loss, lse, scale, grad)
    with pytest.raises(ValueError, match="logits"):
        C.softmax_cross_entropy_forward_backward(np.empty((4, 0), np.float32), t, loss, lse, scale, grad)


LOSSES = {
    "plain": lambda w: nn.CrossEntropyLoss(),
    "smoothing": lambda w: nn.CrossEntropyLoss(label_smoothing=0.1),
    "weights": lambda w: nn.CrossEntropyLoss(weight=w),
    "weights-smoothing-ignore": lambda w: nn.CrossEntropyLoss(weight=w, label_smoothing=0.2, ignore_index=3),
    "sum": lambda w: nn.CrossEntropyLoss(reduction="sum"),
    "sum-smoothing": lambda w: nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.1),
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_compiled_steps_fuse_the_loss_and_equal_eager(loss):
    data = batches(8, n=16, n_in=20)
    results = []
    for compiled in (False, True):
        eg.manual_seed(0)
        model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 10))
        opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        weight = eg.from_numpy(np.linspace(0.5, 2.0, 10).astype(np.float32))
        step = step_of(model, opt, LOSSES[loss](weight))
        fn = eg.compile(step) if compiled else step
        losses = [fn(x, y).detach().numpy().tobytes() for x, y in data]
        results.append((losses, [p._data.tobytes() for p in model.parameters()]))
        if compiled:
            assert fn.fallback_reason is None and fn.replays >= 4
            plan = next(iter(fn._plans.values())).plan
            assert plan.fused_losses == 1
            assert not [op for op in plan.ops if op.kind == "kernel" and op.name.endswith("entropy_backward")]
    assert results[0] == results[1]


# --- the rewrite on hand-made plans ------------------------------------------------------------------

def _buffers(n):
    return [Buffer("temp", 64, f"t{i}", first=i) for i in range(n)]


def _ref(buf, shape=(4,), dtype=np.float32):
    strides = tuple(int(np.prod(shape[i + 1:])) * np.dtype(dtype).itemsize for i in range(len(shape)))
    return Ref(buf, 0, shape, strides, np.dtype(dtype))


def _k(name, args, roles):
    return Op("kernel", name, None, args, roles=roles, table="C")


def _plan_ops(upstream_reads_the_loss=False, between=None):
    """forward, reduce, fill, upstream, [between], backward over buffers 0 logits, 1 target, 2 rows, 3 lse,
    4 loss, 5 seed, 6 scale, 7 grad."""
    logits, target = _ref(0, (4, 3)), _ref(1, dtype=np.int64)
    rows, lse, loss, seed, scale, grad = _ref(2), _ref(3), _ref(4, ()), _ref(5, ()), _ref(6), _ref(7, (4, 3))
    ops = [
        _k("softmax_cross_entropy_forward", [logits, target, rows, lse, -100], ("r", "r", "w", "w", "s")),
        _k("loss_reduce", [rows, target, -100, True, loss], ("r", "r", "s", "s", "w")),
        Op("kernel", "fill", None, [seed, 1], roles=("w", "s"), table="G"),
        _k("mean_upstream", [loss if upstream_reads_the_loss else seed, target, -100, scale], ("r", "r", "s", "w")),
    ]
    if between is not None:
        ops.append(between(logits, grad))
    ops.append(_k("softmax_cross_entropy_backward", [logits, target, lse, scale, grad, -100],
                  ("r", "r", "r", "r", "w", "s")))
    return ops


def test_the_rewrite_moves_the_upstream_gradient_ahead_and_elides_the_backward():
    ops, buffers = _plan_ops(), _buffers(8)
    assert fuse_cross_entropy(ops, buffers) == 1
    assert [op.name for op in ops] == ["fill", "mean_upstream", "softmax_cross_entropy_forward_backward",
                                       "loss_reduce", "softmax_cross_entropy_backward"]
    assert ops[-1].kind == "elided" and ops[2].fn is C.softmax_cross_entropy_forward_backward
    # live ranges follow the new places: the seed and scale from ops 0 and 1, the gradient from the fused kernel
    assert buffers[5].first == 0 and buffers[6].first == 1 and buffers[7].first == 2


CASES = {
    "logits-rewritten": lambda logits, grad: _k("relu_forward", [_ref(2), logits], ("r", "w")),
    "logits-rewritten-in-a-list": lambda logits, grad: _k("scale_grads", [[logits], 0.5], ("RW", "s")),
    "lse-rewritten": lambda logits, grad: _k("relu_forward", [_ref(2), _ref(3)], ("r", "w")),
    "grad-used-between": lambda logits, grad: _k("relu_forward", [grad, _ref(2)], ("r", "w")),
    "moved-op-writes-the-logits": lambda logits, grad: _k("two_outputs", [_ref(6), logits], ("w", "w")),
    "draw-between": lambda logits, grad: Op("draw", "draw", None, []),
    "python-between": lambda logits, grad: Op("python", "step", None, []),
}


@pytest.mark.parametrize("case", ["scale-from-the-loss", *CASES])
def test_the_rewrite_refuses_what_would_change_a_result(case):
    between = CASES.get(case)
    ops = _plan_ops(upstream_reads_the_loss=case == "scale-from-the-loss", between=between)
    names = [op.name for op in ops]
    assert fuse_cross_entropy(ops, _buffers(8)) == 0
    assert [op.name for op in ops] == names and all(op.kind != "elided" for op in ops)
