// A cross-entropy's 'mean'/'sum' reduction and the upstream gradient of its rows (see loss.hpp): the
// arithmetic between the loss kernels that was NumPy glue, so that a compiled step runs it as one call.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "eigengrad/loss.hpp"
#include "eigengrad/simd_block.hpp"

namespace eigengrad {
namespace {

template <class T>
double class_denominator(const std::int64_t* t, index_t n, const T* w, std::int64_t ignore_index) {
  if (!w) return double(std::count_if(t, t + n, [&](std::int64_t c) { return c != ignore_index; }));
  return fixed_order_sum(n, [&](index_t i) { return t[i] == ignore_index ? 0.0 : double(w[t[i]]); });
}

double divided(double value, double denominator) {
  return denominator != 0.0 ? value / denominator : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

template <class T>
T loss_reduce(const T* rows, const std::int64_t* t, index_t n, const T* w, std::int64_t ignore_index, bool mean) {
  const double total = fixed_order_sum(rows, n);
  return T(mean ? divided(total, class_denominator(t, n, w, ignore_index)) : total);
}

template <class T>
void loss_upstream(double g, const std::int64_t* t, index_t n, const T* w, std::int64_t ignore_index, bool mean,
                   T* out) {
  const T value = T(mean ? divided(g, class_denominator(t, n, w, ignore_index)) : g);
  std::fill(out, out + n, value);
}

template <class T, class G>
void mean_upstream(G g, const std::int64_t* t, index_t n, std::int64_t ignore_index, T* out) {
  const index_t count = index_t(class_denominator<T>(t, n, nullptr, ignore_index));
  const T value = count ? T(g / G(count)) : std::numeric_limits<T>::quiet_NaN();
  std::fill(out, out + n, value);
}

#define EIGENGRAD_INSTANTIATE_LOSS_REDUCE(T)                                                                     \
  template T loss_reduce<T>(const T*, const std::int64_t*, index_t, const T*, std::int64_t, bool);              \
  template void loss_upstream<T>(double, const std::int64_t*, index_t, const T*, std::int64_t, bool, T*);       \
  template void mean_upstream<T, float>(float, const std::int64_t*, index_t, std::int64_t, T*);                 \
  template void mean_upstream<T, double>(double, const std::int64_t*, index_t, std::int64_t, T*);
EIGENGRAD_INSTANTIATE_LOSS_REDUCE(float)
EIGENGRAD_INSTANTIATE_LOSS_REDUCE(double)
#undef EIGENGRAD_INSTANTIATE_LOSS_REDUCE

}  // namespace eigengrad
