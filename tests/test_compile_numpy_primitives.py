"""eg.compile over steps whose operations compute in NumPy (exp, log, pow, one_hot, NLL on log_softmax, indexing
by tensors, factories, random noise, ...): each such primitive replays as one plan step (compile/opaque.py), and
the compiled steps equal eager mode's bit for bit, without a fallback."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad import _kernels as K
from eigengrad.autograd.function import Primitive
from eigengrad.compile.opaque import store


def _onehot(y, like):
    return F.one_hot(y, 3).to(like.dtype)


LOSSES = {
    "nll_log_softmax_exp_log": lambda m, x, y: (F.nll_loss(F.log_softmax(m(x), dim=1), y) + m(x).exp().mean() * 0.01
                                                + (m(x).abs() + 1).log().sum() * 1e-3),
    "smooth_l1_one_hot_sin_pow": lambda m, x, y: F.smooth_l1_loss(m(x), _onehot(y, x)) + m(x).sin().pow(2).mean(),
    "index_arange_target": lambda m, x, y: -F.log_softmax(m(x), dim=1)[eg.arange(x.shape[0]), y].mean(),
    "gather": lambda m, x, y: -F.log_softmax(m(x), dim=1).gather(1, y[:, None]).mean(),
    "where": lambda m, x, y: eg.where(m(x) > 0, m(x), m(x) * 0.1).pow(2).mean(),
    "randn_like_noise": lambda m, x, y: F.cross_entropy(m(x + 0.1 * eg.randn_like(x)), y),
    "rand_mask_explicit_generator": lambda m, x, y: F.cross_entropy(
        m(x) * (eg.rand(x.shape[0], 3, generator=_GEN[0]) > 0.2).to(eg.float32), y),
    "masked_fill": lambda m, x, y: F.cross_entropy(m(x).masked_fill(m(x) > 2, -1.0), y),
    "softmax_mse": lambda m, x, y: F.mse_loss(F.softmax(m(x), dim=-1), _onehot(y, x)),
    "clamp_sqrt": lambda m, x, y: (m(x).clamp(min=0.1) + 1).sqrt().mean(),
    "std_var": lambda m, x, y: m(x).std(dim=0).mean() + m(x).var(),
    "max_dim_amax": lambda m, x, y: m(x).max(dim=1).values.sum() + m(x).amax() + m(x).min(dim=0)[0].mean(),
    "l2_penalty": lambda m, x, y: F.cross_entropy(m(x), y) + 1e-3 * sum(p.pow(2).sum() for p in m.parameters()),
    "mish_silu": lambda m, x, y: F.cross_entropy(F.mish(m(x)) + F.silu(m(x)), y),
    "kl_div": lambda m, x, y: F.kl_div(F.log_softmax(m(x), 1), F.softmax(m(x).detach() * 2, 1), reduction="batchmean"),
    "huber_bce": lambda m, x, y: (F.huber_loss(m(x), _onehot(y, x))
                                  + F.binary_cross_entropy(m(x).sigmoid(), _onehot(y, x))),
    "cat_logsumexp": lambda m, x, y: eg.cat([m(x), m(x) * 2], 1).logsumexp(1).mean(),
    "norm_normalize": lambda m, x, y: m(x).norm(dim=1).mean() + F.normalize(m(x)).sum(),
    "zeros_like_full_eye": lambda m, x, y: ((m(x) - eg.zeros_like(m(x)) + eg.full((3,), 0.5)) @ eg.eye(3)).pow(2).mean(),
    "linspace_weights": lambda m, x, y: (F.cross_entropy(m(x), y, reduction="none") * eg.linspace(0.5, 1.5, x.shape[0])).mean(),
    "cumsum_sort_topk": lambda m, x, y: (m(x).cumsum(1).mean() + m(x).sort(1).values[:, -1].mean()
                                         + m(x).topk(2, 1).values.sum() + m(x).kthvalue(2, 1).values.mean()),
    "mixup_randperm": lambda m, x, y: _mixup(m, x, y, eg.randperm(x.shape[0])),
    "argsort_gather": lambda m, x, y: m(x).gather(1, m(x).argsort(1, descending=True)[:, :1]).mean(),
}
_GEN = [None]


def _mixup(m, x, y, perm, lam=0.7):
    out = m(lam * x + (1 - lam) * x[perm])
    return lam * F.cross_entropy(out, y) + (1 - lam) * F.cross_entropy(out, y[perm])


def _mlp(prelu: bool = False):
    return nn.Sequential(nn.Linear(5, 7), nn.PReLU() if prelu else nn.Tanh(), nn.Linear(7, 3))


def _run(loss_fn, compiled: bool, steps: int = 6, dtype=np.float32, prelu: bool = False):
    """Losses, parameters, the default and explicit generators' states and the warnings of ``steps`` Adam steps."""
    eg.manual_seed(0)
    _GEN[0] = eg.Generator().manual_seed(7)
    model = _mlp(prelu).to(eg.float64 if dtype == np.float64 else eg.float32)
    opt = eg.optim.Adam(model.parameters(), lr=1e-2)

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model, x, y)
        loss.backward()
        opt.step()
        return loss

    fn = eg.compile(step) if compiled else step
    rng = np.random.default_rng(0)
    losses = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(steps):
            x = eg.from_numpy(rng.standard_normal((8, 5)).astype(dtype))
            y = eg.from_numpy(rng.integers(0, 3, 8))
            losses.append(fn(x, y).detach().numpy().copy())
    params = [p.detach().numpy().copy() for p in model.parameters()]
    gens = tuple(np.asarray(g.get_state()).tobytes() for g in (eg.random.default_generator, _GEN[0]))
    return losses, params, gens, [str(w.message) for w in caught if "eg.compile" in str(w.message)], fn


