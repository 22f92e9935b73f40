// Pooling kernels over planes: inputs arrive from eigengrad._kernels as (planes, h, w), planes = n * c.
// The window options are (rows, columns) pairs; the output size follows PyTorch's rule
// (pooling_output_shape: floor or ceil mode, the last window starting inside the input or left padding).
#include <algorithm>
#include <array>
#include <string>

#include <pybind11/stl.h>

#include "checks.hpp"
#include "eigengrad/pool.hpp"

namespace eigengrad::bindings {
namespace {

using Pair = std::array<index_t, 2>;

std::string pair_str(const Pair& p) { return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")"; }

index_t floor_div(index_t a, index_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

index_t output_size(index_t in, index_t k, index_t pad, index_t stride, index_t dil, bool ceil_mode) {
  // Huge options must not wrap around: a window or padding beyond 2^60 fits no input (0 outputs), and a
  // stride beyond 2^62 gives what 2^62 gives (the span below is smaller than either).
  constexpr index_t limit = index_t(1) << 60;
  if (pad > limit || (k > 1 && dil > limit / (k - 1))) return 0;
  stride = std::min(stride, 4 * limit);
  index_t out = floor_div(in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// Checks the options against the input plane (h, w); returns the geometry.
Pool2dGeometry geometry(index_t planes, index_t h, index_t w, const Pair& k, const Pair& s, const Pair& p,
                        const Pair& d, bool ceil_mode) {
  for (auto [v, name] : {std::pair<const Pair*, const char*>{&k, "kernel_size"}, {&s, "stride"}, {&d, "dilation"}})
    if ((*v)[0] < 1 || (*v)[1] < 1)
      throw py::value_error(std::string(name) + ": expected positive values, got " + pair_str(*v));
  if (p[0] < 0 || p[1] < 0 || p[0] > k[0] / 2 || p[1] > k[1] / 2)
    throw py::value_error("padding: expected values between 0 and half the kernel size " + pair_str(k) + ", got " +
                          pair_str(p));
  Pool2dGeometry g{planes, h, w, 0, 0, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]};
  g.oh = output_size(h, k[0], p[0], s[0], d[0], ceil_mode);
  g.ow = output_size(w, k[1], p[1], s[1], d[1], ceil_mode);
  if (g.oh < 1 || g.ow < 1)
    throw py::value_error("kernel_size: the window " + pair_str(k) + " (dilation " + pair_str(d) + ", padding " +
                          pair_str(p) + ") does not fit the input plane " + pair_str({h, w}) + ": output " +
                          pair_str({g.oh, g.ow}) + " is too small");
  return g;
}

void check_planes(const py::array& a, const char* name) {
  check_input(a, name);
  check_ndim(a, name, 3);
}

// An output like `like` in dtype, of the given shape, sharing no memory with `in`.
void check_out(py::array& out, const char* name, const py::array& like, const char* like_name,
               const std::vector<index_t>& shape) {
  check_output(out, name);
  check_dtype_as(out, name, like, like_name);
  check_shape(out, name, shape);
  check_no_overlap(out, name, like, like_name);
}

// src is a (planes, h, w) input; dst a 3-D output of its dtype sharing no memory with it (its sizes are
// the caller's to check).
void check_plane_pair(const py::array& src, const char* src_name, py::array& dst, const char* dst_name) {
  check_planes(src, src_name);
  check_output(dst, dst_name);
  check_ndim(dst, dst_name, 3);
  check_dtype_as(dst, dst_name, src, src_name);
  check_no_overlap(dst, dst_name, src, src_name);
}

// The int64 indices output of a max pool: (planes, oh, ow), writeable, apart from input x and output y.
void check_indices_out(py::array& idx, const Pool2dGeometry& g, const py::array& x, const py::array& y) {
  check_int64(idx, "indices");
  check_contiguous(idx, "indices");
  check_writeable(idx, "indices");
  check_shape(idx, "indices", {g.planes, g.oh, g.ow});
  check_no_overlap(idx, "indices", x, "input");
  check_no_overlap(idx, "indices", y, "out");
}

void max_forward(const py::array& x, py::array y, py::array idx, const Pair& k, const Pair& s, const Pair& p,
                 const Pair& d, bool ceil_mode) {
  check_planes(x, "input");
  const Pool2dGeometry g = geometry(x.shape(0), x.shape(1), x.shape(2), k, s, p, d, ceil_mode);
  check_out(y, "out", x, "input", {g.planes, g.oh, g.ow});
  check_indices_out(idx, g, x, y);
  auto* ip = static_cast<std::int64_t*>(idx.mutable_data());
  run_in_out(x, y, [&](auto xp, auto yp) { max_pool2d_forward(xp, yp, ip, g); });
}

void max_backward(const py::array& dy, const py::array& idx, py::array dx) {
  check_planes(dy, "grad_out");
  check_int64(idx, "indices");
  check_contiguous(idx, "indices");
  check_shape(idx, "indices", {dy.shape(0), dy.shape(1), dy.shape(2)});
  check_output(dx, "grad_in");
  check_dtype_as(dx, "grad_in", dy, "grad_out");
  check_ndim(dx, "grad_in", 3);
  if (dx.shape(0) != dy.shape(0))
    throw py::value_error("grad_in: expected " + std::to_string(dy.shape(0)) + " planes (as grad_out), got " +
                          shape_str(dx));
  check_no_overlap(dx, "grad_in", dy, "grad_out");
  check_no_overlap(dx, "grad_in", idx, "indices");
  const Pool2dGeometry g{dx.shape(0), dx.shape(1), dx.shape(2), dy.shape(1), dy.shape(2), 1, 1, 1, 1, 0, 0, 1, 1};
  const auto* ip = static_cast<const std::int64_t*>(idx.data());
  const index_t hw = g.h * g.w, n = idx.size();
  const std::int64_t* bad = nullptr;  // an index out of the plane would write out of bounds
  dispatch_float(dy, [&](auto tag) {
    using T = decltype(tag);
    const T* dyp = cptr<T>(dy);
    T* dxp = mptr<T>(dx);
    py::gil_scoped_release release;  // the scan too: it reads every index
    bad = std::find_if(ip, ip + n, [hw](std::int64_t v) { return v < -1 || v >= hw; });
    if (bad == ip + n) max_pool2d_backward<T>(dyp, ip, dxp, g);
  });
  if (bad != ip + n)
    throw py::value_error("indices: expected values in [-1, " + std::to_string(hw) + "), got " + std::to_string(*bad));
}

index_t check_divisor(index_t divisor_override) {
  if (divisor_override < 0)
    throw py::value_error("divisor_override: expected a positive int or None, got " + std::to_string(divisor_override));
  return divisor_override;
}

void avg_forward(const py::array& x, py::array y, const Pair& k, const Pair& s, const Pair& p, bool ceil_mode,
                 bool count_include_pad, index_t divisor_override) {
  check_planes(x, "input");
  const Pool2dGeometry g = geometry(x.shape(0), x.shape(1), x.shape(2), k, s, p, {1, 1}, ceil_mode);
  check_out(y, "out", x, "input", {g.planes, g.oh, g.ow});
  check_divisor(divisor_override);
  run_in_out(x, y, [&](auto xp, auto yp) { avg_pool2d_forward(xp, yp, g, count_include_pad, divisor_override); });
}

void avg_backward(const py::array& dy, py::array dx, const Pair& k, const Pair& s, const Pair& p, bool ceil_mode,
                  bool count_include_pad, index_t divisor_override) {
  check_plane_pair(dy, "grad_out", dx, "grad_in");
  const Pool2dGeometry g = geometry(dx.shape(0), dx.shape(1), dx.shape(2), k, s, p, {1, 1}, ceil_mode);
  check_shape(dx, "grad_in", {g.planes, g.h, g.w});
  check_shape(dy, "grad_out", {g.planes, g.oh, g.ow});
  check_divisor(divisor_override);
  run_in_out(dy, dx, [&](auto dyp, auto dxp) { avg_pool2d_backward(dyp, dxp, g, count_include_pad, divisor_override); });
}

Pool2dGeometry adaptive_geometry(const py::array& in, const py::array& out) {
  if (out.shape(0) != in.shape(0))
    throw py::value_error("out: expected " + std::to_string(in.shape(0)) + " planes, got shape " + shape_str(out));
  if (out.shape(1) < 1 || out.shape(2) < 1)
    throw py::value_error("output_size: expected positive sizes, got " + pair_str({out.shape(1), out.shape(2)}));
  if (in.size() > 0 && (in.shape(1) < 1 || in.shape(2) < 1))
    throw py::value_error("input: expected non-empty planes, got shape " + shape_str(in));
  return {in.shape(0), in.shape(1), in.shape(2), out.shape(1), out.shape(2), 1, 1, 1, 1, 0, 0, 1, 1};
}

void adaptive_forward(const py::array& x, py::array y) {
  check_plane_pair(x, "input", y, "out");
  const Pool2dGeometry g = adaptive_geometry(x, y);
  run_in_out(x, y, [&](auto xp, auto yp) { adaptive_avg_pool2d_forward(xp, yp, g); });
}

void adaptive_backward(const py::array& dy, py::array dx) {
  check_plane_pair(dy, "grad_out", dx, "grad_in");
  const Pool2dGeometry g = adaptive_geometry(dx, dy);
  run_in_out(dy, dx, [&](auto dyp, auto dxp) { adaptive_avg_pool2d_backward(dyp, dxp, g); });
}

void adaptive_max_forward(const py::array& x, py::array y, py::array idx) {
  check_plane_pair(x, "input", y, "out");
  const Pool2dGeometry g = adaptive_geometry(x, y);
  check_indices_out(idx, g, x, y);
  auto* ip = static_cast<std::int64_t*>(idx.mutable_data());
  run_in_out(x, y, [&](auto xp, auto yp) { adaptive_max_pool2d_forward(xp, yp, ip, g); });
}

}  // namespace

void bind_pool(py::module_& m) {
  using py::arg;
  m.def("pool2d_output_size", &output_size, arg("size"), arg("kernel_size"), arg("padding"), arg("stride"),
        arg("dilation"), arg("ceil_mode"), "PyTorch's pooling output size along one dimension.");
  m.def("max_pool2d_forward", &max_forward, arg("input"), arg("out"), arg("indices"), arg("kernel_size"),
        arg("stride"), arg("padding"), arg("dilation"), arg("ceil_mode"),
        "Max pooling of input (planes, h, w) with -inf padding; writes out and the int64 flat indices of the maxima.");
  m.def("max_pool2d_backward", &max_backward, arg("grad_out"), arg("indices"), arg("grad_in"),
        "grad_in (planes, h, w) = 0, then grad_out added at the saved indices.");
  m.def("avg_pool2d_forward", &avg_forward, arg("input"), arg("out"), arg("kernel_size"), arg("stride"),
        arg("padding"), arg("ceil_mode"), arg("count_include_pad"), arg("divisor_override"),
        "Average pooling of input (planes, h, w), PyTorch's divisor rule (divisor_override 0: none).");
  m.def("avg_pool2d_backward", &avg_backward, arg("grad_out"), arg("grad_in"), arg("kernel_size"), arg("stride"),
        arg("padding"), arg("ceil_mode"), arg("count_include_pad"), arg("divisor_override"),
        "Gradient of avg_pool2d_forward into grad_in (planes, h, w).");
  m.def("adaptive_avg_pool2d_forward", &adaptive_forward, arg("input"), arg("out"),
        "Adaptive average pooling of input (planes, h, w) to out's (oh, ow).");
  m.def("adaptive_avg_pool2d_backward", &adaptive_backward, arg("grad_out"), arg("grad_in"),
        "Gradient of adaptive_avg_pool2d_forward into grad_in (planes, h, w).");
  m.def("adaptive_max_pool2d_forward", &adaptive_max_forward, arg("input"), arg("out"), arg("indices"),
        "Adaptive max pooling of input (planes, h, w) to out's (oh, ow); writes the int64 flat indices of the "
        "maxima (the backward is max_pool2d_backward).");
}

}  // namespace eigengrad::bindings
