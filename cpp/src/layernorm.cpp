// Layer normalisation (statistics per row of x (m, d)) and group normalisation (statistics per
// (sample, group) of x (n, c, s): the group's channels are adjacent, so each (sample, group) is one
// contiguous row of cg * s values). A row's moments come from two passes over pieces of at most kPiece
// elements (in cache), merged in order; the output uses them while the row is still in cache.
#include <algorithm>
#include <cmath>
#include <vector>

#include "eigengrad/norm.hpp"
#include "norm_common.hpp"

namespace eigengrad {
namespace {
using namespace norm_detail;

// Moments of one contiguous row of d values.
template <class T>
Moments row_moments(const T* x, index_t d) {
  Moments total;
  for (index_t k0 = 0; k0 < d; k0 += kPiece) {
    const index_t len = std::min(kPiece, d - k0);
    merge(total, span_moments<T>(1, len, [&](index_t) { return x + k0; }));
  }
  return total;
}

// Rows per chunk: about kElementwiseGrain elements, and at most kMaxChunks chunks (the backward keeps a
// partial weight gradient per chunk). Depends only on the shape.
constexpr index_t kMaxChunks = 64;
index_t rows_per_chunk(index_t m, index_t d) {
  return std::max({index_t(1), kElementwiseGrain / std::max<index_t>(d, 1), ceil_div(m, kMaxChunks)});
}

// The sums of a row for the backward: su = sum g, sv = sum g * (x - mean), g = dy * w (w may be null).
template <class T>
void row_grad_sums(const T* dy, const T* x, const T* w, index_t d, double mean, double& su, double& sv) {
  Lanes a, b;
  zero(a);
  zero(b);
  add_grad(a, b, dy, x, w, d, mean);
  su = total(a);
  sv = total(b);
}

// Over rows [r0, r1) of dy, x (m, d): cw[j] += dy * xhat, cb[j] += dy (xhat = (x - mean) * rstd of the
// row), in double, four rows at a time so that the column sums are read and written once per four rows.
template <class T>
void columns_affine_grad(const T* dy, const T* x, const double* mean, const double* rstd, index_t d, index_t r0,
                         index_t r1, double* cw, double* cb) {
  index_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const T *g0 = dy + r * d, *g1 = g0 + d, *g2 = g1 + d, *g3 = g2 + d;
    const T *x0 = x + r * d, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
    const double m0 = mean[r], m1 = mean[r + 1], m2 = mean[r + 2], m3 = mean[r + 3];
    const double s0 = rstd[r], s1 = rstd[r + 1], s2 = rstd[r + 2], s3 = rstd[r + 3];
    for (index_t j = 0; j < d; ++j) {
      const double a0 = double(g0[j]), a1 = double(g1[j]), a2 = double(g2[j]), a3 = double(g3[j]);
      cw[j] += (a0 * ((double(x0[j]) - m0) * s0) + a1 * ((double(x1[j]) - m1) * s1)) +
               (a2 * ((double(x2[j]) - m2) * s2) + a3 * ((double(x3[j]) - m3) * s3));
      cb[j] += (a0 + a1) + (a2 + a3);
    }
  }
  for (; r < r1; ++r) {
    const T *g0 = dy + r * d, *x0 = x + r * d;
    const double m0 = mean[r], s0 = rstd[r];
    for (index_t j = 0; j < d; ++j) {
      const double a0 = double(g0[j]);
      cw[j] += a0 * ((double(x0[j]) - m0) * s0);
      cb[j] += a0;
    }
  }
}

}  // namespace

