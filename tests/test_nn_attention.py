"""F.scaled_dot_product_attention, nn.MultiheadAttention and the Transformer layers without PyTorch:
gradcheck in float64 (the fused kernel's backward, every mask kind, causal, grouped-query heads, dropout,
broadcast inputs; the modules end to end), values against the NumPy reference, PyTorch's shapes,
parameter names, initialisation and the errors that name the bad argument."""
import math

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from conftest import assert_close
from eigengrad import nn
from eigengrad import reference as ref
from eigengrad.autograd.gradcheck import gradcheck
from eigengrad.autograd.ops_attention import PackedSelfAttention


def t(rng, *shape, dtype=np.float64, grad=True):
    return eg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=grad)


# --- scaled_dot_product_attention ---------------------------------------------------------------------

def test_sdpa_values_match_the_reference(rng, dtype):
    q, k, v = t(rng, 2, 3, 5, 4, dtype=dtype), t(rng, 2, 3, 7, 4, dtype=dtype), t(rng, 2, 3, 7, 6, dtype=dtype)
    out = F.scaled_dot_product_attention(q, k, v)
    expected, _ = ref.attention_forward(*(a.detach().numpy().astype(np.float64) for a in (q, k, v)), None, 0.5, False)
    assert_close(out.detach().numpy(), expected, dtype)
    # the definition, written out
    s = q.detach().numpy() @ np.swapaxes(k.detach().numpy(), -1, -2) / 2
    p = np.exp(s - s.max(-1, keepdims=True))
    assert_close(out.detach().numpy(), (p / p.sum(-1, keepdims=True)) @ v.detach().numpy(), dtype)


@pytest.mark.parametrize("options", [
    {}, dict(is_causal=True), dict(scale=0.37), dict(mask="bool"), dict(mask="float"), dict(enable_gqa=True),
    dict(mask="float", enable_gqa=True, scale=1.3),
], ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()) or "plain")
def test_sdpa_gradcheck(rng, options):
    options = dict(options)
    kind = options.pop("mask", None)
    hq = 4 if options.get("enable_gqa") else 2
    q, k, v = t(rng, 2, hq, 5, 3), t(rng, 2, 2, 6, 3), t(rng, 2, 2, 6, 4)
    inputs = [q, k, v]
    if kind == "bool":
        m = rng.random((5, 6)) > 0.4
        m[1] = False  # a fully masked row: zero output, zero gradients
        options["attn_mask"] = eg.tensor(m)
    elif kind == "float":
        inputs.append(t(rng, hq, 1, 6))  # broadcast over the batch and the queries; its gradient too
    assert gradcheck(lambda q, k, v, *m: F.scaled_dot_product_attention(q, k, v, *m, **options), inputs)


def test_sdpa_gradcheck_with_dropout(rng):
    # each call draws afresh from the default generator: reseed so every evaluation uses one mask
    q, k, v = t(rng, 1, 2, 4, 3), t(rng, 1, 2, 5, 3), t(rng, 1, 2, 5, 2)

    def f(q, k, v):
        eg.manual_seed(11)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True)

    assert gradcheck(f, (q, k, v))


def test_sdpa_gradcheck_broadcast_and_unbatched(rng):
    # key and value broadcast over the batch (copied for the kernel, gradients summed back); 2-D inputs
    q, k, v = t(rng, 3, 2, 4, 3), t(rng, 1, 2, 5, 3), t(rng, 2, 5, 2)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), (q, k, v))
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                     (t(rng, 4, 3), t(rng, 3, 3), t(rng, 3, 5)))


