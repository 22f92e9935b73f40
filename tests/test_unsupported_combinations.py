"""The argument combinations and abstract members that raise NotImplementedError, as in PyTorch: each case
asserts eigengrad's error and message, and, where PyTorch raises there too, that it does (the same family)."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.distributions as ed


def _torch():
    return pytest.importorskip("torch", reason="compares with PyTorch's error when it is installed")


@pytest.mark.parametrize("kwargs, match", [
    (dict(strategy="forward-mode", vectorize=False), "only implemented for `vectorize=True`"),
    (dict(strategy="forward-mode", vectorize=True, create_graph=True),
     "`create_graph=True` and `strategy=\"forward-mode\"` are not supported together"),
], ids=["not-vectorized", "create-graph"])
def test_forward_mode_jacobian_combinations_pytorch_refuses(kwargs, match):
    with pytest.raises(NotImplementedError, match=match):
        eg.autograd.functional.jacobian(lambda x: x * 2, eg.ones(2), **kwargs)
    torch = _torch()
    with pytest.raises(NotImplementedError):
        torch.autograd.functional.jacobian(lambda x: x * 2, torch.ones(2), **kwargs)
    # the supported combination computes the Jacobian
    j = eg.autograd.functional.jacobian(lambda x: x * 2, eg.ones(2), strategy="forward-mode", vectorize=True)
    np.testing.assert_array_equal(j.numpy(), 2 * np.eye(2))


@pytest.mark.parametrize("make", [lambda D: D.SoftmaxTransform(), lambda D: D.StickBreakingTransform(),
                                  lambda D: D.CatTransform([D.ExpTransform()])], ids=["softmax", "stick", "cat"])
def test_transforms_that_are_not_monotone_have_no_sign(make):
    with pytest.raises(NotImplementedError, match="has no sign: it is not monotone elementwise"):
        make(ed).sign
    assert ed.ExpTransform().sign == 1  # a monotone one has its sign
    torch = _torch()
    with pytest.raises(NotImplementedError):
        make(torch.distributions).sign


def test_with_cache_of_a_transform_whose_init_takes_arguments():
    class Scaled(ed.Transform):
        def __init__(self, k, cache_size=0):
            super().__init__(cache_size=cache_size)
            self.k = k

    t = Scaled(2.0)
    assert t.with_cache(0) is t
    with pytest.raises(NotImplementedError, match="Scaled'>.with_cache is not implemented"):
        t.with_cache(1)
    assert isinstance(ed.ExpTransform().with_cache(1), ed.ExpTransform)  # a plain __init__ rebuilds itself


def test_an_exponential_family_subclass_must_give_its_parts():
    class Bare(ed.ExponentialFamily):
        def __init__(self):
            super().__init__(batch_shape=(), validate_args=False)

    for call, name in [(lambda d: d._natural_params, "_natural_params"), (lambda d: d._log_normalizer(1.0),
                                                                            "_log_normalizer"),
                       (lambda d: d._mean_carrier_measure, "_mean_carrier_measure"), (lambda d: d.entropy(), "")]:
        with pytest.raises(NotImplementedError, match=f"Bare must define {name}"):
            call(Bare())
    n = ed.Normal(eg.tensor(0.5, dtype=eg.float64), eg.tensor(2.0, dtype=eg.float64))  # a full member works
    np.testing.assert_allclose(ed.ExponentialFamily.entropy(n).detach().numpy(), n.entropy().numpy(), rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [(dict(layout="csr"), "only the sparse COO layout"),
                                           (dict(blocksize=(1, 1)), "blocksize and dense_dim"),
                                           (dict(dense_dim=1), "blocksize and dense_dim")])
def test_to_sparse_has_only_the_coo_layout(kwargs, match):
    kwargs = {k: (object() if v == "csr" else v) for k, v in kwargs.items()}
    dense = eg.tensor([[0.0, 1.5], [2.0, 0.0]])
    with pytest.raises(NotImplementedError, match=match):
        dense.to_sparse(**kwargs)
    if "layout" in kwargs:
        with pytest.raises(NotImplementedError, match=match):
            dense.to_sparse().to_sparse(**kwargs)
    s = dense.to_sparse()
    np.testing.assert_array_equal(s.to_dense().numpy(), dense.numpy())


def test_sparse_softmax_of_a_dense_tensor():
    with pytest.raises(NotImplementedError, match="'aten::_sparse_softmax' with arguments from the 'CPU' backend"):
        eg.sparse.softmax(eg.ones(2, 2), 0)
    with pytest.raises(NotImplementedError, match="'aten::_sparse_log_softmax'"):
        eg.sparse.log_softmax(eg.ones(2, 2), 0)
    torch = _torch()
    with pytest.raises(NotImplementedError):
        torch.sparse.softmax(torch.ones(2, 2), 0)