def _assert_same(eager, compiled):
    for a, b in zip(eager[0] + eager[1], compiled[0] + compiled[1]):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    assert eager[2] == compiled[2]  # the generators advanced alike


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_numpy_primitives_replay_bit_for_bit(name):
    eager = _run(LOSSES[name], False)
    compiled = _run(LOSSES[name], True)
    fn = compiled[4]
    assert compiled[3] == [] and fn.fallback_reason is None
    assert fn.replays >= 2
    _assert_same(eager, compiled)


def test_float64_and_a_prelu_module():
    for dtype in (np.float32, np.float64):
        eager = _run(LOSSES["smooth_l1_one_hot_sin_pow"], False, dtype=dtype, prelu=True)
        compiled = _run(LOSSES["smooth_l1_one_hot_sin_pow"], True, dtype=dtype, prelu=True)
        assert compiled[3] == [] and compiled[4].replays >= 2
        _assert_same(eager, compiled)


def test_explain_counts_the_numpy_primitives():
    compiled = _run(LOSSES["nll_log_softmax_exp_log"], True)
    text = compiled[4].explain(file=open("/dev/null", "w"))
    assert "primitive Exp.forward(" in text and "primitive NLL.backward(" in text
    count = int(text.split(" primitives computed in NumPy")[0].rsplit(" ", 1)[1])
    assert count >= 8


def test_one_hot_without_num_classes_falls_back():
    loss = lambda m, x, y: F.mse_loss(m(x), F.one_hot(y).to(eg.float32))  # noqa: E731
    eager, compiled = _run(loss, False), _run(loss, True)
    assert len(compiled[3]) == 1 and "one_hot without num_classes" in compiled[3][0]
    _assert_same(eager, compiled)


def test_one_hot_checks_each_replayed_batch():
    eg.manual_seed(0)
    fn = eg.compile(lambda y: F.one_hot(y, 3))
    for _ in range(4):
        out = fn(eg.tensor([0, 2, 1]))
    assert fn.replays >= 1 and out.numpy().tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    with pytest.raises(ValueError, match="Class values must be smaller than num_classes"):
        fn(eg.tensor([0, 3, 1]))


class _ShapeFromValues(Primitive):
    """A primitive whose output length depends on a value, without saying so (a user's mistake)."""

    @staticmethod
    def forward(ctx, x):
        return np.repeat(x, 1 + int(x[0] > 0))


def test_a_replayed_shape_that_changes_raises_instead_of_a_wrong_answer():
    fn = eg.compile(lambda x: _ShapeFromValues.apply(x) * 2)
    for _ in range(4):
        out = fn(eg.tensor([1.0, 2.0]))
    assert fn.replays >= 1 and out.numpy().tolist() == [2.0, 2.0, 4.0, 4.0]
    with pytest.raises(RuntimeError, match="_ShapeFromValues.forward gave a float32 array of shape \\(2,\\)"):
        fn(eg.tensor([-1.0, 2.0]))