def test_sdpa_broadcast_heads(rng, dtype):
    # one key/value head serves every query head (no copy: the kernel's grouped heads), a query head of
    # size 1 is repeated for every key/value head; both equal the explicitly repeated computation
    q, k, v = t(rng, 2, 4, 5, 3, dtype=dtype), t(rng, 2, 1, 6, 3, dtype=dtype), t(rng, 2, 1, 6, 2, dtype=dtype)
    out = F.scaled_dot_product_attention(q, k, v)
    kr, vr = (eg.tensor(np.repeat(a.detach().numpy(), 4, axis=1)) for a in (k, v))
    assert_close(out.detach().numpy(), F.scaled_dot_product_attention(q.detach(), kr, vr).detach().numpy(), dtype)
    out1 = F.scaled_dot_product_attention(q[:, :1], kr, vr)
    assert out1.shape == (2, 4, 5, 2)
    q1 = eg.tensor(np.repeat(q.detach().numpy()[:, :1], 4, axis=1))
    assert_close(out1.detach().numpy(), F.scaled_dot_product_attention(q1, kr, vr).detach().numpy(), dtype)
    if dtype == np.float64:
        assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=eg.tensor(
            np.tril(np.ones((5, 6), bool)))), (t(rng, 2, 3, 5, 3), t(rng, 1, 1, 6, 3), t(rng, 2, 1, 6, 2)))
        assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
                         (t(rng, 2, 1, 5, 3), t(rng, 2, 3, 6, 3), t(rng, 3, 6, 2)))


def test_sdpa_gqa_equals_repeated_heads(rng, dtype):
    q, k, v = t(rng, 2, 6, 5, 4, dtype=dtype), t(rng, 2, 2, 7, 4, dtype=dtype), t(rng, 2, 2, 7, 3, dtype=dtype)
    out = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    kr, vr = (eg.tensor(np.repeat(a.detach().numpy(), 3, axis=1)) for a in (k, v))
    assert_close(out.detach().numpy(), F.scaled_dot_product_attention(q.detach(), kr, vr).detach().numpy(), dtype)


def test_sdpa_bool_and_float_masks_agree(rng, dtype):
    q, k, v = t(rng, 2, 5, 4, dtype=dtype), t(rng, 2, 6, 4, dtype=dtype), t(rng, 2, 6, 3, dtype=dtype)
    keep = rng.random((5, 6)) > 0.5
    keep[2] = False
    a = F.scaled_dot_product_attention(q, k, v, attn_mask=eg.tensor(keep))
    b = F.scaled_dot_product_attention(q, k, v, attn_mask=eg.tensor(np.where(keep, 0.0, -np.inf).astype(dtype)))
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert not np.any(a.detach().numpy()[:, 2])  # the fully masked row is zero, as in PyTorch
    causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    tril = F.scaled_dot_product_attention(q, k, v, attn_mask=eg.tensor(np.tril(np.ones((5, 6), bool))))
    assert np.array_equal(causal.detach().numpy(), tril.detach().numpy())


def test_sdpa_dropout_uses_the_default_generator(rng):
    q, k, v = t(rng, 2, 8, 4), t(rng, 2, 8, 4), t(rng, 2, 8, 4)
    eg.manual_seed(5)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    eg.manual_seed(5)
    c = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    a, b, c = a.detach(), b.detach(), c.detach()
    assert np.array_equal(a.numpy(), c.numpy()) and not np.array_equal(a.numpy(), b.numpy())
    assert eg.random.default_generator._offset == 2 * 8 * 8  # one draw of the weights' size
    assert not np.any(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).detach().numpy())


def test_sdpa_zero_sizes(rng):
    q, k, v = t(rng, 0, 2, 3, 4), t(rng, 0, 2, 5, 4), t(rng, 0, 2, 5, 6)
    assert F.scaled_dot_product_attention(q, k, v).shape == (0, 2, 3, 6)
    out = F.scaled_dot_product_attention(t(rng, 2, 3, 0), t(rng, 4, 0), t(rng, 4, 5))
    out = out.detach()
    assert np.allclose(out.numpy(), t(rng, 4, 5, grad=False).numpy().mean(0) * 0 + out.numpy()[0, 0])  # uniform
    none = F.scaled_dot_product_attention(t(rng, 2, 3, 4), t(rng, 0, 4), t(rng, 0, 5))
    assert none.shape == (2, 3, 5) and not np.any(none.detach().numpy())


