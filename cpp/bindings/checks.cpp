#include "checks.hpp"

namespace eigengrad::bindings {

std::string shape_str(const py::array& a) {
  std::ostringstream s;
  s << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s << (i ? ", " : "") << a.shape(i);
  s << (a.ndim() == 1 ? ",)" : ")");
  return s.str();
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

// dtypes compare by equality, not identity: unpickled and memory-mapped arrays carry equal dtype
// objects that are not NumPy's canonical ones (and byte-swapped dtypes stay unequal).
bool is_float32(const py::array& a) { return a.dtype().equal(py::dtype::of<float>()); }

void check_float(const py::array& a, const char* name) {
  if (!a.dtype().equal(py::dtype::of<float>()) && !a.dtype().equal(py::dtype::of<double>()))
    throw py::type_error(std::string(name) + ": expected a float32 or float64 array, got dtype " + dtype_str(a));
}

void check_dtype_as(const py::array& a, const char* name, const py::array& like, const char* like_name) {
  if (!a.dtype().equal(like.dtype()))
    throw py::type_error(std::string(name) + ": expected dtype " + dtype_str(like) + " (the dtype of " + like_name +
                         "), got " + dtype_str(a));
}

void check_int64(const py::array& a, const char* name) {
  if (!a.dtype().equal(py::dtype::of<std::int64_t>()))
    throw py::type_error(std::string(name) + ": expected an int64 array, got dtype " + dtype_str(a));
  check_contiguous(a, name);
}

void check_contiguous(const py::array& a, const char* name) {
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array, got strides that are not; "
                          "pass numpy.ascontiguousarray(...)");
}

void check_writeable(const py::array& a, const char* name) {
  if (!a.writeable())
    throw py::value_error(std::string(name) + ": expected a writeable array, got a read-only one");
}

void check_ndim(const py::array& a, const char* name, int ndim) {
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + ": expected a " + std::to_string(ndim) + "-D array, got shape " +
                          shape_str(a));
}

void check_shape(const py::array& a, const char* name, const std::vector<index_t>& shape) {
  bool same = a.ndim() == py::ssize_t(shape.size());
  for (std::size_t i = 0; same && i < shape.size(); ++i) same = a.shape(py::ssize_t(i)) == shape[i];
  if (!same) {
    std::ostringstream s;
    s << "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
    s << (shape.size() == 1 ? ",)" : ")");
    throw py::value_error(std::string(name) + ": expected shape " + s.str() + ", got " + shape_str(a));
  }
}

void check_same_shape(const py::array& a, const char* name, const py::array& like, const char* like_name) {
  std::vector<index_t> shape(like.shape(), like.shape() + like.ndim());
  try {
    check_shape(a, name, shape);
  } catch (const py::value_error& e) {
    throw py::value_error(std::string(e.what()) + " (the shape of " + like_name + ")");
  }
}

namespace {
struct Range {
  const char* begin;
  const char* end;
};
// The bytes an array can touch: for a strided (or broadcast, stride 0) array, from its lowest to its
// highest element; for a C-contiguous one, [data, data + nbytes).
Range byte_range(const py::array& a) {
  const char* p = static_cast<const char*>(a.data());
  py::ssize_t lo = 0, hi = a.itemsize();
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    const py::ssize_t span = (a.shape(d) - 1) * a.strides(d);
    (span < 0 ? lo : hi) += span;
  }
  return {p + lo, p + hi};
}
bool overlaps(const py::array& a, const py::array& b) {
  const Range ra = byte_range(a), rb = byte_range(b);
  return a.nbytes() > 0 && b.nbytes() > 0 && ra.begin < rb.end && rb.begin < ra.end;
}
}  // namespace

void check_no_partial_overlap(const py::array& out, const char* out_name, const py::array& in, const char* in_name) {
  if (overlaps(out, in) && !(out.data() == in.data() && out.nbytes() == in.nbytes()))
    throw py::value_error(std::string(out_name) + ": must be " + in_name + " itself or not overlap it in memory");
}

void check_no_overlap(const py::array& out, const char* out_name, const py::array& in, const char* in_name) {
  if (overlaps(out, in))
    throw py::value_error(std::string(out_name) + ": must not share memory with " + in_name);
}

void check_elementwise_forward(const py::array& x, const py::array& out) {
  check_input(x, "x");
  check_output(out, "out");
  check_dtype_as(out, "out", x, "x");
  check_same_shape(out, "out", x, "x");
  check_no_partial_overlap(out, "out", x, "x");
}

void check_elementwise_backward(const py::array& grad_out, const py::array& saved, const char* saved_name,
                                const py::array& grad_in) {
  check_input(grad_out, "grad_out");
  check_input(saved, saved_name);
  check_dtype_as(saved, saved_name, grad_out, "grad_out");
  check_same_shape(saved, saved_name, grad_out, "grad_out");
  check_output(grad_in, "grad_in");
  check_dtype_as(grad_in, "grad_in", grad_out, "grad_out");
  check_same_shape(grad_in, "grad_in", grad_out, "grad_out");
  check_no_partial_overlap(grad_in, "grad_in", grad_out, "grad_out");
  check_no_partial_overlap(grad_in, "grad_in", saved, saved_name);
}

void check_like(const py::array& a, const char* name, const py::array& like, const char* like_name,
                const std::vector<index_t>& shape, bool out) {
  if (out) check_output(a, name);
  else check_input(a, name);
  check_dtype_as(a, name, like, like_name);
  check_shape(a, name, shape);
}

std::optional<py::array> optional_array(const py::object& o, const char* name) {
  if (o.is_none()) return std::nullopt;
  if (!py::isinstance<py::array>(o)) throw py::type_error(std::string(name) + ": expected a numpy array or None");
  return o.cast<py::array>();
}

}  // namespace eigengrad::bindings
