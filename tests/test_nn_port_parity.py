"""The nn functions added for porting (activations, distances, margin/likelihood losses, bilinear,
instance/RMS norm, unfold/fold, pad_sequence/packing) side by side with PyTorch 2.13 through the
tensor-operation harness (tests/tensor_op_parity.py): values to 1e-10 in float64, a float32 run, gradients
of a random projection, gradcheck and gradgradcheck, and PyTorch's refusals."""
from __future__ import annotations

import numpy as np
import pytest

from tensor_op_parity import Op, Raises, away, make_tests, ndim, normal, positive, shape, size

pytest.importorskip("torch", reason="the parity tests compare with PyTorch")


def F(L):
    return L.nn.functional


def _unary(name, **kw):
    return Op(name, lambda L, x, _n=name, _k=kw: getattr(F(L), _n)(x, **_k),
              lambda r: (away(r, shape(r, ndim(r, 0, 4))),))


def _labels(r, shp):
    return r.choice([-1.0, 1.0], shp)


class Fixed:
    """An array passed as a tensor that does not require grad (PyTorch is not differentiable w.r.t. it)."""

    def __init__(self, a):
        self.a = np.asarray(a)


def _t(L, fixed: Fixed, like):
    return L.tensor(fixed.a).to(like.dtype)


ACTIVATIONS = [
    _unary("silu"), _unary("mish"), _unary("relu6"), _unary("hardswish"),
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32 (3e-8 off in float64): values
    # here, the gradient in test_hardsigmoid_celu_gradients
    Op("hardsigmoid", lambda L, x: F(L).hardsigmoid(x), lambda r: (away(r, shape(r, 3)) * 4,), grad=False),
    _unary("logsigmoid"), _unary("softsign"), _unary("tanhshrink"), _unary("hardshrink"), _unary("softshrink"),
    Op("hardtanh", lambda L, x: F(L).hardtanh(x * 2, -1.5, 0.7), lambda r: (away(r, shape(r, ndim(r, 0, 3))),)),
    Op("relu6_wide", lambda L, x: F(L).relu6(x * 5), lambda r: (away(r, shape(r, 2)),)),
    Op("hardswish_wide", lambda L, x: F(L).hardswish(x * 4), lambda r: (away(r, shape(r, 2)),)),
    Op("threshold", lambda L, x: F(L).threshold(x, 0.1, -2.0), lambda r: (away(r, shape(r, 3)),)),
    # PyTorch's celu gradient is off by up to 1e-8 relative in float64 (its elu backward with an input
    # scale): values here, the gradient in test_hardsigmoid_celu_gradients
    Op("celu", lambda L, x: F(L).celu(x, 0.7), lambda r: (away(r, shape(r, 3)),), grad=False),
    Op("softshrink_lambd", lambda L, x: F(L).softshrink(x, 0.3), lambda r: (away(r, shape(r, 2)),)),
    Op("hardshrink_lambd", lambda L, x: F(L).hardshrink(x, 0.8), lambda r: (away(r, shape(r, 2)),)),
    Op("rrelu_eval", lambda L, x: F(L).rrelu(x, 0.1, 0.3), lambda r: (away(r, shape(r, 3)),)),
    Op("glu", lambda L, x: F(L).glu(x, 1), lambda r: (normal(r, (size(r), 2 * size(r), size(r))),)),
    Op("glu_last", lambda L, x: F(L).glu(x), lambda r: (normal(r, (size(r), 2 * size(r, zero=False))),)),
    Raises("glu_odd", lambda L, x: F(L).glu(x, 0), lambda r: (normal(r, (3, 2)),)),
    Raises("softshrink_negative", lambda L, x: F(L).softshrink(x, -0.5), lambda r: (normal(r, (3,)),)),
    Op("softmin", lambda L, x: F(L).softmin(x, 1), lambda r: (normal(r, shape(r, 3)),)),
    Op("softmax_dtype", lambda L, x: F(L).softmax(x.float(), 0, dtype=L.float64), lambda r: (normal(r, shape(r, 2)),),
       grad=False),
    Op("log_softmax_dtype", lambda L, x: F(L).log_softmax(x, -1, dtype=L.float32), lambda r: (normal(r, shape(r, 2)),),
       grad=False),
    Op("softmin_dtype", lambda L, x: F(L).softmin(x, 0, dtype=L.float64), lambda r: (normal(r, shape(r, 2)),)),
]

