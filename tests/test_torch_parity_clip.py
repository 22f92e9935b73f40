"""Parity with torch.nn.utils.clip_grad_norm_ / clip_grad_value_ / get_total_norm on the same gradients."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity checks (pip install torch)")

import eigengrad as eg  # noqa: E402
from eigengrad import nn  # noqa: E402
from eigengrad.nn.utils import clip_grad_norm_, clip_grad_value_, get_total_norm  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-12}
SHAPES = [(64, 64), (64,), (10, 64), (10,), (0,), (3, 1, 7), (1,), (100003,)]


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dt(request):
    return request.param


def twin_params(dtype, scale, seed=0, shapes=SHAPES):
    """eigengrad and torch parameters with the same gradients."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape in shapes:
        g = (scale * rng.standard_normal(shape)).astype(dtype)
        p = nn.Parameter(eg.zeros(*shape, dtype=dtype))
        p.grad = eg.from_numpy(g.copy())
        t = torch.zeros(shape, dtype=torch.float32 if dtype == np.float32 else torch.float64, requires_grad=True)
        t.grad = torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(t)
    return ours, theirs


def rel_err(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-30) if b.size else 0.0


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, math.inf, -math.inf, 0.5])
@pytest.mark.parametrize("max_norm, scale", [(1.0, 1.0), (1e9, 1.0), (1.0, 1e-4)], ids=["clipped", "not", "small"])
@pytest.mark.parametrize("flat", [False, True], ids=["own-grads", "flat-buffer"])
def test_clip_grad_norm_matches_torch(dt, norm_type, max_norm, scale, flat):
    # PyTorch refuses the +-inf norm of an empty tensor (eigengrad: max |g| over nothing is 0)
    shapes = [s for s in SHAPES if 0 not in s] if math.isinf(norm_type) else SHAPES
    ours, theirs = twin_params(dt, scale, shapes=shapes)
    if flat:
        eg.optim.SGD(ours, lr=0.1)  # gradients move into one flat buffer
    n_ours = clip_grad_norm_(ours, max_norm, norm_type)
    n_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert n_ours.dtype == np.dtype(str(n_theirs.dtype).replace("torch.", ""))
    assert rel_err(n_ours.item(), n_theirs.item()) <= TOL[dt]
    for p, t in zip(ours, theirs):
        assert rel_err(p.grad.numpy(), t.grad.numpy()) <= TOL[dt]


def test_norm_type_zero_counts_elements_where_torch_counts_tensors():
    # A deliberate difference: PyTorch's p = 0 is the norm of the per-tensor norms (tensors with a nonzero
    # element); eigengrad's is the norm of the gradients viewed as one vector (nonzero elements).
    ours, theirs = twin_params(np.float64, 1.0)
    n_ours = get_total_norm([p.grad for p in ours], 0)
    assert n_ours.item() == sum(int(np.count_nonzero(p.grad.numpy())) for p in ours)
    n_theirs = torch.nn.utils.get_total_norm([t.grad for t in theirs], 0)
    assert n_theirs.item() == sum(1 for t in theirs if t.grad.count_nonzero() > 0)
    one_vector = torch.cat([t.grad.reshape(-1) for t in theirs])
    assert n_ours.item() == torch.linalg.vector_norm(one_vector, 0).item()


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nonfinite_matches_torch(bad):
    ours, theirs = twin_params(np.float32, 1.0)
    ours[1].grad.numpy()[3] = bad
    theirs[1].grad[3] = bad
    n_ours = clip_grad_norm_(ours, 1.0)
    n_theirs = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_array_equal(n_ours.numpy(), n_theirs.numpy())
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())  # zeros and NaN in the same places
    ours, theirs = twin_params(np.float32, 1.0)
    ours[0].grad.numpy()[0, 0] = bad
    theirs[0].grad[0, 0] = bad
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("clip_value", [0.0, 0.1, 1.5, 100.0])
def test_clip_grad_value_matches_torch(dt, clip_value):
    ours, theirs = twin_params(dt, 1.0)
    ours[0].grad.numpy()[1, 1] = np.nan
    theirs[0].grad[1, 1] = math.nan
    eg.optim.SGD(ours, lr=0.1)
    clip_grad_value_(ours, clip_value)
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_training_step_with_clipping_matches_torch():
    eg.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    tmodel = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    with torch.no_grad():
        for p, t in zip(model.parameters(), tmodel.parameters()):
            t.copy_(torch.from_numpy(p.detach().numpy()))
    opt = eg.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.5, momentum=0.9)
    x, y = eg.datasets.load_digits(return_X_y=True)
    x = (x[:64] / 16).astype(np.float32)
    y = y[:64]
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        nn.functional.cross_entropy(model(eg.from_numpy(x)), eg.from_numpy(y)).backward()
        torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        n = clip_grad_norm_(model.parameters(), 0.25)
        tn = torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 0.25)
        assert rel_err(n.item(), tn.item()) < 1e-5
        opt.step()
        topt.step()
    for p, t in zip(model.parameters(), tmodel.parameters()):
        assert rel_err(p.detach().numpy(), t.detach().numpy()) < 1e-4
