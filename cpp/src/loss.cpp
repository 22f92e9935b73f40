#include "eigengrad/loss.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <vector>

#include "eigengrad/sigmoid_tanh.hpp"
#include "eigengrad/simd_block.hpp"

namespace eigengrad {
namespace {
template <class T>
using Vec = Eigen::Array<T, Eigen::Dynamic, 1>;

// Rows per chunk: about kElementwiseGrain elements of work, at least one row.
index_t row_grain(index_t c) { return std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(c, 1)); }
}  // namespace

// Rows are short (often ~10 classes): small blocks keep the padding waste low.
constexpr int kRowBlock = 16;

template <class T>
T row_max(const T* row, index_t c) {
  T m = row[0];
  for (index_t j = 1; j < c; ++j) m = row[j] > m ? row[j] : m;
  return m;
}

// log sum_j exp(row[j]): shifted by the max (never overflows); exp evaluated block-wise, summed in a
// fixed order, so the value does not depend on the row's alignment.
template <class T>
T row_logsumexp(const T* row, index_t c, T* scratch) {
  const T mx = row_max(row, c);
  map_blocks<T, kRowBlock>(row, scratch, c, [mx](const auto& v) { return (v - mx).exp(); });
  return mx + T(std::log(fixed_order_sum(scratch, c)));
}

// Rows of a few classes go in groups of kGroupElems / c rows: their shifted logits are contiguous, so
// exp runs over whole blocks across rows instead of one padded block (and its copies) per row, which at
// 10 classes cost ~350 ns a row. Every element still goes through the same packet exp, every product
// and difference is the same IEEE operation, and every sum keeps its fixed order: the bits are those of
// one row at a time (row_logsumexp, and the map in exp_shifted_rows for a group of one).
constexpr index_t kGroupElems = 256;
index_t group_rows(index_t c) { return c > 0 && c <= kGroupElems / 4 ? kGroupElems / c : 1; }
// The scratch the forward rows need (a group's exponentials).
std::size_t lse_scratch_size(index_t c) { return static_cast<std::size_t>(group_rows(c) * std::max<index_t>(c, 1)); }

// lse[i] = log sum_j exp(x[i, j]) for the rows [b, e).
template <class T>
void rows_logsumexp(const T* x, index_t c, index_t b, index_t e, T* lse, T* scratch) {
  const index_t k = group_rows(c);
  if (k == 1) {
    for (index_t i = b; i < e; ++i) lse[i] = row_logsumexp(x + i * c, c, scratch);
    return;
  }
  T mx[kGroupElems];
  for (index_t i0 = b; i0 < e; i0 += k) {
    const index_t rows = std::min(k, e - i0);
    const T* xg = x + i0 * c;
    for (index_t r = 0; r < rows; ++r) {
      mx[r] = row_max(xg + r * c, c);
      for (index_t j = 0; j < c; ++j) scratch[r * c + j] = xg[r * c + j] - mx[r];
    }
    map_blocks<T, kRowBlock>(scratch, scratch, rows * c, [](const auto& v) { return v.exp(); });
    for (index_t r = 0; r < rows; ++r) {
      const T* ex = scratch + r * c;
      lse[i0 + r] = mx[r] + T(std::log(fixed_order_sum(ex, c)));
    }
  }
}

// g[r, j] = exp(x[r, j] - l[r]) * a[r] for `rows` rows of c (one group: rows <= group_rows(c)).
template <class T>
void exp_shifted_rows(const T* x, const T* l, const T* a, index_t rows, index_t c, T* g) {
  if (rows == 1) {
    const T l0 = l[0], a0 = a[0];
    map_blocks<T, kRowBlock>(x, g, c, [l0, a0](const auto& v) { return (v - l0).exp() * a0; });
    return;
  }
  for (index_t r = 0; r < rows; ++r)
    for (index_t j = 0; j < c; ++j) g[r * c + j] = x[r * c + j] - l[r];
  map_blocks<T, kRowBlock>(g, g, rows * c, [](const auto& v) { return v.exp(); });
  for (index_t r = 0; r < rows; ++r)
    for (index_t j = 0; j < c; ++j) g[r * c + j] *= a[r];
}

