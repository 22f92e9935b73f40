"""What a sweep of realistic PyTorch scripts (vision, tabular, utilities), run with only the import changed,
found missing or different: each as PyTorch has it."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.data import DataLoader, SubsetRandomSampler, TensorDataset, default_collate, default_convert


def test_subset_random_sampler_keeps_its_indices():
    """``len(loader.sampler.indices)``, the size of a train/val split, was a method's length (TypeError)."""
    s = SubsetRandomSampler([5, 3, 8], generator=eg.Generator().manual_seed(0))
    assert s.indices == [5, 3, 8] and len(s) == 3
    assert sorted(s) == [3, 5, 8] and sorted(list(s)) == [3, 5, 8]
    loader = DataLoader(TensorDataset(eg.arange(10.0)), batch_size=2, sampler=s)
    assert len(loader.sampler.indices) == 3
    assert sorted(float(v) for (b,) in loader for v in b.tolist()) == [3.0, 5.0, 8.0]
    t = SubsetRandomSampler(eg.tensor([1, 2]))
    assert sorted(t) == [1, 2]


def test_dataloader_collate_fn_is_the_default_one():
    """PyTorch stores default_collate (default_convert unbatched): ``loader.collate_fn(samples)`` works."""
    ds = TensorDataset(eg.arange(4.0).reshape(2, 2))
    assert DataLoader(ds, batch_size=2).collate_fn is default_collate
    assert DataLoader(ds, batch_size=None).collate_fn is default_convert
    loader = DataLoader(ds, batch_size=2)
    (batch,) = loader.collate_fn([ds[0], ds[1]])
    np.testing.assert_array_equal(batch.numpy(), [[0, 1], [2, 3]])

    def mine(samples):
        return len(samples)

    loader.collate_fn = mine
    assert list(loader) == [2]


def test_autograd_profiler():
    with eg.autograd.profiler.profile() as prof:
        with eg.autograd.profiler.record_function("fwd"):
            y = (eg.ones(8, 8) @ eg.ones(8, 8)).sum()
    assert y.item() == 512.0
    (row,) = prof.key_averages()
    assert row["name"] == "fwd" and row["count"] == 1 and "fwd" in prof.key_averages().table()
    from eigengrad.autograd.profiler import emit_nvtx, record_function  # noqa: F401

    with emit_nvtx():
        pass


def test_cuda_queries_without_cuda():
    """A checkpoint's ``{'cuda_rng_state': torch.cuda.get_rng_state_all()}`` and memory logging run on a
    CPU-only PyTorch; what needs a device is PyTorch's AssertionError there (and eigengrad's RuntimeError and
    ValueError)."""
    assert eg.cuda.get_rng_state_all() == [] and eg.cuda.set_rng_state_all([]) is None
    assert eg.cuda.memory_reserved() == eg.cuda.max_memory_reserved() == 0 and eg.cuda.memory_stats() == {}
    for call in (eg.cuda.get_rng_state, eg.cuda.initial_seed, eg.cuda.get_device_properties,
                 lambda: eg.ones(2).cuda(), lambda: eg.ones(2).to("cuda"), lambda: eg.nn.Linear(2, 2).cuda()):
        with pytest.raises(AssertionError, match="runs on the CPU only") as e:
            call()
        assert isinstance(e.value, RuntimeError) and isinstance(e.value, ValueError)


def test_xpu_and_mps_modules():
    assert not eg.xpu.is_available() and eg.xpu.device_count() == 0 and eg.xpu.manual_seed(0) is None
    assert not eg.mps.is_available() and eg.mps.device_count() == 0 and eg.mps.manual_seed(0) is None
    with pytest.raises(RuntimeError, match="runs on the CPU only"):
        eg.mps.synchronize()
    import eigengrad.mps  # noqa: F401
    import eigengrad.xpu  # noqa: F401


# --- from the sequence / modern-idiom scripts -------------------------------------------------------------

