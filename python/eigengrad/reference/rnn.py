"""Recurrent layer references: one layer-direction of an Elman RNN, LSTM or GRU, forward and backward through time.

Same signatures and results as ``eigengrad._kernels.rnn_forward`` / ``rnn_backward``, including the arrays
saved for the backward. Plain NumPy, one step at a time, in the input's dtype. Time-major: x (T, N, I),
y (T, N, H); ``reverse`` runs t = T-1 ... 0 (the backward direction of a bidirectional layer).

Equations (PyTorch's, s = sigmoid):
  RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu
  LSTM (Hochreiter & Schmidhuber 1997; forget gate as Gers et al. 2000), gate order i, f, g, o:
        i, f, o = s(.), g = tanh(.), c' = f c + i g, h' = o tanh(c')
  GRU (Cho et al. 2014), gate order r, z, n:
        r, z = s(.), n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h
Saved: gates (T, N, G H) = the activations [i, f, g, o] / [r, z, n] (None for RNN) and aux (T, N, A H) =
[c, tanh c] (LSTM) / W_hn h + b_hn (GRU) (None for RNN).
"""
import numpy as np

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _order(steps, reverse):
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _linear(a, w, b):
    return a @ w.T + (0 if b is None else b)


def rnn_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """(y, h_n, c_n, gates, aux); c_n, gates and aux are None where the cell has none."""
    steps, n = x.shape[:2]
    hid = w_hh.shape[1]
    y = np.empty((steps, n, hid), x.dtype)
    gates = np.empty((steps, n, GATES[mode] * hid), x.dtype) if mode in ("LSTM", "GRU") else None
    aux = np.empty((steps, n, (2 if mode == "LSTM" else 1) * hid), x.dtype) if gates is not None else None
    h, c = h0, c0
    for t in _order(steps, reverse):
        xi, hh = _linear(x[t], w_ih, b_ih), _linear(h, w_hh, b_hh)
        if mode == "LSTM":
            i, f, g, o = np.split(xi + hh, 4, axis=1)
            i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
            c = f * c + i * g
            h = o * np.tanh(c)
            gates[t] = np.concatenate([i, f, g, o], axis=1)
            aux[t] = np.concatenate([c, np.tanh(c)], axis=1)
        elif mode == "GRU":
            (xr, xz, xn), (hr, hz, hn) = np.split(xi, 3, axis=1), np.split(hh, 3, axis=1)
            r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
            nn = np.tanh(xn + r * hn)
            h = (h - nn) * z + nn
            gates[t] = np.concatenate([r, z, nn], axis=1)
            aux[t] = hn
        else:
            pre = xi + hh
            h = np.maximum(pre, 0) if mode == "RNN_RELU" else np.tanh(pre)
        y[t] = h
    c_n = (c0 if steps == 0 else aux[_order(steps, reverse)[-1], :, :hid]).copy() if mode == "LSTM" else None
    return y, h.copy(), c_n, gates, aux


