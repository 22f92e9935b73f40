"""The window geometry of convolution and pooling (cpp/bindings/geometry.hpp): one checked helper for every
conv and pooling binding and their Python wrappers. The reproducers of issue 16 (a SIGFPE, a SIGSEGV, a
hang and silently wrong pooling) each give a clear error now; each runs in a forked child, so a crash
or a hang fails the test instead of the session."""
import os

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad._kernels import _C
from forked import run_forked

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the reproducers run in forked children (POSIX)")
BOUND = r"expected values in \[1, 2147483647\]"


def _x():
    return eg.tensor(np.arange(64, dtype=np.float32).reshape(1, 1, 8, 8))


def _conv_args(dilation):
    x, w = np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3))
    return x, w, dilation


REPRODUCERS = {
    # SIGFPE: stride 0 divided by
    "pool2d_output_size stride 0": (lambda: _C.pool2d_output_size(10, 3, 0, 0, 1, False),
                                    ValueError, r"^stride: " + BOUND + ", got 0"),
    # SIGSEGV: d (k - 1) + 1 overflowed int64, the size check passed and the kernel read out of bounds
    "conv2d_forward dilation 2**62": (
        lambda: _C.conv2d_forward(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), None, np.empty((1, 1, 1, 1)),
                                  (1, 1), (0, 0, 0, 0), (2**62, 2**62), 1),
        ValueError, r"^dilation: " + BOUND + r", got \(4611686018427387904, 4611686018427387904\)"),
    "conv2d_backward dilation 2**62": (
        lambda: _C.conv2d_backward(np.ones((1, 1, 1, 1)), np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)),
                                   np.empty((1, 1, 8, 8)), None, None, (1, 1), (0, 0, 0, 0), (2**62, 2**62), 1),
        ValueError, r"^dilation: " + BOUND),
    "F.conv2d dilation 2**62": (lambda: F.conv2d(_x(), eg.ones(1, 1, 3, 3), dilation=(2**62, 2**62)),
                                ValueError, r"^dilation: " + BOUND),
    # a hang in C++ (the kernel's tap table had kh kw entries)
    "max_pool2d kernel 2**32+1": (
        lambda: F.max_pool2d(_x(), 2**32 + 1, stride=2**31 - 1, padding=2**30, ceil_mode=True),
        ValueError, r"^kernel_size: " + BOUND + ", got 4294967297"),
    # silently wrong: strides and dilations >= 2**31 wrapped in the kernel
    "max_pool2d dilation 2**63-1": (lambda: F.max_pool2d(_x(), 1, stride=2, dilation=2**63 - 1),
                                    ValueError, r"^dilation: " + BOUND + ", got 9223372036854775807"),
    "MaxPool2d dilation 2**62": (lambda: nn.MaxPool2d(5, dilation=2**62)(_x()),
                                 ValueError, r"^dilation: " + BOUND + ", got 4611686018427387904"),
    "max_pool2d stride 2**31": (lambda: F.max_pool2d(_x(), 2, stride=2**31), ValueError, r"^stride: " + BOUND),
    "avg_pool2d stride 2**40": (lambda: F.avg_pool2d(_x(), 3, stride=2**40), ValueError, r"^stride: " + BOUND),
    "avg_pool2d kernel 2**31": (lambda: F.avg_pool2d(_x(), 2**31), ValueError, r"^kernel_size: " + BOUND),
    "max_pool2d kernel 2**70": (lambda: F.max_pool2d(_x(), 2**70), ValueError, r"^kernel_size: " + BOUND),
    "conv2d padding 2**70": (lambda: F.conv2d(_x(), eg.ones(1, 1, 3, 3), padding=2**70),
                             ValueError, r"^padding: expected values in \[0, 2147483647\]"),
    "conv2d padded plane too large": (
        lambda: F.conv2d(_x(), eg.ones(1, 1, 3, 3), padding=2**31 - 1, stride=2**31 - 1),
        ValueError, r"^padding: the padded input plane \(4294967302, 4294967302\) has more than 2\^48"),
    "max_pool2d dilation 2**31-1 (output too small)": (
        lambda: F.max_pool2d(_x(), 2, dilation=2**31 - 1), ValueError, r"^kernel_size: the window \(2, 2\)"),
    "max_pool2d stride True": (lambda: F.max_pool2d(_x(), 2, stride=True), TypeError,
                               r"^stride: expected an int or a pair of ints, got True"),
    "pool2d_options padding (1, 2, 3)": (lambda: _C.pool2d_options(2, 2, (1, 2, 3), 1), TypeError,
                                         r"^padding: expected an int or a pair of ints, got \(1, 2, 3\)"),
}


