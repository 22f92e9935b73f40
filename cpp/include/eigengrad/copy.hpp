// A strided array copied into a C-contiguous one: the copy behind Tensor.contiguous() and a reshape that
// cannot be a view (a permuted tensor's dims merged, PixelShuffle's interleave).
//
// NumPy copies such an array with its innermost output dimension as the inner loop, wherever that
// dimension sits in the source's memory: for a permutation that moves the source's contiguous dimension
// outward (a transpose, an interleave of a few channels), every element read is a cache line of its own,
// and the copy ran 20x slower than a plain one. Here the dimensions are first merged where the source is
// contiguous across them, then:
// - when the source is contiguous along the output's inner dimension, rows are copied whole;
// - else, when some other dimension is contiguous in the source, the copy walks tiles of that dimension
//   by the inner one (a blocked transpose: both sides of a tile stay in L1);
// - else (every source stride larger than an element: a strided slice) elementwise.
// The outer indices are split into chunks by size alone, so the work is cut the same way on any thread
// count (a copy is exact either way). Elements are moved as unsigned integers of their size: any dtype of
// 1, 2, 4 or 8 bytes.
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

constexpr int kCopyMaxDims = 64;

// dst (C-contiguous, the shape `shape` of `ndim` dims) = src, whose strides are in bytes (any sign; 0 for a
// broadcast dim). item is the element size in bytes: 1, 2, 4 or 8. The two must not overlap.
void strided_copy(const void* src, void* dst, int item, int ndim, const index_t* shape, const index_t* src_strides);

}  // namespace eigengrad
