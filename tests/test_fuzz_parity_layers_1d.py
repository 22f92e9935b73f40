"""Regressions found by differential fuzzing of the 1-D layers against PyTorch 2.13 (Embedding,
EmbeddingBag, Conv1d, MaxPool1d/AvgPool1d, AdaptiveAvg/MaxPool1d, AdaptiveMaxPool2d, Dropout1d) on random
configurations. Each test states the case, checks literal values or exception types (so it checks something
without torch) and compares with PyTorch where it is installed."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
import eigengrad.nn.functional as F

REASON = "PyTorch is needed for the parity half of this check (pip install torch)"


def _torch():
    return pytest.importorskip("torch", reason=REASON)


def _optional_torch():
    """torch, or None without it: the eigengrad half of a check (literal values, exception types) runs anyway."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def _raises_like_torch(call, torch_call, match):
    """eigengrad raises the exception type PyTorch raises (an eigengrad error may be a subclass of it and of
    Python's ValueError/TypeError), with ``match`` in its message; never a NumPy error or a result."""
    with pytest.raises(RuntimeError, match=match):
        call()
    torch = _optional_torch() if torch_call is not None else None
    if torch is not None:
        with pytest.raises(RuntimeError):
            torch_call(torch)


# --- Conv1d ---------------------------------------------------------------------------------------------

def test_conv1d_kernel_larger_than_padded_input_is_pytorchs_runtime_error():
    # Conv1d(2, 3, 5, padding=1, dilation=2) on L = 4: the dilated kernel spans 9 > 6 padded positions.
    # PyTorch: RuntimeError "Calculated padded input size per channel: (6). Kernel size: (9). ..."; eigengrad
    # gave the kernels' plain ValueError (not caught by `except RuntimeError`).
    x = np.ones((1, 2, 4))
    m = nn.Conv1d(2, 3, 5, padding=1, dilation=2, dtype=eg.float64)
    with pytest.raises(ValueError):  # still a ValueError too (eigengrad's convention)
        m(eg.tensor(x))
    _raises_like_torch(lambda: m(eg.tensor(x)),
                       lambda torch: torch.nn.Conv1d(2, 3, 5, padding=1, dilation=2)(torch.ones(1, 2, 4)),
                       r"Calculated padded input size per channel: \(6\)\. Kernel size: \(9\)")
    # the same through F.conv1d on an empty length, and with a non-zeros padding mode (padded first)
    w = eg.tensor(np.ones((3, 2, 3)))
    _raises_like_torch(lambda: F.conv1d(eg.tensor(np.ones((2, 2, 0))), w, padding=1),
                       lambda torch: torch.nn.functional.conv1d(torch.ones(2, 2, 0), torch.ones(3, 2, 3), padding=1),
                       r"padded input size per channel: \(2\)\. Kernel size: \(3\)")
    r = nn.Conv1d(2, 1, 7, padding=1, padding_mode="reflect", dtype=eg.float64)
    _raises_like_torch(lambda: r(eg.tensor(np.ones((2, 2, 3)) * np.arange(3.0))),
                       lambda torch: torch.nn.Conv1d(2, 1, 7, padding=1, padding_mode="reflect")(torch.ones(2, 2, 3)),
                       r"padded input size per channel: \(5\)\. Kernel size: \(7\)")
    # the boundary still computes: a kernel exactly as long as the padded input gives one output
    b = nn.Conv1d(1, 1, 5, padding=1, bias=False, dtype=eg.float64)
    b.load_state_dict({"weight": eg.tensor(np.arange(1.0, 6.0).reshape(1, 1, 5))})
    y = b(eg.tensor(np.array([[[1.0, 2.0, 3.0]]])))
    np.testing.assert_array_equal(y.detach().numpy(), [[[0 * 1 + 1 * 2 + 2 * 3 + 3 * 4 + 0 * 5]]])


def test_conv1d_replicate_padding_of_an_empty_length_is_an_argument_error():
    # Conv1d(4, 6, 1, padding=1, padding_mode='replicate') on (2, 4, 0): PyTorch raises RuntimeError ("Expected
    # 2D or 3D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions"); eigengrad leaked
    # NumPy's "can't extend empty axis 0 using modes other than 'constant' or 'empty'".
    m = nn.Conv1d(4, 6, 1, padding=1, padding_mode="replicate", dtype=eg.float64)
    _raises_like_torch(lambda: m(eg.tensor(np.ones((2, 4, 0)))),
                       lambda torch: torch.nn.Conv1d(4, 6, 1, padding=1, padding_mode="replicate")(torch.ones(2, 4, 0)),
                       "non-zero dimensions")
    c = nn.Conv2d(1, 1, 1, padding=1, padding_mode="replicate", dtype=eg.float64)  # the shared 2-D padding
    _raises_like_torch(lambda: c(eg.tensor(np.ones((1, 1, 0, 3)))), None, "non-zero dimensions")