def test_store_refuses_a_new_dtype():
    out = np.zeros(3, np.float32)
    with pytest.raises(RuntimeError, match="float64 array of shape \\(3,\\) where the trace gave float32"):
        store("f", np.ones(3), out)
    store("f", np.ones(3, np.float32), out)
    assert out.tolist() == [1.0, 1.0, 1.0]


class _ScaledByValue(Primitive):
    """Kernel-recorded forward, NumPy backward that uses a number read from the values (frozen in a plan)."""

    @staticmethod
    def forward(ctx, x):
        ctx.scale = float(np.abs(x).max())
        return K.ufunc("multiply", x, 2.0)

    @staticmethod
    def backward(ctx, g):
        return (g * 2.0 * ctx.scale,)


def test_a_backward_attribute_read_from_values_is_not_frozen():
    """The rebuilt context's attributes are the op's options: two traces whose values differ disagree, and the
    function falls back instead of replaying the first trace's number."""
    w = nn.Parameter(eg.tensor([1.0, -3.0]))
    opt = eg.optim.SGD([w], lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = _ScaledByValue.apply(w * x).sum()
        loss.backward()
        opt.step()
        return loss

    fn = eg.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(5):
            fn(eg.tensor([1.0 + k, 2.0]))
    reasons = [str(m.message) for m in caught if "eg.compile" in str(m.message)]
    assert len(reasons) == 1 and "different operations" in reasons[0]


def _grad_and_retain(m, x, y):
    """autograd.grad (no create_graph) of the loss w.r.t. the logits, and a second backward over a retained graph."""
    out = m(x)
    loss = F.cross_entropy(out, y)
    (g,) = eg.autograd.grad(loss, out, retain_graph=True)
    loss.backward(retain_graph=True)
    return loss + g.abs().sum().detach() * 0.0 + out.exp().mean().detach()


def test_autograd_grad_and_a_retained_graph():
    eager, compiled = _run(_grad_and_retain, False), _run(_grad_and_retain, True)
    assert compiled[3] == [] and compiled[4].replays >= 2
    _assert_same(eager, compiled)


def _same_without_fallback(make):
    """``make(compiled)`` -> (the step function, its outputs): compiled equals eager bit for bit, replays, no
    warning."""
    want = make(False)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn, got = make(True)
    assert fn.replays > 0 and fn.fallback_reason is None
    assert [a.tobytes() for a in got] == [b.tobytes() for b in want]


def test_a_zero_dim_parameter_through_numpy_primitives():
    # CLIP's learnable logit_scale: exp of a 0-d parameter; NumPy's arithmetic on 0-d arrays returns scalars
    # (the backward's gradient), which fell back to eager before
    def make(compiled):
        eg.manual_seed(0)
        lin = eg.nn.Linear(4, 3)
        scale = eg.nn.Parameter(eg.ones([]) * 0.5)
        opt = eg.optim.AdamW([*lin.parameters(), scale], 1e-2)

        def step(x):
            opt.zero_grad()
            loss = (scale.exp() * lin(x)).pow(2).mean() + scale.log1p() * 0.1
            loss.backward()
            opt.step()
            return loss
        fn = eg.compile(step) if compiled else step
        out = [fn(eg.randn(8, 4)).detach().numpy().copy() for _ in range(7)]
        return fn, out + [scale.detach().numpy().copy()]
    _same_without_fallback(make)


@pytest.mark.parametrize("pos_weight", [[1.5], [[1.5]], [1.0, 2.0, 0.5, 1.5, 3.0, 0.7]])
def test_a_broadcast_pos_weight(pos_weight):
    # a size-1 pos_weight on a 4-D output (segmentation): its repetition along the last dimension is a
    # recorded copy now (it fell back to eager: made by NumPy outside the recorded kernels)
    def make(compiled):
        eg.manual_seed(0)
        conv = nn.Conv2d(1, 1, 3, padding=1)
        opt = eg.optim.SGD(conv.parameters(), lr=0.1)
        pw = eg.tensor(pos_weight)

        def step(x, m):
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(conv(x), m, pos_weight=pw)
            loss.backward()
            opt.step()
            return loss
        fn = eg.compile(step) if compiled else step
        out = [fn(eg.rand(2, 1, 6, 6), (eg.rand(2, 1, 6, 6) > 0.5).float()).detach().numpy().copy()
               for _ in range(7)]
        return fn, out + [conv.weight.detach().numpy().copy()]
    _same_without_fallback(make)
