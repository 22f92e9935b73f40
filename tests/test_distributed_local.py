"""The parts of data-parallel training that need no MPI launch: argument checks before MPI is touched,
DistributedSampler against PyTorch's, the thread rule, and the engine's end-of-backward callbacks."""
import time

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.distributed as dist
from eigengrad import nn
from eigengrad.autograd.engine import queue_callback
from eigengrad.data import DistributedSampler
from eigengrad.distributed import watchdog
from eigengrad.distributed.threads import threads_for


def test_without_a_process_group_torchs_error():
    assert not dist.is_initialized() and dist.is_main_process()
    for call in (dist.get_rank, dist.get_world_size, dist.barrier, lambda: dist.all_reduce(eg.zeros(2)),
                 lambda: nn.parallel.DistributedDataParallel(nn.Linear(2, 2)), lambda: DistributedSampler(range(4))):
        with pytest.raises(ValueError, match="Default process group has not been initialized, please make sure to "
                                             "call init_process_group."):
            call()


@pytest.mark.parametrize("kwargs, message", [
    ({"backend": "nccl"}, "backend: eigengrad's process groups run over MPI; expected 'mpi' \\(or None\\), got 'nccl'"),
    ({"init_method": "tcp://10.0.0.1:23456"}, "init_method: the MPI backend takes its ranks from the MPI launcher"),
    ({"timeout": -1}, "timeout: expected a positive datetime.timedelta \\(or seconds\\), got -1"),
    ({"store": object()}, "store: the MPI backend needs no store"),
    ({"device_id": 0}, "device_id: eigengrad runs on the CPU"),
])
def test_init_arguments_are_checked_before_mpi_is_touched(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dist.init_process_group(**{"backend": "mpi", **kwargs})
    assert not dist.is_initialized()


@pytest.mark.parametrize("n", [0, 1, 7, 10, 11, 64])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_shards_as_torch(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data", reason="PyTorch is needed for the parity test")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert len(ours) == len(theirs) and list(ours) == list(theirs)
        shuffled = DistributedSampler(range(n), replicas, rank, shuffle=True, drop_last=drop_last, seed=3)
        assert len(shuffled.indices()) == len(theirs)


def test_distributed_sampler_epochs_and_errors():
    a, b = DistributedSampler(range(50), 2, 0, seed=1), DistributedSampler(range(50), 2, 1, seed=1)
    first = np.concatenate([a.indices(), b.indices()])
    assert sorted(first.tolist()) == list(range(50))
    a.set_epoch(1)
    assert not np.array_equal(a.indices(), first[:25])
    a.set_epoch(0)
    assert np.array_equal(a.indices(), first[:25])  # the order is a function of (seed, epoch)
    with pytest.raises(ValueError, match="Invalid rank 2, rank should be in the interval \\[0, 1\\]"):
        DistributedSampler(range(4), 2, 2)
    with pytest.raises(ValueError, match="num_replicas: expected a positive int, got 0"):
        DistributedSampler(range(4), 0, 0)


@pytest.mark.parametrize("mine, others, expected", [
    ({0}, [{0}, {1}], 1),                  # bound to a core each
    ({0, 1}, [{0, 1}, {0, 1}], 1),         # 2 unbound ranks on 2 cores: never oversubscribe
    (set(range(8)), [set(range(8))] * 2, 4),
    (set(range(4)), [set(range(4)), set(range(4, 8))], 4),  # bound to 4 cores each
    ({0}, [{0}, {0}, {0}], 1),            # more ranks than cores: still one thread
])
def test_threads_from_the_cores_a_rank_owns(mine, others, expected):
    assert threads_for(mine, others) == expected


def _probe(on_backward):
    """An autograd Function a -> 3 a whose backward first calls ``on_backward()``."""
    class Probe(eg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 3

        @staticmethod
        def backward(ctx, g):
            on_backward()
            return g * 3

    return Probe


def test_engine_runs_queued_callbacks_when_backward_ends():
    x = eg.tensor([1.0, 2.0], requires_grad=True)
    order = []
    Probe = _probe(lambda: (queue_callback(lambda: order.append(("callback", x.grad is not None))),
                            order.append("node")))
    (Probe.apply(x) * x).sum().backward()
    assert order == ["node", ("callback", True)]  # after the last node, with the gradients in place
    with pytest.raises(RuntimeError, match="queue_callback: no backward is running"):
        queue_callback(lambda: None)


def test_backwards_in_several_threads_run_their_own_callbacks():
    """The queue is per thread (PyTorch's engine): a backward's callbacks run once, in its own thread, after
    its own last node, however the threads interleave; none runs in another thread's backward."""
    import threading

    from interleaved import run_interleaved

    ran = []

    def queue_mine():
        me = threading.get_ident()
        queue_callback(lambda: ran.append((me, threading.get_ident())))

    Probe = _probe(queue_mine)

    def work(i):
        for _ in range(200):
            x = eg.tensor([1.0, 2.0], requires_grad=True)
            (Probe.apply(x) * x).sum().backward()

    assert run_interleaved(work, 4) == []
    assert len(ran) == 4 * 200 and all(queued == called for queued, called in ran)


def test_a_backward_that_raises_drops_its_callbacks():
    calls = []

    class Fails(eg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, g):
            queue_callback(lambda: calls.append(1))
            raise ArithmeticError("boom")

    y = Fails.apply(eg.tensor([1.0], requires_grad=True))
    with pytest.raises(ArithmeticError):
        y.sum().backward()
    eg.tensor([1.0], requires_grad=True).sum().backward()
    assert calls == []


def test_the_watchdog_aborts_a_wait_that_outlasts_the_timeout_naming_it(monkeypatch):
    aborts = []
    monkeypatch.setattr(watchdog, "abort", lambda MPI, message: aborts.append(message))
    dog = watchdog.Watchdog(None, 3, 0.2)  # checks every 20 ms
    try:
        end = time.monotonic() + 0.5
        while time.monotonic() < end:  # many short waits, nested too: none outlasts the timeout
            with dog.guard("broadcast"), dog.guard("barrier"):
                pass
        assert aborts == []
        with dog.guard("all_reduce of gradient bucket 0"):
            time.sleep(0.5)
    finally:
        dog.stop()
    assert aborts and all(m == aborts[0] for m in aborts)
    assert aborts[0].startswith("eigengrad.distributed: rank 3: all_reduce of gradient bucket 0 did not complete "
                                "within 0.2 s (the process group's timeout)")


def test_buckets_are_runs_of_slots_cut_from_the_last_with_their_parameters_in_slot_order():
    from eigengrad.nn.parallel.reducer import cut_buckets

    model = nn.Sequential(nn.Linear(20, 48), nn.ReLU(), nn.Linear(48, 32), nn.Linear(32, 5)).double()
    arena = eg.optim.SGD(model.parameters(), lr=0.1).arenas[0]  # slots 0..5: 960, 48, 1536, 32, 160, 5 values
    positions = {i: 100 + i for i in range(6)}
    buckets = cut_buckets(arena, [5, 4, 3, 2, 1, 0], positions, cap=13_000, first_cap=2_000)
    # bytes 7,680, 384, 12,288, 256, 1,280, 40: the first bucket up to 2,000 bytes, the others up to 13,000
    assert [(b.lo, b.hi) for b in buckets] == [(3, 6), (1, 3), (0, 1)]
    for b in buckets:
        assert b.positions == [100 + i for i in range(b.lo, b.hi)]
        assert b.params == arena.params[b.lo:b.hi] and np.shares_memory(b.view, arena.grad)
        assert b.view.size == sum(p.numel() for p in b.params)
