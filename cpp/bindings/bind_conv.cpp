// Convolution kernels: conv2d forward and backward over (n, c, h, w) arrays.
// stride and dilation are (rows, columns); padding is (top, bottom, left, right), zeros.
#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string>

#include <pybind11/stl.h>

#include "checks.hpp"
#include "eigengrad/conv.hpp"

namespace eigengrad::bindings {
namespace {

using Pair = std::array<index_t, 2>;
using Quad = std::array<index_t, 4>;

std::string pair_str(index_t a, index_t b) { return "(" + std::to_string(a) + ", " + std::to_string(b) + ")"; }

// a * b + c for non-negative a, b, c, saturated at the largest index_t: huge options give huge sizes
// (and an error naming them), never a wrapped-around signed overflow.
index_t sat_mul_add(index_t a, index_t b, index_t c) {
  constexpr index_t big = std::numeric_limits<index_t>::max();
  if (c > big || (b != 0 && a > (big - c) / b)) return big;
  return a * b + c;
}

void check_positive(const Pair& p, const char* name) {
  if (p[0] < 1 || p[1] < 1)
    throw py::value_error(std::string(name) + ": expected positive values, got " + pair_str(p[0], p[1]));
}

// What both convolutions check first: 4-D float input and weight of one dtype, the options' signs.
void check_arguments(const py::array& x, const py::array& w, const Pair& stride, const Pair& dilation, index_t groups) {
  check_input(x, "input");
  check_ndim(x, "input", 4);
  check_input(w, "weight");
  check_dtype_as(w, "weight", x, "input");
  check_ndim(w, "weight", 4);
  check_positive(stride, "stride");
  check_positive(dilation, "dilation");
  if (groups < 1) throw py::value_error("groups: expected a positive int, got " + std::to_string(groups));
}

// Checks input and weight against each other and the options; returns the geometry of the call.
Conv2dGeometry geometry(const py::array& x, const py::array& w, const Pair& stride, const Quad& pad,
                        const Pair& dilation, index_t groups) {
  check_arguments(x, w, stride, dilation, groups);
  for (index_t p : pad)
    if (p < 0) throw py::value_error("padding: expected non-negative values, got a negative one");
  Conv2dGeometry g{x.shape(0), x.shape(1), x.shape(2), x.shape(3), w.shape(0), w.shape(2), w.shape(3), groups,
                   stride[0], stride[1], pad[0], pad[2], dilation[0], dilation[1], 0, 0};
  if (g.c % groups != 0 || g.o % groups != 0)
    throw py::value_error("groups: expected a divisor of the input channels " + std::to_string(g.c) +
                          " and of the output channels " + std::to_string(g.o) + ", got " + std::to_string(groups));
  if (w.shape(1) * groups != g.c)
    throw py::value_error("input: expected " + std::to_string(w.shape(1) * groups) +
                          " channels (weight " + shape_str(w) + ", groups " + std::to_string(groups) + "), got " +
                          shape_str(x));
  if (g.kh < 1 || g.kw < 1) throw py::value_error("weight: expected a kernel of at least 1 x 1, got " + shape_str(w));
  const index_t eh = sat_mul_add(g.dh, g.kh - 1, 1), ew = sat_mul_add(g.dw, g.kw - 1, 1);
  const index_t hp = sat_mul_add(1, sat_mul_add(1, g.h, pad[0]), pad[1]);
  const index_t wp = sat_mul_add(1, sat_mul_add(1, g.w, pad[2]), pad[3]);
  if (eh > hp || ew > wp)
    throw py::value_error("weight: the (dilated) kernel " + pair_str(eh, ew) + " is larger than the padded input " +
                          pair_str(hp, wp) + " (input " + shape_str(x) + ")");
  g.oh = (hp - eh) / g.sh + 1;
  g.ow = (wp - ew) / g.sw + 1;
  return g;
}

// An output of x's dtype and the given shape that shares no memory with the listed arrays.
void check_out(const py::array& out, const char* name, const py::array& x, const std::vector<index_t>& shape,
               std::initializer_list<std::pair<const py::array*, const char*>> others) {
  check_like(out, name, x, "input", shape, /*out=*/true);
  for (auto [a, a_name] : others)
    if (a != nullptr) check_no_overlap(out, name, *a, a_name);
}

// The shapes a forward or backward binding checks: input, output (y), weight and bias (its length).
struct Shapes {
  std::vector<index_t> x, y, w;
  index_t bias;
};
Shapes conv_shapes(const Conv2dGeometry& g) {
  return {{g.n, g.c, g.h, g.w}, {g.n, g.o, g.oh, g.ow}, {g.o, g.c / g.groups, g.kh, g.kw}, g.o};
}

// Checks bias (None or (shapes.bias,)) and the output y, then kernel(x, w, bias, y) as T pointers with the
// GIL released.
template <class Kernel>
void run_forward(const py::array& x, const py::array& w, const py::object& bias, py::array& y, const Shapes& shapes,
                 Kernel&& kernel) {
  auto b = optional_array(bias, "bias");
  if (b) {
    check_input(*b, "bias");
    check_dtype_as(*b, "bias", x, "input");
    check_shape(*b, "bias", {shapes.bias});
  }
  check_out(y, "out", x, shapes.y, {{&x, "input"}, {&w, "weight"}, {opt_addr(b), "bias"}});
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    const T *xp = cptr<T>(x), *wp = cptr<T>(w), *bp = opt_cptr<T>(b);
    T* yp = mptr<T>(y);
    py::gil_scoped_release release;
    kernel(xp, wp, bp, yp);
  });
}

