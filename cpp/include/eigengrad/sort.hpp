// Sorting along one dim: sort (stable), argsort and topk, PyTorch's semantics, over a C-contiguous array
// viewed as (outer, n, inner) with the sorted dim in the middle.
//
// Order: NaN is larger than every number (last when ascending, first when descending, the largest for
// topk), as in PyTorch. Sorting is stable (equal values keep their order of index); topk orders equal
// values by index too, so every result is deterministic. Each (o, i) row is sorted by one thread, so the
// result does not depend on the thread count.
#pragma once
#include <cstdint>

#include "eigengrad/parallel.hpp"

namespace eigengrad {

// values (outer, n, inner) = x sorted along n (ascending, or descending), indices = the positions they
// came from. values may be null (argsort). Instantiated for float, double, int64, int32, int16, int8 and
// uint8 (bool).
template <class T>
void sort(const T* x, index_t outer, index_t n, index_t inner, bool descending, T* values, std::int64_t* indices);

// values, indices (outer, k, inner): the k largest (or smallest) of each row along n, in order (largest
// first, or smallest first), with their positions. 0 <= k <= n.
template <class T>
void topk(const T* x, index_t outer, index_t n, index_t inner, index_t k, bool largest, T* values,
          std::int64_t* indices);

}  // namespace eigengrad
