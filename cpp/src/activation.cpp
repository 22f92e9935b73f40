#include "eigengrad/activation.hpp"

#include "eigengrad/sigmoid_tanh.hpp"
#include "eigengrad/simd_block.hpp"

namespace eigengrad {
namespace {
// Elements per evaluation block: a few packets, so the fixed-size loop is unrolled and cheap.
constexpr int kBlock = 64;

template <class T>
using Vec = Eigen::Array<T, Eigen::Dynamic, 1>;

// For exp-like functions (tanh, logistic): every element through the SIMD code, whatever the alignment
// (see simd_block.hpp).
template <class T, class F>
void transcendental(const T* x, T* y, index_t n, F&& f) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) { map_blocks<T, kBlock>(x + b, y + b, e - b, f); });
}

// For max, select, add and multiply: scalar and SIMD code give the same bits, so Eigen may peel freely.
template <class T, class F>
void arithmetic(const T* x, T* y, index_t n, F&& f) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    Eigen::Map<Vec<T>>(y + b, e - b) = f(Eigen::Map<const Vec<T>>(x + b, e - b));
  });
}

template <class T, class F>
void arithmetic2(const T* u, const T* v, T* out, index_t n, F&& f) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    Eigen::Map<Vec<T>>(out + b, e - b) = f(Eigen::Map<const Vec<T>>(u + b, e - b), Eigen::Map<const Vec<T>>(v + b, e - b));
  });
}
}  // namespace

template <class T>
void activation_forward(Activation kind, const T* x, T* y, index_t n) {
  switch (kind) {
    case Activation::relu:
      return arithmetic(x, y, n, [](const auto& v) { return v.max(T(0)); });
    case Activation::sigmoid:
      return transcendental(x, y, n, [](const auto& v) { return accurate_sigmoid(v); });
    case Activation::tanh:
      return transcendental(x, y, n, [](const auto& v) { return accurate_tanh(v); });
  }
}

template <class T>
void activation_backward(Activation kind, const T* gy, const T* y, T* gx, index_t n) {
  switch (kind) {
    case Activation::relu:  // a plain loop: Eigen 3.4's select() has no SIMD path
      return parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
        // Both loads unconditional, so GCC turns the choice into a vector blend (a load inside the
        // branch stays a branch: mispredicted half the time on random signs). gx may be gy (in place).
        for (index_t i = b; i < e; ++i) {
          const T g = gy[i];
          gx[i] = y[i] <= T(0) ? T(0) : g;  // (a NaN output passes g, as PyTorch's threshold_backward)
        }
      });
    case Activation::sigmoid:
      return arithmetic2(gy, y, gx, n, [](const auto& g, const auto& out) { return g * out * (T(1) - out); });
    case Activation::tanh:
      return arithmetic2(gy, y, gx, n, [](const auto& g, const auto& out) { return g * (T(1) - out.square()); });
  }
}

template void activation_forward<float>(Activation, const float*, float*, index_t);
template void activation_forward<double>(Activation, const double*, double*, index_t);
template void activation_backward<float>(Activation, const float*, const float*, float*, index_t);
template void activation_backward<double>(Activation, const double*, const double*, double*, index_t);

}  // namespace eigengrad
