// Bindings of gather, scatter, index_select and index_add: arrays viewed as (outer, n, inner) with the
// indexed dim in the middle, C-contiguous; indices int64, each checked to lie in [0, n) before the kernel
// runs (an IndexError names the first bad one). Outputs are writeable, of the input's dtype and share no
// memory with the inputs. Data movement works for any dtype (bits are copied by element size); the
// accumulating ops take float32, float64, int64 and int32.
#include <cstring>

#include "checks.hpp"
#include "eigengrad/index.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace index_helpers {
namespace {

struct Geometry {
  index_t outer, n, inner, m;
};

void check_any_array(const py::array& a, const char* name, int ndim) {
  check_contiguous(a, name);
  check_ndim(a, name, ndim);
}

void check_out(const py::array& out, const char* name, const py::array& like, const char* like_name,
               const std::vector<index_t>& shape) {
  check_any_array(out, name, int(shape.size()));
  check_writeable(out, name);
  check_dtype_as(out, name, like, like_name);
  check_shape(out, name, shape);
}

void check_indices(const py::array& index, index_t n) {
  const index_t bad = first_bad_index(cptr<std::int64_t>(index), index_t(index.size()), n);
  if (bad >= 0)
    throw py::index_error("index: index " + std::to_string(cptr<std::int64_t>(index)[bad]) +
                          " is out of bounds for size " + std::to_string(n));
}

// Calls f(T{}) with T the unsigned integer of the element size (bit copies).
template <class F>
void by_size(const py::array& a, F&& f) {
  switch (a.itemsize()) {
    case 1: f(std::uint8_t{}); break;
    case 2: f(std::uint16_t{}); break;
    case 4: f(std::uint32_t{}); break;
    case 8: f(std::uint64_t{}); break;
    default: throw py::type_error("x: elements of " + std::to_string(a.itemsize()) + " bytes are not supported");
  }
}

// Calls f(T{}) for the arithmetic dtypes of the accumulating kernels.
template <class F>
void by_arithmetic_dtype(const py::array& a, const char* name, F&& f) {
  if (a.dtype().equal(py::dtype::of<float>()))
    f(float{});
  else if (a.dtype().equal(py::dtype::of<double>()))
    f(double{});
  else if (a.dtype().equal(py::dtype::of<std::int64_t>()))
    f(std::int64_t{});
  else if (a.dtype().equal(py::dtype::of<std::int32_t>()))
    f(std::int32_t{});
  else
    throw py::type_error(std::string(name) + ": expected a float32, float64, int64 or int32 array, got dtype " +
                         dtype_str(a));
}

void gather_binding(const py::array& x, const py::array& index, py::array out) {
  check_any_array(x, "x", 3);
  check_int64(index, "index");
  check_ndim(index, "index", 3);
  const Geometry g{index_t(x.shape(0)), index_t(x.shape(1)), index_t(x.shape(2)), index_t(index.shape(1))};
  check_shape(index, "index", {g.outer, g.m, g.inner});
  check_out(out, "out", x, "x", {g.outer, g.m, g.inner});
  check_overlaps({{&out, "out"}}, {{&x, "x"}, {&index, "index"}});
  check_indices(index, g.n);
  by_size(x, [&](auto t) {
    using T = decltype(t);
    const T* xp = cptr<T>(x);
    T* op = mptr<T>(out);
    py::gil_scoped_release release;
    gather<T>(xp, g.outer, g.n, g.inner, cptr<std::int64_t>(index), g.m, op);
  });
}

void index_select_binding(const py::array& x, const py::array& index, py::array out) {
  check_any_array(x, "x", 3);
  check_int64(index, "index");
  check_ndim(index, "index", 1);
  const Geometry g{index_t(x.shape(0)), index_t(x.shape(1)), index_t(x.shape(2)), index_t(index.shape(0))};
  check_out(out, "out", x, "x", {g.outer, g.m, g.inner});
  check_overlaps({{&out, "out"}}, {{&x, "x"}, {&index, "index"}});
  check_indices(index, g.n);
  by_size(x, [&](auto t) {
    using T = decltype(t);
    const T* xp = cptr<T>(x);
    T* op = mptr<T>(out);
    py::gil_scoped_release release;
    index_select<T>(xp, g.outer, g.n, g.inner, cptr<std::int64_t>(index), g.m, op);
  });
}

ScatterOp scatter_op(const std::string& reduce) {
  if (reduce == "assign") return ScatterOp::Assign;
  if (reduce == "add") return ScatterOp::Add;
  if (reduce == "multiply") return ScatterOp::Multiply;
  if (reduce == "amax") return ScatterOp::Max;
  if (reduce == "amin") return ScatterOp::Min;
  throw py::value_error("reduce: expected 'assign', 'add', 'multiply', 'amax' or 'amin', got '" + reduce + "'");
}

void scatter_binding(py::array out, const py::array& index, const py::array& src, const std::string& reduce) {
  const ScatterOp op = scatter_op(reduce);
  check_any_array(out, "out", 3);
  check_writeable(out, "out");
  check_int64(index, "index");
  check_ndim(index, "index", 3);
  const Geometry g{index_t(out.shape(0)), index_t(out.shape(1)), index_t(out.shape(2)), index_t(index.shape(1))};
  check_shape(index, "index", {g.outer, g.m, g.inner});
  check_any_array(src, "src", 3);
  check_dtype_as(src, "src", out, "out");
  check_shape(src, "src", {g.outer, g.m, g.inner});
  check_overlaps({{&out, "out"}}, {{&index, "index"}, {&src, "src"}});
  check_indices(index, g.n);
  const std::int64_t* ip = cptr<std::int64_t>(index);
  if (op == ScatterOp::Assign) {
    by_size(out, [&](auto t) {
      using U = decltype(t);  // bit copies through the signed/unsigned integer of the element size
      using T = std::conditional_t<sizeof(U) == 4, std::int32_t, std::conditional_t<sizeof(U) == 8, std::int64_t, U>>;
      T* op_ = mptr<T>(out);
      const T* sp = cptr<T>(src);
      py::gil_scoped_release release;
      scatter<T>(op_, g.outer, g.n, g.inner, ip, g.m, sp, ScatterOp::Assign);
    });
    return;
  }
  by_arithmetic_dtype(out, "out", [&](auto t) {
    using T = decltype(t);
    T* op_ = mptr<T>(out);
    const T* sp = cptr<T>(src);
    py::gil_scoped_release release;
    scatter<T>(op_, g.outer, g.n, g.inner, ip, g.m, sp, op);
  });
}

void index_add_binding(py::array out, const py::array& index, const py::array& src, double alpha) {
  check_any_array(out, "out", 3);
  check_writeable(out, "out");
  check_int64(index, "index");
  check_ndim(index, "index", 1);
  const Geometry g{index_t(out.shape(0)), index_t(out.shape(1)), index_t(out.shape(2)), index_t(index.shape(0))};
  check_any_array(src, "src", 3);
  check_dtype_as(src, "src", out, "out");
  check_shape(src, "src", {g.outer, g.m, g.inner});
  check_overlaps({{&out, "out"}}, {{&index, "index"}, {&src, "src"}});
  check_indices(index, g.n);
  by_arithmetic_dtype(out, "out", [&](auto t) {
    using T = decltype(t);
    T* op_ = mptr<T>(out);
    const T* sp = cptr<T>(src);
    py::gil_scoped_release release;
    index_add<T>(op_, g.outer, g.n, g.inner, cptr<std::int64_t>(index), g.m, sp, T(alpha));
  });
}

}  // namespace
}  // namespace index_helpers

void bind_index(py::module_& m) {
  using namespace index_helpers;
  m.def("gather", &gather_binding, py::arg("x"), py::arg("index"), py::arg("out"),
        "out[o, j, i] = x[o, index[o, j, i], i]; x (outer, n, inner), index and out (outer, m, inner).");
  m.def("index_select", &index_select_binding, py::arg("x"), py::arg("index"), py::arg("out"),
        "out[o, j, i] = x[o, index[j], i]; x (outer, n, inner), index (m,), out (outer, m, inner).");
  m.def("scatter", &scatter_binding, py::arg("out"), py::arg("index"), py::arg("src"), py::arg("reduce"),
        "For j in order: out[o, index[o, j, i], i] (op)= src[o, j, i], op 'assign', 'add', 'multiply', 'amax' or "
        "'amin'; out (outer, n, inner) in place, index and src (outer, m, inner).");
  m.def("index_add", &index_add_binding, py::arg("out"), py::arg("index"), py::arg("src"), py::arg("alpha"),
        "For j in order: out[o, index[j], i] += alpha * src[o, j, i]; out (outer, n, inner) in place, index (m,), "
        "src (outer, m, inner).");
}

}  // namespace eigengrad::bindings
