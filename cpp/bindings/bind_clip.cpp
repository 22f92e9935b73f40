// Gradient clipping over a Python list of gradient arrays: one kernel call for the whole list.
#include <cmath>
#include <string>
#include <vector>

#include "checks.hpp"
#include "eigengrad/clip.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace clip_helpers {
namespace {

// A checked list of gradient arrays: float, all of one dtype, C-contiguous; for in-place use also
// writeable and pairwise disjoint (two views of one memory would be scaled twice, and raced on).
struct GradList {
  std::vector<py::array> arrays;  // holds the references while the GIL is released
  std::vector<index_t> sizes;
  index_t total = 0;
  bool float32() const { return !arrays.empty() && is_float32(arrays[0]); }
};

std::string item_name(std::size_t i) { return "grads[" + std::to_string(i) + "]"; }

// The overlap rule over the list: every array is written in place, so no two may share memory (two
// views of one memory would be scaled twice, and raced on).
void check_disjoint(const GradList& g) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < g.arrays.size(); ++i) names.push_back(item_name(i));
  std::vector<Named> outputs;
  for (std::size_t i = 0; i < g.arrays.size(); ++i) outputs.push_back({&g.arrays[i], names[i].c_str()});
  check_overlaps(outputs, {});
}

GradList checked_list(const py::object& grads, bool in_place) {
  if (!py::isinstance<py::list>(grads) && !py::isinstance<py::tuple>(grads))
    throw py::type_error("grads: expected a list of arrays, got " +
                         py::str(py::type::of(grads).attr("__name__")).cast<std::string>());
  GradList g;
  const py::sequence seq = grads.cast<py::sequence>();
  for (std::size_t i = 0; i < seq.size(); ++i) {
    const py::object item = seq[i];
    const std::string name = item_name(i);
    if (!py::isinstance<py::array>(item))
      throw py::type_error(name + ": expected a numpy array, got " +
                           py::str(py::type::of(item).attr("__name__")).cast<std::string>());
    py::array a = item.cast<py::array>();
    if (in_place) check_output(a, name.c_str());
    else check_input(a, name.c_str());
    if (i > 0) check_dtype_as(a, name.c_str(), g.arrays[0], "grads[0]");
    g.sizes.push_back(index_t(a.size()));
    g.total += index_t(a.size());
    g.arrays.push_back(std::move(a));
  }
  if (in_place) check_disjoint(g);
  return g;
}

void check_norm_type(double norm_type, const GradList& g) {
  if (std::isnan(norm_type)) throw py::value_error("norm_type: expected a number or inf, got nan");
  if (norm_type == -INFINITY && g.total == 0)
    throw py::value_error("norm_type: the -inf norm (min |g|) of zero gradient elements is undefined");
}

void check_non_negative(double value, const char* name) {
  if (!(value >= 0.0))
    throw py::value_error(std::string(name) + ": expected a value >= 0, got " + std::to_string(value));
}

template <class T>
std::vector<T*> mutable_pointers(GradList& g) {
  std::vector<T*> p;
  for (auto& a : g.arrays) p.push_back(mptr<T>(a));
  return p;
}

template <class T>
double call_norm(const GradList& g, double norm_type) {
  std::vector<const T*> p;
  for (const auto& a : g.arrays) p.push_back(cptr<T>(a));
  py::gil_scoped_release release;
  return grad_norm<T>(p.data(), g.sizes.data(), index_t(p.size()), norm_type);
}

template <class T>
double call_clip_norm(GradList& g, double max_norm, double norm_type, bool scale_if_nonfinite) {
  std::vector<T*> p = mutable_pointers<T>(g);
  py::gil_scoped_release release;
  return clip_grad_norm<T>(p.data(), g.sizes.data(), index_t(p.size()), max_norm, norm_type, scale_if_nonfinite);
}

template <class T>
void call_scale(GradList& g, double coef) {
  std::vector<T*> p = mutable_pointers<T>(g);
  py::gil_scoped_release release;
  scale_segments<T>(p.data(), g.sizes.data(), index_t(p.size()), T(coef));
}

template <class T>
void call_clip_value(GradList& g, double clip_value) {
  std::vector<T*> p = mutable_pointers<T>(g);
  py::gil_scoped_release release;
  clip_grad_value<T>(p.data(), g.sizes.data(), index_t(p.size()), T(clip_value));
}

double grad_norm_binding(const py::object& grads, double norm_type) {
  const GradList g = checked_list(grads, false);
  check_norm_type(norm_type, g);
  if (g.arrays.empty()) return 0.0;
  return g.float32() ? call_norm<float>(g, norm_type) : call_norm<double>(g, norm_type);
}

double clip_grad_norm_binding(const py::object& grads, double max_norm, double norm_type, bool scale_if_nonfinite) {
  GradList g = checked_list(grads, true);
  check_non_negative(max_norm, "max_norm");
  check_norm_type(norm_type, g);
  if (g.arrays.empty()) return 0.0;
  return g.float32() ? call_clip_norm<float>(g, max_norm, norm_type, scale_if_nonfinite)
                     : call_clip_norm<double>(g, max_norm, norm_type, scale_if_nonfinite);
}

void scale_binding(const py::object& grads, double coef) {
  GradList g = checked_list(grads, true);
  if (g.arrays.empty()) return;
  if (g.float32()) call_scale<float>(g, coef);
  else call_scale<double>(g, coef);
}

void clip_grad_value_binding(const py::object& grads, double clip_value) {
  GradList g = checked_list(grads, true);
  if (g.arrays.empty()) return;
  if (g.float32()) call_clip_value<float>(g, clip_value);
  else call_clip_value<double>(g, clip_value);
}

}  // namespace
}  // namespace clip_helpers

void bind_clip(py::module_& m) {
  using namespace clip_helpers;
  m.def("grad_norm", &grad_norm_binding, py::arg("grads"), py::arg("norm_type"),
        "The norm of a list of arrays (one dtype) viewed as one vector, summed in double; reads only.");
  m.def("clip_grad_norm", &clip_grad_norm_binding, py::arg("grads"), py::kw_only(), py::arg("max_norm"),
        py::arg("norm_type") = 2.0, py::arg("scale_if_nonfinite") = true,
        "Computes the total norm n of the arrays and scales them all in place by min(max_norm / (n + 1e-6), 1) "
        "in one call; returns n. With scale_if_nonfinite=False a non-finite n leaves the arrays alone.");
  m.def("scale_grads", &scale_binding, py::arg("grads"), py::arg("coef"),
        "Multiplies every array of the list by coef, in place.");
  m.def("clip_grad_value", &clip_grad_value_binding, py::arg("grads"), py::kw_only(), py::arg("clip_value"),
        "Clamps every element of the arrays to [-clip_value, clip_value], in place (a negative clip_value: every "
        "element becomes clip_value, as torch.clamp with min > max).");
}

}  // namespace eigengrad::bindings
