"""Factories, dtypes and conversions against PyTorch 2.13: deterministic factories value for value (arange,
linspace, logspace, eye, full, the *_like and new_* forms, legacy constructors), random ones by dtype, shape,
range and statistics (eigengrad draws from its own generators), conversions and inspection, and the dtype
objects (eg.float32.is_floating_point, finfo, iinfo)."""
import pickle

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="the factory tests compare with PyTorch")


def same(e, t):
    """Equal shapes and dtypes; integer and bool values exactly, floats to their precision (linspace and
    arange compute in double here, in the tensor's dtype and SIMD lanes in PyTorch: the last bit may differ)."""
    assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
    assert str(e.dtype) == str(t.dtype).replace("torch.", ""), (e.dtype, t.dtype)
    if e.dtype.is_floating_point:
        scale = float(np.max(np.abs(t.numpy()))) if t.numel() else 0.0
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=0, atol=(2e-7 if e.dtype == eg.float32 else 1e-15) * scale)
    else:
        np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("call", [
    lambda L: L.zeros(2, 3), lambda L: L.zeros((2, 0)), lambda L: L.ones([3], dtype=L.int64),
    lambda L: L.full((2, 2), 3), lambda L: L.full((2,), True), lambda L: L.full((1,), 2.5, dtype=L.float64),
    lambda L: L.empty(3, 0).fill_(1.0) if False else L.zeros(3, 0), lambda L: L.arange(10),
    lambda L: L.arange(1, 4, dtype=L.float64), lambda L: L.arange(0, 10, 3), lambda L: L.arange(5, 0, -1.5),
    lambda L: L.arange(-1.0, 1.0, 0.25), lambda L: L.arange(0, 1, 0.1), lambda L: L.arange(3, dtype=L.float32),
    lambda L: L.linspace(0, 1, 7), lambda L: L.linspace(-3, 5, 1), lambda L: L.linspace(2, -1, 5, dtype=L.float64),
    lambda L: L.linspace(0, 10, 4, dtype=L.int64), lambda L: L.logspace(0, 2, 3), lambda L: L.eye(3),
    lambda L: L.eye(2, 4, dtype=L.int64), lambda L: L.zeros_like(L.ones(2, 3, dtype=L.int32)),
    lambda L: L.ones_like(L.ones(2), dtype=L.float64), lambda L: L.full_like(L.zeros(3), 7.5),
    lambda L: L.empty_like(L.ones(2, dtype=L.int64)).zero_(), lambda L: L.ones(2, dtype=L.int32).new_ones(3),
    lambda L: L.ones(2).new_zeros((2, 2)), lambda L: L.ones(2).new_full((2,), 7),
    lambda L: L.ones(2, dtype=L.float64).new_tensor([1, 2]), lambda L: L.ones(1).new_empty(0),
    lambda L: L.tensor([L.tensor(1.5), L.tensor(2.0)]), lambda L: L.tensor([[1, 2], [3, 4]]),
    lambda L: L.tensor(3.5), lambda L: L.tensor([True, False]), lambda L: L.tensor([1, 2.5]),
    lambda L: L.as_tensor([1.0, 2.0], dtype=L.float64), lambda L: L.LongTensor([1, 2]),
    lambda L: L.FloatTensor([1, 2]), lambda L: L.BoolTensor([1, 0]), lambda L: L.DoubleTensor(2, 3).zero_(),
    lambda L: L.Tensor([1, 2]), lambda L: L.Tensor(2, 3).zero_(), lambda L: L.IntTensor([3]),
])
def test_deterministic_factories_match_torch(call):
    same(call(eg), call(torch))


def test_linspace_arange_float64_values_match_torch():
    for args in ((0, 1, 7), (-3.0, 5.0, 11), (1e-3, 2.5, 100), (5, 5, 3), (0, 1, 0)):
        same(eg.linspace(*args, dtype=eg.float64), torch.linspace(*args, dtype=torch.float64))
    same(eg.arange(0, 1, 0.1, dtype=eg.float64), torch.arange(0, 1, 0.1, dtype=torch.float64))
    same(eg.arange(10, -3, -0.7, dtype=eg.float64), torch.arange(10, -3, -0.7, dtype=torch.float64))


