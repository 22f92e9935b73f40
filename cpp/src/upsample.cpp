// Nearest, nearest-exact and (bi)linear upsampling (see upsample.hpp). The source indices and weights of
// each axis are computed once per call with PyTorch's arithmetic (its two nearest rules, floorf of the
// linear coordinate), so every output reads the same sources as PyTorch's forward; the backward adds
// into exactly those sources.
#include "eigengrad/upsample.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace eigengrad {
namespace {

// floor(v) as a source index, at most in - 1. A coordinate at or past the last index (a huge 1 / scale,
// an infinite or NaN one) is the last index: converting it to an integer would be undefined (x86 gives
// INT64_MIN, a read far before the input).
index_t clamped_floor(double v, index_t in) { return v < double(in - 1) ? index_t(std::floor(v)) : in - 1; }

// PyTorch's compute_scales_value in float (its legacy nearest indices use float whatever the dtype).
float nearest_scale(index_t in, index_t out, double scale) {
  return scale > 0 ? float(1.0 / scale) : float(in) / float(out);
}

// PyTorch's nearest_idx / nearest_exact_idx (the legacy rule, see upsample.hpp).
index_t legacy_source(index_t dst, index_t in, index_t out, double scale, bool exact) {
  if (!exact && out == in) return dst;
  if (!exact && out / 2 == in && out % 2 == 0) return dst >> 1;  // (2 in may overflow)
  const float s = nearest_scale(in, out, scale);
  const float v = exact ? float((double(dst) + 0.5) * double(s)) : float(dst) * s;
  return clamped_floor(v, in);
}

// PyTorch's HelperInterpNearest / HelperInterpNearestExact (the general rule): the coordinate in T, its
// floor taken in float (floorf), nearest-exact's + 0.5 added in double.
template <class T>
index_t general_source(index_t dst, index_t in, index_t out, double scale, bool exact) {
  const T s = scale > 0 ? T(1.0 / scale) : T(in) / T(out);
  const double x = exact ? double(std::max(s * (T(dst) + T(0.5)) - T(0.5), T(0))) + 0.5 : double(s * T(dst));
  return clamped_floor(float(x), in);
}

// One axis of a linear interpolation: output index t reads i0[t], i1[t] with weights l0[t], l1[t].
template <class T>
struct LinearAxis {
  std::vector<index_t> i0, i1;
  std::vector<T> l0, l1;
};

// PyTorch's area_pixel_compute_scale, area_pixel_compute_source_index and guard_index_and_lambda (whose
// floorf rounds the coordinate to float first, also for double).
template <class T>
LinearAxis<T> linear_axis(index_t in, index_t out, double scale, bool align_corners) {
  const T s = align_corners ? (out > 1 ? T(in - 1) / T(out - 1) : T(0)) : scale > 0 ? T(1.0 / scale) : T(in) / T(out);
  LinearAxis<T> a{std::vector<index_t>(out), std::vector<index_t>(out), std::vector<T>(out), std::vector<T>(out)};
  for (index_t t = 0; t < out; ++t) {
    if (out == in) {  // PyTorch copies
      a.i0[t] = a.i1[t] = t, a.l0[t] = T(1), a.l1[t] = T(0);
      continue;
    }
    const T x = align_corners ? s * T(t) : std::max(s * (T(t) + T(0.5)) - T(0.5), T(0));
    const index_t i0 = clamped_floor(float(x), in);
    const T l1 = std::min(std::max(x - T(i0), T(0)), T(1));
    a.i0[t] = i0, a.i1[t] = i0 + (i0 < in - 1 ? 1 : 0), a.l1[t] = l1, a.l0[t] = T(1) - l1;
  }
  return a;
}

template <class T>
std::vector<index_t> nearest_axis(index_t in, index_t out, double scale, bool exact, bool legacy) {
  std::vector<index_t> src(static_cast<std::size_t>(out));
  for (index_t t = 0; t < out; ++t)
    src[t] = legacy ? legacy_source(t, in, out, scale, exact) : general_source<T>(t, in, out, scale, exact);
  return src;
}

// The (rows, columns) source tables of g.
struct NearestTables {
  std::vector<index_t> rows, cols;
};
template <class T>
NearestTables nearest_tables(const UpsampleGeometry& g) {
  const bool exact = g.mode == UpsampleMode::nearest_exact;
  return {nearest_axis<T>(g.h, g.oh, g.scale_h, exact, g.legacy_nearest),
          nearest_axis<T>(g.w, g.ow, g.scale_w, exact, g.legacy_nearest)};
}
template <class T>
struct LinearTables {
  LinearAxis<T> rows, cols;
};
template <class T>
LinearTables<T> linear_tables(const UpsampleGeometry& g) {
  return {linear_axis<T>(g.h, g.oh, g.scale_h, g.align_corners), linear_axis<T>(g.w, g.ow, g.scale_w, g.align_corners)};
}

// Rows (of any plane) per parallel task: about kElementwiseGrain / 2 outputs.
index_t row_grain(index_t width) { return std::max<index_t>(1, (kElementwiseGrain / 2) / std::max<index_t>(width, 1)); }

// row(u, x's plane, y's row u) for every output row of every plane, rows split between threads.
template <class T, class Row>
void gather_rows(const T* x, T* y, const UpsampleGeometry& g, Row&& row) {
  parallel_for(g.planes * g.oh, row_grain(g.ow), [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) row(t % g.oh, x + (t / g.oh) * g.h * g.w, y + t * g.ow);
  });
}

