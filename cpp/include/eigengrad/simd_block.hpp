// Alignment-independent evaluation helpers for kernels.
//
// Eigen evaluates an expression over an unaligned buffer by peeling the unaligned head (and the tail)
// into scalar code and the rest into SIMD packets. For exp, tanh or logistic the scalar and packet
// versions differ in the last bits, and a reduction's summation order follows the peel, so a result
// would depend on where the allocator put the array. These helpers make every element go through the
// same packet code, and sums run in a fixed order, so results depend only on the values and n.
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <cstring>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

// out[i] = f(in_block)[i] for i in [0, n): blocks of B elements are read (the last one padded with
// `pad`), evaluated by f into an aligned fixed-size block, and copied out. f maps a fixed-size Eigen
// array expression of B elements to an expression of B elements. out may equal in.
template <class T, int B, class F>
void map_blocks(const T* in, T* out, index_t n, F&& f, T pad = T(0)) {
  using Block = Eigen::Array<T, B, 1>;
  alignas(64) T result[B];
  alignas(64) T tail[B];
  Eigen::Map<Block, Eigen::Aligned64> dst(result);
  index_t i = 0;
  for (; i + B <= n; i += B) {
    dst = f(Eigen::Map<const Block>(in + i));
    std::memcpy(out + i, result, sizeof(result));
  }
  if (i < n) {
    std::fill(tail, tail + B, pad);
    std::memcpy(tail, in + i, std::size_t(n - i) * sizeof(T));
    dst = f(Eigen::Map<const Block, Eigen::Aligned64>(tail));
    std::memcpy(out + i, result, std::size_t(n - i) * sizeof(T));
  }
}

// The same for a function of two inputs of n elements each.
template <class T, int B, class F>
void map_blocks2(const T* u, const T* v, T* out, index_t n, F&& f) {
  using Block = Eigen::Array<T, B, 1>;
  alignas(64) T result[B];
  alignas(64) T tail_u[B];
  alignas(64) T tail_v[B];
  Eigen::Map<Block, Eigen::Aligned64> dst(result);
  index_t i = 0;
  for (; i + B <= n; i += B) {
    dst = f(Eigen::Map<const Block>(u + i), Eigen::Map<const Block>(v + i));
    std::memcpy(out + i, result, sizeof(result));
  }
  if (i < n) {
    std::fill(tail_u, tail_u + B, T(0));
    std::fill(tail_v, tail_v + B, T(0));
    std::memcpy(tail_u, u + i, std::size_t(n - i) * sizeof(T));
    std::memcpy(tail_v, v + i, std::size_t(n - i) * sizeof(T));
    dst = f(Eigen::Map<const Block, Eigen::Aligned64>(tail_u), Eigen::Map<const Block, Eigen::Aligned64>(tail_v));
    std::memcpy(out + i, result, std::size_t(n - i) * sizeof(T));
  }
}

// The 8 lanes of a fixed-order sum, added in their fixed order.
template <class Lanes>
double lane_total(const Lanes& lanes) {
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// sum_i term(i) for i in [0, n), accumulated in double over 8 lanes (element i goes to lane i % 8)
// that are added in a fixed order at the end: the order never depends on alignment.
template <class Term>
double fixed_order_sum(index_t n, Term&& term) {
  double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  index_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] += term(i + j);
  for (int j = 0; i < n; ++i, ++j) lanes[j] += term(i);
  return lane_total(lanes);
}

// fixed_order_sum of double(x[i]) over an array: the same additions in the same order, the 8 lanes held in
// SIMD registers (the callers that sum an array need no lambda). At a ConvTranspose2d's bias gradient (2% of
// its forward + backward, one read of the output gradient) perf showed the same share before and after:
// that sum waits for memory, not for the adds.
template <class T>
double fixed_order_sum(const T* x, index_t n) {
  using Lanes = Eigen::Array<double, 8, 1>;
  Lanes lanes = Lanes::Zero();
  index_t i = 0;
  for (; i + 8 <= n; i += 8) lanes += Eigen::Map<const Eigen::Array<T, 8, 1>>(x + i).template cast<double>();
  for (int j = 0; i < n; ++i, ++j) lanes[j] += double(x[i]);
  return lane_total(lanes);
}

}  // namespace eigengrad
