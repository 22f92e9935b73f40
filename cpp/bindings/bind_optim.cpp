// Bindings of the update rules: check param, grad and every state buffer (float dtype like param,
// C-contiguous, same shape, writeable, no memory shared between any two), then release the GIL and
// run one fused kernel over the whole buffer. Each is capturable by eg.compile's executor, its scalar
// options read from the slot's register at every replay (launch_update).
#include <algorithm>
#include <utility>
#include <vector>

#include "checks.hpp"
#include "eigengrad/optim.hpp"
#include "plan_capture.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace optim_helpers {
namespace {

// The arrays of one update as raw pointers, for a call that runs now or, captured by eg.compile's executor, at
// every replay (a captured call holds no Python object).
struct RawUpdate {
  void* param;
  const void* grad;
  void* state[3];  // the state buffers by slot - 1 (UpdateBuffers::state)
  index_t n;
  template <class T>
  T* p() const { return static_cast<T*>(param); }
  template <class T>
  const T* g() const { return static_cast<const T*>(grad); }
  template <class T>
  T* at(int slot) const { return slot < 0 ? nullptr : static_cast<T*>(state[slot - 1]); }
};

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
  RawUpdate raw() {  // (a rule has at most 3 state buffers: Adam with AMSGrad, RMSprop centred with momentum)
    RawUpdate r{param_.mutable_data(), grad_.data(), {nullptr, nullptr, nullptr}, param_.size()};
    for (std::size_t k = 1; k < named_.size(); ++k) r.state[k - 1] = named_[k].first.mutable_data();
    return r;
  }

 private:
  py::array param_, grad_;
  std::vector<std::pair<py::array, const char*>> named_;  // param and the state buffers: written
};

// Checks the overlap rule, then runs body(T{}, raw, s) for the dtype of the buffers through launch_scalars: at
// once without the GIL, or (captured by eg.compile's executor) at every replay with that replay's scalars s,
// in the order given.
template <class Body>
void launch_update(UpdateBuffers& bufs, std::initializer_list<Scalar> scalars, Body body) {
  bufs.check_memory();
  const RawUpdate raw = bufs.raw();
  const bool f32 = bufs.float32();  // reads the dtype object: needs the GIL
  launch_scalars(scalars, [raw, f32, body](const double* s) {
    if (f32) body(float{}, raw, s);
    else body(double{}, raw, s);
  });
}

// A step count read back from a scalar register (the count enters only as powers beta^t and the like, which
// are 0 in double long before 2^53; the clamp keeps the conversion defined for a count near 2^63).
std::int64_t count_of(double s) { return std::int64_t(std::min(s, 0x1p62)); }

void check_step(std::int64_t step) {
  if (step < 1) throw py::value_error("step: expected the 1-based count of this update, got " + std::to_string(step));
}

void sgd(py::array param, py::array grad, py::object momentum_buffer, double lr, double momentum, double dampening,
         double weight_decay, bool nesterov, bool maximize, bool first_step) {
  UpdateBuffers b(std::move(param), std::move(grad));
  const int buf = b.state(momentum_buffer, "momentum_buffer", momentum != 0.0);
  launch_update(b,
                {{"lr", lr}, {"momentum", momentum, buf < 0}, {"dampening", dampening}, {"weight_decay", weight_decay},
                 {"nesterov", double(nesterov)}, {"maximize", double(maximize)}, {"first_step", double(first_step)}},
                [buf](auto tag, const RawUpdate& r, const double* s) {
                  using T = decltype(tag);
                  const SgdOptions o{s[0], s[1], s[2], s[3], s[4] != 0, s[5] != 0, s[6] != 0};
                  sgd_step<T>(r.p<T>(), r.g<T>(), r.at<T>(buf), r.n, o);
                });
}

void adam(py::array param, py::array grad, py::object exp_avg, py::object exp_avg_sq, py::object max_exp_avg_sq,
          double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled_weight_decay,
          bool amsgrad, bool maximize, std::int64_t step) {
  check_step(step);
  UpdateBuffers b(std::move(param), std::move(grad));
  const int m = b.state(exp_avg, "exp_avg", true), v = b.state(exp_avg_sq, "exp_avg_sq", true);
  const int vmax = b.state(max_exp_avg_sq, "max_exp_avg_sq", amsgrad);
  launch_update(b,
                {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps}, {"weight_decay", weight_decay},
                 {"decoupled_weight_decay", double(decoupled_weight_decay)}, {"amsgrad", double(amsgrad), true},
                 {"maximize", double(maximize)}, {"step", double(step)}},
                [m, v, vmax](auto tag, const RawUpdate& r, const double* s) {
                  using T = decltype(tag);
                  const AdamOptions o{s[0], s[1], s[2], s[3], s[4], s[5] != 0, s[6] != 0, s[7] != 0, count_of(s[8])};
                  adam_step<T>(r.p<T>(), r.g<T>(), r.at<T>(m), r.at<T>(v), r.at<T>(vmax), r.n, o);
                });
}

