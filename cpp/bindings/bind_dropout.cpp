#include "checks.hpp"
#include "plan_capture.hpp"
#include "eigengrad/dropout.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace dropout_helpers {
namespace {

// x of any shape, out like x (may be x), mask (x.size,) uint8.
void check_elementwise(const py::array& x, const py::array& out, const py::array& mask) {
  check_input(x, "x");
  check_output(out, "out");
  check_dtype_as(out, "out", x, "x");
  check_same_shape(out, "out", x, "x");
  check_mask(mask, "mask", true);
  check_shape(mask, "mask", {index_t(x.size())});
  check_overlaps({{&out, "out"}, {&mask, "mask"}}, {{&x, "x"}}, {{"out", "x"}});
}

void dropout_binding(const py::array& x, py::array out, py::array mask, std::uint64_t seed, std::uint64_t offset,
                     std::uint64_t threshold, double scale) {
  check_elementwise(x, out, mask);
  check_threshold(threshold);
  const index_t n = x.size();
  std::uint8_t* mp = static_cast<std::uint8_t*>(mask.mutable_data());
  if (is_float32(x)) {
    const float* xp = cptr<float>(x);
    float* yp = mptr<float>(out);
    launch_drawn(seed, offset, [=](std::uint64_t s0, std::uint64_t o0) {
      dropout_forward<float>(xp, yp, mp, n, s0, o0, threshold, float(scale));
    });
  } else {
    const double* xp = cptr<double>(x);
    double* yp = mptr<double>(out);
    launch_drawn(seed, offset, [=](std::uint64_t s0, std::uint64_t o0) {
      dropout_forward<double>(xp, yp, mp, n, s0, o0, threshold, scale);
    });
  }
}

void alpha_dropout_binding(const py::array& x, py::array out, py::array mask, std::uint64_t seed,
                           std::uint64_t offset, std::uint64_t threshold, double a, double b_keep, double b_drop) {
  check_elementwise(x, out, mask);
  check_threshold(threshold);
  const index_t n = x.size();
  std::uint8_t* mp = static_cast<std::uint8_t*>(mask.mutable_data());
  if (is_float32(x)) {
    const float* xp = cptr<float>(x);
    float* yp = mptr<float>(out);
    launch_drawn(seed, offset, [=](std::uint64_t s0, std::uint64_t o0) {
      alpha_dropout_forward<float>(xp, yp, mp, n, s0, o0, threshold, float(a), float(b_keep), float(b_drop));
    });
  } else {
    const double* xp = cptr<double>(x);
    double* yp = mptr<double>(out);
    launch_drawn(seed, offset, [=](std::uint64_t s0, std::uint64_t o0) {
      alpha_dropout_forward<double>(xp, yp, mp, n, s0, o0, threshold, a, b_keep, b_drop);
    });
  }
}

// x (rows, inner), out like x, mask (rows,).
void check_rows(const py::array& x, const char* xn, const py::array& out, const char* on, const py::array& mask,
                bool mask_out) {
  check_input(x, xn);
  check_ndim(x, xn, 2);
  check_output(out, on);
  check_dtype_as(out, on, x, xn);
  check_same_shape(out, on, x, xn);
  check_mask(mask, "mask", mask_out);
  check_shape(mask, "mask", {index_t(x.shape(0))});
  if (mask_out) check_overlaps({{&out, on}, {&mask, "mask"}}, {{&x, xn}}, {{on, xn}});
  else check_overlaps({{&out, on}}, {{&x, xn}, {&mask, "mask"}}, {{on, xn}});
}

void feature_dropout_binding(const py::array& x, py::array out, py::array mask, std::uint64_t seed,
                             std::uint64_t offset, std::uint64_t threshold, double scale) {
  check_rows(x, "x", out, "out", mask, true);
  check_threshold(threshold);
  const index_t rows = x.shape(0), inner = x.shape(1);
  std::uint8_t* mp = static_cast<std::uint8_t*>(mask.mutable_data());
  if (is_float32(x)) {
    const float* xp = cptr<float>(x);
    float* yp = mptr<float>(out);
    launch_drawn(seed, offset, [=](std::uint64_t s0, std::uint64_t o0) {
      feature_dropout_forward<float>(xp, yp, mp, rows, inner, s0, o0, threshold, float(scale));
    });
  } else {
    const double* xp = cptr<double>(x);
    double* yp = mptr<double>(out);
    launch_drawn(seed, offset, [=](std::uint64_t s0, std::uint64_t o0) {
      feature_dropout_forward<double>(xp, yp, mp, rows, inner, s0, o0, threshold, scale);
    });
  }
}

void masked_scale_binding(const py::array& grad_out, const py::array& mask, py::array grad_in, double scale) {
  check_rows(grad_out, "grad_out", grad_in, "grad_in", mask, false);
  const index_t rows = grad_out.shape(0), inner = grad_out.shape(1);
  const std::uint8_t* mp = static_cast<const std::uint8_t*>(mask.data());
  if (is_float32(grad_out)) {
    const float* gp = cptr<float>(grad_out);
    float* gx = mptr<float>(grad_in);
    launch([=] { masked_scale<float>(gp, mp, gx, rows, inner, float(scale)); });
  } else {
    const double* gp = cptr<double>(grad_out);
    double* gx = mptr<double>(grad_in);
    launch([=] { masked_scale<double>(gp, mp, gx, rows, inner, scale); });
  }
}

// eg.compile's fused backward of ReLU then Dropout (mask from batch_norm_relu_dropout_forward).
void relu_dropout_backward_binding(const py::array& grad_out, const py::array& mask, py::array grad_in, double scale) {
  check_input(grad_out, "grad_out");
  check_output(grad_in, "grad_in");
  check_dtype_as(grad_in, "grad_in", grad_out, "grad_out");
  check_same_shape(grad_in, "grad_in", grad_out, "grad_out");
  check_mask(mask, "mask", false);
  check_shape(mask, "mask", {index_t(grad_out.size())});
  check_overlaps({{&grad_in, "grad_in"}}, {{&grad_out, "grad_out"}, {&mask, "mask"}}, {{"grad_in", "grad_out"}});
  const index_t n = grad_out.size();
  const std::uint8_t* mp = static_cast<const std::uint8_t*>(mask.data());
  if (is_float32(grad_out)) {
    const float* gp = cptr<float>(grad_out);
    float* gx = mptr<float>(grad_in);
    launch([=] { relu_dropout_backward<float>(gp, mp, gx, n, float(scale)); });
  } else {
    const double* gp = cptr<double>(grad_out);
    double* gx = mptr<double>(grad_in);
    launch([=] { relu_dropout_backward<double>(gp, mp, gx, n, scale); });
  }
}

void bernoulli_mask_binding(py::array mask, std::uint64_t seed, std::uint64_t offset, std::uint64_t threshold) {
  check_mask(mask, "mask", true);
  check_threshold(threshold);
  std::uint8_t* mp = static_cast<std::uint8_t*>(mask.mutable_data());
  const index_t n = mask.size();
  launch_drawn(seed, offset, [=](std::uint64_t s0, std::uint64_t o0) { bernoulli_mask(mp, n, s0, o0, threshold); });
}

}  // namespace
}  // namespace dropout_helpers