def test_legacy_types_and_isinstance():
    assert isinstance(eg.tensor([1, 2]), eg.LongTensor) and not isinstance(eg.tensor([1.0]), eg.LongTensor)
    assert isinstance(eg.tensor([1.0]), eg.FloatTensor) and isinstance(eg.zeros(1, dtype=eg.float64), eg.DoubleTensor)
    assert eg.LongTensor(2, 3).shape == (2, 3) and eg.LongTensor(2, 3).dtype == eg.int64
    assert eg.LongTensor().shape == (0,)


@pytest.mark.parametrize("call", [
    lambda L: L.rand(3, 4), lambda L: L.randn(2, 5, dtype=L.float64), lambda L: L.rand_like(L.ones(2, 3)),
    lambda L: L.randn_like(L.ones(4, dtype=L.float64)), lambda L: L.randint(3, 10, (2, 5)),
    lambda L: L.randint(5, (3,)), lambda L: L.randint(0, 2, (4,), dtype=L.int32), lambda L: L.randperm(6),
    lambda L: L.randint_like(L.ones(3), 4), lambda L: L.multinomial(L.tensor([0.2, 0.8]), 3, True),
    lambda L: L.multinomial(L.tensor([[0.2, 0.5, 0.3], [1.0, 0.0, 1.0]]), 2),
    lambda L: L.bernoulli(L.full((4,), 0.5)), lambda L: L.normal(L.zeros(3), L.ones(3)),
    lambda L: L.normal(0.0, 2.0, (2, 2)), lambda L: L.empty(2, 3).uniform_(-1, 1),
    lambda L: L.empty(3).normal_(), lambda L: L.empty(5).bernoulli_(0.3), lambda L: L.empty(2).exponential_(),
    lambda L: L.zeros(4, dtype=L.int64).random_(0, 5),
])
def test_random_factories_match_torch_shapes_and_dtypes(call):
    e, t = call(eg), call(torch)
    assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype).replace("torch.", "")


def test_normal_gives_its_tensor_arguments_a_zero_gradient():
    """PyTorch's normal(mean, std) with tensors that require grad is in the graph (NormalBackward), each getting
    a zero gradient: eigengrad's result had not required grad, so a loss of it had no graph."""
    for L in (eg, torch):
        m, s = L.zeros(3, requires_grad=True), L.ones(3, requires_grad=True)
        y, z, w = L.normal(m, 1.0), L.normal(0.5, s), L.normal(m, s)
        assert y.requires_grad and z.requires_grad and w.requires_grad
        (y.sum() + z.sum() + w.sum()).backward()
        assert m.grad.tolist() == [0.0] * 3 and s.grad.tolist() == [0.0] * 3
        assert not L.normal(0.0, 1.0, size=(2,)).requires_grad
        assert L.normal(0.0, 1.0, size=(2,), requires_grad=True).requires_grad
        with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
            L.normal(m, -1.0)
        with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
            L.normal(m, L.tensor([1.0, -1.0, 1.0]))


