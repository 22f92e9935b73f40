"""Regressions found by differential fuzzing of F.scaled_dot_product_attention, nn.MultiheadAttention and the
Transformer modules against PyTorch 2.13 (float64, random configurations). Each test states the case, asserts
eigengrad's values or exception types directly (so it checks something without PyTorch) and, when torch is
importable, that PyTorch gives the same values or raises the same exception type."""
import warnings

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn

try:
    import torch
except ImportError:  # the literal checks still run
    torch = None


def eg_sdpa(*arrays, **kwargs):
    return F.scaled_dot_product_attention(*(None if a is None else eg.tensor(a) for a in arrays), **kwargs)


def torch_sdpa(*arrays, **kwargs):
    return torch.nn.functional.scaled_dot_product_attention(*(None if a is None else torch.tensor(a) for a in arrays),
                                                            **kwargs)


def sdpa_both(*arrays, **kwargs):
    """eigengrad's result (Tensor) and PyTorch's (NumPy, or None without torch) for the same arrays."""
    return eg_sdpa(*arrays, **kwargs), None if torch is None else torch_sdpa(*arrays, **kwargs).numpy()


def raises_like_torch(exc_types, e_call, t_call):
    """eigengrad raises every type in exc_types (a tuple: PyTorch's type and eigengrad's own), and PyTorch
    raises the first one."""
    with pytest.raises(exc_types[0]) as info:
        e_call()
    for cls in exc_types[1:]:
        assert isinstance(info.value, cls), f"{type(info.value).__mro__} is not a {cls}"
    if torch is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(exc_types[0]):
                t_call()
    return info.value


# --- scaled_dot_product_attention ---------------------------------------------------------------------

def test_sdpa_grouped_query_heads_of_key_and_value_may_differ():
    # enable_gqa with Hq = 6, Hk = 2, Hv = 3: PyTorch repeats key and value heads separately (query head h
    # reads key head h // 3 and value head h // 2); eigengrad required Hk == Hv and raised. With q = 0 the
    # weights are uniform, so out[..., h, i, :] = mean over keys of v[..., h // 2, :, :].
    rng = np.random.default_rng(0)
    q = np.zeros((2, 6, 3, 4))
    k = rng.standard_normal((2, 2, 5, 4))
    v = rng.standard_normal((2, 3, 5, 7))
    e, t = sdpa_both(q, k, v, enable_gqa=True)
    expected = np.repeat(v.mean(axis=2, keepdims=True), 2, axis=1).repeat(3, axis=2)
    np.testing.assert_allclose(e.numpy(), expected, rtol=1e-12, atol=1e-12)
    if t is not None:
        np.testing.assert_allclose(e.numpy(), t, rtol=1e-10, atol=1e-12)


def test_sdpa_grouped_query_unequal_heads_gradients_match_torch():
    # the same case with random q (and a broadcast batch dim of key): outputs and all gradients agree
    pytest.importorskip("torch", reason="compares gradients with PyTorch")
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in ((2, 6, 3, 4), (1, 2, 5, 4), (2, 3, 5, 7))]
    g = rng.standard_normal((2, 6, 3, 7))
    ets = [eg.tensor(a, requires_grad=True) for a in arrays]
    tts = [torch.tensor(a, requires_grad=True) for a in arrays]
    eo = F.scaled_dot_product_attention(*ets, enable_gqa=True)
    to = torch.nn.functional.scaled_dot_product_attention(*tts, enable_gqa=True)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12)
    eo.backward(eg.tensor(g))
    to.backward(torch.tensor(g))
    for a, b in zip(ets, tts):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sdpa_grouped_query_heads_must_divide():
    # Hk = 2 and Hv = 4 with Hq = 6: 4 does not divide 6 (RuntimeError in PyTorch)
    rng = np.random.default_rng(2)
    q, k, v = rng.standard_normal((1, 6, 3, 4)), rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((1, 4, 5, 4))
    raises_like_torch((RuntimeError, ValueError), lambda: eg_sdpa(q, k, v, enable_gqa=True),
                      lambda: torch_sdpa(q, k, v, enable_gqa=True))


