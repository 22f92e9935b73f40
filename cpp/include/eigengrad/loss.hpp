// Losses: fused softmax + cross-entropy, and mean-squared error.
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

}  // namespace eigengrad
