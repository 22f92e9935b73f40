#include "eigengrad/activation_ext.hpp"

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>
#include <algorithm>
#include <cmath>
#include <cstring>

namespace eigengrad {
namespace {
constexpr int kB = 64;  // elements per evaluation block
template <class T>
using Blk = Eigen::Map<Eigen::Array<T, kB, 1>, Eigen::Aligned64>;
template <class T>
using CBlk = Eigen::Map<const Eigen::Array<T, kB, 1>, Eigen::Aligned64>;

// For each block of kB elements of x: pre(xv, t1, t2) fills two aligned temporaries from the block
// (SIMD, the tail zero-padded so every element goes through the packet code), then post(i, x_i, t1_j,
// t2_j) writes element i. Chunks start at multiples of kElementwiseGrain (a multiple of kB), so the
// blocks do not depend on the thread count.
template <class T, class Pre, class Post>
void blocked(index_t n, const T* x, Pre&& pre, Post&& post) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    alignas(64) T xb[kB];
    alignas(64) T t1[kB];
    alignas(64) T t2[kB];
    for (index_t i = b; i < e; i += kB) {
      const index_t m = std::min<index_t>(kB, e - i);
      std::memcpy(xb, x + i, std::size_t(m) * sizeof(T));
      if (m < kB) std::fill(xb + m, xb + kB, T(0));
      pre(CBlk<T>(xb), Blk<T>(t1), Blk<T>(t2));
      for (index_t j = 0; j < m; ++j) post(i + j, xb[j], t1[j], t2[j]);
    }
  });
}

template <class T, class F>
void elementwise(index_t n, F&& f) {
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) f(i);
  });
}
}  // namespace

// --- leaky ReLU ------------------------------------------------------------------------------------

template <class T>
void leaky_relu_forward(const T* x, T* y, index_t n, double slope) {
  const T s = T(slope);
  elementwise<T>(n, [&](index_t i) {
    const T v = x[i];
    y[i] = v > T(0) ? v : v * s;
  });
}

template <class T>
void leaky_relu_backward(const T* gy, const T* x, T* gx, index_t n, double slope) {
  const T s = T(slope);
  elementwise<T>(n, [&](index_t i) {
    const T g = gy[i];
    gx[i] = x[i] > T(0) ? g : g * s;
  });
}

// --- ELU / SELU ------------------------------------------------------------------------------------

template <class T>
void elu_forward(const T* x, T* y, index_t n, double alpha, double scale, double input_scale) {
  const T neg = T(alpha * scale), pos = T(scale), in = T(input_scale);
  blocked<T>(n, x, [&](auto xv, auto t1, auto) { t1 = (xv.min(T(0)) * in).expm1(); },
             [&](index_t i, T v, T e, T) { y[i] = v > T(0) ? v * pos : e * neg; });
}

template <class T>
void elu_backward(const T* gy, const T* x, T* gx, index_t n, double alpha, double scale, double input_scale) {
  const T neg = T(alpha * scale * input_scale), pos = T(scale), in = T(input_scale);
  blocked<T>(n, x, [&](auto xv, auto t1, auto) { t1 = (xv.min(T(0)) * in).exp(); },
             [&](index_t i, T v, T e, T) { gx[i] = v > T(0) ? gy[i] * pos : gy[i] * (neg * e); });
}

// --- GELU ------------------------------------------------------------------------------------------

constexpr double kSqrt1_2 = 0.70710678118654752440;   // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)
constexpr double kBeta = 0.79788456080286535588;        // sqrt(2 / pi)
constexpr double kKappa = 0.044715;

template <class T>
void gelu_forward(const T* x, T* y, index_t n, bool tanh_approximation) {
  if (tanh_approximation) {
    // (1 + tanh u) / 2 = sigmoid(2 u): the same function without the cancellation of 1 + tanh(u) for u << 0
    // (Eigen's float logistic() is a rational fit with a poor relative error in the tail: exp instead)
    blocked<T>(n, x, [&](auto xv, auto t1, auto) { t1 = (T(-2 * kBeta) * (xv + T(kKappa) * xv * xv * xv)).exp(); },
               [&](index_t i, T v, T e, T) { y[i] = v / (T(1) + e); });
  } else {
    // Phi(x) = erfc(-x / sqrt 2) / 2: no cancellation in the far negative tail (1 + erf(x / sqrt 2) is 0 there)
    blocked<T>(n, x, [&](auto xv, auto t1, auto) { t1 = (xv * T(-kSqrt1_2)).erfc(); },
               [&](index_t i, T v, T e, T) { y[i] = v * T(0.5) * e; });
  }
}

template <class T>
void gelu_backward(const T* gy, const T* x, T* gx, index_t n, bool tanh_approximation) {
  if (tanh_approximation) {
    // d/dx [x s(2u)] = s + 2 x s (1 - s) u'  (= PyTorch's 1/2 (1 + t) + x/2 (1 - t^2) u', t = tanh u)
    blocked<T>(n, x, [&](auto xv, auto t1, auto) { t1 = (T(-2 * kBeta) * (xv + T(kKappa) * xv * xv * xv)).exp(); },
               [&](index_t i, T v, T e, T) {
                 const T s = T(1) / (T(1) + e);
                 const T du = T(kBeta) * (T(1) + T(3 * kKappa) * v * v);
                 gx[i] = gy[i] * (s + T(2) * v * s * (T(1) - s) * du);
               });
  } else {
    blocked<T>(n, x,
               [&](auto xv, auto t1, auto t2) {
                 t1 = (xv * T(-kSqrt1_2)).erfc();
                 t2 = (xv * xv * T(-0.5)).exp();
               },
               [&](index_t i, T v, T e, T d) {
                 gx[i] = gy[i] * (T(0.5) * e + v * d * T(kInvSqrt2Pi));
               });
  }
}

