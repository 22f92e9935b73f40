// Reductions along one axis: sum, mean, variance/standard deviation and vector norms of a C-contiguous
// array viewed as (outer, n, inner), reduced over n: out[o, i] from x[o, 0 .. n, i] (the caller moves
// the reduced dims together and merges them; a full reduction is outer = inner = 1).
//
// Determinism and accuracy. Every value is accumulated in double. Along n, the axis is cut into chunks
// of a length that depends only on (n, inner) (kReduceGrain elements per chunk); a chunk's partial is
// summed over 8 lanes by position when inner == 1 (a contiguous row), or straight down the column when
// inner > 1 (vectorised across the columns), and the partials of a column are added in chunk order. So
// a result depends only on the values and the shape: not on the number of threads (threads take whole
// chunks), not on memory alignment. Variance is two-pass (the mean, then the sum of squared deviations
// from it), so it keeps its digits when |mean| >> std.
#pragma once
#include "eigengrad/parallel.hpp"

namespace eigengrad {

constexpr index_t kReduceGrain = kElementwiseGrain;

// out[o, i] = T(scale * sum_j x[o, j, i]) (mean: scale = 1 / n). Reads x, writes out (outer * inner).
template <class T>
void reduce_sum(const T* x, index_t outer, index_t n, index_t inner, double scale, T* out);

// out[o, i] = T(ss / (n - correction)) with ss = sum_j (x[o, j, i] - mean)^2 (n - correction <= 0 divides by
// 0, as PyTorch: inf or NaN); take_sqrt gives the standard deviation. mean_out, when not null, receives
// T(mean). Reads x, writes out (and mean_out).
template <class T>
void reduce_var(const T* x, index_t outer, index_t n, index_t inner, double correction, bool take_sqrt, T* out,
                T* mean_out);

// out[o, i] = the p-norm of x[o, :, i]: p = 2: sqrt(sum x^2); p = 1: sum |x|; p = inf: max |x|; p = -inf:
// min |x|; p = 0: the number of nonzero values; other p: (sum |x|^p)^(1/p). NaN propagates (p = 0 counts
// NaN as nonzero). n must be > 0 for p = +-inf (the caller refuses an empty max/min). Reads x, writes out.
template <class T>
void reduce_norm(const T* x, index_t outer, index_t n, index_t inner, double p, T* out);

// out[j] = sum_i x[i, j] over the n rows of x (n x m): the bias gradient of Linear. Accumulated in T, row
// after row from out = x[0] (the order of NumPy's sum over the leading axis of a C-contiguous array with
// m >= 2, so eager results did not change when this replaced it); n = 0 gives zeros. Threads take whole
// column blocks, so the bits do not depend on their number. Reads x, writes out (m).
template <class T>
void sum_rows(const T* x, index_t n, index_t m, T* out);

}  // namespace eigengrad
