// Binding of the strided copy (Tensor.contiguous, a reshape that must copy): check src and out, release the
// GIL (or capture the call for eg.compile's executor), copy.
#include <algorithm>
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

}  // namespace
}  // namespace copy_helpers

void bind_copy(py::module_& m) {
  using namespace copy_helpers;
  def_capturable(m, "strided_copy", &strided_copy_binding, py::arg("src"), py::arg("out"),
                 "out[...] = src for out C-contiguous and of src's shape and dtype (elements of 1, 2, 4 or 8 bytes), "
                 "src of any strides; the two must not overlap.");
}

}  // namespace eigengrad::bindings
