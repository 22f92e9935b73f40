// 2-D pooling: max, average and adaptive average, forward and backward, PyTorch's semantics.
//
// Buffers are C-contiguous planes: x (planes, h, w), y (planes, oh, ow), planes = n * c. Window (u, v)
// of a plane covers the input rows u sh - ph + a dh (a < kh) and columns v sw - pw + e dw (e < kw);
// positions outside the input are padding. Output sizes (floor or ceil mode) are computed by the
// caller; every kernel works per plane, so the planes are shared between threads without changing any
// bit of the result.
#pragma once
#include <cstdint>
#include <memory>

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

// max_pool2d_forward one plane at a time: the windows' tables are built once, then each call pools one
// input plane (h x w) into one output plane and its indices (oh x ow). max_pool2d_forward runs it over
// every plane; a kernel that makes its planes itself (BatchNorm -> ReLU -> MaxPool fused) pools each one
// while it is in cache, with the same bits.
template <class T>
class MaxPool2dPlanes {
 public:
  explicit MaxPool2dPlanes(const Pool2dGeometry& g);
  ~MaxPool2dPlanes();
  MaxPool2dPlanes(const MaxPool2dPlanes&) = delete;
  MaxPool2dPlanes& operator=(const MaxPool2dPlanes&) = delete;
  void operator()(const T* x_plane, T* y_plane, std::int64_t* idx_plane) const;

 private:
  struct Tables;
  std::unique_ptr<const Tables> tables_;
  Pool2dGeometry g_;
};

// dx = 0, then dx[plane, idx] += dy for every output (idx < 0 skipped). Overwrites dx.
template <class T>
void max_pool2d_backward(const T* dy, const std::int64_t* idx, T* dx, const Pool2dGeometry& g);

// max_pool2d_backward and then relu_backward on the pool's input, in one pass, for a max pool over a ReLU's
// output: dx = 0, then dx[plane, idx] += dy for every output whose value y (the pool's forward output: the
// ReLU's output at idx) is > 0. The same bits as the two kernels (the ReLU's mask at a chosen index is its
// window's y > 0; an index no window chose is 0 either way). Overwrites dx.
template <class T>
void max_pool2d_relu_backward(const T* dy, const std::int64_t* idx, const T* y, T* dx, const Pool2dGeometry& g);

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