def test_sdpa_grouped_query_on_2d_inputs_raises_index_error():
    # enable_gqa reads dim -3: PyTorch raises IndexError for 2-D inputs (eigengrad raised ValueError only)
    q = np.zeros((3, 4))
    raises_like_torch((IndexError, ValueError), lambda: eg_sdpa(q, q, q, enable_gqa=True),
                      lambda: torch_sdpa(q, q, q, enable_gqa=True))


def test_sdpa_dtype_errors_are_runtime_errors():
    # PyTorch raises RuntimeError for an int mask, mismatched q/k/v dtypes and int inputs; eigengrad raised
    # a plain TypeError (not caught by `except RuntimeError`); now both RuntimeError and TypeError
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 6))
    int_mask = np.ones((3, 5), np.int64)
    raises_like_torch((RuntimeError, TypeError), lambda: eg_sdpa(q, k, v, int_mask),
                      lambda: torch_sdpa(q, k, v, int_mask))
    raises_like_torch((RuntimeError, TypeError), lambda: eg_sdpa(q, k.astype(np.float32), v),
                      lambda: torch_sdpa(q, k.astype(np.float32), v))
    ints = [np.ones(a.shape, np.int64) for a in (q, k, v)]
    raises_like_torch((RuntimeError, TypeError), lambda: eg_sdpa(*ints), lambda: torch_sdpa(*ints))


def test_sdpa_float64_mask_with_float32_query_raises():
    # PyTorch's rule: the mask is bool, float32 or query's dtype. A float64 mask on float32 q raised in
    # PyTorch and was silently cast by eigengrad; a float32 mask on float64 q is fine in both
    q, k = np.zeros((1, 2, 3), np.float32), np.zeros((1, 3, 3), np.float32)
    v = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
    mask64 = np.array([[0.0, -np.inf, -np.inf], [-np.inf, -np.inf, 0.0]])
    err = raises_like_torch((RuntimeError, TypeError), lambda: eg_sdpa(q, k, v, mask64),
                            lambda: torch_sdpa(q, k, v, mask64))
    assert "attn_mask" in str(err)
    e, t = sdpa_both(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64), mask64.astype(np.float32))
    assert e.dtype == np.float64
    np.testing.assert_array_equal(e.numpy(), [[[0.0, 1.0, 2.0], [6.0, 7.0, 8.0]]])  # the one key left per row
    if t is not None:
        np.testing.assert_array_equal(e.numpy(), t)


@pytest.mark.parametrize("name, value", [("is_causal", 1), ("is_causal", None), ("is_causal", "yes"),
                                         ("enable_gqa", 1), ("scale", "a"), ("dropout_p", "x")])
def test_sdpa_argument_types(name, value):
    # PyTorch's parser raises TypeError for a non-bool is_causal/enable_gqa and a non-number scale/dropout_p;
    # eigengrad took is_causal=1 or "yes" as True (and None as False) and raised ValueError for the others
    q = np.zeros((1, 2, 3, 4))
    raises_like_torch((TypeError,), lambda: eg_sdpa(q, q, q, **{name: value}),
                      lambda: torch_sdpa(q, q, q, **{name: value}))


def test_sdpa_mask_with_no_keys_does_not_crash():
    # S = 0 with a broadcast mask and two batch dims: eigengrad crashed inside NumPy (as_strided got a None
    # stride for the empty broadcast mask); PyTorch gives zeros
    q = np.ones((3, 3, 2, 9, 1))
    k, v = np.ones((3, 2, 0, 1)), np.ones((3, 2, 0, 4))
    e, t = sdpa_both(q, k, v, np.zeros((3, 1, 1, 1)))
    assert e.shape == (3, 3, 2, 9, 4) and not np.any(e.numpy())
    if t is not None:
        np.testing.assert_array_equal(e.numpy(), t)


# --- MultiheadAttention -------------------------------------------------------------------------------

def mha_pair(embed_dim=6, num_heads=3, **kwargs):
    """An eigengrad MultiheadAttention and (with torch) PyTorch's with the same parameters, in eval mode."""
    e = nn.MultiheadAttention(embed_dim, num_heads, dtype=np.float64, **kwargs).eval()
    if torch is None:
        return e, None
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(embed_dim, num_heads, dtype=torch.float64, **kwargs).eval()
    e.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return e, t


