"""Regression tests for what porting tests/ported/ppo_clip.py, bilstm_crf_tagger.py, ctc_speech.py,
anchor_detector.py, pixelcnn_masked.py and gp_regression.py found (session 2026-12-06, helper i3):

- ``torch.Tensor(ndarray)`` (the FloatTensor constructor) kept the array's dtype: CleanRL-style PPO code does
  ``torch.Tensor(next_obs)`` on gym's float64 observations (then a float32 Linear refused them) and
  ``torch.Tensor(next_done)`` on bool arrays (then ``1.0 - next_done`` raised). PyTorch converts any
  array to the default float dtype (sharing one already of that dtype); ``Tensor(tensor)`` aliases it.
- ``ModuleList``'s repr always said ``ModuleList(``: a subclass (parametrize's ParametrizationList, a user's
  list) prints its own class name in PyTorch.
- ``Categorical(logits=...)`` printed (and its validation errors quoted) ``Categorical(probs: ...)``.
- ``torch.distributions.Multinomial`` (and ``constraints.multinomial``) did not exist, nor the Softplus, Power and
  Abs transforms (found probing the distributions these programs' domains use).
"""
import math

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import distributions as D
from eigengrad.distributions import constraints


# ------------------------------------------------------------- torch.Tensor(ndarray): the default float dtype
def test_tensor_constructor_converts_arrays_to_the_default_float_dtype():
    t = eg.Tensor(np.array([True, False]))
    assert t.dtype == eg.float32 and t.tolist() == [1.0, 0.0]
    assert (1.0 - t).tolist() == [0.0, 1.0]  # a done mask, as PPO code uses it
    assert eg.Tensor(np.array([1, 2])).dtype == eg.float32
    f64 = np.array([0.25, 1.5])
    t = eg.Tensor(f64)
    assert t.dtype == eg.float32 and t.tolist() == [0.25, 1.5]
    f64[0] = 9.0
    assert t.tolist() == [0.25, 1.5]  # converted: a copy
    out = eg.nn.Linear(2, 1)(eg.Tensor(np.zeros((3, 2))))  # float64 observations into a float32 layer
    assert out.dtype == eg.float32 and out.shape == (3, 1)


def test_tensor_constructor_shares_an_array_of_the_default_dtype_and_aliases_a_tensor():
    a = np.zeros(2, dtype=np.float32)
    t = eg.Tensor(a)
    a[0] = 5.0
    assert t.tolist() == [5.0, 0.0]
    longs = eg.tensor([1, 2])
    assert eg.Tensor(longs).dtype == eg.int64 and eg.Tensor(longs).tolist() == [1, 2]
    assert eg.Tensor(np.zeros(2), dtype=eg.float64).dtype == eg.float64  # an explicit dtype still wins


def test_tensor_constructor_follows_set_default_dtype():
    old = eg.get_default_dtype()
    try:
        eg.set_default_dtype(eg.float64)
        assert eg.Tensor(np.array([1, 2])).dtype == eg.float64
        assert eg.Tensor(np.array([1, 2], dtype=np.float32)).dtype == eg.float64
    finally:
        eg.set_default_dtype(old)


def test_parameters_buffers_and_library_state_keep_their_dtypes():
    assert eg.nn.Parameter(np.zeros(2)).dtype == eg.float64
    bn = eg.nn.BatchNorm1d(3)
    assert bn.num_batches_tracked.dtype == eg.int64 and bn.running_mean.dtype == eg.float32
    assert eg.nn.BatchNorm1d(3, dtype=eg.float64).running_var.dtype == eg.float64
    lstm = eg.nn.LSTM(2, 3).double()
    out, (h, c) = lstm(eg.zeros(4, 1, 2, dtype=eg.float64))
    assert out.dtype == h.dtype == c.dtype == eg.float64
    cell = eg.nn.GRUCell(2, 3).double()
    assert cell(eg.zeros(1, 2, dtype=eg.float64)).dtype == eg.float64
    m = eg.nn.BatchNorm1d(2)
    m.load_state_dict(eg.nn.BatchNorm1d(2).state_dict(), assign=True)
    assert m.num_batches_tracked.dtype == eg.int64


# ------------------------------------------------------------- reprs
def test_module_list_subclass_prints_its_own_name():
    class Blocks(eg.nn.ModuleList):
        pass

    assert repr(Blocks([eg.nn.ReLU(), eg.nn.ReLU()])) == "Blocks(\n  (0-1): 2 x ReLU()\n)"
    assert repr(Blocks()) == "Blocks()"
    assert repr(eg.nn.ModuleList()) == "ModuleList()"
    from eigengrad.nn.utils import parametrize

    lin = eg.nn.Linear(2, 2)
    parametrize.register_parametrization(lin, "weight", eg.nn.Identity())
    assert repr(lin) == ("ParametrizedLinear(\n  in_features=2, out_features=2, bias=True\n  (parametrizations): "
                         "ModuleDict(\n    (weight): ParametrizationList(\n      (0): Identity()\n    )\n  )\n)")


