#include <Eigen/Core>

#include "checks.hpp"
#include "eigengrad/parallel.hpp"
#include "eigengrad/scratch.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace config_helpers {
namespace {

std::string simd_level() {
#if defined(__AVX512F__)
  return "AVX512F";
#elif defined(__AVX2__) && defined(__FMA__)
  return "AVX2+FMA";
#elif defined(__AVX2__)
  return "AVX2";
#elif defined(__AVX__)
  return "AVX";
#elif defined(__SSE4_2__)
  return "SSE4.2";
#elif defined(__SSE2__) || defined(_M_X64)
  return "SSE2";
#elif defined(__ARM_NEON)
  return "NEON";
#else
  return "none";
#endif
}

// A region's thread count, as the thread-policy test hooks take it.
void check_team(int team) {
  if (team < 0) throw py::value_error("team: expected a thread count >= 0, got " + std::to_string(team));
}

}  // namespace
}  // namespace config_helpers

void bind_config(py::module_& m) {
  using namespace config_helpers;
  m.attr("__version__") = EIGENGRAD_VERSION;
  py::dict info;
  info["version"] = EIGENGRAD_VERSION;
  info["eigen_version"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                          std::to_string(EIGEN_MINOR_VERSION);
  info["eigen_source"] = EIGENGRAD_EIGEN_SOURCE;
  info["eigen_simd"] = std::string(Eigen::SimdInstructionSetsInUse());
  info["openmp"] = has_openmp();
  info["simd"] = simd_level();
  info["isa"] = EIGENGRAD_ISA;  // the level this module was compiled for (cpp/cmake/isa.cmake)
  info["compiler"] = EIGENGRAD_COMPILER;
  info["dtypes"] = py::make_tuple("float32", "float64");
  m.attr("build_info") = info;
  m.def("get_num_threads", &num_threads, "Threads the next kernel may use.");
  m.def("set_num_threads", [](int n) {
    if (n < 0) throw py::value_error("n: expected a thread count >= 1 (or 0 for the default), got " + std::to_string(n));
    set_num_threads(n);
  }, py::arg("n"), "Sets the kernels' thread count; 0 returns to OpenMP's default.");
  m.def("recycle_scratch", [] {
    auto allocator = py::module_::import("eigengrad._memory").attr("scratch_allocator").cast<py::capsule>();
    if (allocator.name() == nullptr || std::string(allocator.name()) != "eigengrad.scratch_allocator")
      throw py::type_error("eigengrad._memory.scratch_allocator: expected its scratch_allocator capsule");
    scratch::set_allocator(allocator.get_pointer<scratch::Allocator>());
  }, "Takes the kernels' scratch buffers from eigengrad._memory's recycling cache (the package does, at import).");
  m.def("backing_off", &backing_off,
        "Whether the kernels run on one thread for now because parallel regions stalled on a busy machine.");
  m.def("backoff_count", &backoff_count,
        "How many times the kernels went to one thread because of stalls since the module was loaded.");
  m.def("report_region", &report_region, py::arg("region_seconds"), py::arg("mean_work_seconds"),
        py::arg("contended") = true,
        "What every parallel region reports to the thread policy (its length, its threads' mean work, whether "
        "another process wanted a core); exposed so that tests can drive the policy.");
  m.def("others_runnable", [](int team) {
    check_team(team);
    return others_runnable(team);
  }, py::arg("team"),
        "Whether more tasks are runnable on the machine than `team` (exposed for tests).");
  m.def("end_region", [](double region_seconds, double mean_work_seconds, int team) {
    check_team(team);
    if (!(region_seconds >= 0.0 && region_seconds <= 3600.0))  // also NaN: the duration cast below needs a range
      throw py::value_error("region_seconds: expected a number of seconds in [0, 3600], got " +
                            py::repr(py::float_(region_seconds)).cast<std::string>());
    const auto start = std::chrono::steady_clock::now() -
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(region_seconds));
    end_region(start, mean_work_seconds, team);
  }, py::arg("region_seconds"), py::arg("mean_work_seconds"), py::arg("team") = 0,
        "What parallel_for reports of a region of `team` threads that began region_seconds ago: judged as "
        "report_region does, contended when more tasks are runnable than `team` (the default 0: when any "
        "is), unless it began after an idle spell (exposed for tests).");
  m.def("requested_num_threads", &requested_num_threads,
        "The count set_num_threads() set, or 0 when the kernels follow OpenMP's default (to restore either).");
}

}  // namespace eigengrad::bindings