def _encoder_pair(torch, activation, norm: bool):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, activation=activation, batch_first=True)
    t = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(4) if norm else None,
                                    enable_nested_tensor=True)
    if norm:
        with torch.no_grad():
            t.norm.bias.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    e_act = {"relu": "relu", "ReLU": eg.nn.ReLU(), "GELU": eg.nn.GELU()}[activation if isinstance(activation, str)
                                                                           else type(activation).__name__]
    e = eg.nn.TransformerEncoder(eg.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, activation=e_act,
                                                               batch_first=True), 2,
                                 norm=eg.nn.LayerNorm(4) if norm else None, enable_nested_tensor=True)
    e.load_state_dict({k: eg.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return t.eval(), e.eval()


@pytest.mark.parametrize("activation, norm", [("relu", True), ("ReLU", False), ("GELU", False), ("ReLU", True)])
def test_encoder_inference_with_padding_matches_torch(activation, norm):
    """PyTorch's nested-tensor inference path: zeros at the padded positions, then the final norm (so there
    norm(0)); nn.ReLU()/nn.GELU() modules take that path as F.relu/F.gelu do."""
    torch = pytest.importorskip("torch", reason="compares with PyTorch's TransformerEncoder")
    act = activation if activation == "relu" else getattr(torch.nn, activation)()
    t, e = _encoder_pair(torch, act, norm)
    assert e.use_nested_tensor == t.use_nested_tensor
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    pad = np.array([[False, False, False], [False, False, True]])
    with torch.no_grad():
        want = t(torch.tensor(x), src_key_padding_mask=torch.tensor(pad)).numpy()
    with eg.no_grad():
        got = e(eg.tensor(x), src_key_padding_mask=eg.tensor(pad)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if norm:
        np.testing.assert_allclose(got[1, 2], [1, 2, 3, 4], atol=1e-6)


def test_sdpa_with_a_mask_and_is_causal():
    """PyTorch's 4-D kernels apply both (its math path, for other inputs, refuses the pair)."""
    rng = np.random.default_rng(1)
    q, k, v = (eg.tensor(rng.standard_normal((2, 3, n, 8)).astype(np.float32)) for n in (3, 5, 5))
    sdpa = eg.nn.functional.scaled_dot_product_attention
    causal = np.tril(np.ones((3, 5), bool))
    for mask in (rng.random((3, 5)) > 0.3, rng.standard_normal((3, 5)).astype(np.float32)):
        both = sdpa(q, k, v, attn_mask=eg.tensor(mask), is_causal=True)
        combined = mask & causal if mask.dtype == bool else np.where(causal, mask, -np.inf).astype(np.float32)
        np.testing.assert_array_equal(both.numpy(), sdpa(q, k, v, attn_mask=eg.tensor(combined)).numpy())
    with pytest.raises(RuntimeError, match="should not be set when is_causal=True"):
        sdpa(q[0], k[0], v[0], attn_mask=eg.tensor(causal), is_causal=True)


def test_sdpa_mask_and_causal_match_torch():
    torch = pytest.importorskip("torch", reason="compares with PyTorch's scaled_dot_product_attention")
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 3, n, 8)).astype(np.float32) for n in (5, 3, 3))
    mask = rng.standard_normal((1, 3, 5, 3)).astype(np.float32)
    tq, eq = torch.tensor(q, requires_grad=True), eg.tensor(q, requires_grad=True)
    a = torch.nn.functional.scaled_dot_product_attention(tq, torch.tensor(k), torch.tensor(v),
                                                         attn_mask=torch.tensor(mask), is_causal=True)
    b = eg.nn.functional.scaled_dot_product_attention(eq, eg.tensor(k), eg.tensor(v), attn_mask=eg.tensor(mask),
                                                      is_causal=True)
    a.sum().backward()
    b.sum().backward()
    np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eq.grad.numpy(), tq.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_rnn_flat_weights_and_weight_drop():
    """AWD-LSTM's WeightDrop: the raw weight is a parameter, the dropped one is set on the module before each
    forward, which reads its weights by name."""
    lstm = eg.nn.LSTM(3, 4, num_layers=2)
    assert lstm._flat_weights_names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert [w is getattr(lstm, n) for n, w in zip(lstm._flat_weights_names, lstm._flat_weights)] == [True] * 8
    raw = lstm.weight_hh_l0
    del lstm._parameters["weight_hh_l0"]
    lstm.register_parameter("weight_hh_l0_raw", eg.nn.Parameter(raw.detach()))
    eg.manual_seed(0)
    lstm.weight_hh_l0 = eg.nn.functional.dropout(lstm.weight_hh_l0_raw, 0.5, training=True)
    y, _ = lstm(eg.randn(5, 2, 3))
    y.sum().backward()
    dropped = lstm.weight_hh_l0.detach().numpy() == 0
    g = lstm.weight_hh_l0_raw.grad.numpy()
    assert dropped.any() and (g[dropped] == 0).all() and (g[~dropped] != 0).any()