DISTANCES = [
    Op("normalize", lambda L, x: F(L).normalize(x), lambda r: (normal(r, (size(r), 1 + size(r), size(r))),)),
    Op("normalize_p1_dim0", lambda L, x: F(L).normalize(x, 1.0, 0), lambda r: (normal(r, shape(r, 2)),)),
    Op("normalize_tiny", lambda L, x: F(L).normalize(x * 1e-14, 2.0, -1), lambda r: (normal(r, (3, 4)),),
       gradcheck=False),
    Op("cosine_similarity", lambda L, a, b: F(L).cosine_similarity(a, b),
       lambda r: (normal(r, (size(r), 3, 2)), normal(r, (1, 3, 2)))),
    Op("cosine_similarity_dim", lambda L, a, b: F(L).cosine_similarity(a, b, dim=-1, eps=1e-3),
       lambda r: (normal(r, (4, 5)), normal(r, (4, 5)))),
    Op("pairwise_distance", lambda L, a, b: F(L).pairwise_distance(a, b),
       lambda r: (normal(r, (size(r), 4)), normal(r, (1, 4)))),
    Op("pairwise_distance_p1_keepdim", lambda L, a, b: F(L).pairwise_distance(a, b, 1.0, 1e-3, True),
       lambda r: (away(r, (3, 4)), normal(r, (3, 4)))),
    Op("pairwise_distance_p3_1d", lambda L, a, b: F(L).pairwise_distance(a, b, 3.0),
       lambda r: (away(r, (4,)), normal(r, (4,)))),
    Op("pdist", lambda L, x: F(L).pdist(x), lambda r: (normal(r, (size(r) + 1, size(r, zero=False))),)),
    Op("pdist_p1", lambda L, x: F(L).pdist(x, 1.0), lambda r: (normal(r, (4, 3)),)),
    Op("pdist_p3", lambda L, x: F(L).pdist(x, 3.0), lambda r: (normal(r, (4, 3)),)),
    Raises("pdist_3d", lambda L, x: F(L).pdist(x), lambda r: (normal(r, (2, 3, 2)),)),
]


def _reduction(r):
    return ["mean", "sum", "none"][int(r.integers(3))]


def _loss(name, fn, make):
    return Op(name, fn, make, cases=6)


