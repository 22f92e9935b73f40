// Bindings of the copies and fills: the strided copy (Tensor.contiguous, a reshape that must copy), a fill of a
// float array with one value (a backward's seed of ones) and a counter's increment (BatchNorm's
// num_batches_tracked). Each checks its arguments, then releases the GIL (or is captured for eg.compile's
// executor: its _glue twin would be a Python step in the middle of a plan's native run).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "checks.hpp"
#include "eigengrad/copy.hpp"
#include "plan_capture.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace copy_helpers {
namespace {

void strided_copy_binding(const py::array& src, py::array& out) {
  check_dtype_as(out, "out", src, "src");
  const int item = int(src.itemsize());
  if (item != 1 && item != 2 && item != 4 && item != 8)
    throw py::type_error("src: expected elements of 1, 2, 4 or 8 bytes, got dtype " + dtype_str(src));
  check_same_shape(out, "out", src, "src");
  check_overlaps({{&out, "out"}}, {{&src, "src"}});
  check_contiguous(out, "out");
  check_writeable(out, "out");
  // read through its strides (any layout, broadcast views included), element by element: aligned
  if (!(src.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw py::value_error("src: expected an aligned array, got data at an address that is not a multiple of its "
                          "item size; pass a copy");
  const int nd = int(src.ndim());
  if (nd > kCopyMaxDims) throw py::value_error("src: expected at most 64 dimensions, got " + std::to_string(nd));
  std::vector<index_t> shape(src.shape(), src.shape() + nd), strides(src.strides(), src.strides() + nd);
  const void* s = src.data();
  void* d = out.mutable_data();
  launch([=] { strided_copy(s, d, item, nd, shape.data(), strides.data()); });
}

// value rounded to float as IEEE 754's conversion does (to nearest, ties to even; from half an ulp beyond the
// largest float on, an infinity): a plain cast of a value beyond the largest float is undefined behaviour.
float to_float(double value) {
  constexpr double kHalfway = 0x1p128 - 0x1p103;  // the largest float, 2^128 - 2^104, plus half its ulp
  constexpr float kMax = std::numeric_limits<float>::max();
  if (std::isnan(value) || std::fabs(value) <= double(kMax)) return float(value);
  if (std::fabs(value) >= kHalfway) return (value > 0 ? 1.0f : -1.0f) * std::numeric_limits<float>::infinity();
  return value > 0 ? kMax : -kMax;
}

// out[...] = value for a C-contiguous float array (value rounded to float32 for one, as NumPy's assignment).
void fill_binding(py::array& out, double value) {
  check_output(out, "out");
  const index_t n = index_t(out.size());
  if (is_float32(out)) {
    float* d = static_cast<float*>(out.mutable_data());
    const float v = to_float(value);
    launch([=] { std::fill(d, d + n, v); });
  } else {
    double* d = static_cast<double*>(out.mutable_data());
    launch([=] { std::fill(d, d + n, value); });
  }
}

// count += 1 for a 0-d int64 array; OverflowError at the largest int64 (NumPy's assignment of int(count) + 1
// raises there too), checked when the call runs: an earlier op of a plan may have written the count.
void increment_binding(py::array& count) {
  check_int64(count, "count");
  check_ndim(count, "count", 0);
  check_writeable(count, "count");
  if (!(count.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw py::value_error("count: expected an aligned array; pass a copy");
  std::int64_t* c = static_cast<std::int64_t*>(count.mutable_data());
  launch([=] {
    if (*c == std::numeric_limits<std::int64_t>::max())
      throw std::overflow_error("count: incrementing " + std::to_string(*c) + " overflows int64");
    *c += 1;
  });
}

}  // namespace
}  // namespace copy_helpers

void bind_copy(py::module_& m) {
  using namespace copy_helpers;
  def_capturable(m, "strided_copy", &strided_copy_binding, py::arg("src"), py::arg("out"),
                 "out[...] = src for out C-contiguous and of src's shape and dtype (elements of 1, 2, 4 or 8 bytes), "
                 "src of any strides; the two must not overlap.");
  def_capturable(m, "fill", &fill_binding, py::arg("out"), py::arg("value"),
                 "out[...] = value for out a C-contiguous float32 or float64 array (value rounded to its dtype).");
  def_capturable(m, "increment", &increment_binding, py::arg("count"),
                 "count += 1 for a 0-d int64 array (OverflowError at the largest int64).");
}

}  // namespace eigengrad::bindings
