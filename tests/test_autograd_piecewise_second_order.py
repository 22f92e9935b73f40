"""Second derivatives through piecewise-linear activations are zero, not missing (PyTorch's): the input
Hessian of a ReLU or LeakyReLU network (score matching, Hutchinson trace estimators) is a zero tensor, and
the gradient still flows to the weights."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F


@pytest.mark.parametrize("act", [F.relu, lambda x: F.leaky_relu(x, 0.1), eg.relu])
def test_second_derivative_through_an_activation_is_zero(act):
    x = eg.tensor(np.array([1.0, -2.0, 3.0, -0.5]), requires_grad=True)
    (g,) = eg.autograd.grad((act(x) * 2).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = eg.autograd.grad(g.sum(), x)
    np.testing.assert_array_equal(h.numpy(), np.zeros(4))


def test_input_hessian_of_a_relu_network_is_zero_and_weights_get_gradients():
    rng = np.random.default_rng(0)
    w1 = eg.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    w2 = eg.tensor(rng.standard_normal(5))
    x = eg.tensor(rng.standard_normal(4), requires_grad=True)
    (gx,) = eg.autograd.grad((eg.relu(w1 @ x) * w2).sum(), x, create_graph=True)
    hx, hw = eg.autograd.grad(gx.sum(), (x, w1))
    np.testing.assert_array_equal(hx.numpy(), np.zeros(4))
    mask = (w1.detach().numpy() @ x.detach().numpy() > 0).astype(float)
    np.testing.assert_allclose(hw.numpy(), np.outer(mask * w2.numpy(), np.ones(4)), rtol=1e-14)
