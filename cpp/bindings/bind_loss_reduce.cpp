// Bindings of a cross-entropy's reduction and upstream gradient (loss_reduce.cpp): targets int64 (n,),
// class weights None or (c,) of the loss's dtype, every kept target in [0, c) when weights are given.
#include <optional>

#include "checks.hpp"
#include "plan_capture.hpp"
#include "eigengrad/loss.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace loss_reduce_helpers {
namespace {

// target (n,) int64; weight, when given, a (c,) array like `like`, indexed by every kept target: `values`
// then checks them in [0, c) when the kernel runs (without weights the kernel only compares them).
std::optional<py::array> checked_targets(const py::array& target, index_t n, const py::object& weight_,
                                         const py::array& like, const char* like_name, std::int64_t ignore_index,
                                         TargetCheck& values) {
  auto weight = optional_array(weight_, "weight");
  if (!weight) {
    check_int64(target, "target");
    check_shape(target, "target", {n});
    return weight;
  }
  check_ndim(*weight, "weight", 1);
  const index_t c = index_t(weight->shape(0));
  check_like(*weight, "weight", like, like_name, {c});
  values = check_targets(target, n, c, ignore_index);
  return weight;
}

// g: the upstream gradient, a 0-d float array (its dtype may differ from the output's).
void check_scalar_grad(const py::array& g) {
  check_input(g, "g");
  check_shape(g, "g", {});
}

// The upstream gradient's value, read when the kernel runs (in a plan, an earlier op writes g).
struct Upstream {
  const void* p;
  bool f32;
  double value() const { return f32 ? double(*static_cast<const float*>(p)) : *static_cast<const double*>(p); }
};

void loss_reduce_binding(const py::array& rows, const py::array& target, const py::object& weight_,
                         std::int64_t ignore_index, bool mean, py::array out) {
  check_input(rows, "rows");
  check_ndim(rows, "rows", 1);
  const index_t n = index_t(rows.shape(0));
  TargetCheck values;
  auto weight = checked_targets(target, n, weight_, rows, "rows", ignore_index, values);
  check_like(out, "out", rows, "rows", {}, true);
  check_overlaps({{&out, "out"}}, {{&rows, "rows"}, {&target, "target"}, {opt_addr(weight), "weight"}});
  const std::int64_t* t = cptr<std::int64_t>(target);
  dispatch_float(rows, [&](auto tag) {
    using T = decltype(tag);
    const T *r = cptr<T>(rows), *w = opt_cptr<T>(weight);
    T* o = mptr<T>(out);
    launch([=] {
      values();
      *o = loss_reduce<T>(r, t, n, w, ignore_index, mean);
    });
  });
}

void loss_upstream_binding(const py::array& g, const py::array& target, const py::object& weight_,
                           std::int64_t ignore_index, bool mean, py::array out) {
  check_scalar_grad(g);
  check_output(out, "out");
  check_ndim(out, "out", 1);
  const index_t n = index_t(out.shape(0));
  TargetCheck values;
  auto weight = checked_targets(target, n, weight_, out, "out", ignore_index, values);
  check_overlaps({{&out, "out"}}, {{&g, "g"}, {&target, "target"}, {opt_addr(weight), "weight"}});
  const Upstream up{g.data(), is_float32(g)};
  const std::int64_t* t = cptr<std::int64_t>(target);
  dispatch_float(out, [&](auto tag) {
    using T = decltype(tag);
    const T* w = opt_cptr<T>(weight);
    T* o = mptr<T>(out);
    launch([=] {
      values();
      loss_upstream<T>(up.value(), t, n, w, ignore_index, mean, o);
    });
  });
}

void mean_upstream_binding(const py::array& g, const py::array& target, std::int64_t ignore_index, py::array out) {
  check_scalar_grad(g);
  check_output(out, "out");
  check_ndim(out, "out", 1);
  const index_t n = index_t(out.shape(0));
  TargetCheck unused;  // (no weights: nothing indexed by the targets)
  checked_targets(target, n, py::none(), out, "out", ignore_index, unused);
  check_overlaps({{&out, "out"}}, {{&g, "g"}, {&target, "target"}});
  const std::int64_t* t = cptr<std::int64_t>(target);
  dispatch_float(out, [&](auto tag) {
    using T = decltype(tag);
    T* o = mptr<T>(out);
    if (is_float32(g)) {
      const float* gp = cptr<float>(g);
      launch([=] { mean_upstream<T, float>(*gp, t, n, ignore_index, o); });
    } else {
      const double* gp = cptr<double>(g);
      launch([=] { mean_upstream<T, double>(*gp, t, n, ignore_index, o); });
    }
  });
}

}  // namespace
}  // namespace loss_reduce_helpers

void bind_loss_reduce(py::module_& m) {
  using namespace loss_reduce_helpers;
  def_capturable(m, "loss_reduce", &loss_reduce_binding, py::arg("rows"), py::arg("target"), py::arg("weight"),
        py::arg("ignore_index"), py::arg("mean"), py::arg("out"),
        "out (0-d) = the sum of the per-row losses (in float64, fixed order), for 'mean' divided by the number of "
        "rows not ignored or, with class weights, the sum of their targets' weights (NaN when 0), as PyTorch.");
  def_capturable(m, "loss_upstream", &loss_upstream_binding, py::arg("g"), py::arg("target"), py::arg("weight"),
        py::arg("ignore_index"), py::arg("mean"), py::arg("out"),
        "out[:] = g ('sum') or g / the 'mean' divisor of loss_reduce (computed in float64): each row's gradient.");
  def_capturable(m, "mean_upstream", &mean_upstream_binding, py::arg("g"), py::arg("target"), py::arg("ignore_index"),
        py::arg("out"), "out[:] = g / (the number of rows not ignored), divided in g's dtype (NaN when 0).");
}

}  // namespace eigengrad::bindings