def call(module, lib, *arrays, **kwargs):
    wrap = eg.tensor if lib == "eg" else torch.tensor
    kw = {k: (wrap(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    return module(*(wrap(a) for a in arrays), **kw)


@pytest.mark.parametrize("case", ["query_4d", "key_rank", "kpm_rank", "kpm_shape", "mask_4d", "unbatched_mask_3d",
                                  "kv_shape"])
def test_mha_shape_errors_are_assertion_errors(case):
    # PyTorch's multi_head_attention_forward checks these with AssertionError; eigengrad raised only
    # ValueError/RuntimeError (ArgumentError), so `except AssertionError` missed them
    rng = np.random.default_rng(4)
    e, t = mha_pair()
    x, y = rng.standard_normal((4, 2, 6)), rng.standard_normal((5, 2, 6))
    args, kw = {
        "query_4d": ((x[None], x[None], x[None]), {}),
        "key_rank": ((x, y[:, 0], y[:, 0]), {}),
        "kpm_rank": ((x, y, y), dict(key_padding_mask=np.zeros((2, 5, 1), bool))),
        "kpm_shape": ((x, y, y), dict(key_padding_mask=np.zeros((2, 6), bool))),
        "mask_4d": ((x, y, y), dict(attn_mask=np.zeros((1, 1, 4, 5)))),
        "unbatched_mask_3d": ((x[:, 0], y[:, 0], y[:, 0]), dict(attn_mask=np.zeros((2, 4, 5)))),
        "kv_shape": ((x, y, y[:4]), {}),
    }[case]
    err = raises_like_torch((AssertionError, ValueError), lambda: call(e, "eg", *args, **kw),
                            lambda: call(t, "torch", *args, **kw))
    assert isinstance(err, RuntimeError)  # still eigengrad's ArgumentError


def test_mha_mask_dtype_errors_are_assertion_errors():
    # an int mask: PyTorch's _canonical_mask raises AssertionError (eigengrad: TypeError only). The module
    # checks the mask before anything else, so it raises even when the is_causal hint would drop the mask
    # (eigengrad returned a result there)
    rng = np.random.default_rng(5)
    e, t = mha_pair()
    x = rng.standard_normal((3, 2, 6))
    for kw in (dict(attn_mask=np.zeros((3, 3), np.int64)), dict(key_padding_mask=np.zeros((2, 3), np.int64)),
               dict(attn_mask=np.triu(np.ones((3, 3), np.int64), 1), is_causal=True, need_weights=False)):
        raises_like_torch((AssertionError, TypeError), lambda: call(e, "eg", x, x, x, **kw),
                          lambda: call(t, "torch", x, x, x, **kw))


def test_mha_constructor_and_functional_assertions():
    # embed_dim not divisible by num_heads, a wrong embed_dim_to_check, bias_k without bias_v, a missing
    # projection weight, a static_k of the wrong head size: AssertionError in PyTorch
    raises_like_torch((AssertionError, ValueError), lambda: nn.MultiheadAttention(6, 4),
                      lambda: torch.nn.MultiheadAttention(6, 4))
    rng = np.random.default_rng(6)
    e, h = 6, 3
    arrays = dict(query=rng.standard_normal((4, 2, e)), key=rng.standard_normal((5, 2, e)),
                  value=rng.standard_normal((5, 2, e)), in_proj_weight=rng.standard_normal((3 * e, e)),
                  in_proj_bias=rng.standard_normal(3 * e), out_proj_weight=rng.standard_normal((e, e)),
                  out_proj_bias=rng.standard_normal(e), bias_k=rng.standard_normal((1, 1, e)),
                  static_k=rng.standard_normal((2 * h, 5, 1)), static_v=rng.standard_normal((2 * h, 5, 2)))

    def fn(lib, **over):
        wrap = eg.tensor if lib == "eg" else torch.tensor
        f = F.multi_head_attention_forward if lib == "eg" else torch.nn.functional.multi_head_attention_forward
        a = {k: wrap(v) for k, v in arrays.items()}
        kw = dict(query=a["query"], key=a["key"], value=a["value"], embed_dim_to_check=e, num_heads=h,
                  in_proj_weight=a["in_proj_weight"], in_proj_bias=a["in_proj_bias"], bias_k=None, bias_v=None,
                  add_zero_attn=False, dropout_p=0.0, out_proj_weight=a["out_proj_weight"],
                  out_proj_bias=a["out_proj_bias"], training=False)
        kw.update({k: (a[v] if isinstance(v, str) else v) for k, v in over.items()})
        return f(**kw)

    for over in (dict(embed_dim_to_check=5), dict(bias_k="bias_k"), dict(in_proj_weight=None),
                 dict(static_k="static_k", static_v="static_v")):
        raises_like_torch((AssertionError, ValueError), lambda: fn("eg", **over), lambda: fn("torch", **over))


def test_mha_need_weights_with_float32_masks_on_float64_query():
    # PyTorch keeps a float mask's dtype: with need_weights=True baddbmm(mask, q, k^T) raises RuntimeError for
    # a float32 mask on float64 query, while need_weights=False (SDPA takes float32 masks) works. eigengrad
    # cast the mask and returned weights
    rng = np.random.default_rng(7)
    e, t = mha_pair()
    x = rng.standard_normal((3, 2, 6))
    kpm = np.zeros((2, 3), np.float32)
    kpm[:, 1] = -np.inf
    raises_like_torch((RuntimeError, TypeError), lambda: call(e, "eg", x, x, x, key_padding_mask=kpm),
                      lambda: call(t, "torch", x, x, x, key_padding_mask=kpm))
    out, w = call(e, "eg", x, x, x, key_padding_mask=kpm, need_weights=False)
    assert w is None and out.dtype == np.float64
    ref, _ = call(e, "eg", x, x, x, key_padding_mask=kpm.astype(np.float64), need_weights=True)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    if t is not None:
        t_out, _ = call(t, "torch", x, x, x, key_padding_mask=kpm, need_weights=False)
        np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_mha_is_causal_none():
    # is_causal=None reaches PyTorch's SDPA (need_weights=False, no padding mask), whose parser raises
    # TypeError; with a key padding mask the hint is reset to False and the call works. eigengrad took None
    # as False in both
    rng = np.random.default_rng(8)
    e, t = mha_pair()
    x = rng.standard_normal((3, 2, 6))
    mask = np.triu(np.ones((3, 3), bool), 1)
    raises_like_torch((TypeError,), lambda: call(e, "eg", x, x, x, attn_mask=mask, is_causal=None, need_weights=False),
                      lambda: call(t, "torch", x, x, x, attn_mask=mask, is_causal=None, need_weights=False))
    kpm = np.zeros((2, 3), bool)
    out, _ = call(e, "eg", x, x, x, attn_mask=mask, key_padding_mask=kpm, is_causal=None, need_weights=False)
    ref, _ = call(e, "eg", x, x, x, attn_mask=mask, need_weights=True)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    if t is not None:
        t_out, _ = call(t, "torch", x, x, x, attn_mask=mask, key_padding_mask=kpm, is_causal=None, need_weights=False)
        np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)


# --- sizes of the wrong type --------------------------------------------------------------------------

def test_non_int_sizes_raise_type_error():
    # PyTorch raises TypeError for a float size (torch.empty / torch.full / range); eigengrad raised ValueError
    raises_like_torch((TypeError,), lambda: nn.MultiheadAttention(4.0, 2), lambda: torch.nn.MultiheadAttention(4.0, 2))
    raises_like_torch((TypeError,), lambda: nn.Transformer.generate_square_subsequent_mask(3.0),
                      lambda: torch.nn.Transformer.generate_square_subsequent_mask(3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raises_like_torch((TypeError,), lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2), 1.0),
                          lambda: torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(4, 2), 1.0))
    # the values themselves are still ValueErrors (RuntimeError in PyTorch for a negative size)
    with pytest.raises(ValueError):
        nn.Transformer.generate_square_subsequent_mask(-1)
    m = nn.Transformer.generate_square_subsequent_mask(3)
    np.testing.assert_array_equal(m.numpy(), [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])
