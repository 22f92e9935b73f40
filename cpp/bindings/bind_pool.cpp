// Pooling kernels over planes: inputs arrive from eigengrad._kernels as (planes, h, w), planes = n * c.
// The window options are (rows, columns) pairs; the output size follows PyTorch's rule
// (pooling_output_shape: floor or ceil mode, the last window starting inside the input or left padding).
#include <algorithm>
#include <string>

#include <pybind11/stl.h>

#include "checks.hpp"
#include "plan_capture.hpp"
#include "geometry.hpp"
#include "eigengrad/index.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace pool_helpers {
namespace {

// The window options of a call, through the one geometry helper (geometry.hpp).
struct Options {
  Pair kernel, stride, padding, dilation;
  Options(const py::object& k, const py::object& s, const py::object& p, const py::object& d)
      : kernel(window_option<2>(k, "kernel_size", 1)), stride(window_option<2>(s, "stride", 1)),
        padding(window_option<2>(p, "padding", 0)), dilation(window_option<2>(d, "dilation", 1)) {}
};

void check_planes(const py::array& a, const char* name) {
  check_input(a, name);
  check_ndim(a, name, 3);
}

// An output like `like` in dtype, of the given shape.
void check_out(py::array& out, const char* name, const py::array& like, const char* like_name,
               const std::vector<index_t>& shape) {
  check_output(out, name);
  check_dtype_as(out, name, like, like_name);
  check_shape(out, name, shape);
}

// kernel(in, out) on the arrays' data as T (in's dtype, which out shares), launched (plan_capture.hpp: the
// kernel captures what it needs by value). An empty `in` leaves nothing to read: out is zero-filled without
// calling the kernel (whose per-call tables follow the output's sizes, which an empty array does not bound).
template <class Kernel>
void run_planes(const py::array& in, py::array& out, Kernel kernel) {
  if (out.size() == 0) return;
  dispatch_float(in, [&](auto tag) {
    using T = decltype(tag);
    const T* ip = cptr<T>(in);
    T* op = mptr<T>(out);
    if (in.size() == 0) {
      const index_t n = index_t(out.size());
      launch([op, n] { std::fill(op, op + n, T(0)); });
      return;
    }
    launch([ip, op, kernel] { kernel(ip, op); });
  });
}

// src is a (planes, h, w) input; dst a 3-D output of its dtype sharing no memory with it (its sizes are
// the caller's to check).
void check_plane_pair(const py::array& src, const char* src_name, py::array& dst, const char* dst_name) {
  check_planes(src, src_name);
  check_output(dst, dst_name);
  check_ndim(dst, dst_name, 3);
  check_dtype_as(dst, dst_name, src, src_name);
  check_overlaps({{&dst, dst_name}}, {{&src, src_name}});
}

// The int64 indices output of a max pool: (planes, oh, ow), writeable; with out y, apart from input x.
void check_indices_out(py::array& idx, const Pool2dGeometry& g, const py::array& x, py::array& y) {
  check_int64(idx, "indices");
  check_writeable(idx, "indices");
  check_shape(idx, "indices", {g.planes, g.oh, g.ow});
  check_overlaps({{&y, "out"}, {&idx, "indices"}}, {{&x, "input"}});
}

void max_forward(const py::array& x, py::array y, py::array idx, const py::object& kernel_size,
                 const py::object& stride, const py::object& padding, const py::object& dilation, bool ceil_mode) {
  check_planes(x, "input");
  const Options o(kernel_size, stride, padding, dilation);
  const Pool2dGeometry g =
      pool2d_geometry(x.shape(0), x.shape(1), x.shape(2), o.kernel, o.stride, o.padding, o.dilation, ceil_mode);
  check_out(y, "out", x, "input", {g.planes, g.oh, g.ow});
  check_indices_out(idx, g, x, y);
  auto* ip = static_cast<std::int64_t*>(idx.mutable_data());
  run_planes(x, y, [ip, g](auto xp, auto yp) { max_pool2d_forward(xp, yp, ip, g); });
}

// max_pool2d_backward, or with the pool's output y (not None) max_pool2d_relu_backward: the ReLU's mask folded in.
void max_backward_impl(const py::array& dy, const py::array& idx, const py::array* y, py::array& dx) {
  check_planes(dy, "grad_out");
  check_int64(idx, "indices");
  check_shape(idx, "indices", {dy.shape(0), dy.shape(1), dy.shape(2)});
  if (y != nullptr) {
    check_planes(*y, "out");
    check_dtype_as(*y, "out", dy, "grad_out");
    check_same_shape(*y, "out", dy, "grad_out");
  }
  check_output(dx, "grad_in");
  check_dtype_as(dx, "grad_in", dy, "grad_out");
  check_ndim(dx, "grad_in", 3);
  if (dx.shape(0) != dy.shape(0))
    throw py::value_error("grad_in: expected " + std::to_string(dy.shape(0)) + " planes (as grad_out), got " +
                          shape_str(dx));
  check_overlaps({{&dx, "grad_in"}}, {{&dy, "grad_out"}, {&idx, "indices"}, {y, "out"}});
  if (dx.size() == 0) return;
  const Pool2dGeometry g{dx.shape(0), dx.shape(1), dx.shape(2), dy.shape(1), dy.shape(2), 1, 1, 1, 1, 0, 0, 1, 1};
  const auto* ip = static_cast<const std::int64_t*>(idx.data());
  const index_t hw = g.h * g.w, n = idx.size();
  dispatch_float(dy, [&](auto tag) {
    using T = decltype(tag);
    const T* dyp = cptr<T>(dy);
    const T* yp = y != nullptr ? cptr<T>(*y) : nullptr;
    T* dxp = mptr<T>(dx);
    launch([=] {  // the scan of the indices too (an index out of the plane would write out of bounds): a plan
                  // runs it at every replay, on that replay's indices
      const index_t bad = first_bad_index(ip, n, hw, -1);
      if (bad >= 0)
        throw py::value_error("indices: expected values in [-1, " + std::to_string(hw) + "), got " +
                              std::to_string(ip[bad]));
      if (yp != nullptr) max_pool2d_relu_backward<T>(dyp, ip, yp, dxp, g);
      else max_pool2d_backward<T>(dyp, ip, dxp, g);
    });
  });
}

void max_backward(const py::array& dy, const py::array& idx, py::array dx) { max_backward_impl(dy, idx, nullptr, dx); }

void max_relu_backward(const py::array& dy, const py::array& idx, const py::array& y, py::array dx) {
  max_backward_impl(dy, idx, &y, dx);
}

index_t check_divisor(index_t divisor_override) {
  if (divisor_override < 0)
    throw py::value_error("divisor_override: expected a positive int or 0 (none), got " +
                          std::to_string(divisor_override));
  return divisor_override;
}

void avg_forward(const py::array& x, py::array y, const py::object& kernel_size, const py::object& stride,
                 const py::object& padding, bool ceil_mode, bool count_include_pad, index_t divisor_override) {
  check_planes(x, "input");
  const Options o(kernel_size, stride, padding, py::int_(1));
  const Pool2dGeometry g =
      pool2d_geometry(x.shape(0), x.shape(1), x.shape(2), o.kernel, o.stride, o.padding, o.dilation, ceil_mode);
  check_out(y, "out", x, "input", {g.planes, g.oh, g.ow});
  check_overlaps({{&y, "out"}}, {{&x, "input"}});
  check_divisor(divisor_override);
  run_planes(x, y, [g, count_include_pad, divisor_override](auto xp, auto yp) {
    avg_pool2d_forward(xp, yp, g, count_include_pad, divisor_override);
  });
}

void avg_backward(const py::array& dy, py::array dx, const py::object& kernel_size, const py::object& stride,
                  const py::object& padding, bool ceil_mode, bool count_include_pad, index_t divisor_override) {
  check_plane_pair(dy, "grad_out", dx, "grad_in");
  const Options o(kernel_size, stride, padding, py::int_(1));
  const Pool2dGeometry g =
      pool2d_geometry(dx.shape(0), dx.shape(1), dx.shape(2), o.kernel, o.stride, o.padding, o.dilation, ceil_mode);
  check_shape(dy, "grad_out", {g.planes, g.oh, g.ow});
  check_divisor(divisor_override);
  run_planes(dy, dx, [g, count_include_pad, divisor_override](auto dyp, auto dxp) {
    avg_pool2d_backward(dyp, dxp, g, count_include_pad, divisor_override);
  });
}

Pool2dGeometry adaptive_geometry(const py::array& in, const py::array& out) {
  if (out.shape(0) != in.shape(0))
    throw py::value_error("out: expected " + std::to_string(in.shape(0)) + " planes, got shape " + shape_str(out));
  if (out.shape(1) < 1 || out.shape(2) < 1)
    throw py::value_error("output_size: expected positive sizes, got (" + std::to_string(out.shape(1)) + ", " +
                          std::to_string(out.shape(2)) + ")");
  if (in.size() > 0 && (in.shape(1) < 1 || in.shape(2) < 1))
    throw py::value_error("input: expected non-empty planes, got shape " + shape_str(in));
  return {in.shape(0), in.shape(1), in.shape(2), out.shape(1), out.shape(2), 1, 1, 1, 1, 0, 0, 1, 1};
}

void adaptive_forward(const py::array& x, py::array y) {
  check_plane_pair(x, "input", y, "out");
  const Pool2dGeometry g = adaptive_geometry(x, y);
  run_planes(x, y, [g](auto xp, auto yp) { adaptive_avg_pool2d_forward(xp, yp, g); });
}

void adaptive_backward(const py::array& dy, py::array dx) {
  check_plane_pair(dy, "grad_out", dx, "grad_in");
  const Pool2dGeometry g = adaptive_geometry(dx, dy);
  run_planes(dy, dx, [g](auto dyp, auto dxp) { adaptive_avg_pool2d_backward(dyp, dxp, g); });
}

void adaptive_max_forward(const py::array& x, py::array y, py::array idx) {
  check_plane_pair(x, "input", y, "out");
  const Pool2dGeometry g = adaptive_geometry(x, y);
  check_indices_out(idx, g, x, y);
  auto* ip = static_cast<std::int64_t*>(idx.mutable_data());
  run_planes(x, y, [ip, g](auto xp, auto yp) { adaptive_max_pool2d_forward(xp, yp, ip, g); });
}

py::tuple options_binding(const py::object& kernel_size, const py::object& stride, const py::object& padding,
                          const py::object& dilation) {
  const Options o(kernel_size, stride, padding, dilation);
  check_pool_padding(o.kernel, o.padding);
  return py::make_tuple(o.kernel, o.stride, o.padding, o.dilation);
}

index_t output_size_binding(index_t size, const py::object& kernel_size, const py::object& padding,
                            const py::object& stride, const py::object& dilation, bool ceil_mode) {
  input_extent(size, "size");
  const index_t k = window_option<1>(kernel_size, "kernel_size", 1)[0], p = window_option<1>(padding, "padding", 0)[0];
  const index_t s = window_option<1>(stride, "stride", 1)[0], d = window_option<1>(dilation, "dilation", 1)[0];
  return pool_output_size(size, k, p, s, d, ceil_mode);
}

}  // namespace
}  // namespace pool_helpers

