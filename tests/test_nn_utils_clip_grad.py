"""eg.nn.utils.clip_grad_norm_ / clip_grad_value_ / get_total_norm / clip_grads_with_norm_: PyTorch's
semantics over parameters, one kernel call over an optimizer's flat gradient buffer, errors and warnings."""
import logging
import math

import numpy as np
import pytest

import eigengrad as eg
from conftest import assert_close
from eigengrad import _kernels, nn
from eigengrad import reference as R
from eigengrad.nn.utils import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm


def make_model(seed=0, dtype=np.float32):
    eg.manual_seed(seed)
    m = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    return m.double() if dtype == np.float64 else m


def backward(model, scale=1.0):
    x = eg.randn(8, 5, generator=eg.Generator(1), dtype=model[0].weight.dtype)
    (model(x) * scale).sum().backward()


def grads(model):
    return [p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("with_optimizer", [False, True], ids=["own-grads", "flat-buffer"])
def test_clip_grad_norm_matches_reference(dtype, norm_type, with_optimizer):
    model = make_model(dtype=dtype)
    if with_optimizer:
        eg.optim.SGD(model.parameters(), lr=0.1)
    backward(model)
    expected = grads(model)
    expected_norm = R.clip_grad_norm(expected, 0.5, norm_type)
    total = clip_grad_norm_(model.parameters(), max_norm=0.5, norm_type=norm_type)
    assert isinstance(total, eg.Tensor) and total.shape == () and total.dtype == dtype
    assert not total.requires_grad
    assert math.isclose(total.item(), expected_norm, rel_tol=1e-6)
    for g, e in zip(grads(model), expected):
        assert_close(g, e, dtype)
    assert get_total_norm([p.grad for p in model.parameters()], norm_type).item() == pytest.approx(0.5, rel=1e-5)


def test_flat_buffer_is_one_segment_in_one_call(monkeypatch):
    model = make_model()
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    backward(model)
    calls = []
    real = _kernels.clip_grad_norm
    monkeypatch.setattr(_kernels, "clip_grad_norm", lambda g, *a, **k: (calls.append(g), real(g, *a, **k))[1])
    clip_grad_norm_(model.parameters(), 0.1)
    assert len(calls) == 1 and len(calls[0]) == 1
    assert calls[0][0] is opt.arenas[0].grad  # the flat buffer itself, no copy
    # a subset of the parameters is not the whole buffer: the views go in one call as a list
    calls.clear()
    clip_grad_norm_(list(model.parameters())[1:], 0.1)
    assert len(calls) == 1 and len(calls[0]) == 3


def test_flat_and_separate_grads_give_identical_bits():
    a, b = make_model(), make_model()
    eg.optim.SGD(a.parameters(), lr=0.1)
    backward(a, 1e3)
    backward(b, 1e3)
    na, nb = clip_grad_norm_(a.parameters(), 1.0), clip_grad_norm_(b.parameters(), 1.0)
    assert na.item() == nb.item()
    for ga, gb in zip(grads(a), grads(b)):
        np.testing.assert_array_equal(ga, gb)


def test_none_grads_are_skipped_and_single_tensor_accepted():
    model = make_model()
    backward(model)
    frozen = model[2].bias
    frozen.grad = None
    params = list(model.parameters())
    expected = [p.grad.numpy().copy() for p in params if p.grad is not None]
    n = R.clip_grad_norm(expected, 0.1)
    assert clip_grad_norm_(params, 0.1).item() == pytest.approx(n, rel=1e-6)
    assert frozen.grad is None
    w = model[0].weight
    g = w.grad.numpy().copy()
    total = clip_grad_norm_(w, 1e-3)
    assert total.item() == pytest.approx(np.linalg.norm(g), rel=1e-6)
    assert np.linalg.norm(w.grad.numpy()) == pytest.approx(1e-3, rel=1e-4)


def test_not_clipped_below_max_norm_and_duplicates_count_once():
    model = make_model()
    backward(model)
    before = grads(model)
    params = list(model.parameters())
    n1 = clip_grad_norm_(params + params, 1e6)  # a parameter listed twice is measured and scaled once
    assert n1.item() == pytest.approx(R.grad_norm(before), rel=1e-6)
    for g, b in zip(grads(model), before):
        np.testing.assert_array_equal(g, b)


def test_empty_and_all_none_return_zero():
    assert clip_grad_norm_([], 1.0).item() == 0.0
    assert clip_grad_norm_([], 1.0).dtype == eg.get_default_dtype()
    p = nn.Parameter(eg.ones(3))
    assert clip_grad_norm_([p], 1.0).item() == 0.0
    assert clip_grad_norm_(iter([]), 1.0).item() == 0.0
    clip_grad_value_([p], 1.0)


def test_mixed_dtypes_use_one_total_norm():
    a = nn.Parameter(eg.tensor([3.0, 0.0], dtype=eg.float32))
    b = nn.Parameter(eg.tensor([4.0], dtype=eg.float64))
    a.grad, b.grad = eg.tensor([3.0, 0.0], dtype=eg.float32), eg.tensor([4.0], dtype=eg.float64)
    total = clip_grad_norm_([a, b], 1.0)
    assert total.dtype == np.float64 and total.item() == 5.0
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), [0.8], rtol=1e-6)
    assert get_total_norm([a.grad, b.grad], math.inf).item() == pytest.approx(0.8, rel=1e-6)