// The plain cross-entropy's rows [b, e): each public kernel below runs these over chunks of rows, so the
// fused forward-backward computes every row with the same code, in the same order, as the two calls.
template <class T>
void ce_forward_rows(const T* x, const std::int64_t* t, T* loss, T* lse, index_t c, std::int64_t ignore_index,
                     index_t b, index_t e, T* scratch) {
  rows_logsumexp(x, c, b, e, lse, scratch);
  for (index_t i = b; i < e; ++i) loss[i] = t[i] == ignore_index ? T(0) : lse[i] - x[i * c + t[i]];
}

template <class T>
void ce_backward_rows(const T* x, const std::int64_t* t, const T* lse, const T* scale, T* gx, index_t c,
                      std::int64_t ignore_index, index_t b, index_t e) {
  const index_t k = group_rows(c);
  for (index_t i0 = b; i0 < e; i0 += k) {
    const index_t rows = std::min(k, e - i0);
    // (an ignored row's exponentials are computed with the rest and then overwritten)
    exp_shifted_rows(x + i0 * c, lse + i0, scale + i0, rows, c, gx + i0 * c);
    for (index_t i = i0; i < i0 + rows; ++i) {
      T* g = gx + i * c;
      if (t[i] == ignore_index) std::fill(g, g + c, T(0));
      else g[t[i]] -= scale[i];
    }
  }
}

template <class T>
void softmax_cross_entropy_forward(const T* x, const std::int64_t* t, T* loss, T* lse, index_t n, index_t c,
                                   std::int64_t ignore_index) {
  parallel_for(n, row_grain(c), [&](index_t b, index_t e) {
    std::vector<T> scratch(lse_scratch_size(c));
    ce_forward_rows(x, t, loss, lse, c, ignore_index, b, e, scratch.data());
  });
}

template <class T>
void softmax_cross_entropy_backward(const T* x, const std::int64_t* t, const T* lse, const T* scale, T* gx,
                                    index_t n, index_t c, std::int64_t ignore_index) {
  parallel_for(n, row_grain(c),
               [&](index_t b, index_t e) { ce_backward_rows(x, t, lse, scale, gx, c, ignore_index, b, e); });
}

template <class T>
void softmax_cross_entropy_forward_backward(const T* x, const std::int64_t* t, T* loss, T* lse, const T* scale, T* gx,
                                            index_t n, index_t c, std::int64_t ignore_index) {
  parallel_for(n, row_grain(c), [&](index_t b, index_t e) {
    std::vector<T> scratch(lse_scratch_size(c));
    ce_forward_rows(x, t, loss, lse, c, ignore_index, b, e, scratch.data());
    ce_backward_rows(x, t, lse, scale, gx, c, ignore_index, b, e);  // the chunk's logits still in cache
  });
}

template <class T>
double squared_error_sum(const T* x, const T* y, index_t n) {
  return parallel_sum(n, kElementwiseGrain, [&](index_t b, index_t e) {
    return fixed_order_sum(e - b, [&](index_t i) {
      const double d = double(x[b + i]) - double(y[b + i]);
      return d * d;
    });
  });
}

template <class T>
void squared_error(const T* x, const T* y, T* out, index_t n) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    Eigen::Map<const Vec<T>> X(x + b, e - b), Y(y + b, e - b);
    Eigen::Map<Vec<T>>(out + b, e - b) = (X - Y).square();
  });
}

template <class T>
void squared_error_backward(const T* x, const T* y, const T* gy, T coef, T* gx, index_t n) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    Eigen::Map<const Vec<T>> X(x + b, e - b), Y(y + b, e - b);
    Eigen::Map<Vec<T>> G(gx + b, e - b);
    if (gy != nullptr) G = coef * (X - Y) * Eigen::Map<const Vec<T>>(gy + b, e - b);
    else G = coef * (X - Y);
  });
}

#define EIGENGRAD_INSTANTIATE_LOSS(T)                                                                          \
  template void softmax_cross_entropy_forward<T>(const T*, const std::int64_t*, T*, T*, index_t, index_t,      \
                                                 std::int64_t);                                                \
  template void softmax_cross_entropy_backward<T>(const T*, const std::int64_t*, const T*, const T*, T*,       \
                                                  index_t, index_t, std::int64_t);                             \
  template void softmax_cross_entropy_forward_backward<T>(const T*, const std::int64_t*, T*, T*, const T*, T*, \
                                                          index_t, index_t, std::int64_t);                     \
  template double squared_error_sum<T>(const T*, const T*, index_t);                                           \
  template void squared_error<T>(const T*, const T*, T*, index_t);                                             \
  template void squared_error_backward<T>(const T*, const T*, const T*, T, T*, index_t);