def test_conv1d_dtype_mismatches_are_runtime_errors():
    # F.conv1d(float64 input, float32 weight) and Conv1d(float64)(int64 input): PyTorch raises RuntimeError
    # ("expected scalar type Double but found Float", "Input type (long int) and bias type (double) ..."),
    # eigengrad a plain TypeError; now ArgumentTypeError (a RuntimeError and a TypeError).
    x = eg.tensor(np.ones((1, 2, 5)))
    for call in (lambda: F.conv1d(x, eg.tensor(np.ones((3, 2, 3), np.float32))),
                 lambda: F.conv1d(x, eg.tensor(np.ones((3, 2, 3))), eg.tensor(np.ones(3, np.float32))),
                 lambda: nn.Conv1d(2, 3, 3, dtype=eg.float64)(eg.tensor(np.ones((1, 2, 5), np.int64)))):
        with pytest.raises(RuntimeError, match="dtype"):
            call()
        with pytest.raises(TypeError):
            call()
    torch = _optional_torch()
    if torch is None:
        return
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv1d(torch.ones(1, 2, 5, dtype=torch.float64), torch.ones(3, 2, 3))
    with pytest.raises(RuntimeError):
        torch.nn.Conv1d(2, 3, 3, dtype=torch.float64)(torch.ones(1, 2, 5, dtype=torch.int64))


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv1d_repr_prints_a_padding_string_unquoted(padding):
    # PyTorch: Conv1d(3, 4, kernel_size=(3,), stride=(1,), padding=same); eigengrad printed padding='same'.
    m = nn.Conv1d(3, 4, 3, padding=padding, padding_mode="reflect")
    expected = f"Conv1d(3, 4, kernel_size=(3,), stride=(1,), padding={padding}, padding_mode=reflect)"
    assert repr(m) == expected
    torch = _optional_torch()
    if torch is None:
        return
    assert repr(torch.nn.Conv1d(3, 4, 3, padding=padding, padding_mode="reflect")) == expected


# --- MaxPool1d / AvgPool1d ----------------------------------------------------------------------------

@pytest.mark.parametrize("case", [
    # (pool, kernel_size, stride, padding, dilation, ceil_mode, L): no output position
    ("max", 3, None, 0, 1, False, 2), ("max", 5, 3, 2, 3, False, 5), ("max", 3, 1, 0, 2, False, 2),
    ("avg", 3, 1, 0, 1, False, 1), ("avg", 4, 3, 0, 1, True, 1), ("avg", 5, None, 0, 1, False, 2),
])
def test_pool1d_without_an_output_position_is_pytorchs_runtime_error(case):
    # e.g. MaxPool1d(3) on L = 2: PyTorch raises RuntimeError ("max_pool1d() Invalid computed output size: 0"
    # or "Given input size: (3x1x2). Calculated output size: (3x1x0). Output size is too small"); eigengrad
    # gave the kernels' plain ValueError.
    pool, k, s, p, d, ceil, length = case
    x = np.ones((2, 3, length))
    if pool == "max":
        call = lambda lib, t: lib.nn.MaxPool1d(k, s, p, d, ceil_mode=ceil)(t)
    else:
        call = lambda lib, t: lib.nn.AvgPool1d(k, s, p, ceil_mode=ceil)(t)
    _raises_like_torch(lambda: call(eg, eg.tensor(x)), lambda torch: call(torch, torch.tensor(x)),
                       "Output size is too small")