void nadam(py::array param, py::array grad, py::object exp_avg, py::object exp_avg_sq, double lr, double beta1,
           double beta2, double eps, double weight_decay, double momentum_decay, bool decoupled_weight_decay,
           bool maximize, std::int64_t step, double mu_product) {
  check_step(step);
  UpdateBuffers b(std::move(param), std::move(grad));
  const int m = b.state(exp_avg, "exp_avg", true), v = b.state(exp_avg_sq, "exp_avg_sq", true);
  launch_update(b,
                {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps}, {"weight_decay", weight_decay},
                 {"momentum_decay", momentum_decay}, {"decoupled_weight_decay", double(decoupled_weight_decay)},
                 {"maximize", double(maximize)}, {"step", double(step)}, {"mu_product", mu_product}},
                [m, v](auto tag, const RawUpdate& r, const double* s) {
                  using T = decltype(tag);
                  const NAdamOptions o{s[0], s[1], s[2], s[3], s[4], s[5], s[6] != 0, s[7] != 0, count_of(s[8]), s[9]};
                  nadam_step<T>(r.p<T>(), r.g<T>(), r.at<T>(m), r.at<T>(v), r.n, o);
                });
}

void adamax(py::array param, py::array grad, py::object exp_avg, py::object exp_inf, double lr, double beta1,
            double beta2, double eps, double weight_decay, bool maximize, std::int64_t step) {
  check_step(step);
  UpdateBuffers b(std::move(param), std::move(grad));
  const int m = b.state(exp_avg, "exp_avg", true), u = b.state(exp_inf, "exp_inf", true);
  launch_update(b,
                {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps}, {"weight_decay", weight_decay},
                 {"maximize", double(maximize)}, {"step", double(step)}},
                [m, u](auto tag, const RawUpdate& r, const double* s) {
                  using T = decltype(tag);
                  const AdamaxOptions o{s[0], s[1], s[2], s[3], s[4], s[5] != 0, count_of(s[6])};
                  adamax_step<T>(r.p<T>(), r.g<T>(), r.at<T>(m), r.at<T>(u), r.n, o);
                });
}

void radam(py::array param, py::array grad, py::object exp_avg, py::object exp_avg_sq, double lr, double beta1,
           double beta2, double eps, double weight_decay, bool decoupled_weight_decay, bool maximize,
           std::int64_t step) {
  check_step(step);
  UpdateBuffers b(std::move(param), std::move(grad));
  const int m = b.state(exp_avg, "exp_avg", true), v = b.state(exp_avg_sq, "exp_avg_sq", true);
  launch_update(b,
                {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps}, {"weight_decay", weight_decay},
                 {"decoupled_weight_decay", double(decoupled_weight_decay)}, {"maximize", double(maximize)},
                 {"step", double(step)}},
                [m, v](auto tag, const RawUpdate& r, const double* s) {
                  using T = decltype(tag);
                  const RAdamOptions o{s[0], s[1], s[2], s[3], s[4], s[5] != 0, s[6] != 0, count_of(s[7])};
                  radam_step<T>(r.p<T>(), r.g<T>(), r.at<T>(m), r.at<T>(v), r.n, o);
                });
}

void adagrad(py::array param, py::array grad, py::object state_sum, double lr, double lr_decay, double weight_decay,
             double eps, bool maximize, std::int64_t step) {
  check_step(step);
  UpdateBuffers b(std::move(param), std::move(grad));
  const int s = b.state(state_sum, "state_sum", true);
  launch_update(b,
                {{"lr", lr}, {"lr_decay", lr_decay}, {"weight_decay", weight_decay}, {"eps", eps},
                 {"maximize", double(maximize)}, {"step", double(step)}},
                [s](auto tag, const RawUpdate& r, const double* v) {
                  using T = decltype(tag);
                  const AdagradOptions o{v[0], v[1], v[2], v[3], v[4] != 0, count_of(v[5])};
                  adagrad_step<T>(r.p<T>(), r.g<T>(), r.at<T>(s), r.n, o);
                });
}