def test_sdpa_errors(rng):
    q, k, v = t(rng, 2, 3, 4), t(rng, 2, 5, 4), t(rng, 2, 5, 6)
    sdpa = F.scaled_dot_product_attention
    with pytest.raises(TypeError, match="key: expected dtype float64"):
        sdpa(q, k.float(), v)
    with pytest.raises(TypeError, match="query: expected an eigengrad Tensor"):
        sdpa(q.detach().numpy(), k, v)
    with pytest.raises(ValueError, match="query: expected a tensor of at least 2 dimensions"):
        sdpa(t(rng, 4), t(rng, 4), t(rng, 4))
    with pytest.raises(ValueError, match="key: expected 4 features"):
        sdpa(q, t(rng, 2, 5, 3), v)
    with pytest.raises(ValueError, match="value: expected length 5"):
        sdpa(q, k, t(rng, 2, 4, 6))
    with pytest.raises(ValueError, match="do not broadcast"):
        sdpa(q, t(rng, 3, 5, 4), t(rng, 3, 5, 6))
    with pytest.raises(ValueError, match="must divide the number of heads in query"):
        sdpa(t(rng, 1, 4, 3, 2), t(rng, 1, 3, 5, 2), t(rng, 1, 3, 5, 2), enable_gqa=True)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        sdpa(q, k, v, dropout_p=1.5)
    with pytest.raises(ValueError, match="should not be set when is_causal=True"):
        sdpa(q, k, v, attn_mask=eg.tensor(np.ones((3, 5), bool)), is_causal=True)
    with pytest.raises(TypeError, match="attn_mask: expected dtype to be bool or float"):
        sdpa(q, k, v, attn_mask=eg.tensor(np.ones((3, 5), np.int64)))
    with pytest.raises(ValueError, match=r"attn_mask: expected a shape that broadcasts to .*\(2, 3, 5\)"):
        sdpa(q, k, v, attn_mask=eg.tensor(np.ones((3, 4), bool)))
    with pytest.raises(ValueError, match="attn_mask: expected a shape that broadcasts"):
        sdpa(q, k, v, attn_mask=eg.tensor(np.ones((1, 2, 3, 5), bool)))


# --- MultiheadAttention ------------------------------------------------------------------------------

def test_mha_parameters_and_initialisation():
    eg.manual_seed(0)
    m = nn.MultiheadAttention(64, 4)
    assert [n for n, _ in m.named_parameters()] == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                    "out_proj.bias"]
    assert m.in_proj_weight.shape == (192, 64) and m.head_dim == 16 and m.in_proj_weight.dtype == np.float32
    bound = math.sqrt(6 / (64 + 192))  # xavier_uniform_ over the packed (3 E, E) weight, as PyTorch
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert not np.any(m.in_proj_bias.detach().numpy()) and not np.any(m.out_proj.bias.detach().numpy())
    s = nn.MultiheadAttention(6, 3, kdim=4, vdim=5, bias=False, add_bias_kv=True, dtype=np.float64)
    assert [n for n, _ in s.named_parameters()] == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k",
                                                    "bias_v", "out_proj.weight"]
    assert (s.k_proj_weight.shape, s.v_proj_weight.shape, s.bias_k.shape) == ((6, 4), (6, 5), (1, 1, 6))
    assert s.in_proj_weight is None and s.in_proj_bias is None and s.out_proj.bias is None


def test_mha_values_against_the_definition(rng):
    m = nn.MultiheadAttention(6, 2, dtype=np.float64)
    for p in m.parameters():
        p._data[...] = rng.standard_normal(p.shape)
    x = t(rng, 4, 3, 6, grad=False)  # (L, N, E)
    out, weights = m(x, x, x, average_attn_weights=False)
    w, b = m.in_proj_weight.detach().numpy(), m.in_proj_bias.detach().numpy()
    xs = x.numpy().transpose(1, 0, 2)  # (N, L, E)
    q, k, v = (xs @ w[i * 6:(i + 1) * 6].T + b[i * 6:(i + 1) * 6] for i in range(3))
    heads = [a.reshape(3, 4, 2, 3).transpose(0, 2, 1, 3) for a in (q, k, v)]  # (N, H, L, d)
    s = heads[0] @ heads[1].swapaxes(-1, -2) / math.sqrt(3)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = ((p @ heads[2]).transpose(0, 2, 1, 3).reshape(3, 4, 6) @ m.out_proj.weight.detach().numpy().T
         + m.out_proj.bias.detach().numpy())
    assert_close(out.detach().numpy(), o.transpose(1, 0, 2), np.float64)
    assert_close(weights.detach().numpy(), p, np.float64)
    fused, none = m(x, x, x, need_weights=False)
    assert none is None
    assert_close(fused.detach().numpy(), out.detach().numpy(), np.float64)


