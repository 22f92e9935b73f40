"""Recurrent kernels (one layer-direction of RNN tanh/relu, LSTM, GRU; forward and backward through time)
against the NumPy reference run in float64 on the same inputs: outputs, the arrays saved for the backward
and every gradient, both directions, with and without bias, odd sizes, batch 1, one step, empty batch and
sequence; plus strided inputs, thread-count determinism and the bindings' argument checks."""
import numpy as np
import pytest

import eigengrad
from conftest import assert_close
from eigengrad._kernels import _C
from eigengrad import _kernels as K
from eigengrad import reference as ref

MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
SHAPES = [  # (steps T, batch N, input I, hidden H)
    (5, 3, 4, 7), (1, 1, 1, 1), (7, 2, 13, 17), (3, 1, 5, 16), (2, 5, 3, 33), (4, 0, 3, 5), (0, 2, 3, 4),
    (28, 6, 28, 64),  # the benchmark's sequence and input, a smaller batch and hidden size
]


def f64(*arrays):
    return tuple(None if a is None else np.asarray(a, dtype=np.float64) for a in arrays)


def layer_case(rng, mode, shape, dtype, bias=True):
    """Inputs of one layer-direction and the gradients of its outputs; weights ~ U(+-1/sqrt(H)) as PyTorch."""
    t, n, i, h = shape
    g = K.RNN_MODES[mode][0] * h
    bound = 1 / np.sqrt(h)

    def u(*s):
        return rng.uniform(-bound, bound, s).astype(dtype)

    x = rng.standard_normal((t, n, i)).astype(dtype)
    h0 = (rng.standard_normal((n, h)) * 0.5).astype(dtype)
    c0 = rng.standard_normal((n, h)).astype(dtype) if mode == "LSTM" else None
    params = (u(g, i), u(g, h), u(g) if bias else None, u(g) if bias else None)
    dy, dh_n = rng.standard_normal((t, n, h)).astype(dtype), rng.standard_normal((n, h)).astype(dtype)
    dc_n = rng.standard_normal((n, h)).astype(dtype) if mode == "LSTM" else None
    return x, h0, c0, params, (dy, dh_n, dc_n)


def run_kernels(mode, x, h0, c0, params, grads, reverse, impl=K):
    y, h_n, c_n, gates, aux = impl.rnn_forward(mode, x, h0, c0, *params, reverse=reverse)
    back = impl.rnn_backward(mode, x, h0, c0, *params, y, gates, aux, *grads, reverse=reverse)
    return (y, h_n, c_n, gates, aux), back


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
@pytest.mark.parametrize("mode", MODES)
def test_layer_matches_reference(rng, dtype, mode, reverse, bias, shape):
    x, h0, c0, params, grads = layer_case(rng, mode, shape, dtype, bias)
    out, back = run_kernels(mode, x, h0, c0, params, grads, reverse)
    out_r, back_r = run_kernels(mode, *f64(x, h0, c0), f64(*params), f64(*grads), reverse, impl=ref)
    names = ["y", "h_n", "c_n", "gates", "aux"]
    for name, a, b in zip(names, out, out_r):
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.dtype == dtype, name
            assert_close(a, b, dtype)
    names = ["dx", "dh0", "dc0", "dw_ih", "dw_hh", "db_ih", "db_hh"]
    for name, a, b in zip(names, back, back_r):
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.dtype == dtype, name
            assert_close(a, b, dtype)


def test_reference_h_n_is_last_output(rng):
    """h_n is y at the last step processed: y[T-1] forward, y[0] reverse (checks the reference itself)."""
    x, h0, c0, params, _ = layer_case(rng, "GRU", (4, 2, 3, 5), np.float64)
    y, h_n, *_ = ref.rnn_forward("GRU", x, h0, c0, *params)
    np.testing.assert_array_equal(h_n, y[-1])
    y, h_n, *_ = ref.rnn_forward("GRU", x, h0, c0, *params, reverse=True)
    np.testing.assert_array_equal(h_n, y[0])


