// Threading for eigengrad's kernels.
//
// Work is cut into chunks whose size depends only on the problem size, never on the thread count; a
// reduction sums its per-chunk partials in chunk order. So a seeded run gives bitwise-identical
// results on 1 or N threads, and parallel_for may choose the thread count of each region freely. The
// thread count is read each time a kernel runs, so OMP_NUM_THREADS set by a launcher, or
// eg.set_num_threads(), takes effect without rebuilding anything.
//
// A busy machine. Every parallel region ends when its slowest thread does; when another process holds
// one of the cores, a worker thread waits for the scheduler (milliseconds) and the region takes that long,
// however small its work. So each region is timed: when it spent more time waiting for its threads than
// working (by at least 200 us) while more tasks were runnable than its threads, and another region had
// stalled less than 100 ms before (one stall alone is a task that ran for a moment), the kernels run on
// one thread for a while (50 ms, doubling up to 2 s while the stalls go on), then try again. A region that
// starts after an idle spell is not judged (its workers were asleep; see parallel.cpp), and a slow region
// with nothing else runnable is a worker slow to wake or placed beside its master, not a contested core.
// Only the default thread count adapts: a count set with set_num_threads() or OMP_NUM_THREADS is used as it
// is. Nothing of OpenMP's global state is changed.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#ifdef EIGENGRAD_HAS_OPENMP
#include <omp.h>
#endif

namespace eigengrad {

using index_t = std::int64_t;

// Threads the kernels are configured to use: the value of set_num_threads() if one was set, else
// OpenMP's default (OMP_NUM_THREADS or the number of cores); 1 without OpenMP.
int num_threads();
// n >= 1 sets the count; n == 0 returns to OpenMP's default.
void set_num_threads(int n);
// The value set_num_threads() left: 0 when the count follows OpenMP's default.
int requested_num_threads();
bool has_openmp();

// Threads the next region may use: num_threads(), or 1 while the default count is backing off after
// regions that stalled on a busy machine (see the top of this file).
int available_threads();
// Reports one parallel region: its length, the mean time its threads spent working, and whether another
// process wanted a core meanwhile (see parallel.cpp; the tests pass it).
void report_region(double region_seconds, double mean_work_seconds, bool contended = true);
// parallel_for's report of the region of `team` threads that began at `start`: judged by report_region
// unless it came after an idle spell, when the workers slept (see parallel.cpp).
void end_region(std::chrono::steady_clock::time_point start, double mean_work_seconds, int team);
// Whether more tasks are runnable on the machine than the `team` threads of eigengrad's region (Linux:
// /proc/loadavg's count of running tasks; elsewhere always true, so that every stall counts).
bool others_runnable(int team);
// Whether the kernels are on one thread because of stalls now (for tests and show_config).
bool backing_off();
// How many backoffs have started since the module was loaded (diagnostics: show_config, bench/report.py).
long long backoff_count();

inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// How parallel_for hands its chunks to the threads. Which thread runs a chunk never changes its result (see
// the top of this file), only where its data is cached and how the threads share the work.
enum class Schedule {
  // One contiguous run of chunks per thread, thread t's run first, in order; a thread that finishes its run
  // then takes the chunks not yet started in the others' runs, one at a time. Consecutive kernels over the
  // same rows (a GEMM and its epilogue, an activation and its backward, a layer repeated every step) then
  // find them in the cache of the core that last touched them. Against chunks handed out one at a time, on
  // the 2-core Zen 5 VM: the classifier layer's 1024 x 256 x 10 product 24 us instead of 50 (42 on one
  // thread), the compiled MLP step of issue 19 4% faster at batch 1024.
  kRuns,
  // Each thread takes the next chunk not yet taken whenever it is free (as schedule(dynamic) does). The
  // optimizers' steps over the flat parameter buffer use it: the eager training steps at batch 32 (SGD and
  // AdamW after backward) were 5% slower with runs per thread, for a reason not pinned down (their data
  // comes from the backward's GEMMs, which share C by a grid of their own).
  kShared,
};

// parallel_for's cursor into one thread's run of chunks, alone on its cache line (the threads advance theirs
// at once).
struct alignas(64) RunCursor {
  std::atomic<index_t> chunk{0};
};

// Calls body(begin, end) for the chunks [0, grain), [grain, 2 grain), ... of [0, n), in parallel, shared
// among the threads as `schedule` says. Either way a thread that is free takes work still waiting: on a VM
// whose second vCPU runs at half speed for a while (its physical core shared), or beside another process,
// the faster thread takes more chunks instead of waiting for the slower one's share.
template <class Body>
void parallel_for(index_t n, index_t grain, Body&& body, Schedule schedule = Schedule::kRuns) {
  if (n <= 0) return;
  grain = std::max<index_t>(grain, 1);
  const index_t chunks = ceil_div(n, grain);
  int threads = static_cast<int>(std::min<index_t>(available_threads(), chunks));
#ifdef EIGENGRAD_HAS_OPENMP
  if (omp_in_parallel()) threads = 1;  // inside another kernel's region (a convolution's slot): its thread
#endif
  if (threads <= 1) {
    for (index_t c = 0; c < chunks; ++c) body(c * grain, std::min(n, (c + 1) * grain));
    return;
  }
#ifdef EIGENGRAD_HAS_OPENMP
  const auto start = std::chrono::steady_clock::now();
  double work = 0.0;
  int team = 1;
  // kRuns: run r is chunks [chunks * r / runs, chunks * (r + 1) / runs); cursor[r] is its next chunk not
  // taken. kShared: one run of all the chunks.
  const int runs = schedule == Schedule::kRuns ? threads : 1;
  std::unique_ptr<RunCursor[]> cursor(new RunCursor[static_cast<std::size_t>(runs)]);
  for (int r = 0; r < runs; ++r) cursor[r].chunk.store(chunks * r / runs, std::memory_order_relaxed);
#pragma omp parallel num_threads(threads) reduction(+ : work)
  {
    const auto t0 = std::chrono::steady_clock::now();
    const int me = omp_get_thread_num();
    for (int i = 0; i < runs; ++i) {  // its own run, then the others' (a smaller team than asked: theirs too)
      const int r = (me + i) % runs;
      const index_t end = chunks * (r + 1) / runs;
      for (index_t c = cursor[r].chunk.fetch_add(1, std::memory_order_relaxed); c < end;
           c = cursor[r].chunk.fetch_add(1, std::memory_order_relaxed))
        body(c * grain, std::min(n, (c + 1) * grain));
    }
    work += seconds_since(t0);
    if (me == 0) team = omp_get_num_threads();
  }
  end_region(start, work / team, team);
#else
  (void)schedule;
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
