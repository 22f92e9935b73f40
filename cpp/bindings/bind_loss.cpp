#include "checks.hpp"
#include "eigengrad/loss.hpp"

namespace eigengrad::bindings {
namespace {

void check_targets(const py::array& target, index_t n, index_t c, std::int64_t ignore_index) {
  check_int64(target, "target");
  check_shape(target, "target", {n});
  const std::int64_t* t = cptr<std::int64_t>(target);
  for (index_t i = 0; i < n; ++i) {
    if (t[i] != ignore_index && (t[i] < 0 || t[i] >= c))
      throw py::value_error("target: class index " + std::to_string(t[i]) + " at position " + std::to_string(i) +
                            " is out of range; expected 0 <= target < " + std::to_string(c) +
                            " or ignore_index (" + std::to_string(ignore_index) + ")");
  }
}

template <class T>
void ce_forward(const py::array& x, const py::array& t, py::array& loss, py::array& lse, std::int64_t ignore) {
  const T* xp = cptr<T>(x);
  const std::int64_t* tp = cptr<std::int64_t>(t);
  T *lp = mptr<T>(loss), *sp = mptr<T>(lse);
  const index_t n = x.shape(0), c = x.shape(1);
  py::gil_scoped_release release;
  softmax_cross_entropy_forward<T>(xp, tp, lp, sp, n, c, ignore);
}

void ce_forward_binding(const py::array& logits, const py::array& target, py::array loss, py::array lse,
                        std::int64_t ignore_index) {
  check_input(logits, "logits");
  check_ndim(logits, "logits", 2);
  const index_t n = logits.shape(0), c = logits.shape(1);
  if (c == 0 && n > 0) throw py::value_error("logits: expected at least one class, got shape " + shape_str(logits));
  check_targets(target, n, c, ignore_index);
  for (auto [arr, name] : {std::pair<py::array*, const char*>{&loss, "loss"}, {&lse, "lse"}}) {
    check_output(*arr, name);
    check_dtype_as(*arr, name, logits, "logits");
    check_shape(*arr, name, {n});
    check_no_overlap(*arr, name, logits, "logits");
  }
  check_no_overlap(loss, "loss", lse, "lse");
  if (is_float32(logits)) ce_forward<float>(logits, target, loss, lse, ignore_index);
  else ce_forward<double>(logits, target, loss, lse, ignore_index);
}

template <class T>
void ce_backward(const py::array& x, const py::array& t, const py::array& lse, const py::array& scale, py::array& gx,
                 std::int64_t ignore) {
  const T *xp = cptr<T>(x), *sp = cptr<T>(lse), *cp = cptr<T>(scale);
  const std::int64_t* tp = cptr<std::int64_t>(t);
  T* gp = mptr<T>(gx);
  const index_t n = x.shape(0), c = x.shape(1);
  py::gil_scoped_release release;
  softmax_cross_entropy_backward<T>(xp, tp, sp, cp, gp, n, c, ignore);
}

void ce_backward_binding(const py::array& logits, const py::array& target, const py::array& lse,
                         const py::array& scale, py::array grad_logits, std::int64_t ignore_index) {
  check_input(logits, "logits");
  check_ndim(logits, "logits", 2);
  const index_t n = logits.shape(0), c = logits.shape(1);
  check_targets(target, n, c, ignore_index);
  for (auto [arr, name] : {std::pair<const py::array*, const char*>{&lse, "lse"}, {&scale, "scale"}}) {
    check_input(*arr, name);
    check_dtype_as(*arr, name, logits, "logits");
    check_shape(*arr, name, {n});
  }
  check_output(grad_logits, "grad_logits");
  check_dtype_as(grad_logits, "grad_logits", logits, "logits");
  check_same_shape(grad_logits, "grad_logits", logits, "logits");
  check_no_overlap(grad_logits, "grad_logits", logits, "logits");
  if (is_float32(logits)) ce_backward<float>(logits, target, lse, scale, grad_logits, ignore_index);
  else ce_backward<double>(logits, target, lse, scale, grad_logits, ignore_index);
}

void check_pair(const py::array& x, const py::array& y) {
  check_input(x, "input");
  check_input(y, "target");
  check_dtype_as(y, "target", x, "input");
  check_same_shape(y, "target", x, "input");
}

double sse_binding(const py::array& x, const py::array& y) {
  check_pair(x, y);
  const index_t n = x.size();
  if (is_float32(x)) {
    const float *xp = cptr<float>(x), *yp = cptr<float>(y);
    py::gil_scoped_release release;
    return squared_error_sum<float>(xp, yp, n);
  }
  const double *xp = cptr<double>(x), *yp = cptr<double>(y);
  py::gil_scoped_release release;
  return squared_error_sum<double>(xp, yp, n);
}

void se_binding(const py::array& x, const py::array& y, py::array out) {
  check_pair(x, y);
  check_output(out, "out");
  check_dtype_as(out, "out", x, "input");
  check_same_shape(out, "out", x, "input");
  check_no_partial_overlap(out, "out", x, "input");
  check_no_partial_overlap(out, "out", y, "target");
  const index_t n = x.size();
  if (is_float32(x)) {
    const float *xp = cptr<float>(x), *yp = cptr<float>(y);
    float* op = mptr<float>(out);
    py::gil_scoped_release release;
    squared_error<float>(xp, yp, op, n);
  } else {
    const double *xp = cptr<double>(x), *yp = cptr<double>(y);
    double* op = mptr<double>(out);
    py::gil_scoped_release release;
    squared_error<double>(xp, yp, op, n);
  }
}

template <class T>
void se_backward(const py::array& x, const py::array& y, const py::object& gy, double coef, py::array& gx) {
  const T *xp = cptr<T>(x), *yp = cptr<T>(y);
  const T* gp = gy.is_none() ? nullptr : cptr<T>(gy.cast<py::array>());
  T* op = mptr<T>(gx);
  const index_t n = x.size();
  py::gil_scoped_release release;
  squared_error_backward<T>(xp, yp, gp, T(coef), op, n);
}

void se_backward_binding(const py::array& x, const py::array& y, const py::object& grad_out, double coef,
                         py::array grad_in) {
  check_pair(x, y);
  if (!grad_out.is_none()) {
    if (!py::isinstance<py::array>(grad_out)) throw py::type_error("grad_out: expected a numpy array or None");
    py::array g = grad_out.cast<py::array>();
    check_input(g, "grad_out");
    check_dtype_as(g, "grad_out", x, "input");
    check_same_shape(g, "grad_out", x, "input");
    check_no_partial_overlap(grad_in, "grad_in", g, "grad_out");
  }
  check_output(grad_in, "grad_in");
  check_dtype_as(grad_in, "grad_in", x, "input");
  check_same_shape(grad_in, "grad_in", x, "input");
  check_no_partial_overlap(grad_in, "grad_in", x, "input");
  check_no_partial_overlap(grad_in, "grad_in", y, "target");
  if (is_float32(x)) se_backward<float>(x, y, grad_out, coef, grad_in);
  else se_backward<double>(x, y, grad_out, coef, grad_in);
}

}  // namespace

void bind_loss(py::module_& m) {
  m.def("softmax_cross_entropy_forward", &ce_forward_binding, py::arg("logits"), py::arg("target"), py::arg("loss"),
        py::arg("lse"), py::arg("ignore_index") = -100,
        "Per-row loss[i] = logsumexp(logits[i]) - logits[i, target[i]] (0 where ignored) and lse[i].");
  m.def("softmax_cross_entropy_backward", &ce_backward_binding, py::arg("logits"), py::arg("target"), py::arg("lse"),
        py::arg("scale"), py::arg("grad_logits"), py::arg("ignore_index") = -100,
        "grad_logits[i] = scale[i] * (softmax(logits[i]) - onehot(target[i])), 0 for ignored rows.");
  m.def("squared_error_sum", &sse_binding, py::arg("input"), py::arg("target"),
        "sum((input - target)**2), accumulated in float64 with a fixed chunking.");
  m.def("squared_error", &se_binding, py::arg("input"), py::arg("target"), py::arg("out"),
        "out = (input - target)**2, elementwise.");
  m.def("squared_error_backward", &se_backward_binding, py::arg("input"), py::arg("target"), py::arg("grad_out"),
        py::arg("coef"), py::arg("grad_in"), "grad_in = coef * (input - target) [* grad_out].");
}

}  // namespace eigengrad::bindings