EIGENGRAD_INSTANTIATE_LOSS(float)
EIGENGRAD_INSTANTIATE_LOSS(double)

// The weighted cross-entropy's rows [b, e), shared by the kernels below as the plain one's are.
// W: sum_j w[j] in double (c without weights).
template <class T>
void wce_forward_rows(const T* x, const std::int64_t* t, const T* w, T eps, double W, T* loss, T* lse, index_t c,
                      std::int64_t ignore_index, index_t b, index_t e, T* scratch) {
  rows_logsumexp(x, c, b, e, lse, scratch);
  for (index_t i = b; i < e; ++i) {
    const T* row = x + i * c;
    const T l = lse[i];
    if (t[i] == ignore_index) {
      loss[i] = T(0);
      continue;
    }
    const double wt = w ? double(w[t[i]]) : 1.0;
    double out = (1.0 - double(eps)) * wt * (double(l) - double(row[t[i]]));
    if (eps != T(0)) {
      const double wx = w ? fixed_order_sum(c, [&](index_t j) { return double(w[j]) * double(row[j]); })
                          : fixed_order_sum(row, c);
      out += double(eps) / double(c) * (W * double(l) - wx);
    }
    loss[i] = T(out);
  }
}

template <class T>
void wce_backward_rows(const T* x, const std::int64_t* t, const T* w, T eps, T W, const T* lse, const T* scale,
                       T* gx, index_t c, std::int64_t ignore_index, index_t b, index_t e) {
  const T ec = eps / T(c);
  const index_t k = group_rows(c);
  T a[kGroupElems];
  for (index_t i0 = b; i0 < e; i0 += k) {
    const index_t rows = std::min(k, e - i0);
    for (index_t r = 0; r < rows; ++r) {
      const index_t i = i0 + r;
      if (t[i] == ignore_index) {  // (w[t] is not read: t may be out of range)
        a[r] = T(0);
        continue;
      }
      const T wt = w ? w[t[i]] : T(1);
      // without smoothing only w[t] is read, as in the forward (ec * W would be NaN for a NaN weight elsewhere)
      a[r] = scale[i] * ((T(1) - eps) * wt + (ec != T(0) ? ec * W : T(0)));
    }
    exp_shifted_rows(x + i0 * c, lse + i0, a, rows, c, gx + i0 * c);
    for (index_t i = i0; i < i0 + rows; ++i) {
      T* g = gx + i * c;
      if (t[i] == ignore_index) {
        std::fill(g, g + c, T(0));
        continue;
      }
      const T wt = w ? w[t[i]] : T(1);
      const T s = scale[i];
      if (ec != T(0)) {
        if (w) for (index_t j = 0; j < c; ++j) g[j] -= s * ec * w[j];
        else for (index_t j = 0; j < c; ++j) g[j] -= s * ec;
      }
      g[t[i]] -= s * (T(1) - eps) * wt;
    }
  }
}

template <class T>
double weight_sum(const T* w, index_t c) {
  return w ? fixed_order_sum(w, c) : double(c);
}

template <class T>
void weighted_softmax_cross_entropy_forward(const T* x, const std::int64_t* t, const T* w, T eps, T* loss, T* lse,
                                            index_t n, index_t c, std::int64_t ignore_index) {
  const double W = weight_sum(w, c);
  parallel_for(n, row_grain(c), [&](index_t b, index_t e) {
    std::vector<T> scratch(lse_scratch_size(c));
    wce_forward_rows(x, t, w, eps, W, loss, lse, c, ignore_index, b, e, scratch.data());
  });
}

template <class T>
void weighted_softmax_cross_entropy_backward(const T* x, const std::int64_t* t, const T* w, T eps, const T* lse,
                                             const T* scale, T* gx, index_t n, index_t c, std::int64_t ignore_index) {
  const T W = T(weight_sum(w, c));
  parallel_for(n, row_grain(c), [&](index_t b, index_t e) {
    wce_backward_rows(x, t, w, eps, W, lse, scale, gx, c, ignore_index, b, e);
  });
}

template <class T>
void weighted_softmax_cross_entropy_forward_backward(const T* x, const std::int64_t* t, const T* w, T eps, T* loss,
                                                     T* lse, const T* scale, T* gx, index_t n, index_t c,
                                                     std::int64_t ignore_index) {
  const double W = weight_sum(w, c);
  parallel_for(n, row_grain(c), [&](index_t b, index_t e) {
    std::vector<T> scratch(lse_scratch_size(c));
    wce_forward_rows(x, t, w, eps, W, loss, lse, c, ignore_index, b, e, scratch.data());
    wce_backward_rows(x, t, w, eps, T(W), lse, scale, gx, c, ignore_index, b, e);  // the chunk still in cache
  });
}

