// Direct convolution: the GEMM's register tile reading the input in place (see conv_direct.cpp).
// Internal to the kernel library; conv.cpp decides when to use it.
#pragma once
#include "eigengrad/conv.hpp"

namespace eigengrad::direct {

// Whether the direct kernel is built (AVX2) and pays for this shape: enough output channels per group
// to fill most of a register tile's width.
template <class T>
bool applies(const Conv2dGeometry& g);

// y = conv(x, wt) + b (b may be null), as conv2d_forward.
template <class T>
void forward(const T* x, const T* wt, const T* b, T* y, const Conv2dGeometry& g);

// dwt (like wt) of y = conv(x, wt) given dy, overwritten. When applies(g).
template <class T>
void weight_grad(const T* dy, const T* x, T* dwt, const Conv2dGeometry& g);

// Whether input_grad takes g: applies() for the swapped channels, with the depth of one phase (the
// input gradient of a stride-s convolution is s_h s_w stride-1 convolutions, one per phase of dx).
template <class T>
bool input_grad_applies(const Conv2dGeometry& g);

// dx of y = conv(x, wt) given dy, overwritten.
template <class T>
void input_grad(const T* dy, const T* wt, T* dx, const Conv2dGeometry& g);

}  // namespace eigengrad::direct
