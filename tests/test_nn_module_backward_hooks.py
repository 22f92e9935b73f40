"""Module backward hooks (``register_full_backward_hook``, ``register_full_backward_pre_hook``) and forward
hooks ``with_kwargs``, side by side with PyTorch on the same weights: the hooks see PyTorch's grad_input and
grad_output, their replacements change the gradients as in PyTorch, handles remove them."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="PyTorch's hooks are the reference")


def _model(lib, state=None):
    nn = lib.nn
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    if state is not None:
        m.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in state.items()})
    return m


def _arrays(ts):
    return [None if t is None else t.detach().numpy().copy() for t in ts]


def _run(lib, state, x_needs_grad: bool):
    m = _model(lib, state)
    log = []
    m[0].register_full_backward_hook(lambda mod, gi, go: log.append(("0", _arrays(gi), _arrays(go))))
    m[2].register_full_backward_pre_hook(lambda mod, go: (go[0] * 2,))
    m[2].register_full_backward_hook(lambda mod, gi, go: log.append(("2", _arrays(gi), _arrays(go))) or (gi[0] * 0.5,))
    x = lib.from_numpy(np.linspace(-1, 1, 6).reshape(2, 3)).requires_grad_(x_needs_grad)
    with pytest.warns(UserWarning, match="Full backward hook is firing") if not x_needs_grad else _nothing():
        (m(x) ** 2).sum().backward()
    return log, [p.grad.numpy().copy() for p in m.parameters()], (x.grad.numpy().copy() if x_needs_grad else None)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("x_needs_grad", [True, False])
def test_full_backward_hooks_match_torch(x_needs_grad):
    state = {k: v.numpy() for k, v in _model(eg).state_dict().items()}
    got, want = _run(eg, state, x_needs_grad), _run(torch, state, x_needs_grad)
    assert [e[0] for e in got[0]] == [e[0] for e in want[0]] == ["2", "0"]
    for (_, gi, go), (_, wi, wo) in zip(got[0], want[0]):
        for a, b in zip(gi + go, wi + wo):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-12)
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    if x_needs_grad:
        np.testing.assert_allclose(got[2], want[2], rtol=1e-12)


def test_hook_handles_remove_and_forward_hooks_take_kwargs():
    class Scale(eg.nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    calls = []
    h = m.register_full_backward_hook(lambda mod, gi, go: calls.append(1))
    x = eg.ones(2, requires_grad=True)
    m(x).sum().backward()
    h.remove()
    m(x).sum().backward()
    assert calls == [1]
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {**kwargs, "factor": 3.0}), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: out + kwargs["factor"], with_kwargs=True)
    np.testing.assert_array_equal(m(eg.ones(2), factor=2.0).numpy(), [6.0, 6.0])  # 1 * 3 + 3
    m2 = Scale()
    m2.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple of \(new_args, new_kwargs\)"):
        m2(eg.ones(2))


def test_a_compiled_step_with_backward_hooks_falls_back_naming_them():
    import warnings

    m = eg.nn.Linear(3, 2)
    opt = eg.optim.SGD(m.parameters(), lr=0.1)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(1))

    @eg.compile
    def step(x):
        opt.zero_grad()
        loss = m(x).sum()
        loss.backward()
        opt.step()
        return loss
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for _ in range(3):
            step(eg.randn(4, 3))
    assert "backward hooks" in step.fallback_reason and len(seen) == 3  # every call ran its hook (eagerly)
