// Bindings of the error-function kernels: check x and out (float, same shape and dtype, C-contiguous; out
// may be x), release the GIL, run the kernel.
#include "checks.hpp"
#include "eigengrad/erf.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace erf_helpers {
namespace {

void def_erf(py::module_& m, const char* name, ErfKind kind, const char* doc) {
  m.def(name, [kind](const py::array& x, py::array out) {
    check_elementwise_forward(x, out);
    const index_t n = x.size();
    run_in_out(x, out, [&](auto* xp, auto* yp) { erf_forward(kind, xp, yp, n); });
  }, py::arg("x"), py::arg("out"), doc);
}

}  // namespace
}  // namespace erf_helpers

void bind_erf(py::module_& m) {
  using namespace erf_helpers;
  def_erf(m, "erf", ErfKind::erf, "out = erf(x), elementwise (computed in double); out may be x");
  def_erf(m, "erfc", ErfKind::erfc, "out = 1 - erf(x), elementwise (computed in double); out may be x");
  def_erf(m, "erfinv", ErfKind::erfinv, "out = erf^-1(x), elementwise (NaN outside [-1, 1]); out may be x");
}

}  // namespace eigengrad::bindings
