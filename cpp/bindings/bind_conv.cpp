// Convolution kernels: conv2d forward and backward over (n, c, h, w) arrays.
// stride and dilation are (rows, columns); padding is (top, bottom, left, right), zeros.
#include <array>
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

void check_positive(const Pair& p, const char* name) {
  if (p[0] < 1 || p[1] < 1)
    throw py::value_error(std::string(name) + ": expected positive values, got " + pair_str(p[0], p[1]));
}

// Checks input and weight against each other and the options; returns the geometry of the call.
Conv2dGeometry geometry(const py::array& x, const py::array& w, const Pair& stride, const Quad& pad,
                        const Pair& dilation, index_t groups) {
  check_input(x, "input");
  check_ndim(x, "input", 4);
  check_input(w, "weight");
  check_dtype_as(w, "weight", x, "input");
  check_ndim(w, "weight", 4);
  check_positive(stride, "stride");
  check_positive(dilation, "dilation");
  for (index_t p : pad)
    if (p < 0) throw py::value_error("padding: expected non-negative values, got a negative one");
  if (groups < 1) throw py::value_error("groups: expected a positive int, got " + std::to_string(groups));
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
  const index_t eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1;
  const index_t hp = g.h + pad[0] + pad[1], wp = g.w + pad[2] + pad[3];
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

void forward_binding(const py::array& x, const py::array& w, const py::object& bias, py::array y, const Pair& stride,
                     const Quad& padding, const Pair& dilation, index_t groups) {
  const Conv2dGeometry g = geometry(x, w, stride, padding, dilation, groups);
  auto b = optional_array(bias, "bias");
  if (b) {
    check_input(*b, "bias");
    check_dtype_as(*b, "bias", x, "input");
    check_shape(*b, "bias", {g.o});
  }
  check_out(y, "out", x, {g.n, g.o, g.oh, g.ow}, {{&x, "input"}, {&w, "weight"}, {opt_addr(b), "bias"}});
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
                      const py::object& grad_weight, const py::object& grad_bias, const Pair& stride,
                      const Quad& padding, const Pair& dilation, index_t groups) {
  const Conv2dGeometry g = geometry(x, w, stride, padding, dilation, groups);
  check_input(dy, "grad_out");
  check_dtype_as(dy, "grad_out", x, "input");
  check_shape(dy, "grad_out", {g.n, g.o, g.oh, g.ow});
  auto dx = optional_array(grad_in, "grad_in"), dw = optional_array(grad_weight, "grad_weight");
  auto db = optional_array(grad_bias, "grad_bias");
  const std::initializer_list<std::pair<const py::array*, const char*>> inputs = {
      {&x, "input"}, {&w, "weight"}, {&dy, "grad_out"}};
  if (dx) check_out(*dx, "grad_in", x, {g.n, g.c, g.h, g.w}, inputs);
  if (dw) check_out(*dw, "grad_weight", x, {g.o, g.c / g.groups, g.kh, g.kw}, inputs);
  if (db) check_out(*db, "grad_bias", x, {g.o}, inputs);
  if (dx && dw) check_no_overlap(*dw, "grad_weight", *dx, "grad_in");
  if (dx && db) check_no_overlap(*db, "grad_bias", *dx, "grad_in");
  if (dw && db) check_no_overlap(*db, "grad_bias", *dw, "grad_weight");
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T *dyp = cptr<T>(dy), *xp = cptr<T>(x), *wp = cptr<T>(w);
    T *dxp = opt_mptr<T>(dx), *dwp = opt_mptr<T>(dw), *dbp = opt_mptr<T>(db);
    py::gil_scoped_release release;
    conv2d_backward<T>(dyp, xp, wp, dxp, dwp, dbp, g);
  };
  if (is_float32(x)) run(float{});
  else run(double{});
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
}

}  // namespace eigengrad::bindings
