#include "eigengrad/reduce.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace eigengrad {
namespace {

constexpr index_t kColumnBlock = 2048;  // columns of one unit of work when inner > 1

// The chunking of the reduced axis: length `len` (a function of n and inner only) and count `count`.
struct Chunks {
  index_t len, count;
  Chunks(index_t n, index_t inner) {
    len = inner == 1 ? kReduceGrain : std::max<index_t>(8, kReduceGrain / inner);
    count = std::max<index_t>(ceil_div(n, len), 1);
  }
};

// An accumulation: acc = combine(acc, term(x, column)), starting from init.
struct Sum {
  static constexpr double init = 0.0;
  static double combine(double a, double b) { return a + b; }
};
struct Max {
  static constexpr double init = -std::numeric_limits<double>::infinity();
  static double combine(double a, double b) { return (b > a || b != b) ? b : a; }  // NaN wins
};
struct Min {
  static constexpr double init = std::numeric_limits<double>::infinity();
  static double combine(double a, double b) { return (b < a || b != b) ? b : a; }
};

// A contiguous run x[0 .. len) of column `col` (inner == 1) over 8 lanes by position, lanes in a fixed order.
template <class Acc, class T, class Term>
double row_chunk(const T* x, index_t len, index_t col, const Term& term) {
  double lanes[8];
  std::fill(lanes, lanes + 8, Acc::init);
  index_t j = 0;
  for (; j + 8 <= len; j += 8)
    for (int l = 0; l < 8; ++l) lanes[l] = Acc::combine(lanes[l], term(x[j + l], col));
  for (int l = 0; j < len; ++j, ++l) lanes[l] = Acc::combine(lanes[l], term(x[j], col));
  return Acc::combine(Acc::combine(Acc::combine(lanes[0], lanes[1]), Acc::combine(lanes[2], lanes[3])),
                      Acc::combine(Acc::combine(lanes[4], lanes[5]), Acc::combine(lanes[6], lanes[7])));
}

// acc[o * inner + i] = the accumulation of term(x[o, j, i], o * inner + i) over j, in double.
template <class Acc, class T, class Term>
void reduce_columns(const T* x, index_t outer, index_t n, index_t inner, const Term& term, double* acc) {
  if (outer * inner == 0) return;  // no output (and no column width to cut the axis by)
  const Chunks ch(n, inner);
  const index_t blocks = ceil_div(std::max<index_t>(inner, 1), kColumnBlock);
  // part[(o * count + c) * inner + i]: chunk c's partial of column (o, i); with one chunk, acc itself
  std::vector<double> part_store(ch.count > 1 ? std::size_t(outer * ch.count * inner) : 0);
  double* part = ch.count > 1 ? part_store.data() : acc;
  const index_t units = outer * ch.count * blocks;
  const index_t unit_work = std::max<index_t>(1, std::min(ch.len, n) * std::min(inner, kColumnBlock));
  parallel_for(units, std::max<index_t>(1, kReduceGrain / unit_work), [&](index_t ub, index_t ue) {
    for (index_t u = ub; u < ue; ++u) {
      const index_t b = u % blocks, c = (u / blocks) % ch.count, o = u / (blocks * ch.count);
      const index_t j0 = c * ch.len, j1 = std::min(n, j0 + ch.len);
      double* dst = part + (o * ch.count + c) * inner;
      if (inner == 1) {
        dst[0] = row_chunk<Acc>(x + o * n + j0, j1 - j0, o, term);
        continue;
      }
      const index_t i0 = b * kColumnBlock, i1 = std::min(inner, i0 + kColumnBlock);
      std::fill(dst + i0, dst + i1, Acc::init);
      for (index_t j = j0; j < j1; ++j) {
        const T* row = x + (o * n + j) * inner;
        for (index_t i = i0; i < i1; ++i) dst[i] = Acc::combine(dst[i], term(row[i], o * inner + i));
      }
    }
  });
  if (ch.count == 1) return;
  parallel_for(outer * inner, kElementwiseGrain, [&](index_t b, index_t e) {
    for (index_t k = b; k < e; ++k) {
      const index_t o = k / inner, i = k % inner;
      double a = Acc::init;
      for (index_t c = 0; c < ch.count; ++c) a = Acc::combine(a, part[(o * ch.count + c) * inner + i]);
      acc[k] = a;
    }
  });
}

template <class T, class F>
void finish(const std::vector<double>& acc, T* out, F&& f) {
  parallel_for(index_t(acc.size()), kElementwiseGrain, [&](index_t b, index_t e) {
    for (index_t k = b; k < e; ++k) out[k] = T(f(acc[std::size_t(k)]));
  });
}

}  // namespace

template <class T>
void reduce_sum(const T* x, index_t outer, index_t n, index_t inner, double scale, T* out) {
  std::vector<double> acc(std::size_t(outer * inner));
  reduce_columns<Sum>(x, outer, n, inner, [](T v, index_t) { return double(v); }, acc.data());
  finish(acc, out, [scale](double a) { return a * scale; });
}

