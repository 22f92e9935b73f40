// Normalisation kernels: batch norm, layer norm, group norm, local response norm.
// Inputs arrive already reshaped by eigengrad._kernels: batch, group and local response norm take
// x of shape (n, c, s), layer norm x of shape (m, d). Optional arrays are None.
#include <optional>
#include <string>
#include <vector>

#include "checks.hpp"
#include "geometry.hpp"
#include "plan_capture.hpp"
#include "eigengrad/norm.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace norm_helpers {
namespace {

// A float input of x's dtype and the given shape.
void check_param(const py::array& a, const char* name, const py::array& x, const std::vector<index_t>& shape) {
  check_like(a, name, x, "input", shape);
}

// A float64 array of the given shape (statistics).
void check_stats(const py::array& a, const char* name, const std::vector<index_t>& shape, bool out) {
  if (!a.dtype().equal(py::dtype::of<double>()))
    throw py::type_error(std::string(name) + ": expected a float64 array, got dtype " + dtype_str(a));
  check_contiguous(a, name);
  if (out) check_writeable(a, name);
  check_shape(a, name, shape);
}

// An output of like's dtype and shape.
void check_out(const py::array& out, const char* name, const py::array& like, const char* like_name) {
  check_output(out, name);
  check_dtype_as(out, name, like, like_name);
  check_same_shape(out, name, like, like_name);
}

// --- batch norm ------------------------------------------------------------------------------------

template <class T>
void bn_forward(const py::array& x, const std::optional<py::array>& w, const std::optional<py::array>& b,
                std::optional<py::array>& rm, std::optional<py::array>& rv, py::array& y, py::array& sm, py::array& si,
                bool training, double momentum, double eps) {
  const T *xp = cptr<T>(x), *wp = opt_cptr<T>(w), *bp = opt_cptr<T>(b);
  T* yp = mptr<T>(y);
  double *smp = mptr<double>(sm), *sip = mptr<double>(si);
  const index_t n = x.shape(0), c = x.shape(1), s = x.shape(2);
  if (training) {
    T *rmp = opt_mptr<T>(rm), *rvp = opt_mptr<T>(rv);  // updated in place: checked writeable
    launch([=] { batch_norm_forward_train<T>(xp, wp, bp, yp, smp, sip, rmp, rvp, momentum, eps, n, c, s); });
  } else {
    const T *rmp = opt_cptr<T>(rm), *rvp = opt_cptr<T>(rv);  // only read: may be read-only
    launch([=] { batch_norm_forward_eval<T>(xp, wp, bp, rmp, rvp, yp, smp, sip, eps, n, c, s); });
  }
}

// The arrays of a batch norm forward, checked (check_bn_forward).
struct BnForwardArgs {
  std::optional<py::array> w, b, rm, rv;
};

// The checks of a batch norm forward; `extra` outputs (the fused kernel's mask) join the overlap rule.
BnForwardArgs check_bn_forward(const py::array& x, const py::object& weight, const py::object& bias,
                               const py::object& running_mean, const py::object& running_var, py::array* y,
                               py::array& save_mean, py::array& save_invstd, bool training,
                               const std::vector<Named>& extra = {}) {
  check_input(x, "input");
  check_ndim(x, "input", 3);
  const index_t n = x.shape(0), c = x.shape(1), s = x.shape(2);
  auto w = optional_array(weight, "weight"), b = optional_array(bias, "bias");
  auto rm = optional_array(running_mean, "running_mean"), rv = optional_array(running_var, "running_var");
  if (w) check_param(*w, "weight", x, {c});
  if (b) check_param(*b, "bias", x, {c});
  if (bool(rm) != bool(rv)) throw py::value_error("running_mean, running_var: expected both or neither");
  if (!training && !rm) throw py::value_error("running_mean: required in evaluation mode (training=False)");
  for (auto [a, name] : {std::pair<std::optional<py::array>*, const char*>{&rm, "running_mean"}, {&rv, "running_var"}}) {
    if (!*a) continue;
    check_param(**a, name, x, {c});
    if (training) check_writeable(**a, name);
  }
  if (training && rm && n * s == 1)
    throw py::value_error("input: expected more than 1 value per channel when training with running statistics, got " +
                          shape_str(x));
  if (y != nullptr) check_out(*y, "out", x, "input");  // (none: a fused kernel's own outputs come in `extra`)
  check_stats(save_mean, "save_mean", {c}, true);
  check_stats(save_invstd, "save_invstd", {c}, true);
  // Training updates the running statistics in place (outputs); evaluation only reads them.
  const Named rmn{opt_addr(rm), "running_mean"}, rvn{opt_addr(rv), "running_var"};
  std::vector<Named> outputs{{y, "out"}, {&save_mean, "save_mean"}, {&save_invstd, "save_invstd"}};
  outputs.insert(outputs.end(), extra.begin(), extra.end());
  std::vector<Named> inputs{{&x, "input"}, {opt_addr(w), "weight"}, {opt_addr(b), "bias"}};
  for (const Named& stat : {rmn, rvn}) (training ? outputs : inputs).push_back(stat);
  check_overlaps(outputs, inputs);
  return {std::move(w), std::move(b), std::move(rm), std::move(rv)};
}

void bn_forward_binding(const py::array& x, const py::object& weight, const py::object& bias,
                        const py::object& running_mean, const py::object& running_var, py::array y,
                        py::array save_mean, py::array save_invstd, bool training, double momentum, double eps) {
  auto a = check_bn_forward(x, weight, bias, running_mean, running_var, &y, save_mean, save_invstd, training);
  if (is_float32(x)) bn_forward<float>(x, a.w, a.b, a.rm, a.rv, y, save_mean, save_invstd, training, momentum, eps);
  else bn_forward<double>(x, a.w, a.b, a.rm, a.rv, y, save_mean, save_invstd, training, momentum, eps);
}

template <class T>
void bn_relu(const py::array& x, BnForwardArgs& a, py::array& y, py::array& sm, py::array& si, double momentum,
             double eps) {
  const T *xp = cptr<T>(x), *wp = opt_cptr<T>(a.w), *bp = opt_cptr<T>(a.b);
  T *yp = mptr<T>(y), *rmp = opt_mptr<T>(a.rm), *rvp = opt_mptr<T>(a.rv);
  double *smp = mptr<double>(sm), *sip = mptr<double>(si);
  const index_t n = x.shape(0), c = x.shape(1), s = x.shape(2);
  launch([=] { batch_norm_relu_forward<T>(xp, wp, bp, yp, smp, sip, rmp, rvp, momentum, eps, n, c, s); });
}

// eg.compile's fused BatchNorm (training) -> ReLU: batch_norm_forward's checks.
void bn_relu_binding(const py::array& x, const py::object& weight, const py::object& bias,
                     const py::object& running_mean, const py::object& running_var, py::array y, py::array save_mean,
                     py::array save_invstd, double momentum, double eps) {
  auto a = check_bn_forward(x, weight, bias, running_mean, running_var, &y, save_mean, save_invstd, true);
  if (is_float32(x)) bn_relu<float>(x, a, y, save_mean, save_invstd, momentum, eps);
  else bn_relu<double>(x, a, y, save_mean, save_invstd, momentum, eps);
}

template <class T>
void bn_relu_pool(const py::array& x, BnForwardArgs& a, py::array& y, py::array& idx, py::array& sm, py::array& si,
                  double momentum, double eps, const Pool2dGeometry& g) {
  const T *xp = cptr<T>(x), *wp = opt_cptr<T>(a.w), *bp = opt_cptr<T>(a.b);
  T *yp = mptr<T>(y), *rmp = opt_mptr<T>(a.rm), *rvp = opt_mptr<T>(a.rv);
  auto* ip = static_cast<std::int64_t*>(idx.mutable_data());
  double *smp = mptr<double>(sm), *sip = mptr<double>(si);
  const index_t n = x.shape(0), c = x.shape(1);
  launch([=] {
    batch_norm_relu_max_pool2d_forward<T>(xp, wp, bp, yp, ip, smp, sip, rmp, rvp, momentum, eps, n, c, g);
  });
}

// eg.compile's fused BatchNorm (training) -> ReLU -> MaxPool2d: batch_norm_forward's checks on input (n, c, s)
// with s = h * w of input_size, and max_pool2d_forward's on the options and on out / indices (n * c, oh, ow).
void bn_relu_pool_binding(const py::array& x, const py::object& weight, const py::object& bias,
                          const py::object& running_mean, const py::object& running_var, py::array y, py::array idx,
                          py::array save_mean, py::array save_invstd, double momentum, double eps,
                          const py::object& input_size, const py::object& kernel_size, const py::object& stride,
                          const py::object& padding, const py::object& dilation, bool ceil_mode) {
  check_input(x, "input");
  check_ndim(x, "input", 3);
  const Pair hw = window_option<2>(input_size, "input_size", 0);
  if (hw[0] * hw[1] != x.shape(2))
    throw py::value_error("input_size: expected two sizes whose product is input's last dimension " +
                          std::to_string(x.shape(2)) + ", got (" + std::to_string(hw[0]) + ", " +
                          std::to_string(hw[1]) + ")");
  const Pool2dGeometry g =
      pool2d_geometry(x.shape(0) * x.shape(1), hw[0], hw[1], window_option<2>(kernel_size, "kernel_size", 1),
                      window_option<2>(stride, "stride", 1), window_option<2>(padding, "padding", 0),
                      window_option<2>(dilation, "dilation", 1), ceil_mode);
  check_output(y, "out");
  check_dtype_as(y, "out", x, "input");
  check_shape(y, "out", {g.planes, g.oh, g.ow});
  check_int64(idx, "indices");
  check_writeable(idx, "indices");
  check_shape(idx, "indices", {g.planes, g.oh, g.ow});
  auto a = check_bn_forward(x, weight, bias, running_mean, running_var, nullptr, save_mean, save_invstd, true,
                            {{&y, "out"}, {&idx, "indices"}});
  if (is_float32(x)) bn_relu_pool<float>(x, a, y, idx, save_mean, save_invstd, momentum, eps, g);
  else bn_relu_pool<double>(x, a, y, idx, save_mean, save_invstd, momentum, eps, g);
}

template <class T>
void bn_relu_dropout(const py::array& x, BnForwardArgs& a, py::array& y, py::array& sm, py::array& si,
                     py::array& mask, double momentum, double eps, std::uint64_t seed, std::uint64_t offset,
                     std::uint64_t threshold, double scale) {
  const T *xp = cptr<T>(x), *wp = opt_cptr<T>(a.w), *bp = opt_cptr<T>(a.b);
  T *yp = mptr<T>(y), *rmp = opt_mptr<T>(a.rm), *rvp = opt_mptr<T>(a.rv);
  double *smp = mptr<double>(sm), *sip = mptr<double>(si);
  std::uint8_t* mp = mptr<std::uint8_t>(mask);
  const index_t n = x.shape(0), c = x.shape(1), s = x.shape(2);
  launch_drawn(seed, offset, [=](std::uint64_t s0, std::uint64_t o0) {
    batch_norm_relu_dropout_forward<T>(xp, wp, bp, yp, smp, sip, rmp, rvp, momentum, eps, n, c, s, mp, s0, o0,
                                       threshold, T(scale));
  });
}

// eg.compile's fused BatchNorm (training) -> ReLU -> Dropout: batch_norm_forward's checks, and a uint8 mask
// of input.size bytes.
void bn_relu_dropout_binding(const py::array& x, const py::object& weight, const py::object& bias,
                             const py::object& running_mean, const py::object& running_var, py::array y,
                             py::array save_mean, py::array save_invstd, py::array mask, std::uint64_t seed,
                             std::uint64_t offset, std::uint64_t threshold, double scale, double momentum,
                             double eps) {
  check_mask(mask, "mask", true);
  check_shape(mask, "mask", {index_t(x.size())});
  check_threshold(threshold);
  auto a = check_bn_forward(x, weight, bias, running_mean, running_var, &y, save_mean, save_invstd, true,
                            {{&mask, "mask"}});
  if (is_float32(x)) bn_relu_dropout<float>(x, a, y, save_mean, save_invstd, mask, momentum, eps, seed, offset, threshold, scale);
  else bn_relu_dropout<double>(x, a, y, save_mean, save_invstd, mask, momentum, eps, seed, offset, threshold, scale);
}

// Checks shared by the backward bindings: grad_out like x, optional outputs of the right shapes, and
// the overlap rule against every input (x, grad_out and the saved statistics `stats` and weight).
void check_backward_outputs(const py::array& dy, const py::array& x, std::optional<py::array>& dx,
                            std::optional<py::array>& dw, std::optional<py::array>& db, index_t pshape,
                            std::vector<Named> inputs) {
  check_input(dy, "grad_out");
  check_dtype_as(dy, "grad_out", x, "input");
  check_same_shape(dy, "grad_out", x, "input");
  if (dx) check_out(*dx, "grad_in", x, "input");
  for (auto [a, name] : {std::pair<std::optional<py::array>*, const char*>{&dw, "grad_weight"}, {&db, "grad_bias"}}) {
    if (!*a) continue;
    check_output(**a, name);
    check_dtype_as(**a, name, x, "input");
    check_shape(**a, name, {pshape});
  }
  inputs.push_back({&x, "input"});
  inputs.push_back({&dy, "grad_out"});
  check_overlaps({{opt_addr(dx), "grad_in"}, {opt_addr(dw), "grad_weight"}, {opt_addr(db), "grad_bias"}}, inputs);
}

template <class T>
void bn_backward(const py::array& dy, const py::array& x, const py::array& sm, const py::array& si,
                 const std::optional<py::array>& w, std::optional<py::array>& dx, std::optional<py::array>& dw,
                 std::optional<py::array>& db, bool training) {
  const T *dyp = cptr<T>(dy), *xp = cptr<T>(x), *wp = opt_cptr<T>(w);
  const double *smp = cptr<double>(sm), *sip = cptr<double>(si);
  T *dxp = opt_mptr<T>(dx), *dwp = opt_mptr<T>(dw), *dbp = opt_mptr<T>(db);
  const index_t n = x.shape(0), c = x.shape(1), s = x.shape(2);
  launch([=] { batch_norm_backward<T>(dyp, xp, smp, sip, wp, dxp, dwp, dbp, training, n, c, s); });
}

void bn_backward_binding(const py::array& grad_out, const py::array& x, const py::array& save_mean,
                         const py::array& save_invstd, const py::object& weight, const py::object& grad_in,
                         const py::object& grad_weight, const py::object& grad_bias, bool training) {
  check_input(x, "input");
  check_ndim(x, "input", 3);
  const index_t c = x.shape(1);
  auto w = optional_array(weight, "weight");
  if (w) check_param(*w, "weight", x, {c});
  check_stats(save_mean, "save_mean", {c}, false);
  check_stats(save_invstd, "save_invstd", {c}, false);
  auto dx = optional_array(grad_in, "grad_in"), dw = optional_array(grad_weight, "grad_weight");
  auto db = optional_array(grad_bias, "grad_bias");
  check_backward_outputs(grad_out, x, dx, dw, db, c,
                         {{&save_mean, "save_mean"}, {&save_invstd, "save_invstd"}, {opt_addr(w), "weight"}});
  if (is_float32(x)) bn_backward<float>(grad_out, x, save_mean, save_invstd, w, dx, dw, db, training);
  else bn_backward<double>(grad_out, x, save_mean, save_invstd, w, dx, dw, db, training);
}

// --- layer norm and group norm ---------------------------------------------------------------------

// rows: m (layer norm) or n * groups (group norm); pshape: the length of weight and bias.
template <class T>
void ln_forward(const py::array& x, const std::optional<py::array>& w, const std::optional<py::array>& b, py::array& y,
                py::array& mean, py::array& rstd, double eps, index_t groups) {
  const T *xp = cptr<T>(x), *wp = opt_cptr<T>(w), *bp = opt_cptr<T>(b);
  T* yp = mptr<T>(y);
  double *mp = mptr<double>(mean), *rp = mptr<double>(rstd);
  if (groups == 0) {
    const index_t m = x.shape(0), d = x.shape(1);
    launch([=] { layer_norm_forward<T>(xp, wp, bp, yp, mp, rp, eps, m, d); });
  } else {
    const index_t n = x.shape(0), c = x.shape(1), s = x.shape(2);
    launch([=] { group_norm_forward<T>(xp, wp, bp, yp, mp, rp, eps, n, c, s, groups); });
  }
}

// groups == 0: layer norm of x (m, d); else group norm of x (n, c, s).
void check_ln_input(const py::array& x, index_t groups, index_t& rows, index_t& pshape) {
  check_input(x, "input");
  if (groups == 0) {
    check_ndim(x, "input", 2);
    rows = x.shape(0);
    pshape = x.shape(1);
    return;
  }
  check_ndim(x, "input", 3);
  if (x.shape(1) % groups != 0)
    throw py::value_error("num_groups: expected a positive divisor of the " + std::to_string(x.shape(1)) +
                          " channels, got " + std::to_string(groups));
  rows = x.shape(0) * groups;
  pshape = x.shape(1);
}

void ln_forward_binding(const py::array& x, const py::object& weight, const py::object& bias, py::array y,
                        py::array mean, py::array rstd, double eps, index_t groups) {
  index_t rows = 0, pshape = 0;
  check_ln_input(x, groups, rows, pshape);
  auto w = optional_array(weight, "weight"), b = optional_array(bias, "bias");
  if (w) check_param(*w, "weight", x, {pshape});
  if (b) check_param(*b, "bias", x, {pshape});
  check_out(y, "out", x, "input");
  check_stats(mean, "mean", {rows}, true);
  check_stats(rstd, "rstd", {rows}, true);
  check_overlaps({{&y, "out"}, {&mean, "mean"}, {&rstd, "rstd"}}, {{&x, "input"}, {opt_addr(w), "weight"}, {opt_addr(b), "bias"}});
  if (is_float32(x)) ln_forward<float>(x, w, b, y, mean, rstd, eps, groups);
  else ln_forward<double>(x, w, b, y, mean, rstd, eps, groups);
}

template <class T>
void ln_backward(const py::array& dy, const py::array& x, const py::array& mean, const py::array& rstd,
                 const std::optional<py::array>& w, std::optional<py::array>& dx, std::optional<py::array>& dw,
                 std::optional<py::array>& db, index_t groups) {
  const T *dyp = cptr<T>(dy), *xp = cptr<T>(x), *wp = opt_cptr<T>(w);
  const double *mp = cptr<double>(mean), *rp = cptr<double>(rstd);
  T *dxp = opt_mptr<T>(dx), *dwp = opt_mptr<T>(dw), *dbp = opt_mptr<T>(db);
  if (groups == 0) {
    const index_t m = x.shape(0), d = x.shape(1);
    launch([=] { layer_norm_backward<T>(dyp, xp, mp, rp, wp, dxp, dwp, dbp, m, d); });
  } else {
    const index_t n = x.shape(0), c = x.shape(1), s = x.shape(2);
    launch([=] { group_norm_backward<T>(dyp, xp, mp, rp, wp, dxp, dwp, dbp, n, c, s, groups); });
  }
}

void ln_backward_binding(const py::array& grad_out, const py::array& x, const py::array& mean, const py::array& rstd,
                         const py::object& weight, const py::object& grad_in, const py::object& grad_weight,
                         const py::object& grad_bias, index_t groups) {
  index_t rows = 0, pshape = 0;
  check_ln_input(x, groups, rows, pshape);
  auto w = optional_array(weight, "weight");
  if (w) check_param(*w, "weight", x, {pshape});
  check_stats(mean, "mean", {rows}, false);
  check_stats(rstd, "rstd", {rows}, false);
  auto dx = optional_array(grad_in, "grad_in"), dw = optional_array(grad_weight, "grad_weight");
  auto db = optional_array(grad_bias, "grad_bias");
  check_backward_outputs(grad_out, x, dx, dw, db, pshape, {{&mean, "mean"}, {&rstd, "rstd"}, {opt_addr(w), "weight"}});
  if (is_float32(x)) ln_backward<float>(grad_out, x, mean, rstd, w, dx, dw, db, groups);
  else ln_backward<double>(grad_out, x, mean, rstd, w, dx, dw, db, groups);
}

// --- local response norm ---------------------------------------------------------------------------

void check_lrn(const py::array& x, index_t size) {
  check_input(x, "input");
  check_ndim(x, "input", 3);
  if (size < 1) throw py::value_error("size: expected a positive window size, got " + std::to_string(size));
}

void lrn_forward_binding(const py::array& x, py::array y, py::array div, index_t size, double alpha, double beta,
                         double k) {
  check_lrn(x, size);
  check_out(y, "out", x, "input");
  check_out(div, "div", x, "input");
  check_overlaps({{&y, "out"}, {&div, "div"}}, {{&x, "input"}});
  const index_t n = x.shape(0), c = x.shape(1), s = x.shape(2);
  if (is_float32(x)) {
    const float* xp = cptr<float>(x);
    float *yp = mptr<float>(y), *dp = mptr<float>(div);
    launch([=] { local_response_norm_forward<float>(xp, yp, dp, n, c, s, size, alpha, beta, k); });
  } else {
    const double* xp = cptr<double>(x);
    double *yp = mptr<double>(y), *dp = mptr<double>(div);
    launch([=] { local_response_norm_forward<double>(xp, yp, dp, n, c, s, size, alpha, beta, k); });
  }
}

void lrn_backward_binding(const py::array& grad_out, const py::array& x, const py::array& div, py::array grad_in,
                          index_t size, double alpha, double beta) {
  check_lrn(x, size);
  for (auto [a, name] : {std::pair<const py::array*, const char*>{&grad_out, "grad_out"}, {&div, "div"}}) {
    check_input(*a, name);
    check_dtype_as(*a, name, x, "input");
    check_same_shape(*a, name, x, "input");
  }
  check_out(grad_in, "grad_in", x, "input");
  check_overlaps({{&grad_in, "grad_in"}}, {{&x, "input"}, {&grad_out, "grad_out"}, {&div, "div"}});
  const index_t n = x.shape(0), c = x.shape(1), s = x.shape(2);
  if (is_float32(x)) {
    const float *gp = cptr<float>(grad_out), *xp = cptr<float>(x), *dp = cptr<float>(div);
    float* op = mptr<float>(grad_in);
    launch([=] { local_response_norm_backward<float>(gp, xp, dp, op, n, c, s, size, alpha, beta); });
  } else {
    const double *gp = cptr<double>(grad_out), *xp = cptr<double>(x), *dp = cptr<double>(div);
    double* op = mptr<double>(grad_in);
    launch([=] { local_response_norm_backward<double>(gp, xp, dp, op, n, c, s, size, alpha, beta); });
  }
}

}  // namespace
}  // namespace norm_helpers

