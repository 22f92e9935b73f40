"""eigengrad._memory: the kernels' outputs recycle large buffers, and are ordinary NumPy arrays otherwise."""
import threading

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _kernels as K
from eigengrad import _memory
from eigengrad.backends import cpu
from forked import needs_fork, run_forked

LARGE = (512, 256)  # 512 KiB of float32: recycled
SMALL = (16, 16)


def address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def handler(a: np.ndarray) -> str:
    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray  # NumPy 2 / 1
    return multiarray.get_handler_name(a)


@pytest.fixture
def fresh_cache():
    cpu.empty_cache()
    yield
    cpu.set_cache_limit(512 << 20)


@pytest.mark.parametrize("shape", [LARGE, SMALL, (), (0, 3), 7, (1, 1 << 17)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, "float32", None])
def test_empty_is_numpy_empty(shape, dtype):
    a, b = _memory.empty(shape, dtype), np.empty(shape, dtype)
    assert (a.shape, a.dtype, a.strides) == (b.shape, b.dtype, b.strides)
    assert a.flags.c_contiguous and a.flags.owndata and a.flags.writeable and a.base is None
    assert address(a) % 16 == 0 or a.size == 0
    a[...] = 3
    assert np.all(a == 3)


def test_empty_keywords_and_errors_are_numpy_s():
    assert _memory.empty(shape=(3, 2), dtype=np.float32).shape == (3, 2)
    for bad, kind in (((-1,), ValueError), ((2, "x"), TypeError), ((2 ** 62, 2 ** 62), ValueError)):
        with pytest.raises(kind):
            np.empty(bad, np.float32)
        with pytest.raises(kind):
            _memory.empty(bad, np.float32)
    with pytest.raises(TypeError, match="not understood"):
        _memory.empty((3,), "no-such-dtype")
    with pytest.raises(MemoryError):
        _memory.empty((1 << 50,), np.float32)


def test_a_freed_large_buffer_is_reused_and_a_live_one_never(fresh_cache):
    a = _memory.empty(LARGE, np.float32)
    where = address(a)
    del a
    hits = cpu.memory_stats()["hits"]
    b = _memory.empty(LARGE, np.float32)
    assert address(b) == where and cpu.memory_stats()["hits"] == hits + 1
    b[...] = 1
    view = b[::2]  # keeps b's buffer alive after b goes
    del b
    c = _memory.empty(LARGE, np.float32)
    assert address(c) != where
    c[...] = 2
    assert np.all(view == 1)
    assert handler(c) == "eigengrad_recycling"


def test_small_arrays_and_the_users_arrays_use_numpys_allocator():
    assert handler(_memory.empty(SMALL, np.float32)) == "default_allocator"
    _memory.empty(LARGE, np.float32)
    assert handler(np.empty(LARGE, np.float32)) == "default_allocator"  # the handler is set for one call only
    assert handler(np.zeros(LARGE)) == "default_allocator"


def test_limit_and_empty_cache(fresh_cache):
    cpu.set_cache_limit(np.int64(0))  # any integer
    a = _memory.empty(LARGE, np.float32)
    del a
    assert cpu.memory_stats()["cached_bytes"] == 0
    cpu.set_cache_limit(1 << 20)  # room for two 512 KiB buffers: the oldest of three goes
    arrays = [_memory.empty(LARGE, np.float32) for _ in range(3)]
    del arrays
    stats = cpu.memory_stats()
    assert (stats["cached_bytes"], stats["cached_buffers"], stats["limit_bytes"]) == (1 << 20, 2, 1 << 20)
    cpu.empty_cache()
    assert cpu.memory_stats()["cached_bytes"] == 0


@pytest.mark.parametrize("bad, kind", [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("1", TypeError)])
def test_set_cache_limit_checks(bad, kind):
    with pytest.raises(kind, match="nbytes"):
        cpu.set_cache_limit(bad)


def test_resize_keeps_the_values(fresh_cache):
    a = _memory.empty(LARGE, np.float32)
    a[...] = np.arange(a.size, dtype=np.float32).reshape(LARGE)
    a.resize((2 * LARGE[0], LARGE[1]), refcheck=False)
    np.testing.assert_array_equal(a[:LARGE[0]].ravel(), np.arange(LARGE[0] * LARGE[1], dtype=np.float32))
    a.resize(SMALL, refcheck=False)
    np.testing.assert_array_equal(a.ravel(), np.arange(SMALL[0] * SMALL[1], dtype=np.float32))


