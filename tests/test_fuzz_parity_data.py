"""eigengrad.data against torch.utils.data: a seeded generated comparison (collate, loader configurations,
samplers, splits, a few worker cases; skipped without torch) and literal regression tests of the differences
the comparison found (these run without torch)."""
import collections
import random
import threading
import time
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import data as ed

try:
    import torch
    import torch.utils.data as td
except ImportError:  # the literal tests below still run
    torch = td = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (side-by-side comparison)")

Pair = collections.namedtuple("Pair", "a b")


# ---------------------------------------------------------------- helpers: one normal form for both libraries
def _norm(x):
    if (torch is not None and isinstance(x, torch.Tensor)) or isinstance(x, eg.Tensor):
        return ("T", str(x.dtype).split(".")[-1], tuple(x.shape), x.tolist())
    if isinstance(x, dict):
        return (type(x).__name__, [(k, _norm(v)) for k, v in x.items()])
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_norm(v) for v in x])
    if isinstance(x, np.ndarray):
        return ("nd", str(x.dtype), x.tolist())
    return (type(x).__name__, x if isinstance(x, (int, float, str, bytes, type(None))) else repr(x))


def _outcome(f):
    """("ok", normal form) or ("err", the builtin exception classes it is an instance of)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ("ok", _norm(f()))
    except Exception as e:  # the type a script could catch: compare by builtin bases
        return ("err", tuple(c.__name__ for c in (ValueError, TypeError, IndexError, KeyError, RuntimeError,
                                                   AssertionError) if isinstance(e, c)))


def _same(fa, fb, tag):
    a, b = _outcome(fa), _outcome(fb)
    if a[0] == "err" and b[0] == "err":  # eigengrad's errors may add bases (e.g. ValueError + IndexError)
        assert set(a[1]) <= set(b[1]), (tag, a, b)
    else:
        assert a == b, (tag, a, b)


# ---------------------------------------------------------------- generated comparison (needs torch)
_NP_DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _leaf(rng: random.Random, lib):
    kind = rng.choice(["int", "float", "bool", "str", "bytes", "nd", "np0d", "npscalar", "tensor", "none"])
    dt = rng.choice(_NP_DTYPES)
    if kind == "int":
        return lambda i: rng_int(i)
    if kind == "float":
        return lambda i: i + 0.5
    if kind == "bool":
        return lambda i: i % 2 == 0
    if kind == "str":
        return lambda i: f"s{i}"
    if kind == "bytes":
        return lambda i: bytes([65 + i])
    if kind == "nd":
        shape = (rng.randint(0, 3), rng.randint(1, 2))
        return lambda i: np.full(shape, i % 2, dt)
    if kind == "np0d":
        return lambda i: np.array(i % 2, dt)
    if kind == "npscalar":
        return lambda i: np.dtype(dt).type(i % 2)
    if kind == "tensor":
        tdt = rng.choice(["float32", "float64", "int64", "int32", "bool", "uint8"])
        return lambda i: lib.zeros(2, dtype=getattr(lib, tdt)) + (i % 2)
    return lambda i: None


def rng_int(i):
    return i * 3 - 1


def _structure(rng: random.Random, lib, depth=0):
    """A sample maker ``i -> sample`` of a random nested structure (the same draws for both libraries when
    ``rng`` is seeded alike)."""
    if depth >= 2 or rng.random() < 0.4:
        return _leaf(rng, lib)
    kind = rng.choice(["tuple", "list", "dict", "namedtuple"])
    if kind == "namedtuple":
        a, b = _structure(rng, lib, depth + 1), _structure(rng, lib, depth + 1)
        return lambda i: Pair(a(i), b(i))
    parts = [_structure(rng, lib, depth + 1) for _ in range(rng.randint(1, 3))]
    if kind == "dict":
        keys = rng.sample(["z", "a", "m", "b"], len(parts))
        return lambda i: {k: p(i) for k, p in zip(keys, parts)}
    return (lambda i: tuple(p(i) for p in parts)) if kind == "tuple" else (lambda i: [p(i) for p in parts])


@needs_torch
def test_generated_collate_and_convert_match_torch():
    for case in range(200):
        makers = [_structure(random.Random(case), lib) for lib in (torch, eg)]
        n = random.Random(-case).randint(1, 4)
        _same(lambda: td.default_collate([makers[0](i) for i in range(n)]),
              lambda: ed.default_collate([makers[1](i) for i in range(n)]), ("collate", case))
        _same(lambda: td.default_convert(makers[0](1)), lambda: ed.default_convert(makers[1](1)), ("convert", case))
    # mixed Python numbers in one field: torch.tensor's dtype rules (float32 default, float64 for floats)
    for batch in ([1, 2.5], [2.5, 1], [True, 2], [1, True], [True, False], [True, 2.5], [1.5, True]):
        _same(lambda: td.default_collate(list(batch)), lambda: ed.default_collate(list(batch)), batch)


def _loader_case(rng: random.Random):
    n = rng.randint(0, 9)
    kind = rng.choice(["map", "map", "iter", "sized_iter"])
    kw = {}
    if rng.random() < 0.8:
        kw["batch_size"] = rng.choice([None, 1, 2, 3, 4, 10])
    if rng.random() < 0.4:
        kw["drop_last"] = rng.random() < 0.5
    sampler = batch_sampler = None
    r = rng.random()
    if r < 0.2:
        sampler = [rng.randrange(max(n, 1)) for _ in range(rng.randint(0, 6))]
    elif r < 0.3:
        batch_sampler = [[rng.randrange(max(n, 1)) for _ in range(rng.randint(1, 3))] for _ in range(rng.randint(0, 3))]
    collate = rng.random() < 0.15
    return n, kind, kw, sampler, batch_sampler, collate


def _run_loader(lib, case):
    n, kind, kw, sampler, batch_sampler, collate = case

    class Map(lib.Dataset):
        def __len__(self):
            return n

        def __getitem__(self, i):
            return {"i": i, "x": np.full(2, i, np.float32), "t": (float(i), "s")}

    class Stream(lib.IterableDataset):
        def __iter__(self):
            return iter([(i, float(i)) for i in range(n)])

    class SizedStream(Stream):
        def __len__(self):
            return n

    ds = {"map": Map, "iter": Stream, "sized_iter": SizedStream}[kind]()
    kw = dict(kw)
    if collate:
        kw["collate_fn"] = lambda b: ("C", b)
    if sampler is not None:
        kw["sampler"] = sampler
    if batch_sampler is not None:
        kw["batch_sampler"] = batch_sampler
    loader = lib.DataLoader(ds, **kw)
    try:
        length = len(loader)
    except TypeError:
        length = "no len"
    return length, list(loader), list(loader), loader.batch_size, loader.drop_last


@needs_torch
def test_generated_loader_configurations_match_torch():
    rng = random.Random(1234)
    for trial in range(300):
        case = _loader_case(rng)
        _same(lambda: _run_loader(td, case), lambda: _run_loader(ed, case), (trial, case))


@needs_torch
def test_generated_samplers_and_splits_match_torch():
    rng = random.Random(99)

    class R:
        def __init__(self, n):
            self.n = n

        def __len__(self):
            return self.n

    for _ in range(200):  # DistributedSampler without shuffling: exact index lists
        n, reps = rng.randint(0, 13), rng.randint(1, 5)
        rank, drop_last = rng.randrange(reps), rng.random() < 0.5
        a = td.DistributedSampler(R(n), reps, rank, shuffle=False, drop_last=drop_last)
        b = ed.DistributedSampler(R(n), reps, rank, shuffle=False, drop_last=drop_last)
        assert (list(a), len(a), a.total_size) == (list(b), len(b), b.total_size), (n, reps, rank, drop_last)
    for _ in range(100):
        n, bs, drop_last = rng.randint(0, 10), rng.randint(1, 4), rng.random() < 0.5
        a, b = td.BatchSampler(range(n), bs, drop_last), ed.BatchSampler(range(n), bs, drop_last)
        assert (list(a), len(a)) == (list(b), len(b))
    for _ in range(150):  # random_split: the lengths (fractions rounded as torch), disjoint and covering
        n, k = rng.randint(0, 12), rng.randint(1, 4)
        fr = [rng.random() for _ in range(k)]
        lengths = [f / sum(fr) for f in fr] if rng.random() < 0.6 else None
        if lengths is None:
            cuts = sorted(rng.randint(0, n) for _ in range(k - 1))  # non-negative ints summing to n (torch's
            lengths = [b - a for a, b in zip([0] + cuts, cuts + [n])]  # odd splits for negative ones: refused)

        def split(lib, gen):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                parts = lib.random_split(R(n), lengths, generator=gen)
            covered = sorted(i for p in parts for i in p.indices) == list(range(n))
            return [len(p) for p in parts], covered, [type(p.indices).__name__ for p in parts], len(w)

        _same(lambda: split(td, torch.Generator().manual_seed(0)), lambda: split(ed, eg.Generator(0)), lengths)
    for n in (0, 1, 7):  # shuffled DistributedSampler: each epoch's ranks cover the dataset, same counts
        for reps in (1, 3):
            for epoch in (0, 1):
                def shards(lib):
                    out = []
                    for rank in range(reps):
                        s = lib.DistributedSampler(R(n), reps, rank, seed=5)
                        s.set_epoch(epoch)
                        out.append(list(s))
                    return sorted(set(i for o in out for i in o)), [len(o) for o in out]
                assert shards(td) == shards(ed)


def _worker_lib(lib):
    class Map(lib.Dataset):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            w = lib.get_worker_info()
            if i == 5:
                raise KeyError("five")
            return i, -1 if w is None else w.id

    class Plain(lib.IterableDataset):
        def __iter__(self):
            w = lib.get_worker_info()
            return iter([(i, -1 if w is None else w.id) for i in range(5)])

    return Map, Plain


@needs_torch
def test_a_few_worker_cases_match_torch():
    tl, el = _worker_lib(td), _worker_lib(ed)
    for which, kw in ((1, dict(batch_size=2, num_workers=2)), (1, dict(batch_size=None, num_workers=2)),
                      (0, dict(batch_size=2, num_workers=2, sampler=[0, 1, 2, 3, 4, 6, 6]))):
        _same(lambda: list(td.DataLoader(tl[which](), **kw)), lambda: list(ed.DataLoader(el[which](), **kw)), kw)

    def errors(lib, cls):
        it, out = iter(lib.DataLoader(cls(), sampler=[1, 5, 2], batch_size=None, num_workers=2)), []
        for _ in range(3):
            try:
                out.append(next(it)[0])
            except KeyError as e:
                out.append((str(e).splitlines()[0], str(e).strip().splitlines()[-1]))
        out.append(next(it, "end"))  # the end: torch's workers shut down now, not slowly at garbage collection
        return out
    assert errors(td, tl[0]) == errors(ed, el[0])


# ---------------------------------------------------------------- literal regression tests (no torch needed)
def test_collate_mixed_python_numbers_take_torch_tensor_dtypes():
    out = ed.default_collate([1, 2.5])  # was int64 [1, 2]: the 2.5 truncated
    assert out.dtype == eg.float32 and out.tolist() == [1.0, 2.5]
    assert ed.default_collate([1.5, 2]).dtype == eg.float64
    assert ed.default_collate([True, 2]).dtype == eg.int64 and ed.default_collate([True, 2]).tolist() == [1, 2]
    assert ed.default_collate([True, False]).dtype == eg.bool
    assert ed.default_collate([{"a": 1}, {"a": 0.5}])["a"].tolist() == [1.0, 0.5]


def test_collate_promotes_mixed_dtypes_as_torch_stack():
    out = ed.default_collate([np.ones(2, np.int64), np.ones(2, np.float32)])  # NumPy's rule gave float64
    assert out.dtype == eg.float32 and out.shape == (2, 2)
    assert ed.default_collate([np.ones(1, np.float16), np.ones(1, np.int32)]).dtype == eg.float16
    assert ed.default_collate([eg.ones(2, dtype=eg.int64), eg.ones(2, dtype=eg.float32)]).dtype == eg.float32
    assert ed.default_collate([np.int64(1), np.float32(2.5)]).dtype == eg.float32
    assert ed.default_collate([np.ones(1, np.uint8), np.ones(1, np.int8)]).dtype == eg.int16


def test_collate_keeps_the_graph_of_tensors_that_require_grad():
    w = eg.ones(2, requires_grad=True)
    out = ed.default_collate([w * 2, eg.zeros(2)])  # torch.stack: the batch requires grad (was detached)
    assert out.requires_grad and out.shape == (2, 2)
    out.sum().backward()
    assert w.grad.tolist() == [2.0, 2.0]


def test_collate_stack_error_names_shapes_as_torch():
    with pytest.raises(RuntimeError, match=r"^stack expects each tensor to be equal size, but got \[2\] at entry 0 "
                                           r"and \[3\] at entry 2$"):
        ed.default_collate([np.ones(2), np.ones(2), np.ones(3)])


def test_collate_of_no_samples_is_an_index_error():
    with pytest.raises(IndexError):
        ed.default_collate([])


def test_batch_sampler_checks_as_torch():
    with pytest.raises(ValueError, match="^batch_size should be a positive integer value, but got batch_size=True$"):
        ed.BatchSampler(range(3), True, False)
    with pytest.raises(ValueError, match="but got batch_size=1.5"):
        ed.BatchSampler(range(3), 1.5, False)
    with pytest.raises(ValueError, match="^drop_last should be a boolean value, but got drop_last=1$"):
        ed.BatchSampler(range(3), 2, 1)
    assert list(ed.BatchSampler(range(5), np.int64(2), True)) == [[0, 1], [2, 3]]


def test_random_sampler_checks_as_torch():
    with pytest.raises(ValueError, match="^num_samples should be a positive integer value, but got num_samples=2.0$"):
        ed.RandomSampler(range(3), num_samples=2.0)
    with pytest.raises(ValueError, match="num_samples=-1"):
        ed.RandomSampler(range(3), num_samples=-1)
    with pytest.raises(RuntimeError, match="empty"):  # drew -1s from an empty dataset before
        list(ed.RandomSampler([], replacement=True, num_samples=3))
    assert len(list(ed.RandomSampler(range(3), num_samples=7, generator=eg.Generator(0)))) == 7


def test_dataset_error_types_as_torch():
    with pytest.raises(AssertionError, match="^datasets should not be an empty iterable$"):
        ed.ConcatDataset([])

    class Stream(ed.IterableDataset):
        def __iter__(self):
            return iter(range(2))

    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ed.ConcatDataset([Stream()])
    with pytest.raises(TypeError, match="ConcatDataset does not support IterableDataset"):
        ed.ConcatDataset([Stream()])
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(ed.ChainDataset([Stream(), [1, 2]]))
    with pytest.raises(IndexError):
        ed.TensorDataset()
    with pytest.raises(AssertionError, match="^Size mismatch between tensors"):
        ed.TensorDataset(eg.ones(3), eg.ones(2))
    cat = ed.ConcatDataset([range(2), range(0), range(10, 13)])
    assert cat.cumulative_sizes == [2, 2, 5] and [cat[i] for i in range(-5, 5)] == [0, 1, 10, 11, 12] * 2
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        cat[-6]
    assert list(Stream() + Stream()) == [0, 1, 0, 1] and type(Stream() + Stream()) is ed.ChainDataset


def test_distributed_sampler_index_lists_literal():
    data = list(range(10))
    assert [list(ed.DistributedSampler(data, 3, r, shuffle=False)) for r in range(3)] == [
        [0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]  # padded by repeating the head
    assert [list(ed.DistributedSampler(data, 3, r, shuffle=False, drop_last=True)) for r in range(3)] == [
        [0, 3, 6], [1, 4, 7], [2, 5, 8]]
    assert [list(ed.DistributedSampler(list(range(2)), 5, r, shuffle=False)) for r in range(5)] == [
        [0], [1], [0], [1], [0]]
    s = ed.DistributedSampler(data, 4, 1, seed=3)
    first = list(s)
    assert list(s) == first and len(first) == 3
    s.set_epoch(1)
    assert list(s) != first or len(set(first)) < 3
    with pytest.raises(ValueError, match=r"^Invalid rank 3, rank should be in the interval \[0, 2\]$"):
        ed.DistributedSampler(data, 3, 3)


def test_random_split_fraction_rounding_literal():
    parts = ed.random_split(range(10), [0.33, 0.33, 0.34], generator=eg.Generator(1))
    assert [len(p) for p in parts] == [4, 3, 3]  # floors 3, 3, 3; the remainder round-robin from the first
    assert sorted(i for p in parts for i in p.indices) == list(range(10))
    with pytest.warns(UserWarning, match="Length of split at index 2 is 0"):
        parts = ed.random_split(range(3), [0.5, 0.5, 0.0])
    assert [len(p) for p in parts] == [2, 1, 0]


def test_shuffle_semantics_per_seed_and_epoch():
    def epochs(seed):
        loader = ed.DataLoader(list(range(12)), batch_size=5, shuffle=True, generator=eg.Generator(seed))
        return [[int(i) for b in loader for i in b] for _ in range(3)]
    a, b = epochs(3), epochs(3)
    assert a == b  # the same seed, the same orders
    assert all(sorted(e) == list(range(12)) for e in a)  # a permutation each epoch
    assert a[0] != a[1] and a != epochs(4)


def test_loader_option_checks_as_torch():
    with pytest.raises(ValueError, match="^timeout option should be non-negative$"):
        ed.DataLoader([1], timeout=-1)
    with pytest.raises(ValueError, match="^persistent_workers option needs num_workers > 0$"):
        ed.DataLoader([1], persistent_workers=True)
    with pytest.raises(ValueError, match="^batch_size=None option disables auto-batching and is mutually exclusive "
                                         "with drop_last$"):
        ed.DataLoader([1], batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="multiprocessing_context can only be used with multi-process loading"):
        ed.DataLoader([1], multiprocessing_context="fork")
    with pytest.raises(ValueError, match="prefetch_factor option should be non-negative"):
        ed.DataLoader([1], num_workers=1, prefetch_factor=-1)
    with pytest.raises(ValueError, match="^dataset: an IterableDataset"):  # checked before batch_sampler's rule
        ed.DataLoader(ed.ChainDataset([]), batch_sampler=[[0]], batch_size=3)
    loader = ed.DataLoader([1, 2, 3], batch_sampler=[[0, 2]])
    assert loader.batch_size is None and loader.drop_last is False  # as torch's attributes
    assert ed.DataLoader([1], num_workers=2).prefetch_factor == 2 and ed.DataLoader([1]).prefetch_factor is None


class _Tagged(ed.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        w = ed.get_worker_info()
        if i == 4:
            raise KeyError("four")
        return i, -1 if w is None else w.id


def test_workers_fetch_batches_in_turn_with_their_worker_info():
    loader = ed.DataLoader(_Tagged(), sampler=[0, 1, 2, 3, 5], batch_size=2, num_workers=2)
    assert [(b[0].tolist(), b[1].tolist()) for b in loader] == [([0, 1], [0, 0]), ([2, 3], [1, 1]), ([5], [0])]
    assert ed.get_worker_info() is None
    assert [b[1].tolist() for b in ed.DataLoader(_Tagged(), sampler=[0, 1], batch_size=1)] == [[-1], [-1]]


def test_worker_exception_is_reraised_with_the_workers_traceback_and_the_epoch_goes_on():
    it = iter(ed.DataLoader(_Tagged(), sampler=[1, 4, 2], batch_size=None, num_workers=2))
    assert next(it) == [1, 0]  # default_convert: tuples become lists, as torch
    with pytest.raises(KeyError) as info:
        next(it)
    text = str(info.value)
    assert text.startswith("Caught KeyError in DataLoader worker process 1.\nOriginal Traceback (most recent call "
                           "last):\n") and "__getitem__" in text and text.rstrip().endswith("KeyError: 'four'")
    assert next(it) == [2, 0]  # as torch's iterator: the next batch after the error
    it0 = iter(ed.DataLoader(_Tagged(), sampler=[4, 2], batch_size=None))
    with pytest.raises(KeyError, match="^'four'$"):  # no workers: the exception itself
        next(it0)
    assert next(it0) == [2, -1]

    class NeedsTwo(Exception):
        def __init__(self, a, b):
            super().__init__(a, b)

    class Bad(ed.Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, i):
            raise NeedsTwo(1, 2)

    with pytest.raises(RuntimeError, match="^Caught NeedsTwo in DataLoader worker process 0"):
        list(ed.DataLoader(Bad(), num_workers=1))


class _Plain(ed.IterableDataset):
    def __init__(self, start=0, end=5):
        self.start, self.end = start, end

    def __iter__(self):
        return iter(range(self.start, self.end))


class _Sharded(ed.IterableDataset):
    def __iter__(self):
        w = ed.get_worker_info()
        return iter(range(7) if w is None else range(w.id, 7, w.num_workers))


def test_iterable_dataset_is_read_by_every_worker_unless_it_shards():
    plain = [b.tolist() for b in ed.DataLoader(_Plain(), batch_size=2, num_workers=2)]
    assert plain == [[0, 1], [0, 1], [2, 3], [2, 3], [4], [4]]  # duplicated, as torch
    sharded = [b.tolist() for b in ed.DataLoader(_Sharded(), batch_size=2, num_workers=3)]
    assert sharded == [[0, 3], [1, 4], [2, 5], [6]]
    assert [int(x) for x in ed.DataLoader(_Sharded(), batch_size=None, num_workers=2)] == [0, 1, 2, 3, 4, 5, 6]
    assert [b.tolist() for b in ed.DataLoader(_Sharded(), batch_size=2, num_workers=2, drop_last=True)] == [
        [0, 2], [1, 3], [4, 6]]


def test_worker_init_fn_configures_the_workers_own_dataset_copy():
    calls = []

    def init(worker_id):  # the PyTorch documentation's pattern
        info = ed.get_worker_info()
        calls.append((worker_id, info.id, info.num_workers, isinstance(info.seed, int)))
        ds = info.dataset
        per = -(-(ds.end - ds.start) // info.num_workers)
        ds.start = ds.start + worker_id * per
        ds.end = min(ds.start + per, ds.end)
        random.seed(0)
        np.random.seed(0)
        eg.manual_seed(0)  # a worker's own generators in PyTorch: the caller's states are kept

    ds = _Plain(3, 10)
    state = (random.getstate(), np.random.get_state()[1].copy(), eg.get_rng_state().tolist())
    loader = ed.DataLoader(ds, batch_size=2, num_workers=2, worker_init_fn=init)
    assert [b.tolist() for b in loader] == [[3, 4], [7, 8], [5, 6], [9]]
    assert (ds.start, ds.end) == (3, 10) and calls == [(0, 0, 2, True), (1, 1, 2, True)]
    assert random.getstate() == state[0] and np.array_equal(np.random.get_state()[1], state[1])
    assert eg.get_rng_state().tolist() == state[2]
    list(loader)
    assert len(calls) == 4  # new workers every epoch
    persistent = ed.DataLoader(_Plain(3, 10), batch_size=2, num_workers=2, worker_init_fn=init,
                               persistent_workers=True)
    calls.clear()
    assert [b.tolist() for b in persistent] == [b.tolist() for b in persistent] == [[3, 4], [7, 8], [5, 6], [9]]
    assert len(calls) == 2  # kept workers: initialised once

    def bad_init(worker_id):
        raise ValueError("no init")

    with pytest.raises(ValueError, match="^Caught ValueError in DataLoader worker process 0.\nOriginal Traceback"):
        list(ed.DataLoader(_Plain(), num_workers=2, worker_init_fn=bad_init))


def test_worker_info_is_read_only_and_described():
    seen = []

    def init(worker_id):
        info = ed.get_worker_info()
        seen.append(repr(info).startswith(f"WorkerInfo(id={worker_id}, num_workers=1, seed="))
        with pytest.raises(RuntimeError, match="^Cannot assign attributes to WorkerInfo objects$"):
            info.id = 3

    list(ed.DataLoader([1, 2], num_workers=1, worker_init_fn=init))
    assert seen == [True]


def test_worker_timeout_is_a_runtime_error():
    class Slow(ed.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            time.sleep(0.5)
            return i

    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0.1 seconds$"):
        list(ed.DataLoader(Slow(), num_workers=1, timeout=0.1))
    assert time.monotonic() - start < 2
    assert [int(x) for x in ed.DataLoader(Slow(), num_workers=1, timeout=5)] == [0, 1]


def test_iterable_dataset_longer_than_its_len_warns_as_torch():
    class Sized(_Plain):
        def __len__(self):
            return 3

    loader = ed.DataLoader(Sized(), batch_size=None)
    assert len(loader) == 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [int(x) for x in loader] == [0, 1, 2, 3, 4]
    assert [str(w.message).split("len(dataloader)), ")[1][:16] for w in caught] == ["but 4 samples ha", "but 5 samples ha"]
    assert str(caught[0].message).startswith("Length of IterableDataset ")
    assert "was reported to be 3(when accessing len(dataloader)), but 4 samples have been fetched. " in str(
        caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(ed.DataLoader(Sized(), batch_size=None))  # len() never asked: no warning


def test_worker_threads_end_when_the_loop_is_left():
    loader = ed.DataLoader(_Plain(0, 1000), batch_size=2, num_workers=2)
    for i, _ in enumerate(loader):
        if i == 2:
            break
    import gc
    gc.collect()
    time.sleep(0.1)
    assert not any(t.name == "eigengrad-prefetch" and t.is_alive() for t in threading.enumerate())
