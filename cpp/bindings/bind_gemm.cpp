#include "checks.hpp"
#include "eigengrad/gemm.hpp"

namespace eigengrad::bindings {
namespace {

template <class T>
void call_gemm(const py::array& a, const py::array& b, const py::object& bias, py::array& out, index_t m, index_t n,
               index_t k, bool trans_a, bool trans_b, bool accumulate) {
  const T* bias_ptr = bias.is_none() ? nullptr : cptr<T>(bias.cast<py::array>());
  const T* ap = cptr<T>(a);
  const T* bp = cptr<T>(b);
  T* cp = mptr<T>(out);
  py::gil_scoped_release release;
  gemm<T>(ap, bp, bias_ptr, cp, m, n, k, trans_a, trans_b, accumulate);
}

void gemm_binding(const py::array& a, const py::array& b, py::array out, const py::object& bias, bool trans_a,
                  bool trans_b, bool accumulate) {
  check_input(a, "a");
  check_ndim(a, "a", 2);
  check_input(b, "b");
  check_dtype_as(b, "b", a, "a");
  check_ndim(b, "b", 2);
  const index_t m = trans_a ? a.shape(1) : a.shape(0), k = trans_a ? a.shape(0) : a.shape(1);
  const index_t kb = trans_b ? b.shape(1) : b.shape(0), n = trans_b ? b.shape(0) : b.shape(1);
  if (k != kb)
    throw py::value_error("b: inner dimensions differ: op(a) is (" + std::to_string(m) + ", " + std::to_string(k) +
                          ") but op(b) is (" + std::to_string(kb) + ", " + std::to_string(n) + ")");
  check_output(out, "out");
  check_dtype_as(out, "out", a, "a");
  check_shape(out, "out", {m, n});
  const std::optional<py::array> bias_arr = optional_array(bias, "bias");
  if (bias_arr) {
    check_input(*bias_arr, "bias");
    check_dtype_as(*bias_arr, "bias", a, "a");
    check_shape(*bias_arr, "bias", {n});
  }
  check_overlaps({{&out, "out"}}, {{&a, "a"}, {&b, "b"}, {opt_addr(bias_arr), "bias"}});
  if (is_float32(a)) call_gemm<float>(a, b, bias, out, m, n, k, trans_a, trans_b, accumulate);
  else call_gemm<double>(a, b, bias, out, m, n, k, trans_a, trans_b, accumulate);
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def("gemm", &gemm_binding, py::arg("a"), py::arg("b"), py::arg("out"), py::arg("bias") = py::none(),
        py::arg("trans_a") = false, py::arg("trans_b") = false, py::arg("accumulate") = false,
        "out (m, n) = op(a) @ op(b) [+ bias (n,) on every row]; accumulate adds into out. "
        "a is (m, k) or (k, m) with trans_a; b is (k, n) or (n, k) with trans_b.");
}

}  // namespace eigengrad::bindings
