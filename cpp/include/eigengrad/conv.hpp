// 2-D convolution (cross-correlation, as PyTorch's conv2d): forward, input gradient, weight and bias
// gradients, computed directly or lowered to eigengrad's packed GEMM.
//
// Buffers are C-contiguous:
//   x  (n, c, h, w)             input
//   wt (o, c / groups, kh, kw)  weight (PyTorch's layout)
//   b  (o)                      bias, may be null
//   y  (n, o, oh, ow)           output
// With cg = c / groups input and og = o / groups output channels per group, output channel q of group
// g = q / og reads input channels [g cg, (g + 1) cg):
//   y[i, q, u, v] = b[q] + sum_{ci < cg, a < kh, e < kw} wt[q, ci, a, e] * xp[i, g cg + ci, u sh + a dh, v sw + e dw]
// where xp is x padded with zeros: ph rows above and pw columns to the left; the padding below and to
// the right is whatever oh, ow imply (so PyTorch's asymmetric padding='same' is just a larger oh, ow).
//
// Direct (conv_direct.cpp, AVX2 builds): with enough channels per group the GEMM's register tile reads
// the patches in place from a zero-padded copy of each image; the input gradient of a stride-1
// convolution is the convolution of dy with the flipped weight (with a stride, one such convolution per
// phase of dx, with the taps that reach it), and the weight gradient the same tile summed over chunks
// of images. Which shapes it takes was measured against the lowering below.
//
// Lowering (every other shape). Images are taken in chunks whose size depends only on the shape (about
// 2048 GEMM columns, with the chunk's patch matrix within L2). A chunk's patches are unfolded into cols
// (K x chunk * oh * ow), K = c kh kw, row (ci kh + a) kw + e, column i * oh * ow + p (im2col); then per
// group y_g = wt_g (og x K/groups) . cols_g, dcols_g = wt_g^T . dy_g and dwt_g += dy_g . cols_g^T are
// single GEMMs over the whole chunk. dx is the col2im of dcols. A one-image chunk uses y and dy in place
// (their (o, oh * ow) planes are the GEMM's layout); larger chunks copy them to and from (o, chunk * oh * ow).
//
// Threads: the direct forward and input gradient split the images (and, with fewer images than threads,
// their output positions), each output one FMA chain. The chunks of the lowering and of the direct
// weight gradient are dealt to at most 8 slots (chunk j to slot j % slots) that run in parallel in one
// parallel region, each with its own scratch and its own weight-gradient sum; the sums are added in
// slot order. Slots depend on the shape only, and the GEMM and the bias sums (double, fixed lanes) do
// not depend on the thread count, so neither does any bit of the result.
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

struct Conv2dGeometry {
  index_t n, c, h, w;  // input
  index_t o, kh, kw;   // weight (o, c / groups, kh, kw)
  index_t groups;
  index_t sh, sw;      // stride
  index_t ph, pw;      // zero padding above / left of the input
  index_t dh, dw;      // dilation
  index_t oh, ow;      // output size
};

// y = conv(x, wt) + b. Reads x, wt, b (may be null); writes y, which must not overlap them.
template <class T>
void conv2d_forward(const T* x, const T* wt, const T* b, T* y, const Conv2dGeometry& g);

// Gradients of y = conv(x, wt) + b given dy: dx (like x), dwt (like wt), db (o). Each output may be null
// (not wanted); outputs are overwritten and must not overlap the inputs or each other.
// db[q] = sum over i, u, v of dy[i, q, u, v], summed in double.
template <class T>
void conv2d_backward(const T* dy, const T* x, const T* wt, T* dx, T* dwt, T* db, const Conv2dGeometry& g);

// db[q] = sum over i < n, s < plane of dy[i, q, s] for dy (n, o, plane), summed in double over fixed lanes.
template <class T>
void conv2d_bias_grad(const T* dy, T* db, index_t n, index_t o, index_t plane);

// Which algorithm each pass of a convolution of geometry g takes: "winograd" (F(2x2, 3x3) or F(4x4, 2x2),
// conv_winograd.cpp), "direct" (conv_direct.cpp) or "lowering" (im2col + GEMM). The passes consult this one
// choice.
struct Conv2dAlgorithms {
  const char* forward;
  const char* input_grad;
  const char* weight_grad;
};
template <class T>
Conv2dAlgorithms conv2d_algorithms(const Conv2dGeometry& g);

// Transposed convolution (PyTorch's conv_transpose2d), the adjoint of conv2d in its input:
//   x (n, ci, h, w), wt (ci, co / groups, kh, kw), b (co) or null, y (n, co, oh, ow).
// g is the geometry of the convolution that maps y-shaped planes to x-shaped ones: g.n = n, g.c = co,
// g.h = oh, g.w = ow, g.o = ci, g.oh = h, g.ow = w, and the transposed convolution's kernel, stride,
// padding (ph, pw above / left), dilation and groups. Then, with that convolution's gradients,
//   y = (input gradient of conv_g at dy = x) + b,   dx = conv_g(dy),
//   dwt = (weight gradient of conv_g with its input dy and its output gradient x),  db = sums of dy,
// so every path (direct kernel or lowering, threads, determinism) is conv2d's. oh may exceed what the
// windows reach (output_padding): those rows get only the bias.
template <class T>
void conv_transpose2d_forward(const T* x, const T* wt, const T* b, T* y, const Conv2dGeometry& g);

// Gradients of conv_transpose2d_forward given dy (like y): dx (like x), dwt (like wt), db (co); each may
// be null; outputs are overwritten and must not overlap the inputs or each other.
template <class T>
void conv_transpose2d_backward(const T* dy, const T* x, const T* wt, T* dx, T* dwt, T* db, const Conv2dGeometry& g);

}  // namespace eigengrad
