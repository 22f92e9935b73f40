#include <vector>

#include "checks.hpp"
#include "plan_capture.hpp"
#include "eigengrad/gemm.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace gemm_helpers {
namespace {

template <class T>
void call_gemm(const py::array& a, const py::array& b, const py::object& bias, py::array& out, index_t m, index_t n,
               index_t k, bool trans_a, bool trans_b, bool accumulate) {
  const T* bias_ptr = bias.is_none() ? nullptr : cptr<T>(bias.cast<py::array>());
  const T* ap = cptr<T>(a);
  const T* bp = cptr<T>(b);
  T* cp = mptr<T>(out);
  launch([=] { gemm<T>(ap, bp, bias_ptr, cp, m, n, k, trans_a, trans_b, accumulate); });
}

// The product's sizes, checked (dtypes, shapes, the inner dimension, out, bias, overlaps); `extra` outputs
// (a fused kernel's mask) join the overlap rule.
struct Sizes {
  index_t m, n, k;
};

Sizes check_gemm(const py::array& a, const py::array& b, py::array& out, const py::object& bias, bool trans_a,
                 bool trans_b, const std::vector<Named>& extra = {}) {
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
  std::vector<Named> outputs{{&out, "out"}};
  outputs.insert(outputs.end(), extra.begin(), extra.end());
  check_overlaps(outputs, {{&a, "a"}, {&b, "b"}, {opt_addr(bias_arr), "bias"}});
  return {m, n, k};
}

void gemm_binding(const py::array& a, const py::array& b, py::array out, const py::object& bias, bool trans_a,
                  bool trans_b, bool accumulate) {
  const Sizes z = check_gemm(a, b, out, bias, trans_a, trans_b);
  if (is_float32(a)) call_gemm<float>(a, b, bias, out, z.m, z.n, z.k, trans_a, trans_b, accumulate);
  else call_gemm<double>(a, b, bias, out, z.m, z.n, z.k, trans_a, trans_b, accumulate);
}

template <class T>
void call_gemm_relu_dropout(const py::array& a, const py::array& b, const py::object& bias, py::array& out,
                            const Sizes& z, bool trans_a, bool trans_b, py::array& mask, std::uint64_t seed,
                            std::uint64_t offset, std::uint64_t threshold, double scale) {
  const T* bias_ptr = bias.is_none() ? nullptr : cptr<T>(bias.cast<py::array>());
  const T *ap = cptr<T>(a), *bp = cptr<T>(b);
  T* cp = mptr<T>(out);
  std::uint8_t* mp = mptr<std::uint8_t>(mask);
  const index_t m = z.m, n = z.n, k = z.k;
  launch_drawn(seed, offset, [=](std::uint64_t s0, std::uint64_t o0) {
    gemm_relu_dropout<T>(ap, bp, bias_ptr, cp, m, n, k, trans_a, trans_b, mp, s0, o0, threshold, T(scale));
  });
}

void gemm_relu_dropout_binding(const py::array& a, const py::array& b, py::array out, const py::object& bias,
                               bool trans_a, bool trans_b, py::array mask, std::uint64_t seed, std::uint64_t offset,
                               std::uint64_t threshold, double scale) {
  check_mask(mask, "mask", true);
  check_threshold(threshold);
  const Sizes z = check_gemm(a, b, out, bias, trans_a, trans_b, {{&mask, "mask"}});
  check_shape(mask, "mask", {z.m * z.n});
  if (is_float32(a)) call_gemm_relu_dropout<float>(a, b, bias, out, z, trans_a, trans_b, mask, seed, offset, threshold, scale);
  else call_gemm_relu_dropout<double>(a, b, bias, out, z, trans_a, trans_b, mask, seed, offset, threshold, scale);
}

}  // namespace
}  // namespace gemm_helpers

void bind_gemm(py::module_& m) {
  using namespace gemm_helpers;
  def_capturable(m, "gemm", &gemm_binding, py::arg("a"), py::arg("b"), py::arg("out"), py::arg("bias") = py::none(),
        py::arg("trans_a") = false, py::arg("trans_b") = false, py::arg("accumulate") = false,
        "out (m, n) = op(a) @ op(b) [+ bias (n,) on every row]; accumulate adds into out. "
        "a is (m, k) or (k, m) with trans_a; b is (k, n) or (n, k) with trans_b.");
  def_capturable(m, "gemm_relu_dropout", &gemm_relu_dropout_binding, py::arg("a"), py::arg("b"), py::arg("out"),
        py::arg("bias"),
        py::arg("trans_a"), py::arg("trans_b"), py::arg("mask"), py::arg("seed"), py::arg("offset"),
        py::arg("threshold"), py::arg("scale"),
        "eg.compile's fused Linear -> ReLU -> Dropout: out = relu(op(a) @ op(b) [+ bias]) * (keep ? scale : 0), "
        "mask (m * n,) = keep | (relu > 0) << 1 (dropout_forward's draw); the same bits as the three kernels.");
}

}  // namespace eigengrad::bindings
