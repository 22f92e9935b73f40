#include "eigengrad/sort.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

namespace eigengrad {
namespace {

template <class T>
inline bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return v != v;
  else
    return false;
}

// a before b in ascending order (NaN last).
template <class T>
inline bool ascending(T a, T b) {
  return a < b || (is_nan(b) && !is_nan(a));
}

// Calls body(o, i, values, positions) for every row (o, i): the row's values copied into a contiguous
// scratch and positions = 0 .. n-1, for body to order and write out.
template <class T, class Body>
void for_each_row(const T* x, index_t outer, index_t n, index_t inner, Body&& body) {
  const index_t rows = outer * inner;
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(n, 1));
  parallel_for(rows, grain, [&](index_t b, index_t e) {
    std::vector<T> vals(static_cast<std::size_t>(n));
    std::vector<std::int64_t> pos(static_cast<std::size_t>(n));
    for (index_t r = b; r < e; ++r) {
      const index_t o = r / inner, i = r % inner;
      const T* src = x + o * n * inner + i;
      for (index_t j = 0; j < n; ++j) vals[std::size_t(j)] = src[j * inner];
      std::iota(pos.begin(), pos.end(), std::int64_t(0));
      body(o, i, vals, pos);
    }
  });
}

}  // namespace

template <class T>
void sort(const T* x, index_t outer, index_t n, index_t inner, bool descending, T* values, std::int64_t* indices) {
  for_each_row(x, outer, n, inner, [&](index_t o, index_t i, const std::vector<T>& v, std::vector<std::int64_t>& p) {
    if (descending)  // stable: equal values keep their index order in both directions
      std::stable_sort(p.begin(), p.end(), [&v](std::int64_t a, std::int64_t b) { return ascending(v[b], v[a]); });
    else
      std::stable_sort(p.begin(), p.end(), [&v](std::int64_t a, std::int64_t b) { return ascending(v[a], v[b]); });
    const index_t base = o * n * inner + i;
    for (index_t j = 0; j < n; ++j) {
      indices[base + j * inner] = p[std::size_t(j)];
      if (values) values[base + j * inner] = v[std::size_t(p[std::size_t(j)])];
    }
  });
}

template <class T>
void topk(const T* x, index_t outer, index_t n, index_t inner, index_t k, bool largest, T* values,
          std::int64_t* indices) {
  for_each_row(x, outer, n, inner, [&](index_t o, index_t i, const std::vector<T>& v, std::vector<std::int64_t>& p) {
    auto mid = p.begin() + k;
    if (largest)
      std::partial_sort(p.begin(), mid, p.end(), [&v](std::int64_t a, std::int64_t b) {
        return ascending(v[b], v[a]) || (!ascending(v[a], v[b]) && a < b);
      });
    else
      std::partial_sort(p.begin(), mid, p.end(), [&v](std::int64_t a, std::int64_t b) {
        return ascending(v[a], v[b]) || (!ascending(v[b], v[a]) && a < b);
      });
    const index_t base = o * k * inner + i;
    for (index_t j = 0; j < k; ++j) {
      indices[base + j * inner] = p[std::size_t(j)];
      values[base + j * inner] = v[std::size_t(p[std::size_t(j)])];
    }
  });
}

#define EIGENGRAD_SORT(T)                                                                                  \
  template void sort<T>(const T*, index_t, index_t, index_t, bool, T*, std::int64_t*);                    \
  template void topk<T>(const T*, index_t, index_t, index_t, index_t, bool, T*, std::int64_t*);
EIGENGRAD_SORT(float)
EIGENGRAD_SORT(double)
EIGENGRAD_SORT(std::int64_t)
EIGENGRAD_SORT(std::int32_t)
EIGENGRAD_SORT(std::int16_t)
EIGENGRAD_SORT(std::int8_t)
EIGENGRAD_SORT(std::uint8_t)
#undef EIGENGRAD_SORT

}  // namespace eigengrad