void rmsprop(py::array param, py::array grad, py::object square_avg, py::object grad_avg, py::object momentum_buffer,
             double lr, double alpha, double eps, double weight_decay, double momentum, bool centered, bool maximize) {
  UpdateBuffers b(std::move(param), std::move(grad));
  const int v = b.state(square_avg, "square_avg", true), ga = b.state(grad_avg, "grad_avg", centered);
  const int buf = b.state(momentum_buffer, "momentum_buffer", momentum > 0.0);
  launch_update(b,
                {{"lr", lr}, {"alpha", alpha}, {"eps", eps}, {"weight_decay", weight_decay},
                 {"momentum", momentum, buf < 0}, {"centered", double(centered), true}, {"maximize", double(maximize)}},
                [v, ga, buf](auto tag, const RawUpdate& r, const double* s) {
                  using T = decltype(tag);
                  const RmspropOptions o{s[0], s[1], s[2], s[3], s[4], s[5] != 0, s[6] != 0};
                  rmsprop_step<T>(r.p<T>(), r.g<T>(), r.at<T>(v), r.at<T>(ga), r.at<T>(buf), r.n, o);
                });
}

void adadelta(py::array param, py::array grad, py::object square_avg, py::object acc_delta, double lr, double rho,
              double eps, double weight_decay, bool maximize) {
  UpdateBuffers b(std::move(param), std::move(grad));
  const int v = b.state(square_avg, "square_avg", true), u = b.state(acc_delta, "acc_delta", true);
  launch_update(b,
                {{"lr", lr}, {"rho", rho}, {"eps", eps}, {"weight_decay", weight_decay}, {"maximize", double(maximize)}},
                [v, u](auto tag, const RawUpdate& r, const double* s) {
                  using T = decltype(tag);
                  const AdadeltaOptions o{s[0], s[1], s[2], s[3], s[4] != 0};
                  adadelta_step<T>(r.p<T>(), r.g<T>(), r.at<T>(v), r.at<T>(u), r.n, o);
                });
}

}  // namespace
}  // namespace optim_helpers

void bind_optim(py::module_& m) {
  using namespace optim_helpers;
  using py::arg;
  // (every rule can be captured: eg.compile runs each parameter's update as soon as its gradient is final)
  def_capturable(m, "sgd_step", &sgd, arg("param"), arg("grad"), arg("momentum_buffer"), py::kw_only(), arg("lr"),
        arg("momentum") = 0.0, arg("dampening") = 0.0, arg("weight_decay") = 0.0, arg("nesterov") = false,
        arg("maximize") = false, arg("first_step") = true,
        "One fused SGD step (PyTorch's semantics) over a flat buffer; updates param and momentum_buffer in place.");
  def_capturable(m, "adam_step", &adam, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_avg_sq"),
                 arg("max_exp_avg_sq"),
        py::kw_only(), arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay") = 0.0,
        arg("decoupled_weight_decay") = false, arg("amsgrad") = false, arg("maximize") = false, arg("step"),
        "One fused Adam/AdamW step (step: 1-based count); updates param and the moments in place.");
  def_capturable(m, "nadam_step", &nadam, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_avg_sq"), py::kw_only(),
        arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay") = 0.0, arg("momentum_decay"),
        arg("decoupled_weight_decay") = false, arg("maximize") = false, arg("step"), arg("mu_product"),
        "One fused NAdam step; mu_product is the product of the momentum schedule up to this step.");
  def_capturable(m, "adamax_step", &adamax, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_inf"), py::kw_only(),
        arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay") = 0.0, arg("maximize") = false,
        arg("step"), "One fused Adamax step (step: 1-based count); updates param, exp_avg and exp_inf in place.");
  def_capturable(m, "radam_step", &radam, arg("param"), arg("grad"), arg("exp_avg"), arg("exp_avg_sq"), py::kw_only(),
        arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay") = 0.0,
        arg("decoupled_weight_decay") = false, arg("maximize") = false, arg("step"),
        "One fused RAdam step (step: 1-based count); updates param and the moments in place.");
  def_capturable(m, "adagrad_step", &adagrad, arg("param"), arg("grad"), arg("state_sum"), py::kw_only(), arg("lr"),
        arg("lr_decay") = 0.0, arg("weight_decay") = 0.0, arg("eps"), arg("maximize") = false, arg("step"),
        "One fused Adagrad step; updates param and state_sum in place.");
  def_capturable(m, "rmsprop_step", &rmsprop, arg("param"), arg("grad"), arg("square_avg"), arg("grad_avg"),
        arg("momentum_buffer"), py::kw_only(), arg("lr"), arg("alpha"), arg("eps"), arg("weight_decay") = 0.0,
        arg("momentum") = 0.0, arg("centered") = false, arg("maximize") = false,
        "One fused RMSprop step; grad_avg is used when centered, momentum_buffer when momentum > 0.");
  def_capturable(m, "adadelta_step", &adadelta, arg("param"), arg("grad"), arg("square_avg"), arg("acc_delta"),
                 py::kw_only(),
        arg("lr"), arg("rho"), arg("eps"), arg("weight_decay") = 0.0, arg("maximize") = false,
        "One fused Adadelta step; updates param, square_avg and acc_delta in place.");
}

}  // namespace eigengrad::bindings