def test_categorical_repr_names_the_parameter_it_was_built_from():
    assert repr(D.Categorical(logits=eg.zeros(3))) == "Categorical(logits: (3,))"
    assert repr(D.Categorical(probs=eg.ones(3))) == "Categorical(probs: (3,))"
    assert repr(D.Categorical(logits=eg.zeros(1))) == "Categorical(logits: tensor([0.]))"
    assert repr(D.Categorical(logits=eg.zeros(2, 3)).expand((4, 2))) == "Categorical(logits: (4, 2, 3))"
    with pytest.raises(ValueError, match=r"of the distribution Categorical\(logits: \(3,\)\)"):
        D.Categorical(logits=eg.zeros(3)).log_prob(eg.tensor(5))


# ------------------------------------------------------------- Multinomial (values from PyTorch 2.13)
def test_multinomial_log_prob_mean_variance_entropy():
    m = D.Multinomial(5, probs=eg.tensor([0.2, 0.3, 0.5]))
    assert m.batch_shape == () and m.event_shape == (3,) and tuple(m.param_shape) == (3,)
    lp = m.log_prob(eg.tensor([1.0, 1.0, 3.0]))
    expected = math.log(math.factorial(5) / (1 * 1 * 6) * 0.2 * 0.3 * 0.5 ** 3)
    assert lp.shape == () and lp.item() == pytest.approx(expected, abs=1e-5)  # -1.8971
    np.testing.assert_allclose(m.log_prob(eg.tensor([[1.0, 1.0, 3.0], [5.0, 0.0, 0.0]])).numpy(),
                               [-1.8971, -8.0472], atol=1e-4)
    assert m.log_prob(eg.tensor([1.0, 1.0, 1.0])).item() == pytest.approx(-1.7148, abs=1e-4)  # sum < n allowed
    assert m.log_prob(eg.tensor([1, 1, 3])).item() == pytest.approx(expected, abs=1e-5)
    np.testing.assert_allclose(m.mean.numpy(), [1.0, 1.5, 2.5], atol=1e-6)
    np.testing.assert_allclose(m.variance.numpy(), [0.8, 1.05, 1.25], atol=1e-6)
    assert m.entropy().item() == pytest.approx(2.5918, abs=1e-4)
    b = D.Multinomial(4, logits=eg.tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(b.log_prob(eg.tensor([[1.0, 1.0, 2.0], [0.0, 0.0, 4.0]])).numpy(),
                               [-2.1455, -4.3944], atol=1e-4)
    np.testing.assert_allclose(b.entropy().numpy(), [1.9522, 2.4811], atol=1e-4)
    assert D.Multinomial(probs=eg.tensor([0.2, 0.8])).log_prob(eg.tensor([0.0, 1.0])).item() == \
        pytest.approx(math.log(0.8), abs=1e-6)


def test_multinomial_zero_probability_categories_and_gradient():
    for m in (D.Multinomial(3, probs=eg.tensor([0.0, 0.5, 0.5])),
              D.Multinomial(3, logits=eg.tensor([-float("inf"), 0.0, 0.0]))):
        assert m.log_prob(eg.tensor([0.0, 1.0, 2.0])).item() == pytest.approx(math.log(3 / 8), abs=1e-5)
    x = eg.tensor([0.0, 1.0, 2.0], requires_grad=True)
    (g,) = eg.autograd.grad(D.Multinomial(3, logits=x).log_prob(eg.tensor([1.0, 0.0, 2.0])), x)
    np.testing.assert_allclose(g.numpy(), [0.7299, -0.7342, 0.0043], atol=1e-4)  # counts - n * softmax


def test_multinomial_samples_and_expand():
    eg.manual_seed(0)
    m = D.Multinomial(5, probs=eg.tensor([0.2, 0.3, 0.5]))
    s = m.sample((4, 2))
    assert s.shape == (4, 2, 3) and s.dtype == eg.float32
    assert s.sum(-1).unique().tolist() == [5.0] and (s >= 0).all()
    batch = D.Multinomial(7, probs=eg.ones(2, 3)).sample((5,))
    assert batch.shape == (5, 2, 3) and batch.sum(-1).unique().tolist() == [7.0]
    freq = D.Multinomial(20000, probs=eg.tensor([0.2, 0.3, 0.5])).sample() / 20000
    np.testing.assert_allclose(freq.numpy(), [0.2, 0.3, 0.5], atol=0.02)
    e = m.expand((4,))
    assert e.batch_shape == (4,) and e.sample().shape == (4, 3)
    np.testing.assert_allclose(e.log_prob(eg.tensor([1.0, 1.0, 3.0])).numpy(), [-1.8971] * 4, atol=1e-4)


def test_multinomial_errors_and_support_as_pytorch():
    m = D.Multinomial(5, probs=eg.tensor([0.2, 0.3, 0.5]))
    assert repr(m) == "Multinomial()" and repr(m.support) == "Multinomial()"
    assert m.support.event_dim == 1 and m.support.is_discrete
    assert isinstance(m.support, type(constraints.multinomial(5)))
    with pytest.raises(ValueError, match=r"within the support \(Multinomial\(\)\) of the distribution Multinomial"):
        m.log_prob(eg.tensor([1.0, 1.0, 4.0]))
    with pytest.raises(ValueError, match="within the support"):
        m.log_prob(eg.tensor([-1.0, 1.0, 3.0]))
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count is not supported"):
        D.Multinomial(eg.tensor(5), probs=eg.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        D.Multinomial(3)


# ------------------------------------------------------------- Softplus / Power / Abs transforms (PyTorch 2.13's values)
def test_softplus_transform():
    t = D.SoftplusTransform()
    x = eg.tensor([-2.0, 0.5, 3.0])
    y = t(x)
    np.testing.assert_allclose(y.numpy(), [0.1269, 0.9741, 3.0486], atol=1e-4)
    np.testing.assert_allclose(t.inv(y).numpy(), x.numpy(), atol=1e-5)
    np.testing.assert_allclose(t.log_abs_det_jacobian(x, y).numpy(), [-2.1269, -0.4741, -0.0486], atol=1e-4)
    td = D.TransformedDistribution(D.Normal(0.0, 1.0), [D.SoftplusTransform()])
    np.testing.assert_allclose(td.log_prob(eg.tensor([0.3, 2.0])).numpy(), [-0.1202, -2.4933], atol=1e-4)
    m = eg.tensor(0.2, requires_grad=True)
    (g,) = eg.autograd.grad(D.TransformedDistribution(D.Normal(m, 1.0), [t]).log_prob(eg.tensor(1.0)), m)
    assert g.item() == pytest.approx(0.3413, abs=1e-4)
    assert repr(t) == "SoftplusTransform()" and t == D.SoftplusTransform() and t != D.ExpTransform()
    assert t.sign == 1 and t.bijective and repr(t.codomain) == "GreaterThan(lower_bound=0.0)"
    from eigengrad.distributions import transforms
    assert transforms.SoftplusTransform is D.SoftplusTransform


def test_power_transform():
    t = D.PowerTransform(2.0)
    x = eg.tensor([0.5, 2.0, 3.0])
    np.testing.assert_allclose(t(x).numpy(), [0.25, 4.0, 9.0])
    np.testing.assert_allclose(t.inv(t(x)).numpy(), x.numpy(), atol=1e-6)
    np.testing.assert_allclose(t.log_abs_det_jacobian(x, t(x)).numpy(), [0.0, 1.3863, 1.7918], atol=1e-4)
    np.testing.assert_allclose(D.PowerTransform(eg.tensor([1.0, 2.0, 3.0]))(x).numpy(), [0.5, 4.0, 27.0])
    assert D.PowerTransform(eg.tensor([-1.0, 2.0])).sign.tolist() == [-1.0, 1.0]
    assert D.PowerTransform(-0.5).sign.item() == -1.0 and D.PowerTransform(2).exponent.dtype == eg.float32
    assert D.PowerTransform(2.0) == D.PowerTransform(2.0) and D.PowerTransform(2.0) != D.PowerTransform(3.0)
    assert D.PowerTransform(eg.ones(3, 1)).forward_shape((2,)) == (3, 2)
    td = D.TransformedDistribution(D.Gamma(2.0, 1.0), [D.PowerTransform(0.5)])
    np.testing.assert_allclose(td.log_prob(eg.tensor([0.7, 1.5])).numpy(), [-0.8669, -0.3405], atol=1e-4)


def test_abs_transform():
    t = D.AbsTransform()
    assert t(eg.tensor([-2.0, 0.5])).tolist() == [2.0, 0.5] and t.inv(eg.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert not t.bijective and t == D.AbsTransform()
    with pytest.raises(NotImplementedError):  # |x| is not bijective: no Jacobian, as PyTorch's AbsTransform
        t.log_abs_det_jacobian(eg.tensor([1.0]), eg.tensor([1.0]))
    assert D.TransformedDistribution(D.Normal(0.0, 1.0), [t]).sample((2,)).shape == (2,)
