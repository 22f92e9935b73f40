// Dropout kernels (Srivastava et al. 2014, inverted dropout; Klambauer et al. 2017, alpha dropout).
//
// The Bernoulli draw. Element i of a draw keeps (mask[i] = 1) iff
//     word(i) < threshold,   word(i) = 32-bit word (i % 4) of Philox4x32-10 block (offset + i / 4)
// under key seed, so keep has probability threshold / 2^32 and depends only on (seed, offset, i): the same
// mask on any number of threads. threshold = round((1 - p) 2^32), 0 <= threshold <= 2^32 (2^32 keeps all).
// One Philox block gives four elements; the Python side still advances its generator's offset by n per
// draw of n (blocks offset .. offset + n/4 are used, so consecutive draws never share a block).
//
// dropout_forward:          y[i] = x[i] * (mask[i] ? scale : 0)        writes y and mask (y may be x)
// alpha_dropout_forward:    y[i] = mask[i] ? a x[i] + b_keep : b_drop  writes y and mask (y may be x)
//                           (PyTorch's arithmetic: y = x (mask a) + b, b_keep = alpha a p,
//                            b_drop = alpha a p - alpha a; x * 0 keeps a NaN/inf of x as NaN)
// feature_dropout_forward:  one draw per row of a (rows, inner) array (a channel of Dropout2d):
//                           y[r, j] = x[r, j] * (mask[r] ? scale : 0)  writes y and mask (rows)
// masked_scale:             gx[r, j] = gy[r, j] * (mask[r] ? scale : 0), the backward of all three
//                           (inner = 1 for the elementwise ones; scale = a for alpha dropout); gx may be gy.
//
// eg.compile's fusion of ReLU then dropout (see batch_norm_relu_dropout_forward in norm.hpp), with a mask
// that keeps both decisions: bit 0 = kept by the draw, bit 1 = the ReLU's output > 0.
// relu_dropout_span:        over y[0, n) holding elements first .. first + n of the draw, in place, on the
//                           calling thread: r = max(y, 0) (relu_forward's max: NaN and -0 kept);
//                           y = r * (keep ? scale : 0); mask = keep | (r > 0) << 1
// relu_dropout_backward:    gx = (mask & 2) ? gy * ((mask & 1) ? scale : 0) : 0: masked_scale then
//                           relu_backward, the same bits in one pass; gx may be gy.
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

// mask[i] for i in [0, n) as described above.
void bernoulli_mask(std::uint8_t* mask, index_t n, std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold);

// mask[t] = the draw of element first + t, for t in [0, n), on the calling thread: for kernels that draw
// the mask of a tile inside their own parallel loop (attention's (b, h, i, j) elements).
void bernoulli_mask_span(std::uint8_t* mask, index_t first, index_t n, std::uint64_t seed, std::uint64_t offset,
                         std::uint64_t threshold);

template <class T>
void dropout_forward(const T* x, T* y, std::uint8_t* mask, index_t n, std::uint64_t seed, std::uint64_t offset,
                     std::uint64_t threshold, T scale);

template <class T>
void alpha_dropout_forward(const T* x, T* y, std::uint8_t* mask, index_t n, std::uint64_t seed, std::uint64_t offset,
                           std::uint64_t threshold, T a, T b_keep, T b_drop);

template <class T>
void feature_dropout_forward(const T* x, T* y, std::uint8_t* mask, index_t rows, index_t inner, std::uint64_t seed,
                             std::uint64_t offset, std::uint64_t threshold, T scale);

template <class T>
void relu_dropout_span(T* y, std::uint8_t* mask, index_t first, index_t n, std::uint64_t seed, std::uint64_t offset,
                       std::uint64_t threshold, T scale);

template <class T>
void relu_dropout_backward(const T* gy, const std::uint8_t* mask, T* gx, index_t n, T scale);

template <class T>
void masked_scale(const T* gy, const std::uint8_t* mask, T* gx, index_t rows, index_t inner, T scale);

}  // namespace eigengrad