@pytest.mark.parametrize("mode", MODES)
def test_reverse_is_forward_on_reversed_sequence(rng, mode):
    x, h0, c0, params, (dy, dh_n, dc_n) = layer_case(rng, mode, (6, 3, 4, 5), np.float64)
    y, h_n, c_n, _, _ = K.rnn_forward(mode, x, h0, c0, *params, reverse=True)
    y2, h_n2, c_n2, _, _ = K.rnn_forward(mode, x[::-1].copy(), h0, c0, *params)
    np.testing.assert_array_equal(y, y2[::-1])
    np.testing.assert_array_equal(h_n, h_n2)


@pytest.mark.parametrize("mode", MODES)
def test_partial_gradients(rng, mode):
    x, h0, c0, params, grads = layer_case(rng, mode, (4, 3, 5, 6), np.float64)
    (y, _, _, gates, aux), full = run_kernels(mode, x, h0, c0, params, grads, False)
    for wanted in [(True,) + (False,) * 6, (False, False, False, True, True, False, False),
                   (False,) * 5 + (True, True)]:
        got = K.rnn_backward(mode, x, h0, c0, *params, y, gates, aux, *grads, grads=wanted)
        for g, f, w in zip(got, full, wanted):
            if w and f is not None:
                np.testing.assert_array_equal(g, f)
            else:
                assert g is None


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_missing_output_gradients_are_zero(rng, mode):
    x, h0, c0, params, (dy, _, _) = layer_case(rng, mode, (3, 2, 4, 5), np.float64)
    y, _, _, gates, aux = K.rnn_forward(mode, x, h0, c0, *params)
    got = K.rnn_backward(mode, x, h0, c0, *params, y, gates, aux, dy)
    zero = np.zeros_like(h0)
    want = K.rnn_backward(mode, x, h0, c0, *params, y, gates, aux, dy, zero, zero if mode == "LSTM" else None)
    for a, b in zip(got, want):
        if b is not None:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_relu_rnn_inf_gradient_at_an_inactive_unit_is_zero(rng, reverse):
    """ReLU's backward selects, as PyTorch's threshold_backward: an inf output gradient where the unit is off
    adds 0, not NaN (the reference multiplied by the 0/1 mask: inf * 0 = NaN; found by the binding fuzz)."""
    x, h0, _, params, (dy, dh_n, _) = layer_case(rng, "RNN_RELU", (1, 4, 3, 6), np.float64)
    y, _, _, gates, aux = K.rnn_forward("RNN_RELU", x, h0, None, *params, reverse=reverse)
    off = np.argwhere(y[0] <= 0)
    assert len(off) and len(np.argwhere(y[0] > 0))
    dh_n = dh_n.copy()
    dh_n[tuple(off[0])] = np.inf
    got = K.rnn_backward("RNN_RELU", x, h0, None, *params, y, gates, aux, dy, dh_n, reverse=reverse)
    want = ref.rnn_backward("RNN_RELU", x, h0, None, *params, y, gates, aux, dy, dh_n, reverse=reverse)
    for a, b in zip(got, want):
        if b is not None:
            assert np.isfinite(b).all()
            assert_close(a, b, np.float64)


@pytest.mark.parametrize("mode", MODES)
def test_strided_input(rng, dtype, mode):
    x, h0, c0, params, grads = layer_case(rng, mode, (5, 4, 6, 9), dtype)
    strided = np.empty((5, 8, 12), dtype)[:, ::2, ::2]
    strided[...] = x
    assert not strided.flags.c_contiguous
    out, back = run_kernels(mode, strided, h0, c0, params, grads, False)
    out_c, back_c = run_kernels(mode, x, h0, c0, params, grads, False)
    for a, b in zip(out + back, out_c + back_c):
        if b is not None:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", MODES)
def test_bits_do_not_depend_on_threads(rng, dtype, mode, restore_threads):
    x, h0, c0, params, grads = layer_case(rng, mode, (6, 37, 19, 41), dtype)
    results = []
    for threads in (1, 2, 3):
        eigengrad.set_num_threads(threads)
        out, back = run_kernels(mode, x, h0, c0, params, grads, True)
        results.append([a for a in out + back if a is not None])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_lstm_large_cell_state_saturates(dtype):
    """Pre-activations of +-50: gates at 0/1 exactly, tanh(c) at +-1; no NaN or overflow."""
    t, n, i, h = 3, 2, 1, 5
    x = np.full((t, n, i), 50.0, dtype)
    w_ih = np.ones((4 * h, i), dtype)
    w_hh = np.zeros((4 * h, h), dtype)
    y, h_n, c_n, _, _ = K.rnn_forward("LSTM", x, np.zeros((n, h), dtype), np.zeros((n, h), dtype), w_ih, w_hh,
                                      None, None)
    np.testing.assert_allclose(c_n, 3.0, rtol=1e-6)
    np.testing.assert_allclose(y, np.tanh(np.arange(1, 4, dtype=np.float64))[:, None, None] * np.ones((t, n, h)),
                               rtol=1e-6)


