// Convolution kernels: conv2d forward and backward over (n, c, h, w) arrays.
// stride and dilation are (rows, columns); padding is (top, bottom, left, right), zeros.
#include <algorithm>
#include <optional>
#include <string>

#include <pybind11/stl.h>

#include "checks.hpp"
#include "geometry.hpp"

namespace eigengrad::bindings {
namespace {

// The options of a call, through the one geometry helper (geometry.hpp).
struct Options {
  Pair stride, dilation;
  Quad padding;
  index_t groups;
  Options(const py::object& s, const py::object& p, const py::object& d, index_t g)
      : stride(window_option<2>(s, "stride", 1)), dilation(window_option<2>(d, "dilation", 1)),
        padding(window_option<4>(p, "padding", 0)), groups(g) {}
};

// An output of x's dtype and the given shape.
void check_out(const py::array& out, const char* name, const py::array& x, const std::vector<index_t>& shape) {
  check_like(out, name, x, "input", shape, /*out=*/true);
}

void forward_binding(const py::array& x, const py::array& w, const py::object& bias, py::array y,
                     const py::object& stride, const py::object& padding, const py::object& dilation, index_t groups) {
  const Options o(stride, padding, dilation, groups);
  const Conv2dGeometry g = conv2d_geometry(x, w, o.stride, o.padding, o.dilation, o.groups);
  auto b = optional_array(bias, "bias");
  if (b) {
    check_input(*b, "bias");
    check_dtype_as(*b, "bias", x, "input");
    check_shape(*b, "bias", {g.o});
  }
  check_out(y, "out", x, {g.n, g.o, g.oh, g.ow});
  check_overlaps({{&y, "out"}}, {{&x, "input"}, {&w, "weight"}, {opt_addr(b), "bias"}});
  if (y.size() == 0) return;  // nothing to write (and the kernel's scratch would follow the empty sizes)
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T *xp = cptr<T>(x), *wp = cptr<T>(w), *bp = opt_cptr<T>(b);
    T* yp = mptr<T>(y);
    py::gil_scoped_release release;
    conv2d_forward<T>(xp, wp, bp, yp, g);
  };
  if (is_float32(x)) run(float{});
  else run(double{});
}

void backward_binding(const py::array& dy, const py::array& x, const py::array& w, const py::object& grad_in,
                      const py::object& grad_weight, const py::object& grad_bias, const py::object& stride,
                      const py::object& padding, const py::object& dilation, index_t groups) {
  const Options o(stride, padding, dilation, groups);
  const Conv2dGeometry g = conv2d_geometry(x, w, o.stride, o.padding, o.dilation, o.groups);
  check_input(dy, "grad_out");
  check_dtype_as(dy, "grad_out", x, "input");
  check_shape(dy, "grad_out", {g.n, g.o, g.oh, g.ow});
  auto dx = optional_array(grad_in, "grad_in"), dw = optional_array(grad_weight, "grad_weight");
  auto db = optional_array(grad_bias, "grad_bias");
  if (dx) check_out(*dx, "grad_in", x, {g.n, g.c, g.h, g.w});
  if (dw) check_out(*dw, "grad_weight", x, {g.o, g.c / g.groups, g.kh, g.kw});
  if (db) check_out(*db, "grad_bias", x, {g.o});
  check_overlaps({{opt_addr(dx), "grad_in"}, {opt_addr(dw), "grad_weight"}, {opt_addr(db), "grad_bias"}},
                 {{&x, "input"}, {&w, "weight"}, {&dy, "grad_out"}});
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T *dyp = cptr<T>(dy), *xp = cptr<T>(x), *wp = cptr<T>(w);
    T *dxp = opt_mptr<T>(dx), *dwp = opt_mptr<T>(dw), *dbp = opt_mptr<T>(db);
    if (dy.size() == 0) {  // every gradient is zero (and the kernel's scratch would follow the empty sizes)
      for (auto [p, a] : {std::pair{dxp, &dx}, {dwp, &dw}, {dbp, &db}})
        if (p != nullptr) std::fill(p, p + (*a)->size(), T(0));
      return;
    }
    py::gil_scoped_release release;
    conv2d_backward<T>(dyp, xp, wp, dxp, dwp, dbp, g);
  };
  if (is_float32(x)) run(float{});
  else run(double{});
}

Pair output_size_binding(index_t h, index_t w, index_t kh, index_t kw, const py::object& stride,
                         const py::object& padding, const py::object& dilation) {
  if (h < 0 || w < 0) throw py::value_error("h, w: expected input sizes >= 0, got " + std::to_string(h) + ", " +
                                            std::to_string(w));
  const Options o(stride, padding, dilation, 1);
  return conv2d_output_size(h, w, kh, kw, o.stride, o.padding, o.dilation);
}

}  // namespace

void bind_conv(py::module_& m) {
  using py::arg;
  m.def("conv2d_forward", &forward_binding, arg("input"), arg("weight"), arg("bias"), arg("out"), arg("stride"),
        arg("padding"), arg("dilation"), arg("groups"),
        "2-D convolution of input (n, c, h, w) with weight (o, c / groups, kh, kw) [+ bias (o,)] into out "
        "(n, o, oh, ow); stride, dilation (rows, cols), zero padding (top, bottom, left, right).");
  m.def("conv2d_backward", &backward_binding, arg("grad_out"), arg("input"), arg("weight"), arg("grad_in"),
        arg("grad_weight"), arg("grad_bias"), arg("stride"), arg("padding"), arg("dilation"), arg("groups"),
        "Gradients of conv2d_forward: grad_in, grad_weight, grad_bias (each an output array or None).");
  m.def("conv2d_output_size", &output_size_binding, arg("h"), arg("w"), arg("kh"), arg("kw"), arg("stride"),
        arg("padding"), arg("dilation"),
        "(oh, ow) of a convolution of an (h, w) plane by a (kh, kw) kernel; padding (top, bottom, left, right). "
        "Checks the options (the same checks as conv2d_forward).");
}

}  // namespace eigengrad::bindings
