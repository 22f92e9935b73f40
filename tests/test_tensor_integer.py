"""Integer arithmetic where fixed widths and negative counts meet: shifts (``<<``, ``>>``,
``bitwise_left_shift``/``bitwise_right_shift``), the in-place bitwise operators (``&=``, ``|=``, ``^=``,
``<<=``, ``>>=``, which write into the tensor as PyTorch's do) and integer powers with negative exponents.
Values are checked against Python's own integer arithmetic; torch side by side where installed."""
import numpy as np
import pytest

import eigengrad as eg

INTS = ["uint8", "int8", "int16", "int32", "int64"]


def _expected(a, b, dt, left):
    """Python's unbounded shift, wrapped to the dtype's width; counts outside [0, bits) shift all bits out."""
    bits, signed, out = np.dtype(dt).itemsize * 8, np.dtype(dt).kind == "i", []
    for x, c in zip(a.tolist(), b.tolist()):
        if c < 0 or c >= bits:
            v = 0 if left or x >= 0 else -1
        else:
            v = (x << c if left else x >> c) & ((1 << bits) - 1)  # wrapped to the width
            if signed and v >= 1 << (bits - 1):
                v -= 1 << bits
        out.append(v)
    return np.array(out, dtype=dt)


@pytest.mark.parametrize("dt", INTS)
def test_shifts_against_python_integers(dt):
    rs = np.random.RandomState(INTS.index(dt))
    info = np.iinfo(dt)
    a = rs.randint(max(info.min, -300), min(info.max, 300) + 1, 97).astype(dt)
    b = rs.randint(max(info.min, -3), 70, 97).astype(dt)
    np.testing.assert_array_equal(eg.bitwise_left_shift(eg.tensor(a), eg.tensor(b)).numpy(), _expected(a, b, dt, True))
    np.testing.assert_array_equal((eg.tensor(a) >> eg.tensor(b)).numpy(), _expected(a, b, dt, False))
    r = eg.tensor(a) << 3
    assert r.dtype == getattr(eg, dt)
    np.testing.assert_array_equal(r.numpy(), _expected(a, np.full_like(a, 3), dt, True))
    np.testing.assert_array_equal((1 << eg.tensor(np.arange(5, dtype=dt))).numpy(), [1, 2, 4, 8, 16])
    np.testing.assert_array_equal((64 >> eg.tensor(np.arange(5, dtype=dt))).numpy(), [64, 32, 16, 8, 4])


def test_shift_rejects_float_and_bool_operands_as_pytorch():
    with pytest.raises(TypeError, match="\"lshift_cpu\" not implemented for 'Float'"):
        eg.tensor([1.5]) << 1
    with pytest.raises(TypeError, match="\"rshift_cpu\" not implemented for 'Bool'"):
        eg.tensor([True]) >> eg.tensor([True])
    assert (eg.tensor([True]) >> 1).tolist() == [0]  # bool with a Python int is int64


def test_inplace_bitwise_operators_write_through_views_and_names():
    m = eg.zeros(4, dtype=eg.bool)
    v = m[1:]
    v |= eg.tensor([True, False, True])
    assert m.tolist() == [False, True, False, True]
    same = m
    m &= eg.tensor([True, True, False, True])
    m ^= eg.tensor([True, False, False, False])
    assert same is m and same.tolist() == [True, True, False, True]
    i = eg.tensor([1, 2, 3])
    j = i
    i <<= 2
    i >>= 1
    assert j.tolist() == [2, 4, 6]
    b = eg.tensor([True, False])
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        b |= eg.tensor([1, 2])
    assert b.tolist() == [True, False]


def test_against_torch():
    torch = pytest.importorskip("torch", reason="torch is the reference for the side-by-side shifts")
    rs = np.random.RandomState(7)
    for dt in INTS:
        a, b = rs.randint(-128, 128, 64).astype(dt), rs.randint(-2, 66, 64).astype(dt)
        for name in ("bitwise_left_shift", "bitwise_right_shift"):
            ours = getattr(eg, name)(eg.tensor(a), eg.tensor(b))
            theirs = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b))
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
            assert str(theirs.dtype) == "torch." + str(ours.dtype).split(".")[-1]


def test_integer_power_with_negative_exponent_elements():
    a = eg.tensor([-2, -1, 0, 1, 2, 3])
    for e in (-1, -2, -3):  # PyTorch's: 1 / a rounded toward zero, so 0 but for 1 and -1
        expect = [0, (-1) ** (-e % 2), 0, 1, 0, 0]
        assert (a ** eg.full((6,), e)).tolist() == expect
    assert eg.pow(2, eg.tensor([-1, 2])).tolist() == [0, 4]
    x = eg.tensor([2, 3])
    y = x
    x **= eg.tensor([-1, 2])
    assert y.tolist() == [0, 9]
    with pytest.raises(ValueError, match="Integers to negative integer powers are not allowed."):
        eg.tensor([2]) ** -1
    f = eg.tensor([2.0]) ** eg.tensor([-1])  # floats are not affected
    assert f.tolist() == [0.5]
