"""eg.onnx.export: each model kind exported, checked by onnx.checker and run in onnxruntime; its outputs
within 1e-5 of eigengrad's eval forward (float32) at the traced batch size and another (dynamic batch).
Unsupported operations raise ExportError naming them and write nothing."""
from __future__ import annotations

import os

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.nn import functional as F

onnx = pytest.importorskip("onnx", reason="the onnx package is not installed (pip install onnx)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install onnxruntime)")

TOL = 1e-5


def _randomise_stats(model) -> None:
    """Running statistics away from (0, 1), so that the export must carry them."""
    rng = np.random.default_rng(3)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean._data[...] = rng.normal(size=m.running_mean.shape)
            m.running_var._data[...] = rng.uniform(0.5, 2.0, size=m.running_var.shape)
            m.weight._data[...] = rng.normal(size=m.weight.shape)
            m.bias._data[...] = rng.normal(size=m.bias.shape)


def _eager(model, xs) -> list:
    model.eval()
    with eg.no_grad():
        out = model(*[eg.tensor(x) for x in xs])
    flat = []

    def walk(o):
        if isinstance(o, (tuple, list)):
            for v in o:
                walk(v)
        elif o is not None:
            flat.append(o.numpy().copy())

    walk(out)
    return flat


def _session(path):
    return ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])


def check_export(model, make, batches=(1, 5), tmp_path=None, name="m.onnx", **kwargs) -> None:
    """Export at the first batch size, run every batch size in onnxruntime, compare with eigengrad."""
    path = tmp_path / name
    kwargs.setdefault("dynamic_batch", True)
    flags = [m.training for m in model.modules()]
    proto = eg.onnx.export(model, tuple(eg.tensor(x) for x in make(batches[0])), path, **kwargs)
    assert [m.training for m in model.modules()] == flags  # the export restores the training flags
    onnx.checker.check_model(onnx.load(os.fspath(path)), full_check=True)
    assert proto.opset_import[0].version >= 17
    sess = _session(path)
    names = [i.name for i in sess.get_inputs()]
    for b in batches:
        xs = make(b)
        got = sess.run(None, dict(zip(names, xs)))
        want = _eager(model, xs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL)


def _floats(*shape):
    def make(b):
        return [np.random.default_rng(b).standard_normal((b,) + shape).astype(np.float32)]
    return make


# --- MLPs --------------------------------------------------------------------------------------------------

def test_mlp_with_norms_dropout_and_activations(tmp_path):
    eg.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 16),
                          nn.GELU(), nn.LayerNorm(16), nn.SiLU(), nn.Linear(16, 9), nn.Tanh(),
                          nn.GELU(approximate="tanh"), nn.Linear(9, 7), nn.Sigmoid(), nn.Linear(7, 5), nn.Softmax(dim=1))
    _randomise_stats(model)
    model.train()
    check_export(model, _floats(12), tmp_path=tmp_path)


@pytest.mark.parametrize("act", [nn.LeakyReLU(0.2), nn.ELU(0.7), nn.SELU(), nn.Softplus(beta=2.0, threshold=3.0),
                                 nn.Hardswish(), nn.Hardsigmoid(), nn.ReLU6(), nn.Hardtanh(-0.5, 0.8), nn.Mish(),
                                 nn.Softsign(), nn.LogSoftmax(dim=-1), nn.Softmin(dim=1), nn.PReLU(6)],
                         ids=lambda m: type(m).__name__)
def test_activation(act, tmp_path):
    eg.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 6), act, nn.Linear(6, 3))
    check_export(model, _floats(4), tmp_path=tmp_path)


def test_flatten_of_3d_input_and_layer_norm_over_two_dims(tmp_path):
    eg.manual_seed(2)
    model = nn.Sequential(nn.LayerNorm([3, 4]), nn.Flatten(), nn.Linear(12, 5), nn.BatchNorm1d(5))
    _randomise_stats(model)
    check_export(model, _floats(3, 4), tmp_path=tmp_path)


class Pooled(nn.Module):
    """A text-classifier head: the mean and the sum over time of a projection."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 6)

    def forward(self, x):
        h = self.fc(x)
        return h.mean(1), h.sum(-1, keepdim=True), eg.mean(h, (1, 2)), h.sum()


def test_mean_and_sum_reductions(tmp_path):
    eg.manual_seed(2)
    model = Pooled()
    check_export(model, _floats(5, 4), tmp_path=tmp_path, dynamic_batch=False, batches=(3,))
    check_export(model, _floats(5, 4), tmp_path=tmp_path, name="d.onnx",
                 dynamic_axes={"input_0": {0: "batch"}}, dynamic_batch=False, batches=(1, 5))


def test_linear_on_3d_input(tmp_path):
    eg.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.LayerNorm(6, elementwise_affine=False), nn.Linear(6, 2))
    check_export(model, _floats(7, 4), tmp_path=tmp_path)


# --- CNNs --------------------------------------------------------------------------------------------------

class SmallCNN(nn.Module):
    """A custom forward: functional ReLU and a view, as in PyTorch's examples."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=1, padding=1)
        self.b1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=4, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 2 * 2, 4)

    def forward(self, x):
        x = F.relu(self.b1(self.c1(x)))
        x = self.pool(F.relu(self.c2(x)))
        return self.fc(x.view(x.size(0), -1))


