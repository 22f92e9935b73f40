// 2-D pooling kernels (see pool.hpp). Each parallel task is a run of whole planes, so the backward's
// scatter-adds into dx never race and their order is fixed.
#include "eigengrad/pool.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace eigengrad {
namespace {

// Planes per task: about kElementwiseGrain / 4 input elements.
index_t plane_grain(const Pool2dGeometry& g) {
  return std::max<index_t>(1, (kElementwiseGrain / 4) / std::max<index_t>(g.h * g.w, 1));
}

// Calls body(x plane offset, y plane offset) for every plane, in parallel over runs of planes.
template <class Body>
void for_planes(const Pool2dGeometry& g, Body&& body) {
  const index_t in = g.h * g.w, out = g.oh * g.ow;
  parallel_for(g.planes, plane_grain(g), [&](index_t p0, index_t p1) {
    for (index_t p = p0; p < p1; ++p) body(p * in, p * out);
  });
}

// The taps [lo, hi) of a window starting at input index start (step dil) that fall inside [0, size).
struct Taps {
  index_t lo, hi;
};
Taps taps(index_t start, index_t k, index_t dil, index_t size) {
  index_t lo = start >= 0 ? 0 : (-start + dil - 1) / dil;
  index_t hi = size - start <= 0 ? 0 : std::min(k, (size - start + dil - 1) / dil);
  return {std::min(lo, hi), hi};
}

// The average pool's window (clipped to the input) and divisor of output (u, v).
struct AvgWindow {
  index_t r0, r1, c0, c1;
  double divisor;
};
AvgWindow avg_window(const Pool2dGeometry& g, index_t u, index_t v, bool count_include_pad, index_t divisor_override) {
  index_t r0 = u * g.sh - g.ph, c0 = v * g.sw - g.pw;
  index_t r1 = std::min(r0 + g.kh, g.h + g.ph), c1 = std::min(c0 + g.kw, g.w + g.pw);
  const index_t pool_size = (r1 - r0) * (c1 - c0);
  r0 = std::max<index_t>(r0, 0), c0 = std::max<index_t>(c0, 0);
  r1 = std::min(r1, g.h), c1 = std::min(c1, g.w);
  const index_t inside = std::max<index_t>(r1 - r0, 0) * std::max<index_t>(c1 - c0, 0);
  const index_t d = divisor_override > 0 ? divisor_override : count_include_pad ? pool_size : inside;
  return {r0, r1, c0, c1, double(d)};
}

// Adaptive pooling's window [start, end) of output index u of out over an input of size n.
inline index_t adaptive_start(index_t u, index_t n, index_t out) { return (u * n) / out; }
inline index_t adaptive_end(index_t u, index_t n, index_t out) { return ((u + 1) * n + out - 1) / out; }

}  // namespace

template <class T>
void max_pool2d_forward(const T* x, T* y, std::int64_t* idx, const Pool2dGeometry& g) {
  for_planes(g, [&](index_t xo, index_t yo) {
    const T* xp = x + xo;
    for (index_t u = 0; u < g.oh; ++u) {
      const index_t r = u * g.sh - g.ph;
      const Taps ra = taps(r, g.kh, g.dh, g.h);
      for (index_t v = 0; v < g.ow; ++v) {
        const index_t c = v * g.sw - g.pw;
        const Taps ce = taps(c, g.kw, g.dw, g.w);
        // PyTorch's rule: start at the first tap inside the input with -inf; a larger value or any
        // NaN takes over (so the last NaN's index is kept and all -inf keeps the first tap).
        T best = -std::numeric_limits<T>::infinity();
        std::int64_t at = ra.lo < ra.hi && ce.lo < ce.hi ? (r + ra.lo * g.dh) * g.w + c + ce.lo * g.dw : -1;
        for (index_t a = ra.lo; a < ra.hi; ++a) {
          const index_t row = (r + a * g.dh) * g.w;
          for (index_t e = ce.lo; e < ce.hi; ++e) {
            const index_t pos = row + c + e * g.dw;
            const T val = xp[pos];
            if (val > best || std::isnan(val)) best = val, at = pos;
          }
        }
        y[yo + u * g.ow + v] = best;
        idx[yo + u * g.ow + v] = at;
      }
    }
  });
}

