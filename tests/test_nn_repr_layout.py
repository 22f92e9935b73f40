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