class MnistNet(nn.Module):
    """pytorch/examples' MNIST network shape: functional activations and log_softmax in forward."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 4, 3, 1), nn.Conv2d(4, 8, 3, 1)
        self.dropout1, self.fc1, self.fc2 = nn.Dropout(0.25), nn.Linear(8 * 4 * 4, 16), nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = eg.flatten(self.dropout1(x), 1)
        x = F.silu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1), self.fc2(x).softmax(-1), eg.softmax(x, 1)


def test_functional_softmax_log_softmax_silu(tmp_path):
    eg.manual_seed(3)
    model = MnistNet()
    check_export(model, _floats(1, 12, 12), tmp_path=tmp_path)
    assert F.softmax is not None and "call" not in F.log_softmax.__qualname__  # the functions are restored
    assert "call" not in eg.Tensor.softmax.__qualname__ and "call" not in eg.softmax.__qualname__
    with pytest.raises(eg.onnx.ExportError, match="dtype"):
        eg.onnx.export(_SoftmaxDtype(), eg.randn(2, 3), tmp_path / "d.onnx")


class Clips(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 6)

    def forward(self, x):
        h = self.fc(x)
        return F.hardtanh(h, -0.3, 0.4), F.relu6(h * 5), h.clamp(min=0.1), eg.clamp(h, -0.2, 0.2), h.clip(max=0.0)


def test_functional_clips(tmp_path):
    eg.manual_seed(4)
    check_export(Clips(), _floats(4), tmp_path=tmp_path)


class _SoftmaxDtype(nn.Module):
    def forward(self, x):
        return F.softmax(x, dim=1, dtype=eg.float64)


def test_cnn_custom_forward(tmp_path):
    eg.manual_seed(3)
    model = SmallCNN()
    _randomise_stats(model)
    check_export(model, _floats(3, 9, 9), tmp_path=tmp_path)


class BasicBlock(nn.Module):
    """torchvision's ResNet block: ``out += identity`` and an in-place ReLU."""

    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, stride=2)
        self.layer = nn.Sequential(BasicBlock(4), BasicBlock(4))
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.layer(self.stem(x)), 1).flatten(1)
        return self.fc(eg.cat([x, x * 2.0 - 1], dim=1)) / 4 + 0.5, 1 - x, 2 / (x * x + 1), x - x * 3


def test_resnet_blocks_with_residual_arithmetic(tmp_path):
    eg.manual_seed(18)
    model = TinyResNet()
    _randomise_stats(model)
    originals = {n: vars(eg.Tensor)[n] for n in ("__add__", "__iadd__", "__rtruediv__", "softmax")}
    check_export(model, _floats(3, 9, 9), tmp_path=tmp_path)
    assert all(vars(eg.Tensor)[n] is f for n, f in originals.items())  # restored after the export


class Promote(nn.Module):
    def forward(self, x, i):
        return x + i  # float32 + int64: NumPy's promotion


def test_arithmetic_with_type_promotion_is_refused(tmp_path):
    with pytest.raises(eg.onnx.ExportError, match="type promotion"):
        eg.onnx.export(Promote(), (eg.randn(2, 3), eg.tensor(np.ones((2, 3), np.int64))), tmp_path / "m.onnx")


def test_cnn_pooling_kinds(tmp_path):
    eg.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(2, 4, (3, 2), padding=(1, 0)), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(3, stride=2, padding=1), nn.AvgPool2d(2, stride=1, padding=1),
                          nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),
                          nn.AdaptiveAvgPool2d((2, 2)), nn.Conv2d(4, 6, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(6, 3))
    _randomise_stats(model)
    check_export(model, _floats(2, 11, 12), tmp_path=tmp_path)


def test_conv1d_same_padding_and_batch_norm_over_length(tmp_path):
    eg.manual_seed(4)
    model = nn.Sequential(nn.Conv1d(3, 4, 4, padding="same"), nn.BatchNorm1d(4), nn.ELU(), nn.Flatten(),
                          nn.Linear(36, 2))
    _randomise_stats(model)
    check_export(model, _floats(3, 9), tmp_path=tmp_path)