def test_random_factories_ranges_and_statistics():
    eg.manual_seed(0)
    u = eg.rand(100_000).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    n = eg.randn(100_000, dtype=eg.float64).numpy()
    assert abs(n.mean()) < 0.02 and abs(n.std() - 1) < 0.02
    r = eg.randint(-3, 4, (50_000,)).numpy()
    assert r.min() == -3 and r.max() == 3 and abs(r.mean()) < 0.05
    assert sorted(eg.randperm(10).tolist()) == list(range(10))
    m = eg.multinomial(eg.tensor([0.1, 0.6, 0.3]), 30_000, replacement=True).numpy()
    np.testing.assert_allclose(np.bincount(m, minlength=3) / m.size, [0.1, 0.6, 0.3], atol=0.01)
    draws = eg.multinomial(eg.tensor([[1.0, 0.0, 2.0, 1.0]] * 2000), 2).numpy()
    assert (draws != 1).all() and (draws[:, 0] != draws[:, 1]).all()  # no zero weight, no repeats
    first = np.bincount(draws[:, 0], minlength=4) / draws.shape[0]
    np.testing.assert_allclose(first, [0.25, 0.0, 0.5, 0.25], atol=0.04)
    b = eg.bernoulli(eg.full((50_000,), 0.3)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01
    g1, g2 = eg.Generator().manual_seed(5), eg.Generator().manual_seed(5)
    assert eg.randint(0, 100, (10,), generator=g1).tolist() == eg.randint(0, 100, (10,), generator=g2).tolist()


def test_random_factories_errors_match_torch():
    for call in (lambda L: L.multinomial(L.tensor([0.5, -0.1]), 1), lambda L: L.multinomial(L.tensor([0.0, 0.0]), 1),
                 lambda L: L.multinomial(L.tensor([1.0, 0.0]), 3), lambda L: L.randint(5, 2, (2,)),
                 lambda L: L.bernoulli(L.tensor([1.5]))):
        with pytest.raises(RuntimeError):
            call(torch)
        with pytest.raises(RuntimeError):
            call(eg)
    assert eg.multinomial(eg.tensor([1.0, 0.0]), 2).tolist() == torch.multinomial(torch.tensor([1.0, 0.0]), 2).tolist()


def test_conversions_match_torch():
    data = [[1.5, -2.0], [3.25, 0.0]]
    e, t = eg.tensor(data), torch.tensor(data)
    assert e.type() == t.type() == "torch.FloatTensor"
    assert e.long().type() == t.long().type() and eg.tensor([True]).type() == torch.tensor([True]).type()
    for conv in ("float", "double", "long", "int", "bool", "short", "char", "byte"):
        same(getattr(e, conv)(), getattr(t, conv)())
    same(e.type(eg.int64), t.type(torch.int64))
    same(e.type("torch.LongTensor"), t.type("torch.LongTensor"))
    same(e.type(eg.LongTensor), t.type(torch.LongTensor))
    same(e.type_as(eg.tensor([1])), t.type_as(torch.tensor([1])))
    assert e.tolist() == t.tolist() and e[0, 0].item() == t[0, 0].item()
    assert type(eg.tensor(3).item()) is int and type(eg.tensor(True).item()) is bool
    assert (e.element_size(), e.long().element_size(), e.is_floating_point(), e.long().is_floating_point()) == (
        t.element_size(), t.long().element_size(), t.is_floating_point(), t.long().is_floating_point())
    assert (e.size(-1), e.size(0), tuple(e.size()), e.numel(), e.dim(), e.ndim, e.ndimension(), e.nelement()) == (
        t.size(-1), t.size(0), tuple(t.size()), t.numel(), t.dim(), t.ndim, t.ndimension(), t.nelement())
    assert e.shape.numel() == t.shape.numel() and e.stride() == t.stride() and e.t().stride() == t.t().stride()
    assert eg.numel(e) == torch.numel(t) and eg.is_floating_point(e) and eg.is_tensor(e) and not eg.is_tensor(data)
    with pytest.raises(IndexError):
        e.size(2)
    with pytest.raises(TypeError, match="float16"):
        e.half()
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        e.item()


def test_dtype_objects_match_torch():
    pairs = [(eg.float32, torch.float32), (eg.float, torch.float), (eg.float64, torch.float64),
             (eg.double, torch.double), (eg.int64, torch.int64), (eg.long, torch.long), (eg.int32, torch.int32),
             (eg.int, torch.int), (eg.int16, torch.int16), (eg.int8, torch.int8), (eg.uint8, torch.uint8),
             (eg.bool, torch.bool), (eg.float16, torch.float16), (eg.half, torch.half)]
    for d, t in pairs:
        assert (d.is_floating_point, d.is_signed, d.is_complex, d.itemsize) == (
            t.is_floating_point, t.is_signed, t.is_complex, t.itemsize), d
        assert repr(d) == repr(t).replace("torch", "eigengrad")
        assert pickle.loads(pickle.dumps(d)) is d
    assert eg.float is eg.float32 and eg.long is eg.int64 and eg.double is eg.float64
    x = eg.zeros(2)
    assert x.dtype is eg.float32 and x.dtype == np.float32 and x.dtype == np.dtype("float32")
    assert {np.dtype(np.float32): "f"}[x.dtype] == "f" and np.zeros(2, dtype=eg.float64).dtype == np.float64
    assert eg.get_default_dtype() is eg.float32 and repr(torch.get_default_dtype()) == "torch.float32"
    for d, t in ((eg.float32, torch.float32), (eg.float64, torch.float64), ((), ())):
        fi, ft = eg.finfo(*d) if d == () else eg.finfo(d), torch.finfo(*t) if t == () else torch.finfo(t)
        assert (fi.bits, fi.eps, fi.max, fi.min, fi.tiny, fi.smallest_normal, fi.resolution, fi.dtype) == (
            ft.bits, ft.eps, ft.max, ft.min, ft.tiny, ft.smallest_normal, ft.resolution, ft.dtype)
    for d, t in ((eg.int64, torch.int64), (eg.int32, torch.int32), (eg.uint8, torch.uint8), (eg.int8, torch.int8)):
        ii, it = eg.iinfo(d), torch.iinfo(t)
        assert (ii.bits, ii.max, ii.min, ii.dtype) == (it.bits, it.max, it.min, it.dtype)
    with pytest.raises(TypeError):
        eg.iinfo(eg.float32)
    with pytest.raises(TypeError):
        eg.finfo(eg.int64)
    for a, b in ((eg.int64, eg.float32), (eg.uint8, eg.int8), (eg.bool, eg.int32), (eg.float32, eg.float64)):
        t = torch.promote_types(getattr(torch, str(a)), getattr(torch, str(b)))
        assert repr(eg.promote_types(a, b)) == repr(t).replace("torch", "eigengrad")
    assert eg.result_type(eg.tensor([1]), 2.5) is eg.float32
    assert eg.result_type(eg.tensor([1.0], dtype=eg.float32), eg.tensor(1.0, dtype=eg.float64)) is eg.float32


def test_set_default_dtype():
    try:
        eg.set_default_dtype(eg.float64)
        assert eg.tensor([1.5]).dtype is eg.float64 and eg.zeros(2).dtype is eg.float64
        assert (eg.tensor([1, 2]) * 0.5).dtype is eg.float64 and eg.arange(0, 1, 0.5).dtype is eg.float64
    finally:
        eg.set_default_dtype(eg.float32)
    with pytest.raises(TypeError):
        eg.set_default_dtype(eg.int64)



# PyTorch's linspace, bit for bit (its CPU kernel: the step in the dtype's arithmetic, integer dtypes from the
# truncated ends in double, each element one fused multiply-add from the start or, for the second half, from
# the end). eigengrad had computed in float64 and rounded at the end: the last bit differed in most float32
# and float64 cases (linspace(0.05, 0.95, 19)[7]: 0.40000001 against PyTorch's 0.39999998), and integer
# dtypes were off by one where PyTorch truncates the ends first.
def test_linspace_equals_pytorchs_bit_for_bit():
    assert eg.linspace(0.05, 0.95, 19)[7].item() == torch.linspace(0.05, 0.95, 19)[7].item() == 0.3999999761581421
    assert eg.linspace(-3.7, 9.9, 6, dtype=eg.int64).tolist() == [-3, 0, 1, 4, 6, 9]
    rng = np.random.default_rng(0)
    for _ in range(300):
        a, b = rng.normal(0, 10.0 ** rng.integers(-3, 5), 2)
        steps = int(rng.integers(0, 2000))
        for name in ("float32", "float64", "int64", "int32"):
            want = torch.linspace(a, b, steps, dtype=getattr(torch, name)).numpy()
            got = eg.linspace(a, b, steps, dtype=getattr(eg, name)).numpy()
            assert got.dtype == want.dtype and np.array_equal(got, want), (a, b, steps, name)
