"""eg.compile's native executor (cpp/bindings/bind_plan.cpp, compile/native.py): captured kernel calls run
later, with the checks made once at bind time; a plan replayed on it equals eager mode bit for bit."""
import importlib

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _kernels, nn
from compile_cases import batches, make_step, same, state_arrays, step_of, train

C = _kernels.compiled_module()
native = importlib.import_module("eigengrad.compile.native")


def test_the_capturable_kernels():
    names = C.capturable_kernels()
    assert names == sorted(names)
    for name in ("gemm", "gemm_relu_dropout", "batch_norm_relu_dropout_forward", "batch_norm_backward", "sum_rows",
                 "relu_forward", "relu_dropout_backward", "dropout_forward", "layer_norm_forward",
                 "softmax_cross_entropy_forward", "weighted_softmax_cross_entropy_backward", "loss_reduce",
                 "loss_upstream"):
        assert name in names, name
    assert "reduce_sum" not in names and "adamw_step" not in names


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_bound_call_runs_at_run_time_on_the_arrays_then(dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 5)).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)
    out = np.zeros((7, 3), dtype)
    ex = C.PlanExecutor(3)
    ex.bind(0, C.gemm, a, b, out)
    ex.bind(2, C.relu_forward, out, out)
    assert not out.any()  # bound, not run
    ex.run(0, 1)
    want = np.empty_like(out)
    C.gemm(a, b, want)
    np.testing.assert_array_equal(out, want)
    a *= -1  # the calls read what the arrays hold when they run
    ex.run(0, 3)
    C.gemm(a, b, want)
    np.testing.assert_array_equal(out, np.maximum(want, 0))
    assert len(ex) == 3


def test_loss_upstream_reads_its_upstream_gradient_when_it_runs():
    g = np.array(1.0, np.float32)
    t = np.array([0, 2, 1], np.int64)
    out = np.zeros(3, np.float32)
    ex = C.PlanExecutor(1)
    ex.bind(0, C.loss_upstream, g, t, None, -100, True, out)
    g[()] = 6.0  # written by an earlier op of a plan, after the bind
    ex.run(0, 1)
    np.testing.assert_array_equal(out, np.full(3, 2.0, np.float32))


def test_class_indices_are_checked_when_the_bound_call_runs():
    """A plan binds the cross-entropy once; the targets it reads may change at every replay: the check of
    their values is part of the call, so a replay refuses an index out of range as eager mode does."""
    logits = np.zeros((3, 4), np.float32)
    t = np.array([0, 3, 1], np.int64)
    loss, lse = np.empty(3, np.float32), np.empty(3, np.float32)
    ex = C.PlanExecutor(1)
    ex.bind(0, C.softmax_cross_entropy_forward, logits, t, loss, lse, -100)
    ex.run(0, 1)
    np.testing.assert_allclose(loss, np.log(4.0), rtol=1e-6)
    t[1] = 4
    with pytest.raises(ValueError, match="target: class index 4 at position 1 is out of range"):
        ex.run(0, 1)
    t[1] = -100  # ignore_index
    ex.run(0, 1)
    assert loss[1] == 0


def test_a_drawn_kernel_reads_its_draw_register():
    x = np.ones(1000, np.float32)
    out, mask = np.empty_like(x), np.empty(1000, np.uint8)
    ex = C.PlanExecutor(1)
    assert ex.bind(0, C.dropout_forward, x, out, mask, 11, 0, 2**31, 2.0) is True
    assert ex.bind(0, C.dropout_forward, x, out, mask, 11, 0, 2**31, 2.0) is True
    want_out, want_mask = np.empty_like(x), np.empty_like(mask)
    for seed, offset in ((11, 0), (11, 1000), (12, 0)):
        ex.set_draw(0, seed, offset)
        ex.run(0, 1)
        C.dropout_forward(x, want_out, want_mask, seed, offset, 2**31, 2.0)
        np.testing.assert_array_equal(out, want_out)
        np.testing.assert_array_equal(mask, want_mask)
    assert 0 < mask.sum() < 1000
    a = np.ones((2, 2), np.float32)
    assert ex.bind(0, C.gemm, a, a, np.empty_like(a)) is False
    with pytest.raises(IndexError, match="i: expected a slot below 1, got 1"):
        ex.set_draw(1, 0, 0)


