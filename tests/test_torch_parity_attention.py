"""Side by side with PyTorch on random configurations: F.scaled_dot_product_attention, nn.MultiheadAttention,
TransformerEncoderLayer/DecoderLayer, TransformerEncoder/Decoder and nn.Transformer. Outputs and every
gradient (inputs, float masks, every parameter) agree to 1e-10 relative in float64 (2e-5 in float32) over
options drawn at random: odd sizes, batch 1, unbatched input, bool and float masks of each shape, key
padding, causal, grouped-query heads, kdim/vdim, bias, add_bias_kv, add_zero_attn, batch_first, norm_first,
activations. State dicts load both ways (PyTorch's into eigengrad and eigengrad's into PyTorch)."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity checks (pip install torch)")

import eigengrad as eg  # noqa: E402
from torch_parity import as_float64, make_assert_rel  # noqa: E402
from eigengrad import nn  # noqa: E402
import eigengrad.nn.functional as F  # noqa: E402

TOL = {np.float32: 2e-5, np.float64: 1e-10}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}
_assert_rel = make_assert_rel(TOL)
SEEDS = range(24)


def assert_rel(actual, expected, dtype, what=""):
    """NaN in the same places (a fully masked row of PyTorch's materialised weights), and elsewhere relative
    to max(|expected|, 1): the inputs are O(1), and a gradient that vanishes in exact arithmetic (one key:
    the softmax is constant) is then compared absolutely instead of against zero."""
    actual, expected = as_float64(actual), as_float64(expected)
    nan = np.isnan(expected)
    assert actual.shape == expected.shape and np.array_equal(np.isnan(actual), nan), f"{what}: NaN differ"
    actual, expected = np.where(nan, 0, actual), np.where(nan, 0, expected)
    _assert_rel(actual, expected, dtype, what, scale=max(float(np.max(np.abs(expected), initial=0)), 1.0))


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dt(request):
    return request.param


def pair(array, grad=True):
    """The same values as an eigengrad tensor and a torch tensor (both leaves)."""
    return (eg.tensor(array, requires_grad=grad and array.dtype != np.bool_),
            torch.tensor(array, requires_grad=grad and array.dtype != np.bool_))


def backward_both(e_out, t_out, rng):
    """Backpropagate the same random output gradient through both graphs."""
    g = rng.standard_normal(t_out.shape).astype(e_out.dtype)
    e_out.backward(eg.tensor(g))
    t_out.backward(torch.tensor(g))


# --- scaled_dot_product_attention ---------------------------------------------------------------------

def sdpa_config(rng):
    gqa = rng.random() < 0.3
    hk = int(rng.integers(1, 4))
    hq = hk * int(rng.integers(1, 4)) if gqa else hk
    batch = tuple(int(n) for n in rng.integers(1, 4, size=int(rng.integers(0, 3))))
    big = rng.random() < 0.15  # several query and key blocks of the kernel
    lq, lk = (int(n) for n in rng.integers(130, 300, size=2)) if big else (int(n) for n in rng.integers(1, 12, size=2))
    e, ev = (int(n) for n in rng.integers(1, 10, size=2))
    mask = rng.choice(["none", "bool", "bool_row", "float", "float_grad", "float_grad", "causal"])
    scale = None if rng.random() < 0.6 else float(rng.uniform(-1, 2))
    return dict(gqa=gqa, batch=batch, hq=hq, hk=hk, lq=lq, lk=lk, e=e, ev=ev, mask=str(mask), scale=scale)


def mask_array(rng, kind, shape, dtype):
    """A mask broadcastable to ``shape`` (..., L, S): some dims 1, bool or float, with fully masked rows."""
    bshape = tuple(n if rng.random() < 0.5 else 1 for n in shape[:-2]) + shape[-2:]
    bshape = bshape[int(rng.integers(0, len(bshape) - 1)):]  # fewer leading dims
    if kind.startswith("bool"):
        m = rng.random(bshape) > 0.3
        if kind == "bool_row":
            m[..., 0, :] = False
        return m
    m = rng.standard_normal(bshape).astype(dtype)
    m[rng.random(bshape) < 0.2] = -np.inf
    return m


@pytest.mark.parametrize("seed", SEEDS)
def test_sdpa_random_configurations(dt, seed):
    rng = np.random.default_rng(seed)
    c = sdpa_config(rng)
    heads = (c["hq"],) if c["gqa"] else ()
    kv_heads = (c["hk"],) if c["gqa"] else ()
    q = rng.standard_normal(c["batch"] + heads + (c["lq"], c["e"])).astype(dt)
    k = rng.standard_normal(c["batch"] + kv_heads + (c["lk"], c["e"])).astype(dt)
    v = rng.standard_normal(c["batch"] + kv_heads + (c["lk"], c["ev"])).astype(dt)
    (eq, tq), (ek, tk), (ev, tv) = pair(q), pair(k), pair(v)
    options = dict(scale=c["scale"], enable_gqa=c["gqa"], is_causal=c["mask"] == "causal")
    masks = ()
    if c["mask"] not in ("none", "causal"):
        m = mask_array(rng, c["mask"], c["batch"] + heads + (c["lq"], c["lk"]), dt)
        masks = pair(m, grad=c["mask"] == "float_grad")
    e_out = F.scaled_dot_product_attention(eq, ek, ev, masks[0] if masks else None, **options)
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, masks[1] if masks else None, **options)
    assert_rel(e_out, t_out, dt, f"output {c}")
    backward_both(e_out, t_out, rng)
    for (a, b), name in zip(((eq, tq), (ek, tk), (ev, tv)) + ((masks,) if c["mask"] == "float_grad" else ()),
                            ("query", "key", "value", "mask")):
        assert_rel(a.grad, b.grad, dt, f"grad {name} {c}")


# --- MultiheadAttention -------------------------------------------------------------------------------

def mha_config(rng):
    h = int(rng.integers(1, 4))
    e = h * int(rng.integers(1, 5))
    separate = rng.random() < 0.3
    return dict(
        module=dict(embed_dim=e, num_heads=h, bias=bool(rng.random() < 0.8), add_bias_kv=bool(rng.random() < 0.3),
                    add_zero_attn=bool(rng.random() < 0.3), batch_first=bool(rng.random() < 0.5),
                    kdim=int(rng.integers(1, 7)) if separate else None,
                    vdim=int(rng.integers(1, 7)) if separate else None),
        n=None if rng.random() < 0.2 else int(rng.integers(1, 4)), lq=int(rng.integers(1, 8)),
        lk=int(rng.integers(1, 8)), self_attention=not separate and rng.random() < 0.4,
        need_weights=bool(rng.random() < 0.5), average=bool(rng.random() < 0.5),
        kpm=str(rng.choice(["none", "bool", "float"])), attn_mask=str(rng.choice(["none", "2d", "3d", "causal"])),
        mask_bool=bool(rng.random() < 0.5))


def mha_inputs(rng, c, dt):
    m = c["module"]
    lk = c["lq"] if c["self_attention"] else c["lk"]

    def seq(length, dim):
        if c["n"] is None:
            return rng.standard_normal((length, dim)).astype(dt)
        shape = (c["n"], length, dim) if m["batch_first"] else (length, c["n"], dim)
        return rng.standard_normal(shape).astype(dt)

    q = seq(c["lq"], m["embed_dim"])
    k, v = (q, q) if c["self_attention"] else (seq(lk, m["kdim"] or m["embed_dim"]), seq(lk, m["vdim"] or m["embed_dim"]))
    kwargs = dict(need_weights=c["need_weights"], average_attn_weights=c["average"])
    if c["kpm"] != "none":
        shape = (lk,) if c["n"] is None else (c["n"], lk)
        kpm = rng.random(shape) < 0.3
        kwargs["key_padding_mask"] = kpm if c["kpm"] == "bool" else np.where(kpm, -np.inf, 0.0).astype(dt)
    if c["attn_mask"] != "none":
        if c["attn_mask"] == "causal":
            mask = np.triu(np.ones((c["lq"], lk), bool), 1)
            kwargs["is_causal"] = c["lq"] == lk and not c["need_weights"] and c["kpm"] == "none"
        else:
            lead = () if c["attn_mask"] == "2d" else ((c["n"] or 1) * m["num_heads"],)
            mask = rng.random(lead + (c["lq"], lk)) < 0.3
        kwargs["attn_mask"] = mask if c["mask_bool"] else np.where(mask, -np.inf, 0.0).astype(dt)
    return q, k, v, kwargs


@pytest.mark.parametrize("seed", SEEDS)
def test_multihead_attention_random_configurations(dt, seed):
    rng = np.random.default_rng(100 + seed)
    c = mha_config(rng)
    torch.manual_seed(seed)
    tm = torch.nn.MultiheadAttention(**c["module"], dtype=TORCH_DTYPE[dt])
    em = nn.MultiheadAttention(**c["module"], dtype=dt)
    assert list(em.state_dict()) == list(tm.state_dict())
    em.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    q, k, v, kwargs = mha_inputs(rng, c, dt)
    (eq, tq) = pair(q)
    (ek, tk), (ev, tv) = ((eq, tq), (eq, tq)) if c["self_attention"] else (pair(k), pair(v))
    e_kw = {n: (eg.tensor(a) if isinstance(a, np.ndarray) else a) for n, a in kwargs.items()}
    t_kw = {n: (torch.tensor(a) if isinstance(a, np.ndarray) else a) for n, a in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mismatched mask types: both warn
        e_out, e_w = em(eq, ek, ev, **e_kw)
        t_out, t_w = tm(tq, tk, tv, **t_kw)
    assert_rel(e_out, t_out, dt, f"output {c}")
    assert (e_w is None) == (t_w is None)
    loss_e, loss_t = (e_out * eg.tensor(np.ones(e_out.shape, dt))).sum(), t_out.sum()
    if e_w is not None:
        assert_rel(e_w, t_w, dt, f"weights {c}")
        if np.isfinite(t_w.detach().numpy()).all():
            gw = rng.standard_normal(t_w.shape).astype(dt)
            loss_e, loss_t = loss_e + (e_w * eg.tensor(gw)).sum(), loss_t + (t_w * torch.tensor(gw)).sum()
    if not np.all(np.isfinite(t_out.detach().numpy())):
        return  # NaN rows (need_weights with a fully masked row): compared above, no gradients to compare
    loss_e.backward()
    loss_t.backward()
    for (a, b), name in zip(((eq, tq), (ek, tk), (ev, tv)), ("query", "key", "value")):
        assert_rel(a.grad, b.grad, dt, f"grad {name} {c}")
    t_params = dict(tm.named_parameters())
    for name, p in em.named_parameters():
        assert_rel(p.grad, t_params[name].grad, dt, f"grad {name} {c}")


# --- the Transformer layers ---------------------------------------------------------------------------

def layer_config(rng):
    h = int(rng.integers(1, 4))
    return dict(d_model=h * int(rng.integers(2, 4)), nhead=h,  # d_model 1: LayerNorm of one value, ill-conditioned
                dim_feedforward=int(rng.integers(1, 12)), dropout=0.0,
                activation=str(rng.choice(["relu", "gelu", "callable"])), layer_norm_eps=float(rng.choice([1e-5, 1e-3])),
                batch_first=bool(rng.random() < 0.5), norm_first=bool(rng.random() < 0.5),
                bias=bool(rng.random() < 0.8))


def build(kind, options, dt, layers):
    """The same module in both libraries; 'callable' activations are each library's gelu function."""
    e_opts, t_opts = dict(options), dict(options)
    if options["activation"] == "callable":
        e_opts["activation"], t_opts["activation"] = F.gelu, torch.nn.functional.gelu
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's nested-tensor notice
        if kind == "transformer":
            t = torch.nn.Transformer(num_encoder_layers=layers, num_decoder_layers=layers, **t_opts,
                                     dtype=TORCH_DTYPE[dt])
            e = nn.Transformer(num_encoder_layers=layers, num_decoder_layers=layers, **e_opts, dtype=dt)
            return e, t
        layer = "Encoder" if kind.startswith("encoder") else "Decoder"
        t = getattr(torch.nn, f"Transformer{layer}Layer")(**t_opts, dtype=TORCH_DTYPE[dt])
        e = getattr(nn, f"Transformer{layer}Layer")(**e_opts, dtype=dt)
        if kind.endswith("stack"):
            t_norm = torch.nn.LayerNorm(options["d_model"], dtype=TORCH_DTYPE[dt])
            t = getattr(torch.nn, f"Transformer{layer}")(t, layers, norm=t_norm)
            e = getattr(nn, f"Transformer{layer}")(e, layers, norm=nn.LayerNorm(options["d_model"], dtype=dt))
    return e, t


def sequences(rng, options, n, length, dt):
    d = options["d_model"]
    shape = (length, d) if n is None else ((n, length, d) if options["batch_first"] else (length, n, d))
    return rng.standard_normal(shape).astype(dt)


def layer_masks(rng, prefix, n, lq, lk, dt, causal_ok):
    """Random masks for one attention block: a key padding mask and an attention mask (or a causal hint)."""
    out = {}
    choice = rng.choice(["none", "kpm", "mask", "both", "causal"] if causal_ok else ["none", "kpm", "mask", "both"])
    if choice in ("kpm", "both"):
        kpm = rng.random((lk,) if n is None else (n, lk)) < 0.3
        out[f"{prefix}key_padding_mask"] = kpm if rng.random() < 0.5 else np.where(kpm, -np.inf, 0.0).astype(dt)
    if choice in ("mask", "both", "causal"):
        mask = np.triu(np.ones((lq, lk), bool), 1) if choice == "causal" else rng.random((lq, lk)) < 0.3
        out[f"{prefix}mask"] = mask if rng.random() < 0.5 else np.where(mask, -np.inf, 0.0).astype(dt)
    return out


def call_arguments(kind, rng, dt, d_model: int, batch_first: bool):
    """Random sequences in call order ((src,), (tgt, memory) or (src, tgt)) and random masks for them."""
    n = None if rng.random() < 0.2 else int(rng.integers(1, 4))
    ls, lt = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    opts = dict(d_model=d_model, batch_first=batch_first)
    src, tgt = sequences(rng, opts, n, ls, dt), sequences(rng, opts, n, lt, dt)
    if kind.startswith("encoder"):
        masks = layer_masks(rng, "src_", n, ls, ls, dt, True)
        if kind == "encoder_stack" and "src_mask" in masks:
            masks["mask"] = masks.pop("src_mask")  # TransformerEncoder.forward(src, mask, src_key_padding_mask)
        return [src], masks
    masks = {**layer_masks(rng, "tgt_", n, lt, lt, dt, True), **layer_masks(rng, "memory_", n, lt, ls, dt, False)}
    if kind == "transformer":
        masks.update(layer_masks(rng, "src_", n, ls, ls, dt, True))
        return [src, tgt], masks
    return [tgt, src], masks


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["encoder", "decoder", "encoder_stack", "decoder_stack", "transformer"])
def test_transformer_random_configurations(dt, kind, seed):
    rng = np.random.default_rng(1000 * seed + len(kind))
    options = layer_config(rng)
    torch.manual_seed(seed)
    e, t = build(kind, options, dt, layers=int(rng.integers(1, 3)))
    assert list(e.state_dict()) == list(t.state_dict())
    if seed % 2:  # PyTorch's state_dict into eigengrad
        e.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    else:  # eigengrad's state_dict into PyTorch
        t.load_state_dict({k: torch.tensor(v.numpy().copy()) for k, v in e.state_dict().items()})
    arrays, kwargs = call_arguments(kind, rng, dt, options["d_model"], options["batch_first"])
    pairs = [pair(a) for a in arrays]
    e_kw = {n: (eg.tensor(a) if isinstance(a, np.ndarray) else a) for n, a in kwargs.items()}
    t_kw = {n: (torch.tensor(a) if isinstance(a, np.ndarray) else a) for n, a in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e_out = e(*(p[0] for p in pairs), **e_kw)
        t_out = t(*(p[1] for p in pairs), **t_kw)
    assert_rel(e_out, t_out, dt, f"{kind} output {options} {list(kwargs)}")
    backward_both(e_out, t_out, rng)
    for i, (a, b) in enumerate(pairs):
        assert_rel(a.grad, b.grad, dt, f"{kind} grad input {i}")
    t_params = dict(t.named_parameters())
    for name, p in e.named_parameters():
        assert_rel(p.grad, t_params[name].grad, dt, f"{kind} grad {name}")


def test_eval_mode_matches_torch_without_padding(dt):
    # PyTorch's inference fast paths (eval, no grad) give the ordinary layer's numbers when there is no
    # padding mask; with one, its nested-tensor encoder writes zeros at the padded positions (eigengrad
    # does not: see nn/modules/transformer.py)
    rng = np.random.default_rng(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True,
                                                                         dtype=TORCH_DTYPE[dt]), 2).eval()
    e = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, dtype=dt), 2).eval()
    e.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    x = rng.standard_normal((3, 5, 8)).astype(dt)
    with torch.no_grad():
        expected = t(torch.tensor(x))
    with eg.no_grad():
        got = e(eg.tensor(x))
    assert_rel(got, expected, dt, "eval output")