LOSSES = [
    _loss("margin_ranking_loss", lambda L, a, b, y, red: F(L).margin_ranking_loss(a, b, y, 0.3, reduction=red),
          lambda r: (normal(r, (5,)), normal(r, (5,)), _labels(r, (5,)), _reduction(r))),
    _loss("hinge_embedding_loss", lambda L, x, y, red: F(L).hinge_embedding_loss(x, y, 0.8, reduction=red),
          lambda r: (away(r, (4, 3)), _labels(r, (4, 3)), _reduction(r))),
    _loss("soft_margin_loss", lambda L, x, y, red: F(L).soft_margin_loss(x, _t(L, y, x), reduction=red),
          lambda r: (normal(r, (4, 3)), Fixed(_labels(r, (4, 3))), _reduction(r))),
    _loss("cosine_embedding_loss", lambda L, a, b, y, red: F(L).cosine_embedding_loss(a, b, y, 0.2, reduction=red),
          lambda r: (normal(r, (5, 3)), normal(r, (5, 3)), _labels(r, (5,)), _reduction(r))),
    _loss("cosine_embedding_loss_1d", lambda L, a, b, y: F(L).cosine_embedding_loss(a, b, y),
          lambda r: (normal(r, (3,)), normal(r, (3,)), np.array(-1.0 if r.random() < 0.5 else 1.0))),
    _loss("triplet_margin_loss", lambda L, a, p, n, red: F(L).triplet_margin_loss(a, p, n, reduction=red),
          lambda r: (normal(r, (4, 3)), normal(r, (4, 3)), normal(r, (4, 3)), _reduction(r))),
    _loss("triplet_margin_loss_swap_p1", lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n, 0.5, 1.0, swap=True),
          lambda r: (normal(r, (4, 3)), normal(r, (4, 3)), normal(r, (4, 3)))),
    _loss("triplet_margin_with_distance_loss",
          lambda L, a, p, n: F(L).triplet_margin_with_distance_loss(
              a, p, n, distance_function=lambda u, v: 1 - F(L).cosine_similarity(u, v), margin=0.5, swap=True),
          lambda r: (normal(r, (4, 3)), normal(r, (4, 3)), normal(r, (4, 3)))),
    _loss("poisson_nll_loss", lambda L, x, y, red: F(L).poisson_nll_loss(x, y, reduction=red),
          lambda r: (normal(r, (4, 3)), r.integers(0, 5, (4, 3)).astype(np.float64), _reduction(r))),
    _loss("poisson_nll_loss_full", lambda L, x, y: F(L).poisson_nll_loss(x, _t(L, y, x), log_input=False, full=True),
          lambda r: (positive(r, (4, 3)), Fixed(r.integers(0, 5, (4, 3)).astype(np.float64)))),
    _loss("poisson_nll_loss_full_target_grad",  # the Stirling term is differentiable in the target too
          lambda L, x, y: F(L).poisson_nll_loss(x, y, log_input=True, full=True, reduction="sum"),
          lambda r: (normal(r, (4, 3)), positive(r, (4, 3), 0.2, 3.0))),
    _loss("gaussian_nll_loss", lambda L, x, y, v, red: F(L).gaussian_nll_loss(x, y, v, reduction=red),
          lambda r: (normal(r, (4, 3)), normal(r, (4, 3)), positive(r, (4, 3)), _reduction(r))),
    _loss("gaussian_nll_loss_homoscedastic", lambda L, x, y, v: F(L).gaussian_nll_loss(x, y, v, full=True, eps=0.05),
          lambda r: (normal(r, (4, 3)), normal(r, (4, 3)), positive(r, (4,), 0.1, 1.0))),
    Raises("gaussian_nll_loss_bad_var", lambda L, x, y, v: F(L).gaussian_nll_loss(x, y, v),
           lambda r: (normal(r, (4, 3)), normal(r, (4, 3)), positive(r, (3, 4)))),
    _loss("multi_margin_loss", lambda L, x, t, red: F(L).multi_margin_loss(x, t, reduction=red),
          lambda r: (normal(r, (5, 4)), r.integers(0, 4, (5,)), _reduction(r))),
    _loss("multi_margin_loss_p2_weight", lambda L, x, t, w: F(L).multi_margin_loss(x, t, 2, 0.7, _t(L, w, x)),
          lambda r: (normal(r, (5, 4)), r.integers(0, 4, (5,)), Fixed(positive(r, (4,))))),
    _loss("multi_margin_loss_1d", lambda L, x, t: F(L).multi_margin_loss(x, t),
          lambda r: (normal(r, (4,)), np.array(int(r.integers(0, 4))))),
    _loss("multilabel_margin_loss", lambda L, x, t, red: F(L).multilabel_margin_loss(x, t, reduction=red),
          lambda r: (normal(r, (3, 5)), np.array([[3, 0, -1, 1, 2], [1, 2, 4, 1, -1], [-1, 0, 0, 0, 0]]),
                     _reduction(r))),
    _loss("multilabel_soft_margin_loss", lambda L, x, y, w, red: F(L).multilabel_soft_margin_loss(
        x, y, w, reduction=red),
        lambda r: (normal(r, (4, 3)), (r.random((4, 3)) < 0.5).astype(np.float64), positive(r, (3,)), _reduction(r))),
]

