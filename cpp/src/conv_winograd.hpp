// Winograd's minimal filtering for stride-1 convolutions with 3 x 3 kernels (F(2x2, 3x3)) and 2 x 2 kernels
// (F(4x4, 2x2)), see conv_winograd.cpp, and for 4 x 4 stride-2 ones through their input's phases (see
// conv_winograd_phases.hpp). Internal to the kernel library; conv.cpp decides when to use it.
#pragma once
#include "eigengrad/conv.hpp"

namespace eigengrad::winograd {

// Whether Winograd takes g and pays for it: a 3 x 3 or 2 x 2 stride-1 (or a 4 x 4 stride-2), undilated
// convolution without groups, with enough channels on both sides for its GEMMs.
template <class T>
bool applies(const Conv2dGeometry& g);

// y = conv(x, wt) + b (b may be null), as conv2d_forward. When applies(g).
template <class T>
void forward(const T* x, const T* wt, const T* b, T* y, const Conv2dGeometry& g);

// Whether input_grad takes g: the input gradient of a stride-1 convolution is the convolution of dy with the
// flipped weight, its channel axes swapped, so it is applies() of that convolution.
template <class T>
bool input_grad_applies(const Conv2dGeometry& g);

// dx of y = conv(x, wt) given dy, overwritten, plus bias[ci] on every element of channel ci (bias may be null:
// a transposed convolution's forward adds its bias here, in the same pass). When input_grad_applies(g).
template <class T>
void input_grad(const T* dy, const T* wt, const T* bias, T* dx, const Conv2dGeometry& g);

// Whether weight_grad takes g: F(2x2, 3x3)'s shapes of applies(). (F(4x4, 2x2)'s weight gradient, whose
// GEMMs are as deep as a chunk's few tiles, measured no faster than the direct kernel's at the ConvTranspose2d
// benchmark's shape.)
template <class T>
bool weight_grad_applies(const Conv2dGeometry& g);

// dwt (like wt) of y = conv(x, wt) given dy, overwritten: dU = sum over tiles V^T dM, dwt = G^T dU G. When
// weight_grad_applies(g).
template <class T>
void weight_grad(const T* dy, const T* x, T* dwt, const Conv2dGeometry& g);

}  // namespace eigengrad::winograd
