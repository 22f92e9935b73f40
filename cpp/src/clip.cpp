#include "eigengrad/clip.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace eigengrad {
namespace {

// The segments as one virtual vector v: starts[s] is the v-index of segment s's first element.
template <class T>
struct Segments {
  T* const* data;
  index_t count;
  std::vector<index_t> starts;  // count + 1 entries, starts[count] = N

  Segments(T* const* d, const index_t* sizes, index_t c) : data(d), count(c), starts(std::size_t(c) + 1, 0) {
    for (index_t s = 0; s < c; ++s) starts[std::size_t(s) + 1] = starts[std::size_t(s)] + sizes[s];
  }
  index_t total() const { return starts.back(); }

  // Calls piece(pointer, length, v_begin) for the parts of the segments that cover v[b, e), in order.
  // Empty segments are skipped (upper_bound lands past every segment that starts at b and is empty).
  template <class Piece>
  void for_each_piece(index_t b, index_t e, Piece&& piece) const {
    index_t s = index_t(std::upper_bound(starts.begin(), starts.end(), b) - starts.begin()) - 1;
    for (; s < count && starts[std::size_t(s)] < e; ++s) {
      const index_t first = starts[std::size_t(s)], lo = std::max(b, first);
      const index_t hi = std::min(e, starts[std::size_t(s) + 1]);
      if (hi > lo) piece(data[s] + (lo - first), hi - lo, lo);
    }
  }
};

// lanes[(v0 + i) % 8] += term(x[i]) for i in [0, len): a chunk's lanes continue across segment
// boundaries, so the sum does not depend on where v is split. The 8-wide middle loop vectorises.
template <class T, class Term>
void add_to_lanes(double (&lanes)[8], const T* x, index_t len, index_t v0, Term& term) {
  index_t i = 0;
  int lane = int(v0 & 7);
  for (; i < len && lane != 0; ++i, lane = (lane + 1) & 7) lanes[lane] += term(x[i]);
  for (; i + 8 <= len; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] += term(x[i + j]);
  for (; i < len; ++i, ++lane) lanes[lane] += term(x[i]);
}

// sum_i term(v_i) in double: per fixed chunk over 8 lanes (added in a fixed order), chunks in order.
template <class T, class Term>
double segments_sum(const Segments<const T>& v, Term term) {
  static_assert(kElementwiseGrain % 8 == 0, "chunks must start on lane 0");
  return parallel_sum(v.total(), kElementwiseGrain, [&](index_t b, index_t e) {
    double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    v.for_each_piece(b, e, [&](const T* x, index_t len, index_t v0) { add_to_lanes(lanes, x, len, v0, term); });
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  });
}

// NaN-propagating max / min of |v_i| (exact, so only NaN needs care): once NaN, always NaN.
struct MaxAbs {
  static constexpr double init = 0.0;
  static double pick(double m, double a) { return (a > m || a != a) ? a : m; }
};
struct MinAbs {
  static constexpr double init = std::numeric_limits<double>::infinity();
  static double pick(double m, double a) { return (a < m || a != a) ? a : m; }
};

template <class Pick, class T>
double segments_extremum(const Segments<const T>& v) {
  const index_t n = v.total(), grain = kElementwiseGrain;
  std::vector<double> parts(std::size_t(std::max<index_t>(ceil_div(n, grain), 0)), Pick::init);
  parallel_for(n, grain, [&](index_t b, index_t e) {
    double m = Pick::init;
    v.for_each_piece(b, e, [&](const T* x, index_t len, index_t) {
      for (index_t i = 0; i < len; ++i) m = Pick::pick(m, std::abs(double(x[i])));
    });
    parts[std::size_t(b / grain)] = m;
  });
  double m = Pick::init;
  for (double p : parts) m = Pick::pick(m, p);
  return m;
}

template <class T>
double norm_of(const Segments<const T>& v, double p) {
  if (p == 2.0) return std::sqrt(segments_sum(v, [](T x) { const double d = double(x); return d * d; }));
  if (p == 1.0) return segments_sum(v, [](T x) { return std::abs(double(x)); });
  if (p == 0.0) return segments_sum(v, [](T x) { return x != T(0) ? 1.0 : 0.0; });  // NaN != 0
  if (std::isinf(p)) return p > 0 ? segments_extremum<MaxAbs>(v) : segments_extremum<MinAbs>(v);
  return std::pow(segments_sum(v, [p](T x) { return std::pow(std::abs(double(x)), p); }), 1.0 / p);
}

template <class T>
void scale_all(const Segments<T>& v, T coef) {
  parallel_for(v.total(), kElementwiseGrain, [&](index_t b, index_t e) {
    v.for_each_piece(b, e, [coef](T* x, index_t len, index_t) {
      for (index_t i = 0; i < len; ++i) x[i] *= coef;
    });
  });
}

}  // namespace

template <class T>
double grad_norm(const T* const* data, const index_t* sizes, index_t count, double norm_type) {
  return norm_of(Segments<const T>(data, sizes, count), norm_type);
}

template <class T>
double clip_grad_norm(T* const* data, const index_t* sizes, index_t count, double max_norm, double norm_type,
                      bool scale_if_nonfinite) {
  const double norm = grad_norm<T>(data, sizes, count, norm_type);
  // The coefficient in T, from the norm rounded to T: PyTorch's arithmetic on a norm tensor of T.
  const T total = T(norm);
  if (!std::isfinite(total) && !scale_if_nonfinite) return norm;
  T coef = T(max_norm) / (total + T(1e-6));
  if (coef > T(1)) coef = T(1);  // written so that a NaN coefficient stays NaN, as torch.clamp
  // PyTorch multiplies by the clamped coefficient always; x * 1 == x bit for bit (NaN and -0 included),
  // so the pass is skipped when nothing is clipped: measuring alone is half the memory traffic.
  if (coef != T(1)) scale_all(Segments<T>(data, sizes, count), coef);
  return norm;
}

template <class T>
void scale_segments(T* const* data, const index_t* sizes, index_t count, T coef) {
  scale_all(Segments<T>(data, sizes, count), coef);
}

template <class T>
void clip_grad_value(T* const* data, const index_t* sizes, index_t count, T clip_value) {
  const Segments<T> v(data, sizes, count);
  const T hi = clip_value, lo = -clip_value;
  parallel_for(v.total(), kElementwiseGrain, [&](index_t b, index_t e) {
    v.for_each_piece(b, e, [lo, hi](T* x, index_t len, index_t) {
      // (x < lo ? lo : x) keeps NaN (the comparison is false), and so does the min: NaN stays NaN.
      for (index_t i = 0; i < len; ++i) {
        const T y = x[i] < lo ? lo : x[i];
        x[i] = hi < y ? hi : y;
      }
    });
  });
}

#define EIGENGRAD_INSTANTIATE_CLIP(T)                                                                      \
  template double grad_norm<T>(const T* const*, const index_t*, index_t, double);                          \
  template double clip_grad_norm<T>(T* const*, const index_t*, index_t, double, double, bool);             \
  template void scale_segments<T>(T* const*, const index_t*, index_t, T);                                  \
  template void clip_grad_value<T>(T* const*, const index_t*, index_t, T);
EIGENGRAD_INSTANTIATE_CLIP(float)
EIGENGRAD_INSTANTIATE_CLIP(double)

}  // namespace eigengrad