@pytest.mark.parametrize("separate", [False, True], ids=["packed", "separate"])
def test_functional_multi_head_attention_with_static_kv(dt, separate):
    # F.multi_head_attention_forward itself: separate projection weights, static_k / static_v, dropout off
    rng = np.random.default_rng(11)
    e, h, lq, s, n = 6, 3, 4, 5, 2
    arrays = dict(query=rng.standard_normal((lq, n, e)), key=rng.standard_normal((s, n, e)),
                  value=rng.standard_normal((s, n, e)), in_proj_weight=rng.standard_normal((3 * e, e)),
                  in_proj_bias=rng.standard_normal(3 * e), out_proj_weight=rng.standard_normal((e, e)),
                  out_proj_bias=rng.standard_normal(e), q_proj_weight=rng.standard_normal((e, e)),
                  k_proj_weight=rng.standard_normal((e, e)), v_proj_weight=rng.standard_normal((e, e)),
                  static_k=rng.standard_normal((n * h, s + 1, e // h)),
                  static_v=rng.standard_normal((n * h, s + 1, e // h)))
    pairs = {name: pair(a.astype(dt)) for name, a in arrays.items()}

    def call(lib_index, fn):
        t = {name: p[lib_index] for name, p in pairs.items()}
        return fn(t["query"], t["key"], t["value"], e, h, None if separate else t["in_proj_weight"],
                  t["in_proj_bias"], None, None, False, 0.0, t["out_proj_weight"], t["out_proj_bias"],
                  need_weights=True, average_attn_weights=False, use_separate_proj_weight=separate,
                  q_proj_weight=t["q_proj_weight"], k_proj_weight=t["k_proj_weight"],
                  v_proj_weight=t["v_proj_weight"], static_k=t["static_k"], static_v=t["static_v"])

    e_out, e_w = call(0, F.multi_head_attention_forward)
    t_out, t_w = call(1, torch.nn.functional.multi_head_attention_forward)
    assert_rel(e_out, t_out, dt, "output")
    assert_rel(e_w, t_w, dt, "weights")
    loss_e, loss_t = e_out.sum() + (e_w * e_w).sum(), t_out.sum() + (t_w * t_w).sum()
    loss_e.backward()
    loss_t.backward()
    for name, (a, b) in pairs.items():
        if b.grad is not None or a.grad is not None:
            assert_rel(a.grad, b.grad, dt, f"grad {name}")
