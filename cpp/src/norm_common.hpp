// Private helpers of the normalisation kernels (batchnorm.cpp, layernorm.cpp): lane sums in double,
// two-pass moments of a piece of data that sits in cache, Chan's merge of moments, and the
// (x - mean_hi) - mean_lo split of a double mean into two T values.
#pragma once
#include <algorithm>
#include <cmath>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "eigengrad/parallel.hpp"

namespace eigengrad::norm_detail {

// Elements per piece: a piece is re-read once for its centred sums, so it should stay in L2.
constexpr index_t kPiece = index_t(1) << 15;

// Sums run over kLanes lanes: element i of a span goes to lane i % kLanes (positions within the span,
// never addresses), and the lanes are added in a fixed tree at the end. 16 lanes of double are four
// AVX2 registers per sum: enough independent chains to hide the add latency. The same 16 lanes serve
// a stripe of 16 adjacent channels (batch norm of (n, c) input): then lane j is channel c0 + j.
constexpr int kLanes = 16;
using Lanes = double[kLanes];

// Four doubles: AVX2 + FMA registers when the compiler targets them, else plain arrays (the same
// lanes and order; without FMA the last bits of the products may differ from an FMA build).
#if defined(__AVX2__) && defined(__FMA__)
struct D4 {
  __m256d v;
};
inline D4 d4(double x) { return {_mm256_set1_pd(x)}; }
inline D4 d4_load(const double* p) { return {_mm256_loadu_pd(p)}; }
inline D4 d4_load(const float* p) { return {_mm256_cvtps_pd(_mm_loadu_ps(p))}; }
inline void d4_store(double* p, D4 a) { _mm256_storeu_pd(p, a.v); }
inline D4 operator+(D4 a, D4 b) { return {_mm256_add_pd(a.v, b.v)}; }
inline D4 operator-(D4 a, D4 b) { return {_mm256_sub_pd(a.v, b.v)}; }
inline D4 operator*(D4 a, D4 b) { return {_mm256_mul_pd(a.v, b.v)}; }
inline D4 fmadd(D4 a, D4 b, D4 c) { return {_mm256_fmadd_pd(a.v, b.v, c.v)}; }  // a * b + c
#else
struct D4 {
  double v[4];
};
inline D4 d4(double x) { return {{x, x, x, x}}; }
template <class T>
inline D4 d4_load(const T* p) { return {{double(p[0]), double(p[1]), double(p[2]), double(p[3])}}; }
inline void d4_store(double* p, D4 a) {
  for (int k = 0; k < 4; ++k) p[k] = a.v[k];
}
#define EIGENGRAD_D4_OP(op)                                                   \
  inline D4 operator op(D4 a, D4 b) {                                         \
    return {{a.v[0] op b.v[0], a.v[1] op b.v[1], a.v[2] op b.v[2], a.v[3] op b.v[3]}}; \
  }
EIGENGRAD_D4_OP(+)
EIGENGRAD_D4_OP(-)
EIGENGRAD_D4_OP(*)
#undef EIGENGRAD_D4_OP
inline D4 fmadd(D4 a, D4 b, D4 c) { return a * b + c; }
#endif

// 16 lanes in registers.
struct D16 {
  D4 q[4];
  static D16 load(const Lanes& a) { return {{d4_load(a), d4_load(a + 4), d4_load(a + 8), d4_load(a + 12)}}; }
  template <class T>
  static D16 load(const T* p) { return {{d4_load(p), d4_load(p + 4), d4_load(p + 8), d4_load(p + 12)}}; }
  void store(Lanes& a) const {
    for (int k = 0; k < 4; ++k) d4_store(a + 4 * k, q[k]);
  }
};

inline void zero(Lanes& a) {
  for (int j = 0; j < kLanes; ++j) a[j] = 0.0;
}

inline double total(const Lanes& a) {
  double t[kLanes / 2];
  for (int j = 0; j < kLanes / 2; ++j) t[j] = a[j] + a[j + kLanes / 2];
  double u[kLanes / 4];
  for (int j = 0; j < kLanes / 4; ++j) u[j] = t[j] + t[j + kLanes / 4];
  return (u[0] + u[2]) + (u[1] + u[3]);
}

// Blocks of 16 values: block b starts at x + b * stride (stride 16: a span; stride c: the rows of a
// stripe of 16 channels). mu and w are per lane. Even and odd blocks go to separate accumulators
// (added at the end): twice the independent add chains, so the loops are not bound by the add latency.

inline D16 operator+(const D16& a, const D16& b) {
  return {{a.q[0] + b.q[0], a.q[1] + b.q[1], a.q[2] + b.q[2], a.q[3] + b.q[3]}};
}

// s1 += x
template <class T>
inline void blocks_sum(Lanes& s1, const T* x, index_t blocks, index_t stride) {
  D16 a = D16::load(s1), a2 = D16::load(s1);
  for (int k = 0; k < 4; ++k) a2.q[k] = d4(0.0);
  index_t b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const D16 u = D16::load(x + b * stride), v = D16::load(x + (b + 1) * stride);
    for (int k = 0; k < 4; ++k) {
      a.q[k] = a.q[k] + u.q[k];
      a2.q[k] = a2.q[k] + v.q[k];
    }
  }
  if (b < blocks) {
    const D16 u = D16::load(x + b * stride);
    for (int k = 0; k < 4; ++k) a.q[k] = a.q[k] + u.q[k];
  }
  (a + a2).store(s1);
}

