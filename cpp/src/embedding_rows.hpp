// The deterministic scatter-add behind the embedding gradients (embedding.cpp, embedding_bag.cpp).
// Internal to the kernel library.
//
// Positions are bucketed by the row they add into with a stable counting sort; rows are then split
// between threads and each row is written once by one thread, its contributions added in increasing
// position. So the bits do not depend on the thread count, with no atomics and no per-thread copies of
// the gradient.
#pragma once
#include <algorithm>
#include <vector>

#include "eigengrad/parallel.hpp"

namespace eigengrad::embedding_rows {

// pos[start[r] .. start[r + 1]) are the kept positions j holding row r, in increasing j.
struct Buckets {
  std::vector<index_t> start, pos;
};

// Buckets of the positions j < n for which keep(j) holds (idx[j] in [0, num) for those).
template <class I, class Keep>
Buckets bucket(const I* idx, index_t n, index_t num, Keep&& keep) {
  Buckets b;
  b.start.assign(static_cast<std::size_t>(num + 1), 0);
  for (index_t j = 0; j < n; ++j)
    if (keep(j)) ++b.start[static_cast<std::size_t>(idx[j]) + 1];
  for (index_t r = 0; r < num; ++r) b.start[r + 1] += b.start[r];
  b.pos.resize(static_cast<std::size_t>(b.start[num]));
  for (index_t j = 0; j < n; ++j)  // start[r] walks to start[r + 1] ...
    if (keep(j)) b.pos[static_cast<std::size_t>(b.start[static_cast<std::size_t>(idx[j])]++)] = j;
  for (index_t r = num; r > 0; --r) b.start[r] = b.start[r - 1];  // ... and is moved back
  b.start[0] = 0;
  return b;
}

// Rows per parallel task: about kElementwiseGrain / 2 elements of the gradient.
inline index_t row_grain(index_t dim) { return std::max<index_t>(1, (kElementwiseGrain / 2) / std::max<index_t>(dim, 1)); }

// Writes every row r < num of dw (num, dim): zeros when no position holds r (runs of such rows filled at
// once), else row(r, positions, count, dw + r dim), which must overwrite the row.
template <class T, class Row>
void scatter(const Buckets& b, index_t num, index_t dim, T* dw, Row&& row) {
  parallel_for(num, row_grain(dim), [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1;) {
      index_t e = r;
      while (e < r1 && b.start[e] == b.start[e + 1]) ++e;
      std::fill(dw + r * dim, dw + e * dim, T(0));
      if (e < r1) row(e, b.pos.data() + b.start[e], b.start[e + 1] - b.start[e], dw + e * dim);
      r = e + 1;
    }
  });
}

}  // namespace eigengrad::embedding_rows
