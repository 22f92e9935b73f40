"""DistributedDataParallel on 2 ranks against one process training on the whole batch."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.distributed as dist
from eigengrad import nn
from eigengrad.nn.parallel import DistributedDataParallel as DDP
from distributed.dist_helpers import address, assert_same_on_every_rank, flat_parameters, gathered, record_mpi_calls

GLOBAL_BATCH = 64
TOL = {np.float32: 1e-5, np.float64: 1e-12}
OPTIMIZERS = {
    "sgd_momentum": lambda ps: eg.optim.SGD(ps, lr=0.05, momentum=0.9),
    "adamw": lambda ps: eg.optim.AdamW(ps, lr=3e-3, weight_decay=0.01),
}


def mlp(dtype, seed=0):
    eg.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 48), nn.ReLU(), nn.Linear(48, 32), nn.Tanh(), nn.Linear(32, 5)).to(dtype)


def batches(dtype, steps, seed=7):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((steps, GLOBAL_BATCH, 20)).astype(dtype), rng.integers(0, 5, (steps, GLOBAL_BATCH))


def my_rows():
    share = GLOBAL_BATCH // dist.get_world_size()
    return slice(dist.get_rank() * share, (dist.get_rank() + 1) * share)


def assert_rel(actual, expected, dtype, what):
    err = np.max(np.abs(actual.astype(np.float64) - expected)) / np.max(np.abs(expected))
    assert err <= TOL[dtype], f"{what}: relative error {err:.2e} > {TOL[dtype]:.0e}"


# bucket_cap_mb: the default (a first bucket of 1 MiB: one bucket here), or ~500 floats (several buckets)
@pytest.mark.parametrize("opt, dtype, bucket_cap_mb", [
    ("sgd_momentum", np.float32, None), ("sgd_momentum", np.float64, 0.002),
    ("adamw", np.float32, 0.002), ("adamw", np.float64, None)], ids=lambda v: getattr(v, "__name__", str(v)))
def test_two_ranks_on_half_batches_equal_one_process_on_the_whole_batch(opt, dtype, bucket_cap_mb):
    steps = 20
    X, Y = batches(dtype, steps)
    reference = mlp(dtype)
    ref_opt = OPTIMIZERS[opt](reference.parameters())
    model = mlp(dtype, seed=100 + dist.get_rank())  # each rank starts elsewhere: the wrap copies rank 0's
    ddp = DDP(mlp(dtype) if dist.get_rank() == 0 else model, bucket_cap_mb=bucket_cap_mb)
    optimizer = OPTIMIZERS[opt](ddp.parameters())
    loss_fn, rows = nn.CrossEntropyLoss(), my_rows()
    for s in range(steps):
        ref_opt.zero_grad()
        loss_fn(reference(eg.from_numpy(X[s])), eg.from_numpy(Y[s])).backward()
        ref_opt.step()
        optimizer.zero_grad()
        loss_fn(ddp(eg.from_numpy(X[s, rows])), eg.from_numpy(Y[s, rows])).backward()
        optimizer.step()
        assert_same_on_every_rank(flat_parameters(ddp.module), f"parameters after step {s + 1}")
    assert_rel(flat_parameters(ddp.module), flat_parameters(reference), dtype, "parameters after 20 steps")
    if bucket_cap_mb is not None:
        assert len(ddp.reducer.buckets) >= 4  # really bucketed: 2,837 parameters, one of them 1,536 values


def test_buckets_start_while_backward_runs_on_the_flat_gradient_buffer_itself(monkeypatch):
    """The first bucket (the last layer's gradients) starts before the first layer's gradient exists, and
    the buckets MPI reduces are consecutive slices of the optimizer's flat gradient buffer, covering it."""
    X, Y = batches(np.float32, 1)
    ddp = DDP(mlp(np.float32), bucket_cap_mb=0.002)
    optimizer = eg.optim.SGD(ddp.parameters(), lr=0.1)
    log = record_mpi_calls(monkeypatch)
    events, reducer = [], ddp.reducer
    start, on_ready = reducer._start, reducer._on_ready
    reducer._start = lambda bucket, k: (events.append(("start", k)), start(bucket, k))
    reducer._on_ready = lambda arena, i: (events.append(("ready", i)), on_ready(arena, i))
    optimizer.zero_grad()
    nn.CrossEntropyLoss()(ddp(eg.from_numpy(X[0, my_rows()])), eg.from_numpy(Y[0, my_rows()])).backward()
    first_start = events.index(("start", 0))
    first_layer_ready = events.index(("ready", 0))  # slot 0: the first Linear's weight, the last gradient made
    assert first_start < first_layer_ready, events
    assert [e for e in events if e[0] == "start"] == [("start", k) for k in range(len(reducer.buckets))]
    grad = optimizer.arenas[0].grad
    spans = sorted((address(arrays[0]), arrays[0].nbytes) for method, arrays in log
                   if method in ("Iallreduce", "Ialltoallv"))  # a bucket's first stage names its memory
    assert len(spans) == len(reducer.buckets) >= 4
    end = address(grad)
    for start, nbytes in spans:
        assert start == end, "the buckets are back-to-back slices of the gradient buffer"
        end += nbytes
    assert end == address(grad) + grad.nbytes
    assert all(np.shares_memory(p.grad.numpy(), grad) for p in ddp.parameters())  # the averaged gradients are there


def test_no_sync_accumulates_locally_and_the_next_backward_averages_the_sum():
    X, Y = batches(np.float64, 2)
    reference = mlp(np.float64)
    loss_fn, rows = nn.CrossEntropyLoss(), my_rows()
    for s in range(2):
        loss_fn(reference(eg.from_numpy(X[s])), eg.from_numpy(Y[s])).backward()
    ddp = DDP(mlp(np.float64))
    optimizer = eg.optim.SGD(ddp.parameters(), lr=0.1)  # gradients in its flat buffer, as in training
    with ddp.no_sync():
        loss_fn(ddp(eg.from_numpy(X[0, rows])), eg.from_numpy(Y[0, rows])).backward()
    local = np.concatenate([p.grad.numpy().ravel() for p in ddp.parameters()])
    assert not np.array_equal(*gathered(local)[:2]), "no_sync must not average"
    loss_fn(ddp(eg.from_numpy(X[1, rows])), eg.from_numpy(Y[1, rows])).backward()
    assert ddp.reducer.buckets and not ddp.reducer.loose and optimizer.arenas[0].grads_in_slots()
    for p, q in zip(ddp.parameters(), reference.parameters()):
        assert_rel(p.grad.numpy(), q.grad.numpy(), np.float64, "accumulated gradient")
        assert_same_on_every_rank(p.grad.numpy(), "accumulated gradient")


def test_clipping_after_backward_sees_the_global_norm():
    X, Y = batches(np.float64, 1)
    reference = mlp(np.float64)
    nn.CrossEntropyLoss()(reference(eg.from_numpy(X[0])), eg.from_numpy(Y[0])).backward()
    expected = float(nn.utils.clip_grad_norm_(reference.parameters(), 0.1))
    ddp = DDP(mlp(np.float64))
    optimizer = eg.optim.SGD(ddp.parameters(), lr=0.1)  # kept: its arena holds the gradients
    nn.CrossEntropyLoss()(ddp(eg.from_numpy(X[0, my_rows()])), eg.from_numpy(Y[0, my_rows()])).backward()
    assert ddp.reducer.buckets and optimizer.arenas[0].grads_in_slots()
    norm = float(nn.utils.clip_grad_norm_(ddp.parameters(), 0.1))
    assert abs(norm - expected) <= 1e-12 * expected
    assert_same_on_every_rank(np.array([norm]), "global norm")
    for p, q in zip(ddp.parameters(), reference.parameters()):
        assert_rel(p.grad.numpy(), q.grad.numpy(), np.float64, "clipped gradient")


class Branchy(nn.Module):
    """A trunk and two heads; ``head`` picks the head a forward uses."""

    def __init__(self):
        super().__init__()
        eg.manual_seed(3)
        self.trunk, self.a, self.b = nn.Linear(6, 8).double(), nn.Linear(8, 2).double(), nn.Linear(8, 2).double()

    def forward(self, x, head):
        h = self.trunk(x).relu()
        return self.a(h) if head == "a" else self.b(h)


def test_a_second_backward_through_one_forward_is_an_error():
    ddp = DDP(mlp(np.float64))
    optimizer = eg.optim.SGD(ddp.parameters(), lr=0.1)  # kept: its arena holds the gradients
    loss = ddp(eg.from_numpy(np.ones((4, 20)))).sum()
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="a second backward through the output of one forward"):
        loss.backward()


