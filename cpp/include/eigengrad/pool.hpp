// 2-D pooling: max, average and adaptive average, forward and backward, PyTorch's semantics.
//
// Buffers are C-contiguous planes: x (planes, h, w), y (planes, oh, ow), planes = n * c. Window (u, v)
// of a plane covers the input rows u sh - ph + a dh (a < kh) and columns v sw - pw + e dw (e < kw);
// positions outside the input are padding. Output sizes (floor or ceil mode) are computed by the
// caller; every kernel works per plane, so the planes are shared between threads without changing any
// bit of the result.
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

struct Pool2dGeometry {
  index_t planes;      // n * c
  index_t h, w;        // input plane
  index_t oh, ow;      // output plane
  index_t kh, kw;      // window
  index_t sh, sw;      // stride
  index_t ph, pw;      // padding above / left
  index_t dh, dw;      // dilation (1 for average pooling)
};

// Max pooling with -inf padding: y = the largest input in the window, idx = its flat index row * w + col
// in the plane (the first one in (a, e) order; any NaN wins and propagates, the last NaN's index is
// kept; all -inf gives the first tap inside the input: PyTorch's rule). A window with no input position
// gets y = -inf and idx = -1.
template <class T>
void max_pool2d_forward(const T* x, T* y, std::int64_t* idx, const Pool2dGeometry& g);

// dx = 0, then dx[plane, idx] += dy for every output (idx < 0 skipped). Overwrites dx.
template <class T>
void max_pool2d_backward(const T* dy, const std::int64_t* idx, T* dx, const Pool2dGeometry& g);

// Average pooling (no dilation), PyTorch's divisor: the window clipped to the padded input
// [-ph, h + ph) x [-pw, w + pw) has pool_size positions, the window clipped to the input has `inside`;
// y = sum(inside values) / d with d = divisor_override if > 0, else pool_size when count_include_pad,
// else inside. A window with no input position gives 0.
template <class T>
void avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g, bool count_include_pad, index_t divisor_override);

// dx = 0, then every input position of a window gets dy / d (the forward's divisor). Overwrites dx.
template <class T>
void avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g, bool count_include_pad, index_t divisor_override);

// Adaptive average pooling to (oh, ow): output row u averages input rows [floor(u h / oh),
// ceil((u + 1) h / oh)), columns likewise. Only planes, h, w, oh, ow of g are read.
template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* y, const Pool2dGeometry& g);

// dx = 0, then each output's window gets dy / (window size). Overwrites dx.
template <class T>
void adaptive_avg_pool2d_backward(const T* dy, T* dx, const Pool2dGeometry& g);

// Adaptive max pooling to (oh, ow), adaptive_avg_pool2d's windows: y = the window's max, idx its flat index
// in the plane, max_pool2d_forward's rule (PyTorch's). Only planes, h, w, oh, ow of g are read. The
// backward is max_pool2d_backward with the same g.
template <class T>
void adaptive_max_pool2d_forward(const T* x, T* y, std::int64_t* idx, const Pool2dGeometry& g);

}  // namespace eigengrad