def test_small_api_gaps():
    from eigengrad.nn.modules.transformer import _get_clones
    from eigengrad.types import Device, Number  # noqa: F401

    clones = _get_clones(eg.nn.Linear(2, 2), 3)
    assert len(clones) == 3 and clones[0].weight is not clones[1].weight
    assert not eg.ones(2).is_nested
    import eigengrad

    assert eigengrad.nn.modules.utils._pair(3) == (3, 3)
    model = eg.nn.Sequential(eg.nn.Linear(3, 4), eg.nn.BatchNorm1d(4))
    assert eg.func.replace_all_batch_norm_modules_(model) is model
    bn = model[1]
    assert bn.running_mean is None and not bn.track_running_stats and "1.running_mean" not in model.state_dict()
    model.eval()
    y = model(eg.randn(6, 3))  # (batch statistics in eval mode too)
    np.testing.assert_allclose(y.detach().numpy().mean(0), 0.0, atol=1e-5)


def test_autograd_graph_context_managers():
    x = eg.ones(2, requires_grad=True)
    with eg.autograd.graph.save_on_cpu(pin_memory=True), eg.autograd.graph.disable_saved_tensors_hooks("no"):
        (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    with pytest.raises(NotImplementedError, match="pack/unpack"):
        with eg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            pass


def test_embedding_bag_double_backward_is_not_implemented():
    """PyTorch's class for a derivative it does not implement (a RuntimeError too)."""
    bag = eg.nn.EmbeddingBag(5, 3, mode="sum")
    out = bag(eg.tensor([[0, 1], [2, 3]]))
    (g,) = eg.autograd.grad(out.square().sum(), bag.weight, create_graph=True)
    with pytest.raises(NotImplementedError, match="not implemented"):
        g.square().sum().backward()


def test_tensor_dataset_batches_are_lists():
    """PyTorch's collation of (x, y) samples gives a list: ``batch[0] = batch[0].to(device)`` works."""
    ds = TensorDataset(eg.arange(6.0).reshape(3, 2), eg.tensor([0, 1, 0]))
    for loader in (DataLoader(ds, batch_size=2), DataLoader(ds, batch_size=2, shuffle=True),
                   DataLoader(eg.data.Subset(ds, [2, 0]), batch_size=2)):
        batch = next(iter(loader))
        assert isinstance(batch, list) and len(batch) == 2
        batch[0] = batch[0].to("cpu")


def test_view_as_a_dtype_of_another_size():
    """PyTorch's rules: the last dim scales by the element-size ratio; the bytes are shared."""
    x = eg.arange(6, dtype=eg.float32).reshape(2, 3)
    b = x.view(eg.uint8)
    assert b.shape == (2, 12) and b.dtype == np.uint8
    np.testing.assert_array_equal(b.numpy(), x.numpy().view(np.uint8))
    b[0, 3] = 0  # (the float 0.0's high byte: unchanged)
    b[1, 3] = 0
    assert x[1, 0].item() != 3.0  # (written through the view)
    back = eg.arange(8, dtype=eg.float32).reshape(2, 4).view(eg.float64)
    assert back.shape == (2, 2) and back.dtype == np.float64
    assert eg.zeros(0, 4, dtype=eg.uint8).view(eg.float32).shape == (0, 1)
    for call, message in [(lambda: x.view(eg.float64),
                           r"self.size\(-1\) must be divisible by 2 to view Float as Double"),
                          (lambda: x.t().view(eg.uint8), r"self.stride\(-1\) must be 1 to view Float as Byte"),
                          (lambda: eg.tensor(1.0).view(eg.uint8), r"self.dim\(\) cannot be 0"),
                          (lambda: eg.arange(16, dtype=eg.uint8).reshape(2, 8)[:, 2:6].view(eg.float32),
                           r"self.storage_offset\(\) must be divisible by 4"),
                          (lambda: eg.arange(18, dtype=eg.uint8).reshape(3, 6)[:, :4].view(eg.float32),
                           r"self.stride\(0\) must be divisible by 4")]:
        with pytest.raises(RuntimeError, match=message):
            call()


def test_channels_last_memory_format():
    """The layout PyTorch gives: NHWC strides, is_contiguous per format, permute(0, 2, 3, 1).view(...) works;
    layers compute the same numbers on it."""
    x = eg.randn(2, 3, 4, 5)
    assert x.is_contiguous() and not x.is_contiguous(memory_format=eg.channels_last)
    y = x.to(memory_format=eg.channels_last)
    assert y.stride() == (60, 1, 15, 3) and not y.is_contiguous() and y.is_contiguous(memory_format=eg.channels_last)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    assert y.contiguous(memory_format=eg.channels_last) is y and y.contiguous().stride() == (60, 20, 5, 1)
    assert y.permute(0, 2, 3, 1).view(2, -1).shape == (2, 60)
    assert eg.randn(1, 3, 1, 1).is_contiguous(memory_format=eg.channels_last)
    z = eg.randn(2, 3, 4, 5, 6).contiguous(memory_format=eg.channels_last_3d)
    assert z.stride() == (360, 1, 90, 18, 3)
    assert not eg.randn(2, 3, 4).is_contiguous(memory_format=eg.channels_last)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        eg.randn(2, 3, 4).contiguous(memory_format=eg.channels_last)
    conv = eg.nn.Conv2d(3, 2, 3)
    np.testing.assert_array_equal(conv(y).detach().numpy(), conv(x).detach().numpy())
    g = eg.randn(2, 3, 4, 5, requires_grad=True)
    (g.contiguous(memory_format=eg.channels_last) * 2).sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), np.full((2, 3, 4, 5), 2.0))


