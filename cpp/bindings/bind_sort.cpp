// Bindings of sort/argsort and topk: x (outer, n, inner) C-contiguous of a real or bool dtype; values (of x's
// dtype; None for argsort) and indices (int64) writeable outputs that share no memory with x.
#include "checks.hpp"
#include "eigengrad/sort.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace sort_helpers {
namespace {

template <class F>
void by_sortable_dtype(const py::array& a, F&& f) {
  const py::dtype d = a.dtype();
  if (d.equal(py::dtype::of<float>())) return f(float{});
  if (d.equal(py::dtype::of<double>())) return f(double{});
  if (d.equal(py::dtype::of<std::int64_t>())) return f(std::int64_t{});
  if (d.equal(py::dtype::of<std::int32_t>())) return f(std::int32_t{});
  if (d.equal(py::dtype::of<std::int16_t>())) return f(std::int16_t{});
  if (d.equal(py::dtype::of<std::int8_t>())) return f(std::int8_t{});
  if (d.equal(py::dtype::of<std::uint8_t>()) || d.equal(py::dtype::of<bool>())) return f(std::uint8_t{});
  throw py::type_error("x: expected a float32, float64, int64, int32, int16, int8, uint8 or bool array, got dtype " +
                       dtype_str(a));
}

void check_outputs(const py::array& x, const std::optional<py::array>& values, const py::array& indices,
                   const std::vector<index_t>& shape) {
  if (values) {
    check_contiguous(*values, "values");
    check_writeable(*values, "values");
    check_dtype_as(*values, "values", x, "x");
    check_shape(*values, "values", shape);
  }
  check_int64(indices, "indices");
  check_writeable(indices, "indices");
  check_shape(indices, "indices", shape);
  check_overlaps({{&indices, "indices"}, {values ? &*values : nullptr, "values"}}, {{&x, "x"}});
}

void sort_binding(const py::array& x, const py::object& values_, py::array indices, bool descending) {
  check_contiguous(x, "x");
  check_ndim(x, "x", 3);
  auto values = optional_array(values_, "values");
  const index_t outer = x.shape(0), n = x.shape(1), inner = x.shape(2);
  check_outputs(x, values, indices, {outer, n, inner});
  by_sortable_dtype(x, [&](auto t) {
    using T = decltype(t);
    const T* xp = cptr<T>(x);
    T* vp = opt_mptr<T>(values);
    std::int64_t* ip = mptr<std::int64_t>(indices);
    py::gil_scoped_release release;
    sort<T>(xp, outer, n, inner, descending, vp, ip);
  });
}

void topk_binding(const py::array& x, index_t k, bool largest, py::array values, py::array indices) {
  check_contiguous(x, "x");
  check_ndim(x, "x", 3);
  const index_t outer = x.shape(0), n = x.shape(1), inner = x.shape(2);
  if (k < 0 || k > n)
    throw py::value_error("k: expected 0 <= k <= " + std::to_string(n) + " (the size of the dim), got " +
                          std::to_string(k));
  std::optional<py::array> v(values);
  check_outputs(x, v, indices, {outer, k, inner});
  by_sortable_dtype(x, [&](auto t) {
    using T = decltype(t);
    const T* xp = cptr<T>(x);
    T* vp = mptr<T>(values);
    std::int64_t* ip = mptr<std::int64_t>(indices);
    py::gil_scoped_release release;
    topk<T>(xp, outer, n, inner, k, largest, vp, ip);
  });
}

}  // namespace
}  // namespace sort_helpers

void bind_sort(py::module_& m) {
  using namespace sort_helpers;
  m.def("sort", &sort_binding, py::arg("x"), py::arg("values"), py::arg("indices"), py::arg("descending"),
        "Stable sort of x (outer, n, inner) along n (NaN largest): values (or None) and indices (outer, n, inner).");
  m.def("topk", &topk_binding, py::arg("x"), py::arg("k"), py::arg("largest"), py::arg("values"), py::arg("indices"),
        "The k largest (or smallest) along n of x (outer, n, inner), in order, ties by index: values and indices "
        "(outer, k, inner).");
}

}  // namespace eigengrad::bindings
