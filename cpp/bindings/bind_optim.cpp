// Bindings of the update rules: check param, grad and every state buffer (float dtype like param,
// C-contiguous, same shape, writeable, no memory shared between any two), then release the GIL and
// run one fused kernel over the whole buffer.
#include <utility>
#include <vector>

#include "checks.hpp"
#include "eigengrad/optim.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace optim_helpers {
namespace {

// param, grad and the state buffers of one call, checked together.
class UpdateBuffers {
 public:
  UpdateBuffers(py::array param, py::array grad) : param_(std::move(param)), grad_(std::move(grad)) {
    check_output(param_, "param");
    check_input(grad_, "grad");
    check_dtype_as(grad_, "grad", param_, "param");
    check_same_shape(grad_, "grad", param_, "param");
    named_.push_back({param_, "param"});
  }

  // A state buffer the rule updates in place; None is accepted only when !needed (returns slot -1).
  int state(const py::object& obj, const char* name, bool needed) {
    if (!needed) return -1;
    if (obj.is_none() || !py::isinstance<py::array>(obj))
      throw py::type_error(std::string(name) + ": expected a float array like param with these options, got " +
                           std::string(py::str(py::type::of(obj).attr("__name__"))));
    py::array a = obj.cast<py::array>();
    check_output(a, name);
    check_dtype_as(a, name, param_, "param");
    check_same_shape(a, name, param_, "param");
    named_.push_back({a, name});
    return static_cast<int>(named_.size()) - 1;
  }

  // The overlap rule: param and the state buffers (all updated in place) against grad and each other.
  void check_memory() const {
    std::vector<Named> outputs;
    for (const auto& [a, name] : named_) outputs.push_back({&a, name});
    check_overlaps(outputs, {{&grad_, "grad"}});
  }

  bool float32() const { return is_float32(param_); }
  index_t size() const { return param_.size(); }
  template <class T>
  T* param() { return mptr<T>(param_); }
  template <class T>
  const T* grad() const { return cptr<T>(grad_); }
  template <class T>
  T* at(int slot) { return slot < 0 ? nullptr : mptr<T>(named_[static_cast<std::size_t>(slot)].first); }

 private:
  py::array param_, grad_;
  std::vector<std::pair<py::array, const char*>> named_;  // param and the state buffers: written
};

// Checks the overlap rule, then runs body.template operator()<T>() for the dtype of the buffers, without
// the GIL.
template <class Body>
void run_typed(UpdateBuffers& bufs, Body&& body) {
  bufs.check_memory();
  const bool f32 = bufs.float32();  // reads the dtype object: needs the GIL
  py::gil_scoped_release release;
  if (f32) body(float{});
  else body(double{});
}

void check_step(std::int64_t step) {
  if (step < 1) throw py::value_error("step: expected the 1-based count of this update, got " + std::to_string(step));
}

void sgd(py::array param, py::array grad, py::object momentum_buffer, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov, bool maximize, bool first_step) {
  UpdateBuffers b(std::move(param), std::move(grad));
  const int buf = b.state(momentum_buffer, "momentum_buffer", momentum != 0.0);
  const SgdOptions o{lr, momentum, dampening, weight_decay, nesterov, maximize, first_step};
  run_typed(b, [&](auto tag) {
    using T = decltype(tag);
    sgd_step<T>(b.param<T>(), b.grad<T>(), b.at<T>(buf), b.size(), o);
  });
}

void adam(py::array param, py::array grad, py::object exp_avg, py::object exp_avg_sq, py::object max_exp_avg_sq,
          double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled_weight_decay,
          bool amsgrad, bool maximize, std::int64_t step) {
  check_step(step);
  UpdateBuffers b(std::move(param), std::move(grad));
  const int m = b.state(exp_avg, "exp_avg", true), v = b.state(exp_avg_sq, "exp_avg_sq", true);
  const int vmax = b.state(max_exp_avg_sq, "max_exp_avg_sq", amsgrad);
  const AdamOptions o{lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, amsgrad, maximize, step};
  run_typed(b, [&](auto tag) {
    using T = decltype(tag);
    adam_step<T>(b.param<T>(), b.grad<T>(), b.at<T>(m), b.at<T>(v), b.at<T>(vmax), b.size(), o);
  });
}

void nadam(py::array param, py::array grad, py::object exp_avg, py::object exp_avg_sq, double lr, double beta1,
           double beta2, double eps, double weight_decay, double momentum_decay, bool decoupled_weight_decay,
           bool maximize, std::int64_t step, double mu_product) {
  check_step(step);
  UpdateBuffers b(std::move(param), std::move(grad));
  const int m = b.state(exp_avg, "exp_avg", true), v = b.state(exp_avg_sq, "exp_avg_sq", true);
  const NAdamOptions o{lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize, step,
                       mu_product};
  run_typed(b, [&](auto tag) {
    using T = decltype(tag);
    nadam_step<T>(b.param<T>(), b.grad<T>(), b.at<T>(m), b.at<T>(v), b.size(), o);
  });
}

void adamax(py::array param, py::array grad, py::object exp_avg, py::object exp_inf, double lr, double beta1,
            double beta2, double eps, double weight_decay, bool maximize, std::int64_t step) {
  check_step(step);
  UpdateBuffers b(std::move(param), std::move(grad));
  const int m = b.state(exp_avg, "exp_avg", true), u = b.state(exp_inf, "exp_inf", true);
  const AdamaxOptions o{lr, beta1, beta2, eps, weight_decay, maximize, step};
  run_typed(b, [&](auto tag) {
    using T = decltype(tag);
    adamax_step<T>(b.param<T>(), b.grad<T>(), b.at<T>(m), b.at<T>(u), b.size(), o);
  });
}

void radam(py::array param, py::array grad, py::object exp_avg, py::object exp_avg_sq, double lr, double beta1,
           double beta2, double eps, double weight_decay, bool decoupled_weight_decay, bool maximize,
           std::int64_t step) {
  check_step(step);
  UpdateBuffers b(std::move(param), std::move(grad));
  const int m = b.state(exp_avg, "exp_avg", true), v = b.state(exp_avg_sq, "exp_avg_sq", true);
  const RAdamOptions o{lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, maximize, step};
  run_typed(b, [&](auto tag) {
    using T = decltype(tag);
    radam_step<T>(b.param<T>(), b.grad<T>(), b.at<T>(m), b.at<T>(v), b.size(), o);
  });
}

void adagrad(py::array param, py::array grad, py::object state_sum, double lr, double lr_decay, double weight_decay,
             double eps, bool maximize, std::int64_t step) {
  check_step(step);
  UpdateBuffers b(std::move(param), std::move(grad));
  const int s = b.state(state_sum, "state_sum", true);
  const AdagradOptions o{lr, lr_decay, weight_decay, eps, maximize, step};
  run_typed(b, [&](auto tag) {
    using T = decltype(tag);
    adagrad_step<T>(b.param<T>(), b.grad<T>(), b.at<T>(s), b.size(), o);
  });
}

void rmsprop(py::array param, py::array grad, py::object square_avg, py::object grad_avg, py::object momentum_buffer,
             double lr, double alpha, double eps, double weight_decay, double momentum, bool centered, bool maximize) {
  UpdateBuffers b(std::move(param), std::move(grad));
  const int v = b.state(square_avg, "square_avg", true), ga = b.state(grad_avg, "grad_avg", centered);
  const int buf = b.state(momentum_buffer, "momentum_buffer", momentum > 0.0);
  const RmspropOptions o{lr, alpha, eps, weight_decay, momentum, centered, maximize};
  run_typed(b, [&](auto tag) {
    using T = decltype(tag);
    rmsprop_step<T>(b.param<T>(), b.grad<T>(), b.at<T>(v), b.at<T>(ga), b.at<T>(buf), b.size(), o);
  });
}

void adadelta(py::array param, py::array grad, py::object square_avg, py::object acc_delta, double lr, double rho,
              double eps, double weight_decay, bool maximize) {
  UpdateBuffers b(std::move(param), std::move(grad));
  const int v = b.state(square_avg, "square_avg", true), u = b.state(acc_delta, "acc_delta", true);
  const AdadeltaOptions o{lr, rho, eps, weight_decay, maximize};
  run_typed(b, [&](auto tag) {
    using T = decltype(tag);
    adadelta_step<T>(b.param<T>(), b.grad<T>(), b.at<T>(v), b.at<T>(u), b.size(), o);
  });
}

}  // namespace
}  // namespace optim_helpers

