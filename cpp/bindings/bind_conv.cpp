// Convolution kernels: conv2d and conv_transpose2d forward and backward over (n, c, h, w) arrays.
// stride and dilation are (rows, columns); conv2d's padding is (top, bottom, left, right), zeros; a
// transposed convolution's padding and output_padding are (rows, columns). Every option and every
// output size goes through the one geometry helper (geometry.hpp) before a kernel runs.
#include <algorithm>
#include <optional>
#include <string>

#include <pybind11/stl.h>

#include "checks.hpp"
#include "plan_capture.hpp"
#include "geometry.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace conv_helpers {
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

// The shapes a forward or backward binding checks: input, output (y), weight and bias (its length).
struct Shapes {
  std::vector<index_t> x, y, w;
  index_t bias;
};
Shapes conv_shapes(const Conv2dGeometry& g) {
  return {{g.n, g.c, g.h, g.w}, {g.n, g.o, g.oh, g.ow}, {g.o, g.c / g.groups, g.kh, g.kw}, g.o};
}
// A transposed convolution's input is its convolution g's output and the other way round.
Shapes transposed_shapes(const Conv2dGeometry& g) {
  return {{g.n, g.o, g.oh, g.ow}, {g.n, g.c, g.h, g.w}, {g.o, g.c / g.groups, g.kh, g.kw}, g.c};
}

// Checks bias (None or (shapes.bias,)) and the output y, then launches kernel(x, w, bias, y) on T pointers
// (plan_capture.hpp: the kernel captures what it needs by value).
template <class Kernel>
void run_forward(const py::array& x, const py::array& w, const py::object& bias, py::array& y, const Shapes& shapes,
                 Kernel kernel) {
  auto b = optional_array(bias, "bias");
  if (b) {
    check_input(*b, "bias");
    check_dtype_as(*b, "bias", x, "input");
    check_shape(*b, "bias", {shapes.bias});
  }
  check_out(y, "out", x, shapes.y);
  check_overlaps({{&y, "out"}}, {{&x, "input"}, {&w, "weight"}, {opt_addr(b), "bias"}});
  if (y.size() == 0) return;  // nothing to write (and the kernel's scratch would follow the empty sizes)
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    const T *xp = cptr<T>(x), *wp = cptr<T>(w), *bp = opt_cptr<T>(b);
    T* yp = mptr<T>(y);
    launch([=] { kernel(xp, wp, bp, yp); });
  });
}

// Checks grad_out (like y) and the optional gradients (like x, w and the bias; apart from the inputs and
// each other), then launches kernel(dy, x, w, dx, dw, db) on T pointers (null: not wanted).
template <class Kernel>
void run_backward(const py::array& dy, const py::array& x, const py::array& w, const py::object& grad_in,
                  const py::object& grad_weight, const py::object& grad_bias, const Shapes& shapes, Kernel kernel) {
  check_input(dy, "grad_out");
  check_dtype_as(dy, "grad_out", x, "input");
  check_shape(dy, "grad_out", shapes.y);
  auto dx = optional_array(grad_in, "grad_in"), dw = optional_array(grad_weight, "grad_weight");
  auto db = optional_array(grad_bias, "grad_bias");
  if (dx) check_out(*dx, "grad_in", x, shapes.x);
  if (dw) check_out(*dw, "grad_weight", x, shapes.w);
  if (db) check_out(*db, "grad_bias", x, {shapes.bias});
  check_overlaps({{opt_addr(dx), "grad_in"}, {opt_addr(dw), "grad_weight"}, {opt_addr(db), "grad_bias"}},
                 {{&x, "input"}, {&w, "weight"}, {&dy, "grad_out"}});
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    const T *dyp = cptr<T>(dy), *xp = cptr<T>(x), *wp = cptr<T>(w);
    T *dxp = opt_mptr<T>(dx), *dwp = opt_mptr<T>(dw), *dbp = opt_mptr<T>(db);
    if (dy.size() == 0) {  // every gradient is zero (and the kernel's scratch would follow the empty sizes)
      const index_t nx = dx ? index_t(dx->size()) : 0, nw = dw ? index_t(dw->size()) : 0;
      const index_t nb = db ? index_t(db->size()) : 0;
      launch([=] {
        for (auto [p, count] : {std::pair{dxp, nx}, {dwp, nw}, {dbp, nb}})
          if (p != nullptr) std::fill(p, p + count, T(0));
      });
      return;
    }
    launch([=] { kernel(dyp, xp, wp, dxp, dwp, dbp); });
  });
}

