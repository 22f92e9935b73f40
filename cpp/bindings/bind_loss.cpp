#include "checks.hpp"
#include "plan_capture.hpp"
#include "eigengrad/loss.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace loss_helpers {
namespace {

// --- softmax cross-entropy: the checks every variant shares ------------------------------------------

// logits: a float (n x c) input; the forward (and the fused call) also needs a class when rows exist.
std::pair<index_t, index_t> check_logits(const py::array& logits, bool forward) {
  check_input(logits, "logits");
  check_ndim(logits, "logits", 2);
  const index_t n = logits.shape(0), c = logits.shape(1);
  if (forward && c == 0 && n > 0)
    throw py::value_error("logits: expected at least one class, got shape " + shape_str(logits));
  return {n, c};
}

// The per-row arrays (loss and lse written by the forward; lse and scale read by the backward).
void check_rows(std::initializer_list<std::pair<const py::array*, const char*>> rows, const py::array& logits,
                index_t n, bool written) {
  for (auto [arr, name] : rows) {
    if (written) check_output(*arr, name);
    else check_input(*arr, name);
    check_dtype_as(*arr, name, logits, "logits");
    check_shape(*arr, name, {n});
  }
}

void check_grad_logits(const py::array& grad_logits, const py::array& logits) {
  check_output(grad_logits, "grad_logits");
  check_dtype_as(grad_logits, "grad_logits", logits, "logits");
  check_same_shape(grad_logits, "grad_logits", logits, "logits");
}

// --- plain softmax cross-entropy --------------------------------------------------------------------

template <class T>
void ce_forward(const py::array& x, const py::array& t, const TargetCheck& targets, py::array& loss, py::array& lse,
                std::int64_t ignore) {
  const T* xp = cptr<T>(x);
  const std::int64_t* tp = cptr<std::int64_t>(t);
  T *lp = mptr<T>(loss), *sp = mptr<T>(lse);
  const index_t n = x.shape(0), c = x.shape(1);
  launch([=] {
    targets();
    softmax_cross_entropy_forward<T>(xp, tp, lp, sp, n, c, ignore);
  });
}

void ce_forward_binding(const py::array& logits, const py::array& target, py::array loss, py::array lse,
                        std::int64_t ignore_index) {
  const auto [n, c] = check_logits(logits, true);
  const TargetCheck targets = check_targets(target, n, c, ignore_index);
  check_rows({{&loss, "loss"}, {&lse, "lse"}}, logits, n, true);
  check_overlaps({{&loss, "loss"}, {&lse, "lse"}}, {{&logits, "logits"}, {&target, "target"}});
  if (is_float32(logits)) ce_forward<float>(logits, target, targets, loss, lse, ignore_index);
  else ce_forward<double>(logits, target, targets, loss, lse, ignore_index);
}

template <class T>
void ce_backward(const py::array& x, const py::array& t, const TargetCheck& targets, const py::array& lse,
                 const py::array& scale, py::array& gx, std::int64_t ignore) {
  const T *xp = cptr<T>(x), *sp = cptr<T>(lse), *cp = cptr<T>(scale);
  const std::int64_t* tp = cptr<std::int64_t>(t);
  T* gp = mptr<T>(gx);
  const index_t n = x.shape(0), c = x.shape(1);
  launch([=] {
    targets();
    softmax_cross_entropy_backward<T>(xp, tp, sp, cp, gp, n, c, ignore);
  });
}

void ce_backward_binding(const py::array& logits, const py::array& target, const py::array& lse,
                         const py::array& scale, py::array grad_logits, std::int64_t ignore_index) {
  const auto [n, c] = check_logits(logits, false);
  const TargetCheck targets = check_targets(target, n, c, ignore_index);
  check_rows({{&lse, "lse"}, {&scale, "scale"}}, logits, n, false);
  check_grad_logits(grad_logits, logits);
  check_overlaps({{&grad_logits, "grad_logits"}},
                 {{&logits, "logits"}, {&target, "target"}, {&lse, "lse"}, {&scale, "scale"}});
  if (is_float32(logits)) ce_backward<float>(logits, target, targets, lse, scale, grad_logits, ignore_index);
  else ce_backward<double>(logits, target, targets, lse, scale, grad_logits, ignore_index);
}

template <class T>
void ce_forward_backward(const py::array& x, const py::array& t, const TargetCheck& targets, py::array& loss,
                         py::array& lse, const py::array& scale, py::array& gx, std::int64_t ignore) {
  const T *xp = cptr<T>(x), *cp = cptr<T>(scale);
  const std::int64_t* tp = cptr<std::int64_t>(t);
  T *lp = mptr<T>(loss), *sp = mptr<T>(lse), *gp = mptr<T>(gx);
  const index_t n = x.shape(0), c = x.shape(1);
  launch([=] {
    targets();
    softmax_cross_entropy_forward_backward<T>(xp, tp, lp, sp, cp, gp, n, c, ignore);
  });
}

void ce_forward_backward_binding(const py::array& logits, const py::array& target, py::array loss, py::array lse,
                                 const py::array& scale, py::array grad_logits, std::int64_t ignore_index) {
  const auto [n, c] = check_logits(logits, true);
  const TargetCheck targets = check_targets(target, n, c, ignore_index);
  check_rows({{&loss, "loss"}, {&lse, "lse"}}, logits, n, true);
  check_rows({{&scale, "scale"}}, logits, n, false);
  check_grad_logits(grad_logits, logits);
  check_overlaps({{&loss, "loss"}, {&lse, "lse"}, {&grad_logits, "grad_logits"}},
                 {{&logits, "logits"}, {&target, "target"}, {&scale, "scale"}});
  if (is_float32(logits))
    ce_forward_backward<float>(logits, target, targets, loss, lse, scale, grad_logits, ignore_index);
  else
    ce_forward_backward<double>(logits, target, targets, loss, lse, scale, grad_logits, ignore_index);
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
  check_overlaps({{&out, "out"}}, {{&x, "input"}, {&y, "target"}}, {{"out", "input"}, {"out", "target"}});
  const index_t n = x.size();
  if (is_float32(x)) {
    const float *xp = cptr<float>(x), *yp = cptr<float>(y);
    float* op = mptr<float>(out);
    launch([=] { squared_error<float>(xp, yp, op, n); });
  } else {
    const double *xp = cptr<double>(x), *yp = cptr<double>(y);
    double* op = mptr<double>(out);
    launch([=] { squared_error<double>(xp, yp, op, n); });
  }
}

// obj is None or a numpy array (the caller casts it).
void check_array_or_none(const py::object& obj, const char* name) {
  if (!obj.is_none() && !py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + ": expected a numpy array or None");
}

// An optional upstream gradient: None, or an array like `like`.
std::optional<py::array> check_optional_grad_out(const py::object& grad_out, const py::array& like) {
  std::optional<py::array> g = optional_array(grad_out, "grad_out");
  if (!g) return g;
  check_input(*g, "grad_out");
  check_dtype_as(*g, "grad_out", like, "input");
  check_same_shape(*g, "grad_out", like, "input");
  return g;
}

template <class T>
void se_backward(const py::array& x, const py::array& y, const py::object& gy, double coef, py::array& gx) {
  const T *xp = cptr<T>(x), *yp = cptr<T>(y);
  const T* gp = gy.is_none() ? nullptr : cptr<T>(gy.cast<py::array>());
  T* op = mptr<T>(gx);
  const index_t n = x.size();
  launch([=] { squared_error_backward<T>(xp, yp, gp, T(coef), op, n); });
}

void se_backward_binding(const py::array& x, const py::array& y, const py::object& grad_out, double coef,
                         py::array grad_in) {
  check_pair(x, y);
  const std::optional<py::array> g = check_optional_grad_out(grad_out, x);
  check_output(grad_in, "grad_in");
  check_dtype_as(grad_in, "grad_in", x, "input");
  check_same_shape(grad_in, "grad_in", x, "input");
  check_overlaps({{&grad_in, "grad_in"}}, {{&x, "input"}, {&y, "target"}, {opt_addr(g), "grad_out"}},
                 {{"grad_in", "input"}, {"grad_in", "target"}, {"grad_in", "grad_out"}});
  if (is_float32(x)) se_backward<float>(x, y, grad_out, coef, grad_in);
  else se_backward<double>(x, y, grad_out, coef, grad_in);
}

// --- cross-entropy with class weights / label smoothing -------------------------------------------

void check_weight(const py::object& weight, const py::array& logits, index_t c) {
  if (weight.is_none()) return;
  check_array_or_none(weight, "weight");
  py::array w = weight.cast<py::array>();
  check_input(w, "weight");
  check_dtype_as(w, "weight", logits, "logits");
  check_shape(w, "weight", {c});
}

void check_smoothing(double eps) {
  if (!(eps >= 0.0 && eps <= 1.0))
    throw py::value_error("label_smoothing: expected a value in [0, 1], got " + std::to_string(eps));
}

template <class T>
const T* optional_ptr(const py::object& obj) {
  return obj.is_none() ? nullptr : cptr<T>(obj.cast<py::array>());
}

template <class T>
void wce_forward(const py::array& x, const py::array& t, const TargetCheck& targets, const py::object& w, double eps,
                 py::array& loss, py::array& lse, std::int64_t ignore) {
  const T* xp = cptr<T>(x);
  const T* wp = optional_ptr<T>(w);
  const std::int64_t* tp = cptr<std::int64_t>(t);
  T *lp = mptr<T>(loss), *sp = mptr<T>(lse);
  const index_t n = x.shape(0), c = x.shape(1);
  launch([=] {
    targets();
    weighted_softmax_cross_entropy_forward<T>(xp, tp, wp, T(eps), lp, sp, n, c, ignore);
  });
}

void wce_forward_binding(const py::array& logits, const py::array& target, const py::object& weight,
                         double label_smoothing, py::array loss, py::array lse, std::int64_t ignore_index) {
  const auto [n, c] = check_logits(logits, true);
  const TargetCheck targets = check_targets(target, n, c, ignore_index);
  check_weight(weight, logits, c);
  check_smoothing(label_smoothing);
  check_rows({{&loss, "loss"}, {&lse, "lse"}}, logits, n, true);
  const std::optional<py::array> w = optional_array(weight, "weight");
  check_overlaps({{&loss, "loss"}, {&lse, "lse"}}, {{&logits, "logits"}, {&target, "target"}, {opt_addr(w), "weight"}});
  if (is_float32(logits)) wce_forward<float>(logits, target, targets, weight, label_smoothing, loss, lse, ignore_index);
  else wce_forward<double>(logits, target, targets, weight, label_smoothing, loss, lse, ignore_index);
}

template <class T>
void wce_backward(const py::array& x, const py::array& t, const TargetCheck& targets, const py::object& w,
                  double eps, const py::array& lse, const py::array& scale, py::array& gx, std::int64_t ignore) {
  const T *xp = cptr<T>(x), *sp = cptr<T>(lse), *cp = cptr<T>(scale);
  const T* wp = optional_ptr<T>(w);
  const std::int64_t* tp = cptr<std::int64_t>(t);
  T* gp = mptr<T>(gx);
  const index_t n = x.shape(0), c = x.shape(1);
  launch([=] {
    targets();
    weighted_softmax_cross_entropy_backward<T>(xp, tp, wp, T(eps), sp, cp, gp, n, c, ignore);
  });
}

void wce_backward_binding(const py::array& logits, const py::array& target, const py::object& weight,
                          double label_smoothing, const py::array& lse, const py::array& scale,
                          py::array grad_logits, std::int64_t ignore_index) {
  const auto [n, c] = check_logits(logits, false);
  const TargetCheck targets = check_targets(target, n, c, ignore_index);
  check_weight(weight, logits, c);
  check_smoothing(label_smoothing);
  check_rows({{&lse, "lse"}, {&scale, "scale"}}, logits, n, false);
  check_grad_logits(grad_logits, logits);
  const std::optional<py::array> w = optional_array(weight, "weight");
  check_overlaps({{&grad_logits, "grad_logits"}}, {{&logits, "logits"}, {&target, "target"}, {opt_addr(w), "weight"},
                                                   {&lse, "lse"}, {&scale, "scale"}});
  if (is_float32(logits))
    wce_backward<float>(logits, target, targets, weight, label_smoothing, lse, scale, grad_logits, ignore_index);
  else
    wce_backward<double>(logits, target, targets, weight, label_smoothing, lse, scale, grad_logits, ignore_index);
}

template <class T>
void wce_forward_backward(const py::array& x, const py::array& t, const TargetCheck& targets, const py::object& w,
                          double eps, py::array& loss, py::array& lse, const py::array& scale, py::array& gx,
                          std::int64_t ignore) {
  const T *xp = cptr<T>(x), *cp = cptr<T>(scale);
  const T* wp = optional_ptr<T>(w);
  const std::int64_t* tp = cptr<std::int64_t>(t);
  T *lp = mptr<T>(loss), *sp = mptr<T>(lse), *gp = mptr<T>(gx);
  const index_t n = x.shape(0), c = x.shape(1);
  launch([=] {
    targets();
    weighted_softmax_cross_entropy_forward_backward<T>(xp, tp, wp, T(eps), lp, sp, cp, gp, n, c, ignore);
  });
}

void wce_forward_backward_binding(const py::array& logits, const py::array& target, const py::object& weight,
                                  double label_smoothing, py::array loss, py::array lse, const py::array& scale,
                                  py::array grad_logits, std::int64_t ignore_index) {
  const auto [n, c] = check_logits(logits, true);
  const TargetCheck targets = check_targets(target, n, c, ignore_index);
  check_weight(weight, logits, c);
  check_smoothing(label_smoothing);
  check_rows({{&loss, "loss"}, {&lse, "lse"}}, logits, n, true);
  check_rows({{&scale, "scale"}}, logits, n, false);
  check_grad_logits(grad_logits, logits);
  const std::optional<py::array> w = optional_array(weight, "weight");
  check_overlaps({{&loss, "loss"}, {&lse, "lse"}, {&grad_logits, "grad_logits"}},
                 {{&logits, "logits"}, {&target, "target"}, {opt_addr(w), "weight"}, {&scale, "scale"}});
  if (is_float32(logits))
    wce_forward_backward<float>(logits, target, targets, weight, label_smoothing, loss, lse, scale, grad_logits,
                                ignore_index);
  else
    wce_forward_backward<double>(logits, target, targets, weight, label_smoothing, loss, lse, scale, grad_logits,
                                 ignore_index);
}

// --- binary cross-entropy with logits ---------------------------------------------------------------

// A weight broadcast over the trailing dimensions of input: its shape must equal input's last dims.
index_t check_trailing(const py::object& obj, const char* name, const py::array& x) {
  if (obj.is_none()) return 0;
  check_array_or_none(obj, name);
  py::array w = obj.cast<py::array>();
  check_input(w, name);
  check_dtype_as(w, name, x, "input");
  bool ok = w.ndim() <= x.ndim();
  for (py::ssize_t k = 1; ok && k <= w.ndim(); ++k) ok = w.shape(w.ndim() - k) == x.shape(x.ndim() - k);
  if (!ok)
    throw py::value_error(std::string(name) + ": expected a shape equal to the trailing dimensions of input " +
                          shape_str(x) + ", got " + shape_str(w));
  if (w.size() == 0 && x.size() > 0) throw py::value_error(std::string(name) + ": got an empty array");
  return std::max<index_t>(w.size(), 1);
}

template <class T>
double bcel_forward(const py::array& x, const py::array& y, const py::object& w, index_t wl, const py::object& pw,
                    index_t pwl, const py::object& out) {
  const T *xp = cptr<T>(x), *yp = cptr<T>(y), *wp = optional_ptr<T>(w), *pp = optional_ptr<T>(pw);
  T* op = nullptr;
  if (!out.is_none()) {
    py::array o = out.cast<py::array>();
    op = mptr<T>(o);
  }
  const index_t n = x.size();
  py::gil_scoped_release release;
  return bce_with_logits_forward<T>(xp, yp, wp, wl, pp, pwl, op, n);
}

double bcel_forward_binding(const py::array& input, const py::array& target, const py::object& weight,
                            const py::object& pos_weight, const py::object& loss) {
  check_pair(input, target);
  const index_t wl = check_trailing(weight, "weight", input), pwl = check_trailing(pos_weight, "pos_weight", input);
  const std::optional<py::array> o = optional_array(loss, "loss");
  if (o) {
    check_output(*o, "loss");
    check_dtype_as(*o, "loss", input, "input");
    check_same_shape(*o, "loss", input, "input");
  }
  const std::optional<py::array> w = optional_array(weight, "weight"), pw = optional_array(pos_weight, "pos_weight");
  check_overlaps({{opt_addr(o), "loss"}},
                 {{&input, "input"}, {&target, "target"}, {opt_addr(w), "weight"}, {opt_addr(pw), "pos_weight"}});
  if (is_float32(input)) return bcel_forward<float>(input, target, weight, wl, pos_weight, pwl, loss);
  return bcel_forward<double>(input, target, weight, wl, pos_weight, pwl, loss);
}

template <class T>
void bcel_backward(const py::array& x, const py::array& y, const py::object& w, index_t wl, const py::object& pw,
                   index_t pwl, const py::object& gy, double coef, py::array& gx) {
  const T *xp = cptr<T>(x), *yp = cptr<T>(y), *wp = optional_ptr<T>(w), *pp = optional_ptr<T>(pw);
  const T* gp = optional_ptr<T>(gy);
  T* op = mptr<T>(gx);
  const index_t n = x.size();
  launch([=] { bce_with_logits_backward<T>(xp, yp, wp, wl, pp, pwl, gp, T(coef), op, n); });
}

void bcel_backward_binding(const py::array& input, const py::array& target, const py::object& weight,
                           const py::object& pos_weight, const py::object& grad_out, double coef,
                           py::array grad_in) {
  check_pair(input, target);
  const index_t wl = check_trailing(weight, "weight", input), pwl = check_trailing(pos_weight, "pos_weight", input);
  const std::optional<py::array> g = check_optional_grad_out(grad_out, input);
  check_output(grad_in, "grad_in");
  check_dtype_as(grad_in, "grad_in", input, "input");
  check_same_shape(grad_in, "grad_in", input, "input");
  const std::optional<py::array> w = optional_array(weight, "weight"), pw = optional_array(pos_weight, "pos_weight");
  check_overlaps({{&grad_in, "grad_in"}}, {{&input, "input"}, {&target, "target"}, {opt_addr(w), "weight"},
                                           {opt_addr(pw), "pos_weight"}, {opt_addr(g), "grad_out"}});
  if (is_float32(input)) bcel_backward<float>(input, target, weight, wl, pos_weight, pwl, grad_out, coef, grad_in);
  else bcel_backward<double>(input, target, weight, wl, pos_weight, pwl, grad_out, coef, grad_in);
}

}  // namespace
}  // namespace loss_helpers

