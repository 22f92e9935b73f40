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
