#include "eigengrad/loss.hpp"

#include <Eigen/Core>

namespace eigengrad {
namespace {
template <class T>
using RowArray = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vec = Eigen::Array<T, Eigen::Dynamic, 1>;

// Rows per chunk: about kElementwiseGrain elements of work, at least one row.
index_t row_grain(index_t c) { return std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(c, 1)); }
}  // namespace

template <class T>
void softmax_cross_entropy_forward(const T* x, const std::int64_t* t, T* loss, T* lse, index_t n, index_t c,
                                   std::int64_t ignore_index) {
  parallel_for(n, row_grain(c), [&](index_t b, index_t e) {
    Eigen::Map<const RowArray<T>> X(x + b * c, e - b, c);
    for (index_t i = 0; i < e - b; ++i) {
      const T mx = X.row(i).maxCoeff();
      const T l = mx + std::log((X.row(i) - mx).exp().sum());
      lse[b + i] = l;
      const std::int64_t target = t[b + i];
      loss[b + i] = target == ignore_index ? T(0) : l - X(i, target);
    }
  });
}

template <class T>
void softmax_cross_entropy_backward(const T* x, const std::int64_t* t, const T* lse, const T* scale, T* gx,
                                    index_t n, index_t c, std::int64_t ignore_index) {
  parallel_for(n, row_grain(c), [&](index_t b, index_t e) {
    Eigen::Map<const RowArray<T>> X(x + b * c, e - b, c);
    Eigen::Map<RowArray<T>> G(gx + b * c, e - b, c);
    for (index_t i = 0; i < e - b; ++i) {
      const std::int64_t target = t[b + i];
      if (target == ignore_index) { G.row(i).setZero(); continue; }
      const T s = scale[b + i];
      G.row(i) = (X.row(i) - lse[b + i]).exp() * s;
      G(i, target) -= s;
    }
  });
}

template <class T>
double squared_error_sum(const T* x, const T* y, index_t n) {
  return parallel_sum(n, kElementwiseGrain, [&](index_t b, index_t e) {
    Eigen::Map<const Vec<T>> X(x + b, e - b), Y(y + b, e - b);
    return (X.template cast<double>() - Y.template cast<double>()).square().sum();
  });
}

template <class T>
void squared_error(const T* x, const T* y, T* out, index_t n) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    Eigen::Map<const Vec<T>> X(x + b, e - b), Y(y + b, e - b);
    Eigen::Map<Vec<T>>(out + b, e - b) = (X - Y).square();
  });
}

template <class T>
void squared_error_backward(const T* x, const T* y, const T* gy, T coef, T* gx, index_t n) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    Eigen::Map<const Vec<T>> X(x + b, e - b), Y(y + b, e - b);
    Eigen::Map<Vec<T>> G(gx + b, e - b);
    if (gy != nullptr) G = coef * (X - Y) * Eigen::Map<const Vec<T>>(gy + b, e - b);
    else G = coef * (X - Y);
  });
}

#define EIGENGRAD_INSTANTIATE_LOSS(T)                                                                          \
  template void softmax_cross_entropy_forward<T>(const T*, const std::int64_t*, T*, T*, index_t, index_t,      \
                                                 std::int64_t);                                                \
  template void softmax_cross_entropy_backward<T>(const T*, const std::int64_t*, const T*, const T*, T*,       \
                                                  index_t, index_t, std::int64_t);                             \
  template double squared_error_sum<T>(const T*, const T*, index_t);                                           \
  template void squared_error<T>(const T*, const T*, T*, index_t);                                             \
  template void squared_error_backward<T>(const T*, const T*, const T*, T, T*, index_t);
EIGENGRAD_INSTANTIATE_LOSS(float)
EIGENGRAD_INSTANTIATE_LOSS(double)

}  // namespace eigengrad
