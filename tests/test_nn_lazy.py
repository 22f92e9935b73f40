"""Lazy layers (LazyConv1d/2d/3d, LazyConvTranspose1d/2d, LazyBatchNorm1d/2d/3d, LazyInstanceNorm1d/2d/3d): the
first input sets the channels, the module becomes the real layer (class, repr, state_dict keys and shapes,
PyTorch's initialisation ranges), keeps its hooks and training flag, and trains; PyTorch's names and keys."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn

CASES = [
    (lambda L: L.nn.LazyConv1d(4, 3), (2, 5, 9), "Conv1d", (4, 5, 3)),
    (lambda L: L.nn.LazyConv2d(4, 3, 1, 1, 1, 2, False), (1, 6, 5, 5), "Conv2d", (4, 3, 3, 3)),
    (lambda L: L.nn.LazyConv3d(2, 2), (1, 3, 4, 4, 4), "Conv3d", (2, 3, 2, 2, 2)),
    (lambda L: L.nn.LazyConvTranspose1d(3, 2, stride=2), (2, 5, 4), "ConvTranspose1d", (5, 3, 2)),
    (lambda L: L.nn.LazyConvTranspose2d(4, 2, stride=2, groups=2), (1, 6, 3, 3), "ConvTranspose2d", (6, 2, 2, 2)),
    (lambda L: L.nn.LazyBatchNorm1d(), (4, 6), "BatchNorm1d", (6,)),
    (lambda L: L.nn.LazyBatchNorm2d(momentum=0.3), (2, 5, 3, 3), "BatchNorm2d", (5,)),
    (lambda L: L.nn.LazyBatchNorm3d(affine=False), (2, 3, 2, 2, 2), "BatchNorm3d", None),
    (lambda L: L.nn.LazyInstanceNorm1d(), (2, 5, 7), "InstanceNorm1d", (5,)),
    (lambda L: L.nn.LazyInstanceNorm2d(track_running_stats=False), (2, 3, 4, 4), "InstanceNorm2d", (3,)),
]


@pytest.mark.parametrize("make,shape,name,weight", CASES, ids=[c[2] for c in CASES])
def test_becomes_the_layer(make, shape, name, weight):
    eg.manual_seed(0)  # the draw below is checked statistically: the same draw in any test order
    m = make(eg)
    assert type(m).__name__ == "Lazy" + name and repr(m).startswith(f"Lazy{name}(0,")
    assert all(p.numel() == 0 for p in m.parameters())
    calls = []
    m.register_forward_hook(lambda mod, i, o: calls.append(o.shape))
    m.eval()
    y = m(eg.randn(*shape))
    assert type(m) is getattr(nn, name) and not m.training and calls == [y.shape]
    if weight is None:
        assert m.weight is None
    else:
        assert m.weight.shape == weight and np.all(np.isfinite(m.weight.detach().numpy()))
    if name.startswith("Conv"):
        bound = 1 / np.sqrt(np.prod(m.weight.shape[1:]))  # kaiming_uniform(a=sqrt(5)) over the real fan_in
        # uniform(-bound, bound): std bound / sqrt(3) = 0.58 bound (0.33 bound is > 3 sigma below it for 48 values)
        assert np.abs(m.weight.detach().numpy()).max() <= bound and m.weight.detach().numpy().std() > bound / 3


@pytest.mark.parametrize("make,shape,name,weight", CASES, ids=[c[2] for c in CASES])
def test_state_dict_matches_torch(make, shape, name, weight):
    torch = pytest.importorskip("torch", reason="PyTorch's lazy layers are the reference")
    e, t = make(eg), make(torch)
    assert repr(e) == repr(t)
    e(eg.randn(*shape))
    t(torch.randn(*shape))
    assert repr(e) == repr(t)
    assert {k: tuple(v.shape) for k, v in e.state_dict().items()} == {k: tuple(v.shape) for k, v in t.state_dict().items()}


def test_a_lazy_network_trains():
    eg.manual_seed(0)
    net = nn.Sequential(nn.LazyConv2d(8, 3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    x, y = eg.randn(16, 3, 6, 6), eg.tensor(np.arange(16) % 2)
    net(x)  # materialise, then build the optimizer (as PyTorch advises)
    opt = eg.optim.SGD(net.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"input: expected a 3-D \(unbatched\) or 4-D input for LazyConv2d"):
        nn.LazyConv2d(4, 3)(eg.randn(2, 3))
    with pytest.raises(ValueError, match="groups: in_channels \\(5\\) must be divisible by groups \\(2\\)"):
        nn.LazyConv2d(4, 3, groups=2)(eg.randn(1, 5, 4, 4))
