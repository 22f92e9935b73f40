// Transposed convolution through the convolution's own passes (see conv.hpp): its forward is the
// input gradient of the convolution g, its input gradient is g's forward, and its weight gradient is
// g's weight gradient with the roles of input and output gradient swapped. So the direct kernel, the
// im2col lowering (whose input gradient is a col2im for any stride, dilation and output_padding), the
// slots and the fixed-order sums are all conv2d's, and so is the determinism. Where Winograd takes g's input
// gradient, the forward hands it the bias, which it adds as it writes y (y + b is the same sum either way).
#include <algorithm>
#include <cstring>

#include "conv_winograd.hpp"
#include "eigengrad/conv.hpp"

namespace eigengrad {

template <class T>
void conv_transpose2d_forward(const T* x, const T* wt, const T* b, T* y, const Conv2dGeometry& g) {
  // Winograd adds the bias as it writes the output, rather than in a pass of its own
  if (g.n > 0 && g.oh * g.ow > 0 && g.o > 0 && std::strcmp(conv2d_algorithms<T>(g).input_grad, "winograd") == 0)
    return winograd::input_grad(x, wt, b, y, g);
  conv2d_backward<T>(x, nullptr, wt, y, nullptr, nullptr, g);  // g's input is only read for its weight gradient
  if (b == nullptr) return;
  const index_t plane = g.h * g.w;
  parallel_for(g.n * g.c, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(plane, 1)), [&](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      T* row = y + t * plane;
      const T bq = b[t % g.c];
      for (index_t s = 0; s < plane; ++s) row[s] += bq;
    }
  });
}

template <class T>
void conv_transpose2d_backward(const T* dy, const T* x, const T* wt, T* dx, T* dwt, T* db, const Conv2dGeometry& g) {
  if (db) conv2d_bias_grad(dy, db, g.n, g.c, g.h * g.w);
  if (dx) conv2d_forward<T>(dy, wt, nullptr, dx, g);
  if (dwt) conv2d_backward<T>(x, dy, wt, nullptr, dwt, nullptr, g);
}

template void conv_transpose2d_forward<float>(const float*, const float*, const float*, float*, const Conv2dGeometry&);
template void conv_transpose2d_forward<double>(const double*, const double*, const double*, double*,
                                               const Conv2dGeometry&);
template void conv_transpose2d_backward<float>(const float*, const float*, const float*, float*, float*, float*,
                                               const Conv2dGeometry&);
template void conv_transpose2d_backward<double>(const double*, const double*, const double*, double*, double*,
                                                double*, const Conv2dGeometry&);

}  // namespace eigengrad
