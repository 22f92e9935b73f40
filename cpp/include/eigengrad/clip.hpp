// Gradient clipping over a list of gradient arrays viewed as one vector (Pascanu et al. 2013, "On the
// difficulty of training recurrent neural networks": rescale the whole gradient when its norm is large).
//
// The gradients are `count` arrays ("segments"): segment s is data[s][0 .. sizes[s]). Together they are
// the vector v = concat(segment 0, segment 1, ...) of N = sum(sizes) elements. The reductions cut v (not
// the segments) into fixed chunks of kElementwiseGrain elements and sum within a chunk over 8 lanes by
// v-index % 8, so a norm depends only on the values of v and their order: not on the thread count, not
// on memory alignment, and not on how v is split into segments (one flat buffer or its views give the
// same bits). Sums are accumulated in double.
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

// The p-norm of v, computed in double:
//   p = 2: sqrt(sum v_i^2)        p = 1: sum |v_i|         other finite p != 0: (sum |v_i|^p)^(1/p)
//   p = inf: max |v_i| (0 when N = 0)   p = -inf: min |v_i| (+inf when N = 0)
//   p = 0: the number of nonzero v_i (NaN counts as nonzero).
// NaN anywhere gives NaN (except p = 0). Reads the segments only.
template <class T>
double grad_norm(const T* const* data, const index_t* sizes, index_t count, double norm_type);

// Computes n = grad_norm(...) and, unless n is non-finite and scale_if_nonfinite is false, multiplies
// every element of v in place by c = min(T(max_norm) / (T(n) + T(1e-6)), 1), computed in T as PyTorch's
// clip_grad_norm_ does (a NaN coefficient stays NaN); when c == 1 the scaling pass is skipped (x * 1 == x).
// Returns n. Reads and writes the segments.
template <class T>
double clip_grad_norm(T* const* data, const index_t* sizes, index_t count, double max_norm, double norm_type,
                      bool scale_if_nonfinite);

// v_i *= coef for every element, in place.
template <class T>
void scale_segments(T* const* data, const index_t* sizes, index_t count, T coef);

// v_i = min(max(v_i, -clip_value), clip_value) in place; NaN stays NaN (as torch.clamp).
template <class T>
void clip_grad_value(T* const* data, const index_t* sizes, index_t count, T clip_value);

}  // namespace eigengrad
