// Losses: fused softmax + cross-entropy (plain, and with class weights / label smoothing), mean-squared
// error, binary cross-entropy with logits.
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

// Softmax cross-entropy over rows of logits x (n x c), integer class targets t (n).
// forward: lse[i] = log sum_j exp(x[i,j]) (max-shifted, so it never overflows);
//          loss[i] = lse[i] - x[i, t[i]], or 0 where t[i] == ignore_index.
//   Reads x, t; writes loss (n) and lse (n). Targets must lie in [0, c) or equal ignore_index
//   (the binding checks this; the kernel trusts it).
// backward: gx[i,j] = scale[i] * (exp(x[i,j] - lse[i]) - [j == t[i]]), 0 for ignored rows.
//   Reads x, t, lse, scale (n: the upstream gradient of loss[i], e.g. g / count for 'mean');
//   writes gx (n x c).
template <class T>
void softmax_cross_entropy_forward(const T* x, const std::int64_t* t, T* loss, T* lse, index_t n, index_t c,
                                   std::int64_t ignore_index);
template <class T>
void softmax_cross_entropy_backward(const T* x, const std::int64_t* t, const T* lse, const T* scale, T* gx,
                                    index_t n, index_t c, std::int64_t ignore_index);
// forward_backward: the forward, then the backward with the given scale, over each chunk of rows while its
//   logits are in cache; the same bits as the two calls (eg.compile fuses them when the loss's upstream
//   gradient is known before the forward runs: the seed of loss.backward()).
template <class T>
void softmax_cross_entropy_forward_backward(const T* x, const std::int64_t* t, T* loss, T* lse, const T* scale, T* gx,
                                            index_t n, index_t c, std::int64_t ignore_index);

// Mean-squared error pieces over n elements.
// squared_error_sum: returns sum_i (x[i] - y[i])^2, summed in double with a fixed chunking.
// squared_error: out[i] = (x[i] - y[i])^2.
// squared_error_backward: gx[i] = coef * (x[i] - y[i]) * (gy ? gy[i] : 1)
//   (coef = 2 g / n for 'mean', 2 g for 'sum', 2 with gy for 'none').
template <class T>
double squared_error_sum(const T* x, const T* y, index_t n);
template <class T>
void squared_error(const T* x, const T* y, T* out, index_t n);
template <class T>
void squared_error_backward(const T* x, const T* y, const T* gy, T coef, T* gx, index_t n);

// Softmax cross-entropy with class weights and/or label smoothing (PyTorch's CrossEntropyLoss), over rows
// of logits x (n x c) with integer targets t (n). w: class weights (c), or nullptr for all ones; eps: the
// label smoothing in [0, 1]. With W = sum_j w[j] and p = softmax(x[i]):
// forward: lse[i] = logsumexp(x[i]);
//          loss[i] = (1 - eps) w[t] (lse[i] - x[i,t]) + eps / c * sum_j w[j] (lse[i] - x[i,j]),
//          0 where t[i] == ignore_index. ('mean' divides the sum by sum_i w[t_i] over kept rows: the
//          caller's business.) Reads x, t, w; writes loss (n) and lse (n).
// backward: gx[i,j] = scale[i] * (((1 - eps) w[t] + eps W / c) p[j] - eps w[j] / c - (1 - eps) w[t] [j == t]),
//          0 for ignored rows. Reads x, t, w, lse, scale (n); writes gx (n x c).
template <class T>
void weighted_softmax_cross_entropy_forward(const T* x, const std::int64_t* t, const T* w, T eps, T* loss, T* lse,
                                            index_t n, index_t c, std::int64_t ignore_index);
template <class T>
void weighted_softmax_cross_entropy_backward(const T* x, const std::int64_t* t, const T* w, T eps, const T* lse,
                                             const T* scale, T* gx, index_t n, index_t c, std::int64_t ignore_index);
// forward_backward: both, chunk by chunk of rows, the same bits as the two calls (as above).
template <class T>
void weighted_softmax_cross_entropy_forward_backward(const T* x, const std::int64_t* t, const T* w, T eps, T* loss,
                                                     T* lse, const T* scale, T* gx, index_t n, index_t c,
                                                     std::int64_t ignore_index);

// Binary cross-entropy with logits (PyTorch's BCEWithLogitsLoss), numerically stable, over n elements.
// With lw = 1 + (pw - 1) y and softplus(-x) = max(-x, 0) + log1p(exp(-|x|)):
//   loss[i] = w * ((1 - y) x + lw softplus(-x)),   d loss / dx = w * (lw sigmoid(x) - pw y).
// w: weights read as w[i % w_len] (trailing broadcasting), or nullptr for 1; pw: positive-class weights
// read as pw[i % pw_len], or nullptr for 1.
// forward: writes loss[i] when loss != nullptr; returns sum_i loss[i] in double with a fixed chunking.
// backward: gx[i] = coef * (gy ? gy[i] : 1) * w * (lw sigmoid(x) - pw y).
template <class T>
double bce_with_logits_forward(const T* x, const T* y, const T* w, index_t w_len, const T* pw, index_t pw_len,
                               T* loss, index_t n);
template <class T>
void bce_with_logits_backward(const T* x, const T* y, const T* w, index_t w_len, const T* pw, index_t pw_len,
                              const T* gy, T coef, T* gx, index_t n);

// The reduction of a cross-entropy's per-row losses (rows, n) and the upstream gradient of each row, with
// PyTorch's divisor for 'mean': the number of rows whose target t[i] is not ignore_index, or, with class
// weights w (nullptr: none), the sum of w[t[i]] over those rows (every kept target in [0, classes): the
// caller checks). Sums are taken in double over 8 lanes in a fixed order; a divisor of 0 gives NaN.
//   loss_reduce:   returns T(sum_i rows[i]), divided by the divisor for 'mean';
//   loss_upstream: out[i] = T(g), or T(g / divisor) for 'mean';
//   mean_upstream: out[i] = T(g / G(count)), the division in g's type G (the unweighted 'mean').
template <class T>
T loss_reduce(const T* rows, const std::int64_t* t, index_t n, const T* w, std::int64_t ignore_index, bool mean);
template <class T>
void loss_upstream(double g, const std::int64_t* t, index_t n, const T* w, std::int64_t ignore_index, bool mean,
                   T* out);
template <class T, class G>
void mean_upstream(G g, const std::int64_t* t, index_t n, std::int64_t ignore_index, T* out);

}  // namespace eigengrad
