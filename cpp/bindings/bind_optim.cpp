#include "checks.hpp"
#include "eigengrad/optim.hpp"

namespace eigengrad::bindings {
namespace {

template <class T>
void call_sgd(py::array& param, const py::array& grad, py::object& buf, const SgdOptions& opt) {
  T* pp = mptr<T>(param);
  const T* gp = cptr<T>(grad);
  T* bp = nullptr;
  if (!buf.is_none()) {
    py::array b = buf.cast<py::array>();
    bp = mptr<T>(b);
  }
  const index_t n = param.size();
  py::gil_scoped_release release;
  sgd_step<T>(pp, gp, bp, n, opt);
}

void sgd_binding(py::array param, const py::array& grad, py::object momentum_buffer, double lr, double momentum,
                 double dampening, double weight_decay, bool nesterov, bool maximize, bool first_step) {
  check_output(param, "param");
  check_input(grad, "grad");
  check_dtype_as(grad, "grad", param, "param");
  check_same_shape(grad, "grad", param, "param");
  check_no_overlap(param, "param", grad, "grad");
  if (momentum != 0.0) {
    if (momentum_buffer.is_none() || !py::isinstance<py::array>(momentum_buffer))
      throw py::value_error("momentum_buffer: expected an array when momentum != 0, got None");
    py::array b = momentum_buffer.cast<py::array>();
    check_output(b, "momentum_buffer");
    check_dtype_as(b, "momentum_buffer", param, "param");
    check_same_shape(b, "momentum_buffer", param, "param");
    check_no_overlap(b, "momentum_buffer", param, "param");
    check_no_overlap(b, "momentum_buffer", grad, "grad");
  } else {
    momentum_buffer = py::none();
  }
  SgdOptions opt{lr, momentum, dampening, weight_decay, nesterov, maximize, first_step};
  if (is_float32(param)) call_sgd<float>(param, grad, momentum_buffer, opt);
  else call_sgd<double>(param, grad, momentum_buffer, opt);
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("sgd_step", &sgd_binding, py::arg("param"), py::arg("grad"), py::arg("momentum_buffer"), py::kw_only(),
        py::arg("lr"), py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
        py::arg("nesterov") = false, py::arg("maximize") = false, py::arg("first_step") = true,
        "One fused SGD step (PyTorch's semantics) over a flat buffer; updates param and momentum_buffer in place.");
}

}  // namespace eigengrad::bindings