def test_bind_checks_the_arguments_and_refuses_other_kernels():
    a = np.ones((4, 3), np.float32)
    out = np.zeros((4, 4), np.float32)
    ex = C.PlanExecutor(2)
    ex.bind(0, C.gemm, a, a, out, trans_b=True)
    with pytest.raises(ValueError, match="b: inner dimensions differ"):
        ex.bind(0, C.gemm, a, a, out)
    ex.run(0, 2)  # the failed bind left slot 0 as it was
    np.testing.assert_array_equal(out, np.full((4, 4), 3.0, np.float32))
    with pytest.raises(ValueError, match="reduce_sum is not a capturable kernel"):
        ex.bind(1, C.reduce_sum, a.reshape(1, 4, 3), np.zeros((1, 3), np.float32), 1.0)
    with pytest.raises(IndexError, match="i: expected a slot below 2, got 5"):
        ex.bind(5, C.gemm, a, a, out, trans_b=True)
    with pytest.raises(ValueError, match="run: expected 0 <= start <= stop <= 2, got 1, 3"):
        ex.run(1, 3)
    with pytest.raises(ValueError, match="run: expected"):
        ex.run(2, 1)


def test_outside_a_bind_the_capturable_bindings_run_at_once():
    a = np.ones((2, 2))
    out = np.zeros((2, 2))
    C.gemm(a, a, out)
    np.testing.assert_array_equal(out, np.full((2, 2), 2.0))


def _compiled(step, data):
    fn = eg.compile(step)
    for x, y in data:
        fn(x, y)
    return fn, list(fn._plans.values())[-1].plan


def test_the_issue_mlp_runs_its_kernels_natively_and_trains_as_eager():
    """Fifty steps of the issue's MLP (BatchNorm, ReLU, dropout, label smoothing, AdamW), compiled and eager,
    give the same bits; the plan's GEMMs, BatchNorm and dropout kernels run on the executor."""
    data = batches(50)
    step, model_e, opt_e, _ = make_step()
    eg.manual_seed(5)
    eager_losses, _ = train(step, None, data, compiled=False)
    step_c, model, opt, _ = make_step()
    eg.manual_seed(5)
    losses, fn = train(step_c, None, data, compiled=True)
    assert fn.fallback_reason is None and fn.replays > 40
    same(losses, eager_losses)
    same(state_arrays(model, opt), state_arrays(model_e, opt_e))
    plan = list(fn._plans.values())[-1].plan
    # forward: 2 x (gemm, BatchNorm->ReLU->dropout), the head gemm; the loss: upstream gradient, cross-entropy
    # forward and backward (one fused kernel), reduction; backward: 3 x (dx gemm, dw gemm, sum_rows) less the
    # first dx (not needed), 2 x (mask, BatchNorm); the optimizer's AdamW update (compile/fuse_optim.py: these
    # parameters are all small, so one call over the group once the last gradient is final); the BatchNorm
    # counters and the loss's seed (the fill and increment kernels). The Python op that sets the update's
    # scalars and the random draws stay Python, between the executor's runs.
    assert plan.native.captured == 20 + 1 + 3, plan.explain()
    assert "24 kernel calls run natively in 4 executor runs" in plan.explain()
    assert plan.native.drawn == {i for i, op in enumerate(plan.ops) if op.name == "batch_norm_relu_dropout_forward"}


def test_the_same_plan_without_the_executor_gives_the_same_bits(monkeypatch):
    data = batches(12)
    runs = []
    for capture in (True, False):
        if not capture:
            monkeypatch.setattr(native, "_capturable", lambda: set())
        step, model, opt, _ = make_step(seed=3)
        eg.manual_seed(9)
        losses, fn = train(step, None, data, compiled=True)
        assert fn.fallback_reason is None
        assert (list(fn._plans.values())[-1].plan.native.captured > 0) == capture
        runs.append((losses, state_arrays(model, opt)))
    same(runs[0][0], runs[1][0])
    same(runs[0][1], runs[1][1])


def _eager_and_compiled(data, seed: int, draws: int):
    """(eager losses over ``data``, a compiled step from the same weights and generator state)."""
    step_e, *_ = make_step(seed=seed)
    eg.manual_seed(draws)
    want, _ = train(step_e, None, data, compiled=False)
    step, *_ = make_step(seed=seed)
    eg.manual_seed(draws)
    return want, eg.compile(step)


def test_new_input_arrays_at_every_call_are_read_not_the_first_ones():
    """The kernels that read a step argument are bound again when a call passes other arrays: fresh arrays
    each call (and the old ones freed) give eager's results."""
    data = batches(8, seed=4)
    want, fn = _eager_and_compiled(data, seed=1, draws=3)
    got = []
    for x, y in data:
        xc = eg.from_numpy(np.array(x.numpy(), copy=True))
        yc = eg.from_numpy(np.array(y.numpy(), copy=True))
        got.append(fn(xc, yc).detach().numpy().copy())
        del xc, yc
    same(got, want)
    assert fn.replays > 0 and fn.fallback_reason is None