template <class T>
void max_pool2d_backward(const T* dy, const std::int64_t* idx, T* dx, const Pool2dGeometry& g) {
  const index_t out = g.oh * g.ow;
  for_planes(g, [&](index_t xo, index_t yo) {
    T* d = dx + xo;
    std::fill(d, d + g.h * g.w, T(0));
    for (index_t s = 0; s < out; ++s)
      if (idx[yo + s] >= 0) d[idx[yo + s]] += dy[yo + s];
  });
}

template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g, bool count_include_pad, index_t divisor_override) {
  for_planes(g, [&](index_t xo, index_t yo) {
    for (index_t u = 0; u < g.oh; ++u)
      for (index_t v = 0; v < g.ow; ++v) {
        const AvgWindow win = avg_window(g, u, v, count_include_pad, divisor_override);
        T sum = T(0);
        for (index_t r = win.r0; r < win.r1; ++r)
          for (index_t c = win.c0; c < win.c1; ++c) sum += x[xo + r * g.w + c];
        y[yo + u * g.ow + v] = win.r0 < win.r1 && win.c0 < win.c1 ? T(sum / T(win.divisor)) : T(0);
      }
  });
}

template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g, bool count_include_pad, index_t divisor_override) {
  for_planes(g, [&](index_t xo, index_t yo) {
    T* d = dx + xo;
    std::fill(d, d + g.h * g.w, T(0));
    for (index_t u = 0; u < g.oh; ++u)
      for (index_t v = 0; v < g.ow; ++v) {
        const AvgWindow win = avg_window(g, u, v, count_include_pad, divisor_override);
        const T share = dy[yo + u * g.ow + v] / T(win.divisor);
        for (index_t r = win.r0; r < win.r1; ++r)
          for (index_t c = win.c0; c < win.c1; ++c) d[r * g.w + c] += share;
      }
  });
}

template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g) {
  for_planes(g, [&](index_t xo, index_t yo) {
    for (index_t u = 0; u < g.oh; ++u) {
      const index_t r0 = adaptive_start(u, g.h, g.oh), r1 = adaptive_end(u, g.h, g.oh);
      for (index_t v = 0; v < g.ow; ++v) {
        const index_t c0 = adaptive_start(v, g.w, g.ow), c1 = adaptive_end(v, g.w, g.ow);
        T sum = T(0);
        for (index_t r = r0; r < r1; ++r)
          for (index_t c = c0; c < c1; ++c) sum += x[xo + r * g.w + c];
        y[yo + u * g.ow + v] = sum / T((r1 - r0) * (c1 - c0));
      }
    }
  });
}

template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g) {
  for_planes(g, [&](index_t xo, index_t yo) {
    T* d = dx + xo;
    std::fill(d, d + g.h * g.w, T(0));
    for (index_t u = 0; u < g.oh; ++u) {
      const index_t r0 = adaptive_start(u, g.h, g.oh), r1 = adaptive_end(u, g.h, g.oh);
      for (index_t v = 0; v < g.ow; ++v) {
        const index_t c0 = adaptive_start(v, g.w, g.ow), c1 = adaptive_end(v, g.w, g.ow);
        const T share = dy[yo + u * g.ow + v] / T((r1 - r0) * (c1 - c0));
        for (index_t r = r0; r < r1; ++r)
          for (index_t c = c0; c < c1; ++c) d[r * g.w + c] += share;
      }
    }
  });
}

#define EIGENGRAD_POOL_INSTANTIATE(T)                                                                       \
  template void max_pool2d_forward<T>(const T*, T*, std::int64_t*, const Pool2dGeometry&);                 \
  template void max_pool2d_backward<T>(const T*, const std::int64_t*, T*, const Pool2dGeometry&);           \
  template void avg_pool2d_forward<T>(const T*, T*, const Pool2dGeometry&, bool, index_t);                 \
  template void avg_pool2d_backward<T>(const T*, T*, const Pool2dGeometry&, bool, index_t);                \
  template void adaptive_avg_pool2d_forward<T>(const T*, T*, const Pool2dGeometry&);                       \
  template void adaptive_avg_pool2d_backward<T>(const T*, T*, const Pool2dGeometry&);
EIGENGRAD_POOL_INSTANTIATE(float)
EIGENGRAD_POOL_INSTANTIATE(double)
#undef EIGENGRAD_POOL_INSTANTIATE

}  // namespace eigengrad
