#include "checks.hpp"
#include "eigengrad/random.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace random_helpers {
namespace {

void uniform_binding(py::array out, std::uint64_t seed, std::uint64_t offset, double low, double high) {
  check_output(out, "out");
  if (!(low <= high)) throw py::value_error("low/high: expected low <= high, got " + std::to_string(low) + ", " + std::to_string(high));
  const index_t n = out.size();
  if (is_float32(out)) {
    float* p = mptr<float>(out);
    py::gil_scoped_release release;
    uniform_fill<float>(p, n, seed, offset, low, high);
  } else {
    double* p = mptr<double>(out);
    py::gil_scoped_release release;
    uniform_fill<double>(p, n, seed, offset, low, high);
  }
}

void normal_binding(py::array out, std::uint64_t seed, std::uint64_t offset, double mean, double std) {
  check_output(out, "out");
  if (!(std >= 0.0)) throw py::value_error("std: expected std >= 0, got " + std::to_string(std));
  const index_t n = out.size();
  if (is_float32(out)) {
    float* p = mptr<float>(out);
    py::gil_scoped_release release;
    normal_fill<float>(p, n, seed, offset, mean, std);
  } else {
    double* p = mptr<double>(out);
    py::gil_scoped_release release;
    normal_fill<double>(p, n, seed, offset, mean, std);
  }
}

void randperm_binding(py::array out, std::uint64_t seed, std::uint64_t offset) {
  check_int64(out, "out");
  check_writeable(out, "out");
  check_ndim(out, "out", 1);
  std::int64_t* p = mptr<std::int64_t>(out);
  const index_t n = out.size();
  py::gil_scoped_release release;
  randperm(p, n, seed, offset);
}

}  // namespace
}  // namespace random_helpers

void bind_random(py::module_& m) {
  using namespace random_helpers;
  m.def("uniform_fill", &uniform_binding, py::arg("out"), py::arg("seed"), py::arg("offset"), py::arg("low") = 0.0,
        py::arg("high") = 1.0, "out[i] ~ U[low, high) from Philox block (offset + i) under key seed.");
  m.def("normal_fill", &normal_binding, py::arg("out"), py::arg("seed"), py::arg("offset"), py::arg("mean") = 0.0,
        py::arg("std") = 1.0, "out[i] ~ N(mean, std^2) by Box-Muller on Philox block (offset + i).");
  m.def("randperm", &randperm_binding, py::arg("out"), py::arg("seed"), py::arg("offset"),
        "out = a random permutation of 0..n-1 (Fisher-Yates on Philox blocks offset, offset + 1, ...).");
  m.def("philox4x32", [](std::uint64_t ctr_lo, std::uint64_t ctr_hi, std::uint64_t seed) {
    PhiloxBlock b = philox4x32(ctr_lo, ctr_hi, seed);
    return py::make_tuple(b[0], b[1], b[2], b[3]);
  }, py::arg("ctr_lo"), py::arg("ctr_hi"), py::arg("seed"), "The four 32-bit words of one Philox4x32-10 block.");
}

}  // namespace eigengrad::bindings
