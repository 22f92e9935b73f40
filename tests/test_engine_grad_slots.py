"""Backward writes a Linear layer's weight and bias gradients straight into the optimizer's gradient slots
(engine._slots_to_write) when accumulate_grad would only copy them there: the values must be those of
the plain path in every case where it applies and in every case where it must not."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn


def _model(dtype=np.float64):
    eg.manual_seed(3)
    m = nn.Sequential(nn.Linear(7, 5), nn.Tanh(), nn.Linear(5, 3))
    return m.to(dtype) if dtype != np.float32 else m


def _data(n=4, dtype=np.float64):
    rng = np.random.default_rng(0)
    return eg.from_numpy(rng.standard_normal((n, 7)).astype(dtype)), eg.from_numpy(rng.integers(0, 3, n))


def _reference_grads(model_fn, loss_fn):
    """The gradients with no optimizer (no arena: the plain path), as arrays."""
    m = model_fn()
    loss_fn(m).backward()
    return [p.grad.numpy().copy() for p in m.parameters()]


def _loss(x, y):
    return lambda m: nn.functional.cross_entropy(m(x), y)


def _plain_grads(model, build, loss_fn):
    """``loss_fn``'s gradients for a copy of ``model`` (built by ``build``) that no optimizer holds."""
    ref = build()
    ref.load_state_dict({k: eg.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    loss_fn(ref).backward()
    return [p.grad.numpy().copy() for p in ref.parameters()]


def _check_steps_write_slots(build, loss_fn, monkeypatch, steps=3):
    """Every step's gradients equal the plain path's, and land in the slots without a copy (the slots hold
    the previous step's values when the next backward writes them: nothing may be added to those)."""
    from eigengrad.autograd import engine

    m = build()
    opt = eg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    copies = []
    copy_into = engine.K.copy_into
    for _ in range(steps):
        ref = _plain_grads(m, build, loss_fn)
        opt.zero_grad()
        monkeypatch.setattr(engine.K, "copy_into", lambda out, src: (copies.append(out.shape), copy_into(out, src)))
        loss_fn(m).backward()
        monkeypatch.setattr(engine.K, "copy_into", copy_into)
        for p, r in zip(m.parameters(), ref):
            np.testing.assert_array_equal(p.grad.numpy(), r)
        assert opt.arenas[0].grads_in_slots()  # every .grad is the view of its slot ...
        assert copies == []  # ... written there by the backward itself: no copy made
        opt.step()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_gradients_land_in_their_slots_with_the_plain_values(dtype, monkeypatch):
    x, y = _data(dtype=dtype)
    _check_steps_write_slots(lambda: _model(dtype), _loss(x, y), monkeypatch)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("conv", ["direct", "im2col", "transposed"])
def test_conv_gradients_land_in_their_slots_with_the_plain_values(conv, dtype, monkeypatch):
    rng = np.random.default_rng(2)
    cin = 16 if conv == "direct" else 3  # (many channels take the direct kernel, few the im2col lowering)
    x = eg.from_numpy(rng.standard_normal((2, cin, 9, 9)).astype(dtype))

    def build():
        eg.manual_seed(5)
        layer = nn.ConvTranspose2d(cin, 4, 4, stride=2, padding=1) if conv == "transposed" else \
            nn.Conv2d(cin, 8, 3, padding=1)
        return nn.Sequential(layer, nn.Tanh()).to(dtype)

    _check_steps_write_slots(build, lambda m: (m(x) ** 2).mean(), monkeypatch)


def test_accumulating_two_backwards_adds_into_the_slots():
    x, y = _data()
    ref_m = _model()
    _loss(x, y)(ref_m).backward()
    _loss(x, y)(ref_m).backward()
    m = _model()
    opt = eg.optim.SGD(m.parameters(), lr=0.1)
    opt.zero_grad()
    _loss(x, y)(m).backward()
    _loss(x, y)(m).backward()  # .grad is set: the second backward adds, it does not overwrite
    for p, r in zip(m.parameters(), ref_m.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), r.grad.numpy(), rtol=1e-15, atol=0)
    assert opt.arenas[0].grads_in_slots()


def test_a_weight_used_twice_gets_the_sum_of_both_uses():
    """A shared leaf's contributions are summed before delivery: neither use may write the slot alone."""
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((4, 4))
    x = eg.from_numpy(rng.standard_normal((3, 4)))

    def run(with_opt):
        w = eg.from_numpy(w0.copy()).requires_grad_()
        opt = eg.optim.SGD([w], lr=0.1) if with_opt else None
        out = nn.functional.linear(nn.functional.linear(x, w).tanh(), w)
        out.sum().backward()
        return w.grad.numpy().copy(), opt

    (plain, _), (slotted, opt) = run(False), run(True)
    np.testing.assert_allclose(slotted, plain, rtol=1e-15, atol=0)
    assert opt.arenas[0].grads_in_slots()


def test_a_tensor_hook_sees_and_changes_the_gradient():
    x, y = _data()
    m = _model()
    opt = eg.optim.SGD(m.parameters(), lr=0.1)
    seen = []
    w = m[0].weight
    w.register_hook(lambda g: (seen.append(g.numpy().copy()), g * 2)[1])
    opt.zero_grad()
    _loss(x, y)(m).backward()
    ref = _reference_grads(_model, _loss(x, y))[0]
    np.testing.assert_allclose(seen[0], ref, rtol=1e-15)
    np.testing.assert_allclose(w.grad.numpy(), 2 * ref, rtol=1e-15)
    assert opt.arenas[0].grads_in_slots()


def test_create_graph_keeps_recorded_gradients():
    x, y = _data()
    m = _model()
    eg.optim.SGD(m.parameters(), lr=0.1)
    _loss(x, y)(m).backward(create_graph=True)
    g = m[2].bias.grad
    assert g.requires_grad  # a recorded gradient, not a slot written in place
    ref = _reference_grads(_model, _loss(x, y))[3]
    np.testing.assert_allclose(g.detach().numpy(), ref, rtol=1e-12)


def test_autograd_grad_leaves_the_slots_and_grads_alone():
    x, y = _data()
    m = _model()
    opt = eg.optim.SGD(m.parameters(), lr=0.1)
    before = opt.arenas[0].grad.copy()
    gw, = eg.autograd.grad(_loss(x, y)(m), [m[0].weight])
    assert m[0].weight.grad is None
    np.testing.assert_array_equal(opt.arenas[0].grad, before)
    np.testing.assert_allclose(gw.numpy(), _reference_grads(_model, _loss(x, y))[0], rtol=1e-15)


def test_a_retained_graph_run_again_does_not_write_into_the_slots():
    """The slots a backward handed to a node are for that pass only: autograd.grad (or a second backward)
    through a retained graph must neither write into .grad nor return the slot."""
    x, y = _data()
    m = _model()
    opt = eg.optim.SGD(m.parameters(), lr=0.1)
    loss = _loss(x, y)(m)
    loss.backward(retain_graph=True)
    first = [p.grad.numpy().copy() for p in m.parameters()]
    twice = eg.autograd.grad(loss, list(m.parameters()), grad_outputs=eg.tensor(2.0, dtype=loss.dtype))
    for p, g, r in zip(m.parameters(), twice, first):
        np.testing.assert_array_equal(p.grad.numpy(), r)  # .grad untouched
        np.testing.assert_allclose(g.numpy(), 2 * r, rtol=1e-15, atol=0)
        assert not np.shares_memory(g.numpy(), p.grad.numpy())
    assert opt.arenas[0].grads_in_slots()
