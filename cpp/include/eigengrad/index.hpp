// Indexing along one dim: gather, scatter (assign, add, multiply, max, min), index_select and index_add,
// PyTorch's semantics over C-contiguous arrays viewed as (outer, n, inner) with the indexed dim in the
// middle (the caller merges the dims before and after it).
//
// x / out (outer, n, inner) is the indexed array; index and src are (outer, m, inner) for gather/scatter,
// index is (m,) for index_select/index_add (src (outer, m, inner)). Indices must lie in [0, n): the caller
// checks them first with first_bad_index (an index outside would read or write out of bounds).
//
// Determinism: a scatter or index_add writes each output element from one thread, and the updates of
// an element are applied in the order of j (the position along the indexed dim of index/src). Threads
// split the work by (outer, block of inner) only, so the result has the same bits on any thread count.
// Repeated indices in an assigning scatter keep the last write in j order.
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

enum class ScatterOp { Assign, Add, Multiply, Max, Min };

// Position of the first index outside [lo, n) in idx[0 .. count), or -1. A compiled plan runs these checks at
// every replay (a max pool's backward: 800 K indices at the CNN example's first block), so each chunk is
// scanned without branches first.
// I: int64 or int32 (embeddings take both).
template <class I>
index_t first_bad_index(const I* idx, index_t count, index_t n, index_t lo = 0);

// out[o, j, i] = x[o, idx[o, j, i], i]. T is any type of its size (bits are copied).
template <class T>
void gather(const T* x, index_t outer, index_t n, index_t inner, const std::int64_t* idx, index_t m, T* out);

// out[o, j, i] = x[o, idx[j], i]. T is any type of its size.
template <class T>
void index_select(const T* x, index_t outer, index_t n, index_t inner, const std::int64_t* idx, index_t m, T* out);

// For j = 0 .. m-1 in order: out[o, idx[o, j, i], i] = op(out[...], src[o, j, i]). Assign copies bits (any
// T of its size); the arithmetic ops are instantiated for float, double, int64 and int32. Max/min let
// NaN win. Updates out in place.
template <class T>
void scatter(T* out, index_t outer, index_t n, index_t inner, const std::int64_t* idx, index_t m, const T* src,
             ScatterOp op);

// For j = 0 .. m-1 in order: out[o, idx[j], i] += alpha * src[o, j, i] (float, double, int64, int32). With
// alpha = 1 a plain sum; otherwise the multiply-add may be one FMA (the level's rounding, the same on any
// thread count).
template <class T>
void index_add(T* out, index_t outer, index_t n, index_t inner, const std::int64_t* idx, index_t m, const T* src,
               T alpha);

}  // namespace eigengrad