// s1 += x - mu, s2 += (x - mu)^2
template <class T>
inline void blocks_centred(Lanes& s1, Lanes& s2, const T* x, index_t blocks, index_t stride, const Lanes& mu) {
  D16 a = D16::load(s1), q = D16::load(s2), a2, q2;
  for (int k = 0; k < 4; ++k) a2.q[k] = q2.q[k] = d4(0.0);
  const D16 m = D16::load(mu);
  index_t b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const D16 u = D16::load(x + b * stride), v = D16::load(x + (b + 1) * stride);
    for (int k = 0; k < 4; ++k) {
      const D4 d = u.q[k] - m.q[k], e = v.q[k] - m.q[k];
      a.q[k] = a.q[k] + d;
      q.q[k] = fmadd(d, d, q.q[k]);
      a2.q[k] = a2.q[k] + e;
      q2.q[k] = fmadd(e, e, q2.q[k]);
    }
  }
  if (b < blocks) {
    const D16 u = D16::load(x + b * stride);
    for (int k = 0; k < 4; ++k) {
      const D4 d = u.q[k] - m.q[k];
      a.q[k] = a.q[k] + d;
      q.q[k] = fmadd(d, d, q.q[k]);
    }
  }
  (a + a2).store(s1);
  (q + q2).store(s2);
}

// s1 += g, s2 += g * (x - mu) with g = dy (kWeighted false) or dy * w[i] (w along the blocks).
template <bool kWeighted, class T>
inline void blocks_grad(Lanes& s1, Lanes& s2, const T* dy, const T* x, const T* w, index_t blocks, index_t stride,
                        const Lanes& mu) {
  D16 a = D16::load(s1), q = D16::load(s2), a2, q2;
  for (int k = 0; k < 4; ++k) a2.q[k] = q2.q[k] = d4(0.0);
  const D16 m = D16::load(mu);
  auto step = [&](index_t blk, D16& sa, D16& sq) {
    D16 g = D16::load(dy + blk * stride);
    const D16 v = D16::load(x + blk * stride);
    if (kWeighted) {
      const D16 ww = D16::load(w + blk * stride);
      for (int k = 0; k < 4; ++k) g.q[k] = g.q[k] * ww.q[k];
    }
    for (int k = 0; k < 4; ++k) {
      sa.q[k] = sa.q[k] + g.q[k];
      sq.q[k] = fmadd(g.q[k], v.q[k] - m.q[k], sq.q[k]);
    }
  };
  index_t b = 0;
  for (; b + 2 <= blocks; b += 2) {
    step(b, a, q);
    step(b + 1, a2, q2);
  }
  if (b < blocks) step(b, a, q);
  (a + a2).store(s1);
  (q + q2).store(s2);
}

