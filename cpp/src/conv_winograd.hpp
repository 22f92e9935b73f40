// Winograd's minimal filtering F(2 x 2, 3 x 3) for 3 x 3 stride-1 convolutions (see conv_winograd.cpp).
// Internal to the kernel library; conv.cpp decides when to use it.
#pragma once
#include "eigengrad/conv.hpp"

namespace eigengrad::winograd {

// Whether F(2x2, 3x3) takes g and pays for it: a 3 x 3, stride-1, undilated convolution without groups,
// with enough channels on both sides for its 16 GEMMs.
template <class T>
bool applies(const Conv2dGeometry& g);

// y = conv(x, wt) + b (b may be null), as conv2d_forward. When applies(g).
template <class T>
void forward(const T* x, const T* wt, const T* b, T* y, const Conv2dGeometry& g);

// Whether input_grad takes g: the input gradient of a stride-1 convolution is the convolution of dy with the
// flipped weight, its channel axes swapped, so it is applies() of that convolution.
template <class T>
bool input_grad_applies(const Conv2dGeometry& g);

// dx of y = conv(x, wt) given dy, overwritten. When input_grad_applies(g).
template <class T>
void input_grad(const T* dy, const T* wt, T* dx, const Conv2dGeometry& g);

// dwt (like wt) of y = conv(x, wt) given dy, overwritten: dU = sum over tiles V^T dM, dwt = G^T dU G. When
// applies(g).
template <class T>
void weight_grad(const T* dy, const T* x, T* dwt, const Conv2dGeometry& g);

}  // namespace eigengrad::winograd