def test_a_parameter_without_gradient_is_an_error_naming_it():
    ddp = DDP(Branchy())
    optimizer = eg.optim.SGD(ddp.parameters(), lr=0.1)  # kept: its arena holds the gradients
    x = eg.from_numpy(np.ones((4, 6)))
    with pytest.raises(RuntimeError, match=r"find_unused_parameters=True.*module\.b\.weight, module\.b\.bias$"):
        ddp(x, "a").sum().backward()
    assert optimizer.arenas[0].params[4] is ddp.module.b.weight


def test_find_unused_parameters_averages_what_any_rank_used():
    model = Branchy()
    ddp = DDP(model, find_unused_parameters=True)
    optimizer = eg.optim.SGD(ddp.parameters(), lr=0.1)  # kept: its arena holds the gradients
    heads = ["a" if r == 0 else "b" for r in range(dist.get_world_size())]  # head a on rank 0 only
    ddp(eg.from_numpy(np.full((4, 6), 1.0 + dist.get_rank())), heads[dist.get_rank()]).sum().backward()
    assert len(ddp.reducer.buckets[0].params) == 6 and optimizer.arenas  # one bucket of every parameter
    expected = {name: np.zeros(p.shape) for name, p in model.named_parameters()}
    for r, head in enumerate(heads):  # every rank's gradient, computed here alone, then averaged
        alone = Branchy()
        alone(eg.from_numpy(np.full((4, 6), 1.0 + r)), head).sum().backward()
        for name, p in alone.named_parameters():
            if p.grad is not None:
                expected[name] += p.grad.numpy() / dist.get_world_size()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), expected[name], rtol=1e-12, atol=1e-15, err_msg=name)
        assert_same_on_every_rank(p.grad.numpy(), f"gradient of {name}")
    ddp(eg.from_numpy(np.ones((4, 6))), "a").sum().backward()  # nobody uses b now: its gradient is kept
    np.testing.assert_allclose(model.b.weight.grad.numpy(), expected["b.weight"], rtol=1e-12, atol=1e-15)
    ddp.module.zero_grad()
    ddp(eg.from_numpy(np.ones((4, 6))), "a").sum().backward()
    assert model.b.weight.grad is None and model.a.weight.grad is not None