def test_pool1d_output_lengths_at_the_boundary_still_compute():
    # the check must not refuse what PyTorch computes: ceil_mode's extra window, a window of the whole padded
    # input, a dilated window that just fits
    x = np.arange(1.0, 6.0).reshape(1, 1, 5)
    y = F.max_pool1d(eg.tensor(x), 2, 2, ceil_mode=True)
    np.testing.assert_array_equal(y.numpy(), [[[2.0, 4.0, 5.0]]])
    y = F.avg_pool1d(eg.tensor(x), 3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(y.numpy(), [[[1.5, 3.0, 4.5]]], rtol=1e-15)
    y = F.max_pool1d(eg.tensor(x), 3, 1, 0, 2)
    np.testing.assert_array_equal(y.numpy(), [[[5.0]]])
    torch = _optional_torch()
    if torch is None:
        return
    t = torch.tensor(x)
    np.testing.assert_array_equal(torch.nn.functional.max_pool1d(t, 2, 2, ceil_mode=True).numpy(), [[[2.0, 4.0, 5.0]]])
    np.testing.assert_allclose(torch.nn.functional.avg_pool1d(t, 3, 2, 1, ceil_mode=True,
                                                              count_include_pad=False).numpy(), [[[1.5, 3.0, 4.5]]])
    np.testing.assert_array_equal(torch.nn.functional.max_pool1d(t, 3, 1, 0, 2).numpy(), [[[5.0]]])


@pytest.mark.parametrize("shape", [(2, 0, 5), (3, 0), (0, 5), (2, 3, 0)])
@pytest.mark.parametrize("pool", ["max", "max_indices", "avg"])
def test_pool1d_of_no_channels_or_no_length_is_an_error(pool, shape):
    # MaxPool1d(1) / AvgPool1d(1) on (2, 0, 5): PyTorch raises RuntimeError ("Expected 2D or 3D (batch mode)
    # tensor with optional 0 dim batch size"); eigengrad returned an empty tensor (no channels) or the
    # kernels' ValueError (no length). Only the batch may be empty.
    call = {"max": lambda lib, t: lib.nn.functional.max_pool1d(t, 1),
            "max_indices": lambda lib, t: lib.nn.functional.max_pool1d(t, 1, return_indices=True),
            "avg": lambda lib, t: lib.nn.functional.avg_pool1d(t, 1)}[pool]
    x = np.ones(shape)
    _raises_like_torch(lambda: call(eg, eg.tensor(x)), lambda torch: call(torch, torch.tensor(x)),
                       "optional 0 dim batch size")
    out = call(eg, eg.tensor(np.ones((0, 3, 5))))  # an empty batch is fine
    assert tuple((out[0] if isinstance(out, tuple) else out).shape) == (0, 3, 5)


# --- AdaptiveAvgPool1d / AdaptiveMaxPool1d / AdaptiveMaxPool2d ---------------------------------------------

@pytest.mark.parametrize("case", [
    ("max1", (2, 3, 0), 3), ("max1", (3, 0), 2), ("max1", (2, 0, 5), 2), ("max1", (0, 0, 5), 2),
    ("avg1", (2, 3, 0), 3), ("avg1", (3, 0), 2),
    ("max2", (2, 3, 0, 6), 2), ("max2", (2, 0, 5, 6), 2), ("max2", (3, 4, 0), 2), ("max2", (3, 0, 4), (None, 2)),
])
def test_adaptive_pool_of_an_empty_window_dim_is_an_error_not_garbage(case):
    # AdaptiveMaxPool1d(3, return_indices=True) on (2, 3, 0): PyTorch raises RuntimeError ("Expected input to
    # have non-zero size for non-batch dimensions"); eigengrad returned zeros and uninitialised int64 memory
    # as the indices (AdaptiveAvgPool1d: zeros; AdaptiveMaxPool2d likewise for an empty plane or no channels).
    kind, shape, size = case
    call = {"max1": lambda lib, t: lib.nn.functional.adaptive_max_pool1d(t, size, True),
            "avg1": lambda lib, t: lib.nn.functional.adaptive_avg_pool1d(t, size),
            "max2": lambda lib, t: lib.nn.functional.adaptive_max_pool2d(t, size, True)}[kind]
    x = np.ones(shape)
    _raises_like_torch(lambda: call(eg, eg.tensor(x)), lambda torch: call(torch, torch.tensor(x)),
                       "non-zero size for non-batch dimensions")


def test_adaptive_pools_keep_what_pytorch_allows_when_empty():
    # an empty batch (and, for the average, no channels; for the max of an unbatched input, no channels, as
    # PyTorch takes dim 0 as the batch) gives an empty result of the right shape
    for out, shape in [(F.adaptive_avg_pool1d(eg.tensor(np.ones((2, 0, 5))), 2), (2, 0, 2)),
                       (F.adaptive_avg_pool1d(eg.tensor(np.ones((0, 5))), 2), (0, 2)),
                       (F.adaptive_max_pool1d(eg.tensor(np.ones((0, 3, 5))), 2, True)[1], (0, 3, 2)),
                       (F.adaptive_max_pool1d(eg.tensor(np.ones((0, 5))), 2, True)[1], (0, 2)),
                       (F.adaptive_max_pool2d(eg.tensor(np.ones((0, 5, 4))), 2, True)[1], (0, 2, 2)),
                       (F.adaptive_max_pool2d(eg.tensor(np.ones((0, 3, 5, 4))), (None, 3), True)[0], (0, 3, 5, 3))]:
        assert tuple(out.shape) == shape
    x = np.array([[[3.0, -1.0, 4.0, 1.0, -5.0]]])
    y, i = F.adaptive_max_pool1d(eg.tensor(x), 3, True)
    np.testing.assert_array_equal(y.numpy(), [[[3.0, 4.0, 1.0]]])
    np.testing.assert_array_equal(i.numpy(), [[[0, 2, 3]]])
    torch = _optional_torch()
    if torch is None:
        return
    ty, ti = torch.nn.functional.adaptive_max_pool1d(torch.tensor(x), 3, True)
    np.testing.assert_array_equal(ty.numpy(), y.numpy())
    np.testing.assert_array_equal(ti.numpy(), i.numpy())
    assert tuple(torch.nn.functional.adaptive_avg_pool1d(torch.ones(2, 0, 5), 2).shape) == (2, 0, 2)
    assert tuple(torch.nn.functional.adaptive_max_pool2d(torch.ones(0, 5, 4), 2, True)[1].shape) == (0, 2, 2)


@pytest.mark.parametrize("case", [
    ("MaxPool1d", (2, 2), (2, 3, 9)), ("AdaptiveAvgPool1d", (3, 2), (2, 3, 9)),
    ("AdaptiveMaxPool1d", (3, 2), (2, 3, 9)), ("AdaptiveMaxPool2d", (1, 2, 3), (2, 3, 5, 6)),
    ("AdaptiveMaxPool2d", (2,), (2, 3, 5, 6)),
])
def test_a_size_tuple_of_the_wrong_length_is_a_runtime_error(case):
    # MaxPool1d((2, 2)) / AdaptiveMaxPool2d((1, 2, 3)): PyTorch raises RuntimeError ("kernel_size must be an int,
    # list of ints or tuple of ints of size 1 but got size 2"); eigengrad a plain TypeError (now
    # ArgumentTypeError, both)
    cls, size, shape = case
    x = np.ones(shape)
    with pytest.raises(TypeError):
        getattr(nn, cls)(size)(eg.tensor(x))
    _raises_like_torch(lambda: getattr(nn, cls)(size)(eg.tensor(x)),
                       lambda torch: getattr(torch.nn, cls)(size)(torch.tensor(x)), "expected an int")


# --- Embedding / EmbeddingBag ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.int16, np.uint8, np.bool_])
def test_embedding_indices_of_another_dtype_are_a_runtime_error(dtype):
    # F.embedding(float64 or int16 indices, weight): PyTorch raises RuntimeError ("Expected tensor for argument #1
    # 'indices' to have one of the following scalar types: Long, Int"); eigengrad a plain TypeError
    w = np.arange(15.0).reshape(5, 3)
    idx = np.array([1, 0]).astype(dtype)
    with pytest.raises(TypeError, match="expected int64 or int32 indices"):
        F.embedding(eg.tensor(idx), eg.tensor(w))
    _raises_like_torch(lambda: F.embedding(eg.tensor(idx), eg.tensor(w)),
                       lambda torch: torch.nn.functional.embedding(torch.tensor(idx), torch.tensor(w)),
                       "expected int64 or int32 indices")
    _raises_like_torch(lambda: F.embedding_bag(eg.tensor(idx), eg.tensor(w), eg.tensor(np.array([0]))), None,
                       "expected int64 or int32 indices")
    # int32 indices work, as in PyTorch
    y = F.embedding(eg.tensor(np.array([4, 1], np.int32)), eg.tensor(w))
    np.testing.assert_array_equal(y.numpy(), [[12.0, 13.0, 14.0], [3.0, 4.0, 5.0]])


def test_embedding_bag_include_last_offset_needs_an_offset():
    # F.embedding_bag([1, 2], w, offsets=[], include_last_offset=True): PyTorch raises RuntimeError
    # ("include_last_offset: number of offset should be at least 1"); eigengrad returned a (0, 3) result
    w = np.arange(15.0).reshape(5, 3)
    idx, off = np.array([1, 2]), np.array([], np.int64)
    _raises_like_torch(lambda: F.embedding_bag(eg.tensor(idx), eg.tensor(w), eg.tensor(off), include_last_offset=True),
                       lambda torch: torch.nn.functional.embedding_bag(torch.tensor(idx), torch.tensor(w),
                                                                       torch.tensor(off), include_last_offset=True),
                       "number of offset should be at least 1")
    # one offset with include_last_offset: no bag (PyTorch 2.13 on CPU crashes here, so no comparison)
    y = F.embedding_bag(eg.tensor(idx), eg.tensor(w), eg.tensor(np.array([0])), include_last_offset=True)
    assert tuple(y.shape) == (0, 3)
    # offsets [0, 2] ending the one bag: its mean
    y = F.embedding_bag(eg.tensor(idx), eg.tensor(w), eg.tensor(np.array([0, 2])), include_last_offset=True)
    np.testing.assert_array_equal(y.numpy(), [[4.5, 5.5, 6.5]])


# --- random parity sweep (the fuzz's configurations that now agree, kept small) -------------------------

def test_random_1d_layers_match_torch_to_1e10():
    torch = _torch()
    r = np.random.default_rng(7)

    def rel(a, b):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape
        fin = np.isfinite(b)
        np.testing.assert_array_equal(a[~fin], b[~fin])
        scale = max(np.abs(b[fin]).max(initial=0.0), 1e-12)
        assert np.abs(a[fin] - b[fin]).max(initial=0.0) <= 1e-10 * scale

    for it in range(40):
        length = int(r.choice([1, 2, 3, 5, 7, 11, 13]))
        shape = (int(r.choice([1, 2])), 3, length) if it % 3 else (3, length)
        x0 = r.standard_normal(shape)
        if it % 4 == 0:
            x0 = np.round(x0)  # ties
        k, s, p, d = int(r.integers(1, 5)), int(r.integers(1, 4)), 0, int(r.integers(1, 3))
        p = int(r.integers(0, k // 2 + 1))
        d = 1 if p else d  # (a dilated window can lie wholly in the padding: PyTorch then gives an index past
        ceil = bool(it % 2)  # the input and writes its gradient there; eigengrad gives -1 and no gradient)
        size = int(r.choice([1, 2, 5, 2 * length + 1]))
        makers = [lambda lib: lib.nn.MaxPool1d(k, s, p, d, return_indices=True, ceil_mode=ceil),
                  lambda lib: lib.nn.AvgPool1d(k, s, p, ceil_mode=ceil, count_include_pad=bool(it % 3)),
                  lambda lib: lib.nn.AdaptiveMaxPool1d(size, return_indices=True),
                  lambda lib: lib.nn.AdaptiveAvgPool1d(length + 2)]
        span = length + 2 * p - d * (k - 1) - 1
        for mk in makers[(0 if span >= 0 else 2):]:
            outs = []
            for lib in (eg, torch):
                x = lib.tensor(x0.copy())
                x.requires_grad_(True)
                out = mk(lib)(x)
                y = out[0] if isinstance(out, tuple) else out
                y.backward(lib.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape))))
                outs.append((out, x.grad))
            (eo, eg_), (to, tg) = outs
            if isinstance(to, tuple):
                np.testing.assert_array_equal(eo[1].numpy(), to[1].numpy())
                eo, to = eo[0], to[0]
            rel(eo.detach().numpy(), to.detach().numpy())
            rel(eg_.numpy(), tg.numpy())


