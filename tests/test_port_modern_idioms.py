"""Idioms of modern training scripts (found by porting 8 more programs: DDPM, a GPT with RoPE, LoRA, U-Net,
GNN, tabular, BYOL, beam search): ``torch._foreach_*`` (EMA helpers), ``Tensor.index_reduce``,
``nn.Buffer``, ``torch.utils.checkpoint`` after a bare import, ``torch._dynamo.config``."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn


def test_foreach_operations():
    a, b = [eg.zeros(2), eg.ones(3)], [eg.ones(2), eg.full((3,), 3.0)]
    eg._foreach_lerp_(a, b, 0.1)
    np.testing.assert_allclose(a[1].numpy(), [1.2] * 3, rtol=1e-6)
    eg._foreach_mul_(a, [2.0, 3.0])
    eg._foreach_add_(a, b, alpha=0.5)
    eg._foreach_addcmul_(a, b, b, value=0.1)
    np.testing.assert_allclose(a[0].numpy(), [0.2 + 0.5 + 0.1] * 2, rtol=1e-6)
    np.testing.assert_allclose(a[1].numpy(), [3.6 + 1.5 + 0.9] * 3, rtol=1e-6)
    norms = eg._foreach_norm(a)
    np.testing.assert_allclose([float(n) for n in norms], [np.sqrt(2) * 0.8, np.sqrt(3) * 6.0], rtol=1e-6)
    roots = eg._foreach_sqrt(b)
    np.testing.assert_allclose(roots[1].numpy(), [np.sqrt(3.0)] * 3, rtol=1e-6)
    eg._foreach_zero_(a)
    assert all(float(t.abs().sum()) == 0 for t in a)
    with pytest.raises(ValueError, match="same number of tensors"):
        eg._foreach_add_(a, [1.0])


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self):
    x = np.arange(1.0, 7.0).reshape(3, 2)
    src = np.arange(2.0, 10.0).reshape(4, 2)
    idx = [0, 2, 0, 2]
    got = eg.tensor(x).index_reduce(0, eg.tensor(idx), eg.tensor(src), reduce, include_self=include_self).numpy()
    want = x.copy()
    for row in (0, 2):
        vals = [src[i] for i, j in enumerate(idx) if j == row] + ([x[row]] if include_self else [])
        want[row] = {"prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}[reduce](vals, axis=0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    y = eg.zeros(2, 2)
    y.index_reduce_(0, eg.tensor([0, 0, 1]), eg.arange(6.0).view(3, 2), "mean", include_self=False)
    np.testing.assert_array_equal(y.numpy(), [[1.0, 2.0], [4.0, 5.0]])


def test_buffer_checkpoint_and_dynamo():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Buffer(eg.ones(2))
            self.scratch = nn.Buffer(eg.zeros(3), persistent=False)
            self.w = nn.Parameter(eg.ones(1))

    m = M()
    assert list(m.state_dict()) == ["w", "table"] and [n for n, _ in m.named_buffers()] == ["table", "scratch"]
    x = eg.ones(2, requires_grad=True)
    y = eg.utils.checkpoint.checkpoint(eg.sin, x, use_reentrant=False)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(1.0), rtol=1e-6)
    eg._dynamo.config.suppress_errors = True
    eg._dynamo.config.cache_size_limit = 64
    assert eg._dynamo.config.cache_size_limit == 64
    eg._dynamo.reset()


def test_foreach_operand_by_pytorchs_keyword_names():
    ts = [eg.ones(2), eg.ones(3)]
    eg._foreach_mul_(ts, scalar=0.5)  # timm's ModelEmaV3
    eg._foreach_add_(ts, [eg.ones(2), eg.ones(3)], alpha=2)
    eg._foreach_mul_(ts, scalars=[2.0, 3.0])
    assert [t.tolist() for t in ts] == [[5.0, 5.0], [7.5, 7.5, 7.5]]
    assert [t.tolist() for t in eg._foreach_pow(ts, exponent=2)] == [[25.0, 25.0], [56.25, 56.25, 56.25]]
    with pytest.raises(TypeError, match="_foreach_mul: expected one operand .* got none"):
        eg._foreach_mul_(ts)
    with pytest.raises(TypeError, match="got two"):
        eg._foreach_mul_(ts, 2.0, scalar=3.0)
