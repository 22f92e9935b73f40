#include "eigengrad/activation_ext.hpp"

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace eigengrad {
namespace {
constexpr int kB = 64;  // elements per evaluation block
template <class T>
using Blk = Eigen::Map<Eigen::Array<T, kB, 1>, Eigen::Aligned64>;
template <class T>
using CBlk = Eigen::Map<const Eigen::Array<T, kB, 1>, Eigen::Aligned64>;

// For each block of kB elements of x: pre(xv, t1, t2) fills two aligned temporaries from the block
// (SIMD, the tail zero-padded so every element goes through the packet code), then post(i, m, xb, t1,
// t2) writes elements i .. i + m from the block's arrays. Chunks start at multiples of
// kElementwiseGrain (a multiple of kB), so the blocks do not depend on the thread count.
// The post loops read local arrays and compute both sides of each choice before selecting, so GCC
// vectorises them into blends (a per-element branch on the sign is mispredicted half the time).
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
      post(i, m, static_cast<const T*>(xb), static_cast<const T*>(t1), static_cast<const T*>(t2));
    }
  });
}

// out = exp(arg) for a block, exact where the result is below the smallest normal number: those elements again
// with std::exp. Eigen's packet exp clamps its argument (AVX2 and SSE: exp(-inf) came out 2.9e-39 in float, and
// GELU's gradient at -1e30 -1.2e-9) or flushes such results to 0 (AVX-512); PyTorch gives 0 at -inf and the
// subnormal above it. The test for such a block costs ELU's backward over 1M floats 1.3x its time without it
// (GELU's 1.03x; Zen 5, avx512); Eigen's minCoeff() cost 1.45x and its NaN-aware minimum 2.1x.
template <class T, class Arg>
void exact_exp(const Arg& arg, Blk<T> out) {
  namespace in = Eigen::internal;
  using Packet = typename in::packet_traits<T>::type;
  constexpr int P = in::unpacket_traits<Packet>::size;
  constexpr T tiny = std::numeric_limits<T>::min();
  out = arg.exp();
  // any element below tiny, or NaN (left NaN below): a compare per packet and one mask test
  Packet low = in::pcmp_lt_or_nan(in::pload<Packet>(out.data()), in::pset1<Packet>(tiny));
  for (int k = P; k < kB; k += P)
    low = in::por(low, in::pcmp_lt_or_nan(in::pload<Packet>(out.data() + k), in::pset1<Packet>(tiny)));
  if (!in::predux_any(low)) return;
  for (int j = 0; j < kB; ++j)
    if (!(out(j) >= tiny)) out(j) = std::exp(arg(j));
}
}  // namespace

// --- leaky ReLU ------------------------------------------------------------------------------------

template <class T>
void leaky_relu_forward(const T* x, T* y, index_t n, double slope) {
  const T s = T(slope);
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    const T* xs = x;
    T* ys = y;
    for (index_t i = b; i < e; ++i) {
      const T v = xs[i], neg = v * s;
      ys[i] = v > T(0) ? v : neg;
    }
  });
}

template <class T>
void leaky_relu_backward(const T* gy, const T* x, T* gx, index_t n, double slope) {
  const T s = T(slope);
  parallel_for(n, kElementwiseGrain, [&](index_t b, index_t e) {
    const T* gs = gy;
    const T* xs = x;
    T* out = gx;
    for (index_t i = b; i < e; ++i) {
      const T g = gs[i], neg = g * s;
      out[i] = xs[i] > T(0) ? g : neg;
    }
  });
}

// --- ELU / SELU ------------------------------------------------------------------------------------

template <class T>
void elu_forward(const T* x, T* y, index_t n, double alpha, double scale, double input_scale) {
  const T neg = T(alpha * scale), pos = T(scale), in = T(input_scale);
  blocked<T>(n, x, [&](auto xv, auto t1, auto) { t1 = (xv.min(T(0)) * in).expm1(); },
             [&](index_t i, index_t m, const T* xv, const T* e1, const T*) {
               T* out = y + i;
               for (index_t j = 0; j < m; ++j) {
                 const T v = xv[j], p = v * pos, q = e1[j] * neg;
                 out[j] = v > T(0) ? p : q;
               }
             });
}