def test_group_and_instance_norms(tmp_path):
    eg.manual_seed(14)
    stats = nn.InstanceNorm2d(6, affine=True, track_running_stats=True)
    stats.running_mean._data[...] = np.linspace(-1, 1, 6)
    stats.running_var._data[...] = np.linspace(0.5, 2, 6)
    model = nn.Sequential(nn.Conv2d(2, 6, 3), nn.GroupNorm(3, 6), nn.ReLU(), nn.InstanceNorm2d(6, affine=True),
                          nn.Conv2d(6, 6, 1), stats, nn.GroupNorm(2, 6, affine=False))
    for m in (model[1], model[3]):
        m.weight._data[...] = np.random.default_rng(0).normal(size=6)
        m.bias._data[...] = np.random.default_rng(1).normal(size=6)
    check_export(model, _floats(2, 6, 5), tmp_path=tmp_path)


def test_conv1d_group_norm_instance_norm1d(tmp_path):
    eg.manual_seed(15)
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.GroupNorm(2, 4), nn.InstanceNorm1d(4), nn.Flatten(), nn.Linear(20, 2))
    check_export(model, _floats(2, 7), tmp_path=tmp_path)


@pytest.mark.parametrize("mode,align_corners", [("nearest", None), ("nearest-exact", None), ("bilinear", False),
                                                ("bilinear", True)])
@pytest.mark.parametrize("how", [{"scale_factor": 2}, {"scale_factor": 1.7}, {"size": (7, 9)}],
                         ids=["x2", "x1.7", "size"])
def test_conv_transpose_and_upsample(mode, align_corners, how, tmp_path):
    eg.manual_seed(16)
    model = nn.Sequential(nn.ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
                          nn.Upsample(mode=mode, align_corners=align_corners, **how),
                          nn.ConvTranspose2d(4, 3, (3, 2), stride=(2, 1), padding=(1, 0), dilation=2))
    check_export(model, _floats(2, 4, 5), tmp_path=tmp_path)


def test_conv_transpose1d_and_linear_upsample(tmp_path):
    eg.manual_seed(17)
    model = nn.Sequential(nn.ConvTranspose1d(2, 3, 4, stride=3, padding=1), nn.Upsample(scale_factor=3, mode="linear"))
    check_export(model, _floats(2, 6), tmp_path=tmp_path)
    check_export(nn.UpsamplingBilinear2d(size=(6, 7)), _floats(3, 4, 5), tmp_path=tmp_path, name="b.onnx")
    check_export(nn.UpsamplingNearest2d(scale_factor=2), _floats(3, 4, 5), tmp_path=tmp_path, name="c.onnx")


def test_adaptive_max_pool(tmp_path):
    eg.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AdaptiveMaxPool2d((2, 3)), nn.Flatten())
    check_export(model, _floats(1, 4, 6), tmp_path=tmp_path)