def test_full_backward_hooks_see_every_argument_and_output():
    """PyTorch's grad_input has an entry per positional argument and grad_output one per element of a tuple
    output, None where that is not a tensor (an LSTM's (output, (h, c)): two)."""
    class M(eg.nn.Module):
        def forward(self, x, flag, y):
            return x * 2, 3, (y * 3, y), y.detach()

    seen = []

    def shapes(grads):
        return [None if g is None else tuple(g.shape) for g in grads]

    m = M()
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append((shapes(gin), shapes(gout))))
    x, y = eg.ones(2, requires_grad=True), eg.ones(3, requires_grad=True)
    out = m(x, True, y)
    (out[0].sum() + out[2][0].sum()).backward()
    assert seen == [([(2,), None, (3,)], [(2,), None, None, None])]
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0, 3.0])

    lstm, counts = eg.nn.LSTM(3, 4), []
    lstm.register_full_backward_hook(lambda mod, gin, gout: counts.append((len(gin), len(gout))))
    lstm(eg.ones(5, 2, 3, requires_grad=True))[0].sum().backward()
    assert counts == [(1, 2)]


def test_backward_hook_replacing_grad_input_with_a_non_tensor_argument():
    class Scale(eg.nn.Module):
        def forward(self, x, factor):
            return x * factor

    m = Scale()
    m.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 10, None))
    x = eg.ones(3, requires_grad=True)
    m(x, 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 20.0, 20.0])
    m.register_full_backward_pre_hook(lambda mod, gout: (gout[0] * 0.5,))
    x.grad = None
    m(x, 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 10.0, 10.0])