def test_error_if_nonfinite_raises_and_leaves_grads(dtype):
    model = make_model(dtype=dtype)
    eg.optim.SGD(model.parameters(), lr=0.1)
    backward(model)
    model[0].weight.grad.numpy()[0, 0] = np.inf
    before = grads(model)
    with pytest.raises(RuntimeError, match=r"total norm of order 2.0 .* is non-finite \(inf\)"):
        clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
    for g, b in zip(grads(model), before):
        np.testing.assert_array_equal(g, b)


def test_nonfinite_scales_like_pytorch_and_logs_at_info(caplog):
    """Silent by default, as PyTorch (a GradScaler's skipped step sees an inf norm routinely); an INFO record."""
    p = nn.Parameter(eg.ones(3))
    p.grad = eg.tensor([1.0, np.nan, 2.0])
    with caplog.at_level(logging.WARNING, logger="eigengrad"):
        clip_grad_norm_([p], 1.0)
    assert not caplog.records
    p.grad = eg.tensor([1.0, np.nan, 2.0])
    with caplog.at_level(logging.INFO, logger="eigengrad"):
        total = clip_grad_norm_([p], 1.0)
    assert math.isnan(total.item())
    assert np.all(np.isnan(p.grad.numpy()))
    assert any("non-finite" in r.getMessage() and r.name.startswith("eigengrad") for r in caplog.records)


def test_clip_grad_value(dtype):
    model = make_model(dtype=dtype)
    eg.optim.SGD(model.parameters(), lr=0.1)
    backward(model, scale=10.0)
    expected = grads(model)
    R.clip_grad_value(expected, 0.3)
    assert clip_grad_value_(model.parameters(), 0.3) is None
    for g, e in zip(grads(model), expected):
        np.testing.assert_array_equal(g, e)
    assert max(np.abs(g).max() for g in grads(model)) == dtype(0.3)


def test_get_total_norm_then_clip_grads_with_norm_equals_clip_grad_norm_():
    a, b = make_model(), make_model()
    backward(a)
    backward(b)
    total = get_total_norm([p.grad for p in a.parameters()], 2.0)
    clip_grads_with_norm_(a.parameters(), 0.2, total)
    assert clip_grad_norm_(b.parameters(), 0.2).item() == total.item()
    for ga, gb in zip(grads(a), grads(b)):
        np.testing.assert_array_equal(ga, gb)


def test_strided_or_read_only_grads_are_refused_not_copied():
    p = nn.Parameter(eg.ones(4))
    base = np.ones(8, np.float32)
    p.grad = eg.from_numpy(base[::2])
    with pytest.raises(ValueError, match=r"^parameters\[0\]\.grad: expected a C-contiguous"):
        clip_grad_norm_([p], 0.1)
    with pytest.raises(ValueError, match=r"^parameters\[0\]\.grad: expected a C-contiguous"):
        clip_grad_value_([p], 0.1)
    np.testing.assert_array_equal(base, 1)
    assert get_total_norm([p.grad]).item() == 2.0  # measuring may copy: it only reads
    ro = np.ones(4, np.float32)
    ro.flags.writeable = False
    p.grad = eg.from_numpy(ro)
    with pytest.raises(ValueError, match=r"^parameters\[0\]\.grad: expected a writeable"):
        clip_grad_norm_([p], 0.1)


def test_bad_arguments():
    p = nn.Parameter(eg.ones(3))
    p.grad = eg.ones(3)
    with pytest.raises(ValueError, match=r"^max_norm: expected a value >= 0, got -1"):
        clip_grad_norm_([p], -1.0)
    with pytest.raises(ValueError, match=r"^max_norm: expected a value >= 0, got nan"):
        clip_grad_norm_([p], float("nan"))
    with pytest.raises(TypeError, match=r"^max_norm: expected a number, got str"):
        clip_grad_norm_([p], "big")
    with pytest.raises(TypeError, match=r"^norm_type: expected a number or 'inf', got 'euclid'"):
        clip_grad_norm_([p], 1.0, norm_type="euclid")
    with pytest.raises(ValueError, match=r"^norm_type: expected a number or inf, got nan"):
        clip_grad_norm_([p], 1.0, norm_type=float("nan"))
    with pytest.raises(TypeError, match=r"^parameters: expected a Tensor or an iterable of Tensors, got int"):
        clip_grad_norm_(3, 1.0)
    with pytest.raises(TypeError, match=r"^parameters: expected .* got ndarray at position 1"):
        clip_grad_norm_([p, np.ones(3)], 1.0)
    with pytest.raises(TypeError, match=r"^parameters: expected .* got ndarray$"):
        clip_grad_value_(np.ones(3), 1.0)
    with pytest.raises(TypeError, match=r"^clip_value: expected a number"):
        clip_grad_value_([p], None)
    with pytest.raises(TypeError, match=r"^foreach: expected None or a bool"):
        clip_grad_norm_([p], 1.0, foreach="yes")
    np.testing.assert_array_equal(p.grad.numpy(), 1)


def test_training_with_clipping_stays_one_flat_step():
    model = make_model()
    opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        backward(model, scale=100.0)
        assert clip_grad_norm_(model.parameters(), 1.0).item() > 1.0
        assert opt.arenas[0].grads_in_slots()  # clipping kept the gradients in their slots
        opt.step()
    assert all(np.all(np.isfinite(p.detach().numpy())) for p in model.parameters())
