"""eg.compile: a traced and replayed training step gives eager mode's numbers bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg
from compile_cases import batches, make_step, mlp, same, state_arrays, step_of, train


def _run(compiled: bool, steps: int = 50, **kw):
    step, model, opt, sched = make_step(**kw)
    data = batches(steps)
    losses, fn = train(step, sched, data, compiled)
    return losses, state_arrays(model, opt), eg.default_generator.get_state().numpy(), fn, opt


@pytest.mark.parametrize("kw", [dict(optimizer="adamw"), dict(optimizer="sgd"),
                                dict(optimizer="adamw", scheduler=True), dict(optimizer="sgd", clip=0.5),
                                dict(optimizer="adamw", clip=1.0, scheduler=True)],
                         ids=["adamw", "sgd_momentum", "adamw_steplr", "sgd_clip", "adamw_clip_steplr"])
def test_fifty_compiled_steps_equal_eager(kw):
    eager_losses, eager_state, eager_gen, _, eager_opt = _run(False, **kw)
    losses, state, gen, fn, opt = _run(True, **kw)
    assert fn.fallback_reason is None
    # call 1 traces (no gradients yet: a signature of its own), calls 2-3 trace the steady signature twice,
    # call 4 replays and checks against eager mode, calls 5-50 replay
    assert fn.replays == 46
    same(losses, eager_losses)
    same(state, eager_state)
    assert gen.tolist() == eager_gen.tolist()  # dropout advanced the generator exactly as eager mode
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in eager_opt.param_groups]


def test_results_do_not_depend_on_threads(restore_threads):
    runs = []
    for t in (1, 2):
        eg.set_num_threads(t)
        losses, state, _, fn, _ = _run(True, steps=12)
        assert fn.replays > 0
        runs.append(losses + state)
    same(runs[0], runs[1])


def test_returned_tensors_keep_their_step_values():
    step, model, opt, _ = make_step()
    fn = eg.compile(step)
    data = batches(8)
    kept = [fn(x, y) for x, y in data]
    step2, model2, opt2, _ = make_step()
    expected = [step2(x, y).detach().numpy().copy() for x, y in data]
    assert fn.replays == 4
    same([t.detach().numpy() for t in kept], expected)
    assert not kept[-1].requires_grad  # a replay's result is this step's value, not a graph


def test_new_shapes_trace_again_and_the_cache_is_bounded():
    step, model, opt, _ = make_step()
    fn = eg.compile(step, max_plans=2)
    data = [b for pair in zip(batches(10, n=16), batches(10, n=9, seed=3)) for b in pair]
    got = [fn(x, y).detach().numpy().copy() for x, y in data]
    step2, model2, opt2, _ = make_step()  # (after: it reseeds the generator dropout draws from)
    want = [step2(x, y).detach().numpy().copy() for x, y in data]
    same(got, want)
    same(state_arrays(model, opt), state_arrays(model2, opt2))
    assert len(fn._plans) <= 2 and fn.replays > 0


def test_explain_prints_the_ops_and_memory(capsys):
    step, *_ = make_step()
    fn = eg.compile(step)
    for x, y in batches(5):
        fn(x, y)
    text = fn.explain()
    assert capsys.readouterr().out.strip() == text.strip()
    for needle in ("kernel gemm(", "kernel batch_norm_relu_dropout_forward(", "kernel relu_dropout_backward(",
                   "(elided batch_norm_forward: done by a fused kernel)", "2 ReLU [-> Dropout] blocks fused into their BatchNorm or Linear",
                   "kernel sum_rows(", "kernel loss_reduce(", "kernel fill(", "kernel increment(", "python ", "draw ", "memory: arena"):
        assert needle in text, needle
    plan = next(iter(fn._plans.values())).plan
    mem = plan.memory()
    assert 0 < mem["arena_bytes"] < mem["temporary_bytes_unshared"]  # liveness lets temporaries share memory


def test_compiled_module_inference_forward():
    model = mlp(0)
    model.eval()
    fwd = eg.compile(model)
    data = batches(6)
    with eg.no_grad():
        got = [fwd(x) for x, _ in data]
        want = [model(x).numpy().copy() for x, _ in data]
    assert fwd.fallback_reason is None and fwd.replays == 3
    same([g.numpy() for g in got], want)


def _plain(x) -> bool:
    if isinstance(x, (list, tuple)):
        return all(_plain(v) for v in x)
    return x is None or isinstance(x, (bool, int, float, str))


def test_plan_records_are_plain_data():
    step, *_ = make_step()
    fn = eg.compile(step)
    for x, y in batches(4):
        fn(x, y)
    plan = next(reversed(fn._plans.values())).plan
    buffers, ops = plan.records()
    assert _plain(buffers) and _plain(ops)  # what a native executor can take as it is
    kinds = [op[0] for op in ops]
    assert kinds.count("python") == 1 and kinds.count("draw") == 2  # the optimizer's update; two dropouts
    # each of the 10 parameters' gradients is written by its kernel straight into its optimizer slot, no
    # copy is left to replay: the 3 Linear layers' dW and db by eager backward itself (engine._slots_to_write),
    # the 4 norm parameters' copies elided by compile/rewrite.py; and per BatchNorm -> ReLU -> Dropout block,
    # batch_norm_forward, relu_forward and relu_backward done by the fused kernels (compile/fuse.py); the
    # loss's backward done by its forward (compile/fuse_loss.py); the optimizer's step done by a captured update
    # call (compile/fuse_optim.py: these parameters are all small, so one call for the group)
    assert kinds.count("elided") == 4 + 2 * 3 + 1 + 1 and not [op for op in ops if op[:2] == ("kernel", "G:copy")]
    elided = sorted(op[1] for op in ops if op[0] == "elided")
    assert elided == (["Optimizer._step_groups", "batch_norm_forward"] + ["batch_norm_forward"] + ["copy"] * 4
                      + ["relu_backward"] * 2 + ["relu_forward"] * 2
                      + ["weighted_softmax_cross_entropy_backward"])  # label smoothing: the weighted kernels
    assert len([op for op in ops if op[:2] == ("kernel", "C:adam_step")]) == 1
    losses = [op[1] for op in ops if op[0] == "kernel" and "cross_entropy" in op[1]]
    assert losses == ["C:weighted_softmax_cross_entropy_forward_backward"]
    gemms = [op for op in ops if op[:2] == ("kernel", "C:gemm")]
    assert len(gemms) == 3 + 5  # forward 3 Linear; backward dW x3 and dx x2 (the input needs no gradient)
    into_slots = [op for op in ops if op[1] in ("C:gemm", "C:sum_rows")
                  and buffers[op[2][1 if op[1] == "C:sum_rows" else 2][1]][0] == "persistent"]
    assert len(into_slots) == 6
    dropouts = [op for op in ops if op[1] == "C:batch_norm_relu_dropout_forward"]
    assert len(dropouts) == 2 and not [op for op in ops if op[1] in ("C:dropout_forward", "C:masked_scale")]
    assert [a[0] for a in dropouts[0][2][9:11]] == ["slot", "slot"]  # seed and offset come from the draw
    temps = [b for b in buffers if b[0] == "temp" and b[2] >= 0]
    assert temps and all(off % 64 == 0 for _, _, off in temps)


def test_layer_norm_and_gelu_steps_equal_eager():
    """Linear, LayerNorm, GELU (tanh form), Dropout, Linear with AdamW: 20 compiled steps, bitwise."""
    def build():
        eg.manual_seed(0)
        model = eg.nn.Sequential(eg.nn.Linear(20, 48), eg.nn.LayerNorm(48), eg.nn.GELU(approximate="tanh"),
                                 eg.nn.Dropout(0.2), eg.nn.Linear(48, 10))
        opt = eg.optim.AdamW(model.parameters(), lr=1e-3)
        return step_of(model, opt, eg.nn.CrossEntropyLoss()), model, opt

    data = batches(20)
    runs = []
    for compiled in (True, False):
        step, model, opt = build()
        fn = eg.compile(step) if compiled else step
        losses = [fn(x, y).detach().numpy().copy() for x, y in data]
        if compiled:
            assert fn.fallback_reason is None and fn.replays == 16
        runs.append(losses + state_arrays(model, opt))
    same(runs[0], runs[1])


def test_steps_compiled_in_several_threads_at_once_equal_sequential_ones():
    """Each thread traces and replays its own compiled step while the others do: a trace waits for another
    thread's (the kernel tables' recording is the process's) and none is refused, falls back or records another
    thread's kernels. The models have no dropout: the default generator is the process's."""
    from eigengrad import nn
    from eigengrad.compile import recorder
    from interleaved import run_interleaved

    def build(seed):
        eg.manual_seed(seed)
        model = nn.Sequential(nn.Linear(20, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))
        opt = eg.optim.AdamW(model.parameters(), lr=1e-3)
        return step_of(model, opt, nn.CrossEntropyLoss()), model, opt

    data = batches(8)
    expected = []
    for seed in range(3):
        step, model, opt = build(seed)
        losses, fn = train(step, None, data, compiled=True)
        expected.append((losses, state_arrays(model, opt)))
    replays = fn.replays  # (the calls after the two traces and the verified one)
    assert replays > 0
    runs = [build(seed) for seed in range(3)]
    results = [None] * 3

    def work(i):
        step, model, opt = runs[i]
        losses, fn = train(step, None, data, compiled=True)
        assert fn.fallback_reason is None and fn.replays == replays
        results[i] = (losses, state_arrays(model, opt))

    errors = run_interleaved(work, 3)
    assert not errors, errors
    for (losses, state), (want_losses, want_state) in zip(results, expected):
        same(losses, want_losses)
        same(state, want_state)
    assert recorder._TRACING.acquire(blocking=False)  # released by every trace
    recorder._TRACING.release()


def test_a_trace_records_all_of_its_kernels_while_another_thread_runs_kernels_eagerly():
    """Another thread's kernel calls pass the recording proxies unrecorded, and must not pause the recording
    of the traced thread's own calls (they once did, through the tracer's shared pause count: the trace then
    missed kernels and the function fell back to eager mode)."""
    import threading

    from eigengrad import nn
    from interleaved import run_interleaved

    busy = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 10))  # (its forward draws nothing)
    data = batches(6)
    step, *_ = make_step(optimizer="sgd")
    want, fn = train(step, None, data, compiled=True)  # alone: the losses (eager's, bit for bit) and replays
    replays = fn.replays
    x = data[0][0]
    done = threading.Event()
    got = []

    def work(i):
        if i == 1:
            with eg.no_grad():
                while not done.is_set():
                    busy(x)
            return
        try:
            for _ in range(4):  # four functions, each traced twice while the other thread runs
                step, *_ = make_step(optimizer="sgd")  # (seeds the default generator again, as the first)
                got.append(train(step, None, data, compiled=True))
        finally:
            done.set()

    assert run_interleaved(work, 2) == []
    for losses, fn in got:
        assert fn.fallback_reason is None and fn.replays == replays
        same(losses, want)
