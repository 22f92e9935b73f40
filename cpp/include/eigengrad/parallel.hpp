// Threading for eigengrad's kernels.
//
// Work is cut into chunks whose size depends only on the problem size, never on the thread count; a
// reduction sums its per-chunk partials in chunk order. So a seeded run gives bitwise-identical
// results on 1 or N threads. The thread count is read each time a kernel runs, so OMP_NUM_THREADS
// set by a launcher, or eg.set_num_threads(), takes effect without rebuilding anything.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#ifdef EIGENGRAD_HAS_OPENMP
#include <omp.h>
#endif

namespace eigengrad {

using index_t = std::int64_t;

// Threads the next kernel may use: the value of set_num_threads() if one was set, else OpenMP's
// default (OMP_NUM_THREADS or the number of cores); 1 without OpenMP.
int num_threads();
// n >= 1 sets the count; n == 0 returns to OpenMP's default.
void set_num_threads(int n);
// The value set_num_threads() left: 0 when the count follows OpenMP's default.
int requested_num_threads();
bool has_openmp();

inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// Calls body(begin, end) for the chunks [0, grain), [grain, 2 grain), ... of [0, n), in parallel.
template <class Body>
void parallel_for(index_t n, index_t grain, Body&& body) {
  if (n <= 0) return;
  grain = std::max<index_t>(grain, 1);
  const index_t chunks = ceil_div(n, grain);
  const int threads = static_cast<int>(std::min<index_t>(num_threads(), chunks));
  if (threads <= 1) {
    for (index_t c = 0; c < chunks; ++c) body(c * grain, std::min(n, (c + 1) * grain));
    return;
  }
#ifdef EIGENGRAD_HAS_OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
  for (index_t c = 0; c < chunks; ++c) body(c * grain, std::min(n, (c + 1) * grain));
#endif
}

// Deterministic sum over [0, n): partial(begin, end) per fixed chunk, partials added in chunk order.
template <class Partial>
double parallel_sum(index_t n, index_t grain, Partial&& partial) {
  if (n <= 0) return 0.0;
  grain = std::max<index_t>(grain, 1);
  std::vector<double> parts(static_cast<std::size_t>(ceil_div(n, grain)), 0.0);
  parallel_for(n, grain, [&](index_t b, index_t e) { parts[static_cast<std::size_t>(b / grain)] = partial(b, e); });
  double total = 0.0;
  for (double p : parts) total += p;
  return total;
}

// Part `part` of `parts` near-equal runs of `units` units of `width` elements (a GEMM's panels, a
// convolution's tiles), as the element range [begin, end) clipped to size.
inline void split_units(index_t units, index_t parts, index_t part, index_t width, index_t size, index_t& begin,
                        index_t& end) {
  begin = std::min(size, (units * part / parts) * width);
  end = std::min(size, (units * (part + 1) / parts) * width);
}

// Chunk of elementwise work: large enough to amortise a thread wake-up, small enough to balance.
constexpr index_t kElementwiseGrain = index_t(1) << 15;

}  // namespace eigengrad