void forward_binding(const py::array& x, const py::array& w, const py::object& bias, py::array y,
                     const py::object& stride, const py::object& padding, const py::object& dilation, index_t groups) {
  const Options o(stride, padding, dilation, groups);
  const Conv2dGeometry g = conv2d_geometry(x, w, o.stride, o.padding, o.dilation, o.groups);
  run_forward(x, w, bias, y, conv_shapes(g),
              [g](auto xp, auto wp, auto bp, auto yp) { conv2d_forward(xp, wp, bp, yp, g); });
}

void backward_binding(const py::array& dy, const py::array& x, const py::array& w, const py::object& grad_in,
                      const py::object& grad_weight, const py::object& grad_bias, const py::object& stride,
                      const py::object& padding, const py::object& dilation, index_t groups) {
  const Options o(stride, padding, dilation, groups);
  const Conv2dGeometry g = conv2d_geometry(x, w, o.stride, o.padding, o.dilation, o.groups);
  run_backward(dy, x, w, grad_in, grad_weight, grad_bias, conv_shapes(g),
               [g](auto dyp, auto xp, auto wp, auto dxp, auto dwp, auto dbp) {
                 conv2d_backward(dyp, xp, wp, dxp, dwp, dbp, g);
               });
}

Pair output_size_binding(index_t h, index_t w, index_t kh, index_t kw, const py::object& stride,
                         const py::object& padding, const py::object& dilation) {
  input_extent(h, "h"), input_extent(w, "w");
  const Options o(stride, padding, dilation, 1);
  return conv2d_output_size(h, w, kh, kw, o.stride, o.padding, o.dilation);
}

// The options of a transposed convolution (pairs), through the geometry helper.
struct TransposedOptions {
  Pair stride, padding, output_padding, dilation;
  TransposedOptions(const py::object& s, const py::object& p, const py::object& op, const py::object& d)
      : stride(window_option<2>(s, "stride", 1)), padding(window_option<2>(p, "padding", 0)),
        output_padding(window_option<2>(op, "output_padding", 0)), dilation(window_option<2>(d, "dilation", 1)) {}
};

void transpose_forward_binding(const py::array& x, const py::array& w, const py::object& bias, py::array y,
                               const py::object& stride, const py::object& padding, const py::object& output_padding,
                               const py::object& dilation, index_t groups) {
  const TransposedOptions o(stride, padding, output_padding, dilation);
  const Conv2dGeometry g = conv_transpose2d_geometry(x, w, o.stride, o.padding, o.output_padding, o.dilation, groups);
  run_forward(x, w, bias, y, transposed_shapes(g),
              [g](auto xp, auto wp, auto bp, auto yp) { conv_transpose2d_forward(xp, wp, bp, yp, g); });
}

void transpose_backward_binding(const py::array& dy, const py::array& x, const py::array& w,
                                const py::object& grad_in, const py::object& grad_weight, const py::object& grad_bias,
                                const py::object& stride, const py::object& padding, const py::object& output_padding,
                                const py::object& dilation, index_t groups) {
  const TransposedOptions o(stride, padding, output_padding, dilation);
  const Conv2dGeometry g = conv_transpose2d_geometry(x, w, o.stride, o.padding, o.output_padding, o.dilation, groups);
  run_backward(dy, x, w, grad_in, grad_weight, grad_bias, transposed_shapes(g),
               [g](auto dyp, auto xp, auto wp, auto dxp, auto dwp, auto dbp) {
                 conv_transpose2d_backward(dyp, xp, wp, dxp, dwp, dbp, g);
               });
}

