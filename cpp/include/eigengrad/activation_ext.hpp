// More elementwise activations, each a fused forward and a fused backward over n contiguous elements.
// Backward kernels take the saved *input* x (these functions are not cheaply invertible from y):
//
//   leaky_relu  y = x > 0 ? x : s x                        gx = gy (x > 0 ? 1 : s)
//   elu         y = x > 0 ? scale x : scale alpha (exp(input_scale x) - 1)      (SELU: PyTorch's alpha and
//               gx = gy (x > 0 ? scale : scale alpha input_scale exp(input_scale x))       scale constants)
//   gelu        y = x Phi(x) = x/2 erfc(-x / sqrt 2)        gx = gy (Phi(x) + x phi(x))
//   gelu tanh   y = x/2 (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3) (computed as the latter)
//               gx = gy (1/2 (1 + tanh u) + x/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 0.044715 x^2))
//   softplus    y = beta x > threshold ? x : log(1 + exp(beta x)) / beta
//               gx = gy (beta x > threshold ? 1 : sigmoid(beta x))
//   prelu       x viewed as (outer, channels, inner), weight w of `channels` elements (or 1, shared):
//               y = x > 0 ? x : w[c] x;   gx = gy (x > 0 ? 1 : w[c]);   gw[c] = sum over x <= 0 of gy x
//               (gw summed in double, one channel per task in a fixed order: thread-count independent)
//   maxout      z viewed as (groups, pieces): y[g] = max_k z[g, k], idx[g] = the first k reaching it (a NaN
//               wins, as PyTorch's max); backward gz[g, idx[g]] = gy[g], 0 elsewhere.
// Transcendental parts run through aligned fixed-size blocks (simd_block.hpp's reason: results do not
// depend on buffer alignment or the thread count). Outputs may be the inputs (in place) except gw, idx.
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

template <class T>
void leaky_relu_forward(const T* x, T* y, index_t n, double slope);
template <class T>
void leaky_relu_backward(const T* gy, const T* x, T* gx, index_t n, double slope);

template <class T>
void elu_forward(const T* x, T* y, index_t n, double alpha, double scale, double input_scale);
template <class T>
void elu_backward(const T* gy, const T* x, T* gx, index_t n, double alpha, double scale, double input_scale);

template <class T>
void gelu_forward(const T* x, T* y, index_t n, bool tanh_approximation);
template <class T>
void gelu_backward(const T* gy, const T* x, T* gx, index_t n, bool tanh_approximation);

template <class T>
void softplus_forward(const T* x, T* y, index_t n, double beta, double threshold);
template <class T>
void softplus_backward(const T* gy, const T* x, T* gx, index_t n, double beta, double threshold);

template <class T>
void prelu_forward(const T* x, const T* w, T* y, index_t outer, index_t channels, index_t inner, bool shared);
// gw (channels, or 1 when shared) is overwritten; gw may be null (no weight gradient wanted).
template <class T>
void prelu_backward(const T* gy, const T* x, const T* w, T* gx, T* gw, index_t outer, index_t channels,
                    index_t inner, bool shared);

template <class T>
void maxout_forward(const T* z, T* y, std::int64_t* idx, index_t groups, index_t pieces);
template <class T>
void maxout_backward(const T* gy, const std::int64_t* idx, T* gz, index_t groups, index_t pieces);

}  // namespace eigengrad
