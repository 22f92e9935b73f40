// Local response normalisation across channels (Krizhevsky et al. 2012, PyTorch's definition).
// x is (n, c, s); the window of output channel j is input channels [j - size/2, j + (size-1)/2],
// zero outside [0, c). Window sums are computed directly (at most `size` terms per element, in channel
// order), never by a running difference, so they stay exact to rounding. Work is split over
// (sample, channel) spans of s values.
#include <algorithm>
#include <cmath>
#include <vector>

#include "eigengrad/norm.hpp"

namespace eigengrad {
namespace {

index_t span_grain(index_t s, index_t size) {
  return std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(s * std::max<index_t>(size, 1), 1));
}

}  // namespace

template <class T>
void local_response_norm_forward(const T* x, T* y, T* div, index_t n, index_t c, index_t s, index_t size,
                                 double alpha, double beta, double k) {
  const index_t before = size / 2, after = (size - 1) / 2;
  const T sz = T(size), a = T(alpha), kk = T(k), b = T(beta);
  parallel_for(n * c, span_grain(s, size), [&](index_t q0, index_t q1) {
    for (index_t q = q0; q < q1; ++q) {
      const index_t i = q / c, j = q % c;
      const index_t l0 = std::max<index_t>(0, j - before), l1 = std::min<index_t>(c - 1, j + after);
      T* dv = div + q * s;
      std::fill(dv, dv + s, T(0));
      for (index_t l = l0; l <= l1; ++l) {
        const T* xl = x + (i * c + l) * s;
        for (index_t t = 0; t < s; ++t) dv[t] += xl[t] * xl[t];
      }
      const T* xq = x + q * s;
      T* yq = y + q * s;
      for (index_t t = 0; t < s; ++t) {
        dv[t] = (dv[t] / sz) * a + kk;  // PyTorch: avg_pool of the squares, * alpha, + k
        yq[t] = xq[t] / std::pow(dv[t], b);
      }
    }
  });
}

template <class T>
void local_response_norm_backward(const T* dy, const T* x, const T* div, T* dx, index_t n, index_t c, index_t s,
                                  index_t size, double alpha, double beta) {
  // u[l] = dy[l] * x[l] * div[l]^(-beta - 1), p[l] = div[l]^-beta; then
  // dx[j] = dy[j] * p[j] - 2 alpha beta / size * x[j] * sum_{l : j in window(l)} u[l].
  const index_t total = n * c * s;
  std::vector<T> u(std::size_t(std::max<index_t>(total, 0))), p(std::size_t(std::max<index_t>(total, 0)));
  const T nb = T(-beta);
  parallel_for(total, kElementwiseGrain, [&](index_t e0, index_t e1) {
    for (index_t e = e0; e < e1; ++e) {
      const T pe = std::pow(div[e], nb);
      p[std::size_t(e)] = pe;
      u[std::size_t(e)] = dy[e] * x[e] * pe / div[e];
    }
  });
  // channel l's window holds j when l in [j - (size-1)/2, j + size/2]
  const index_t lo_off = (size - 1) / 2, hi_off = size / 2;
  const T coef = T(2.0 * alpha * beta / double(size));
  parallel_for(n * c, span_grain(s, size), [&](index_t q0, index_t q1) {
    std::vector<T> acc(static_cast<std::size_t>(s));
    for (index_t q = q0; q < q1; ++q) {
      const index_t i = q / c, j = q % c;
      const index_t l0 = std::max<index_t>(0, j - lo_off), l1 = std::min<index_t>(c - 1, j + hi_off);
      std::fill(acc.begin(), acc.end(), T(0));
      for (index_t l = l0; l <= l1; ++l) {
        const T* ul = u.data() + (i * c + l) * s;
        for (index_t t = 0; t < s; ++t) acc[std::size_t(t)] += ul[t];
      }
      const T *xq = x + q * s, *gq = dy + q * s, *pq = p.data() + q * s;
      T* o = dx + q * s;
      for (index_t t = 0; t < s; ++t) o[t] = gq[t] * pq[t] - coef * xq[t] * acc[std::size_t(t)];
    }
  });
}

#define EIGENGRAD_INSTANTIATE_LRN(T)                                                                          \
  template void local_response_norm_forward<T>(const T*, T*, T*, index_t, index_t, index_t, index_t, double,  \
                                               double, double);                                               \
  template void local_response_norm_backward<T>(const T*, const T*, const T*, T*, index_t, index_t, index_t,  \
                                                index_t, double, double);
EIGENGRAD_INSTANTIATE_LRN(float)
EIGENGRAD_INSTANTIATE_LRN(double)

}  // namespace eigengrad