def test_threads_never_share_a_buffer(fresh_cache):
    errors = []

    def work(k):
        for i in range(200):
            a = _memory.empty((LARGE[0] + (i % 3), LARGE[1]), np.float32)
            a.fill(k)
            if not np.all(a == k):
                errors.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_kernel_outputs_recycle_across_training_steps(fresh_cache):
    model = eg.nn.Sequential(eg.nn.Linear(64, 1024), eg.nn.ReLU(), eg.nn.Linear(1024, 10))
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    x, y = eg.randn(256, 64), eg.randint(0, 10, (256,))
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = eg.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    stats = cpu.memory_stats()
    assert stats["hits"] > stats["misses"]  # steps 2 and 3 took step 1's buffers
    assert K.empty_like(np.empty((4, 5), order="F")).flags.f_contiguous  # empty_like keeps a layout
    assert losses[2] < losses[0]


def test_the_kernels_scratch_is_recycled_from_the_same_cache(fresh_cache):
    """A Winograd convolution's large scratch (its transformed weights and tiles) comes from the cache and goes
    back to it: a second call reuses it (no fresh pages), the limit and empty_cache() govern it, and nothing
    stays live after the call."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 128, 7, 7)).astype(np.float32)
    w = rng.standard_normal((128, 64, 4, 4)).astype(np.float32)
    opts = ((2, 2), (1, 1), (0, 0), (1, 1), 1)
    live = cpu.memory_stats()["live_buffers"]  # (an earlier test's optimizer or compiled plan, not yet collected)
    first = K.conv_transpose2d_forward(x, w, None, *opts)
    after_first = cpu.memory_stats()
    assert after_first["cached_buffers"] >= 2 and after_first["live_buffers"] == live + 1  # only the output lives on
    second = K.conv_transpose2d_forward(x, w, None, *opts)
    after_second = cpu.memory_stats()
    assert after_second["hits"] - after_first["hits"] >= after_first["cached_buffers"] - 1
    assert after_second["misses"] - after_first["misses"] <= 1  # (the first output is still alive)
    assert np.array_equal(first, second)
    cpu.set_cache_limit(0)
    third = K.conv_transpose2d_forward(x, w, None, *opts)
    assert cpu.memory_stats()["cached_bytes"] == 0 and np.array_equal(first, third)


@needs_fork
def test_a_fork_while_kernels_take_scratch_never_leaves_the_child_hanging():
    """Kernels take scratch from the cache on their own threads without the GIL, so a fork can come while one
    holds the cache's lock; the lock is held across the fork, so every child can still allocate and finish."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 64, 14, 14)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    want = K.conv2d_forward(x[:1], w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            K.conv2d_forward(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)

    def child():  # a large array and a convolution
        _memory.empty(LARGE, np.float32)
        return K.conv2d_forward(x[:1], w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1).tobytes() == want.tobytes()

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        for _ in range(40):
            outcome = run_forked(child, timeout=20.0, threads=None)
            assert outcome.kind == "returned" and outcome.value is True, str(outcome)
    finally:
        stop.set()
        worker.join()


def test_large_buffers_start_at_scattered_cache_lines_of_their_pages(fresh_cache):
    # each large allocation is its own mmap at the same page offset in glibc: buffers a kernel streams side by
    # side (parameters, gradients, moments) then alias every 4 KiB; the cache places each at its own offset
    arrays = [_memory.empty(LARGE, np.float32) for _ in range(64)]
    offsets = [address(a) % 4096 for a in arrays]
    assert all(o % 64 == 0 for o in offsets)
    assert len(set(offsets)) == 64  # (64 cache lines a page: consecutive buffers take all of them)
    arrays[3][...] = 1.5  # (the whole buffer is usable: the block is a page longer than it)
    arrays[3][-1, -1] = 2.0
    assert arrays[3].sum() == 1.5 * (arrays[3].size - 1) + 2.0


def test_an_optimizers_flat_buffers_start_at_different_page_offsets():
    model = eg.nn.Sequential(eg.nn.Linear(784, 512), eg.nn.ReLU(), eg.nn.Linear(512, 10))
    opt = eg.optim.Adam(model.parameters())
    model(eg.randn(4, 784)).sum().backward()
    opt.step()
    arena = opt.arenas[0]
    flats = [arena.data, arena.grad] + [flat for flat, _ in arena._state.values()]
    assert len(flats) == 4
    assert len({address(a) % 4096 for a in flats}) == 4
