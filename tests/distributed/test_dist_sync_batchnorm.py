"""SyncBatchNorm on 2 ranks with half a batch each equals BatchNorm on the whole batch."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.distributed as dist
from eigengrad import nn
from eigengrad.nn.parallel import DistributedDataParallel as DDP
from distributed.dist_helpers import assert_same_on_every_rank, flat_parameters

TOL = {np.float32: 1e-5, np.float64: 1e-12}


def rel(a, b, scale=None):
    scale = max(np.max(np.abs(b)), 1e-30) if scale is None else scale
    return np.max(np.abs(np.asarray(a, np.float64) - b)) / scale


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 7), (3, 4, 3, 2), (1, 6)])  # (1, 6): one row per rank
def test_forward_backward_and_running_statistics_equal_full_batch(shape, dtype):
    n, r, rows = dist.get_world_size(), dist.get_rank(), shape[0]
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((n,) + shape) * 3 + 10).astype(dtype)  # a large mean: the merge keeps its digits
    G = rng.standard_normal((n,) + shape).astype(dtype)
    bn = nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d
    full, sync = bn(shape[1]).to(dtype), nn.SyncBatchNorm(shape[1]).to(dtype)
    for m in (full, sync):
        m.weight.data._data[...] = np.linspace(0.5, 2, shape[1])
        m.bias.data._data[...] = 0.3
    xf = eg.from_numpy(X.reshape((n * rows,) + shape[1:]).copy()).requires_grad_()
    yf = full(xf)
    (yf * eg.from_numpy(G.reshape(xf.shape))).sum().backward()
    xs = eg.from_numpy(X[r].copy()).requires_grad_()
    ys = sync(xs)
    (ys * eg.from_numpy(G[r])).sum().backward()
    mine, tol = slice(r * rows, (r + 1) * rows), TOL[dtype]
    assert rel(ys.detach().numpy(), yf.detach().numpy()[mine]) <= tol
    # dx is a difference of terms of size |dy| w invstd (with 2 values a channel it is 0 but for eps):
    # its error is relative to them
    xc = np.moveaxis(X, 2, 0).reshape(shape[1], -1).astype(np.float64)  # (channel, every value of it)
    scale = np.max(np.abs(G)) * 2.0 / np.sqrt(xc.var(axis=1).min() + 1e-5)
    assert rel(xs.grad.numpy(), xf.grad.numpy()[mine], scale) <= tol
    dw = sync.weight.grad.numpy().astype(np.float64)
    dist.all_reduce(dw)  # each rank's share of the weight gradient: together the whole batch's
    assert rel(dw, full.weight.grad.numpy()) <= tol
    assert rel(sync.running_mean.numpy(), full.running_mean.numpy()) <= tol
    assert rel(sync.running_var.numpy(), full.running_var.numpy()) <= tol
    assert_same_on_every_rank(sync.running_var.numpy(), "running_var")


def test_outputs_equal_the_full_batch_outputs():
    n, r = dist.get_world_size(), dist.get_rank()
    X = np.random.default_rng(1).standard_normal((n * 6, 4)) * 5 - 2
    full, sync = nn.BatchNorm1d(4).double(), nn.SyncBatchNorm(4).double()
    expected = full(eg.from_numpy(X)).detach().numpy()[r * 6:(r + 1) * 6]
    assert rel(sync(eg.from_numpy(X[r * 6:(r + 1) * 6])).detach().numpy(), expected) <= 1e-12
    sync.eval()  # evaluation: the running statistics, no communication
    full.eval()
    assert rel(sync(eg.from_numpy(X[:5])).detach().numpy(), full(eg.from_numpy(X[:5])).detach().numpy()) <= 1e-12


def test_convert_sync_batchnorm_in_ddp_trains_like_one_process():
    def model():
        eg.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)).double()

    reference = model()
    ref_opt = eg.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model())
    assert isinstance(converted[1], nn.SyncBatchNorm)
    ddp = DDP(converted)
    opt = eg.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(2)
    share = 32 // dist.get_world_size()
    mine = slice(dist.get_rank() * share, (dist.get_rank() + 1) * share)
    for _ in range(5):
        x, y = rng.standard_normal((32, 6)), rng.integers(0, 3, 32)
        ref_opt.zero_grad()
        nn.CrossEntropyLoss()(reference(eg.from_numpy(x)), eg.from_numpy(y)).backward()
        ref_opt.step()
        opt.zero_grad()
        nn.CrossEntropyLoss()(ddp(eg.from_numpy(x[mine])), eg.from_numpy(y[mine])).backward()
        opt.step()
    assert rel(flat_parameters(converted), flat_parameters(reference)) <= 1e-12
    assert rel(converted[1].running_var.numpy(), reference[1].running_var.numpy()) <= 1e-12
    assert_same_on_every_rank(flat_parameters(converted), "parameters")


def test_errors():
    with pytest.raises(ValueError, match="expected at least 2D input \\(got 1D input\\)"):
        nn.SyncBatchNorm(3)(eg.zeros(3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training, got 1 over all ranks"):
        nn.SyncBatchNorm(3)(eg.zeros((1 if dist.get_rank() == 0 else 0, 3)))