# --- argument checks of the bindings -----------------------------------------------------------------

def binding_args(mode="LSTM", t=3, n=2, i=4, h=5, dtype=np.float64):
    g = K.RNN_MODES[mode][0] * h
    a = K.RNN_MODES[mode][1] * h
    lstm = mode == "LSTM"
    return dict(mode=mode, input=np.zeros((t, n, i), dtype), h0=np.zeros((n, h), dtype),
                c0=np.zeros((n, h), dtype) if lstm else None, w_ih=np.zeros((g, i), dtype),
                w_hh=np.zeros((g, h), dtype), b_ih=np.zeros(g, dtype), b_hh=np.zeros(g, dtype),
                out=np.zeros((t, n, h), dtype), h_n=np.zeros((n, h), dtype), c_n=np.zeros((n, h), dtype) if lstm else None,
                gates=np.zeros((t, n, g), dtype) if a else None, aux=np.zeros((t, n, a), dtype) if a else None,
                reverse=False)


def test_binding_accepts_good_arguments():
    for mode in MODES:
        _C.rnn_forward(**binding_args(mode))


@pytest.mark.parametrize("change,error,match", [
    (dict(mode="LSTMX"), ValueError, "mode"),
    (dict(input=np.zeros((3, 2), np.float64)), ValueError, "input: expected a 3-D"),
    (dict(input=np.zeros((3, 2, 4), np.float32)), TypeError, "w_hh: expected dtype float32"),
    (dict(input=np.zeros((3, 2, 4), np.int64)), TypeError, "input: expected a float32 or float64"),
    (dict(input=np.zeros((3, 4, 4))[:, ::2]), ValueError, "input: expected a C-contiguous"),
    (dict(w_ih=np.zeros((20, 3))), ValueError, r"w_ih: expected shape \(20, 4\)"),
    (dict(w_hh=np.zeros((16, 5))), ValueError, r"w_hh: expected shape \(20, 5\)"),
    (dict(b_ih=np.zeros(19)), ValueError, "b_ih: expected shape"),
    (dict(b_hh=None), ValueError, "b_ih, b_hh: expected both or neither"),
    (dict(h0=np.zeros((3, 5))), ValueError, r"h0: expected shape \(2, 5\)"),
    (dict(c0=None), ValueError, "c0: required"),
    (dict(c0=np.zeros((2, 4))), ValueError, "c0: expected shape"),
    (dict(out=np.zeros((3, 2, 6))), ValueError, "out: expected shape"),
    (dict(gates=None), ValueError, "gates, aux: required"),
    (dict(aux=np.zeros((3, 2, 5))), ValueError, r"aux: expected shape \(3, 2, 10\)"),
    (dict(h_n=np.zeros((2, 6))), ValueError, "h_n: expected shape"),
    (dict(b_hh=[0.0] * 20), TypeError, "b_hh: expected a numpy array"),
])
def test_binding_forward_errors(change, error, match):
    args = binding_args()
    args.update(change)
    with pytest.raises(error, match=match):
        _C.rnn_forward(**args)


def test_binding_forward_refuses_read_only_and_overlapping_outputs():
    args = binding_args()
    args["out"].flags.writeable = False
    with pytest.raises(ValueError, match="out: expected a writeable"):
        _C.rnn_forward(**args)
    args = binding_args()
    buf = np.zeros((3, 2, 20))
    args["gates"], args["aux"] = buf, buf[:, :, :10].copy()
    args["out"] = buf[:, :, :5]
    with pytest.raises(ValueError):  # out is a strided view of gates
        _C.rnn_forward(**args)
    args = binding_args()
    args["h_n"] = args["h0"]
    with pytest.raises(ValueError, match="h_n: must not share memory with h0"):
        _C.rnn_forward(**args)
    args = binding_args("GRU")
    args["c0"] = np.zeros((2, 5))
    with pytest.raises(ValueError, match="c0: only for mode 'LSTM'"):
        _C.rnn_forward(**args)
    args = binding_args("RNN_TANH")
    args["gates"] = np.zeros((3, 2, 5))
    with pytest.raises(ValueError, match="gates, aux: expected None for RNN"):
        _C.rnn_forward(**args)