// For every plane, dx's plane zeroed and then row(u, dy's row u, dx's plane) for u = 0, 1, ...: planes
// split between threads, a plane done by one thread, so the order of the additions is fixed.
template <class T, class Row>
void scatter_rows(const T* dy, T* dx, const UpsampleGeometry& g, Row&& row) {
  const index_t hw = g.h * g.w;
  parallel_for(g.planes, row_grain(g.oh * g.ow), [&](index_t p0, index_t p1) {
    for (index_t p = p0; p < p1; ++p) {
      T* d = dx + p * hw;
      std::fill(d, d + hw, T(0));
      for (index_t u = 0; u < g.oh; ++u) row(u, dy + (p * g.oh + u) * g.ow, d);
    }
  });
}

}  // namespace

template <class T>
void upsample_forward(const T* x, T* y, const UpsampleGeometry& g) {
  if (g.mode != UpsampleMode::linear) {
    const NearestTables t = nearest_tables<T>(g);
    const auto &rows = t.rows, &cols = t.cols;
    gather_rows(x, y, g, [&](index_t u, const T* plane, T* out) {
      const T* src = plane + rows[u] * g.w;
      for (index_t v = 0; v < g.ow; ++v) out[v] = src[cols[v]];
    });
    return;
  }
  const LinearTables<T> t = linear_tables<T>(g);
  const auto &rows = t.rows, &cols = t.cols;
  if (g.h == 1 && g.oh == 1) {  // 1-D (planes of height 1): PyTorch's linear kernel has no row term, whose
    // weight 0 would turn an inf into NaN; the values are otherwise the same bits
    gather_rows(x, y, g, [&](index_t, const T* r0, T* out) {
      for (index_t v = 0; v < g.ow; ++v) out[v] = r0[cols.i0[v]] * cols.l0[v] + r0[cols.i1[v]] * cols.l1[v];
    });
    return;
  }
  gather_rows(x, y, g, [&](index_t u, const T* plane, T* out) {
    const T *r0 = plane + rows.i0[u] * g.w, *r1 = plane + rows.i1[u] * g.w;
    const T a0 = rows.l0[u], a1 = rows.l1[u];
    for (index_t v = 0; v < g.ow; ++v) {
      const index_t c0 = cols.i0[v], c1 = cols.i1[v];
      const T b0 = cols.l0[v], b1 = cols.l1[v];
      out[v] = (r0[c0] * b0 + r0[c1] * b1) * a0 + (r1[c0] * b0 + r1[c1] * b1) * a1;
    }
  });
}

template <class T>
void upsample_backward(const T* dy, T* dx, const UpsampleGeometry& g) {
  if (g.mode != UpsampleMode::linear) {
    const NearestTables t = nearest_tables<T>(g);
    const auto &rows = t.rows, &cols = t.cols;
    scatter_rows(dy, dx, g, [&](index_t u, const T* src, T* plane) {
      T* row = plane + rows[u] * g.w;
      for (index_t v = 0; v < g.ow; ++v) row[cols[v]] += src[v];
    });
    return;
  }
  const LinearTables<T> t = linear_tables<T>(g);
  const auto &rows = t.rows, &cols = t.cols;
  scatter_rows(dy, dx, g, [&](index_t u, const T* src, T* plane) {
    T *d0 = plane + rows.i0[u] * g.w, *d1 = plane + rows.i1[u] * g.w;
    const T a0 = rows.l0[u], a1 = rows.l1[u];
    for (index_t v = 0; v < g.ow; ++v) {  // PyTorch's order: (row weight * column weight) * dy
      const index_t c0 = cols.i0[v], c1 = cols.i1[v];
      const T b0 = cols.l0[v], b1 = cols.l1[v], gv = src[v];
      d0[c0] += a0 * b0 * gv;
      d0[c1] += a0 * b1 * gv;
      d1[c0] += a1 * b0 * gv;
      d1[c1] += a1 * b1 * gv;
    }
  });
}

template void upsample_forward<float>(const float*, float*, const UpsampleGeometry&);
template void upsample_forward<double>(const double*, double*, const UpsampleGeometry&);
template void upsample_backward<float>(const float*, float*, const UpsampleGeometry&);
template void upsample_backward<double>(const double*, double*, const UpsampleGeometry&);

}  // namespace eigengrad
