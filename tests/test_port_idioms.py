"""Idioms of real PyTorch scripts (found by porting 14 more programs): autograd.grad over
``model.parameters()`` (a generator), ``size=``/``shape=``/``dims=`` keywords, ``nn.Identity(*args)``,
``nn.Softmax()`` without dim, ``torch.nn.modules.utils._pair``, the private bases, ``nn.DataParallel``,
``torch.version``, ``torch.multiprocessing.spawn``, lists of float64 arrays, and the regression losses'
type promotion and broadcasting."""
import warnings

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn


def test_grad_and_backward_take_a_generator_of_inputs():
    m = nn.Linear(3, 1)
    grads = eg.autograd.grad(m(eg.ones(2, 3)).sum(), m.parameters(), create_graph=True)
    assert len(grads) == 2 and grads[0].shape == (1, 3)
    np.testing.assert_allclose(grads[1].numpy(), [2.0])
    m(eg.ones(2, 3)).sum().backward(inputs=m.parameters())
    np.testing.assert_allclose(m.weight.grad.numpy(), [[2.0, 2.0, 2.0]])


def test_size_keywords():
    assert eg.zeros(size=(2, 3)).shape == (2, 3) and eg.ones(size=[4]).shape == (4,)
    assert eg.randn(size=(2,)).shape == (2,) and eg.rand(size=(1, 2)).shape == (1, 2) and eg.empty(size=(3,)).shape == (3,)
    x = eg.arange(6.0)
    assert x.view(size=(2, 3)).shape == (2, 3) and x.reshape(shape=(3, 2)).shape == (3, 2)
    assert eg.reshape(x, shape=(6, 1)).shape == (6, 1) and x.new_zeros(size=(5,)).shape == (5,)
    assert x.view(2, 3).permute(dims=(1, 0)).shape == (3, 2) and x[:3].expand(size=(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError, match="given both"):
        eg.zeros(2, size=(3,))
    with pytest.raises(TypeError, match="unexpected keyword argument 'sise'"):
        eg.zeros(sise=(3,))


def test_layer_building_idioms():
    norm_layer = nn.Identity
    assert norm_layer(8, eps=1e-6)(eg.ones(2)).shape == (2,)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = nn.Softmax()(eg.ones(2, 4))
    np.testing.assert_allclose(y.numpy(), np.full((2, 4), 0.25), rtol=1e-6)
    from eigengrad.nn.modules.utils import _pair, _quadruple, _single, _triple
    assert _pair(3) == (3, 3) and _pair((1, 2)) == (1, 2) and _single(1) == (1,) and _triple(2) == (2, 2, 2)
    assert _quadruple(0) == (0, 0, 0, 0)
    from eigengrad.nn.modules.batchnorm import _NormBase
    from eigengrad.nn.modules.pooling import _MaxPoolNd
    assert issubclass(nn.BatchNorm2d, _NormBase)

    class MyPool(_MaxPoolNd):
        def forward(self, x):
            return F.max_pool2d(x, self.kernel_size, self.stride)

    assert repr(MyPool(2)) == "MyPool(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert MyPool(2)(eg.ones(1, 1, 4, 4)).shape == (1, 1, 2, 2)


def test_data_parallel_wraps_the_module_with_pytorchs_keys():
    inner = nn.Linear(2, 3)
    model = nn.DataParallel(inner)
    assert isinstance(model, nn.DataParallel) and model.module is inner
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    x = eg.randn(4, 2)
    np.testing.assert_array_equal(model(x).detach().numpy(), inner(x).detach().numpy())
    assert eg.nn.parallel.data_parallel(inner, x).shape == (4, 3)


def _square(rank, queue):
    queue.put((rank, float(eg.tensor([float(rank)]).square().sum())))


def test_version_and_multiprocessing():
    assert eg.version.cuda is None and eg.version.__version__ == eg.__version__
    import eigengrad.multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    mp.spawn(_square, args=(queue,), nprocs=2)
    assert sorted([queue.get(), queue.get()]) == [(0, 0.0), (1, 1.0)]


def test_lists_of_float64_arrays_stay_float64():
    assert eg.tensor([np.ones(2), np.zeros(2)]).dtype == eg.float64
    assert eg.tensor([np.float64(1.0), 2.0]).dtype == eg.float64
    assert eg.tensor([1.0, 2.0]).dtype == eg.float32 and eg.tensor([np.ones(2, np.float32)]).dtype == eg.float32


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_losses_promote_and_broadcast_as_pytorch(name):
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((4, 1)).astype(np.float32), rng.standard_normal(4)
    xe = eg.tensor(x, requires_grad=True)
    with pytest.warns(UserWarning, match=r"Using a target size \(\(4,\)\) that is different to the input size"):
        loss = getattr(F, name)(xe, eg.tensor(t))
    loss.backward()
    assert loss.dtype == eg.float64 and xe.grad.dtype == eg.float32
    d = x.astype(np.float64) - t[None, :]  # (4, 4): the broadcast PyTorch warns about
    want = {"mse_loss": (d ** 2).mean(), "l1_loss": np.abs(d).mean(),
            "smooth_l1_loss": np.where(np.abs(d) < 1, 0.5 * d ** 2, np.abs(d) - 0.5).mean(),
            "huber_loss": np.where(np.abs(d) <= 1, 0.5 * d ** 2, np.abs(d) - 0.5).mean()}[name]
    np.testing.assert_allclose(loss.item(), want, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(F, name)(xe, eg.tensor(np.ones((4, 1), np.int64))).dtype == eg.float32  # an int target
    with pytest.raises(ValueError, match="does not broadcast"):
        getattr(F, name)(xe, eg.ones(3, 2))


def test_bce_with_logits_needs_the_same_size_and_promotes():
    x = eg.zeros(4, 1, requires_grad=True)
    assert F.binary_cross_entropy_with_logits(x, eg.ones(4, 1, dtype=eg.float64)).dtype == eg.float64
    with pytest.raises(ValueError, match=r"Target size \(\(4,\)\) must be the same as input size \(\(4, 1\)\)"):
        F.binary_cross_entropy_with_logits(x, eg.ones(4))


def test_losses_match_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference")
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((5, 1)).astype(np.float32), rng.standard_normal(5)
    t[0] = 0.0  # kl_div: 0 log 0 = 0, and NaN for the negative targets, as PyTorch's
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "kl_div"):
        out = []
        for lib in (torch, eg):
            xt = lib.tensor(x, requires_grad=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loss = getattr(lib.nn.functional, name)(xt, lib.tensor(t))
            loss.backward()
            out.append((loss.item(), xt.grad.numpy()))
        np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-12)
        np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-6)
