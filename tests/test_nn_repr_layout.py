"""A printed model reads as PyTorch's (found 2026-12-06 printing one model of every kind beside PyTorch's):

- a multi-line ``extra_repr`` goes on lines of its own, before the submodules (it was glued to the head);
- ParameterList / ParameterDict entries are indented as PyTorch's, with its dtype / type names;
- MultiheadAttention prints no options of its own, and its ``out_proj`` is PyTorch's
  NonDynamicallyQuantizableLinear (a Linear).
"""
import pytest

import eigengrad as eg


class _TwoLines(eg.nn.Module):
    def extra_repr(self) -> str:
        return "a=1\nb=2"


def test_multiline_extra_repr_goes_on_its_own_lines():
    assert repr(_TwoLines()) == "_TwoLines(\n  a=1\n  b=2\n)"
    m = _TwoLines()
    m.lin = eg.nn.Linear(1, 2)
    assert repr(m) == "_TwoLines(\n  a=1\n  b=2\n  (lin): Linear(in_features=1, out_features=2, bias=True)\n)"


def test_one_line_extra_repr_stays_on_the_head_line():
    assert repr(eg.nn.Linear(3, 4, bias=False)) == "Linear(in_features=3, out_features=4, bias=False)"
    assert repr(eg.nn.Sequential()) == "Sequential()"
    assert repr(eg.nn.Sequential(eg.nn.ReLU())) == "Sequential(\n  (0): ReLU()\n)"


def test_parameter_list_and_dict_layout():
    pl = eg.nn.ParameterList([eg.nn.Parameter(eg.ones(2, 3)), eg.ones(2)])
    assert repr(pl) == ("ParameterList(\n    (0): Parameter containing: [eigengrad.float32 of size 2x3]\n"
                        "    (1): Parameter containing: [eigengrad.float32 of size 2]\n)")
    pd = eg.nn.ParameterDict({"a": eg.nn.Parameter(eg.ones(2)), "b": eg.nn.Parameter(eg.ones(2, 2).double())})
    assert repr(pd) == ("ParameterDict(\n    (a): Parameter containing: [torch.FloatTensor of size 2]\n"
                        "    (b): Parameter containing: [torch.DoubleTensor of size 2x2]\n)")
    assert repr(eg.nn.ParameterList()) == "ParameterList()"


def test_multihead_attention_prints_as_pytorchs():
    m = eg.nn.MultiheadAttention(8, 2, batch_first=True)
    assert isinstance(m.out_proj, eg.nn.Linear)
    assert repr(m) == ("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, "
                       "out_features=8, bias=True)\n)")


def test_side_by_side_with_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")

    def build(lib):
        nn = lib.nn
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.LSTM(8, 4, num_layers=2, bidirectional=True),
                             nn.TransformerEncoderLayer(16, 4, 32, batch_first=True),
                             nn.ModuleDict({"a": nn.Linear(2, 2)}), nn.MultiheadAttention(8, 2))

    assert repr(build(eg)) == repr(build(torch))


def test_module_list_prints_runs_of_alike_modules_on_one_line():
    nn = eg.nn
    ml = nn.ModuleList([nn.Linear(1, 1), nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 1)])
    assert repr(ml) == ("ModuleList(\n  (0-1): 2 x Linear(in_features=1, out_features=1, bias=True)\n  (2): ReLU()\n"
                        "  (3): Linear(in_features=1, out_features=1, bias=True)\n)")
    assert repr(nn.ModuleList()) == "ModuleList()"
    assert repr(nn.ModuleList([nn.ReLU()] * 3)) == "ModuleList(\n  (0-2): 3 x ReLU()\n)"
    assert repr(nn.Sequential(nn.ReLU(), nn.ReLU())) == "Sequential(\n  (0): ReLU()\n  (1): ReLU()\n)"  # (not grouped)


def test_losses_and_rnn_print_only_what_pytorchs_do():
    assert repr(eg.nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.1)) == "CrossEntropyLoss()"
    assert repr(eg.nn.RNN(3, 4, nonlinearity="relu", num_layers=2)) == "RNN(3, 4, num_layers=2)"


def test_every_layer_prints_as_pytorchs():
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")
    cases = [("Linear", (3, 4), {}), ("Conv2d", (2, 4, 3), dict(stride=2, padding=1, dilation=2, groups=2, bias=False,
                                                              padding_mode="reflect")),
             ("ConvTranspose2d", (2, 4, 3), dict(stride=2, output_padding=1, groups=2)),
             ("BatchNorm1d", (4,), dict(momentum=None, affine=False, eps=1e-3)), ("LayerNorm", ((4, 5),), {}),
             ("LSTM", (3, 4), dict(num_layers=2, batch_first=True, dropout=0.5, bidirectional=True, proj_size=2)),
             ("RNN", (3, 4), dict(nonlinearity="relu")), ("GRUCell", (3, 4), {}), ("Embedding", (5, 3), dict(padding_idx=0)),
             ("EmbeddingBag", (5, 3), dict(mode="sum")), ("MaxPool2d", (3,), dict(stride=1, ceil_mode=True)),
             ("AvgPool2d", (3,), dict(count_include_pad=False)), ("Dropout", (0.3,), {}), ("GELU", (), dict(approximate="tanh")),
             ("Softplus", (), dict(beta=2)), ("Upsample", (), dict(size=(4, 5), mode="bilinear", align_corners=True)),
             ("CrossEntropyLoss", (), dict(reduction="none")), ("MSELoss", (), {}), ("PReLU", (3,), {}),
             ("TransformerDecoderLayer", (8, 2, 16), dict(batch_first=True)), ("MultiheadAttention", (8, 2), dict(kdim=4, vdim=6)),
             ("GroupNorm", (2, 4), {}), ("Unflatten", (1, (2, 3)), {}), ("Fold", ((4, 5), 2), {}), ("PixelShuffle", (2,), {})]
    for name, args, kw in cases:
        assert repr(getattr(eg.nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw)), name
    enc = [lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16), 2, enable_nested_tensor=False) for lib in (eg, torch)]
    assert repr(enc[0]) == repr(enc[1])