def rnn_backward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, y, gates, aux, grad_out, grad_h_n=None, grad_c_n=None,
                 reverse=False):
    """(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh); dc0 None unless LSTM, the bias gradients None without bias.

    Backward through time: at each step (in the reverse of the forward's order) dh = carried + grad_out[t]
    gives the gate pre-activation gradients dG (input side) and dG_h (hidden side; differs from dG only in
    GRU's n gate, multiplied by r); the carried gradient becomes dG_h W_hh (+ dh z for GRU).
    dx[t] = dG W_ih, dW_ih = sum dG^T x[t], dW_hh = sum dG_h^T h_prev, db_ih = sum dG, db_hh = sum dG_h.
    """
    steps, n = x.shape[:2]
    hid = w_hh.shape[1]
    dt = x.dtype
    dh = np.zeros((n, hid), dt) if grad_h_n is None else grad_h_n.astype(dt, copy=True)
    dc = None
    if mode == "LSTM":
        dc = np.zeros((n, hid), dt) if grad_c_n is None else grad_c_n.astype(dt, copy=True)
    dx = np.zeros_like(x)
    dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
    db_ih = np.zeros(w_ih.shape[0], dt)
    db_hh = np.zeros(w_ih.shape[0], dt)
    order = list(_order(steps, reverse))
    for k in range(steps - 1, -1, -1):
        t = order[k]
        h_prev = h0 if k == 0 else y[order[k - 1]]
        d = dh + grad_out[t]
        if mode == "LSTM":
            i, f, g, o = np.split(gates[t], 4, axis=1)
            tc = aux[t, :, hid:]
            c_prev = c0 if k == 0 else aux[order[k - 1], :, :hid]
            dct = dc + d * o * (1 - tc * tc)
            dg = np.concatenate([dct * g * i * (1 - i), dct * c_prev * f * (1 - f), dct * i * (1 - g * g),
                                 d * tc * o * (1 - o)], axis=1)
            dc = dct * f
            dg_h, direct = dg, 0
        elif mode == "GRU":
            r, z, nn = np.split(gates[t], 3, axis=1)
            dpn = d * (1 - z) * (1 - nn * nn)
            dpr = dpn * aux[t] * r * (1 - r)
            dpz = d * (h_prev - nn) * z * (1 - z)
            dg = np.concatenate([dpr, dpz, dpn], axis=1)
            dg_h = np.concatenate([dpr, dpz, dpn * r], axis=1)
            direct = d * z
        else:
            # ReLU's backward selects (PyTorch's threshold_backward): an inf gradient at an inactive unit is 0, not NaN
            dg = dg_h = np.where(y[t] <= 0, 0, d).astype(dt) if mode == "RNN_RELU" else d * (1 - y[t] * y[t])
            direct = 0
        dh = direct + dg_h @ w_hh
        dx[t] = dg @ w_ih
        dw_ih += dg.T @ x[t]
        dw_hh += dg_h.T @ h_prev
        db_ih += dg.sum(axis=0)
        db_hh += dg_h.sum(axis=0)
    if b_ih is None:
        db_ih = db_hh = None
    return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh


# --- a stack of layers (what nn.RNN / LSTM / GRU compute, without dropout) ----------------------------

def stacked_forward(mode, x, h0, c0, weights, num_layers, bidirectional):
    """x (T, N, I); h0, c0 (L D, N, H) (c0 None unless LSTM); weights: per layer-direction k = l D + d the
    tuple (w_ih, w_hh, b_ih, b_hh) (biases may be None). Returns (output (T, N, D H), h_n, c_n, saved)."""
    dirs = 2 if bidirectional else 1
    h_n, c_n, saved = [], [], []
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            y, h, c, gates, aux = rnn_forward(mode, x, h0[k], None if c0 is None else c0[k], *weights[k],
                                              reverse=d == 1)
            saved.append((x, y, gates, aux))
            outs.append(y)
            h_n.append(h)
            c_n.append(c)
        x = np.concatenate(outs, axis=2)
    return x, np.stack(h_n), (np.stack(c_n) if mode == "LSTM" else None), saved


def stacked_backward(mode, h0, c0, weights, num_layers, bidirectional, saved, grad_out, grad_h_n, grad_c_n=None):
    """Gradients of ``stacked_forward``: (dx, dh0, dc0, per layer-direction (dw_ih, dw_hh, db_ih, db_hh))."""
    dirs = 2 if bidirectional else 1
    hid = h0.shape[2]
    dh0, dc0 = np.zeros_like(h0), (np.zeros_like(c0) if c0 is not None else None)
    dweights = [None] * (num_layers * dirs)
    g = grad_out
    for layer in range(num_layers - 1, -1, -1):
        dx = 0
        for d in range(dirs):
            k = layer * dirs + d
            x, y, gates, aux = saved[k]
            res = rnn_backward(mode, x, h0[k], None if c0 is None else c0[k], *weights[k], y, gates, aux,
                               np.ascontiguousarray(g[:, :, d * hid:(d + 1) * hid]), grad_h_n[k],
                               None if grad_c_n is None else grad_c_n[k], reverse=d == 1)
            dx = dx + res[0]
            dh0[k] = res[1]
            if dc0 is not None:
                dc0[k] = res[2]
            dweights[k] = res[3:]
        g = dx
    return g, dh0, dc0, dweights
