"""The recurrent primitive: one layer-direction of an Elman RNN, LSTM or GRU over a whole sequence.

Forward and backward through time are one C++ kernel each (``_kernels.rnn_forward`` / ``rnn_backward``):
the input projection of all steps is one GEMM, each step one recurrent GEMM plus fused gate math, and the
backward runs the steps in reverse inside C++, then dx, dW_ih and dW_hh as one GEMM each. The equations are
in ``eigengrad.reference.rnn`` (Hochreiter & Schmidhuber 1997 for the LSTM, Cho et al. 2014 for the GRU).

A Function has one output, so the layer returns its results stacked along time, one array of shape
(T + 1, N, H) = [y_0 ... y_{T-1}, h_n] or, for LSTM, (T + 2, N, H) = [..., h_n, c_n]; the caller takes the
slabs apart with indexing (views), and their gradients arrive stacked the same way.

The differentiable backward is a composite (``autograd.composite``): the same recurrence written with
Tensor operations, step by step, differentiated by a nested recorded pass.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.composite import composite_backward
from eigengrad.autograd.function import Primitive
from eigengrad.functions import stack


class RecurrentLayer(Primitive):
    """Inputs (x (T, N, I), h0 (N, H), c0 (N, H) or None, w_ih, w_hh, b_ih, b_hh or None); options ``mode``
    ('RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU') and ``reverse`` (run t = T-1 ... 0). Output: [y; h_n (; c_n)]."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode="LSTM", reverse=False):
        x = K.contiguous(x)
        stacked = np.empty((x.shape[0] + 1 + (mode == "LSTM"), x.shape[1], w_hh.shape[1]), x.dtype)
        y, _, _, gates, aux = K.rnn_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, out=stacked)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, y, gates, aux)
        ctx.mode, ctx.reverse = mode, reverse
        return stacked

    @staticmethod
    def backward(ctx, g):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, y, gates, aux = ctx.saved
        steps, lstm = x.shape[0], ctx.mode == "LSTM"
        return K.rnn_backward(ctx.mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, y, gates, aux, g[:steps], g[steps],
                              g[steps + 1] if lstm else None, ctx.reverse, grads=ctx.needs_input_grad)

    @staticmethod
    def backward_graph(ctx, g):
        mode, reverse = ctx.mode, ctx.reverse
        return composite_backward(ctx, g, lambda *inputs: recurrence(mode, reverse, *inputs), ctx.saved[:7])


def _linear(a, w, b):
    out = a @ w.T
    return out if b is None else out + b


def recurrence(mode: str, reverse: bool, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """The layer's output [y; h_n (; c_n)] from Tensor operations (the equations of ``reference.rnn``)."""
    steps, hid = x.shape[0], w_hh.shape[1]
    h, c = h0, c0
    ys = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        xi, hh = _linear(x[t], w_ih, b_ih), _linear(h, w_hh, b_hh)
        if mode == "LSTM":
            pre = xi + hh
            i, f, o = (pre[:, k * hid:(k + 1) * hid].sigmoid() for k in (0, 1, 3))
            c = f * c + i * pre[:, 2 * hid:3 * hid].tanh()
            h = o * c.tanh()
        elif mode == "GRU":
            r = (xi[:, :hid] + hh[:, :hid]).sigmoid()
            z = (xi[:, hid:2 * hid] + hh[:, hid:2 * hid]).sigmoid()
            n = (xi[:, 2 * hid:] + r * hh[:, 2 * hid:]).tanh()
            h = (h - n) * z + n
        else:
            h = (xi + hh).relu() if mode == "RNN_RELU" else (xi + hh).tanh()
        ys[t] = h
    return stack(ys + [h] + ([c] if mode == "LSTM" else []))