# --- recurrent layers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("layers,bidirectional,bias", [(1, False, True), (2, True, True), (2, False, False)])
def test_recurrent_layers(kind, batch_first, layers, bidirectional, bias, tmp_path):
    eg.manual_seed(5)
    cls = {"RNN_TANH": nn.RNN, "RNN_RELU": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[kind]
    extra = {"nonlinearity": "relu"} if kind == "RNN_RELU" else {}
    model = cls(3, 5, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional, bias=bias, **extra)
    def make(b):
        x = np.random.default_rng(b).standard_normal((b, 4, 3)).astype(np.float32)
        return [x if batch_first else np.ascontiguousarray(x.transpose(1, 0, 2))]

    axes = {"input_0": {0 if batch_first else 1: "batch"}}
    check_export(model, make, tmp_path=tmp_path, dynamic_axes=axes, dynamic_batch=False)


class LastStep(nn.Module):
    """An LSTM classifier on the last time step, with initial states given."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 6, num_layers=2, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x, h0, c0):
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1])


def test_lstm_last_step_with_initial_state(tmp_path):
    eg.manual_seed(6)

    def make(b):
        rng = np.random.default_rng(b)
        return [rng.standard_normal(s).astype(np.float32) for s in ((b, 5, 3), (2, b, 6), (2, b, 6))]

    axes = {"input_0": {0: "batch"}, "input_1": {1: "batch"}, "input_2": {1: "batch"}, "output_0": {0: "batch"}}
    check_export(LastStep(), make, tmp_path=tmp_path, dynamic_axes=axes, dynamic_batch=False)


class GRUTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 4, padding_idx=0)
        self.gru = nn.GRU(4, 5, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(10, 3)

    def forward(self, tokens):
        out, h = self.gru(self.emb(tokens))
        return self.fc(out), h


def test_embedding_gru_tagger(tmp_path):
    eg.manual_seed(7)

    def make(b):
        return [np.random.default_rng(b).integers(0, 20, size=(b, 6)).astype(np.int64)]

    model = GRUTagger()
    axes = {"input_0": {0: "batch"}, "output_0": {0: "batch"}, "output_1": {1: "batch"}}
    check_export(model, make, tmp_path=tmp_path, dynamic_axes=axes, dynamic_batch=False)


def test_embedding_flatten_linear(tmp_path):
    eg.manual_seed(8)
    model = nn.Sequential(nn.Embedding(11, 3), nn.Flatten(), nn.Linear(12, 2))

    def make(b):
        return [np.random.default_rng(b).integers(0, 11, size=(b, 4)).astype(np.int64)]

    check_export(model, make, tmp_path=tmp_path)


# --- attention and Transformer layers ---------------------------------------------------------------------

class Attend(nn.Module):
    def __init__(self, batch_first: bool, need_weights: bool, average: bool, cross: bool):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=batch_first)
        self.kw = {"need_weights": need_weights, "average_attn_weights": average}
        self.cross = cross

    def forward(self, x, mem):
        out = self.mha(x, mem, mem, **self.kw) if self.cross else self.mha(x, x, x, **self.kw)
        return out if self.kw["need_weights"] else out[0]


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("need_weights,average,cross", [(True, True, False), (False, True, False),
                                                        (True, False, True)])
def test_multihead_attention(batch_first, need_weights, average, cross, tmp_path):
    eg.manual_seed(9)
    model = Attend(batch_first, need_weights, average, cross)
    b_axis = 0 if batch_first else 1

    def make(b):
        rng = np.random.default_rng(b)
        x, mem = (rng.standard_normal((b, n, 8)).astype(np.float32) for n in (5, 3))
        return [x, mem] if batch_first else [np.ascontiguousarray(t.transpose(1, 0, 2)) for t in (x, mem)]

    axes = {"input_0": {b_axis: "batch"}, "input_1": {b_axis: "batch"}}
    check_export(model, make, tmp_path=tmp_path, dynamic_axes=axes, dynamic_batch=False)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_transformer_encoder(norm_first, activation, batch_first, tmp_path):
    eg.manual_seed(10)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation=activation, batch_first=batch_first,
                                       norm_first=norm_first)
    model = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))
    model.train()  # dropout 0.1 in training: the export is of eval mode

    def make(b):
        x = np.random.default_rng(b).standard_normal((b, 4, 8)).astype(np.float32)
        return [x if batch_first else np.ascontiguousarray(x.transpose(1, 0, 2))]

    axes = {"input_0": {0 if batch_first else 1: "batch"}}
    check_export(model, make, tmp_path=tmp_path, dynamic_axes=axes, dynamic_batch=False)


def test_embedding_transformer_classifier(tmp_path):
    eg.manual_seed(11)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(30, 8)
            self.enc = nn.TransformerEncoderLayer(8, 4, dim_feedforward=12, batch_first=True)
            self.fc = nn.Linear(8 * 6, 3)

        def forward(self, tokens):
            return self.fc(self.enc(self.emb(tokens)).flatten(1))

    def make(b):
        return [np.random.default_rng(b).integers(0, 30, size=(b, 6)).astype(np.int64)]

    check_export(Classifier(), make, tmp_path=tmp_path)


# --- attention masks ----------------------------------------------------------------------------------------

def _masks(rng, b: int, length: int, source: int, heads: int, attn: str | None, pad: str | None) -> list:
    """[attn_mask?, key_padding_mask?] of the kinds named: "bool2d", "float2d", "bool3d", "float3d" (N * heads
    leading), "bool"/"float" padding (trailing positions of some rows masked out)."""
    out = []
    if attn is not None:
        shape = (length, source) if attn.endswith("2d") else (b * heads, length, source)
        hidden = rng.random(shape) < 0.3
        hidden[..., 0] = False  # every row keeps a key (a fully masked row has its own test)
        out.append(hidden if attn.startswith("bool") else np.where(hidden, -np.inf, rng.normal(size=shape)).astype(
            np.float32))
    if pad is not None:
        hidden = np.arange(source)[None, :] >= rng.integers(1, source + 1, size=(b, 1))
        out.append(hidden if pad == "bool" else np.where(hidden, -np.inf, 0.0).astype(np.float32))
    return out


class MaskedAttend(nn.Module):
    def __init__(self, batch_first: bool, attn: str | None, pad: str | None, need_weights: bool, cross: bool):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=batch_first)
        self.attn, self.pad, self.need, self.cross = attn, pad, need_weights, cross

    def forward(self, x, mem, *masks):
        masks = list(masks)
        attn_mask = masks.pop(0) if self.attn else None
        pad = masks.pop(0) if self.pad else None
        kv = mem if self.cross else x
        out = self.mha(x, kv, kv, key_padding_mask=pad, attn_mask=attn_mask, need_weights=self.need)
        return out if self.need else out[0]


@pytest.mark.parametrize("attn,pad", [("bool2d", None), ("float2d", None), ("bool3d", "bool"), ("float3d", None),
                                      (None, "bool"), (None, "float"), ("float2d", "float")])
@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("batch_first,cross", [(True, False), (False, True)])
def test_multihead_attention_masks(attn, pad, need_weights, batch_first, cross, tmp_path):
    """Masks as inputs of the graph, in every form mha_forward takes (the fused path and the weights' path)."""
    eg.manual_seed(12)
    model = MaskedAttend(batch_first, attn, pad, need_weights, cross)
    length, source = 5, (3 if cross else 5)

    def make(b):
        rng = np.random.default_rng(b)
        x, mem = (rng.standard_normal((b, n, 8)).astype(np.float32) for n in (length, source))
        if not batch_first:
            x, mem = (np.ascontiguousarray(t.transpose(1, 0, 2)) for t in (x, mem))
        return [x, mem] + _masks(rng, b, length, source, 2, attn, pad)

    if attn is not None and attn.endswith("3d"):  # (N * heads rows: the batch cannot be one dynamic dimension)
        check_export(model, make, batches=(2,), tmp_path=tmp_path, dynamic_batch=False)
        return
    b_axis = 0 if batch_first else 1
    axes = {"input_0": {b_axis: "batch"}, "input_1": {b_axis: "batch"}}
    if pad is not None:
        axes[f"input_{3 if attn else 2}"] = {0: "batch"}
    check_export(model, make, batches=(2, 3), tmp_path=tmp_path, dynamic_axes=axes, dynamic_batch=False)


@pytest.mark.parametrize("need_weights", [False, True])
def test_a_fully_masked_row_is_zeros_on_the_fused_path_and_nan_with_weights(need_weights, tmp_path):
    """Eager mode's rule either way (PyTorch's too): the fused kernel gives zeros for a query whose keys are all
    masked out, the weights' softmax NaN."""
    eg.manual_seed(13)
    model = MaskedAttend(True, None, "bool", need_weights, False)

    def make(b):
        x = np.random.default_rng(b).standard_normal((b, 4, 8)).astype(np.float32)
        pad = np.zeros((b, 4), dtype=bool)
        pad[0] = True
        return [x, x, pad]

    want = _eager(model, make(2))
    assert np.isnan(want[0][0]).all() == need_weights and np.isfinite(want[0][1]).all()
    check_export(model, make, batches=(2,), tmp_path=tmp_path, dynamic_batch=False)


def _encoder(batch_first: bool = True, nested: bool = True, layers: int = 2):
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=batch_first, dropout=0.1)
    return nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(8), enable_nested_tensor=nested)