def test_mha_gradcheck(rng):
    m = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=5, batch_first=True,
                              dtype=np.float64)
    q, k, v = t(rng, 2, 3, 4), t(rng, 2, 5, 3), t(rng, 2, 5, 5)
    kpm = eg.tensor(np.array([[False, False, True, False, False], [True] * 5]))
    params = list(m.parameters())

    def f(q, k, v, *ps):
        return m(q, k, v, key_padding_mask=kpm, need_weights=False)[0]

    assert gradcheck(f, (q, k, v, *params))
    assert gradcheck(lambda q, k, v, *ps: m(q, k, v, attn_mask=eg.tensor(np.triu(np.ones((3, 5), bool), 1)))[1],
                     (q, k, v, *params))


def test_mha_unbatched_and_errors(rng):
    m = nn.MultiheadAttention(4, 2, dtype=np.float64)
    x = t(rng, 3, 4, grad=False)
    out, w = m(x, x, x)
    assert out.shape == (3, 4) and w.shape == (3, 3)
    batched, wb = m(x.unsqueeze(1), x.unsqueeze(1), x.unsqueeze(1))
    assert_close(out.detach().numpy(), batched.detach().numpy()[:, 0], np.float64)
    with pytest.raises(ValueError, match="num_heads: embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(5, 2)
    with pytest.raises(ValueError, match="embed_dim: expected a positive int"):
        nn.MultiheadAttention(0, 1)
    with pytest.raises(ValueError, match="need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match=r"the shape of the 2D attn_mask is \(2, 3\)"):
        m(x, x, x, attn_mask=eg.tensor(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="key_padding_mask: for 2-D `query`"):
        m(x, x, x, key_padding_mask=eg.tensor(np.zeros((1, 3), bool)))
    with pytest.raises(TypeError, match="only bool and floating types of attn_mask"):
        m(x, x, x, attn_mask=eg.tensor(np.zeros((3, 3), np.int64)))
    with pytest.raises(ValueError, match="device: eigengrad runs on the CPU only"):
        nn.MultiheadAttention(4, 2, device="cuda")


def test_mha_dropout_only_in_training(rng):
    m = nn.MultiheadAttention(4, 2, dropout=0.5, dtype=np.float64)
    x = t(rng, 5, 2, 4, grad=False)
    m.eval()
    a, b = m(x, x, x)[0], m(x, x, x)[0]
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    m.train()
    c = m(x, x, x, need_weights=False)[0]
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())


# --- the Transformer ---------------------------------------------------------------------------------

def test_generate_square_subsequent_mask():
    m = nn.Transformer.generate_square_subsequent_mask(3)
    assert m.dtype == np.float32
    assert np.array_equal(m.numpy(), np.array([[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]], np.float32))
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="sz: expected a non-negative int"):
        nn.Transformer.generate_square_subsequent_mask(-1)


def test_transformer_submodule_names_and_clones():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                     "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                     "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]
    assert [n for n, _ in layer.named_modules()][1:] == ["self_attn", "self_attn.out_proj", "linear1", "dropout",
                                                          "linear2", "norm1", "norm2", "dropout1", "dropout2"]
    enc = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(8), enable_nested_tensor=False)
    assert len(enc.layers) == 3 and enc.layers[0] is not enc.layers[1]
    enc.layers[0].linear1.weight._data[...] = 0  # the clones are independent copies
    assert np.any(enc.layers[1].linear1.weight.detach().numpy())
    dec = nn.TransformerDecoderLayer(8, 2, 16, bias=False)
    assert {n for n, _ in dec.named_modules()} >= {"multihead_attn", "norm3", "dropout3"}
    assert dec.norm1.bias is None and dec.linear1.bias is None
    t_ = nn.Transformer(8, 2, 1, 1, 16)
    assert all(n.startswith(("encoder.", "decoder.")) for n, _ in t_.named_parameters())