// Which algorithm each pass takes for input x and weight w with these options (diagnostics and tests).
py::dict algorithms_binding(const py::array& x, const py::array& w, const py::object& stride,
                            const py::object& padding, const py::object& dilation, index_t groups) {
  const Options o(stride, padding, dilation, groups);
  const Conv2dGeometry g = conv2d_geometry(x, w, o.stride, o.padding, o.dilation, groups);
  const Conv2dAlgorithms a = is_float32(x) ? conv2d_algorithms<float>(g) : conv2d_algorithms<double>(g);
  py::dict out;
  out["forward"] = a.forward, out["input_grad"] = a.input_grad, out["weight_grad"] = a.weight_grad;
  return out;
}

Pair transpose_output_size_binding(index_t h, index_t w, index_t kh, index_t kw, const py::object& stride,
                                   const py::object& padding, const py::object& output_padding,
                                   const py::object& dilation) {
  input_extent(h, "h"), input_extent(w, "w");
  const TransposedOptions o(stride, padding, output_padding, dilation);
  return conv_transpose2d_output_size(h, w, kh, kw, o.stride, o.padding, o.output_padding, o.dilation);
}

}  // namespace
}  // namespace conv_helpers

void bind_conv(py::module_& m) {
  using namespace conv_helpers;
  using py::arg;
  def_capturable(m, "conv2d_forward", &forward_binding, arg("input"), arg("weight"), arg("bias"), arg("out"),
        arg("stride"),
        arg("padding"), arg("dilation"), arg("groups"),
        "2-D convolution of input (n, c, h, w) with weight (o, c / groups, kh, kw) [+ bias (o,)] into out "
        "(n, o, oh, ow); stride, dilation (rows, cols), zero padding (top, bottom, left, right).");
  def_capturable(m, "conv2d_backward", &backward_binding, arg("grad_out"), arg("input"), arg("weight"), arg("grad_in"),
        arg("grad_weight"), arg("grad_bias"), arg("stride"), arg("padding"), arg("dilation"), arg("groups"),
        "Gradients of conv2d_forward: grad_in, grad_weight, grad_bias (each an output array or None).");
  m.def("conv2d_output_size", &output_size_binding, arg("h"), arg("w"), arg("kh"), arg("kw"), arg("stride"),
        arg("padding"), arg("dilation"),
        "(oh, ow) of a convolution of an (h, w) plane by a (kh, kw) kernel; padding (top, bottom, left, right). "
        "Checks the options (the same checks as conv2d_forward).");
  m.def("conv2d_algorithms", &algorithms_binding, arg("input"), arg("weight"), arg("stride"), arg("padding"),
        arg("dilation"), arg("groups"),
        "{'forward', 'input_grad', 'weight_grad'}: the algorithm each pass of conv2d_forward / conv2d_backward takes "
        "for these arrays and options: 'winograd' (F(2x2, 3x3)), 'direct' or 'lowering' (im2col + GEMM).");
  def_capturable(m, "conv_transpose2d_forward", &transpose_forward_binding, arg("input"), arg("weight"), arg("bias"),
        arg("out"),
        arg("stride"), arg("padding"), arg("output_padding"), arg("dilation"), arg("groups"),
        "Transposed 2-D convolution of input (n, ci, h, w) with weight (ci, co / groups, kh, kw) [+ bias (co,)] into "
        "out (n, co, oh, ow), oh = (h - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1; stride, "
        "padding, output_padding, dilation are (rows, cols).");
  def_capturable(m, "conv_transpose2d_backward", &transpose_backward_binding, arg("grad_out"), arg("input"),
        arg("weight"),
        arg("grad_in"), arg("grad_weight"), arg("grad_bias"), arg("stride"), arg("padding"), arg("output_padding"),
        arg("dilation"), arg("groups"),
        "Gradients of conv_transpose2d_forward: grad_in, grad_weight, grad_bias (each an output array or None).");
  m.def("conv_transpose2d_output_size", &transpose_output_size_binding, arg("h"), arg("w"), arg("kh"), arg("kw"),
        arg("stride"), arg("padding"), arg("output_padding"), arg("dilation"),
        "(oh, ow) of a transposed convolution of an (h, w) plane by a (kh, kw) kernel. Checks the options (the "
        "same checks as conv_transpose2d_forward).");
}

}  // namespace eigengrad::bindings