class PaddedEncoder(nn.Module):
    def __init__(self, nested: bool, with_mask: bool, pad: str):
        super().__init__()
        self.enc = _encoder(nested=nested)
        self.with_mask, self.pad = with_mask, pad

    def forward(self, x, pad):
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1]) if self.with_mask else None
        return self.enc(x, mask=mask, src_key_padding_mask=pad)


@pytest.mark.parametrize("nested,with_mask,pad", [(True, False, "bool"), (True, False, "float"),
                                                   (False, False, "bool"), (True, True, "bool")])
def test_transformer_encoder_padding(nested, with_mask, pad, tmp_path):
    """A key padding mask as an input: with the nested-tensor path (eval, no mask, left-aligned padding) the
    padded positions are zeros, as in eager mode (and PyTorch); with a causal mask made in the forward too."""
    import warnings

    eg.manual_seed(14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the nested-tensor warning of enable_nested_tensor)
        model = PaddedEncoder(nested, with_mask, pad)

    def make(b):
        rng = np.random.default_rng(b)
        return [rng.standard_normal((b, 6, 8)).astype(np.float32)] + _masks(rng, b, 6, 6, 2, None, pad)

    zeros = np.all(_eager(model, make(3))[0] == 0, axis=-1)
    assert zeros.any() == (nested and not with_mask)  # the nested path shows in the values
    axes = {"input_0": {0: "batch"}, "input_1": {0: "batch"}}
    check_export(model, make, batches=(3, 4), tmp_path=tmp_path, dynamic_axes=axes, dynamic_batch=False)


