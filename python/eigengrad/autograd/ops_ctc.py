"""The connectionist temporal classification loss (Graves et al., "Connectionist Temporal Classification:
Labelling Unsegmented Sequence Data with Recurrent Neural Networks", ICML 2006), PyTorch's ctc_loss.

For a target l of length S, l' is l with a blank before, between and after its labels (2 S + 1 states).
In log space, with y = log_probs (T, C) of one sequence of length T:

    alpha_0(0) = y_0(blank), alpha_0(1) = y_0(l'_1),
    alpha_t(s) = y_t(l'_s) + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s - 1), alpha_{t-1}(s - 2)),

the last term only where l'_s is a label that differs from l'_{s-2}; beta runs the same way from the end,
and nll = -logsumexp(alpha_{T-1}(2S), alpha_{T-1}(2S - 1)). The gradient is Graves' eq. (16), as PyTorch
gives it: exp(y_t(c)) - sum_{s: l'_s = c} exp(alpha_t(s) + beta_t(s) + nll - y_t(c)), the gradient with
respect to the logits under a log_softmax (so it is not the derivative in y itself; through log_softmax
both give the same, since the occupancies sum to 1 at each t). Zero past each sequence's length.

All sequences of a batch advance together (NumPy over (batch, states)), one step of T at a time.
"""
from __future__ import annotations

import numpy as np

from eigengrad.autograd.function import Primitive

_NEG_INF = -np.inf


def _logsumexp3(a, b, c):
    m = np.maximum(np.maximum(a, b), c)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(np.isneginf(m), _NEG_INF, safe + np.log(np.exp(a - safe) + np.exp(b - safe) + np.exp(c - safe)))


def _states(targets: np.ndarray, target_lengths: np.ndarray, blank: int):
    """(l' (N, 2 S + 1) with blank padding, whether s may skip from s - 2, the number of states per row)."""
    n, s_max = targets.shape
    ext = np.full((n, 2 * s_max + 1), blank, dtype=np.int64)
    ext[:, 1::2] = targets
    skip = np.zeros(ext.shape, bool)
    skip[:, 3::2] = (ext[:, 3::2] != blank) & (ext[:, 3::2] != ext[:, 1:-2:2])
    states = 2 * target_lengths + 1
    skip &= np.arange(ext.shape[1]) < states[:, None]
    return ext, skip, states


def _shift(a: np.ndarray, k: int, fill=_NEG_INF) -> np.ndarray:
    """a moved k states right (k > 0) or left (k < 0) along the last axis, ``fill`` filled."""
    out = np.full_like(a, fill)
    if k > 0:
        out[:, k:] = a[:, :-k]
    elif a.shape[1] > -k:
        out[:, :k] = a[:, -k:]
    return out


def ctc_alpha_beta(lp: np.ndarray, targets, input_lengths, target_lengths, blank: int):
    """(log alpha, log beta (T, N, 2 S + 1), nll (N,)) of log_probs lp (T, N, C), in float64."""
    t_max, n, _ = lp.shape
    ext, skip, states = _states(targets, target_lengths, blank)
    width = ext.shape[1]
    s = np.arange(width)[None, :]
    emit = lp[:, np.arange(n)[:, None], ext]  # (T, N, 2 S + 1): y_t(l'_s)
    valid = s < states[:, None]
    last = np.clip(input_lengths - 1, 0, None)
    alpha = np.full((t_max, n, width), _NEG_INF)
    beta = np.full((t_max, n, width), _NEG_INF)
    for t in range(t_max):
        if t == 0:
            a = np.where(s < 2, emit[0], _NEG_INF)
        else:
            prev = alpha[t - 1]
            a = _logsumexp3(prev, _shift(prev, 1), np.where(skip, _shift(prev, 2), _NEG_INF)) + emit[t]
        alpha[t] = np.where(valid & (t < input_lengths[:, None]), a, _NEG_INF)
    finals = (s == states[:, None] - 1) | (s == states[:, None] - 2)  # the last blank and the last label
    skip_ahead = _shift(skip, -2, False)  # s may go to s + 2
    for t in range(t_max - 1, -1, -1):
        if t + 1 < t_max:
            nxt = beta[t + 1]
            b = _logsumexp3(nxt, _shift(nxt, -1), np.where(skip_ahead, _shift(nxt, -2), _NEG_INF)) + emit[t]
        else:
            b = np.full((n, width), _NEG_INF)
        b = np.where((t == last)[:, None], np.where(finals, emit[t], _NEG_INF), b)
        beta[t] = np.where(valid & (t < input_lengths[:, None]), b, _NEG_INF)
    nll = np.full(n, np.inf)
    if t_max:
        end = alpha[last, np.arange(n)]
        nll = -np.logaddexp.reduce(np.where(finals & valid, end, _NEG_INF), axis=1)
    # no input frames: probability 1 for an empty target, 0 otherwise
    nll = np.where(input_lengths > 0, nll, np.where(target_lengths == 0, 0.0, np.inf))
    return alpha, beta, nll


def ctc_grad(lp: np.ndarray, targets, input_lengths, target_lengths, blank: int, alpha, beta, nll) -> np.ndarray:
    """Graves' eq. (16) per sequence (T, N, C), PyTorch's form (see the module docstring), float64."""
    t_max, n, c = lp.shape
    ext, _, _ = _states(targets, target_lengths, blank)
    ab = alpha + beta  # (T, N, 2 S + 1)
    m = np.max(ab, axis=2, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    occ = np.zeros((t_max, n, c))
    t_idx, n_idx, s_idx = np.meshgrid(np.arange(t_max), np.arange(n), np.arange(ext.shape[1]), indexing="ij")
    np.add.at(occ, (t_idx, n_idx, ext[n_idx, s_idx]), np.exp(ab - m))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_occ = np.log(occ) + m
        grad = np.exp(lp) - np.exp(log_occ + nll[None, :, None] - lp)
    inside = np.arange(t_max)[:, None] < input_lengths[None, :]
    return np.where(inside[:, :, None], grad, 0.0)


class CTCLoss(Primitive):
    """Per-sequence CTC negative log-likelihoods (N,) of log_probs (T, N, C) (see the module docstring);
    ``zero_infinity`` makes an impossible alignment's loss and gradient 0."""

    @staticmethod
    def forward(ctx, lp, targets, input_lengths, target_lengths, blank=0, zero_infinity=False):
        lp64 = lp.astype(np.float64, copy=False)
        alpha, beta, nll = ctc_alpha_beta(lp64, targets, input_lengths, target_lengths, blank)
        ctx.args = (targets, input_lengths, target_lengths, blank)
        ctx.saved = (lp64, alpha, beta, nll)
        ctx.zero_infinity, ctx.dtype = zero_infinity, lp.dtype
        if zero_infinity:
            nll = np.where(np.isinf(nll), 0.0, nll)
        return nll.astype(lp.dtype)

    @staticmethod
    def backward(ctx, g):
        lp, alpha, beta, nll = ctx.saved
        grad = ctc_grad(lp, *ctx.args, alpha, beta, nll)
        if ctx.zero_infinity:
            grad = np.where(np.isinf(nll)[None, :, None], 0.0, grad)
        return (grad * np.asarray(g, np.float64)[None, :, None]).astype(ctx.dtype), None, None, None
