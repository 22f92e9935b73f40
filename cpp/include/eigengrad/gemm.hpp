// General matrix multiply, the Linear layer's forward and both of its backward products.
//
// Buffers are row-major. C (m x n) = op(A) (m x k) . op(B) (k x n) [+ bias (n), added to every row]
//   A is stored (m x k), or (k x m) when trans_a; B is stored (k x n), or (n x k) when trans_b.
// accumulate = false overwrites C; accumulate = true adds the product (and bias) to C.
// Reads a, b, bias; writes c, which must not overlap a, b or bias.
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

template <class T>
void gemm(const T* a, const T* b, const T* bias, T* c, index_t m, index_t n, index_t k, bool trans_a,
          bool trans_b, bool accumulate);

}  // namespace eigengrad
