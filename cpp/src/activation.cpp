#include "eigengrad/activation.hpp"

#include "eigengrad/simd_block.hpp"

namespace eigengrad {
namespace {
// Elements per evaluation block: a few packets, so the fixed-size loop is unrolled and cheap.
constexpr int kBlock = 64;

template <class T, class F>
void elementwise(const T* x, T* y, index_t n, F&& f) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) { map_blocks<T, kBlock>(x + b, y + b, e - b, f); });
}

template <class T, class F>
void elementwise2(const T* u, const T* v, T* out, index_t n, F&& f) {
  parallel_for(n, kElementwiseGrain,
               [&](index_t b, index_t e) { map_blocks2<T, kBlock>(u + b, v + b, out + b, e - b, f); });
}
}  // namespace

template <class T>
void activation_forward(Activation kind, const T* x, T* y, index_t n) {
  switch (kind) {
    case Activation::relu:
      return elementwise(x, y, n, [](const auto& v) { return v.max(T(0)); });
    case Activation::sigmoid:
      return elementwise(x, y, n, [](const auto& v) { return v.logistic(); });
    case Activation::tanh:
      return elementwise(x, y, n, [](const auto& v) { return v.tanh(); });
  }
}

template <class T>
void activation_backward(Activation kind, const T* gy, const T* y, T* gx, index_t n) {
  switch (kind) {
    case Activation::relu:
      return elementwise2(gy, y, gx, n, [](const auto& g, const auto& out) { return (out > T(0)).select(g, T(0)); });
    case Activation::sigmoid:
      return elementwise2(gy, y, gx, n, [](const auto& g, const auto& out) { return g * out * (T(1) - out); });
    case Activation::tanh:
      return elementwise2(gy, y, gx, n, [](const auto& g, const auto& out) { return g * (T(1) - out.square()); });
  }
}

template void activation_forward<float>(Activation, const float*, float*, index_t);
template void activation_forward<double>(Activation, const double*, double*, index_t);
template void activation_backward<float>(Activation, const float*, const float*, float*, index_t);
template void activation_backward<double>(Activation, const double*, const double*, double*, index_t);

}  // namespace eigengrad
