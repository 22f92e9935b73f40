"""The recurrent primitive: one layer-direction of an Elman RNN, LSTM or GRU over a whole sequence.

Forward and backward through time are one C++ kernel each (``_kernels.rnn_forward`` / ``rnn_backward``):
the input projection of all steps is one GEMM, each step one recurrent GEMM plus fused gate math, and the
backward runs the steps in reverse inside C++, then dx, dW_ih and dW_hh as one GEMM each. The equations are
in ``eigengrad.reference.rnn`` (Hochreiter & Schmidhuber 1997 for the LSTM, Cho et al. 2014 for the GRU).

A Function has one output, so the layer returns its results stacked along time, one array of shape
(T + 1, N, H) = [y_0 ... y_{T-1}, h_n] or, for LSTM, (T + 2, N, H) = [..., h_n, c_n]; the caller takes the
slabs apart with indexing (views), and their gradients arrive stacked the same way.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Function


class RecurrentLayer(Function):
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