// --- softplus --------------------------------------------------------------------------------------

template <class T>
void softplus_forward(const T* x, T* y, index_t n, double beta, double threshold) {
  const T b = T(beta), th = T(threshold), inv = T(1.0 / beta);
  blocked<T>(n, x, [&](auto xv, auto t1, auto) { t1 = (xv * b).min(th).exp().log1p(); },
             [&](index_t i, T v, T l, T) { y[i] = v * b > th ? v : l * inv; });
}

template <class T>
void softplus_backward(const T* gy, const T* x, T* gx, index_t n, double beta, double threshold) {
  const T b = T(beta), th = T(threshold);
  blocked<T>(n, x, [&](auto xv, auto t1, auto) { t1 = (xv * b).min(th).exp(); },
             [&](index_t i, T v, T z, T) { gx[i] = v * b > th ? gy[i] : gy[i] * z / (z + T(1)); });
}

// --- PReLU -----------------------------------------------------------------------------------------

template <class T>
void prelu_forward(const T* x, const T* w, T* y, index_t outer, index_t channels, index_t inner, bool shared) {
  const index_t rows = outer * channels;
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(inner, 1));
  parallel_for(rows, grain, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const T a = w[shared ? 0 : r % channels];
      const T* xr = x + r * inner;
      T* yr = y + r * inner;
      for (index_t j = 0; j < inner; ++j) {
        const T v = xr[j];
        yr[j] = v > T(0) ? v : a * v;
      }
    }
  });
}

template <class T>
void prelu_backward(const T* gy, const T* x, const T* w, T* gx, T* gw, index_t outer, index_t channels,
                    index_t inner, bool shared) {
  const index_t rows = outer * channels;
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(inner, 1));
  if (gw != nullptr) {  // before gx: gx may be gy
    if (shared) {
      const index_t n = rows * inner;
      gw[0] = T(parallel_sum(n, kElementwiseGrain, [&](index_t b, index_t e) {
        double s = 0.0;
        for (index_t i = b; i < e; ++i) s += x[i] > T(0) ? 0.0 : double(gy[i]) * double(x[i]);
        return s;
      }));
    } else {
      parallel_for(channels, 1, [&](index_t cb, index_t ce) {
        for (index_t c = cb; c < ce; ++c) {
          double s = 0.0;
          for (index_t o = 0; o < outer; ++o) {
            const index_t base = (o * channels + c) * inner;
            for (index_t j = 0; j < inner; ++j) {
              const T v = x[base + j];
              s += v > T(0) ? 0.0 : double(gy[base + j]) * double(v);
            }
          }
          gw[c] = T(s);
        }
      });
    }
  }
  parallel_for(rows, grain, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const T a = w[shared ? 0 : r % channels];
      const T* xr = x + r * inner;
      const T* gr = gy + r * inner;
      T* out = gx + r * inner;
      for (index_t j = 0; j < inner; ++j) {
        const T g = gr[j];
        out[j] = xr[j] > T(0) ? g : a * g;
      }
    }
  });
}

// --- maxout ----------------------------------------------------------------------------------------

template <class T>
void maxout_forward(const T* z, T* y, std::int64_t* idx, index_t groups, index_t pieces) {
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(pieces, 1));
  parallel_for(groups, grain, [&](index_t b, index_t e) {
    for (index_t g = b; g < e; ++g) {
      const T* zg = z + g * pieces;
      T best = zg[0];
      std::int64_t arg = 0;
      for (index_t k = 1; k < pieces; ++k) {
        const T v = zg[k];
        if (v > best || (v != v && best == best)) {
          best = v;
          arg = k;
        }
      }
      y[g] = best;
      idx[g] = arg;
    }
  });
}

template <class T>
void maxout_backward(const T* gy, const std::int64_t* idx, T* gz, index_t groups, index_t pieces) {
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(pieces, 1));
  parallel_for(groups, grain, [&](index_t b, index_t e) {
    std::fill(gz + b * pieces, gz + e * pieces, T(0));
    for (index_t g = b; g < e; ++g) gz[g * pieces + idx[g]] = gy[g];
  });
}

#define EIGENGRAD_ACTIVATION_EXT(T)                                                                           \
  template void leaky_relu_forward<T>(const T*, T*, index_t, double);                                         \
  template void leaky_relu_backward<T>(const T*, const T*, T*, index_t, double);                              \
  template void elu_forward<T>(const T*, T*, index_t, double, double, double);                                \
  template void elu_backward<T>(const T*, const T*, T*, index_t, double, double, double);                     \
  template void gelu_forward<T>(const T*, T*, index_t, bool);                                                 \
  template void gelu_backward<T>(const T*, const T*, T*, index_t, bool);                                      \
  template void softplus_forward<T>(const T*, T*, index_t, double, double);                                   \
  template void softplus_backward<T>(const T*, const T*, T*, index_t, double, double);                        \
  template void prelu_forward<T>(const T*, const T*, T*, index_t, index_t, index_t, bool);                    \
  template void prelu_backward<T>(const T*, const T*, const T*, T*, T*, index_t, index_t, index_t, bool);     \
  template void maxout_forward<T>(const T*, T*, std::int64_t*, index_t, index_t);                             \
  template void maxout_backward<T>(const T*, const std::int64_t*, T*, index_t, index_t);
EIGENGRAD_ACTIVATION_EXT(float)
EIGENGRAD_ACTIVATION_EXT(double)
#undef EIGENGRAD_ACTIVATION_EXT

}  // namespace eigengrad
