"""Parity with PyTorch for Embedding and EmbeddingBag on random configurations of their options (drawn
per seed: table sizes from 1 to primes, batch 1, index shapes, int64/int32, padding_idx incl. negative,
max_norm with every norm_type, scale_grad_by_freq; bags: mode, offsets with empty bags,
include_last_offset, 2-D input, per_sample_weights): outputs, the table after max_norm's renormalisation
and every gradient, float64 to 1e-10 and float32 to 1e-5; state_dicts loaded both ways."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity checks (pip install torch)")

import eigengrad as eg  # noqa: E402
from eigengrad import nn  # noqa: E402
import eigengrad.nn.functional as F  # noqa: E402
from torch_parity import make_assert_rel  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-10}
assert_rel = make_assert_rel(TOL)
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
TORCH_INDEX = {np.int64: torch.int64, np.int32: torch.int32}
SEEDS = range(24)


def draw_table(r):
    num = int(r.choice([1, 2, 7, 13, 64, 101]))
    dim = int(r.choice([1, 3, 8, 17]))
    return num, dim


def draw_options(r, num):
    padding_idx = None if r.random() < 0.4 else int(r.integers(-num, num))
    max_norm = None if r.random() < 0.5 else float(r.choice([0.5, 1.0, 2.5]))
    norm_type = float(r.choice([2.0, 1.0, 3.0, np.inf, 0.5]))
    return dict(padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                scale_grad_by_freq=bool(r.random() < 0.5))


@pytest.mark.parametrize("dt", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("seed", SEEDS)
def test_embedding_random_options_match_torch(dt, seed):
    r = np.random.default_rng(seed)
    num, dim = draw_table(r)
    opts = draw_options(r, num)
    shape = [(1,), (5,), (2, 7), (1, 3, 4), (31,)][int(r.integers(5))]
    itype = [np.int64, np.int32][seed % 2]
    idx = r.integers(0, num, shape).astype(itype)
    w0 = (r.standard_normal((num, dim)) * 1.5).astype(dt)
    em = nn.Embedding(num, dim, **opts, dtype=dt)
    tm = torch.nn.Embedding(num, dim, **opts, dtype=TORCH_DTYPE[dt])
    em.weight.detach().numpy()[...] = w0
    with torch.no_grad():
        tm.weight.copy_(torch.from_numpy(w0))
    ey, ty = em(eg.from_numpy(idx)), tm(torch.from_numpy(idx).to(TORCH_INDEX[itype]))
    assert_rel(ey, ty, dt, f"output {opts}")
    assert_rel(em.weight, tm.weight, dt, "weight after max_norm")
    g = r.standard_normal(ty.shape).astype(dt)
    ey.backward(eg.from_numpy(g))
    ty.backward(torch.from_numpy(g))
    assert_rel(em.weight.grad, tm.weight.grad, dt, f"weight grad {opts}")


def draw_bags(r, num):
    """(input, offsets or None, include_last_offset) as NumPy arrays: a 2-D batch of fixed-length bags or
    1-D input with offsets (empty bags included)."""
    if r.random() < 0.3:
        return r.integers(0, num, (int(r.integers(1, 5)), int(r.integers(1, 6)))), None, False
    n = int(r.integers(1, 30))
    bags = int(r.integers(1, 6))
    offsets = np.sort(r.integers(0, n + 1, bags))
    offsets[0] = 0
    last = bool(r.random() < 0.4)
    if last:
        offsets = np.append(offsets, int(r.integers(offsets[-1], n + 1)))
    return r.integers(0, num, n), offsets, last


@pytest.mark.parametrize("dt", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("seed", SEEDS)
def test_embedding_bag_random_options_match_torch(dt, seed):
    r = np.random.default_rng(1000 + seed)
    num, dim = draw_table(r)
    mode = ["sum", "mean", "max"][seed % 3]
    opts = draw_options(r, num)
    if mode == "max":
        opts["scale_grad_by_freq"] = False  # PyTorch refuses it, as eigengrad does (tested below)
    idx, offsets, last = draw_bags(r, num)
    itype = [np.int64, np.int32][seed % 2]
    idx = idx.astype(itype)
    psw = r.standard_normal(idx.shape).astype(dt) if mode == "sum" and r.random() < 0.6 else None
    w0 = r.standard_normal((num, dim)).astype(dt)
    em = nn.EmbeddingBag(num, dim, mode=mode, include_last_offset=last, **opts, dtype=dt)
    # PyTorch 2.13's CPU embedding_bag divides by the wrong count with scale_grad_by_freq (a once-occurring
    # row sorting after a repeated one gets the repeated one's count: pytorch/pytorch#190063, fixed by
    # #190264). Its unscaled gradient divided by each row's frequency is the documented (and CUDA) result.
    freq = opts["scale_grad_by_freq"]
    t_opts = dict(opts, scale_grad_by_freq=False)
    tm = torch.nn.EmbeddingBag(num, dim, mode=mode, include_last_offset=last, **t_opts, dtype=TORCH_DTYPE[dt])
    em.weight.detach().numpy()[...] = w0
    with torch.no_grad():
        tm.weight.copy_(torch.from_numpy(w0))
    # Positions after the last offset (include_last_offset) are in no bag. PyTorch 2.13 on CPU leaves them
    # out of 'sum' but counts them in 'mean's divisor and in 'max' (pytorch/pytorch#191965), so torch gets
    # the input without them, where its three modes agree.
    end = int(offsets[-1]) if last else idx.size
    e_psw = None if psw is None else eg.tensor(psw, requires_grad=True)
    t_psw = None if psw is None else torch.tensor(psw[:end], requires_grad=True)
    t_idx = torch.from_numpy(idx.reshape(-1)[:end] if last else idx).to(TORCH_INDEX[itype])
    if opts["max_norm"] is not None:  # PyTorch renormalises every row of the input, trailing ones too
        with torch.no_grad():
            torch.embedding_renorm_(tm.weight, torch.from_numpy(idx.reshape(-1).astype(np.int64)), opts["max_norm"],
                                    opts["norm_type"])
    t_off = None if offsets is None else torch.from_numpy(offsets).to(TORCH_INDEX[itype])
    ey = em(eg.from_numpy(idx), None if offsets is None else eg.from_numpy(offsets.astype(itype)), e_psw)
    ty = tm(t_idx, t_off, t_psw)
    what = f"{mode} {opts} offsets={offsets} last={last}"
    assert_rel(ey, ty, dt, "output " + what)
    assert_rel(em.weight, tm.weight, dt, "weight after max_norm")
    g = r.standard_normal(ty.shape).astype(dt)
    ey.backward(eg.from_numpy(g))
    ty.backward(torch.from_numpy(g))
    expected = tm.weight.grad.numpy()
    if freq:
        expected = expected / np.maximum(np.bincount(idx.reshape(-1), minlength=num), 1)[:, None]
    assert_rel(em.weight.grad, expected, dt, "weight grad " + what)
    if psw is not None:
        assert_rel(e_psw.grad[:end], t_psw.grad, dt, "per_sample_weights grad " + what)
        assert not np.any(e_psw.grad.numpy()[end:])


def test_functional_forms_match_torch(rng):
    w = rng.standard_normal((9, 5))
    ew, tw = eg.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    idx = np.array([[3, 8, 8], [0, 1, 3]])
    ey = F.embedding(eg.from_numpy(idx), ew, padding_idx=-1, scale_grad_by_freq=True)
    ty = torch.nn.functional.embedding(torch.from_numpy(idx), tw, padding_idx=-1, scale_grad_by_freq=True)
    assert_rel(ey, ty, np.float64)
    eb = F.embedding_bag(eg.from_numpy(idx.reshape(-1)), ew, eg.from_numpy(np.array([0, 2])), mode="max")
    tb = torch.nn.functional.embedding_bag(torch.from_numpy(idx.reshape(-1)), tw, torch.tensor([0, 2]), mode="max")
    assert_rel(eb, tb, np.float64)
    (ey.sum() + eb.sum()).backward()
    (ty.sum() + tb.sum()).backward()
    assert_rel(ew.grad, tw.grad, np.float64)


@pytest.mark.parametrize("cls", ["Embedding", "EmbeddingBag"])
def test_state_dict_loads_both_ways(rng, cls):
    tm = getattr(torch.nn, cls)(12, 6, padding_idx=3, dtype=torch.float64)
    em = getattr(nn, cls)(12, 6, padding_idx=3, dtype=np.float64)
    idx = rng.integers(0, 12, (4, 5))
    em.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert_rel(em(eg.from_numpy(idx)), tm(torch.from_numpy(idx)), np.float64, "torch -> eigengrad")
    em2 = getattr(nn, cls)(12, 6, padding_idx=3, dtype=np.float64)
    tm2 = getattr(torch.nn, cls)(12, 6, padding_idx=3, dtype=torch.float64)
    tm2.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in em2.state_dict().items()})
    assert list(em2.state_dict()) == list(tm2.state_dict()) == ["weight"]
    assert_rel(em2(eg.from_numpy(idx)), tm2(torch.from_numpy(idx)), np.float64, "eigengrad -> torch")


def test_errors_where_torch_errors(rng):
    w = rng.standard_normal((5, 2))
    ew, tw = eg.from_numpy(w), torch.from_numpy(w)
    for call, torch_error in [
        (lambda f, x, t: f.embedding(x(np.array([1, 5])), t), IndexError),
        (lambda f, x, t: f.embedding(x(np.array([1.0])), t), RuntimeError),
        (lambda f, x, t: f.embedding_bag(x(np.array([1, 2])), t, x(np.array([1]))), RuntimeError),
        (lambda f, x, t: f.embedding_bag(x(np.array([[1, 2]])), t, x(np.array([0]))), ValueError),
        (lambda f, x, t: f.embedding_bag(x(np.array([1, 2])), t, x(np.array([0])), mode="max",
                                         scale_grad_by_freq=True), ValueError),
        (lambda f, x, t: f.embedding_bag(x(np.array([1, 2])), t, x(np.array([0])), padding_idx=5), RuntimeError),
    ]:
        with pytest.raises(torch_error):
            call(torch.nn.functional, torch.from_numpy, tw)
        with pytest.raises((IndexError, TypeError, ValueError)):
            call(F, eg.from_numpy, ew)
