"""eg.nn.AdaptiveLogSoftmaxWithLoss: PyTorch's parameter names, values, gradients (float64 to 1e-10) and
errors; log_prob and predict; gradcheck; state_dicts both ways. The torch comparisons run where PyTorch is
installed."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn

RTOL = {np.float32: 2e-5, np.float64: 1e-10}


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: the parity checks with "
                                               "torch.nn.AdaptiveLogSoftmaxWithLoss run only where it is")


def _model(dtype=np.float64, in_features=8, n_classes=12, cutoffs=(3, 7), div_value=2.0, head_bias=True, seed=0):
    eg.manual_seed(seed)
    m = nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, list(cutoffs), div_value=div_value,
                                      head_bias=head_bias)
    return m.to(eg.float64 if dtype == np.float64 else eg.float32)


def _torch_copy(m, dtype=np.float64, **kw):
    torch = _torch()
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(m.in_features, m.n_classes, m.cutoffs[:-1], div_value=m.div_value,
                                             head_bias=m.head_bias, **kw)
    tm = tm.to(torch.float64 if dtype == np.float64 else torch.float32)
    tm.load_state_dict({k: torch.from_numpy(np.array(v.numpy(), copy=True)) for k, v in m.state_dict().items()})
    return tm


def _close(a, b, dtype):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(b))), 1e-300) if b.size else 1.0
    err = float(np.max(np.abs(a - b))) / scale if b.size else 0.0
    assert err <= RTOL[dtype], f"relative error {err:.2e}"


def test_parameter_names_and_shapes_are_pytorchs():
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    # head: 3 shortlist classes + 2 clusters; cluster i projects to 8 // 2**(i+1) then to its classes
    assert shapes == {"head.weight": (5, 8), "tail.0.0.weight": (4, 8), "tail.0.1.weight": (4, 4),
                      "tail.1.0.weight": (2, 8), "tail.1.1.weight": (5, 2)}
    assert "head.bias" in nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0, head_bias=True).state_dict()
    assert m.cutoffs == [3, 7, 12] and m.shortlist_size == 3 and m.n_clusters == 2 and m.head_size == 5
    if _has_torch():
        import torch

        tm = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0)
        assert {k: tuple(v.shape) for k, v in tm.state_dict().items()} == shapes
        assert list(tm.state_dict()) == list(m.state_dict())
        assert repr(tm) == repr(m)


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


TARGETS = {
    "all_clusters": np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 5, 0, 9]),
    "shortlist_only": np.array([0, 2, 1, 1, 0, 2]),
    "one_cluster": np.array([8, 11, 7, 9, 10]),
    "head_and_last": np.array([9, 0, 11, 1, 8]),
}


@pytest.mark.parametrize("case", sorted(TARGETS))
def test_forward_and_gradients_match_torch(case, dtype):
    torch = _torch()
    target = TARGETS[case]
    m = _model(dtype)
    tm = _torch_copy(m, dtype)
    x = np.random.RandomState(1).randn(len(target), 8).astype(dtype)
    xe, xt = eg.tensor(x.copy(), requires_grad=True), torch.tensor(x.copy(), requires_grad=True)
    ours, theirs = m(xe, eg.tensor(target)), tm(xt, torch.tensor(target))
    assert type(ours).__name__ == "_ASMoutput" and ours._fields == ("output", "loss")
    _close(ours.output.detach().numpy(), theirs.output.detach().numpy(), dtype)
    _close(ours.loss.detach().numpy(), theirs.loss.detach().numpy(), dtype)
    (ours.loss * 3 + ours.output[0]).backward()
    (theirs.loss * 3 + theirs.output[0]).backward()
    _close(xe.grad.numpy(), xt.grad.numpy(), dtype)
    their_params = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        if their_params[name].grad is None:  # a cluster no target falls in is not evaluated
            assert p.grad is None, name
            continue
        _close(p.grad.numpy(), their_params[name].grad.numpy(), dtype)


def test_unbatched_input_matches_torch():
    torch = _torch()
    m = _model()
    tm = _torch_copy(m)
    x = np.random.RandomState(2).randn(8)
    for y in (1, 8):
        ours, theirs = m(eg.tensor(x), eg.tensor(y)), tm(torch.tensor(x), torch.tensor(y))
        assert tuple(ours.output.shape) == tuple(theirs.output.shape) == ()
        _close(ours.output.detach().numpy(), theirs.output.detach().numpy(), np.float64)
        _close(ours.loss.detach().numpy(), theirs.loss.detach().numpy(), np.float64)


def test_log_prob_and_predict_match_torch(dtype):
    torch = _torch()
    m = _model(dtype)
    tm = _torch_copy(m, dtype)
    x = (np.random.RandomState(3).randn(40, 8) * 3).astype(dtype)
    _close(m.log_prob(eg.tensor(x)).detach().numpy(), tm.log_prob(torch.tensor(x)).detach().numpy(), dtype)
    ours, theirs = m.predict(eg.tensor(x)).numpy(), tm.predict(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert ours.dtype == np.int64


def test_output_is_log_prob_at_target_and_loss_its_negated_mean():
    m = _model()
    rs = np.random.RandomState(4)
    x = eg.tensor(rs.randn(15, 8))
    target = TARGETS["all_clusters"]
    out, loss = m(x, eg.tensor(target))
    full = m.log_prob(x).detach().numpy()
    np.testing.assert_allclose(np.exp(full).sum(axis=1), 1.0, rtol=1e-13)  # a distribution over the 12 classes
    np.testing.assert_allclose(out.detach().numpy(), full[np.arange(15), target], rtol=1e-13)
    np.testing.assert_allclose(float(loss), -full[np.arange(15), target].mean(), rtol=1e-13)
    # a shortlist class: the head's log-softmax alone
    head = m.head(x).detach().numpy()
    head_lp = head - np.log(np.exp(head).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(full[:, :3], head_lp[:, :3], rtol=1e-13)


@pytest.mark.parametrize("scale", [0.1, 5.0])
def test_predict_is_argmax_of_log_prob(scale):
    # small inputs keep most rows in the shortlist, large ones send some to the clusters: both branches
    m = _model()
    x = eg.tensor(np.random.RandomState(5).randn(64, 8) * scale)
    np.testing.assert_array_equal(m.predict(x).numpy(), m.log_prob(x).detach().numpy().argmax(axis=1))


def test_gradcheck_input_and_every_parameter():
    m = _model(head_bias=True)
    names = [n for n, _ in m.named_parameters()]
    params = [eg.tensor(p.detach().numpy().copy(), requires_grad=True) for _, p in m.named_parameters()]
    x = eg.tensor(np.random.RandomState(6).randn(9, 8), requires_grad=True)
    target = eg.tensor(np.array([0, 4, 11, 2, 7, 3, 8, 1, 10]))

    def f(x, *ps):
        out = eg.func.functional_call(m, dict(zip(names, ps)), (x, target))
        return out.output * 1.5 + out.loss

    assert eg.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-7, rtol=1e-5)

    def g(x, *ps):
        return _log_prob(m, dict(zip(names, ps)), x)

    assert eg.autograd.gradcheck(g, (x, *params), eps=1e-6, atol=1e-7, rtol=1e-5)


def _log_prob(m, params, x):
    from eigengrad.func import functional_call

    class _LogProb(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner.log_prob(x)

    return functional_call(_LogProb(m), {f"inner.{k}": v for k, v in params.items()}, (x,))


def test_state_dicts_load_both_ways():
    torch = _torch()
    m = _model(head_bias=True)
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, [3, 7], div_value=2.0, head_bias=True).double()
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    for k, v in tm.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k].numpy(), v.numpy())
    m2 = _model(head_bias=True, seed=7)
    tm.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m2.state_dict().items()})
    for k, v in m2.state_dict().items():
        np.testing.assert_array_equal(tm.state_dict()[k].numpy(), v.numpy())


def test_trains_with_an_optimizer():
    m = _model(np.float32, head_bias=True)
    rs = np.random.RandomState(8)
    x = eg.tensor(rs.randn(64, 8).astype(np.float32))
    y = eg.tensor(rs.randint(0, 12, 64))
    opt = eg.optim.Adam(m.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = m(x, y).loss
        loss.backward()
        opt.step()
        first = float(loss) if first is None else first
    assert float(loss) < 0.7 * first


@pytest.mark.parametrize("cutoffs", [[], [7, 3], [0, 3], [3, 12], [3, 3], [2.5, 6]])
def test_bad_cutoffs_are_refused_with_pytorchs_message(cutoffs):
    with pytest.raises(ValueError) as ours:
        nn.AdaptiveLogSoftmaxWithLoss(8, 12, cutoffs)
    if cutoffs == []:
        assert str(ours.value) == "cutoffs should be a sequence of length larger than 0"
    else:
        assert str(ours.value) == ("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                                   "order, where each value is between 1 and n_classes-1")
    if _has_torch():
        import torch

        with pytest.raises(ValueError) as theirs:
            torch.nn.AdaptiveLogSoftmaxWithLoss(8, 12, cutoffs)
        assert str(theirs.value) == str(ours.value)


@pytest.mark.parametrize("x_shape,target,message", [
    ((4, 8), [0, 1, 2], "Input and target should have the same size in the batch dimension."),
    ((2, 2, 8), [0, 1], "1D target tensor expects 2D input tensors, but found inputs with size"),
    ((2, 8), 1, "0D target tensor expects 1D input tensors, but found inputs with size"),
    ((2, 8), [[0, 1]], "0D or 1D target tensor expected, multi-target not supported"),
    ((3, 8), [0, 12, 1], r"Target values should be in \[0, 11\], but values in range \[0, 12\] were found."),
    ((3, 8), [0, -1, 1], r"Target values should be in \[0, 11\], but values in range \[-1, 1\] were found."),
])
def test_bad_inputs_are_refused(x_shape, target, message):
    m = _model()
    with pytest.raises(RuntimeError, match=message):
        m(eg.zeros(*x_shape, dtype=eg.float64), eg.tensor(np.array(target)))
    if _has_torch():
        import torch

        tm = _torch_copy(m)
        with pytest.raises(RuntimeError, match=message):
            tm(torch.zeros(x_shape, dtype=torch.float64), torch.tensor(np.array(target)))
