#include "checks.hpp"
#include "eigengrad/activation_ext.hpp"

#include <optional>
#include <pybind11/stl.h>

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace activation_ext_helpers {
namespace {

// out = f(x): call(ptr_x, ptr_out, n) with T deduced from x's dtype.
template <class Call>
void unary(const py::array& x, py::array out, Call&& call) {
  check_elementwise_forward(x, out);
  const index_t n = x.size();
  if (is_float32(x)) {
    const float* xp = cptr<float>(x);
    float* yp = mptr<float>(out);
    py::gil_scoped_release release;
    call(xp, yp, n);
  } else {
    const double* xp = cptr<double>(x);
    double* yp = mptr<double>(out);
    py::gil_scoped_release release;
    call(xp, yp, n);
  }
}

// grad_in = grad_out * f'(x): call(gy, x, gx, n).
template <class Call>
void unary_backward(const py::array& grad_out, const py::array& x, py::array grad_in, Call&& call) {
  check_elementwise_backward(grad_out, x, "x", grad_in);
  const index_t n = x.size();
  if (is_float32(x)) {
    const float *gp = cptr<float>(grad_out), *xp = cptr<float>(x);
    float* gx = mptr<float>(grad_in);
    py::gil_scoped_release release;
    call(gp, xp, gx, n);
  } else {
    const double *gp = cptr<double>(grad_out), *xp = cptr<double>(x);
    double* gx = mptr<double>(grad_in);
    py::gil_scoped_release release;
    call(gp, xp, gx, n);
  }
}

// PReLU: x (outer, channels, inner), weight (channels,) or (1,).
struct PreluShape {
  index_t outer, channels, inner;
  bool shared;
};
PreluShape prelu_shape(const py::array& x, const py::array& weight) {
  check_ndim(x, "x", 3);
  check_ndim(weight, "weight", 1);
  const index_t c = x.shape(1), nw = weight.shape(0);
  if (nw != 1 && nw != c)
    throw py::value_error("weight: expected 1 or " + std::to_string(c) + " elements (the channels of x), got shape " +
                          shape_str(weight));
  return {index_t(x.shape(0)), c, index_t(x.shape(2)), nw == 1};
}

void prelu_forward_binding(const py::array& x, const py::array& weight, py::array out) {
  check_input(x, "x");
  check_input(weight, "weight");
  check_dtype_as(weight, "weight", x, "x");
  const PreluShape s = prelu_shape(x, weight);
  check_output(out, "out");
  check_dtype_as(out, "out", x, "x");
  check_same_shape(out, "out", x, "x");
  check_overlaps({{&out, "out"}}, {{&x, "x"}, {&weight, "weight"}}, {{"out", "x"}});
  if (is_float32(x)) {
    const float *xp = cptr<float>(x), *wp = cptr<float>(weight);
    float* yp = mptr<float>(out);
    py::gil_scoped_release release;
    prelu_forward<float>(xp, wp, yp, s.outer, s.channels, s.inner, s.shared);
  } else {
    const double *xp = cptr<double>(x), *wp = cptr<double>(weight);
    double* yp = mptr<double>(out);
    py::gil_scoped_release release;
    prelu_forward<double>(xp, wp, yp, s.outer, s.channels, s.inner, s.shared);
  }
}

void prelu_backward_binding(const py::array& grad_out, const py::array& x, const py::array& weight,
                            py::array grad_in, std::optional<py::array> grad_weight) {
  check_elementwise_backward(grad_out, x, "x", grad_in);
  check_input(weight, "weight");
  check_dtype_as(weight, "weight", grad_out, "grad_out");
  const PreluShape s = prelu_shape(x, weight);
  if (grad_weight) {
    check_output(*grad_weight, "grad_weight");
    check_dtype_as(*grad_weight, "grad_weight", grad_out, "grad_out");
    check_same_shape(*grad_weight, "grad_weight", weight, "weight");
  }
  check_overlaps({{&grad_in, "grad_in"}, {opt_addr(grad_weight), "grad_weight"}},
                 {{&grad_out, "grad_out"}, {&x, "x"}, {&weight, "weight"}},
                 {{"grad_in", "grad_out"}, {"grad_in", "x"}});
  if (is_float32(x)) {
    const float *gp = cptr<float>(grad_out), *xp = cptr<float>(x), *wp = cptr<float>(weight);
    float* gx = mptr<float>(grad_in);
    float* gw = grad_weight ? mptr<float>(*grad_weight) : nullptr;
    py::gil_scoped_release release;
    prelu_backward<float>(gp, xp, wp, gx, gw, s.outer, s.channels, s.inner, s.shared);
  } else {
    const double *gp = cptr<double>(grad_out), *xp = cptr<double>(x), *wp = cptr<double>(weight);
    double* gx = mptr<double>(grad_in);
    double* gw = grad_weight ? mptr<double>(*grad_weight) : nullptr;
    py::gil_scoped_release release;
    prelu_backward<double>(gp, xp, wp, gx, gw, s.outer, s.channels, s.inner, s.shared);
  }
}

// Maxout: z (groups, pieces), out (groups,), idx (groups,) int64.
void maxout_forward_binding(const py::array& z, py::array out, py::array idx) {
  check_input(z, "z");
  check_ndim(z, "z", 2);
  if (z.shape(1) < 1) throw py::value_error("z: expected at least one piece, got shape " + shape_str(z));
  check_output(out, "out");
  check_dtype_as(out, "out", z, "z");
  check_shape(out, "out", {index_t(z.shape(0))});
  check_int64(idx, "idx");
  check_writeable(idx, "idx");
  check_shape(idx, "idx", {index_t(z.shape(0))});
  check_overlaps({{&out, "out"}, {&idx, "idx"}}, {{&z, "z"}});
  const index_t groups = z.shape(0), pieces = z.shape(1);
  std::int64_t* ip = static_cast<std::int64_t*>(idx.mutable_data());
  if (is_float32(z)) {
    const float* zp = cptr<float>(z);
    float* yp = mptr<float>(out);
    py::gil_scoped_release release;
    maxout_forward<float>(zp, yp, ip, groups, pieces);
  } else {
    const double* zp = cptr<double>(z);
    double* yp = mptr<double>(out);
    py::gil_scoped_release release;
    maxout_forward<double>(zp, yp, ip, groups, pieces);
  }
}

void maxout_backward_binding(const py::array& grad_out, const py::array& idx, py::array grad_in) {
  check_input(grad_out, "grad_out");
  check_ndim(grad_out, "grad_out", 1);
  check_int64(idx, "idx");
  check_same_shape(idx, "idx", grad_out, "grad_out");
  check_output(grad_in, "grad_in");
  check_dtype_as(grad_in, "grad_in", grad_out, "grad_out");
  check_ndim(grad_in, "grad_in", 2);
  check_shape(grad_in, "grad_in", {index_t(grad_out.shape(0)), index_t(grad_in.shape(1))});
  check_overlaps({{&grad_in, "grad_in"}}, {{&grad_out, "grad_out"}, {&idx, "idx"}});
  const index_t groups = grad_in.shape(0), pieces = grad_in.shape(1);
  const std::int64_t* ip = static_cast<const std::int64_t*>(idx.data());
  for (index_t g = 0; g < groups; ++g)
    if (ip[g] < 0 || ip[g] >= pieces)
      throw py::value_error("idx: expected piece indices in [0, " + std::to_string(pieces) + "), got " +
                            std::to_string(ip[g]) + " at " + std::to_string(g));
  if (is_float32(grad_out)) {
    const float* gp = cptr<float>(grad_out);
    float* gz = mptr<float>(grad_in);
    py::gil_scoped_release release;
    maxout_backward<float>(gp, ip, gz, groups, pieces);
  } else {
    const double* gp = cptr<double>(grad_out);
    double* gz = mptr<double>(grad_in);
    py::gil_scoped_release release;
    maxout_backward<double>(gp, ip, gz, groups, pieces);
  }
}

}  // namespace
}  // namespace activation_ext_helpers

