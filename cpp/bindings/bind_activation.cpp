#include "checks.hpp"
#include "plan_capture.hpp"
#include "eigengrad/activation.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace activation_helpers {
namespace {

void forward(Activation kind, const py::array& x, py::array out) {
  check_elementwise_forward(x, out);
  const index_t n = x.size();
  if (is_float32(x)) {
    const float* xp = cptr<float>(x);
    float* yp = mptr<float>(out);
    launch([=] { activation_forward<float>(kind, xp, yp, n); });
  } else {
    const double* xp = cptr<double>(x);
    double* yp = mptr<double>(out);
    launch([=] { activation_forward<double>(kind, xp, yp, n); });
  }
}

void backward(Activation kind, const py::array& grad_out, const py::array& y, py::array grad_in) {
  check_elementwise_backward(grad_out, y, "y", grad_in);
  const index_t n = y.size();
  if (is_float32(y)) {
    const float *gp = cptr<float>(grad_out), *yp = cptr<float>(y);
    float* gx = mptr<float>(grad_in);
    launch([=] { activation_backward<float>(kind, gp, yp, gx, n); });
  } else {
    const double *gp = cptr<double>(grad_out), *yp = cptr<double>(y);
    double* gx = mptr<double>(grad_in);
    launch([=] { activation_backward<double>(kind, gp, yp, gx, n); });
  }
}

void def_activation(py::module_& m, const char* name, Activation kind) {
  const std::string base(name);
  def_capturable(m, (base + "_forward").c_str(), [kind](const py::array& x, py::array out) { forward(kind, x, out); },
        py::arg("x"), py::arg("out"), ("out = " + base + "(x), elementwise; out may be x").c_str());
  def_capturable(m, (base + "_backward").c_str(),
        [kind](const py::array& grad_out, const py::array& y, py::array grad_in) { backward(kind, grad_out, y, grad_in); },
        py::arg("grad_out"), py::arg("y"), py::arg("grad_in"),
        ("grad_in = grad_out * " + base + "'(x), from the saved output y").c_str());
}

}  // namespace
}  // namespace activation_helpers

void bind_activation(py::module_& m) {
  using namespace activation_helpers;
  def_activation(m, "relu", Activation::relu);
  def_activation(m, "sigmoid", Activation::sigmoid);
  def_activation(m, "tanh", Activation::tanh);
}

}  // namespace eigengrad::bindings