// The span versions: full blocks of 16, then the tail into lanes 0, 1, ...

// s1 += x
template <class T>
inline void add_sum(Lanes& s1, const T* x, index_t len) {
  const index_t full = len / kLanes;
  blocks_sum(s1, x, full, kLanes);
  for (index_t i = full * kLanes, j = 0; i < len; ++i, ++j) s1[j] += double(x[i]);
}

// s1 += x - mu, s2 += (x - mu)^2
template <class T>
inline void add_centred(Lanes& s1, Lanes& s2, const T* x, index_t len, double mu) {
  const index_t full = len / kLanes;
  Lanes m;
  for (int j = 0; j < kLanes; ++j) m[j] = mu;
  blocks_centred(s1, s2, x, full, kLanes, m);
  for (index_t i = full * kLanes, j = 0; i < len; ++i, ++j) {
    const double d = double(x[i]) - mu;
    s1[j] += d;
    s2[j] += d * d;
  }
}

// s1 += g, s2 += g * (x - mu), g = dy, or dy * w[i] along the span when w is not null
template <class T>
inline void add_grad(Lanes& s1, Lanes& s2, const T* dy, const T* x, const T* w, index_t len, double mu) {
  const index_t full = len / kLanes;
  Lanes m;
  for (int j = 0; j < kLanes; ++j) m[j] = mu;
  if (w != nullptr) blocks_grad<true>(s1, s2, dy, x, w, full, kLanes, m);
  else blocks_grad<false>(s1, s2, dy, x, w, full, kLanes, m);
  for (index_t i = full * kLanes, j = 0; i < len; ++i, ++j) {
    const double g = double(dy[i]) * (w != nullptr ? double(w[i]) : 1.0);
    s1[j] += g;
    s2[j] += g * (double(x[i]) - mu);
  }
}

// count, mean and centred sum of squares m2 = sum (x - mean)^2 of a set of values.
struct Moments {
  double count = 0.0, mean = 0.0, m2 = 0.0;
};

// a <- the moments of a's values and b's together (Chan, Golub & LeVeque 1979).
inline void merge(Moments& a, const Moments& b) {
  if (b.count == 0.0) return;
  if (a.count == 0.0) {
    a = b;
    return;
  }
  const double count = a.count + b.count, delta = b.mean - a.mean;
  a.mean += delta * (b.count / count);
  a.m2 += b.m2 + delta * delta * (a.count * b.count / count);
  a.count = count;
}

// The moments of the values of `spans` spans of `len` elements, span r at span_at(r): the mean of a
// first pass, then the corrected two-pass sums sum (x - mu) and sum (x - mu)^2 of a second pass
// (Chan, Golub & LeVeque 1983, eq. 1.7). The caller keeps the spans small enough to stay in cache.
template <class T, class SpanAt>
Moments span_moments(index_t spans, index_t len, SpanAt&& span_at) {
  Moments m;
  m.count = double(spans) * double(len);
  if (m.count == 0.0) return m;
  Lanes s1;
  zero(s1);
  for (index_t r = 0; r < spans; ++r) add_sum(s1, span_at(r), len);
  const double mu = total(s1) / m.count;
  Lanes d1, d2;
  zero(d1);
  zero(d2);
  for (index_t r = 0; r < spans; ++r) add_centred(d1, d2, span_at(r), len, mu);
  const double t1 = total(d1);
  m.mean = mu + t1 / m.count;
  // Clamp the rounding's negative values at 0, but keep a NaN (std::max(0.0, NaN) is 0: a NaN input gave
  // finite statistics and a running variance updated as if the batch were clean).
  const double m2 = total(d2) - t1 * (t1 / m.count);
  m.m2 = m2 < 0.0 ? 0.0 : m2;
  return m;
}

// A double split into two T values: hi = T(v), lo = T(v - hi); (x - hi) - lo is x - v to T's rounding
// even when |v| >> |x - v|. (For T = double, lo is 0.)
template <class T>
struct Split {
  T hi, lo;
  explicit Split(double v) : hi(T(v)), lo(T(v - double(T(v)))) {}
};

}  // namespace eigengrad::norm_detail
