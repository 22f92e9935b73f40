// Upsampling (PyTorch's upsample_nearest2d, _upsample_nearest_exact2d and upsample_bilinear2d; 1-D
// inputs are planes of height 1) of planes x (planes, h, w) to y (planes, oh, ow), forward and backward.
//
// Along an axis of `in` -> `out` values, PyTorch's source coordinates, with its arithmetic:
//   scale s = 1 / scale_factor when a scale factor (> 0) was given, else in / out; with align_corners
//             (linear only) s = (in - 1) / (out - 1), 0 when out == 1.
//   nearest:       src = min(floor(dst s), in - 1)
//   nearest-exact: src = min(floor(max((dst + 0.5) s - 0.5, 0) + 0.5), in - 1)
//   PyTorch's CPU forward has two rules for these, which differ in the last bit of s dst: its general
//   kernel (s and the product in T, the floor in float) and, for 2-D outputs with oh + ow <= 128, its
//   legacy nearest_idx (s and the product in float, out == in gives src = dst, out == 2 in gives dst / 2;
//   nearest-exact floor((dst + 0.5) s)). legacy_nearest picks the second. (PyTorch's backward always
//   uses the legacy rule, so where the rules differ its gradient is not its forward's; ours is.)
//   linear:        x = s dst (align_corners) or max(s (dst + 0.5) - 0.5, 0); i0 = min(floor(float(x)), in - 1),
//                  i1 = i0 + (i0 < in - 1), l1 = clamp(x - i0, 0, 1), l0 = 1 - l1; out == in gives
//                  i0 = i1 = dst, l0 = 1, l1 = 0
//   y[u, v] = l0h (l0w x[i0h, i0w] + l1w x[i0h, i1w]) + l1h (l0w x[i1h, i0w] + l1w x[i1h, i1w])
// (nearest: y[u, v] = x[src_h(u), src_w(v)]).
// Backward: dx = 0, then every output adds its dy (times the weights) into its sources, in row-major
// output order. Planes are split between threads and a plane is done by one thread, so the order of the
// additions, and every bit of dx, does not depend on the thread count.
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

enum class UpsampleMode : int { nearest = 0, nearest_exact = 1, linear = 2 };

struct UpsampleGeometry {
  index_t planes, h, w, oh, ow;
  double scale_h, scale_w;  // the scale factors given (> 0), or 0: none (s = in / out)
  bool align_corners;       // linear only
  UpsampleMode mode;
  bool legacy_nearest;      // nearest modes: PyTorch's small-output rule (see above)
};

// y = the upsampling of x. y must not overlap x.
template <class T>
void upsample_forward(const T* x, T* y, const UpsampleGeometry& g);

// dx (planes, h, w) of upsample_forward given dy (planes, oh, ow), overwritten.
template <class T>
void upsample_backward(const T* dy, T* dx, const UpsampleGeometry& g);

}  // namespace eigengrad
