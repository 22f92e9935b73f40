#include "eigengrad/parallel.hpp"

#include <atomic>

namespace eigengrad {
namespace {
// The user's choice from set_num_threads(); 0 means "OpenMP's default". This is a setting, not
// kernel state: kernels only read it.
std::atomic<int> requested_threads{0};
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

}  // namespace eigengrad
