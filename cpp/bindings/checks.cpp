#include "checks.hpp"

#include <algorithm>
#include <exception>
#include <cstring>

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

void check_mask(const py::array& mask, const char* name, bool writeable) {
  if (!mask.dtype().equal(py::dtype::of<std::uint8_t>()))
    throw py::type_error(std::string(name) + ": expected a uint8 array, got dtype " + dtype_str(mask));
  check_contiguous(mask, name);
  if (writeable) check_writeable(mask, name);
}

void check_threshold(std::uint64_t threshold) {
  if (threshold > (std::uint64_t(1) << 32))
    throw py::value_error("threshold: expected 0 <= threshold <= 2**32, got " + std::to_string(threshold));
}

void check_contiguous(const py::array& a, const char* name) {
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array, got strides that are not; "
                          "pass numpy.ascontiguousarray(...)");
  // Kernels load whole elements (and SIMD vectors of them): an element split across an alignment
  // boundary is undefined behaviour, and a fault with aligned vector loads.
  if (!(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw py::value_error(std::string(name) + ": expected an aligned array, got data at an address that is not a "
                          "multiple of its item size; pass numpy.ascontiguousarray(...) or a copy");
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

// The bytes [begin, end) an array's elements span, whatever its strides.
struct Extent {
  const char* begin;
  const char* end;
};
Extent extent(const py::array& a) {
  const char* p = static_cast<const char*>(a.data());
  if (a.size() == 0) return {p, p};
  py::ssize_t lo = 0, hi = a.itemsize();
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    const py::ssize_t span = a.strides(i) * (a.shape(i) - 1);
    (span < 0 ? lo : hi) += span;
  }
  return {p + lo, p + hi};
}

bool same_view(const py::array& a, const py::array& b) {
  if (a.data() != b.data() || a.ndim() != b.ndim() || a.itemsize() != b.itemsize()) return false;
  for (py::ssize_t i = 0; i < a.ndim(); ++i)
    if (a.shape(i) != b.shape(i) || a.strides(i) != b.strides(i)) return false;
  return true;
}

bool may_alias(const char* out, const char* in, const std::vector<InPlace>& in_place) {
  for (const InPlace& p : in_place)
    if (std::strcmp(p.output, out) == 0 && std::strcmp(p.input, in) == 0) return true;
  return false;
}

// One array of a call: its bytes, its name, whether it is written, and its position in the argument
// lists (a message about two outputs names the later one first).
struct Entry {
  Extent bytes;
  const Named* named;
  bool output;
  std::size_t order;
};

// Two arrays whose bytes intersect, at least one written.
void judge(const Entry& a, const Entry& b, const std::vector<InPlace>& in_place) {
  const Entry& out = a.output && (!b.output || a.order > b.order) ? a : b;
  const Entry& other = &out == &a ? b : a;
  const char *out_name = out.named->name, *other_name = other.named->name;
  if (!other.output && may_alias(out_name, other_name, in_place)) {
    if (same_view(*out.named->array, *other.named->array)) return;
    throw py::value_error(std::string(out_name) + ": must be " + other_name + " itself or not overlap it in memory, "
                          "got a partial overlap");
  }
  throw py::value_error(std::string(out_name) + ": must not share memory with " + other_name);
}

}  // namespace

void check_overlaps(const std::vector<Named>& outputs, const std::vector<Named>& inputs,
                    const std::vector<InPlace>& in_place) {
  std::vector<Entry> entries;
  for (const auto* list : {&outputs, &inputs})
    for (const Named& n : *list) {
      if (n.array == nullptr) continue;
      const Extent e = extent(*n.array);
      if (e.begin != e.end) entries.push_back({e, &n, list == &outputs, entries.size()});
    }
  // A sweep over the arrays sorted by first byte: each meets the earlier ones that still extend past
  // its start (O(n log n) for the long gradient lists of clipping, where nothing overlaps).
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.bytes.begin != b.bytes.begin ? a.bytes.begin < b.bytes.begin : a.order < b.order;
  });
  std::vector<const Entry*> open;
  for (const Entry& e : entries) {
    open.erase(std::remove_if(open.begin(), open.end(), [&](const Entry* o) { return o->bytes.end <= e.bytes.begin; }),
               open.end());
    for (const Entry* o : open)
      if (o->output || e.output) judge(*o, e, in_place);
    open.push_back(&e);
  }
}

void check_elementwise_forward(const py::array& x, const py::array& out) {
  check_input(x, "x");
  check_output(out, "out");
  check_dtype_as(out, "out", x, "x");
  check_same_shape(out, "out", x, "x");
  check_overlaps({{&out, "out"}}, {{&x, "x"}}, {{"out", "x"}});
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
  check_overlaps({{&grad_in, "grad_in"}}, {{&grad_out, "grad_out"}, {&saved, saved_name}},
                 {{"grad_in", "grad_out"}, {"grad_in", saved_name}});
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

TargetCheck check_targets(const py::array& target, index_t n, index_t c, std::int64_t ignore_index) {
  check_int64(target, "target");
  check_shape(target, "target", {n});
  return {cptr<std::int64_t>(target), n, c, ignore_index};
}

void TargetCheck::operator()() const {
  for (index_t i = 0; t && i < n; ++i) {
    if (t[i] != ignore_index && (t[i] < 0 || t[i] >= c))
      throw IndexArgumentError("target: class index " + std::to_string(t[i]) + " at position " + std::to_string(i) +
                               " is out of range; expected 0 <= target < " + std::to_string(c) +
                               " or ignore_index (" + std::to_string(ignore_index) + ")");
  }
}

void register_error_translators() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const IndexArgumentError& e) {  // (eigengrad._errors is imported with the package)
      PyErr_SetString(py::module_::import("eigengrad._errors").attr("ArgumentIndexError").ptr(), e.what());
    }
  });
}

}  // namespace eigengrad::bindings