class CausalLM(nn.Module):
    """A character model's forward: the causal mask made inside it, is_causal given or detected."""

    def __init__(self, hint):
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.enc = _encoder(layers=1)
        self.head = nn.Linear(8, 20)
        self.hint = hint

    def forward(self, tokens):
        mask = nn.Transformer.generate_square_subsequent_mask(tokens.shape[1])
        return self.head(self.enc(self.emb(tokens), mask=mask, is_causal=self.hint))


@pytest.mark.parametrize("hint", [True, None])
def test_causal_language_model(hint, tmp_path):
    eg.manual_seed(15)

    def make(b):
        return [np.random.default_rng(b).integers(0, 20, size=(b, 7)).astype(np.int64)]

    check_export(CausalLM(hint), make, tmp_path=tmp_path)


class Seq2Seq(nn.Module):
    def __init__(self, batch_first: bool):
        super().__init__()
        self.t = nn.Transformer(8, 2, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=16,
                                batch_first=batch_first)

    def forward(self, src, tgt, src_pad, tgt_pad):
        causal = self.t.generate_square_subsequent_mask(tgt.shape[1 if self.t.batch_first else 0])
        return self.t(src, tgt, tgt_mask=causal, src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                      memory_key_padding_mask=src_pad)


@pytest.mark.parametrize("batch_first", [True, False])
def test_transformer_encoder_decoder_with_masks(batch_first, tmp_path):
    """nn.Transformer: the decoder's causal self-attention and padding masks for the source, target and memory."""
    eg.manual_seed(16)
    model = Seq2Seq(batch_first)

    def make(b):
        rng = np.random.default_rng(b)
        src, tgt = (rng.standard_normal((b, n, 8)).astype(np.float32) for n in (6, 4))
        if not batch_first:
            src, tgt = (np.ascontiguousarray(t.transpose(1, 0, 2)) for t in (src, tgt))
        return [src, tgt] + _masks(rng, b, 6, 6, 2, None, "bool") + _masks(rng, b, 4, 4, 2, None, "bool")

    b_axis = 0 if batch_first else 1
    axes = {"input_0": {b_axis: "batch"}, "input_1": {b_axis: "batch"}, "input_2": {0: "batch"},
            "input_3": {0: "batch"}}
    check_export(model, make, batches=(2, 3), tmp_path=tmp_path, dynamic_axes=axes, dynamic_batch=False)


def test_random_values_made_in_the_forward_are_not_frozen(tmp_path):
    """Only values made from Python arguments become constants of the file: a random draw is refused."""
    class Noisy(nn.Module):
        def __init__(self, draw):
            super().__init__()
            self.draw = draw

        def forward(self, x):
            return x + self.draw(x.shape[1])

    for draw in (eg.rand, eg.randn, lambda n: eg.randint(0, 5, (n,)).float()):
        with pytest.raises(eg.onnx.ExportError, match="computed outside the recorded kernels|has no ONNX export"):
            eg.onnx.export(Noisy(draw), (eg.randn(2, 3),), tmp_path / "m.onnx")
        assert not (tmp_path / "m.onnx").exists()
    model = Noisy(lambda n: eg.arange(n, dtype=eg.float32) + eg.ones(n))  # (no draw: constants of the file)
    check_export(model, lambda b: [np.ones((b, 3), np.float32)], tmp_path=tmp_path)


# --- the file, names and shapes ---------------------------------------------------------------------------

def test_static_export_fixes_the_batch_and_names(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2))
    path = tmp_path / "static.onnx"
    eg.onnx.export(model, (eg.randn(4, 3),), path, input_names=["x"], output_names=["y"])
    m = onnx.load(os.fspath(path))
    assert [i.name for i in m.graph.input] == ["x"] and [o.name for o in m.graph.output] == ["y"]
    assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim] == [4, 3]
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(_session(path).run(None, {"x": x})[0], _eager(model, [x])[0], rtol=TOL, atol=TOL)


