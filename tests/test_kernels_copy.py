"""The strided copy (``_C.strided_copy``, behind ``Tensor.contiguous`` and reshapes that must copy) against its NumPy
reference: random layouts (permutations, steps of either sign, broadcast dims, size-0/1 dims, 0-d), every
element size, and the views a network makes (transposes, PixelShuffle's interleave, attention heads)."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _kernels as K
from eigengrad import reference as R

C = K.compiled_module()
DTYPES = [np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_]


def _layout(rng, dtype):
    nd = int(rng.integers(0, 6))
    shape = tuple(int(s) for s in rng.integers(0, 7, nd))
    base = np.asarray((rng.standard_normal(tuple(2 * s + 1 for s in shape)) * 10).astype(dtype))
    if nd:
        steps = tuple(slice(None, None, int(rng.choice([1, 2, -1]))) for _ in shape)
        base = base[steps][tuple(slice(0, s) for s in shape)]
    view = np.transpose(base, rng.permutation(nd))
    if nd and view.shape[-1] and rng.random() < 0.2:
        view = np.broadcast_to(view[..., :1], view.shape[:-1] + (3,))
    return view


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_layouts_match_the_reference(dtype):
    rng = np.random.default_rng(int(np.dtype(dtype).num))
    for _ in range(400):
        src = _layout(rng, dtype)
        out = np.empty(src.shape, src.dtype)
        C.strided_copy(src, out)
        np.testing.assert_array_equal(out, R.strided_copy(src))
        got = K.contiguous(src)
        assert got.flags.c_contiguous and got.shape == src.shape
        np.testing.assert_array_equal(got, R.strided_copy(src))


@pytest.mark.parametrize("shape,perm", [((64, 16, 2, 2, 14, 14), (0, 1, 4, 2, 5, 3)), ((257, 131), (1, 0)),
                                        ((3, 28, 28, 32), (0, 3, 1, 2)), ((2, 37, 8, 64), (0, 2, 1, 3)),
                                        ((1, 1, 5000), (2, 0, 1))])
def test_network_views(shape, perm):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    src = np.transpose(x, perm)
    out = np.empty(src.shape, np.float32)
    C.strided_copy(src, out)
    np.testing.assert_array_equal(out, np.ascontiguousarray(src))


def test_pixel_shuffle_and_a_reshape_that_must_copy_go_through_it():
    x = eg.randn(2, 8, 5, 3, requires_grad=True)
    y = eg.nn.functional.pixel_shuffle(x, 2)
    want = x.detach().numpy().reshape(2, 2, 2, 2, 5, 3).transpose(0, 1, 4, 2, 5, 3).reshape(2, 2, 10, 6)
    np.testing.assert_array_equal(y.detach().numpy(), want)
    y.backward(eg.ones_like(y))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 8, 5, 3), np.float32))
    t = eg.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1)
    assert t.reshape(4, 6).tolist() == np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1).reshape(4, 6).tolist()
    assert t.reshape(-1, 2).shape == (12, 2)
    with pytest.raises(ValueError):
        t.reshape(5, 5)


def test_bad_arguments_name_themselves():
    src = np.zeros((3, 4), np.float32).T
    with pytest.raises(TypeError, match="out: expected dtype float32"):
        C.strided_copy(src, np.empty((4, 3), np.float64))
    with pytest.raises(TypeError, match="src: expected elements of 1, 2, 4 or 8 bytes"):
        C.strided_copy(np.zeros((3, 4), np.complex128).T, np.empty((4, 3), np.complex128))
    unaligned = np.zeros(13, np.uint8)[1:].view(np.float32).reshape(3, 1)[::2]
    assert not unaligned.flags.aligned
    with pytest.raises(ValueError, match="src: expected an aligned array"):
        C.strided_copy(unaligned, np.empty(unaligned.shape, np.float32))
    with pytest.raises(ValueError, match="out"):
        C.strided_copy(src, np.empty((3, 4), np.float32))
    with pytest.raises(ValueError, match="out"):
        C.strided_copy(src, np.empty((4, 6), np.float32)[:, ::2])
    whole = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match="must not share memory"):
        C.strided_copy(whole.T, whole)


# --- fill and increment (the copy area's other kernels: a backward's seed, BatchNorm's counter) -----------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (13, 31), (3, 0, 5), (1031, 67)])
@pytest.mark.parametrize("value", [0, 1, -2.5, 1e-310, 3.4e39, -1e300, float("nan"), float("-inf"), 2**53])
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # (the reference's float32)
def test_fill_matches_the_reference(dtype, shape, value):
    out = np.full(shape, 7, dtype)
    K.fill_(out, value)
    np.testing.assert_array_equal(out, R.fill(shape, dtype, value))
    out2 = np.full(shape, 7, dtype)
    C.fill(out2, value)
    np.testing.assert_array_equal(out2, R.fill(shape, dtype, value))


@pytest.mark.parametrize("value", [1, 0.5, np.float32(2.5), True])
def test_fill_of_other_layouts_dtypes_and_values_takes_the_glue(value):
    for out in (np.zeros((6, 4), np.float32)[:, ::2], np.zeros((5,), np.int32), np.zeros((3, 4), np.float64).T):
        want = R.fill(out.shape, out.dtype, value)
        K.fill_(out, value)
        np.testing.assert_array_equal(out, want)
    for dtype in (np.float32, np.float64):  # (an int the kernel's double would round)
        out = np.zeros(3, dtype)
        K.fill_(out, 2**60 + 1)
        np.testing.assert_array_equal(out, R.fill((3,), dtype, 2**60 + 1))


def test_fill_checks_its_output():
    with pytest.raises(TypeError, match="out"):
        C.fill(np.zeros(3, np.int64), 1.0)
    with pytest.raises(ValueError, match="out"):
        C.fill(np.zeros((4, 4), np.float32)[:, ::2], 1.0)
    ro = np.zeros(3, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        C.fill(ro, 1.0)


@pytest.mark.parametrize("start", [0, -5, 2**40, 2**63 - 3])
def test_increment_matches_the_reference(start):
    count = np.array(start, np.int64)
    K.increment_(count)
    assert count.shape == () and count == R.increment(np.array(start, np.int64))
    C.increment(count)
    assert int(count) == start + 2


def test_increment_at_the_largest_int64_raises_and_keeps_the_count():
    for inc in (C.increment, K.increment_):
        count = np.array(2**63 - 1, np.int64)
        with pytest.raises(OverflowError):
            inc(count)
        assert int(count) == 2**63 - 1
    with pytest.raises(OverflowError):
        R.increment(np.array(2**63 - 1, np.int64))


def test_increment_checks_its_count():
    with pytest.raises(TypeError, match="count"):
        C.increment(np.zeros((), np.float32))
    with pytest.raises(ValueError, match="count"):
        C.increment(np.zeros(1, np.int64))
    other = np.zeros((), np.int32)  # (another dtype: the glue)
    K.increment_(other)
    assert other.dtype == np.int32 and int(other) == 1


def test_a_plan_runs_the_fill_and_the_increment_natively():
    from compile_cases import make_step, batches

    step, model, opt, _ = make_step("adamw")
    fn = eg.compile(step)
    for x, y in batches(6):
        fn(x, y)
    plan = fn._guard.entry.plan
    native = {plan.ops[i].name for i in plan.native.captured_ops}
    assert {"fill", "increment"} <= native
    assert int(model[1].num_batches_tracked) == 6