void bind_loss(py::module_& m) {
  using namespace loss_helpers;
  def_capturable(m, "softmax_cross_entropy_forward", &ce_forward_binding, py::arg("logits"), py::arg("target"),
        py::arg("loss"),
        py::arg("lse"), py::arg("ignore_index") = -100,
        "Per-row loss[i] = logsumexp(logits[i]) - logits[i, target[i]] (0 where ignored) and lse[i].");
  def_capturable(m, "softmax_cross_entropy_backward", &ce_backward_binding, py::arg("logits"), py::arg("target"),
        py::arg("lse"),
        py::arg("scale"), py::arg("grad_logits"), py::arg("ignore_index") = -100,
        "grad_logits[i] = scale[i] * (softmax(logits[i]) - onehot(target[i])), 0 for ignored rows.");
  def_capturable(m, "softmax_cross_entropy_forward_backward", &ce_forward_backward_binding, py::arg("logits"),
        py::arg("target"), py::arg("loss"), py::arg("lse"), py::arg("scale"), py::arg("grad_logits"),
        py::arg("ignore_index") = -100,
        "The forward and then the backward with the given scale, chunk by chunk of rows: the two calls' bits.");
  m.def("squared_error_sum", &sse_binding, py::arg("input"), py::arg("target"),
        "sum((input - target)**2), accumulated in float64 with a fixed chunking.");
  def_capturable(m, "squared_error", &se_binding, py::arg("input"), py::arg("target"), py::arg("out"),
        "out = (input - target)**2, elementwise.");
  def_capturable(m, "squared_error_backward", &se_backward_binding, py::arg("input"), py::arg("target"),
        py::arg("grad_out"),
        py::arg("coef"), py::arg("grad_in"), "grad_in = coef * (input - target) [* grad_out].");
  def_capturable(m, "weighted_softmax_cross_entropy_forward", &wce_forward_binding, py::arg("logits"),
        py::arg("target"),
        py::arg("weight"), py::arg("label_smoothing"), py::arg("loss"), py::arg("lse"), py::arg("ignore_index") = -100,
        "Per-row CrossEntropyLoss with class weights (or None) and label smoothing, and the row log-sum-exps.");
  def_capturable(m, "weighted_softmax_cross_entropy_backward", &wce_backward_binding, py::arg("logits"),
        py::arg("target"),
        py::arg("weight"), py::arg("label_smoothing"), py::arg("lse"), py::arg("scale"), py::arg("grad_logits"),
        py::arg("ignore_index") = -100, "Gradient of the per-row weighted / label-smoothed loss, times scale[i].");
  def_capturable(m, "weighted_softmax_cross_entropy_forward_backward", &wce_forward_backward_binding,
        py::arg("logits"), py::arg("target"), py::arg("weight"), py::arg("label_smoothing"), py::arg("loss"),
        py::arg("lse"), py::arg("scale"), py::arg("grad_logits"), py::arg("ignore_index") = -100,
        "The weighted forward and then its backward with the given scale, chunk by chunk: the two calls' bits.");
  m.def("bce_with_logits_forward", &bcel_forward_binding, py::arg("input"), py::arg("target"), py::arg("weight"),
        py::arg("pos_weight"), py::arg("loss"),
        "Elementwise stable BCE with logits into loss (or None); returns the sum in float64 (fixed chunking).");
  def_capturable(m, "bce_with_logits_backward", &bcel_backward_binding, py::arg("input"), py::arg("target"),
        py::arg("weight"),
        py::arg("pos_weight"), py::arg("grad_out"), py::arg("coef"), py::arg("grad_in"),
        "grad_in = coef * w * ((1 + (pw - 1) y) sigmoid(x) - pw y) [* grad_out].");
}

}  // namespace eigengrad::bindings