namespace {
template <class T>
inline T softplus_neg(T x) {  // log(1 + exp(-x)), never overflows
  return std::max(-x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}
template <class T>
inline T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T z = std::exp(x);
  return z / (T(1) + z);
}
}  // namespace

// A cyclic index j = i % len, advanced without a division per element (weights broadcast over rows).
struct Cycle {
  index_t j, len;
  Cycle(index_t start, index_t length) : j(length > 0 ? start % length : 0), len(length) {}
  index_t next() {
    const index_t k = j;
    if (++j == len) j = 0;
    return k;
  }
};

// The transcendental part of a chunk, vectorised by Eigen in fixed blocks (alignment-independent):
// softplus(-x) = log(1 + exp(-x)) for the loss, sigmoid(x) for the gradient.
constexpr int kBceBlock = 64;
template <class T>
void softplus_neg_block(const T* x, T* out, index_t n) {
  map_blocks<T, kBceBlock>(x, out, n, [](const auto& v) { return (-v).max(T(0)) + (-v.abs()).exp().log1p(); });
}
template <class T>
void sigmoid_block(const T* x, T* out, index_t n) {
  map_blocks<T, kBceBlock>(x, out, n, [](const auto& v) { return accurate_sigmoid(v); });
}

template <class T>
double bce_with_logits_forward(const T* x, const T* y, const T* w, index_t w_len, const T* pw, index_t pw_len,
                               T* loss, index_t n) {
  return parallel_sum(n, kElementwiseGrain, [&](index_t b, index_t e) {
    std::vector<T> sp(static_cast<std::size_t>(e - b));
    softplus_neg_block(x + b, sp.data(), e - b);
    Cycle wi(b, w_len), pi(b, pw_len);
    return fixed_order_sum(e - b, [&](index_t k) {
      const index_t i = b + k;
      const T xi = x[i], yi = y[i];
      const T lw = pw ? T(1) + (pw[pi.next()] - T(1)) * yi : T(1);
      T l = (T(1) - yi) * xi + lw * sp[static_cast<std::size_t>(k)];
      if (w) l *= w[wi.next()];
      if (loss) loss[i] = l;
      return double(l);
    });
  });
}

template <class T>
void bce_with_logits_backward(const T* x, const T* y, const T* w, index_t w_len, const T* pw, index_t pw_len,
                              const T* gy, T coef, T* gx, index_t n) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    sigmoid_block(x + b, gx + b, e - b);  // gx holds sigmoid(x) until overwritten below
    Cycle wi(b, w_len), pi(b, pw_len);
    for (index_t i = b; i < e; ++i) {
      const T yi = y[i];
      const T p = pw ? pw[pi.next()] : T(1);
      const T lw = T(1) + (p - T(1)) * yi;
      T g = coef * (lw * gx[i] - p * yi);
      if (w) g *= w[wi.next()];
      if (gy) g *= gy[i];
      gx[i] = g;
    }
  });
}

#define EIGENGRAD_INSTANTIATE_LOSS_EXT(T)                                                                      \
  template void weighted_softmax_cross_entropy_forward<T>(const T*, const std::int64_t*, const T*, T, T*, T*,  \
                                                          index_t, index_t, std::int64_t);                     \
  template void weighted_softmax_cross_entropy_backward<T>(const T*, const std::int64_t*, const T*, T,         \
                                                           const T*, const T*, T*, index_t, index_t,           \
                                                           std::int64_t);                                      \
  template void weighted_softmax_cross_entropy_forward_backward<T>(const T*, const std::int64_t*, const T*, T,  \
                                                                   T*, T*, const T*, T*, index_t, index_t,      \
                                                                   std::int64_t);                               \
  template double bce_with_logits_forward<T>(const T*, const T*, const T*, index_t, const T*, index_t, T*,     \
                                             index_t);                                                         \
  template void bce_with_logits_backward<T>(const T*, const T*, const T*, index_t, const T*, index_t,          \
                                            const T*, T, T*, index_t);
EIGENGRAD_INSTANTIATE_LOSS_EXT(float)
EIGENGRAD_INSTANTIATE_LOSS_EXT(double)

}  // namespace eigengrad