// Checks grad_out (like y) and the optional gradients (like x, w and the bias; apart from the inputs and
// each other), then kernel(dy, x, w, dx, dw, db) as T pointers (null: not wanted) with the GIL released.
template <class Kernel>
void run_backward(const py::array& dy, const py::array& x, const py::array& w, const py::object& grad_in,
                  const py::object& grad_weight, const py::object& grad_bias, const Shapes& shapes, Kernel&& kernel) {
  check_input(dy, "grad_out");
  check_dtype_as(dy, "grad_out", x, "input");
  check_shape(dy, "grad_out", shapes.y);
  auto dx = optional_array(grad_in, "grad_in"), dw = optional_array(grad_weight, "grad_weight");
  auto db = optional_array(grad_bias, "grad_bias");
  const std::initializer_list<std::pair<const py::array*, const char*>> inputs = {
      {&x, "input"}, {&w, "weight"}, {&dy, "grad_out"}};
  if (dx) check_out(*dx, "grad_in", x, shapes.x, inputs);
  if (dw) check_out(*dw, "grad_weight", x, shapes.w, inputs);
  if (db) check_out(*db, "grad_bias", x, {shapes.bias}, inputs);
  if (dx && dw) check_no_overlap(*dw, "grad_weight", *dx, "grad_in");
  if (dx && db) check_no_overlap(*db, "grad_bias", *dx, "grad_in");
  if (dw && db) check_no_overlap(*db, "grad_bias", *dw, "grad_weight");
  dispatch_float(x, [&](auto tag) {
    using T = decltype(tag);
    const T *dyp = cptr<T>(dy), *xp = cptr<T>(x), *wp = cptr<T>(w);
    T *dxp = opt_mptr<T>(dx), *dwp = opt_mptr<T>(dw), *dbp = opt_mptr<T>(db);
    py::gil_scoped_release release;
    kernel(dyp, xp, wp, dxp, dwp, dbp);
  });
}

void forward_binding(const py::array& x, const py::array& w, const py::object& bias, py::array y, const Pair& stride,
                     const Quad& padding, const Pair& dilation, index_t groups) {
  const Conv2dGeometry g = geometry(x, w, stride, padding, dilation, groups);
  run_forward(x, w, bias, y, conv_shapes(g), [&](auto xp, auto wp, auto bp, auto yp) { conv2d_forward(xp, wp, bp, yp, g); });
}

void backward_binding(const py::array& dy, const py::array& x, const py::array& w, const py::object& grad_in,
                      const py::object& grad_weight, const py::object& grad_bias, const Pair& stride,
                      const Quad& padding, const Pair& dilation, index_t groups) {
  const Conv2dGeometry g = geometry(x, w, stride, padding, dilation, groups);
  run_backward(dy, x, w, grad_in, grad_weight, grad_bias, conv_shapes(g),
               [&](auto dyp, auto xp, auto wp, auto dxp, auto dwp, auto dbp) { conv2d_backward(dyp, xp, wp, dxp, dwp, dbp, g); });
}

