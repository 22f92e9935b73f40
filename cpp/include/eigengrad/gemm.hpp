// General matrix multiply, the Linear layer's forward and both of its backward products.
//
// Buffers are row-major. C (m x n) = op(A) (m x k) . op(B) (k x n) [+ bias (n), added to every row]
//   A is stored (m x k), or (k x m) when trans_a; B is stored (k x n), or (n x k) when trans_b.
// accumulate = false overwrites C; accumulate = true adds the product (and bias) to C.
// Reads a, b, bias; writes c, which must not overlap a, b or bias.
//
// An epilogue runs on each finished rectangle of C (rows [r0, r1), columns [c0, c1) of the m x n product)
// right after its last k-block is stored, on the thread that computed it, while the rectangle is in cache.
// Epilogues are elementwise, so the results do not depend on how the threads share C.
//
// eg.compile's fused Linear -> ReLU -> Dropout (a plan rewrite; the same bits as gemm, relu_forward and
// dropout_forward in turn):
//   gemm_relu_dropout:  C = relu(op(A) op(B) + bias) * (keep ? scale : 0) (relu_forward's max: NaN and -0 kept),
//                       mask (m * n bytes) = keep | (relu(...) > 0) << 1, with the draw of element i * n + j as
//                       dropout_forward's (see dropout.hpp)
#pragma once
#include <cstdint>
#include <functional>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

using GemmEpilogue = std::function<void(index_t r0, index_t r1, index_t c0, index_t c1)>;

template <class T>
void gemm(const T* a, const T* b, const T* bias, T* c, index_t m, index_t n, index_t k, bool trans_a,
          bool trans_b, bool accumulate);

template <class T>
void gemm(const T* a, const T* b, const T* bias, T* c, index_t m, index_t n, index_t k, bool trans_a,
          bool trans_b, bool accumulate, const GemmEpilogue& epilogue);

template <class T>
void gemm_relu_dropout(const T* a, const T* b, const T* bias, T* c, index_t m, index_t n, index_t k, bool trans_a,
                       bool trans_b, std::uint8_t* mask, std::uint64_t seed, std::uint64_t offset,
                       std::uint64_t threshold, T scale);

}  // namespace eigengrad
