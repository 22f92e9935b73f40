"""PyTorch names that old and new scripts use: the in-place forms of comparisons, triangles, cumulative sums,
products and the alias names (``x.tril_()``, ``x.lt_(y)``, ``x.addmm_(a, b)``, ``x.multiply_(2)``, ...),
``Tensor.new``, ``nn.init.dirac_``/``sparse_`` and the deprecated ``nn.init.xavier_uniform`` etc., and
``nn.utils.clip_grad_norm``. Values asserted directly; gradients through the in-place forms."""
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn

A = np.array([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]])

INPLACE = [
    ("tril_", (), np.tril(A)), ("triu_", (1,), np.triu(A, 1)), ("cumsum_", (1,), np.cumsum(A, 1)),
    ("cumprod_", (0,), np.cumprod(A, 0)), ("eq_", (eg.tensor(A.T.copy()),), (A == A.T).astype(float)),
    ("lt_", (5.0,), (A < 5).astype(float)), ("ge_", (eg.tensor(A.T.copy()),), (A >= A.T).astype(float)),
    ("not_equal_", (2.0,), (A != 2).astype(float)), ("logical_not_", (), np.zeros_like(A)),
    ("addmm_", (eg.tensor(A), eg.tensor(A)), A + A @ A), ("multiply_", (2.0,), 2 * A),
    ("subtract_", (1.0,), A - 1), ("divide_", (4.0,), A / 4), ("true_divide_", (2.0,), A / 2),
    ("negative_", (), -A), ("absolute_", (), A), ("arctan_", (), np.arctan(A)),
    ("addr_", (eg.tensor(A[0].copy()), eg.tensor(A[1].copy())), A + np.outer(A[0], A[1])),
]


@pytest.mark.parametrize("name,args,want", INPLACE, ids=[c[0] for c in INPLACE])
def test_in_place_forms_write_into_the_tensor(name, args, want):
    x = eg.tensor(A.copy())
    out = getattr(x, name)(*args)
    assert out is x and x.dtype == eg.float64
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-15)


def test_in_place_triangle_is_differentiable():
    w = eg.tensor(A.copy(), requires_grad=True)
    y = w * 2
    y.tril_()
    (y * eg.tensor(A)).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), 2 * np.tril(A))


def test_tensor_new():
    x = eg.zeros(2, dtype=eg.float64)
    assert x.new(2, 3).shape == (2, 3) and x.new(2, 3).dtype == eg.float64
    assert x.new(eg.Size([4, 1])).shape == (4, 1) and x.new().shape == (0,)
    np.testing.assert_array_equal(x.new([2, 3]).numpy(), [2.0, 3.0])  # data, as PyTorch's
    np.testing.assert_array_equal(x.new((2, 3)).numpy(), [2.0, 3.0])
    assert x.new([1, 2]).dtype == eg.float64


def test_dirac_passes_the_input_through_and_sparse_zeroes_each_column():
    conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
    nn.init.dirac_(conv.weight)
    x = eg.randn(2, 4, 5, 5)
    np.testing.assert_array_equal(conv(x).detach().numpy(), x.numpy())
    w = eg.empty(6, 4, 3)
    nn.init.dirac_(w, groups=2)
    assert sorted(map(tuple, np.argwhere(w.numpy() == 1))) == [(0, 0, 1), (1, 1, 1), (2, 2, 1), (3, 0, 1),
                                                                (4, 1, 1), (5, 2, 1)]
    assert w.numpy().sum() == 6
    with pytest.raises(ValueError, match="groups: dim 0 must be divisible by groups"):
        nn.init.dirac_(eg.empty(5, 2, 3), groups=2)
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions"):
        nn.init.dirac_(eg.empty(5, 2))
    s = eg.empty(10, 7)
    nn.init.sparse_(s, 0.3, std=0.5)
    assert np.all((s.numpy() == 0).sum(0) == 3)
    assert 0.2 < s.numpy()[s.numpy() != 0].std() < 1.0


def test_deprecated_names_warn_and_initialise():
    for name in ("uniform", "normal", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
                 "orthogonal"):
        w = eg.zeros(4, 5)
        with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated in favor of `nn.init.{name}_`"):
            getattr(nn.init, name)(w)
        assert np.all(w.numpy() != 0), name
    with pytest.warns(FutureWarning):
        nn.init.constant(w, 0.5)
    assert np.all(w.numpy() == 0.5)
    p = nn.Parameter(eg.ones(3))
    p.grad = eg.ones(3) * 10
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        total = nn.utils.clip_grad_norm([p], 1.0)
    np.testing.assert_allclose(total.item(), np.sqrt(300), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(p.grad.numpy()), 1.0, rtol=1e-5)


def test_torch_has_the_same_names():
    torch = pytest.importorskip("torch", reason="checks the names against PyTorch's")
    for name, _, _ in INPLACE:
        assert hasattr(torch.Tensor, name)
    for name in ("dirac_", "sparse_", "xavier_uniform", "kaiming_normal"):
        assert hasattr(torch.nn.init, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.zeros(2).new((2, 3)).tolist() == [2.0, 3.0]
