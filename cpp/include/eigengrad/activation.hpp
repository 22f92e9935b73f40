// Elementwise activations and their backward, over n contiguous elements.
//
// forward:  y[i] = f(x[i]).                 Reads x, writes y (y may be x: in place).
// backward: gx[i] = gy[i] * f'(x[i]), written with the saved output y, as PyTorch does:
//   relu    f'(x) = [y > 0]
//   sigmoid f'(x) = y (1 - y)
//   tanh    f'(x) = 1 - y^2
// Reads gy and y, writes gx (gx may be gy).
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

enum class Activation { relu, sigmoid, tanh };

template <class T>
void activation_forward(Activation kind, const T* x, T* y, index_t n);

template <class T>
void activation_backward(Activation kind, const T* gy, const T* y, T* gx, index_t n);

}  // namespace eigengrad