template <class T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, double* mean, double* rstd, double eps,
                        index_t m, index_t d) {
  parallel_for(m, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(d, 1)), [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) {
      const T* xr = x + r * d;
      T* yr = y + r * d;
      const Moments mo = row_moments(xr, d);
      const double var = d > 0 ? mo.m2 / double(d) : 0.0;
      mean[r] = mo.mean;
      rstd[r] = 1.0 / std::sqrt(var + eps);
      // xhat = (x - hi) * rs + c0 with hi = T(mean), c0 = -(mean - hi) * rs (see Split)
      const Split<T> mu(mo.mean);
      const T hi = mu.hi, rs = T(rstd[r]), c0 = T(-double(mu.lo) * rstd[r]);
      if (weight != nullptr && bias != nullptr) {
        for (index_t j = 0; j < d; ++j) yr[j] = ((xr[j] - hi) * rs + c0) * weight[j] + bias[j];
      } else if (weight != nullptr) {
        for (index_t j = 0; j < d; ++j) yr[j] = ((xr[j] - hi) * rs + c0) * weight[j];
      } else if (bias != nullptr) {
        for (index_t j = 0; j < d; ++j) yr[j] = ((xr[j] - hi) * rs + c0) + bias[j];
      } else {
        for (index_t j = 0; j < d; ++j) yr[j] = (xr[j] - hi) * rs + c0;
      }
    }
  });
}

template <class T>
void layer_norm_backward(const T* dy, const T* x, const double* mean, const double* rstd, const T* weight, T* dx,
                         T* dweight, T* dbias, index_t m, index_t d) {
  const index_t rows = rows_per_chunk(m, d);
  const index_t chunks = m > 0 ? ceil_div(m, rows) : 0;
  const bool params = dweight != nullptr || dbias != nullptr;
  std::vector<double> pw(params ? std::size_t(chunks * d) : 0), pb(params ? std::size_t(chunks * d) : 0);
  parallel_for(m, rows, [&](index_t r0, index_t r1) {
    if (dx != nullptr) {
      for (index_t r = r0; r < r1; ++r) {
        const T* xr = x + r * d;
        const T* gr = dy + r * d;
        const double rs = rstd[r], mu = mean[r];
        double su, sv;
        row_grad_sums(gr, xr, weight, d, mu, su, sv);
        // dx = rs * g + a * (x - mean) + b, a = -rs^3 * sv / d, b = -rs * su / d
        const Split<T> sp(mu);
        const double ad = -rs * rs * rs * sv / double(d);
        const T hi = sp.hi, g = T(rs), a = T(ad), b = T(-rs * su / double(d) - ad * double(sp.lo));
        T* o = dx + r * d;
        if (weight != nullptr) {
          for (index_t j = 0; j < d; ++j) o[j] = g * (gr[j] * weight[j]) + a * (xr[j] - hi) + b;
        } else {
          for (index_t j = 0; j < d; ++j) o[j] = g * gr[j] + a * (xr[j] - hi) + b;
        }
      }
    }
    if (params) {
      const index_t k = r0 / rows;
      columns_affine_grad(dy, x, mean, rstd, d, r0, r1, pw.data() + k * d, pb.data() + k * d);
    }
  });
  if (!params) return;
  for (index_t j = 0; j < d; ++j) {
    double w = 0.0, b = 0.0;
    for (index_t k = 0; k < chunks; ++k) {
      w += pw[std::size_t(k * d + j)];
      b += pb[std::size_t(k * d + j)];
    }
    if (dweight != nullptr) dweight[j] = T(w);
    if (dbias != nullptr) dbias[j] = T(b);
  }
}

template <class T>
void group_norm_forward(const T* x, const T* weight, const T* bias, T* y, double* mean, double* rstd, double eps,
                        index_t n, index_t c, index_t s, index_t groups) {
  const index_t cg = c / groups, d = cg * s;
  parallel_for(n * groups, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(d, 1)), [&](index_t q0, index_t q1) {
    for (index_t q = q0; q < q1; ++q) {
      const T* xr = x + q * d;
      T* yr = y + q * d;
      const Moments mo = row_moments(xr, d);
      const double var = d > 0 ? mo.m2 / double(d) : 0.0;
      mean[q] = mo.mean;
      rstd[q] = 1.0 / std::sqrt(var + eps);
      const Split<T> mu(mo.mean);
      const T hi = mu.hi;
      const index_t c0 = (q % groups) * cg;
      for (index_t ch = 0; ch < cg; ++ch) {
        const double ad = rstd[q] * (weight != nullptr ? double(weight[c0 + ch]) : 1.0);
        const T a = T(ad), b = T((bias != nullptr ? double(bias[c0 + ch]) : 0.0) - ad * double(mu.lo));
        const T* xs = xr + ch * s;
        T* ys = yr + ch * s;
        for (index_t k = 0; k < s; ++k) ys[k] = (xs[k] - hi) * a + b;
      }
    }
  });
}

