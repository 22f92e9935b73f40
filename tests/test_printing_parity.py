"""Tensor printing against PyTorch 2.13's (eigengrad/_printing.py), from a differential fuzz campaign: fixed
strings that PyTorch printed (its 'torch.' as 'eigengrad.'), so they check without torch, then a seeded random
comparison with torch itself when it is installed. The differences the campaign found and these pin: the
suffixes wrapped where PyTorch's do (the longer module name in 'dtype=eigengrad.float64' must not move the
break), 'size=' while edgeitems is 0, complex values ('1.0000+2.0000j', two shared formats), the dtype
suffix following set_default_dtype, and a 0-d Parameter formatting as its repr."""
import math

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _printing


@pytest.fixture(autouse=True)
def _restore_options():
    yield
    eg.set_printoptions(profile="default", sci_mode=None)
    eg.set_default_dtype(eg.float32)


def _t(values, dtype=None, **kw):
    return eg.tensor(values, dtype=dtype, **kw)


# name: (options, default dtype, builder, PyTorch 2.13's text with 'torch.' as 'eigengrad.')
CASES = {
    "wrap_dtype_requires_grad": (
        None, None, lambda: eg.zeros(1500, dtype=eg.float64, requires_grad=True),
        "tensor([0., 0., 0.,  ..., 0., 0., 0.], dtype=eigengrad.float64, requires_grad=True)"),
    "wrap_parameter": (
        None, None, lambda: eg.nn.Parameter(eg.zeros(1500, dtype=eg.float64)),
        "Parameter containing:\ntensor([0., 0., 0.,  ..., 0., 0., 0.], dtype=eigengrad.float64, requires_grad=True)"),
    "edgeitems0_small": (
        dict(edgeitems=0), None, lambda: _t([[1.5, 2.0], [3.0, 4.0]]),
        "tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]], size=(2, 2))"),
    "edgeitems0_summarized_1d": (dict(edgeitems=0), None, lambda: eg.arange(2000), "tensor([...], size=(2000,))"),
    "edgeitems0_summarized_2d": (dict(edgeitems=0), None, lambda: eg.ones(40, 40), "tensor([...], size=(40, 40))"),
    "edgeitems0_empty": (dict(edgeitems=0), None, lambda: eg.zeros(0, 2), "tensor([], size=(0, 2))"),
    "complex_vector": (
        None, None, lambda: _t([1 + 2j, -0.5 - 3.25j, 4j], eg.complex64),
        "tensor([ 1.0000+2.0000j, -0.5000-3.2500j,  0.0000+4.0000j])"),
    "complex_scalar": (None, None, lambda: _t(1.5 - 2j, eg.complex64), "tensor(1.5000-2.j)"),
    "complex128_sci_real": (
        None, None, lambda: _t([[1e-5 + 1j, 2 + 0j]], eg.complex128),
        "tensor([[1.0000e-05+1.j, 2.0000e+00+0.j]], dtype=eigengrad.complex128)"),
    "complex_empty": (None, None, lambda: eg.zeros(0, dtype=eg.complex64), "tensor([], dtype=eigengrad.complex64)"),
    "default_f64_float64": (None, eg.float64, lambda: _t([1.5, 2.0]), "tensor([1.5000, 2.0000])"),
    "default_f64_float32": (
        None, eg.float64, lambda: _t([1.5, 2.0], eg.float32), "tensor([1.5000, 2.0000], dtype=eigengrad.float32)"),
    "default_f64_complex128": (None, eg.float64, lambda: _t([1j], eg.complex128), "tensor([0.+1.j])"),
    "default_f64_complex64": (
        None, eg.float64, lambda: _t([1j], eg.complex64), "tensor([0.+1.j], dtype=eigengrad.complex64)"),
    "default_f64_empty_float32": (
        None, eg.float64, lambda: eg.zeros(0, dtype=eg.float32), "tensor([], dtype=eigengrad.float32)"),
    "default_f64_empty_float64": (None, eg.float64, lambda: eg.zeros(0, dtype=eg.float64), "tensor([])"),
    "negative_zero_int_mode": (None, None, lambda: _t([-0.0, 0.0, 5.0]), "tensor([-0., 0., 5.])"),
    "nan_inf": (
        None, None, lambda: _t([math.nan, math.inf, -math.inf, 0.5]), "tensor([   nan,    inf,   -inf, 0.5000])"),
    "sci_min_at_1e-4": (None, None, lambda: _t([1e-4, 1.0]), "tensor([1.0000e-04, 1.0000e+00])"),
    "sci_min_under_1e-4": (None, None, lambda: _t([9.9999e-5, 1.0]), "tensor([9.9999e-05, 1.0000e+00])"),
    "ratio_1000_is_not_sci": (None, None, lambda: _t([1.0, 1000.0]), "tensor([   1., 1000.])"),
    "ratio_over_1000": (None, None, lambda: _t([1.0, 1000.5]), "tensor([1.0000e+00, 1.0005e+03])"),
    "max_1e8_is_not_over": (
        None, None, lambda: _t([1e8, 1.0, 2.0], eg.float64),
        "tensor([1.0000e+08, 1.0000e+00, 2.0000e+00], dtype=eigengrad.float64)"),
    "max_over_1e8": (
        None, None, lambda: _t([1.5e8, 3.0], eg.float64), "tensor([1.5000e+08, 3.0000e+00], dtype=eigengrad.float64)"),
    "whole_floats_in_sci": (None, None, lambda: _t([123456789.0, -5.0]), "tensor([ 1.2346e+08, -5.0000e+00])"),
    "float16": (
        None, None, lambda: _t([65504.0, -1.0, 0.5], eg.float16),
        "tensor([ 6.5504e+04, -1.0000e+00,  5.0000e-01], dtype=eigengrad.float16)"),
    "int8": (
        None, None, lambda: _t([[-128, 0, 127], [1, 2, 3]], eg.int8),
        "tensor([[-128,    0,  127],\n        [   1,    2,    3]], dtype=eigengrad.int8)"),
    "uint8": (None, None, lambda: _t([0, 255], eg.uint8), "tensor([  0, 255], dtype=eigengrad.uint8)"),
    "bool_3d": (
        None, None, lambda: _t([[[True, False]], [[False, False]]]),
        "tensor([[[ True, False]],\n\n        [[False, False]]])"),
    "nested_3d": (
        None, None, lambda: eg.arange(24.0).reshape(2, 3, 4) / 7,
        "tensor([[[0.0000, 0.1429, 0.2857, 0.4286],\n         [0.5714, 0.7143, 0.8571, 1.0000],\n"
        "         [1.1429, 1.2857, 1.4286, 1.5714]],\n\n        [[1.7143, 1.8571, 2.0000, 2.1429],\n"
        "         [2.2857, 2.4286, 2.5714, 2.7143],\n         [2.8571, 3.0000, 3.1429, 3.2857]]])"),
    "summarized_3d_int32": (
        None, None, lambda: eg.arange(2 * 30 * 40, dtype=eg.int32).reshape(2, 30, 40),
        "tensor([[[   0,    1,    2,  ...,   37,   38,   39],\n         [  40,   41,   42,  ...,   77,   78,   79],\n"
        "         [  80,   81,   82,  ...,  117,  118,  119],\n         ...,\n"
        "         [1080, 1081, 1082,  ..., 1117, 1118, 1119],\n         [1120, 1121, 1122,  ..., 1157, 1158, 1159],\n"
        "         [1160, 1161, 1162,  ..., 1197, 1198, 1199]],\n\n"
        "        [[1200, 1201, 1202,  ..., 1237, 1238, 1239],\n         [1240, 1241, 1242,  ..., 1277, 1278, 1279],\n"
        "         [1280, 1281, 1282,  ..., 1317, 1318, 1319],\n         ...,\n"
        "         [2280, 2281, 2282,  ..., 2317, 2318, 2319],\n         [2320, 2321, 2322,  ..., 2357, 2358, 2359],\n"
        "         [2360, 2361, 2362,  ..., 2397, 2398, 2399]]], dtype=eigengrad.int32)"),
    "linewidth_30_precision_2": (
        dict(linewidth=30, precision=2), None, lambda: eg.arange(12.0) / 3,
        "tensor([0.00, 0.33, 0.67,\n        1.00, 1.33, 1.67,\n        2.00, 2.33, 2.67,\n        3.00, 3.33, 3.67])"),
    "profile_short": (
        dict(profile="short"), None, lambda: eg.arange(1500.0).reshape(30, 50) / 1000,
        "tensor([[0.00e+00, 1.00e-03,  ..., 4.80e-02, 4.90e-02],\n"
        "        [5.00e-02, 5.10e-02,  ..., 9.80e-02, 9.90e-02],\n        ...,\n"
        "        [1.40e+00, 1.40e+00,  ..., 1.45e+00, 1.45e+00],\n"
        "        [1.45e+00, 1.45e+00,  ..., 1.50e+00, 1.50e+00]])"),
    "sci_mode_true": (dict(sci_mode=True), None, lambda: _t([1.0, 2.0]), "tensor([1.0000e+00, 2.0000e+00])"),
    "sci_mode_false": (dict(sci_mode=False), None, lambda: _t([1e-8, 1e8]), "tensor([        0.0000, 100000000.0000])"),
    "threshold_5_edgeitems_1": (
        dict(threshold=5, edgeitems=1), None, lambda: eg.arange(6).reshape(2, 3),
        "tensor([[0,  ..., 2],\n        [3,  ..., 5]])"),
    "leaf": (None, None, lambda: _t([[1.0, -2.0]], requires_grad=True), "tensor([[ 1., -2.]], requires_grad=True)"),
    "non_leaf": (
        None, None, lambda: _t([[1.0, -2.0]], requires_grad=True) * 2, "tensor([[ 2., -4.]], grad_fn=<MulBackward0>)"),
    "containers": (
        None, None, lambda: [_t(1), (_t([0.5]),), {"k": eg.zeros(0, dtype=eg.int64)}],
        "[tensor(1), (tensor([0.5000]),), {'k': tensor([], dtype=eigengrad.int64)}]"),
    "empty_shapes": (
        None, None, lambda: [eg.zeros(0), eg.zeros(2, 0, 3), eg.zeros(0, dtype=eg.int64)],
        "[tensor([]), tensor([], size=(2, 0, 3)), tensor([], dtype=eigengrad.int64)]"),
    "zero_d": (
        None, None, lambda: [_t(3.5), _t(-0.0), _t(5), _t(math.nan), _t(1e-10)],
        "[tensor(3.5000), tensor(-0.), tensor(5), tensor(nan), tensor(1.0000e-10)]"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_prints_as_pytorch_2_13(name):
    options, default, build, expected = CASES[name]
    if default is not None:
        eg.set_default_dtype(default)
    if options:
        eg.set_printoptions(**options)
    assert repr(build()) == expected


def test_format_specs_on_0d_tensors():
    third = _t(2.0 / 3)
    text = f"{third:.3f}|{format(third, '.2e')}|{_t(7)}|{_t(0.25)}|{format(_t(True), '>6')}"
    assert text == "0.667|6.67e-01|7|0.25|     1"
    assert f"{third.item():.3f}" == "0.667"
    # a Parameter formats as its repr (PyTorch formats only a plain tensor's number)
    assert f"{eg.nn.Parameter(_t(1.5))}" == "Parameter containing:\ntensor(1.5000, requires_grad=True)"
    assert f"{_t([1.0, 2.0])}" == "tensor([1., 2.])"
    with pytest.raises(TypeError):
        format(_t([1.0, 2.0]), ".2f")


def test_summarized_print_formats_only_the_edges(monkeypatch):
    """A big tensor's shared format comes from the shown values only (PyTorch's get_summarized_data)."""
    seen = []
    formatter = _printing._formatter
    monkeypatch.setattr(_printing, "_formatter", lambda values: seen.append(values.shape) or formatter(values))
    text = repr(eg.arange(2000.0 * 3000).reshape(2000, 3000))
    assert seen == [(6, 6)]
    assert text.count("\n") == 12 and text.startswith("tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ...,")
    assert text.endswith("        [5.9970e+06, 5.9970e+06, 5.9970e+06,  ..., 6.0000e+06, 6.0000e+06,\n"
                         "         6.0000e+06]])")
    eg.set_printoptions(edgeitems=2)
    repr(eg.zeros(10, 20, 30))
    assert seen[-1] == (4, 4, 4)


# ---------------------------------------------------------------------------------------------------------------
# randomized comparison with torch


def _random_array(rng):
    kind = rng.integers(0, 7)
    if kind == 0:
        shape = ()
    elif kind == 1:
        shape = (int(rng.choice([0, 1, 3, 7, 30, 999, 1000, 1001, 1500])),)
    elif kind == 2:  # an empty dimension
        shape = tuple(int(rng.integers(0, 4)) for _ in range(int(rng.integers(2, 4))))
        shape = (0,) + shape[1:]
    elif kind == 3:  # around the summarization threshold
        rows = int(rng.integers(1, 40))
        shape = (rows, max(1, int(rng.choice([1000, 1001, 2000])) // rows))
    else:
        shape = tuple(int(rng.integers(1, 7)) for _ in range(int(rng.integers(2, 5))))
    dtype = str(rng.choice(["float32", "float64", "float32", "float64", "float16", "int8", "int16", "int32",
                            "int64", "uint8", "bool", "complex64", "complex128"]))
    n = int(np.prod(shape))
    if dtype == "bool":
        return rng.integers(0, 2, n).astype(bool).reshape(shape)
    if dtype[0] in "iu":
        info = np.iinfo(dtype)
        high = int(rng.choice([10, 1000, int(info.max)]))
        return rng.integers(max(int(info.min), -high), high, n, endpoint=True).astype(dtype).reshape(shape)
    mode = rng.integers(0, 5)
    if mode == 0:
        values = rng.standard_normal(n) * 10.0 ** rng.uniform(-10, 10)
    elif mode == 1:  # whole numbers
        values = np.round(rng.standard_normal(n) * 10.0 ** rng.integers(0, 10))
    elif mode == 2:  # magnitudes spread wide
        values = rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 6, n)
    elif mode == 3:  # around the sci-mode bounds
        values = rng.choice([1e-4, 9.9999e-5, 1e8, 1.0000001e8, 1.0, 1000.0, 999.95, 9.99995, 0.5], n)
    else:
        values = rng.uniform(-1, 1, n)
    if rng.random() < 0.4:
        special = rng.random(n) < 0.3
        values[special] = rng.choice([np.nan, np.inf, -np.inf, -0.0, 0.0], int(special.sum()))
    if dtype.startswith("complex"):
        values = values + 1j * np.round(rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3), int(rng.integers(0, 4)))
    with np.errstate(over="ignore"):
        return values.astype(dtype).reshape(shape)


def _random_options(rng):
    options = {}
    if rng.random() < 0.15:
        options["profile"] = str(rng.choice(["default", "short", "full"]))
    for name, draw in (("precision", lambda: int(rng.integers(0, 10))),
                       ("threshold", lambda: [int(rng.integers(0, 50)), 1000, math.inf][int(rng.integers(3))]),
                       ("edgeitems", lambda: int(rng.integers(0, 5))),
                       ("linewidth", lambda: int(rng.integers(5, 160))),
                       ("sci_mode", lambda: [True, False, None][int(rng.integers(3))])):
        if rng.random() < 0.3:
            options[name] = draw()
    return options


def _prints(mod, a, rng_choice):
    """What a program prints of array ``a`` with module ``mod`` (torch or eigengrad)."""
    t = mod.tensor(a)
    out = [repr(t), str(t), f"{t}", repr([t, (t,), {"k": t}])]
    if t.dim() == 0:
        out += [format(t, spec) for spec in ("", ".3f", ".2e", "10.4f", "g")] + [f"{t.item():.3f}"]
    if a.dtype.kind == "f" and a.dtype != np.float16:
        leaf = mod.tensor(a, requires_grad=True)
        out += [repr(leaf), repr(mod.nn.Parameter(mod.tensor(a))),
                repr(mod.nn.Parameter(mod.tensor(a), requires_grad=False))]
        # ops whose node names and values agree with PyTorch's
        out.append(repr([leaf * 2, leaf + 1, -leaf, leaf.reshape(-1)[:1].sum()][rng_choice % 4]))
    return [text.replace("torch.", "eigengrad.") for text in out]


@pytest.mark.parametrize("chunk", range(6))
def test_random_tensors_print_as_torch(chunk):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference the random tensors' prints are compared with")
    rng = np.random.default_rng(20261206 + chunk)
    try:
        for case in range(60):
            a, options = _random_array(rng), _random_options(rng)
            float64 = rng.random() < 0.15
            choice = int(rng.integers(0, 1000))
            for mod in (torch, eg):
                mod.set_default_dtype(mod.float64 if float64 else mod.float32)
                mod.set_printoptions(profile="default", sci_mode=None)
                mod.set_printoptions(**options)
            theirs, ours = _prints(torch, a, choice), _prints(eg, a, choice)
            for t, o in zip(theirs, ours):
                assert o == t, (chunk, case, a.dtype, a.shape, options, float64)
            assert len(theirs) == len(ours)
    finally:
        torch.set_printoptions(profile="default", sci_mode=None)
        torch.set_default_dtype(torch.float32)
