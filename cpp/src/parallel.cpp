#include "eigengrad/parallel.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#if defined(EIGENGRAD_HAS_OPENMP) && !defined(_WIN32)
#include <pthread.h>
#endif

namespace eigengrad {
namespace {
// The user's choice from set_num_threads(); 0 means "OpenMP's default". This is a setting, not
// kernel state: kernels only read it.
std::atomic<int> requested_threads{0};

// A region stalled when it waited for its threads longer than it worked, and by at least this long: a fork
// and join of idle OpenMP workers costs microseconds; a worker preempted by another process costs a
// scheduler time slice (milliseconds).
constexpr double kStall = 200e-6;
constexpr double kFirstBackoff = 0.05, kMaxBackoff = 2.0;  // seconds on one thread after a stall

// A stall backs off only when another stall came less than this long before it. A busy core stalls a region
// in every scheduler period (a few milliseconds); a task that runs once for a moment (a daemon, a
// hypervisor's hiccup on a VM) stalls one region, and 50 ms on one thread would cost more than that stall.
// (On the 2-core Zen 4 VM, back-to-back GEMMs alone saw 0-3 such backoffs in 5 s.)
constexpr double kRepeat = 0.1;
std::atomic<double> last_stall{-1.0e9};

// A region that starts this long after the previous one ended is not judged: OpenMP's idle workers spin
// for well under a millisecond and then sleep, and waking a sleeping worker (in a VM: its idle vCPU) took
// 1-7 ms on the 2-core Zen 4 host, which is not a contested core. A busy machine shows in back-to-back
// regions (a training step's kernels), where the workers are still spinning.
constexpr double kIdle = 1e-3;
std::atomic<double> last_region_end{0.0};

// Backoff state, in steady_clock seconds: one thread until `until`; the next backoff lasts `next`.
std::atomic<double> backoff_until{0.0};
std::atomic<double> next_backoff{kFirstBackoff};
std::atomic<long long> backoffs{0};  // started since the module was loaded (show_config, bench/report.py)

// A forked child of a process that ran a parallel region runs its kernels on one thread: GNU OpenMP keeps its
// worker pool across the fork, without the threads, and the child's first region waited for them forever (a
// DataLoader worker, a multiprocessing pool, a test harness's fork). LLVM's libomp copes, one thread is
// safe with both.
std::atomic<bool> regions_ran{false};
std::atomic<bool> forked_after_regions{false};
#if defined(EIGENGRAD_HAS_OPENMP) && !defined(_WIN32)
const int fork_hook = pthread_atfork(nullptr, nullptr, [] {
  if (regions_ran.load(std::memory_order_relaxed)) forked_after_regions.store(true, std::memory_order_relaxed);
});
#endif

double seconds(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

double now() { return seconds(std::chrono::steady_clock::now()); }

// A launcher's OMP_NUM_THREADS is an explicit count, like set_num_threads().
bool env_sets_threads() {
  static const bool set = [] {
    const char* v = std::getenv("OMP_NUM_THREADS");
    return v != nullptr && *v != '\0';
  }();
  return set;
}

bool adaptive() { return requested_threads.load(std::memory_order_relaxed) == 0 && !env_sets_threads(); }
}  // namespace

int num_threads() {
#ifdef EIGENGRAD_HAS_OPENMP
  const int requested = requested_threads.load(std::memory_order_relaxed);
  return requested > 0 ? requested : omp_get_max_threads();
#else
  return 1;
#endif
}

void set_num_threads(int n) { requested_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

int requested_num_threads() { return requested_threads.load(std::memory_order_relaxed); }

bool has_openmp() {
#ifdef EIGENGRAD_HAS_OPENMP
  return true;
#else
  return false;
#endif
}

bool backing_off() { return adaptive() && now() < backoff_until.load(std::memory_order_relaxed); }

long long backoff_count() { return backoffs.load(std::memory_order_relaxed); }

int available_threads() {
  return backing_off() || forked_after_regions.load(std::memory_order_relaxed) ? 1 : num_threads();
}

bool stalled(double region_seconds, double mean_work_seconds) {
  const double waited = region_seconds - mean_work_seconds;
  return waited > kStall && waited > mean_work_seconds;
}

void report_region(double region_seconds, double mean_work_seconds, bool contended) {
  if (!adaptive()) return;
  if (stalled(region_seconds, mean_work_seconds) && contended) {
    const double t = now();
    if (t - last_stall.exchange(t, std::memory_order_relaxed) > kRepeat) return;  // a one-off, so far
    const double len = next_backoff.load(std::memory_order_relaxed);
    backoff_until.store(t + len, std::memory_order_relaxed);
    next_backoff.store(std::min(2 * len, kMaxBackoff), std::memory_order_relaxed);
    backoffs.fetch_add(1, std::memory_order_relaxed);
  } else {
    next_backoff.store(kFirstBackoff, std::memory_order_relaxed);
  }
}

void end_region(std::chrono::steady_clock::time_point start, double mean_work_seconds, int team) {
  regions_ran.store(true, std::memory_order_relaxed);
  const double begin = seconds(start), end = now();
  const double idle = begin - last_region_end.exchange(end, std::memory_order_relaxed);
  if (idle > kIdle || !adaptive()) return;
  // the runnable tasks are counted only for a region that stalled: a file read of some microseconds
  report_region(end - begin, mean_work_seconds,
                stalled(end - begin, mean_work_seconds) && others_runnable(team));
}

// A worker slow to wake and a worker waiting for a core that another process holds look alike in a region's
// times. On the 2-core Zen 4 VM, after an idle spell of 0.15 s the first training step took 12-14 ms instead
// of 2.7: the woken worker and the master shared one vCPU for a few milliseconds and preempted each other
// (involuntary context switches of both, nothing else running) until the scheduler moved one, and backing
// off then cost the next 50 ms their second core. A busy machine has another process's task runnable: more
// runnable tasks than the region's threads (the master reading the count, and the workers, which spin for
// a while after the region).
bool others_runnable(int team) {
#if defined(__linux__)
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return true;
  double l1 = 0, l5 = 0, l15 = 0;
  long running = 0, total = 0;
  const int got = std::fscanf(f, "%lf %lf %lf %ld/%ld", &l1, &l5, &l15, &running, &total);
  std::fclose(f);
  return got != 5 || running > team;
#else
  (void)team;
  return true;
#endif
}

}  // namespace eigengrad