void bind_pool(py::module_& m) {
  using namespace pool_helpers;
  using py::arg;
  m.def("pool2d_output_size", &output_size_binding, arg("size"), arg("kernel_size"), arg("padding"), arg("stride"),
        arg("dilation"), arg("ceil_mode"), "PyTorch's pooling output size along one dimension (may be < 1); checks the options as the pooling "
        "bindings do.");
  m.def("pool2d_options", &options_binding, arg("kernel_size"), arg("stride"), arg("padding"), arg("dilation"),
        "The window options as checked (kernel_size, stride, padding, dilation) pairs: the checks every pooling "
        "binding makes before it looks at the input.");
  def_capturable(m, "max_pool2d_forward", &max_forward, arg("input"), arg("out"), arg("indices"), arg("kernel_size"),
        arg("stride"), arg("padding"), arg("dilation"), arg("ceil_mode"),
        "Max pooling of input (planes, h, w) with -inf padding; writes out and the int64 flat indices of the maxima.");
  def_capturable(m, "max_pool2d_backward", &max_backward, arg("grad_out"), arg("indices"), arg("grad_in"),
        "grad_in (planes, h, w) = 0, then grad_out added at the saved indices.");
  def_capturable(m, "max_pool2d_relu_backward", &max_relu_backward, arg("grad_out"), arg("indices"), arg("out"),
        arg("grad_in"),
        "max_pool2d_backward then relu_backward for a max pool over a ReLU's output, in one pass: grad_out is added "
        "at the saved indices where the pool's output out is > 0 (the same bits as the two kernels).");
  def_capturable(m, "avg_pool2d_forward", &avg_forward, arg("input"), arg("out"), arg("kernel_size"), arg("stride"),
        arg("padding"), arg("ceil_mode"), arg("count_include_pad"), arg("divisor_override"),
        "Average pooling of input (planes, h, w), PyTorch's divisor rule (divisor_override 0: none).");
  def_capturable(m, "avg_pool2d_backward", &avg_backward, arg("grad_out"), arg("grad_in"), arg("kernel_size"),
        arg("stride"),
        arg("padding"), arg("ceil_mode"), arg("count_include_pad"), arg("divisor_override"),
        "Gradient of avg_pool2d_forward into grad_in (planes, h, w).");
  def_capturable(m, "adaptive_avg_pool2d_forward", &adaptive_forward, arg("input"), arg("out"),
        "Adaptive average pooling of input (planes, h, w) to out's (oh, ow).");
  def_capturable(m, "adaptive_avg_pool2d_backward", &adaptive_backward, arg("grad_out"), arg("grad_in"),
        "Gradient of adaptive_avg_pool2d_forward into grad_in (planes, h, w).");
  def_capturable(m, "adaptive_max_pool2d_forward", &adaptive_max_forward, arg("input"), arg("out"), arg("indices"),
        "Adaptive max pooling of input (planes, h, w) to out's (oh, ow); writes the int64 flat indices of the "
        "maxima (the backward is max_pool2d_backward).");
}

}  // namespace eigengrad::bindings
