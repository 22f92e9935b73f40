"""as_strided: a view of the input's storage with given sizes, strides and offset (PyTorch's), against NumPy's
stride tricks in float32 and float64, on sliding windows, offsets, non-contiguous and zero-size inputs;
gradients (overlapping windows add up) by gradcheck and gradgradcheck and side by side with PyTorch; writes
through the view; the errors."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.autograd.gradcheck import gradcheck, gradgradcheck


def windows(a, w):
    return np.lib.stride_tricks.sliding_window_view(a, w)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("n,w", [(1, 1), (7, 3), (13, 13), (1000, 31)])
def test_sliding_windows_equal_numpys(dt, n, w):
    a = np.random.default_rng(n).standard_normal(n).astype(dt)
    x = eg.tensor(a)
    y = x.as_strided((n - w + 1, w), (1, 1))
    np.testing.assert_array_equal(y.numpy(), windows(a, w))
    assert np.shares_memory(y.numpy(), x.numpy()) and y.dtype == x.dtype


def test_offset_defaults_to_the_inputs_and_counts_from_the_storage():
    x = eg.arange(12.0)
    tail = x[3:]
    assert tail.storage_offset() == 3
    np.testing.assert_array_equal(tail.as_strided((2, 2), (4, 1)).numpy(), [[3, 4], [7, 8]])
    np.testing.assert_array_equal(tail.as_strided((2,), (1,), 0).numpy(), [0, 1])  # the storage's start
    y = tail.as_strided((3,), (2,), 5)
    assert y.storage_offset() == 5 and y.stride() == (2,)
    np.testing.assert_array_equal(y.as_strided((2,), (1,)).numpy(), [5, 6])  # a view of a view: same storage


def test_non_contiguous_input_reads_its_storage():
    a = np.arange(12.0).reshape(3, 4)
    x = eg.tensor(a).t()  # strides (1, 4) over the same storage
    np.testing.assert_array_equal(x.as_strided((4, 3), (1, 4)).numpy(), a.T)
    np.testing.assert_array_equal(x.as_strided((2, 2), (4, 1), 1).numpy(), [[1, 2], [5, 6]])


def test_zero_size_and_zero_strides():
    x = eg.arange(4.0)
    assert x.as_strided((0, 3), (1, 1)).shape == (0, 3)
    np.testing.assert_array_equal(x.as_strided((2, 3), (0, 1), 1).numpy(), [[1, 2, 3], [1, 2, 3]])


def test_writes_through_the_view_reach_the_base_and_its_gradient():
    w = eg.tensor(np.arange(1.0, 7.0), requires_grad=True)
    x = w * 1
    x.as_strided((3,), (2,)).mul_(3)
    np.testing.assert_array_equal(x.detach().numpy(), [3, 2, 9, 4, 15, 6])
    (x * eg.tensor(np.arange(6.0))).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [0, 1, 6, 3, 12, 5])


def test_overlapping_windows_add_their_gradients():
    s = eg.tensor(np.arange(8.0), requires_grad=True)
    s.as_strided((6, 3), (1, 1)).sum(1).pow(2).sum().backward()
    sums = windows(np.arange(8.0), 3).sum(1)
    want = np.zeros(8)
    for i, v in enumerate(sums):
        want[i:i + 3] += 2 * v
    np.testing.assert_array_equal(s.grad.numpy(), want)


@pytest.mark.parametrize("make", [lambda a: a.as_strided((3, 3), (1, 2), 1),
                                  lambda a: a.t().as_strided((2, 5), (3, 1)),
                                  lambda a: a[1:].as_strided((4, 2), (1, 1)),
                                  lambda a: a.as_strided((2, 2, 2), (6, 0, 1), 2).pow(2)])
def test_gradcheck_and_gradgradcheck(make):
    x = eg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(make, (x,))
    assert gradgradcheck(make, (x,))


def test_errors_name_the_argument():
    x = eg.arange(10.0)
    with pytest.raises(ValueError, match=r"size: as_strided: sizes \[4, 3\], strides \[3, 1\] .* storage of 12 "
                                         r"elements, but input's storage has 10"):
        x.as_strided((4, 3), (3, 1))
    with pytest.raises(ValueError, match=r"stride: as_strided: Negative strides are not supported"):
        x.as_strided((4, 3), (-1, 1))
    with pytest.raises(ValueError, match=r"stride: mismatch in length of strides and shape"):
        x.as_strided((4,), (1, 2))
    with pytest.raises(ValueError, match="storage_offset: expected a non-negative int"):
        x.as_strided((2,), (1,), -1)
    with pytest.raises(ValueError, match=r"negative dimension -1: \[-1\]"):  # PyTorch's message
        x.as_strided((-1,), (1,))


def test_compiled_step_replays_eagers_bits():
    runs = []
    for compiled in (False, True):
        eg.manual_seed(0)
        w = eg.randn(3, requires_grad=True)
        opt = eg.optim.SGD([w], lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (x.as_strided((6, 3), (1, 1)) @ w).square().mean()
            loss.backward()
            opt.step()
            return loss
        fn = eg.compile(step) if compiled else step
        x = eg.tensor(np.linspace(-1, 1, 8, dtype=np.float32))
        runs.append([fn(x).item() for _ in range(4)])
    assert runs[0] == runs[1] and runs[0][-1] < runs[0][0]


def test_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity check (pip install torch)")
    rng = np.random.default_rng(1)
    for size, stride, offset in [((5, 3), (2, 1), 1), ((2, 3, 2), (4, 1, 2), 0), ((4,), (3,), None)]:
        a = rng.standard_normal(16)
        g = rng.standard_normal(size)
        ex, tx = eg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        ey, ty = ex.as_strided(size, stride, offset), tx.as_strided(size, stride, offset)
        np.testing.assert_array_equal(ey.detach().numpy(), ty.detach().numpy())
        ey.backward(eg.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-14)