def test_transformer_gradcheck(rng):
    model = nn.Transformer(4, 2, 1, 1, 6, dropout=0.0, activation="gelu", norm_first=True, batch_first=True,
                           dtype=np.float64)
    src, tgt = t(rng, 2, 5, 4), t(rng, 2, 3, 4)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=np.float64)
    kpm = eg.tensor(np.array([[False] * 4 + [True], [False] * 5]))
    named = dict(model.named_parameters())
    # a few parameters of each kind (every parameter's gradient is compared with PyTorch's elsewhere)
    params = [named[n] for n in ("encoder.layers.0.self_attn.in_proj_weight", "encoder.layers.0.linear1.bias",
                                 "decoder.layers.0.multihead_attn.in_proj_weight", "decoder.layers.0.norm2.weight",
                                 "decoder.norm.bias")]

    def f(src, tgt, *ps):
        return model(src, tgt, tgt_mask=mask, src_key_padding_mask=kpm, memory_key_padding_mask=kpm)

    assert gradcheck(f, (src, tgt, *params))


def test_transformer_layer_activation_and_errors(rng):
    x = t(rng, 3, 2, 4, grad=False)
    a = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, activation="gelu", dtype=np.float64)
    b = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, activation=F.gelu, dtype=np.float64)
    b.load_state_dict(a.state_dict())
    assert np.array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    with pytest.raises(ValueError, match="activation: should be relu/gelu"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(ValueError, match="num_layers: expected a positive int"):
        nn.TransformerEncoder(a, 0)
    model = nn.Transformer(4, 2, 1, 1, 8)
    with pytest.raises(ValueError, match="the feature number of src and tgt must be equal to d_model"):
        model(t(rng, 3, 2, 5, dtype=np.float32), t(rng, 3, 2, 4, dtype=np.float32))
    with pytest.raises(ValueError, match="the batch number of src and tgt must be equal"):
        model(t(rng, 3, 2, 4, dtype=np.float32), t(rng, 3, 3, 4, dtype=np.float32))


def test_encoder_detects_a_causal_mask(rng):
    # an explicit causal mask and is_causal give the same numbers (the hint runs the kernel's causal mode)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, dtype=np.float64), 2)
    x = t(rng, 5, 2, 4, grad=False)
    mask = nn.Transformer.generate_square_subsequent_mask(5, dtype=np.float64)
    bool_mask = eg.tensor(np.triu(np.ones((5, 5), bool), 1))
    a, b, c = enc(x, mask=mask), enc(x, mask=mask, is_causal=True), enc(x, mask=bool_mask)
    assert_close(a.detach().numpy(), b.detach().numpy(), np.float64)
    assert_close(a.detach().numpy(), c.detach().numpy(), np.float64)


def test_transformer_layer_is_thread_count_independent(restore_threads):
    # a training step's numbers (dropout included) are bitwise the same on 1, 2 and 3 threads
    results = []
    for threads in (1, 2, 3):
        eg.set_num_threads(threads)
        eg.manual_seed(3)
        layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.2, batch_first=True)
        x = eg.tensor(np.random.default_rng(0).standard_normal((3, 70, 16)).astype(np.float32), requires_grad=True)
        mask = eg.tensor(np.random.default_rng(1).random((3, 70)) < 0.2)
        out = layer(x, src_key_padding_mask=mask)
        out.sum().backward()
        results.append([out.detach().numpy().copy(), x.grad.detach().numpy().copy()]
                       + [p.grad.detach().numpy().copy() for p in layer.parameters()])
    for other in results[1:]:
        assert all(a.tobytes() == b.tobytes() for a, b in zip(results[0], other))


# --- MultiheadAttention's packed self-attention path --------------------------------------------------