void bind_norm(py::module_& m) {
  using namespace norm_helpers;
  def_capturable(m, "batch_norm_forward", &bn_forward_binding, py::arg("input"), py::arg("weight"), py::arg("bias"),
        py::arg("running_mean"), py::arg("running_var"), py::arg("out"), py::arg("save_mean"), py::arg("save_invstd"),
        py::arg("training"), py::arg("momentum"), py::arg("eps"),
        "Batch norm of input (n, c, s) per channel: batch statistics (training; running statistics updated in "
        "place when given) or the running ones (eval). Writes out and the float64 save_mean, save_invstd (c,).");
  def_capturable(m, "batch_norm_relu_forward", &bn_relu_binding, py::arg("input"), py::arg("weight"), py::arg("bias"),
        py::arg("running_mean"), py::arg("running_var"), py::arg("out"), py::arg("save_mean"), py::arg("save_invstd"),
        py::arg("momentum"), py::arg("eps"),
        "eg.compile's fusion of batch_norm_forward (training) and relu_forward: out = relu(bn(input)); the same bits.");
  def_capturable(m, "batch_norm_relu_max_pool2d_forward", &bn_relu_pool_binding, py::arg("input"), py::arg("weight"),
        py::arg("bias"), py::arg("running_mean"), py::arg("running_var"), py::arg("out"), py::arg("indices"),
        py::arg("save_mean"), py::arg("save_invstd"), py::arg("momentum"), py::arg("eps"), py::arg("input_size"),
        py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("ceil_mode"),
        "eg.compile's fusion of batch_norm_forward (training), relu_forward and max_pool2d_forward: each plane of "
        "relu(bn(input)) (input (n, c, h * w)) pooled while in cache into out and indices (n * c, oh, ow); the "
        "same bits, without the BatchNorm -> ReLU output.");
  def_capturable(m, "batch_norm_relu_dropout_forward", &bn_relu_dropout_binding, py::arg("input"), py::arg("weight"),
        py::arg("bias"), py::arg("running_mean"), py::arg("running_var"), py::arg("out"), py::arg("save_mean"),
        py::arg("save_invstd"), py::arg("mask"), py::arg("seed"), py::arg("offset"), py::arg("threshold"),
        py::arg("scale"), py::arg("momentum"), py::arg("eps"),
        "eg.compile's fusion of batch_norm_forward (training), relu_forward and dropout_forward: out = "
        "relu(bn(input)) * (keep ? scale : 0), mask = keep | (relu(bn(input)) > 0) << 1; the same bits.");
  def_capturable(m, "batch_norm_backward", &bn_backward_binding, py::arg("grad_out"), py::arg("input"),
        py::arg("save_mean"),
        py::arg("save_invstd"), py::arg("weight"), py::arg("grad_in"), py::arg("grad_weight"), py::arg("grad_bias"),
        py::arg("training"), "Closed-form batch norm backward; grad_in, grad_weight, grad_bias may be None.");
  def_capturable(
      m,
      "layer_norm_forward",
      [](const py::array& x, const py::object& w, const py::object& b, py::array y, py::array mean, py::array rstd,
         double eps) { ln_forward_binding(x, w, b, y, mean, rstd, eps, 0); },
      py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("out"), py::arg("mean"), py::arg("rstd"),
      py::arg("eps"),
      "Layer norm over the rows of input (m, d), weight/bias (d,) or None. Writes out and the float64 mean, "
      "rstd (m,).");
  def_capturable(
      m,
      "layer_norm_backward",
      [](const py::array& dy, const py::array& x, const py::array& mean, const py::array& rstd, const py::object& w,
         const py::object& dx, const py::object& dw, const py::object& db) {
        ln_backward_binding(dy, x, mean, rstd, w, dx, dw, db, 0);
      },
      py::arg("grad_out"), py::arg("input"), py::arg("mean"), py::arg("rstd"), py::arg("weight"), py::arg("grad_in"),
      py::arg("grad_weight"), py::arg("grad_bias"), "Closed-form layer norm backward; the outputs may be None.");
  def_capturable(
      m,
      "group_norm_forward",
      [](const py::array& x, const py::object& w, const py::object& b, py::array y, py::array mean, py::array rstd,
         double eps, index_t groups) {
        if (groups < 1) throw py::value_error("num_groups: expected a positive int, got " + std::to_string(groups));
        ln_forward_binding(x, w, b, y, mean, rstd, eps, groups);
      },
      py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("out"), py::arg("mean"), py::arg("rstd"),
      py::arg("eps"), py::arg("num_groups"),
      "Group norm of input (n, c, s), weight/bias (c,) or None. Writes out and the float64 mean, rstd "
      "(n * num_groups,).");
  def_capturable(
      m,
      "group_norm_backward",
      [](const py::array& dy, const py::array& x, const py::array& mean, const py::array& rstd, const py::object& w,
         const py::object& dx, const py::object& dw, const py::object& db, index_t groups) {
        if (groups < 1) throw py::value_error("num_groups: expected a positive int, got " + std::to_string(groups));
        ln_backward_binding(dy, x, mean, rstd, w, dx, dw, db, groups);
      },
      py::arg("grad_out"), py::arg("input"), py::arg("mean"), py::arg("rstd"), py::arg("weight"), py::arg("grad_in"),
      py::arg("grad_weight"), py::arg("grad_bias"), py::arg("num_groups"),
      "Closed-form group norm backward; the outputs may be None.");
  def_capturable(m, "local_response_norm_forward", &lrn_forward_binding, py::arg("input"), py::arg("out"),
        py::arg("div"),
        py::arg("size"), py::arg("alpha"), py::arg("beta"), py::arg("k"),
        "Local response norm across the channels of input (n, c, s): div = k + alpha * avg of squares over the "
        "window, out = input / div**beta.");
  def_capturable(m, "local_response_norm_backward", &lrn_backward_binding, py::arg("grad_out"), py::arg("input"),
        py::arg("div"),
        py::arg("grad_in"), py::arg("size"), py::arg("alpha"), py::arg("beta"),
        "Local response norm backward from the saved div.");
}

}  // namespace eigengrad::bindings
