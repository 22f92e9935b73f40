"""Regression tests for what porting session 2026-12-06 (h_ported: DiT, LoRA, Glow, GraphSAGE, Mamba, BYOL
programs in tests/ported/) found in eigengrad."""
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.nn.utils import parametrize


def _parametrizations(nn):
    class _Scale(nn.Module):  # no right_inverse
        def forward(self, X):
            return X * 2

    class _Neg(nn.Module):
        def forward(self, X):
            return -X

        def right_inverse(self, X):
            return -X

    class _Split(nn.Module):
        def forward(self, A, B):
            return A + B

        def right_inverse(self, W):
            return W / 2, W / 2

    return _Scale, _Neg, _Split


def _assign_errors(lib):
    """What assigning to a parametrized weight does, for eigengrad or torch (``lib``)."""
    _Scale, _Neg, _Split = _parametrizations(lib.nn)
    out = []
    lin = lib.nn.Linear(2, 2)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
    lib.nn.utils.parametrize.register_parametrization(lin, "weight", _Neg())
    lib.nn.utils.parametrize.register_parametrization(lin, "weight", _Scale())  # registration: no inverse needed
    out.append(lin.weight.tolist())
    try:
        lin.weight = lib.ones(2, 2)
    except RuntimeError as e:
        out.append(str(e))
    out.append(lin.parametrizations.weight.original.tolist())  # unchanged by the refused assignment
    neg = lib.nn.Linear(2, 2)
    lib.nn.utils.parametrize.register_parametrization(neg, "weight", _Neg())
    try:
        neg.weight = lib.zeros(2, 2, dtype=lib.float64)
    except ValueError as e:
        out.append(str(e).split(" has dtype")[0])
    neg.weight = lib.ones(2, 2)
    out.append(neg.parametrizations.weight.original.tolist())
    split = lib.nn.Linear(2, 2)
    lib.nn.utils.parametrize.register_parametrization(split, "weight", _Split())
    split.weight = lib.full((2, 2), 3.0)
    out.append(split.parametrizations.weight.original1.tolist())
    return out


EXPECTED = [[[2.0, 4.0], [6.0, 8.0]],
            "parametrization _Scale does not implement right_inverse.",
            [[-1.0, -2.0], [-3.0, -4.0]],
            "The tensor returned by `right_inverse`",
            [[-1.0, -1.0], [-1.0, -1.0]],
            [[1.5, 1.5], [1.5, 1.5]]]


def test_assigning_to_a_parametrized_tensor_needs_every_right_inverse():
    # PyTorch's ParametrizationList.right_inverse: registration takes a missing right_inverse as the identity,
    # assignment (module.weight = value) raises; eigengrad used to skip the missing one silently
    assert _assign_errors(eg) == EXPECTED


def test_assigning_to_a_parametrized_tensor_as_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its behaviour is the yardstick")
    assert _assign_errors(torch) == EXPECTED


def test_parametrize_right_inverse_sequence_length_is_checked():
    class Three(nn.Module):
        def forward(self, A, B):
            return A + B

        def right_inverse(self, W):
            return (W / 2, W / 2) if W.shape[0] == 2 else (W, W, W)

    lin = nn.Linear(2, 2)
    parametrize.register_parametrization(lin, "weight", Three())
    lin.weight = eg.ones(2, 2)
    assert lin.parametrizations.weight.original0.tolist() == [[0.5, 0.5], [0.5, 0.5]]
    with pytest.raises(ValueError, match="must return a sequence of tensors of length 2. Got a sequence of length 3"):
        lin.weight = eg.ones(3, 2)


SAME_WARNING = ("Using padding='same' with even kernel lengths and odd dilation may require a zero-padded copy of the "
                "input be created")
SAME_OUT = [[4.0, 4.0, 4.0, 2.0], [4.0, 4.0, 4.0, 2.0], [4.0, 4.0, 4.0, 2.0], [2.0, 2.0, 2.0, 1.0]]


def test_asymmetric_same_padding_warns_once_as_torch():
    # PyTorch's TORCH_WARN_ONCE in _convolution_mode: an odd total padding d (k - 1) (an even kernel, odd
    # dilation) makes 'same' pad one more element after than before; symmetric 'same' padding is silent
    import warnings

    import eigengrad.nn.functional as F
    from eigengrad.nn import _functional_conv

    _functional_conv._WARNED_ASYMMETRIC_SAME.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.conv2d(eg.ones(1, 1, 4, 4), eg.ones(1, 1, 3, 3), padding="same")
        F.conv1d(eg.ones(1, 1, 5), eg.ones(1, 1, 3), padding="same", dilation=3)
        assert caught == []
        out = F.conv2d(eg.ones(1, 1, 4, 4), eg.ones(1, 1, 2, 2), padding="same")
        F.conv1d(eg.ones(1, 1, 5), eg.ones(1, 1, 4), padding="same")  # once per process
    assert [str(w.message) for w in caught] == [SAME_WARNING]
    assert caught[0].category is UserWarning
    assert out[0, 0].tolist() == SAME_OUT


def test_asymmetric_same_padding_warning_is_torch_s():
    pytest.importorskip("torch", reason="PyTorch is not installed: its behaviour is the yardstick")
    import subprocess
    import sys
    code = ("import torch, torch.nn.functional as F\n"
            "F.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3), padding='same')\n"
            "print(F.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 2, 2), padding='same')[0, 0].tolist())\n"
            "F.conv1d(torch.ones(1, 1, 5), torch.ones(1, 1, 4), padding='same')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == str(SAME_OUT)
    assert result.stderr.count(SAME_WARNING) == 1


def test_index_reduce_gives_torch_s_beta_warning_once():
    # PyTorch's TORCH_WARN_ONCE in index_reduce (function, method and in-place form alike), pointing at the caller
    import warnings

    from eigengrad.tensor_ops import index as index_ops

    index_ops._WARNED_INDEX_REDUCE.clear()
    x = eg.zeros(2, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x.index_reduce_(0, eg.tensor([0, 0, 1]), eg.arange(6.0).view(3, 2), "mean", include_self=False)
        y = eg.ones(2, 2).index_reduce(0, eg.tensor([0, 0, 1]), eg.arange(6.0).view(3, 2), "amax")
    assert [str(w.message) for w in caught] == ["index_reduce() is in beta and the API may change at any time."]
    assert caught[0].filename == __file__
    assert x.tolist() == [[1.0, 2.0], [4.0, 5.0]] and y.tolist() == [[2.0, 3.0], [4.0, 5.0]]


def test_index_reduce_warning_is_torch_s():
    pytest.importorskip("torch", reason="PyTorch is not installed: its behaviour is the yardstick")
    import subprocess
    import sys
    code = ("import torch\n"
            "x = torch.zeros(2, 2)\n"
            "x.index_reduce_(0, torch.tensor([0, 0, 1]), torch.arange(6.).view(3, 2), 'mean', include_self=False)\n"
            "y = torch.ones(2, 2).index_reduce(0, torch.tensor([0, 0, 1]), torch.arange(6.).view(3, 2), 'amax')\n"
            "print(x.tolist(), y.tolist())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[[1.0, 2.0], [4.0, 5.0]] [[2.0, 3.0], [4.0, 5.0]]"
    assert result.stderr.count("index_reduce() is in beta and the API may change at any time.") == 1