def test_a_class_index_out_of_range_at_a_replay_is_refused_as_in_eager():
    step, *_ = make_step(seed=2)
    fn = eg.compile(step)
    data = batches(5)
    for x, y in data:
        fn(x, y)
    assert fn.replays > 0
    x, y = data[0]
    bad = np.array(y.numpy(), copy=True)
    bad[3] = 10
    with pytest.raises(ValueError, match="target: class index 10 at position 3 is out of range"):
        fn(x, eg.from_numpy(bad))


def test_an_argument_array_refilled_in_place_is_read_again_and_checked_again():
    """The same arrays at every call (a preallocated batch buffer): the bound calls read their new values,
    and the class indices are checked at every replay."""
    data = batches(8, seed=6)
    want, fn = _eager_and_compiled(data, seed=4, draws=1)
    xb = eg.from_numpy(np.empty_like(data[0][0].numpy()))
    yb = eg.from_numpy(np.empty_like(data[0][1].numpy()))
    got = []
    for x, y in data:
        xb.numpy()[...] = x.numpy()
        yb.numpy()[...] = y.numpy()
        got.append(fn(xb, yb).detach().numpy().copy())
    same(got, want)
    assert fn.replays > 0 and fn.fallback_reason is None
    yb.numpy()[0] = -3
    with pytest.raises(ValueError, match="target: class index -3 at position 0 is out of range"):
        fn(xb, yb)


def test_a_cnn_runs_its_convolutions_and_pooling_natively():
    """Conv2d, BatchNorm2d, ReLU, MaxPool2d, AvgPool2d and a Linear head: compiled equals eager bit for bit,
    and every kernel of the plan but the optimizer's runs on the executor."""
    def build():
        eg.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(4, 6, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(6, 5))
        opt = eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return step_of(model, opt, nn.CrossEntropyLoss()), model, opt

    rng = np.random.default_rng(2)
    data = [(eg.from_numpy(rng.standard_normal((3, 1, 10, 10)).astype(np.float32)),
             eg.from_numpy(rng.integers(0, 5, 3).astype(np.int64))) for _ in range(12)]
    step_e, model_e, opt_e = build()
    want, _ = train(step_e, None, data, compiled=False)
    step, model, opt = build()
    got, fn = train(step, None, data, compiled=True)
    assert fn.fallback_reason is None and fn.replays > 0
    same(got, want)
    same(state_arrays(model, opt), state_arrays(model_e, opt_e))
    plan = list(fn._plans.values())[-1].plan
    names = {plan.ops[i].name for i in plan.native.captured_ops}
    for name in ("conv2d_forward", "conv2d_backward", "batch_norm_relu_max_pool2d_forward", "max_pool2d_relu_backward",
                 "avg_pool2d_forward", "avg_pool2d_backward", "gemm"):
        assert name in names, (name, plan.explain())


def test_max_pool_indices_are_checked_when_the_bound_call_runs():
    dy = np.ones((1, 2, 2), np.float32)
    idx = np.zeros((1, 2, 2), np.int64)
    dx = np.empty((1, 4, 4), np.float32)
    ex = C.PlanExecutor(1)
    ex.bind(0, C.max_pool2d_backward, dy, idx, dx)
    ex.run(0, 1)
    assert dx[0, 0, 0] == 4 and dx.sum() == 4
    idx[0, 1, 1] = 16
    with pytest.raises(ValueError, match=r"indices: expected values in \[-1, 16\), got 16"):
        ex.run(0, 1)


def test_a_draw_rebinds_its_kernel_with_the_new_numbers():
    """Dropout without BatchNorm (the GEMM epilogue consumes the draw): each replay draws new masks, as eager."""
    eg.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    step = step_of(model, opt, nn.CrossEntropyLoss())
    eg.manual_seed(0)
    model_e = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))
    step_e = step_of(model_e, eg.optim.SGD(model_e.parameters(), lr=0.1), nn.CrossEntropyLoss())
    data = batches(10)
    eg.manual_seed(7)
    compiled, fn = train(step, None, data, compiled=True)
    eg.manual_seed(7)
    eager, _ = train(step_e, None, data, compiled=False)
    same(compiled, eager)
    plan = list(fn._plans.values())[-1].plan
    assert fn.replays > 0 and any(op.name == "gemm_relu_dropout" for op in plan.ops)