// The geometry of the convolution behind a transposed one (see conv.hpp): x (n, ci, h, w), weight
// (ci, co / groups, kh, kw); the output (n, co, oh, ow) has oh = (h - 1) sh - 2 ph + dh (kh - 1) + oph + 1.
Conv2dGeometry transposed_geometry(const py::array& x, const py::array& w, const Pair& stride, const Pair& pad,
                                   const Pair& output_padding, const Pair& dilation, index_t groups) {
  check_arguments(x, w, stride, dilation, groups);
  if (pad[0] < 0 || pad[1] < 0)
    throw py::value_error("padding: expected non-negative values, got " + pair_str(pad[0], pad[1]));
  for (int i = 0; i < 2; ++i)
    if (output_padding[i] < 0 || (output_padding[i] >= stride[i] && output_padding[i] >= dilation[i]))
      throw py::value_error("output_padding: expected values >= 0 and smaller than either stride " +
                            pair_str(stride[0], stride[1]) + " or dilation " + pair_str(dilation[0], dilation[1]) +
                            ", got " + pair_str(output_padding[0], output_padding[1]));
  const index_t n = x.shape(0), ci = x.shape(1), h = x.shape(2), wd = x.shape(3);
  if (w.shape(0) != ci)
    throw py::value_error("weight: expected " + std::to_string(ci) + " input channels (dim 0) as input " +
                          shape_str(x) + ", got " + shape_str(w));
  if (ci % groups != 0)
    throw py::value_error("groups: expected a divisor of the input channels " + std::to_string(ci) + ", got " +
                          std::to_string(groups));
  if (w.shape(2) < 1 || w.shape(3) < 1)
    throw py::value_error("weight: expected a kernel of at least 1 x 1, got " + shape_str(w));
  if (h < 1 || wd < 1)
    throw py::value_error("input: expected non-empty planes (only the batch or the channels may be 0), got " +
                          shape_str(x));
  // (n - 1) s + d (k - 1) + op + 1 - 2 p, saturated before the subtraction (huge options: a huge size)
  auto out_size = [](index_t n, index_t s, index_t p, index_t d, index_t k, index_t op) {
    const index_t grow = sat_mul_add(n - 1, s, sat_mul_add(d, k - 1, sat_mul_add(1, op, 1)));
    const index_t q = std::min(p, grow);
    return grow == std::numeric_limits<index_t>::max() ? grow : (grow - q) - q;
  };
  const index_t oh = out_size(h, stride[0], pad[0], dilation[0], w.shape(2), output_padding[0]);
  const index_t ow = out_size(wd, stride[1], pad[1], dilation[1], w.shape(3), output_padding[1]);
  if (oh < 1 || ow < 1)
    throw py::value_error("input: the output size " + pair_str(oh, ow) + " of the transposed convolution of " +
                          shape_str(x) + " is too small");
  return Conv2dGeometry{n, w.shape(1) * groups, oh, ow, ci, w.shape(2), w.shape(3), groups, stride[0], stride[1],
                        pad[0], pad[1], dilation[0], dilation[1], h, wd};
}

// A transposed convolution's input is its convolution g's output and the other way round.
Shapes transposed_shapes(const Conv2dGeometry& g) {
  return {{g.n, g.o, g.oh, g.ow}, {g.n, g.c, g.h, g.w}, {g.o, g.c / g.groups, g.kh, g.kw}, g.c};
}

void transpose_forward_binding(const py::array& x, const py::array& w, const py::object& bias, py::array y,
                               const Pair& stride, const Pair& padding, const Pair& output_padding,
                               const Pair& dilation, index_t groups) {
  const Conv2dGeometry g = transposed_geometry(x, w, stride, padding, output_padding, dilation, groups);
  run_forward(x, w, bias, y, transposed_shapes(g),
              [&](auto xp, auto wp, auto bp, auto yp) { conv_transpose2d_forward(xp, wp, bp, yp, g); });
}

void transpose_backward_binding(const py::array& dy, const py::array& x, const py::array& w,
                                const py::object& grad_in, const py::object& grad_weight, const py::object& grad_bias,
                                const Pair& stride, const Pair& padding, const Pair& output_padding,
                                const Pair& dilation, index_t groups) {
  const Conv2dGeometry g = transposed_geometry(x, w, stride, padding, output_padding, dilation, groups);
  run_backward(dy, x, w, grad_in, grad_weight, grad_bias, transposed_shapes(g),
               [&](auto dyp, auto xp, auto wp, auto dxp, auto dwp, auto dbp) {
                 conv_transpose2d_backward(dyp, xp, wp, dxp, dwp, dbp, g);
               });
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
  m.def("conv_transpose2d_forward", &transpose_forward_binding, arg("input"), arg("weight"), arg("bias"), arg("out"),
        arg("stride"), arg("padding"), arg("output_padding"), arg("dilation"), arg("groups"),
        "Transposed 2-D convolution of input (n, ci, h, w) with weight (ci, co / groups, kh, kw) [+ bias (co,)] into "
        "out (n, co, oh, ow), oh = (h - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1; stride, "
        "padding, output_padding, dilation are (rows, cols).");
  m.def("conv_transpose2d_backward", &transpose_backward_binding, arg("grad_out"), arg("input"), arg("weight"),
        arg("grad_in"), arg("grad_weight"), arg("grad_bias"), arg("stride"), arg("padding"), arg("output_padding"),
        arg("dilation"), arg("groups"),
        "Gradients of conv_transpose2d_forward: grad_in, grad_weight, grad_bias (each an output array or None).");
}

}  // namespace eigengrad::bindings
