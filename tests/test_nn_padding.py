"""F.pad and the padding layers (ConstantPad/ZeroPad/ReflectionPad/ReplicationPad/CircularPad 1-3d):
values and gradients side by side with torch 2.13 over every mode, negative (cropping) pads and empty dims;
float64 gradcheck to second order; PyTorch's errors. Real programs pad with F.pad before convolutions and
in collate functions (issue 17's ported programs)."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad.autograd.gradcheck import gradcheck, gradgradcheck

CASES = [  # (shape, pad, mode)
    ((1, 2, 3), (1, 2), "circular"), ((1, 2, 3), (2, 2), "reflect"), ((1, 2, 3), (-1, 2), "replicate"),
    ((2, 3), (-1, 2, 1, 0), "constant"), ((2, 3, 4, 5), (1, 2, 3, 0), "reflect"),
    ((2, 3, 4, 5), (1, 2, 3, 0), "replicate"), ((2, 3, 4, 5, 3), (1, 2, 3, 0, 2, 2), "replicate"),
    ((2, 3, 4, 5), (1, 2, 3, 4), "circular"), ((3,), (2, 3), "constant"), ((2, 0, 3), (1, 1, 1, 1), "constant"),
    ((2, 2, 3), (0, 0), "reflect"), ((2, 7, 5), (3, 1, 0, 6), "constant"), ((1, 1, 5, 5, 5), (4, 4, 1, 0, 2, 3), "reflect"),
]


def _ids(case):
    return f"{case[2]}-{case[0]}-{case[1]}"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_pad_matches_torch_values_and_gradients(case, dt):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for F.pad")
    shape, pads, mode = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dt)
    value = 1.5 if mode == "constant" else None
    expected = torch.nn.functional.pad(torch.tensor(x), pads, mode=mode, value=value)
    g = rng.standard_normal(tuple(expected.shape)).astype(dt)
    t, e = torch.tensor(x, requires_grad=True), eg.tensor(x, requires_grad=True)
    yt = torch.nn.functional.pad(t, pads, mode=mode, value=value)
    ye = F.pad(e, pads, mode=mode, value=value)
    (yt * torch.tensor(g)).sum().backward()
    (ye * eg.tensor(g)).sum().backward()
    assert ye.dtype == e.dtype
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_pad_of_a_non_contiguous_input_and_an_int_tensor():
    x = eg.arange(24.0).reshape(2, 3, 4).transpose(1, 2)  # (2, 4, 3), strided
    want = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 1)), mode="reflect")
    np.testing.assert_array_equal(F.pad(x, (2, 1), mode="reflect").numpy(), want)
    ints = eg.arange(6).reshape(2, 3)
    out = F.pad(ints, (1, 1), value=9.5)  # PyTorch casts the fill to the tensor's dtype
    assert out.dtype == eg.int64
    np.testing.assert_array_equal(out.numpy(), [[9, 0, 1, 2, 9], [9, 3, 4, 5, 9]])


@pytest.mark.parametrize("mode, pads", [("constant", (1, -1, 2, 0)), ("reflect", (2, 1, 1, 2)),
                                        ("replicate", (3, 0, 1, 1)), ("circular", (1, 2, 2, 0))])
def test_pad_gradcheck_to_second_order(mode, pads):
    x = eg.tensor(np.random.default_rng(1).standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda a: F.pad(a, pads, mode=mode) ** 2, (x,))
    assert gradgradcheck(lambda a: F.pad(a, pads, mode=mode) ** 2, (x,))


@pytest.mark.parametrize("args, error, message", [
    (((2, 3), (1,)), RuntimeError, "Padding length must be divisible by 2"),
    (((2, 3), (1, 1, 1, 1, 1, 1)), RuntimeError, "Padding length should be less than or equal to two times"),
    (((2, 3), (1, 1), "foo"), NotImplementedError, "Unrecognised padding mode foo"),
    (((2, 3), (3, 3), "reflect"), RuntimeError, "Padding size should be less than the corresponding input dimension"),
    (((2, 3), (4, 0), "circular"), RuntimeError, "Padding value causes wrapping around more than once"),
    (((2, 3), (1, 0), "replicate", 2), RuntimeError, 'Padding mode "replicate" doesn\'t take in value argument'),
    (((3,), (1, 0), "replicate"), NotImplementedError, "Padding size 2 is not supported for 1D input tensor"),
    (((2, 3), (1, 1, 1, 1), "reflect"), NotImplementedError, "Padding size 4 is not supported for 2D input tensor"),
    (((2, 3), (-4, 0)), RuntimeError, "length must be non-negative"),
    (((2, 3), (1.5, 0)), TypeError, "must be tuple of ints"),
])
def test_pad_errors_are_pytorchs(args, error, message):
    shape, *rest = args
    with pytest.raises(error, match=message.replace("(", r"\(")):
        F.pad(eg.zeros(shape), *rest)


def test_pad_messages_match_torch():
    torch = pytest.importorskip("torch", reason="PyTorch's messages are the reference")
    for shape, pads, mode in [((2, 3), (3, 3), "reflect"), ((2, 3), (1,), "constant"), ((2, 3), (4, 0), "circular")]:
        with pytest.raises(Exception) as theirs:
            torch.nn.functional.pad(torch.zeros(shape), pads, mode=mode)
        with pytest.raises(RuntimeError) as ours:
            F.pad(eg.zeros(shape), pads, mode=mode)
        assert str(ours.value) == str(theirs.value)


LAYERS = ["ZeroPad1d(2)", "ZeroPad2d((1, 0, 2, 3))", "ZeroPad3d(1)", "ConstantPad1d((1, 2), 3.5)",
          "ConstantPad2d(1, -1.0)", "ConstantPad3d((0, 1, 1, 0, 2, 2), 0.5)", "ReflectionPad1d(2)",
          "ReflectionPad2d((1, 2, 3, 0))", "ReflectionPad3d(1)", "ReplicationPad1d((0, 3))", "ReplicationPad2d(2)",
          "ReplicationPad3d(1)", "CircularPad1d(1)", "CircularPad2d((1, 1, 2, 0))", "CircularPad3d(1)"]


@pytest.mark.parametrize("layer", LAYERS)
def test_padding_layers_match_torch(layer):
    torch = pytest.importorskip("torch", reason="PyTorch's layers are the reference")
    dims = int(layer.split("(")[0][-2])
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 5, 6)[: dims + 2])
    ours = eval("nn." + layer)
    theirs = eval("torch.nn." + layer)
    assert ours.padding == tuple(theirs.padding)
    np.testing.assert_allclose(ours(eg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())


def test_padding_layer_rejects_a_wrong_tuple():
    with pytest.raises(ValueError, match="padding: expected an int or a tuple of 4 ints, got \\(1, 2\\)"):
        nn.ReflectionPad2d((1, 2))


def test_circular_pad_wraps_what_a_negative_amount_leaves():
    """PyTorch checks each amount against the input's size, then wraps the part a negative amount leaves: its
    CircularPad2d((-1, 2, 0, 0)) on (1, 2, 2) repeats the last column three times (this raised 'wrapping
    around more than once', checked against the cropped size). Amounts larger than what is left repeat it
    with that period; a padded dim cropped to nothing cannot wrap."""
    x = eg.tensor(np.arange(4.0).reshape(1, 2, 2), requires_grad=True)
    y = eg.nn.CircularPad2d((-1, 2, 0, 0))(x)
    np.testing.assert_array_equal(y.detach().numpy(), [[[1, 1, 1], [3, 3, 3]]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[0, 3], [0, 3]]])
    np.testing.assert_array_equal(F.pad(eg.tensor(np.arange(5.0)[None]), (3, -2), mode="circular").numpy(),
                                  [[0, 1, 2, 0, 1, 2]])
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(eg.zeros(1, 2), (-1, 3), mode="circular")
    with pytest.raises(RuntimeError, match="needs a non-empty dimension"):
        F.pad(eg.zeros(1, 1, 3), (0, 0, -1, 1), mode="circular")


def test_circular_pad_with_negative_amounts_matches_torch():
    torch = pytest.importorskip("torch", reason="compares with PyTorch's circular padding")
    rng = np.random.default_rng(4)
    compared = 0
    for _ in range(400):
        k = int(rng.integers(1, 4))
        shape = tuple(int(s) for s in rng.integers(1, 6, k + 1))
        pads = [int(p) for p in rng.integers(-3, 4, 2 * k)]
        sizes = [shape[-1 - i] for i in range(k)]
        left = [shape[-1 - i] + min(pads[2 * i], 0) + min(pads[2 * i + 1], 0) for i in range(k)]
        # (where PyTorch's copies are well defined: every amount within what the crop leaves, which is not empty)
        if not all(0 < m and max(pads[2 * i], pads[2 * i + 1]) <= min(m, sizes[i]) for i, m in enumerate(left)):
            continue
        x = rng.standard_normal(shape)
        np.testing.assert_array_equal(F.pad(eg.tensor(x), pads, mode="circular").numpy(),
                                      torch.nn.functional.pad(torch.tensor(x), pads, mode="circular").numpy())
        compared += 1
    assert compared > 100