def test_dynamic_axes_are_named(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2))
    path = tmp_path / "dyn.onnx"
    eg.onnx.export(model, eg.randn(2, 3), path, input_names=["x"], output_names=["y"],
                   dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    m = onnx.load(os.fspath(path))
    assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "n"
    assert m.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "n"
    x = np.ones((9, 3), np.float32)
    np.testing.assert_allclose(_session(path).run(None, {"x": x})[0], _eager(model, [x])[0], rtol=TOL, atol=TOL)
    m = eg.onnx.export(model, eg.randn(2, 3), None, input_names=["x"], dynamic_axes={"x": [0]})  # PyTorch's list form
    assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "x_dynamic_axes_0"
    assert m.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "output_0_dim0"  # found by the second trace


def test_file_object_and_no_file(tmp_path):
    import io

    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    buf = io.BytesIO()
    proto = eg.onnx.export(model, eg.randn(2, 3), buf)
    assert buf.getvalue() == proto.SerializeToString()
    assert eg.onnx.export(model, eg.randn(2, 3)).graph.node  # f=None: only returned


class Powered(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x.cumsum(1))  # a NumPy operation the trace does not see


def test_unsupported_operation_raises_and_writes_nothing(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    with pytest.raises(eg.onnx.ExportError, match="computed outside the recorded kernels"):
        eg.onnx.export(Powered(), eg.randn(2, 3), path)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["m.onnx"]  # no temporary left behind


def test_unsupported_kernel_is_named(tmp_path):
    model = nn.EmbeddingBag(10, 3)
    with pytest.raises(eg.onnx.ExportError, match="'embedding_bag_forward' has no ONNX export"):
        eg.onnx.export(model, eg.randint(0, 10, (2, 4)), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_batch_norm_without_running_stats_is_refused(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False))
    with pytest.raises(eg.onnx.ExportError, match="BatchNorm"):
        eg.onnx.export(model, eg.randn(2, 3), tmp_path / "m.onnx")


class PrivateWrite(nn.Module):
    """Writes into a tensor's private array: invisible to the trace, caught by the verification run."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(3, 4), nn.Linear(4, 2)

    def forward(self, x):
        y = self.fc1(x)
        y._data *= 2.0
        return self.fc2(y)


@pytest.mark.parametrize("runtime", ["onnxruntime", "reference evaluator"])
def test_a_graph_that_differs_from_eager_mode_is_never_written(runtime, tmp_path, monkeypatch):
    import sys

    if runtime != "onnxruntime":
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # verification falls back to onnx.reference
    path = tmp_path / "m.onnx"
    with pytest.raises(eg.onnx.ExportError, match="does not reproduce output 0"):
        eg.onnx.export(PrivateWrite(), eg.randn(2, 3), path)
    assert not os.listdir(tmp_path)
    eg.onnx.export(nn.Sequential(nn.Linear(3, 2), nn.GELU()), eg.randn(2, 3), path)  # a faithful one passes
    eg.onnx.export(PrivateWrite(), eg.randn(2, 3), path, verify=False)  # unchecked: written as traced
    assert path.exists()


class ByBatch(nn.Module):
    """Python control flow on the batch size: another layer runs at another size."""

    def __init__(self):
        super().__init__()
        self.small, self.large = nn.Linear(3, 2), nn.Linear(3, 2)

    def forward(self, x):
        return self.small(x) if x.shape[0] < 3 else self.large(x)


def test_shape_dependent_forward_cannot_have_a_dynamic_batch(tmp_path):
    eg.manual_seed(13)
    model = ByBatch()
    with pytest.raises(eg.onnx.ExportError, match="different operations"):
        eg.onnx.export(model, eg.randn(2, 3), tmp_path / "m.onnx", dynamic_batch=True)
    assert not os.listdir(tmp_path)
    eg.onnx.export(model, eg.randn(2, 3), tmp_path / "m.onnx")  # a static batch is fine
    x = np.ones((2, 3), np.float32)
    got = _session(tmp_path / "m.onnx").run(None, {"input_0": x})[0]
    np.testing.assert_allclose(got, _eager(model, [x])[0], rtol=TOL, atol=TOL)


def test_inplace_activations(tmp_path):
    eg.manual_seed(12)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace=True), nn.Linear(6, 6), nn.LeakyReLU(0.1, inplace=True),
                          nn.Linear(6, 3), nn.Hardtanh(-0.2, 0.3, inplace=True))
    check_export(model, _floats(4), tmp_path=tmp_path)
    assert model[1].inplace and model[3].inplace and model[5].inplace  # restored


def test_bad_arguments(tmp_path):
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="opset_version"):
        eg.onnx.export(model, eg.randn(1, 2), tmp_path / "a.onnx", opset_version=13)
    with pytest.raises(ValueError, match="training"):
        eg.onnx.export(model, eg.randn(1, 2), tmp_path / "a.onnx", training=eg.onnx.TrainingMode.TRAINING)
    with pytest.raises(TypeError, match="model"):
        eg.onnx.export(lambda x: x, eg.randn(1, 2), tmp_path / "a.onnx")
    with pytest.raises(TypeError, match="args"):
        eg.onnx.export(model, np.ones((1, 2), np.float32), tmp_path / "a.onnx")
    with pytest.raises(TypeError, match="dynamic_axis"):
        eg.onnx.export(model, eg.randn(1, 2), tmp_path / "a.onnx", dynamic_axis={"input_0": [0]})
    with pytest.raises(ValueError, match="axis 2"):
        eg.onnx.export(model, eg.randn(1, 2), tmp_path / "a.onnx", dynamic_axes={"input_0": {2: "b"}})
    assert not os.listdir(tmp_path)


def test_missing_onnx_says_how_to_install(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match="pip install onnx"):
        eg.onnx.export(nn.Linear(2, 2), eg.randn(1, 2), tmp_path / "a.onnx")


def test_opset_18_and_is_in_onnx_export(tmp_path):
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            seen.append(eg.onnx.is_in_onnx_export())
            return self.fc(x)

    proto = eg.onnx.export(Probe(), eg.randn(1, 2), tmp_path / "a.onnx", opset_version=18)
    assert proto.opset_import[0].version == 18 and seen == [True] and not eg.onnx.is_in_onnx_export()


# --- PyTorch-style script under eigengrad.compat ----------------------------------------------------------

def test_torch_onnx_export_under_compat(tmp_path):
    from eigengrad.compat import torch_alias

    path = os.fspath(tmp_path / "compat.onnx")
    with torch_alias():
        import torch
        import torch.nn as tnn
        import torch.onnx

        net = tnn.Sequential(tnn.Linear(5, 8), tnn.ReLU(), tnn.Linear(8, 2))
        net.eval()
        dummy = torch.randn(1, 5)
        torch.onnx.export(net, (dummy,), path, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch_size"}, "logits": {0: "batch_size"}},
                          opset_version=17, do_constant_folding=True, export_params=True)
    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    got = _session(path).run(["logits"], {"input": x})[0]
    np.testing.assert_allclose(got, _eager(net, [x])[0], rtol=TOL, atol=TOL)


SCRIPT = """
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.onnx


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.fc = nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        return F.log_softmax(self.fc(torch.flatten(x, 1)), dim=1)


torch.manual_seed(0)
model = Net()
model.eval()
dummy = torch.randn(1, 1, 14, 14)
torch.onnx.export(model, dummy, sys.argv[1], export_params=True, opset_version=17, do_constant_folding=True,
                  input_names=["input"], output_names=["output"],
                  dynamic_axes={"input": {0: "batch_size"}, "output": {0: "batch_size"}})
x = torch.randn(3, 1, 14, 14)
with torch.no_grad():
    torch.save({"x": x, "y": model(x)}, sys.argv[2])
"""


def test_pytorch_script_run_by_eigengrad_compat(tmp_path):
    """A PyTorch export script, unchanged, under ``python -m eigengrad.compat``."""
    import subprocess
    import sys

    script, path, saved = tmp_path / "export.py", tmp_path / "net.onnx", tmp_path / "xy.pt"
    script.write_text(SCRIPT)
    subprocess.run([sys.executable, "-m", "eigengrad.compat", str(script), str(path), str(saved)], check=True,
                   cwd=tmp_path, timeout=300)
    xy = eg.load(saved)
    got = _session(path).run(["output"], {"input": xy["x"].numpy()})[0]
    np.testing.assert_allclose(got, xy["y"].numpy(), rtol=TOL, atol=TOL)


def test_concurrent_exports_from_threads_equal_sequential_ones_and_restore_everything(tmp_path):
    """Exports patch module functions while they trace: from several threads at once they take turns, each
    file equals the one a lone export writes, and every patched function is the original afterwards."""
    from eigengrad.compile import recorder
    from eigengrad.tensor import Tensor
    from interleaved import run_interleaved

    originals = {name: vars(Tensor)[name] for name in ("__add__", "softmax", "clamp")}
    f_softmax = F.softmax

    def build(seed):
        eg.manual_seed(seed)
        return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4), nn.Softmax(dim=1)).eval()

    x = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    models = [build(seed) for seed in range(4)]  # here: the default generator is the process's
    lone = []
    for seed, model in enumerate(models):
        path = tmp_path / f"lone{seed}.onnx"
        eg.onnx.export(model, (eg.tensor(x),), str(path))
        lone.append(path.read_bytes())

    def work(seed):
        for k in range(3):
            path = tmp_path / f"t{seed}_{k}.onnx"
            eg.onnx.export(models[seed], (eg.tensor(x),), str(path))
            assert path.read_bytes() == lone[seed]

    errors = run_interleaved(work, 4)
    assert not errors, errors
    assert {name: vars(Tensor)[name] for name in originals} == originals
    assert F.softmax is f_softmax
    assert recorder._TRACING.acquire(blocking=False)  # released by every export
    recorder._TRACING.release()