void bind_activation_ext(py::module_& m) {
  using namespace activation_ext_helpers;
  m.def("leaky_relu_forward", [](const py::array& x, py::array out, double slope) {
    unary(x, out, [&](auto xp, auto yp, index_t n) { leaky_relu_forward(xp, yp, n, slope); });
  }, py::arg("x"), py::arg("out"), py::arg("negative_slope"), "out = x > 0 ? x : negative_slope x");
  m.def("leaky_relu_backward", [](const py::array& g, const py::array& x, py::array gx, double slope) {
    unary_backward(g, x, gx, [&](auto gp, auto xp, auto gxp, index_t n) { leaky_relu_backward(gp, xp, gxp, n, slope); });
  }, py::arg("grad_out"), py::arg("x"), py::arg("grad_in"), py::arg("negative_slope"));
  m.def("elu_forward", [](const py::array& x, py::array out, double alpha, double scale, double input_scale) {
    unary(x, out, [&](auto xp, auto yp, index_t n) { elu_forward(xp, yp, n, alpha, scale, input_scale); });
  }, py::arg("x"), py::arg("out"), py::arg("alpha"), py::arg("scale"), py::arg("input_scale"),
     "out = x > 0 ? scale x : scale alpha (exp(input_scale x) - 1)");
  m.def("elu_backward", [](const py::array& g, const py::array& x, py::array gx, double alpha, double scale,
                           double input_scale) {
    unary_backward(g, x, gx, [&](auto gp, auto xp, auto gxp, index_t n) {
      elu_backward(gp, xp, gxp, n, alpha, scale, input_scale);
    });
  }, py::arg("grad_out"), py::arg("x"), py::arg("grad_in"), py::arg("alpha"), py::arg("scale"), py::arg("input_scale"));
  m.def("gelu_forward", [](const py::array& x, py::array out, bool tanh_approximation) {
    unary(x, out, [&](auto xp, auto yp, index_t n) { gelu_forward(xp, yp, n, tanh_approximation); });
  }, py::arg("x"), py::arg("out"), py::arg("tanh_approximation"), "out = x Phi(x) (erf form, or the tanh form)");
  m.def("gelu_backward", [](const py::array& g, const py::array& x, py::array gx, bool tanh_approximation) {
    unary_backward(g, x, gx, [&](auto gp, auto xp, auto gxp, index_t n) { gelu_backward(gp, xp, gxp, n, tanh_approximation); });
  }, py::arg("grad_out"), py::arg("x"), py::arg("grad_in"), py::arg("tanh_approximation"));
  m.def("softplus_forward", [](const py::array& x, py::array out, double beta, double threshold) {
    unary(x, out, [&](auto xp, auto yp, index_t n) { softplus_forward(xp, yp, n, beta, threshold); });
  }, py::arg("x"), py::arg("out"), py::arg("beta"), py::arg("threshold"),
     "out = beta x > threshold ? x : log1p(exp(beta x)) / beta");
  m.def("softplus_backward", [](const py::array& g, const py::array& x, py::array gx, double beta, double threshold) {
    unary_backward(g, x, gx, [&](auto gp, auto xp, auto gxp, index_t n) { softplus_backward(gp, xp, gxp, n, beta, threshold); });
  }, py::arg("grad_out"), py::arg("x"), py::arg("grad_in"), py::arg("beta"), py::arg("threshold"));
  m.def("prelu_forward", &prelu_forward_binding, py::arg("x"), py::arg("weight"), py::arg("out"),
        "x (outer, channels, inner), weight (channels,) or (1,): out = x > 0 ? x : weight[c] x");
  m.def("prelu_backward", &prelu_backward_binding, py::arg("grad_out"), py::arg("x"), py::arg("weight"),
        py::arg("grad_in"), py::arg("grad_weight") = py::none(),
        "grad_in = grad_out (x > 0 ? 1 : weight[c]); grad_weight[c] = sum over x <= 0 of grad_out x (if given)");
  m.def("maxout_forward", &maxout_forward_binding, py::arg("z"), py::arg("out"), py::arg("idx"),
        "z (groups, pieces): out[g] = max_k z[g, k], idx[g] = its first index k");
  m.def("maxout_backward", &maxout_backward_binding, py::arg("grad_out"), py::arg("idx"), py::arg("grad_in"),
        "grad_in (groups, pieces) = 0 except grad_in[g, idx[g]] = grad_out[g]");
}

}  // namespace eigengrad::bindings