def backward_args(mode="GRU", bias=True):
    f = binding_args(mode)
    if not bias:
        f["b_ih"] = f["b_hh"] = None
    _C.rnn_forward(**f)
    t, n, i = f["input"].shape
    h = f["w_hh"].shape[1]
    g = f["w_hh"].shape[0]
    return dict(mode=mode, input=f["input"], h0=f["h0"], c0=f["c0"], w_ih=f["w_ih"], w_hh=f["w_hh"], b_ih=f["b_ih"],
                b_hh=f["b_hh"], out=f["out"], gates=f["gates"], aux=f["aux"], grad_out=np.zeros((t, n, h)),
                grad_h_n=None, grad_c_n=None, grad_input=np.zeros((t, n, i)), grad_h0=np.zeros((n, h)),
                grad_c0=None, grad_w_ih=np.zeros((g, i)), grad_w_hh=np.zeros((g, h)),
                grad_b_ih=np.zeros(g) if bias else None, grad_b_hh=np.zeros(g) if bias else None,
                work=np.zeros(2 * t * n * g), reverse=False)


@pytest.mark.parametrize("change,match", [
    (dict(grad_out=np.zeros((3, 2, 4))), "grad_out: expected shape"),
    (dict(grad_h_n=np.zeros((2, 4))), "grad_h_n: expected shape"),
    (dict(grad_c_n=np.zeros((2, 5))), "grad_c_n: only for mode 'LSTM'"),
    (dict(grad_c0=np.zeros((2, 5))), "grad_c0: only for mode 'LSTM'"),
    (dict(grad_w_hh=np.zeros((15, 4))), "grad_w_hh: expected shape"),
    (dict(grad_input=np.zeros((3, 2, 5))), "grad_input: expected shape"),
    (dict(gates=np.zeros((3, 2, 14))), "gates: expected shape"),
    (dict(work=np.zeros(10)), "work: expected 180 elements"),
])
def test_binding_backward_errors(change, match):
    args = backward_args()
    args.update(change)
    with pytest.raises(ValueError, match=match):
        _C.rnn_backward(**args)


def test_binding_backward_refuses_bias_gradients_without_bias_and_overlaps():
    args = backward_args(bias=False)
    _C.rnn_backward(**args)
    args["grad_b_ih"] = np.zeros(15)
    with pytest.raises(ValueError, match="the layer has no bias"):
        _C.rnn_backward(**args)
    args = backward_args()
    args["grad_h0"] = args["grad_out"][0]
    with pytest.raises(ValueError, match="grad_h0: must not share memory with grad_out"):
        _C.rnn_backward(**args)


def _misaligned(a):
    """A copy of ``a`` that starts one element past an aligned address (C-contiguous, same values)."""
    if a is None:
        return None
    buf = np.empty(a.size + 16, a.dtype)
    start = (-buf.ctypes.data // a.itemsize) % 16 + 1
    out = buf[start:start + a.size].reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("mode", MODES)
def test_bits_do_not_depend_on_alignment(rng, dtype, mode):
    """Gate math runs over fixed-size blocks of each row: an odd hidden size and shifted buffers give the same
    bits (Eigen's peeled scalar tanh/logistic would differ in the last bits)."""
    x, h0, c0, params, grads = layer_case(rng, mode, (4, 3, 5, 21), dtype)
    out, back = run_kernels(mode, x, h0, c0, params, grads, False)
    shifted = [_misaligned(a) for a in (x, h0, c0)]
    out2, back2 = run_kernels(mode, *shifted, tuple(map(_misaligned, params)), tuple(map(_misaligned, grads)), False)
    for a, b in zip(out + back, out2 + back2):
        if a is not None:
            np.testing.assert_array_equal(a, b)