def test_without_an_optimizer_each_gradient_is_averaged_alone():
    X, Y = batches(np.float64, 1)
    reference = mlp(np.float64)
    nn.CrossEntropyLoss()(reference(eg.from_numpy(X[0])), eg.from_numpy(Y[0])).backward()
    ddp = DDP(mlp(np.float64))
    nn.CrossEntropyLoss()(ddp(eg.from_numpy(X[0, my_rows()])), eg.from_numpy(Y[0, my_rows()])).backward()
    assert ddp.reducer.buckets == [] and len(ddp.reducer.loose) == 6
    for p, q in zip(ddp.parameters(), reference.parameters()):
        assert_rel(p.grad.numpy(), q.grad.numpy(), np.float64, "gradient")


def test_module_attribute_state_dict_prefix_and_buffers_from_rank_0():
    eg.manual_seed(dist.get_rank())
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model[1].running_mean._data[...] = dist.get_rank() + 1.0
    ddp = DDP(model)
    assert ddp.module is model
    assert list(ddp.state_dict())[:3] == ["module.0.weight", "module.0.bias", "module.1.weight"]
    assert np.all(model[1].running_mean.numpy() == 1.0)  # rank 0's buffer
    assert_same_on_every_rank(flat_parameters(model), "parameters after the wrap")


def test_batch_norm_keeps_per_rank_batch_statistics_and_rank_0s_running_ones():
    eg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    ddp = DDP(model)
    seen = []
    model[1].register_forward_pre_hook(lambda m, args: seen.append(m.running_mean.numpy().copy()))
    for step in range(3):
        x = eg.from_numpy(np.random.default_rng(10 * step + dist.get_rank()).standard_normal((8, 3)))
        out = ddp(x)
        h = model[0](x)  # the batch statistics are this rank's: normalised per column
        hv = h.detach().numpy()
        np.testing.assert_allclose(out.detach().numpy(), (hv - hv.mean(0)) / np.sqrt(hv.var(0) + 1e-5),
                                   rtol=1e-10, atol=1e-12)
        out.sum().backward()
        assert_same_on_every_rank(seen[-1], f"running_mean before forward {step}")
    assert not np.array_equal(*gathered(model[1].running_mean.numpy())[:2])  # each rank's own update since


def test_wrap_checks():
    with pytest.raises(ValueError, match="device_ids: eigengrad runs on the CPU"):
        DDP(nn.Linear(2, 2), device_ids=[0])
    with pytest.raises(RuntimeError, match="doesn't have any parameter that requires a gradient"):
        DDP(nn.Linear(2, 2).requires_grad_(False))
    with pytest.raises(ValueError, match="bucket_cap_mb: expected a positive size"):
        DDP(nn.Linear(2, 2), bucket_cap_mb=0)
    with pytest.warns(FutureWarning, match="broadcast_buffers` is deprecated"):
        assert DDP(nn.Linear(2, 2), broadcast_buffers=False).broadcast_buffers is False


def test_different_models_on_the_ranks_are_an_error():
    with pytest.raises(RuntimeError, match="DDP expects same model across all ranks"):
        DDP(nn.Linear(2, 2 + dist.get_rank()))


def test_results_do_not_depend_on_the_threads_per_rank():
    """Shapes large enough for the kernels to use every thread (GEMMs of ~270 MFLOP, 0.5M-element maps)."""
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((3, 1024, 256)).astype(np.float32), rng.integers(0, 10, (3, 1024))
    rows = slice(dist.get_rank() * 1024 // dist.get_world_size(), (dist.get_rank() + 1) * 1024 // dist.get_world_size())
    before = eg.get_num_threads()
    finals = []
    try:
        for threads in (1, 2):
            eg.set_num_threads(threads)
            eg.manual_seed(0)
            ddp = DDP(nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 10)))
            optimizer = eg.optim.AdamW(ddp.parameters(), lr=3e-3)
            for s in range(3):
                optimizer.zero_grad()
                nn.CrossEntropyLoss()(ddp(eg.from_numpy(X[s, rows])), eg.from_numpy(Y[s, rows])).backward()
                optimizer.step()
            finals.append(flat_parameters(ddp.module))
    finally:
        eg.set_num_threads(before)
    assert np.array_equal(finals[0], finals[1])