# The child reports the exception's class name: the project's ArgumentError is PyTorch's RuntimeError and a
# ValueError (ArgumentTypeError: and a TypeError), raised where PyTorch raises RuntimeError.
_NAMES = {ValueError: ("ValueError", "ArgumentError"), TypeError: ("TypeError", "ArgumentTypeError")}


@pytest.mark.parametrize("name", list(REPRODUCERS))
def test_reproducer_raises_a_clear_error(name):
    call, error, match = REPRODUCERS[name]
    outcome = run_forked(call, timeout=20.0)
    assert outcome.kind == "raised", f"{name}: {outcome}"
    assert outcome.error_type in _NAMES.get(error, (error.__name__,)), f"{name}: {outcome}"
    assert outcome.matches(match), f"{name}: {outcome.message!r} does not match {match!r}"


def test_huge_kernel_within_bounds_is_fast_and_right():
    """kernel_size 2**31 - 1 with padding 2**30 - 1 (PyTorch 2.13 hangs on it): every window holds the whole
    8x8 input, so every output is its max; the tap table is not built."""
    x = _x()
    outcome = run_forked(lambda: F.max_pool2d(x, 2**31 - 1, stride=1, padding=2**30 - 1).numpy(), timeout=20.0)
    assert outcome.kind == "returned", outcome
    assert outcome.value.shape == (1, 1, 8, 8) and np.all(outcome.value == 63.0)
    y = F.avg_pool2d(x, 2**31 - 1, stride=2**31 - 1, padding=2**30 - 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(y.numpy(), [[[[31.5]]]])


def test_python_wrappers_use_the_binding_helper():
    """nn.functional's pooling options and conv output sizes come from the C++ helper (one owner)."""
    from eigengrad import _kernels as K
    assert K.pool2d_options(3, (2, 1), np.int64(1), 1) == ((3, 3), (2, 1), (1, 1), (1, 1))
    assert K.conv2d_output_size(8, 8, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1)) == (4, 4)
    with pytest.raises(ValueError, match=r"^weight: the \(dilated\) kernel \(9, 9\) is larger than the padded input"):
        K.conv2d_output_size(8, 8, 3, 3, (1, 1), (0, 0, 0, 0), (4, 4))
    with pytest.raises(ValueError, match=r"^padding: expected at most half the kernel size \(2, 2\), got \(2, 0\)"):
        K.pool2d_options(2, 2, (2, 0), 1)


def test_torch_raises_for_the_same_reproducers():
    """Side by side with PyTorch 2.13: where eigengrad raises, torch raises too (its messages:
    'value cannot be converted to type int without overflow', 'Kernel size can't be greater than actual
    input size', 'stride should not be zero'). (With a 3x3 kernel and dilation 2**62 torch 2.13 overflows
    as eigengrad did and returns the input unchanged: the 2x2 kernel is the case it catches.)"""
    torch = pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side check")
    tf = torch.nn.functional
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    for call in (lambda: tf.max_pool2d(x, 1, stride=2, dilation=2**63 - 1),
                 lambda: torch.nn.MaxPool2d(5, dilation=2**62)(x),
                 lambda: tf.max_pool2d(x, 2**32 + 1, stride=2**31 - 1, padding=2**30, ceil_mode=True),
                 lambda: tf.max_pool2d(x, 3, stride=0),
                 lambda: tf.conv2d(x, torch.ones(1, 1, 2, 2), dilation=(2**62, 2**62))):
        with pytest.raises((RuntimeError, ValueError)):
            call()