@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("masks", ["none", "attn_bool", "attn_float_3d", "key_padding", "causal", "dropout"])
def test_mha_packed_self_attention_matches_three_projections(rng, monkeypatch, batch_first, masks):
    # m(x, x, x) takes the packed path (one in-projection GEMM, PackedSelfAttention); three distinct inputs of
    # the same values take the three projections: the outputs and every gradient agree in float64
    n, length, e, h = 3, 7, 8, 2
    m = nn.MultiheadAttention(e, h, batch_first=batch_first, dropout=0.3 if masks == "dropout" else 0.0,
                              dtype=np.float64)
    data = rng.standard_normal((n, length, e) if batch_first else (length, n, e))
    kw = dict(need_weights=False)
    if masks == "attn_bool":
        kw["attn_mask"] = eg.tensor(rng.random((length, length)) < 0.3)
    elif masks == "attn_float_3d":
        kw["attn_mask"] = eg.tensor(rng.standard_normal((n * h, length, length)))
    elif masks == "key_padding":
        pad = np.zeros((n, length), bool)
        pad[0, -2:] = True
        kw["key_padding_mask"] = eg.tensor(pad)
    elif masks == "causal":
        kw.update(attn_mask=nn.Transformer.generate_square_subsequent_mask(length, dtype=np.float64), is_causal=True)
    g = rng.standard_normal(data.shape)
    calls = []
    apply = PackedSelfAttention.apply
    monkeypatch.setattr(PackedSelfAttention, "apply", lambda *a, **o: calls.append(1) or apply(*a, **o))
    results = []
    for packed in (True, False):
        m.zero_grad()
        inputs = [eg.tensor(data, requires_grad=True)] * 3 if packed else \
            [eg.tensor(data, requires_grad=True) for _ in range(3)]
        eg.manual_seed(7)
        out = m(*inputs, **kw)[0]
        out.backward(eg.from_numpy(g))
        dx = sum(a.grad.numpy() for a in {id(a): a for a in inputs}.values())
        results.append([out.detach().numpy(), dx] + [p.grad.detach().numpy().copy() for p in m.parameters()])
    assert len(calls) == 1  # the packed path ran once, for m(x, x, x) only
    for a, b in zip(*results):
        assert np.max(np.abs(a - b)) <= 1e-12 * max(1.0, float(np.max(np.abs(b))))


def test_mha_packed_self_attention_gradcheck(rng):
    m = nn.MultiheadAttention(4, 2, batch_first=True, dtype=np.float64)
    x = t(rng, 2, 5, 4)
    pad = eg.tensor(np.array([[False] * 4 + [True], [False] * 5]))
    mask = eg.tensor(rng.random((5, 5)) < 0.3)
    assert gradcheck(lambda x, *ps: m(x, x, x, key_padding_mask=pad, attn_mask=mask, need_weights=False)[0],
                     (x, *m.parameters()))


def test_sdpa_keeps_weights_only_when_recorded(rng, monkeypatch):
    # the weights buffer is taken only when a backward can follow (not under no_grad, not without grads)
    from eigengrad import _kernels as K
    taken = []
    buffer = K.attention_weights_buffer
    monkeypatch.setattr(K, "attention_weights_buffer", lambda *a: taken.append(1) or buffer(*a))
    q, k, v = t(rng, 1, 2, 5, 4), t(rng, 1, 2, 6, 4), t(rng, 1, 2, 6, 3)
    with eg.no_grad():
        plain = F.scaled_dot_product_attention(q, k, v)
    assert taken == []
    F.scaled_dot_product_attention(*(a.detach() for a in (q, k, v)))
    assert taken == []
    out = F.scaled_dot_product_attention(q, k, v)
    assert taken == [1] and np.array_equal(out.detach().numpy(), plain.detach().numpy())


def test_encoder_reproduces_pytorchs_nested_tensor_inference_path():
    # eval, no gradient, a left-aligned key padding mask, a layer PyTorch's fast path takes: zeros at the pads
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2)
    assert enc.use_nested_tensor
    x = eg.tensor(np.random.default_rng(1).standard_normal((2, 4, 8)).astype(np.float32))
    pad = eg.tensor([[False, False, True, True], [False, False, False, True]])
    enc.eval()
    with eg.no_grad():
        fast = enc(x, src_key_padding_mask=pad)
    slow = enc(x, src_key_padding_mask=pad)  # parameters require grad: PyTorch's regular path
    assert np.all(fast.numpy()[0, 2:] == 0) and np.all(fast.numpy()[1, 3:] == 0)
    assert np.abs(slow.detach().numpy()[0, 2:]).sum() > 0
    np.testing.assert_allclose(fast.numpy()[0, :2], slow.detach().numpy()[0, :2], rtol=1e-6)
    with pytest.warns(UserWarning, match="use_nested_tensor is False because encoder_layer.self_attn.batch_first"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1)
    right = eg.tensor([[True, False, False, False], [False, False, False, True]])  # not left-aligned: no fast path
    with eg.no_grad():
        assert np.abs(enc(x, src_key_padding_mask=right).numpy()[0, 0]).sum() > 0