@pytest.mark.parametrize("max_norm", [None, 1.0])
@pytest.mark.parametrize("bad", [5, -1])
def test_embedding_bag_index_out_of_range_is_also_a_runtime_error(bad, max_norm):
    # F.embedding_bag([1, 5], w (5 rows), offsets=[0]): PyTorch raises RuntimeError ("embedding_bag: Expected
    # idx >= 0 && idx < num_embeddings but found idx to be 5"); eigengrad an IndexError only (F.embedding's
    # type, kept: the error is both)
    w = np.arange(15.0).reshape(5, 3)
    idx = np.array([1, bad])
    with pytest.raises(IndexError, match=f"index {bad} at position 1 is out of range"):
        F.embedding_bag(eg.tensor(idx), eg.tensor(w.copy()), eg.tensor(np.array([0])), max_norm=max_norm)
    _raises_like_torch(lambda: F.embedding_bag(eg.tensor(idx), eg.tensor(w.copy()), eg.tensor(np.array([0])),
                                               max_norm=max_norm),
                       lambda torch: torch.nn.functional.embedding_bag(torch.tensor(idx), torch.tensor(w),
                                                                       torch.tensor([0])),
                       "embedding_bag: indices: index")
    with pytest.raises(IndexError):  # F.embedding keeps PyTorch's IndexError
        F.embedding(eg.tensor(idx), eg.tensor(w))