void bind_dropout(py::module_& m) {
  using namespace dropout_helpers;
  def_capturable(m, "dropout_forward", &dropout_binding, py::arg("x"), py::arg("out"), py::arg("mask"), py::arg("seed"),
        py::arg("offset"), py::arg("threshold"), py::arg("scale"),
        "mask[i] = word(i) < threshold (word i % 4 of Philox block offset + i / 4 under seed); "
        "out = x * (mask ? scale : 0). out may be x.");
  def_capturable(m, "alpha_dropout_forward", &alpha_dropout_binding, py::arg("x"), py::arg("out"), py::arg("mask"),
        py::arg("seed"), py::arg("offset"), py::arg("threshold"), py::arg("a"), py::arg("b_keep"), py::arg("b_drop"),
        "mask as dropout_forward; out = x * (mask ? a : 0) + (mask ? b_keep : b_drop).");
  def_capturable(m, "feature_dropout_forward", &feature_dropout_binding, py::arg("x"), py::arg("out"), py::arg("mask"),
        py::arg("seed"), py::arg("offset"), py::arg("threshold"), py::arg("scale"),
        "x (rows, inner), mask (rows,) drawn as dropout_forward's; out[r] = x[r] * (mask[r] ? scale : 0).");
  def_capturable(m, "masked_scale", &masked_scale_binding, py::arg("grad_out"), py::arg("mask"), py::arg("grad_in"),
        py::arg("scale"), "grad_out (rows, inner), mask (rows,): grad_in[r] = grad_out[r] * (mask[r] ? scale : 0).");
  def_capturable(m, "relu_dropout_backward", &relu_dropout_backward_binding, py::arg("grad_out"), py::arg("mask"),
        py::arg("grad_in"), py::arg("scale"),
        "mask from batch_norm_relu_dropout_forward: grad_in = (mask & 2) ? grad_out * ((mask & 1) ? scale : 0) : 0 "
        "(masked_scale then relu_backward, the same bits). grad_in may be grad_out.");
  def_capturable(m, "bernoulli_mask", &bernoulli_mask_binding, py::arg("mask"), py::arg("seed"), py::arg("offset"),
        py::arg("threshold"), "mask[i] = word(i) < threshold, the draw of the dropout kernels.");
}

}  // namespace eigengrad::bindings
