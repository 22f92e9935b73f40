// The geometry of sliding windows (convolution and pooling), checked before any kernel runs.
//
// Every conv and pooling binding, and the Python wrappers (through conv2d_output_size and
// pool2d_output_size), take their window options through window_option() and their output sizes from
// conv2d_geometry() / pool2d_geometry(), so one set of bounds holds everywhere:
//   - kernel, stride, dilation >= 1 and padding >= 0;
//   - every option at most kMaxWindowOption = 2^31 - 1 (PyTorch converts pooling options to a C int
//     and raises above it; eigengrad applies the same bound to convolution);
//   - input extents come from NumPy shapes, so they are below 2^62 (a transposed convolution, whose
//     output grows with its input, also bounds its output plane at 2^48 positions).
// With these bounds d (k - 1) + 1 <= 2^62 and size + pads < 2^62 + 2^32: no intermediate overflows
// int64, so a size check can never pass on a wrapped-around value.
#pragma once
#include <array>
#include <cstdint>

#include "checks.hpp"
#include "eigengrad/conv.hpp"
#include "eigengrad/pool.hpp"

namespace eigengrad::bindings {

using Pair = std::array<index_t, 2>;
using Quad = std::array<index_t, 4>;

constexpr index_t kMaxWindowOption = 2147483647;  // 2^31 - 1
constexpr index_t kMaxExtent = index_t(1) << 62;     // an input extent given as a number (the size helpers)

// An input extent given as a number, in [0, kMaxExtent], else ValueError naming it.
index_t input_extent(index_t size, const char* name);

// An int or a sequence of N ints, each in [lo, kMaxWindowOption], as N values. Raises TypeError (not
// ints, wrong count) or ValueError (out of range) naming the argument, what it got and the range.
template <std::size_t N>
std::array<index_t, N> window_option(const py::handle& value, const char* name, index_t lo);

// The output plane (oh, ow) of a convolution of an (h, w) plane by a (kh, kw) kernel, for options that
// passed window_option(); padding is (top, bottom, left, right). ValueError when the kernel is outside
// the bounds, the dilated kernel is larger than the padded input, or the padded plane exceeds 2^48.
Pair conv2d_output_size(index_t h, index_t w, index_t kh, index_t kw, const Pair& stride, const Quad& padding,
                        const Pair& dilation);

// Checks input (n, c, h, w) and weight (o, c / groups, kh, kw) against each other and the options;
// returns the geometry of the call.
Conv2dGeometry conv2d_geometry(const py::array& x, const py::array& w, const Pair& stride, const Quad& padding,
                               const Pair& dilation, index_t groups);

// The output plane (oh, ow) of a transposed convolution of an (h, w) plane (h, w >= 1) by a (kh, kw)
// kernel: (h - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1 per axis, for options that
// passed window_option(). ValueError when output_padding is not below the stride or the dilation (PyTorch's
// rule), the kernel is outside the bounds, the output is empty or it exceeds 2^48 positions.
Pair conv_transpose2d_output_size(index_t h, index_t w, index_t kh, index_t kw, const Pair& stride,
                                  const Pair& padding, const Pair& output_padding, const Pair& dilation);

// Checks a transposed convolution's input (n, ci, h, w), non-empty planes, and weight (ci, co / groups, kh,
// kw) against each other and the options; returns the geometry of the convolution behind it (conv.hpp).
Conv2dGeometry conv_transpose2d_geometry(const py::array& x, const py::array& w, const Pair& stride,
                                         const Pair& padding, const Pair& output_padding, const Pair& dilation,
                                         index_t groups);

// PyTorch's pooling output size along one axis (floor or ceil mode, the last window starting inside
// the input or its left padding), for options that passed window_option(); may be < 1.
index_t pool_output_size(index_t size, index_t kernel, index_t pad, index_t stride, index_t dilation, bool ceil_mode);

// PyTorch's pooling rule: padding at most half the kernel size, else ValueError.
void check_pool_padding(const Pair& kernel, const Pair& padding);

// The checked geometry of a pooling call over (planes, h, w): padding at most half the kernel (PyTorch's
// rule) and an output of at least 1 x 1, else ValueError naming the option.
Pool2dGeometry pool2d_geometry(index_t planes, index_t h, index_t w, const Pair& k, const Pair& s, const Pair& p,
                               const Pair& d, bool ceil_mode);

}  // namespace eigengrad::bindings
