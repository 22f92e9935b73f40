"""Max pooling's kernel and NumPy reference on windows of -inf values (PyTorch 2.13's indices written out)."""
import numpy as np
import pytest

from eigengrad import _kernels as K
from eigengrad import reference as ref


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_index_of_an_all_minus_inf_window_is_its_first_tap_inside(dtype):
    """A window of -inf values (padding taps included) gives the index of its first tap inside the plane,
    never -1 (found by the binding fuzzer: the reference returned a padding tap)."""
    x = np.full((1, 1, 5, 7), -np.inf, dtype)
    x[0, 0, 4, 3] = 1
    args = ((3, 1), (1, 1), (1, 0), (2, 1), True)
    y, i = ref.max_pool2d_forward(x, *args)
    # torch.nn.functional.max_pool2d(x, (3, 1), (1, 1), (1, 0), (2, 1), True, return_indices=True)[1][0, 0]
    expected = np.array([[7, 8, 9, 10, 11, 12, 13], [0, 1, 2, 31, 4, 5, 6], [7, 8, 9, 10, 11, 12, 13]])
    np.testing.assert_array_equal(i[0, 0], expected)
    assert y[0, 0, 1, 3] == 1 and np.all(np.delete(y.ravel(), 10) == -np.inf)
    y_k, i_k = K.max_pool2d_forward(x, *args)
    np.testing.assert_array_equal(i_k, i)
    np.testing.assert_array_equal(y_k, y)


@pytest.mark.parametrize("relu", [False, True])
def test_max_pool_backward_refuses_any_index_outside_the_plane_before_writing(relu):
    """The indices are scanned at every call (a compiled plan's replays too), without branches first: the
    extremes of int64, -2 and the plane's size are refused, anywhere in a large array (the scan's chunks),
    with the first bad value named; -1 (a window without input) and every index inside pass."""
    planes, h, w = 600, 4, 4
    dy = np.ones((planes, 2, 2), np.float32)
    y = np.ones_like(dy)
    good = np.tile(np.array([[0, 3], [8, 15]], np.int64), (planes, 1, 1))
    good[5, 0, 0] = -1
    call = (lambda i, d: K._C.max_pool2d_relu_backward(dy, i, y, d)) if relu else \
        (lambda i, d: K._C.max_pool2d_backward(dy, i, d))
    dx = np.empty((planes, h, w), np.float32)
    call(good, dx)
    assert dx.sum() == 4 * planes - 1 and dx[5, 0, 0] == 0 and dx[6, 3, 3] == 1
    for bad in (16, -2, 2 ** 63 - 1, -2 ** 63, 17):
        for at in ((0, 0, 0), (planes // 2, 1, 0), (planes - 1, 1, 1)):
            idx = good.copy()
            idx[at] = bad
            idx[-1, 0, 1] = 99 if at != (planes - 1, 1, 1) else 3  # a later bad one is not the one named
            dx = np.full((planes, h, w), 7.0, np.float32)
            with pytest.raises(ValueError, match=rf"indices: expected values in \[-1, 16\), got {bad}$"):
                call(idx, dx)
            assert (dx == 7).all()
