// The per-row work of the attention kernels between their block GEMMs: scores (scale, mask, causal),
// the online softmax update, probabilities from the saved log-sum-exp, dropout and the score gradient.
// Rows are contiguous runs of n values of a block (one row of the scores or of their gradient).
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "eigengrad/attention.hpp"

namespace eigengrad::attention_detail {
namespace {  // internal linkage: inlined into the kernels, never called through the PLT

template <class T>
constexpr T kNegInf = -std::numeric_limits<T>::infinity();

// Index of element (b, h, i, j) in the (B, Hq, L, S) draw of the dropout mask.
inline index_t element_index(index_t b, index_t h, index_t i, index_t j, const AttentionShape& s) {
  return ((b * s.heads + h) * s.lq + i) * s.lk + j;
}

// max_c row[c] (-inf for n = 0), over fixed-size blocks (a scalar max loop does not vectorise).
template <class T>
T row_max(const T* row, index_t n) {
  constexpr int W = 64 / sizeof(T);
  using V = Eigen::Array<T, W, 1>;
  V acc = V::Constant(kNegInf<T>);
  index_t c = 0;
  for (; c + W <= n; c += W) acc = acc.max(Eigen::Map<const V>(row + c));
  T mx = acc.maxCoeff();
  for (; c < n; ++c) mx = std::max(mx, row[c]);
  return mx;
}

// row[c] *= scale; returns the new row's max: one pass (the unmasked scores' common case).
template <class T>
T scale_row_max(T* row, index_t n, T scale) {
  constexpr int W = 64 / sizeof(T);
  using V = Eigen::Array<T, W, 1>;
  V acc = V::Constant(kNegInf<T>);
  index_t c = 0;
  for (; c + W <= n; c += W) {
    Eigen::Map<V> x(row + c);
    x *= scale;
    acc = acc.max(x);
  }
  T mx = acc.maxCoeff();
  for (; c < n; ++c) mx = std::max(mx, row[c] *= scale);
  return mx;
}

// row[c] = x_c = scale * row[c] + mask(b, h, i, j0 + c), -inf where masked (keep mask 0, or causal).
// Returns max_c x_c (a NaN score may or may not reach it: the row is NaN either way).
template <class T>
T scores(T* row, index_t n, index_t b, index_t h, index_t i, index_t j0, const AttentionMask<T>& mask,
         const AttentionOptions& opt) {
  const T sc = T(opt.scale);
  const index_t at = b * mask.sb + h * mask.sh + i * mask.si + j0 * mask.sj, sj = mask.sj;
  if (mask.bias) {
    const T* mb = mask.bias + at;
    for (index_t c = 0; c < n; ++c) row[c] = row[c] * sc + mb[c * sj];
  } else if (mask.keep) {
    const std::uint8_t* mk = mask.keep + at;
    for (index_t c = 0; c < n; ++c) row[c] = mk[c * sj] ? row[c] * sc : kNegInf<T>;
  } else if (!opt.causal) {
    return scale_row_max(row, n, sc);
  } else {
    for (index_t c = 0; c < n; ++c) row[c] *= sc;
  }
  if (opt.causal)
    for (index_t c = std::max<index_t>(0, i + 1 - j0); c < n; ++c) row[c] = kNegInf<T>;
  return row_max(row, n);
}

// row[c] = exp(row[c] - shift); returns the sum of the new row. Fixed-size blocks of 64 bytes (the
// tail through a padded copy), summed lane by lane and then across lanes in a fixed order: the bits
// depend on n only. Eigen's double exp(-inf) is a denormal (its argument is clamped), not 0: values
// below the smallest normal number are flushed by max(e, tiny) - tiny, which leaves every e >= 2^-970
// as it is and keeps NaN (an Eigen select() would have made the whole block scalar).
template <class T>
T exp_shifted(T* row, index_t n, T shift) {
  constexpr int W = 64 / sizeof(T);
  using V = Eigen::Array<T, W, 1>;
  constexpr T tiny = std::numeric_limits<T>::min();
  V acc = V::Zero();
  auto block = [&](T* at) {
    Eigen::Map<V> x(at);
    x = (x - shift).exp().template max<Eigen::PropagateNaN>(tiny) - tiny;
    acc += x;
  };
  index_t c = 0;
  for (; c + W <= n; c += W) block(row + c);
  if (c < n) {
    alignas(64) T tail[W];
    std::fill(tail, tail + W, kNegInf<T>);
    std::memcpy(tail, row + c, sizeof(T) * std::size_t(n - c));
    block(tail);
    std::memcpy(row + c, tail, sizeof(T) * std::size_t(n - c));
  }
  return acc.sum();
}

// One key block of the online softmax for a row of scores x (in place: becomes exp(x - m_new)).
// Updates the row's running max m and sum l; returns alpha = exp(m_old - m_new), the factor that
// rescales what the row has summed so far (0 while the row has seen only masked keys). A max of -inf
// (every key so far masked) shifts by 0 instead, so exp(-inf - shift) stays 0 rather than NaN.
// row_mx: the row's max (from scores()).
template <class T>
T online_softmax_row(T* row, index_t n, T row_mx, T& m, T& l) {
  const T mx = std::max(m, row_mx);
  const T shift = mx == kNegInf<T> ? T(0) : mx;
  const T sum = exp_shifted(row, n, shift);
  const T alpha = m == kNegInf<T> ? T(0) : std::exp(m - shift);
  l = l * alpha + sum;
  m = mx;
  return alpha;
}

// p = exp(x - lse) from the forward's log-sum-exp (lse = +inf on a fully masked row gives 0).
template <class T>
void probabilities_row(T* row, index_t n, T lse) {
  exp_shifted(row, n, lse);
}

// row[c] /= l: the weights of a row whose exp(x - m) and sum l are final (0 when l = 0, a fully masked
// row). Multiplies by 1 / l, as PyTorch's softmax does.
template <class T>
void normalize_row(T* row, index_t n, T l) {
  const T f = l == T(0) ? T(0) : T(1) / l;
  for (index_t c = 0; c < n; ++c) row[c] *= f;
}

// x (rows x cols) row r times a[r]: rescales the output rows of a query block.
template <class T>
void scale_rows(T* x, index_t rows, index_t cols, const T* a) {
  for (index_t r = 0; r < rows; ++r) {
    const T f = a[r];
    for (index_t c = 0; c < cols; ++c) x[r * cols + c] *= f;
  }
}

// Dropout of one row of probabilities: row[c] *= keep[c] * keep_scale (in place, or into out).
template <class T>
void apply_dropout(T* row, const std::uint8_t* keep, index_t n, T keep_scale) {
  for (index_t c = 0; c < n; ++c) row[c] *= T(keep[c]) * keep_scale;
}
template <class T>
void dropped_row(const T* p, const std::uint8_t* keep, index_t n, T keep_scale, T* out) {
  for (index_t c = 0; c < n; ++c) out[c] = p[c] * (T(keep[c]) * keep_scale);
}

// The score gradient of one row, in place of dp: ds = p (dp' - delta) with dp' = dp (keep keep_scale)
// under dropout; dmask[c] = ds (when wanted), then dp[c] = scale ds (the GEMMs' operand for dq, dk).
template <class T>
void score_grad_row(const T* p, T* dp, const std::uint8_t* keep, index_t n, T delta, T keep_scale, T scale,
                    T* dmask) {
  if (keep)
    for (index_t c = 0; c < n; ++c) dp[c] *= T(keep[c]) * keep_scale;
  if (dmask) {
    for (index_t c = 0; c < n; ++c) {
      const T ds = p[c] * (dp[c] - delta);
      dmask[c] = ds;
      dp[c] = ds * scale;
    }
    return;
  }
  for (index_t c = 0; c < n; ++c) dp[c] = p[c] * (dp[c] - delta) * scale;
}

}  // namespace
}  // namespace eigengrad::attention_detail
