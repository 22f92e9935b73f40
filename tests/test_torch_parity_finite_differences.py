"""eg.gradient (finite differences), select_scatter / slice_scatter / diagonal_scatter and histogramdd:
values written out, PyTorch 2.13's on random cases (float64 to 1e-12), gradcheck and gradgradcheck, errors."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.autograd import gradcheck, gradgradcheck

try:
    import torch
except ImportError:  # the parity tests below skip; the written-out values still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (pip install torch==2.13.0)")


def t64(a, grad=False):
    return eg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# --- gradient: written-out values -------------------------------------------------------------------------

def test_gradient_of_squares_uniform_and_uneven():
    x = eg.tensor([1.0, 4.0, 9.0, 16.0, 25.0])
    (g,) = eg.gradient(x)
    assert g.tolist() == [3.0, 4.0, 6.0, 8.0, 9.0]
    assert eg.gradient(x, spacing=2.0)[0].tolist() == [1.5, 2.0, 3.0, 4.0, 4.5]
    assert eg.gradient(x, edge_order=2)[0].tolist() == [2.0, 4.0, 6.0, 8.0, 10.0]  # exact for a parabola
    coords = eg.tensor([0.0, 1.0, 1.5, 3.5, 4.0])
    np.testing.assert_allclose(eg.gradient(x, spacing=[coords])[0].numpy(), [3.0, 23 / 3, 8.7, 15.1, 18.0], rtol=1e-6)
    np.testing.assert_allclose(eg.gradient(x, spacing=[coords], edge_order=2)[0].numpy(),
                               [-5 / 3, 23 / 3, 8.7, 15.1, 20.9], rtol=1e-6)


def test_gradient_along_dims_and_dtypes():
    y = eg.arange(12.0).reshape(3, 4) ** 2
    g0, g1 = eg.gradient(y, spacing=[2.0, 3.0])
    assert g0.tolist() == [[8.0, 12.0, 16.0, 20.0], [16.0, 20.0, 24.0, 28.0], [24.0, 28.0, 32.0, 36.0]]
    np.testing.assert_allclose(g1.numpy()[0], [1 / 3, 2 / 3, 4 / 3, 5 / 3], rtol=1e-6)
    (only,) = eg.gradient(y, dim=1)
    assert only.tolist() == [[1.0, 2.0, 4.0, 5.0], [9.0, 10.0, 12.0, 13.0], [17.0, 18.0, 20.0, 21.0]]
    assert eg.gradient(y, spacing=3.0, dim=(1,))[0].tolist() == eg.gradient(y, spacing=[3.0], dim=1)[0].tolist()
    (gi,) = eg.gradient(eg.tensor([1, 4, 9, 16, 25]))  # integers give float32, as PyTorch
    assert gi.dtype == eg.float32 and gi.tolist() == [3.0, 4.0, 6.0, 8.0, 9.0]
    (gd,) = eg.gradient(eg.tensor([1.0, 2.0], dtype=eg.float64), spacing=2)
    assert gd.dtype == eg.float64 and gd.tolist() == [0.5, 0.5]
    assert eg.gradient(eg.tensor(3.0)) == ()
    assert eg.gradient(eg.zeros(0, 3), dim=1)[0].shape == (0, 3)


@pytest.mark.parametrize("call, error, match", [
    (lambda: eg.gradient(eg.tensor([1.0])), RuntimeError, "at least edge_order\\+1"),
    (lambda: eg.gradient(eg.tensor([1.0, 2.0]), edge_order=2), RuntimeError, "at least edge_order\\+1"),
    (lambda: eg.gradient(eg.ones(5), edge_order=3), RuntimeError, "only supports edge_order=1 and edge_order=2"),
    (lambda: eg.gradient(eg.ones(3, 4), spacing=[1.0, 2.0, 3.0]), ValueError, "since dim argument was not given"),
    (lambda: eg.gradient(eg.ones(3, 4), spacing=[1.0, 2.0], dim=1), ValueError, "spacing argument of length 2"),
    (lambda: eg.gradient(eg.ones(3, 4), dim=2), IndexError, "Dimension out of range"),
    (lambda: eg.gradient(eg.ones(3, 4), dim=(0, 0)), ValueError, "dim 0 appears multiple times"),
    (lambda: eg.gradient(eg.ones(5), spacing=[eg.ones(1, 5)]), ValueError, "one dimension"),
    (lambda: eg.gradient(eg.ones(5), spacing=[eg.ones(2)]), ValueError, "coordinates for dim 0 have 2 values"),
    (lambda: eg.gradient(eg.ones(5), spacing=eg.ones(5)), TypeError, "spacing"),
    (lambda: eg.gradient(eg.ones(3, 4), spacing=[1.0, eg.ones(4)]), TypeError, "all numbers or all 1-D tensors"),
])
def test_gradient_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_gradient_is_twice_differentiable():
    rng = np.random.default_rng(0)
    x = t64(rng.standard_normal((4, 5)), grad=True)
    c = t64(np.cumsum(rng.uniform(0.5, 1.5, 5)), grad=True)
    for order in (1, 2):
        fn = lambda x, c: eg.gradient(x, spacing=[c], dim=1, edge_order=order)[0]  # noqa: E731
        assert gradcheck(fn, (x, c)) and gradgradcheck(fn, (x, c))
        fn2 = lambda x: sum(g.sum() * (i + 1) for i, g in enumerate(eg.gradient(x, spacing=[0.5, 2.0],  # noqa: E731
                                                                                  edge_order=order)))
        assert gradcheck(fn2, (x,)) and gradgradcheck(fn2, (x,))


# --- gradient: PyTorch on random cases ------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("seed", range(40))
def test_gradient_matches_torch(seed):
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(1, 4))
    edge_order = int(rng.integers(1, 3))
    shape = tuple(int(rng.integers(edge_order + 1, 7)) for _ in range(ndim))
    a = rng.standard_normal(shape)
    dims = sorted(rng.choice(ndim, size=int(rng.integers(1, ndim + 1)), replace=False).tolist())
    kind = rng.choice(["none", "scalar", "scalars", "coords"])
    dim_arg = None if len(dims) == ndim and rng.integers(2) else (dims[0] if len(dims) == 1 and rng.integers(2)
                                                                   else tuple(dims))
    use = list(range(ndim)) if dim_arg is None else dims
    if kind == "none":
        sp_eg = sp_t = 1
    elif kind == "scalar":
        sp_eg = sp_t = float(rng.uniform(0.2, 3.0))
    elif kind == "scalars":
        sp_eg = sp_t = [float(rng.uniform(0.2, 3.0)) for _ in use]
    else:
        cs = [np.cumsum(rng.uniform(0.2, 2.0, shape[d])) for d in use]
        sp_eg, sp_t = [t64(c) for c in cs], [torch.from_numpy(c) for c in cs]
    x = t64(a, grad=True)
    tx = torch.tensor(a, requires_grad=True)
    kw_eg = {} if dim_arg is None else {"dim": dim_arg}
    ours = eg.gradient(x, spacing=sp_eg, edge_order=edge_order, **kw_eg)
    theirs = torch.gradient(tx, spacing=sp_t, edge_order=edge_order, **kw_eg)
    assert len(ours) == len(theirs)
    weights = [rng.standard_normal(g.shape) for g in theirs]
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)
    sum((o * t64(w)).sum() for o, w in zip(ours, weights)).backward()
    sum((t * torch.from_numpy(w)).sum() for t, w in zip(theirs, weights)).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
def test_gradient_dtypes_match_torch():
    data = [1, 4, 9, 16, 25]
    cases = [("int32", None), ("int64", "int64"), ("float64", "int64"), ("float32", "float64"), ("float32", None)]
    for xdt, cdt in cases:
        x, tx = eg.tensor(np.array(data, dtype=xdt)), torch.tensor(np.array(data, dtype=xdt))
        if cdt is None:
            o, t = eg.gradient(x, spacing=2)[0], torch.gradient(tx, spacing=2)[0]
        else:
            c = np.array([0, 1, 2, 4, 5], dtype=cdt)
            o, t = eg.gradient(x, spacing=[eg.tensor(c)])[0], torch.gradient(tx, spacing=[torch.tensor(c)])[0]
        assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (xdt, cdt)
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-6)


# --- select_scatter, slice_scatter, diagonal_scatter -----------------------------------------------------

def test_scatters_written_out():
    a = eg.zeros(3, 4)
    assert a.select_scatter(eg.ones(4), 0, 1).tolist() == [[0.0] * 4, [1.0] * 4, [0.0] * 4]
    assert eg.slice_scatter(a, eg.ones(3, 2), 1, 0, None, 2).tolist() == [[1.0, 0.0, 1.0, 0.0]] * 3
    assert eg.diagonal_scatter(a, eg.tensor([1.0, 2.0, 3.0]), 1).tolist() == [
        [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 3.0]]
    assert a.tolist() == [[0.0] * 4] * 3  # out of place
    with pytest.raises(ValueError, match="src size = \\[3\\], slice size = \\[4\\]"):
        a.select_scatter(eg.ones(3), 0, 0)
    with pytest.raises(ValueError, match="slice step must be positive"):
        eg.slice_scatter(a, eg.ones(3, 4), 1, step=0)
    with pytest.raises(TypeError, match="argument 'src' must be Tensor"):
        eg.diagonal_scatter(a, [1.0, 2.0, 3.0])


def test_scatters_are_twice_differentiable():
    rng = np.random.default_rng(1)
    x = t64(rng.standard_normal((3, 4, 5)), grad=True)
    cases = [(lambda x, s: x.select_scatter(s, 1, -2), (3, 5)),
             (lambda x, s: eg.slice_scatter(x, s, 2, 1, 5, 2), (3, 4, 2)),
             (lambda x, s: eg.diagonal_scatter(x, s, -1, 0, 2), (4, 2))]
    for fn, shape in cases:
        s = t64(rng.standard_normal(shape), grad=True)
        f = lambda x, s, fn=fn: fn(x * x, s * s)  # noqa: E731  (non-linear, so the second order is not zero)
        assert gradcheck(f, (x, s)) and gradgradcheck(f, (x, s))


@needs_torch
@pytest.mark.parametrize("seed", range(20))
def test_scatters_match_torch(seed):
    rng = np.random.default_rng(100 + seed)
    shape = tuple(int(v) for v in rng.integers(1, 6, 3))
    a = rng.standard_normal(shape)
    kind = ["select", "slice", "diagonal"][seed % 3]
    if kind == "select":
        dim = int(rng.integers(-3, 3))
        index = int(rng.integers(-shape[dim], shape[dim]))
        args, view = (dim, index), torch.tensor(a).select(dim, index)
    elif kind == "slice":
        dim = int(rng.integers(0, 3))
        start, end = int(rng.integers(0, shape[dim])), int(rng.integers(0, shape[dim] + 2))
        step = int(rng.integers(1, 3))
        args = (dim, start, end, step)
        view = torch.tensor(a).narrow(dim, 0, shape[dim])[(slice(None),) * dim + (slice(start, end, step),)]
    else:
        dim1, dim2 = rng.choice(3, 2, replace=False).tolist()
        offset = int(rng.integers(-2, 3))
        args, view = (offset, dim1, dim2), torch.tensor(a).diagonal(offset, dim1, dim2)
    src = rng.standard_normal(tuple(view.shape))
    x, s = t64(a, True), t64(src, True)
    tx, ts = torch.tensor(a, requires_grad=True), torch.tensor(src, requires_grad=True)
    out = getattr(eg, kind + "_scatter")(x, s, *args)
    tout = getattr(torch, kind + "_scatter")(tx, ts, *args)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    w = rng.standard_normal(shape)
    (out * t64(w)).sum().backward()
    (tout * torch.from_numpy(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(s.grad.numpy(), ts.grad.numpy())


# --- histogramdd --------------------------------------------------------------------------------------------

def test_histogramdd_written_out():
    x = eg.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0]])
    hist, edges = eg.histogramdd(x, bins=[3, 3], weight=eg.tensor([1.0, 2.0, 4.0, 8.0]))
    assert hist.tolist() == [[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [4.0, 0.0, 8.0]]
    np.testing.assert_allclose(edges[0].numpy(), [0.0, 2 / 3, 4 / 3, 2.0], rtol=1e-6)
    r = eg.histogramdd(x, bins=2, range=[0.0, 1.0, 0.0, 2.0], density=True)
    assert r.hist.tolist() == [[0.0, 1.0], [1.0, 0.0]] and r.bin_edges[1].tolist() == [0.0, 1.0, 2.0]
    r = eg.histogramdd(x, bins=[eg.tensor([0.0, 1.0, 2.0]), eg.tensor([0.0, 1.0, 2.0, 3.0])])
    assert r.hist.tolist() == [[0.0, 1.0, 0.0], [2.0, 0.0, 1.0]]
    assert eg.histogramdd(eg.zeros(0, 2), bins=2).bin_edges[0].tolist() == [0.0, 0.5, 1.0]
    assert eg.histogramdd(eg.rand(2, 3, 2), bins=2).hist.sum().item() == 6.0


@pytest.mark.parametrize("call, error, match", [
    (lambda x: eg.histogramdd(x.long(), bins=2), TypeError, "not implemented for 'Long'"),
    (lambda x: eg.histogramdd(x, bins=[2]), ValueError, "size of bins must be equal to the innermost dimension"),
    (lambda x: eg.histogramdd(x, bins=0), ValueError, "bins must be > 0, but got 0 for dimension 0"),
    (lambda x: eg.histogramdd(x, bins=2, range=[0.0, 1.0]), ValueError, "range should have 4 elements, but got 2"),
    (lambda x: eg.histogramdd(x, bins=2, weight=eg.ones(3)), ValueError, "weight with shape \\[3\\]"),
    (lambda x: eg.histogramdd(x, bins=2, range=[1.0, 0.0, 0.0, 1.0]), ValueError, "min should not exceed max"),
    (lambda x: eg.histogramdd(x[0, 0], bins=2), IndexError, "no dimensions"),
])
def test_histogramdd_errors(call, error, match):
    x = eg.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0]])
    with pytest.raises(error, match=match):
        call(x)


@needs_torch
@pytest.mark.parametrize("seed", range(20))
def test_histogramdd_matches_torch(seed):
    rng = np.random.default_rng(200 + seed)
    d = int(rng.integers(1, 4))
    a = rng.standard_normal((int(rng.integers(0, 30)), d)).round(2)  # rounded: values on the edges too
    kw = {}
    choice = seed % 4
    if choice == 0:
        bins = int(rng.integers(1, 6))
    elif choice == 1:
        bins = [int(v) for v in rng.integers(1, 5, d)]
        kw["range"] = [v for _ in range(d) for v in (-1.0, 1.5)]
    else:
        edges = [np.sort(rng.uniform(-2, 2, int(rng.integers(2, 6)))) for _ in range(d)]
        bins = edges
    if rng.integers(2):
        kw["weight"] = rng.uniform(0, 2, a.shape[0])
    kw["density"] = bool(rng.integers(2)) and a.shape[0] > 0
    eg_bins = [eg.tensor(e) for e in bins] if choice >= 2 else bins
    t_bins = [torch.tensor(e) for e in bins] if choice >= 2 else bins
    eg_kw = {k: (eg.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    t_kw = {k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()}
    ours = eg.histogramdd(eg.tensor(a), bins=eg_bins, **eg_kw)
    theirs = torch.histogramdd(torch.tensor(a), bins=t_bins, **t_kw)
    np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=1e-12, atol=1e-12, equal_nan=True)
    for e, te in zip(ours.bin_edges, theirs.bin_edges):
        np.testing.assert_allclose(e.numpy(), te.numpy(), rtol=1e-12, atol=1e-15)


def test_an_empty_view_written_in_place_joins_the_base():
    """As PyTorch: a copy_ into an empty view still records, so the base requires grad and the source's
    gradient is zeros, not None (what diagonal_scatter with an off-matrix diagonal relies on)."""
    b = eg.ones(3, dtype=eg.float64, requires_grad=True)
    a = eg.zeros(3, dtype=eg.float64).clone()
    a[:0].copy_(b[1:1])
    assert a.requires_grad
    a.sum().backward()
    assert b.grad.tolist() == [0.0, 0.0, 0.0]
    x = eg.zeros(2, 3, dtype=eg.float64, requires_grad=True)
    s = eg.zeros(0, dtype=eg.float64, requires_grad=True)
    eg.diagonal_scatter(x, s, 5).sum().backward()
    assert s.grad is not None and s.grad.shape == (0,) and x.grad.tolist() == [[1.0] * 3] * 2