template <class T>
void elu_backward(const T* gy, const T* x, T* gx, index_t n, double alpha, double scale, double input_scale) {
  const T neg = T(alpha * scale * input_scale), pos = T(scale), in = T(input_scale);
  blocked<T>(n, x,
             [&](auto xv, auto t1, auto) { exact_exp<T>(xv.min(T(0)) * in, t1); },
             [&](index_t i, index_t m, const T* xv, const T* e1, const T*) {
               const T* g = gy + i;
               T* out = gx + i;
               for (index_t j = 0; j < m; ++j) {
                 const T p = g[j] * pos, q = g[j] * (neg * e1[j]);
                 out[j] = xv[j] > T(0) ? p : q;
               }
             });
}

// --- GELU ------------------------------------------------------------------------------------------

constexpr double kSqrt1_2 = 0.70710678118654752440;   // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)
constexpr double kBeta = 0.79788456080286535588;        // sqrt(2 / pi)
constexpr double kKappa = 0.044715;

// out = 2 Phi(x) = erfc(-x / sqrt 2) for a block. float: 1 + erf(x / sqrt 2) with Eigen's vectorised
// erf where that keeps full relative precision (x >= -2: 1 + erf >= 0.045), the scalar erfc below
// (rare in practice); double: the scalar erfc throughout. Each element's value depends on it alone.
template <class T, class V, class O>
void phi2(const V& xv, O&& out) {
  if constexpr (std::is_same_v<T, float>) {
    out = (xv * T(kSqrt1_2)).erf() + T(1);
    for (Eigen::Index j = 0; j < xv.size(); ++j)
      if (xv(j) < T(-2)) out(j) = std::erfc(xv(j) * T(-kSqrt1_2));
  } else {
    out = (xv * T(-kSqrt1_2)).erfc();
  }
}

template <class T>
void gelu_forward(const T* x, T* y, index_t n, bool tanh_approximation) {
  if (tanh_approximation) {
    // (1 + tanh u) / 2 = sigmoid(2 u): the same function without the cancellation of 1 + tanh(u) for u << 0
    // (Eigen's float logistic() is a rational fit with a poor relative error in the tail: exp instead)
    blocked<T>(n, x, [&](auto xv, auto t1, auto) { exact_exp<T>(T(-2 * kBeta) * (xv + T(kKappa) * xv * xv * xv), t1); },
               [&](index_t i, index_t m, const T* xv, const T* e1, const T*) {
                 T* out = y + i;
                 for (index_t j = 0; j < m; ++j) out[j] = xv[j] / (T(1) + e1[j]);
               });
  } else {
    // Phi(x) = erfc(-x / sqrt 2) / 2: no cancellation in the far negative tail (1 + erf(x / sqrt 2) is 0 there)
    blocked<T>(n, x, [&](auto xv, auto t1, auto) { phi2<T>(xv, t1); },
               [&](index_t i, index_t m, const T* xv, const T* e1, const T*) {
                 T* out = y + i;
                 for (index_t j = 0; j < m; ++j) out[j] = xv[j] * T(0.5) * e1[j];
               });
  }
}

template <class T>
void gelu_backward(const T* gy, const T* x, T* gx, index_t n, bool tanh_approximation) {
  if (tanh_approximation) {
    // d/dx [x s(2u)] = s + 2 x s (1 - s) u'  (= PyTorch's 1/2 (1 + t) + x/2 (1 - t^2) u', t = tanh u)
    blocked<T>(n, x, [&](auto xv, auto t1, auto) { exact_exp<T>(T(-2 * kBeta) * (xv + T(kKappa) * xv * xv * xv), t1); },
               [&](index_t i, index_t m, const T* xv, const T* e1, const T*) {
                 const T* g = gy + i;
                 T* out = gx + i;
                 for (index_t j = 0; j < m; ++j) {
                   const T v = xv[j], s = T(1) / (T(1) + e1[j]);
                   const T du = T(kBeta) * (T(1) + T(3 * kKappa) * v * v);
                   out[j] = g[j] * (s + T(2) * v * s * (T(1) - s) * du);
                 }
               });
  } else {
    blocked<T>(n, x,
               [&](auto xv, auto t1, auto t2) {
                 phi2<T>(xv, t1);
                 exact_exp<T>(xv * xv * T(-0.5), t2);
               },
               [&](index_t i, index_t m, const T* xv, const T* e1, const T* d) {
                 const T* g = gy + i;
                 T* out = gx + i;
                 for (index_t j = 0; j < m; ++j) out[j] = g[j] * (T(0.5) * e1[j] + xv[j] * d[j] * T(kInvSqrt2Pi));
               });
  }
}

