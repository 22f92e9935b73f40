// Fused optimizer update rules: one pass over a flat parameter buffer per call.
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

struct SgdOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool maximize = false;
  bool first_step = true;  // the momentum buffer is initialised to the gradient, as PyTorch does
};

// SGD with momentum (PyTorch's semantics), over n elements:
//   g = (maximize ? -grad : grad) + weight_decay * p
//   if momentum != 0: buf = first_step ? g : momentum * buf + (1 - dampening) * g
//                     g   = nesterov ? g + momentum * buf : buf
//   p -= lr * g
// Reads grad; updates param and, when momentum != 0, momentum_buffer (n) in place.
template <class T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, index_t n, const SgdOptions& opt);

}  // namespace eigengrad