void bind_optim(py::module_& m) {
  using namespace optim_helpers;
  using py::arg;
  m.def("sgd_step", &sgd, arg("param"), arg("grad"), arg("momentum_buffer"), py::kw_only(), arg("lr"),
        arg("momentum") = 0.0, arg("dampening") = 0.0, arg("weight_decay") = 0.0, arg("nesterov") = false,
        arg("maximize") = false, arg("first_step") = true,
        "One fused SGD step (PyTorch's semantics) over a flat buffer; updates param and momentum_buffer in place.");
  m.def("adam_step", &adam, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_avg_sq"), arg("max_exp_avg_sq"),
        py::kw_only(), arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay") = 0.0,
        arg("decoupled_weight_decay") = false, arg("amsgrad") = false, arg("maximize") = false, arg("step"),
        "One fused Adam/AdamW step (step: 1-based count); updates param and the moments in place.");
  m.def("nadam_step", &nadam, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_avg_sq"), py::kw_only(),
        arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay") = 0.0, arg("momentum_decay"),
        arg("decoupled_weight_decay") = false, arg("maximize") = false, arg("step"), arg("mu_product"),
        "One fused NAdam step; mu_product is the product of the momentum schedule up to this step.");
  m.def("adamax_step", &adamax, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_inf"), py::kw_only(),
        arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay") = 0.0, arg("maximize") = false,
        arg("step"), "One fused Adamax step (step: 1-based count); updates param, exp_avg and exp_inf in place.");
  m.def("radam_step", &radam, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_avg_sq"), py::kw_only(),
        arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay") = 0.0,
        arg("decoupled_weight_decay") = false, arg("maximize") = false, arg("step"),
        "One fused RAdam step (step: 1-based count); updates param and the moments in place.");
  m.def("adagrad_step", &adagrad, arg("param"), arg("grad"), arg("state_sum"), py::kw_only(), arg("lr"),
        arg("lr_decay") = 0.0, arg("weight_decay") = 0.0, arg("eps"), arg("maximize") = false, arg("step"),
        "One fused Adagrad step; updates param and state_sum in place.");
  m.def("rmsprop_step", &rmsprop, arg("param"), arg("grad"), arg("square_avg"), arg("grad_avg"),
        arg("momentum_buffer"), py::kw_only(), arg("lr"), arg("alpha"), arg("eps"), arg("weight_decay") = 0.0,
        arg("momentum") = 0.0, arg("centered") = false, arg("maximize") = false,
        "One fused RMSprop step; grad_avg is used when centered, momentum_buffer when momentum > 0.");
  m.def("adadelta_step", &adadelta, arg("param"), arg("grad"), arg("square_avg"), arg("acc_delta"), py::kw_only(),
        arg("lr"), arg("rho"), arg("eps"), arg("weight_decay") = 0.0, arg("maximize") = false,
        "One fused Adadelta step; updates param, square_avg and acc_delta in place.");
}

}  // namespace eigengrad::bindings
