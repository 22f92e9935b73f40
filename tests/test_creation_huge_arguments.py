"""Factories given huge integer arguments (found 2026-12-06 by a sweep of 2**31 .. 2**64 arguments beside
PyTorch): NumPy's length arithmetic wraps for a range of 2**63 - 1 elements and returned an EMPTY tensor
(``arange(2**63 - 1)``, ``linspace(0, 1, 2**63 - 1)``), and randint cast its draws to the dtype without
checking the bounds, so ``randint(0, 300, dtype=uint8)`` wrapped 256..299 onto 0..43 and
``randint(0, 2**63)`` returned negative numbers. PyTorch refuses all of them; so does eigengrad now, with
PyTorch's messages."""
import re

import numpy as np
import pytest

import eigengrad as eg


@pytest.mark.parametrize("call", [lambda: eg.arange(2**63 - 1), lambda: eg.arange(2**63), lambda: eg.arange(-(2**62), 2**62),
                                  lambda: eg.arange(0.0, 1e20, 1e-5), lambda: eg.arange(2**62, dtype=eg.float32)])
def test_arange_refuses_a_length_whose_bytes_overflow(call):
    with pytest.raises(RuntimeError, match=r"^invalid size, possible overflow\?$"):
        call()


def test_linspace_refuses_an_overflowing_length():
    with pytest.raises(RuntimeError, match=re.escape(f"Storage size calculation overflowed with sizes=[{2**63 - 1}]")):
        eg.linspace(0, 1, 2**63 - 1)


def test_huge_integer_ranges_that_fit_are_exact():
    assert eg.arange(0, 2**63 - 1, 2**62).tolist() == [0, 2**62]
    assert eg.arange(-(2**63), 2**63 - 1, 2**62).tolist() == [-(2**63), -(2**62), 0, 2**62]
    assert eg.arange(2**62, 2**62 + 3).tolist() == [2**62, 2**62 + 1, 2**62 + 2]  # (a float quotient would round)
    assert eg.arange(10, 1, -3).tolist() == [10, 7, 4] and eg.arange(1, 10, 3).tolist() == [1, 4, 7]
    assert eg.arange(0, 1, 0.1).shape == (10,) and eg.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize("low,high", [(0, 2**63), (2**63 - 1, 2**63 + 4), (-(2**63) - 1, 0), (0, 2**64)])
def test_randint_bounds_beyond_int64(low, high):
    with pytest.raises(ValueError, match="^Overflow when unpacking long long$"):
        eg.randint(low, high, (3,))


@pytest.mark.parametrize("low,high,dtype,message", [
    (0, 300, eg.uint8, "to - 1 is out of bounds for unsigned char"), (-1, 3, eg.uint8, "from is out of bounds for unsigned char"),
    (0, 2**31 + 5, eg.int32, "to - 1 is out of bounds for int"), (-(2**15) - 1, 0, eg.int16, "from is out of bounds for short"),
    (0, 129, eg.int8, "to - 1 is out of bounds for signed char"), (0, 3, eg.bool, "to - 1 is out of bounds for bool")])
def test_randint_bounds_beyond_the_dtype(low, high, dtype, message):
    with pytest.raises(RuntimeError, match="^" + re.escape(message) + "$"):
        eg.randint(low, high, (3,), dtype=dtype)
    with pytest.raises(RuntimeError, match="^" + re.escape(message) + "$"):
        eg.randint_like(eg.zeros(3, dtype=dtype), low, high)


def test_randint_at_the_dtype_edges_draws_in_range():
    eg.manual_seed(0)
    u8 = eg.randint(0, 256, (4000,), dtype=eg.uint8).numpy()
    assert u8.dtype == np.uint8 and u8.min() < 8 and u8.max() > 247
    i8 = eg.randint(-128, 128, (4000,), dtype=eg.int8).numpy()
    assert i8.min() < -120 and i8.max() > 120
    b = eg.randint(0, 2, (100,), dtype=eg.bool).numpy()
    assert b.dtype == np.bool_ and b.any() and not b.all()
    wide = eg.randint(-(2**63), 2**63 - 1, (1000,)).numpy()
    assert wide.dtype == np.int64 and (wide < 0).any() and (wide > 0).any()


def test_side_by_side_with_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")
    for call in (lambda L: L.randint(0, 300, (3,), dtype=L.uint8), lambda L: L.randint(0, 2**63, (3,)),
                 lambda L: L.arange(0.0, 1e20, 1e-5), lambda L: L.linspace(0, 1, 2**63 - 1)):
        errors = []
        for lib in (eg, torch):
            with pytest.raises((RuntimeError, ValueError)) as info:
                call(lib)
            errors.append((isinstance(info.value, ValueError), str(info.value)))
        assert errors[0] == errors[1] or errors[0][1] == errors[1][1]
