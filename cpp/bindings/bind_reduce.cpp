// Bindings of the reductions along one axis: x (outer, n, inner) float, C-contiguous; out (outer, inner) of
// x's dtype, writeable, not overlapping x. Check, release the GIL, run one kernel.
#include <cmath>
#include <vector>

#include "checks.hpp"
#include "plan_capture.hpp"
#include "eigengrad/reduce.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace reduce_helpers {
namespace {

struct Geometry {
  index_t outer, n, inner;
};

Geometry check_reduction(const py::array& x, const py::array& out, const char* out_name) {
  check_input(x, "x");
  check_ndim(x, "x", 3);
  const Geometry g{index_t(x.shape(0)), index_t(x.shape(1)), index_t(x.shape(2))};
  check_like(out, out_name, x, "x", {g.outer, g.inner}, true);
  check_overlaps({{&out, out_name}}, {{&x, "x"}});
  return g;
}

void reduce_sum_binding(const py::array& x, py::array out, double scale) {
  const Geometry g = check_reduction(x, out, "out");
  if (is_float32(x)) {
    py::gil_scoped_release release;
    reduce_sum<float>(cptr<float>(x), g.outer, g.n, g.inner, scale, mptr<float>(out));
  } else {
    py::gil_scoped_release release;
    reduce_sum<double>(cptr<double>(x), g.outer, g.n, g.inner, scale, mptr<double>(out));
  }
}

void reduce_var_binding(const py::array& x, py::array out, const py::object& mean_out_, double correction,
                        bool take_sqrt) {
  const Geometry g = check_reduction(x, out, "out");
  auto mean_out = optional_array(mean_out_, "mean_out");
  if (mean_out) {
    check_like(*mean_out, "mean_out", x, "x", {g.outer, g.inner}, true);
    check_overlaps({{&out, "out"}, {&*mean_out, "mean_out"}}, {{&x, "x"}});
  }
  if (is_float32(x)) {
    float* mp = opt_mptr<float>(mean_out);
    py::gil_scoped_release release;
    reduce_var<float>(cptr<float>(x), g.outer, g.n, g.inner, correction, take_sqrt, mptr<float>(out), mp);
  } else {
    double* mp = opt_mptr<double>(mean_out);
    py::gil_scoped_release release;
    reduce_var<double>(cptr<double>(x), g.outer, g.n, g.inner, correction, take_sqrt, mptr<double>(out), mp);
  }
}

void reduce_norm_binding(const py::array& x, py::array out, double p) {
  const Geometry g = check_reduction(x, out, "out");
  if (std::isinf(p) && g.n == 0 && g.outer * g.inner > 0)
    throw py::value_error("x: the max/min norm (p = +-inf) of an empty axis is undefined (the reduced size is 0)");
  if (p != p) throw py::value_error("p: expected a number, got NaN");
  if (is_float32(x)) {
    py::gil_scoped_release release;
    reduce_norm<float>(cptr<float>(x), g.outer, g.n, g.inner, p, mptr<float>(out));
  } else {
    py::gil_scoped_release release;
    reduce_norm<double>(cptr<double>(x), g.outer, g.n, g.inner, p, mptr<double>(out));
  }
}

// x (n, ...) float, C-contiguous; out of shape x.shape[1:] and x's dtype.
void sum_rows_binding(const py::array& x, py::array out) {
  check_input(x, "x");
  if (x.ndim() < 1) throw py::value_error("x: expected an array of at least 1 dimension (rows first), got a 0-d array");
  std::vector<index_t> rest(x.shape() + 1, x.shape() + x.ndim());
  index_t m = 1;
  for (index_t d : rest) m *= d;
  check_like(out, "out", x, "x", rest, true);
  check_overlaps({{&out, "out"}}, {{&x, "x"}});
  const index_t n = index_t(x.shape(0));
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = cptr<T>(x);
    T* op = mptr<T>(out);
    launch([=] { sum_rows(xp, n, m, op); });
  });
}

}  // namespace
}  // namespace reduce_helpers

void bind_reduce(py::module_& m) {
  using namespace reduce_helpers;
  m.def("reduce_sum", &reduce_sum_binding, py::arg("x"), py::arg("out"), py::arg("scale"),
        "out[o, i] = scale * sum_j x[o, j, i] (x (outer, n, inner) float, out (outer, inner)); double accumulation "
        "with fixed chunking (thread-count independent).");
  m.def("reduce_var", &reduce_var_binding, py::arg("x"), py::arg("out"), py::arg("mean_out"), py::arg("correction"),
        py::arg("take_sqrt"),
        "out[o, i] = sum_j (x[o, j, i] - mean)^2 / (n - correction) (two-pass, in double); its square root with "
        "take_sqrt; mean_out (or None) receives the mean.");
  m.def("reduce_norm", &reduce_norm_binding, py::arg("x"), py::arg("out"), py::arg("p"),
        "out[o, i] = the p-norm of x[o, :, i] (p = 2, 1, inf, -inf, 0 or any other number), in double.");
  def_capturable(m, "sum_rows", &sum_rows_binding, py::arg("x"), py::arg("out"),
        "out = x.sum(axis=0) (x (n, ...) float, out x.shape[1:]): summed in x's dtype row after row, as NumPy "
        "does for m >= 2 columns (the bias gradient of Linear); thread-count independent.");
}

}  // namespace eigengrad::bindings
