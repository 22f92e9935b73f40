// Binding of the finiteness test (anomaly detection): check x (float, C-contiguous), release the GIL,
// run one scan.
#include "checks.hpp"
#include "eigengrad/finite.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace finite_helpers {
namespace {

bool all_finite(const py::array& x) {
  check_input(x, "x");
  const bool f32 = is_float32(x);
  const index_t n = index_t(x.size());
  py::gil_scoped_release release;
  return f32 ? eigengrad::all_finite(cptr<float>(x), n) : eigengrad::all_finite(cptr<double>(x), n);
}

}  // namespace
}  // namespace finite_helpers

void bind_finite(py::module_& m) {
  using namespace finite_helpers;
  m.def("all_finite", &all_finite, py::arg("x"),
        "True when every element of x (float32/float64, C-contiguous) is finite: no NaN, no +-inf.");
}

}  // namespace eigengrad::bindings
