"""The tensor operations' kernels give the same bits on 1, 2 or 3 threads: reductions whose axis spans many
chunks (the partials are added in chunk order), scatter-add and index_add with many repeated indices (each
output element is updated by one thread, in index order), sort and topk."""
import numpy as np
import pytest

import eigengrad
from eigengrad import _kernels as K
from test_threads_determinism import assert_bitwise_equal, on_each_thread_count


@pytest.fixture(autouse=True)
def _threads(restore_threads):
    yield


@pytest.mark.parametrize("shape,axes", [((300_001,), (0,)), ((7, 100_003), (1,)), ((100_003, 7), (0,)),
                                        ((3, 40_000, 5), (1,)), ((64, 4000), (0, 1)), ((2, 50, 3000), (0, 2))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reductions_do_not_depend_on_the_thread_count(shape, axes, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    assert_bitwise_equal(on_each_thread_count(lambda: K.reduce_sum(x, axes)))
    assert_bitwise_equal(on_each_thread_count(lambda: K.reduce_var(x, axes, 1, True, True)))
    for p in (2.0, 1.0, 3.0, np.inf):
        assert_bitwise_equal(on_each_thread_count(lambda p=p: K.reduce_norm(x, axes, p)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,dim", [((4000,), 0), ((50, 2000), 0), ((2000, 50), 1), ((8, 300, 40), 1)])
def test_scatter_add_and_index_add_do_not_depend_on_the_thread_count(dtype, shape, dim):
    rng = np.random.default_rng(1)
    out = rng.standard_normal(shape).astype(dtype)
    ishape = shape[:dim] + (3 * shape[dim],) + shape[dim + 1:]
    idx = rng.integers(0, max(shape[dim] // 10, 1), ishape)  # every target gets ~30 updates
    src = rng.standard_normal(ishape).astype(dtype)
    assert_bitwise_equal(on_each_thread_count(lambda: K.scatter_(out.copy(), dim, idx, src, "add")))
    sel = rng.integers(0, max(shape[dim] // 10, 1), 3 * shape[dim])
    assert_bitwise_equal(on_each_thread_count(lambda: K.index_add_(out.copy(), dim, sel, src, 1.0)))
    assert_bitwise_equal(on_each_thread_count(lambda: K.gather(out, dim, idx % shape[dim])))


def test_sort_and_topk_do_not_depend_on_the_thread_count():
    x = np.round(np.random.default_rng(2).standard_normal((200, 3000)), 2)  # many ties
    assert_bitwise_equal(on_each_thread_count(lambda: K.sort(x, 1, True)))
    assert_bitwise_equal(on_each_thread_count(lambda: K.topk(x, 0, 17)))


def test_a_tensor_training_step_with_the_new_operations_is_bitwise_equal_across_threads():
    """norm/var/gather/scatter_add/sort in one graph, forward and backward, on 1, 2 and 3 threads."""
    def step():
        g = eigengrad.Generator().manual_seed(0)
        x = eigengrad.randn(400, 300, generator=g, requires_grad=True)
        idx = eigengrad.randint(0, 300, (400, 600), generator=g)
        y = x.gather(1, idx).sort(1).values.norm(dim=0) + x.var(0).sum() + x.scatter_add(1, idx, x.repeat(1, 2)).mean()
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    assert_bitwise_equal(on_each_thread_count(step))