template <class T>
void reduce_var(const T* x, index_t outer, index_t n, index_t inner, double correction, bool take_sqrt, T* out,
                T* mean_out) {
  std::vector<double> mean(std::size_t(outer * inner));
  reduce_columns<Sum>(x, outer, n, inner, [](T v, index_t) { return double(v); }, mean.data());
  const double inv_n = 1.0 / double(n);
  for (double& m : mean) m *= inv_n;
  std::vector<double> ss(mean.size());
  const double* mp = mean.data();
  reduce_columns<Sum>(x, outer, n, inner, [mp](T v, index_t col) {
    const double d = double(v) - mp[col];
    return d * d;
  }, ss.data());
  const double denom = std::max(0.0, double(n) - correction);
  finish(ss, out, [denom, take_sqrt](double s) { return take_sqrt ? std::sqrt(s / denom) : s / denom; });
  if (mean_out) finish(mean, mean_out, [](double m) { return m; });
}

template <class T>
void reduce_norm(const T* x, index_t outer, index_t n, index_t inner, double p, T* out) {
  std::vector<double> acc(std::size_t(outer * inner));
  auto absval = [](T v, index_t) { return std::abs(double(v)); };
  if (std::isinf(p)) {
    if (p > 0)
      reduce_columns<Max>(x, outer, n, inner, absval, acc.data());
    else
      reduce_columns<Min>(x, outer, n, inner, absval, acc.data());
    finish(acc, out, [](double a) { return a; });
  } else if (p == 2.0) {
    reduce_columns<Sum>(x, outer, n, inner, [](T v, index_t) { return double(v) * double(v); }, acc.data());
    finish(acc, out, [](double a) { return std::sqrt(a); });
  } else if (p == 1.0) {
    reduce_columns<Sum>(x, outer, n, inner, absval, acc.data());
    finish(acc, out, [](double a) { return a; });
  } else if (p == 0.0) {
    reduce_columns<Sum>(x, outer, n, inner, [](T v, index_t) { return v != T(0) ? 1.0 : 0.0; }, acc.data());
    finish(acc, out, [](double a) { return a; });
  } else {
    reduce_columns<Sum>(x, outer, n, inner, [p](T v, index_t) { return std::pow(std::abs(double(v)), p); },
                        acc.data());
    finish(acc, out, [p](double a) { return std::pow(a, 1.0 / p); });
  }
}

#define EIGENGRAD_REDUCE(T)                                                                    \
  template void reduce_sum<T>(const T*, index_t, index_t, index_t, double, T*);               \
  template void reduce_var<T>(const T*, index_t, index_t, index_t, double, bool, T*, T*);     \
  template void reduce_norm<T>(const T*, index_t, index_t, index_t, double, T*);
EIGENGRAD_REDUCE(float)
EIGENGRAD_REDUCE(double)
#undef EIGENGRAD_REDUCE

// --- sum_rows -------------------------------------------------------------------------------------

namespace {
// Columns summed in registers at a time (four 64-byte vectors), and columns per unit of parallel work.
template <class T>
constexpr index_t kRowSumTile = 4 * 64 / index_t(sizeof(T));
constexpr index_t kRowSumBlock = 256;

// out[c] = sum_i x[i * m + c] for the `width` <= W columns of one tile, in a fixed-size local the compiler
// keeps in registers (a whole tile, width = W, is unrolled whole once inlined).
template <class T, index_t W>
void sum_rows_tile(const T* x, index_t n, index_t m, index_t width, T* out) {
  T acc[W];
  for (index_t c = 0; c < width; ++c) acc[c] = x[c];
  for (index_t i = 1; i < n; ++i) {
    const T* row = x + i * m;
    for (index_t c = 0; c < width; ++c) acc[c] += row[c];
  }
  for (index_t c = 0; c < width; ++c) out[c] = acc[c];
}
}  // namespace

template <class T>
void sum_rows(const T* x, index_t n, index_t m, T* out) {
  if (m <= 0) return;
  if (n <= 0) {
    std::fill(out, out + m, T(0));
    return;
  }
  constexpr index_t W = kRowSumTile<T>;
  const index_t blocks = ceil_div(m, kRowSumBlock);
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(1, n * std::min(m, kRowSumBlock)));
  parallel_for(blocks, grain, [&](index_t b0, index_t b1) {
    for (index_t c = b0 * kRowSumBlock, end = std::min(m, b1 * kRowSumBlock); c < end; c += W)
      sum_rows_tile<T, W>(x + c, n, m, std::min(W, end - c), out + c);
  });
}

template void sum_rows<float>(const float*, index_t, index_t, float*);
template void sum_rows<double>(const double*, index_t, index_t, double*);

}  // namespace eigengrad