template <class T>
void group_norm_backward(const T* dy, const T* x, const double* mean, const double* rstd, const T* weight, T* dx,
                         T* dweight, T* dbias, index_t n, index_t c, index_t s, index_t groups) {
  const index_t cg = c / groups, d = cg * s;
  // Per (sample, channel): db = sum dy, ds = sum dy * (x - mean) over the channel's s values.
  std::vector<double> db(std::size_t(n * c)), ds(std::size_t(n * c));
  parallel_for(n * groups, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(d, 1)), [&](index_t q0, index_t q1) {
    for (index_t q = q0; q < q1; ++q) {
      const index_t c0 = (q % groups) * cg;
      const double mu = mean[q], rs = rstd[q];
      double su = 0.0, sv = 0.0;  // sums over the group of g = dy * w and g * (x - mean)
      for (index_t ch = 0; ch < cg; ++ch) {
        const index_t off = q * d + ch * s;
        Lanes a, b;
        zero(a);
        zero(b);
        add_grad(a, b, dy + off, x + off, static_cast<const T*>(nullptr), s, mu);
        const double sa = total(a), sb = total(b), w = weight != nullptr ? double(weight[c0 + ch]) : 1.0;
        db[std::size_t(q * cg + ch)] = sa;
        ds[std::size_t(q * cg + ch)] = sb;
        su += w * sa;
        sv += w * sb;
      }
      if (dx == nullptr) continue;
      const Split<T> sp(mu);
      const double ad = -rs * rs * rs * sv / double(d);
      const T hi = sp.hi, a = T(ad), b = T(-rs * su / double(d) - ad * double(sp.lo));
      for (index_t ch = 0; ch < cg; ++ch) {
        const index_t off = q * d + ch * s;
        const T g = T(rs * (weight != nullptr ? double(weight[c0 + ch]) : 1.0));
        const T *xs = x + off, *gs = dy + off;
        T* o = dx + off;
        for (index_t k = 0; k < s; ++k) o[k] = g * gs[k] + a * (xs[k] - hi) + b;
      }
    }
  });
  for (index_t ch = 0; ch < c; ++ch) {
    double w = 0.0, b = 0.0;
    const index_t g = ch / cg;
    for (index_t i = 0; i < n; ++i) {
      w += ds[std::size_t(i * c + ch)] * rstd[i * groups + g];
      b += db[std::size_t(i * c + ch)];
    }
    if (dweight != nullptr) dweight[ch] = T(w);
    if (dbias != nullptr) dbias[ch] = T(b);
  }
}

#define EIGENGRAD_INSTANTIATE_LAYER_NORM(T)                                                                   \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, double*, double*, double, index_t,      \
                                      index_t);                                                                \
  template void layer_norm_backward<T>(const T*, const T*, const double*, const double*, const T*, T*, T*, T*,  \
                                       index_t, index_t);                                                      \
  template void group_norm_forward<T>(const T*, const T*, const T*, T*, double*, double*, double, index_t,      \
                                      index_t, index_t, index_t);                                              \
  template void group_norm_backward<T>(const T*, const T*, const double*, const double*, const T*, T*, T*, T*,  \
                                       index_t, index_t, index_t, index_t);
EIGENGRAD_INSTANTIATE_LAYER_NORM(float)
EIGENGRAD_INSTANTIATE_LAYER_NORM(double)

}  // namespace eigengrad