// --- softplus --------------------------------------------------------------------------------------

template <class T>
void softplus_forward(const T* x, T* y, index_t n, double beta, double threshold) {
  const T b = T(beta), th = T(threshold), inv = T(1.0 / beta);
  blocked<T>(n, x, [&](auto xv, auto t1, auto) {
               exact_exp<T>((xv * b).min(th), t1);
               t1 = t1.log1p();
             },
             [&](index_t i, index_t m, const T* xv, const T* l, const T*) {
               T* out = y + i;
               for (index_t j = 0; j < m; ++j) {
                 const T v = xv[j], soft = l[j] * inv;
                 out[j] = v * b > th ? v : soft;
               }
             });
}

template <class T>
void softplus_backward(const T* gy, const T* x, T* gx, index_t n, double beta, double threshold) {
  const T b = T(beta), th = T(threshold);
  blocked<T>(n, x, [&](auto xv, auto t1, auto) { exact_exp<T>((xv * b).min(th), t1); },
             [&](index_t i, index_t m, const T* xv, const T* z, const T*) {
               const T* g = gy + i;
               T* out = gx + i;
               for (index_t j = 0; j < m; ++j) {
                 const T soft = g[j] * z[j] / (z[j] + T(1));
                 out[j] = xv[j] * b > th ? g[j] : soft;
               }
             });
}

// --- PReLU -----------------------------------------------------------------------------------------

template <class T>
void prelu_forward(const T* x, const T* w, T* y, index_t outer, index_t channels, index_t inner, bool shared) {
  const index_t rows = outer * channels;
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(inner, 1));
  if (inner == 1 && !shared) {  // (N, C): the slopes run along each row, one contiguous loop per row
    parallel_for(outer, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(channels, 1)),
                 [&](index_t b, index_t e) {
                   for (index_t o = b; o < e; ++o) {
                     const T* xr = x + o * channels;
                     T* yr = y + o * channels;
                     for (index_t c = 0; c < channels; ++c) {
                       const T v = xr[c], neg = w[c] * v;
                       yr[c] = v > T(0) ? v : neg;
                     }
                   }
                 });
    return;
  }
  parallel_for(rows, grain, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const T a = w[shared ? 0 : r % channels];
      const T* xr = x + r * inner;
      T* yr = y + r * inner;
      for (index_t j = 0; j < inner; ++j) {
        const T v = xr[j], neg = a * v;
        yr[j] = v > T(0) ? v : neg;
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
      // channel blocks in parallel; within a block, rows in order (a fixed summation order per channel)
      parallel_for(channels, 64, [&](index_t cb, index_t ce) {
        std::vector<double> acc(static_cast<std::size_t>(ce - cb), 0.0);
        for (index_t o = 0; o < outer; ++o) {
          for (index_t c = cb; c < ce; ++c) {
            const index_t base = (o * channels + c) * inner;
            double s = 0.0;
            for (index_t j = 0; j < inner; ++j) {
              const T v = x[base + j];
              const double term = double(gy[base + j]) * double(v);
              s += v > T(0) ? 0.0 : term;
            }
            acc[static_cast<std::size_t>(c - cb)] += s;
          }
        }
        for (index_t c = cb; c < ce; ++c) gw[c] = T(acc[static_cast<std::size_t>(c - cb)]);
      });
    }
  }
  if (inner == 1 && !shared) {
    parallel_for(outer, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(channels, 1)),
                 [&](index_t b, index_t e) {
                   for (index_t o = b; o < e; ++o) {
                     const T* xr = x + o * channels;
                     const T* gr = gy + o * channels;
                     T* out = gx + o * channels;
                     for (index_t c = 0; c < channels; ++c) {
                       const T g = gr[c], neg = w[c] * g;
                       out[c] = xr[c] > T(0) ? g : neg;
                     }
                   }
                 });
    return;
  }
  parallel_for(rows, grain, [&](index_t b, index_t e) {
    for (index_t r = b; r < e; ++r) {
      const T a = w[shared ? 0 : r % channels];
      const T* xr = x + r * inner;
      const T* gr = gy + r * inner;
      T* out = gx + r * inner;
      for (index_t j = 0; j < inner; ++j) {
        const T g = gr[j], neg = a * g;
        out[j] = xr[j] > T(0) ? g : neg;
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