LAYERS = [
    Op("bilinear", lambda L, a, b, w, bias: F(L).bilinear(a, b, w, bias),
       lambda r: (normal(r, (size(r), 3)), normal(r, (1, 2)) * np.ones((1, 1)), normal(r, (4, 3, 2)), normal(r, (4,)))),
    Op("bilinear_3d", lambda L, a, b, w: F(L).bilinear(a, b, w),
       lambda r: (normal(r, (2, 3, 3)), normal(r, (2, 3, 2)), normal(r, (4, 3, 2)))),
    Op("instance_norm", lambda L, x, w, b: F(L).instance_norm(x, weight=w, bias=b, eps=1e-3),
       lambda r: (normal(r, (size(r), 3, 2 + size(r))), normal(r, (3,)), normal(r, (3,)))),
    Op("instance_norm_2d", lambda L, x: F(L).instance_norm(x), lambda r: (normal(r, (2, 3, 2, 3)),)),
    Op("instance_norm_running", lambda L, x, m, v: F(L).instance_norm(x, _t(L, m, x), _t(L, v, x),
                                                                      use_input_stats=False),
       lambda r: (normal(r, (2, 3, 4)), Fixed(normal(r, (3,))), Fixed(positive(r, (3,))))),
    Op("rms_norm", lambda L, x, w: F(L).rms_norm(x, (x.shape[-1],), w),
       lambda r: (lambda x: (x, normal(r, x.shape[-1:])))(normal(r, (size(r), 1 + size(r))))),
    Op("rms_norm_2dims_eps", lambda L, x: F(L).rms_norm(x, x.shape[-2:], eps=1e-3),
       lambda r: (normal(r, (2, 3, 4)),)),
    Op("unfold", lambda L, x: F(L).unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
       lambda r: (normal(r, (size(r), 2, 4, 6)),)),
    Op("unfold_3d", lambda L, x: F(L).unfold(x, 2), lambda r: (normal(r, (2, 3, 3)),)),
    Op("fold", lambda L, x: F(L).fold(x, (4, 5), (2, 3), dilation=1, padding=(1, 0), stride=(1, 2)),
       lambda r: (normal(r, (size(r), 2 * 6, 10)),)),
    Op("fold_unbatched", lambda L, x: F(L).fold(x, 3, 2), lambda r: (normal(r, (4, 4)),)),
    Raises("unfold_2d", lambda L, x: F(L).unfold(x, 2), lambda r: (normal(r, (3, 3)),)),
    Raises("fold_blocks", lambda L, x: F(L).fold(x, (4, 5), 2), lambda r: (normal(r, (1, 4, 7)),)),
]


def _seqs(r):
    return tuple(normal(r, (int(n), 2)) for n in r.integers(1, 5, 4))


SEQUENCES = [
    Op("pad_sequence", lambda L, *s: L.nn.utils.rnn.pad_sequence(list(s)), _seqs),
    Op("pad_sequence_batch_first_left", lambda L, *s: L.nn.utils.rnn.pad_sequence(
        list(s), batch_first=True, padding_value=-1.5, padding_side="left"), _seqs),
    Op("pack_sequence_unsorted", lambda L, *s: tuple(L.nn.utils.rnn.pack_sequence(list(s), enforce_sorted=False)),
       lambda r: tuple(normal(r, (int(n), 2)) for n in r.permutation(4) + 1)),
    Op("pack_pad_roundtrip", lambda L, x: L.nn.utils.rnn.pad_packed_sequence(
        L.nn.utils.rnn.pack_padded_sequence(x, [4, 2, 3], batch_first=True, enforce_sorted=False),
        batch_first=True, padding_value=0.5, total_length=5), lambda r: (normal(r, (3, 4, 2)),)),
]

OPS = ACTIVATIONS + DISTANCES + LOSSES + LAYERS + SEQUENCES
test_matches_torch, test_matches_torch_float32, test_gradcheck = make_tests(OPS)
