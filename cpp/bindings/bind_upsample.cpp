// Upsampling kernels over planes: inputs arrive from eigengrad._kernels as (planes, h, w), planes = n * c
// (1-D inputs as planes of height 1). mode is "nearest", "nearest-exact" or "linear"; scale_h / scale_w
// are the scale factors PyTorch would use (0: none, the sizes' ratio).
#include <cmath>
#include <string>

#include "checks.hpp"
#include "eigengrad/upsample.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace upsample_helpers {
namespace {

UpsampleMode upsample_mode(const std::string& mode) {
  if (mode == "nearest") return UpsampleMode::nearest;
  if (mode == "nearest-exact") return UpsampleMode::nearest_exact;
  if (mode == "linear") return UpsampleMode::linear;
  throw py::value_error("mode: expected 'nearest', 'nearest-exact' or 'linear', got '" + mode + "'");
}

void check_scale(double s, const char* name) {
  if (!(s >= 0) || !std::isfinite(s))
    throw py::value_error(std::string(name) + ": expected a finite scale factor >= 0 (0: none), got " + std::to_string(s));
}

// in (planes, h, w) and out (planes, oh, ow) of one dtype, out writeable and apart from in.
UpsampleGeometry geometry(const py::array& in, const char* in_name, py::array& out, const char* out_name,
                          const std::string& mode, double scale_h, double scale_w, bool align_corners,
                          bool legacy_nearest) {
  check_input(in, in_name);
  check_ndim(in, in_name, 3);
  check_output(out, out_name);
  check_ndim(out, out_name, 3);
  check_dtype_as(out, out_name, in, in_name);
  check_overlaps({{&out, out_name}}, {{&in, in_name}});
  check_scale(scale_h, "scale_h");
  check_scale(scale_w, "scale_w");
  const UpsampleMode m = upsample_mode(mode);
  if (align_corners && m != UpsampleMode::linear)
    throw py::value_error("align_corners: only meaningful with mode 'linear'");
  return UpsampleGeometry{in.shape(0), in.shape(1), in.shape(2), out.shape(1), out.shape(2), scale_h, scale_w,
                          align_corners, m, legacy_nearest};
}

void check_sizes(const UpsampleGeometry& g, index_t out_planes) {
  if (out_planes != g.planes)
    throw py::value_error("out: expected " + std::to_string(g.planes) + " planes, got " + std::to_string(out_planes));
  if (g.h < 1 || g.w < 1 || g.oh < 1 || g.ow < 1)
    throw py::value_error("input and output sizes should be greater than 0, got input (" + std::to_string(g.h) + ", " +
                          std::to_string(g.w) + ") and output (" + std::to_string(g.oh) + ", " + std::to_string(g.ow) +
                          ")");
}

void forward_binding(const py::array& x, py::array y, const std::string& mode, double scale_h, double scale_w,
                     bool align_corners, bool legacy_nearest) {
  const UpsampleGeometry g = geometry(x, "input", y, "out", mode, scale_h, scale_w, align_corners, legacy_nearest);
  check_sizes(g, y.shape(0));
  if (y.size() == 0) return;  // no planes (the index tables would follow sizes an empty array does not bound)
  run_in_out(x, y, [&](auto xp, auto yp) { upsample_forward(xp, yp, g); });
}

void backward_binding(const py::array& dy, py::array dx, const std::string& mode, double scale_h, double scale_w,
                      bool align_corners, bool legacy_nearest) {
  // the geometry of the forward: input dx's planes, output dy's
  UpsampleGeometry g = geometry(dy, "grad_out", dx, "grad_in", mode, scale_h, scale_w, align_corners, legacy_nearest);
  g.h = dx.shape(1), g.w = dx.shape(2), g.oh = dy.shape(1), g.ow = dy.shape(2);
  check_sizes(g, dx.shape(0));
  if (dx.size() == 0) return;
  run_in_out(dy, dx, [&](auto dyp, auto dxp) { upsample_backward(dyp, dxp, g); });
}

}  // namespace
}  // namespace upsample_helpers

void bind_upsample(py::module_& m) {
  using namespace upsample_helpers;
  using py::arg;
  m.def("upsample_forward", &forward_binding, arg("input"), arg("out"), arg("mode"), arg("scale_h"), arg("scale_w"),
        arg("align_corners"), arg("legacy_nearest"),
        "Upsampling of input (planes, h, w) to out (planes, oh, ow): mode 'nearest', 'nearest-exact' or 'linear' "
        "(bilinear), PyTorch's source indices; scale_h / scale_w the scale factors (0: none); legacy_nearest: "
        "PyTorch's nearest_idx rule (its 2-D outputs with oh + ow <= 128).");
  m.def("upsample_backward", &backward_binding, arg("grad_out"), arg("grad_in"), arg("mode"), arg("scale_h"),
        arg("scale_w"), arg("align_corners"), arg("legacy_nearest"),
        "Gradient of upsample_forward into grad_in (planes, h, w): the adjoint of the same source indices.");
}

}  // namespace eigengrad::bindings
